//! `torch.nn.functional` (imported as `F`): the layers' computations
//! without state, thin wrappers over the autograd ops with PyTorch's
//! argument defaults.
//!
//! ```no_run
//! use wgrad_autograd::Tensor;
//! use wgrad_nn::functional as F;
//! let x = Tensor::randn(&[1, 6, 28, 28]);
//! let y = F::max_pool2d(&F::relu(&x), 2); // F.max_pool2d(F.relu(x), 2)
//! ```

use wgrad_autograd::{Reduction, Tensor};
use wgrad_tensor::random::uniform_vec;

use crate::layers::Size2;

pub use wgrad_tensor::ops::conv::Conv2dOptions;
pub use wgrad_tensor::ops::pool2d::{AvgPool2dOptions, MaxPool2dOptions};

/// `F.relu(x)`.
pub fn relu(x: &Tensor) -> Tensor {
    x.relu()
}

/// `F.max_pool2d(x, kernel_size)` with PyTorch's defaults (stride = kernel,
/// no padding): `[n, c, h, w] -> [n, c, h / k, w / k]`.
///
/// # Panics
/// If `x` is not 4-D or the window does not fit.
pub fn max_pool2d(x: &Tensor, kernel_size: impl Into<Size2>) -> Tensor {
    x.max_pool2d(MaxPool2dOptions::new(kernel_size.into().pair()))
}

/// `F.max_pool2d` with every argument (`stride`, `padding`, `dilation`,
/// `ceil_mode`) in `opts`.
///
/// # Panics
/// If `x` is not 4-D or the window does not fit.
pub fn max_pool2d_with(x: &Tensor, opts: MaxPool2dOptions) -> Tensor {
    x.max_pool2d(opts)
}

/// `F.avg_pool2d(x, kernel_size)` with PyTorch's defaults.
///
/// # Panics
/// If `x` is not 4-D or the window does not fit.
pub fn avg_pool2d(x: &Tensor, kernel_size: impl Into<Size2>) -> Tensor {
    x.avg_pool2d(AvgPool2dOptions::new(kernel_size.into().pair()))
}

/// `F.avg_pool2d` with every argument in `opts`.
///
/// # Panics
/// If `x` is not 4-D or the window does not fit.
pub fn avg_pool2d_with(x: &Tensor, opts: AvgPool2dOptions) -> Tensor {
    x.avg_pool2d(opts)
}

/// `F.softmax(x, dim)`.
///
/// # Panics
/// If `dim` is out of range.
pub fn softmax(x: &Tensor, dim: isize) -> Tensor {
    x.softmax(dim)
}

/// `F.log_softmax(x, dim)`.
///
/// # Panics
/// If `dim` is out of range.
pub fn log_softmax(x: &Tensor, dim: isize) -> Tensor {
    x.log_softmax(dim)
}

/// `F.linear(x, weight, bias)`: `x @ weightᵀ + bias`,
/// `x: [*, in], weight: [out, in], bias: [out] -> [*, out]`.
///
/// On a batch (`[n, in]`) this is one graph node, `AddmmBackward0`
/// (`MmBackward0` without bias), as in PyTorch; other ranks record a
/// matmul and an add.
///
/// # Panics
/// If the inner dimensions differ.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
    x.linear(weight, bias)
}

/// `F.conv2d(x, weight, bias, stride, padding, dilation, groups)`:
/// `x: [n, c_in, h, w], weight: [c_out, c_in / groups, kh, kw] -> [n, c_out, oh, ow]`.
///
/// # Panics
/// If the shapes do not fit the options.
pub fn conv2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, opts: Conv2dOptions) -> Tensor {
    x.conv2d(weight, bias, opts)
}

/// `F.relu(F.conv2d(x, weight, bias, ...))` in one pass: the convolution
/// applies ReLU as it stores its output. Values and graph
/// (`ReluBackward0` after `ConvolutionBackward0`) are those of the two ops.
///
/// # Panics
/// If the shapes do not fit the options.
pub fn conv2d_relu(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
) -> Tensor {
    x.conv2d_relu(weight, bias, opts)
}

/// `F.dropout(x, p, training)`: in training, each element is zeroed with
/// probability `p` and the rest scaled by 1/(1-p); otherwise `x` itself.
///
/// The keep-mask is drawn on the host from the seedable generator and
/// uploaded (one f32 per element); the product is recorded as
/// `MulBackward0` (PyTorch: `NativeDropoutBackward0`), whose gradient is
/// the same mask.
///
/// # Panics
/// If `p` is not in [0, 1], as PyTorch raises.
pub fn dropout(x: &Tensor, p: f32, training: bool) -> Tensor {
    assert!(
        (0.0..=1.0).contains(&p),
        "dropout probability has to be between 0 and 1, but got {p}"
    );
    if !training || p == 0.0 {
        return x.clone();
    }
    if p == 1.0 {
        return x * 0.0;
    }
    let keep = 1.0 - p;
    let scale = 1.0 / keep;
    let mask: Vec<f32> = uniform_vec(x.numel(), 0.0, 1.0)
        .into_iter()
        .map(|u| if u < keep { scale } else { 0.0 })
        .collect();
    x * Tensor::from_slice(&mask, x.shape())
}

/// The arguments of the classification losses beyond input and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLossOptions {
    /// How per-sample losses are reduced (default: mean).
    pub reduction: Reduction,
    /// Targets with this value count for nothing, also not in the mean's
    /// denominator (PyTorch's default: -100).
    pub ignore_index: i32,
}

impl Default for ClassLossOptions {
    fn default() -> ClassLossOptions {
        ClassLossOptions {
            reduction: Reduction::Mean,
            ignore_index: -100,
        }
    }
}

/// `F.cross_entropy(input, target)`: `input: [n, c]` logits, `target: [n]`
/// i32 classes; mean over the targets that are not -100.
///
/// # Panics
/// If the shapes do not fit or `target` is not i32.
pub fn cross_entropy(input: &Tensor, target: &Tensor) -> Tensor {
    cross_entropy_with(input, target, ClassLossOptions::default())
}

/// `F.cross_entropy(input, target, reduction=..., ignore_index=...)`.
///
/// # Panics
/// If the shapes do not fit or `target` is not i32.
pub fn cross_entropy_with(input: &Tensor, target: &Tensor, opts: ClassLossOptions) -> Tensor {
    input
        .try_cross_entropy(target, opts.reduction, Some(opts.ignore_index))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `F.nll_loss(input, target)`: `input: [n, c]` log-probabilities.
///
/// # Panics
/// If the shapes do not fit or `target` is not i32.
pub fn nll_loss(input: &Tensor, target: &Tensor) -> Tensor {
    nll_loss_with(input, target, ClassLossOptions::default())
}

/// `F.nll_loss(input, target, reduction=..., ignore_index=...)`.
///
/// # Panics
/// If the shapes do not fit or `target` is not i32.
pub fn nll_loss_with(input: &Tensor, target: &Tensor, opts: ClassLossOptions) -> Tensor {
    input
        .try_nll_loss(target, opts.reduction, Some(opts.ignore_index))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `F.mse_loss(input, target)`: the mean of the squared differences.
///
/// # Panics
/// If the shapes differ.
pub fn mse_loss(input: &Tensor, target: &Tensor) -> Tensor {
    mse_loss_with(input, target, Reduction::Mean)
}

/// `F.mse_loss(input, target, reduction=...)`.
///
/// # Panics
/// If the shapes differ.
pub fn mse_loss_with(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    input
        .try_mse_loss(target, reduction)
        .unwrap_or_else(|e| panic!("{e}"))
}
