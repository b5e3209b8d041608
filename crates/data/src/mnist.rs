//! MNIST on the CPU: images as `f32` in `[0, 1]` and labels as `i64`.
//!
//! Fashion-MNIST has the same IDX files and the same ten classes, so it
//! loads through the same path:
//!
//! ```no_run
//! use wgrad_data::Mnist;
//!
//! // From the Debian package dataset-fashion-mnist (`dpkg -L` shows where).
//! let fashion = Mnist::from_idx_dir("/usr/share/dataset-fashion-mnist")?;
//! assert_eq!((fashion.train.count, fashion.test.count), (60_000, 10_000));
//! # Ok::<(), wgrad_data::DataError>(())
//! ```
//!
//! Two sources, scaled as their own tutorials scale them:
//! - IDX files (`train-images-idx3-ubyte[.gz]`, ...): pixels become
//!   `pixel / 255.0`, as torchvision's `ToTensor` does.
//! - `mnist.pkl.gz` (the "What is torch.nn really?" layout): the images are
//!   already floats in the file (`pixel / 256`) and are kept exactly as
//!   stored, so results can be compared with that tutorial bit for bit.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::idx::{read_idx_images, read_idx_labels};
use crate::ndarray::{ElementType, NdArray};
use crate::pickle::{PickleValue, load_pickle};

/// MNIST images are 28 x 28 pixels.
pub const SIDE: usize = 28;
/// Largest label: the digits are 0 to 9.
const MAX_LABEL: i64 = 9;

/// One split of MNIST (train, validation or test).
#[derive(Debug, Clone, PartialEq)]
pub struct MnistSplit {
    /// `count * rows * cols` values in `[0, 1]`, image after image, row-major.
    pub images: Vec<f32>,
    /// `count` labels in `0..=9`.
    pub labels: Vec<i64>,
    /// Number of images.
    pub count: usize,
    /// Rows per image (28).
    pub rows: usize,
    /// Columns per image (28).
    pub cols: usize,
}

impl MnistSplit {
    /// Reads a split from an IDX image file and an IDX label file.
    pub fn from_idx(images_path: impl AsRef<Path>, labels_path: impl AsRef<Path>) -> Result<Self> {
        let (images_path, labels_path) = (images_path.as_ref(), labels_path.as_ref());
        let images = read_idx_images(images_path)?;
        let labels = read_idx_labels(labels_path)?;
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: images_path.to_path_buf(),
                labels_path: labels_path.to_path_buf(),
                images: images.count,
                labels: labels.len(),
            });
        }
        let labels: Vec<i64> = labels.into_iter().map(i64::from).collect();
        check_labels(labels_path, &labels)?;
        Ok(Self {
            images: images
                .pixels
                .iter()
                .map(|&p| f32::from(p) / 255.0)
                .collect(),
            labels,
            count: images.count,
            rows: images.rows,
            cols: images.cols,
        })
    }

    /// Values per image (`rows * cols`).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `index`.
    ///
    /// # Panics
    /// If `index >= self.count`.
    pub fn image(&self, index: usize) -> &[f32] {
        let n = self.pixels_per_image();
        &self.images[index * n..(index + 1) * n]
    }
}

/// MNIST as training, optional validation, and test splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// Training split.
    pub train: MnistSplit,
    /// Validation split (only `mnist.pkl.gz` has one).
    pub valid: Option<MnistSplit>,
    /// Test split.
    pub test: MnistSplit,
}

impl Mnist {
    /// Reads the four IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz`)
    /// from `dir`. Pixels are scaled to `pixel / 255.0`.
    pub fn from_idx_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let split = |images, labels| MnistSplit::from_idx(find(dir, images)?, find(dir, labels)?);
        Ok(Self {
            train: split("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?,
            valid: None,
            test: split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?,
        })
    }

    /// Reads `mnist.pkl.gz`: `((x_train, y_train), (x_valid, y_valid), (x_test, y_test))`
    /// with `x` float arrays of shape `(n, 784)` (or `(n, 28, 28)`) and `y` integer
    /// arrays of shape `(n,)`. Image values are kept as stored (`pixel / 256`).
    pub fn from_pickle(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let layout = "a tuple of three (images, labels) pairs: (train, valid, test)";
        let [train, valid, test] = items::<3>(path, load_pickle(path)?, layout)?;
        Ok(Self {
            train: split_from_pickle(path, train, "train")?,
            valid: Some(split_from_pickle(path, valid, "valid")?),
            test: split_from_pickle(path, test, "test")?,
        })
    }

