//! `conv2d_backward_input_rows` (`shaders/conv_input_rows.wgsl`): the input
//! gradient of a convolution over narrow images, one whole dx row per
//! invocation and 8 images per workgroup, scattering each dy row into the
//! dx row's registers. It computes no tap that lands in the padding, which
//! the stride-1 row kernel (a convolution of dy padded by `k - 1 - p`)
//! does: for LeNet's conv2, more than half of its multiply-adds.

use super::{ConvGeometry, LANES, Params, Words, bind};
use crate::error::Result;
use crate::runtime::{Kernel, grid_1d, rt};
use crate::shaders::{CONV_INPUT_ROWS, CONV_INPUT_ROWS_SUBGROUP};
use crate::tensor::Tensor;

/// The widest dy and dx rows the kernel holds (its row and accumulators
/// are unrolled to this many columns).
const MAX_ROW: usize = 16;
/// The widest kernel (its tap loop is unrolled to this many columns).
const MAX_KW: usize = 8;

/// The input channels per invocation (4 or 8), if the kernel takes this
/// convolution: dilation 1, dy and dx rows up to 16 wide, kernels up to 8
/// wide, and a batch that fills a workgroup's 8 lanes (smaller batches
/// would leave most lanes idle).
pub(super) fn channels_per_invocation(geo: &ConvGeometry) -> Option<usize> {
    let [n, c_in, _, w] = geo.input;
    let [_, _, _, ow] = geo.output;
    let kw = geo.weight[3];
    let fits = geo.opts.dilation == (1, 1)
        && n >= LANES as usize
        && w <= MAX_ROW
        && ow <= MAX_ROW
        && kw <= MAX_KW;
    // Each dy row a lane loads serves every channel of its block, so 8
    // channels beat 4 even when some are padding (`cargo xtask bench
    // --only conv2d_backward_input`, two interleaved rounds: LeNet's conv2
    // 24.0 / 17.7 against 16.3 / 10.7 GFLOP/s with 6 channels; CNN3's conv2
    // 10.0 / 15.1 against 8.5 / 6.9).
    fits.then_some(if c_in / geo.opts.groups > 4 { 8 } else { 4 })
}

/// Runs the kernel: `dy` and `w` dense, `dx` fresh (offset 0); `cb` from
/// [`channels_per_invocation`]; with `subgroups`, the variant whose lanes
/// share the weights' loads.
pub(super) fn run(
    op: &'static str,
    geo: &ConvGeometry,
    cb: usize,
    subgroups: bool,
    [dy, w, dx]: [&Tensor; 3],
) -> Result<()> {
    let [n, c_in, h, width] = geo.input;
    let [_, _, _, ow] = geo.output;
    let g = geo.opts.groups;
    let workgroups = n.div_ceil(LANES as usize) * h * (c_in / g).div_ceil(cb) * g;
    let threads = workgroups * LANES as usize;
    let words = Words {
        offsets: [0, w.layout.offset, 0, dy.layout.offset],
        threads,
        ..Words::default()
    };
    let p: Params = geo.params(op, words)?;
    let vec_dy = ow.is_multiple_of(4) && dy.layout.offset.is_multiple_of(4);
    let constants = [
        ("CB", cb as f64),
        ("OWC", ow as f64),
        ("WC", width as f64),
        ("KWC", geo.weight[3] as f64),
        ("SWC", geo.opts.stride.1 as f64),
        ("PWC", geo.opts.padding.1 as f64),
        ("VEC_DY", f64::from(u8::from(vec_dy))),
        ("VEC_DX", f64::from(u8::from(width.is_multiple_of(4)))),
    ];
    let shader = if subgroups {
        &CONV_INPUT_ROWS_SUBGROUP
    } else {
        &CONV_INPUT_ROWS
    };
    let bindings = [
        bind(1, w),
        bind(2, dy),
        bind(3, dy),
        bind(4, dx),
        bind(5, dx),
    ];
    rt().dispatch(
        Kernel::new(shader, "conv2d_backward_input_rows"),
        &constants,
        bytemuck::cast_slice(&p.0),
        &bindings,
        grid_1d(threads as u64, LANES),
    );
    Ok(())
}
