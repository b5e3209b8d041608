//! What every optimizer does around the update: skipping parameters
//! without gradients, zero_grad, no recording, refusing bad gradients.

use wgrad_autograd::{Tensor, is_grad_enabled};
use wgrad_nn::optim::{Adam, OptimError, Optimizer, RMSprop, SGD};

use crate::common::{THETA0, grad_at, param, read};

fn all_optimizers(params: &[Tensor]) -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(SGD::new(params.to_vec(), 0.1).momentum(0.9)),
        Box::new(Adam::new(params.to_vec(), 0.1).amsgrad(true)),
        Box::new(
            RMSprop::new(params.to_vec(), 0.1)
                .centered(true)
                .momentum(0.5),
        ),
    ]
}

#[test]
fn step_skips_parameters_without_a_gradient_and_keeps_no_state_for_them() {
    let (with, without) = (param(), param());
    for mut opt in all_optimizers(&[with.clone(), without.clone()]) {
        with.set_grad(Some(&Tensor::from_vec(grad_at(0))));
        without.set_grad(None);
        opt.step().expect("step");
        assert_ne!(read(&with), THETA0, "the parameter with a gradient moves");
        assert_eq!(read(&without), THETA0, "the parameter without one does not");
        let state = opt.state_dict().state;
        assert!(
            state.contains_key(&0) && !state.contains_key(&1),
            "state for {:?}",
            state.keys()
        );
    }
}

#[test]
fn zero_grad_sets_every_gradient_to_none() {
    let (a, b) = (param(), param());
    let opt = SGD::new(vec![a.clone(), b.clone()], 0.1);
    a.set_grad(Some(&Tensor::from_vec(grad_at(0))));
    b.set_grad(Some(&Tensor::from_vec(grad_at(1))));
    opt.zero_grad();
    assert!(a.grad().is_none() && b.grad().is_none());
}

#[test]
fn step_records_nothing_and_leaves_grad_mode_on() {
    let p = param();
    for mut opt in all_optimizers(std::slice::from_ref(&p)) {
        p.set_grad(Some(&Tensor::from_vec(grad_at(0))));
        opt.step().expect("step");
        assert!(
            p.is_leaf() && p.grad_fn().is_none(),
            "the update is not part of a graph"
        );
        assert!(p.requires_grad(), "the parameter still requires grad");
        assert!(is_grad_enabled(), "grad mode is restored after step");
    }
}

#[test]
fn step_refuses_a_gradient_of_another_shape_before_changing_anything() {
    let (a, b) = (param(), param());
    let mut opt = Adam::new(vec![a.clone(), b.clone()], 0.1);
    a.set_grad(Some(&Tensor::from_vec(grad_at(0))));
    b.set_grad(Some(&Tensor::from_slice(&[1.0f32; 6], &[2, 3])));
    let err = opt.step().expect_err("shape mismatch");
    assert!(
        matches!(err, OptimError::GradShape { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Adam: parameter 1 has shape [5] but its gradient has shape [2, 3]"
    );
    assert_eq!(read(&a), THETA0, "no parameter moved");
}

#[test]
fn set_lr_changes_the_size_of_the_next_step() {
    let p = param();
    let mut opt = SGD::new(vec![p.clone()], 0.1);
    opt.set_lr(0.5);
    assert_eq!(opt.lr(), 0.5);
    let g = grad_at(0);
    p.set_grad(Some(&Tensor::from_vec(g.clone())));
    opt.step().expect("step");
    let want: Vec<f32> = THETA0.iter().zip(&g).map(|(th, g)| th - 0.5 * g).collect();
    assert_eq!(read(&p), want);
}
