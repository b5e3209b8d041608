//! The whole-row kernels (`shaders/conv_whole_rows.wgsl`): a convolution's
//! forward pass and input gradient over narrow images, one output row per
//! invocation and 8 images per workgroup ([`WholeRows`]), and its weight
//! gradient with 8 input channels per workgroup ([`WeightRows`]). Each row
//! an invocation loads meets every kernel column and every channel of its
//! block in registers, and no tap that lands in the padding is computed,
//! which the stride-1 row kernel (a convolution of dy padded by `k - 1 -
//! p`) does for the input gradient: for LeNet's conv2, more than half of
//! its multiply-adds.

use super::{BatchChunks, ConvGeometry, LANES, Params, Words, add_chunks, bind, launch, partials};
use crate::error::Result;
use crate::runtime::Shader;
use crate::shaders::{CONV_WHOLE_ROWS, CONV_WHOLE_ROWS_SUBGROUP};
use crate::tensor::Tensor;

/// The widest output row the kernels hold (their accumulators are
/// unrolled to this many columns) ... Unrolled to 32, LeNet's conv1 (24
/// wide) ran 1.3-1.75x faster than on `conv2d_rows`, but lavapipe took
/// about 1.1 s more to create W3's pipelines (which need 16 at most): its
/// compiler works through every unrolled column before the shape
/// constants remove the unused ones. A loop instead is not unrolled, and
/// indexing the accumulators by a variable made them 4-5x slower.
const MAX_DST: usize = 16;
/// ... and source row (the row they load).
const MAX_SRC: usize = 32;
/// The narrowest block of columns a wider row is split into: narrower
/// blocks would load overlapping windows for little work (widths like 17
/// or 23, with no divisor in between, stay on the other kernels).
const MIN_BLOCK: usize = 4;
/// The fewest input channels per group the weight gradient takes: its 8
/// lanes are input channels, so fewer leave most of them idle.
const MIN_WEIGHT_LANES: usize = 4;
/// The widest kernel (the tap loop is unrolled to this many columns).
const MAX_KW: usize = 8;

/// The shader, portable and with subgroups.
const WHOLE_ROWS: [&Shader; 2] = [&CONV_WHOLE_ROWS, &CONV_WHOLE_ROWS_SUBGROUP];

/// The entry points.
const FORWARD: &str = "conv2d_whole_rows";
const INPUT_GRADIENT: &str = "conv2d_backward_input_whole_rows";

/// One launch of a whole-row kernel.
#[derive(Debug, Clone, Copy)]
pub(super) struct WholeRows {
    entry: &'static str,
    /// Output channels per invocation: 4, 8 or 16.
    channels: usize,
    /// Widths of the rows (or windows) read and written.
    src_w: usize,
    dst_w: usize,
    /// Blocks of `dst_w` columns per output row, and the kernel's `PWC`:
    /// the column padding, or with blocks what places their windows (0 in
    /// the forward pass, whose windows hold the padding; see the shader).
    col_blocks: usize,
    pad_w: usize,
    /// Workgroups: (group, channel block, output row and column block,
    /// block of 8 images).
    workgroups: usize,
}

impl WholeRows {
    /// The forward pass of `geo`, if the kernel takes it. Against
    /// `conv2d_rows` (`cargo xtask bench --only conv2d_forward`, two
    /// interleaved rounds, 16 channels per invocation): LeNet's conv2 36.6
    /// / 36.5 against 17.0 / 15.5 GFLOP/s; CNN3's conv2 17.2 / 16.4 against
    /// 12.1 / 11.6, conv3 13.5 / 13.9 against 8.5 / 8.4, and in three
    /// rounds conv1 7.1 / 7.3 / 5.5 against 5.6 / 4.4 / 5.9.
    ///
    /// Output rows wider than `MAX_DST` are split into the fewest blocks of
    /// equal width that fit, each reading the window of x its columns need:
    /// LeNet's conv1 (24 wide, two blocks of 12) 12.6 / 12.8 against 9.6 /
    /// 7.6 GFLOP/s (`--only conv2d_forward_lenet`, two interleaved rounds).
    pub(super) fn forward(geo: &ConvGeometry) -> Option<WholeRows> {
        let [_, _, _, w] = geo.input;
        let [_, c_out, oh, ow] = geo.output;
        let g = geo.opts.groups;
        let (sw, kw) = (geo.opts.stride.1, geo.weight[3]);
        if ow <= MAX_DST {
            return WholeRows::new(FORWARD, geo, c_out / g, (w, ow), oh);
        }
        let blocks = (2..=ow / MIN_BLOCK).find(|&b| ow.is_multiple_of(b) && ow / b <= MAX_DST)?;
        let dst_w = ow / blocks;
        let window = (dst_w - 1) * sw + kw;
        let mut plan = WholeRows::new(FORWARD, geo, c_out / g, (window, dst_w), oh * blocks)?;
        plan.col_blocks = blocks;
        plan.pad_w = 0;
        Some(plan)
    }

