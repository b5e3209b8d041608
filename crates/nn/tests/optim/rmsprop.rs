//! RMSprop: every option against the documented update, three steps.

use wgrad_autograd::Tensor;
use wgrad_nn::optim::{HyperParam, Optimizer, RMSprop};

use crate::common::{STEPS, THETA0, assert_differs, assert_trajectory, grad_at, param, run, wide};

#[derive(Debug, Clone, Copy)]
struct Config {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    maximize: bool,
}

/// PyTorch's defaults (`lr = 1e-2`, `alpha = 0.99`, `eps = 1e-8`).
const PLAIN: Config = Config {
    lr: 1e-2,
    alpha: 0.99,
    eps: 1e-8,
    weight_decay: 0.0,
    momentum: 0.0,
    centered: false,
    maximize: false,
};

fn build(c: &Config, p: &Tensor) -> RMSprop {
    RMSprop::new(vec![p.clone()], c.lr)
        .alpha(c.alpha)
        .eps(c.eps)
        .weight_decay(c.weight_decay)
        .momentum(c.momentum)
        .centered(c.centered)
        .maximize(c.maximize)
}

/// PyTorch's documented RMSprop.
fn cpu(c: &Config) -> Vec<Vec<f64>> {
    let a = c.alpha;
    let mut theta = wide(&THETA0);
    let n = theta.len();
    let (mut v, mut g_ave, mut b) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
    let mut out = Vec::new();
    for t in 0..STEPS {
        let grad = wide(&grad_at(t));
        for i in 0..n {
            let mut g = if c.maximize { -grad[i] } else { grad[i] };
            g += c.weight_decay * theta[i];
            v[i] = a * v[i] + (1.0 - a) * g * g;
            let mut v_tilde = v[i];
            if c.centered {
                g_ave[i] = a * g_ave[i] + (1.0 - a) * g;
                v_tilde -= g_ave[i] * g_ave[i];
            }
            if c.momentum > 0.0 {
                b[i] = c.momentum * b[i] + g / (v_tilde.sqrt() + c.eps);
                theta[i] -= c.lr * b[i];
            } else {
                theta[i] -= c.lr * g / (v_tilde.sqrt() + c.eps);
            }
        }
        out.push(theta.clone());
    }
    out
}

#[test]
fn rmsprop_matches_the_documented_update_for_every_option() {
    let cases = [
        (
            "alpha",
            Config {
                alpha: 0.5,
                ..PLAIN
            },
        ),
        ("eps", Config { eps: 0.1, ..PLAIN }),
        (
            "weight_decay",
            Config {
                weight_decay: 0.3,
                ..PLAIN
            },
        ),
        (
            "momentum",
            Config {
                momentum: 0.9,
                ..PLAIN
            },
        ),
        (
            "centered",
            Config {
                centered: true,
                ..PLAIN
            },
        ),
        (
            "centered with momentum",
            Config {
                centered: true,
                momentum: 0.5,
                alpha: 0.9,
                ..PLAIN
            },
        ),
        (
            "maximize",
            Config {
                maximize: true,
                weight_decay: 0.3,
                ..PLAIN
            },
        ),
    ];
    let baseline = cpu(&PLAIN);
    let p = param();
    assert_trajectory("plain RMSprop", &run(&mut build(&PLAIN, &p), &p), &baseline);
    for (name, c) in cases {
        let want = cpu(&c);
        assert_differs(name, &want, &baseline);
        let p = param();
        assert_trajectory(
            &format!("RMSprop with {name}"),
            &run(&mut build(&c, &p), &p),
            &want,
        );
    }
}

#[test]
fn rmsprop_defaults_are_pytorchs() {
    let group = RMSprop::new(vec![param()], 1e-2).state_dict().param_group;
    assert_eq!(group["alpha"], HyperParam::Float(0.99));
    assert_eq!(group["eps"], HyperParam::Float(1e-8));
    assert_eq!(group["momentum"], HyperParam::Float(0.0));
    assert_eq!(group["centered"], HyperParam::Bool(false));
}
