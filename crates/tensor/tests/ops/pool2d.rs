//! max_pool2d and avg_pool2d, forward and backward, against plain-loop CPU
//! twins written from PyTorch's definitions.
//!
//! Tolerance: 1e-4, absolute or relative (`assert_close`); max pooling's
//! values and indices are compared exactly.

use wgrad_tensor::Tensor;
use wgrad_tensor::ops::pool2d::{
    AvgPool2dOptions, MaxPool2dOptions, avg_pool2d_backward, max_pool2d_backward, try_avg_pool2d,
    try_avg_pool2d_backward, try_max_pool2d, try_max_pool2d_backward,
};

use crate::common::{assert_close, read, values};

const TOL: f32 = 1e-4;

/// PyTorch's output size (`pooling_output_shape`).
fn out_size(i: usize, k: usize, p: usize, s: usize, d: usize, ceil: bool) -> usize {
    let num = (i + 2 * p - d * (k - 1) - 1) as f64 / s as f64;
    let mut o = if ceil { num.ceil() } else { num.floor() } as usize + 1;
    if ceil && (o - 1) * s >= i + p {
        o -= 1;
    }
    o
}

/// Max pooling of one NCHW tensor: values and flat in-plane indices. The
/// scan is row-major and only a strictly larger value replaces the best,
/// so ties keep the first position (PyTorch's rule).
fn cpu_max_pool(
    x: &[f32],
    xs: [usize; 4],
    o: &MaxPool2dOptions,
) -> (Vec<f32>, Vec<i32>, [usize; 4]) {
    let [n, c, h, w] = xs;
    let (k, p, d) = (o.kernel, o.padding, o.dilation);
    let s = o.stride.unwrap_or(k);
    let oh = out_size(h, k.0, p.0, s.0, d.0, o.ceil_mode);
    let ow = out_size(w, k.1, p.1, s.1, d.1, o.ceil_mode);
    let (mut y, mut idx) = (Vec::new(), Vec::new());
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = (f32::NEG_INFINITY, -1i32);
                for ky in 0..k.0 {
                    for kx in 0..k.1 {
                        let iy = (oy * s.0 + ky * d.0) as isize - p.0 as isize;
                        let ix = (ox * s.1 + kx * d.1) as isize - p.1 as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        let flat = iy as usize * w + ix as usize;
                        let v = x[plane * h * w + flat];
                        if v > best.0 || best.1 < 0 {
                            best = (v, flat as i32);
                        }
                    }
                }
                y.push(best.0);
                idx.push(best.1);
            }
        }
    }
    (y, idx, [n, c, oh, ow])
}

/// Average pooling and its gradient for one case: the window's sum over
/// PyTorch's divisor, and dx scattered back with the same divisor.
fn cpu_avg_pool(
    x: &[f32],
    xs: [usize; 4],
    dy: Option<&[f32]>,
    o: &AvgPool2dOptions,
) -> (Vec<f32>, Vec<f32>, [usize; 4]) {
    let [n, c, h, w] = xs;
    let (k, p) = (o.kernel, o.padding);
    let s = o.stride.unwrap_or(k);
    let oh = out_size(h, k.0, p.0, s.0, 1, o.ceil_mode);
    let ow = out_size(w, k.1, p.1, s.1, 1, o.ceil_mode);
    let (mut y, mut dx) = (Vec::new(), vec![0.0; x.len()]);
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let (y0, x0) = (
                    (oy * s.0) as isize - p.0 as isize,
                    (ox * s.1) as isize - p.1 as isize,
                );
                // The window clipped to the padded input, then to the input.
                let y1 = (y0 + k.0 as isize).min((h + p.0) as isize);
                let x1 = (x0 + k.1 as isize).min((w + p.1) as isize);
                let padded = (y1 - y0) * (x1 - x0);
                let (ys, xs_, ye, xe) =
                    (y0.max(0), x0.max(0), y1.min(h as isize), x1.min(w as isize));
                let divisor = if o.count_include_pad {
                    padded
                } else {
                    (ye - ys) * (xe - xs_)
                } as f32;
                let mut sum = 0.0;
                let o_i = (plane * oh + oy) * ow + ox;
                for iy in ys..ye {
                    for ix in xs_..xe {
                        let i = plane * h * w + iy as usize * w + ix as usize;
                        sum += x[i];
                        if let Some(dy) = dy {
                            dx[i] += dy[o_i] / divisor;
                        }
                    }
                }
                y.push(sum / divisor);
            }
        }
    }
    (y, dx, [n, c, oh, ow])
}

