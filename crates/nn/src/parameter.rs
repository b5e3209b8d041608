//! `nn.Parameter`: a tensor that requires grad and that its module
//! registers, so that `model.parameters()` finds it.

use std::fmt;
use std::ops::Deref;

use wgrad_autograd::Tensor;

/// A learnable tensor of a module (`nn.Parameter`): a leaf that requires
/// grad. It dereferences to [`Tensor`], so `x.matmul(&self.weight)` and
/// `self.weight.grad()` read as in PyTorch; the arithmetic operators also
/// take it on either side (`&(x.matmul(&self.w)) + &self.b`).
///
/// Clones share the tensor (data and gradient), like two Python names for
/// one parameter.
#[derive(Clone)]
pub struct Parameter(Tensor);

impl Parameter {
    /// Makes `data` a parameter (`nn.Parameter(data)`): a new leaf over the
    /// same buffer, cut off from any graph, that requires grad.
    pub fn new(data: Tensor) -> Parameter {
        Parameter(data.detach().with_grad())
    }

    /// The tensor (what optimizers hold).
    pub fn tensor(&self) -> &Tensor {
        &self.0
    }

    /// The tensor, consuming the parameter.
    pub fn into_tensor(self) -> Tensor {
        self.0
    }
}

impl Deref for Parameter {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        &self.0
    }
}

impl AsRef<Tensor> for Parameter {
    fn as_ref(&self) -> &Tensor {
        &self.0
    }
}

impl From<Parameter> for Tensor {
    fn from(p: Parameter) -> Tensor {
        p.0
    }
}

impl From<Tensor> for Parameter {
    fn from(t: Tensor) -> Parameter {
        Parameter::new(t)
    }
}

impl fmt::Display for Parameter {
    /// As PyTorch prints it: `Parameter containing:` then the tensor.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parameter containing:\n{}", self.0)
    }
}

impl fmt::Debug for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Parameter").field(&self.0).finish()
    }
}

/// `Tensor op Parameter` and `Parameter op Tensor` for the four arithmetic
/// operators, by reference and by value, delegating to the tensor's.
macro_rules! parameter_operators {
    ($($trait:ident $method:ident),*) => {$(
        impl std::ops::$trait<&Parameter> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Parameter) -> Tensor { std::ops::$trait::$method(self, &rhs.0) }
        }
        impl std::ops::$trait<&Parameter> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Parameter) -> Tensor { std::ops::$trait::$method(&self, &rhs.0) }
        }
        impl std::ops::$trait<&Tensor> for &Parameter {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor { std::ops::$trait::$method(&self.0, rhs) }
        }
        impl std::ops::$trait<Tensor> for &Parameter {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor { std::ops::$trait::$method(&self.0, &rhs) }
        }
        impl std::ops::$trait<&Parameter> for &Parameter {
            type Output = Tensor;
            fn $method(self, rhs: &Parameter) -> Tensor { std::ops::$trait::$method(&self.0, &rhs.0) }
        }
        impl std::ops::$trait<f32> for &Parameter {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor { std::ops::$trait::$method(&self.0, rhs) }
        }
    )*};
}

parameter_operators!(Add add, Sub sub, Mul mul, Div div);
