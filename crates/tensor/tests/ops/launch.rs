//! The launch shapes of the grid-stride kernels (`ops::dispatch_items`):
//! every `RANK` specialisation of the strided kernels, the rank-1 paths
//! (dense, at an offset, a broadcast scalar) over more elements than one
//! pass of the capped grid covers, many short rows batched into one
//! invocation, and empty inputs.

use wgrad_tensor::ops::unary::UnaryOp;
use wgrad_tensor::{DType, Tensor};

use crate::common::{assert_close, read, strided_index, values};

/// More elements than the capped grid gives its invocations at the usual
/// rate (512 workgroups of 256 invocations, 32 elements each: 4,194,304),
/// so each takes more; odd, so rows end mid-step.
const PAST_THE_CAP: usize = 4_500_001;

/// Enough elements for several steps per invocation, below the cap.
const SEVERAL_STEPS: usize = 600_001;

/// A view of rank `r` (1..=8) whose dims cannot merge (a dense tensor's
/// dims reversed) and that starts at an offset (row 1 onwards), with the
/// dense tensor it views, that tensor's values and the offset. Sizes
/// alternate 2 and 3: 1296 elements at rank 8.
fn unmergeable_view(r: usize, seed: u32) -> (Tensor, Tensor, Vec<f32>, usize) {
    let sizes: Vec<usize> = (0..r).map(|d| 2 + d % 2).collect();
    let mut base_shape = sizes.clone();
    base_shape[0] += 1;
    let data = values(base_shape.iter().product(), -3.0, 3.0, seed);
    let offset: usize = sizes[1..].iter().product();
    let reversed: Vec<usize> = (0..r).rev().collect();
    let base = Tensor::from_slice(&data, &base_shape);
    let view = base.narrow(0, 1, sizes[0]).permute(&reversed);
    (base, view, data, offset)
}

/// The view's elements in row-major order, read on the host.
fn host_elements(view: &Tensor, data: &[f32], offset: usize) -> Vec<f32> {
    (0..view.numel())
        .map(|i| data[strided_index(i, view.shape(), view.strides(), offset)])
        .collect()
}

#[test]
fn elementwise_and_copy_kernels_read_views_of_every_rank() {
    for r in 1..=8 {
        let (_, v, data, offset) = unmergeable_view(r, r as u32);
        let x = host_elements(&v, &data, offset);
        let shape = v.shape().to_vec();
        let b = values(x.len(), -1.0, 1.0, 40 + r as u32);
        let tb = Tensor::from_slice(&b, &shape);
        let what = |op: &str| format!("{op} at rank {r}, shape {shape:?}");

        let want: Vec<f32> = x.iter().map(|v| -v).collect();
        assert_close(&what("neg"), &read(&v.neg()), &want, 0.0);
        let want: Vec<f32> = x.iter().zip(&b).map(|(u, w)| u + w).collect();
        assert_close(&what("add"), &read(&(&v + &tb)), &want, 0.0);
        // Both operands strided: the view times itself transposed back.
        let want: Vec<f32> = x.iter().map(|u| u * u).collect();
        assert_close(&what("mul"), &read(&(&v * &v)), &want, 0.0);
        let want: Vec<f32> = x.iter().map(|u| u * 0.5).collect();
        assert_close(
            &what("mul by a broadcast scalar"),
            &read(&(&v * &Tensor::scalar(0.5))),
            &want,
            0.0,
        );
        assert_close(&what("contiguous"), &read(&v.contiguous()), &x, 0.0);
        let want: Vec<i32> = x.iter().map(|&u| u as i32).collect();
        assert_eq!(v.int().to_vec::<i32>().unwrap(), want, "{}", what("int"));

        // Write through the view: fill_, then copy_ of b into it; row 0 of
        // the storage, outside the view, keeps its values.
        let (base, w, mut wdata, woff) = unmergeable_view(r, 90 + r as u32);
        w.fill_(7.0);
        for i in 0..w.numel() {
            wdata[strided_index(i, w.shape(), w.strides(), woff)] = 7.0;
        }
        w.copy_(&tb);
        for (i, &bv) in b.iter().enumerate() {
            wdata[strided_index(i, w.shape(), w.strides(), woff)] = bv;
        }
        assert_close(&what("copy_ into a view"), &read(&base), &wdata, 0.0);

        // where_cond with all three operands strided (cond: the view itself).
        let want: Vec<f32> = x.iter().map(|&u| if u != 0.0 { u } else { -u }).collect();
        let got = Tensor::where_cond(&v, &v, &v.neg());
        assert_close(&what("where_cond"), &read(&got), &want, 0.0);
    }
}

/// The multi-index of row-major element `i` of `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut pos = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        pos[d] = i % shape[d];
        i /= shape[d];
    }
    pos
}

