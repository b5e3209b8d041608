//! Unary, scalar and broadcasting binary ops.

use wgrad_tensor::{BinaryOp, Tensor, UnaryOp};

use crate::common::{LENGTHS, assert_close, read, strided_index, values};

fn cpu_unary(op: UnaryOp, v: f32, s: f32) -> f32 {
    match op {
        UnaryOp::Neg => -v,
        UnaryOp::Abs => v.abs(),
        UnaryOp::Exp => v.exp(),
        UnaryOp::Log => v.ln(),
        UnaryOp::Sqrt => v.sqrt(),
        UnaryOp::Relu => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
        UnaryOp::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        UnaryOp::Tanh => v.tanh(),
        UnaryOp::PowScalar => v.powf(s),
        UnaryOp::AddScalar => v + s,
        UnaryOp::SubScalar => v - s,
        UnaryOp::RsubScalar => s - v,
        UnaryOp::MulScalar => v * s,
        UnaryOp::DivScalar => v / s,
        UnaryOp::RdivScalar => s / v,
        UnaryOp::MaximumScalar => v.max(s),
        UnaryOp::MinimumScalar => v.min(s),
        UnaryOp::EqScalar => f32::from(v == s),
        UnaryOp::NeScalar => f32::from(v != s),
        UnaryOp::LtScalar => f32::from(v < s),
        UnaryOp::LeScalar => f32::from(v <= s),
        UnaryOp::GtScalar => f32::from(v > s),
        UnaryOp::GeScalar => f32::from(v >= s),
        UnaryOp::Sin => v.sin(),
        UnaryOp::Cos => v.cos(),
        UnaryOp::Square => v * v,
        UnaryOp::Reciprocal => 1.0 / v,
        UnaryOp::Identity => v,
    }
}

const ALL_UNARY: [UnaryOp; 28] = [
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sqrt,
    UnaryOp::Relu,
    UnaryOp::Sigmoid,
    UnaryOp::Tanh,
    UnaryOp::PowScalar,
    UnaryOp::AddScalar,
    UnaryOp::SubScalar,
    UnaryOp::RsubScalar,
    UnaryOp::MulScalar,
    UnaryOp::DivScalar,
    UnaryOp::RdivScalar,
    UnaryOp::MaximumScalar,
    UnaryOp::MinimumScalar,
    UnaryOp::EqScalar,
    UnaryOp::NeScalar,
    UnaryOp::LtScalar,
    UnaryOp::LeScalar,
    UnaryOp::GtScalar,
    UnaryOp::GeScalar,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Square,
    UnaryOp::Reciprocal,
    UnaryOp::Identity,
];

#[test]
fn every_unary_op_matches_the_cpu_on_odd_lengths() {
    for &n in &LENGTHS[..6] {
        // Positive inputs keep log/sqrt defined; the scalar 0.5 hits some values exactly.
        let mut data = values(n, 0.05, 3.0, n as u32);
        if n > 2 {
            data[1] = 0.5;
        }
        let x = Tensor::from_slice(&data, &[n]);
        for op in ALL_UNARY {
            let got = read(&x.unary(op, 0.5));
            let want: Vec<f32> = data.iter().map(|&v| cpu_unary(op, v, 0.5)).collect();
            assert_close(&format!("{op:?} n={n}"), &got, &want, 1e-5);
        }
    }
}

#[test]
fn relu_is_zero_at_zero_and_sigmoid_does_not_overflow() {
    let x = Tensor::from_slice(&[-1.0f32, 0.0, 2.0, -100.0, 100.0], &[5]);
    assert_eq!(read(&x.relu()), vec![0.0, 0.0, 2.0, 0.0, 100.0]);
    let s = read(&x.sigmoid());
    assert!(
        s[3] >= 0.0 && s[3] < 1e-40 && (s[4] - 1.0).abs() < 1e-7,
        "{s:?}"
    );
}

#[test]
fn pow_of_a_negative_base_keeps_the_sign_of_odd_integer_powers() {
    let x = Tensor::from_slice(&[-2.0f32, -2.0, 3.0], &[3]);
    assert_eq!(read(&x.pow_scalar(3.0)), vec![-8.0, -8.0, 27.0]);
    assert_eq!(read(&x.pow_scalar(2.0)), vec![4.0, 4.0, 9.0]);
    assert!(read(&x.pow_scalar(0.5))[0].is_nan());
}

#[test]
fn unary_reads_strided_views_and_covers_a_two_dimensional_grid() {
    let n = LENGTHS[6];
    let data = values(n, -2.0, 2.0, 7);
    let x = Tensor::from_slice(&data, &[n]);
    let got = read(&x.neg());
    let want: Vec<f32> = data.iter().map(|v| -v).collect();
    assert_close("neg over 2-D grid", &got, &want, 0.0);
    // A transposed view: element (i, j) of x.t() is data[j * 5 + i].
    let m = Tensor::from_slice(&data[..35], &[7, 5]).t();
    let got = read(&m.exp());
    let want: Vec<f32> = (0..35).map(|k| data[(k % 7) * 5 + k / 7].exp()).collect();
    assert_close("exp of transposed", &got, &want, 1e-6);
}

fn cpu_binary(op: BinaryOp, u: f32, v: f32) -> f32 {
    match op {
        BinaryOp::Add => u + v,
        BinaryOp::Sub => u - v,
        BinaryOp::Mul => u * v,
        BinaryOp::Div => u / v,
        BinaryOp::Pow => u.powf(v),
        BinaryOp::Maximum => u.max(v),
        BinaryOp::Minimum => u.min(v),
        BinaryOp::Eq => f32::from(u == v),
        BinaryOp::Ne => f32::from(u != v),
        BinaryOp::Lt => f32::from(u < v),
        BinaryOp::Le => f32::from(u <= v),
        BinaryOp::Gt => f32::from(u > v),
        BinaryOp::Ge => f32::from(u >= v),
    }
}

