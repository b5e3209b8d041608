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
    // W2's layer: Linear(784, 10) over a batch of 64, with (y * c).sum()
    // as the loss for a constant c, so that g = c: db = Σ_rows c,
    // dw = cᵀ @ x, dx = c @ w.
    let (n, inp, out) = (64, 784, 10);
    let xv = values(n * inp, -1.0, 1.0, 71);
    let wv = values(out * inp, -1.0, 1.0, 72);
    let cv = values(n * out, -1.0, 1.0, 73);
    let c = Tensor::from_slice(&cv, &[n, out]);
    let rt = wgrad_tensor::runtime().expect("a device");
    // Dispatches of the whole backward, with and without the bias.
    let backward = |with_bias: bool| {
        let x = Tensor::from_slice(&xv, &[n, inp]).with_grad();
        let w = Tensor::from_slice(&wv, &[out, inp]).with_grad();
        let b = Tensor::zeros(&[out]).with_grad();
        let loss = x.linear(&w, with_bias.then_some(&b)).mul(&c).sum();
        let before = rt.dispatches();
        loss.backward().unwrap();
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
    let c_at = |r: usize, o: usize| f64::from(cv[r * out + o]);
    let db: Vec<f64> = (0..out).map(|o| (0..n).map(|r| c_at(r, o)).sum()).collect();
    close("db", &read(&b), &db);
    let dw: Vec<f64> = (0..out * inp)
        .map(|i| {
            let (o, j) = (i / inp, i % inp);
            (0..n)
                .map(|r| c_at(r, o) * f64::from(xv[r * inp + j]))
                .sum()
        })
        .collect();
    close("dw", &read(&w), &dw);
    let dx: Vec<f64> = (0..n * inp)
        .map(|i| {
            let (r, j) = (i / inp, i % inp);
            (0..out)
                .map(|o| c_at(r, o) * f64::from(wv[o * inp + j]))
                .sum()
        })
        .collect();
    close("dx", &read(&x), &dx);
}
