//! 2-D convolution (NCHW) and its three gradients (`shaders/conv.wgsl`).
//!
//! Each is an implicit GEMM: a matrix product over the taps whose im2col
//! operand is never stored. Four families of kernels (see the shaders'
//! header for why they look the way they do on lavapipe):
//! - row kernels, for dilation 1 along w, `stride_w` 1 or 2 and kernels up
//!   to 8 wide: `conv2d_rows` for the forward pass and, at stride 1, the
//!   input gradient (a convolution of `dy` with the flipped filters, which
//!   `conv2d_pack_weights` lays out first), `conv2d_backward_weight_rows`
//!   for the weight gradient when `dy`'s rows are whole quads;
//! - whole-row kernels (`whole_rows.rs`) for the forward pass and the input
//!   gradient of batches of 8 or more narrow images, at any stride: one
//!   output row (or block of its columns) per invocation, no work on
//!   padding; and for the weight gradient of layers with 4 or more input
//!   channels per group;
//! - the weight gradient of layers with 1 to 3 input channels per group, a
//!   network's first layer (`weight_taps.rs`): lanes are output channels,
//!   each holding every tap of its kernel in registers;
//! - general kernels for every other shape.
//!
//! [`ConvKernel`] chooses between them (for tests and comparisons). Nothing
//! is materialised but the packed filters and, for the weight gradients
//! of large batches, per-chunk partial sums (a few times the
//! filter's size), so there is no im2col buffer to outgrow a binding.
//!
//! Why not im2col + `matmul`: on lavapipe the cost is the loads and stores
//! (each is a loop over the SIMD lanes), and an im2col buffer is written and
//! read again for every tap of every pixel, while the row kernels load each
//! row of x once per pixel quad for all kernel columns; and these layers'
//! 6-20 output channels would fill a fifth to a half of the register
//! matmul's 32-row blocks. Measured in CPU time on lavapipe (2 cores) on the
//! LeNet and CNN3 layers, against the direct kernels these replace: forward
//! 4.5-6.5x, input gradient 4-8.5x, weight gradient 2-5.5x faster.

use std::sync::OnceLock;

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::ops::{WORKGROUP_SIZE, dispatch_1d, or_panic, to_u32};
use crate::runtime::{Binding, Kernel, Shader, grid_1d, rt};
use crate::shaders::{CONV, CONV_SUBGROUP};
use crate::tensor::Tensor;

mod rows;
mod weight_taps;
mod whole_rows;
use rows::{RowConv, window_vec4s};
use weight_taps::WeightTaps;
use whole_rows::{WeightRows, WholeRows};

/// Which kernels compute a convolution and its gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvKernel {
    /// The row kernels where the shape allows them, else the general ones.
    Auto,
    /// Always the general kernels.
    General,
    /// The general kernels without subgroup operations, which adapters
    /// without subgroups of 8 run for `General` (for tests of both).
    GeneralPortable,
    /// `Auto`'s choices, each without subgroup operations (what adapters
    /// without subgroups of 8 run for `Auto`; for tests of both).
    AutoPortable,
}

impl ConvKernel {
    /// `WGRAD_CONV=general|general-portable|auto|auto-portable` if set, else
    /// [`ConvKernel::Auto`]. Read once per process.
    pub fn current() -> ConvKernel {
        static CHOICE: OnceLock<ConvKernel> = OnceLock::new();
        *CHOICE.get_or_init(|| match std::env::var("WGRAD_CONV").as_deref() {
            Ok("general") => ConvKernel::General,
            Ok("general-portable") => ConvKernel::GeneralPortable,
            Ok("auto-portable") => ConvKernel::AutoPortable,
            _ => ConvKernel::Auto,
        })
    }

    /// The row and whole-row kernels may run where the shape allows them.
    fn rows(self) -> bool {
        matches!(self, ConvKernel::Auto | ConvKernel::AutoPortable)
    }

    /// Kernels may share loads through subgroup operations.
    fn subgroups(self) -> bool {
        rt().adapter().subgroups_of_8 && matches!(self, ConvKernel::Auto | ConvKernel::General)
    }
}

