//! The multi-tensor updates (`optim_foreach`) against the same f64 CPU
//! twins as the single-tensor ones: nine parameters of odd lengths (two
//! dispatches of up to four, one parameter empty, one a view at an offset),
//! each with its own first step or step number. The view at offset 3 sends
//! the first dispatch to the scalar kernels; the second, whose tensors all
//! start on 16 bytes, takes the quad kernels, with last quads of 3, 2, 1
//! and 4 elements.

use wgrad_tensor::Tensor;
use wgrad_tensor::ops::optim::{AdamStep, SgdStep};
use wgrad_tensor::ops::optim_foreach::{AdamSlot, SgdSlot, try_adam_foreach_, try_sgd_foreach_};

use crate::common::{assert_close, read, values};
use crate::optim::{cpu_adam, cpu_sgd, narrow, wide};

const TOL: f32 = 1e-6;
const LENGTHS: [usize; 9] = [65, 1, 0, 1000, 63, 7, 130, 5, 8];

/// A tensor holding `v`; parameter 4 is a view at offset 3 of a larger one.
fn tensor(k: usize, v: &[f32]) -> Tensor {
    if k != 4 {
        return Tensor::from_slice(v, &[v.len()]);
    }
    let mut padded = vec![9.0; 3];
    padded.extend_from_slice(v);
    Tensor::from_vec(padded).narrow(0, 3, v.len())
}

#[test]
fn sgd_foreach_matches_the_documented_update_for_every_parameter() {
    let momentum = SgdStep {
        lr: 0.1,
        momentum: 0.9,
        dampening: 0.1,
        weight_decay: 0.01,
        ..SgdStep::default()
    };
    let plain = SgdStep {
        lr: 0.5,
        maximize: true,
        ..SgdStep::default()
    };
    for s in [
        momentum,
        SgdStep {
            nesterov: true,
            dampening: 0.0,
            ..momentum
        },
        plain,
    ] {
        let host: Vec<[Vec<f32>; 3]> = LENGTHS
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let seed = 10 * k as u32;
                [0, 1, 2].map(|j| values(n, -1.0, 1.0, seed + j))
            })
            .collect();
        let dev: Vec<[Tensor; 3]> = host
            .iter()
            .enumerate()
            .map(|(k, h)| [tensor(k, &h[0]), tensor(k, &h[1]), tensor(k, &h[2])])
            .collect();
        let slots: Vec<SgdSlot<'_>> = dev
            .iter()
            .enumerate()
            .map(|(k, t)| SgdSlot {
                param: &t[0],
                grad: &t[1],
                momentum_buffer: (s.momentum != 0.0).then_some(&t[2]),
                first_step: k % 3 == 1,
            })
            .collect();
        try_sgd_foreach_(&slots, &s).unwrap();
        for (k, (h, t)) in host.iter().zip(&dev).enumerate() {
            let step = SgdStep {
                first_step: k % 3 == 1,
                ..s
            };
            let (want, want_buf) = cpu_sgd(&wide(&h[0]), &wide(&h[1]), &wide(&h[2]), &step);
            let what = format!("parameter {k} (n={}), {step:?}", h[0].len());
            assert_close(
                &format!("param of {what}"),
                &read(&t[0]),
                &narrow(&want),
                TOL,
            );
            let buf = if s.momentum != 0.0 {
                narrow(&want_buf)
            } else {
                h[2].clone()
            };
            assert_close(&format!("buffer of {what}"), &read(&t[2]), &buf, TOL);
        }
    }
}

#[test]
fn adam_foreach_matches_the_documented_update_with_each_parameters_step() {
    let base = AdamStep {
        lr: 0.01,
        weight_decay: 0.1,
        ..AdamStep::default()
    };
    let cases = [
        base,
        AdamStep {
            decoupled_weight_decay: true,
            maximize: true,
            ..base
        },
        // AMSGrad runs the single-tensor kernel per parameter.
        AdamStep {
            amsgrad: true,
            ..base
        },
    ];
    for s in cases {
        let host: Vec<[Vec<f32>; 5]> = LENGTHS
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let seed = 100 + 10 * k as u32;
                [
                    values(n, -2.0, 2.0, seed),
                    values(n, -1.0, 1.0, seed + 1),
                    values(n, -0.5, 0.5, seed + 2),
                    values(n, 0.0, 0.5, seed + 3),
                    values(n, 0.0, 1.0, seed + 4),
                ]
            })
            .collect();
        let dev: Vec<Vec<Tensor>> = host
            .iter()
            .enumerate()
            .map(|(k, h)| h.iter().map(|v| tensor(k, v)).collect())
            .collect();
        let step = |k: usize| 1 + (k as u64 * 7) % 5;
        let slots: Vec<AdamSlot<'_>> = dev
            .iter()
            .enumerate()
            .map(|(k, t)| AdamSlot {
                param: &t[0],
                grad: &t[1],
                exp_avg: &t[2],
                exp_avg_sq: &t[3],
                max_exp_avg_sq: s.amsgrad.then_some(&t[4]),
                step: step(k),
            })
            .collect();
        try_adam_foreach_(&slots, &s).unwrap();
        for (k, (h, t)) in host.iter().zip(&dev).enumerate() {
            let one = AdamStep { step: step(k), ..s };
            let want = cpu_adam(
                &wide(&h[0]),
                &wide(&h[1]),
                &wide(&h[2]),
                &wide(&h[3]),
                &wide(&h[4]),
                &one,
            );
            for (j, name) in ["param", "exp_avg", "exp_avg_sq"].iter().enumerate() {
                let at = if j == 0 { 0 } else { j + 1 };
                assert_close(
                    &format!("{name} of parameter {k} (n={}), {one:?}", h[0].len()),
                    &read(&t[at]),
                    &narrow(&want[j]),
                    TOL,
                );
            }
        }
    }
}

