//! 2-D max and average pooling over NCHW tensors, forward and backward
//! (`shaders/pool2d.wgsl`), with PyTorch's semantics and defaults.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::ops::{ELEMENTS_PER_INVOCATION, dispatch_items, magic_divisor, or_panic, to_u32};
use crate::runtime::{Binding, Kernel};
use crate::shaders::POOL2D;
use crate::tensor::Tensor;

/// `nn.MaxPool2d`'s arguments as `(height, width)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2dOptions {
    /// Window size.
    pub kernel: (usize, usize),
    /// Step between windows; `None` means the kernel size (PyTorch's default).
    pub stride: Option<(usize, usize)>,
    /// `-inf` added on each side; at most half the kernel.
    pub padding: (usize, usize),
    /// Spacing between window taps.
    pub dilation: (usize, usize),
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
}

impl MaxPool2dOptions {
    /// A `kernel` window with PyTorch's defaults: stride = kernel, padding 0,
    /// dilation 1, no ceil mode.
    pub fn new(kernel: (usize, usize)) -> Self {
        MaxPool2dOptions {
            kernel,
            stride: None,
            padding: (0, 0),
            dilation: (1, 1),
            ceil_mode: false,
        }
    }

    fn window(&self) -> Window {
        Window {
            kernel: self.kernel,
            stride: self.stride.unwrap_or(self.kernel),
            padding: self.padding,
            dilation: self.dilation,
            ceil_mode: self.ceil_mode,
            count_include_pad: true,
        }
    }
}

/// `nn.AvgPool2d`'s arguments as `(height, width)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2dOptions {
    /// Window size.
    pub kernel: (usize, usize),
    /// Step between windows; `None` means the kernel size (PyTorch's default).
    pub stride: Option<(usize, usize)>,
    /// Zeros added on each side; at most half the kernel.
    pub padding: (usize, usize),
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Whether padding zeros count in the divisor (PyTorch's default: yes).
    pub count_include_pad: bool,
}