    /// The input gradient of `geo`, if the kernel takes it: its scatter
    /// walks the source (dy) columns, up to `MAX_DST` of them.
    ///
    /// dx rows wider than `MAX_DST` are split into the fewest blocks of
    /// equal width (a multiple of the column stride) whose dy windows fit.
    pub(super) fn input_gradient(geo: &ConvGeometry) -> Option<WholeRows> {
        let [_, c_in, h, w] = geo.input;
        let [_, _, _, ow] = geo.output;
        let g = geo.opts.groups;
        if w <= MAX_DST {
            return WholeRows::new(INPUT_GRADIENT, geo, c_in / g, (ow, w), h)
                .filter(|_| ow <= MAX_DST);
        }
        let (sw, kw, pw) = (geo.opts.stride.1, geo.weight[3], geo.opts.padding.1);
        // The window of a block starting at dx column ix0 begins at dy
        // column (ix0 + pw - pwc) / sw: exact for every block when the
        // blocks are multiples of sw and pwc - pw is one too, and early
        // enough when pwc >= kw - 1.
        let pwc = (kw - 1) + (pw + sw - (kw - 1) % sw) % sw;
        let window = |dst_w: usize| (dst_w - 1 + pwc) / sw + 1;
        let blocks = (2..=w / MIN_BLOCK).find(|&b| {
            let dst_w = w / b;
            w.is_multiple_of(b)
                && dst_w <= MAX_DST
                && dst_w.is_multiple_of(sw)
                && window(dst_w) <= MAX_DST
        })?;
        let dst_w = w / blocks;
        let mut plan = WholeRows::new(
            INPUT_GRADIENT,
            geo,
            c_in / g,
            (window(dst_w), dst_w),
            h * blocks,
        )?;
        plan.col_blocks = blocks;
        plan.pad_w = pwc;
        Some(plan)
    }

    /// Whether output rows are split into blocks of columns.
    pub(super) fn blocked(&self) -> bool {
        self.col_blocks > 1
    }

    /// Dilation 1, batches that fill a workgroup's 8 lanes (smaller ones
    /// would leave most lanes idle), rows and kernels that fit.
    fn new(
        entry: &'static str,
        geo: &ConvGeometry,
        channels_out: usize,
        (src_w, dst_w): (usize, usize),
        rows: usize,
    ) -> Option<WholeRows> {
        let n = geo.input[0];
        let fits = geo.opts.dilation == (1, 1)
            && n >= LANES as usize
            && src_w <= MAX_SRC
            && dst_w <= MAX_DST
            && geo.weight[3] <= MAX_KW;
        if !fits {
            return None;
        }
        // Each source row a lane loads serves every channel of its block,
        // so wider blocks pay, even partly padding: 8 channels against 4
        // (`cargo xtask bench --only conv2d_backward_input`, two
        // interleaved rounds): LeNet's conv2 (6 channels) 24.0 / 17.7
        // against 16.3 / 10.7 GFLOP/s; 16 against 8 (`--only conv2d_`):
        // forward LeNet's conv2 36.6 / 36.5 against 23.0 / 29.3, CNN3's
        // conv3 (10 channels) 13.5 / 13.9 against 7.8 / 8.6; input
        // gradients alike (CNN3's conv2 12.2 / 12.1 against 11.0 / 14.6).
        // Only 6 channels in blocks of 16 lost: 13.1 / 14.3 against 19.7 /
        // 20.3.
        let channels = channels_per_invocation(channels_out);
        let g = geo.opts.groups;
        let workgroups = n.div_ceil(LANES as usize) * rows * channels_out.div_ceil(channels) * g;
        Some(WholeRows {
            entry,
            channels,
            src_w,
            dst_w,
            col_blocks: 1,
            pad_w: geo.opts.padding.1,
            workgroups,
        })
    }

