//! SGD: every option against the documented update, three steps.

use wgrad_autograd::Tensor;
use wgrad_nn::optim::{OptimError, Optimizer, SGD};

use crate::common::{
    STEPS, THETA0, assert_differs, assert_trajectory, grad_at, param, read, run, wide,
};

#[derive(Debug, Clone, Copy, Default)]
struct Config {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    maximize: bool,
}

fn build(c: &Config, p: &Tensor) -> SGD {
    SGD::new(vec![p.clone()], c.lr)
        .momentum(c.momentum)
        .dampening(c.dampening)
        .nesterov(c.nesterov)
        .weight_decay(c.weight_decay)
        .maximize(c.maximize)
}

/// PyTorch's documented SGD; `grad(t, theta)` gives step t's gradient.
fn cpu(c: &Config, grad: impl Fn(usize, &[f64]) -> Vec<f64>) -> Vec<Vec<f64>> {
    let mut theta = wide(&THETA0);
    let mut buf: Option<Vec<f64>> = None;
    let mut out = Vec::new();
    for t in 0..STEPS {
        // g = -grad if maximize; g = g + weight_decay * theta
        let mut g: Vec<f64> = grad(t, &theta)
            .iter()
            .zip(&theta)
            .map(|(&g, &th)| if c.maximize { -g } else { g } + c.weight_decay * th)
            .collect();
        if c.momentum != 0.0 {
            // b_1 = g; b_t = momentum * b_{t-1} + (1 - dampening) * g
            let b: Vec<f64> = match &buf {
                None => g.clone(),
                Some(b) => b
                    .iter()
                    .zip(&g)
                    .map(|(b, g)| c.momentum * b + (1.0 - c.dampening) * g)
                    .collect(),
            };
            g = if c.nesterov {
                g.iter().zip(&b).map(|(g, b)| g + c.momentum * b).collect()
            } else {
                b.clone()
            };
            buf = Some(b);
        }
        // theta = theta - lr * g
        theta = theta.iter().zip(&g).map(|(th, g)| th - c.lr * g).collect();
        out.push(theta.clone());
    }
    out
}

fn fixed(t: usize, _: &[f64]) -> Vec<f64> {
    wide(&grad_at(t))
}

#[test]
fn sgd_matches_the_documented_update_for_every_option() {
    let plain = Config {
        lr: 0.1,
        ..Config::default()
    };
    let cases = [
        (
            "momentum",
            Config {
                momentum: 0.9,
                ..plain
            },
        ),
        (
            "dampening",
            Config {
                momentum: 0.9,
                dampening: 0.3,
                ..plain
            },
        ),
        (
            "nesterov",
            Config {
                momentum: 0.8,
                nesterov: true,
                ..plain
            },
        ),
        (
            "weight_decay",
            Config {
                weight_decay: 0.2,
                ..plain
            },
        ),
        (
            "momentum and weight_decay",
            Config {
                momentum: 0.9,
                weight_decay: 0.2,
                ..plain
            },
        ),
        (
            "maximize",
            Config {
                maximize: true,
                weight_decay: 0.2,
                ..plain
            },
        ),
    ];
    let baseline = cpu(&plain, fixed);
    let p = param();
    assert_trajectory("plain SGD", &run(&mut build(&plain, &p), &p), &baseline);
    for (name, c) in cases {
        let want = cpu(&c, fixed);
        assert_differs(name, &want, &baseline);
        let p = param();
        assert_trajectory(
            &format!("SGD with {name}"),
            &run(&mut build(&c, &p), &p),
            &want,
        );
    }
    // Dampening and Nesterov must differ from plain momentum too.
    let momentum = cpu(&cases[0].1, fixed);
    assert_differs("dampening vs momentum", &cpu(&cases[1].1, fixed), &momentum);
    assert_differs(
        "nesterov vs momentum",
        &cpu(
            &Config {
                momentum: 0.9,
                ..cases[2].1
            },
            fixed,
        ),
        &momentum,
    );
}

#[test]
fn sgd_with_momentum_descends_a_quadratic_from_real_backward_passes() {
    // loss = sum(theta^2), so d loss / d theta = 2 theta.
    let c = Config {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        ..Config::default()
    };
    let want = cpu(&c, |_, theta| theta.iter().map(|th| 2.0 * th).collect());
    let p = param();
    let mut opt = build(&c, &p);
    let mut got = Vec::new();
    for _ in 0..STEPS {
        opt.zero_grad();
        (&p * &p).sum().backward().expect("backward");
        opt.step().expect("step");
        got.push(read(&p));
    }
    assert_trajectory("SGD on sum(theta^2)", &got, &want);
}

#[test]
fn sgd_refuses_nesterov_without_momentum_or_with_dampening_as_pytorch_does() {
    for (momentum, dampening) in [(0.0, 0.0), (0.9, 0.1)] {
        let p = param();
        p.set_grad(Some(&Tensor::from_vec(grad_at(0))));
        let mut opt = SGD::new(vec![p.clone()], 0.1)
            .nesterov(true)
            .momentum(momentum)
            .dampening(dampening);
        let err = opt.step().expect_err("nesterov must be refused");
        assert!(matches!(err, OptimError::Nesterov { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("Nesterov momentum requires a momentum and zero dampening")
        );
        assert_eq!(read(&p), THETA0, "a refused step changes nothing");
    }
}

#[test]
fn sgd_refuses_a_negative_learning_rate_or_momentum() {
    let p = param();
    let err = SGD::new(vec![p.clone()], -0.1)
        .validate()
        .expect_err("negative lr");
    assert_eq!(err.to_string(), "SGD: invalid lr: -0.1");
    let err = SGD::new(vec![p], 0.1)
        .momentum(-1.0)
        .validate()
        .expect_err("negative momentum");
    assert_eq!(err.to_string(), "SGD: invalid momentum: -1");
}