impl AvgPool2dOptions {
    /// A `kernel` window with PyTorch's defaults: stride = kernel, padding 0,
    /// no ceil mode, padding counted in the divisor.
    pub fn new(kernel: (usize, usize)) -> Self {
        AvgPool2dOptions {
            kernel,
            stride: None,
            padding: (0, 0),
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    fn window(&self) -> Window {
        Window {
            kernel: self.kernel,
            stride: self.stride.unwrap_or(self.kernel),
            padding: self.padding,
            dilation: (1, 1),
            ceil_mode: self.ceil_mode,
            count_include_pad: self.count_include_pad,
        }
    }
}

/// The resolved window both pooling kinds share.
#[derive(Debug, Clone, Copy)]
struct Window {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
    count_include_pad: bool,
}

/// Whether the window's columns are what the vec4 kernels take: two wide
/// at column stride 2, without column padding or dilation. Their operands
/// are dense from offset 0 (`contiguous`), so whole-quad rows keep every
/// vec4 aligned.
fn two_columns_at_stride_two(win: &Window) -> bool {
    win.kernel.1 == 2 && win.stride.1 == 2 && win.padding.1 == 0 && win.dilation.1 == 1
}

/// Whether `max_pool2d_w2` applies: input and output widths that are
/// multiples of 4.
fn vec4_columns(win: &Window, w: usize, ow: usize) -> bool {
    two_columns_at_stride_two(win) && w.is_multiple_of(4) && ow.is_multiple_of(4)
}

/// Whether `max_pool2d_backward_w2` applies: windows that do not overlap
/// and an input width that is a multiple of 8 (so `ow = w / 2` is a
/// multiple of 4).
fn vec4_gradient_columns(win: &Window, w: usize) -> bool {
    two_columns_at_stride_two(win) && !win.windows_overlap() && w.is_multiple_of(8)
}

impl Window {
    /// Whether an input position can lie in more than one window: a step
    /// shorter than the dilated kernel in either direction.
    fn windows_overlap(&self) -> bool {
        let span = |k: usize, d: usize| (k - 1) * d + 1;
        self.stride.0 < span(self.kernel.0, self.dilation.0)
            || self.stride.1 < span(self.kernel.1, self.dilation.1)
    }
}

/// PyTorch's `pooling_output_shape`: floor (or ceil) division, and in ceil
/// mode the last window must start inside the input or its left padding.
fn out_size(input: usize, k: usize, pad: usize, stride: usize, dil: usize, ceil: bool) -> i64 {
    let (input, k, pad, s, dil) = (
        input as i64,
        k as i64,
        pad as i64,
        stride as i64,
        dil as i64,
    );
    let num = input + 2 * pad - dil * (k - 1) - 1 + if ceil { s - 1 } else { 0 };
    let mut out = num.div_euclid(s) + 1;
    if ceil && (out - 1) * s >= input + pad {
        out -= 1;
    }
    out
}

/// Checks `x`'s shape against the window; returns the output shape.
fn output_shape(op: &'static str, x: &[usize], win: &Window) -> Result<[usize; 4]> {
    let invalid = |message: String| TensorError::Invalid {
        op,
        message,
        shape: x.to_vec(),
    };
    let &[n, c, h, w] = x else {
        return Err(invalid(format!(
            "expected a 4-D input [n, c, h, w], got {x:?}"
        )));
    };
    if c == 0 || h == 0 || w == 0 {
        return Err(invalid(format!("input {x:?} needs non-empty c, h and w")));
    }
    let Window {
        kernel: k,
        stride: s,
        padding: pad,
        dilation: d,
        ..
    } = *win;
    if k.0 == 0 || k.1 == 0 || s.0 == 0 || s.1 == 0 || d.0 == 0 || d.1 == 0 {
        return Err(invalid(format!(
            "kernel {k:?}, stride {s:?} and dilation {d:?} must be positive"
        )));
    }
    if pad.0 > k.0 / 2 || pad.1 > k.1 / 2 {
        return Err(invalid(format!(
            "padding {pad:?} must be at most half of kernel {k:?}"
        )));
    }
    let oh = out_size(h, k.0, pad.0, s.0, d.0, win.ceil_mode);
    let ow = out_size(w, k.1, pad.1, s.1, d.1, win.ceil_mode);
    if oh < 1 || ow < 1 {
        return Err(invalid(format!(
            "input {x:?} with kernel {k:?}, padding {pad:?} and dilation {d:?} gives \
             output size ({oh}, {ow}), which is too small"
        )));
    }
    Ok([n, c, oh as usize, ow as usize])
}

/// `pool2d.wgsl`'s Params.
fn params(
    op: &'static str,
    input: &[usize],
    output: &[usize; 4],
    win: &Window,
    offsets: [usize; 3],
    numel: usize,
) -> Result<Vec<u32>> {
    let [n, c, oh, ow] = *output;
    let (k, s, pad, d) = (win.kernel, win.stride, win.padding, win.dilation);
    let (h, w) = (input[2], input[3]);
    let values = [
        n * c,
        h,
        w,
        oh,
        ow,
        k.0,
        k.1,
        s.0,
        s.1,
        pad.0,
        pad.1,
        d.0,
        d.1,
    ];
    let mut p = Vec::with_capacity(20);
    for v in values.into_iter().chain(offsets) {
        p.push(to_u32(op, v)?);
    }
    let largest = (n * c * h * w).max(n * c * oh * ow) + offsets.iter().max().unwrap_or(&0);
    to_u32(op, largest)?;
    p.extend([u32::from(win.count_include_pad), to_u32(op, numel)?, 0, 0]);
    // div_by's multipliers and shifts, in pairs: (ow, oh), (w, h), strides,
    // (ow / 4, w / 8).
    for divisor in [ow, oh, w, h, s.0, s.1, ow / 4, w / 8] {
        let (m, l) = magic_divisor(to_u32(op, divisor)?);
        p.extend([m, l]);
    }
    Ok(p)
}

/// Dispatches `entry` of `pool2d.wgsl` over `numel` output elements.
fn dispatch_pool(entry: &'static str, p: &[u32], bindings: &[Binding<'_>], numel: usize) {
    dispatch_items(
        Kernel::new(&POOL2D, entry),
        &[],
        p,
        bindings,
        numel,
        ELEMENTS_PER_INVOCATION,
    );
}

fn require(op: &'static str, t: &Tensor, dtype: DType) -> Result<()> {
    if t.dtype == dtype {
        Ok(())
    } else {
        Err(TensorError::DType { op, dtype: t.dtype })
    }
}

fn same_shape(op: &'static str, t: &Tensor, want: &[usize]) -> Result<()> {
    if t.shape() == want {
        return Ok(());
    }
    Err(TensorError::ShapeMismatch {
        op,
        lhs: t.shape().to_vec(),
        rhs: want.to_vec(),
    })
}

fn bind(binding: u32, t: &Tensor) -> Binding<'_> {
    Binding {
        binding,
        buffer: t.buffer(),
    }
}

