//! Fused cross-entropy over the rows of a `[n, c]` logits matrix with i32
//! targets (`shaders/loss.wgsl`): one dispatch for the row losses, one for
//! the gradient (or one for a mean and its gradient, for a small batch),
//! instead of log_softmax, gather, weights, product, negation and their
//! backward kernels. PyTorch's `ignore_index` is honoured: an
//! ignored row counts for nothing, also not in a mean's denominator.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::runtime::{Binding, Kernel, rt};
use crate::shaders::LOSS;
use crate::tensor::Tensor;

/// Logit elements up to which autograd computes the mean cross-entropy's
/// gradient with the loss ([`Tensor::try_cross_entropy_mean_with_grad`]),
/// in the loss's one workgroup, instead of with the row-parallel backward
/// kernel. On lavapipe, best of 3 x 100 calls each, the loss and its
/// gradient took (fused against two kernels): `[64, 10]` 48-57 us against
/// 74-136, `[128, 16]` 77-79 against 122-124, `[256, 16]` 113-125 against
/// 116-158, `[128, 64]` 185-208 against 165-191, `[256, 256]` 874-952
/// against 559-761. W2-W4's batches have 500 to 640.
pub const CROSS_ENTROPY_FUSED_GRAD_MAX: usize = 4096;

/// Invocations per workgroup of the loss kernels (`WORKGROUP_SIZE`).
const WORKGROUP_SIZE: usize = 64;
/// Workgroups per grid dimension that every adapter allows.
const MAX_GROUPS: usize = 65_535;

/// Checks logits `[n, c]` (f32) against targets `[n]` (i32).
fn check(op: &'static str, logits: &Tensor, target: &Tensor) -> Result<(usize, usize)> {
    let (x, t) = (logits.shape(), target.shape());
    if x.len() != 2 || t.len() != 1 || t[0] != x[0] {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: x.to_vec(),
            rhs: t.to_vec(),
        });
    }
    if logits.dtype() != DType::F32 {
        return Err(TensorError::DType {
            op,
            dtype: logits.dtype(),
        });
    }
    if target.dtype() != DType::I32 {
        return Err(TensorError::DType {
            op: "cross_entropy (target)",
            dtype: target.dtype(),
        });
    }
    Ok((x[0], x[1]))
}

