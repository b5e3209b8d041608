//! Reductions: sum, mean, max, min, argmax, argmin, sum_dims, sum_to_shape.
//!
//! Sums are checked against an f64 CPU sum. Tolerance: 1e-4 absolute (or
//! relative) for rows of up to 3000 values in [-1, 1); 1e-6 relative for the
//! 4M-element sum of values in [0, 1), where one serial f32 loop over all
//! elements is off by about 2e-5 (the staged partials: about 3e-8).

use wgrad_tensor::Tensor;

use crate::common::{LENGTHS, assert_close, read, values};

/// `[outer, n, inner]` around dim `d` of `shape`.
fn split(shape: &[usize], d: usize) -> (usize, usize, usize) {
    (
        shape[..d].iter().product(),
        shape[d],
        shape[d + 1..].iter().product(),
    )
}

/// Plain-loop sums in f64 over the middle axis, divided by `n` for a mean.
fn cpu_sum(data: &[f32], (outer, n, inner): (usize, usize, usize), mean: bool) -> Vec<f32> {
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for j in 0..inner {
            let s: f64 = (0..n)
                .map(|k| f64::from(data[(o * n + k) * inner + j]))
                .sum();
            out.push(if mean {
                (s / n as f64) as f32
            } else {
                s as f32
            });
        }
    }
    out
}

/// Plain-loop max (or min) and its index: the first index wins a tie and
/// the first NaN wins over every number, as in PyTorch.
fn cpu_extremum(
    data: &[f32],
    (outer, n, inner): (usize, usize, usize),
    max: bool,
) -> (Vec<f32>, Vec<i32>) {
    let (mut vals, mut idxs) = (Vec::new(), Vec::new());
    for o in 0..outer {
        for j in 0..inner {
            let at = |k: usize| data[(o * n + k) * inner + j];
            let mut best = 0;
            for k in 1..n {
                let (v, b) = (at(k), at(best));
                let wins = if max { v > b } else { v < b };
                if !b.is_nan() && (v.is_nan() || wins) {
                    best = k;
                }
            }
            vals.push(at(best));
            idxs.push(best as i32);
        }
    }
    (vals, idxs)
}

fn read_i32(t: &Tensor) -> Vec<i32> {
    t.to_vec::<i32>().expect("read-back")
}

/// Shapes with odd sizes, and rows longer than one pass folds (1100, 3000),
/// which the kernels split into partials and reduce again.
const SHAPES: [&[usize]; 6] = [&[1], &[7], &[65], &[1100], &[3, 5, 7], &[2, 3000, 3]];

/// Every (dim, keepdim) of `shape`, the dim given negative when keepdim is set.
fn dims_of(shape: &[usize]) -> Vec<(usize, isize, bool, Vec<usize>)> {
    let rank = shape.len();
    let mut out = Vec::new();
    for d in 0..rank {
        for keepdim in [false, true] {
            let arg = if keepdim {
                d as isize - rank as isize
            } else {
                d as isize
            };
            let mut want = shape.to_vec();
            if keepdim {
                want[d] = 1;
            } else {
                want.remove(d);
            }
            out.push((d, arg, keepdim, want));
        }
    }
    out
}

#[test]
fn sum_and_mean_along_each_dim_match_an_f64_cpu_sum() {
    for (s, shape) in SHAPES.iter().enumerate() {
        let data = values(shape.iter().product(), -1.0, 1.0, s as u32);
        let x = Tensor::from_slice(&data, shape);
        for (d, arg, keepdim, want_shape) in dims_of(shape) {
            let what = format!("{shape:?} dim {arg} keepdim {keepdim}");
            let sum = x.sum_dim(arg, keepdim);
            assert_eq!(sum.shape(), want_shape, "sum {what}");
            let want = cpu_sum(&data, split(shape, d), false);
            assert_close(&format!("sum {what}"), &read(&sum), &want, 1e-4);
            let mean = x.mean_dim(arg, keepdim);
            assert_eq!(mean.shape(), want_shape, "mean {what}");
            let want = cpu_sum(&data, split(shape, d), true);
            assert_close(&format!("mean {what}"), &read(&mean), &want, 1e-5);
        }
    }
}

