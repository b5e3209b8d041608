//! Matrix products.

use wgrad_tensor::{Result, Tensor as Raw};

use crate::op::{Op, signed};
use crate::tensor::Tensor;

impl Tensor {
    /// `self @ other` with PyTorch's matmul semantics (1-D promotion,
    /// broadcast batch dims).
    pub fn try_matmul(&self, other: &Tensor) -> Result<Tensor> {
        let out = self.data().try_matmul(other.data())?;
        let name = if self.dim() == 2 && other.dim() == 2 {
            "MmBackward0"
        } else {
            "MatmulBackward0"
        };
        Ok(Tensor::record(out, name, &[self, other], || Op::Matmul {
            a: self.data().clone(),
            b: other.data().clone(),
        }))
    }

    /// `self @ other`.
    ///
    /// # Panics
    /// If the inner dimensions differ or batch dims do not broadcast.
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        self.try_matmul(other).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Tensor {
    /// `F.linear(x, w, b)`: `x @ wᵀ + b` for `x: [n, in]`, `w: [out, in]`,
    /// `b: [out]` -> `[n, out]`. On 2-D input it is one graph node named
    /// like PyTorch's (`AddmmBackward0`, or `MmBackward0` without bias)
    /// whose inputs are (bias, x, w); other ranks compose matmul and add.
    pub fn try_linear(&self, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        if self.dim() != 2 {
            let y = self.try_matmul(&w.t())?;
            return match b {
                Some(b) => y.try_add(b),
                None => Ok(y),
            };
        }
        let wt = w.data().t();
        let y = match b {
            Some(b) => Raw::try_addmm(b.data(), self.data(), &wt)?,
            None => self.data().try_matmul(&wt)?,
        };
        let x = self.data().clone();
        let wd = w.data().clone();
        Ok(match b {
            Some(b) => Tensor::record(y, "AddmmBackward0", &[b, self, w], || Op::Linear {
                x,
                w: wd,
                has_bias: true,
            }),
            None => Tensor::record(y, "MmBackward0", &[self, w], || Op::Linear {
                x,
                w: wd,
                has_bias: false,
            }),
        })
    }

    /// `F.linear(x, w, b)`.
    ///
    /// # Panics
    /// If the shapes do not fit (the message names them).
    pub fn linear(&self, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        self.try_linear(w, b).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Gradients of `x @ wᵀ + b` (inputs in the order bias, x, w when there
/// is a bias): `db = Σ_rows g`, `dx = g @ w`, `dw = gᵀ @ x`.
pub(crate) fn linear_backward(
    x: &Raw,
    w: &Raw,
    has_bias: bool,
    g: &Raw,
    needs: &[bool],
) -> Vec<Option<Raw>> {
    let at = |i: usize| {
        needs
            .get(i + usize::from(has_bias))
            .copied()
            .unwrap_or(false)
    };
    // g feeds both products: padded for the matmul kernels once, not once
    // per product, if either kernel needs that. (If that copy fails, each
    // product tries its own and reports the error.)
    let g_mm = if at(0) && at(1) {
        let (n, out, inp) = (g.size(0), g.size(1), w.size(1));
        // The results' (m, n): dx is [n, in], dw [out, in].
        g.try_aligned_for_matmul(&[(n, inp), (out, inp)])
            .unwrap_or_else(|_| g.clone())
    } else {
        g.clone()
    };
    let dx = at(0).then(|| g_mm.matmul(w));
    let need_db = has_bias && needs.first().copied().unwrap_or(false);
    // gᵀ's row sums are db: where the kernel can, the weight gradient's
    // product makes them as it goes (`matmul_and_row_sums`).
    let (dw, db) = match (at(1), need_db) {
        (true, true) => {
            let (dw, db) = g_mm.t().matmul_and_row_sums(x);
            (Some(dw), Some(db))
        }
        (true, false) => (Some(g_mm.t().matmul(x)), None),
        (false, true) => (None, Some(g.sum_dim(0, false))),
        (false, false) => (None, None),
    };
    let mut grads = Vec::with_capacity(3);
    if has_bias {
        grads.push(db);
    }
    grads.extend([dx, dw]);
    grads
}

/// Gradients of `a @ b`: with `a`, `b` promoted to matrices (a 1-D `a` as
/// a row, a 1-D `b` as a column) and `g` given the same unit dims,
/// `da = g @ bᵀ`, `db = aᵀ @ g`, each summed over broadcast batch dims.
pub(crate) fn matmul_backward(
    a: &Raw,
    b: &Raw,
    g: &Raw,
    need_a: bool,
    need_b: bool,
) -> Vec<Option<Raw>> {
    let a2 = if a.dim() == 1 {
        a.unsqueeze(0)
    } else {
        a.clone()
    };
    let b2 = if b.dim() == 1 {
        b.unsqueeze(-1)
    } else {
        b.clone()
    };
    let mut g2 = g.clone();
    if b.dim() == 1 {
        g2 = g2.unsqueeze(-1);
    }
    if a.dim() == 1 {
        g2 = g2.unsqueeze(-2);
    }
    let da = need_a.then(|| {
        let d = g2.matmul(&b2.transpose(-2, -1));
        d.sum_to_shape(a2.shape()).reshape(&signed(a.shape()))
    });
    let db = need_b.then(|| {
        let d = a2.transpose(-2, -1).matmul(&g2);
        d.sum_to_shape(b2.shape()).reshape(&signed(b.shape()))
    });
    vec![da, db]
}
