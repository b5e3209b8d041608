//! `torch.optim.SGD`: stochastic gradient descent with optional momentum,
//! dampening, Nesterov momentum and weight decay.

use std::collections::BTreeMap;

use wgrad_autograd::{NoGradGuard, Tensor};
use wgrad_tensor::ops::optim::SgdStep;
use wgrad_tensor::ops::optim_foreach::{SgdSlot, try_sgd_foreach_};

use crate::optim::Optimizer;
use crate::optim::error::{OptimError, Result};
use crate::optim::state::{self, HyperParam, OptimizerState, ParamState, StateSpec};

const SPEC: StateSpec = StateSpec {
    optimizer: "SGD",
    // PyTorch's SGD keeps only the momentum buffer, no step count.
    has_step: false,
    required: &[],
    optional: &["momentum_buffer"],
};

/// Stochastic gradient descent (`torch.optim.SGD`). With `g` the gradient:
///
/// ```text
/// g = -g if maximize;  g += weight_decay * theta
/// b = g on the first step, else momentum * b + (1 - dampening) * g
/// g = g + momentum * b if nesterov, else b        (when momentum != 0)
/// theta -= lr * g
/// ```
///
/// ```no_run
/// # use wgrad_autograd::Tensor;
/// # use wgrad_nn::optim::SGD;
/// # let params: Vec<Tensor> = vec![];
/// let opt = SGD::new(params, 0.1).momentum(0.9).nesterov(true).weight_decay(5e-4);
/// ```
// PyTorch's class name, which users look for.
#[allow(clippy::upper_case_acronyms)]
pub struct SGD {
    params: Vec<Tensor>,
    hyper: SgdStep,
    states: Vec<Option<ParamState>>,
}

impl SGD {
    /// SGD over `params` with learning rate `lr` and PyTorch's defaults: no
    /// momentum, dampening or weight decay.
    pub fn new(params: Vec<Tensor>, lr: f64) -> SGD {
        let states = vec![None; params.len()];
        SGD {
            params,
            hyper: SgdStep {
                lr,
                ..SgdStep::default()
            },
            states,
        }
    }

    /// The momentum factor (default 0).
    pub fn momentum(mut self, momentum: f64) -> SGD {
        self.hyper.momentum = momentum;
        self
    }

    /// The dampening of the momentum (default 0).
    pub fn dampening(mut self, dampening: f64) -> SGD {
        self.hyper.dampening = dampening;
        self
    }

    /// Nesterov momentum (default off); needs momentum > 0 and no dampening.
    pub fn nesterov(mut self, nesterov: bool) -> SGD {
        self.hyper.nesterov = nesterov;
        self
    }

    /// The L2 penalty (default 0).
    pub fn weight_decay(mut self, weight_decay: f64) -> SGD {
        self.hyper.weight_decay = weight_decay;
        self
    }

    /// Maximise the objective instead of minimising it (default off).
    pub fn maximize(mut self, maximize: bool) -> SGD {
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
            ("momentum", HyperParam::Float(h.momentum)),
            ("dampening", HyperParam::Float(h.dampening)),
            ("weight_decay", HyperParam::Float(h.weight_decay)),
            ("nesterov", HyperParam::Bool(h.nesterov)),
            ("maximize", HyperParam::Bool(h.maximize)),
        ])
    }
}

/// PyTorch's `ValueError`s, as errors.
fn validate(h: &SgdStep) -> Result<()> {
    state::check("SGD", "lr", h.lr, h.lr >= 0.0)?;
    state::check("SGD", "momentum", h.momentum, h.momentum >= 0.0)?;
    state::check("SGD", "dampening", h.dampening, h.dampening.is_finite())?;
    state::check("SGD", "weight_decay", h.weight_decay, h.weight_decay >= 0.0)?;
    if h.nesterov && (h.momentum <= 0.0 || h.dampening != 0.0) {
        return Err(OptimError::Nesterov {
            momentum: h.momentum,
            dampening: h.dampening,
        });
    }
    Ok(())
}

impl Optimizer for SGD {
    fn step(&mut self) -> Result<()> {
        self.validate()?;
        let _no_grad = NoGradGuard::new();
        let grads = state::gradients("SGD", &self.params)?;
        // (param, grad, momentum buffer, whether this step creates it)
        let mut work = Vec::with_capacity(grads.len());
        for (i, grad) in grads {
            let param = self.params[i].data().clone();
            // Without momentum PyTorch's SGD keeps no state at all.
            let (buf, first_step) = if self.hyper.momentum != 0.0 {
                let state = self.states[i].get_or_insert_with(ParamState::default);
                // PyTorch creates the buffer on the first step as a copy of g.
                let first_step = state.get("momentum_buffer").is_none();
                let buf = state.zeros_if_absent("momentum_buffer", param.shape());
                (Some(buf), first_step)
            } else {
                (None, false)
            };
            work.push((param, grad, buf, first_step));
        }
        // All parameters in a few dispatches (PyTorch's foreach=True).
        let slots: Vec<SgdSlot<'_>> = work
            .iter()
            .map(|(param, grad, buf, first_step)| SgdSlot {
                param,
                grad,
                momentum_buffer: buf.as_ref(),
                first_step: *first_step,
            })
            .collect();
        try_sgd_foreach_(&slots, &self.hyper)?;
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
        let name = SPEC.optimizer;
        let hyper = SgdStep {
            lr: sd.float(name, "lr")?,
            momentum: sd.float(name, "momentum")?,
            dampening: sd.float(name, "dampening")?,
            weight_decay: sd.float(name, "weight_decay")?,
            nesterov: sd.flag(name, "nesterov")?,
            maximize: sd.flag(name, "maximize")?,
            first_step: false,
        };
        validate(&hyper)?;
        self.states = SPEC.import(sd, &self.params)?;
        self.hyper = hyper;
        Ok(())
    }
}
