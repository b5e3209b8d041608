//! Linear's backward makes the bias gradient in the weight gradient's
//! product where the narrow matmul kernel computes it: the bias costs the
//! backward no dispatch, and the gradients are the CPU's.
//!
//! Its own test binary: the runtime's dispatch count is process-wide.

use wgrad_autograd::Tensor;
use wgrad_tensor::ops::matmul::MatmulKernel;

// The gradient checks' deterministic inputs (the checker itself is unused here).
#[allow(dead_code)]
#[path = "grad/common.rs"]
mod common;

use common::values;

#[test]
fn linear_backward_sums_the_bias_gradient_in_the_weight_gradients_product() {
    // W2's layer: Linear(784, 10) over a batch of 64, y.sum() as the loss
    // (so g is all ones: dx = g @ w, dw = gᵀ @ x, db = 64 per output).
    let (n, inp, out) = (64, 784, 10);
    let xv = values(n * inp, -1.0, 1.0, 71);
    let wv = values(out * inp, -1.0, 1.0, 72);
    let rt = wgrad_tensor::runtime().expect("a device");
    // Dispatches of the whole backward, with and without the bias.
    let backward = |with_bias: bool| {
        let x = Tensor::from_slice(&xv, &[n, inp]).with_grad();
        let w = Tensor::from_slice(&wv, &[out, inp]).with_grad();
        let b = Tensor::zeros(&[out]).with_grad();
        let y = x.linear(&w, with_bias.then_some(&b)).sum();
        let before = rt.dispatches();
        y.backward().unwrap();
        (rt.dispatches() - before, x, w, b)
    };
    let (without_bias, ..) = backward(false);
    let (ran, x, w, b) = backward(true);
    // With the tiled kernel (GPUs) db is a reduction of its own.
    let fused = MatmulKernel::current() != MatmulKernel::Tiled;
    assert_eq!(
        ran,
        without_bias + u64::from(!fused),
        "dispatches of the backward with a bias"
    );

    let read = |t: &Tensor| t.grad().expect("a gradient").to_vec::<f32>().unwrap();
    let close = |what: &str, got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(*g) - w).abs() <= 1e-3 * w.abs().max(1.0),
                "{what}[{i}]: {g} against {w}"
            );
        }
    };
    close("db", &read(&b), &vec![n as f64; out]);
    let dw: Vec<f64> = (0..out * inp)
        .map(|i| (0..n).map(|r| f64::from(xv[r * inp + i % inp])).sum())
        .collect();
    close("dw", &read(&w), &dw);
    let dx: Vec<f64> = (0..n * inp)
        .map(|i| (0..out).map(|o| f64::from(wv[o * inp + i % inp])).sum())
        .collect();
    close("dx", &read(&x), &dx);
}
