//! The layers of `torch.nn`, with PyTorch's constructors, defaults and
//! printed forms.

mod activation;
mod container;
mod conv;
mod dropout;
mod linear;
mod pool;

use std::fmt;

pub use activation::{Flatten, Identity, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh};
pub use container::{Lambda, Sequential};
pub use conv::{Conv2d, Conv2dConfig};
pub use dropout::Dropout;
pub use linear::Linear;
pub use pool::{AvgPool2d, MaxPool2d};

/// A 2-D size given as one number or a `(height, width)` pair (PyTorch's
/// `_size_2_t`). Remembers which, because PyTorch prints what it was given:
/// `MaxPool2d(kernel_size=2, ...)` but `MaxPool2d(kernel_size=(2, 2), ...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size2 {
    /// The same size along both axes.
    Int(usize),
    /// `(height, width)`.
    Pair(usize, usize),
}

impl Size2 {
    /// `(height, width)`.
    pub fn pair(self) -> (usize, usize) {
        match self {
            Size2::Int(n) => (n, n),
            Size2::Pair(h, w) => (h, w),
        }
    }

    /// The pair form, as modules that call PyTorch's `_pair` print it.
    pub fn as_pair(self) -> Size2 {
        let (h, w) = self.pair();
        Size2::Pair(h, w)
    }
}

impl From<usize> for Size2 {
    fn from(n: usize) -> Size2 {
        Size2::Int(n)
    }
}

impl From<(usize, usize)> for Size2 {
    fn from((h, w): (usize, usize)) -> Size2 {
        Size2::Pair(h, w)
    }
}

impl From<[usize; 2]> for Size2 {
    fn from([h, w]: [usize; 2]) -> Size2 {
        Size2::Pair(h, w)
    }
}

impl fmt::Display for Size2 {
    /// As Python prints an int or a tuple: `2`, `(2, 3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size2::Int(n) => write!(f, "{n}"),
            Size2::Pair(h, w) => write!(f, "({h}, {w})"),
        }
    }
}

/// Python's `True`/`False`.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// A float as Python's `repr` prints it: `0.5`, `1.0`, `0.25`.
pub(crate) fn py_float(x: f32) -> String {
    if x.is_finite() && x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// `Display` and `Debug` as the module's `repr()`, for the built-in layers
/// (a derived module gets them from `#[derive(Module)]`).
macro_rules! impl_fmt_as_repr {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&$crate::Module::repr(self))
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&$crate::Module::repr(self))
            }
        }
    )*};
}
pub(crate) use impl_fmt_as_repr;
