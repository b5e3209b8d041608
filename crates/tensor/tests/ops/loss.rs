//! The fused cross-entropy kernels against the CPU formula.

use wgrad_tensor::{Tensor, TensorError};

use crate::common::{assert_close, values};

/// Row losses `scale * (logsumexp(x[i]) - x[i, t[i]])` and the gradient
/// `g_i * scale * (softmax(x[i]) - onehot(t[i]))`, in f64.
fn cpu(x: &[f32], t: &[i32], c: usize, scale: f32, g: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut loss = Vec::new();
    let mut dx = Vec::new();
    for (i, &target) in t.iter().enumerate() {
        let row: Vec<f64> = x[i * c..(i + 1) * c]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        let lse = m + s.ln();
        loss.push((f64::from(scale) * (lse - row[target as usize])) as f32);
        let gi = f64::from(if g.len() == 1 { g[0] } else { g[i] });
        for (j, v) in row.iter().enumerate() {
            let onehot = if j == target as usize { 1.0 } else { 0.0 };
            dx.push((gi * f64::from(scale) * ((v - m).exp() / s - onehot)) as f32);
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

#[test]
fn row_losses_and_gradients_match_the_cpu() {
    // One row, odd sizes, many classes, and more rows than one workgroup.
    for (k, &(n, c)) in [(1, 1), (3, 7), (64, 10), (130, 1000), (4099, 3)]
        .iter()
        .enumerate()
    {
        let seed = 10 * k as u32;
        let xv = values(n * c, -8.0, 8.0, seed);
        let tv = targets(n, c, seed + 1);
        let x = Tensor::from_slice(&xv, &[n, c]);
        let t = Tensor::from_slice(&tv, &[n]);
        let scale = 1.0 / n as f32;
        let got = x
            .try_cross_entropy_rows(&t, scale)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        // A scalar upstream gradient (after mean or sum) and one per row.
        let g1 = [0.75f32];
        let (want_loss, want_dx) = cpu(&xv, &tv, c, scale, &g1);
        assert_close(&format!("rows [{n}, {c}]"), &got, &want_loss, 1e-5);
        let g = Tensor::from_slice(&g1, &[]);
        let dx = x.try_cross_entropy_backward(&t, &g, scale).unwrap();
        assert_close(
            &format!("backward [{n}, {c}]"),
            &dx.to_vec::<f32>().unwrap(),
            &want_dx,
            1e-5,
        );
        let gv = values(n, -1.0, 1.0, seed + 2);
        let (_, want_dx) = cpu(&xv, &tv, c, 1.0, &gv);
        let g = Tensor::from_slice(&gv, &[n]);
        let dx = x.try_cross_entropy_backward(&t, &g, 1.0).unwrap();
        assert_close(
            &format!("backward per row [{n}, {c}]"),
            &dx.to_vec::<f32>().unwrap(),
            &want_dx,
            1e-5,
        );
    }
}

#[test]
fn strided_logits_are_read_through_a_copy() {
    let xv = values(6 * 4, -3.0, 3.0, 7);
    let x = Tensor::from_slice(&xv, &[4, 6]).t(); // [6, 4], column-major
    let dense: Vec<f32> = (0..6)
        .flat_map(|i| (0..4).map(move |j| (i, j)))
        .map(|(i, j)| xv[j * 6 + i])
        .collect();
    let tv = [0, 3, 1, 2, 2, 0];
    let t = Tensor::from_slice(&tv, &[6]);
    let got = x
        .try_cross_entropy_rows(&t, 1.0)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let (want, _) = cpu(&dense, &tv, 4, 1.0, &[1.0]);
    assert_close("transposed logits", &got, &want, 1e-5);
}

#[test]
fn empty_inputs_and_bad_targets() {
    let x = Tensor::zeros(&[0, 5]);
    let t = Tensor::from_slice::<i32>(&[], &[0]);
    assert_eq!(x.try_cross_entropy_rows(&t, 1.0).unwrap().shape(), &[0]);
    // A target outside the classes poisons its own row only.
    let x = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0], &[2, 2]);
    let t = Tensor::from_slice(&[5i32, 1], &[2]);
    let got = x
        .try_cross_entropy_rows(&t, 1.0)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert!(got[0].is_nan(), "{got:?}");
    assert!(
        (got[1] - (1.0f32 + (-1.0f32).exp()).ln()).abs() < 1e-6,
        "{got:?}"
    );
}

#[test]
fn shape_and_dtype_errors_name_the_op() {
    let x = Tensor::zeros(&[3, 4]);
    let t = Tensor::from_slice(&[0i32, 1], &[2]);
    let e = x.try_cross_entropy_rows(&t, 1.0).unwrap_err();
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
    let e = x.try_cross_entropy_rows(&tf, 1.0).unwrap_err();
    assert!(e.to_string().contains("target"), "{e}");
    let t3 = Tensor::from_slice(&[0i32, 1, 2], &[3]);
    let g = Tensor::zeros(&[2]);
    let e = x.try_cross_entropy_backward(&t3, &g, 1.0).unwrap_err();
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
