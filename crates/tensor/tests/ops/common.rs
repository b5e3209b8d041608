//! Shared helpers: deterministic inputs, strided CPU indexing, and a
//! comparison that reports like a person (count, first index, max diff).

use wgrad_tensor::Tensor;

/// Lengths that hit the edges of the 64-wide workgroups, an empty tensor,
/// and one that needs a second grid dimension (more than 65,535 groups).
pub const LENGTHS: [usize; 7] = [0, 1, 63, 64, 65, 1000, 64 * 65_535 + 1];

/// Deterministic values in [lo, hi) (a small LCG: tests must not depend on
/// the library's own generator).
pub fn values(n: usize, lo: f32, hi: f32, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            lo + (hi - lo) * ((s >> 8) as f32 / (1u32 << 24) as f32)
        })
        .collect()
}

/// Row-major element `i` of a strided view described by shape/strides/offset.
pub fn strided_index(i: usize, shape: &[usize], strides: &[usize], offset: usize) -> usize {
    let mut rem = i;
    let mut off = offset;
    for d in (0..shape.len()).rev() {
        off += (rem % shape[d]) * strides[d];
        rem /= shape[d];
    }
    off
}

/// Asserts `got` matches `want` within `tol` (absolute + relative),
/// reporting the number of mismatches, the first index and the largest diff.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs {}",
        got.len(),
        want.len()
    );
    let mut bad = 0;
    let mut first = None;
    let mut max_diff = 0.0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || g == w;
        let diff = (g - w).abs();
        if !same && !approx::relative_eq!(g, w, epsilon = tol, max_relative = tol) {
            bad += 1;
            first.get_or_insert((i, g, w));
        }
        if diff.is_finite() {
            max_diff = max_diff.max(diff);
        }
    }
    if let Some((i, g, w)) = first {
        panic!(
            "{what}: {bad} of {} differ; first at {i}: got {g}, want {w}; max diff {max_diff:e}",
            got.len()
        );
    }
}

/// Reads an f32 tensor back, failing the test on a read-back error.
#[track_caller]
pub fn read(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().expect("read-back")
}
