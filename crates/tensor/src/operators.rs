//! The arithmetic operators (`&a + &b`, `&a * 2.0`, `1.0 - &a`, `-&a`) for a
//! tensor type with the methods `add`, `sub`, `mul`, `div`, their `_scalar`
//! forms, `rsub_scalar`, `rdiv_scalar` and `neg`. Written once for both the
//! GPU tensor and the autograd tensor.

#[doc(hidden)]
#[macro_export]
macro_rules! __tensor_operator {
    ($T:ty, $trait:ident, $method:ident, $name:ident, $scalar:ident, $rscalar:ident) => {
        impl std::ops::$trait<&$T> for &$T {
            type Output = $T;
            fn $method(self, rhs: &$T) -> $T {
                <$T>::$name(&self, rhs)
            }
        }
        impl std::ops::$trait<$T> for $T {
            type Output = $T;
            fn $method(self, rhs: $T) -> $T {
                <$T>::$name(&self, &rhs)
            }
        }
        impl std::ops::$trait<&$T> for $T {
            type Output = $T;
            fn $method(self, rhs: &$T) -> $T {
                <$T>::$name(&self, rhs)
            }
        }
        impl std::ops::$trait<$T> for &$T {
            type Output = $T;
            fn $method(self, rhs: $T) -> $T {
                <$T>::$name(&self, &rhs)
            }
        }
        impl std::ops::$trait<f32> for &$T {
            type Output = $T;
            fn $method(self, rhs: f32) -> $T {
                <$T>::$scalar(&self, rhs)
            }
        }
        impl std::ops::$trait<f32> for $T {
            type Output = $T;
            fn $method(self, rhs: f32) -> $T {
                <$T>::$scalar(&self, rhs)
            }
        }
        impl std::ops::$trait<&$T> for f32 {
            type Output = $T;
            fn $method(self, rhs: &$T) -> $T {
                <$T>::$rscalar(&rhs, self)
            }
        }
        impl std::ops::$trait<$T> for f32 {
            type Output = $T;
            fn $method(self, rhs: $T) -> $T {
                <$T>::$rscalar(&rhs, self)
            }
        }
    };
}

/// Implements `+ - * /` (tensor-tensor, tensor-f32, f32-tensor, owned and
/// borrowed) and unary `-` for `$T` through its methods.
#[macro_export]
macro_rules! impl_operators {
    ($T:ty) => {
        $crate::__tensor_operator!($T, Add, add, add, add_scalar, add_scalar);
        $crate::__tensor_operator!($T, Sub, sub, sub, sub_scalar, rsub_scalar);
        $crate::__tensor_operator!($T, Mul, mul, mul, mul_scalar, mul_scalar);
        $crate::__tensor_operator!($T, Div, div, div, div_scalar, rdiv_scalar);

        impl std::ops::Neg for &$T {
            type Output = $T;
            fn neg(self) -> $T {
                <$T>::neg(self)
            }
        }

        impl std::ops::Neg for $T {
            type Output = $T;
            fn neg(self) -> $T {
                <$T>::neg(&self)
            }
        }
    };
}
