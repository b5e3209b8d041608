//! Deterministic inputs, CPU twins of the layers and a closeness check
//! that reports like a person.

use wgrad_autograd::Tensor;

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

/// A tensor of `values` with `shape`.
pub fn tensor(shape: &[usize], seed: u32) -> Tensor {
    Tensor::from_slice(&values(shape.iter().product(), -1.0, 1.0, seed), shape)
}

/// The host values of an f32 tensor.
pub fn host(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().expect("read back")
}

/// Asserts `got ≈ want` elementwise (|d| <= tol·max(1, |want|)), naming the
/// count of mismatches, the first index and the largest difference.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut bad = 0;
    let mut first = None;
    let mut worst = 0f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        worst = worst.max(d);
        if d > tol * w.abs().max(1.0) || g.is_nan() != w.is_nan() {
            bad += 1;
            first.get_or_insert((i, g, w));
        }
    }
    if let Some((i, g, w)) = first {
        panic!(
            "{what}: {bad} of {} elements differ; first at {i}: got {g}, want {w}; max diff {worst}",
            got.len()
        );
    }
}

/// `y[b, o] = Σ_i x[b, i] · w[o, i] + bias[o]`.
pub fn linear_cpu(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    rows: usize,
    inp: usize,
    out: usize,
) -> Vec<f32> {
    let mut y = vec![0.0; rows * out];
    for r in 0..rows {
        for o in 0..out {
            let mut acc = bias.map_or(0.0, |b| b[o]);
            for i in 0..inp {
                acc += x[r * inp + i] * w[o * inp + i];
            }
            y[r * out + o] = acc;
        }
    }
    y
}

/// Geometry of a CPU convolution or pooling window.
#[derive(Clone, Copy)]
pub struct Window {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Window {
    pub fn out(&self, h: usize, w: usize) -> (usize, usize) {
        let f = |n: usize, k, s, p, d| (n + 2 * p - d * (k - 1) - 1) / s + 1;
        (
            f(
                h,
                self.kernel.0,
                self.stride.0,
                self.padding.0,
                self.dilation.0,
            ),
            f(
                w,
                self.kernel.1,
                self.stride.1,
                self.padding.1,
                self.dilation.1,
            ),
        )
    }

    /// The input position of tap (ki, kj) of output (oi, oj), if inside.
    pub fn tap(
        &self,
        oi: usize,
        oj: usize,
        ki: usize,
        kj: usize,
        h: usize,
        w: usize,
    ) -> Option<(usize, usize)> {
        let i = (oi * self.stride.0 + ki * self.dilation.0) as isize - self.padding.0 as isize;
        let j = (oj * self.stride.1 + kj * self.dilation.1) as isize - self.padding.1 as isize;
        (i >= 0 && j >= 0 && (i as usize) < h && (j as usize) < w)
            .then_some((i as usize, j as usize))
    }
}

/// NCHW convolution with groups: `x: [n, c, h, w]`, `wt: [o, c/g, kh, kw]`.
pub fn conv2d_cpu(
    x: &[f32],
    xs: [usize; 4],
    wt: &[f32],
    out_ch: usize,
    bias: Option<&[f32]>,
    win: Window,
    groups: usize,
) -> (Vec<f32>, [usize; 4]) {
    let [n, c, h, w] = xs;
    let (kh, kw) = win.kernel;
    let (oh, ow) = win.out(h, w);
    let cg = c / groups;
    let og = out_ch / groups;
    let mut y = vec![0.0; n * out_ch * oh * ow];
    for b in 0..n {
        for o in 0..out_ch {
            let g = o / og;
            for oi in 0..oh {
                for oj in 0..ow {
                    let mut acc = bias.map_or(0.0, |bb| bb[o]);
                    for ci in 0..cg {
                        let ch = g * cg + ci;
                        for ki in 0..kh {
                            for kj in 0..kw {
                                if let Some((i, j)) = win.tap(oi, oj, ki, kj, h, w) {
                                    acc += x[((b * c + ch) * h + i) * w + j]
                                        * wt[((o * cg + ci) * kh + ki) * kw + kj];
                                }
                            }
                        }
                    }
                    y[((b * out_ch + o) * oh + oi) * ow + oj] = acc;
                }
            }
        }
    }
    (y, [n, out_ch, oh, ow])
}

/// Max or average pooling (padding counted in the average's divisor).
pub fn pool2d_cpu(x: &[f32], xs: [usize; 4], win: Window, max: bool) -> (Vec<f32>, [usize; 4]) {
    let [n, c, h, w] = xs;
    let (oh, ow) = win.out(h, w);
    let mut y = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        for oi in 0..oh {
            for oj in 0..ow {
                let mut acc = if max { f32::NEG_INFINITY } else { 0.0 };
                for ki in 0..win.kernel.0 {
                    for kj in 0..win.kernel.1 {
                        if let Some((i, j)) = win.tap(oi, oj, ki, kj, h, w) {
                            let v = x[(plane * h + i) * w + j];
                            acc = if max { acc.max(v) } else { acc + v };
                        }
                    }
                }
                if !max {
                    acc /= (win.kernel.0 * win.kernel.1) as f32;
                }
                y.push(acc);
            }
        }
    }
    (y, [n, c, oh, ow])
}
