//! The one error type of `wgrad-nn`: checkpoints, `load_state_dict` and
//! module configuration.

use std::path::PathBuf;

use thiserror::Error;

use crate::state_dict::LoadStateDictError;

/// Everything that can go wrong in `wgrad-nn` outside programming errors.
#[derive(Debug, Error)]
pub enum NnError {
    /// Reading or writing a checkpoint file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, `renaming into`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file that is not a valid safetensors file (truncated, bad header, ...).
    #[error("{path}: not a valid safetensors file: {reason}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors parser (or serializer) reported.
        reason: String,
    },
    /// A tensor in a checkpoint with an element type wgrad cannot hold.
    #[error(
        "{path}: tensor {key:?} has dtype {dtype}, which wgrad cannot load (F32, F64, I32, I64 are supported)"
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor's key.
        key: String,
        /// The safetensors dtype name.
        dtype: String,
    },
    /// A tensor in a checkpoint whose values do not fit wgrad's types
    /// (an I64 outside the i32 range).
    #[error("{path}: tensor {key:?}: {reason}")]
    BadTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// `load_state_dict` found missing, unexpected or mis-shaped keys.
    #[error(transparent)]
    LoadStateDict(#[from] LoadStateDictError),
    /// A module constructed with arguments PyTorch rejects too.
    #[error("{module}: {message}")]
    InvalidConfig {
        /// The module (`Conv2d`).
        module: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An error from the tensor runtime (for example a failed read-back).
    #[error(transparent)]
    Tensor(#[from] wgrad_tensor::TensorError),
    /// An optimizer or scheduler refused its settings or state.
    #[error(transparent)]
    Optim(#[from] crate::optim::OptimError),
}

/// `Result` with [`NnError`].
pub type Result<T> = std::result::Result<T, NnError>;
