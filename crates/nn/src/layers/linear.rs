//! `nn.Linear`: `y = x Wᵀ + b`.

use wgrad_autograd::Tensor;

use super::{impl_fmt_as_repr, py_bool};
use crate::functional as F;
use crate::init;
use crate::module::{Forward, Module, Training};
use crate::parameter::Parameter;

/// `nn.Linear(in_features, out_features, bias)`: an affine map
/// `[*, in_features] -> [*, out_features]`.
///
/// Initialised as PyTorch does: `weight` from U(-1/√in, 1/√in) (Kaiming
/// uniform with a = √5), `bias` from the same range.
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Parameter,
    /// `[out_features]`, or `None` for `bias=False`.
    pub bias: Option<Parameter>,
    /// The input size.
    pub in_features: usize,
    /// The output size.
    pub out_features: usize,
    training: Training,
}

impl Linear {
    /// `nn.Linear(in_features, out_features)` (with bias).
    pub fn new(in_features: usize, out_features: usize) -> Linear {
        Linear::with_bias(in_features, out_features, true)
    }

    /// `nn.Linear(in_features, out_features, bias=bias)`.
    pub fn with_bias(in_features: usize, out_features: usize, bias: bool) -> Linear {
        let weight = Tensor::zeros(&[out_features, in_features]);
        let bias = bias.then(|| Tensor::zeros(&[out_features]));
        init::reset_weight_and_bias(&weight, bias.as_ref());
        Linear {
            weight: Parameter::new(weight),
            bias: bias.map(Parameter::new),
            in_features,
            out_features,
            training: Training::new(),
        }
    }
}

impl Module for Linear {
    fn type_name(&self) -> &str {
        "Linear"
    }

    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}",
            self.in_features,
            self.out_features,
            py_bool(self.bias.is_some())
        )
    }

    fn own_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("weight".to_string(), self.weight.tensor().clone())];
        out.extend(
            self.bias
                .iter()
                .map(|b| ("bias".to_string(), b.tensor().clone())),
        );
        out
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for Linear {
    /// `x: [*, in_features] -> [*, out_features]`.
    fn forward(&self, x: &Tensor) -> Tensor {
        F::linear(x, &self.weight, self.bias.as_deref())
    }
}

impl_fmt_as_repr!(Linear);
