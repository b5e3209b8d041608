//! The weight gradient of layers with few input channels per group, a
//! network's first layer above all (`shaders/conv_weight_taps.wgsl`): the
//! 8 lanes of a workgroup are output channels, each holding every tap of
//! its kernel in registers, so each dy value a lane loads meets every tap,
//! and the x rows, the same in all lanes, are shared by `subgroupShuffle`
//! where subgroups allow.
//!
//! The whole-row weight gradient (`whole_rows.rs`) makes its lanes input
//! channels, and a first layer has one.

use super::{BatchChunks, ConvGeometry, LANES, Params, add_chunks, bind, launch, partials};
use crate::error::Result;
use crate::shaders::{CONV_WEIGHT_TAPS, CONV_WEIGHT_TAPS_SUBGROUP};
use crate::tensor::Tensor;

/// The widest x and dy rows (the kernel unrolls 8 column quads).
const MAX_W: usize = 32;
/// The tallest and widest kernel (the taps are unrolled to 5 x 5).
const MAX_K: usize = 5;
/// The shader's `PAD`: column 0 of an x row sits at this index of the row
/// it holds (64 entries), so the padding left of it reads as 0.
const ROW_PAD: usize = 8;
const ROW_LEN: usize = 64;
/// The most input channels per group it takes: from 4 on, the whole-row
/// weight gradient fills its lanes.
const MAX_CIN: usize = 3;

/// One launch of `conv2d_backward_weight_taps`.
#[derive(Debug, Clone, Copy)]
pub(super) struct WeightTaps {
    /// Output channels per lane: 1 or 2.
    slots: usize,
    /// Workgroups per chunk of the batch: (group, input channel, block of
    /// 8 * `slots` output channels).
    split: BatchChunks,
}

impl WeightTaps {
    /// The plan for `geo`, if the kernel takes it: dilation 1, up to
    /// `MAX_CIN` input channels per group, rows up to `MAX_W` wide, kernels
    /// up to `MAX_K` x `MAX_K`, and every tap's x column inside the row the
    /// shader holds.
    pub(super) fn new(geo: &ConvGeometry) -> Option<WeightTaps> {
        let [n, _, _, w] = geo.input;
        let [c_out, cin_g, kh, kw] = geo.weight;
        let ow = geo.output[3];
        let (sw, pw) = (geo.opts.stride.1, geo.opts.padding.1);
        // The last column of the last quad, at its last tap.
        let reach = ROW_PAD + (ow.next_multiple_of(4) - 1) * sw + kw - 1;
        let fits = geo.opts.dilation == (1, 1)
            && (1..=MAX_CIN).contains(&cin_g)
            && w <= MAX_W
            && (1..=MAX_W).contains(&ow)
            && kh <= MAX_K
            && kw <= MAX_K
            && pw <= ROW_PAD
            && reach < ROW_LEN + pw;
        if !fits || n == 0 {
            return None;
        }
        let cout_g = c_out / geo.opts.groups;
        let slots = if cout_g > LANES as usize { 2 } else { 1 };
        let block = LANES as usize * slots;
        let workgroups = geo.opts.groups * cin_g * cout_g.div_ceil(block);
        Some(WeightTaps {
            slots,
            split: BatchChunks::new(n, workgroups),
        })
    }

    /// `dw` (fresh) from `dy` and `x` (dense); with `subgroups`, the
    /// variant whose lanes share the x rows. With `relu = Some([y, db])`,
    /// `dy` is the gradient of `y = relu(conv2d(x) + bias)` (dense, dy's
    /// shape): the kernel masks it by `y > 0` and writes the bias gradient
    /// to `db` (fresh) too.
    pub(super) fn run(
        &self,
        op: &'static str,
        geo: &ConvGeometry,
        subgroups: bool,
        [dy, x, dw]: [&Tensor; 3],
        relu: Option<[&Tensor; 2]>,
    ) -> Result<()> {
        let chunks = self.split.chunks;
        let part = partials(op, dw, chunks)?;
        let relu = match relu {
            Some([y, db]) => Some((y, db, partials(op, db, chunks)?)),
            None => None,
        };
        let mut words = self.split.words(x, dy);
        // y's offset travels in the bias offset's word (see the shader).
        let y_at = relu.as_ref().map_or(0, |(y, ..)| y.layout.offset);
        words.offsets[2] = y_at;
        let p: Params = geo.params(op, words)?;
        let w = geo.input[3];
        let ow = geo.output[3];
        let (x_at, dy_at) = (x.layout.offset, dy.layout.offset);
        let flag = |b: bool| f64::from(u8::from(b));
        // dy's and y's rows are read alike.
        let aligned =
            |k: usize| ow.is_multiple_of(k) && dy_at.is_multiple_of(k) && y_at.is_multiple_of(k);
        let constants = [
            ("SLOTS", self.slots as f64),
            ("KHC", geo.weight[2] as f64),
            ("KWC", geo.weight[3] as f64),
            ("SWC", geo.opts.stride.1 as f64),
            ("PWC", geo.opts.padding.1 as f64),
            ("SRC_W", w as f64),
            ("DST_W", ow as f64),
            (
                "VEC_SRC",
                flag(w.is_multiple_of(4) && x_at.is_multiple_of(4)),
            ),
            ("VEC_DST", flag(aligned(4))),
            ("VEC2_DST", flag(aligned(2))),
            ("MASK", flag(relu.is_some())),
        ];
        // Without a ReLU, the mask's bindings take tensors already bound.
        let (y, bias_part) = match &relu {
            Some((y, _, bias_part)) => (*y, bias_part),
            None => (dy, &part),
        };
        let bindings = [
            bind(1, x),
            bind(2, x),
            bind(3, dy),
            bind(4, dy),
            bind(5, dy),
            bind(6, &part),
            bind(7, y),
            bind(8, y),
            bind(9, y),
            bind(10, bias_part),
        ];
        let variants = [&CONV_WEIGHT_TAPS, &CONV_WEIGHT_TAPS_SUBGROUP];
        let entry = "conv2d_backward_weight_taps";
        let workgroups = self.split.total_workgroups();
        launch(
            variants, entry, subgroups, &constants, &p, &bindings, workgroups,
        );
        add_chunks(op, &part, dw, p)?;
        match &relu {
            Some((_, db, bias_part)) => add_chunks(op, bias_part, db, p),
            None => Ok(()),
        }
    }
}
