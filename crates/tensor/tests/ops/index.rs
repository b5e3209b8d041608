//! cat, stack, index_select, gather, their gradients, where_cond and
//! masked_fill against plain-loop CPU twins.

use wgrad_tensor::{DType, Tensor};

use crate::common::{assert_close, read, strided_index, values};

/// The multi-index of row-major element `i` of `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut pos = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        pos[d] = i % shape[d];
        i /= shape[d];
    }
    pos
}

/// The row-major element number of `pos` in `shape`.
fn ravel(pos: &[usize], shape: &[usize]) -> usize {
    pos.iter().zip(shape).fold(0, |acc, (&p, &n)| acc * n + p)
}

/// A view's elements in row-major order, read on the host from its
/// buffer's data through its strides (no kernel involved).
fn host_view<T: Copy>(data: &[T], t: &Tensor) -> Vec<T> {
    let l = t.layout();
    (0..t.numel())
        .map(|i| data[strided_index(i, &l.shape, &l.strides, l.offset)])
        .collect()
}

/// `out[pos] = x[pos with pos[dim] = index[pos]]`; out has the index's shape.
fn cpu_gather(x: &[f32], xs: &[usize], dim: usize, idx: &[i32], is: &[usize]) -> Vec<f32> {
    (0..idx.len())
        .map(|i| {
            let mut pos = unravel(i, is);
            pos[dim] = idx[i] as usize;
            x[ravel(&pos, xs)]
        })
        .collect()
}

/// `zeros(input_shape).scatter_add_(dim, index, dy)`: the gradient of gather.
fn cpu_scatter_add(dy: &[f32], dim: usize, idx: &[i32], is: &[usize], xs: &[usize]) -> Vec<f32> {
    let mut dx = vec![0.0; xs.iter().product()];
    for i in 0..idx.len() {
        let mut pos = unravel(i, is);
        pos[dim] = idx[i] as usize;
        dx[ravel(&pos, xs)] += dy[i];
    }
    dx
}

/// index_select's index spread over the output shape, so gather's twin serves.
fn expand_index(idx: &[i32], out_shape: &[usize], dim: usize) -> Vec<i32> {
    let n: usize = out_shape.iter().product();
    (0..n).map(|i| idx[unravel(i, out_shape)[dim]]).collect()
}

fn ints(n: usize, hi: usize, seed: u32) -> Vec<i32> {
    values(n, 0.0, hi as f32, seed)
        .iter()
        .map(|&v| (v as i32).min(hi as i32 - 1))
        .collect()
}

fn err(r: wgrad_tensor::Result<Tensor>) -> String {
    r.expect_err("the op should refuse these inputs")
        .to_string()
}

#[test]
fn cat_joins_along_dim_0_and_1_including_strided_and_empty_parts() {
    let a = values(6, -1.0, 1.0, 1);
    let b = values(12, -1.0, 1.0, 2);
    let c = values(10, -1.0, 1.0, 3);
    let (ta, tb) = (
        Tensor::from_slice(&a, &[2, 3]),
        Tensor::from_slice(&b, &[4, 3]),
    );
    // [2, 3] + [4, 3] along 0: the rows one after the other.
    let want: Vec<f32> = a.iter().chain(&b).copied().collect();
    let got = Tensor::cat(&[&ta, &tb], 0);
    assert_eq!(got.shape(), &[6, 3]);
    assert_close("cat dim 0", &read(&got), &want, 0.0);
    // [2, 3] + [2, 5] along 1 (and -1): each row is a's row then c's row.
    let tc = Tensor::from_slice(&c, &[2, 5]);
    let want: Vec<f32> = (0..2)
        .flat_map(|r| {
            a[r * 3..r * 3 + 3]
                .iter()
                .chain(&c[r * 5..r * 5 + 5])
                .copied()
        })
        .collect();
    for dim in [1, -1] {
        let got = Tensor::cat(&[&ta, &tc], dim);
        assert_eq!(got.shape(), &[2, 8]);
        assert_close(&format!("cat dim {dim}"), &read(&got), &want, 0.0);
    }
    // A transposed part, an empty part of the right rank and a legacy [0].
    let tt = Tensor::from_slice(&b, &[3, 4]).t(); // [4, 3], strided
    let empty = Tensor::zeros(&[0, 3]);
    let legacy = Tensor::zeros(&[0]);
    let got = Tensor::cat(&[&empty, &ta, &legacy, &tt], 0);
    let bt: Vec<f32> = (0..12).map(|k| b[(k % 3) * 4 + k / 3]).collect();
    let want: Vec<f32> = a.iter().chain(&bt).copied().collect();
    assert_close("cat with strided and empty parts", &read(&got), &want, 0.0);
    assert_eq!(Tensor::cat(&[&empty, &empty], 0).shape(), &[0, 3]);
}

