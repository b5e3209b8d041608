//! Joining and indexing: cat, stack, index_select, gather, where, masked_fill.

use wgrad_tensor::{Result, Tensor as Raw};

use crate::op::Op;
use crate::tensor::Tensor;

impl Tensor {
    /// Concatenates along `dim` (`torch.cat`).
    pub fn try_cat(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let raws: Vec<&Raw> = tensors.iter().map(|t| t.data()).collect();
        let out = Raw::try_cat(&raws, dim)?;
        let d = if dim < 0 {
            dim + out.dim() as isize
        } else {
            dim
        } as usize;
        let sizes = tensors.iter().map(|t| t.shape()[d]).collect();
        Ok(Tensor::record(out, "CatBackward0", tensors, || Op::Cat {
            dim: d,
            sizes,
        }))
    }

    /// `torch.cat(tensors, dim)`.
    ///
    /// # Panics
    /// If the shapes differ outside `dim` (the message names them).
    pub fn cat(tensors: &[&Tensor], dim: isize) -> Tensor {
        Tensor::try_cat(tensors, dim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Stacks equal shapes along a new `dim` (`torch.stack`).
    pub fn try_stack(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let raws: Vec<&Raw> = tensors.iter().map(|t| t.data()).collect();
        let out = Raw::try_stack(&raws, dim)?;
        let d = if dim < 0 {
            dim + out.dim() as isize
        } else {
            dim
        } as usize;
        Ok(Tensor::record(out, "StackBackward0", tensors, || {
            Op::Stack { dim: d }
        }))
    }

    /// `torch.stack(tensors, dim)`.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn stack(tensors: &[&Tensor], dim: isize) -> Tensor {
        Tensor::try_stack(tensors, dim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Rows (or slices along `dim`) picked by a 1-D i32 `index` (`t.index_select`).
    pub fn try_index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let out = self.data().try_index_select(dim, index.data())?;
        let input_shape = self.shape().to_vec();
        let index = index.data().clone();
        Ok(Tensor::record(out, "IndexSelectBackward0", &[self], || {
            Op::IndexSelect {
                dim,
                index,
                input_shape,
            }
        }))
    }

    /// `t.index_select(dim, index)`.
    ///
    /// # Panics
    /// If `index` is not a 1-D i32 tensor or `dim` is out of range.
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Tensor {
        self.try_index_select(dim, index)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.gather(dim, index)` with an i32 `index` of the same rank.
    pub fn try_gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let out = self.data().try_gather(dim, index.data())?;
        let input_shape = self.shape().to_vec();
        let index = index.data().clone();
        Ok(Tensor::record(out, "GatherBackward0", &[self], || {
            Op::Gather {
                dim,
                index,
                input_shape,
            }
        }))
    }

    /// `t.gather(dim, index)`.
    ///
    /// # Panics
    /// If the ranks differ or `index` is not i32.
    pub fn gather(&self, dim: isize, index: &Tensor) -> Tensor {
        self.try_gather(dim, index)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `x[range(n), target]` for `x: [n, c]` and i32 `target: [n]` -> `[n]`.
    pub fn try_take_along_rows(&self, target: &Tensor) -> Result<Tensor> {
        Ok(self.try_gather(1, &target.unsqueeze(1))?.squeeze(1))
    }

    /// `x[range(n), target]`.
    ///
    /// # Panics
    /// If `x` is not 2-D or `target` is not an i32 `[n]`.
    pub fn take_along_rows(&self, target: &Tensor) -> Tensor {
        self.try_take_along_rows(target)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `torch.where(cond, a, b)` with broadcasting; `cond` nonzero picks `a`.
    pub fn try_where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let out = Raw::try_where_cond(cond.data(), a.data(), b.data())?;
        Ok(Tensor::record(out, "WhereBackward0", &[a, b], || {
            Op::Where {
                cond: cond.data().clone(),
                a_shape: a.shape().to_vec(),
                b_shape: b.shape().to_vec(),
            }
        }))
    }

    /// `torch.where(cond, a, b)`.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
        Tensor::try_where_cond(cond, a, b).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.masked_fill(mask, value)`: `value` where `mask` is nonzero.
    pub fn try_masked_fill(&self, mask: &Tensor, value: f32) -> Result<Tensor> {
        let out = self.data().try_masked_fill(mask.data(), value)?;
        let zero = Raw::zeros(&[]);
        Ok(Tensor::record(out, "MaskedFillBackward0", &[self], || {
            Op::Where {
                cond: mask.data().eq(&zero),
                a_shape: self.shape().to_vec(),
                b_shape: vec![],
            }
        }))
    }

    /// `t.masked_fill(mask, value)`.
    ///
    /// # Panics
    /// If `mask` does not broadcast to `self`.
    pub fn masked_fill(&self, mask: &Tensor, value: f32) -> Tensor {
        self.try_masked_fill(mask, value)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}
