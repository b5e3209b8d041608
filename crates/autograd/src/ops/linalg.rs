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
