//! `torch.optim.lr_scheduler`: `StepLR` and `CosineAnnealingLR`.
//!
//! As in PyTorch, a scheduler's `step()` computes the next learning rate
//! from the optimizer's current one (the recursive form of `get_lr()`), so
//! schedulers compose with learning rates set elsewhere; on its own it
//! follows the closed form. Construction is PyTorch's initial step: epoch 0,
//! learning rate unchanged.

use std::f64::consts::PI;

use crate::optim::Optimizer;
use crate::optim::error::Result;
use crate::optim::state;

/// What every learning-rate scheduler does (one parameter group).
pub trait LrScheduler {
    /// Advances one epoch and sets the optimizer's learning rate. Call it
    /// after `optimizer.step()`, as in PyTorch.
    fn step(&mut self, optimizer: &mut dyn Optimizer);

    /// The learning rate set by the last step (`get_last_lr()[0]`).
    fn get_last_lr(&self) -> f64;

    /// The number of steps taken (`last_epoch`).
    fn last_epoch(&self) -> usize;
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs
/// (`torch.optim.lr_scheduler.StepLR`): at epoch `e` it is
/// `base_lr * gamma^(e / step_size)` (integer division).
#[derive(Debug, Clone)]
pub struct StepLR {
    step_size: usize,
    gamma: f64,
    last_epoch: usize,
    last_lr: f64,
}

impl StepLR {
    /// A schedule starting from `optimizer`'s learning rate. PyTorch's
    /// default `gamma` is 0.1.
    ///
    /// Errors if `step_size` is 0 (PyTorch divides by it).
    pub fn new(optimizer: &dyn Optimizer, step_size: usize, gamma: f64) -> Result<StepLR> {
        state::check("StepLR", "step_size", step_size as f64, step_size > 0)?;
        Ok(StepLR {
            step_size,
            gamma,
            last_epoch: 0,
            last_lr: optimizer.lr(),
        })
    }
}

impl LrScheduler for StepLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        self.last_epoch += 1;
        let lr = optimizer.lr();
        // PyTorch's get_lr(): decay exactly at the multiples of step_size.
        let lr = if self.last_epoch.is_multiple_of(self.step_size) {
            lr * self.gamma
        } else {
            lr
        };
        optimizer.set_lr(lr);
        self.last_lr = lr;
    }

    fn get_last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }
}

/// Anneals the learning rate along a cosine from its initial value to
/// `eta_min` over `t_max` epochs and back up over the next `t_max`
/// (`torch.optim.lr_scheduler.CosineAnnealingLR`):
///
/// ```text
/// lr_e = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / t_max)) / 2
/// ```
///
/// computed, as PyTorch does, by the recurrence
/// `lr_e = (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T)) * (lr_{e-1} - eta_min) + eta_min`,
/// with the additive form where the denominator is 0.
#[derive(Debug, Clone)]
pub struct CosineAnnealingLR {
    t_max: usize,
    eta_min: f64,
    base_lr: f64,
    last_epoch: usize,
    last_lr: f64,
}

impl CosineAnnealingLR {
    /// A schedule from `optimizer`'s learning rate down to `eta_min` (PyTorch's
    /// default is 0) in `t_max` epochs.
    ///
    /// Errors if `t_max` is 0 (PyTorch divides by it).
    pub fn new(optimizer: &dyn Optimizer, t_max: usize, eta_min: f64) -> Result<CosineAnnealingLR> {
        state::check("CosineAnnealingLR", "T_max", t_max as f64, t_max > 0)?;
        let base_lr = optimizer.lr();
        Ok(CosineAnnealingLR {
            t_max,
            eta_min,
            base_lr,
            last_epoch: 0,
            last_lr: base_lr,
        })
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) {
        self.last_epoch += 1;
        let (e, t) = (self.last_epoch as f64, self.t_max as f64);
        let (lr, eta_min) = (optimizer.lr(), self.eta_min);
        // Python's `(e - 1 - T) % (2 T) == 0`: the epochs just after a
        // minimum, where 1 + cos(pi (e - 1) / T) is 0.
        let after_minimum =
            (self.last_epoch as i64 - 1 - self.t_max as i64).rem_euclid(2 * self.t_max as i64) == 0;
        let lr = if after_minimum {
            lr + (self.base_lr - eta_min) * (1.0 - (PI / t).cos()) / 2.0
        } else {
            (1.0 + (PI * e / t).cos()) / (1.0 + (PI * (e - 1.0) / t).cos()) * (lr - eta_min)
                + eta_min
        };
        optimizer.set_lr(lr);
        self.last_lr = lr;
    }

    fn get_last_lr(&self) -> f64 {
        self.last_lr
    }

    fn last_epoch(&self) -> usize {
        self.last_epoch
    }
}
