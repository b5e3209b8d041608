//! `nn.Module`: the structure of a model (parameters, children, training
//! mode, `state_dict`, printing) in [`Module`], its computation in
//! [`Forward`].
//!
//! The structural part is what `#[derive(Module)]` writes for a struct of
//! sub-modules and parameters; the struct then implements [`Forward`] by
//! hand, as a PyTorch class writes `forward`:
//!
//! ```no_run
//! use wgrad_autograd::Tensor;
//! use wgrad_nn::{Conv2d, Forward, Linear, Module, functional as F};
//!
//! #[derive(Module)]
//! struct Net {
//!     conv1: Conv2d,
//!     fc1: Linear,
//! }
//!
//! impl Forward for Net {
//!     fn forward(&self, x: &Tensor) -> Tensor {
//!         let x = F::max_pool2d(&F::relu(&self.conv1.forward(x)), 2);
//!         self.fc1.forward(&x.flatten(1, -1))
//!     }
//! }
//!
//! let net = Net { conv1: Conv2d::new(1, 6, 5), fc1: Linear::new(6 * 14 * 14, 10) };
//! println!("{net}");
//! ```
//!
//! The derive registers `Parameter` fields (and `Tensor` fields marked
//! `#[param]`) as parameters, `#[buffer]` fields as buffers, a `Training`
//! field as the module's flag, skips `#[module(skip)]` fields, and takes
//! every other field as a child module. A bare `Tensor` field is refused,
//! since whether it should be learned, saved or ignored is not clear:
//!
//! ```compile_fail
//! use wgrad_autograd::Tensor;
//! use wgrad_nn::Module;
//!
//! #[derive(Module)]
//! struct Ambiguous {
//!     scale: Tensor, // error: mark it #[param], #[buffer] or #[module(skip)]
//! }
//! ```
//!
//! while the same field marked compiles:
//!
//! ```no_run
//! # use wgrad_autograd::Tensor;
//! # use wgrad_nn::Module;
//! #[derive(Module)]
//! struct Scaled {
//!     #[param]
//!     scale: Tensor,
//! }
//! ```

use std::any::Any;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use wgrad_autograd::Tensor;

use crate::error::Result;
use crate::state_dict::{IncompatibleKeys, StateDict};

pub use crate::fields::{ChildField, ParamField};

/// A module's training flag (`module.training`): `true` from construction.
///
/// Atomic so that `train()`/`eval()` take `&self`, as everything else on a
/// module does, and a model stays `Sync`.
#[derive(Debug)]
pub struct Training(AtomicBool);

impl Training {
    /// A flag in training mode, as every PyTorch module starts.
    pub fn new() -> Training {
        Training(AtomicBool::new(true))
    }

    /// Whether the module is in training mode.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the mode.
    pub fn set(&self, training: bool) {
        self.0.store(training, Ordering::Relaxed)
    }
}

impl Default for Training {
    fn default() -> Training {
        Training::new()
    }
}

impl Clone for Training {
    fn clone(&self) -> Training {
        Training(AtomicBool::new(self.get()))
    }
}

/// The structure of a model, as `nn.Module` keeps it: its own parameters
/// and buffers, its child modules in order, a training flag, and a printed
/// form. Everything else (recursive names, `zero_grad`, `state_dict`,
/// `load_state_dict`, `train`/`eval`, printing) is provided.
///
/// `#[derive(Module)]` implements it for a struct. A hand-written impl
/// defines [`Module::type_name`] and, where the module has them,
/// `own_parameters`, `own_buffers`, `named_children`, `training_flag` and
/// `extra_repr` (each defaults to "none").
pub trait Module: Any {
    /// The class name that `print(model)` shows: `Linear`, `Net`.
    fn type_name(&self) -> &str;

    /// The summary inside the parentheses of a leaf module
    /// (`in_features=400, out_features=120, bias=True`); PyTorch's `extra_repr`.
    fn extra_repr(&self) -> String {
        String::new()
    }

    /// This module's own parameters by local name (`weight`, `bias`), in
    /// registration order; an absent optional parameter is left out.
    fn own_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// This module's own buffers: tensors saved in the `state_dict` that are
    /// not learned (such as running statistics).
    fn own_buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// The direct sub-modules by attribute name, in order (`conv1`, or `0`,
    /// `1`, ... in a `Sequential`).
    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// This module's own training flag, if it has one.
    ///
    /// A module without one (a derived struct with no [`Training`] field)
    /// reports its children's mode.
    fn training_flag(&self) -> Option<&Training> {
        None
    }

    /// The direct sub-modules, in order.
    fn children(&self) -> Vec<&dyn Module> {
        self.named_children().into_iter().map(|(_, m)| m).collect()
    }

