//! Views and copies that keep the graph: reshape, permute, slicing, expand.

use wgrad_tensor::Result;

use crate::op::Op;
use crate::tensor::Tensor;

impl Tensor {
    /// A dim already checked by the data op, as an index.
    pub(crate) fn dim_index(&self, dim: isize) -> usize {
        if dim < 0 {
            (dim + self.dim() as isize) as usize
        } else {
            dim as usize
        }
    }

    /// Records a view whose backward is a reshape back to this tensor's shape.
    fn reshaped(&self, out: wgrad_tensor::Tensor, name: &'static str) -> Tensor {
        let input_shape = self.shape().to_vec();
        Tensor::record(out, name, &[self], || Op::Reshape { input_shape })
    }

    /// `t.view(shape)` (one `-1` inferred); needs a contiguous tensor.
    pub fn try_view(&self, shape: &[isize]) -> Result<Tensor> {
        Ok(self.reshaped(self.data().try_view(shape)?, "ViewBackward0"))
    }

    /// `t.view(shape)`.
    ///
    /// # Panics
    /// If the element count differs or the tensor is not contiguous.
    pub fn view(&self, shape: &[isize]) -> Tensor {
        self.reshaped(self.data().view(shape), "ViewBackward0")
    }

    /// `t.reshape(shape)`: a view when possible, else a copy.
    pub fn try_reshape(&self, shape: &[isize]) -> Result<Tensor> {
        Ok(self.reshaped(self.data().try_reshape(shape)?, "ReshapeAliasBackward0"))
    }

    /// `t.reshape(shape)`.
    ///
    /// # Panics
    /// If the element count differs.
    pub fn reshape(&self, shape: &[isize]) -> Tensor {
        self.reshaped(self.data().reshape(shape), "ReshapeAliasBackward0")
    }

    /// `t.flatten(start_dim, end_dim)`.
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Tensor {
        self.reshaped(self.data().flatten(start_dim, end_dim), "ViewBackward0")
    }

    /// `t.squeeze(dim)`.
    pub fn squeeze(&self, dim: isize) -> Tensor {
        self.reshaped(self.data().squeeze(dim), "SqueezeBackward1")
    }

    /// `t.squeeze()`.
    pub fn squeeze_all(&self) -> Tensor {
        self.reshaped(self.data().squeeze_all(), "SqueezeBackward0")
    }

    /// `t.unsqueeze(dim)`.
    pub fn unsqueeze(&self, dim: isize) -> Tensor {
        self.reshaped(self.data().unsqueeze(dim), "UnsqueezeBackward0")
    }

    /// `t.permute(dims)`.
    pub fn try_permute(&self, dims: &[usize]) -> Result<Tensor> {
        let out = self.data().try_permute(dims)?;
        Ok(Tensor::record(out, "PermuteBackward0", &[self], || {
            Op::Permute {
                dims: dims.to_vec(),
            }
        }))
    }

    /// `t.permute(dims)`.
    ///
    /// # Panics
    /// If `dims` is not a permutation of the dimensions.
    pub fn permute(&self, dims: &[usize]) -> Tensor {
        self.try_permute(dims).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.transpose(d0, d1)`.
    pub fn transpose(&self, d0: isize, d1: isize) -> Tensor {
        let out = self.data().transpose(d0, d1);
        let mut dims: Vec<usize> = (0..self.dim()).collect();
        dims.swap(self.dim_index(d0), self.dim_index(d1));
        Tensor::record(out, "TransposeBackward0", &[self], || Op::Permute { dims })
    }

    /// `t.t()` for a matrix.
    pub fn t(&self) -> Tensor {
        if self.dim() < 2 {
            return self.clone();
        }
        let out = self.data().t();
        Tensor::record(out, "TBackward0", &[self], || Op::Permute {
            dims: vec![1, 0],
        })
    }

    /// Records a slice of `dim` starting at `start` with `step`.
    fn sliced(
        &self,
        out: wgrad_tensor::Tensor,
        name: &'static str,
        dim: isize,
        start: usize,
        step: usize,
        keep_dim: bool,
    ) -> Tensor {
        let dim = self.dim_index(dim);
        let input_shape = self.shape().to_vec();
        Tensor::record(out, name, &[self], || Op::Slice {
            input_shape,
            dim,
            start,
            step,
            keep_dim,
        })
    }

    /// `t.narrow(dim, start, length)`.
    pub fn try_narrow(&self, dim: isize, start: usize, length: usize) -> Result<Tensor> {
        let out = self.data().try_narrow(dim, start, length)?;
        Ok(self.sliced(out, "SliceBackward0", dim, start, 1, true))
    }

    /// `t.narrow(dim, start, length)`.
    ///
    /// # Panics
    /// If the range does not fit.
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Tensor {
        self.try_narrow(dim, start, length)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t[.., start:end:step, ..]` along `dim`.
    pub fn try_slice(&self, dim: isize, start: usize, end: usize, step: usize) -> Result<Tensor> {
        let out = self.data().try_slice(dim, start, end, step)?;
        // The kernel clamps start to the size; the backward must agree.
        let start = start.min(self.shape()[self.dim_index(dim)]);
        Ok(self.sliced(out, "SliceBackward0", dim, start, step, true))
    }

    /// `t[.., start:end:step, ..]`.
    ///
    /// # Panics
    /// If `dim` is out of range or `step` is 0.
    pub fn slice(&self, dim: isize, start: usize, end: usize, step: usize) -> Tensor {
        self.try_slice(dim, start, end, step)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.select(dim, index)`: Python's `t[:, index]`.
    pub fn try_select(&self, dim: isize, index: isize) -> Result<Tensor> {
        let out = self.data().try_select(dim, index)?;
        let size = self.shape()[self.dim_index(dim)] as isize;
        let i = if index < 0 { index + size } else { index } as usize;
        Ok(self.sliced(out, "SelectBackward0", dim, i, 1, false))
    }

    /// `t.select(dim, index)`.
    ///
    /// # Panics
    /// If the index is out of range.
    pub fn select(&self, dim: isize, index: isize) -> Tensor {
        self.try_select(dim, index)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.expand(shape)`.
    pub fn try_expand(&self, shape: &[usize]) -> Result<Tensor> {
        let out = self.data().try_expand(shape)?;
        let input_shape = self.shape().to_vec();
        Ok(Tensor::record(out, "ExpandBackward0", &[self], || {
            Op::Expand { input_shape }
        }))
    }

    /// `t.expand(shape)`.
    ///
    /// # Panics
    /// If `self` does not broadcast to `shape`.
    pub fn expand(&self, shape: &[usize]) -> Tensor {
        self.try_expand(shape).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A dense copy that keeps the graph (`t.contiguous()`; free when dense).
    pub fn contiguous(&self) -> Tensor {
        let out = self.data().contiguous();
        if out.shares_storage(self.data()) {
            return self.clone();
        }
        Tensor::record(out, "CloneBackward0", &[self], || Op::Identity)
    }

    /// A copy with its own buffer that keeps the graph (`t.clone()`).
    pub fn clone_tensor(&self) -> Tensor {
        Tensor::record(
            self.data().detached_copy(),
            "CloneBackward0",
            &[self],
            || Op::Identity,
        )
    }
}
