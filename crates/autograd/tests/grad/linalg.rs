//! Matrix products, including batched, broadcast and 1-D forms.

use crate::common::{Input, check_gradients};

#[test]
fn matmul_gradients_cover_every_form() {
    let cases: [(&[usize], &[usize]); 6] = [
        (&[3, 4], &[4, 5]),
        (&[4], &[4, 5]),
        (&[3, 4], &[4]),
        (&[4], &[4]),
        (&[2, 3, 4], &[4, 2]),
        (&[2, 1, 3, 4], &[3, 4, 2]),
    ];
    for (sa, sb) in cases {
        let ins = [Input::new(sa, -1.0, 1.0, 31), Input::new(sb, -1.0, 1.0, 32)];
        check_gradients(&format!("matmul {sa:?} @ {sb:?}"), &ins, 1e-2, 1e-2, |t| {
            t[0].matmul(&t[1])
        });
    }
    let ins = [
        Input::new(&[5, 3], -1.0, 1.0, 33),
        Input::new(&[4, 3], -1.0, 1.0, 34),
    ];
    check_gradients("x @ w.t()", &ins, 1e-2, 1e-2, |t| t[0].matmul(&t[1].t()));
}

#[test]
fn linear_gradients_match_finite_differences_with_and_without_bias() {
    let ins = [
        Input::new(&[5, 3], -1.0, 1.0, 35),
        Input::new(&[4, 3], -1.0, 1.0, 36),
        Input::new(&[4], -1.0, 1.0, 37),
    ];
    check_gradients("linear", &ins, 1e-2, 1e-2, |t| {
        t[0].linear(&t[1], Some(&t[2]))
    });
    check_gradients("linear without bias", &ins[..2], 1e-2, 1e-2, |t| {
        t[0].linear(&t[1], None)
    });
    let ins = [
        Input::new(&[2, 5, 3], -1.0, 1.0, 38),
        Input::new(&[4, 3], -1.0, 1.0, 39),
        Input::new(&[4], -1.0, 1.0, 40),
    ];
    check_gradients("linear on 3-D input", &ins, 1e-2, 1e-2, |t| {
        t[0].linear(&t[1], Some(&t[2]))
    });
    // 5 outputs: g's rows are not whole quads, so the backward pads g once
    // for both of its products.
    let ins = [
        Input::new(&[6, 3], -1.0, 1.0, 41),
        Input::new(&[5, 3], -1.0, 1.0, 42),
        Input::new(&[5], -1.0, 1.0, 43),
    ];
    check_gradients("linear to 5 outputs", &ins, 1e-2, 1e-2, |t| {
        t[0].linear(&t[1], Some(&t[2]))
    });
    // More inputs than outputs: on CPU adapters the weight gradient's
    // product (the narrow kernel) also sums the bias gradient.
    let ins = [
        Input::new(&[7, 9], -1.0, 1.0, 44),
        Input::new(&[3, 9], -1.0, 1.0, 45),
        Input::new(&[3], -1.0, 1.0, 46),
    ];
    check_gradients("linear from 9 inputs to 3", &ins, 1e-2, 1e-2, |t| {
        t[0].linear(&t[1], Some(&t[2]))
    });
}

#[test]
fn linear_on_a_batch_is_one_addmm_node_with_bias_input_weight() {
    let x = wgrad_autograd::Tensor::ones(&[2, 3]).with_grad();
    let w = wgrad_autograd::Tensor::ones(&[4, 3]).with_grad();
    let b = wgrad_autograd::Tensor::zeros(&[4]).with_grad();
    let y = x.relu().linear(&w, Some(&b));
    let f = y.grad_fn().unwrap();
    assert_eq!(f.name(), "AddmmBackward0");
    let next = f.next_functions();
    assert_eq!(next[0].clone().unwrap().name(), "AccumulateGrad");
    assert_eq!(next[1].clone().unwrap().name(), "ReluBackward0");
    assert_eq!(next[2].clone().unwrap().name(), "AccumulateGrad");
}
