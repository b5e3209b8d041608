//! `wgrad-tensor`: the device runtime and GPU tensors of wgrad.
//!
//! Tensors live in pooled wgpu buffers; every op is a hand-written WGSL
//! compute kernel from `shaders/`, recorded into a pending command encoder
//! and submitted in batches. Nothing comes back to the host except on an
//! explicit read ([`Tensor::to_vec`], [`Tensor::item`], printing).
//!
//! This crate knows nothing of gradients; `wgrad-autograd` builds on it.

mod creation;
mod display;
mod dtype;
mod error;
mod format;
pub mod layout;
mod operators;
pub mod ops;
pub mod random;
pub mod runtime;
pub mod shaders;
mod storage;
mod tensor;
mod views;

pub use dtype::{DType, Element};
pub use error::{Result, TensorError};
pub use format::{FormatData, format_tensor};
pub use layout::Layout;
pub use ops::binary::BinaryOp;
pub use ops::unary::UnaryOp;
pub use random::manual_seed;
pub use runtime::{AdapterSummary, PoolStats, Runtime, runtime};
pub use tensor::Tensor;
