//! The field kinds `#[derive(Module)]` dispatches on: the derive calls
//! these traits on each field, so the field's type decides (at compile
//! time) how an optional parameter or child is registered.

use wgrad_autograd::Tensor;

use crate::module::Module;
use crate::parameter::Parameter;

/// A field that `#[derive(Module)]` registers as a parameter (or, with
/// `#[buffer]`, a buffer): [`Parameter`], [`Tensor`], or an `Option` of
/// either (`None` is left out, as PyTorch skips a `None` bias).
pub trait ParamField {
    /// Appends `(name, tensor)` if present.
    fn collect_tensors(&self, name: &str, out: &mut Vec<(String, Tensor)>);
}

impl ParamField for Parameter {
    fn collect_tensors(&self, name: &str, out: &mut Vec<(String, Tensor)>) {
        out.push((name.to_string(), self.tensor().clone()));
    }
}

impl ParamField for Tensor {
    fn collect_tensors(&self, name: &str, out: &mut Vec<(String, Tensor)>) {
        out.push((name.to_string(), self.clone()));
    }
}

impl<T: ParamField> ParamField for Option<T> {
    fn collect_tensors(&self, name: &str, out: &mut Vec<(String, Tensor)>) {
        if let Some(t) = self {
            t.collect_tensors(name, out);
        }
    }
}

/// A field that `#[derive(Module)]` registers as a child: any [`Module`],
/// or an `Option` of one (`None` is left out).
pub trait ChildField {
    /// Appends `(name, module)` if present.
    fn collect_children<'a>(&'a self, name: &str, out: &mut Vec<(String, &'a dyn Module)>);
}

impl<M: Module> ChildField for M {
    fn collect_children<'a>(&'a self, name: &str, out: &mut Vec<(String, &'a dyn Module)>) {
        out.push((name.to_string(), self));
    }
}

impl<M: Module> ChildField for Option<M> {
    fn collect_children<'a>(&'a self, name: &str, out: &mut Vec<(String, &'a dyn Module)>) {
        if let Some(m) = self {
            out.push((name.to_string(), m));
        }
    }
}
