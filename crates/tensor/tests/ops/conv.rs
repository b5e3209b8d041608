//! conv2d and its three gradients against plain-loop CPU twins.
//!
//! Tolerance: 1e-4, absolute or relative (`assert_close`); the sums here
//! have at most a few hundred terms of size ~1, so f32 reordering between
//! the GPU's gather and the CPU's scatter stays far below it.

use wgrad_tensor::Tensor;
use wgrad_tensor::ops::conv::{
    Conv2dOptions, ConvKernel, conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight,
    try_conv2d, try_conv2d_backward_bias, try_conv2d_backward_input,
    try_conv2d_backward_input_with, try_conv2d_backward_weight, try_conv2d_backward_weight_with,
    try_conv2d_relu_backward_bias, try_conv2d_relu_backward_weight_bias,
    try_conv2d_relu_backward_weight_bias_with, try_conv2d_relu_with, try_conv2d_with,
};

use crate::common::{assert_close, read, values};

const TOL: f32 = 1e-4;

/// Calls `f(xi, wi, yi)` for every product `x[xi] * w[wi]` that enters
/// `y[yi]`: the convolution written as the six nested loops of its
/// definition (seven with the batch), skipping taps that land in padding.
fn for_each_tap(
    xs: [usize; 4],
    ws: [usize; 4],
    o: Conv2dOptions,
    mut f: impl FnMut(usize, usize, usize),
) -> [usize; 4] {
    let [n, c_in, h, w] = xs;
    let [c_out, cin_g, kh, kw] = ws;
    let out =
        |i: usize, p: usize, d: usize, k: usize, s: usize| (i + 2 * p - d * (k - 1) - 1) / s + 1;
    let oh = out(h, o.padding.0, o.dilation.0, kh, o.stride.0);
    let ow = out(w, o.padding.1, o.dilation.1, kw, o.stride.1);
    let cout_g = c_out / o.groups;
    for b in 0..n {
        for oc in 0..c_out {
            let g = oc / cout_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let yi = ((b * c_out + oc) * oh + oy) * ow + ox;
                    for ci in 0..cin_g {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * o.stride.0 + ky * o.dilation.0) as isize
                                    - o.padding.0 as isize;
                                let ix = (ox * o.stride.1 + kx * o.dilation.1) as isize
                                    - o.padding.1 as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let c = g * cin_g + ci;
                                let xi = ((b * c_in + c) * h + iy as usize) * w + ix as usize;
                                let wi = ((oc * cin_g + ci) * kh + ky) * kw + kx;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
    [n, c_out, oh, ow]
}

fn cpu_conv2d(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    b: Option<&[f32]>,
    o: Conv2dOptions,
) -> Vec<f32> {
    let mut y = Vec::new();
    let shape = for_each_tap(xs, ws, o, |_, _, _| {});
    y.resize(shape.iter().product(), 0.0);
    for_each_tap(xs, ws, o, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
    if let Some(b) = b {
        let plane = shape[2] * shape[3];
        for (i, v) in y.iter_mut().enumerate() {
            *v += b[(i / plane) % shape[1]];
        }
    }
    y
}

/// The three gradients by scattering dy back through every tap:
/// y += x * w gives dx += dy * w, dw += dy * x; db sums dy per channel.
/// The sums are taken in f64: a first layer's weight gradient sums tens
/// of thousands of products (LeNet's conv1 over 50 images: 28,800), and
/// an f32 running sum that long drifts past the tolerance by itself.
fn cpu_backward(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    dy: &[f32],
    o: Conv2dOptions,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dx = vec![0.0f64; x.len()];
    let mut dw = vec![0.0f64; w.len()];
    let ys = for_each_tap(xs, ws, o, |xi, wi, yi| {
        dx[xi] += f64::from(dy[yi]) * f64::from(w[wi]);
        dw[wi] += f64::from(dy[yi]) * f64::from(x[xi]);
    });
    let mut db = vec![0.0f64; ys[1]];
    let plane = ys[2] * ys[3];
    for (i, &v) in dy.iter().enumerate() {
        db[(i / plane) % ys[1]] += f64::from(v);
    }
    let f32s = |v: Vec<f64>| v.into_iter().map(|s| s as f32).collect();
    (f32s(dx), f32s(dw), f32s(db))
}

/// Runs forward (plain and through the fused ReLU) and all three backward
/// kernels on one case, with the row kernels where they apply and with the
/// general ones (with and without subgroups), and compares each with the
/// CPU twin.
fn check(what: &str, xs: [usize; 4], ws: [usize; 4], bias: bool, o: Conv2dOptions) {
    for kernel in [
        ConvKernel::Auto,
        ConvKernel::General,
        ConvKernel::GeneralPortable,
    ] {
        check_kernel(&format!("{what} ({kernel:?})"), xs, ws, bias, o, kernel);
    }
}

fn check_kernel(
    what: &str,
    xs: [usize; 4],
    ws: [usize; 4],
    bias: bool,
    o: Conv2dOptions,
    kernel: ConvKernel,
) {
    let x = values(xs.iter().product(), -1.0, 1.0, 1);
    let w = values(ws.iter().product(), -1.0, 1.0, 2);
    let b = values(ws[0], -1.0, 1.0, 3);
    let (tx, tw, tb) = (
        Tensor::from_slice(&x, &xs),
        Tensor::from_slice(&w, &ws),
        Tensor::from_slice(&b, &[ws[0]]),
    );
    let y = try_conv2d_with(&tx, &tw, bias.then_some(&tb), o, kernel).expect(what);
    let want = cpu_conv2d(&x, xs, &w, ws, bias.then_some(&b[..]), o);
    assert_close(
        &format!("{what}: conv2d {:?}", y.shape()),
        &read(&y),
        &want,
        TOL,
    );
    // The fused ReLU, on every shape and both kernel families.
    let y = try_conv2d_relu_with(&tx, &tw, bias.then_some(&tb), o, kernel).expect(what);
    let relu: Vec<f32> = want
        .iter()
        .map(|&v| if v > 0.0 { v } else { 0.0 })
        .collect();
    assert!(
        want.iter().any(|&v| v < 0.0),
        "{what}: some output is negative"
    );
    assert_close(&format!("{what}: conv2d_relu"), &read(&y), &relu, TOL);

    let dy = values(want.len(), -1.0, 1.0, 4);
    let tdy = Tensor::from_slice(&dy, y.shape());
    let (dx, dw, db) = cpu_backward(&x, xs, &w, ws, &dy, o);
    let got = try_conv2d_backward_input_with(&tdy, &tw, &xs, o, kernel).expect(what);
    assert_eq!(got.shape(), xs, "{what}");
    assert_close(&format!("{what}: backward input"), &read(&got), &dx, TOL);
    let got = try_conv2d_backward_weight_with(&tdy, &tx, &ws, o, kernel).expect(what);
    assert_eq!(got.shape(), ws, "{what}");
    assert_close(&format!("{what}: backward weight"), &read(&got), &dw, TOL);
    assert_close(
        &format!("{what}: backward bias"),
        &read(&conv2d_backward_bias(&tdy)),
        &db,
        TOL,
    );
    // ReLU's backward with the weight and bias gradients, as a first layer
    // takes them (one pass where the first-layer kernel takes the shape).
    let masked = relu_mask(&dy, &read(&y));
    let (_, dw, db) = cpu_backward(&x, xs, &w, ws, &masked, o);
    let (got_w, got_b) =
        try_conv2d_relu_backward_weight_bias_with(&tdy, &y, &tx, &ws, o, kernel).expect(what);
    assert_close(
        &format!("{what}: relu backward weight"),
        &read(&got_w),
        &dw,
        TOL,
    );
    assert_close(
        &format!("{what}: relu backward bias"),
        &read(&got_b),
        &db,
        TOL,
    );
}

/// `dy` where `y > 0`: ReLU's backward given its output.
fn relu_mask(dy: &[f32], y: &[f32]) -> Vec<f32> {
    dy.iter()
        .zip(y)
        .map(|(&g, &v)| if v > 0.0 { g } else { 0.0 })
        .collect()
}

#[test]
fn conv2d_and_its_gradients_match_the_cpu_on_odd_shapes() {
    let strided = Conv2dOptions {
        stride: (2, 1),
        padding: (1, 2),
        dilation: (2, 2),
        groups: 1,
    };
    for kernel in [(3, 3), (2, 3)] {
        for groups in [1, 3] {
            for base in [Conv2dOptions::default(), strided] {
                for bias in [true, false] {
                    let o = Conv2dOptions { groups, ..base };
                    let ws = [6, 3 / groups, kernel.0, kernel.1];
                    check(
                        &format!("kernel {kernel:?} {o:?} bias {bias}"),
                        [2, 3, 7, 9],
                        ws,
                        bias,
                        o,
                    );
                }
            }
        }
    }
}

#[test]
fn conv2d_fills_partial_tiles_of_channels_pixels_and_kernel_columns() {
    // 6 output and 4 input channels per group, widths 11 -> 6 and a 5-wide
    // kernel: every 4-wide register tile of every kernel ends part-full.
    let o = Conv2dOptions {
        stride: (1, 2),
        padding: (0, 1),
        dilation: (1, 1),
        groups: 2,
    };
    check(
        "two groups of 4 -> 6",
        [1, 8, 6, 11],
        [12, 4, 2, 5],
        true,
        o,
    );
    let o = Conv2dOptions {
        stride: (3, 3),
        padding: (2, 1),
        dilation: (1, 2),
        groups: 1,
    };
    check(
        "stride 3, mixed dilation",
        [3, 5, 10, 13],
        [7, 5, 4, 3],
        false,
        o,
    );
}

#[test]
fn conv2d_runs_the_lenet_shapes() {
    check(
        "LeNet conv1",
        [4, 1, 28, 28],
        [6, 1, 5, 5],
        true,
        Conv2dOptions::default(),
    );
    check(
        "LeNet conv2",
        [4, 6, 12, 12],
        [16, 6, 5, 5],
        true,
        Conv2dOptions::default(),
    );
}

#[test]
fn row_kernels_cover_their_shape_constants() {
    // 1 to 20 output channels per group (one to four channel quads, and two
    // blocks), kernels 1 to 8 wide at stride_w 1 (windows of 3 and 4 vec4s)
    // and up to 7 at stride_w 2, rows that end mid-quad (scalar stores) or
    // on one (vec4 stores), groups, and strides and dilations along h.
    let pad = |h, w| Conv2dOptions {
        padding: (h, w),
        ..Default::default()
    };
    let cases = [
        ("1 -> 1, 1x1", [2, 1, 5, 7], [1, 1, 1, 1], pad(0, 0)),
        ("3 -> 5, 3x8", [2, 3, 6, 13], [5, 3, 3, 8], pad(1, 2)),
        (
            "2 -> 12, 2x5, stride 2",
            [3, 2, 9, 19],
            [12, 2, 2, 5],
            Conv2dOptions {
                stride: (2, 2),
                ..pad(1, 1)
            },
        ),
        (
            "4 -> 20, 3x7, stride (1, 2)",
            [1, 4, 8, 17],
            [20, 4, 3, 7],
            Conv2dOptions {
                stride: (1, 2),
                ..pad(2, 3)
            },
        ),
        (
            "3 -> 6, rows 36 wide (the row weight gradient)",
            [2, 3, 5, 36],
            [6, 3, 3, 3],
            pad(1, 1),
        ),
        (
            "groups 2, 6 -> 8",
            [2, 6, 7, 8],
            [8, 3, 3, 3],
            Conv2dOptions {
                groups: 2,
                ..pad(1, 1)
            },
        ),
        (
            "stride_h 3, dilation_h 2",
            [2, 3, 11, 9],
            [4, 3, 3, 4],
            Conv2dOptions {
                stride: (3, 1),
                dilation: (2, 1),
                ..pad(2, 0)
            },
        ),
    ];
    for (what, xs, ws, o) in cases {
        check(what, xs, ws, true, o);
    }
}

#[test]
fn input_gradient_handles_padding_wider_than_the_kernel() {
    // At stride 1 the input gradient convolves dy with padding
    // dilation * (k - 1) - padding, here 2 - 3 = -1: it crops.
    let o = Conv2dOptions {
        padding: (3, 3),
        ..Default::default()
    };
    check("padding 3, 3x3", [1, 2, 5, 6], [3, 2, 3, 3], false, o);
}

#[test]
fn whole_row_kernels_cover_their_shape_constants() {
    // The whole-row kernels take batches of 8 or more with output rows up
    // to 16 wide (the forward pass reads x rows up to 32 wide); wider
    // outputs are split into blocks of equal width, each reading its
    // window of the source row with the padding in it. Here: 8 to 11
    // images (a last workgroup with idle lanes), 4, 8 and 16 channels per
    // invocation with partial and several blocks, rows of whole quads
    // (vec4 loads and stores), of pairs (vec2) and of neither, strides,
    // paddings (one wider than the kernel), groups, 8-wide kernels, and
    // blocks of columns in both passes, rows of width 4k + 2 stored as
    // vec4s and a vec2 (14 and 10 wide, forward and input gradient); with
    // and without subgroups.
    let o = |stride, padding, groups| Conv2dOptions {
        stride,
        padding,
        dilation: (1, 1),
        groups,
    };
    let cases = [
        (
            "LeNet conv2",
            [11, 6, 12, 12],
            [16, 6, 5, 5],
            o((1, 1), (0, 0), 1),
        ),
        (
            "CNN3 conv2, 10 channels",
            [9, 10, 14, 14],
            [4, 10, 3, 3],
            o((2, 2), (1, 1), 1),
        ),
        (
            "8 wide, stride (1, 2)",
            [9, 3, 5, 16],
            [5, 3, 3, 8],
            o((1, 2), (2, 3), 1),
        ),
        (
            "groups 2, stride (2, 1)",
            [8, 4, 6, 7],
            [6, 2, 2, 3],
            o((2, 1), (1, 1), 2),
        ),
        (
            "1x1, 16 wide",
            [8, 2, 3, 16],
            [3, 2, 1, 1],
            o((1, 1), (0, 0), 1),
        ),
        (
            "stride 3 past a 2x2 kernel: rows and columns no tap reaches",
            [8, 3, 7, 8],
            [2, 3, 2, 2],
            o((3, 3), (0, 0), 1),
        ),
        (
            "CNN3 conv1, dx 28 wide in two blocks",
            [8, 1, 28, 28],
            [16, 1, 3, 3],
            o((2, 2), (1, 1), 1),
        ),
        (
            "LeNet conv1, 24 wide in two blocks",
            [8, 1, 28, 28],
            [6, 1, 5, 5],
            o((1, 1), (0, 0), 1),
        ),
        (
            "21 wide in blocks of 7, padded windows",
            [8, 2, 5, 40],
            [3, 2, 3, 4],
            o((1, 2), (1, 2), 1),
        ),
        (
            "20 wide in blocks of 10, unaligned windows",
            [9, 1, 4, 24],
            [4, 1, 2, 5],
            o((1, 1), (0, 0), 1),
        ),
        (
            "x 31 wide, stride (1, 2)",
            [8, 2, 3, 31],
            [3, 2, 2, 3],
            o((1, 2), (1, 1), 1),
        ),
        (
            "padding 3, 3x3",
            [8, 2, 5, 10],
            [3, 2, 3, 3],
            o((1, 1), (3, 3), 1),
        ),
        (
            "x 20 wide",
            [9, 3, 3, 20],
            [6, 3, 3, 5],
            o((1, 1), (1, 0), 1),
        ),
        (
            "20 channels, blocks of 16 and 4",
            [8, 20, 6, 9],
            [20, 20, 3, 3],
            o((2, 2), (1, 1), 1),
        ),
        (
            "x 23 wide, 8-wide kernel",
            [8, 2, 4, 23],
            [5, 2, 2, 8],
            o((1, 1), (0, 0), 1),
        ),
        (
            "rows 10 wide in planes of 100: vec4s and a vec2 per row",
            [8, 2, 10, 10],
            [3, 2, 3, 3],
            o((1, 1), (1, 1), 1),
        ),
    ];
    // The portable variant differs only in how it loads weights: it runs
    // the cases with blocks of 8, 4 and 16 + 4 channels (each new shape
    // compiles its pipelines, most of this test's time).
    let portable = [
        "LeNet conv2",
        "8 wide, stride (1, 2)",
        "20 channels, blocks of 16 and 4",
    ];
    for (i, (what, xs, ws, o)) in cases.into_iter().enumerate() {
        let bias = i % 2 == 0;
        check_kernel(&format!("{what} (Auto)"), xs, ws, bias, o, ConvKernel::Auto);
        if portable.contains(&what) {
            let what = format!("{what} (AutoPortable)");
            check_kernel(&what, xs, ws, bias, o, ConvKernel::AutoPortable);
        }
    }
    // dy at an odd offset: its rows are not 16-byte aligned, so they are
    // read one value at a time.
    let (xs, ws) = ([9, 6, 12, 12], [16, 6, 5, 5]);
    let w = values(ws.iter().product(), -1.0, 1.0, 12);
    let tw = Tensor::from_slice(&w, &ws);
    let x = values(xs.iter().product(), -1.0, 1.0, 13);
    let dy = values(9 * 16 * 8 * 8, -1.0, 1.0, 14);
    let tdy = at_offset(&dy, [9, 16, 8, 8], 3);
    let (dx, _, _) = cpu_backward(&x, xs, &w, ws, &dy, Conv2dOptions::default());
    for kernel in [ConvKernel::Auto, ConvKernel::AutoPortable] {
        let got = try_conv2d_backward_input_with(&tdy, &tw, &xs, Conv2dOptions::default(), kernel);
        assert_close(
            &format!("dy at offset 3 ({kernel:?})"),
            &read(&got.unwrap()),
            &dx,
            TOL,
        );
    }
    // The weight gradient by whole rows (groups of 4 or more input
    // channels, any batch) from x and dy at odd offsets: rows read one value
    // at a time.
    let tx = at_offset(&x, xs, 1);
    let (_, dw, _) = cpu_backward(&x, xs, &w, ws, &dy, Conv2dOptions::default());
    for kernel in [ConvKernel::Auto, ConvKernel::AutoPortable] {
        let o = Conv2dOptions::default();
        let got = try_conv2d_backward_weight_with(&tdy, &tx, &ws, o, kernel);
        assert_close(
            &format!("dw from x and dy at offsets ({kernel:?})"),
            &read(&got.unwrap()),
            &dw,
            TOL,
        );
    }
    // The whole-row weight gradient with more workgroups than one grid row
    // holds: 4,097 groups of 4 input channels, 16 kernel rows each.
    let c = 4097;
    check_kernel(
        "grouped 16x1 kernels, 65,552 weight workgroups",
        [1, 4 * c, 16, 1],
        [c, 4, 16, 1],
        false,
        o((1, 1), (0, 0), c),
        ConvKernel::Auto,
    );
    // More workgroups than one grid row holds (65,535): 16 rows of 4,097
    // one-channel groups.
    let c = 4097;
    check_kernel(
        "depthwise, 65,552 workgroups",
        [8, c, 16, 1],
        [c, 1, 3, 1],
        true,
        o((1, 1), (1, 0), c),
        ConvKernel::Auto,
    );
}

#[test]
fn first_layer_weight_gradient_covers_its_shape_constants() {
    // `conv2d_backward_weight_taps` takes 1 to 3 input channels per group,
    // rows up to 32 wide and kernels up to 5 x 5: its lanes are output
    // channels (1 or 2 per lane, one or more blocks of 8 or 16), each with
    // every tap in registers. Here: x rows of whole quads (vec4 loads) and
    // not, dy rows of quads, pairs and neither, the widest rows, kernels
    // from 1x1 to 5x5, strides up to 3, padding wider than the kernel,
    // groups, batches split into uneven chunks and a single image.
    let o = |stride, padding, groups| Conv2dOptions {
        stride,
        padding,
        dilation: (1, 1),
        groups,
    };
    let cases = [
        (
            "LeNet conv1, 50 images",
            [50, 1, 28, 28],
            [6, 1, 5, 5],
            o((1, 1), (0, 0), 1),
        ),
        (
            "CNN3 conv1, 64 images",
            [64, 1, 28, 28],
            [16, 1, 3, 3],
            o((2, 2), (1, 1), 1),
        ),
        (
            "3 -> 20, x 32 wide, stride (3, 2)",
            [3, 3, 11, 32],
            [20, 3, 2, 5],
            o((3, 2), (2, 4), 1),
        ),
        (
            "groups 2 of 2 -> 3, padding 8 past a 1x4 kernel",
            [2, 4, 7, 13],
            [6, 2, 1, 4],
            o((1, 1), (0, 8), 2),
        ),
        (
            "9 channels, 9 wide, one image",
            [1, 1, 9, 9],
            [9, 1, 5, 5],
            o((1, 1), (2, 2), 1),
        ),
        (
            "1x1, dy 32 wide",
            [2, 1, 6, 32],
            [4, 1, 1, 1],
            o((1, 1), (0, 0), 1),
        ),
        (
            "4x5 kernel at stride (2, 3), x 31 wide into the padding",
            [2, 2, 8, 31],
            [5, 2, 4, 5],
            o((2, 3), (0, 2), 1),
        ),
    ];
    // The portable variant differs only in how it loads the x rows.
    let portable = [
        "CNN3 conv1, 64 images",
        "3 -> 20, x 32 wide, stride (3, 2)",
        "groups 2 of 2 -> 3, padding 8 past a 1x4 kernel",
    ];
    for (i, (what, xs, ws, o)) in cases.into_iter().enumerate() {
        let bias = i % 2 == 0;
        check_kernel(&format!("{what} (Auto)"), xs, ws, bias, o, ConvKernel::Auto);
        if portable.contains(&what) {
            let what = format!("{what} (AutoPortable)");
            check_kernel(&what, xs, ws, bias, o, ConvKernel::AutoPortable);
        }
    }
    // x at an odd offset (read one value at a time) and dy at offsets of 2
    // (pairs) and 3 (single values).
    let (xs, ws, padded) = ([9, 1, 12, 16], [10, 1, 3, 3], o((1, 1), (1, 1), 1));
    let x = values(xs.iter().product(), -1.0, 1.0, 15);
    let dy = values(9 * 10 * 12 * 16, -1.0, 1.0, 16);
    let (_, dw, _) = cpu_backward(&x, xs, &[0.0; 90], ws, &dy, padded);
    for (x_at, dy_at) in [(1, 0), (0, 2), (0, 3)] {
        let tx = at_offset(&x, xs, x_at);
        let tdy = at_offset(&dy, [9, 10, 12, 16], dy_at);
        for kernel in [ConvKernel::Auto, ConvKernel::AutoPortable] {
            let got = try_conv2d_backward_weight_with(&tdy, &tx, &ws, padded, kernel);
            assert_close(
                &format!("dw, x at {x_at}, dy at {dy_at} ({kernel:?})"),
                &read(&got.unwrap()),
                &dw,
                TOL,
            );
        }
    }
    // With the ReLU mask, y is read like dy: its vec4 and pair loads need
    // both offsets aligned.
    let y: Vec<f32> = values(dy.len(), -1.0, 1.0, 17)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    let (_, dw, db) = cpu_backward(&x, xs, &[0.0; 90], ws, &relu_mask(&dy, &y), padded);
    let tx = Tensor::from_slice(&x, &xs);
    for (dy_at, y_at) in [(0, 0), (0, 2), (4, 1), (2, 6)] {
        let tdy = at_offset(&dy, [9, 10, 12, 16], dy_at);
        let ty = at_offset(&y, [9, 10, 12, 16], y_at);
        for kernel in [ConvKernel::Auto, ConvKernel::AutoPortable] {
            let what = format!("dy at {dy_at}, y at {y_at} ({kernel:?})");
            let (got_w, got_b) =
                try_conv2d_relu_backward_weight_bias_with(&tdy, &ty, &tx, &ws, padded, kernel)
                    .unwrap();
            assert_close(&format!("masked dw, {what}"), &read(&got_w), &dw, TOL);
            assert_close(&format!("masked db, {what}"), &read(&got_b), &db, TOL);
        }
    }
    // More workgroups than one grid row holds: 65,537 one-channel groups.
    let c = 65_537;
    check_kernel(
        "depthwise 1x1, 65,537 weight workgroups",
        [1, c, 1, 1],
        [c, 1, 1, 1],
        false,
        o((1, 1), (0, 0), c),
        ConvKernel::Auto,
    );
}

#[test]
fn weight_gradient_sums_chunks_of_a_large_batch() {
    // 64 images of 8 x 8 outputs: the weight-gradient kernels (the
    // first-layer one for Auto, the general one) split the sum over the
    // batch into chunks and add their partial sums.
    check(
        "batch 64",
        [64, 3, 10, 10],
        [5, 3, 3, 3],
        true,
        Default::default(),
    );
}

#[test]
fn weight_gradient_reads_dy_at_an_aligned_and_an_unaligned_offset() {
    // The row kernel reads dy's rows as 16-byte quads: at offset 4 it may,
    // at offset 3 the general kernel takes over. Both must agree with the CPU.
    // (x rows 42 wide are too wide for the first-layer kernel.)
    let (xs, ws) = ([3, 2, 6, 42], [4, 2, 3, 3]);
    let o = Conv2dOptions {
        padding: (1, 0),
        ..Default::default()
    };
    let x = values(xs.iter().product(), -1.0, 1.0, 9);
    let w = values(ws.iter().product(), -1.0, 1.0, 10);
    let tx = Tensor::from_slice(&x, &xs);
    let n_dy = 3 * 4 * 6 * 40;
    for offset in [4, 3] {
        let dys = values(n_dy + offset, -1.0, 1.0, 11);
        let tdy = Tensor::from_slice(&dys, &[n_dy + offset])
            .narrow(0, offset, n_dy)
            .reshape(&[3, 4, 6, 40]);
        let (_, dw, _) = cpu_backward(&x, xs, &w, ws, &dys[offset..], o);
        assert_close(
            &format!("backward weight, dy at offset {offset}"),
            &read(&conv2d_backward_weight(&tdy, &tx, &ws, o)),
            &dw,
            TOL,
        );
    }
}

#[test]
fn conv2d_reads_permuted_and_offset_views() {
    let (xs, ws) = ([2, 3, 7, 9], [6, 3, 3, 2]);
    let o = Conv2dOptions {
        padding: (1, 1),
        ..Default::default()
    };
    // x stored as [n, h, w, c] and viewed as NCHW: element (b, c, i, j) sits
    // at ((b * 7 + i) * 9 + j) * 3 + c.
    let nhwc = values(2 * 7 * 9 * 3, -1.0, 1.0, 5);
    let tx = Tensor::from_slice(&nhwc, &[2, 7, 9, 3]).permute(&[0, 3, 1, 2]);
    assert!(!tx.is_contiguous());
    let mut x = vec![0.0; nhwc.len()];
    for (k, v) in x.iter_mut().enumerate() {
        let (b, c, i, j) = (k / 189, (k / 63) % 3, (k / 9) % 7, k % 9);
        *v = nhwc[((b * 7 + i) * 9 + j) * 3 + c];
    }
    // w and b as narrowed views: dense, but not at the start of their buffers.
    let wide = values(8 * 18, -1.0, 1.0, 6);
    let tw = Tensor::from_slice(&wide, &[8, 3, 3, 2]).narrow(0, 1, 6);
    let w = &wide[18..18 * 7];
    let bb = values(9, -1.0, 1.0, 7);
    let tb = Tensor::from_slice(&bb, &[9]).narrow(0, 2, 6);
    let y = tx.conv2d(&tw, Some(&tb), o);
    let want = cpu_conv2d(&x, xs, w, ws, Some(&bb[2..8]), o);
    assert_close("conv2d of views", &read(&y), &want, TOL);

    // dy as an offset view too.
    let n_dy: usize = y.shape().iter().product();
    let dys = values(n_dy + 5, -1.0, 1.0, 8);
    let tdy = Tensor::from_slice(&dys, &[n_dy + 5])
        .narrow(0, 5, n_dy)
        .reshape(&[2, 6, 7, 10]);
    let (dx, dw, db) = cpu_backward(&x, xs, w, ws, &dys[5..], o);
    assert_close(
        "backward input of views",
        &read(&conv2d_backward_input(&tdy, &tw, &xs, o)),
        &dx,
        TOL,
    );
    assert_close(
        "backward weight of views",
        &read(&conv2d_backward_weight(&tdy, &tx, &ws, o)),
        &dw,
        TOL,
    );
    assert_close(
        "backward bias of a view",
        &read(&conv2d_backward_bias(&tdy)),
        &db,
        TOL,
    );
}

#[test]
fn conv2d_of_an_empty_batch_is_empty_and_its_parameter_gradients_are_zero() {
    let (xs, ws) = ([0, 3, 7, 9], [6, 3, 3, 3]);
    let tx = Tensor::zeros(&xs);
    let tw = Tensor::ones(&ws);
    let y = tx.conv2d(&tw, Some(&Tensor::ones(&[6])), Conv2dOptions::default());
    assert_eq!(y.shape(), [0, 6, 5, 7]);
    assert!(read(&y).is_empty());
    let dy = Tensor::zeros(&[0, 6, 5, 7]);
    let o = Conv2dOptions::default();
    assert_eq!(conv2d_backward_input(&dy, &tw, &xs, o).shape(), xs);
    assert_eq!(
        read(&conv2d_backward_weight(&dy, &tx, &ws, o)),
        vec![0.0; 162]
    );
    assert_eq!(read(&conv2d_backward_bias(&dy)), vec![0.0; 6]);
    // A first layer's fused ReLU backward, on an empty batch.
    let (x1, w1) = ([0, 1, 7, 9], [6, 1, 3, 3]);
    let (dw, db) =
        try_conv2d_relu_backward_weight_bias(&dy, &dy, &Tensor::zeros(&x1), &w1, o).unwrap();
    assert_eq!(read(&dw), vec![0.0; 54]);
    assert_eq!(read(&db), vec![0.0; 6]);
}

#[test]
fn depthwise_conv2d_covers_a_two_dimensional_grid() {
    // One channel per group and 1x1 pixels: every kernel runs one
    // invocation per channel (one workgroup for the bias gradients), so
    // 64 * 65535 + 1 channels need y in the grid of the 64-wide filter
    // packing, which the row kernels' path runs (a 1x1 image has one
    // pixel, so no weight gradient is split into batch sums). The
    // general kernels run 8 invocations to a workgroup: 8 * 65535 + 1
    // channels already need y, at an eighth of the work (the test took 44 s
    // with every family at the larger size).
    let depthwise = |c: usize| Conv2dOptions {
        groups: c,
        ..Default::default()
    };
    let c = 64 * 65_535 + 1;
    let (xs, ws) = ([1, c, 1, 1], [c, 1, 1, 1]);
    check_kernel(
        "depthwise 1x1",
        xs,
        ws,
        true,
        depthwise(c),
        ConvKernel::Auto,
    );
    let c = 8 * 65_535 + 1;
    let (xs, ws) = ([1, c, 1, 1], [c, 1, 1, 1]);
    for kernel in [ConvKernel::General, ConvKernel::GeneralPortable] {
        let what = format!("depthwise 1x1 ({kernel:?})");
        check_kernel(&what, xs, ws, true, depthwise(c), kernel);
    }
}

/// The error of a failed call, as text.
fn err<T: std::fmt::Debug>(r: wgrad_tensor::Result<T>) -> String {
    r.unwrap_err().to_string()
}

/// The error of `try_conv2d` on zero tensors of these shapes.
fn conv_err(xs: &[usize], ws: &[usize], bias: Option<usize>, o: Conv2dOptions) -> String {
    let b = bias.map(|n| Tensor::zeros(&[n]));
    err(try_conv2d(
        &Tensor::zeros(xs),
        &Tensor::zeros(ws),
        b.as_ref(),
        o,
    ))
}

#[test]
fn conv2d_errors_name_the_op_and_the_shapes() {
    let (x, w, o) = (
        &[2, 3, 7, 9][..],
        &[6, 3, 3, 3][..],
        Conv2dOptions::default(),
    );
    let groups = |groups| Conv2dOptions { groups, ..o };
    let dilation = Conv2dOptions {
        dilation: (4, 1),
        ..o
    };
    let stride = Conv2dOptions {
        stride: (0, 1),
        ..o
    };
    let cases = [
        (
            conv_err(&[3, 7, 9], w, None, o),
            ["[3, 7, 9]", "[6, 3, 3, 3]"],
        ),
        (
            conv_err(x, &[6, 3, 3], None, o),
            ["[2, 3, 7, 9]", "[6, 3, 3]"],
        ),
        // in_channels 3 against a weight for 2.
        (
            conv_err(x, &[6, 2, 3, 3], None, o),
            ["[2, 3, 7, 9]", "[6, 2, 3, 3]"],
        ),
        // 3 input channels, or 5 output channels, in 2 or 3 groups.
        (
            conv_err(x, w, None, groups(2)),
            ["[2, 3, 7, 9]", "groups 2"],
        ),
        (
            conv_err(&[2, 6, 7, 9], &[5, 2, 3, 3], None, groups(3)),
            ["[2, 6, 7, 9]", "[5, 2, 3, 3]"],
        ),
        // Kernels taller than the padded input, directly or by dilation.
        (
            conv_err(x, &[6, 3, 8, 3], None, o),
            ["[2, 3, 7, 9]", "[6, 3, 8, 3]"],
        ),
        (
            conv_err(x, w, None, dilation),
            ["[2, 3, 7, 9]", "dilation (4, 1)"],
        ),
        (conv_err(x, w, Some(5), o), ["[5]", "[6, 3, 3, 3]"]),
        (
            conv_err(x, w, None, stride),
            ["[2, 3, 7, 9]", "stride (0, 1)"],
        ),
    ];
    for (e, [a, b]) in cases {
        assert!(
            e.contains("conv2d") && e.contains(a) && e.contains(b),
            "{e}"
        );
    }
}

#[test]
fn conv2d_gradients_reject_a_dy_of_the_wrong_shape() {
    let o = Conv2dOptions::default();
    let (x, w) = (Tensor::zeros(&[2, 3, 7, 9]), Tensor::zeros(&[6, 3, 3, 3]));
    let dy = Tensor::zeros(&[2, 6, 5, 6]); // the output is [2, 6, 5, 7]
    let shapes = |e: &str| e.contains("[2, 6, 5, 6]") && e.contains("[2, 6, 5, 7]");
    let e = err(try_conv2d_backward_input(&dy, &w, &[2, 3, 7, 9], o));
    assert!(e.contains("conv2d_backward_input") && shapes(&e), "{e}");
    let e = err(try_conv2d_backward_weight(&dy, &x, &[6, 3, 3, 3], o));
    assert!(e.contains("conv2d_backward_weight") && shapes(&e), "{e}");
    let e = err(try_conv2d_backward_bias(&Tensor::zeros(&[6, 5])));
    assert!(
        e.contains("conv2d_backward_bias") && e.contains("[6, 5]"),
        "{e}"
    );
    // The first-layer ReLU backward checks dy against the output and y
    // against dy.
    let (x1, w1) = ([2, 1, 7, 9], [6, 1, 3, 3]);
    let x1t = Tensor::zeros(&x1);
    let relu_grads =
        |dy: &Tensor, y: &Tensor| err(try_conv2d_relu_backward_weight_bias(dy, y, &x1t, &w1, o));
    let e = relu_grads(&dy, &dy);
    assert!(
        e.contains("conv2d_relu_backward_weight_bias") && shapes(&e),
        "{e}"
    );
    let good = Tensor::zeros(&[2, 6, 5, 7]);
    let e = relu_grads(&good, &dy);
    assert!(
        e.contains("conv2d_relu_backward_weight_bias") && shapes(&e),
        "{e}"
    );
}

/// `data` as a tensor of `shape` that starts `offset` elements into its
/// buffer (a view of a longer tensor).
fn at_offset(data: &[f32], shape: [usize; 4], offset: usize) -> Tensor {
    let mut padded = vec![7.0; offset];
    padded.extend_from_slice(data);
    padded.extend([7.0; 3]);
    Tensor::from_slice(&padded, &[padded.len()])
        .narrow(0, offset, data.len())
        .reshape(&shape.map(|d| d as isize))
}

#[test]
fn relu_backward_and_bias_gradients_match_the_cpu() {
    // Planes that are whole vec4s and planes that are not (their edge vec4s
    // are shared with the neighbouring planes), batches of more than one
    // image per lane (64 lanes per channel), and dy and y at offsets that
    // allow vec4 loads (multiples of 4) and that do not (scalar loads).
    let shapes = [
        ([5, 3, 7, 5], 20),
        ([130, 3, 3, 3], 21),
        ([9, 16, 4, 4], 22),
        ([70, 2, 16, 16], 23),
        ([3, 5, 1, 1], 24),
    ];
    for (shape, seed) in shapes {
        let numel: usize = shape.iter().product();
        let dy = values(numel, -1.0, 1.0, seed);
        // y is a ReLU's output: zeros and positives.
        let y: Vec<f32> = values(numel, -1.0, 1.0, seed + 1)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let want: Vec<f32> = dy
            .iter()
            .zip(&y)
            .map(|(&g, &v)| if v > 0.0 { g } else { 0.0 })
            .collect();
        let plane = shape[2] * shape[3];
        let channel_sums = |v: &[f32]| {
            let mut sums = vec![0.0f32; shape[1]];
            for (i, v) in v.iter().enumerate() {
                sums[(i / plane) % shape[1]] += v;
            }
            sums
        };
        let want_db = channel_sums(&want);
        for (dy_offset, y_offset) in [(0, 0), (1, 3), (4, 8), (4, 2)] {
            let what = format!("{shape:?}, dy at {dy_offset}, y at {y_offset}");
            let tdy = at_offset(&dy, shape, dy_offset);
            let ty = at_offset(&y, shape, y_offset);
            let (dx, db) = try_conv2d_relu_backward_bias(&tdy, &ty).expect("valid shapes");
            assert_eq!(dx.shape(), shape);
            assert_close(&format!("relu mask {what}"), &read(&dx), &want, TOL);
            assert_close(&format!("masked bias {what}"), &read(&db), &want_db, TOL);
            let db = try_conv2d_backward_bias(&tdy).expect("4-D");
            assert_close(&format!("bias {what}"), &read(&db), &channel_sums(&dy), TOL);
        }
    }
    let err =
        try_conv2d_relu_backward_bias(&Tensor::zeros(&[1, 2, 3, 3]), &Tensor::zeros(&[1, 2, 3, 4]))
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("conv2d_relu_backward_bias") && err.contains("[1, 2, 3, 4]"),
        "{err}"
    );
}
