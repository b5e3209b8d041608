//! `nn.Dropout`.

use wgrad_autograd::Tensor;

use super::{impl_fmt_as_repr, py_float};
use crate::functional as F;
use crate::module::{Forward, Module, Training};

/// `nn.Dropout(p=0.5)`: in training mode, zeroes each element with
/// probability `p` and scales the rest by 1/(1-p); in eval mode, the
/// identity. See [`F::dropout`] for how the mask is drawn.
#[derive(Clone)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f32,
    training: Training,
}

impl Dropout {
    /// `nn.Dropout(p)`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1], as PyTorch raises.
    pub fn new(p: f32) -> Dropout {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout probability has to be between 0 and 1, but got {p}"
        );
        Dropout {
            p,
            training: Training::new(),
        }
    }
}

impl Default for Dropout {
    /// `nn.Dropout()`: p = 0.5.
    fn default() -> Dropout {
        Dropout::new(0.5)
    }
}

impl Module for Dropout {
    fn type_name(&self) -> &str {
        "Dropout"
    }

    fn extra_repr(&self) -> String {
        format!("p={}, inplace=False", py_float(self.p))
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for Dropout {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::dropout(x, self.p, self.is_training())
    }
}

impl_fmt_as_repr!(Dropout);
