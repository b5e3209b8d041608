//! Loss functions with their own backward nodes, as PyTorch records them
//! (`MseLossBackward0`, `NllLossBackward0`).

use wgrad_tensor::ops::loss::CROSS_ENTROPY_FUSED_GRAD_MAX;
use wgrad_tensor::{DType, Result, Tensor as Raw, TensorError};

use crate::grad_mode::is_grad_enabled;
use crate::op::Op;
use crate::tensor::Tensor;

/// How a loss reduces its per-element values (`reduction=` in PyTorch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The per-element losses, unreduced.
    None,
    /// Their mean (PyTorch's default).
    #[default]
    Mean,
    /// Their sum.
    Sum,
}

impl Tensor {
    /// `F.mse_loss(self, target, reduction)`: the (mean) squared error.
    pub fn try_mse_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        if self.shape() != target.shape() {
            return Err(TensorError::ShapeMismatch {
                op: "mse_loss",
                lhs: self.shape().to_vec(),
                rhs: target.shape().to_vec(),
            });
        }
        let diff = self.data().sub(target.data());
        let sq = diff.square();
        let n = self.numel().max(1) as f32;
        let (out, scale) = match reduction {
            Reduction::None => (sq, 2.0),
            Reduction::Mean => (sq.mean(), 2.0 / n),
            Reduction::Sum => (sq.sum(), 2.0),
        };
        let reduced = reduction != Reduction::None;
        Ok(Tensor::record(
            out,
            "MseLossBackward0",
            &[self, target],
            || Op::MseLoss {
                diff,
                scale,
                reduced,
            },
        ))
    }

    /// `F.mse_loss(self, target)` with mean reduction.
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn mse_loss(&self, target: &Tensor) -> Tensor {
        self.try_mse_loss(target, Reduction::Mean)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `F.nll_loss(self, target, reduction, ignore_index)`: `self` holds
    /// log-probabilities `[n, c]`, `target` the i32 classes `[n]`. Targets equal
    /// to `ignore_index` count for nothing (also not in the mean's denominator).
    ///
    /// NOTE: a target outside `0..c` is not detected (that would need a
    /// read-back); its row contributes an unspecified value, never memory
    /// outside the tensor.
    pub fn try_nll_loss(
        &self,
        target: &Tensor,
        reduction: Reduction,
        ignore_index: Option<i32>,
    ) -> Result<Tensor> {
        if self.dim() != 2 || target.dim() != 1 || target.shape()[0] != self.shape()[0] {
            return Err(TensorError::ShapeMismatch {
                op: "nll_loss",
                lhs: self.shape().to_vec(),
                rhs: target.shape().to_vec(),
            });
        }
        if target.dtype() != DType::I32 {
            return Err(TensorError::DType {
                op: "nll_loss (target)",
                dtype: target.dtype(),
            });
        }
        let n = self.shape()[0];
        let picked = self.data().take_along_rows(target.data()); // [n]
        // weights[i]: 1 (or 0 for an ignored row), divided by the count of
        // counted rows for the mean. Without ignore_index it is one constant.
        let mean = reduction == Reduction::Mean;
        let weights = match ignore_index {
            Some(ii) => {
                let counted = target.data().ne_scalar(ii as f32);
                if mean {
                    counted.div(&counted.sum())
                } else {
                    counted
                }
            }
            None => Raw::full(&[n], if mean { 1.0 / n.max(1) as f32 } else { 1.0 }),
        };
        let weighted = picked.mul(&weights).neg();
        let out = if reduction == Reduction::None {
            weighted
        } else {
            weighted.sum()
        };
        let input_shape = self.shape().to_vec();
        let target = target.data().clone();
        let reduced = reduction != Reduction::None;
        Ok(Tensor::record(out, "NllLossBackward0", &[self], || {
            Op::NllLoss {
                target,
                weights,
                input_shape,
                reduced,
            }
        }))
    }

    /// `F.nll_loss(self, target)` with mean reduction.
    ///
    /// # Panics
    /// If the shapes do not fit or `target` is not i32.
    pub fn nll_loss(&self, target: &Tensor) -> Tensor {
        self.try_nll_loss(target, Reduction::Mean, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `F.cross_entropy(self, target, reduction, ignore_index)`: `log_softmax`
    /// over classes then `nll_loss`, as PyTorch composes it. For `[n, c]`
    /// logits both run fused in one kernel (and one for the gradient; for
    /// a mean over up to `CROSS_ENTROPY_FUSED_GRAD_MAX` logits, the loss's
    /// kernel also writes the gradient that `loss.backward()` takes); the
    /// node is still `NllLossBackward0`, as PyTorch shows it.
    pub fn try_cross_entropy(
        &self,
        target: &Tensor,
        reduction: Reduction,
        ignore_index: Option<i32>,
    ) -> Result<Tensor> {
        if self.dim() != 2 || self.dtype() != DType::F32 {
            return self
                .try_log_softmax(1)?
                .try_nll_loss(target, reduction, ignore_index);
        }
        let (out, sums, grad_of_ones) = match reduction {
            Reduction::Mean => {
                // [loss sum, counted rows, mean] in one dispatch; the mean
                // is NaN when every row is ignored, as in PyTorch. When the
                // node is recorded, the same dispatch writes the gradient
                // that `loss.backward()` will ask for.
                let records = is_grad_enabled() && self.requires_grad();
                let (reduced, grad) = if records && self.numel() <= CROSS_ENTROPY_FUSED_GRAD_MAX {
                    let (reduced, grad) = self
                        .data()
                        .try_cross_entropy_mean_with_grad(target.data(), ignore_index)?;
                    (reduced, Some(grad))
                } else {
                    let reduced = self
                        .data()
                        .try_cross_entropy_mean(target.data(), ignore_index)?;
                    (reduced, None)
                };
                (reduced.select(0, 2), Some(reduced.narrow(0, 0, 2)), grad)
            }
            _ => {
                // rows: [2, n], the row losses and which rows count.
                let rows = self
                    .data()
                    .try_cross_entropy_rows(target.data(), ignore_index)?;
                let losses = rows.select(0, 0);
                match reduction {
                    Reduction::Sum => (losses.sum(), None, None),
                    _ => (losses, None, None),
                }
            }
        };
        let logits = self.data().clone();
        let target = target.data().clone();
        Ok(Tensor::record(out, "NllLossBackward0", &[self], || {
            Op::CrossEntropy {
                logits,
                target,
                ignore_index,
                reduction,
                sums,
                grad_of_ones,
            }
        }))
    }

    /// `F.cross_entropy(self, target)` with mean reduction.
    ///
    /// # Panics
    /// If the shapes do not fit or `target` is not i32.
    pub fn cross_entropy(&self, target: &Tensor) -> Tensor {
        self.try_cross_entropy(target, Reduction::Mean, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}