const ALL_BINARY: [BinaryOp; 13] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
];

/// CPU broadcasting: element i of the output shape read through stride-0 dims.
fn cpu_broadcast(
    op: BinaryOp,
    a: &[f32],
    sa: &[usize],
    b: &[f32],
    sb: &[usize],
    out: &[usize],
) -> Vec<f32> {
    // Dense strides of `s` left-padded with 1s to `out`'s rank, 0 on size-1 dims.
    let strides = |s: &[usize]| -> Vec<usize> {
        let full: Vec<usize> = std::iter::repeat_n(1, out.len() - s.len())
            .chain(s.iter().copied())
            .collect();
        let mut st = vec![0; full.len()];
        let mut acc = 1;
        for d in (0..full.len()).rev() {
            st[d] = if full[d] == 1 { 0 } else { acc };
            acc *= full[d];
        }
        st
    };
    let (ta, tb) = (strides(sa), strides(sb));
    let n: usize = out.iter().product();
    (0..n)
        .map(|i| {
            cpu_binary(
                op,
                a[strided_index(i, out, &ta, 0)],
                b[strided_index(i, out, &tb, 0)],
            )
        })
        .collect()
}

#[test]
fn every_binary_op_broadcasts_like_numpy() {
    let cases: [(&[usize], &[usize], &[usize]); 6] = [
        (&[5], &[5], &[5]),
        (&[3, 1], &[4], &[3, 4]),
        (&[2, 1, 7], &[3, 1], &[2, 3, 7]),
        (&[], &[6, 5], &[6, 5]),
        (&[0, 3], &[3], &[0, 3]),
        (&[65, 63], &[65, 1], &[65, 63]),
    ];
    for (sa, sb, so) in cases {
        let a = values(sa.iter().product(), 0.5, 2.0, 1);
        let mut b = values(sb.iter().product(), 0.5, 2.0, 2);
        if !b.is_empty() && !a.is_empty() {
            b[0] = a[0]; // so eq/le/ge see an equal pair
        }
        let (ta, tb) = (Tensor::from_slice(&a, sa), Tensor::from_slice(&b, sb));
        for op in ALL_BINARY {
            let got = ta.try_binary(op, &tb).expect("broadcastable");
            assert_eq!(got.shape(), so, "{op:?} shape");
            let want = cpu_broadcast(op, &a, sa, &b, sb, so);
            assert_close(&format!("{op:?} {sa:?} {sb:?}"), &read(&got), &want, 1e-5);
        }
    }
}

#[test]
fn binary_ops_read_non_contiguous_operands() {
    let a = values(12, -1.0, 1.0, 3);
    let b = values(12, -1.0, 1.0, 4);
    let ta = Tensor::from_slice(&a, &[3, 4]).t(); // [4, 3]
    let tb = Tensor::from_slice(&b, &[4, 3]);
    let got = read(&(&ta * &tb));
    let want: Vec<f32> = (0..12).map(|k| a[(k % 3) * 4 + k / 3] * b[k]).collect();
    assert_close("mul of transposed", &got, &want, 1e-6);
}

#[test]
fn mismatched_shapes_name_the_op_and_both_shapes() {
    let a = Tensor::zeros(&[2, 3]);
    let b = Tensor::zeros(&[4]);
    let e = a.try_add(&b).unwrap_err().to_string();
    assert!(
        e.contains("add") && e.contains("[2, 3]") && e.contains("[4]"),
        "{e}"
    );
    let e = a.try_sub(&b).unwrap_err().to_string();
    assert!(e.contains("sub"), "{e}");
}

#[test]
fn operators_and_scalar_forms_agree_with_the_methods() {
    let a = Tensor::from_slice(&[1.0f32, 2.0, 4.0], &[3]);
    assert_eq!(read(&(&a + 1.0)), vec![2.0, 3.0, 5.0]);
    assert_eq!(read(&(1.0 - &a)), vec![0.0, -1.0, -3.0]);
    assert_eq!(read(&(2.0 / &a)), vec![2.0, 1.0, 0.5]);
    assert_eq!(read(&(&a * &a)), vec![1.0, 4.0, 16.0]);
    assert_eq!(read(&(-&a)), vec![-1.0, -2.0, -4.0]);
}

#[test]
fn in_place_ops_write_into_views() {
    let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    t.add_(&Tensor::from_slice(&[10.0f32, 20.0, 30.0], &[3]));
    assert_eq!(read(&t), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    // t[:, 1] *= 2
    t.select(1, 1).mul_(&Tensor::scalar(2.0));
    assert_eq!(read(&t), vec![11.0, 44.0, 33.0, 14.0, 50.0, 36.0]);
    let e = t
        .try_binary_(BinaryOp::Add, &Tensor::zeros(&[4, 2, 3]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("[2, 3]") && e.contains("[4, 2, 3]"), "{e}");
}

#[test]
fn integer_tensors_compare_exactly() {
    let a = Tensor::from_slice(&[1i32, 2, 3, 7], &[4]);
    let b = Tensor::from_slice(&[1i32, 0, 3, 9], &[4]);
    assert_eq!(read(&a.eq(&b)), vec![1.0, 0.0, 1.0, 0.0]);
}
