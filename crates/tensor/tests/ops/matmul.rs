//! `matmul`, `mm` and `bmm` against a plain-loop CPU twin that sums in f64.
//!
//! Tolerance: 1e-4, absolute for results near 0 and relative otherwise
//! (`assert_close`): f32 sums of up to 1000 products of values in [-1, 1)
//! stay well inside it, while one wrong or missing product does not.

use wgrad_tensor::Tensor;
use wgrad_tensor::ops::matmul::MatmulKernel;

use crate::common::{assert_close, read, strided_index, values};

const TOL: f32 = 1e-4;
/// Every kernel: `RegisterSubgroup` runs as `Register` where the adapter
/// has no subgroups of 8 (GL).
const KERNELS: [MatmulKernel; 3] = [
    MatmulKernel::Register,
    MatmulKernel::RegisterSubgroup,
    MatmulKernel::Tiled,
];

/// `a @ b` by PyTorch's rules, written out independently: 1-D operands get
/// a 1 prepended (a) or appended (b) that is dropped from the result, and
/// batch dims broadcast NumPy-style.
fn cpu_matmul(a: &[f32], sa: &[usize], b: &[f32], sb: &[usize]) -> (Vec<f32>, Vec<usize>) {
    let pa: Vec<usize> = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.to_vec()
    };
    let pb: Vec<usize> = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.to_vec()
    };
    let (m, k, n) = (pa[pa.len() - 2], pa[pa.len() - 1], pb[pb.len() - 1]);
    assert_eq!(
        k,
        pb[pb.len() - 2],
        "the twin is only called on valid shapes"
    );
    let (ba, bb) = (&pa[..pa.len() - 2], &pb[..pb.len() - 2]);
    let rank = ba.len().max(bb.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (ba, bb) = (pad(ba), pad(bb));
    let batch: Vec<usize> = ba.iter().zip(&bb).map(|(&x, &y)| x.max(y)).collect();
    let count: usize = batch.iter().product();
    let mut out = Vec::with_capacity(count * m * n);
    for z in 0..count {
        // Row-major batch index -> each operand's batch entry (0 where broadcast).
        let (mut rem, mut za, mut zb, mut sa_acc, mut sb_acc) = (z, 0, 0, 1, 1);
        for d in (0..rank).rev() {
            let i = rem % batch[d];
            rem /= batch[d];
            za += if ba[d] == 1 { 0 } else { i * sa_acc };
            zb += if bb[d] == 1 { 0 } else { i * sb_acc };
            sa_acc *= ba[d];
            sb_acc *= bb[d];
        }
        for r in 0..m {
            for col in 0..n {
                let s: f64 = (0..k)
                    .map(|i| {
                        f64::from(a[za * m * k + r * k + i])
                            * f64::from(b[zb * k * n + i * n + col])
                    })
                    .sum();
                out.push(s as f32);
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    (out, shape)
}

/// The row-major values of a view over `data`, as the test reads them.
fn view_values(data: &[f32], t: &Tensor) -> Vec<f32> {
    (0..t.numel())
        .map(|i| data[strided_index(i, t.shape(), t.strides(), t.layout().offset)])
        .collect()
}

/// Checks `a @ b` with both kernels against the twin.
#[track_caller]
fn check(what: &str, a: &Tensor, a_vals: &[f32], b: &Tensor, b_vals: &[f32]) {
    let (want, shape) = cpu_matmul(a_vals, a.shape(), b_vals, b.shape());
    for kernel in KERNELS {
        let got = a.try_matmul_with(b, kernel).expect("valid shapes");
        let label = format!("{what} {:?} @ {:?} ({kernel:?})", a.shape(), b.shape());
        assert_eq!(got.shape(), shape, "{label}: shape");
        assert_close(&label, &read(&got), &want, TOL);
    }
}

/// Fresh operands of the given shapes, values in [-1, 1).
fn operands(sa: &[usize], sb: &[usize], seed: u32) -> (Tensor, Vec<f32>, Tensor, Vec<f32>) {
    let a = values(sa.iter().product(), -1.0, 1.0, seed);
    let b = values(sb.iter().product(), -1.0, 1.0, seed + 1);
    (Tensor::from_slice(&a, sa), a, Tensor::from_slice(&b, sb), b)
}

#[test]
fn matrix_products_match_the_cpu_at_tile_edges_and_odd_sizes() {
    let sizes = [
        (1, 1, 1),
        (3, 5, 7),
        (64, 64, 64),
        (65, 63, 67),
        (1, 1000, 1),
        (9, 4, 33),
        (130, 7, 5),
        // Several workgroups along both m and n, k not a multiple of 4.
        (70, 130, 300),
    ];
    for (i, &(m, k, n)) in sizes.iter().enumerate() {
        let (a, av, b, bv) = operands(&[m, k], &[k, n], i as u32 * 2);
        check("mm", &a, &av, &b, &bv);
    }
}

/// Shapes that steer the kernel choice: the register kernel computed
/// upright and transposed (m > n), the narrow kernel from 4 x 4 to 16 x 8
/// blocks, down to products of fewer invocations than lanes over a long k
/// (the plans are checked in `ops::matmul`'s unit test).
#[test]
fn every_kernel_plan_matches_the_cpu() {
    let sizes = [
        (17, 25, 3000), // register (1 x 8 lanes), one row past the narrow kernel's 16
        (3000, 37, 20), // register (1 x 8), transposed (c^T = b^T a^T)
        (32, 9, 1100),  // register, 1 x 8 lanes at the most rows they take
        (33, 9, 600),   // register, 2 x 4: one row in the second grid row
        // The subgroup register kernel's 64 x 128 blocks, cut at their
        // edges: its second grid row of lanes partly past m (40 rows), its
        // last workgroup's lanes partly or wholly past n (1000, 300).
        (40, 33, 1000),
        (100, 7, 300),
        (300, 7, 100), // transposed
        // A partial last row quad (in the second grid row) and column
        // quad, both ways.
        (45, 9, 1001),
        (1001, 9, 45),
        // At most 32 rows: the subgroup kernel's 1 x 8 row, transposed.
        (1030, 9, 30),
        (6, 25, 3000),   // narrow 8 x 8, many columns
        (3, 9, 2000),    // narrow 4 x 8
        (16, 150, 1200), // narrow 16 x 8
        (3000, 37, 10),  // narrow 12 x 8, transposed
        (2, 2000, 3),    // narrow 4 x 4, one invocation, k = 2000
        (5, 999, 2),     // narrow 4 x 4, transposed, two invocations
        (64, 784, 10),   // narrow 12 x 4, transposed: a Linear(784, 10) forward at batch 64
        (10, 64, 784),   // narrow 12 x 8: its weight gradient
        (50, 10, 256),   // narrow 16 x 8, k not a multiple of 4
        (10, 50, 256),   // narrow 12 x 8
        (6, 25, 40),     // narrow 8 x 4, the last column quad partial
        (3, 33, 37),     // narrow 4 x 4
        (700, 20, 12),   // narrow 12 x 8, transposed
    ];
    for (i, &(m, k, n)) in sizes.iter().enumerate() {
        let (a, av, b, bv) = operands(&[m, k], &[k, n], 100 + i as u32);
        check(&format!("{m}x{k} @ {k}x{n}"), &a, &av, &b, &bv);
    }
    // A convolution as a batched product: one weight for 7 images.
    let (w, wv, cols, colsv) = operands(&[16, 54], &[7, 54, 36], 120);
    check("[16, 54] @ [7, 54, 36]", &w, &wv, &cols, &colsv);
    // The register kernels over a batch: the subgroup one as a 2 x 4 grid
    // and as a 1 x 8 row.
    let (a, av, b, bv) = operands(&[3, 40, 9], &[3, 9, 200], 121);
    check("[3, 40, 9] @ [3, 9, 200]", &a, &av, &b, &bv);
    let (a, av, b, bv) = operands(&[2, 20, 9], &[2, 9, 600], 122);
    check("[2, 20, 9] @ [2, 9, 600]", &a, &av, &b, &bv);
}

#[test]
fn empty_products_keep_their_shape_and_a_zero_inner_dim_gives_zeros() {
    let (a, av, b, bv) = operands(&[0, 5], &[5, 3], 1);
    check("m = 0", &a, &av, &b, &bv);
    let (a, av, b, bv) = operands(&[4, 0], &[0, 3], 2);
    check("k = 0", &a, &av, &b, &bv);
    let got = read(&a.matmul(&b));
    assert_eq!(got, vec![0.0; 12], "k = 0 sums nothing");
    let (a, av, b, bv) = operands(&[2, 0, 4], &[4, 3], 3);
    check("empty batch", &a, &av, &b, &bv);
}

#[test]
fn one_dimensional_operands_are_promoted_and_the_added_dim_dropped() {
    let cases: [(&[usize], &[usize]); 6] = [
        (&[5], &[5]),
        (&[3, 5], &[5]),
        (&[5], &[5, 4]),
        (&[2, 3, 5], &[5]),
        (&[5], &[2, 5, 4]),
        (&[1000], &[1000]),
    ];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        let (a, av, b, bv) = operands(sa, sb, 10 + i as u32);
        check("1-D", &a, &av, &b, &bv);
    }
    // dot product: 1*4 + 2*5 + 3*6 = 32, as a 0-dim tensor
    let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]);
    let y = Tensor::from_slice(&[4.0f32, 5.0, 6.0], &[3]);
    let dot = x.matmul(&y);
    assert_eq!(dot.shape(), &[] as &[usize]);
    assert_eq!(dot.item().expect("one element"), 32.0);
}

