//! The one error type of `wgrad-tensor`.
//!
//! Tensor ops check their inputs before dispatching anything. The `try_*`
//! forms return these errors; the plain forms (`a.add(&b)`) panic with the
//! same message so that model code reads like PyTorch.

use thiserror::Error;

/// Everything that can go wrong in the tensor runtime.
#[derive(Debug, Clone, Error)]
pub enum TensorError {
    /// No GPU adapter could be found (or none matched the override).
    #[error(
        "no GPU adapter found{filter}. Install a Vulkan driver: on Debian/Ubuntu \
         `apt-get install -y mesa-vulkan-drivers libvulkan1` gives a software one (lavapipe); \
         or try WGRAD_BACKEND=gl"
    )]
    NoAdapter {
        /// Which filter (`WGRAD_BACKEND`, `WGRAD_ADAPTER`) was in force, if any.
        filter: String,
    },
    /// `WGRAD_BACKEND` named a backend wgrad does not know.
    #[error("WGRAD_BACKEND={0:?} is not one of vulkan, metal, dx12, gl")]
    UnknownBackend(String),
    /// The adapter refused to create a device.
    #[error("the adapter refused to create a device: {0}")]
    RequestDevice(String),
    /// Two shapes that must agree do not.
    #[error("shape mismatch in {op}: lhs {lhs:?}, rhs {rhs:?}")]
    ShapeMismatch {
        /// The op that checked.
        op: &'static str,
        /// The first operand's shape.
        lhs: Vec<usize>,
        /// The second operand's shape.
        rhs: Vec<usize>,
    },
    /// A dimension index out of range.
    #[error("dimension out of range in {op}: got {dim} for a tensor of rank {rank}")]
    BadDim {
        /// The op that checked.
        op: &'static str,
        /// The dimension asked for.
        dim: isize,
        /// The tensor's rank.
        rank: usize,
    },
    /// An argument that is wrong for reasons other than shape agreement.
    #[error("invalid argument to {op}: {message} (shape {shape:?})")]
    Invalid {
        /// The op that checked.
        op: &'static str,
        /// What is wrong.
        message: String,
        /// The shape of the tensor involved.
        shape: Vec<usize>,
    },
    /// The op does not accept this element type.
    #[error("{op} does not support dtype {dtype:?}")]
    DType {
        /// The op that checked.
        op: &'static str,
        /// The dtype given.
        dtype: crate::DType,
    },
    /// A tensor too large for one storage binding on this adapter.
    #[error("{op}: {bytes} bytes exceed this adapter's storage binding limit of {limit} bytes")]
    TooLarge {
        /// The op that allocated.
        op: &'static str,
        /// The size asked for.
        bytes: u64,
        /// The adapter's limit.
        limit: u64,
    },
    /// Reading a buffer back to the host failed.
    #[error("reading back from the GPU failed: {0}")]
    ReadBack(String),
}

/// `Result` with [`TensorError`].
pub type Result<T> = std::result::Result<T, TensorError>;
