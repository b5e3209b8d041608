//! `where_cond` and `masked_fill` (`shaders/index.wgsl`, entry `where_cond`):
//! an elementwise choice between two broadcast tensors.

use crate::dtype::DType;
use crate::error::Result;
use crate::layout::{Layout, broadcast_layout, broadcast_shapes};
use crate::ops::index::{bind, dispatch_index, params};
use crate::ops::{coalesce_min1, or_panic};
use crate::tensor::Tensor;

impl Tensor {
    /// `torch.where(cond, a, b)`: `a` where `cond` is nonzero, else `b`, all
    /// three broadcast to one shape. `cond` is f32 (0/1; NaN counts as true)
    /// or i32. The result has `a`'s and `b`'s dtype, f32 when they differ.
    /// Named `where_cond` because `where` is a Rust keyword.
    pub fn try_where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        where_impl("where", cond, a, b)
    }

    /// `torch.where(cond, a, b)`; see [`Tensor::try_where_cond`].
    ///
    /// # Panics
    /// If the three shapes do not broadcast.
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
        or_panic(Tensor::try_where_cond(cond, a, b))
    }

    /// `x.masked_fill(mask, value)`: `value` where `mask` is nonzero, else
    /// `x`; `mask` (f32 0/1 or i32) and `x` broadcast to a common shape.
    pub fn try_masked_fill(&self, mask: &Tensor, value: f32) -> Result<Tensor> {
        let v = match self.dtype {
            DType::F32 => Tensor::try_from_slice(&[value], &[])?,
            DType::I32 => Tensor::try_from_slice(&[value as i32], &[])?,
        };
        where_impl("masked_fill", mask, &v, self)
    }

    /// `x.masked_fill(mask, value)`; see [`Tensor::try_masked_fill`].
    ///
    /// # Panics
    /// If `mask` and `x` do not broadcast.
    pub fn masked_fill(&self, mask: &Tensor, value: f32) -> Tensor {
        or_panic(self.try_masked_fill(mask, value))
    }
}

fn where_impl(op: &'static str, cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ab = broadcast_shapes(op, a.shape(), b.shape())?;
    let shape = broadcast_shapes(op, cond.shape(), &ab)?;
    let (a, b) = if a.dtype == b.dtype {
        (a.clone(), b.clone())
    } else {
        (a.float(), b.float())
    };
    // cond, a, b: broadcast to one shape -> that shape
    let lc = broadcast_layout(&cond.layout, &shape);
    let la = broadcast_layout(&a.layout, &shape);
    let lb = broadcast_layout(&b.layout, &shape);
    let (merged, strides) = coalesce_min1(&shape, &[&lc.strides, &la.strides, &lb.strides]);
    let view = |l: &Layout, s: &[usize]| Layout {
        shape: merged.clone(),
        strides: s.to_vec(),
        offset: l.offset,
    };
    let ops = [
        view(&lc, &strides[0]),
        view(&la, &strides[1]),
        view(&lb, &strides[2]),
    ];
    let cond_is_f32 = usize::from(cond.dtype == DType::F32);
    let p = params(op, &merged, &[&ops[0], &ops[1], &ops[2]], 0, cond_is_f32)?;
    let out = Tensor::uninit(op, &shape, a.dtype)?;
    let bindings = [bind(6, cond), bind(7, &a), bind(8, &b), bind(3, &out)];
    dispatch_index("where_cond", &p, &bindings, out.numel());
    Ok(out)
}
