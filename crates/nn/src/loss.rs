//! Loss modules (`nn.MSELoss`, `nn.CrossEntropyLoss`, `nn.NLLLoss`): the
//! functional losses with their arguments kept, called as
//! `criterion.forward(&output, &target)`.

use wgrad_autograd::Tensor;

pub use wgrad_autograd::Reduction;

use crate::functional::{self as F, ClassLossOptions};
use crate::layers::impl_fmt_as_repr;
use crate::module::Module;

/// `nn.MSELoss(reduction)`: the (mean) squared error.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MSELoss {
    /// How the squared errors are reduced (default: mean).
    pub reduction: Reduction,
}

impl MSELoss {
    /// With mean reduction.
    pub fn new() -> MSELoss {
        MSELoss::default()
    }

    /// With `reduction`.
    pub fn reduction(self, reduction: Reduction) -> MSELoss {
        MSELoss { reduction }
    }

    /// The loss of `input` against `target` (same shape).
    ///
    /// # Panics
    /// If the shapes differ.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::mse_loss_with(input, target, self.reduction)
    }
}

/// `nn.CrossEntropyLoss(reduction, ignore_index)`: `log_softmax` over the
/// classes, then the negative log-likelihood of the targets.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct CrossEntropyLoss {
    /// Reduction and ignored target value (defaults: mean, -100).
    pub options: ClassLossOptions,
}

impl CrossEntropyLoss {
    /// With mean reduction and `ignore_index = -100`.
    pub fn new() -> CrossEntropyLoss {
        CrossEntropyLoss::default()
    }

    /// With `reduction`.
    pub fn reduction(mut self, reduction: Reduction) -> CrossEntropyLoss {
        self.options.reduction = reduction;
        self
    }

    /// Targets equal to `ignore_index` count for nothing.
    pub fn ignore_index(mut self, ignore_index: i32) -> CrossEntropyLoss {
        self.options.ignore_index = ignore_index;
        self
    }

    /// The loss of logits `input: [n, c]` against i32 classes `target: [n]`.
    ///
    /// # Panics
    /// If the shapes do not fit or `target` is not i32.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::cross_entropy_with(input, target, self.options)
    }
}

/// `nn.NLLLoss(reduction, ignore_index)`: the negative log-likelihood of
/// the targets under log-probabilities.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct NLLLoss {
    /// Reduction and ignored target value (defaults: mean, -100).
    pub options: ClassLossOptions,
}

impl NLLLoss {
    /// With mean reduction and `ignore_index = -100`.
    pub fn new() -> NLLLoss {
        NLLLoss::default()
    }

    /// With `reduction`.
    pub fn reduction(mut self, reduction: Reduction) -> NLLLoss {
        self.options.reduction = reduction;
        self
    }

    /// Targets equal to `ignore_index` count for nothing.
    pub fn ignore_index(mut self, ignore_index: i32) -> NLLLoss {
        self.options.ignore_index = ignore_index;
        self
    }

    /// The loss of log-probabilities `input: [n, c]` against i32 classes
    /// `target: [n]`.
    ///
    /// # Panics
    /// If the shapes do not fit or `target` is not i32.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::nll_loss_with(input, target, self.options)
    }
}

impl Module for MSELoss {
    fn type_name(&self) -> &str {
        "MSELoss"
    }
}

impl Module for CrossEntropyLoss {
    fn type_name(&self) -> &str {
        "CrossEntropyLoss"
    }
}

impl Module for NLLLoss {
    fn type_name(&self) -> &str {
        "NLLLoss"
    }
}

impl_fmt_as_repr!(MSELoss, CrossEntropyLoss, NLLLoss);
