//! The finite-difference checker and deterministic inputs.

use wgrad_autograd::{Tensor, no_grad};

/// Deterministic values in [lo, hi) (a small LCG, independent of the library).
pub fn values(n: usize, lo: f32, hi: f32, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            lo + (hi - lo) * ((s >> 8) as f32 / (1u32 << 24) as f32)
        })
        .collect()
}

/// One input of a gradient check: its values and shape.
pub struct Input {
    pub data: Vec<f32>,
    pub shape: Vec<usize>,
}

impl Input {
    /// Values 0.02 apart in shuffled order: no two within a finite
    /// difference step, so max/min/pooling never cross a tie.
    pub fn distinct(shape: &[usize], seed: u32) -> Input {
        let n: usize = shape.iter().product();
        let keys = values(n, 0.0, 1.0, seed);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        let mut data = vec![0.0; n];
        for (rank, &i) in order.iter().enumerate() {
            data[i] = rank as f32 * 0.02 - 1.0;
        }
        Input {
            data,
            shape: shape.to_vec(),
        }
    }

    pub fn new(shape: &[usize], lo: f32, hi: f32, seed: u32) -> Input {
        Input {
            data: values(shape.iter().product(), lo, hi, seed),
            shape: shape.to_vec(),
        }
    }
}

/// `sum(f(inputs) * w)` for a fixed weighting `w`, so that every output
/// element matters with a different weight.
fn weighted_loss(out: &Tensor, seed: u32) -> Tensor {
    let w = Tensor::from_slice(&values(out.numel(), 0.5, 1.5, seed), out.shape());
    (out * &w).sum()
}

/// Checks the gradient of every input of `f` against central differences
/// `(L(x + eps) - L(x - eps)) / 2eps`, in f32 on the GPU, with relative
/// tolerance `tol` (absolute below 1).
#[track_caller]
pub fn check_gradients(
    what: &str,
    inputs: &[Input],
    eps: f32,
    tol: f32,
    f: impl Fn(&[Tensor]) -> Tensor,
) {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|i| Tensor::from_slice(&i.data, &i.shape).with_grad())
        .collect();
    let out = f(&leaves);
    weighted_loss(&out, 99).backward().expect("backward");
    let eval = |k: usize, j: usize, delta: f32| -> f64 {
        no_grad(|| {
            let ts: Vec<Tensor> = inputs
                .iter()
                .enumerate()
                .map(|(i, inp)| {
                    let mut d = inp.data.clone();
                    if i == k {
                        d[j] += delta;
                    }
                    Tensor::from_slice(&d, &inp.shape)
                })
                .collect();
            f64::from(weighted_loss(&f(&ts), 99).item().expect("item"))
        })
    };
    for (k, inp) in inputs.iter().enumerate() {
        let analytic = match leaves[k].grad() {
            Some(g) => g.to_vec::<f32>().expect("grad"),
            None => vec![0.0; inp.data.len()],
        };
        assert_eq!(
            analytic.len(),
            inp.data.len(),
            "{what}: grad of input {k} has the wrong size"
        );
        let mut worst = (0usize, 0.0f64, 0.0f64, 0.0f64);
        for (j, &a) in analytic.iter().enumerate() {
            let numeric = (eval(k, j, eps) - eval(k, j, -eps)) / (2.0 * f64::from(eps));
            let a = f64::from(a);
            let err = (a - numeric).abs() / numeric.abs().max(1.0);
            if err > worst.3 {
                worst = (j, a, numeric, err);
            }
        }
        assert!(
            worst.3 <= f64::from(tol),
            "{what}: input {k} element {}: analytic {} vs numeric {} (relative error {:.2e} > {tol})",
            worst.0,
            worst.1,
            worst.2,
            worst.3
        );
    }
}
