//! Errors of the optimizers and learning-rate schedulers.

use thiserror::Error;
use wgrad_tensor::{DType, TensorError};

/// What can go wrong in `step()`, `load_state_dict()` or a scheduler's
/// construction. Each variant names the optimizer, parameter index or key.
#[derive(Debug, Clone, Error)]
pub enum OptimError {
    /// A hyper-parameter PyTorch rejects too (`Invalid learning rate: -1`).
    #[error("{optimizer}: invalid {name}: {value}")]
    InvalidHyperParameter {
        /// The optimizer or scheduler (`SGD`, `StepLR`).
        optimizer: &'static str,
        /// PyTorch's name of the hyper-parameter (`lr`, `betas[0]`).
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// SGD's `nesterov` without momentum or with dampening.
    #[error(
        "SGD: Nesterov momentum requires a momentum and zero dampening \
         (momentum {momentum}, dampening {dampening})"
    )]
    Nesterov {
        /// The momentum given.
        momentum: f64,
        /// The dampening given.
        dampening: f64,
    },
    /// A parameter whose gradient has another shape.
    #[error(
        "{optimizer}: parameter {index} has shape {param:?} but its gradient has shape {grad:?}"
    )]
    GradShape {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's position in `params`.
        index: usize,
        /// The parameter's shape.
        param: Vec<usize>,
        /// The gradient's shape.
        grad: Vec<usize>,
    },
    /// A state dict saved from an optimizer with another number of parameters.
    #[error(
        "{optimizer}: loaded state dict has {found} parameters but the optimizer has {expected}"
    )]
    ParamCount {
        /// The optimizer.
        optimizer: &'static str,
        /// The optimizer's parameter count.
        expected: usize,
        /// The state dict's parameter count.
        found: usize,
    },
    /// A state dict that lacks a buffer this optimizer needs.
    #[error("{optimizer}: state of parameter {index} has no {key:?}")]
    MissingState {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's position in `params`.
        index: usize,
        /// The missing buffer (`exp_avg`).
        key: String,
    },
    /// A state dict with a buffer this optimizer does not know.
    #[error("{optimizer}: state of parameter {index} has an unexpected key {key:?}")]
    UnexpectedState {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's position in `params`.
        index: usize,
        /// The unknown key.
        key: String,
    },
    /// A state buffer whose shape is not its parameter's.
    #[error(
        "{optimizer}: state {key:?} of parameter {index} has shape {found:?}, the parameter {expected:?}"
    )]
    StateShape {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's position in `params`.
        index: usize,
        /// The buffer.
        key: String,
        /// The parameter's shape (a `step` is a scalar).
        expected: Vec<usize>,
        /// The buffer's shape.
        found: Vec<usize>,
    },
    /// A state buffer that is not f32.
    #[error("{optimizer}: state {key:?} of parameter {index} has dtype {dtype:?}, not F32")]
    StateDType {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's position in `params`.
        index: usize,
        /// The buffer.
        key: String,
        /// Its dtype.
        dtype: DType,
    },
    /// A `step` that is not a whole number of steps.
    #[error("{optimizer}: step of parameter {index} is {value}, not a step count")]
    BadStep {
        /// The optimizer.
        optimizer: &'static str,
        /// The parameter's position in `params`.
        index: usize,
        /// The value found.
        value: f32,
    },
    /// A state dict without a hyper-parameter this optimizer has.
    #[error("{optimizer}: loaded state dict has no hyper-parameter {key:?}")]
    MissingHyperParameter {
        /// The optimizer.
        optimizer: &'static str,
        /// PyTorch's name of it (`betas`).
        key: &'static str,
    },
    /// A hyper-parameter of the wrong kind (`nesterov: 0.9`).
    #[error("{optimizer}: hyper-parameter {key:?} must be {expected}")]
    HyperParameterType {
        /// The optimizer.
        optimizer: &'static str,
        /// PyTorch's name of it.
        key: &'static str,
        /// What it must be (`a bool`).
        expected: &'static str,
    },
    /// An error from the tensor runtime (a kernel's checks, a read-back).
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// `Result` with [`OptimError`].
pub type Result<T> = std::result::Result<T, OptimError>;
