//! `torch.optim.Adam` and `torch.optim.AdamW`: one kernel, weight decay
//! added to the gradient (L2) or applied to the weights (decoupled).

use std::collections::BTreeMap;

use wgrad_autograd::{NoGradGuard, Tensor};
use wgrad_tensor::ops::optim::AdamStep;
use wgrad_tensor::ops::optim_foreach::{AdamSlot, try_adam_foreach_};

use crate::optim::Optimizer;
use crate::optim::error::Result;
use crate::optim::state::{self, HyperParam, OptimizerState, ParamState, StateSpec};

fn spec(optimizer: &'static str) -> StateSpec {
    StateSpec {
        optimizer,
        has_step: true,
        required: &["exp_avg", "exp_avg_sq"],
        // Created as zeros when amsgrad is turned on later.
        optional: &["max_exp_avg_sq"],
    }
}

/// Adam (`torch.optim.Adam`). With `g` the gradient and `t` the step:
///
/// ```text
/// g = -g if maximize;  g += weight_decay * theta
/// m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
/// v_max = max(v_max, v) and use v_max for v if amsgrad
/// theta -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
/// ```
///
/// Defaults as PyTorch: `betas = (0.9, 0.999)`, `eps = 1e-8`, no weight
/// decay (PyTorch's default `lr` is `1e-3`).
pub struct Adam {
    params: Vec<Tensor>,
    hyper: AdamStep,
    states: Vec<Option<ParamState>>,
}

impl Adam {
    /// Adam over `params` with learning rate `lr` and PyTorch's defaults.
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adam {
        let states = vec![None; params.len()];
        Adam {
            params,
            hyper: AdamStep {
                lr,
                ..AdamStep::default()
            },
            states,
        }
    }

    /// The decay rates of the moment estimates (default `(0.9, 0.999)`).
    pub fn betas(mut self, betas: (f64, f64)) -> Adam {
        (self.hyper.beta1, self.hyper.beta2) = betas;
        self
    }

    /// Added to the denominator (default `1e-8`).
    pub fn eps(mut self, eps: f64) -> Adam {
        self.hyper.eps = eps;
        self
    }

    /// The weight decay (default 0): an L2 penalty added to the gradient,
    /// or with [`Adam::decoupled_weight_decay`] AdamW's decay of the weights.
    pub fn weight_decay(mut self, weight_decay: f64) -> Adam {
        self.hyper.weight_decay = weight_decay;
        self
    }

    /// AMSGrad: divide by the running maximum of the second moment (default off).
    pub fn amsgrad(mut self, amsgrad: bool) -> Adam {
        self.hyper.amsgrad = amsgrad;
        self
    }

    /// Maximise the objective instead of minimising it (default off).
    pub fn maximize(mut self, maximize: bool) -> Adam {
        self.hyper.maximize = maximize;
        self
    }

    /// Decay the weights by `1 - lr * weight_decay` instead of adding the
    /// penalty to the gradient: AdamW (PyTorch's `decoupled_weight_decay`).
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Adam {
        self.hyper.decoupled_weight_decay = decoupled;
        self
    }

    /// The checks of PyTorch's constructor; `step()` makes them too.
    pub fn validate(&self) -> Result<()> {
        validate(&self.hyper)
    }

    fn name(&self) -> &'static str {
        name(&self.hyper)
    }

    fn param_group(&self) -> BTreeMap<String, HyperParam> {
        let h = &self.hyper;
        state::group([
            ("lr", HyperParam::Float(h.lr)),
            ("betas", HyperParam::Pair(h.beta1, h.beta2)),
            ("eps", HyperParam::Float(h.eps)),
            ("weight_decay", HyperParam::Float(h.weight_decay)),
            ("amsgrad", HyperParam::Bool(h.amsgrad)),
            ("maximize", HyperParam::Bool(h.maximize)),
            (
                "decoupled_weight_decay",
                HyperParam::Bool(h.decoupled_weight_decay),
            ),
        ])
    }
}

fn name(h: &AdamStep) -> &'static str {
    if h.decoupled_weight_decay {
        "AdamW"
    } else {
        "Adam"
    }
}

