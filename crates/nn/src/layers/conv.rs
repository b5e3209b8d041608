//! `nn.Conv2d`: 2-D convolution over NCHW input.

use wgrad_autograd::Tensor;

use super::{Size2, impl_fmt_as_repr};
use crate::error::{NnError, Result};
use crate::functional::{self as F, Conv2dOptions};
use crate::init;
use crate::module::{Forward, Module, Training};
use crate::parameter::Parameter;

/// `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
/// dilation=1, groups=1, bias=True)`.
///
/// Initialised as PyTorch does: Kaiming uniform with a = √5 (bound
/// 1/√fan_in, fan_in = in_channels / groups · kh · kw) for the weight,
/// U(-1/√fan_in, 1/√fan_in) for the bias.
pub struct Conv2d {
    /// `[out_channels, in_channels / groups, kh, kw]`.
    pub weight: Parameter,
    /// `[out_channels]`, or `None` for `bias=False`.
    pub bias: Option<Parameter>,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// `(kh, kw)`.
    pub kernel_size: (usize, usize),
    /// Stride, padding, dilation and groups.
    pub options: Conv2dOptions,
    training: Training,
}

/// The arguments of `nn.Conv2d`, with PyTorch's defaults, built into a
/// [`Conv2d`] by [`Conv2dConfig::build`] (the weight's shape and
/// initialisation depend on all of them):
/// `Conv2d::builder(1, 16, 3).stride(2).padding(1).build()` is
/// `nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size.
    pub kernel_size: Size2,
    /// Step between windows (default 1).
    pub stride: Size2,
    /// Zeros added on each side (default 0).
    pub padding: Size2,
    /// Spacing between kernel taps (default 1).
    pub dilation: Size2,
    /// Channel groups (default 1).
    pub groups: usize,
    /// Whether there is a bias (default true).
    pub bias: bool,
}

impl Conv2dConfig {
    /// `nn.Conv2d(in_channels, out_channels, kernel_size)` with the defaults.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: impl Into<Size2>) -> Self {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel_size: kernel_size.into(),
            stride: Size2::Int(1),
            padding: Size2::Int(0),
            dilation: Size2::Int(1),
            groups: 1,
            bias: true,
        }
    }

    /// `stride=`.
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = stride.into();
        self
    }

    /// `padding=` (zeros).
    pub fn padding(mut self, padding: impl Into<Size2>) -> Self {
        self.padding = padding.into();
        self
    }

    /// `dilation=`.
    pub fn dilation(mut self, dilation: impl Into<Size2>) -> Self {
        self.dilation = dilation.into();
        self
    }

    /// `groups=`.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// `bias=`.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The checks PyTorch's constructor makes.
    fn check(&self) -> Result<()> {
        let fail = |message: String| {
            Err(NnError::InvalidConfig {
                module: "Conv2d",
                message,
            })
        };
        let (kh, kw) = self.kernel_size.pair();
        let (sh, sw) = self.stride.pair();
        let (dh, dw) = self.dilation.pair();
        if self.groups == 0 {
            return fail("groups must be a positive integer".into());
        }
        if !self.in_channels.is_multiple_of(self.groups) {
            return fail(format!(
                "in_channels must be divisible by groups (in_channels={}, groups={})",
                self.in_channels, self.groups
            ));
        }
        if !self.out_channels.is_multiple_of(self.groups) {
            return fail(format!(
                "out_channels must be divisible by groups (out_channels={}, groups={})",
                self.out_channels, self.groups
            ));
        }
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            return fail(format!(
                "kernel_size, stride and dilation must be positive (kernel_size={}, stride={}, dilation={})",
                self.kernel_size, self.stride, self.dilation
            ));
        }
        Ok(())
    }

    /// The layer, with freshly initialised parameters.
    pub fn try_build(self) -> Result<Conv2d> {
        self.check()?;
        let (kh, kw) = self.kernel_size.pair();
        let weight = Tensor::zeros(&[self.out_channels, self.in_channels / self.groups, kh, kw]);
        let bias = self.bias.then(|| Tensor::zeros(&[self.out_channels]));
        init::reset_weight_and_bias(&weight, bias.as_ref());
        Ok(Conv2d {
            weight: Parameter::new(weight),
            bias: bias.map(Parameter::new),
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            kernel_size: (kh, kw),
            options: Conv2dOptions {
                stride: self.stride.pair(),
                padding: self.padding.pair(),
                dilation: self.dilation.pair(),
                groups: self.groups,
            },
            training: Training::new(),
        })
    }

    /// The layer, with freshly initialised parameters.
    ///
    /// # Panics
    /// Where PyTorch raises: channels not divisible by `groups`, or a zero
    /// kernel size, stride, dilation or group count.
    pub fn build(self) -> Conv2d {
        self.try_build().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Conv2d {
    /// `nn.Conv2d(in_channels, out_channels, kernel_size)`.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: impl Into<Size2>) -> Conv2d {
        Conv2dConfig::new(in_channels, out_channels, kernel_size).build()
    }

    /// The arguments of a `Conv2d` with the other arguments, to set and `build()`.
    pub fn builder(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Size2>,
    ) -> Conv2dConfig {
        Conv2dConfig::new(in_channels, out_channels, kernel_size)
    }
}

impl Module for Conv2d {
    fn type_name(&self) -> &str {
        "Conv2d"
    }

    /// PyTorch's: sizes as pairs; padding, dilation, groups and bias only
    /// when not the default.
    fn extra_repr(&self) -> String {
        let o = &self.options;
        let pair = |(a, b): (usize, usize)| format!("({a}, {b})");
        let mut s = format!(
            "{}, {}, kernel_size={}, stride={}",
            self.in_channels,
            self.out_channels,
            pair(self.kernel_size),
            pair(o.stride)
        );
        if o.padding != (0, 0) {
            s += &format!(", padding={}", pair(o.padding));
        }
        if o.dilation != (1, 1) {
            s += &format!(", dilation={}", pair(o.dilation));
        }
        if o.groups != 1 {
            s += &format!(", groups={}", o.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        s
    }

    fn own_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("weight".to_string(), self.weight.tensor().clone())];
        out.extend(
            self.bias
                .iter()
                .map(|b| ("bias".to_string(), b.tensor().clone())),
        );
        out
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for Conv2d {
    /// `x: [n, in_channels, h, w] -> [n, out_channels, oh, ow]`.
    fn forward(&self, x: &Tensor) -> Tensor {
        F::conv2d(x, &self.weight, self.bias.as_deref(), self.options)
    }
}

impl Conv2d {
    /// `relu(self.forward(x))` in one pass ([`F::conv2d_relu`]): what a
    /// [`Sequential`](crate::Sequential) runs for a `Conv2d` followed by a
    /// `ReLU`.
    pub fn forward_relu(&self, x: &Tensor) -> Tensor {
        F::conv2d_relu(x, &self.weight, self.bias.as_deref(), self.options)
    }
}

impl_fmt_as_repr!(Conv2d);
