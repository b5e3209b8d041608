//! Forward ops that record the graph. Each computes with the GPU tensor
//! of `wgrad-tensor`, then records an [`crate::op::Op`] when grad is on.

pub(crate) mod creation;
pub(crate) mod elementwise;
pub(crate) mod index;
pub(crate) mod inplace;
pub(crate) mod linalg;
pub mod loss;
pub(crate) mod nn;
pub(crate) mod reduce;
pub(crate) mod views;