#[test]
fn batch_dims_broadcast_like_pytorch() {
    let cases: [(&[usize], &[usize]); 5] = [
        (&[2, 1, 3, 4], &[5, 4, 6]),
        (&[3, 4], &[2, 4, 5]),
        (&[2, 3, 4], &[4, 5]),
        (&[4, 1, 9, 8], &[1, 3, 8, 7]),
        (&[3, 17, 6], &[3, 6, 19]),
    ];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        let (a, av, b, bv) = operands(sa, sb, 20 + i as u32);
        check("batched", &a, &av, &b, &bv);
    }
}

#[test]
fn transposed_and_sliced_views_match_the_cpu() {
    // x: [37, 29] and w: [23, 29]; x @ w.t() is what every Linear layer does.
    let (x, xv, w, wv) = operands(&[37, 29], &[23, 29], 30);
    check("x @ w.t()", &x, &xv, &w.t(), &view_values(&wv, &w.t()));
    let (at, atv, b, bv) = operands(&[29, 37], &[29, 23], 31);
    check("a.t() @ b", &at.t(), &view_values(&atv, &at.t()), &b, &bv);
    let (at, atv, bt, btv) = operands(&[32, 16], &[20, 32], 32);
    let (a, b) = (at.t(), bt.t());
    check(
        "a.t() @ b.t()",
        &a,
        &view_values(&atv, &a),
        &b,
        &view_values(&btv, &b),
    );
    // Column slices (leading dim > columns, offsets not a multiple of 4).
    let (a, av, b, bv) = operands(&[11, 40], &[40, 45], 33);
    let (a1, b1) = (a.narrow(1, 3, 33), b.narrow(1, 1, 37).narrow(0, 5, 33));
    check(
        "slices",
        &a1,
        &view_values(&av, &a1),
        &b1,
        &view_values(&bv, &b1),
    );
    // Every other column: neither orientation is dense, so it is copied.
    let b2 = b.slice(1, 0, 45, 2);
    check("strided", &a, &av, &b2, &view_values(&bv, &b2));
    // Batched transposes and an expanded (stride 0) batch.
    let (a, av, b, bv) = operands(&[3, 13, 10], &[3, 12, 10], 34);
    let bt = b.transpose(1, 2);
    check(
        "bmm with b transposed",
        &a,
        &av,
        &bt,
        &view_values(&bv, &bt),
    );
    let at = a.transpose(1, 2).narrow(1, 2, 6);
    let (c, cv) = (Tensor::from_slice(&bv[..78], &[13, 6]), bv[..78].to_vec());
    let (ce, cev) = (
        c.unsqueeze(0).expand(&[3, 13, 6]),
        view_values(&cv, &c.unsqueeze(0).expand(&[3, 13, 6])),
    );
    check("expanded batch", &at, &view_values(&av, &at), &ce, &cev);
}

