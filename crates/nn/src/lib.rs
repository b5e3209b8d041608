//! `wgrad-nn`: PyTorch's `torch.nn`, `torch.nn.functional` and `torch.optim`
//! for wgrad: modules, layers, losses, initialisation, optimizers,
//! learning-rate schedulers and safetensors checkpoints.
//!
//! A model is a struct of layers with `#[derive(Module)]` (names,
//! parameters, `state_dict`, printing) and a hand-written [`Forward`]:
//!
//! ```no_run
//! use wgrad_autograd::Tensor;
//! use wgrad_nn::{Conv2d, Forward, Linear, Module, functional as F};
//!
//! #[derive(Module)]
//! struct Net {
//!     conv1: Conv2d,
//!     conv2: Conv2d,
//!     fc1: Linear,
//!     fc2: Linear,
//!     fc3: Linear,
//! }
//!
//! impl Forward for Net {
//!     fn forward(&self, x: &Tensor) -> Tensor {
//!         let x = F::max_pool2d(&F::relu(&self.conv1.forward(x)), (2, 2));
//!         let x = F::max_pool2d(&F::relu(&self.conv2.forward(&x)), 2);
//!         let x = x.flatten(1, -1);
//!         let x = F::relu(&self.fc1.forward(&x));
//!         let x = F::relu(&self.fc2.forward(&x));
//!         self.fc3.forward(&x)
//!     }
//! }
//!
//! let net = Net {
//!     conv1: Conv2d::new(1, 6, 5),
//!     conv2: Conv2d::new(6, 16, 5),
//!     fc1: Linear::new(16 * 5 * 5, 120),
//!     fc2: Linear::new(120, 84),
//!     fc3: Linear::new(84, 10),
//! };
//! println!("{net}"); // Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n ...
//! assert_eq!(net.parameters().len(), 10);
//! ```

// So that `#[derive(Module)]`'s `::wgrad_nn::...` paths resolve inside this crate too.
extern crate self as wgrad_nn;

mod checkpoint;
mod error;
mod fields;
pub mod functional;
pub mod init;
pub mod layers;
pub mod loss;
pub mod module;
pub mod optim;
mod parameter;
pub mod state_dict;

pub use checkpoint::{
    from_safetensors_bytes, load_safetensors, load_safetensors_with_metadata, save_safetensors,
    save_safetensors_with_metadata, to_safetensors_bytes,
};
pub use error::{NnError, Result};
pub use layers::{
    AvgPool2d, Conv2d, Conv2dConfig, Dropout, Flatten, Identity, Lambda, Linear, LogSoftmax,
    MaxPool2d, ReLU, Sequential, Sigmoid, Size2, Softmax, Tanh,
};
pub use loss::{CrossEntropyLoss, MSELoss, NLLLoss, Reduction};
pub use module::{Forward, Module, Training};
pub use parameter::Parameter;
pub use state_dict::{IncompatibleKeys, LoadStateDictError, ShapeMismatch, StateDict};
/// `#[derive(Module)]`: see [`module`].
pub use wgrad_nn_derive::Module;

/// What `#[derive(Module)]` expands to refers to, so that users need not
/// depend on `wgrad-autograd` by name.
#[doc(hidden)]
pub mod __private {
    pub use wgrad_autograd::Tensor;
}