/// Channels, pixels and taps per invocation of the general kernels
/// (`BLOCK` in `conv.wgsl`).
const BLOCK: usize = 16;

/// Invocations per workgroup of the general and row kernels (`LANES`).
const LANES: u32 = 8;

/// The widest kernel the row kernels take (their column loop is unrolled).
const ROW_MAX_KW: usize = 8;

/// The weight gradient's sum over the batch is split into chunks until
/// about this many invocations run (each chunk is summed serially), on a
/// CPU adapter: 4 workgroups of 8 lanes per core of a 2-core lavapipe.
/// Against 256 (`cargo xtask bench --only conv2d_backward_weight`, two
/// interleaved rounds): CNN3's conv2 13.4 against 10.1-12.4 GFLOP/s, conv3
/// 8.4 against 6.2-6.8, LeNet's conv1 10.3-12.0 against 7.2-9.1; fewer
/// chunks mean longer serial sums but less per-invocation setup and
/// smaller partial sums to add.
const SPLIT_INVOCATIONS_CPU: usize = 64;
/// The same on other adapters (not measured: a GPU has thousands of lanes
/// to fill, so more chunks than on a CPU).
const SPLIT_INVOCATIONS_GPU: usize = 256;
/// ... each chunk of at least this many output pixels (general kernel) ...
const MIN_CHUNK_PIXELS: usize = 64;
/// ... or pixel quads (row kernel), so that the partial sums stay small
/// next to the work.
const MIN_CHUNK_QUADS: usize = 16;
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

    /// Output pixels `n * oh * ow`: the general kernels' long dimension.
    fn pixels(&self) -> usize {
        let [n, _, oh, ow] = self.output;
        n * oh * ow
    }

    /// `conv.wgsl`'s Params for this geometry.
    fn params(&self, op: &'static str, words: Words) -> Result<Params> {
        let o = &self.opts;
        let [_, _, kh, kw] = self.weight;
        Params::new(
            op,
            self.input,
            self.output,
            [o.groups, kh, kw, o.stride.0, o.stride.1],
            (o.padding.0 as isize, o.padding.1 as isize),
            o.dilation,
            words,
        )
    }
}

/// The words of `conv.wgsl`'s Params that are not geometry.
#[derive(Debug, Clone, Copy, Default)]
struct Words {
    /// Where x (or the tensor read in its place), w, b and dy start.
    offsets: [usize; 4],
    /// `has_bias`: a bias is added, or the pack is for the backward pass.
    flag: bool,
    /// Invocations (or outputs) of the dispatch.
    threads: usize,
    /// Chunks of a split sum, or the packed filters' channel count.
    splits: usize,
    /// Items per chunk.
    chunk: usize,
}

/// `conv.wgsl`'s Params as the 24 words the uniform holds.
#[derive(Debug, Clone, Copy)]
struct Params([u32; 24]);

impl Params {
    /// Checks that every index the kernels form fits an i32 (the row
    /// kernels compute in i32; negative values are padding).
    fn new(
        op: &'static str,
        input: [usize; 4],
        output: [usize; 4],
        [groups, kh, kw, sh, sw]: [usize; 5],
        padding: (isize, isize),
        dilation: (usize, usize),
        words: Words,
    ) -> Result<Params> {
        let too_big = |v: usize| {
            invalid(
                op,
                format!("{v} does not fit the kernels' 32-bit signed indices"),
                &input,
            )
        };
        let offset = words.offsets.iter().max().copied().unwrap_or(0);
        let largest = [input, output]
            .iter()
            .map(|s| s.iter().product::<usize>())
            .max()
            .unwrap_or(0)
            + offset;
        if i32::try_from(largest).is_err() {
            return Err(too_big(largest));
        }
        let signed = |v: isize| {
            i32::try_from(v)
                .map(|v| v as u32)
                .map_err(|_| too_big(v.unsigned_abs()))
        };
        let [n, c_in, h, w] = input;
        let [_, c_out, oh, ow] = output;
        let mut p = [0u32; 24];
        let sizes = [n, c_in, h, w, c_out, oh, ow, groups, kh, kw, sh, sw];
        for (slot, v) in p.iter_mut().zip(sizes) {
            *slot = to_u32(op, v)?;
        }
        p[12] = signed(padding.0)?;
        p[13] = signed(padding.1)?;
        p[14] = to_u32(op, dilation.0)?;
        p[15] = to_u32(op, dilation.1)?;
        for (slot, v) in p[16..20].iter_mut().zip(words.offsets) {
            *slot = to_u32(op, v)?;
        }
        p[20] = u32::from(words.flag);
        p[21] = to_u32(op, words.threads)?;
        p[22] = to_u32(op, words.splits)?;
        p[23] = to_u32(op, words.chunk)?;
        Ok(Params(p))
    }

