//! Elementwise binary ops with broadcasting (`shaders/binary.wgsl`), and
//! their in-place forms.

use crate::dtype::DType;
use crate::error::Result;
use crate::layout::{broadcast_layout, broadcast_shapes};
use crate::ops::{
    ELEMENTS_PER_INVOCATION, VEC4_PER_INVOCATION, coalesce_min1, dispatch_items, or_panic,
    pack_divisors, pack8, to_u32,
};
use crate::runtime::{Binding, Kernel};
use crate::shaders::BINARY;
use crate::tensor::Tensor;

/// The ops of `binary.wgsl`; the discriminant is the shader's `OP` constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BinaryOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Pow = 4,
    Maximum = 5,
    Minimum = 6,
    Eq = 7,
    Ne = 8,
    Lt = 9,
    Le = 10,
    Gt = 11,
    Ge = 12,
}

impl BinaryOp {
    /// The PyTorch name of the op, used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
        }
    }
}

impl Tensor {
    /// `op(self, other)` elementwise, broadcasting both to a common shape.
    /// Integer operands are computed in f32 (exact below 2^24).
    pub fn try_binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let name = op.name();
        let shape = broadcast_shapes(name, self.shape(), other.shape())?;
        let a = if self.dtype == DType::F32 {
            self.clone()
        } else {
            self.float()
        };
        let b = if other.dtype == DType::F32 {
            other.clone()
        } else {
            other.float()
        };
        let la = broadcast_layout(&a.layout, &shape);
        let lb = broadcast_layout(&b.layout, &shape);
        let (merged, strides) = coalesce_min1(&shape, &[&la.strides, &lb.strides]);
        let out = Tensor::uninit(name, &shape, DType::F32)?;
        let dims = pack8(name, &merged)?;
        let mut p = Vec::with_capacity(44);
        p.extend(dims);
        p.extend(pack8(name, &strides[0])?);
        p.extend(pack8(name, &strides[1])?);
        p.extend([
            to_u32(name, out.numel())?,
            merged.len() as u32,
            to_u32(name, la.offset)?,
            to_u32(name, lb.offset)?,
        ]);
        p.extend(pack_divisors(&dims));
        // Dense operands at offsets that are multiples of 4 (RANK 1, stride 1)
        // move four elements per access in binary_vec4, which binds the same
        // buffers at 4, 5 and 6.
        let dense = merged.len() == 1 && strides.iter().all(|s| s[0] == 1);
        let vec4 = dense && la.offset.is_multiple_of(4) && lb.offset.is_multiple_of(4);
        let (entry, first, items, per_invocation) = if vec4 {
            (
                "binary_vec4",
                4,
                out.numel().div_ceil(4),
                VEC4_PER_INVOCATION,
            )
        } else {
            ("binary", 1, out.numel(), ELEMENTS_PER_INVOCATION)
        };
        let bindings: Vec<Binding<'_>> = [&a, &b, &out]
            .into_iter()
            .zip(first..)
            .map(|(t, binding)| Binding {
                binding,
                buffer: t.buffer(),
            })
            .collect();
        let constants = [("OP", op as u32 as f64), ("RANK", merged.len() as f64)];
        dispatch_items(
            Kernel::new(&BINARY, entry),
            &constants,
            &p,
            &bindings,
            items,
            per_invocation,
        );
        Ok(out)
    }

    /// `op(self, other)` written back into `self` (`a.add_(b)`). `other`
    /// must broadcast to `self`'s shape.
    pub fn try_binary_(&self, op: BinaryOp, other: &Tensor) -> Result<()> {
        let result = self.try_binary(op, other)?;
        if result.shape() != self.shape() {
            return Err(crate::error::TensorError::ShapeMismatch {
                op: op.name(),
                lhs: self.shape().to_vec(),
                rhs: other.shape().to_vec(),
            });
        }
        self.try_copy_(&result)
    }
}

macro_rules! binary_methods {
    ($($op:ident: $name:ident, $try_name:ident, $inplace:ident;)*) => {
        impl Tensor {
            $(
                #[doc = concat!("`", stringify!($name), "` with broadcasting; returns an error naming both shapes when they do not broadcast.")]
                pub fn $try_name(&self, other: &Tensor) -> Result<Tensor> {
                    self.try_binary(BinaryOp::$op, other)
                }

                #[doc = concat!("`", stringify!($name), "` with broadcasting.\n\n# Panics\nIf the shapes do not broadcast.")]
                pub fn $name(&self, other: &Tensor) -> Tensor {
                    or_panic(self.try_binary(BinaryOp::$op, other))
                }

                #[doc = concat!("In-place `", stringify!($name), "` (`", stringify!($inplace), "`).\n\n# Panics\nIf `other` does not broadcast to `self`'s shape.")]
                pub fn $inplace(&self, other: &Tensor) {
                    or_panic(self.try_binary_(BinaryOp::$op, other))
                }
            )*
        }
    };
}

binary_methods! {
    Add: add, try_add, add_;
    Sub: sub, try_sub, sub_;
    Mul: mul, try_mul, mul_;
    Div: div, try_div, div_;
    Pow: pow, try_pow, pow_;
    Maximum: maximum, try_maximum, maximum_;
    Minimum: minimum, try_minimum, minimum_;
    Eq: eq, try_eq, eq_;
    Ne: ne, try_ne, ne_;
    Lt: lt, try_lt, lt_;
    Le: le, try_le, le_;
    Gt: gt, try_gt, gt_;
    Ge: ge, try_ge, ge_;
}

crate::impl_operators!(Tensor);
