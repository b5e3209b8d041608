//! Softmax and log-softmax, forward and backward, against f64 CPU twins.

use wgrad_tensor::Tensor;

use crate::common::{assert_close, read, values};

/// `[outer, n, inner]` around dim `d` of `shape`.
fn split(shape: &[usize], d: usize) -> (usize, usize, usize) {
    (
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    )
}

/// The storage indices of each row (the middle axis of `[outer, n, inner]`).
fn rows((outer, n, inner): (usize, usize, usize)) -> Vec<Vec<usize>> {
    (0..outer)
        .flat_map(|o| (0..inner).map(move |j| (0..n).map(|k| (o * n + k) * inner + j).collect()))
        .collect()
}

/// Applies `f` to each row of `data` in f64.
fn per_row(data: &[f32], sp: (usize, usize, usize), f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f32> {
    per_row_pair(data, data, sp, |x, _| f(x))
}

/// Applies `f` to each pair of rows of `a` and `b` (the backward formulas
/// need y and dy) in f64.
fn per_row_pair(
    a: &[f32],
    b: &[f32],
    sp: (usize, usize, usize),
    f: impl Fn(&[f64], &[f64]) -> Vec<f64>,
) -> Vec<f32> {
    let mut out = vec![0.0f32; a.len()];
    for idx in rows(sp) {
        let ra: Vec<f64> = idx.iter().map(|&i| f64::from(a[i])).collect();
        let rb: Vec<f64> = idx.iter().map(|&i| f64::from(b[i])).collect();
        for (&i, v) in idx.iter().zip(f(&ra, &rb)) {
            out[i] = v as f32;
        }
    }
    out
}

/// A CPU twin of one row's forward.
type RowFn = fn(&[f64]) -> Vec<f64>;

fn softmax_row(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
    x.iter().map(|v| (v - m).exp() / s).collect()
}

fn log_softmax_row(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_s = x.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    x.iter().map(|v| v - m - log_s).collect()
}

/// dx = y * (dy - sum(dy * y))
fn softmax_backward_row(y: &[f64], dy: &[f64]) -> Vec<f64> {
    let dot: f64 = y.iter().zip(dy).map(|(a, b)| a * b).sum();
    y.iter().zip(dy).map(|(a, b)| a * (b - dot)).collect()
}

/// dx = dy - exp(y) * sum(dy)
fn log_softmax_backward_row(y: &[f64], dy: &[f64]) -> Vec<f64> {
    let total: f64 = dy.iter().sum();
    y.iter().zip(dy).map(|(a, b)| b - a.exp() * total).collect()
}

/// Odd shapes, and long rows with few of them ([3, 5000] over dim 1 and
/// [5000, 3] over dim 0), which take the composed path.
const SHAPES: [&[usize]; 6] = [&[1], &[7], &[65], &[3, 5, 7], &[3, 5000], &[5000, 3]];

#[test]
fn softmax_and_log_softmax_match_the_cpu_along_every_dim() {
    for (s, shape) in SHAPES.iter().enumerate() {
        let data = values(shape.iter().product(), -4.0, 4.0, s as u32);
        let x = Tensor::from_slice(&data, shape);
        for d in 0..shape.len() {
            let arg = if d % 2 == 1 {
                d as isize - shape.len() as isize
            } else {
                d as isize
            };
            let what = format!("{shape:?} dim {arg}");
            let y = x.softmax(arg);
            assert_eq!(y.shape(), *shape);
            let want = per_row(&data, split(shape, d), softmax_row);
            assert_close(&format!("softmax {what}"), &read(&y), &want, 1e-5);
            let want = per_row(&data, split(shape, d), log_softmax_row);
            assert_close(
                &format!("log_softmax {what}"),
                &read(&x.log_softmax(arg)),
                &want,
                1e-5,
            );
        }
    }
}

#[test]
fn softmax_rows_sum_to_one() {
    let shape = [3, 5, 7];
    let x = Tensor::from_slice(&values(105, -10.0, 10.0, 4), &shape);
    for d in 0..3 {
        let sums = read(&x.softmax(d).sum_dim(d, false));
        let n = 105 / shape[d as usize];
        assert_close(&format!("row sums dim {d}"), &sums, &vec![1.0; n], 1e-6);
    }
    let long = Tensor::from_slice(&values(10_000, -10.0, 10.0, 5), &[2, 5000]);
    assert_close(
        "long rows",
        &read(&long.softmax(1).sum_dim(1, false)),
        &[1.0, 1.0],
        1e-5,
    );
}

#[test]
fn huge_inputs_give_neither_inf_nor_nan() {
    let ln2 = std::f32::consts::LN_2;
    let data = [1000.0f32, -1000.0, 0.0, 1000.0];
    for shape in [[4usize].as_slice(), &[1, 4]] {
        let x = Tensor::from_slice(&data, shape);
        assert_eq!(read(&x.softmax(-1)), vec![0.5, 0.0, 0.0, 0.5]);
        let want = [-ln2, -2000.0 - ln2, -1000.0 - ln2, -ln2];
        assert_close("log_softmax", &read(&x.log_softmax(-1)), &want, 1e-5);
    }
    // The composed path (one long row) is just as stable.
    let mut long = vec![-1000.0f32; 6000];
    long[17] = 1000.0;
    let y = read(&Tensor::from_slice(&long, &[6000]).softmax(0));
    assert!(
        y.iter().all(|v| v.is_finite()) && y[17] == 1.0,
        "{:?}",
        &y[..20]
    );
    let ly = read(&Tensor::from_slice(&long, &[6000]).log_softmax(0));
    assert!(ly.iter().all(|v| v.is_finite()) && ly[17] == 0.0 && ly[0] == -2000.0);
}

#[test]
fn contiguous_rows_of_four_match_the_strided_kernel_bit_for_bit() {
    // Rows of 12 along the last dim take the vec4 kernels; the same rows as
    // columns (dim 0 of the transpose) the strided ones. Same steps, same bits,
    // NaN and huge values included.
    let mut data = values(7 * 12, -30.0, 30.0, 9);
    data[5] = f32::NAN;
    data[12 + 3] = 1000.0;
    data[24] = -1000.0;
    let x = Tensor::from_slice(&data, &[7, 12]);
    let xt = x.t().contiguous(); // [12, 7]
    let bits = |t: &Tensor| -> Vec<u32> { read(t).iter().map(|v| v.to_bits()).collect() };
    assert_eq!(bits(&x.softmax(1)), bits(&xt.softmax(0).t().contiguous()));
    assert_eq!(
        bits(&x.log_softmax(1)),
        bits(&xt.log_softmax(0).t().contiguous())
    );
    // A row of 4 (one vec4, no loop) and many rows.
    let x = Tensor::from_slice(&data[..4 * 21], &[21, 4]);
    let xt = x.t().contiguous();
    assert_eq!(bits(&x.softmax(1)), bits(&xt.softmax(0).t().contiguous()));
}

#[test]
fn a_nan_makes_only_its_own_row_nan() {
    let x = Tensor::from_slice(&[1.0f32, f32::NAN, 2.0, 1.0, 2.0, 3.0], &[2, 3]);
    let y = read(&x.softmax(1));
    assert!(y[..3].iter().all(|v| v.is_nan()), "{y:?}");
    let want = softmax_row(&[1.0, 2.0, 3.0]);
    let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
    assert_close("clean row", &y[3..], &want, 1e-6);
}

#[test]
fn softmax_reads_transposed_views() {
    let data = values(35, -3.0, 3.0, 6);
    let x = Tensor::from_slice(&data, &[5, 7]).t(); // [7, 5]; x[i][j] = data[j * 7 + i]
    let dense: Vec<f32> = (0..35).map(|k| data[(k % 5) * 7 + k / 5]).collect();
    for d in 0..2 {
        let want = per_row(&dense, split(&[7, 5], d), softmax_row);
        assert_close(
            &format!("dim {d}"),
            &read(&x.softmax(d as isize)),
            &want,
            1e-5,
        );
    }
    let dy = Tensor::from_slice(&values(35, -1.0, 1.0, 7), &[5, 7]).t();
    let y = x.softmax(1);
    let want = per_row_pair(
        &read(&y),
        &read(&dy),
        split(&[7, 5], 1),
        softmax_backward_row,
    );
    assert_close(
        "backward with transposed dy",
        &read(&y.softmax_backward(&dy, 1)),
        &want,
        1e-5,
    );
}

#[test]
fn empty_and_zero_dim_inputs() {
    assert_eq!(Tensor::zeros(&[0]).softmax(0).shape(), &[0]);
    assert_eq!(Tensor::zeros(&[3, 0]).log_softmax(0).shape(), &[3, 0]);
    let g = Tensor::zeros(&[0, 4]);
    assert_eq!(g.softmax_backward(&g, 1).shape(), &[0, 4]);
    // A 0-dim tensor is a row of one: softmax 1, log_softmax 0.
    assert_eq!(read(&Tensor::scalar(3.0).softmax(0)), vec![1.0]);
    assert_eq!(read(&Tensor::scalar(3.0).log_softmax(0)), vec![0.0]);
}

#[test]
fn backward_kernels_match_the_cpu_formulas() {
    for (s, shape) in SHAPES.iter().enumerate() {
        let numel = shape.iter().product();
        let x = Tensor::from_slice(&values(numel, -3.0, 3.0, 30 + s as u32), shape);
        let dy_data = values(numel, -1.0, 1.0, 40 + s as u32);
        let dy = Tensor::from_slice(&dy_data, shape);
        for d in 0..shape.len() {
            let sp = split(shape, d);
            let what = format!("{shape:?} dim {d}");
            let y = x.softmax(d as isize);
            let want = per_row_pair(&read(&y), &dy_data, sp, softmax_backward_row);
            let got = read(&y.softmax_backward(&dy, d as isize));
            assert_close(&format!("softmax_backward {what}"), &got, &want, 1e-5);
            let y = x.log_softmax(d as isize);
            let want = per_row_pair(&read(&y), &dy_data, sp, log_softmax_backward_row);
            let got = read(&Tensor::log_softmax_backward(&y, &dy, d as isize));
            assert_close(&format!("log_softmax_backward {what}"), &got, &want, 1e-4);
        }
    }
}

#[test]
fn backward_kernels_are_the_derivatives_of_the_forward() {
    // L(x) = sum(dy * f(x)); dL/dx_i by central differences of the f64 twin.
    let shape = [2, 5];
    let x_data = values(10, -2.0, 2.0, 50);
    let dy_data = values(10, -1.0, 1.0, 51);
    let x = Tensor::from_slice(&x_data, &shape);
    let dy = Tensor::from_slice(&dy_data, &shape);
    let rows: [RowFn; 2] = [softmax_row, log_softmax_row];
    for (log, f) in [false, true].into_iter().zip(rows) {
        let loss = |xs: &[f32]| -> f64 {
            let y = per_row(xs, (2, 5, 1), f);
            y.iter()
                .zip(&dy_data)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum()
        };
        let h = 1e-2f32;
        let numeric: Vec<f32> = (0..10)
            .map(|i| {
                let (mut up, mut down) = (x_data.clone(), x_data.clone());
                up[i] += h;
                down[i] -= h;
                ((loss(&up) - loss(&down)) / (2.0 * f64::from(h))) as f32
            })
            .collect();
        let got = if log {
            x.log_softmax(1).log_softmax_backward(&dy, 1)
        } else {
            x.softmax(1).softmax_backward(&dy, 1)
        };
        assert_close(
            &format!("log={log} vs finite differences"),
            &read(&got),
            &numeric,
            1e-2,
        );
    }
}

#[test]
fn backward_checks_shapes_and_dims() {
    let y = Tensor::zeros(&[3, 4]);
    let e = y
        .try_softmax_backward(&Tensor::zeros(&[4, 3]), 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("softmax_backward") && e.contains("[3, 4]") && e.contains("[4, 3]"),
        "{e}"
    );
    let e = y.try_log_softmax_backward(&y, 2).unwrap_err().to_string();
    assert!(
        e.contains("log_softmax_backward") && e.contains("rank 2"),
        "{e}"
    );
    let e = y.try_softmax(-3).unwrap_err().to_string();
    assert!(e.contains("softmax") && e.contains("rank 2"), "{e}");
    let e = y.try_log_softmax(2).unwrap_err().to_string();
    assert!(e.contains("log_softmax") && e.contains("rank 2"), "{e}");
}