#[test]
fn cat_and_index_select_move_i32_values_exactly() {
    let v = [i32::MAX, i32::MIN, -1, 16_777_217, 0, 7];
    let t = Tensor::from_slice(&v, &[2, 3]);
    let got = Tensor::cat(&[&t, &t], 1);
    assert_eq!(got.dtype(), DType::I32);
    let want = [
        v[0], v[1], v[2], v[0], v[1], v[2], v[3], v[4], v[5], v[3], v[4], v[5],
    ];
    assert_eq!(got.to_vec::<i32>().unwrap(), want);
    let idx = Tensor::from_slice(&[2i32, 0, 2, 1], &[4]);
    let got = t.index_select(1, &idx);
    assert_eq!(got.dtype(), DType::I32);
    let want = [v[2], v[0], v[2], v[1], v[5], v[3], v[5], v[4]];
    assert_eq!(got.to_vec::<i32>().unwrap(), want);
}

#[test]
fn stack_inserts_a_new_dim_at_each_position() {
    let data: Vec<Vec<f32>> = (0..3).map(|s| values(6, -1.0, 1.0, 10 + s)).collect();
    let ts: Vec<Tensor> = data
        .iter()
        .map(|d| Tensor::from_slice(d, &[2, 3]))
        .collect();
    let refs: Vec<&Tensor> = ts.iter().collect();
    for (dim, shape) in [
        (0, [3, 2, 3]),
        (1, [2, 3, 3]),
        (2, [2, 3, 3]),
        (-1, [2, 3, 3]),
    ] {
        let got = Tensor::stack(&refs, dim);
        assert_eq!(got.shape(), &shape, "stack dim {dim}");
        let d = if dim < 0 { 2 } else { dim as usize };
        let want: Vec<f32> = (0..18)
            .map(|i| {
                let mut pos = unravel(i, &shape);
                let k = pos.remove(d);
                data[k][ravel(&pos, &[2, 3])]
            })
            .collect();
        assert_close(&format!("stack dim {dim}"), &read(&got), &want, 0.0);
    }
}

#[test]
fn cat_and_stack_errors_name_the_op_and_the_shapes() {
    let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 5]));
    let e = err(Tensor::try_cat(&[&a, &b], 0));
    assert!(
        e.contains("cat") && e.contains("[2, 3]") && e.contains("[2, 5]"),
        "{e}"
    );
    let e = err(Tensor::try_cat(&[&a, &Tensor::zeros(&[2, 3, 1])], 0));
    assert!(e.contains("cat") && e.contains("[2, 3, 1]"), "{e}");
    let e = err(Tensor::try_cat(&[&a, &Tensor::zeros_i32(&[2, 3])], 0));
    assert!(e.contains("cat") && e.contains("I32"), "{e}");
    let e = err(Tensor::try_cat(&[&a, &a], 2));
    assert!(e.contains("cat") && e.contains("rank 2"), "{e}");
    assert!(err(Tensor::try_cat(&[], 0)).contains("non-empty"));
    let e = err(Tensor::try_stack(&[&a, &b], 0));
    assert!(
        e.contains("stack") && e.contains("[2, 3]") && e.contains("[2, 5]"),
        "{e}"
    );
    let e = err(Tensor::try_stack(&[&a, &a], 3));
    assert!(e.contains("stack") && e.contains("rank 3"), "{e}");
}

#[test]
fn index_select_matches_the_cpu_along_every_dim_on_strided_inputs() {
    let shape = [3, 5, 7];
    let data = values(105, -2.0, 2.0, 4);
    // x is the permuted view of a [5, 7, 3] buffer, so no dim is dense.
    let base = Tensor::from_slice(&data, &[5, 7, 3]);
    let x = base.permute(&[2, 0, 1]);
    let xh = host_view(&data, &x);
    for dim in [0isize, 1, 2, -1, -3] {
        let d = dim.rem_euclid(3) as usize;
        // Every other entry of a longer index: a strided index with repeats.
        let raw = ints(9, shape[d], 20 + d as u32);
        let idx = Tensor::from_slice(&raw, &[9]).slice(0, 0, 9, 2);
        let ih = host_view(&raw, &idx);
        let got = x.index_select(dim, &idx);
        let mut out_shape = shape.to_vec();
        out_shape[d] = ih.len();
        assert_eq!(got.shape(), &out_shape[..]);
        let want = cpu_gather(
            &xh,
            &shape,
            d,
            &expand_index(&ih, &out_shape, d),
            &out_shape,
        );
        assert_close(&format!("index_select dim {dim}"), &read(&got), &want, 0.0);
    }
}

