//! Creating tensors: constants, ranges, identity, random.

use crate::dtype::DType;
use crate::random::{normal_vec, uniform_vec};
use crate::tensor::Tensor;

/// Up to this many elements, `full` uploads its values with the next
/// submission instead of dispatching a fill: `backward()`'s seed, a loss's
/// `ones`, a bias's zeros cost no dispatch (about 45 µs each on lavapipe).
const UPLOAD_FULL_MAX: usize = 64;

impl Tensor {
    /// A tensor of `shape` filled with `value` (`torch.full`).
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        let numel: usize = shape.iter().product();
        if (1..=UPLOAD_FULL_MAX).contains(&numel) {
            return Tensor::from_slice(&vec![value; numel], shape);
        }
        let t = Tensor::empty_for("full", shape, DType::F32);
        t.fill_(value);
        t
    }

    /// Zeros of `shape` (`torch.zeros`).
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// Ones of `shape` (`torch.ones`).
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Integer zeros of `shape` (for labels and indices).
    pub fn zeros_i32(shape: &[usize]) -> Tensor {
        let t = Tensor::empty_for("zeros_i32", shape, DType::I32);
        t.fill_(0.0);
        t
    }

    /// `start, start + step, ...` below `end` (`torch.arange(start, end, step)`).
    ///
    /// # Panics
    /// If `step` is 0 or has the wrong sign for the range.
    pub fn arange(start: f32, end: f32, step: f32) -> Tensor {
        assert!(
            step != 0.0 && (end - start) * step >= 0.0,
            "arange: step {step} cannot go from {start} to {end}"
        );
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let data: Vec<f32> = (0..n).map(|i| start + i as f32 * step).collect();
        Tensor::from_slice(&data, &[n])
    }

    /// The `n`×`n` identity matrix (`torch.eye`).
    pub fn eye(n: usize) -> Tensor {
        let t = Tensor::zeros(&[n, n]);
        if n > 0 {
            // The diagonal is the view with stride n + 1.
            let diag = Tensor::from_parts(
                t.storage.clone(),
                crate::layout::Layout {
                    shape: vec![n],
                    strides: vec![n + 1],
                    offset: 0,
                },
                DType::F32,
            );
            diag.fill_(1.0);
        }
        t
    }

    /// Samples from U[0, 1) (`torch.rand`), from the seedable generator.
    pub fn rand(shape: &[usize]) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_slice(&uniform_vec(n, 0.0, 1.0), shape)
    }

    /// Samples from N(0, 1) (`torch.randn`), from the seedable generator.
    pub fn randn(shape: &[usize]) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_slice(&normal_vec(n, 0.0, 1.0), shape)
    }

    /// Zeros shaped like `self`.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape())
    }

    /// Ones shaped like `self`.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape())
    }

    /// `value` everywhere, shaped like `self`.
    pub fn full_like(&self, value: f32) -> Tensor {
        Tensor::full(self.shape(), value)
    }

    /// U[0, 1) samples shaped like `self`.
    pub fn rand_like(&self) -> Tensor {
        Tensor::rand(self.shape())
    }

    /// N(0, 1) samples shaped like `self`.
    pub fn randn_like(&self) -> Tensor {
        Tensor::randn(self.shape())
    }
}
