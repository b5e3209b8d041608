//! Elementwise ops: unary, tensor-scalar and broadcasting binary.

use wgrad_tensor::{BinaryOp, Tensor as Raw, UnaryOp};

use crate::op::Op;
use crate::tensor::Tensor;

/// PyTorch's `grad_fn` name of each unary op.
fn unary_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg | UnaryOp::RsubScalar => "NegBackward0",
        UnaryOp::Abs => "AbsBackward0",
        UnaryOp::Exp => "ExpBackward0",
        UnaryOp::Log => "LogBackward0",
        UnaryOp::Sqrt => "SqrtBackward0",
        UnaryOp::Relu => "ReluBackward0",
        UnaryOp::Sigmoid => "SigmoidBackward0",
        UnaryOp::Tanh => "TanhBackward0",
        UnaryOp::PowScalar | UnaryOp::Square => "PowBackward0",
        UnaryOp::AddScalar => "AddBackward1",
        UnaryOp::SubScalar => "SubBackward1",
        UnaryOp::MulScalar => "MulBackward1",
        UnaryOp::DivScalar => "DivBackward1",
        UnaryOp::RdivScalar | UnaryOp::Reciprocal => "ReciprocalBackward0",
        UnaryOp::MaximumScalar => "ClampMinBackward0",
        UnaryOp::MinimumScalar => "ClampMaxBackward0",
        UnaryOp::Sin => "SinBackward0",
        UnaryOp::Cos => "CosBackward0",
        UnaryOp::Identity => "CloneBackward0",
        UnaryOp::EqScalar
        | UnaryOp::NeScalar
        | UnaryOp::LtScalar
        | UnaryOp::LeScalar
        | UnaryOp::GtScalar
        | UnaryOp::GeScalar => "ComparisonBackward0",
    }
}

fn is_comparison(op: UnaryOp) -> bool {
    matches!(
        op,
        UnaryOp::EqScalar
            | UnaryOp::NeScalar
            | UnaryOp::LtScalar
            | UnaryOp::LeScalar
            | UnaryOp::GtScalar
            | UnaryOp::GeScalar
    )
}

impl Tensor {
    /// `op(self, scalar)` elementwise, recorded for backward.
    pub fn unary(&self, op: UnaryOp, scalar: f32) -> Tensor {
        let y = self.data().unary(op, scalar);
        if is_comparison(op) {
            return y.into(); // 0/1 masks carry no gradient
        }
        Tensor::record(y.clone(), unary_name(op), &[self], || Op::Unary {
            op,
            scalar,
            x: self.data().clone(),
            y,
        })
    }

    /// `op(self, other)` with broadcasting, recorded for backward.
    pub fn try_binary(&self, op: BinaryOp, other: &Tensor) -> wgrad_tensor::Result<Tensor> {
        let out = self.data().try_binary(op, other.data())?;
        let (a, b) = (self.data(), other.data());
        let (a_shape, b_shape) = (a.shape().to_vec(), b.shape().to_vec());
        Ok(match op {
            BinaryOp::Add => Tensor::record(out, "AddBackward0", &[self, other], || Op::Add {
                a_shape,
                b_shape,
            }),
            BinaryOp::Sub => Tensor::record(out, "SubBackward0", &[self, other], || Op::Sub {
                a_shape,
                b_shape,
            }),
            BinaryOp::Mul => Tensor::record(out, "MulBackward0", &[self, other], || Op::Mul {
                a: a.clone(),
                b: b.clone(),
            }),
            BinaryOp::Div => {
                Tensor::record(out.clone(), "DivBackward0", &[self, other], || Op::Div {
                    a: a.clone(),
                    b: b.clone(),
                    out,
                })
            }
            BinaryOp::Pow => {
                Tensor::record(out.clone(), "PowBackward1", &[self, other], || Op::Pow {
                    a: a.clone(),
                    b: b.clone(),
                    out,
                })
            }
            BinaryOp::Maximum | BinaryOp::Minimum => {
                let name = if op == BinaryOp::Maximum {
                    "MaximumBackward0"
                } else {
                    "MinimumBackward0"
                };
                Tensor::record(out, name, &[self, other], || Op::Extremum {
                    op,
                    a: a.clone(),
                    b: b.clone(),
                })
            }
            // Comparisons give 0/1 masks: no gradient flows through them.
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => out.into(),
        })
    }