fn max_opts(kernel: usize, stride: Option<usize>, padding: usize) -> MaxPool2dOptions {
    MaxPool2dOptions {
        stride: stride.map(|s| (s, s)),
        padding: (padding, padding),
        ..MaxPool2dOptions::new((kernel, kernel))
    }
}

/// Forward (values and indices exactly) and backward of one max-pool case.
fn check_max(what: &str, x: &[f32], tx: &Tensor, xs: [usize; 4], o: MaxPool2dOptions) {
    let (y, idx) = try_max_pool2d(tx, o).expect(what);
    let (want_y, want_idx, ys) = cpu_max_pool(x, xs, &o);
    assert_eq!(y.shape(), ys, "{what}");
    assert_eq!(read(&y), want_y, "{what}: values");
    assert_eq!(
        idx.to_vec::<i32>().expect("read-back"),
        want_idx,
        "{what}: indices"
    );
    // dx scatters dy through the indices, summing where windows overlap.
    let dy = values(want_y.len(), -1.0, 1.0, 9);
    let mut dx = vec![0.0; x.len()];
    let plane = ys[2] * ys[3];
    for (i, (&g, &at)) in dy.iter().zip(&want_idx).enumerate() {
        dx[(i / plane) * xs[2] * xs[3] + at as usize] += g;
    }
    let got = max_pool2d_backward(&Tensor::from_slice(&dy, &ys), &idx, &xs, o);
    assert_close(&format!("{what}: backward"), &read(&got), &dx, TOL);
}

fn check_avg(what: &str, x: &[f32], tx: &Tensor, xs: [usize; 4], o: AvgPool2dOptions) {
    let y = try_avg_pool2d(tx, o).expect(what);
    let dy = values(y.numel(), -1.0, 1.0, 10);
    let (want_y, want_dx, ys) = cpu_avg_pool(x, xs, Some(&dy), &o);
    assert_eq!(y.shape(), ys, "{what}");
    assert_close(what, &read(&y), &want_y, TOL);
    let got = avg_pool2d_backward(&Tensor::from_slice(&dy, &ys), &xs, o);
    assert_close(&format!("{what}: backward"), &read(&got), &want_dx, TOL);
}

#[test]
fn max_pool2d_and_its_gradient_match_the_cpu_on_odd_shapes() {
    let xs = [2, 3, 7, 9];
    let x = values(2 * 3 * 7 * 9, -1.0, 1.0, 1);
    let tx = Tensor::from_slice(&x, &xs);
    for kernel in [2, 3] {
        for stride in [Some(1), Some(2), None] {
            for padding in [0, 1] {
                let o = max_opts(kernel, stride, padding);
                check_max(&format!("{o:?}"), &x, &tx, xs, o);
                let o = MaxPool2dOptions {
                    ceil_mode: true,
                    ..o
                };
                check_max(&format!("{o:?}"), &x, &tx, xs, o);
            }
        }
    }
    let o = MaxPool2dOptions {
        dilation: (2, 3),
        ..max_opts(3, Some(1), 1)
    };
    check_max("dilation (2, 3)", &x, &tx, xs, o);
    let o = MaxPool2dOptions {
        kernel: (2, 3),
        stride: Some((1, 2)),
        padding: (1, 0),
        ..o
    };
    check_max("kernel (2, 3)", &x, &tx, xs, o);
}

#[test]
fn avg_pool2d_and_its_gradient_match_the_cpu_on_odd_shapes() {
    let xs = [2, 3, 7, 9];
    let x = values(2 * 3 * 7 * 9, -1.0, 1.0, 2);
    let tx = Tensor::from_slice(&x, &xs);
    for kernel in [2, 3] {
        for stride in [Some(1), Some(2), None] {
            for padding in [0, 1] {
                for (ceil_mode, count_include_pad) in
                    [(false, true), (true, true), (true, false), (false, false)]
                {
                    let o = AvgPool2dOptions {
                        stride: stride.map(|s| (s, s)),
                        padding: (padding, padding),
                        ceil_mode,
                        count_include_pad,
                        ..AvgPool2dOptions::new((kernel, kernel))
                    };
                    check_avg(&format!("{o:?}"), &x, &tx, xs, o);
                }
            }
        }
    }
}

