//! The fused optimizer updates against the formulas of PyTorch's
//! torch.optim documentation, computed in f64 on the CPU, one step from
//! non-trivial state.

use wgrad_tensor::ops::optim::{AdamStep, RmspropStep, SgdStep};
use wgrad_tensor::{Tensor, TensorError};

use crate::common::{LENGTHS, assert_close, read, values};

const ODD_LENGTHS: [usize; 4] = [1, 63, 65, 1000];

/// The f32 values as f64, for the twins.
pub(crate) fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

pub(crate) fn narrow(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// SGD's documented step; returns (theta, momentum buffer).
pub(crate) fn cpu_sgd(
    theta: &[f64],
    grad: &[f64],
    buf: &[f64],
    s: &SgdStep,
) -> (Vec<f64>, Vec<f64>) {
    let (mut out, mut b_out) = (theta.to_vec(), buf.to_vec());
    for i in 0..theta.len() {
        let mut g = if s.maximize { -grad[i] } else { grad[i] };
        g += s.weight_decay * theta[i];
        if s.momentum != 0.0 {
            let b = if s.first_step {
                g
            } else {
                s.momentum * buf[i] + (1.0 - s.dampening) * g
            };
            b_out[i] = b;
            g = if s.nesterov { g + s.momentum * b } else { b };
        }
        out[i] = theta[i] - s.lr * g;
    }
    (out, b_out)
}

/// Adam's (or AdamW's) documented step; returns (theta, m, v, v_max).
pub(crate) fn cpu_adam(
    theta: &[f64],
    grad: &[f64],
    m: &[f64],
    v: &[f64],
    v_max: &[f64],
    s: &AdamStep,
) -> [Vec<f64>; 4] {
    let t = s.step as f64;
    let mut out = [theta.to_vec(), m.to_vec(), v.to_vec(), v_max.to_vec()];
    for i in 0..theta.len() {
        let mut g = if s.maximize { -grad[i] } else { grad[i] };
        let mut th = theta[i];
        if s.decoupled_weight_decay {
            th -= s.lr * s.weight_decay * th;
        } else {
            g += s.weight_decay * th;
        }
        let mi = s.beta1 * m[i] + (1.0 - s.beta1) * g;
        let vi = s.beta2 * v[i] + (1.0 - s.beta2) * g * g;
        let m_hat = mi / (1.0 - s.beta1.powf(t));
        let v_used = if s.amsgrad { v_max[i].max(vi) } else { vi };
        let v_hat = v_used / (1.0 - s.beta2.powf(t));
        out[0][i] = th - s.lr * m_hat / (v_hat.sqrt() + s.eps);
        out[1][i] = mi;
        out[2][i] = vi;
        out[3][i] = if s.amsgrad { v_used } else { v_max[i] };
    }
    out
}

/// RMSprop's documented step; returns (theta, square_avg, grad_avg, buf).
fn cpu_rmsprop(
    theta: &[f64],
    grad: &[f64],
    sq: &[f64],
    ga: &[f64],
    buf: &[f64],
    s: &RmspropStep,
) -> [Vec<f64>; 4] {
    let mut out = [theta.to_vec(), sq.to_vec(), ga.to_vec(), buf.to_vec()];
    for i in 0..theta.len() {
        let mut g = if s.maximize { -grad[i] } else { grad[i] };
        g += s.weight_decay * theta[i];
        let v = s.alpha * sq[i] + (1.0 - s.alpha) * g * g;
        let mut v_tilde = v;
        if s.centered {
            let a = s.alpha * ga[i] + (1.0 - s.alpha) * g;
            v_tilde -= a * a;
            out[2][i] = a;
        }
        out[1][i] = v;
        let avg = v_tilde.sqrt() + s.eps;
        if s.momentum > 0.0 {
            let b = s.momentum * buf[i] + g / avg;
            out[3][i] = b;
            out[0][i] = theta[i] - s.lr * b;
        } else {
            out[0][i] = theta[i] - s.lr * g / avg;
        }
    }
    out
}

const TOL: f32 = 1e-6;

fn sgd_cases() -> Vec<SgdStep> {
    let base = SgdStep {
        lr: 0.1,
        ..SgdStep::default()
    };
    let momentum = SgdStep {
        momentum: 0.9,
        dampening: 0.1,
        ..base
    };
    vec![
        base,
        SgdStep {
            weight_decay: 0.05,
            maximize: true,
            ..base
        },
        momentum,
        SgdStep {
            first_step: true,
            ..momentum
        },
        SgdStep {
            dampening: 0.0,
            nesterov: true,
            weight_decay: 0.01,
            ..momentum
        },
    ]
}

fn check_sgd(n: usize, s: &SgdStep) {
    let (theta, grad, buf) = (
        values(n, -2.0, 2.0, 1),
        values(n, -1.0, 1.0, 2),
        values(n, -1.0, 1.0, 3),
    );
    let (want, want_buf) = cpu_sgd(&wide(&theta), &wide(&grad), &wide(&buf), s);
    let (p, g, b) = (
        Tensor::from_vec(theta),
        Tensor::from_vec(grad),
        Tensor::from_vec(buf),
    );
    p.sgd_(&g, Some(&b), s);
    assert_close(
        &format!("sgd param, n={n}, {s:?}"),
        &read(&p),
        &narrow(&want),
        TOL,
    );
    if s.momentum != 0.0 {
        assert_close(
            &format!("sgd buffer, n={n}, {s:?}"),
            &read(&b),
            &narrow(&want_buf),
            TOL,
        );
    }
}

#[test]
fn sgd_matches_the_documented_update_on_odd_lengths() {
    for n in ODD_LENGTHS {
        for s in sgd_cases() {
            check_sgd(n, &s);
        }
    }
}

fn adam_cases() -> Vec<AdamStep> {
    let base = AdamStep {
        lr: 0.01,
        step: 3,
        ..AdamStep::default()
    };
    vec![
        base,
        AdamStep {
            weight_decay: 0.1,
            ..base
        },
        AdamStep {
            weight_decay: 0.1,
            decoupled_weight_decay: true,
            ..base
        },
        AdamStep {
            amsgrad: true,
            maximize: true,
            step: 1,
            ..base
        },
    ]
}

fn check_adam(n: usize, s: &AdamStep) {
    let theta = values(n, -2.0, 2.0, 4);
    let grad = values(n, -1.0, 1.0, 5);
    let m = values(n, -0.5, 0.5, 6);
    let v = values(n, 0.0, 0.5, 7);
    let v_max = values(n, 0.0, 1.0, 8);
    let want = cpu_adam(
        &wide(&theta),
        &wide(&grad),
        &wide(&m),
        &wide(&v),
        &wide(&v_max),
        s,
    );
    let t: Vec<Tensor> = [theta, grad, m, v, v_max]
        .into_iter()
        .map(Tensor::from_vec)
        .collect();
    let max = s.amsgrad.then_some(&t[4]);
    t[0].adam_(&t[1], &t[2], &t[3], max, s);
    for (k, name) in [
        (0, "param"),
        (2, "exp_avg"),
        (3, "exp_avg_sq"),
        (4, "max_exp_avg_sq"),
    ] {
        let idx = if k == 0 { 0 } else { k - 1 };
        assert_close(
            &format!("adam {name}, n={n}, {s:?}"),
            &read(&t[k]),
            &narrow(&want[idx]),
            TOL,
        );
    }
}

#[test]
fn adam_and_adamw_match_the_documented_update_on_odd_lengths() {
    for n in ODD_LENGTHS {
        for s in adam_cases() {
            check_adam(n, &s);
        }
    }
}

fn rmsprop_cases() -> Vec<RmspropStep> {
    let base = RmspropStep::default();
    vec![
        base,
        RmspropStep {
            weight_decay: 0.1,
            maximize: true,
            ..base
        },
        RmspropStep {
            centered: true,
            ..base
        },
        RmspropStep {
            momentum: 0.9,
            ..base
        },
        RmspropStep {
            momentum: 0.5,
            centered: true,
            weight_decay: 0.01,
            alpha: 0.9,
            ..base
        },
    ]
}

fn check_rmsprop(n: usize, s: &RmspropStep) {
    let theta = values(n, -2.0, 2.0, 9);
    let grad = values(n, -1.0, 1.0, 10);
    // square_avg >= grad_avg^2 keeps the centered variance positive.
    let sq = values(n, 0.5, 1.0, 11);
    let ga = values(n, -0.1, 0.1, 12);
    let buf = values(n, -1.0, 1.0, 13);
    let want = cpu_rmsprop(
        &wide(&theta),
        &wide(&grad),
        &wide(&sq),
        &wide(&ga),
        &wide(&buf),
        s,
    );
    let t: Vec<Tensor> = [theta, grad, sq, ga, buf]
        .into_iter()
        .map(Tensor::from_vec)
        .collect();
    let ga = s.centered.then_some(&t[3]);
    let buf = (s.momentum > 0.0).then_some(&t[4]);
    t[0].rmsprop_(&t[1], &t[2], ga, buf, s);
    for (k, name) in [
        (0, "param"),
        (2, "square_avg"),
        (3, "grad_avg"),
        (4, "momentum_buffer"),
    ] {
        let idx = if k == 0 { 0 } else { k - 1 };
        assert_close(
            &format!("rmsprop {name}, n={n}, {s:?}"),
            &read(&t[k]),
            &narrow(&want[idx]),
            TOL,
        );
    }
}

#[test]
fn rmsprop_matches_the_documented_update_on_odd_lengths() {
    for n in ODD_LENGTHS {
        for s in rmsprop_cases() {
            check_rmsprop(n, &s);
        }
    }
}

#[test]
fn updates_reach_elements_past_the_first_grid_dimension() {
    let n = LENGTHS[6];
    check_sgd(n, &sgd_cases()[4]);
    check_adam(n, &adam_cases()[3]);
    check_rmsprop(n, &rmsprop_cases()[4]);
}

#[test]
fn updates_of_empty_tensors_do_nothing() {
    let (p, g) = (Tensor::zeros(&[0, 3]), Tensor::zeros(&[0, 3]));
    p.sgd_(&g, None, &SgdStep::default());
    assert!(read(&p).is_empty());
}

#[test]
fn updates_write_only_the_elements_of_a_dense_view_at_an_offset() {
    // param and grad are the middle five elements of larger buffers.
    let whole = values(11, -2.0, 2.0, 14);
    let grads = values(9, -1.0, 1.0, 15);
    let base = Tensor::from_vec(whole.clone());
    let p = base.narrow(0, 3, 5);
    let g = Tensor::from_vec(grads.clone()).narrow(0, 2, 5);
    let s = SgdStep {
        lr: 0.5,
        ..SgdStep::default()
    };
    p.sgd_(&g, None, &s);
    let mut want = whole.clone();
    for i in 0..5 {
        want[3 + i] = whole[3 + i] - 0.5 * grads[2 + i];
    }
    assert_close("sgd on a view", &read(&base), &want, TOL);
}

/// Asserts `r` is an error whose message names `op` and contains `needle`.
#[track_caller]
fn assert_error(r: Result<(), TensorError>, op: &str, needle: &str) {
    let msg = r.expect_err("the update must refuse").to_string();
    assert!(
        msg.contains(op) && msg.contains(needle),
        "unexpected message: {msg}"
    );
}

#[test]
fn updates_reject_tensors_of_another_length_naming_the_op_and_shapes() {
    let p = Tensor::zeros(&[2, 3]);
    let short = Tensor::zeros(&[5]);
    let s = SgdStep::default();
    assert_error(p.try_sgd_(&short, None, &s), "sgd_", "[2, 3]");
    assert_error(p.try_sgd_(&short, None, &s), "sgd_", "[5]");
    let ok = Tensor::zeros(&[6]);
    let a = AdamStep::default();
    assert_error(
        p.try_adam_(&ok, &ok.zeros_like(), &short, None, &a),
        "adam_",
        "exp_avg_sq has 5 elements",
    );
    let r = RmspropStep::default();
    assert_error(
        p.try_rmsprop_(&ok, &short, None, None, &r),
        "rmsprop_",
        "square_avg has 5",
    );
}

#[test]
fn updates_reject_strided_integer_or_aliased_operands() {
    let p = Tensor::zeros(&[2, 3]);
    let s = SgdStep::default();
    let strided = Tensor::zeros(&[3, 2]).t();
    assert_error(
        p.try_sgd_(&strided, None, &s),
        "sgd_",
        "grad must be contiguous",
    );
    let ints = Tensor::zeros_i32(&[2, 3]);
    assert_error(p.try_sgd_(&ints, None, &s), "sgd_", "I32");
    assert_error(
        p.try_sgd_(&p.clone(), None, &s),
        "sgd_",
        "param and grad share one buffer",
    );
}

#[test]
fn updates_reject_a_missing_state_buffer_or_step_zero() {
    let (p, g) = (Tensor::zeros(&[4]), Tensor::zeros(&[4]));
    let momentum = SgdStep {
        momentum: 0.9,
        ..SgdStep::default()
    };
    assert_error(
        p.try_sgd_(&g, None, &momentum),
        "sgd_",
        "momentum needs a momentum_buffer",
    );
    let (m, v) = (p.zeros_like(), p.zeros_like());
    let ams = AdamStep {
        amsgrad: true,
        ..AdamStep::default()
    };
    assert_error(
        p.try_adam_(&g, &m, &v, None, &ams),
        "adam_",
        "amsgrad needs a max_exp_avg_sq",
    );
    let step0 = AdamStep {
        step: 0,
        ..AdamStep::default()
    };
    assert_error(
        p.try_adam_(&g, &m, &v, None, &step0),
        "adam_",
        "counts from 1",
    );
    let centered = RmspropStep {
        centered: true,
        ..RmspropStep::default()
    };
    assert_error(
        p.try_rmsprop_(&g, &v, None, None, &centered),
        "rmsprop_",
        "centered needs a grad_avg",
    );
}