    /// Every parameter with its dotted name (`conv1.weight`, `0.bias`): own
    /// parameters first, then each child's, depth first, as PyTorch orders
    /// them. A parameter reachable twice (a tied weight) is listed once.
    ///
    /// Also names each tensor after its key, for graph pictures (`to_dot`).
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        walk(
            self.own_parameters(),
            self.named_children(),
            "",
            &|m| m.own_parameters(),
            &mut out,
        );
        let mut unique: Vec<(String, Tensor)> = Vec::with_capacity(out.len());
        for (name, t) in out {
            if !unique
                .iter()
                .any(|(_, u)| u.data().shares_storage(t.data()))
            {
                t.set_name(&name);
                unique.push((name, t));
            }
        }
        unique
    }

    /// Every parameter (`model.parameters()`), for an optimizer.
    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Every buffer with its dotted name.
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        walk(
            self.own_buffers(),
            self.named_children(),
            "",
            &|m| m.own_buffers(),
            &mut out,
        );
        out
    }

    /// Drops every parameter's gradient (`model.zero_grad()`, whose default
    /// in PyTorch 2 is `set_to_none=True`): the next backward writes a fresh
    /// gradient, and `p.grad()` is `None` until then.
    fn zero_grad(&self) {
        self.zero_grad_with(true);
    }

    /// `model.zero_grad(set_to_none)`: with `false`, existing gradients are
    /// zeroed in place instead (PyTorch 1's behaviour, which the older
    /// tutorials print as `tensor([0., 0., ...])`).
    fn zero_grad_with(&self, set_to_none: bool) {
        for p in self.parameters() {
            if set_to_none {
                p.set_grad(None);
            } else {
                p.zero_grad();
            }
        }
    }

    /// Sets training mode on this module and every descendant
    /// (`model.train(mode)`).
    fn set_training(&self, training: bool) {
        if let Some(flag) = self.training_flag() {
            flag.set(training);
        }
        for child in self.children() {
            child.set_training(training);
        }
    }

    /// Training mode, recursively (`model.train()`): dropout is active.
    fn train(&self) {
        self.set_training(true);
    }

    /// Evaluation mode, recursively (`model.eval()`): dropout is the identity.
    fn eval(&self) {
        self.set_training(false);
    }

    /// Whether the module is in training mode (`model.training`).
    fn is_training(&self) -> bool {
        match self.training_flag() {
            Some(flag) => flag.get(),
            None => self.children().iter().all(|c| c.is_training()),
        }
    }

    /// The parameters and buffers by dotted name, in PyTorch's order
    /// (`model.state_dict()`). The tensors are detached and share their
    /// buffers with the model, as in PyTorch: copy them to keep a snapshot.
    fn state_dict(&self) -> StateDict {
        let mut out = Vec::new();
        let own_state = |m: &dyn Module| {
            let mut v = m.own_parameters();
            v.extend(m.own_buffers());
            v
        };
        let mut own = self.own_parameters();
        own.extend(self.own_buffers());
        walk(own, self.named_children(), "", &own_state, &mut out);
        out.into_iter().map(|(k, t)| (k, t.detach())).collect()
    }

    /// Copies `state` into the parameters and buffers
    /// (`model.load_state_dict(state, strict)`).
    ///
    /// Every key is checked before anything is copied: with `strict`, a
    /// missing or unexpected key is an error; a shape mismatch always is.
    /// On error the model is unchanged (PyTorch copies the keys that fit
    /// before raising). Element types are converted as `copy_` does.
    /// Returns the keys that were missing or unexpected (both empty when
    /// `strict` succeeded).
    fn load_state_dict(&self, state: &StateDict, strict: bool) -> Result<IncompatibleKeys> {
        crate::state_dict::load_into(self.type_name(), &self.state_dict(), state, strict)
    }

    /// The printed form of `print(model)`: the class name, then the
    /// `extra_repr` on one line for a leaf, or one `(name): child` line per
    /// child, nested by two spaces.
    fn repr(&self) -> String {
        let extra = self.extra_repr();
        let extra_lines: Vec<&str> = if extra.is_empty() {
            Vec::new()
        } else {
            extra.split('\n').collect()
        };
        let child_lines: Vec<String> = self
            .named_children()
            .into_iter()
            .map(|(name, child)| format!("({name}): {}", add_indent(&child.repr(), 2)))
            .collect();
        let mut s = format!("{}(", self.type_name());
        if extra_lines.len() == 1 && child_lines.is_empty() {
            s.push_str(extra_lines[0]);
        } else if !extra_lines.is_empty() || !child_lines.is_empty() {
            let lines: Vec<&str> = extra_lines
                .into_iter()
                .chain(child_lines.iter().map(String::as_str))
                .collect();
            s.push_str("\n  ");
            s.push_str(&lines.join("\n  "));
            s.push('\n');
        }
        s.push(')');
        s
    }

    /// Saves the `state_dict` as a safetensors file (atomically).
    fn save(&self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::checkpoint::save_safetensors(&self.state_dict(), path)
    }

    /// Loads a safetensors file into the model, strictly.
    fn load(&self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        let state = crate::checkpoint::load_safetensors(path)?;
        self.load_state_dict(&state, true).map(|_| ())
    }
}

/// The computation of a module: `model(x)` is `model.forward(&x)`.
///
/// Separate from [`Module`] so that `#[derive(Module)]` writes the
/// structure and the struct writes its own `forward`; [`crate::Sequential`]
/// holds `Box<dyn Forward>`.
pub trait Forward: Module {
    /// The output for input `x`.
    fn forward(&self, x: &Tensor) -> Tensor;
}

/// Tensors by (local or dotted) name.
type Named = Vec<(String, Tensor)>;

/// Appends `own` under `prefix`, then each child's entries (picked by
/// `pick`) under `prefix` + child name + `.`, depth first.
fn walk(
    own: Named,
    children: Vec<(String, &dyn Module)>,
    prefix: &str,
    pick: &dyn Fn(&dyn Module) -> Named,
    out: &mut Named,
) {
    out.extend(own.into_iter().map(|(k, t)| (format!("{prefix}{k}"), t)));
    for (name, child) in children {
        let prefix = format!("{prefix}{name}.");
        walk(pick(child), child.named_children(), &prefix, pick, out);
    }
}

/// PyTorch's `_addindent`: every line after the first indented by `n` spaces.
fn add_indent(s: &str, n: usize) -> String {
    let mut lines = s.split('\n');
    let first = lines.next().unwrap_or("");
    let pad = " ".repeat(n);
    lines.fold(first.to_string(), |acc, line| format!("{acc}\n{pad}{line}"))
}

impl fmt::Display for dyn Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

impl fmt::Display for dyn Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

impl fmt::Debug for dyn Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

impl fmt::Debug for dyn Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}