#[test]
fn max_pool2d_ties_keep_the_first_maximum_in_scan_order() {
    // One 2x3 plane, 2x2 windows at stride 1:
    //   1 5 5
    //   5 2 5
    // Window (0, 0) holds 1 5 / 5 2: the 5 at flat 1 comes before the 5 at 3.
    // Window (0, 1) holds 5 5 / 2 5: the first, flat 1, again.
    let x = Tensor::from_slice(&[1.0f32, 5.0, 5.0, 5.0, 2.0, 5.0], &[1, 1, 2, 3]);
    let o = max_opts(2, Some(1), 0);
    let (y, idx) = x.max_pool2d(o);
    assert_eq!(read(&y), vec![5.0, 5.0]);
    assert_eq!(idx.to_vec::<i32>().expect("read-back"), vec![1, 1]);
    // So the whole gradient of both windows lands on flat 1.
    let dx = max_pool2d_backward(
        &Tensor::from_slice(&[1.0f32, 10.0], &[1, 1, 1, 2]),
        &idx,
        &[1, 1, 2, 3],
        o,
    );
    assert_eq!(read(&dx), vec![0.0, 11.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn max_pool2d_lets_a_nan_win_and_points_padding_windows_inside_the_input() {
    let x = Tensor::from_slice(&[1.0f32, f32::NAN, 3.0, f32::NEG_INFINITY], &[1, 1, 2, 2]);
    let (y, idx) = x.max_pool2d(max_opts(2, None, 0));
    assert!(read(&y)[0].is_nan());
    assert_eq!(idx.to_vec::<i32>().expect("read-back"), vec![1]);
    // A window of only -inf and padding still names a real position: the
    // first in-bounds one, as PyTorch's index starts there.
    let x = Tensor::full(&[1, 1, 1, 3], f32::NEG_INFINITY);
    let (y, idx) = x.max_pool2d(max_opts(3, Some(1), 1));
    assert_eq!(read(&y), vec![f32::NEG_INFINITY; 3]);
    assert_eq!(idx.to_vec::<i32>().expect("read-back"), vec![0, 0, 1]);
}

#[test]
fn pooling_reads_a_permuted_view() {
    // Stored as [n, h, w, c], viewed as NCHW.
    let nhwc = values(2 * 7 * 9 * 3, -1.0, 1.0, 3);
    let tx = Tensor::from_slice(&nhwc, &[2, 7, 9, 3]).permute(&[0, 3, 1, 2]);
    let x: Vec<f32> = (0..nhwc.len())
        .map(|k| {
            let (b, c, i, j) = (k / 189, (k / 63) % 3, (k / 9) % 7, k % 9);
            nhwc[((b * 7 + i) * 9 + j) * 3 + c]
        })
        .collect();
    check_max(
        "max of a view",
        &x,
        &tx,
        [2, 3, 7, 9],
        max_opts(3, Some(2), 1),
    );
    check_avg(
        "avg of a view",
        &x,
        &tx,
        [2, 3, 7, 9],
        AvgPool2dOptions::new((2, 2)),
    );
}

#[test]
fn pooling_an_empty_batch_gives_empty_results() {
    let x = Tensor::zeros(&[0, 3, 7, 9]);
    let (y, idx) = x.max_pool2d(max_opts(2, None, 0));
    assert_eq!(
        (y.shape(), idx.shape()),
        (&[0, 3, 3, 4][..], &[0, 3, 3, 4][..])
    );
    let dx = max_pool2d_backward(&y, &idx, &[0, 3, 7, 9], max_opts(2, None, 0));
    assert_eq!(dx.shape(), [0, 3, 7, 9]);
    let o = AvgPool2dOptions::new((3, 3));
    assert_eq!(x.avg_pool2d(o).shape(), [0, 3, 2, 3]);
    assert!(
        read(&avg_pool2d_backward(
            &Tensor::zeros(&[0, 3, 2, 3]),
            &[0, 3, 7, 9],
            o
        ))
        .is_empty()
    );
}

#[test]
fn pooling_covers_a_two_dimensional_grid() {
    // 2049 x 2049 inputs and 2050 x 2049 outputs: both more than 64 * 65535
    // invocations, so forward and backward grids need a y dimension.
    let xs = [1, 1, 2049, 2049];
    let x = values(2049 * 2049, -1.0, 1.0, 4);
    let tx = Tensor::from_slice(&x, &xs);
    let o = MaxPool2dOptions {
        kernel: (2, 1),
        stride: Some((1, 1)),
        padding: (1, 0),
        ..MaxPool2dOptions::new((2, 1))
    };
    check_max("max over a 2-D grid", &x, &tx, xs, o);
    let o = AvgPool2dOptions {
        stride: Some((1, 1)),
        padding: (1, 0),
        ..AvgPool2dOptions::new((2, 1))
    };
    check_avg("avg over a 2-D grid", &x, &tx, xs, o);
}

#[test]
fn non_overlapping_max_pool_gradients_scatter_past_one_grid_pass() {
    // Windows that never share an input position take the scatter backward
    // (dx zeroed, each output writes its dy): 2 x 2 at stride 2 over more
    // outputs than one pass of the capped grid covers, with an odd width
    // and ceil mode, and dilated windows at stride = dilated kernel.
    let xs = [4, 8, 300, 303];
    let x = values(xs.iter().product(), -1.0, 1.0, 5);
    let tx = Tensor::from_slice(&x, &xs);
    let o = MaxPool2dOptions {
        ceil_mode: true,
        ..max_opts(2, None, 0)
    };
    check_max("2 x 2 at stride 2, ceil mode", &x, &tx, xs, o);
    let xs = [2, 3, 31, 29];
    let x = values(xs.iter().product(), -1.0, 1.0, 6);
    let tx = Tensor::from_slice(&x, &xs);
    let o = MaxPool2dOptions {
        dilation: (2, 3),
        stride: Some((3, 4)),
        padding: (1, 1),
        ..MaxPool2dOptions::new((2, 2))
    };
    check_max("dilated, stride = span", &x, &tx, xs, o);
}

#[test]
fn two_column_windows_at_stride_two_match_the_cpu() {
    // Widths and output widths that are multiples of 4 take max_pool2d_w2
    // (four outputs per item, vec4 loads): LeNet's two poolings, odd rows
    // with a taller padded window, and ties and NaNs inside the vectors.
    for xs in [[50, 6, 24, 24], [50, 16, 8, 8], [2, 3, 17, 16]] {
        let x = values(xs.iter().product(), -1.0, 1.0, 8);
        let tx = Tensor::from_slice(&x, &xs);
        check_max(
            &format!("2 x 2 over {xs:?}"),
            &x,
            &tx,
            xs,
            max_opts(2, None, 0),
        );
        let o = MaxPool2dOptions {
            kernel: (3, 2),
            stride: Some((1, 2)),
            padding: (1, 0),
            ..MaxPool2dOptions::new((3, 2))
        };
        check_max(&format!("3 x 2 over {xs:?}"), &x, &tx, xs, o);
    }
    let xs = [1, 2, 4, 8];
    let mut x = vec![0.5; 64];
    x[3] = f32::NAN; // window (0, 1) of plane 0
    x[32 + 9] = 2.0; // row 1, column 1 of plane 1
    x[32 + 8] = 2.0; // the tie before it in scan order wins
    let tx = Tensor::from_slice(&x, &xs);
    let (y, idx) = tx.max_pool2d(max_opts(2, None, 0));
    let (y, idx) = (read(&y), idx.to_vec::<i32>().unwrap());
    assert!(y[1].is_nan() && idx[1] == 3, "{y:?} {idx:?}");
    assert_eq!((y[0], idx[0]), (0.5, 0), "a tie keeps the first");
    assert_eq!((y[8], idx[8]), (2.0, 8), "{y:?} {idx:?}");
}

#[test]
fn two_column_windows_gather_their_gradient_eight_elements_at_a_time() {
    // Non-overlapping windows two columns wide at stride 2 over widths that
    // are multiples of 8 take max_pool2d_backward_w2 (a gather, no
    // zero-fill), whatever the output width: 40 -> 20 here, which the
    // forward pass does not vectorise (28 -> 14 falls back to the
    // scatter). Rows: a leftover row past the last window, row padding
    // with ceil mode, and a row stride longer than the window (rows no
    // window covers get 0). The last shape is large: 365K items, about 22
    // for each invocation of its grid.
    let cases = [
        ([3, 5, 12, 40], max_opts(2, None, 0)),
        ([3, 5, 28, 28], max_opts(2, None, 0)),
        ([2, 3, 17, 16], max_opts(2, None, 0)),
        (
            [2, 3, 17, 16],
            MaxPool2dOptions {
                stride: Some((3, 2)),
                padding: (1, 0),
                ceil_mode: true,
                ..MaxPool2dOptions::new((3, 2))
            },
        ),
        (
            [1, 2, 13, 8],
            MaxPool2dOptions {
                stride: Some((4, 2)),
                ..MaxPool2dOptions::new((2, 2))
            },
        ),
        ([4, 8, 300, 304], max_opts(2, None, 0)),
    ];
    for (xs, o) in cases {
        let x = values(xs.iter().product(), -1.0, 1.0, 11);
        let tx = Tensor::from_slice(&x, &xs);
        check_max(&format!("{o:?} over {xs:?}"), &x, &tx, xs, o);
    }
}

#[test]
fn a_gradient_and_indices_at_offsets_give_the_same_gradient() {
    // dy and indices that are views 1 or 2 elements into their buffers
    // (not where a vec4 starts): the backward makes them dense first, and
    // the gradient (copies of dy values) is exactly the same.
    let xs = [2, 3, 8, 16];
    let x = values(xs.iter().product(), -1.0, 1.0, 12);
    let o = max_opts(2, None, 0);
    let (_, idx) = Tensor::from_slice(&x, &xs).max_pool2d(o);
    let ys = [2, 3, 4, 8];
    let n: usize = ys.iter().product();
    let dy = values(n, -1.0, 1.0, 13);
    let aligned = max_pool2d_backward(&Tensor::from_slice(&dy, &ys), &idx, &xs, o);
    let idx_values = idx.to_vec::<i32>().expect("read-back");
    for offset in [1, 2] {
        // The same values `offset` elements into their buffers.
        let shifted_dy = [vec![0.0; offset], dy.clone()].concat();
        let shifted_idx = [vec![0; offset], idx_values.clone()].concat();
        let at = |t: Tensor| t.narrow(0, offset, n).view(&[2, 3, 4, 8]);
        let dy_at = at(Tensor::from_slice(&shifted_dy, &[n + offset]));
        let idx_at = at(Tensor::from_slice(&shifted_idx, &[n + offset]));
        let got = max_pool2d_backward(&dy_at, &idx, &xs, o);
        assert_eq!(read(&got), read(&aligned), "dy at offset {offset}");
        let got = max_pool2d_backward(&Tensor::from_slice(&dy, &ys), &idx_at, &xs, o);
        assert_eq!(read(&got), read(&aligned), "indices at offset {offset}");
    }
}

/// The error of a failed call, as text.
fn err<T: std::fmt::Debug>(r: wgrad_tensor::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn pooling_errors_name_the_op_and_the_shapes() {
    let x = Tensor::zeros(&[2, 3, 7, 9]);
    let e = err(try_max_pool2d(
        &Tensor::zeros(&[3, 7, 9]),
        max_opts(2, None, 0),
    ));
    assert!(e.contains("max_pool2d") && e.contains("[3, 7, 9]"), "{e}");
    let e = err(try_max_pool2d(&x, max_opts(3, None, 2)));
    assert!(
        e.contains("max_pool2d") && e.contains("padding (2, 2)") && e.contains("[2, 3, 7, 9]"),
        "{e}"
    );
    let e = err(try_avg_pool2d(&x, AvgPool2dOptions::new((8, 2))));
    assert!(
        e.contains("avg_pool2d") && e.contains("too small") && e.contains("[2, 3, 7, 9]"),
        "{e}"
    );
    let e = err(try_avg_pool2d(
        &x,
        AvgPool2dOptions {
            stride: Some((0, 1)),
            ..AvgPool2dOptions::new((2, 2))
        },
    ));
    assert!(
        e.contains("avg_pool2d") && e.contains("stride (0, 1)"),
        "{e}"
    );

    let o = max_opts(2, None, 0); // [2, 3, 7, 9] -> [2, 3, 3, 4]
    let (y, idx) = x.max_pool2d(o);
    let bad = Tensor::zeros(&[2, 3, 3, 3]);
    let e = err(try_max_pool2d_backward(&bad, &idx, &[2, 3, 7, 9], o));
    assert!(
        e.contains("max_pool2d_backward")
            && e.contains("[2, 3, 3, 3]")
            && e.contains("[2, 3, 3, 4]"),
        "{e}"
    );
    let e = err(try_max_pool2d_backward(&y, &y, &[2, 3, 7, 9], o));
    assert!(
        e.contains("max_pool2d_backward") && e.contains("F32"),
        "{e}"
    );
    let e = err(try_avg_pool2d_backward(
        &bad,
        &[2, 3, 7, 9],
        AvgPool2dOptions::new((2, 2)),
    ));
    assert!(
        e.contains("avg_pool2d_backward")
            && e.contains("[2, 3, 3, 3]")
            && e.contains("[2, 3, 3, 4]"),
        "{e}"
    );
}
