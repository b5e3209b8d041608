//! Softmax and log-softmax along a dim, and their backward kernels
//! (`shaders/softmax.wgsl`). Shapes are unchanged: `[.., n, ..] -> [.., n, ..]`.
//!
//! The kernels give one invocation to each row (every position of the other
//! dims). When there are few rows and they are long, that would leave the
//! device idle while a handful of invocations loop, so those inputs take a
//! composed path instead: the staged reductions of `ops/reduce.rs` plus
//! elementwise ops, the same formulas in more dispatches.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::layout::normalize_dim;
use crate::ops::{dispatch_items, or_panic, to_u32};
use crate::runtime::{Binding, Kernel};
use crate::shaders::SOFTMAX;
use crate::tensor::Tensor;

/// Rows shorter than this always use the one-invocation-per-row kernels.
const ROW_KERNEL_MAX_N: usize = 4096;
/// With at least this many rows the row kernels keep the device busy.
const ROW_KERNEL_MIN_ROWS: usize = 256;

/// `[outer, n, inner]` around dim `d` of `shape`.
fn span(shape: &[usize], d: usize) -> [usize; 3] {
    if shape.is_empty() {
        return [1, 1, 1];
    }
    [
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    ]
}

fn use_row_kernel([outer, n, inner]: [usize; 3]) -> bool {
    n <= ROW_KERNEL_MAX_N || outer * inner >= ROW_KERNEL_MIN_ROWS
}

/// Runs `entry` over the rows of `[outer, n, inner]`; `inputs` are bound
/// at `first_binding..` and the dense output right after them.
fn run_rows(
    op: &'static str,
    entry: &'static str,
    inputs: &[&Tensor],
    first_binding: u32,
    [outer, n, inner]: [usize; 3],
) -> Result<Tensor> {
    let out = Tensor::uninit(op, inputs[0].shape(), DType::F32)?;
    let rows = outer * inner;
    let params = [
        to_u32(op, outer)?,
        to_u32(op, n)?,
        to_u32(op, inner)?,
        to_u32(op, rows)?,
    ];
    let mut bindings: Vec<Binding<'_>> = inputs
        .iter()
        .zip(first_binding..)
        .map(|(t, binding)| Binding {
            binding,
            buffer: t.buffer(),
        })
        .collect();
    bindings.push(Binding {
        binding: first_binding + inputs.len() as u32,
        buffer: out.buffer(),
    });
    if out.numel() > 0 {
        // Short rows are batched several to an invocation.
        let per_invocation = 64usize.div_ceil(n.max(1));
        dispatch_items(
            Kernel::new(&SOFTMAX, entry),
            &[],
            &params,
            &bindings,
            rows,
            per_invocation,
        );
    }
    Ok(out)
}

/// `t` as dense f32 (ints converted).
fn dense_f32(t: &Tensor) -> Tensor {
    if t.dtype() == DType::F32 {
        t.contiguous()
    } else {
        t.float()
    }
}

impl Tensor {
    fn softmax_forward(&self, op: &'static str, log: bool, dim: isize) -> Result<Tensor> {
        let d = normalize_dim(op, dim, self.dim())?;
        let x = dense_f32(self);
        let sp = span(x.shape(), d);
        if use_row_kernel(sp) {
            // Contiguous rows of a length divisible by 4 move as vec4s.
            let vec4 = sp[2] == 1 && sp[1].is_multiple_of(4);
            let (entry, first_binding) = match (log, vec4) {
                (false, false) => ("softmax", 1),
                (true, false) => ("log_softmax", 1),
                (false, true) => ("softmax_vec4", 6),
                (true, true) => ("log_softmax_vec4", 6),
            };
            return run_rows(op, entry, &[&x], first_binding, sp);
        }
        // Composed: z = x - max(x), then exp(z) / sum(exp(z)) or z - log(sum).
        let (m, _) = x.try_max_dim(d as isize, true)?;
        let z = x.try_sub(&m)?;
        let e = z.exp();
        let s = e.try_sum_dim(d as isize, true)?;
        if log {
            z.try_sub(&s.log())
        } else {
            e.try_div(&s)
        }
    }

    /// `softmax(x, dim)`: `exp(x) / sum(exp(x))` along `dim`, computed from
    /// `x - max(x)` so large inputs do not overflow. Ints are converted to f32.
    pub fn try_softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_forward("softmax", false, dim)
    }

    /// `t.softmax(dim)`; see [`Tensor::try_softmax`].
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn softmax(&self, dim: isize) -> Tensor {
        or_panic(self.try_softmax(dim))
    }

    /// `log_softmax(x, dim)`: `x - max - log(sum(exp(x - max)))` along `dim`.
    pub fn try_log_softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_forward("log_softmax", true, dim)
    }

    /// `t.log_softmax(dim)`; see [`Tensor::try_log_softmax`].
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        or_panic(self.try_log_softmax(dim))
    }

    fn softmax_grad(&self, op: &'static str, log: bool, dy: &Tensor, dim: isize) -> Result<Tensor> {
        if self.shape() != dy.shape() {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: self.shape().to_vec(),
                rhs: dy.shape().to_vec(),
            });
        }
        let d = normalize_dim(op, dim, self.dim())?;
        let (y, dy) = (dense_f32(self), dense_f32(dy));
        let sp = span(y.shape(), d);
        if use_row_kernel(sp) {
            let entry = if log {
                "log_softmax_backward"
            } else {
                "softmax_backward"
            };
            return run_rows(op, entry, &[&y, &dy], 3, sp);
        }
        let d = d as isize;
        if log {
            // dx = dy - exp(y) * sum(dy)
            let total = dy.try_sum_dim(d, true)?;
            dy.try_sub(&y.exp().try_mul(&total)?)
        } else {
            // dx = y * (dy - sum(dy * y))
            let dot = dy.try_mul(&y)?.try_sum_dim(d, true)?;
            y.try_mul(&dy.try_sub(&dot)?)
        }
    }

    /// The gradient of `softmax` along `dim`: `self` is the forward output
    /// `y`, `dy` the gradient of `y`; returns `dx = y * (dy - sum(dy * y))`.
    /// An error naming the op if the shapes differ or `dim` is out of range.
    pub fn try_softmax_backward(&self, dy: &Tensor, dim: isize) -> Result<Tensor> {
        self.softmax_grad("softmax_backward", false, dy, dim)
    }

    /// `Tensor::softmax_backward(&y, &dy, dim)`; see [`Tensor::try_softmax_backward`].
    ///
    /// # Panics
    /// If the shapes differ or `dim` is out of range.
    pub fn softmax_backward(&self, dy: &Tensor, dim: isize) -> Tensor {
        or_panic(self.try_softmax_backward(dy, dim))
    }

    /// The gradient of `log_softmax` along `dim`: `self` is the forward
    /// output `y`, `dy` the gradient of `y`; returns `dx = dy - exp(y) * sum(dy)`.
    pub fn try_log_softmax_backward(&self, dy: &Tensor, dim: isize) -> Result<Tensor> {
        self.softmax_grad("log_softmax_backward", true, dy, dim)
    }

    /// `Tensor::log_softmax_backward(&y, &dy, dim)`; see
    /// [`Tensor::try_log_softmax_backward`].
    ///
    /// # Panics
    /// If the shapes differ or `dim` is out of range.
    pub fn log_softmax_backward(&self, dy: &Tensor, dim: isize) -> Tensor {
        or_panic(self.try_log_softmax_backward(dy, dim))
    }
}
