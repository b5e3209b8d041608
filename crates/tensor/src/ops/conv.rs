//! 2-D convolution (NCHW) and its three gradients (`shaders/conv.wgsl`).
//!
//! The kernels are direct: each invocation computes a 4 x 4 block of
//! outputs from registers (see the shader's header for why). The shape
//! logic lives in [`ConvGeometry`] so that an implicit-GEMM path can take
//! the same checked geometry and dispatch differently.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::ops::{dispatch_1d, or_panic, to_u32};
use crate::runtime::{Binding, Kernel};
use crate::shaders::CONV;
use crate::tensor::Tensor;

/// The block edge of the kernels' register tiles (`TILE` in `conv.wgsl`).
const TILE: usize = 4;

/// Stride, zero padding, dilation and groups of a 2-D convolution, as
/// `(height, width)` pairs (PyTorch's `nn.Conv2d` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step between windows.
    pub stride: (usize, usize),
    /// Zeros added on each side of the input.
    pub padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
    /// Channel groups: input and output channels split into this many
    /// independent convolutions.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    /// Stride 1, padding 0, dilation 1, groups 1.
    fn default() -> Self {
        Conv2dOptions {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// The checked shapes of one convolution: `x: [n, c_in, h, w]`,
/// `w: [c_out, c_in / groups, kh, kw]` -> `y: [n, c_out, oh, ow]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// `[n, c_in, h, w]`.
    pub input: [usize; 4],
    /// `[c_out, c_in / groups, kh, kw]`.
    pub weight: [usize; 4],
    /// `[n, c_out, oh, ow]`.
    pub output: [usize; 4],
    /// The options the shapes were checked with.
    pub opts: Conv2dOptions,
}

fn invalid(op: &'static str, message: String, shape: &[usize]) -> TensorError {
    TensorError::Invalid {
        op,
        message,
        shape: shape.to_vec(),
    }
}

/// PyTorch's output size along one axis, or `None` when the dilated kernel
/// does not fit the padded input.
fn out_size(input: usize, pad: usize, dil: usize, k: usize, stride: usize) -> Option<usize> {
    let span = dil * (k - 1) + 1;
    let padded = input + 2 * pad;
    (padded >= span).then(|| (padded - span) / stride + 1)
}

impl ConvGeometry {
    /// Checks an input shape against a weight shape and options; errors
    /// name `op` and both shapes.
    pub fn new(op: &'static str, x: &[usize], w: &[usize], opts: Conv2dOptions) -> Result<Self> {
        let (&[n, c_in, h, wd], &[c_out, cin_g, kh, kw]) = (x, w) else {
            return Err(invalid(
                op,
                format!(
                    "expected a 4-D input [n, c_in, h, w] and a 4-D weight \
                     [c_out, c_in / groups, kh, kw], got input {x:?} and weight {w:?}"
                ),
                x,
            ));
        };
        let Conv2dOptions {
            stride: s,
            padding: pad,
            dilation: d,
            groups: g,
        } = opts;
        if s.0 == 0 || s.1 == 0 || d.0 == 0 || d.1 == 0 || g == 0 {
            let message = format!("stride {s:?}, dilation {d:?} and groups {g} must be positive");
            return Err(invalid(op, message, x));
        }
        if c_in == 0 || h == 0 || wd == 0 || kh == 0 || kw == 0 {
            let message =
                format!("input {x:?} and weight {w:?} need non-empty channels and spatial sizes");
            return Err(invalid(op, message, x));
        }
        if !c_in.is_multiple_of(g) || !c_out.is_multiple_of(g) {
            let message = format!(
                "groups {g} must divide both the input's {c_in} channels (input {x:?}) \
                 and the weight's {c_out} output channels (weight {w:?})"
            );
            return Err(invalid(op, message, x));
        }
        if cin_g * g != c_in {
            let message = format!(
                "input {x:?} has {c_in} channels but weight {w:?} with groups {g} expects {}",
                cin_g * g
            );
            return Err(invalid(op, message, x));
        }
        let oh = out_size(h, pad.0, d.0, kh, s.0);
        let ow = out_size(wd, pad.1, d.1, kw, s.1);
        let (Some(oh), Some(ow)) = (oh, ow) else {
            let message = format!(
                "kernel of weight {w:?} (dilation {d:?}) is larger than input {x:?} padded by {pad:?}"
            );
            return Err(invalid(op, message, x));
        };
        Ok(ConvGeometry {
            input: [n, c_in, h, wd],
            weight: [c_out, cin_g, kh, kw],
            output: [n, c_out, oh, ow],
            opts,
        })
    }

    /// `conv.wgsl`'s Params with the buffer offsets of x, w, b and dy.
    fn params(
        &self,
        op: &'static str,
        offsets: [usize; 4],
        bias: bool,
        threads: usize,
    ) -> Result<Vec<u32>> {
        let ([n, c_in, h, w], [c_out, _, kh, kw], [_, _, oh, ow]) =
            (self.input, self.weight, self.output);
        let o = &self.opts;
        let (s, pad, d) = (o.stride, o.padding, o.dilation);
        let sizes = [
            n, c_in, h, w, c_out, oh, ow, o.groups, kh, kw, s.0, s.1, pad.0, pad.1, d.0, d.1,
        ];
        // The largest index a kernel forms is an offset plus a tensor's size.
        let largest = [self.input, self.weight, self.output]
            .iter()
            .map(|s| s.iter().product::<usize>())
            .max()
            .unwrap_or(0)
            + offsets.iter().max().copied().unwrap_or(0);
        to_u32(op, largest)?;
        let mut p = Vec::with_capacity(24);
        for v in sizes.into_iter().chain(offsets) {
            p.push(to_u32(op, v)?);
        }
        p.extend([u32::from(bias), to_u32(op, threads)?, 0, 0]);
        Ok(p)
    }
}

/// Blocks of `TILE` along a dimension of size `d`.
fn blocks(d: usize) -> usize {
    d.div_ceil(TILE)
}

fn require_f32(op: &'static str, tensors: &[&Tensor]) -> Result<()> {
    match tensors.iter().find(|t| t.dtype != DType::F32) {
        Some(t) => Err(TensorError::DType { op, dtype: t.dtype }),
        None => Ok(()),
    }
}

fn bind(binding: u32, t: &Tensor) -> Binding<'_> {
    Binding {
        binding,
        buffer: t.buffer(),
    }
}

