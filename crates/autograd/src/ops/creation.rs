//! Constructors that mirror `torch.zeros`, `torch.rand`, ... (leaves without grad).

use wgrad_tensor::Tensor as Raw;

use crate::tensor::Tensor;

impl Tensor {
    /// Zeros of `shape`.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Raw::zeros(shape).into()
    }

    /// Ones of `shape`.
    pub fn ones(shape: &[usize]) -> Tensor {
        Raw::ones(shape).into()
    }

    /// `value` everywhere.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Raw::full(shape, value).into()
    }

    /// `torch.arange(start, end, step)`.
    pub fn arange(start: f32, end: f32, step: f32) -> Tensor {
        Raw::arange(start, end, step).into()
    }

    /// The identity matrix.
    pub fn eye(n: usize) -> Tensor {
        Raw::eye(n).into()
    }

    /// U[0, 1) samples from the seedable generator.
    pub fn rand(shape: &[usize]) -> Tensor {
        Raw::rand(shape).into()
    }

    /// N(0, 1) samples from the seedable generator.
    pub fn randn(shape: &[usize]) -> Tensor {
        Raw::randn(shape).into()
    }

    /// Zeros shaped like `self`.
    pub fn zeros_like(&self) -> Tensor {
        Raw::zeros(self.shape()).into()
    }

    /// Ones shaped like `self`.
    pub fn ones_like(&self) -> Tensor {
        Raw::ones(self.shape()).into()
    }

    /// U[0, 1) samples shaped like `self`.
    pub fn rand_like(&self) -> Tensor {
        Raw::rand(self.shape()).into()
    }

    /// N(0, 1) samples shaped like `self`.
    pub fn randn_like(&self) -> Tensor {
        Raw::randn(self.shape()).into()
    }
}
