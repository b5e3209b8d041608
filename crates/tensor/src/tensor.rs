//! The GPU tensor: a layout over a pooled device buffer.

use std::sync::Arc;

use crate::dtype::{DType, Element};
use crate::error::{Result, TensorError};
use crate::layout::Layout;
use crate::runtime::rt;
use crate::storage::Storage;

/// An n-dimensional array of `f32` or `i32` in GPU memory.
///
/// Cloning is cheap: clones share the buffer (like two Python names for one
/// `torch.Tensor`). Views (`reshape`, `permute`, `narrow`, ...) share it too.
/// Ops are recorded into the device's pending work and run when a result is
/// read (`to_vec`, `item`, printing) or the batch fills up.
#[derive(Clone)]
pub struct Tensor {
    pub(crate) storage: Arc<Storage>,
    pub(crate) layout: Layout,
    pub(crate) dtype: DType,
}

impl Tensor {
    /// A tensor over an existing buffer with a given layout.
    pub(crate) fn from_parts(storage: Arc<Storage>, layout: Layout, dtype: DType) -> Tensor {
        Tensor {
            storage,
            layout,
            dtype,
        }
    }

    /// A dense tensor of `shape` whose contents are not initialised.
    pub(crate) fn uninit(op: &'static str, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let layout = Layout::contiguous(shape);
        let bytes = (layout.numel() * dtype.size()) as u64;
        let buffer = rt().alloc(op, bytes)?;
        Ok(Tensor::from_parts(
            Arc::new(Storage::new(buffer)),
            layout,
            dtype,
        ))
    }

    /// Like [`Tensor::uninit`] for ops whose shapes were already checked:
    /// the only failure left is a tensor beyond the adapter's limits.
    pub(crate) fn empty_for(op: &'static str, shape: &[usize], dtype: DType) -> Tensor {
        Tensor::uninit(op, shape, dtype).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Copies host data into a new tensor of `shape`.
    pub fn try_from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        let numel: usize = shape.iter().product();
        if numel != data.len() {
            return Err(TensorError::Invalid {
                op: "from_slice",
                message: format!(
                    "{} values do not fill shape {shape:?} ({numel} elements)",
                    data.len()
                ),
                shape: shape.to_vec(),
            });
        }
        let buffer = rt().upload("from_slice", bytemuck::cast_slice(data))?;
        Ok(Tensor::from_parts(
            Arc::new(Storage::new(buffer)),
            Layout::contiguous(shape),
            T::DTYPE,
        ))
    }

    /// Copies host data into a new tensor of `shape` (`torch.tensor(data).view(shape)`).
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Tensor {
        Tensor::try_from_slice(data, shape).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A 1-D tensor holding `data` (the numpy bridge: `torch.from_numpy`).
    pub fn from_vec<T: Element>(data: Vec<T>) -> Tensor {
        let n = data.len();
        Tensor::from_slice(&data, &[n])
    }

    /// A 0-dimensional tensor holding `value`.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_slice(&[value], &[])
    }

    /// The size of each dimension (`t.shape`).
    pub fn shape(&self) -> &[usize] {
        &self.layout.shape
    }

    /// The size of dimension `dim` (negative counts from the end).
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn size(&self, dim: isize) -> usize {
        let d =
            crate::layout::normalize_dim("size", dim, self.dim()).unwrap_or_else(|e| panic!("{e}"));
        self.layout.shape[d]
    }

    /// The number of dimensions (`t.dim()`).
    pub fn dim(&self) -> usize {
        self.layout.shape.len()
    }

    /// The number of elements (`t.numel()`).
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Strides in elements.
    pub fn strides(&self) -> &[usize] {
        &self.layout.strides
    }

    /// The full layout (shape, strides, offset).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether the elements are dense and row-major.
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// Whether two tensors share one buffer.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// Whether no other tensor (view or clone) shares this tensor's buffer.
    pub fn storage_is_unique(&self) -> bool {
        Arc::strong_count(&self.storage) == 1
    }

    /// The device buffer (for kernels in other crates of wgrad).
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.storage.buffer()
    }

    /// Copies the elements to the host in row-major order. This waits for
    /// all pending GPU work.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype {
            return Err(TensorError::DType {
                op: "to_vec",
                dtype: self.dtype,
            });
        }
        let dense = self.contiguous();
        let start = (dense.layout.offset * 4) as u64;
        let bytes = (dense.numel() * 4) as u64;
        let raw = rt().read_bytes(dense.buffer(), start, bytes)?;
        Ok(bytemuck::pod_collect_to_vec(&raw))
    }

    /// The value of a one-element tensor as f32 (`loss.item()`); an int
    /// tensor's value is converted.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(TensorError::Invalid {
                op: "item",
                message: "only a tensor with exactly one element has an item".into(),
                shape: self.shape().to_vec(),
            });
        }
        match self.dtype {
            DType::F32 => Ok(self.to_vec::<f32>()?[0]),
            DType::I32 => Ok(self.to_vec::<i32>()?[0] as f32),
        }
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.layout.shape)
            .field("strides", &self.layout.strides)
            .field("offset", &self.layout.offset)
            .field("dtype", &self.dtype)
            .finish()
    }
}
