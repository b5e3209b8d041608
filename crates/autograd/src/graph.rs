//! The recorded graph: one [`Node`] per op that produced a tensor needing
//! a gradient, with edges to the nodes (or leaves) of its inputs.

use std::sync::{Arc, Mutex};

use crate::op::Op;
use crate::tensor::{Inner, Tensor};

/// Where the gradient of one input of a node goes.
#[derive(Clone)]
pub(crate) enum Edge {
    /// The input needs no gradient.
    None,
    /// A leaf that requires grad: the gradient accumulates into its `.grad`.
    Leaf(Arc<Inner>),
    /// An interior tensor: the gradient flows on into the node that made it.
    Node(Arc<Node>),
}

/// One recorded op: what it saved for backward and where its input
/// gradients go.
pub struct Node {
    pub(crate) name: &'static str,
    /// The op with its saved tensors; `None` once a backward has released them.
    pub(crate) op: Mutex<Option<Op>>,
    pub(crate) inputs: Vec<Edge>,
    /// The shape of the tensor this node produced (for `to_dot`).
    pub(crate) output_shape: Vec<usize>,
}

/// A node of the graph as the user sees it: `t.grad_fn()`.
#[derive(Clone)]
pub enum GradFn {
    /// An op's backward, e.g. `MulBackward0`.
    Node(Arc<Node>),
    /// The end of a path: a leaf's gradient accumulator (`AccumulateGrad`).
    AccumulateGrad(Tensor),
}

impl GradFn {
    /// PyTorch's name for the node: `MseLossBackward0`, `AddmmBackward0`, ...
    pub fn name(&self) -> &'static str {
        match self {
            GradFn::Node(n) => n.name,
            GradFn::AccumulateGrad(_) => "AccumulateGrad",
        }
    }

    /// The nodes the gradient flows to next, one per input of the op
    /// (`None` for inputs that need no gradient), as PyTorch's
    /// `grad_fn.next_functions[i][0]`.
    pub fn next_functions(&self) -> Vec<Option<GradFn>> {
        match self {
            GradFn::AccumulateGrad(_) => Vec::new(),
            GradFn::Node(n) => n
                .inputs
                .iter()
                .map(|e| match e {
                    Edge::None => None,
                    Edge::Leaf(inner) => Some(GradFn::AccumulateGrad(Tensor {
                        inner: inner.clone(),
                    })),
                    Edge::Node(node) => Some(GradFn::Node(node.clone())),
                })
                .collect(),
        }
    }
}

impl std::fmt::Display for GradFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.name())
    }
}

impl std::fmt::Debug for GradFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.name())
    }
}

/// The graph behind `root` in Graphviz DOT, like torchviz's `make_dot`:
/// one box per leaf (with its shape), one node per op, edges along the
/// gradient's path.
pub fn to_dot(root: &Tensor) -> String {
    let mut out = String::from("digraph wgrad {\n  node [shape=box, fontname=\"monospace\"];\n");
    let mut seen = std::collections::HashSet::new();
    let root_id = format!("t{:p}", Arc::as_ptr(&root.inner));
    out.push_str(&format!(
        "  {root_id} [label=\"output\\n{:?}\", style=filled, fillcolor=darkolivegreen1];\n",
        root.shape()
    ));
    if let Some(node) = &root.inner.grad_fn {
        out.push_str(&format!("  n{:p} -> {root_id};\n", Arc::as_ptr(node)));
        dot_node(node, &mut out, &mut seen);
    }
    out.push_str("}\n");
    out
}

fn dot_node(node: &Arc<Node>, out: &mut String, seen: &mut std::collections::HashSet<usize>) {
    let id = Arc::as_ptr(node) as usize;
    if !seen.insert(id) {
        return;
    }
    out.push_str(&format!(
        "  n{:p} [label=\"{}\\n{:?}\", shape=ellipse];\n",
        Arc::as_ptr(node),
        node.name,
        node.output_shape
    ));
    for edge in &node.inputs {
        match edge {
            Edge::None => {}
            Edge::Leaf(inner) => {
                let leaf = Arc::as_ptr(inner);
                if seen.insert(leaf as usize) {
                    out.push_str(&format!(
                        "  t{leaf:p} [label=\"{}\\n{:?}\", style=filled, fillcolor=lightblue];\n",
                        inner.name.lock().map(|n| n.clone()).unwrap_or_default(),
                        inner.data.shape()
                    ));
                }
                out.push_str(&format!("  t{leaf:p} -> n{:p};\n", Arc::as_ptr(node)));
            }
            Edge::Node(child) => {
                out.push_str(&format!(
                    "  n{:p} -> n{:p};\n",
                    Arc::as_ptr(child),
                    Arc::as_ptr(node)
                ));
                dot_node(child, out, seen);
            }
        }
    }
}
