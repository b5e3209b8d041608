//! `loss.backward()` on a mean cross-entropy takes the gradient its
//! forward kernel wrote with the loss, and runs no kernel for it.
//!
//! Its own test binary: the runtime's dispatch count is process-wide.

use wgrad_autograd::{Reduction, Tensor};

// The gradient checks' deterministic inputs (the checker itself is unused here).
#[allow(dead_code)]
#[path = "grad/common.rs"]
mod common;

use common::values;

/// The mean cross-entropy's gradient for `g = 1` on the CPU, in f64:
/// `(softmax(x[i]) - onehot(t[i])) / counted rows`, 0 for ignored rows.
fn cross_entropy_mean_grad(x: &[f32], t: &[i32], c: usize, ignore: Option<i32>) -> Vec<f32> {
    let counted = t.iter().filter(|&&l| Some(l) != ignore).count() as f64;
    let mut dx = vec![0.0f32; x.len()];
    for (i, &label) in t.iter().enumerate() {
        if Some(label) == ignore {
            continue;
        }
        let row: Vec<f64> = x[i * c..(i + 1) * c]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for (j, v) in row.iter().enumerate() {
            let onehot = if j == label as usize { 1.0 } else { 0.0 };
            dx[i * c + j] = (((v - m).exp() / s - onehot) / counted) as f32;
        }
    }
    dx
}

#[test]
fn loss_backward_takes_the_mean_cross_entropy_gradient_from_its_forward() {
    // `loss.backward()` on a mean cross-entropy uses the gradient that its
    // forward kernel wrote with the loss: the backward runs no kernel. Any
    // other upstream gradient goes through the backward kernel. Both agree
    // with the CPU formula; 70 rows are more than the forward's 64 lanes.
    let (n, c) = (70, 10);
    let data = values(n * c, -4.0, 4.0, 61);
    let labels: Vec<i32> = (0..n).map(|i| ((i * 7) % c) as i32).collect();
    let t = Tensor::from_slice(&labels, &[n]);
    let rt = wgrad_tensor::runtime().expect("a device");
    let grad = |x: &Tensor| x.grad().expect("a gradient").to_vec::<f32>().unwrap();
    let scaled = |v: &[f32], k: f32| v.iter().map(|g| g * k).collect::<Vec<f32>>();
    for ignore in [None, Some(3)] {
        let want = cross_entropy_mean_grad(&data, &labels, c, ignore);
        let leaf = || Tensor::from_slice(&data, &[n, c]).with_grad();

        let x = leaf();
        let loss = x.try_cross_entropy(&t, Reduction::Mean, ignore).unwrap();
        let before = rt.dispatches();
        loss.backward().unwrap();
        assert_eq!(rt.dispatches(), before, "loss.backward() ran kernels");
        assert_close_f32("backward()", &grad(&x), &want);

        // Twice through a retained graph: the saved gradient again.
        let x = leaf();
        let loss = x.try_cross_entropy(&t, Reduction::Mean, ignore).unwrap();
        loss.backward_retain_graph().unwrap();
        loss.backward_retain_graph().unwrap();
        assert_close_f32("retained twice", &grad(&x), &scaled(&want, 2.0));

        // An upstream gradient of 2: the backward kernel.
        let x = leaf();
        let loss = x.try_cross_entropy(&t, Reduction::Mean, ignore).unwrap();
        let before = rt.dispatches();
        loss.backward_with(&Tensor::from_slice(&[2.0f32], &[]))
            .unwrap();
        assert!(rt.dispatches() > before, "backward_with ran no kernel");
        assert_close_f32("backward_with(2)", &grad(&x), &scaled(&want, 2.0));

        // Behind another op the loss is not the root: the backward kernel
        // gets that op's gradient.
        let x = leaf();
        let loss = x.try_cross_entropy(&t, Reduction::Mean, ignore).unwrap();
        (&loss * 3.0).backward().unwrap();
        assert_close_f32("3 * loss", &grad(&x), &scaled(&want, 3.0));
    }
}

fn assert_close_f32(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 + 1e-4 * w.abs(),
            "{what}: [{i}] {g} against {w}"
        );
    }
}
