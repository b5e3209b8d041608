//! Reductions (`shaders/reduce.wgsl`): `sum`, `mean`, `max`, `min`,
//! `argmax`, `argmin` over all elements or along dims, and `sum_to_shape`
//! for gradients of broadcasting ops.
//!
//! Every reduction views its (dense) input as `[outer, n, inner]` and folds
//! the middle axis. Integer tensors are reduced in f32 (exact below 2^24),
//! and the results are f32, where PyTorch would sum ints into int64.
//!
//! NOTE: ties in `max`/`min`/`argmax`/`argmin` pick the first index, as
//! PyTorch's CPU kernels do (its CUDA kernels do not promise this). A NaN is
//! larger and smaller than every number: `max` and `min` return NaN and its
//! index (the first NaN's) when a row holds one, as PyTorch does.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::layout::normalize_dim;
use crate::ops::{dispatch_items, or_panic, to_u32};
use crate::runtime::{Binding, Kernel};
use crate::shaders::REDUCE;
use crate::tensor::Tensor;

/// Below this length a row is folded by one invocation in one pass.
const SERIAL_MAX: usize = 1024;
/// Enough invocations to keep a GPU busy; splitting rows further only adds passes.
const TARGET_SLOTS: usize = 16_384;
/// The shortest run one invocation folds when a row is split into chunks.
const MIN_RUN: usize = 64;

/// What a pass of `reduce.wgsl` folds with.
#[derive(Clone, Copy, PartialEq)]
enum Fold {
    Sum,
    Mean,
    Max,
    Min,
}

/// A dense f32 tensor seen as `[outer, n, inner]`, reduced along `n`.
struct Span {
    outer: usize,
    n: usize,
    inner: usize,
}

/// How many partials each row is split into so that `outputs` rows of
/// length `n` give enough invocations without long serial loops.
fn plan_chunks(outputs: usize, n: usize) -> usize {
    if n <= SERIAL_MAX || outputs >= TARGET_SLOTS {
        return 1;
    }
    TARGET_SLOTS
        .div_ceil(outputs)
        .min(n.div_ceil(MIN_RUN))
        .max(1)
}

/// One pass: `[outer, n, inner]` -> `[outer, chunks, inner]` (`values`, and
/// `indices` for max/min; `pair_indices` are an earlier pass's indices).
fn pass(
    op: &'static str,
    fold: Fold,
    x: &Tensor,
    pair_indices: Option<&Tensor>,
    span: &Span,
    chunks: usize,
    divisor: f32,
) -> Result<(Tensor, Option<Tensor>)> {
    let slots = span.outer * chunks * span.inner;
    let y = Tensor::uninit(op, &[slots], DType::F32)?;
    let params = [
        to_u32(op, span.outer)?,
        to_u32(op, span.n)?,
        to_u32(op, span.inner)?,
        to_u32(op, chunks)?,
        to_u32(op, slots)?,
        divisor.to_bits(),
    ];
    let idx = match fold {
        Fold::Sum | Fold::Mean => None,
        Fold::Max | Fold::Min => Some(Tensor::uninit(op, &[slots], DType::I32)?),
    };
    let entry = match (fold, pair_indices) {
        (Fold::Sum | Fold::Mean, _) => "sum",
        (_, None) => "max_dim",
        (_, Some(_)) => "max_dim_merge",
    };
    // Bindings 1.. in order: x, y, idx, xi; the ones a kernel lacks are None.
    let bindings: Vec<Binding<'_>> = [Some(x), Some(&y), idx.as_ref(), pair_indices]
        .into_iter()
        .zip(1..)
        .filter_map(|(t, binding)| {
            t.map(|t| Binding {
                binding,
                buffer: t.buffer(),
            })
        })
        .collect();
    let constants: &[(&'static str, f64)] = match fold {
        Fold::Sum | Fold::Mean => &[],
        Fold::Max => &[("OP", 0.0)],
        Fold::Min => &[("OP", 1.0)],
    };
    // Slots with short runs are batched several to an invocation, so that
    // each folds about MIN_RUN elements.
    let run = span.n.div_ceil(chunks).max(1);
    dispatch_items(
        Kernel::new(&REDUCE, entry),
        constants,
        &params,
        &bindings,
        slots,
        MIN_RUN.div_ceil(run),
    );
    Ok((y, idx))
}

/// Reduces `x` (dense f32) along `span.n`; returns `outer * inner` values
/// (and indices for max/min), dense, in `shape`.
fn fold_span(
    op: &'static str,
    fold: Fold,
    x: &Tensor,
    span: Span,
    shape: &[usize],
) -> Result<(Tensor, Option<Tensor>)> {
    let outputs = span.outer * span.inner;
    let want_indices = matches!(fold, Fold::Max | Fold::Min);
    if outputs == 0 {
        let idx = want_indices.then(|| Tensor::empty_for(op, shape, DType::I32));
        return Ok((Tensor::uninit(op, shape, DType::F32)?, idx));
    }
    if span.n == 0 {
        if want_indices {
            return Err(TensorError::Invalid {
                op,
                message: "cannot reduce over a dimension of size 0 (a max or min has no identity)"
                    .into(),
                shape: x.shape().to_vec(),
            });
        }
        // sum of nothing is 0; mean of nothing is 0/0 = NaN, as in PyTorch.
        let value = if fold == Fold::Mean { f32::NAN } else { 0.0 };
        let y = Tensor::uninit(op, shape, DType::F32)?;
        y.fill_(value);
        return Ok((y, None));
    }
    let divisor = if fold == Fold::Mean {
        span.n as f32
    } else {
        1.0
    };
    let mut span = span;
    let mut cur = (x.clone(), None::<Tensor>);
    loop {
        let chunks = plan_chunks(outputs, span.n);
        let last = chunks == 1;
        let d = if last { divisor } else { 1.0 };
        let next = pass(op, fold, &cur.0, cur.1.as_ref(), &span, chunks, d)?;
        if last {
            let shape = as_isize(shape);
            let values = next.0.try_view(&shape)?;
            let indices = next.1.map(|t| t.try_view(&shape)).transpose()?;
            return Ok((values, indices));
        }
        span.n = chunks;
        cur = next;
    }
}

fn as_isize(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&d| d as isize).collect()
}