    /// Runs the kernel from `src` (x or dy, dense) with `w` (dense) into
    /// `dst` (fresh, offset 0), adding `bias` and through ReLU when `relu`
    /// (forward only); with `subgroups`, the variant whose lanes share the
    /// weights' loads.
    pub(super) fn run(
        &self,
        op: &'static str,
        geo: &ConvGeometry,
        subgroups: bool,
        [src, w, dst]: [&Tensor; 3],
        bias: Option<&Tensor>,
        relu: bool,
    ) -> Result<()> {
        let threads = self.workgroups * LANES as usize;
        // Without a bias, src is bound in its place and never read.
        let b = bias.unwrap_or(src);
        let words = Words {
            offsets: [
                src.layout.offset,
                w.layout.offset,
                b.layout.offset,
                src.layout.offset,
            ],
            flag: bias.is_some(),
            threads,
            ..Words::default()
        };
        let p: Params = geo.params(op, words)?;
        // Whole source rows, or windows that start on a quad inside the
        // row: no padding, rows and block steps of whole quads.
        let [_, _, _, w_in] = geo.input;
        let quads = if self.col_blocks == 1 {
            self.src_w.is_multiple_of(4)
        } else if self.entry == INPUT_GRADIENT {
            // Its windows start before the row (and at any column).
            false
        } else {
            geo.opts.padding.1 == 0
                && w_in.is_multiple_of(4)
                && (self.dst_w * geo.opts.stride.1).is_multiple_of(4)
        };
        let vec_src = quads && src.layout.offset.is_multiple_of(4);
        let pairs = self.col_blocks == 1 && self.src_w % 4 == 2;
        let vec2_src = pairs && src.layout.offset.is_multiple_of(2);
        let mut constants = vec![
            ("CB", self.channels as f64),
            ("SRC_W", self.src_w as f64),
            ("DST_W", self.dst_w as f64),
            ("KWC", geo.weight[3] as f64),
            ("SWC", geo.opts.stride.1 as f64),
            ("PWC", self.pad_w as f64),
            ("COL_BLOCKS", self.col_blocks as f64),
            ("VEC_SRC", f64::from(u8::from(vec_src))),
            ("VEC2_SRC", f64::from(u8::from(vec2_src))),
            ("VEC_DST", f64::from(u8::from(self.dst_w.is_multiple_of(4)))),
            ("VEC2_DST", f64::from(u8::from(self.dst_w % 4 == 2))),
            ("ALT_DST", f64::from(u8::from(self.alternating_quads(geo)))),
        ];
        // Only when set, so that the plain convolution keeps one pipeline.
        if relu {
            constants.push(("RELU", 1.0));
        }
        let mut bindings = vec![
            bind(1, w),
            bind(2, src),
            bind(3, src),
            bind(8, src),
            bind(4, dst),
            bind(5, dst),
            bind(7, dst),
        ];
        // Only the forward pass has a bias binding.
        if self.entry == FORWARD {
            bindings.push(bind(6, b));
        }
        launch(
            WHOLE_ROWS,
            self.entry,
            subgroups,
            &constants,
            &p,
            &bindings,
            self.workgroups,
        );
        Ok(())
    }

    /// Whether the output rows, 4k + 2 wide and whole (one block each) in
    /// planes of a multiple of 4 values, start alternately on 16 bytes and
    /// 8 bytes past: then each is stored as k vec4s and a vec2 (`ALT_DST`)
    /// instead of 2k + 1 vec2s. `cargo xtask bench --only conv2d_`, five
    /// interleaved rounds, medians: CNN3 conv1's forward 10.2 against 7.0
    /// GFLOP/s, CNN3 conv2's input gradient 20.3 against 18.7 (their 14-wide
    /// rows: 4 stores instead of 7).
    fn alternating_quads(&self, geo: &ConvGeometry) -> bool {
        let [_, _, rows, cols] = if self.entry == FORWARD {
            geo.output
        } else {
            geo.input
        };
        self.col_blocks == 1 && self.dst_w % 4 == 2 && (rows * cols).is_multiple_of(4)
    }
}

