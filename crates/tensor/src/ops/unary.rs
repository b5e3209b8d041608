//! Elementwise unary ops and their tensor-scalar cousins (`shaders/unary.wgsl`).

use crate::dtype::DType;
use crate::ops::{
    ELEMENTS_PER_INVOCATION, VEC4_PER_INVOCATION, coalesce_min1, dispatch_items, or_panic,
    pack_divisors, pack8, to_u32,
};
use crate::runtime::{Binding, Kernel};
use crate::shaders::{UNARY, UNARY_BACKWARD};
use crate::tensor::Tensor;

/// The ops of `unary.wgsl`; the discriminant is the shader's `OP` constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum UnaryOp {
    Neg = 0,
    Abs = 1,
    Exp = 2,
    Log = 3,
    Sqrt = 4,
    Relu = 5,
    Sigmoid = 6,
    Tanh = 7,
    PowScalar = 8,
    AddScalar = 9,
    SubScalar = 10,
    RsubScalar = 11,
    MulScalar = 12,
    DivScalar = 13,
    RdivScalar = 14,
    MaximumScalar = 15,
    MinimumScalar = 16,
    EqScalar = 17,
    NeScalar = 18,
    LtScalar = 19,
    LeScalar = 20,
    GtScalar = 21,
    GeScalar = 22,
    Sin = 23,
    Cos = 24,
    Square = 25,
    Reciprocal = 26,
    Identity = 27,
}

impl Tensor {
    /// Applies `op` elementwise with `scalar` as its second operand (where it
    /// has one). Integer tensors are computed in f32.
    pub fn unary(&self, op: UnaryOp, scalar: f32) -> Tensor {
        let x = if self.dtype == DType::F32 {
            self.clone()
        } else {
            self.float()
        };
        let out = Tensor::empty_for("unary", x.shape(), DType::F32);
        let (shape, strides) = coalesce_min1(x.shape(), &[&x.layout.strides]);
        let dims = or_panic(pack8("unary", &shape));
        let mut p = Vec::with_capacity(36);
        p.extend(dims);
        p.extend(or_panic(pack8("unary", &strides[0])));
        p.extend([
            or_panic(to_u32("unary", x.numel())),
            shape.len() as u32,
            or_panic(to_u32("unary", x.layout.offset)),
            scalar.to_bits(),
        ]);
        p.extend(pack_divisors(&dims));
        // A dense x at an offset that is a multiple of 4 (RANK 1, stride 1)
        // moves four elements per access in unary_vec4, which binds the same
        // buffers at 3 and 4.
        let vec4 = shape.len() == 1 && strides[0][0] == 1 && x.layout.offset.is_multiple_of(4);
        let (entry, first, items, per_invocation) = if vec4 {
            ("unary_vec4", 3, x.numel().div_ceil(4), VEC4_PER_INVOCATION)
        } else {
            ("unary", 1, x.numel(), ELEMENTS_PER_INVOCATION)
        };
        let bindings = [
            Binding {
                binding: first,
                buffer: x.buffer(),
            },
            Binding {
                binding: first + 1,
                buffer: out.buffer(),
            },
        ];
        let constants = [("OP", op as u32 as f64), ("RANK", shape.len() as f64)];
        dispatch_items(
            Kernel::new(&UNARY, entry),
            &constants,
            &p,
            &bindings,
            items,
            per_invocation,
        );
        out
    }
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {
        impl Tensor {
            $($(#[$doc])* pub fn $name(&self) -> Tensor { self.unary(UnaryOp::$op, 0.0) })*
        }
    };
}

macro_rules! scalar_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {
        impl Tensor {
            $($(#[$doc])* pub fn $name(&self, s: f32) -> Tensor { self.unary(UnaryOp::$op, s) })*
        }
    };
}

unary_methods! {
    /// `-x`.
    neg => Neg;
    /// `|x|`.
    abs => Abs;
    /// `e^x`.
    exp => Exp;
    /// Natural logarithm.
    log => Log;
    /// Square root.
    sqrt => Sqrt;
    /// `max(x, 0)`; 0 at exactly 0, as in PyTorch.
    relu => Relu;
    /// `1 / (1 + e^-x)`, computed without overflow.
    sigmoid => Sigmoid;
    /// Hyperbolic tangent.
    tanh => Tanh;
    /// Sine.
    sin => Sin;
    /// Cosine.
    cos => Cos;
    /// `x * x`.
    square => Square;
    /// `1 / x`.
    reciprocal => Reciprocal;
}

scalar_methods! {
    /// `x ** s` (integer exponents of negative bases keep their sign).
    pow_scalar => PowScalar;
    /// `x + s`.
    add_scalar => AddScalar;
    /// `x - s`.
    sub_scalar => SubScalar;
    /// `s - x` (Python's `s - t`).
    rsub_scalar => RsubScalar;
    /// `x * s`.
    mul_scalar => MulScalar;
    /// `x / s`.
    div_scalar => DivScalar;
    /// `s / x` (Python's `s / t`).
    rdiv_scalar => RdivScalar;
    /// `max(x, s)` (`clamp(min=s)`).
    maximum_scalar => MaximumScalar;
    /// `min(x, s)` (`clamp(max=s)`).
    minimum_scalar => MinimumScalar;
    /// `x == s` as 0/1.
    eq_scalar => EqScalar;
    /// `x != s` as 0/1.
    ne_scalar => NeScalar;
    /// `x < s` as 0/1.
    lt_scalar => LtScalar;
    /// `x <= s` as 0/1.
    le_scalar => LeScalar;
    /// `x > s` as 0/1.
    gt_scalar => GtScalar;
    /// `x >= s` as 0/1.
    ge_scalar => GeScalar;
}

impl Tensor {
    /// The gradient of `y = x.unary(op, scalar)`: `dx = dy * f'(x)`, where
    /// `self` is the forward input `x`. Comparisons have no gradient (zeros).
    ///
    /// # Panics
    /// If `x`, `y` and `dy` do not share one shape.
    pub fn unary_backward(&self, op: UnaryOp, scalar: f32, y: &Tensor, dy: &Tensor) -> Tensor {
        assert!(
            self.shape() == y.shape() && self.shape() == dy.shape(),
            "unary_backward: x {:?}, y {:?} and dy {:?} must share one shape",
            self.shape(),
            y.shape(),
            dy.shape()
        );
        let (x, y, dy) = (self.float().contiguous(), y.contiguous(), dy.contiguous());
        let dx = Tensor::empty_for("unary_backward", x.shape(), DType::F32);
        let p = [
            or_panic(to_u32("unary_backward", x.numel())),
            scalar.to_bits(),
        ];
        let bindings = [
            Binding {
                binding: 1,
                buffer: x.buffer(),
            },
            Binding {
                binding: 2,
                buffer: y.buffer(),
            },
            Binding {
                binding: 3,
                buffer: dy.buffer(),
            },
            Binding {
                binding: 4,
                buffer: dx.buffer(),
            },
        ];
        let constants = [("OP", op as u32 as f64)];
        dispatch_items(
            Kernel::new(&UNARY_BACKWARD, "unary_backward"),
            &constants,
            &p,
            &bindings,
            x.numel().div_ceil(4),
            VEC4_PER_INVOCATION,
        );
        dx
    }

    /// `clamp(x, min, max)`.
    pub fn clamp(&self, min: f32, max: f32) -> Tensor {
        self.maximum_scalar(min).minimum_scalar(max)
    }
}