/// `shape` after reducing dims `start..end`: ones there with `keepdim`,
/// removed without.
fn reduced_shape(shape: &[usize], start: usize, end: usize, keepdim: bool) -> Vec<usize> {
    let mut out = shape[..start].to_vec();
    if keepdim {
        out.extend(std::iter::repeat_n(1, end - start));
    }
    out.extend_from_slice(&shape[end..]);
    out
}

impl Tensor {
    /// `self` as dense f32 (ints converted), the form every reduction reads.
    fn dense_f32(&self) -> Tensor {
        if self.dtype == DType::F32 {
            self.contiguous()
        } else {
            self.float()
        }
    }

    /// Folds dims `start..end` (a run of neighbours, so one pass suffices).
    fn reduce_run(
        &self,
        op: &'static str,
        fold: Fold,
        start: usize,
        end: usize,
        keepdim: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let s = self.shape();
        let span = Span {
            outer: s[..start].iter().product(),
            n: s[start..end].iter().product(),
            inner: s[end..].iter().product(),
        };
        let shape = reduced_shape(s, start, end, keepdim);
        fold_span(op, fold, &self.dense_f32(), span, &shape)
    }

    /// Folds one dim (negative counts from the end).
    fn reduce_dim(
        &self,
        op: &'static str,
        fold: Fold,
        dim: isize,
        keepdim: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        // A 0-dim tensor reduces over its one element and stays 0-dim.
        let d = normalize_dim(op, dim, self.dim())?;
        let end = (d + 1).min(self.dim());
        self.reduce_run(op, fold, d.min(end), end, keepdim)
    }

    /// Sum of all elements, as a 0-dim tensor (`t.sum()`; 0 when empty).
    pub fn sum(&self) -> Tensor {
        or_panic(self.reduce_run("sum", Fold::Sum, 0, self.dim(), false)).0
    }