#[test]
fn foreach_updates_refuse_overlapping_parameters_and_bad_state_before_updating_anything() {
    let (p, g, b) = (
        Tensor::from_vec(values(5, -1.0, 1.0, 1)),
        Tensor::from_vec(values(5, -1.0, 1.0, 2)),
        Tensor::zeros(&[5]),
    );
    let before = read(&p);
    let s = SgdStep {
        lr: 0.1,
        momentum: 0.9,
        ..SgdStep::default()
    };
    let slot = SgdSlot {
        param: &p,
        grad: &g,
        momentum_buffer: Some(&b),
        first_step: false,
    };
    let err = try_sgd_foreach_(&[slot, slot], &s).unwrap_err().to_string();
    assert!(
        err.contains("sgd_foreach_") && err.contains("overlap in one buffer"),
        "{err}"
    );
    let missing = SgdSlot {
        momentum_buffer: None,
        ..slot
    };
    let (p2, g2, b2) = (
        Tensor::zeros(&[3]),
        Tensor::zeros(&[3]),
        Tensor::zeros(&[3]),
    );
    let fine = SgdSlot {
        param: &p2,
        grad: &g2,
        momentum_buffer: Some(&b2),
        first_step: false,
    };
    let err = try_sgd_foreach_(&[fine, missing], &s)
        .unwrap_err()
        .to_string();
    assert!(err.contains("momentum_buffer"), "{err}");
    assert_eq!(read(&p), before, "nothing was updated");
    let m = Tensor::zeros(&[4]);
    let adam = AdamSlot {
        param: &p,
        grad: &g,
        exp_avg: &m,
        exp_avg_sq: &b,
        max_exp_avg_sq: None,
        step: 1,
    };
    let err = try_adam_foreach_(&[adam], &AdamStep::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("adam_foreach_") && err.contains("[5]"),
        "{err}"
    );
}

#[test]
fn foreach_updates_take_disjoint_views_of_one_buffer() {
    // Two parameters in one buffer, their gradients in another (as a cat's
    // backward gives them): every element updated once.
    let (theta, grads) = (values(10, -1.0, 1.0, 30), values(10, -1.0, 1.0, 31));
    let (params, g) = (
        Tensor::from_vec(theta.clone()),
        Tensor::from_vec(grads.clone()),
    );
    let (p1, p2) = (params.narrow(0, 0, 4), params.narrow(0, 4, 6));
    let (g1, g2) = (g.narrow(0, 0, 4), g.narrow(0, 4, 6));
    let slot = |param, grad| SgdSlot {
        param,
        grad,
        momentum_buffer: None,
        first_step: false,
    };
    let s = SgdStep {
        lr: 0.5,
        ..SgdStep::default()
    };
    try_sgd_foreach_(&[slot(&p1, &g1), slot(&p2, &g2)], &s).unwrap();
    let want: Vec<f32> = theta.iter().zip(&grads).map(|(t, g)| t - 0.5 * g).collect();
    assert_close("two views of one buffer", &read(&params), &want, TOL);
    // Overlapping views are refused.
    let p3 = params.narrow(0, 3, 4);
    let g3 = g.narrow(0, 0, 4);
    let err = try_sgd_foreach_(&[slot(&p1, &g1), slot(&p3, &g3)], &s)
        .unwrap_err()
        .to_string();
    assert!(err.contains("overlap"), "{err}");
}

