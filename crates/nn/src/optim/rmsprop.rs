//! `torch.optim.RMSprop`, optionally centered and with momentum.

use std::collections::BTreeMap;

use wgrad_autograd::{NoGradGuard, Tensor};
use wgrad_tensor::ops::optim::RmspropStep;

use crate::optim::Optimizer;
use crate::optim::error::Result;
use crate::optim::state::{self, HyperParam, OptimizerState, ParamState, StateSpec};

const SPEC: StateSpec = StateSpec {
    optimizer: "RMSprop",
    has_step: true,
    required: &["square_avg"],
    // Created as zeros when momentum or centering is turned on later.
    optional: &["momentum_buffer", "grad_avg"],
};

/// RMSprop (`torch.optim.RMSprop`). With `g` the gradient:
///
/// ```text
/// g = -g if maximize;  g += weight_decay * theta
/// v = alpha * v + (1 - alpha) * g^2;  v~ = v
/// centered: g_ave = alpha * g_ave + (1 - alpha) * g;  v~ = v - g_ave^2
/// momentum > 0: b = momentum * b + g / (sqrt(v~) + eps);  theta -= lr * b
/// otherwise:    theta -= lr * g / (sqrt(v~) + eps)
/// ```
///
/// Defaults as PyTorch: `alpha = 0.99`, `eps = 1e-8`, no weight decay, no
/// momentum, not centered (PyTorch's default `lr` is `1e-2`).
// PyTorch's class name, which users look for.
#[allow(clippy::upper_case_acronyms)]
pub struct RMSprop {
    params: Vec<Tensor>,
    hyper: RmspropStep,
    states: Vec<Option<ParamState>>,
}

impl RMSprop {
    /// RMSprop over `params` with learning rate `lr` and PyTorch's defaults.
    pub fn new(params: Vec<Tensor>, lr: f64) -> RMSprop {
        let states = vec![None; params.len()];
        RMSprop {
            params,
            hyper: RmspropStep {
                lr,
                ..RmspropStep::default()
            },
            states,
        }
    }

    /// The smoothing constant of the squared-gradient average (default 0.99).
    pub fn alpha(mut self, alpha: f64) -> RMSprop {
        self.hyper.alpha = alpha;
        self
    }

    /// Added to the denominator (default `1e-8`).
    pub fn eps(mut self, eps: f64) -> RMSprop {
        self.hyper.eps = eps;
        self
    }

    /// The L2 penalty (default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> RMSprop {
        self.hyper.weight_decay = weight_decay;
        self
    }

    /// The momentum factor (default 0).
    pub fn momentum(mut self, momentum: f64) -> RMSprop {
        self.hyper.momentum = momentum;
        self
    }

    /// Normalise by an estimate of the gradient's variance (default off).
    pub fn centered(mut self, centered: bool) -> RMSprop {
        self.hyper.centered = centered;
        self
    }

    /// Maximise the objective instead of minimising it (default off).
    pub fn maximize(mut self, maximize: bool) -> RMSprop {
        self.hyper.maximize = maximize;
        self
    }

    /// The checks of PyTorch's constructor; `step()` makes them too.
    pub fn validate(&self) -> Result<()> {
        validate(&self.hyper)
    }

    fn param_group(&self) -> BTreeMap<String, HyperParam> {
        let h = &self.hyper;
        state::group([
            ("lr", HyperParam::Float(h.lr)),
            ("alpha", HyperParam::Float(h.alpha)),
            ("eps", HyperParam::Float(h.eps)),
            ("weight_decay", HyperParam::Float(h.weight_decay)),
            ("momentum", HyperParam::Float(h.momentum)),
            ("centered", HyperParam::Bool(h.centered)),
            ("maximize", HyperParam::Bool(h.maximize)),
        ])
    }
}

/// PyTorch's `ValueError`s, as errors.
fn validate(h: &RmspropStep) -> Result<()> {
    state::check("RMSprop", "lr", h.lr, h.lr >= 0.0)?;
    state::check("RMSprop", "eps", h.eps, h.eps >= 0.0)?;
    state::check("RMSprop", "momentum", h.momentum, h.momentum >= 0.0)?;
    state::check(
        "RMSprop",
        "weight_decay",
        h.weight_decay,
        h.weight_decay >= 0.0,
    )?;
    state::check("RMSprop", "alpha", h.alpha, h.alpha >= 0.0)
}

impl Optimizer for RMSprop {
    fn step(&mut self) -> Result<()> {
        self.validate()?;
        let _no_grad = NoGradGuard::new();
        let h = self.hyper;
        for (i, grad) in state::gradients("RMSprop", &self.params)? {
            let param = self.params[i].data();
            let shape = param.shape();
            let state = self.states[i].get_or_insert_with(ParamState::default);
            let square_avg = state.zeros_if_absent("square_avg", shape);
            let grad_avg = h.centered.then(|| state.zeros_if_absent("grad_avg", shape));
            let buf = (h.momentum > 0.0).then(|| state.zeros_if_absent("momentum_buffer", shape));
            param.try_rmsprop_(&grad, &square_avg, grad_avg.as_ref(), buf.as_ref(), &h)?;
            state.step += 1;
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
        SPEC.export(&self.states, self.param_group())
    }

    fn load_state_dict(&mut self, sd: &OptimizerState) -> Result<()> {
        let n = SPEC.optimizer;
        let hyper = RmspropStep {
            lr: sd.float(n, "lr")?,
            alpha: sd.float(n, "alpha")?,
            eps: sd.float(n, "eps")?,
            weight_decay: sd.float(n, "weight_decay")?,
            momentum: sd.float(n, "momentum")?,
            centered: sd.flag(n, "centered")?,
            maximize: sd.flag(n, "maximize")?,
        };
        validate(&hyper)?;
        self.states = SPEC.import(sd, &self.params)?;
        self.hyper = hyper;
        Ok(())
    }
}
