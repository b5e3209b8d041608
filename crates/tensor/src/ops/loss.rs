//! Fused cross-entropy over the rows of a `[n, c]` logits matrix with i32
//! targets (`shaders/loss.wgsl`): one dispatch for the row losses, one for
//! the gradient, instead of log_softmax, gather, weights, product, negation
//! and their backward kernels.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::runtime::{Binding, Kernel, rt};
use crate::shaders::LOSS;
use crate::tensor::Tensor;

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
    g_per_row: bool,
    params: [u32; 4],
    bindings: &[Binding<'_>],
    rows: usize,
) {
    let groups = rows.div_ceil(WORKGROUP_SIZE).max(1);
    let x = groups.min(MAX_GROUPS);
    let grid = [x as u32, groups.div_ceil(x) as u32, 1];
    let constants = [("G_PER_ROW", f64::from(u8::from(g_per_row)))];
    rt().dispatch(
        Kernel::new(&LOSS, entry),
        &constants,
        bytemuck::cast_slice(&params),
        bindings,
        grid,
    );
}

fn params(op: &'static str, n: usize, c: usize, scale: f32) -> Result<[u32; 4]> {
    let to_u32 = |v| crate::ops::to_u32(op, v);
    to_u32(n * c)?;
    Ok([to_u32(n)?, to_u32(c)?, scale.to_bits(), 0])
}

impl Tensor {
    /// Each row's cross-entropy, times `scale`:
    /// `scale * (logsumexp(self[i, :]) - self[i, target[i]])` for logits
    /// `[n, c]` and i32 targets `[n]` -> `[n]`. A target outside `0..c`
    /// gives NaN for its row (checking it would need a read-back).
    pub fn try_cross_entropy_rows(&self, target: &Tensor, scale: f32) -> Result<Tensor> {
        const OP: &str = "cross_entropy";
        let (n, c) = check(OP, self, target)?;
        let out = Tensor::uninit(OP, &[n], DType::F32)?;
        if n == 0 {
            return Ok(out);
        }
        if c == 0 {
            // logsumexp of nothing is -inf and there is no class to pick.
            out.fill_(f32::NAN);
            return Ok(out);
        }
        let (x, t) = (self.contiguous(), target.contiguous());
        let p = params(OP, n, c, scale)?;
        let bindings = [
            Binding {
                binding: 1,
                buffer: x.buffer(),
            },
            Binding {
                binding: 2,
                buffer: t.buffer(),
            },
            Binding {
                binding: 3,
                buffer: out.buffer(),
            },
        ];
        dispatch_rows("cross_entropy_rows", false, p, &bindings, n);
        Ok(out)
    }

    /// The gradient of [`Tensor::try_cross_entropy_rows`] with respect to
    /// the logits: `g_i * scale * (softmax(self[i, :]) - onehot(target[i]))`
    /// where `g` holds one value for every row (`[]` or `[1]`, after a sum
    /// or mean) or one per row (`[n]`).
    pub fn try_cross_entropy_backward(
        &self,
        target: &Tensor,
        g: &Tensor,
        scale: f32,
    ) -> Result<Tensor> {
        const OP: &str = "cross_entropy_backward";
        let (n, c) = check(OP, self, target)?;
        let per_row = match g.numel() {
            1 if n != 1 || g.dim() == 0 => false,
            k if k == n => true,
            _ => {
                return Err(TensorError::ShapeMismatch {
                    op: OP,
                    lhs: g.shape().to_vec(),
                    rhs: vec![n],
                });
            }
        };
        let dx = Tensor::uninit(OP, &[n, c], DType::F32)?;
        if dx.numel() == 0 {
            return Ok(dx);
        }
        let (x, t, g) = (self.contiguous(), target.contiguous(), g.contiguous());
        let p = params(OP, n, c, scale)?;
        let bindings = [
            Binding {
                binding: 1,
                buffer: x.buffer(),
            },
            Binding {
                binding: 2,
                buffer: t.buffer(),
            },
            Binding {
                binding: 4,
                buffer: g.buffer(),
            },
            Binding {
                binding: 5,
                buffer: dx.buffer(),
            },
        ];
        dispatch_rows("cross_entropy_backward", per_row, p, &bindings, n);
        Ok(dx)
    }

    /// [`Tensor::try_cross_entropy_backward`] for autograd.
    ///
    /// # Panics
    /// If the shapes do not fit (autograd passes the forward's own tensors).
    pub fn cross_entropy_backward(&self, target: &Tensor, g: &Tensor, scale: f32) -> Tensor {
        crate::ops::or_panic(self.try_cross_entropy_backward(target, g, scale))
    }
}
