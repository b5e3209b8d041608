//! Shared inputs: a small parameter, the fixed gradients of three steps, and
//! a comparison that reports like a person.

use wgrad_autograd::Tensor;
use wgrad_nn::optim::Optimizer;

/// The steps every optimizer test runs.
pub const STEPS: usize = 3;

/// The parameter's starting values (an odd length, both signs).
pub const THETA0: [f32; 5] = [0.5, -1.5, 2.0, -0.25, 1.0];

/// Relative (and, near zero, absolute) tolerance against the f64 twins.
pub const TOL: f64 = 1e-6;

/// The gradient of step `t` (from 0): large, then small, then reversed, so
/// that momentum, running averages and AMSGrad's maximum all matter.
pub fn grad_at(t: usize) -> Vec<f32> {
    const BASE: [f32; 5] = [0.3, -0.7, 0.1, 0.9, -0.4];
    const SCALE: [f32; STEPS] = [1.0, 0.3, -0.6];
    BASE.iter()
        .enumerate()
        .map(|(i, &b)| b * SCALE[t] + 0.05 * i as f32)
        .collect()
}

/// A fresh leaf holding [`THETA0`] that requires grad.
pub fn param() -> Tensor {
    Tensor::from_slice(&THETA0, &[THETA0.len()]).with_grad()
}

/// f32 values as f64, for the twins.
pub fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Reads a tensor back, failing the test on a read-back error.
#[track_caller]
pub fn read(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().expect("read-back")
}

/// Runs [`STEPS`] steps of `opt` with the fixed gradients set on `p`;
/// returns the parameter after each step.
pub fn run(opt: &mut dyn Optimizer, p: &Tensor) -> Vec<Vec<f32>> {
    (0..STEPS)
        .map(|t| {
            p.set_grad(Some(&Tensor::from_vec(grad_at(t))));
            opt.step().expect("step");
            read(p)
        })
        .collect()
}

/// Asserts each step's parameter matches the twin's within [`TOL`],
/// reporting the step, the number of mismatches, the first and the largest
/// difference.
#[track_caller]
pub fn assert_trajectory(what: &str, got: &[Vec<f32>], want: &[Vec<f64>]) {
    assert_eq!(got.len(), want.len(), "{what}: step count");
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(&format!("{what}, step {}", t + 1), g, w);
    }
}

/// Asserts `got` matches `want` within [`TOL`].
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut bad = 0;
    let mut first = None;
    let mut max_diff = 0.0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let diff = (f64::from(g) - w).abs();
        max_diff = max_diff.max(diff);
        if diff.is_nan() || diff > TOL * w.abs().max(1.0) {
            bad += 1;
            first.get_or_insert((i, g, w));
        }
    }
    if let Some((i, g, w)) = first {
        panic!(
            "{what}: {bad} of {} differ; first at {i}: got {g}, want {w}; max diff {max_diff:e}",
            got.len()
        );
    }
}

/// Asserts two twin trajectories differ, so that a case exercises its option.
#[track_caller]
pub fn assert_differs(what: &str, a: &[Vec<f64>], b: &[Vec<f64>]) {
    let most = a
        .iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(
        most > 1e-4,
        "{what}: the option changes nothing (max diff {most:e})"
    );
}
