//! wgrad's data pipeline: file readers, data sets, and the loader that
//! feeds them to the device batch by batch.
//!
//! - [`idx`]: the IDX format of MNIST and Fashion-MNIST, gzip'd or not.
//! - [`pickle`]: a pickle reader that never executes anything, for data sets
//!   stored as numpy arrays (such as the classic `mnist.pkl.gz`).
//! - [`Mnist`]: MNIST as `f32` images in `[0, 1]` and `i64` labels, from IDX
//!   files, a pickle, or a verified download.
//! - [`Dataset`], [`TensorDataset`], [`Subset`], [`random_split`] and
//!   [`DataLoader`], as in `torch.utils.data`. Data sets stay in main memory;
//!   the loader gathers each batch on a background thread and uploads only
//!   that batch.
//!
//! The data is found through one setting: a `--data` argument
//! ([`data_arg`], [`resolve_data_path`]), else the `WGRAD_DATA` environment
//! variable, else `../shared/data/mnist` ([`default_data_dir`]).
//!
//! ```no_run
//! use wgrad_data::{DataLoader, Mnist, Transform, default_data_dir};
//!
//! let mnist = Mnist::load(default_data_dir())?;
//! let train_dl = mnist.train.loader(64, &[])?.shuffle(true);
//! let test_dl = mnist.test.loader(128, &[Transform::reshape(&[1, 28, 28])])?;
//! assert_eq!(test_dl.len(), 79);
//! for (xb, yb) in &train_dl {
//!     // xb: [64, 784] f32 in [0, 1]; yb: [64] i32 class labels.
//!     # let _ = (xb, yb);
//! }
//! # Ok::<(), wgrad_data::DataError>(())
//! ```
//!
//! Everything that reads files or user input returns [`Result`] with a
//! [`DataError`] that names the file and the problem; nothing panics on a
//! bad file.
#![warn(missing_docs)]

pub mod bench;
mod dataset;
mod download;
mod error;
mod host;
pub mod idx;
mod loader;
pub mod mnist;
mod ndarray;
mod paths;
pub mod pickle;
mod source;
mod split;
mod transform;

pub use bench::{DataLoaderBench, bench_dataloader};
pub use dataset::{BatchSource, Dataset, Subset, TensorDataset};
pub use download::{DownloadSpec, MNIST_MIRRORS, MNIST_SHA256, download, sha256_of_file};
pub use error::{DataError, Result};
pub use host::{HostData, HostElement, HostTensor};
pub use idx::{IdxArray, IdxData, IdxImages, read_idx, read_idx_images, read_idx_labels};
pub use loader::{Batches, DataLoader};
pub use mnist::{Mnist, MnistSplit};
pub use ndarray::{Dtype, ElementType, NdArray, NdData};
pub use paths::{DATA_ENV, data_arg, default_data_dir, resolve_data_path};
pub use pickle::{PickleValue, load_pickle, parse_pickle};
pub use split::{SplitLengths, random_split};
pub use transform::Transform;