#[test]
fn gather_and_its_backward_cover_every_rank_and_dim() {
    for r in 1..=8 {
        let (_, v, data, offset) = unmergeable_view(r, 7 * r as u32);
        let x = host_elements(&v, &data, offset);
        let shape = v.shape().to_vec();
        for dim in [0, r / 2, r - 1] {
            let n = shape[dim];
            let idx: Vec<i32> = (0..x.len()).map(|i| ((i * 7 + 3) % n) as i32).collect();
            let ti = Tensor::from_slice(&idx, &shape);
            let got = read(&v.gather(dim as isize, &ti));
            let want: Vec<f32> = (0..x.len())
                .map(|i| {
                    let mut pos = unravel(i, &shape);
                    pos[dim] = idx[i] as usize;
                    x[pos.iter().zip(&shape).fold(0, |acc, (&p, &s)| acc * s + p)]
                })
                .collect();
            assert_close(&format!("gather rank {r} dim {dim}"), &got, &want, 0.0);

            let dy = values(x.len(), -1.0, 1.0, 3);
            let mut dx = vec![0.0f32; x.len()];
            for (i, &g) in dy.iter().enumerate() {
                let mut pos = unravel(i, &shape);
                pos[dim] = idx[i] as usize;
                dx[pos.iter().zip(&shape).fold(0, |acc, (&p, &s)| acc * s + p)] += g;
            }
            let got = Tensor::gather_backward(
                &Tensor::from_slice(&dy, &shape),
                &ti,
                dim as isize,
                &shape,
            );
            assert_close(
                &format!("gather_backward rank {r} dim {dim}"),
                &read(&got),
                &dx,
                1e-5,
            );
        }
    }
}

#[test]
fn rank_one_paths_cover_more_elements_than_the_capped_grid() {
    for n in [SEVERAL_STEPS, PAST_THE_CAP] {
        let a = values(n + 5, -2.0, 2.0, 11);
        let b = values(n, -2.0, 2.0, 12);
        let ta = Tensor::from_slice(&a, &[n + 5]);
        let tb = Tensor::from_slice(&b, &[n]);
        // Dense at offset 0, dense at an offset, and a broadcast scalar.
        let head = ta.narrow(0, 0, n);
        let tail = ta.narrow(0, 5, n);
        let want: Vec<f32> = a[..n].iter().zip(&b).map(|(u, v)| u - v).collect();
        assert_close(&format!("sub n={n}"), &read(&(&head - &tb)), &want, 0.0);
        let want: Vec<f32> = a[5..].iter().zip(&b).map(|(u, v)| u * v).collect();
        assert_close(
            &format!("mul at offset n={n}"),
            &read(&(&tail * &tb)),
            &want,
            0.0,
        );
        let s = Tensor::from_slice(&[3.0f32], &[1]);
        let want: Vec<f32> = b.iter().map(|v| v.max(0.0) + 3.0).collect();
        let got = read(&(&tb.relu() + &s));
        assert_close(&format!("relu + scalar n={n}"), &got, &want, 0.0);
        let want: Vec<f32> = a[5..].iter().map(|u| u * u).collect();
        assert_close(
            &format!("square at offset n={n}"),
            &read(&tail.square()),
            &want,
            0.0,
        );
        // unary_backward is dense only.
        let y = tb.relu();
        let got = read(&tb.unary_backward(UnaryOp::Relu, 0.0, &y, &head));
        let want: Vec<f32> = b
            .iter()
            .zip(&a)
            .map(|(&u, &g)| if u > 0.0 { g } else { 0.0 })
            .collect();
        assert_close(&format!("relu backward n={n}"), &got, &want, 0.0);
        // A rank-2 broadcast (a bias over rows) of the same size.
        let cols = 7;
        let rows = n / cols;
        let bias = values(cols, -1.0, 1.0, 13);
        let m = head
            .narrow(0, 0, rows * cols)
            .view(&[rows as isize, cols as isize]);
        let got = read(&(&m + &Tensor::from_slice(&bias, &[cols])));
        let want: Vec<f32> = (0..rows * cols).map(|i| a[i] + bias[i % cols]).collect();
        assert_close(&format!("bias add n={n}"), &got, &want, 0.0);
        let got = Tensor::where_cond(&tb.gt_scalar(0.0), &head, &Tensor::scalar(-9.0));
        let want: Vec<f32> = b
            .iter()
            .zip(&a)
            .map(|(&c, &u)| if c > 0.0 { u } else { -9.0 })
            .collect();
        assert_close(&format!("where_cond n={n}"), &read(&got), &want, 0.0);
    }
}

