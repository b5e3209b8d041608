//! Fused optimizer updates (`shaders/optim.wgsl`): one dispatch per
//! parameter per step writes the parameter and its state buffers in place
//! (see `optim_foreach` for several parameters per dispatch).
//!
//! The hyper-parameters are `f64`, like PyTorch's Python floats: what PyTorch
//! computes in Python (bias corrections, `1 - beta`, `1 - lr * weight_decay`)
//! is computed here in `f64` and rounded once to `f32` for the kernel.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::ops::{dispatch_1d, or_panic, to_u32};
use crate::runtime::{Binding, Kernel};
use crate::shaders::OPTIM;
use crate::tensor::Tensor;

/// One SGD update (`torch.optim.SGD`), everything but the tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor; 0 means no momentum buffer.
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
    /// Whether the momentum buffer is created by this step (`buf = g`, as
    /// PyTorch does when the buffer is still `None`); its contents are then
    /// ignored.
    pub first_step: bool,
}

impl Default for SgdStep {
    /// PyTorch's defaults (`lr = 1e-3`, no momentum, no weight decay).
    fn default() -> Self {
        SgdStep {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            maximize: false,
            first_step: false,
        }
    }
}

/// One Adam or AdamW update (`torch.optim.Adam`, `torch.optim.AdamW`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty (Adam) or decoupled decay (AdamW).
    pub weight_decay: f64,
    /// AdamW: multiply the weights by `1 - lr * weight_decay` instead of
    /// adding `weight_decay * theta` to the gradient.
    pub decoupled_weight_decay: bool,
    /// Keep the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    /// The step number `t`, counting from 1, for the bias corrections.
    pub step: u64,
}

impl Default for AdamStep {
    /// PyTorch's Adam defaults, at step 1.
    fn default() -> Self {
        AdamStep {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: false,
            maximize: false,
            step: 1,
        }
    }
}

/// One RMSprop update (`torch.optim.RMSprop`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropStep {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor; 0 means no momentum buffer.
    pub momentum: f64,
    /// Normalise by the variance estimate (needs `grad_avg`).
    pub centered: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
}

impl Default for RmspropStep {
    /// PyTorch's defaults (`lr = 1e-2`, `alpha = 0.99`, `eps = 1e-8`).
    fn default() -> Self {
        RmspropStep {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

/// The tensors of one update: the parameter at binding 1, then the
/// gradient and the state buffers at 2, 3, ... in the kernel's order.
pub(crate) struct Update<'a> {
    op: &'static str,
    param: &'a Tensor,
    /// `(name, tensor)`; `None` where an optional state is off.
    slots: Vec<(&'static str, Option<&'a Tensor>)>,
}

impl<'a> Update<'a> {
    pub(crate) fn new(op: &'static str, param: &'a Tensor, grad: &'a Tensor) -> Update<'a> {
        let slots = vec![("grad", Some(grad))];
        Update { op, param, slots }
    }

    pub(crate) fn with(mut self, name: &'static str, buffer: &'a Tensor) -> Update<'a> {
        self.slots.push((name, Some(buffer)));
        self
    }

    /// A state that exists only when `on` (because of the option `why`).
    pub(crate) fn with_optional(
        mut self,
        on: bool,
        why: &str,
        name: &'static str,
        buffer: Option<&'a Tensor>,
    ) -> Result<Update<'a>> {
        if on && buffer.is_none() {
            return Err(TensorError::Invalid {
                op: self.op,
                message: format!("{why} needs a {name} buffer"),
                shape: self.param.shape().to_vec(),
            });
        }
        self.slots.push((name, buffer.filter(|_| on)));
        Ok(self)
    }

    pub(crate) fn present(&self) -> impl Iterator<Item = (&'static str, &'a Tensor)> + Clone + '_ {
        let slots = self.slots.iter().filter_map(|&(n, t)| Some((n, t?)));
        std::iter::once(("param", self.param)).chain(slots)
    }