#[test]
fn max_min_and_their_indices_along_each_dim_match_the_cpu() {
    for (s, shape) in SHAPES.iter().enumerate() {
        let data = values(shape.iter().product(), -1.0, 1.0, 10 + s as u32);
        let x = Tensor::from_slice(&data, shape);
        for (d, arg, keepdim, want_shape) in dims_of(shape) {
            let what = format!("{shape:?} dim {arg} keepdim {keepdim}");
            for max in [true, false] {
                let ((v, i), a) = if max {
                    (x.max_dim(arg, keepdim), x.argmax(arg, keepdim))
                } else {
                    (x.min_dim(arg, keepdim), x.argmin(arg, keepdim))
                };
                assert_eq!(v.shape(), want_shape, "{what}");
                assert_eq!(i.shape(), want_shape, "{what}");
                assert_eq!(a.shape(), want_shape, "{what}");
                let (want_v, want_i) = cpu_extremum(&data, split(shape, d), max);
                assert_close(&format!("max={max} {what}"), &read(&v), &want_v, 0.0);
                assert_eq!(read_i32(&i), want_i, "indices max={max} {what}");
                assert_eq!(read_i32(&a), want_i, "arg max={max} {what}");
            }
        }
    }
}

#[test]
fn full_reductions_return_zero_dim_tensors() {
    let shape = [3, 5, 7];
    let data = values(105, -1.0, 1.0, 3);
    let x = Tensor::from_slice(&data, &shape);
    let all = (1, 105, 1);
    for (name, t, want) in [
        ("sum", x.sum(), cpu_sum(&data, all, false)),
        ("mean", x.mean(), cpu_sum(&data, all, true)),
        ("max", x.max(), cpu_extremum(&data, all, true).0),
        ("min", x.min(), cpu_extremum(&data, all, false).0),
    ] {
        assert_eq!(t.shape(), &[] as &[usize], "{name}");
        assert_close(name, &read(&t), &want, 1e-5);
    }
    // A 0-dim tensor reduces over its one element and stays 0-dim.
    let s = Tensor::scalar(2.5);
    assert_eq!(read(&s.sum_dim(0, true)), vec![2.5]);
    assert_eq!(s.max_dim(0, false).0.shape(), &[] as &[usize]);
    assert_eq!(read_i32(&s.argmax(0, false)), vec![0]);
}

#[test]
fn reductions_read_transposed_views() {
    let data = values(35, -1.0, 1.0, 5);
    let x = Tensor::from_slice(&data, &[5, 7]).t(); // [7, 5]; x[i][j] = data[j * 7 + i]
    let dense: Vec<f32> = (0..35).map(|k| data[(k % 5) * 7 + k / 5]).collect();
    for d in 0..2 {
        let sp = split(&[7, 5], d);
        let want = cpu_sum(&dense, sp, false);
        assert_close(
            &format!("sum dim {d}"),
            &read(&x.sum_dim(d as isize, false)),
            &want,
            1e-5,
        );
        let (v, i) = x.max_dim(d as isize, false);
        let (want_v, want_i) = cpu_extremum(&dense, sp, true);
        assert_close(&format!("max dim {d}"), &read(&v), &want_v, 0.0);
        assert_eq!(read_i32(&i), want_i, "argmax dim {d}");
    }
    assert_close(
        "full sum",
        &read(&x.sum()),
        &cpu_sum(&dense, (1, 35, 1), false),
        1e-5,
    );
}

#[test]
fn a_full_sum_and_max_over_a_two_dimensional_grid_are_accurate() {
    let n = LENGTHS[6]; // 64 * 65535 + 1
    let mut data = values(n, 0.0, 1.0, 11);
    data[n - 1] = 2.0; // the max sits in the very last element
    let x = Tensor::from_slice(&data, &[n]);
    let want = cpu_sum(&data, (1, n, 1), false);
    assert_close("sum of 4M", &read(&x.sum()), &want, 1e-6);
    let want = cpu_sum(&data, (1, n, 1), true);
    assert_close("mean of 4M", &read(&x.mean()), &want, 1e-6);
    assert_eq!(read(&x.max()), vec![2.0]);
    assert_eq!(read_i32(&x.argmax(0, false)), vec![n as i32 - 1]);
    let (want_v, want_i) = cpu_extremum(&data, (1, n, 1), false);
    let (v, i) = x.min_dim(0, false);
    assert_eq!((read(&v), read_i32(&i)), (want_v, want_i), "min of 4M");
}

