//! Indexing (`shaders/index.wgsl`): `cat`, `stack`, `index_select`,
//! `gather` and their gradients (`where_cond` and `masked_fill`, which
//! share the shader, are in `where_cond.rs`).
//!
//! Index tensors are i32 (wgrad's stand-in for PyTorch's int64). The host
//! cannot check index *values* without a read-back that would stall the
//! GPU, so, as with PyTorch's CUDA device asserts, results are unspecified
//! for an out-of-range index; the kernels stay memory-safe (they write 0
//! rather than read outside the source).

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::layout::{Layout, normalize_dim};
use crate::ops::{ELEMENTS_PER_INVOCATION, dispatch_items, or_panic, pack_divisors, pack8, to_u32};
use crate::runtime::{Binding, Kernel};
use crate::shaders::INDEX;
use crate::tensor::Tensor;

fn invalid(op: &'static str, message: String, shape: &[usize]) -> TensorError {
    TensorError::Invalid {
        op,
        message,
        shape: shape.to_vec(),
    }
}

fn mismatch(op: &'static str, lhs: &[usize], rhs: &[usize]) -> TensorError {
    TensorError::ShapeMismatch {
        op,
        lhs: lhs.to_vec(),
        rhs: rhs.to_vec(),
    }
}

fn require(op: &'static str, t: &Tensor, dtype: DType) -> Result<()> {
    if t.dtype == dtype {
        Ok(())
    } else {
        Err(TensorError::DType { op, dtype: t.dtype })
    }
}

/// `index.wgsl`'s Params: the output shape, up to three operand layouts
/// (viewed with that shape), the scalars, then `div_by`'s multipliers and
/// shifts for the shape. 56 words, as in WGSL. The shape has at least one
/// dim (its length is also the `RANK` pipeline constant).
pub(super) fn params(
    op: &'static str,
    shape: &[usize],
    ops: &[&Layout],
    dim: usize,
    size: usize,
) -> Result<Vec<u32>> {
    debug_assert!(!shape.is_empty(), "{op}: index.wgsl needs RANK >= 1");
    let dims = pack8(op, shape)?;
    let mut p = Vec::with_capacity(56);
    p.extend(dims);
    for k in 0..3 {
        p.extend(match ops.get(k) {
            Some(l) => pack8(op, &l.strides)?,
            None => [0; 8],
        });
    }
    p.extend([
        to_u32(op, shape.iter().product())?,
        shape.len() as u32,
        dim as u32,
        to_u32(op, size)?,
    ]);
    for k in 0..3 {
        p.push(ops.get(k).map_or(Ok(0), |l| to_u32(op, l.offset))?);
    }
    p.push(0);
    p.extend(pack_divisors(&dims));
    Ok(p)
}

/// Where `params` puts the rank: after the shape and three strides (4 x 8
/// words) and numel.
const RANK_SLOT: usize = 33;

/// Dispatches `entry` of `index.wgsl` over the `numel` output elements,
/// specialised on the rank that `params` packed.
pub(super) fn dispatch_index(
    entry: &'static str,
    p: &[u32],
    bindings: &[Binding<'_>],
    numel: usize,
) {
    let rank = [("RANK", f64::from(p[RANK_SLOT]))];
    dispatch_items(
        Kernel::new(&INDEX, entry),
        &rank,
        p,
        bindings,
        numel,
        ELEMENTS_PER_INVOCATION,
    );
}

/// A binding of `t`'s buffer.
pub(super) fn bind(binding: u32, t: &Tensor) -> Binding<'_> {
    Binding {
        binding,
        buffer: t.buffer(),
    }
}

/// `y[pos] = x[pos with pos[dim] = index[pos]]`, the index given as a layout
/// of `out_shape` (broadcast for `index_select`).
fn gather_words(
    op: &'static str,
    x: &Tensor,
    dim: usize,
    index: &Tensor,
    il: &Layout,
) -> Result<Tensor> {
    let out = Tensor::uninit(op, &il.shape, x.dtype)?;
    let p = params(op, &il.shape, &[&x.layout, il], dim, x.shape()[dim])?;
    let bindings = [bind(1, x), bind(2, index), bind(3, &out)];
    dispatch_index("gather", &p, &bindings, out.numel());
    Ok(out)
}

