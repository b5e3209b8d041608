//! `Linear` and `F::linear` against `x Wᵀ + b` on the CPU.

use wgrad_autograd::Tensor;
use wgrad_nn::{Forward, Linear, Module, functional as F};

use crate::common::{assert_close, host, linear_cpu, tensor};

#[test]
fn linear_computes_x_times_w_transposed_plus_bias() {
    let lin = Linear::new(7, 5);
    assert_eq!(lin.weight.shape(), &[5, 7]);
    assert_eq!(lin.bias.as_ref().unwrap().shape(), &[5]);
    let x = tensor(&[3, 7], 1);
    let y = lin.forward(&x);
    assert_eq!(y.shape(), &[3, 5]);
    let b = host(lin.bias.as_ref().unwrap());
    let want = linear_cpu(&host(&x), &host(&lin.weight), Some(&b), 3, 7, 5);
    assert_close("linear", &host(&y), &want, 1e-5);
}

#[test]
fn linear_without_bias_has_one_parameter_and_no_offset() {
    let lin = Linear::with_bias(4, 3, false);
    assert!(lin.bias.is_none());
    let names: Vec<String> = lin.named_parameters().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["weight"]);
    let x = tensor(&[2, 4], 2);
    let want = linear_cpu(&host(&x), &host(&lin.weight), None, 2, 4, 3);
    assert_close("linear no bias", &host(&lin.forward(&x)), &want, 1e-5);
    assert_eq!(
        lin.to_string(),
        "Linear(in_features=4, out_features=3, bias=False)"
    );
}

#[test]
fn linear_maps_the_last_dimension_of_a_batch_of_sequences() {
    let lin = Linear::new(6, 2);
    let x = tensor(&[2, 3, 6], 3);
    let y = lin.forward(&x);
    assert_eq!(y.shape(), &[2, 3, 2]);
    let b = host(lin.bias.as_ref().unwrap());
    let want = linear_cpu(&host(&x), &host(&lin.weight), Some(&b), 6, 6, 2);
    assert_close("linear 3-D", &host(&y), &want, 1e-5);
}

#[test]
fn linear_gradients_reach_weight_and_bias() {
    // y = x Wᵀ + b, L = Σ y: dL/db = number of rows, dL/dW[o, i] = Σ_r x[r, i].
    let lin = Linear::new(3, 2);
    let x = tensor(&[4, 3], 4);
    lin.forward(&x).sum().backward().unwrap();
    let db = host(&lin.bias.as_ref().unwrap().grad().unwrap());
    assert_close("dL/db", &db, &[4.0, 4.0], 1e-5);
    let xs = host(&x);
    let col: Vec<f32> = (0..3)
        .map(|i| (0..4).map(|r| xs[r * 3 + i]).sum())
        .collect();
    let want: Vec<f32> = col.iter().chain(col.iter()).copied().collect();
    assert_close("dL/dW", &host(&lin.weight.grad().unwrap()), &want, 1e-5);
}

#[test]
fn functional_linear_matches_the_module() {
    let lin = Linear::new(5, 4);
    let x = tensor(&[2, 5], 5);
    let y = F::linear(&x, &lin.weight, lin.bias.as_deref());
    assert_close("F.linear", &host(&y), &host(&lin.forward(&x)), 1e-6);
}

#[test]
fn linear_output_records_one_addmm_node_like_pytorch() {
    // PyTorch's addmm(bias, x, w.t()): next_functions are (bias, input, weight).
    let lin = Linear::new(3, 2);
    let x = Tensor::ones(&[1, 3]).with_grad().relu();
    let y = lin.forward(&x);
    let f = y.grad_fn().unwrap();
    assert_eq!(f.name(), "AddmmBackward0");
    let next: Vec<&str> = f
        .next_functions()
        .iter()
        .flatten()
        .map(|g| g.name())
        .collect();
    assert_eq!(next, ["AccumulateGrad", "ReluBackward0", "AccumulateGrad"]);
    let no_bias = Linear::with_bias(3, 2, false);
    assert_eq!(no_bias.forward(&x).grad_fn().unwrap().name(), "MmBackward0");
}