    /// `op(self, other)` with broadcasting.
    ///
    /// # Panics
    /// If the shapes do not broadcast (the message names the op and both shapes).
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Tensor {
        self.try_binary(op, other).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `clamp(x, min, max)`.
    pub fn clamp(&self, min: f32, max: f32) -> Tensor {
        self.maximum_scalar(min).minimum_scalar(max)
    }

    /// This tensor as f32 (labels to floats for `(pred == y).float().mean()`).
    pub fn float(&self) -> Tensor {
        if self.dtype() == wgrad_tensor::DType::F32 {
            self.clone()
        } else {
            Raw::float(self.data()).into()
        }
    }

    /// This tensor as i32, truncating toward zero.
    pub fn int(&self) -> Tensor {
        Raw::int(self.data()).into()
    }
}

macro_rules! unary_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(
                #[doc = concat!("Elementwise `", stringify!($name), "`, recorded for backward.")]
                pub fn $name(&self) -> Tensor { self.unary(UnaryOp::$op, 0.0) }
            )*
        }
    };
}

macro_rules! scalar_methods {
    ($($name:ident => $op:ident),* $(,)?) => {
        impl Tensor {
            $(
                #[doc = concat!("Elementwise `", stringify!($name), "` with a scalar, recorded for backward.")]
                pub fn $name(&self, s: f32) -> Tensor { self.unary(UnaryOp::$op, s) }
            )*
        }
    };
}

unary_methods! {
    neg => Neg, abs => Abs, exp => Exp, log => Log, sqrt => Sqrt, relu => Relu, sigmoid => Sigmoid,
    tanh => Tanh, sin => Sin, cos => Cos, square => Square, reciprocal => Reciprocal,
}

scalar_methods! {
    pow_scalar => PowScalar, add_scalar => AddScalar, sub_scalar => SubScalar, rsub_scalar => RsubScalar,
    mul_scalar => MulScalar, div_scalar => DivScalar, rdiv_scalar => RdivScalar,
    maximum_scalar => MaximumScalar, minimum_scalar => MinimumScalar, eq_scalar => EqScalar,
    ne_scalar => NeScalar, lt_scalar => LtScalar, le_scalar => LeScalar, gt_scalar => GtScalar, ge_scalar => GeScalar,
}

macro_rules! binary_methods {
    ($($op:ident: $name:ident, $try_name:ident;)*) => {
        impl Tensor {
            $(
                #[doc = concat!("`", stringify!($name), "` with broadcasting; an error names both shapes when they do not broadcast.")]
                pub fn $try_name(&self, other: &Tensor) -> wgrad_tensor::Result<Tensor> {
                    self.try_binary(BinaryOp::$op, other)
                }

                #[doc = concat!("`", stringify!($name), "` with broadcasting, recorded for backward.\n\n# Panics\nIf the shapes do not broadcast.")]
                pub fn $name(&self, other: &Tensor) -> Tensor {
                    self.binary(BinaryOp::$op, other)
                }
            )*
        }
    };
}

binary_methods! {
    Add: add, try_add; Sub: sub, try_sub; Mul: mul, try_mul; Div: div, try_div; Pow: pow, try_pow;
    Maximum: maximum, try_maximum; Minimum: minimum, try_minimum; Eq: eq, try_eq; Ne: ne, try_ne;
    Lt: lt, try_lt; Le: le, try_le; Gt: gt, try_gt; Ge: ge, try_ge;
}

wgrad_tensor::impl_operators!(Tensor);