/// `dx` of `input_shape` from `dy` and the index, both viewed with `dy`'s
/// shape, which equals `input_shape` except along `dim`.
fn gather_backward_words(
    op: &'static str,
    dy: &Tensor,
    dim: usize,
    index: &Tensor,
    il: &Layout,
    input_shape: &[usize],
) -> Result<Tensor> {
    let dx = Tensor::uninit(op, input_shape, DType::F32)?;
    let p = params(op, input_shape, &[&dy.layout, il], dim, dy.shape()[dim])?;
    let bindings = [bind(4, dy), bind(2, index), bind(5, &dx)];
    dispatch_index("gather_backward", &p, &bindings, dx.numel());
    Ok(dx)
}

/// The layout of a 0-D or 1-D `index` broadcast over `shape` along `dim`.
fn index_select_layout(index: &Tensor, shape: &[usize], dim: usize) -> Layout {
    let mut strides = vec![0; shape.len()];
    strides[dim] = index.strides().first().copied().unwrap_or(0);
    Layout {
        shape: shape.to_vec(),
        strides,
        offset: index.layout.offset,
    }
}

/// Checks `index_select`'s index and returns its length.
fn check_select_index(op: &'static str, index: &Tensor) -> Result<usize> {
    require(op, index, DType::I32)?;
    if index.dim() > 1 {
        return Err(invalid(
            op,
            "the index must be a vector (0-D or 1-D)".into(),
            index.shape(),
        ));
    }
    Ok(index.numel())
}

impl Tensor {
    /// Concatenates along `dim` (`torch.cat`). All tensors have one rank
    /// and dtype and equal sizes except along `dim`; empty parts are fine,
    /// and, as in PyTorch, a 1-D tensor of shape `[0]` is skipped whatever
    /// the others' rank. Each part is copied into a `narrow` view of the output.
    pub fn try_cat(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let parts: Vec<&Tensor> = tensors
            .iter()
            .copied()
            .filter(|t| t.shape() != [0])
            .collect();
        let Some(first) = parts.first().or(tensors.first()) else {
            return Err(invalid(
                "cat",
                "expected a non-empty list of tensors".into(),
                &[],
            ));
        };
        if first.dim() == 0 {
            return Err(invalid(
                "cat",
                "zero-dimensional tensors cannot be concatenated".into(),
                &[],
            ));
        }
        let d = normalize_dim("cat", dim, first.dim())?;
        let mut shape = first.shape().to_vec();
        shape[d] = 0;
        for t in &parts {
            let same = t.dim() == first.dim()
                && (0..first.dim()).all(|k| k == d || t.shape()[k] == first.shape()[k]);
            if !same {
                return Err(mismatch("cat", first.shape(), t.shape()));
            }
            if t.dtype != first.dtype {
                let message = format!("dtypes differ: {:?} and {:?}", first.dtype, t.dtype);
                return Err(invalid("cat", message, t.shape()));
            }
            shape[d] += t.shape()[d];
        }
        // parts: k tensors [.., n_i, ..] -> [.., sum n_i, ..]
        let out = Tensor::uninit("cat", &shape, first.dtype)?;
        let mut start = 0;
        for t in &parts {
            let n = t.shape()[d];
            out.try_narrow(d as isize, start, n)?.try_copy_(t)?;
            start += n;
        }
        Ok(out)
    }

    /// `torch.cat(tensors, dim)`; see [`Tensor::try_cat`].
    ///
    /// # Panics
    /// If the list is empty or the shapes or dtypes disagree.
    pub fn cat(tensors: &[&Tensor], dim: isize) -> Tensor {
        or_panic(Tensor::try_cat(tensors, dim))
    }