#[test]
fn integer_operands_are_computed_in_f32() {
    let a = Tensor::from_slice(&[1i32, 2, 3, 4], &[2, 2]);
    let b = Tensor::from_slice(&[5i32, 6, 7, 8], &[2, 2]);
    // [[1*5 + 2*7, 1*6 + 2*8], [3*5 + 4*7, 3*6 + 4*8]]
    assert_eq!(read(&a.matmul(&b)), vec![19.0, 22.0, 43.0, 50.0]);
}

#[test]
fn grids_beyond_65535_workgroups_are_split() {
    // 70,000 batch entries, then 600,000 rows, then 2.2M and 4.3M columns:
    // more than 65,535 workgroups along z, y and x for both kernels.
    let cases: [(&[usize], &[usize]); 4] = [
        (&[70_000, 1, 2], &[70_000, 2, 1]),
        (&[600_000, 1], &[1, 3]),
        (&[4_300_000, 1], &[1, 1]),
        (&[1, 2], &[2, 4_300_000]),
    ];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        let (a, av, b, bv) = operands(sa, sb, 40 + i as u32);
        check("large grid", &a, &av, &b, &bv);
    }
}

#[test]
fn mismatched_shapes_name_the_op_and_both_shapes() {
    let a = Tensor::zeros(&[2, 3]);
    let b = Tensor::zeros(&[4, 5]);
    let e = a.try_matmul(&b).unwrap_err().to_string();
    assert!(
        e.contains("matmul") && e.contains("[2, 3]") && e.contains("[4, 5]"),
        "{e}"
    );
    let e = Tensor::zeros(&[2, 3, 4])
        .try_matmul(&Tensor::zeros(&[3, 4, 5]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("matmul") && e.contains("[2, 3, 4]") && e.contains("[3, 4, 5]"),
        "{e}"
    );
    let e = Tensor::scalar(1.0).try_matmul(&a).unwrap_err().to_string();
    assert!(
        e.contains("matmul") && e.contains("[]") && e.contains("[2, 3]"),
        "{e}"
    );
    let e = Tensor::zeros(&[2, 3, 4])
        .try_mm(&Tensor::zeros(&[4, 5]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mm") && e.contains("[2, 3, 4]") && e.contains("[4, 5]"),
        "{e}"
    );
    let e = Tensor::zeros(&[2, 3, 4])
        .try_bmm(&Tensor::zeros(&[3, 4, 5]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bmm") && e.contains("[2, 3, 4]") && e.contains("[3, 4, 5]"),
        "{e}"
    );
}

/// Checks `a.matmul_and_row_sums(b)` against the twin and f64 row sums.
#[track_caller]
fn check_row_sums(what: &str, a: &Tensor, a_vals: &[f32], b: &Tensor, b_vals: &[f32]) {
    let (want, shape) = cpu_matmul(a_vals, a.shape(), b_vals, b.shape());
    let (m, k) = (a.shape()[0], a.shape()[1]);
    let sums: Vec<f32> = (0..m)
        .map(|i| (0..k).map(|j| f64::from(a_vals[i * k + j])).sum::<f64>() as f32)
        .collect();
    let label = format!("{what} {:?} @ {:?}", a.shape(), b.shape());
    let (got, got_sums) = a.try_matmul_and_row_sums(b).expect("valid shapes");
    assert_eq!(got.shape(), shape, "{label}: shape");
    assert_close(&format!("{label}: product"), &read(&got), &want, TOL);
    assert_eq!(got_sums.shape(), [m], "{label}: sums' shape");
    assert_close(&format!("{label}: row sums"), &read(&got_sums), &sums, TOL);
}

#[test]
fn matmul_and_row_sums_give_the_product_and_the_sums_of_the_rows() {
    // Where the narrow kernel makes the sums (upright: no more rows than
    // columns, and at most 16 rows or too few 32 x 32 blocks for the
    // register kernel): W2's weight gradient, rows that are not a whole
    // number of quads, k not a multiple of 4, one row, 16 rows, and
    // several blocks of 16 rows, the last one partial.
    for (sa, sb) in [
        ([10, 64], [64, 784]),
        ([13, 63], [63, 40]),
        ([1, 5], [5, 9]),
        ([16, 7], [7, 300]),
        ([50, 64], [64, 256]),
        ([20, 9], [9, 40]),
    ] {
        let (a, av, b, bv) = operands(&sa, &sb, 60);
        check_row_sums("narrow", &a, &av, &b, &bv);
    }
    // Linear's gᵀ (a column-major view) and a view at an odd offset whose
    // rows do not start on 16 bytes (read as scalars).
    let (g, gv, x, xv) = operands(&[64, 10], &[64, 784], 61);
    let gt: Vec<f32> = (0..640).map(|i| gv[(i % 64) * 10 + i / 64]).collect();
    check_row_sums("gᵀ", &g.t(), &gt, &x, &xv);
    // gᵀ of a copy whose rows are padded to whole quads (what Linear's
    // backward passes when its other product needs aligned rows): read as
    // vec4s, column-major.
    let padded = g.try_aligned_for_matmul(&[(1024, 1024)]).expect("a copy");
    check_row_sums("padded gᵀ", &padded.t(), &gt, &x, &xv);
    let (wide, wv, b, bv) = operands(&[10, 34], &[33, 50], 62);
    let a = wide.narrow(1, 1, 33);
    check_row_sums("offset view", &a, &view_values(&wv, &a), &b, &bv);
    // Where the sums are a reduction of their own: the transposed
    // orientation (more rows than columns) and the 32 x 32 kernel.
    for (sa, sb) in [([64, 10], [10, 5]), ([100, 64], [64, 300])] {
        let (a, av, b, bv) = operands(&sa, &sb, 63);
        check_row_sums("separate sums", &a, &av, &b, &bv);
    }
    // Empty operands: no rows, k = 0 (zero sums), no columns (sums of the
    // rows all the same).
    for (sa, sb) in [([0, 5], [5, 3]), ([4, 0], [0, 3]), ([4, 5], [5, 0])] {
        let (a, av, b, bv) = operands(&sa, &sb, 64);
        check_row_sums("empty", &a, &av, &b, &bv);
    }
    let e = Tensor::zeros(&[2, 3])
        .try_matmul_and_row_sums(&Tensor::zeros(&[4, 5]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("matmul_and_row_sums") && e.contains("[2, 3]") && e.contains("[4, 5]"),
        "{e}"
    );
}

#[test]
fn mm_and_bmm_agree_with_matmul() {
    let (a, av, b, bv) = operands(&[4, 6, 5], &[4, 5, 3], 50);
    let (want, _) = cpu_matmul(&av, &[4, 6, 5], &bv, &[4, 5, 3]);
    assert_close("bmm", &read(&a.bmm(&b)), &want, TOL);
    let (want, _) = cpu_matmul(&av[..30], &[6, 5], &bv[..15], &[5, 3]);
    assert_close("mm", &read(&a.select(0, 0).mm(&b.select(0, 0))), &want, TOL);
}

#[test]
fn addmm_adds_a_bias_to_every_row() {
    // Linear's forward, bias + x @ w.t(): at batch 64 with k = 784
    // (computed transposed), for 784 outputs of 10 rows, for 5 x 2 outputs
    // over k = 999 (two invocations) and for 3 x 7 outputs the narrow
    // kernel adds it as it stores, and so does the register kernel for 64
    // x 600 and 600 x 64 outputs (the second computed transposed) and for
    // the subgroup kernel's two arrangements of lanes below. A bias
    // of the whole output's shape or of one column broadcasts as in
    // PyTorch, added after the product. A bias of shape [n] is read at an
    // offset.
    let cases: [(usize, usize, usize, &[usize]); 13] = [
        (64, 784, 10, &[10]),
        (10, 64, 784, &[784]),
        (64, 30, 600, &[600]),
        (600, 30, 64, &[64]),
        // The subgroup register kernel's second row of lanes partly past
        // the rows, transposed (the bias read per row) and upright; and
        // its 1 x 8 row, both ways.
        (600, 30, 50, &[50]),
        (50, 30, 601, &[601]),
        (20, 30, 1100, &[1100]),
        (1100, 30, 20, &[20]),
        (5, 999, 2, &[2]),
        (3, 5, 7, &[7]),
        (3, 5, 7, &[3, 7]),
        (3, 5, 7, &[3, 1]),
        (0, 5, 7, &[7]),
    ];
    for (i, &(m, k, n, bias_shape)) in cases.iter().enumerate() {
        let x = values(m * k, -1.0, 1.0, 200 + i as u32);
        let w = values(n * k, -1.0, 1.0, 300 + i as u32);
        let bias = values(bias_shape.iter().product(), -1.0, 1.0, 400 + i as u32);
        let wt: Vec<f32> = (0..k * n).map(|e| w[(e % n) * k + e / n]).collect();
        let (mut want, shape) = cpu_matmul(&x, &[m, k], &wt, &[k, n]);
        for (e, v) in want.iter_mut().enumerate() {
            let (row, col) = (e / n, e % n);
            *v += match bias_shape {
                [_] => bias[col],
                [_, 1] => bias[row],
                _ => bias[e],
            };
        }
        let tw = Tensor::from_slice(&w, &[n, k]);
        let bias_t = match bias_shape {
            &[n] => Tensor::from_slice(&[&[9.0; 3], &bias[..]].concat(), &[n + 3]).narrow(0, 3, n),
            _ => Tensor::from_slice(&bias, bias_shape),
        };
        let got = Tensor::try_addmm(&bias_t, &Tensor::from_slice(&x, &[m, k]), &tw.t())
            .expect("valid shapes");
        let label = format!("addmm {bias_shape:?} + [{m}, {k}] @ [{k}, {n}]");
        assert_eq!(got.shape(), shape, "{label}: shape");
        assert_close(&label, &read(&got), &want, TOL);
    }
    let err = |bias: &[usize], a: &[usize], b: &[usize]| {
        Tensor::try_addmm(&Tensor::zeros(bias), &Tensor::zeros(a), &Tensor::zeros(b))
            .unwrap_err()
            .to_string()
    };
    let e = err(&[7], &[3, 5], &[4, 7]);
    assert!(
        e.contains("addmm") && e.contains("[3, 5]") && e.contains("[4, 7]"),
        "{e}"
    );
    let e = err(&[4], &[3, 5], &[5, 7]);
    assert!(e.contains("[4]") && e.contains("[3, 7]"), "{e}");
    let e = err(&[2, 3, 7], &[3, 5], &[5, 7]);
    assert!(e.contains("addmm") && e.contains("[2, 3, 7]"), "{e}");
}

#[test]
fn an_operand_aligned_for_matmul_keeps_its_values_and_its_products() {
    // For a product on the register kernel (a [1024, 1024] result), rows
    // of 10 (and a batch of them) are copied into rows padded to 12; rows
    // of 8 are read in place. Either way the values and both orientations'
    // products are those of the original. Products that only the narrow
    // kernel computes read every row in place, and the tiled kernel (GPUs)
    // reads scalars: no copy.
    let register = MatmulKernel::current() != MatmulKernel::Tiled;
    for shape in [&[50usize, 10][..], &[3, 7, 10], &[6, 8]] {
        let data = values(shape.iter().product(), -1.0, 1.0, 50);
        let g = Tensor::from_slice(&data, shape);
        let rows = shape[shape.len() - 2];
        let narrow_only = g
            .try_aligned_for_matmul(&[(rows, 5), (10, 3)])
            .expect("no copy");
        assert_eq!(narrow_only.strides(), g.strides(), "{shape:?}: narrow");
        assert!(narrow_only.shares_storage(&g), "{shape:?}: narrow");
        let aligned = g
            .try_aligned_for_matmul(&[(rows, 5), (1024, 1024)])
            .expect("aligned copy");
        assert_eq!(aligned.shape(), g.shape(), "{shape:?}");
        assert_eq!(read(&aligned), data, "{shape:?}: values");
        let padded = aligned.strides()[aligned.dim() - 2];
        let cols = shape[shape.len() - 1];
        assert_eq!(
            padded,
            if register {
                cols.next_multiple_of(4)
            } else {
                cols
            },
            "{shape:?}: row stride"
        );
        if shape.len() == 2 {
            let (rows, cols) = (shape[0], shape[1]);
            let w_data = values(cols * 5, -1.0, 1.0, 51);
            let w = Tensor::from_slice(&w_data, &[cols, 5]);
            let x_data = values(rows * 3, -1.0, 1.0, 52);
            let x = Tensor::from_slice(&x_data, &[rows, 3]);
            let (want, _) = cpu_matmul(&data, shape, &w_data, &[cols, 5]);
            assert_close("g @ w", &read(&aligned.matmul(&w)), &want, TOL);
            let gt: Vec<f32> = (0..cols * rows)
                .map(|i| data[(i % rows) * cols + i / rows])
                .collect();
            let (want, _) = cpu_matmul(&gt, &[cols, rows], &x_data, &[rows, 3]);
            assert_close("g.t() @ x", &read(&aligned.t().matmul(&x)), &want, TOL);
        }
    }
    // Matrices that are neither row- nor column-major (a batch dim moved
    // inside) are copied even for products that only the narrow kernel
    // computes, into rows padded for its quads (the tiled kernel's copy is
    // dense): once here, not once per product.
    let data = values(3 * 7 * 10, -1.0, 1.0, 53);
    let g = Tensor::from_slice(&data, &[3, 7, 10]).permute(&[2, 0, 1]); // [10, 3, 7]
    let copied = g.try_aligned_for_matmul(&[(3, 5)]).expect("a copy");
    assert!(!copied.shares_storage(&g));
    assert_eq!(read(&copied), read(&g.contiguous()), "permuted: values");
    assert_eq!(
        copied.strides()[1],
        if register { 8 } else { 7 },
        "permuted: row stride"
    );
}
