//! The random generator behind `rand`/`randn` and weight initialisation:
//! one seedable stream per process, like PyTorch's default generator.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// PyTorch's default seed, so an unseeded run is still reproducible.
const DEFAULT_SEED: u64 = 67_280_421_310_721;

static GENERATOR: Mutex<Option<StdRng>> = Mutex::new(None);

fn with_rng<T>(f: impl FnOnce(&mut StdRng) -> T) -> T {
    let mut guard = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(|| StdRng::seed_from_u64(DEFAULT_SEED)))
}

/// Re-seeds the generator (`torch.manual_seed`).
pub fn manual_seed(seed: u64) {
    let mut guard = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    *guard = Some(StdRng::seed_from_u64(seed));
}

/// `n` samples from U[low, high).
pub fn uniform_vec(n: usize, low: f32, high: f32) -> Vec<f32> {
    with_rng(|rng| {
        (0..n)
            .map(|_| low + (high - low) * rng.random::<f32>())
            .collect()
    })
}

/// `n` samples from N(mean, std²), by the Box–Muller transform.
pub fn normal_vec(n: usize, mean: f32, std: f32) -> Vec<f32> {
    with_rng(|rng| {
        let mut out = Vec::with_capacity(n + 1);
        while out.len() < n {
            // 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1.0 - rng.random::<f64>();
            let u2 = rng.random::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f64::consts::TAU * u2;
            out.push(mean + std * (r * t.cos()) as f32);
            out.push(mean + std * (r * t.sin()) as f32);
        }
        out.truncate(n);
        out
    })
}

/// A random permutation of `0..n` (`torch.randperm`).
pub fn permutation(n: usize) -> Vec<usize> {
    with_rng(|rng| {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, rng.random_range(0..=i));
        }
        v
    })
}