    /// The checks of every update: f32, dense, one element count, no shared
    /// buffers (the parameter is written while the gradient is read).
    pub(crate) fn check(&self) -> Result<()> {
        let (op, numel) = (self.op, self.param.numel());
        for (name, t) in self.present() {
            if t.dtype() != DType::F32 {
                let dtype = t.dtype();
                return Err(TensorError::DType { op, dtype });
            }
            let problem = if !t.is_contiguous() {
                Some(format!(
                    "{name} must be contiguous, got strides {:?}",
                    t.strides()
                ))
            } else if t.numel() != numel {
                let (n, shape) = (t.numel(), self.param.shape());
                Some(format!(
                    "{name} has {n} elements but the parameter of shape {shape:?} has {numel}"
                ))
            } else {
                None
            };
            if let Some(message) = problem {
                let shape = t.shape().to_vec();
                return Err(TensorError::Invalid { op, message, shape });
            }
        }
        let all: Vec<_> = self.present().collect();
        for (k, (a, ta)) in all.iter().enumerate() {
            if let Some((b, _)) = all[k + 1..].iter().find(|(_, tb)| tb.shares_storage(ta)) {
                let message = format!("{a} and {b} share one buffer; each needs its own");
                let shape = ta.shape().to_vec();
                return Err(TensorError::Invalid { op, message, shape });
            }
        }
        to_u32(op, numel).map(|_| ())
    }

    /// `Params`' first fields: numel, then each tensor's element offset in
    /// its buffer, in binding order (0 for an absent state).
    fn header(&self) -> Result<Vec<u32>> {
        let mut p = vec![to_u32(self.op, self.param.numel())?];
        let tensors = std::iter::once(Some(self.param)).chain(self.slots.iter().map(|s| s.1));
        for t in tensors {
            p.push(t.map_or(Ok(0), |t| to_u32(self.op, t.layout.offset))?);
        }
        Ok(p)
    }

    /// Records the dispatch; an absent state is bound to a one-element
    /// placeholder (see the NOTE in `optim.wgsl`).
    fn dispatch(&self, entry: &'static str, params: &[u32]) {
        let placeholder = |t: Option<&Tensor>| {
            t.cloned()
                .unwrap_or_else(|| Tensor::empty_for(self.op, &[1], DType::F32))
        };
        let tensors: Vec<Tensor> = std::iter::once(self.param.clone())
            .chain(self.slots.iter().map(|s| placeholder(s.1)))
            .collect();
        let bindings: Vec<Binding<'_>> = tensors
            .iter()
            .zip(1..)
            .map(|(t, binding)| Binding {
                binding,
                buffer: t.buffer(),
            })
            .collect();
        let kernel = Kernel::new(&OPTIM, entry);
        dispatch_1d(kernel, &[], params, &bindings, self.param.numel());
    }
}

/// `x` rounded to the kernel's f32, as bits.
pub(crate) fn f(x: f64) -> u32 {
    (x as f32).to_bits()
}

/// SGD's scalars as `sgd` and `sgd_multi` read them: lr, momentum,
/// 1 - dampening, weight decay.
pub(crate) fn sgd_scalars(s: &SgdStep) -> [u32; 4] {
    [
        f(s.lr),
        f(s.momentum),
        f(1.0 - s.dampening),
        f(s.weight_decay),
    ]
}

/// Adam's step-independent scalars as `adam` and `adam_multi` read them:
/// beta1, 1 - beta1, beta2, 1 - beta2, eps, weight decay, 1 - lr * weight
/// decay.
pub(crate) fn adam_scalars(s: &AdamStep) -> [u32; 7] {
    [
        f(s.beta1),
        f(1.0 - s.beta1),
        f(s.beta2),
        f(1.0 - s.beta2),
        f(s.eps),
        f(s.weight_decay),
        f(1.0 - s.lr * s.weight_decay),
    ]
}

/// The error for an Adam step number of 0.
pub(crate) fn step_zero(op: &'static str, shape: &[usize]) -> TensorError {
    TensorError::Invalid {
        op,
        message: "the step number counts from 1 (the bias corrections divide by 1 - beta^step)"
            .into(),
        shape: shape.to_vec(),
    }
}

impl Tensor {
    /// One SGD update of this parameter in place, with its gradient and,
    /// when `s.momentum != 0`, its momentum buffer (both updated in place).
    ///
    /// Errors (naming `sgd_` and the shapes) if a tensor is not a dense f32
    /// tensor with the parameter's element count, if two share a buffer, or
    /// if momentum is on without a buffer.
    pub fn try_sgd_(
        &self,
        grad: &Tensor,
        momentum_buffer: Option<&Tensor>,
        s: &SgdStep,
    ) -> Result<()> {
        let has_momentum = s.momentum != 0.0;
        let u = Update::new("sgd_", self, grad).with_optional(
            has_momentum,
            "momentum",
            "momentum_buffer",
            momentum_buffer,
        )?;
        u.check()?;
        if self.numel() == 0 {
            return Ok(());
        }
        let mut p = u.header()?;
        p.extend(sgd_scalars(s));
        p.extend([
            u32::from(has_momentum),
            u32::from(s.first_step),
            u32::from(s.nesterov),
            u32::from(s.maximize),
        ]);
        u.dispatch("sgd", &p);
        Ok(())
    }

