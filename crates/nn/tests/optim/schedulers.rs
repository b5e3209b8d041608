//! StepLR and CosineAnnealingLR against values computed by hand.

use wgrad_nn::optim::{CosineAnnealingLR, LrScheduler, OptimError, Optimizer, SGD, StepLR};

use crate::common::param;

/// Steps `scheduler` `epochs` times; returns (get_last_lr, optimizer lr) after each.
fn lrs(scheduler: &mut dyn LrScheduler, opt: &mut dyn Optimizer, epochs: usize) -> Vec<(f64, f64)> {
    (0..epochs)
        .map(|_| {
            opt.step().expect("step");
            scheduler.step(opt);
            (scheduler.get_last_lr(), opt.lr())
        })
        .collect()
}

#[track_caller]
fn assert_lrs(what: &str, got: &[(f64, f64)], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: epochs");
    for (e, (&(last, lr), &w)) in got.iter().zip(want).enumerate() {
        let ok = |x: f64| (x - w).abs() <= 1e-12 * w.abs();
        assert!(
            ok(last) && ok(lr),
            "{what}, epoch {}: get_last_lr {last}, optimizer lr {lr}, want {w}",
            e + 1
        );
    }
}

#[test]
fn step_lr_multiplies_by_gamma_every_step_size_epochs() {
    // lr_e = 0.1 * 0.5^(e / 2), integer division: epochs 1..=6.
    let mut opt = SGD::new(vec![param()], 0.1);
    let mut sched = StepLR::new(&opt, 2, 0.5).expect("StepLR");
    assert_eq!((sched.get_last_lr(), sched.last_epoch()), (0.1, 0));
    let got = lrs(&mut sched, &mut opt, 6);
    assert_lrs("StepLR", &got, &[0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]);
    assert_eq!(sched.last_epoch(), 6);
}

#[test]
fn cosine_annealing_follows_the_cosine_down_and_back_up() {
    // lr_e = 0.01 + (0.1 - 0.01) * (1 + cos(pi e / 4)) / 2, e = 1..=8:
    // cos(pi/4) = 0.70710678..., so e = 1 gives 0.01 + 0.045 * 1.70710678... ;
    // e = 4 is the minimum eta_min and e = 8 is back at the base 0.1.
    let mut opt = SGD::new(vec![param()], 0.1);
    let mut sched = CosineAnnealingLR::new(&opt, 4, 0.01).expect("CosineAnnealingLR");
    let got = lrs(&mut sched, &mut opt, 8);
    let want = [
        0.086_819_805_153_394_63,
        0.055,
        0.023_180_194_846_605_36,
        0.01,
        0.023_180_194_846_605_36,
        0.055,
        0.086_819_805_153_394_63,
        0.1,
    ];
    assert_lrs("CosineAnnealingLR", &got, &want);
}

#[test]
fn schedulers_refuse_a_zero_period() {
    let opt = SGD::new(vec![param()], 0.1);
    let err = StepLR::new(&opt, 0, 0.1).expect_err("step_size 0");
    assert!(
        matches!(
            err,
            OptimError::InvalidHyperParameter {
                name: "step_size",
                ..
            }
        ),
        "{err:?}"
    );
    let err = CosineAnnealingLR::new(&opt, 0, 0.0).expect_err("T_max 0");
    assert_eq!(err.to_string(), "CosineAnnealingLR: invalid T_max: 0");
}
