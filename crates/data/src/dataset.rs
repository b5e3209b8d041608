//! `Dataset`, `TensorDataset` and `Subset`, as in `torch.utils.data`.
//!
//! A data set lives in main memory; indexing one uploads just the samples
//! asked for. The [`BatchSource`] trait is what a
//! [`DataLoader`](crate::DataLoader) needs on top of [`Dataset`]: gathering
//! the rows of a batch on the host, so that a batch is one upload per tensor.

use std::ops::Range;
use std::sync::Arc;

use wgrad_autograd::Tensor;

use crate::error::{DataError, Result};
use crate::host::HostTensor;

/// A collection of samples with a length and indexing (`__len__` and
/// `__getitem__` of `torch.utils.data.Dataset`).
pub trait Dataset {
    /// What one sample is, e.g. `(features, label)` device tensors.
    type Item;

    /// Number of samples.
    fn len(&self) -> usize;

    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `index`.
    ///
    /// # Panics
    /// If `index >= self.len()`, like slice indexing.
    fn get(&self, index: usize) -> Self::Item;
}

/// A data set of (features, labels) rows that a batch can be gathered from
/// on the host, for [`DataLoader`](crate::DataLoader).
///
/// `Send + Sync + 'static` because the loader gathers on a background thread.
pub trait BatchSource: Dataset + Send + Sync + 'static {
    /// The samples `indices`, in that order, as host arrays whose first
    /// dimension is `indices.len()`: `(features, labels)`.
    ///
    /// # Panics
    /// If an index is not below `self.len()`.
    fn gather(&self, indices: &[usize]) -> (HostTensor, HostTensor);
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    type Item = D::Item;
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get(&self, index: usize) -> Self::Item {
        (**self).get(index)
    }
}

impl<D: BatchSource + ?Sized> BatchSource for Arc<D> {
    fn gather(&self, indices: &[usize]) -> (HostTensor, HostTensor) {
        (**self).gather(indices)
    }
}

/// Features and labels in main memory, one sample per row
/// (`torch.utils.data.TensorDataset(x, y)`).
///
/// ```
/// use wgrad_data::{Dataset, HostTensor, TensorDataset};
///
/// // Three samples of two features each, with integer class labels.
/// let x = HostTensor::new(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?;
/// let y = HostTensor::new(vec![0i32, 1, 0], &[3])?;
/// let train_ds = TensorDataset::new(x, y)?;
/// assert_eq!(train_ds.len(), 3);
/// # Ok::<(), wgrad_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDataset {
    features: HostTensor,
    labels: HostTensor,
}

impl TensorDataset {
    /// Pairs `features` and `labels` row by row.
    ///
    /// Errors with [`DataError::SampleCount`] when they do not have the same
    /// first dimension (or either is 0-dimensional and so has none).
    pub fn new(features: HostTensor, labels: HostTensor) -> Result<Self> {
        let (fs, ls) = (features.shape(), labels.shape());
        if fs.is_empty() || ls.is_empty() || fs[0] != ls[0] {
            return Err(DataError::SampleCount {
                features: fs.to_vec(),
                labels: ls.to_vec(),
            });
        }
        Ok(Self { features, labels })
    }

    /// The features, all samples.
    pub fn features(&self) -> &HostTensor {
        &self.features
    }

    /// The labels, all samples.
    pub fn labels(&self) -> &HostTensor {
        &self.labels
    }

    /// Samples `range` as device tensors of shapes `[n, ...]`
    /// (`train_ds[i * bs : i * bs + bs]`).
    ///
    /// Like a Python slice, an end past the last sample stops at the last
    /// sample, so the final batch of a loop may be shorter; a start past the
    /// end gives empty tensors.
    ///
    /// # Panics
    /// If the upload fails (no device, out of device memory), like
    /// `Tensor::from_slice`.
    pub fn slice(&self, range: Range<usize>) -> (Tensor, Tensor) {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let (x, y) = (
            self.features.slice_rows(start..end),
            self.labels.slice_rows(start..end),
        );
        (upload(&x), upload(&y))
    }
}

impl Dataset for TensorDataset {
    /// `(features[i], labels[i])`: the first dimension removed, so an MNIST
    /// sample is `([784], [])` and a class label is a 0-dimensional tensor.
    type Item = (Tensor, Tensor);

    fn len(&self) -> usize {
        self.features.rows()
    }

    /// # Panics
    /// If `index >= self.len()`, or if the upload fails.
    fn get(&self, index: usize) -> (Tensor, Tensor) {
        assert!(
            index < self.len(),
            "TensorDataset::get: index {index} is out of range for {} samples",
            self.len()
        );
        (
            upload(&self.features.row(index)),
            upload(&self.labels.row(index)),
        )
    }
}

impl BatchSource for TensorDataset {
    fn gather(&self, indices: &[usize]) -> (HostTensor, HostTensor) {
        (self.features.gather(indices), self.labels.gather(indices))
    }
}

fn upload(host: &HostTensor) -> Tensor {
    Tensor::from_raw(host.to_device().unwrap_or_else(|e| panic!("{e}")))
}

/// The samples of a data set at chosen indices
/// (`torch.utils.data.Subset(dataset, indices)`), sharing the data set.
#[derive(Debug)]
pub struct Subset<D> {
    dataset: Arc<D>,
    indices: Vec<usize>,
}

// Not derived: a derive would require `D: Clone`, but only the Arc is cloned.
impl<D> Clone for Subset<D> {
    fn clone(&self) -> Self {
        Self {
            dataset: Arc::clone(&self.dataset),
            indices: self.indices.clone(),
        }
    }
}

impl<D: Dataset> Subset<D> {
    /// The samples `indices` of `dataset`, in that order.
    ///
    /// Errors with [`DataError::IndexOutOfRange`] when an index is not below
    /// `dataset.len()` (checked once here, so batches need no checks).
    pub fn new(dataset: Arc<D>, indices: Vec<usize>) -> Result<Self> {
        let len = dataset.len();
        if let Some(&index) = indices.iter().find(|&&i| i >= len) {
            return Err(DataError::IndexOutOfRange {
                what: "Subset",
                index,
                len,
            });
        }
        Ok(Self { dataset, indices })
    }
}

impl<D> Subset<D> {
    /// The whole data set this is a subset of.
    pub fn dataset(&self) -> &Arc<D> {
        &self.dataset
    }

    /// The indices into [`Subset::dataset`], in order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl<D: Dataset> Dataset for Subset<D> {
    type Item = D::Item;

    fn len(&self) -> usize {
        self.indices.len()
    }

    fn get(&self, index: usize) -> D::Item {
        self.dataset.get(self.indices[index])
    }
}

impl<D: BatchSource> BatchSource for Subset<D> {
    fn gather(&self, indices: &[usize]) -> (HostTensor, HostTensor) {
        let mapped: Vec<usize> = indices.iter().map(|&i| self.indices[i]).collect();
        self.dataset.gather(&mapped)
    }
}
