//! The engine: accumulation, retain_graph, no_grad, in-place rules, grad_fn.

use wgrad_autograd::{AutogradError, Tensor, no_grad};

fn vec(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().expect("read-back")
}

#[test]
fn the_tutorial_example_gives_its_gradients() {
    // Q = 3a³ - b²; dQ/da = 9a², dQ/db = -2b.
    let a = Tensor::from_slice(&[2.0f32, 3.0], &[2]).with_grad();
    let b = Tensor::from_slice(&[6.0f32, 4.0], &[2]).with_grad();
    let q = &(a.pow_scalar(3.0) * 3.0) - &b.pow_scalar(2.0);
    q.sum().backward().unwrap();
    assert_eq!(vec(&a.grad().unwrap()), vec![36.0, 81.0]);
    assert_eq!(vec(&b.grad().unwrap()), vec![-12.0, -8.0]);
    assert_eq!(a.grad().unwrap().to_string(), "tensor([36., 81.])");
    assert_eq!(b.grad().unwrap().to_string(), "tensor([-12.,  -8.])");
}

#[test]
fn gradients_accumulate_across_backward_calls() {
    let x = Tensor::from_slice(&[1.0f32, 2.0], &[2]).with_grad();
    let y = (&x * &x).sum(); // dy/dx = 2x
    y.backward_retain_graph().unwrap();
    y.backward().unwrap();
    assert_eq!(vec(&x.grad().unwrap()), vec![4.0, 8.0]);
    x.zero_grad();
    assert_eq!(vec(&x.grad().unwrap()), vec![0.0, 0.0]);
    x.set_grad(None);
    assert!(x.grad().is_none());
}

#[test]
fn a_second_backward_through_a_freed_graph_is_an_error() {
    let x = Tensor::from_slice(&[1.0f32, 2.0], &[2]).with_grad();
    let y = (&x * &x).sum();
    y.backward().unwrap();
    let e = y.backward().unwrap_err();
    assert!(matches!(e, AutogradError::GraphFreed { .. }), "{e}");
    assert!(e.to_string().contains("retain_graph"), "{e}");
}

#[test]
fn backward_with_an_external_gradient_is_a_vector_jacobian_product() {
    let a = Tensor::from_slice(&[2.0f32, 3.0], &[2]).with_grad();
    let q = a.pow_scalar(3.0) * 3.0;
    q.backward_with(&Tensor::from_slice(&[1.0f32, 0.5], &[2]))
        .unwrap();
    assert_eq!(vec(&a.grad().unwrap()), vec![36.0, 40.5]);
    let e = q.backward().unwrap_err().to_string();
    assert!(e.contains("scalar") && e.contains("[2]"), "{e}");
    let e = Tensor::ones(&[2]).sum().backward().unwrap_err();
    assert!(matches!(e, AutogradError::NoGraph), "{e}");
}

#[test]
fn no_grad_records_nothing_and_allows_parameter_updates() {
    let w = Tensor::from_slice(&[1.0f32, 2.0], &[2]).with_grad();
    (&w * 3.0).sum().backward().unwrap();
    let e = w
        .try_binary_(wgrad_tensor::BinaryOp::Sub, &Tensor::ones(&[2]))
        .unwrap_err();
    assert!(
        e.to_string().contains("leaf Variable that requires grad"),
        "{e}"
    );
    no_grad(|| {
        let step = &w.grad().unwrap() * 0.1;
        w.sub_(&step);
        let y = &w * 2.0;
        assert!(!y.requires_grad() && y.grad_fn().is_none());
    });
    let got = vec(&w);
    assert!(
        (got[0] - 0.7).abs() < 1e-6 && (got[1] - 1.7).abs() < 1e-6,
        "{got:?}"
    );
    assert!(w.requires_grad() && w.is_leaf());
}

#[test]
fn grad_fn_names_and_next_functions_follow_pytorch() {
    let x = Tensor::from_slice(&[1.0f32, -2.0, 3.0, 4.0], &[2, 2]);
    let w = Tensor::from_slice(&[0.5f32, 1.0, -1.0, 2.0], &[2, 2]).with_grad();
    let h = x.matmul(&w.t()).relu();
    let loss = (&h * &h).sum();
    let f = loss.grad_fn().unwrap();
    assert_eq!(f.name(), "SumBackward0");
    let mul = f.next_functions()[0].clone().unwrap();
    assert_eq!(mul.name(), "MulBackward0");
    let relu = mul.next_functions()[0].clone().unwrap();
    assert_eq!(relu.to_string(), "<ReluBackward0>");
    let mm = relu.next_functions()[0].clone().unwrap();
    assert_eq!(mm.name(), "MmBackward0");
    let next = mm.next_functions();
    assert!(next[0].is_none(), "x needs no gradient");
    let t = next[1].clone().unwrap();
    assert_eq!(t.name(), "TBackward0");
    assert_eq!(
        t.next_functions()[0].clone().unwrap().name(),
        "AccumulateGrad"
    );
    assert!(
        loss.to_string().ends_with("grad_fn=<SumBackward0>)"),
        "{loss}"
    );
    assert!(w.to_string().ends_with("requires_grad=True)"), "{w}");
    let dot = wgrad_autograd::to_dot(&loss);
    assert!(
        dot.starts_with("digraph") && dot.contains("ReluBackward0") && dot.contains("[2, 2]"),
        "{dot}"
    );
}

#[test]
fn detach_cuts_the_graph_but_shares_the_data() {
    let x = Tensor::from_slice(&[1.0f32, 2.0], &[2]).with_grad();
    let y = &x * 2.0;
    let d = y.detach();
    assert!(!d.requires_grad() && d.is_leaf());
    assert!(d.data().shares_storage(y.data()));
    let e = y.try_requires_grad_(false).unwrap_err();
    assert!(e.to_string().contains("leaf"), "{e}");
}