    fn with_threads(mut self, op: &'static str, threads: usize) -> Result<Params> {
        self.0[21] = to_u32(op, threads)?;
        Ok(self)
    }
}

/// `t` as the kernels read it: dense in the standard order, from wherever
/// it starts. A view that already is (a slice of a batch, say) is read in
/// place, at its offset, rather than copied.
fn dense(t: &Tensor) -> Tensor {
    if t.is_contiguous() {
        t.clone()
    } else {
        t.contiguous()
    }
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

/// Dispatches a general or row kernel (`LANES` invocations per workgroup)
/// over `threads` invocations.
fn dispatch_blocks(
    entry: &'static str,
    constants: &[(&'static str, f64)],
    p: &Params,
    bindings: &[Binding<'_>],
    threads: usize,
) {
    dispatch_kernel(Kernel::new(&CONV, entry), constants, p, bindings, threads);
}

/// [`dispatch_blocks`] of a kernel from `conv.wgsl` or its variant.
fn dispatch_kernel(
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    p: &Params,
    bindings: &[Binding<'_>],
    threads: usize,
) {
    if threads == 0 {
        return;
    }
    rt().dispatch(
        kernel,
        constants,
        bytemuck::cast_slice(&p.0),
        bindings,
        grid_1d(threads as u64, LANES),
    );
}

/// Dispatches `workgroups` workgroups of 8 lanes of `entry` from one of
/// `variants` (portable, with subgroups): the one that shares loads
/// through subgroups when `subgroups`.
fn launch(
    variants: [&'static Shader; 2],
    entry: &'static str,
    subgroups: bool,
    constants: &[(&'static str, f64)],
    p: &Params,
    bindings: &[Binding<'_>],
    workgroups: usize,
) {
    rt().dispatch(
        Kernel::new(variants[usize::from(subgroups)], entry),
        constants,
        bytemuck::cast_slice(&p.0),
        bindings,
        grid_1d(workgroups as u64 * u64::from(LANES), LANES),
    );
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Splits a sum over `items` (pixels, pixel quads or images) for `tiles`
/// output tiles: enough chunks for about `SPLIT_INVOCATIONS_*` invocations,
/// each of at least `min_chunk` items, none empty. Returns (chunks, items
/// per chunk).
fn split(items: usize, tiles: usize, min_chunk: usize) -> (usize, usize) {
    let invocations = if rt().adapter().device_type == wgpu::DeviceType::Cpu {
        SPLIT_INVOCATIONS_CPU
    } else {
        SPLIT_INVOCATIONS_GPU
    };
    let chunks = invocations
        .div_ceil(tiles.max(1))
        .min(items / min_chunk)
        .max(1);
    let chunk = items.div_ceil(chunks);
    if chunk == 0 {
        (1, 0)
    } else {
        (items.div_ceil(chunk), chunk)
    }
}

/// How a weight gradient by whole rows (`whole_rows.rs`, `weight_taps.rs`)
/// splits the batch: `workgroups` of `LANES` per chunk of `chunk` images,
/// each chunk summed apart and the chunks added by [`add_chunks`].
#[derive(Debug, Clone, Copy)]
struct BatchChunks {
    workgroups: usize,
    chunks: usize,
    chunk: usize,
}

impl BatchChunks {
    /// Chunks of `n` images for `workgroups` per chunk ([`split`]).
    fn new(n: usize, workgroups: usize) -> BatchChunks {
        let (chunks, chunk) = split(n, workgroups * LANES as usize, 1);
        BatchChunks {
            workgroups,
            chunks,
            chunk,
        }
    }

    /// Workgroups over all chunks.
    fn total_workgroups(&self) -> usize {
        self.workgroups * self.chunks
    }

    /// The params' words for reading `x` and `dy` (dense, at their offsets).
    fn words(&self, x: &Tensor, dy: &Tensor) -> Words {
        Words {
            offsets: [x.layout.offset, 0, 0, dy.layout.offset],
            threads: self.total_workgroups() * LANES as usize,
            splits: self.chunks,
            chunk: self.chunk,
            ..Words::default()
        }
    }
}

/// Where a split sum's kernel writes: `out` itself for one chunk, else a
/// `[chunks, ..out]` buffer of partial sums for [`add_chunks`].
fn partials(op: &'static str, out: &Tensor, chunks: usize) -> Result<Tensor> {
    if chunks == 1 {
        return Ok(out.clone());
    }
    let mut shape = vec![chunks];
    shape.extend_from_slice(out.shape());
    Tensor::uninit(op, &shape, DType::F32)
}

/// `out = part.sum(0)` for `part` from [`partials`] with several chunks.
fn add_chunks(op: &'static str, part: &Tensor, out: &Tensor, p: Params) -> Result<()> {
    if part.numel() == out.numel() {
        return Ok(());
    }
    let p = p.with_threads(op, out.numel())?;
    let bindings = [bind(9, part), bind(7, out)];
    let kernel = Kernel::new(&CONV, "conv2d_backward_weight_sum");
    dispatch_1d(kernel, &[], &p.0, &bindings, out.numel());
    Ok(())
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
    try_conv2d_with(x, w, bias, opts, ConvKernel::current())
}

/// [`try_conv2d`] with a chosen kernel family rather than the process-wide
/// one (for tests and benchmarks of both).
pub fn try_conv2d_with(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
    kernel: ConvKernel,
) -> Result<Tensor> {
    forward("conv2d", x, w, bias, opts, kernel, false)
}

/// `relu(conv2d(x, w, bias))` in one pass: the kernels apply ReLU as they
/// store, so the activation costs no dispatch and no pass over memory
/// (what `Conv2d` followed by `ReLU` runs).
pub fn try_conv2d_relu(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
) -> Result<Tensor> {
    try_conv2d_relu_with(x, w, bias, opts, ConvKernel::current())
}

/// [`try_conv2d_relu`] with a chosen kernel family.
pub fn try_conv2d_relu_with(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
    kernel: ConvKernel,
) -> Result<Tensor> {
    forward("conv2d_relu", x, w, bias, opts, kernel, true)
}

/// The forward pass, through ReLU when `relu`; `op` names it in errors.
fn forward(
    op: &'static str,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    opts: Conv2dOptions,
    kernel: ConvKernel,
    relu: bool,
) -> Result<Tensor> {
    let geo = ConvGeometry::new(op, x.shape(), w.shape(), opts)?;
    require_f32(op, &[x, w])?;
    if let Some(b) = bias {
        require_f32(op, &[b])?;
        if b.shape() != [geo.weight[0]] {
            return Err(invalid(
                op,
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
    let y = Tensor::uninit(op, &geo.output, DType::F32)?;
    if y.numel() == 0 {
        return Ok(y);
    }
    let (x, w) = (dense(x), dense(w));
    let has_bias = bias.is_some();
    let bias = bias.map(Tensor::contiguous);
    if let Some(plan) = WholeRows::forward(&geo).filter(|_| kernel.rows()) {
        let subgroups = kernel.subgroups();
        plan.run(op, &geo, subgroups, [&x, &w, &y], bias.as_ref(), relu)?;
        return Ok(y);
    }
    let rows = RowConv::forward(&geo);
    if kernel.rows() && opts.dilation.1 == 1 && rows.config().is_some() {
        rows.run(op, &geo, [&x, &w, &y], bias.as_ref(), false, relu)?;
        return Ok(y);
    }
    // Without a bias, x is bound in its place (two read-only bindings of
    // one buffer are allowed) and only read masked.
    let b = bias.unwrap_or_else(|| x.clone());
    // (group, block of output channels, block of pixels)
    let g = opts.groups;
    let threads = g * (geo.weight[0] / g).div_ceil(BLOCK) * geo.pixels().div_ceil(BLOCK);
    let words = Words {
        offsets: [x.layout.offset, w.layout.offset, b.layout.offset, 0],
        flag: has_bias,
        threads,
        ..Words::default()
    };
    let p = geo.params(op, words)?;
    let bindings = [bind(1, &x), bind(2, &w), bind(3, &b), bind(4, &y)];
    let relu_on = [("RELU", 1.0)];
    let constants: &[_] = if relu { &relu_on } else { &[] };
    dispatch_blocks("conv2d", constants, &p, &bindings, threads);
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
    try_conv2d_backward_input_with(dy, w, input_shape, opts, ConvKernel::current())
}

/// [`try_conv2d_backward_input`] with a chosen kernel family.
pub fn try_conv2d_backward_input_with(
    dy: &Tensor,
    w: &Tensor,
    input_shape: &[usize],
    opts: Conv2dOptions,
    kernel: ConvKernel,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_input";
    let geo = ConvGeometry::new(OP, input_shape, w.shape(), opts)?;
    require_f32(OP, &[w])?;
    check_dy(OP, dy, &geo)?;
    // dy: [n, c_out, oh, ow], w: [c_out, c_in / groups, kh, kw] -> [n, c_in, h, w]
    let dx = Tensor::uninit(OP, input_shape, DType::F32)?;
    if dx.numel() == 0 {
        return Ok(dx);
    }
    let (dy, w) = (dense(dy), dense(w));
    let rows = RowConv::input_gradient(&geo);
    let unit = opts.stride == (1, 1) && opts.dilation.1 == 1;
    let rows_fit = kernel.rows() && unit && rows.config().is_some();
    // Whole rows, but in blocks of columns only where the stride-1 row
    // kernel does not run: LeNet's conv1 (one input channel, so 3 of the
    // 4 channels of a block are padding) in blocks 2.1 / 2.9 against 3.1 /
    // 3.2 GFLOP/s on the row kernel; CNN3's conv1 (stride 2) 2.6 / 2.8
    // against 0.98 / 0.98 on the general one (`cargo xtask bench --only
    // conv2d_backward_input`, two interleaved rounds).
    let whole = WholeRows::input_gradient(&geo)
        .filter(|plan| kernel.rows() && !(plan.blocked() && rows_fit));
    if let Some(plan) = whole {
        plan.run(OP, &geo, kernel.subgroups(), [&dy, &w, &dx], None, false)?;
        return Ok(dx);
    }
    if rows_fit {
        rows.run(OP, &geo, [&dy, &w, &dx], None, true, false)?;
        return Ok(dx);
    }
    // (stride class, group, block of input channels, block of the class's
    // pixels); every class is given the largest class's ceil(h / sh) rows
    // and ceil(w / sw) columns.
    let [n, c_in, h, w_in] = geo.input;
    let (sh, sw) = opts.stride;
    let g = opts.groups;
    let class_pixels = n * h.div_ceil(sh) * w_in.div_ceil(sw);
    // Whole workgroups of pixel blocks per (class, group, channel block).
    let pixel_blocks = class_pixels
        .div_ceil(BLOCK)
        .next_multiple_of(LANES as usize);
    let threads = sh * sw * g * (c_in / g).div_ceil(BLOCK) * pixel_blocks;
    // Taps of one class are every (stride / gcd(stride, dilation))-th.
    let step = |s: usize, d: usize| s / gcd(s, d);
    let words = Words {
        offsets: [0, w.layout.offset, 0, dy.layout.offset],
        threads,
        splits: step(sw, opts.dilation.1),
        chunk: step(sh, opts.dilation.0),
        ..Words::default()
    };
    let p = geo.params(OP, words)?;
    let bindings = [bind(2, &w), bind(5, &dy), bind(6, &dx)];
    // Lanes share the weights' loads where subgroups allow.
    let shader = if kernel.subgroups() {
        &CONV_SUBGROUP
    } else {
        &CONV
    };
    dispatch_kernel(Kernel::new(shader, OP), &[], &p, &bindings, threads);
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
    try_conv2d_backward_weight_with(dy, x, weight_shape, opts, ConvKernel::current())
}

/// [`try_conv2d_backward_weight`] with a chosen kernel family.
pub fn try_conv2d_backward_weight_with(
    dy: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    opts: Conv2dOptions,
    kernel: ConvKernel,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_weight";
    let geo = ConvGeometry::new(OP, x.shape(), weight_shape, opts)?;
    require_f32(OP, &[x])?;
    check_dy(OP, dy, &geo)?;
    // dy: [n, c_out, oh, ow], x: [n, c_in, h, w] -> [c_out, c_in / groups, kh, kw]
    let dw = Tensor::uninit(OP, weight_shape, DType::F32)?;
    let (dy, x) = (dense(dy), dense(x));
    if let Some(plan) = WeightRows::new(&geo).filter(|_| kernel.rows()) {
        plan.run(OP, &geo, kernel.subgroups(), [&dy, &x, &dw])?;
        return Ok(dw);
    }
    if let Some(plan) = WeightTaps::new(&geo).filter(|_| kernel.rows()) {
        plan.run(OP, &geo, kernel.subgroups(), [&dy, &x, &dw], None)?;
        return Ok(dw);
    }
    let g = opts.groups;
    let [c_out, cin_g, kh, kw] = geo.weight;
    let cout_g = c_out / g;
    let [n, _, oh, ow] = geo.output;
    let offsets = [x.layout.offset, 0, 0, dy.layout.offset];
    let sw = opts.stride.1;
    // The row kernel reads dy's rows as aligned quads.
    let aligned = ow.is_multiple_of(4) && dy.layout.offset.is_multiple_of(4);
    let nv = window_vec4s(sw, kw).filter(|_| kernel.rows() && opts.dilation.1 == 1 && aligned);
    if let Some(nv) = nv {
        // (chunk of pixel quads, group, block of 4 CQ output channels, block
        // of TR tap rows (ci, ky)); each tap row holds 4 TQ >= kw columns.
        // Up to about 16 blocks of 4 x 4 (20 when that takes all tap rows):
        // more spill out of registers.
        let cq = cout_g.div_ceil(4).clamp(1, 4);
        let tq = kw.div_ceil(4);
        let rows = cin_g * kh;
        let tr = if rows * cq * tq <= 20 {
            rows
        } else {
            (16 / (cq * tq)).max(1)
        };
        let tiles = g * cout_g.div_ceil(4 * cq) * rows.div_ceil(tr);
        let (chunks, chunk) = split(n * oh * ow.div_ceil(4), tiles, MIN_CHUNK_QUADS);
        let threads = chunks * tiles;
        let words = Words {
            offsets,
            threads,
            splits: chunks,
            chunk,
            ..Words::default()
        };
        let p = geo.params(OP, words)?;
        let constants = [
            ("CQ", cq as f64),
            ("TR", tr as f64),
            ("TQ", tq as f64),
            ("SW", sw as f64),
            ("NV", nv as f64),
        ];
        let part = partials(OP, &dw, chunks)?;
        let bindings = [bind(10, &x), bind(13, &dy), bind(7, &part)];
        dispatch_blocks(
            "conv2d_backward_weight_rows",
            &constants,
            &p,
            &bindings,
            threads,
        );
        add_chunks(OP, &part, &dw, p)?;
        return Ok(dw);
    }
    // (chunk of pixels, group, block of output channels, block of taps)
    let tiles = g * cout_g.div_ceil(BLOCK) * (cin_g * kh * kw).div_ceil(BLOCK);
    let (chunks, chunk) = split(geo.pixels(), tiles, MIN_CHUNK_PIXELS);
    let threads = chunks * tiles;
    let words = Words {
        offsets,
        threads,
        splits: chunks,
        chunk,
        ..Words::default()
    };
    let p = geo.params(OP, words)?;
    let part = partials(OP, &dw, chunks)?;
    let bindings = [bind(1, &x), bind(5, &dy), bind(7, &part)];
    dispatch_blocks(OP, &[], &p, &bindings, threads);
    add_chunks(OP, &part, &dw, p)?;
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
    bias_gradient("conv2d_backward_bias", dy, None)
}

/// [`try_conv2d_backward_bias`] for autograd.
///
/// # Panics
/// If `dy` is not 4-D.
pub fn conv2d_backward_bias(dy: &Tensor) -> Tensor {
    or_panic(try_conv2d_backward_bias(dy))
}

/// ReLU's backward and the bias gradient of the convolution under it, in
/// one pass (the backward of [`try_conv2d_relu`]): `dy` is the gradient of
/// `y = relu(conv2d(..))`, both `[n, c_out, oh, ow]`; returns the
/// convolution output's gradient `dy * (y > 0)` and `db`, its sum over
/// everything but the channels.
pub fn try_conv2d_relu_backward_bias(dy: &Tensor, y: &Tensor) -> Result<(Tensor, Tensor)> {
    const OP: &str = "conv2d_relu_backward_bias";
    if y.shape() != dy.shape() {
        return Err(TensorError::ShapeMismatch {
            op: OP,
            lhs: dy.shape().to_vec(),
            rhs: y.shape().to_vec(),
        });
    }
    require_f32(OP, &[y])?;
    let dx = Tensor::uninit(OP, dy.shape(), DType::F32)?;
    let db = bias_gradient(OP, dy, Some((&y.contiguous(), &dx)))?;
    Ok((dx, db))
}

/// The bias gradient of `dy: [n, c_out, oh, ow]`, summed over all but the
/// channels (`conv2d_backward_bias`), or, with `masked = (y, dx)`, of dy
/// masked by `y > 0` (a dense ReLU output of dy's shape), the masked
/// gradient written to `dx` (`conv2d_relu_backward_bias`). `op` is the
/// entry point and names errors.
fn bias_gradient(
    op: &'static str,
    dy: &Tensor,
    masked: Option<(&Tensor, &Tensor)>,
) -> Result<Tensor> {
    require_f32(op, &[dy])?;
    let &[n, c_out, oh, ow] = dy.shape() else {
        return Err(invalid(
            op,
            format!(
                "expected a 4-D gradient [n, c_out, oh, ow], got {:?}",
                dy.shape()
            ),
            dy.shape(),
        ));
    };
    // dy: [n, c_out, oh, ow] -> [c_out]
    let db = Tensor::uninit(op, &[c_out], DType::F32)?;
    if dy.numel() == 0 {
        db.zero_();
        return Ok(db);
    }
    let dy = dy.contiguous();
    // One workgroup per channel (see the shader).
    let y_offset = masked.map_or(0, |(y, _)| y.layout.offset);
    let words = Words {
        offsets: [y_offset, 0, 0, dy.layout.offset],
        threads: c_out,
        ..Words::default()
    };
    let p = Params::new(
        op,
        [n, 1, oh, ow],
        [n, c_out, oh, ow],
        [1; 5],
        (0, 0),
        (1, 1),
        words,
    )?;
    let vec = dy.layout.offset.is_multiple_of(4) && y_offset.is_multiple_of(4);
    let constants = [
        ("VEC_DB", f64::from(u8::from(vec))),
        ("EDGES", f64::from(u8::from(!(oh * ow).is_multiple_of(4)))),
    ];
    let mut bindings = vec![bind(5, &dy), bind(13, &dy), bind(8, &db)];
    if let Some((y, dx)) = masked {
        bindings.extend([bind(1, y), bind(10, y), bind(6, dx), bind(15, dx)]);
    }
    let grid = grid_1d(c_out as u64 * u64::from(WORKGROUP_SIZE), WORKGROUP_SIZE);
    rt().dispatch(
        Kernel::new(&CONV, op),
        &constants,
        bytemuck::cast_slice(&p.0),
        &bindings,
        grid,
    );
    Ok(db)
}

/// The weight and bias gradients of `y = relu(conv2d(x, w) + bias)` from
/// `dy`, the gradient of `y`, where the input's gradient is not wanted (a
/// network's first layer): returns `(dw, db)`. Layers that the first-layer
/// weight gradient takes (up to 3 input channels per group, kernels up to
/// 5 x 5, rows up to 32 wide, dilation 1) get both in one pass that masks
/// dy by `y > 0` as it reads it, instead of a pass that writes the masked
/// gradient ([`try_conv2d_relu_backward_bias`]) and one that reads it
/// ([`try_conv2d_backward_weight`]); other layers take those two.
pub fn try_conv2d_relu_backward_weight_bias(
    dy: &Tensor,
    y: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    opts: Conv2dOptions,
) -> Result<(Tensor, Tensor)> {
    try_conv2d_relu_backward_weight_bias_with(dy, y, x, weight_shape, opts, ConvKernel::current())
}

/// [`try_conv2d_relu_backward_weight_bias`] with a chosen kernel family.
pub fn try_conv2d_relu_backward_weight_bias_with(
    dy: &Tensor,
    y: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    opts: Conv2dOptions,
    kernel: ConvKernel,
) -> Result<(Tensor, Tensor)> {
    const OP: &str = "conv2d_relu_backward_weight_bias";
    let geo = ConvGeometry::new(OP, x.shape(), weight_shape, opts)?;
    require_f32(OP, &[x, y])?;
    check_dy(OP, dy, &geo)?;
    if y.shape() != dy.shape() {
        return Err(TensorError::ShapeMismatch {
            op: OP,
            lhs: dy.shape().to_vec(),
            rhs: y.shape().to_vec(),
        });
    }
    let Some(plan) = WeightTaps::new(&geo).filter(|_| kernel.rows()) else {
        let (masked, db) = try_conv2d_relu_backward_bias(dy, y)?;
        let dw = try_conv2d_backward_weight_with(&masked, x, weight_shape, opts, kernel)?;
        return Ok((dw, db));
    };
    let dw = Tensor::uninit(OP, weight_shape, DType::F32)?;
    let db = Tensor::uninit(OP, &[geo.weight[0]], DType::F32)?;
    let (dy, y, x) = (dense(dy), dense(y), dense(x));
    plan.run(
        OP,
        &geo,
        kernel.subgroups(),
        [&dy, &x, &dw],
        Some([&y, &db]),
    )?;
    Ok((dw, db))
}

/// [`try_conv2d_relu_backward_weight_bias`] for autograd.
///
/// # Panics
/// If the shapes do not fit together (see [`try_conv2d_backward_weight`]),
/// or `y` has another shape than `dy`.
pub fn conv2d_relu_backward_weight_bias(
    dy: &Tensor,
    y: &Tensor,
    x: &Tensor,
    weight_shape: &[usize],
    opts: Conv2dOptions,
) -> (Tensor, Tensor) {
    or_panic(try_conv2d_relu_backward_weight_bias(
        dy,
        y,
        x,
        weight_shape,
        opts,
    ))
}

/// [`try_conv2d_relu_backward_bias`] for autograd.
///
/// # Panics
/// If `dy` is not 4-D or `y` has another shape.
pub fn conv2d_relu_backward_bias(dy: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
    or_panic(try_conv2d_relu_backward_bias(dy, y))
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