#[test]
fn ties_pick_the_first_index() {
    let x = Tensor::from_slice(&[1.0f32, 3.0, 2.0, 3.0, 0.0, 0.0], &[6]);
    assert_eq!(read_i32(&x.argmax(0, false)), vec![1]);
    assert_eq!(read_i32(&x.argmin(0, false)), vec![4]);
    // Long rows are split into interleaved partials; the tie still goes to
    // the first index however the partials are merged.
    let mut data = vec![0.0f32; 100_000];
    for k in [99_999, 50_000, 1234, 70_001] {
        data[k] = 7.0;
    }
    let x = Tensor::from_slice(&data, &[100_000]);
    assert_eq!(read_i32(&x.argmax(0, false)), vec![1234]);
    assert_eq!(read_i32(&x.argmin(0, false)), vec![0]);
    let ones = Tensor::ones(&[2, 5000]);
    assert_eq!(read_i32(&ones.argmax(1, false)), vec![0, 0]);
}

#[test]
fn a_nan_is_both_the_max_and_the_min() {
    let nan = f32::NAN;
    let x = Tensor::from_slice(&[1.0f32, nan, 3.0, nan], &[4]);
    assert!(read(&x.max())[0].is_nan());
    assert!(read(&x.min())[0].is_nan());
    assert_eq!(read_i32(&x.argmax(0, false)), vec![1]);
    assert_eq!(read_i32(&x.argmin(0, false)), vec![1]);
    let mut data = values(50_000, -1.0, 1.0, 9);
    data[40_000] = nan;
    data[45_000] = nan;
    let (v, i) = Tensor::from_slice(&data, &[50_000]).max_dim(0, false);
    assert!(read(&v)[0].is_nan());
    assert_eq!(read_i32(&i), vec![40_000]);
}

#[test]
fn empty_reductions_follow_pytorch() {
    let empty = Tensor::zeros(&[0]);
    assert_eq!(empty.sum().shape(), &[] as &[usize]);
    assert_eq!(read(&empty.sum()), vec![0.0]);
    assert!(read(&empty.mean())[0].is_nan());
    let e = empty.try_max().unwrap_err().to_string();
    assert!(e.contains("max") && e.contains("[0]"), "{e}");
    let e = empty.try_min().unwrap_err().to_string();
    assert!(e.contains("min"), "{e}");

    let m = Tensor::zeros(&[0, 5]);
    assert_eq!(m.sum_dim(1, false).shape(), &[0]);
    assert_eq!(read(&m.sum_dim(0, false)), vec![0.0; 5]);
    assert!(read(&m.mean_dim(0, true)).iter().all(|v| v.is_nan()));
    assert_eq!(m.max_dim(1, true).1.shape(), &[0, 1]);
    let e = m.try_max_dim(0, false).unwrap_err().to_string();
    assert!(e.contains("max_dim") && e.contains("size 0"), "{e}");
    let e = m.try_argmin(0, false).unwrap_err().to_string();
    assert!(e.contains("argmin"), "{e}");
}

#[test]
fn bad_dims_name_the_op_and_the_rank() {
    let x = Tensor::zeros(&[3, 5, 7]);
    let errors = [
        ("sum_dim", x.try_sum_dim(3, false).map(|_| ())),
        ("mean_dim", x.try_mean_dim(-4, true).map(|_| ())),
        ("max_dim", x.try_max_dim(3, false).map(|_| ())),
        ("min_dim", x.try_min_dim(-4, false).map(|_| ())),
        ("argmax", x.try_argmax(5, false).map(|_| ())),
        ("argmin", x.try_argmin(-9, true).map(|_| ())),
        ("sum_dims", x.try_sum_dims(&[0, 3], false).map(|_| ())),
    ];
    for (op, r) in errors {
        let e = r.unwrap_err().to_string();
        assert!(e.contains(op) && e.contains("rank 3"), "{op}: {e}");
    }
    let e = x.try_sum_dims(&[1, 1], false).unwrap_err().to_string();
    assert!(
        e.contains("sum_dims") && e.contains("more than once"),
        "{e}"
    );
    let e = x.try_sum_to_shape(&[4, 7]).unwrap_err().to_string();
    assert!(
        e.contains("sum_to_shape") && e.contains("[3, 5, 7]") && e.contains("[4, 7]"),
        "{e}"
    );
}

