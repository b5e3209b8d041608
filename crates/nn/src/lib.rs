//! `wgrad-nn`: PyTorch's `torch.nn`, `torch.nn.functional` and `torch.optim`
//! for wgrad: modules, layers, losses, initialisation, optimizers,
//! learning-rate schedulers and safetensors checkpoints.

pub mod functional;
pub mod init;
pub mod layers;
pub mod loss;
pub mod module;
pub mod optim;
pub mod state_dict;