/// The weight gradient by whole rows (`conv2d_backward_weight_whole_rows`):
/// the 8 lanes of a workgroup are 8 input channels at one kernel row, for
/// a block of output channels and a chunk of the batch. Each lane loads its
/// own x rows and the dy rows are shared (by `subgroupShuffle` where
/// subgroups allow), so every loaded value meets a whole row of taps and a
/// block of channels.
#[derive(Debug, Clone, Copy)]
pub(super) struct WeightRows {
    /// Output channels per invocation: 4, 8 or 16.
    channels: usize,
    /// Workgroups per chunk of the batch: (group, block of 8 input
    /// channels, ky, block of output channels).
    split: BatchChunks,
}

impl WeightRows {
    /// The plan for `geo`, if the kernel takes it: dilation 1, x rows up to
    /// `MAX_SRC` wide, dy rows up to `MAX_DST`, kernels up to `MAX_KW`
    /// wide, and at least `MIN_WEIGHT_LANES` input channels per group (the
    /// lanes are input channels).
    pub(super) fn new(geo: &ConvGeometry) -> Option<WeightRows> {
        let [n, _, _, w] = geo.input;
        let [c_out, cin_g, kh, kw] = geo.weight;
        let ow = geo.output[3];
        let g = geo.opts.groups;
        let fits = geo.opts.dilation == (1, 1)
            && w <= MAX_SRC
            && ow <= MAX_DST
            && kw <= MAX_KW
            && cin_g >= MIN_WEIGHT_LANES;
        if !fits || n == 0 {
            return None;
        }
        let cout_g = c_out / g;
        let channels = channels_per_invocation(cout_g);
        let workgroups = g * cin_g.div_ceil(LANES as usize) * kh * cout_g.div_ceil(channels);
        Some(WeightRows {
            channels,
            split: BatchChunks::new(n, workgroups),
        })
    }

    /// `dw` (fresh) from `dy` and `x` (dense); with `subgroups`, the
    /// variant whose lanes share the dy rows.
    pub(super) fn run(
        &self,
        op: &'static str,
        geo: &ConvGeometry,
        subgroups: bool,
        [dy, x, dw]: [&Tensor; 3],
    ) -> Result<()> {
        let part = partials(op, dw, self.split.chunks)?;
        let p: Params = geo.params(op, self.split.words(x, dy))?;
        let w = geo.input[3];
        let vec_src = w.is_multiple_of(4) && x.layout.offset.is_multiple_of(4);
        let vec2_src = w % 4 == 2 && x.layout.offset.is_multiple_of(2);
        let constants = [
            ("CB", self.channels as f64),
            ("SRC_W", w as f64),
            ("DST_W", geo.output[3] as f64),
            ("KWC", geo.weight[3] as f64),
            ("SWC", geo.opts.stride.1 as f64),
            ("PWC", geo.opts.padding.1 as f64),
            ("VEC_SRC", f64::from(u8::from(vec_src))),
            ("VEC2_SRC", f64::from(u8::from(vec2_src))),
        ];
        let bindings = [
            bind(2, x),
            bind(3, x),
            bind(8, x),
            bind(9, dy),
            bind(4, &part),
        ];
        let entry = "conv2d_backward_weight_whole_rows";
        let workgroups = self.split.total_workgroups();
        launch(
            WHOLE_ROWS, entry, subgroups, &constants, &p, &bindings, workgroups,
        );
        add_chunks(op, &part, dw, p)
    }
}

/// Output channels per invocation for `channels` of a group: 4, 8 or 16.
fn channels_per_invocation(channels: usize) -> usize {
    match channels {
        0..=4 => 4,
        5..=8 => 8,
        _ => 16,
    }
}