#[test]
fn foreach_quad_kernels_write_no_element_past_a_views_end() {
    // Views of 5 elements at offset 4 of 16-element buffers: they start on
    // 16 bytes (the quad kernels), and their last quad holds one element
    // followed by three that belong to no parameter.
    let n = 5;
    let view = |v: &[f32]| {
        let mut all = vec![7.0; 16];
        all[4..4 + n].copy_from_slice(v);
        let whole = Tensor::from_vec(all);
        let part = whole.narrow(0, 4, n);
        (whole, part)
    };
    let check = |what: &str, whole: &Tensor, want: &[f64]| {
        let mut all = vec![7.0; 16];
        all[4..4 + n].copy_from_slice(&narrow(want));
        assert_close(what, &read(whole), &all, TOL);
    };
    let h: Vec<Vec<f32>> = (0..4).map(|j| values(n, -1.0, 1.0, 200 + j)).collect();

    let ((p_all, p), (_, g), (b_all, b)) = (view(&h[0]), view(&h[1]), view(&h[2]));
    let s = SgdStep {
        lr: 0.1,
        momentum: 0.9,
        ..SgdStep::default()
    };
    let slot = SgdSlot {
        param: &p,
        grad: &g,
        momentum_buffer: Some(&b),
        first_step: false,
    };
    try_sgd_foreach_(&[slot], &s).unwrap();
    let (want, want_buf) = cpu_sgd(&wide(&h[0]), &wide(&h[1]), &wide(&h[2]), &s);
    check("sgd param's buffer", &p_all, &want);
    check("sgd momentum buffer's buffer", &b_all, &want_buf);

    let sq: Vec<f32> = h[3].iter().map(|x| x.abs()).collect();
    let ((p_all, p), (_, g), (m_all, m), (v_all, v)) =
        (view(&h[0]), view(&h[1]), view(&h[2]), view(&sq));
    let s = AdamStep {
        step: 1,
        ..AdamStep::default()
    };
    let slot = AdamSlot {
        param: &p,
        grad: &g,
        exp_avg: &m,
        exp_avg_sq: &v,
        max_exp_avg_sq: None,
        step: 1,
    };
    try_adam_foreach_(&[slot], &s).unwrap();
    let unused = vec![0.0; n];
    let want = cpu_adam(
        &wide(&h[0]),
        &wide(&h[1]),
        &wide(&h[2]),
        &wide(&sq),
        &unused,
        &s,
    );
    check("adam param's buffer", &p_all, &want[0]);
    check("adam exp_avg's buffer", &m_all, &want[1]);
    check("adam exp_avg_sq's buffer", &v_all, &want[2]);
}

#[test]
fn foreach_updates_spread_any_number_of_parameters_over_their_dispatches() {
    // 1 to 7 parameters, every one starting on 16 bytes (the quad
    // kernels) and ending inside a quad: 1, 2, 3 and 4 slots per dispatch,
    // and second dispatches with a slot to spare (5 = 3 + 2, 7 = 4 + 3).
    let sgd = SgdStep {
        lr: 0.1,
        momentum: 0.9,
        ..SgdStep::default()
    };
    let adam = AdamStep {
        lr: 0.01,
        ..AdamStep::default()
    };
    for count in 1..=7 {
        let lengths: Vec<usize> = (0..count).map(|k| 3 + 6 * k).collect();
        let host: Vec<[Vec<f32>; 4]> = lengths
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let seed = 300 + 10 * k as u32;
                [
                    values(n, -1.0, 1.0, seed),
                    values(n, -1.0, 1.0, seed + 1),
                    values(n, -0.5, 0.5, seed + 2),
                    values(n, 0.0, 0.5, seed + 3),
                ]
            })
            .collect();
        let upload = || -> Vec<Vec<Tensor>> {
            host.iter()
                .map(|h| {
                    h.iter()
                        .map(|v| Tensor::from_slice(v, &[v.len()]))
                        .collect()
                })
                .collect()
        };

        let dev = upload();
        let slots: Vec<SgdSlot<'_>> = dev
            .iter()
            .map(|t| SgdSlot {
                param: &t[0],
                grad: &t[1],
                momentum_buffer: Some(&t[2]),
                first_step: false,
            })
            .collect();
        try_sgd_foreach_(&slots, &sgd).unwrap();
        for (k, (h, t)) in host.iter().zip(&dev).enumerate() {
            let (want, want_buf) = cpu_sgd(&wide(&h[0]), &wide(&h[1]), &wide(&h[2]), &sgd);
            let what = format!("sgd, parameter {k} of {count}");
            assert_close(&what, &read(&t[0]), &narrow(&want), TOL);
            assert_close(
                &format!("{what}: buffer"),
                &read(&t[2]),
                &narrow(&want_buf),
                TOL,
            );
        }

        let dev = upload();
        let slots: Vec<AdamSlot<'_>> = dev
            .iter()
            .map(|t| AdamSlot {
                param: &t[0],
                grad: &t[1],
                exp_avg: &t[2],
                exp_avg_sq: &t[3],
                max_exp_avg_sq: None,
                step: 2,
            })
            .collect();
        try_adam_foreach_(&slots, &adam).unwrap();
        for (k, (h, t)) in host.iter().zip(&dev).enumerate() {
            let one = AdamStep { step: 2, ..adam };
            let unused = vec![0.0; h[0].len()];
            let want = cpu_adam(
                &wide(&h[0]),
                &wide(&h[1]),
                &wide(&h[2]),
                &wide(&h[3]),
                &unused,
                &one,
            );
            for (j, name) in ["param", "exp_avg", "exp_avg_sq"].iter().enumerate() {
                let what = format!("adam {name}, parameter {k} of {count}");
                assert_close(
                    &what,
                    &read(&t[if j == 0 { 0 } else { j + 1 }]),
                    &narrow(&want[j]),
                    TOL,
                );
            }
        }
    }
}