/// `F.max_pool2d(x, ..., return_indices=True)`: `x: [n, c, h, w]` ->
/// `(y: [n, c, oh, ow], indices: [n, c, oh, ow] as i32)`. Each index is
/// the flat position `iy * w + ix` of the maximum within its input plane.
/// Ties keep the first maximum in row-major scan order and a NaN wins, as
/// in PyTorch.
pub fn try_max_pool2d(x: &Tensor, opts: MaxPool2dOptions) -> Result<(Tensor, Tensor)> {
    const OP: &str = "max_pool2d";
    let win = opts.window();
    let out = output_shape(OP, x.shape(), &win)?;
    require(OP, x, DType::F32)?;
    // x: [n, c, h, w] -> y, indices: [n, c, oh, ow]
    let y = Tensor::uninit(OP, &out, DType::F32)?;
    let indices = Tensor::uninit(OP, &out, DType::I32)?;
    let x = x.contiguous();
    let offsets = [x.layout.offset, 0, 0];
    if vec4_columns(&win, x.shape()[3], out[3]) {
        // Four outputs of a row per item, moved as vec4s.
        let items = y.numel() / 4;
        let p = params(OP, x.shape(), &out, &win, offsets, items)?;
        let bindings = [bind(6, &x), bind(7, &y), bind(8, &indices)];
        dispatch_pool("max_pool2d_w2", &p, &bindings, items);
    } else {
        let p = params(OP, x.shape(), &out, &win, offsets, y.numel())?;
        let bindings = [bind(1, &x), bind(2, &y), bind(3, &indices)];
        dispatch_pool(OP, &p, &bindings, y.numel());
    }
    Ok((y, indices))
}

/// [`try_max_pool2d`] for model code.
///
/// # Panics
/// If `x` is not 4-D with non-empty planes, or the window does not fit.
pub fn max_pool2d(x: &Tensor, opts: MaxPool2dOptions) -> (Tensor, Tensor) {
    or_panic(try_max_pool2d(x, opts))
}

/// The gradient of [`max_pool2d`]: `dy` and the saved `indices` (both
/// `[n, c, oh, ow]`) -> `dx` of `input_shape`, each `dy` element routed to
/// the input position its window picked (summed where windows overlap).
pub fn try_max_pool2d_backward(
    dy: &Tensor,
    indices: &Tensor,
    input_shape: &[usize],
    opts: MaxPool2dOptions,
) -> Result<Tensor> {
    const OP: &str = "max_pool2d_backward";
    let win = opts.window();
    let out = output_shape(OP, input_shape, &win)?;
    require(OP, dy, DType::F32)?;
    require(OP, indices, DType::I32)?;
    same_shape(OP, dy, &out)?;
    same_shape(OP, indices, &out)?;
    // dy, indices: [n, c, oh, ow] -> [n, c, h, w]
    let dx = Tensor::uninit(OP, input_shape, DType::F32)?;
    let (dy, indices) = (dy.contiguous(), indices.contiguous());
    let offsets = [0, dy.layout.offset, indices.layout.offset];
    let bindings = [bind(3, &indices), bind(4, &dy), bind(5, &dx)];
    if vec4_gradient_columns(&win, input_shape[3]) {
        // Eight dx elements of a row per item, each from the one window
        // that could contain it: no zero-fill.
        let items = dx.numel() / 8;
        let p = params(OP, input_shape, &out, &win, offsets, items)?;
        let bindings = [bind(9, &dy), bind(10, &indices), bind(11, &dx)];
        dispatch_pool("max_pool2d_backward_w2", &p, &bindings, items);
    } else if win.windows_overlap() {
        // Each dx element gathers from the windows that could contain it.
        let p = params(OP, input_shape, &out, &win, offsets, dx.numel())?;
        dispatch_pool(OP, &p, &bindings, dx.numel());
    } else {
        // Each input position lies in at most one window (the usual
        // stride == kernel case): zero dx, then each output writes its dy to
        // the position its index names; no two outputs write one element.
        // A quarter of the invocations for 2 x 2 windows, and no loops.
        dx.fill_(0.0);
        let p = params(OP, input_shape, &out, &win, offsets, dy.numel())?;
        dispatch_pool("max_pool2d_backward_scatter", &p, &bindings, dy.numel());
    }
    Ok(dx)
}