/// `torch.nn.functional.conv2d`:
/// `x: [n, c_in, h, w]`, `w: [c_out, c_in / groups, kh, kw]`, `bias: [c_out]`
/// -> `[n, c_out, oh, ow]` with `oh = (h + 2 ph - dh (kh - 1) - 1) / sh + 1`
/// (likewise `ow`). Errors name `conv2d` and the shapes.
pub fn try_conv2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
) -> Result<Tensor> {
    const OP: &str = "conv2d";
    let geo = ConvGeometry::new(OP, x.shape(), w.shape(), opts)?;
    require_f32(OP, &[x, w])?;
    if let Some(b) = bias {
        require_f32(OP, &[b])?;
        if b.shape() != [geo.weight[0]] {
            return Err(invalid(
                OP,
                format!(
                    "bias {:?} must be [{}] for weight {:?}",
                    b.shape(),
                    geo.weight[0],
                    w.shape()
                ),
                b.shape(),
            ));
        }
    }
    // x: [n, c_in, h, w], w: [c_out, c_in / groups, kh, kw] -> [n, c_out, oh, ow]
    let y = Tensor::uninit(OP, &geo.output, DType::F32)?;
    let (x, w) = (x.contiguous(), w.contiguous());
    // Without a bias, x is bound in its place (two read-only bindings of
    // one buffer are allowed) and the kernel never reads it.
    let b = bias.map_or_else(|| x.clone(), Tensor::contiguous);
    let g = opts.groups;
    let ([n, _, _, _], [c_out, ..], [_, _, oh, ow]) = (geo.input, geo.weight, geo.output);
    let threads = n * g * blocks(c_out / g) * oh * blocks(ow);
    let offsets = [x.layout.offset, w.layout.offset, b.layout.offset, 0];
    let p = geo.params(OP, offsets, bias.is_some(), threads)?;
    let bindings = [bind(1, &x), bind(2, &w), bind(3, &b), bind(4, &y)];
    dispatch_1d(Kernel::new(&CONV, "conv2d"), &[], &p, &bindings, threads);
    Ok(y)
}

/// [`try_conv2d`] for model code.
///
/// # Panics
/// On the errors of [`try_conv2d`] (ranks, channel counts, kernel size).
pub fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOptions) -> Tensor {
    or_panic(try_conv2d(x, w, bias, opts))
}

/// Checks `dy` against the output of the convolution it is the gradient of.
fn check_dy(op: &'static str, dy: &Tensor, geo: &ConvGeometry) -> Result<()> {
    require_f32(op, &[dy])?;
    if dy.shape() != geo.output {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: dy.shape().to_vec(),
            rhs: geo.output.to_vec(),
        });
    }
    Ok(())
}

/// The gradient of [`conv2d`] with respect to its input:
/// `dy: [n, c_out, oh, ow]`, `w: [c_out, c_in / groups, kh, kw]` -> `dx` of
/// `input_shape` (`[n, c_in, h, w]`). Each `dx` element gathers the `dy`
/// elements whose windows covered it.
pub fn try_conv2d_backward_input(
    dy: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    opts: Conv2dOptions,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_input";
    let geo = ConvGeometry::new(OP, input_shape, w.shape(), opts)?;
    require_f32(OP, &[w])?;
    check_dy(OP, dy, &geo)?;
    // dy: [n, c_out, oh, ow], w: [c_out, c_in / groups, kh, kw] -> [n, c_in, h, w]
    let dx = Tensor::uninit(OP, input_shape, DType::F32)?;
    let (dy, w) = (dy.contiguous(), w.contiguous());
    let g = opts.groups;
    let [n, c_in, h, w_in] = geo.input;
    // Columns go in stride classes (see the kernel): sw classes of
    // ceil(w / sw) columns each, in blocks of TILE.
    let sw = opts.stride.1;
    let threads = n * g * blocks(c_in / g) * h * sw * blocks(w_in.div_ceil(sw));
    let p = geo.params(
        OP,
        [0, w.layout.offset, 0, dy.layout.offset],
        false,
        threads,
    )?;
    let bindings = [bind(2, &w), bind(5, &dy), bind(6, &dx)];
    dispatch_1d(Kernel::new(&CONV, OP), &[], &p, &bindings, threads);
    Ok(dx)
}

