//! Elementwise ops: finite differences and the CPU derivative formulas.

use wgrad_autograd::Tensor;
use wgrad_tensor::UnaryOp;

use crate::common::{Input, check_gradients, values};

/// d/dx of each differentiable unary op on the CPU (scalar s).
fn cpu_derivative(op: UnaryOp, x: f32, s: f32) -> f32 {
    match op {
        UnaryOp::Neg => -1.0,
        UnaryOp::Abs => x.signum(),
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => 1.0 / x,
        UnaryOp::Sqrt => 0.5 / x.sqrt(),
        UnaryOp::Relu => f32::from(x > 0.0),
        UnaryOp::Sigmoid => {
            let y = 1.0 / (1.0 + (-x).exp());
            y * (1.0 - y)
        }
        UnaryOp::Tanh => 1.0 - x.tanh() * x.tanh(),
        UnaryOp::PowScalar => s * x.powf(s - 1.0),
        UnaryOp::AddScalar | UnaryOp::SubScalar | UnaryOp::Identity => 1.0,
        UnaryOp::RsubScalar => -1.0,
        UnaryOp::MulScalar => s,
        UnaryOp::DivScalar => 1.0 / s,
        UnaryOp::RdivScalar => -s / (x * x),
        UnaryOp::MaximumScalar => f32::from(x >= s),
        UnaryOp::MinimumScalar => f32::from(x <= s),
        UnaryOp::Sin => x.cos(),
        UnaryOp::Cos => -x.sin(),
        UnaryOp::Square => 2.0 * x,
        UnaryOp::Reciprocal => -1.0 / (x * x),
        _ => 0.0,
    }
}

const DIFFERENTIABLE: [UnaryOp; 21] = [
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
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Square,
    UnaryOp::Reciprocal,
];

#[test]
fn unary_gradients_match_the_cpu_formulas() {
    // Inputs in [0.2, 2.5], away from the kinks of abs/relu/clamp at 0 and 1.3.
    let mut data = values(67, 0.2, 2.5, 3);
    data.iter_mut().for_each(|v| {
        if (*v - 1.3).abs() < 0.05 {
            *v += 0.1;
        }
    });
    for op in DIFFERENTIABLE {
        let x = Tensor::from_slice(&data, &[67]).with_grad();
        x.unary(op, 1.3).sum().backward().expect("backward");
        let got = x.grad().expect("grad").to_vec::<f32>().unwrap();
        for (i, (&g, &v)) in got.iter().zip(&data).enumerate() {
            let want = cpu_derivative(op, v, 1.3);
            assert!(
                approx::relative_eq!(g, want, epsilon = 1e-5, max_relative = 1e-4),
                "{op:?} at element {i} (x = {v}): got {g}, want {want}"
            );
        }
    }
}

#[test]
fn unary_gradients_match_finite_differences() {
    for op in DIFFERENTIABLE {
        // Smooth ops only: finite differences straddle the kinks of the others.
        if matches!(
            op,
            UnaryOp::Abs | UnaryOp::Relu | UnaryOp::MaximumScalar | UnaryOp::MinimumScalar
        ) {
            continue;
        }
        // float32 central differences with eps 1e-2: relative tolerance 1e-2.
        check_gradients(
            &format!("{op:?}"),
            &[Input::new(&[3, 5], 0.5, 2.0, 11)],
            1e-2,
            1e-2,
            |t| t[0].unary(op, 1.3),
        );
    }
    // Kinked ops away from their kinks.
    let x = Input {
        data: vec![-1.5, -0.7, 0.4, 0.9, 1.7, 2.2],
        shape: vec![2, 3],
    };
    check_gradients("relu", std::slice::from_ref(&x), 1e-2, 1e-2, |t| {
        t[0].relu()
    });
    check_gradients("abs", std::slice::from_ref(&x), 1e-2, 1e-2, |t| t[0].abs());
    check_gradients("clamp", std::slice::from_ref(&x), 1e-2, 1e-2, |t| {
        t[0].clamp(-1.0, 1.0)
    });
}

#[test]
fn relu_gradient_is_zero_at_exactly_zero() {
    let x = Tensor::from_slice(&[-1.0f32, 0.0, 1.0], &[3]).with_grad();
    x.relu().sum().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 0.0, 1.0]
    );
}

#[test]
fn binary_gradients_sum_over_broadcast_dims() {
    let shapes: [(&[usize], &[usize]); 4] = [
        (&[3, 4], &[3, 4]),
        (&[3, 1], &[4]),
        (&[2, 3, 4], &[3, 1]),
        (&[], &[2, 3]),
    ];
    for (sa, sb) in shapes {
        let ins = [Input::new(sa, 0.5, 2.0, 1), Input::new(sb, 0.5, 2.0, 2)];
        check_gradients(&format!("add {sa:?} {sb:?}"), &ins, 1e-2, 1e-2, |t| {
            &t[0] + &t[1]
        });
        check_gradients(&format!("sub {sa:?} {sb:?}"), &ins, 1e-2, 1e-2, |t| {
            &t[0] - &t[1]
        });
        check_gradients(&format!("mul {sa:?} {sb:?}"), &ins, 1e-2, 1e-2, |t| {
            &t[0] * &t[1]
        });
        check_gradients(&format!("div {sa:?} {sb:?}"), &ins, 1e-2, 1e-2, |t| {
            &t[0] / &t[1]
        });
        check_gradients(&format!("pow {sa:?} {sb:?}"), &ins, 1e-3, 2e-2, |t| {
            t[0].pow(&t[1])
        });
        check_gradients(&format!("maximum {sa:?} {sb:?}"), &ins, 1e-3, 1e-2, |t| {
            t[0].maximum(&t[1])
        });
        check_gradients(&format!("minimum {sa:?} {sb:?}"), &ins, 1e-3, 1e-2, |t| {
            t[0].minimum(&t[1])
        });
    }
}

#[test]
fn maximum_splits_the_gradient_of_ties_in_half() {
    let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).with_grad();
    let b = Tensor::from_slice(&[1.0f32, 5.0, 0.0], &[3]).with_grad();
    a.maximum(&b).sum().backward().unwrap();
    assert_eq!(
        a.grad().unwrap().to_vec::<f32>().unwrap(),
        vec![0.5, 0.0, 1.0]
    );
    assert_eq!(
        b.grad().unwrap().to_vec::<f32>().unwrap(),
        vec![0.5, 1.0, 0.0]
    );
}

#[test]
fn binary_gradients_flow_through_non_contiguous_inputs() {
    let ins = [
        Input::new(&[4, 3], 0.5, 2.0, 5),
        Input::new(&[3, 4], 0.5, 2.0, 6),
    ];
    check_gradients("mul of a transposed view", &ins, 1e-2, 1e-2, |t| {
        &t[0].t() * &t[1]
    });
}