#[test]
fn empty_indices_give_empty_results_and_scalars_stay_scalars() {
    let x = Tensor::from_slice(&values(21, 0.0, 1.0, 5), &[3, 7]);
    let none = Tensor::from_slice::<i32>(&[], &[0]);
    assert_eq!(x.index_select(1, &none).shape(), &[3, 0]);
    let e = Tensor::zeros(&[0, 4]);
    let idx = Tensor::from_slice(&[3i32, 1], &[2]);
    assert_eq!(read(&e.index_select(1, &idx)), Vec::<f32>::new());
    // A scalar input takes a one-value index and stays a scalar.
    let s = Tensor::scalar(2.5).index_select(0, &Tensor::from_slice(&[0i32], &[1]));
    assert_eq!((s.shape().len(), read(&s)), (0, vec![2.5]));
    let g = Tensor::scalar(2.5).gather(0, &Tensor::from_slice(&[0i32], &[]));
    assert_eq!((g.shape().len(), read(&g)), (0, vec![2.5]));
    let i0 = Tensor::from_slice(&[0i32], &[]);
    let dx = Tensor::gather_backward(&Tensor::scalar(1.5), &i0, 0, &[]);
    assert_eq!((dx.shape().len(), read(&dx)), (0, vec![1.5]));
    let dx = Tensor::index_select_backward(&Tensor::scalar(1.5), 0, &i0, &[]);
    assert_eq!((dx.shape().len(), read(&dx)), (0, vec![1.5]));
}

#[test]
fn index_select_reverses_a_vector_longer_than_one_grid_dimension() {
    let n = 64 * 65_535 + 1;
    let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let rev: Vec<i32> = (0..n as i32).rev().collect();
    let got = Tensor::from_slice(&data, &[n]).index_select(0, &Tensor::from_slice(&rev, &[n]));
    let want: Vec<f32> = data.iter().rev().copied().collect();
    assert_close("index_select n=64*65535+1", &read(&got), &want, 0.0);
}

#[test]
fn gather_matches_the_cpu_along_every_dim_with_smaller_strided_index() {
    let xs = [3, 4, 5];
    let data = values(60, -2.0, 2.0, 6);
    let x = Tensor::from_slice(&data, &[5, 4, 3]).permute(&[2, 1, 0]); // [3, 4, 5]
    let xh = host_view(&data, &x);
    for dim in [0isize, 1, 2, -1, -2] {
        let d = dim.rem_euclid(3) as usize;
        // The index is no larger than x except along dim, and transposed.
        let mut is = [2, 3, 4];
        is[d] = 6;
        let raw = ints(is.iter().product(), xs[d], 30 + d as u32);
        let idx = Tensor::from_slice(&raw, &[is[2], is[1], is[0]]).permute(&[2, 1, 0]);
        let ih = host_view(&raw, &idx);
        let got = x.gather(dim, &idx);
        assert_eq!(got.shape(), &is);
        let want = cpu_gather(&xh, &xs, d, &ih, &is);
        assert_close(&format!("gather dim {dim}"), &read(&got), &want, 0.0);
    }
}

#[test]
fn take_along_rows_is_x_at_arange_n_and_target() {
    let (n, c) = (9, 7);
    let data = values(n * c, -3.0, 3.0, 7);
    let target = ints(n, c, 8);
    let x = Tensor::from_slice(&data, &[n, c]);
    let got = x.take_along_rows(&Tensor::from_slice(&target, &[n]));
    assert_eq!(got.shape(), &[n]);
    let want: Vec<f32> = (0..n).map(|r| data[r * c + target[r] as usize]).collect();
    assert_close("take_along_rows", &read(&got), &want, 0.0);
    let e = err(x.try_take_along_rows(&Tensor::zeros_i32(&[4])));
    assert!(
        e.contains("take_along_rows") && e.contains("[9, 7]") && e.contains("[4]"),
        "{e}"
    );
}

#[test]
fn out_of_range_indices_read_as_zero_instead_of_outside_the_source() {
    let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let idx = Tensor::from_slice(&[-1i32, 3, 1, 1000], &[4]);
    assert_eq!(
        read(&x.index_select(1, &idx)),
        vec![0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 5.0, 0.0]
    );
    let g = Tensor::from_slice(&[2i32, 7, -5, 0], &[2, 2]);
    assert_eq!(read(&x.gather(1, &g)), vec![3.0, 0.0, 0.0, 4.0]);
}