    /// [`Tensor::try_sgd_`].
    ///
    /// # Panics
    /// On the errors of [`Tensor::try_sgd_`].
    pub fn sgd_(&self, grad: &Tensor, momentum_buffer: Option<&Tensor>, s: &SgdStep) {
        or_panic(self.try_sgd_(grad, momentum_buffer, s));
    }

    /// One Adam (or, with `decoupled_weight_decay`, AdamW) update of this
    /// parameter in place, updating `exp_avg`, `exp_avg_sq` and, with
    /// `amsgrad`, `max_exp_avg_sq` in place. The bias corrections come from
    /// `s.step` (the step number, from 1).
    ///
    /// Errors as [`Tensor::try_sgd_`] does (naming `adam_`), and if
    /// `s.step` is 0 or amsgrad is on without `max_exp_avg_sq`.
    pub fn try_adam_(
        &self,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        max_exp_avg_sq: Option<&Tensor>,
        s: &AdamStep,
    ) -> Result<()> {
        let u = Update::new("adam_", self, grad)
            .with("exp_avg", exp_avg)
            .with("exp_avg_sq", exp_avg_sq)
            .with_optional(s.amsgrad, "amsgrad", "max_exp_avg_sq", max_exp_avg_sq)?;
        if s.step == 0 {
            return Err(step_zero("adam_", self.shape()));
        }
        u.check()?;
        if self.numel() == 0 {
            return Ok(());
        }
        // PyTorch (single-tensor Adam): bias_correction1 = 1 - beta1 ** step,
        // step_size = lr / bias_correction1, both Python floats.
        let t = s.step as f64;
        let bias_correction1 = 1.0 - s.beta1.powf(t);
        let bias_correction2 = 1.0 - s.beta2.powf(t);
        let mut p = u.header()?;
        p.extend(adam_scalars(s));
        p.extend([
            f(s.lr / bias_correction1),
            f(bias_correction2.sqrt()),
            u32::from(s.decoupled_weight_decay),
            u32::from(s.amsgrad),
            u32::from(s.maximize),
        ]);
        u.dispatch("adam", &p);
        Ok(())
    }

    /// [`Tensor::try_adam_`].
    ///
    /// # Panics
    /// On the errors of [`Tensor::try_adam_`].
    pub fn adam_(
        &self,
        grad: &Tensor,
        exp_avg: &Tensor,
        exp_avg_sq: &Tensor,
        max_exp_avg_sq: Option<&Tensor>,
        s: &AdamStep,
    ) {
        or_panic(self.try_adam_(grad, exp_avg, exp_avg_sq, max_exp_avg_sq, s));
    }

    /// One RMSprop update of this parameter in place, updating `square_avg`,
    /// and `grad_avg` (when `centered`) and `momentum_buffer` (when
    /// `momentum > 0`) in place. The buffers start as zeros, as in PyTorch.
    ///
    /// Errors as [`Tensor::try_sgd_`] does (naming `rmsprop_`), and if an
    /// option is on without its buffer.
    pub fn try_rmsprop_(
        &self,
        grad: &Tensor,
        square_avg: &Tensor,
        grad_avg: Option<&Tensor>,
        momentum_buffer: Option<&Tensor>,
        s: &RmspropStep,
    ) -> Result<()> {
        let has_momentum = s.momentum > 0.0;
        let u = Update::new("rmsprop_", self, grad)
            .with("square_avg", square_avg)
            .with_optional(s.centered, "centered", "grad_avg", grad_avg)?
            .with_optional(has_momentum, "momentum", "momentum_buffer", momentum_buffer)?;
        u.check()?;
        if self.numel() == 0 {
            return Ok(());
        }
        let mut p = u.header()?;
        p.extend([
            f(s.lr),
            f(s.alpha),
            f(1.0 - s.alpha),
            f(s.eps),
            f(s.weight_decay),
            f(s.momentum),
            u32::from(s.centered),
            u32::from(has_momentum),
            u32::from(s.maximize),
        ]);
        u.dispatch("rmsprop", &p);
        Ok(())
    }

    /// [`Tensor::try_rmsprop_`].
    ///
    /// # Panics
    /// On the errors of [`Tensor::try_rmsprop_`].
    pub fn rmsprop_(
        &self,
        grad: &Tensor,
        square_avg: &Tensor,
        grad_avg: Option<&Tensor>,
        momentum_buffer: Option<&Tensor>,
        s: &RmspropStep,
    ) {
        or_panic(self.try_rmsprop_(grad, square_avg, grad_avg, momentum_buffer, s));
    }
}
