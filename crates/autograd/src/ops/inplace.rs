//! In-place ops: allowed on tensors outside the graph, and under `no_grad`
//! (the `with torch.no_grad(): w -= lr * w.grad` update).

use wgrad_tensor::BinaryOp;

use crate::error::{AutogradError, Result};
use crate::grad_mode::is_grad_enabled;
use crate::tensor::Tensor;

impl Tensor {
    /// The check PyTorch makes before an in-place op.
    fn check_in_place(&self, op: &'static str) -> Result<()> {
        if !is_grad_enabled() || !self.requires_grad() {
            return Ok(());
        }
        if self.is_leaf() {
            Err(AutogradError::InPlaceOnLeaf { op })
        } else {
            // NOTE: PyTorch records in-place ops on interior tensors with
            // version counters; wgrad does not record them, so it refuses
            // rather than compute a wrong gradient.
            Err(AutogradError::InPlaceInGraph { op })
        }
    }

    /// `self op= other` in place, with the in-place checks.
    pub fn try_binary_(&self, op: BinaryOp, other: &Tensor) -> Result<()> {
        self.check_in_place(op.name())?;
        Ok(self.data().try_binary_(op, other.data())?)
    }

    /// `t.copy_(src)` in place.
    pub fn try_copy_(&self, src: &Tensor) -> Result<()> {
        self.check_in_place("copy_")?;
        Ok(self.data().try_copy_(src.data())?)
    }

    /// `t.fill_(value)` in place.
    pub fn try_fill_(&self, value: f32) -> Result<()> {
        self.check_in_place("fill_")?;
        self.data().fill_(value);
        Ok(())
    }

    /// `t.copy_(src)`.
    ///
    /// # Panics
    /// As PyTorch raises: on a leaf that requires grad outside `no_grad`, or
    /// if `src` does not broadcast to `self`.
    pub fn copy_(&self, src: &Tensor) {
        self.try_copy_(src).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.fill_(value)`.
    ///
    /// # Panics
    /// On a leaf that requires grad outside `no_grad`.
    pub fn fill_(&self, value: f32) {
        self.try_fill_(value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.zero_()`.
    ///
    /// # Panics
    /// On a leaf that requires grad outside `no_grad`.
    pub fn zero_(&self) {
        self.fill_(0.0)
    }
}

macro_rules! inplace_methods {
    ($($op:ident: $name:ident;)*) => {
        impl Tensor {
            $(
                #[doc = concat!("In-place `", stringify!($name), "` (`other` broadcasts to `self`).\n\n# Panics\nAs PyTorch raises: on a leaf that requires grad outside `no_grad`, or on shapes that do not broadcast.")]
                pub fn $name(&self, other: &Tensor) {
                    self.try_binary_(BinaryOp::$op, other).unwrap_or_else(|e| panic!("{e}"))
                }
            )*
        }
    };
}

inplace_methods! {
    Add: add_; Sub: sub_; Mul: mul_; Div: div_;
}