#[test]
fn four_element_paths_handle_every_tail_and_leave_neighbours_alone() {
    // Dense views at offset 4 take the vec4 kernels, at offset 5 the
    // strided ones; lengths cover every numel % 4 and more than one pass.
    for n in [1, 2, 3, 4, 5, 7, 8, 1001, SEVERAL_STEPS, PAST_THE_CAP + 2] {
        let data = values(n + 16, -2.0, 2.0, n as u32);
        let other = values(n + 16, -2.0, 2.0, 7 + n as u32);
        let t = Tensor::from_slice(&data, &[n + 16]);
        let o = Tensor::from_slice(&other, &[n + 16]);
        for start in [4, 5] {
            let what = |op: &str| format!("{op}, n={n}, offset {start}");
            let (v, w) = (t.narrow(0, start, n), o.narrow(0, start, n));
            let (x, y) = (&data[start..start + n], &other[start..start + n]);
            let want: Vec<f32> = x.iter().map(|v| v.exp()).collect();
            assert_close(&what("exp"), &read(&v.exp()), &want, 1e-6);
            let want: Vec<f32> = x.iter().zip(y).map(|(a, b)| a / b).collect();
            assert_close(&what("div"), &read(&(&v / &w)), &want, 1e-6);
            assert_close(&what("contiguous"), &read(&v.contiguous()), x, 0.0);

            // Writes into a view: the elements around it keep their values.
            let target = Tensor::from_slice(&other, &[n + 16]);
            let view = target.narrow(0, start, n);
            view.copy_(&v);
            let mut want = other.clone();
            want[start..start + n].copy_from_slice(x);
            assert_close(&what("copy_ into a view"), &read(&target), &want, 0.0);
            view.fill_(0.25);
            want[start..start + n].fill(0.25);
            assert_close(&what("fill_ of a view"), &read(&target), &want, 0.0);
        }
        // unary_backward: dense from element 0, any length.
        let x = Tensor::from_slice(&data[..n], &[n]);
        let dy = Tensor::from_slice(&other[..n], &[n]);
        let y = x.sigmoid();
        let ys = read(&y);
        let want: Vec<f32> = ys
            .iter()
            .zip(&other[..n])
            .map(|(s, g)| g * s * (1.0 - s))
            .collect();
        let got = read(&x.unary_backward(UnaryOp::Sigmoid, 0.0, &y, &dy));
        assert_close(&format!("sigmoid backward n={n}"), &got, &want, 1e-6);
    }
}

#[test]
fn many_short_rows_share_an_invocation() {
    // 300,000 rows of 3: reductions and softmax batch several rows into
    // each invocation, and the rows outnumber the capped grid's invocations.
    let (rows, n) = (300_000, 3);
    let data = values(rows * n, -2.0, 2.0, 21);
    let t = Tensor::from_slice(&data, &[rows, n]);
    let sums: Vec<f32> = data.chunks(n).map(|r| r.iter().sum()).collect();
    assert_close(
        "sum over rows of 3",
        &read(&t.sum_dim(1, false)),
        &sums,
        1e-6,
    );
    let (maxes, at) = t.max_dim(1, false);
    let want: Vec<f32> = data
        .chunks(n)
        .map(|r| r.iter().copied().fold(f32::NEG_INFINITY, f32::max))
        .collect();
    assert_close("max over rows of 3", &read(&maxes), &want, 0.0);
    let want_at: Vec<i32> = data
        .chunks(n)
        .zip(&want)
        .map(|(r, m)| r.iter().position(|v| v == m).unwrap() as i32)
        .collect();
    assert_eq!(
        at.to_vec::<i32>().unwrap(),
        want_at,
        "argmax over rows of 3"
    );
    let soft: Vec<f32> = data
        .chunks(n)
        .flat_map(|r| {
            let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let s: f64 = r.iter().map(|&v| (v as f64 - m).exp()).sum();
            r.iter().map(move |&v| ((v as f64 - m).exp() / s) as f32)
        })
        .collect();
    assert_close("softmax over rows of 3", &read(&t.softmax(1)), &soft, 1e-5);
    // Columns: 3 rows of 300,000, so 300,000 short strided rows.
    let tt = t.view(&[n as isize, rows as isize]);
    let col_sums: Vec<f32> = (0..rows)
        .map(|j| (0..n).map(|k| data[k * rows + j]).sum())
        .collect();
    assert_close(
        "sum over dim 0",
        &read(&tt.sum_dim(0, false)),
        &col_sums,
        1e-6,
    );
}

#[test]
fn empty_inputs_launch_nothing() {
    let e = Tensor::zeros(&[0, 4]);
    assert_eq!(e.relu().shape(), [0, 4]);
    assert_eq!((&e + &Tensor::ones(&[4])).shape(), [0, 4]);
    assert_eq!(e.t().contiguous().shape(), [4, 0]);
    assert_eq!(e.int().dtype(), DType::I32);
    let y = e.relu();
    assert_eq!(e.unary_backward(UnaryOp::Relu, 0.0, &y, &e).numel(), 0);
    assert_eq!(Tensor::where_cond(&e, &e, &Tensor::scalar(1.0)).numel(), 0);
    let idx = Tensor::zeros_i32(&[0, 4]);
    assert_eq!(e.gather(0, &idx).shape(), [0, 4]);
    assert_eq!(Tensor::gather_backward(&e, &idx, 1, &[0, 4]).numel(), 0);
    assert_eq!(e.softmax(1).shape(), [0, 4]);
    assert_eq!(read(&e.sum_dim(0, false)), vec![0.0; 4]);
    e.fill_(1.0);
    assert_eq!(read(&e), Vec::<f32>::new());
}