    /// Stacks equal-shaped tensors along a new dimension `dim`
    /// (`torch.stack`; `dim` may be the rank): unsqueeze, then cat.
    pub fn try_stack(tensors: &[&Tensor], dim: isize) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            return Err(invalid(
                "stack",
                "expected a non-empty list of tensors".into(),
                &[],
            ));
        };
        let d = normalize_dim("stack", dim, first.dim() + 1)? as isize;
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(mismatch("stack", first.shape(), t.shape()));
        }
        // k tensors [a, b] -> [.., k, ..] with k at dim
        let parts: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(d)).collect();
        let refs: Vec<&Tensor> = parts.iter().collect();
        Tensor::try_cat(&refs, d).map_err(|e| match e {
            TensorError::Invalid { message, shape, .. } => invalid("stack", message, &shape),
            e => e,
        })
    }

    /// `torch.stack(tensors, dim)`; see [`Tensor::try_stack`].
    ///
    /// # Panics
    /// If the list is empty or the shapes or dtypes disagree.
    pub fn stack(tensors: &[&Tensor], dim: isize) -> Tensor {
        or_panic(Tensor::try_stack(tensors, dim))
    }

    /// The entries `index` (0-D or 1-D, i32) along `dim`
    /// (`x.index_select(dim, index)`), for any dtype. See the module docs
    /// for out-of-range indices.
    pub fn try_index_select(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let k = check_select_index("index_select", index)?;
        let d = normalize_dim("index_select", dim, self.dim())?;
        if self.dim() == 0 {
            if k != 1 {
                return Err(invalid(
                    "index_select",
                    format!("an index into a scalar has one value, got {k}"),
                    index.shape(),
                ));
            }
            return self
                .unsqueeze(0)
                .try_index_select(0, &index.reshape(&[1]))?
                .try_reshape(&[]);
        }
        // x: [.., n, ..], index: [k] -> [.., k, ..]
        let mut shape = self.shape().to_vec();
        shape[d] = k;
        gather_words(
            "index_select",
            self,
            d,
            index,
            &index_select_layout(index, &shape, d),
        )
    }

    /// `x.index_select(dim, index)`; see [`Tensor::try_index_select`].
    ///
    /// # Panics
    /// If `index` is not an i32 vector or `dim` is out of range.
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Tensor {
        or_panic(self.try_index_select(dim, index))
    }

    /// `x.gather(dim, index)`: `out[i][j][k] = x[i][index[i][j][k]][k]` for
    /// dim 1. `index` is i32 of `x`'s rank, no larger than `x` except along
    /// `dim`; the result has `index`'s shape and `x`'s dtype. See the module
    /// docs for out-of-range indices.
    pub fn try_gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        require("gather", index, DType::I32)?;
        let d = normalize_dim("gather", dim, self.dim())?;
        let fits = index.dim() == self.dim()
            && (0..self.dim()).all(|k| k == d || index.shape()[k] <= self.shape()[k]);
        if !fits {
            return Err(mismatch("gather", self.shape(), index.shape()));
        }
        if self.dim() == 0 {
            return self
                .unsqueeze(0)
                .try_gather(0, &index.unsqueeze(0))?
                .try_reshape(&[]);
        }
        // x: [a, n, c], index: [a', k, c'] (a' <= a, c' <= c) -> [a', k, c']
        gather_words("gather", self, d, index, &index.layout)
    }

    /// `x.gather(dim, index)`; see [`Tensor::try_gather`].
    ///
    /// # Panics
    /// If the index is not i32 or its shape does not fit `x`.
    pub fn gather(&self, dim: isize, index: &Tensor) -> Tensor {
        or_panic(self.try_gather(dim, index))
    }

    /// `x[arange(n), target]` for `x: [n, c]` and i32 `target: [n]`: one
    /// entry per row (the picked log-probabilities of NLL loss).
    pub fn try_take_along_rows(&self, target: &Tensor) -> Result<Tensor> {
        if self.dim() != 2 || target.dim() != 1 || target.shape()[0] != self.shape()[0] {
            return Err(mismatch("take_along_rows", self.shape(), target.shape()));
        }
        require("take_along_rows", target, DType::I32)?;
        // x: [n, c], target: [n] -> [n, 1] -> [n]
        let n = self.shape()[0] as isize;
        self.try_gather(1, &target.unsqueeze(1))?.try_reshape(&[n])
    }

    /// `x[arange(n), target]`; see [`Tensor::try_take_along_rows`].
    ///
    /// # Panics
    /// If `x` is not `[n, c]` or `target` is not an i32 `[n]`.
    pub fn take_along_rows(&self, target: &Tensor) -> Tensor {
        or_panic(self.try_take_along_rows(target))
    }

    /// The gradient of `x.gather(dim, index)` for `x` of `input_shape`:
    /// `dx[.., r, ..]` sums the `dy[.., j, ..]` whose `index[.., j, ..] == r`
    /// (PyTorch's `scatter_add` into zeros). Computed as a gather over the
    /// contributions, O(numel(dx) * index.shape[dim]), deterministic.
    pub fn try_gather_backward(
        dy: &Tensor,
        index: &Tensor,
        dim: isize,
        input_shape: &[usize],
    ) -> Result<Tensor> {
        let op = "gather_backward";
        require(op, dy, DType::F32)?;
        require(op, index, DType::I32)?;
        if dy.shape() != index.shape() {
            return Err(mismatch(op, dy.shape(), index.shape()));
        }
        let d = normalize_dim(op, dim, input_shape.len())?;
        let fits = index.dim() == input_shape.len()
            && (0..index.dim()).all(|k| k == d || index.shape()[k] <= input_shape[k]);
        if !fits {
            return Err(mismatch(op, input_shape, index.shape()));
        }
        if input_shape.is_empty() {
            let (dy, index) = (dy.unsqueeze(0), index.unsqueeze(0));
            return Tensor::try_gather_backward(&dy, &index, 0, &[1])?.try_reshape(&[]);
        }
        // dy, index: [a', k, c'] -> dx: [a, n, c], zero outside [a', n, c']
        let mut covered = index.shape().to_vec();
        covered[d] = input_shape[d];
        let dx = gather_backward_words(op, dy, d, index, &index.layout, &covered)?;
        if covered == input_shape {
            return Ok(dx);
        }
        let full = Tensor::uninit(op, input_shape, DType::F32)?;
        full.fill_(0.0);
        let mut view = full.layout.clone();
        view.shape = covered;
        Tensor::from_parts(full.storage.clone(), view, DType::F32).try_copy_(&dx)?;
        Ok(full)
    }

    /// The gradient of `x.gather(dim, index)`; see [`Tensor::try_gather_backward`].
    ///
    /// # Panics
    /// If the shapes or dtypes do not fit.
    pub fn gather_backward(
        dy: &Tensor,
        index: &Tensor,
        dim: isize,
        input_shape: &[usize],
    ) -> Tensor {
        or_panic(Tensor::try_gather_backward(dy, index, dim, input_shape))
    }

    /// The gradient of `x.index_select(dim, index)` for `x` of
    /// `input_shape`: `dx[.., r, ..]` sums the `dy[.., j, ..]` with
    /// `index[j] == r` (PyTorch's `index_add` into zeros). Computed as a
    /// gather over the contributions, O(numel(dx) * index.len()), deterministic.
    pub fn try_index_select_backward(
        dy: &Tensor,
        dim: isize,
        index: &Tensor,
        input_shape: &[usize],
    ) -> Result<Tensor> {
        let op = "index_select_backward";
        require(op, dy, DType::F32)?;
        let k = check_select_index(op, index)?;
        let d = normalize_dim(op, dim, input_shape.len())?;
        // A scalar input has a scalar dy and a one-value index, as in the forward.
        let fits = dy.dim() == input_shape.len()
            && (0..dy.dim()).all(|j| {
                if j == d {
                    dy.shape()[j] == k
                } else {
                    dy.shape()[j] == input_shape[j]
                }
            })
            && (dy.dim() > 0 || k == 1);
        if !fits {
            return Err(mismatch(op, input_shape, dy.shape()));
        }
        if input_shape.is_empty() {
            let (dy, index) = (dy.unsqueeze(0), index.reshape(&[1]));
            return Tensor::try_index_select_backward(&dy, 0, &index, &[1])?.try_reshape(&[]);
        }
        // dy: [a, k, c], index: [k] -> dx: [a, n, c]
        let il = index_select_layout(index, dy.shape(), d);
        gather_backward_words(op, dy, d, index, &il, input_shape)
    }

    /// The gradient of `x.index_select(dim, index)`; see [`Tensor::try_index_select_backward`].
    ///
    /// # Panics
    /// If the shapes or dtypes do not fit.
    pub fn index_select_backward(
        dy: &Tensor,
        dim: isize,
        index: &Tensor,
        input_shape: &[usize],
    ) -> Tensor {
        or_panic(Tensor::try_index_select_backward(
            dy,
            dim,
            index,
            input_shape,
        ))
    }
}