/// PyTorch's `ValueError`s, as errors.
fn validate(h: &AdamStep) -> Result<()> {
    let n = name(h);
    state::check(n, "lr", h.lr, h.lr >= 0.0)?;
    state::check(n, "eps", h.eps, h.eps >= 0.0)?;
    state::check(n, "betas[0]", h.beta1, (0.0..1.0).contains(&h.beta1))?;
    state::check(n, "betas[1]", h.beta2, (0.0..1.0).contains(&h.beta2))?;
    state::check(n, "weight_decay", h.weight_decay, h.weight_decay >= 0.0)
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        self.validate()?;
        let _no_grad = NoGradGuard::new();
        let grads = state::gradients(self.name(), &self.params)?;
        // (index, param, grad, [exp_avg, exp_avg_sq], max_exp_avg_sq, step)
        let mut work = Vec::with_capacity(grads.len());
        for (i, grad) in grads {
            let param = self.params[i].data().clone();
            let shape = param.shape();
            let state = self.states[i].get_or_insert_with(ParamState::default);
            let moments = [
                state.zeros_if_absent("exp_avg", shape),
                state.zeros_if_absent("exp_avg_sq", shape),
            ];
            let max_exp_avg_sq = self
                .hyper
                .amsgrad
                .then(|| state.zeros_if_absent("max_exp_avg_sq", shape));
            // PyTorch increments the step before the bias corrections.
            work.push((i, param, grad, moments, max_exp_avg_sq, state.step + 1));
        }
        // All parameters in a few dispatches (PyTorch's foreach=True).
        let slots: Vec<AdamSlot<'_>> = work
            .iter()
            .map(
                |(_, param, grad, [exp_avg, exp_avg_sq], max, step)| AdamSlot {
                    param,
                    grad,
                    exp_avg,
                    exp_avg_sq,
                    max_exp_avg_sq: max.as_ref(),
                    step: *step,
                },
            )
            .collect();
        try_adam_foreach_(&slots, &self.hyper)?;
        // Only once every parameter is updated.
        for (i, .., step) in &work {
            if let Some(state) = self.states[*i].as_mut() {
                state.step = *step;
            }
        }
        state::end_step();
        Ok(())
    }

    fn params(&self) -> &[Tensor] {
        &self.params
    }

    fn lr(&self) -> f64 {
        self.hyper.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.hyper.lr = lr;
    }

    fn state_dict(&self) -> OptimizerState {
        spec(self.name()).export(&self.states, self.param_group())
    }

    fn load_state_dict(&mut self, sd: &OptimizerState) -> Result<()> {
        let n = self.name();
        let (beta1, beta2) = sd.pair(n, "betas")?;
        let hyper = AdamStep {
            lr: sd.float(n, "lr")?,
            beta1,
            beta2,
            eps: sd.float(n, "eps")?,
            weight_decay: sd.float(n, "weight_decay")?,
            amsgrad: sd.flag(n, "amsgrad")?,
            maximize: sd.flag(n, "maximize")?,
            decoupled_weight_decay: sd.flag(n, "decoupled_weight_decay")?,
            step: 1,
        };
        validate(&hyper)?;
        self.states = spec(n).import(sd, &self.params)?;
        self.hyper = hyper;
        Ok(())
    }
}

/// AdamW (`torch.optim.AdamW`): Adam with decoupled weight decay,
/// `theta *= 1 - lr * weight_decay` before the Adam update, and PyTorch's
/// default `weight_decay = 0.01`.
pub struct AdamW(Adam);

impl AdamW {
    /// AdamW over `params` with learning rate `lr` and PyTorch's defaults.
    pub fn new(params: Vec<Tensor>, lr: f64) -> AdamW {
        AdamW(
            Adam::new(params, lr)
                .decoupled_weight_decay(true)
                .weight_decay(1e-2),
        )
    }

    /// The decay rates of the moment estimates (default `(0.9, 0.999)`).
    pub fn betas(self, betas: (f64, f64)) -> AdamW {
        AdamW(self.0.betas(betas))
    }

    /// Added to the denominator (default `1e-8`).
    pub fn eps(self, eps: f64) -> AdamW {
        AdamW(self.0.eps(eps))
    }

    /// The decoupled weight decay (default `0.01`).
    pub fn weight_decay(self, weight_decay: f64) -> AdamW {
        AdamW(self.0.weight_decay(weight_decay))
    }

    /// AMSGrad (default off).
    pub fn amsgrad(self, amsgrad: bool) -> AdamW {
        AdamW(self.0.amsgrad(amsgrad))
    }

    /// Maximise the objective instead of minimising it (default off).
    pub fn maximize(self, maximize: bool) -> AdamW {
        AdamW(self.0.maximize(maximize))
    }

    /// The checks of PyTorch's constructor; `step()` makes them too.
    pub fn validate(&self) -> Result<()> {
        self.0.validate()
    }
}

impl Optimizer for AdamW {
    fn step(&mut self) -> Result<()> {
        self.0.step()
    }

    fn params(&self) -> &[Tensor] {
        self.0.params()
    }

    fn lr(&self) -> f64 {
        self.0.lr()
    }

    fn set_lr(&mut self, lr: f64) {
        self.0.set_lr(lr);
    }

    fn state_dict(&self) -> OptimizerState {
        self.0.state_dict()
    }

    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        self.0.load_state_dict(state)
    }
}
