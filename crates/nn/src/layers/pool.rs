//! `nn.MaxPool2d` and `nn.AvgPool2d`.

use wgrad_autograd::Tensor;

use super::{Size2, impl_fmt_as_repr, py_bool};
use crate::functional::{AvgPool2dOptions, MaxPool2dOptions};
use crate::module::{Forward, Module, Training};

/// `nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
/// ceil_mode=False)`: the largest value of each window.
///
/// Sizes print as given (`kernel_size=2` or `kernel_size=(2, 2)`), the
/// stride as the kernel size when not set, as PyTorch prints them.
#[derive(Clone)]
pub struct MaxPool2d {
    /// Window size.
    pub kernel_size: Size2,
    /// Step between windows; `None` means the kernel size.
    pub stride: Option<Size2>,
    /// `-inf` padding on each side.
    pub padding: Size2,
    /// Spacing between window taps.
    pub dilation: Size2,
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    training: Training,
}

impl MaxPool2d {
    /// `nn.MaxPool2d(kernel_size)`.
    pub fn new(kernel_size: impl Into<Size2>) -> MaxPool2d {
        MaxPool2d {
            kernel_size: kernel_size.into(),
            stride: None,
            padding: Size2::Int(0),
            dilation: Size2::Int(1),
            ceil_mode: false,
            training: Training::new(),
        }
    }

    /// `stride=`.
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = Some(stride.into());
        self
    }

    /// `padding=`.
    pub fn padding(mut self, padding: impl Into<Size2>) -> Self {
        self.padding = padding.into();
        self
    }

    /// `dilation=`.
    pub fn dilation(mut self, dilation: impl Into<Size2>) -> Self {
        self.dilation = dilation.into();
        self
    }

    /// `ceil_mode=`.
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// The options of the functional form.
    pub fn options(&self) -> MaxPool2dOptions {
        MaxPool2dOptions {
            kernel: self.kernel_size.pair(),
            stride: self.stride.map(Size2::pair),
            padding: self.padding.pair(),
            dilation: self.dilation.pair(),
            ceil_mode: self.ceil_mode,
        }
    }
}

impl Module for MaxPool2d {
    fn type_name(&self) -> &str {
        "MaxPool2d"
    }

    fn extra_repr(&self) -> String {
        format!(
            "kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={}",
            self.kernel_size,
            self.stride.unwrap_or(self.kernel_size),
            self.padding,
            self.dilation,
            py_bool(self.ceil_mode)
        )
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for MaxPool2d {
    /// `[n, c, h, w] -> [n, c, oh, ow]`.
    fn forward(&self, x: &Tensor) -> Tensor {
        x.max_pool2d(self.options())
    }
}

/// `nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
/// count_include_pad=True)`: the mean of each window.
#[derive(Clone)]
pub struct AvgPool2d {
    /// Window size.
    pub kernel_size: Size2,
    /// Step between windows; `None` means the kernel size.
    pub stride: Option<Size2>,
    /// Zero padding on each side.
    pub padding: Size2,
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Whether padding zeros count in the divisor.
    pub count_include_pad: bool,
    training: Training,
}

impl AvgPool2d {
    /// `nn.AvgPool2d(kernel_size)`.
    pub fn new(kernel_size: impl Into<Size2>) -> AvgPool2d {
        AvgPool2d {
            kernel_size: kernel_size.into(),
            stride: None,
            padding: Size2::Int(0),
            ceil_mode: false,
            count_include_pad: true,
            training: Training::new(),
        }
    }

    /// `stride=`.
    pub fn stride(mut self, stride: impl Into<Size2>) -> Self {
        self.stride = Some(stride.into());
        self
    }

    /// `padding=`.
    pub fn padding(mut self, padding: impl Into<Size2>) -> Self {
        self.padding = padding.into();
        self
    }

    /// `ceil_mode=`.
    pub fn ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    /// `count_include_pad=`.
    pub fn count_include_pad(mut self, count_include_pad: bool) -> Self {
        self.count_include_pad = count_include_pad;
        self
    }

    /// The options of the functional form.
    pub fn options(&self) -> AvgPool2dOptions {
        AvgPool2dOptions {
            kernel: self.kernel_size.pair(),
            stride: self.stride.map(Size2::pair),
            padding: self.padding.pair(),
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
        }
    }
}

impl Module for AvgPool2d {
    fn type_name(&self) -> &str {
        "AvgPool2d"
    }

    fn extra_repr(&self) -> String {
        format!(
            "kernel_size={}, stride={}, padding={}",
            self.kernel_size,
            self.stride.unwrap_or(self.kernel_size),
            self.padding
        )
    }

    fn training_flag(&self) -> Option<&Training> {
        Some(&self.training)
    }
}

impl Forward for AvgPool2d {
    /// `[n, c, h, w] -> [n, c, oh, ow]`.
    fn forward(&self, x: &Tensor) -> Tensor {
        x.avg_pool2d(self.options())
    }
}

impl_fmt_as_repr!(MaxPool2d, AvgPool2d);
