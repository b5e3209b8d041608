//! `wgrad-autograd`: reverse-mode automatic differentiation over the GPU
//! tensors of `wgrad-tensor`, PyTorch style.
//!
//! Ops on tensors that require grad record a [`graph::Node`] holding what
//! their backward needs; [`Tensor::backward`] walks the graph from the
//! output, runs each backward (GPU kernels) and accumulates gradients into
//! the leaves. Saved tensors are released as soon as backward has used them.
//!
//! ```no_run
//! use wgrad_autograd::Tensor;
//! let a = Tensor::from_slice(&[2.0f32, 3.0], &[2]).with_grad();
//! let b = Tensor::from_slice(&[6.0f32, 4.0], &[2]).with_grad();
//! let q = &(&a.pow_scalar(3.0) * 3.0) - &b.pow_scalar(2.0);
//! q.sum().backward().unwrap();
//! println!("{}", a.grad().unwrap()); // tensor([36., 81.])
//! ```

mod engine;
mod error;
pub mod grad_mode;
pub mod graph;
mod op;
pub mod ops;
mod tensor;

pub use error::{AutogradError, Result};
pub use grad_mode::{NoGradGuard, enable_grad, is_grad_enabled, no_grad};
pub use graph::{GradFn, to_dot};
pub use ops::loss::Reduction;
pub use tensor::Tensor;