    /// Reads MNIST from `path`: a folder of IDX files ([`Mnist::from_idx_dir`])
    /// or a file named `*.pkl.gz` or `*.pkl` ([`Mnist::from_pickle`]).
    ///
    /// Errors with [`DataError::DataNotFound`] when `path` does not exist or is
    /// a file of another kind, saying what to pass instead.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if path.is_dir() {
            return Self::from_idx_dir(path);
        }
        if path.is_file() && is_pickle_name(path) {
            return Self::from_pickle(path);
        }
        let reason = if path.exists() {
            "it is neither a folder of IDX files nor a file named *.pkl.gz or *.pkl"
        } else {
            "nothing exists there"
        };
        Err(DataError::DataNotFound {
            path: path.to_path_buf(),
            origin: "the caller",
            reason: reason.into(),
        })
    }
}

/// Whether a file name ends in `.pkl.gz` or `.pkl` (any case).
pub(crate) fn is_pickle_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".pkl.gz") || name.ends_with(".pkl")
}

/// `dir/name.gz`, else `dir/name`.
fn find(dir: &Path, name: &'static str) -> Result<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|path| path.is_file())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_path_buf(),
            name,
        })
}

fn split_from_pickle(path: &Path, value: PickleValue, name: &str) -> Result<MnistSplit> {
    let layout = |what: &str, found: &NdArray| DataError::UnexpectedLayout {
        path: path.to_path_buf(),
        expected: format!("the {name} split's {what}"),
        found: describe_array(found),
    };
    let [x, y] = items::<2>(
        path,
        value,
        &format!("the {name} split as an (images, labels) pair"),
    )?;
    let (x, y) = (
        array(path, x, name, "images")?,
        array(path, y, name, "labels")?,
    );

    let count = x.shape.first().copied().unwrap_or(0);
    let pixels: usize = x.shape.iter().skip(1).product();
    let float = matches!(x.data.element_type(), ElementType::F32 | ElementType::F64);
    if x.shape.len() < 2 || pixels != SIDE * SIDE || !float {
        return Err(layout(
            "images as floats of shape (n, 784) or (n, 28, 28)",
            &x,
        ));
    }
    if y.shape != [count] {
        return Err(layout(
            &format!("labels of shape ({count},), one per image"),
            &y,
        ));
    }
    let labels = y.to_i64_vec()?;
    check_labels(path, &labels)?;
    Ok(MnistSplit {
        images: x.into_f32_vec(),
        labels,
        count,
        rows: SIDE,
        cols: SIDE,
    })
}

/// The items of a tuple or list of exactly `N` items.
fn items<const N: usize>(
    path: &Path,
    value: PickleValue,
    expected: &str,
) -> Result<[PickleValue; N]> {
    let found = describe(&value);
    value
        .into_items()
        .and_then(|items| <[PickleValue; N]>::try_from(items).ok())
        .ok_or_else(|| DataError::UnexpectedLayout {
            path: path.to_path_buf(),
            expected: expected.into(),
            found,
        })
}

fn array(path: &Path, value: PickleValue, split: &str, what: &str) -> Result<NdArray> {
    let found = describe(&value);
    value
        .into_ndarray()
        .ok_or_else(|| DataError::UnexpectedLayout {
            path: path.to_path_buf(),
            expected: format!("the {split} split's {what} as a numpy array"),
            found,
        })
}

fn describe(value: &PickleValue) -> String {
    match value {
        PickleValue::NdArray(array) => describe_array(array),
        PickleValue::Tuple(items) | PickleValue::List(items) => {
            format!("{} of {} items", with_article(value.kind()), items.len())
        }
        other => with_article(other.kind()),
    }
}

fn with_article(kind: &str) -> String {
    match kind.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => format!("an {kind}"),
        _ if kind == "None" || kind == "bytes" => kind.to_string(),
        _ => format!("a {kind}"),
    }
}

fn describe_array(array: &NdArray) -> String {
    format!(
        "a {} array of shape {:?}",
        array.data.element_type().name(),
        array.shape
    )
}

fn check_labels(path: &Path, labels: &[i64]) -> Result<()> {
    match labels.iter().position(|l| !(0..=MAX_LABEL).contains(l)) {
        Some(index) => Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: labels[index],
            max: MAX_LABEL,
        }),
        None => Ok(()),
    }
}
