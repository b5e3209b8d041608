//! The CPU side of wgrad's data pipeline: file readers and data sets.
//!
//! - [`idx`]: the IDX format of MNIST and Fashion-MNIST, gzip'd or not.
//! - [`pickle`]: a pickle reader that never executes anything, for data sets
//!   stored as numpy arrays (such as the classic `mnist.pkl.gz`).
//! - [`mnist`]: MNIST as `f32` images in `[0, 1]` and `i64` labels.
//!
//! Everything here returns [`Result`] with a [`DataError`] that names the file
//! and the problem; nothing panics on a bad file. This crate does not depend
//! on the GPU: turning these vectors into tensors is the caller's job.
//!
//! ```no_run
//! use wgrad_data::{MnistData, default_data_dir};
//!
//! let mnist = MnistData::from_idx_dir(default_data_dir())?;
//! assert_eq!(mnist.train.pixels_per_image(), 784);
//! # Ok::<(), wgrad_data::DataError>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod idx;
pub mod mnist;
mod ndarray;
pub mod pickle;
mod source;

pub use error::{DataError, Result};
pub use idx::{IdxArray, IdxData, IdxImages, read_idx, read_idx_images, read_idx_labels};
pub use mnist::{MnistData, MnistSplit, default_data_dir};
pub use ndarray::{Dtype, ElementType, NdArray, NdData};
pub use pickle::{PickleValue, load_pickle, parse_pickle};
