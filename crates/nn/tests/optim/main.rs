//! The optimizers and learning-rate schedulers of `wgrad_nn::optim` against
//! the update formulas of PyTorch's torch.optim documentation, computed
//! plainly on the CPU. One test binary, so one device for the process.

mod adam;
mod behaviour;
mod common;
mod rmsprop;
mod schedulers;
mod sgd;
mod state_dict;