/// One invocation per row: `[x, y, 1]` workgroups, the kernels rebuild the
/// row as `gid.x + gid.y * num_workgroups.x * WORKGROUP_SIZE`.
fn dispatch_rows(
    entry: &'static str,
    constants: &[(&'static str, f64)],
    params: [u32; 4],
    bindings: &[Binding<'_>],
    rows: usize,
) {
    let groups = rows.div_ceil(WORKGROUP_SIZE).max(1);
    let x = groups.min(MAX_GROUPS);
    let grid = [x as u32, groups.div_ceil(x) as u32, 1];
    rt().dispatch(
        Kernel::new(&LOSS, entry),
        constants,
        bytemuck::cast_slice(&params),
        bindings,
        grid,
    );
}

fn params(op: &'static str, n: usize, c: usize, ignore_index: Option<i32>) -> Result<[u32; 4]> {
    let to_u32 = |v| crate::ops::to_u32(op, v);
    to_u32(2 * n * c.max(1))?;
    let ignore = ignore_index.unwrap_or(0);
    Ok([
        to_u32(n)?,
        to_u32(c)?,
        u32::from(ignore_index.is_some()),
        u32::from_ne_bytes(ignore.to_ne_bytes()),
    ])
}

/// The logits and targets as the loss kernels bind them: dense, and a
/// one-element stand-in for an empty one (a binding needs a buffer). With no
/// classes the stand-in logit is NaN: the kernel reads x[0] for a row's
/// maximum, and logsumexp of nothing is -inf with no class to subtract.
fn bound_inputs(x: &Tensor, target: &Tensor, n: usize, c: usize) -> (Tensor, Tensor) {
    let x = if n == 0 || c == 0 {
        Tensor::full(&[1], f32::NAN)
    } else {
        x.contiguous()
    };
    let t = if n == 0 {
        Tensor::zeros_i32(&[1])
    } else {
        target.contiguous()
    };
    (x, t)
}

fn bind(binding: u32, t: &Tensor) -> Binding<'_> {
    Binding {
        binding,
        buffer: t.buffer(),
    }
}

/// How the row losses are reduced, for the gradient.
#[derive(Debug, Clone, Copy)]
pub enum CrossEntropyGrad<'a> {
    /// One upstream gradient per row (reduction "none").
    PerRow,
    /// One upstream gradient for the sum of the rows.
    Sum,
    /// One upstream gradient for the mean over the counted rows; the
    /// tensor is the `[2]` column sums of the forward's `[2, n]` output
    /// (loss sum, counted rows).
    Mean(&'a Tensor),
}

impl Tensor {
    /// Each row's cross-entropy and whether it counts, as `[2, n]`: row 0
    /// holds `logsumexp(self[i, :]) - self[i, target[i]]` for logits
    /// `[n, c]` and i32 targets `[n]`, row 1 holds 1, or 0 for a row whose
    /// target is `ignore_index` (its loss is 0 too). A counted target
    /// outside `0..c` gives NaN for its row (checking it would need a
    /// read-back).
    pub fn try_cross_entropy_rows(
        &self,
        target: &Tensor,
        ignore_index: Option<i32>,
    ) -> Result<Tensor> {
        const OP: &str = "cross_entropy";
        let (n, c) = check(OP, self, target)?;
        let out = Tensor::uninit(OP, &[2, n], DType::F32)?;
        if n == 0 {
            return Ok(out);
        }
        let p = params(OP, n, c, ignore_index)?;
        let (x, t) = bound_inputs(self, target, n, c);
        let bindings = [bind(1, &x), bind(2, &t), bind(3, &out)];
        dispatch_rows("cross_entropy_rows", &[], p, &bindings, n);
        Ok(out)
    }

    /// The mean reduction of [`Tensor::try_cross_entropy_rows`] in one
    /// dispatch, as `[3]`: the loss sum over the counted rows, their count,
    /// and the mean (NaN when no row counts, as in PyTorch). The first two
    /// are what [`CrossEntropyGrad::Mean`] takes.
    pub fn try_cross_entropy_mean(
        &self,
        target: &Tensor,
        ignore_index: Option<i32>,
    ) -> Result<Tensor> {
        self.cross_entropy_mean(target, ignore_index, None)
    }

    /// [`Tensor::try_cross_entropy_mean`] and, from the same dispatch, the
    /// gradient of the mean with respect to the logits, `[n, c]`: what
    /// [`Tensor::try_cross_entropy_backward`] gives for an upstream
    /// gradient of 1. Autograd computes it with the loss whenever it
    /// records a small enough mean, so that `loss.backward()` costs no
    /// dispatch for it; a loss that is not backward's root (`loss / 4`,
    /// `loss + l2`) then pays for the gradient twice, in this kernel and
    /// in the backward kernel. One workgroup writes the
    /// whole gradient: meant for a classifier's batch (up to
    /// [`CROSS_ENTROPY_FUSED_GRAD_MAX`] elements), not for large logits,
    /// whose gradient the row-parallel backward kernel writes faster.
    pub fn try_cross_entropy_mean_with_grad(
        &self,
        target: &Tensor,
        ignore_index: Option<i32>,
    ) -> Result<(Tensor, Tensor)> {
        let (n, c) = check("cross_entropy", self, target)?;
        let dx = Tensor::uninit("cross_entropy", &[n, c], DType::F32)?;
        let with_grad = (dx.numel() > 0).then_some(&dx);
        Ok((
            self.cross_entropy_mean(target, ignore_index, with_grad)?,
            dx,
        ))
    }

    /// The mean's one dispatch, writing the gradient into `dx` when given
    /// (`WITH_GRAD`).
    fn cross_entropy_mean(
        &self,
        target: &Tensor,
        ignore_index: Option<i32>,
        dx: Option<&Tensor>,
    ) -> Result<Tensor> {
        const OP: &str = "cross_entropy";
        let (n, c) = check(OP, self, target)?;
        let out = Tensor::uninit(OP, &[3], DType::F32)?;
        let p = params(OP, n, c, ignore_index)?;
        let (x, t) = bound_inputs(self, target, n, c);
        // Without WITH_GRAD dx (5) is not written: out takes its place, for
        // a pipeline that keeps every binding.
        let bindings = [
            bind(1, &x),
            bind(2, &t),
            bind(3, &out),
            bind(5, dx.unwrap_or(&out)),
        ];
        rt().dispatch(
            Kernel::new(&LOSS, "cross_entropy_mean"),
            &[("WITH_GRAD", f64::from(u8::from(dx.is_some())))],
            bytemuck::cast_slice(&p),
            &bindings,
            [1, 1, 1],
        );
        Ok(out)
    }

    /// The gradient of the reduced [`Tensor::try_cross_entropy_rows`] with
    /// respect to the logits: `g_i * w_i / d * (softmax(self[i, :]) -
    /// onehot(target[i]))` with `d` the counted rows for a mean, else 1;
    /// `g` holds one value (`Sum`, `Mean`) or one per row (`PerRow`).
    pub fn try_cross_entropy_backward(
        &self,
        target: &Tensor,
        g: &Tensor,
        ignore_index: Option<i32>,
        reduction: CrossEntropyGrad<'_>,
    ) -> Result<Tensor> {
        const OP: &str = "cross_entropy_backward";
        let (n, c) = check(OP, self, target)?;
        let per_row = matches!(reduction, CrossEntropyGrad::PerRow);
        let want = if per_row { n } else { 1 };
        if g.numel() != want {
            return Err(TensorError::ShapeMismatch {
                op: OP,
                lhs: g.shape().to_vec(),
                rhs: vec![want],
            });
        }
        let dx = Tensor::uninit(OP, &[n, c], DType::F32)?;
        if dx.numel() == 0 {
            return Ok(dx);
        }
        let (x, t, g) = (self.contiguous(), target.contiguous(), g.contiguous());
        let norm = match reduction {
            CrossEntropyGrad::Mean(sums) => sums.contiguous(),
            // Not read: bind g in its place.
            _ => g.clone(),
        };
        let p = params(OP, n, c, ignore_index)?;
        let flag = |b: bool| f64::from(u8::from(b));
        let constants = [
            ("G_PER_ROW", flag(per_row)),
            ("MEAN", flag(matches!(reduction, CrossEntropyGrad::Mean(_)))),
        ];
        let bindings = [
            bind(1, &x),
            bind(2, &t),
            bind(4, &g),
            bind(5, &dx),
            bind(6, &norm),
        ];
        dispatch_rows("cross_entropy_backward", &constants, p, &bindings, n);
        Ok(dx)
    }

    /// [`Tensor::try_cross_entropy_backward`] for autograd.
    ///
    /// # Panics
    /// If the shapes do not fit (autograd passes the forward's own tensors).
    pub fn cross_entropy_backward(
        &self,
        target: &Tensor,
        g: &Tensor,
        ignore_index: Option<i32>,
        reduction: CrossEntropyGrad<'_>,
    ) -> Tensor {
        crate::ops::or_panic(self.try_cross_entropy_backward(target, g, ignore_index, reduction))
    }
}