    /// Sum along `dim` (`t.sum(dim, keepdim)`): `[3, 5, 7]` over dim 1 is
    /// `[3, 7]`, or `[3, 1, 7]` with `keepdim`.
    pub fn try_sum_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        Ok(self.reduce_dim("sum_dim", Fold::Sum, dim, keepdim)?.0)
    }

    /// `t.sum(dim, keepdim)`; see [`Tensor::try_sum_dim`].
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        or_panic(self.try_sum_dim(dim, keepdim))
    }

    /// Sum over several dims (`t.sum((0, 2), keepdim)`); neighbouring dims
    /// are folded in one pass. Empty `dims` sum nothing and return `self` as
    /// dense f32, without a copy when it already is (PyTorch's `sum(dim=[])`
    /// sums everything instead; that is [`Tensor::sum`]).
    pub fn try_sum_dims(&self, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        let rank = self.dim();
        let mut reduce = vec![false; rank];
        for &d in dims {
            if d >= rank.max(1) {
                return Err(TensorError::BadDim {
                    op: "sum_dims",
                    dim: d as isize,
                    rank,
                });
            }
            if rank > 0 && std::mem::replace(&mut reduce[d], true) {
                return Err(TensorError::Invalid {
                    op: "sum_dims",
                    message: format!("dim {d} appears more than once in {dims:?}"),
                    shape: self.shape().to_vec(),
                });
            }
        }
        // Runs of reduced dims, last first, each kept as ones so the indices
        // of the runs before it stay valid.
        let mut out = self.clone();
        let mut end = rank;
        while end > 0 {
            if !reduce[end - 1] {
                end -= 1;
                continue;
            }
            let mut start = end - 1;
            while start > 0 && reduce[start - 1] {
                start -= 1;
            }
            out = out.reduce_run("sum_dims", Fold::Sum, start, end, true)?.0;
            end = start;
        }
        if rank == 0 {
            return Ok(out.dense_f32());
        }
        let shape: Vec<usize> = (0..rank)
            .filter(|&d| keepdim || !reduce[d])
            .map(|d| if reduce[d] { 1 } else { self.shape()[d] })
            .collect();
        out.dense_f32().try_view(&as_isize(&shape))
    }

    /// `t.sum(dims, keepdim)`; see [`Tensor::try_sum_dims`].
    ///
    /// # Panics
    /// If a dim is out of range or repeated.
    pub fn sum_dims(&self, dims: &[usize], keepdim: bool) -> Tensor {
        or_panic(self.try_sum_dims(dims, keepdim))
    }

    /// Sums a broadcast result back to `shape`, the shape that was broadcast
    /// up to `self`'s (the gradient of a broadcasting op for that operand):
    /// leading extra dims are summed away, dims where `shape` has a 1 are
    /// summed with keepdim. Like PyTorch's `sum_to_size`, returns `self`
    /// (sharing its buffer) when the shapes already agree.
    pub fn try_sum_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        let rank = self.dim();
        let fits = shape.len() <= rank
            && shape
                .iter()
                .rev()
                .zip(self.shape().iter().rev())
                .all(|(&t, &s)| t == s || t == 1);
        if !fits {
            return Err(TensorError::ShapeMismatch {
                op: "sum_to_shape",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
            });
        }
        let extra = rank - shape.len();
        let dims: Vec<usize> = (0..rank)
            .filter(|&d| d < extra || (shape[d - extra] == 1 && self.shape()[d] != 1))
            .collect();
        self.try_sum_dims(&dims, true)?.try_view(&as_isize(shape))
    }

    /// `grad.sum_to_size(shape)`; see [`Tensor::try_sum_to_shape`].
    ///
    /// # Panics
    /// If `shape` does not broadcast to `self`'s shape.
    pub fn sum_to_shape(&self, shape: &[usize]) -> Tensor {
        or_panic(self.try_sum_to_shape(shape))
    }

    /// Mean of all elements, as a 0-dim tensor (`t.mean()`; NaN when empty).
    pub fn mean(&self) -> Tensor {
        or_panic(self.reduce_run("mean", Fold::Mean, 0, self.dim(), false)).0
    }

    /// Mean along `dim` (`t.mean(dim, keepdim)`); NaN over an empty dim.
    pub fn try_mean_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        Ok(self.reduce_dim("mean_dim", Fold::Mean, dim, keepdim)?.0)
    }

    /// `t.mean(dim, keepdim)`; see [`Tensor::try_mean_dim`].
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        or_panic(self.try_mean_dim(dim, keepdim))
    }
}

macro_rules! extremum_methods {
    ($fold:ident: $all:ident, $try_all:ident, $dim:ident, $try_dim:ident,
     $arg:ident, $try_arg:ident, $word:literal) => {
        impl Tensor {
            #[doc = concat!("The ", $word, " of all elements as a 0-dim tensor (`t.", stringify!($all), "()`); NaN if any element is NaN. An error naming the op for an empty tensor.")]
            pub fn $try_all(&self) -> Result<Tensor> {
                let (values, _) =
                    self.reduce_run(stringify!($all), Fold::$fold, 0, self.dim(), false)?;
                Ok(values)
            }

            #[doc = concat!("`t.", stringify!($all), "()`; see [`Tensor::", stringify!($try_all), "`].\n\n# Panics\nIf `self` is empty.")]
            pub fn $all(&self) -> Tensor {
                or_panic(self.$try_all())
            }

            #[doc = concat!("The ", $word, " along `dim` and its index (`t.", stringify!($all), "(dim, keepdim)`): `(values, indices)`, the indices i32. The first index wins a tie; a NaN wins over numbers. An error naming the op if `dim` is out of range or has size 0.")]
            pub fn $try_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
                let (values, indices) =
                    self.reduce_dim(stringify!($dim), Fold::$fold, dim, keepdim)?;
                Ok((values, indices.expect("max/min passes return indices")))
            }

            #[doc = concat!("`t.", stringify!($all), "(dim, keepdim)`; see [`Tensor::", stringify!($try_dim), "`].\n\n# Panics\nIf `dim` is out of range or has size 0.")]
            pub fn $dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
                or_panic(self.$try_dim(dim, keepdim))
            }

            #[doc = concat!("The index of the ", $word, " along `dim` as an i32 tensor (`t.", stringify!($arg), "(dim, keepdim)`); the first index wins a tie.")]
            pub fn $try_arg(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
                let (_, indices) = self.reduce_dim(stringify!($arg), Fold::$fold, dim, keepdim)?;
                Ok(indices.expect("max/min passes return indices"))
            }

            #[doc = concat!("`t.", stringify!($arg), "(dim, keepdim)`; see [`Tensor::", stringify!($try_arg), "`].\n\n# Panics\nIf `dim` is out of range or has size 0.")]
            pub fn $arg(&self, dim: isize, keepdim: bool) -> Tensor {
                or_panic(self.$try_arg(dim, keepdim))
            }
        }
    };
}

extremum_methods!(Max: max, try_max, max_dim, try_max_dim, argmax, try_argmax, "maximum");
extremum_methods!(Min: min, try_min, min_dim, try_min_dim, argmin, try_argmin, "minimum");
