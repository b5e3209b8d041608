//! `torch.optim`: optimizers that update parameters in place from their
//! gradients, and learning-rate schedulers.
//!
//! Each optimizer holds the parameters (`model.parameters()`) and one fused
//! kernel dispatch per parameter per step updates the parameter and its
//! state buffers on the device (`shaders/optim.wgsl`), with the formulas and
//! defaults of PyTorch's documentation.
//!
//! ```no_run
//! use wgrad_autograd::Tensor;
//! use wgrad_nn::optim::{Adam, Optimizer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let w = Tensor::from_slice(&[1.0f32, -2.0], &[2]).with_grad();
//! let mut opt = Adam::new(vec![w.clone()], 1e-2).betas((0.9, 0.99));
//! for _ in 0..100 {
//!     opt.zero_grad();
//!     let loss = (&w * &w).sum();
//!     loss.backward()?;
//!     opt.step()?;
//! }
//! # Ok(())
//! # }
//! ```

mod adam;
mod checkpoint;
mod error;
mod lr_scheduler;
mod rmsprop;
mod sgd;
mod state;

pub use adam::{Adam, AdamW};
pub use checkpoint::{load_optimizer, save_optimizer};
pub use error::{OptimError, Result};
pub use lr_scheduler::{CosineAnnealingLR, LrScheduler, StepLR};
pub use rmsprop::RMSprop;
pub use sgd::SGD;
pub use state::{HyperParam, OptimizerState};

use wgrad_autograd::Tensor;

/// What every optimizer does (`torch.optim.Optimizer` with one parameter
/// group).
pub trait Optimizer {
    /// One update of every parameter that has a gradient; parameters
    /// without one are skipped, as in PyTorch. Runs under `no_grad` and
    /// records nothing.
    ///
    /// Errors on invalid hyper-parameters (as PyTorch's constructors raise)
    /// and on a gradient whose shape is not its parameter's, before any
    /// parameter is changed.
    fn step(&mut self) -> Result<()>;

    /// The parameters, in the order given.
    fn params(&self) -> &[Tensor];

    /// Drops every parameter's gradient (`zero_grad(set_to_none=True)`, the
    /// default since PyTorch 2.0): the next backward writes a fresh one.
    fn zero_grad(&self) {
        for p in self.params() {
            p.set_grad(None);
        }
    }

    /// The learning rate (`param_groups[0]["lr"]`).
    fn lr(&self) -> f64;

    /// Sets the learning rate (what schedulers do).
    fn set_lr(&mut self, lr: f64);

    /// Copies of the state (step counts, buffers) and the hyper-parameters.
    fn state_dict(&self) -> OptimizerState;

    /// Replaces the state and the hyper-parameters with copies of `state`'s,
    /// as PyTorch does. Everything is checked first: on an error nothing
    /// changes.
    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()>;
}
