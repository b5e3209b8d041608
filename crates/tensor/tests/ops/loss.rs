//! The fused cross-entropy kernels against the CPU formula.

use wgrad_tensor::ops::loss::CrossEntropyGrad;
use wgrad_tensor::{Tensor, TensorError};

use crate::common::{assert_close, values};

/// The CPU twin: per-row losses and weights (`[2, n]` flattened) and the
/// gradient `g_i * w_i / d * (softmax(x[i]) - onehot(t[i]))`, in f64.
/// `g` has one value or one per row; `mean` divides by the counted rows.
fn cpu(
    x: &[f32],
    t: &[i32],
    c: usize,
    ignore: Option<i32>,
    g: &[f32],
    mean: bool,
) -> (Vec<f32>, Vec<f32>) {
    let n = t.len();
    let counted: Vec<bool> = t.iter().map(|&l| Some(l) != ignore).collect();
    let count = counted.iter().filter(|&&c| c).count() as f64;
    let mut loss = vec![0.0f32; 2 * n];
    let mut dx = vec![0.0f32; n * c];
    for (i, &label) in t.iter().enumerate() {
        if !counted[i] {
            continue;
        }
        let row: Vec<f64> = x[i * c..(i + 1) * c]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        loss[i] = (m + s.ln() - row[label as usize]) as f32;
        loss[n + i] = 1.0;
        let gi = f64::from(if g.len() == 1 { g[0] } else { g[i] }) / if mean { count } else { 1.0 };
        for (j, v) in row.iter().enumerate() {
            let onehot = if j == label as usize { 1.0 } else { 0.0 };
            dx[i * c + j] = (gi * ((v - m).exp() / s - onehot)) as f32;
        }
    }
    (loss, dx)
}

fn targets(n: usize, c: usize, seed: u32) -> Vec<i32> {
    values(n, 0.0, c as f32, seed)
        .iter()
        .map(|&v| (v as i32).min(c as i32 - 1))
        .collect()
}

fn read(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().unwrap()
}

#[test]
fn row_losses_and_gradients_match_the_cpu() {
    // One row, odd sizes, many classes, more rows than one workgroup; with
    // and without an ignored class.
    let shapes = [(1, 1), (3, 7), (64, 10), (130, 1000), (4099, 3)];
    for (k, &(n, c)) in shapes.iter().enumerate() {
        for ignore in [None, Some(0)] {
            let what = format!("[{n}, {c}] ignore {ignore:?}");
            let seed = 10 * k as u32;
            let xv = values(n * c, -8.0, 8.0, seed);
            let tv = targets(n, c, seed + 1);
            let x = Tensor::from_slice(&xv, &[n, c]);
            let t = Tensor::from_slice(&tv, &[n]);
            let rows = x.try_cross_entropy_rows(&t, ignore).unwrap();
            let (want_rows, _) = cpu(&xv, &tv, c, ignore, &[1.0], false);
            assert_close(&format!("rows {what}"), &read(&rows), &want_rows, 1e-5);

            // The fused mean: [loss sum, counted rows, mean].
            let mean = x.try_cross_entropy_mean(&t, ignore).unwrap();
            let total: f64 = want_rows[..n].iter().map(|&v| f64::from(v)).sum();
            let count: f64 = want_rows[n..].iter().map(|&v| f64::from(v)).sum();
            let want_mean = [total as f32, count as f32, (total / count) as f32];
            assert_close(&format!("mean {what}"), &read(&mean), &want_mean, 1e-4);

            // The same mean with its gradient for g = 1, from one workgroup
            // (lanes take 1 to 65 rows here).
            let (mean, dx) = x.try_cross_entropy_mean_with_grad(&t, ignore).unwrap();
            assert_close(
                &format!("mean with grad {what}"),
                &read(&mean),
                &want_mean,
                1e-4,
            );
            let (_, want) = cpu(&xv, &tv, c, ignore, &[1.0], true);
            assert_eq!(dx.shape(), &[n, c], "{what}");
            assert_close(&format!("grad of the mean {what}"), &read(&dx), &want, 1e-5);

            // A mean: one upstream value divided by the counted rows.
            let sums = mean.narrow(0, 0, 2);
            let g = Tensor::from_slice(&[0.75f32], &[]);
            let dx = x
                .try_cross_entropy_backward(&t, &g, ignore, CrossEntropyGrad::Mean(&sums))
                .unwrap();
            let (_, want) = cpu(&xv, &tv, c, ignore, &[0.75], true);
            assert_close(&format!("mean backward {what}"), &read(&dx), &want, 1e-5);

            let dx = x
                .try_cross_entropy_backward(&t, &g, ignore, CrossEntropyGrad::Sum)
                .unwrap();
            let (_, want) = cpu(&xv, &tv, c, ignore, &[0.75], false);
            assert_close(&format!("sum backward {what}"), &read(&dx), &want, 1e-5);

            let gv = values(n, -1.0, 1.0, seed + 2);
            let g = Tensor::from_slice(&gv, &[n]);
            let dx = x
                .try_cross_entropy_backward(&t, &g, ignore, CrossEntropyGrad::PerRow)
                .unwrap();
            let (_, want) = cpu(&xv, &tv, c, ignore, &gv, false);
            assert_close(&format!("per-row backward {what}"), &read(&dx), &want, 1e-5);
        }
    }
}

