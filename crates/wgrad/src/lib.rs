//! wgrad: PyTorch-style tensors, autograd, `nn`, `optim` and data loading
//! on any GPU wgpu reaches (Vulkan, Metal, DX12, GL), and on machines with
//! no GPU through a software Vulkan driver (lavapipe).
//!
//! ```no_run
//! use wgrad::Tensor;
//! let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).with_grad();
//! let loss = a.matmul(&a.t()).sum();
//! loss.backward().unwrap();
//! println!("{}", a.grad().unwrap());
//! ```

pub use wgrad_autograd::{
    AutogradError, GradFn, NoGradGuard, Reduction, Tensor, enable_grad, is_grad_enabled, no_grad,
    to_dot,
};
pub use wgrad_tensor::{DType, Result, TensorError, manual_seed, runtime};

/// The device runtime: adapter information, synchronisation, pool statistics.
pub mod device {
    pub use wgrad_tensor::runtime::{AdapterSummary, PoolStats, Runtime, runtime};
}

/// Options of the convolution and pooling ops.
pub mod ops {
    pub use wgrad_tensor::ops::conv::Conv2dOptions;
    pub use wgrad_tensor::ops::pool2d::{AvgPool2dOptions, MaxPool2dOptions};
}

/// Modules, layers, losses, initialisation and checkpoints (`torch.nn`);
/// `nn::functional` is PyTorch's `F`.
pub mod nn {
    pub use wgrad_nn::*;
}

/// Optimizers and learning-rate schedulers (`torch.optim`).
pub mod optim {
    pub use wgrad_nn::optim::*;
}

/// Datasets, data loaders and MNIST (`torch.utils.data`, torchvision's MNIST).
pub mod data {
    pub use wgrad_data::*;
}

/// The GPU tensor without gradients, for code that needs no autograd.
pub use wgrad_tensor::Tensor as RawTensor;
