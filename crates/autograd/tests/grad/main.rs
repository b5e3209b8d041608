//! Gradients of every differentiable op: finite differences and CPU
//! formulas. One test binary, so one device for the whole process.

mod common;
mod elementwise;
mod engine;
mod layers;
mod linalg;
mod views;
