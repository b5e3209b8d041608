//! The user-facing tensor: GPU data plus what autograd needs (whether it
//! requires grad, its gradient, the node that produced it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wgrad_tensor::{DType, Element, Tensor as Raw};

use crate::error::{AutogradError, Result};
use crate::grad_mode::is_grad_enabled;
use crate::graph::{Edge, GradFn, Node};
use crate::op::Op;

pub(crate) struct Inner {
    pub(crate) data: Raw,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) grad: Mutex<Option<Raw>>,
    pub(crate) grad_fn: Option<Arc<Node>>,
    /// A label for graph pictures (`conv1.weight`); empty if unnamed.
    pub(crate) name: Mutex<String>,
}

/// A tensor that can take part in automatic differentiation, PyTorch style.
///
/// Clones share everything (data, gradient, graph), like two Python names
/// for one `torch.Tensor`.
#[derive(Clone)]
pub struct Tensor {
    pub(crate) inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl From<Raw> for Tensor {
    fn from(data: Raw) -> Tensor {
        Tensor::from_raw(data)
    }
}

impl Tensor {
    /// Wraps GPU data as a leaf that does not require grad.
    pub fn from_raw(data: Raw) -> Tensor {
        Tensor {
            inner: Arc::new(Inner {
                data,
                requires_grad: AtomicBool::new(false),
                grad: Mutex::new(None),
                grad_fn: None,
                name: Mutex::new(String::new()),
            }),
        }
    }

    /// Records `data` as the output of `op` on `inputs` when grad mode is on
    /// and some input requires grad; else returns plain data. `op` is only
    /// built (and tensors only saved) when something will be recorded.
    pub(crate) fn record(
        data: Raw,
        name: &'static str,
        inputs: &[&Tensor],
        op: impl FnOnce() -> Op,
    ) -> Tensor {
        if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
            return Tensor::from_raw(data);
        }
        let edges = inputs.iter().map(|t| t.edge()).collect();
        let node = Node {
            name,
            op: Mutex::new(Some(op())),
            inputs: edges,
            output_shape: data.shape().to_vec(),
        };
        Tensor {
            inner: Arc::new(Inner {
                data,
                requires_grad: AtomicBool::new(true),
                grad: Mutex::new(None),
                grad_fn: Some(Arc::new(node)),
                name: Mutex::new(String::new()),
            }),
        }
    }

    /// Where a gradient for this tensor goes when it is an op's input.
    pub(crate) fn edge(&self) -> Edge {
        match (&self.inner.grad_fn, self.requires_grad()) {
            (Some(node), _) => Edge::Node(node.clone()),
            (None, true) => Edge::Leaf(self.inner.clone()),
            (None, false) => Edge::None,
        }
    }

    /// The GPU data (no gradient information).
    pub fn data(&self) -> &Raw {
        &self.inner.data
    }

    /// Copies host data into a new leaf tensor of `shape`.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Tensor {
        Raw::from_slice(data, shape).into()
    }

    /// A 1-D tensor holding `data` (`torch.from_numpy`).
    pub fn from_vec<T: Element>(data: Vec<T>) -> Tensor {
        Raw::from_vec(data).into()
    }

    /// A 0-dimensional tensor.
    pub fn scalar(value: f32) -> Tensor {
        Raw::scalar(value).into()
    }

    /// Whether gradients are computed for this tensor.
    pub fn requires_grad(&self) -> bool {
        self.inner.requires_grad.load(Ordering::Relaxed)
    }

    /// Sets `requires_grad` on a leaf (`t.requires_grad_()`), returning it.
    pub fn try_requires_grad_(&self, requires_grad: bool) -> Result<Tensor> {
        if self.inner.grad_fn.is_some() {
            return Err(AutogradError::NotLeaf);
        }
        self.inner
            .requires_grad
            .store(requires_grad, Ordering::Relaxed);
        Ok(self.clone())
    }

    /// `t.requires_grad_(flag)`, returning the same tensor.
    ///
    /// # Panics
    /// If `self` is not a leaf.
    pub fn requires_grad_(&self, requires_grad: bool) -> Tensor {
        self.try_requires_grad_(requires_grad)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A leaf that requires grad (`torch.tensor(..., requires_grad=True)`).
    pub fn with_grad(self) -> Tensor {
        self.requires_grad_(true)
    }

    /// Whether this tensor is a leaf of the graph (made by the user, not an op).
    pub fn is_leaf(&self) -> bool {
        self.inner.grad_fn.is_none()
    }

    /// The accumulated gradient; `None` until a backward reaches this leaf.
    pub fn grad(&self) -> Option<Tensor> {
        lock(&self.inner.grad)
            .as_ref()
            .map(|g| Tensor::from_raw(g.clone()))
    }

    /// Replaces the gradient (`t.grad = None` or a given tensor).
    pub fn set_grad(&self, grad: Option<&Tensor>) {
        *lock(&self.inner.grad) = grad.map(|g| g.data().clone());
    }

    /// Zeroes the gradient in place if there is one (`t.grad.zero_()`).
    pub fn zero_grad(&self) {
        if let Some(g) = lock(&self.inner.grad).as_ref() {
            g.zero_();
        }
    }

    /// Adds `g` into this leaf's gradient.
    pub(crate) fn accumulate(inner: &Inner, g: Raw) {
        let mut grad = lock(&inner.grad);
        *grad = Some(match grad.take() {
            Some(old) => old.add(&g),
            // Keep the incoming buffer only if nothing else can see it;
            // otherwise an in-place `grad.zero_()` would reach the other holder.
            None if g.storage_is_unique() && g.is_contiguous() => g,
            None => g.detached_copy(),
        });
    }

    /// The node that produced this tensor (`t.grad_fn`); `None` for leaves.
    pub fn grad_fn(&self) -> Option<GradFn> {
        self.inner.grad_fn.as_ref().map(|n| GradFn::Node(n.clone()))
    }

    /// The same data cut off from the graph (`t.detach()`); shares the buffer.
    pub fn detach(&self) -> Tensor {
        Tensor::from_raw(self.inner.data.clone())
    }

    /// Names the tensor for graph pictures (`to_dot`); parameters get their
    /// dotted names from their module.
    pub fn set_name(&self, name: &str) {
        *lock(&self.inner.name) = name.to_string();
    }

    /// The size of each dimension.
    pub fn shape(&self) -> &[usize] {
        self.inner.data.shape()
    }

    /// The size of one dimension (negative counts from the end).
    pub fn size(&self, dim: isize) -> usize {
        self.inner.data.size(dim)
    }

    /// The number of dimensions.
    pub fn dim(&self) -> usize {
        self.inner.data.dim()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.inner.data.numel()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.inner.data.dtype()
    }

    /// Copies the elements to the host (waits for pending GPU work).
    pub fn to_vec<T: Element>(&self) -> wgrad_tensor::Result<Vec<T>> {
        self.inner.data.to_vec()
    }

    /// The value of a one-element tensor (`loss.item()`).
    pub fn item(&self) -> wgrad_tensor::Result<f32> {
        self.inner.data.item()
    }
}

impl std::fmt::Display for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let suffix = match (&self.inner.grad_fn, self.requires_grad()) {
            (Some(node), _) => vec![format!("grad_fn=<{}>", node.name)],
            (None, true) => vec!["requires_grad=True".to_string()],
            (None, false) => vec![],
        };
        f.write_str(&self.inner.data.format_with(&suffix))
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.shape())
            .field("requires_grad", &self.requires_grad())
            .field("grad_fn", &self.inner.grad_fn.as_ref().map(|n| n.name))
            .finish()
    }
}
