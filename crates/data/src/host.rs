//! Host-side arrays: what a data set keeps in main memory until a batch of
//! it is uploaded.
//!
//! A [`HostTensor`] is a shape and row-major `f32` or `i32` values, the two
//! element types a wgrad tensor can hold. Gathering rows into one contiguous
//! vector is the data loader's job on its background thread; only that batch
//! goes to the device.

use std::ops::Range;

use wgrad_tensor::{DType, Element, Tensor as Raw};

use crate::error::{DataError, Result};

/// The values of a [`HostTensor`], in one of the two device element types.
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    /// 32-bit floats: features, regression targets.
    F32(Vec<f32>),
    /// 32-bit integers: class labels (PyTorch's int64 labels become i32 on the GPU).
    I32(Vec<i32>),
}

/// A Rust type a [`HostTensor`] can hold: `f32` or `i32`.
pub trait HostElement: Element + sealed::Sealed {
    /// Wraps a vector of this type.
    fn into_data(values: Vec<Self>) -> HostData;
    /// The values, when `data` holds this type.
    fn slice(data: &HostData) -> Option<&[Self]>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for i32 {}
}

impl HostElement for f32 {
    fn into_data(values: Vec<Self>) -> HostData {
        HostData::F32(values)
    }
    fn slice(data: &HostData) -> Option<&[Self]> {
        match data {
            HostData::F32(v) => Some(v),
            HostData::I32(_) => None,
        }
    }
}

impl HostElement for i32 {
    fn into_data(values: Vec<Self>) -> HostData {
        HostData::I32(values)
    }
    fn slice(data: &HostData) -> Option<&[Self]> {
        match data {
            HostData::I32(v) => Some(v),
            HostData::F32(_) => None,
        }
    }
}

/// A row-major array in main memory whose first dimension counts samples.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    shape: Vec<usize>,
    data: HostData,
}

impl HostTensor {
    /// Wraps `values` as an array of `shape` (`torch.tensor(values).view(shape)`).
    ///
    /// Errors with [`DataError::HostShape`] when `values.len()` is not the
    /// product of `shape`.
    pub fn new<T: HostElement>(values: Vec<T>, shape: &[usize]) -> Result<Self> {
        let numel = shape.iter().product();
        if values.len() != numel {
            return Err(DataError::HostShape {
                shape: shape.to_vec(),
                numel,
                len: values.len(),
            });
        }
        Ok(Self {
            shape: shape.to_vec(),
            data: T::into_data(values),
        })
    }

    /// The shape, samples first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type the device tensor will have.
    pub fn dtype(&self) -> DType {
        match self.data {
            HostData::F32(_) => DType::F32,
            HostData::I32(_) => DType::I32,
        }
    }

    /// The values, row-major.
    pub fn data(&self) -> &HostData {
        &self.data
    }

    /// The values as a slice of `T`, or `None` when they are of the other type.
    pub fn values<T: HostElement>(&self) -> Option<&[T]> {
        T::slice(&self.data)
    }

    /// Number of rows (the first dimension); 1 for a 0-dimensional array.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Values per row: the product of every dimension after the first.
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// The rows `indices`, in that order, as one contiguous array of shape
    /// `[indices.len(), shape[1..]]`.
    ///
    /// # Panics
    /// If an index is not below [`HostTensor::rows`] (callers check indices
    /// when they build a data set, not per batch).
    pub fn gather(&self, indices: &[usize]) -> HostTensor {
        fn rows<T: Copy>(values: &[T], row_len: usize, indices: &[usize]) -> Vec<T> {
            let mut out = Vec::with_capacity(indices.len() * row_len);
            for &i in indices {
                out.extend_from_slice(&values[i * row_len..(i + 1) * row_len]);
            }
            out
        }
        let n = self.rows();
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            panic!(
                "HostTensor::gather: row {bad} is out of range for shape {:?}",
                self.shape
            );
        }
        let row_len = self.row_len();
        let data = match &self.data {
            HostData::F32(v) => HostData::F32(rows(v, row_len, indices)),
            HostData::I32(v) => HostData::I32(rows(v, row_len, indices)),
        };
        HostTensor {
            shape: self.batch_shape(indices.len()),
            data,
        }
    }

    /// The rows in `range` (already clamped by the caller) as one array.
    pub(crate) fn slice_rows(&self, range: Range<usize>) -> HostTensor {
        let row_len = self.row_len();
        let span = range.start * row_len..range.end * row_len;
        let data = match &self.data {
            HostData::F32(v) => HostData::F32(v[span].to_vec()),
            HostData::I32(v) => HostData::I32(v[span].to_vec()),
        };
        HostTensor {
            shape: self.batch_shape(range.len()),
            data,
        }
    }

    /// Row `index` without its sample dimension (`x[i]`): shape `shape[1..]`.
    pub(crate) fn row(&self, index: usize) -> HostTensor {
        let mut one = self.slice_rows(index..index + 1);
        one.shape.remove(0);
        one
    }

    /// Copies the values to a new device tensor of the same shape.
    pub fn to_device(&self) -> Result<Raw> {
        let raw = match &self.data {
            HostData::F32(v) => Raw::try_from_slice(v, &self.shape),
            HostData::I32(v) => Raw::try_from_slice(v, &self.shape),
        };
        Ok(raw?)
    }

    /// Applies `f` to every value of an `f32` array; an `i32` array is left
    /// alone and `false` is returned.
    pub(crate) fn map_f32(&mut self, f: impl Fn(f32) -> f32) -> bool {
        match &mut self.data {
            HostData::F32(v) => {
                v.iter_mut().for_each(|x| *x = f(*x));
                true
            }
            HostData::I32(_) => false,
        }
    }

    /// Gives each row the shape `row_shape` (same number of values).
    pub(crate) fn reshape_rows(&mut self, row_shape: &[usize]) -> bool {
        if row_shape.iter().product::<usize>() != self.row_len() || self.shape.is_empty() {
            return false;
        }
        self.shape.truncate(1);
        self.shape.extend_from_slice(row_shape);
        true
    }

    fn batch_shape(&self, rows: usize) -> Vec<usize> {
        let mut shape = self.shape.clone();
        match shape.first_mut() {
            Some(first) => *first = rows,
            None => shape.push(rows),
        }
        shape
    }
}