#[test]
fn gather_backward_sums_repeated_indices_like_scatter_add() {
    let xs = [3, 4, 5];
    for dim in [0isize, 1, 2, -1] {
        let d = dim.rem_euclid(3) as usize;
        // Smaller than x off dim (dx is zero there) and long along dim, so
        // indices repeat and their dy rows must add up.
        let mut is = [2, 3, 4];
        is[d] = 7;
        let n: usize = is.iter().product();
        let raw = ints(n, xs[d], 40 + d as u32);
        let dyh = values(n, -1.0, 1.0, 50 + d as u32);
        // dy as a transposed view, as autograd may hand it over.
        let dy = Tensor::from_slice(&dyh, &[is[2], is[1], is[0]]).permute(&[2, 1, 0]);
        let dy_rows = host_view(&dyh, &dy);
        let got = Tensor::gather_backward(&dy, &Tensor::from_slice(&raw, &is), dim, &xs);
        assert_eq!(got.shape(), &xs);
        let want = cpu_scatter_add(&dy_rows, d, &raw, &is, &xs);
        assert_close(
            &format!("gather_backward dim {dim}"),
            &read(&got),
            &want,
            1e-6,
        );
    }
    // dy broadcast from a scalar (stride 0), as the gradient of a sum.
    let idx = Tensor::from_slice(&[0i32, 0, 2], &[1, 3]);
    let dy = Tensor::scalar(1.5).expand(&[1, 3]);
    let got = Tensor::gather_backward(&dy, &idx, 1, &[2, 4]);
    assert_eq!(read(&got), vec![3.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn index_select_backward_sums_rows_picked_more_than_once() {
    let xs = [4, 3, 5];
    for dim in [0isize, 1, 2, -2] {
        let d = dim.rem_euclid(3) as usize;
        let raw = ints(6, xs[d], 60 + d as u32);
        let mut ys = xs.to_vec();
        ys[d] = raw.len();
        let dyh = values(ys.iter().product(), -1.0, 1.0, 70 + d as u32);
        let dy = Tensor::from_slice(&dyh, &ys);
        let idx = Tensor::from_slice(&raw, &[6]);
        let got = Tensor::index_select_backward(&dy, dim, &idx, &xs);
        let want = cpu_scatter_add(&dyh, d, &expand_index(&raw, &ys, d), &ys, &xs);
        assert_close(
            &format!("index_select_backward dim {dim}"),
            &read(&got),
            &want,
            1e-6,
        );
    }
    // An empty index contributes nothing: dx is all zeros.
    let none = Tensor::from_slice::<i32>(&[], &[0]);
    let got = Tensor::index_select_backward(&Tensor::zeros(&[2, 0]), 1, &none, &[2, 3]);
    assert_eq!(read(&got), vec![0.0; 6]);
}

#[test]
fn backward_ops_refuse_shapes_that_do_not_fit_and_name_them() {
    let idx = Tensor::zeros_i32(&[2, 3]);
    let e = err(Tensor::try_gather_backward(
        &Tensor::zeros(&[2, 4]),
        &idx,
        1,
        &[2, 5],
    ));
    assert!(
        e.contains("gather_backward") && e.contains("[2, 4]") && e.contains("[2, 3]"),
        "{e}"
    );
    let e = err(Tensor::try_gather_backward(
        &Tensor::zeros(&[2, 3]),
        &idx,
        1,
        &[1, 5],
    ));
    assert!(
        e.contains("gather_backward") && e.contains("[1, 5]") && e.contains("[2, 3]"),
        "{e}"
    );
    let v = Tensor::zeros_i32(&[3]);
    let e = err(Tensor::try_index_select_backward(
        &Tensor::zeros(&[2, 4]),
        1,
        &v,
        &[2, 5],
    ));
    assert!(
        e.contains("index_select_backward") && e.contains("[2, 5]") && e.contains("[2, 4]"),
        "{e}"
    );
    let e = err(Tensor::try_index_select_backward(
        &Tensor::zeros(&[2, 3]),
        1,
        &v.float(),
        &[2, 5],
    ));
    assert!(
        e.contains("index_select_backward") && e.contains("F32"),
        "{e}"
    );
}

#[test]
fn index_select_and_gather_refuse_bad_indices_and_name_the_shapes() {
    let x = Tensor::zeros(&[2, 3]);
    let e = err(x.try_index_select(0, &Tensor::zeros(&[2])));
    assert!(e.contains("index_select") && e.contains("F32"), "{e}");
    let e = err(x.try_index_select(0, &Tensor::zeros_i32(&[2, 2])));
    assert!(
        e.contains("index_select") && e.contains("vector") && e.contains("[2, 2]"),
        "{e}"
    );
    let e = err(x.try_index_select(-3, &Tensor::zeros_i32(&[2])));
    assert!(e.contains("index_select") && e.contains("-3"), "{e}");
    let e = err(x.try_gather(1, &Tensor::zeros_i32(&[3, 1])));
    assert!(
        e.contains("gather") && e.contains("[2, 3]") && e.contains("[3, 1]"),
        "{e}"
    );
    let e = err(x.try_gather(1, &Tensor::zeros_i32(&[2])));
    assert!(e.contains("gather") && e.contains("[2]"), "{e}");
}

/// `where(cond, a, b)` on the host; each operand is (data, strides) of a
/// view broadcast to `shape`.
fn cpu_where(
    shape: &[usize],
    c: (&[f32], &[usize]),
    a: (&[f32], &[usize]),
    b: (&[f32], &[usize]),
) -> Vec<f32> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|i| {
            let at = |(d, s): (&[f32], &[usize])| d[strided_index(i, shape, s, 0)];
            if at(c) != 0.0 { at(a) } else { at(b) }
        })
        .collect()
}

#[test]
fn where_cond_broadcasts_all_three_and_reads_strides() {
    // cond [3, 1], a the transpose of a [4, 3] buffer, b [4] -> [3, 4].
    let cd = [1.0f32, 0.0, 1.0];
    let ad = values(12, -1.0, 1.0, 80);
    let bd = values(4, 5.0, 6.0, 81);
    let cond = Tensor::from_slice(&cd, &[3, 1]);
    let a = Tensor::from_slice(&ad, &[4, 3]).t();
    let b = Tensor::from_slice(&bd, &[4]);
    let got = Tensor::where_cond(&cond, &a, &b);
    assert_eq!(got.shape(), &[3, 4]);
    let want = cpu_where(&[3, 4], (&cd, &[1, 0]), (&ad, &[1, 3]), (&bd, &[0, 1]));
    assert_close("where_cond", &read(&got), &want, 0.0);
    // An i32 cond; -0.0 is false and NaN true in an f32 one; empty stays empty.
    let ci = Tensor::from_slice(&[0i32, -3], &[2]);
    let (one, two) = (Tensor::full(&[2], 1.0), Tensor::full(&[2], 2.0));
    assert_eq!(read(&Tensor::where_cond(&ci, &one, &two)), vec![2.0, 1.0]);
    let cf = Tensor::from_slice(&[-0.0f32, f32::NAN], &[2]);
    assert_eq!(read(&Tensor::where_cond(&cf, &one, &two)), vec![2.0, 1.0]);
    let empty = Tensor::where_cond(&Tensor::zeros(&[0, 1]), &one, &two);
    assert_eq!(empty.shape(), &[0, 2]);
    // i32 branches move exactly; mixed dtypes compute in f32.
    let big = Tensor::from_slice(&[i32::MAX, 16_777_217], &[2]);
    let w = Tensor::where_cond(&ci, &big, &Tensor::zeros_i32(&[1]));
    assert_eq!(w.to_vec::<i32>().unwrap(), vec![0, 16_777_217]);
    assert_eq!(Tensor::where_cond(&ci, &big, &two).dtype(), DType::F32);
    let e = err(Tensor::try_where_cond(&Tensor::zeros(&[3]), &one, &two));
    assert!(
        e.contains("where") && e.contains("[3]") && e.contains("[2]"),
        "{e}"
    );
}

#[test]
fn masked_fill_writes_the_value_where_the_broadcast_mask_is_nonzero() {
    let xd = values(15, -1.0, 1.0, 90);
    let x = Tensor::from_slice(&xd, &[3, 5]);
    let md = [0.0f32, 1.0, 0.0, 0.0, 1.0];
    let got = x.masked_fill(&Tensor::from_slice(&md, &[1, 5]), -9.0);
    let want: Vec<f32> = (0..15)
        .map(|i| if md[i % 5] != 0.0 { -9.0 } else { xd[i] })
        .collect();
    assert_close("masked_fill", &read(&got), &want, 0.0);
    let xi = Tensor::from_slice(&[1i32, 2, 3], &[3]);
    let got = xi.masked_fill(&Tensor::from_slice(&[1i32, 0, 1], &[3]), 7.0);
    assert_eq!(got.to_vec::<i32>().unwrap(), vec![7, 2, 7]);
    let e = err(x.try_masked_fill(&Tensor::zeros(&[4]), 0.0));
    assert!(
        e.contains("masked_fill") && e.contains("[4]") && e.contains("[3, 5]"),
        "{e}"
    );
}