#[test]
fn strided_logits_are_read_through_a_copy() {
    let xv = values(6 * 4, -3.0, 3.0, 7);
    let x = Tensor::from_slice(&xv, &[4, 6]).t(); // [6, 4], column-major
    let xs = &xv;
    let dense: Vec<f32> = (0..6)
        .flat_map(|i| (0..4).map(move |j| xs[j * 6 + i]))
        .collect();
    let tv = [0, 3, 1, 2, 2, 0];
    let t = Tensor::from_slice(&tv, &[6]);
    let got = read(&x.try_cross_entropy_rows(&t, None).unwrap());
    let (want, _) = cpu(&dense, &tv, 4, None, &[1.0], false);
    assert_close("transposed logits", &got, &want, 1e-5);
}

#[test]
fn empty_inputs_and_bad_targets() {
    let x = Tensor::zeros(&[0, 5]);
    let t = Tensor::from_slice::<i32>(&[], &[0]);
    assert_eq!(x.try_cross_entropy_rows(&t, None).unwrap().shape(), &[2, 0]);
    // The mean of no rows, or of only ignored ones, is NaN (0 / 0).
    let got = read(&x.try_cross_entropy_mean(&t, None).unwrap());
    assert!(got[..2] == [0.0, 0.0] && got[2].is_nan(), "{got:?}");
    let x2 = Tensor::from_slice(&[0.5f32, 1.0, 2.0, 3.0], &[2, 2]);
    let ignored = Tensor::from_slice(&[1i32, 1], &[2]);
    let got = read(&x2.try_cross_entropy_mean(&ignored, Some(1)).unwrap());
    assert!(got[..2] == [0.0, 0.0] && got[2].is_nan(), "{got:?}");
    // With the gradient: the same NaN mean; an ignored row's gradient is 0.
    let (mean, dx) = x2
        .try_cross_entropy_mean_with_grad(&ignored, Some(1))
        .unwrap();
    let got = read(&mean);
    assert!(got[..2] == [0.0, 0.0] && got[2].is_nan(), "{got:?}");
    assert_eq!(read(&dx), [0.0; 4]);
    let x0 = Tensor::zeros(&[0, 5]);
    let (mean, dx) = x0.try_cross_entropy_mean_with_grad(&t, None).unwrap();
    assert!(read(&mean)[2].is_nan() && dx.shape() == [0, 5]);
    // No classes: every counted row's loss is undefined.
    let x = Tensor::zeros(&[2, 0]);
    let t = Tensor::from_slice(&[0i32, -100], &[2]);
    let got = read(&x.try_cross_entropy_rows(&t, Some(-100)).unwrap());
    assert!(got[0].is_nan() && got[1] == 0.0, "{got:?}");
    assert_eq!(&got[2..], &[1.0, 0.0]);
    // A target outside the classes poisons its own row only.
    let x = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0], &[2, 2]);
    let t = Tensor::from_slice(&[5i32, 1], &[2]);
    let got = read(&x.try_cross_entropy_rows(&t, None).unwrap());
    assert!(got[0].is_nan(), "{got:?}");
    assert!(
        (got[1] - (1.0f32 + (-1.0f32).exp()).ln()).abs() < 1e-6,
        "{got:?}"
    );
    // And its gradient, from either kernel.
    let (_, fused) = x.try_cross_entropy_mean_with_grad(&t, None).unwrap();
    let one = Tensor::from_slice(&[1.0f32], &[]);
    let sums = x.try_cross_entropy_mean(&t, None).unwrap().narrow(0, 0, 2);
    let apart = x
        .try_cross_entropy_backward(&t, &one, None, CrossEntropyGrad::Mean(&sums))
        .unwrap();
    for dx in [read(&fused), read(&apart)] {
        assert!(dx[0].is_nan() && dx[1].is_nan(), "{dx:?}");
        assert!(dx[2].is_finite() && dx[3].is_finite(), "{dx:?}");
    }
}

#[test]
fn shape_and_dtype_errors_name_the_op() {
    let x = Tensor::zeros(&[3, 4]);
    let t = Tensor::from_slice(&[0i32, 1], &[2]);
    let e = x.try_cross_entropy_rows(&t, None).unwrap_err();
    assert!(
        matches!(
            e,
            TensorError::ShapeMismatch {
                op: "cross_entropy",
                ..
            }
        ),
        "{e}"
    );
    let tf = Tensor::zeros(&[3]);
    let e = x.try_cross_entropy_rows(&tf, None).unwrap_err();
    assert!(e.to_string().contains("target"), "{e}");
    let t3 = Tensor::from_slice(&[0i32, 1, 2], &[3]);
    let g = Tensor::zeros(&[2]);
    let e = x
        .try_cross_entropy_backward(&t3, &g, None, CrossEntropyGrad::PerRow)
        .unwrap_err();
    assert!(
        matches!(
            e,
            TensorError::ShapeMismatch {
                op: "cross_entropy_backward",
                ..
            }
        ),
        "{e}"
    );
}
