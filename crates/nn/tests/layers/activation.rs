//! Parameterless layers: activations, softmax, flatten, identity, dropout.

use wgrad_autograd::Tensor;
use wgrad_nn::{
    Dropout, Flatten, Forward, Identity, LogSoftmax, Module, ReLU, Sigmoid, Softmax, Tanh,
    functional as F,
};

use crate::common::{assert_close, host, tensor};

#[test]
fn relu_sigmoid_and_tanh_apply_their_formulas_elementwise() {
    let x = tensor(&[3, 5], 30);
    let xs = host(&x);
    let relu: Vec<f32> = xs.iter().map(|v| v.max(0.0)).collect();
    let sig: Vec<f32> = xs.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let tanh: Vec<f32> = xs.iter().map(|v| v.tanh()).collect();
    assert_close("ReLU", &host(&ReLU::new().forward(&x)), &relu, 0.0);
    assert_close("F.relu", &host(&F::relu(&x)), &relu, 0.0);
    assert_close("Sigmoid", &host(&Sigmoid::new().forward(&x)), &sig, 1e-6);
    assert_close("Tanh", &host(&Tanh::new().forward(&x)), &tanh, 1e-6);
    assert_close("Identity", &host(&Identity::new().forward(&x)), &xs, 0.0);
}

#[test]
fn softmax_rows_are_exponentials_over_their_sum_and_log_softmax_their_logs() {
    let x = tensor(&[4, 6], 31);
    let xs = host(&x);
    let mut want = Vec::new();
    for row in xs.chunks(6) {
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|v| (v - m).exp()).sum();
        want.extend(row.iter().map(|v| (v - m).exp() / z));
    }
    let logs: Vec<f32> = want.iter().map(|p| p.ln()).collect();
    assert_close(
        "Softmax(1)",
        &host(&Softmax::new(1).forward(&x)),
        &want,
        1e-5,
    );
    assert_close("F.softmax", &host(&F::softmax(&x, -1)), &want, 1e-5);
    assert_close(
        "LogSoftmax(1)",
        &host(&LogSoftmax::new(1).forward(&x)),
        &logs,
        1e-5,
    );
    assert_close("F.log_softmax", &host(&F::log_softmax(&x, 1)), &logs, 1e-5);
}

#[test]
fn flatten_keeps_the_batch_dimension_by_default() {
    let x = tensor(&[2, 3, 4, 5], 32);
    let y = Flatten::new().forward(&x);
    assert_eq!(y.shape(), &[2, 60]);
    assert_close("Flatten", &host(&y), &host(&x), 0.0);
    assert_eq!(Flatten::with_dims(0, 1).forward(&x).shape(), &[6, 4, 5]);
}

#[test]
fn dropout_in_eval_mode_is_the_identity() {
    let drop = Dropout::new(0.5);
    drop.eval();
    assert!(!drop.is_training());
    let x = tensor(&[8, 8], 33);
    assert_close("Dropout eval", &host(&drop.forward(&x)), &host(&x), 0.0);
    assert_close(
        "F.dropout(training=False)",
        &host(&F::dropout(&x, 0.9, false)),
        &host(&x),
        0.0,
    );
}

#[test]
fn dropout_in_training_zeroes_about_p_and_scales_the_rest_by_one_over_one_minus_p() {
    let p = 0.3;
    let n = 100_000;
    let drop = Dropout::new(p);
    assert!(drop.is_training());
    let x = Tensor::from_slice(&crate::common::values(n, 0.5, 1.5, 34), &[n]);
    let (xs, ys) = (host(&x), host(&drop.forward(&x)));
    let zeros = ys.iter().filter(|&&v| v == 0.0).count();
    // The zero fraction has standard deviation √(p(1-p)/n) ≈ 0.0015.
    let frac = zeros as f32 / n as f32;
    assert!(
        (frac - p).abs() < 0.01,
        "zeroed fraction {frac}, want about {p}"
    );
    let kept: Vec<(f32, f32)> = xs
        .iter()
        .zip(&ys)
        .filter(|(_, y)| **y != 0.0)
        .map(|(x, y)| (*x, *y))
        .collect();
    let got: Vec<f32> = kept.iter().map(|k| k.1).collect();
    let want: Vec<f32> = kept.iter().map(|k| k.0 / (1.0 - p)).collect();
    assert_close("kept elements", &got, &want, 1e-6);
}

#[test]
fn dropout_gradient_is_its_mask() {
    // y = x · m, so dL/dx = m for L = Σ y; with x = 1, y is the mask itself.
    let x = Tensor::ones(&[1000]).with_grad();
    let y = F::dropout(&x, 0.5, true);
    y.sum().backward().unwrap();
    assert_close("dL/dx", &host(&x.grad().unwrap()), &host(&y), 0.0);
    assert!(host(&y).iter().all(|&v| v == 0.0 || v == 2.0));
}

#[test]
fn dropout_with_p_one_zeroes_everything_and_p_zero_nothing() {
    let x = tensor(&[50], 35);
    assert!(host(&F::dropout(&x, 1.0, true)).iter().all(|&v| v == 0.0));
    assert_close("p = 0", &host(&F::dropout(&x, 0.0, true)), &host(&x), 0.0);
}

#[test]
fn parameterless_layers_print_like_pytorch() {
    assert_eq!(ReLU::new().to_string(), "ReLU()");
    assert_eq!(Identity::new().to_string(), "Identity()");
    assert_eq!(Softmax::new(1).to_string(), "Softmax(dim=1)");
    assert_eq!(LogSoftmax::new(-1).to_string(), "LogSoftmax(dim=-1)");
    assert_eq!(
        Flatten::new().to_string(),
        "Flatten(start_dim=1, end_dim=-1)"
    );
    assert_eq!(
        Dropout::new(0.5).to_string(),
        "Dropout(p=0.5, inplace=False)"
    );
    assert_eq!(
        Dropout::new(0.25).to_string(),
        "Dropout(p=0.25, inplace=False)"
    );
    assert_eq!(
        Dropout::new(1.0).to_string(),
        "Dropout(p=1.0, inplace=False)"
    );
}
