//! The row kernels' side of the convolutions: `conv2d_rows` (the forward
//! pass and, at stride 1, the input gradient as a convolution of `dy` with
//! packed, flipped filters) and its shape rules.

use super::{ConvGeometry, Params, ROW_MAX_KW, Words, bind, dispatch_blocks};
use crate::dtype::DType;
use crate::error::Result;
use crate::ops::dispatch_1d;
use crate::runtime::Kernel;
use crate::shaders::CONV;
use crate::tensor::Tensor;

/// A convolution as `conv2d_rows` computes it: `input: [n, c_in, h, w]`
/// with filters packed by `conv2d_pack_weights` -> `output: [n, c_out, oh,
/// ow]`, signed paddings and dilation 1 along w. The forward pass is one;
/// at stride 1 the input gradient is another, of dy.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowConv {
    input: [usize; 4],
    output: [usize; 4],
    groups: usize,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (isize, isize),
    dil_h: usize,
}

/// Vec4s per row window (`NV`) that hold the 4 pixels' taps of a row of
/// `kw` taps at column stride `sw` from any alignment, if at most 4.
pub(super) fn window_vec4s(sw: usize, kw: usize) -> Option<usize> {
    let span = 3 + 3 * sw + kw;
    ((1..=2).contains(&sw) && kw <= ROW_MAX_KW && span <= 16).then(|| span.div_ceil(4).max(3))
}

impl RowConv {
    /// The forward pass of `geo`.
    pub(super) fn forward(geo: &ConvGeometry) -> RowConv {
        let o = geo.opts;
        RowConv {
            input: geo.input,
            output: geo.output,
            groups: o.groups,
            kernel: (geo.weight[2], geo.weight[3]),
            stride: o.stride,
            padding: (o.padding.0 as isize, o.padding.1 as isize),
            dil_h: o.dilation.0,
        }
    }

    /// The input gradient of `geo` at stride 1: dy convolved with the
    /// flipped, transposed filters, padded by `dilation * (k - 1) -
    /// padding` (negative: cropped).
    pub(super) fn input_gradient(geo: &ConvGeometry) -> RowConv {
        let o = geo.opts;
        let [n, c_out, oh, ow] = geo.output;
        let [_, _, kh, kw] = geo.weight;
        let (dh, dw) = o.dilation;
        let pad = |d: usize, k: usize, p: usize| (d * (k - 1)) as isize - p as isize;
        RowConv {
            input: [n, c_out, oh, ow],
            output: geo.input,
            groups: o.groups,
            kernel: (kh, kw),
            stride: (1, 1),
            padding: (pad(dh, kh, o.padding.0), pad(dw, kw, o.padding.1)),
            dil_h: dh,
        }
    }

    /// (channel quads CQ, pixel quads PQ, window vec4s NV), if the row
    /// kernel takes this shape (the caller checks dilation_w == 1).
    pub(super) fn config(&self) -> Option<(usize, usize, usize)> {
        let nv = window_vec4s(self.stride.1, self.kernel.1)?;
        // 16 blocks of 4 x 4: as many channels as the group has, up to 16,
        // and pixel quads for the rest.
        let cq = (self.output[1] / self.groups).div_ceil(4).clamp(1, 4);
        Some((cq, 16 / cq, nv))
    }

    /// Packs `w` (the filters of the forward convolution `geo`; flipped and
    /// transposed when `back`) and runs `conv2d_rows` from `x` into `out`,
    /// through ReLU when `relu`.
    pub(super) fn run(
        &self,
        op: &'static str,
        geo: &ConvGeometry,
        [x, w, out]: [&Tensor; 3],
        bias: Option<&Tensor>,
        back: bool,
        relu: bool,
    ) -> Result<()> {
        let (cq, pq, nv) = self.config().expect("checked by the caller");
        let g = self.groups;
        let (red, outs) = (self.input[1] / g, self.output[1] / g);
        let (kh, kw) = self.kernel;
        // Packed filters: [g, red, kh, kw, cpad], channels padded with zeros
        // to whole blocks.
        let cpad = outs.next_multiple_of(4 * cq);
        let packed = Tensor::uninit(op, &[g * red * kh * kw * cpad], DType::F32)?;
        let words = Words {
            offsets: [0, w.layout.offset, 0, 0],
            flag: back,
            threads: packed.numel(),
            splits: cpad,
            chunk: 0,
        };
        let p = geo.params(op, words)?;
        let kernel = Kernel::new(&CONV, "conv2d_pack_weights");
        dispatch_1d(
            kernel,
            &[],
            &p.0,
            &[bind(2, w), bind(7, &packed)],
            packed.numel(),
        );

        // (group, block of 4 CQ output channels, block of PQ pixel quads)
        let [n, _, oh, ow] = self.output;
        let quads = n * oh * ow.div_ceil(4);
        let threads = g * (cpad / (4 * cq)) * quads.div_ceil(pq);
        // Without a bias, x is bound in its place and only read masked.
        let b = bias.unwrap_or(x);
        let words = Words {
            offsets: [x.layout.offset, 0, b.layout.offset, 0],
            flag: bias.is_some(),
            threads,
            splits: cpad,
            chunk: 0,
        };
        let p = Params::new(
            op,
            self.input,
            self.output,
            [g, kh, kw, self.stride.0, self.stride.1],
            self.padding,
            (self.dil_h, 1),
            words,
        )?;
        let mut constants = vec![
            ("CQ", cq as f64),
            ("PQ", pq as f64),
            ("SW", self.stride.1 as f64),
            ("NV", nv as f64),
            ("VEC_Y", f64::from(u8::from(ow.is_multiple_of(4)))),
            ("VEC2_Y", f64::from(u8::from(ow % 4 == 2))),
            ("KW", kw as f64),
        ];
        // Only when set, so that the plain convolution keeps one pipeline.
        if relu {
            constants.push(("RELU", 1.0));
        }
        let bindings = [
            bind(10, x),
            bind(11, &packed),
            bind(3, b),
            bind(4, out),
            bind(12, out),
            bind(14, out),
        ];
        dispatch_blocks("conv2d_rows", &constants, &p, &bindings, threads);
        Ok(())
    }
}
