//! Adam and AdamW: every option against the documented update, three steps.

use wgrad_autograd::Tensor;
use wgrad_nn::optim::{Adam, AdamW, HyperParam, Optimizer};

use crate::common::{STEPS, THETA0, assert_differs, assert_trajectory, grad_at, param, run, wide};

#[derive(Debug, Clone, Copy)]
struct Config {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    amsgrad: bool,
    maximize: bool,
}

/// PyTorch's defaults, with a learning rate large enough to move.
const PLAIN: Config = Config {
    lr: 0.1,
    betas: (0.9, 0.999),
    eps: 1e-8,
    weight_decay: 0.0,
    decoupled: false,
    amsgrad: false,
    maximize: false,
};

fn build(c: &Config, p: &Tensor) -> Box<dyn Optimizer> {
    let params = vec![p.clone()];
    if c.decoupled {
        let opt = AdamW::new(params, c.lr).betas(c.betas).eps(c.eps);
        Box::new(
            opt.weight_decay(c.weight_decay)
                .amsgrad(c.amsgrad)
                .maximize(c.maximize),
        )
    } else {
        let opt = Adam::new(params, c.lr).betas(c.betas).eps(c.eps);
        Box::new(
            opt.weight_decay(c.weight_decay)
                .amsgrad(c.amsgrad)
                .maximize(c.maximize),
        )
    }
}

/// PyTorch's documented Adam (L2 weight decay) or AdamW (decoupled).
fn cpu(c: &Config) -> Vec<Vec<f64>> {
    let (b1, b2) = c.betas;
    let mut theta = wide(&THETA0);
    let n = theta.len();
    let (mut m, mut v, mut v_max) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
    let mut out = Vec::new();
    for step in 1..=STEPS {
        let t = step as f64;
        let grad = wide(&grad_at(step - 1));
        for i in 0..n {
            let mut g = if c.maximize { -grad[i] } else { grad[i] };
            if c.decoupled {
                // theta = theta - lr * lambda * theta
                theta[i] -= c.lr * c.weight_decay * theta[i];
            } else {
                // g = g + lambda * theta
                g += c.weight_decay * theta[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let m_hat = m[i] / (1.0 - b1.powf(t));
            let v_hat = if c.amsgrad {
                v_max[i] = v_max[i].max(v[i]);
                v_max[i] / (1.0 - b2.powf(t))
            } else {
                v[i] / (1.0 - b2.powf(t))
            };
            theta[i] -= c.lr * m_hat / (v_hat.sqrt() + c.eps);
        }
        out.push(theta.clone());
    }
    out
}

#[test]
fn adam_matches_the_documented_update_for_every_option() {
    let cases = [
        (
            "betas",
            Config {
                betas: (0.5, 0.9),
                ..PLAIN
            },
        ),
        ("eps", Config { eps: 0.1, ..PLAIN }),
        (
            "L2 weight_decay",
            Config {
                weight_decay: 0.3,
                ..PLAIN
            },
        ),
        // beta2 = 0.8 lets v shrink after the large first gradient.
        (
            "amsgrad",
            Config {
                amsgrad: true,
                betas: (0.9, 0.8),
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
    assert_trajectory(
        "plain Adam",
        &run(build(&PLAIN, &p).as_mut(), &p),
        &baseline,
    );
    for (name, c) in cases {
        let want = cpu(&c);
        assert_differs(name, &want, &baseline);
        let p = param();
        assert_trajectory(
            &format!("Adam with {name}"),
            &run(build(&c, &p).as_mut(), &p),
            &want,
        );
    }
    let no_max = Config {
        amsgrad: false,
        ..cases[3].1
    };
    assert_differs(
        "amsgrad vs the same betas without it",
        &cpu(&cases[3].1),
        &cpu(&no_max),
    );
}

#[test]
fn adamw_decays_the_weights_instead_of_the_gradient() {
    let l2 = Config {
        weight_decay: 0.3,
        ..PLAIN
    };
    let decoupled = Config {
        decoupled: true,
        ..l2
    };
    let want = cpu(&decoupled);
    assert_differs("decoupled vs L2 decay", &want, &cpu(&l2));
    let p = param();
    assert_trajectory("AdamW", &run(build(&decoupled, &p).as_mut(), &p), &want);
    let ams = Config {
        amsgrad: true,
        betas: (0.9, 0.8),
        ..decoupled
    };
    let p = param();
    assert_trajectory(
        "AdamW with amsgrad",
        &run(build(&ams, &p).as_mut(), &p),
        &cpu(&ams),
    );
}

#[test]
fn adamw_defaults_to_a_weight_decay_of_one_hundredth() {
    let want = cpu(&Config {
        weight_decay: 0.01,
        decoupled: true,
        ..PLAIN
    });
    assert_differs("default decay", &want, &cpu(&PLAIN));
    let p = param();
    let mut opt = AdamW::new(vec![p.clone()], PLAIN.lr);
    assert_trajectory("AdamW with its defaults", &run(&mut opt, &p), &want);
}

#[test]
fn adam_defaults_are_pytorchs() {
    let group = Adam::new(vec![param()], 1e-3).state_dict().param_group;
    assert_eq!(group["lr"], HyperParam::Float(1e-3));
    assert_eq!(group["betas"], HyperParam::Pair(0.9, 0.999));
    assert_eq!(group["eps"], HyperParam::Float(1e-8));
    assert_eq!(group["weight_decay"], HyperParam::Float(0.0));
    assert_eq!(group["amsgrad"], HyperParam::Bool(false));
    assert_eq!(group["decoupled_weight_decay"], HyperParam::Bool(false));
    let group = AdamW::new(vec![param()], 1e-3).state_dict().param_group;
    assert_eq!(group["weight_decay"], HyperParam::Float(0.01));
    assert_eq!(group["decoupled_weight_decay"], HyperParam::Bool(true));
}

#[test]
fn adam_refuses_betas_outside_zero_to_one() {
    let err = Adam::new(vec![param()], 1e-3)
        .betas((0.9, 1.0))
        .validate()
        .expect_err("beta2 = 1");
    assert_eq!(err.to_string(), "Adam: invalid betas[1]: 1");
    let err = AdamW::new(vec![param()], 1e-3)
        .eps(-1.0)
        .validate()
        .expect_err("eps < 0");
    assert_eq!(err.to_string(), "AdamW: invalid eps: -1");
}