#[test]
fn sum_dims_folds_several_dims_at_once() {
    let shape = [3, 5, 7];
    let data = values(105, -1.0, 1.0, 21);
    let x = Tensor::from_slice(&data, &shape);
    // Summing dims 0 and 2 leaves one value per index of dim 1.
    let want: Vec<f32> = (0..5)
        .map(|j| {
            let s: f64 = (0..3)
                .flat_map(|i| (0..7).map(move |k| (i, k)))
                .map(|(i, k)| f64::from(data[(i * 5 + j) * 7 + k]))
                .sum();
            s as f32
        })
        .collect();
    let kept = x.sum_dims(&[2, 0], true);
    assert_eq!(kept.shape(), &[1, 5, 1]);
    assert_close("sum_dims keepdim", &read(&kept), &want, 1e-5);
    let dropped = x.sum_dims(&[0, 2], false);
    assert_eq!(dropped.shape(), &[5]);
    assert_close("sum_dims", &read(&dropped), &want, 1e-5);
    assert_close(
        "all dims",
        &read(&x.sum_dims(&[0, 1, 2], false)),
        &cpu_sum(&data, (1, 105, 1), false),
        1e-5,
    );
    assert_eq!(
        read(&x.sum_dims(&[], false)),
        data,
        "no dims is the identity"
    );
}

#[test]
fn sum_to_shape_undoes_broadcasting() {
    let shape = [2, 3, 4];
    let data = values(24, -1.0, 1.0, 8);
    let x = Tensor::from_slice(&data, &shape);
    let at = |i: usize, j: usize, k: usize| f64::from(data[(i * 3 + j) * 4 + k]);
    // [3, 1] broadcast to [2, 3, 4]: its gradient sums dims 0 and 2.
    let want: Vec<f32> = (0..3)
        .map(|j| {
            (0..2)
                .flat_map(|i| (0..4).map(move |k| at(i, j, k)))
                .sum::<f64>() as f32
        })
        .collect();
    let g = x.sum_to_shape(&[3, 1]);
    assert_eq!(g.shape(), &[3, 1]);
    assert_close("to [3, 1]", &read(&g), &want, 1e-5);
    // [4]: sums the two leading dims away.
    let want: Vec<f32> = (0..4)
        .map(|k| {
            (0..2)
                .flat_map(|i| (0..3).map(move |j| at(i, j, k)))
                .sum::<f64>() as f32
        })
        .collect();
    assert_close("to [4]", &read(&x.sum_to_shape(&[4])), &want, 1e-5);
    // [2, 1, 4]: sums dim 1 only.
    let want: Vec<f32> = (0..8)
        .map(|ik| (0..3).map(|j| at(ik / 4, j, ik % 4)).sum::<f64>() as f32)
        .collect();
    assert_close(
        "to [2, 1, 4]",
        &read(&x.sum_to_shape(&[2, 1, 4])),
        &want,
        1e-5,
    );
    let scalar = x.sum_to_shape(&[]);
    assert_eq!(scalar.shape(), &[] as &[usize]);
    assert_close(
        "to []",
        &read(&scalar),
        &cpu_sum(&data, (1, 24, 1), false),
        1e-5,
    );
    assert_eq!(read(&x.sum_to_shape(&shape)), data);
}

#[test]
fn integer_tensors_are_reduced_in_f32() {
    let x = Tensor::from_slice(&[3i32, -1, 7, 7, 2, 0], &[2, 3]);
    assert_eq!(read(&x.sum_dim(1, false)), vec![9.0, 9.0]);
    assert_eq!(read(&x.mean()), vec![3.0]);
    assert_eq!(read_i32(&x.argmax(1, false)), vec![2, 0]);
    assert_eq!(read(&x.max()), vec![7.0]);
}