/// [`try_conv2d_backward_input`] for autograd.
///
/// # Panics
/// If `dy` is not the output shape of the convolution, or on the errors of
/// [`try_conv2d`].
pub fn conv2d_backward_input(
    dy: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    opts: Conv2dOptions,
) -> Tensor {
    or_panic(try_conv2d_backward_input(dy, w, input_shape, opts))
}

/// The gradient of [`conv2d`] with respect to its weight:
/// `dy: [n, c_out, oh, ow]`, `x: [n, c_in, h, w]` -> `dw` of `weight_shape`
/// (`[c_out, c_in / groups, kh, kw]`), summed over the batch and positions.
pub fn try_conv2d_backward_weight(
    dy: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    opts: Conv2dOptions,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_weight";
    let geo = ConvGeometry::new(OP, x.shape(), weight_shape, opts)?;
    require_f32(OP, &[x])?;
    check_dy(OP, dy, &geo)?;
    // dy: [n, c_out, oh, ow], x: [n, c_in, h, w] -> [c_out, c_in / groups, kh, kw]
    let dw = Tensor::uninit(OP, weight_shape, DType::F32)?;
    let (dy, x) = (dy.contiguous(), x.contiguous());
    let g = opts.groups;
    let [c_out, cin_g, kh, kw] = geo.weight;
    let threads = g * blocks(c_out / g) * cin_g * kh * blocks(kw);
    let p = geo.params(
        OP,
        [x.layout.offset, 0, 0, dy.layout.offset],
        false,
        threads,
    )?;
    let bindings = [bind(1, &x), bind(5, &dy), bind(7, &dw)];
    dispatch_1d(Kernel::new(&CONV, OP), &[], &p, &bindings, threads);
    Ok(dw)
}

/// [`try_conv2d_backward_weight`] for autograd.
///
/// # Panics
/// If `dy` is not the output shape of the convolution, or on the errors of
/// [`try_conv2d`].
pub fn conv2d_backward_weight(
    dy: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    opts: Conv2dOptions,
) -> Tensor {
    or_panic(try_conv2d_backward_weight(dy, x, weight_shape, opts))
}

/// The gradient of [`conv2d`] with respect to its bias: `dy: [n, c_out, oh, ow]`
/// -> `[c_out]`, the sum over `n`, `oh` and `ow`.
pub fn try_conv2d_backward_bias(dy: &Tensor) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_bias";
    require_f32(OP, &[dy])?;
    let &[n, c_out, oh, ow] = dy.shape() else {
        return Err(invalid(
            OP,
            format!(
                "expected a 4-D gradient [n, c_out, oh, ow], got {:?}",
                dy.shape()
            ),
            dy.shape(),
        ));
    };
    // dy: [n, c_out, oh, ow] -> [c_out]
    let db = Tensor::uninit(OP, &[c_out], DType::F32)?;
    let dy = dy.contiguous();
    // The bias gradient reads only n, c_out, oh, ow and dy's offset.
    let geo = ConvGeometry {
        input: [n, 1, oh, ow],
        weight: [c_out, 1, 1, 1],
        output: [n, c_out, oh, ow],
        opts: Conv2dOptions::default(),
    };
    let p = geo.params(OP, [0, 0, 0, dy.layout.offset], false, c_out)?;
    let bindings = [bind(5, &dy), bind(8, &db)];
    dispatch_1d(Kernel::new(&CONV, OP), &[], &p, &bindings, c_out);
    Ok(db)
}

/// [`try_conv2d_backward_bias`] for autograd.
///
/// # Panics
/// If `dy` is not 4-D.
pub fn conv2d_backward_bias(dy: &Tensor) -> Tensor {
    or_panic(try_conv2d_backward_bias(dy))
}

impl Tensor {
    /// `self` convolved with `w`; see [`try_conv2d`].
    pub fn try_conv2d(
        &self,
        w: &Tensor,
        bias: Option<&Tensor>,
        opts: Conv2dOptions,
    ) -> Result<Tensor> {
        try_conv2d(self, w, bias, opts)
    }

    /// `self` convolved with `w` (`F.conv2d(x, w, bias, stride, padding,
    /// dilation, groups)`); see [`try_conv2d`].
    ///
    /// # Panics
    /// On the errors of [`try_conv2d`].
    pub fn conv2d(&self, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOptions) -> Tensor {
        conv2d(self, w, bias, opts)
    }
}