/// [`try_max_pool2d_backward`] for autograd.
///
/// # Panics
/// If `dy` or `indices` is not the output shape of the pooling.
pub fn max_pool2d_backward(
    dy: &Tensor,
    indices: &Tensor,
    input_shape: &[usize],
    opts: MaxPool2dOptions,
) -> Tensor {
    or_panic(try_max_pool2d_backward(dy, indices, input_shape, opts))
}

/// `F.avg_pool2d`: `x: [n, c, h, w]` -> `[n, c, oh, ow]`, the mean of each
/// window (padding counted as zeros in the divisor unless
/// `count_include_pad` is off).
pub fn try_avg_pool2d(x: &Tensor, opts: AvgPool2dOptions) -> Result<Tensor> {
    const OP: &str = "avg_pool2d";
    let win = opts.window();
    let out = output_shape(OP, x.shape(), &win)?;
    require(OP, x, DType::F32)?;
    // x: [n, c, h, w] -> [n, c, oh, ow]
    let y = Tensor::uninit(OP, &out, DType::F32)?;
    let x = x.contiguous();
    let p = params(
        OP,
        x.shape(),
        &out,
        &win,
        [x.layout.offset, 0, 0],
        y.numel(),
    )?;
    let bindings = [bind(1, &x), bind(2, &y)];
    dispatch_pool(OP, &p, &bindings, y.numel());
    Ok(y)
}

/// [`try_avg_pool2d`] for model code.
///
/// # Panics
/// If `x` is not 4-D with non-empty planes, or the window does not fit.
pub fn avg_pool2d(x: &Tensor, opts: AvgPool2dOptions) -> Tensor {
    or_panic(try_avg_pool2d(x, opts))
}

/// The gradient of [`avg_pool2d`]: `dy: [n, c, oh, ow]` -> `dx` of
/// `input_shape`, each input position gathering `dy / divisor` from every
/// window that covers it.
pub fn try_avg_pool2d_backward(
    dy: &Tensor,
    input_shape: &[usize],
    opts: AvgPool2dOptions,
) -> Result<Tensor> {
    const OP: &str = "avg_pool2d_backward";
    let win = opts.window();
    let out = output_shape(OP, input_shape, &win)?;
    require(OP, dy, DType::F32)?;
    same_shape(OP, dy, &out)?;
    // dy: [n, c, oh, ow] -> [n, c, h, w]
    let dx = Tensor::uninit(OP, input_shape, DType::F32)?;
    let dy = dy.contiguous();
    let p = params(
        OP,
        input_shape,
        &out,
        &win,
        [0, dy.layout.offset, 0],
        dx.numel(),
    )?;
    let bindings = [bind(4, &dy), bind(5, &dx)];
    dispatch_pool(OP, &p, &bindings, dx.numel());
    Ok(dx)
}

/// [`try_avg_pool2d_backward`] for autograd.
///
/// # Panics
/// If `dy` is not the output shape of the pooling.
pub fn avg_pool2d_backward(dy: &Tensor, input_shape: &[usize], opts: AvgPool2dOptions) -> Tensor {
    or_panic(try_avg_pool2d_backward(dy, input_shape, opts))
}

impl Tensor {
    /// `F.max_pool2d(self, ..., return_indices=True)`; see [`try_max_pool2d`].
    ///
    /// # Panics
    /// On the errors of [`try_max_pool2d`].
    pub fn max_pool2d(&self, opts: MaxPool2dOptions) -> (Tensor, Tensor) {
        max_pool2d(self, opts)
    }

    /// `F.avg_pool2d(self, ...)`; see [`try_avg_pool2d`].
    ///
    /// # Panics
    /// On the errors of [`try_avg_pool2d`].
    pub fn avg_pool2d(&self, opts: AvgPool2dOptions) -> Tensor {
        avg_pool2d(self, opts)
    }
}
