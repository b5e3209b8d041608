//! Running backward: a reverse topological walk from the output, each
//! node's gradient summed from its consumers before it is passed on.

use std::collections::HashMap;
use std::sync::Arc;

use wgrad_tensor::Tensor as Raw;

use crate::error::{AutogradError, Result};
use crate::grad_mode::no_grad;
use crate::graph::{Edge, Node};
use crate::op::Op;
use crate::tensor::Tensor;

impl Tensor {
    /// Computes the gradient of this scalar with respect to every leaf that
    /// requires grad, adding it into their `.grad` (`loss.backward()`).
    /// Saved tensors are released as they are used.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(AutogradError::NotScalar {
                shape: self.shape().to_vec(),
            });
        }
        self.run_backward(Seed::Ones, false)
    }

    /// The vector-Jacobian product with `gradient` (`y.backward(gradient)`).
    pub fn backward_with(&self, gradient: &Tensor) -> Result<()> {
        self.backward_with_options(gradient, false)
    }

    /// `backward` with PyTorch's `retain_graph`: keep the saved tensors so
    /// that another backward through the same graph works.
    pub fn backward_with_options(&self, gradient: &Tensor, retain_graph: bool) -> Result<()> {
        if gradient.shape() != self.shape() {
            return Err(AutogradError::GradientShape {
                output: self.shape().to_vec(),
                gradient: gradient.shape().to_vec(),
            });
        }
        self.run_backward(Seed::Given(gradient.data().clone()), retain_graph)
    }

    /// `loss.backward(retain_graph=True)` for a scalar.
    pub fn backward_retain_graph(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(AutogradError::NotScalar {
                shape: self.shape().to_vec(),
            });
        }
        self.run_backward(Seed::Ones, true)
    }

    fn run_backward(&self, seed: Seed, retain_graph: bool) -> Result<()> {
        // Backward kernels are plain tensor ops: record nothing while running them.
        no_grad(|| match (&self.inner.grad_fn, self.requires_grad()) {
            (Some(root), _) => run_graph(root, seed, retain_graph),
            (None, true) => {
                Tensor::accumulate(&self.inner, seed.into_tensor(self.shape()));
                Ok(())
            }
            (None, false) => Err(AutogradError::NoGraph),
        })
    }
}

/// The gradient a backward starts from.
enum Seed {
    /// Ones (`loss.backward()`): an op may have computed its input
    /// gradients for them in its forward (`Op::backward_of_ones`).
    Ones,
    /// The caller's (`y.backward(gradient)`).
    Given(Raw),
}

impl Seed {
    fn into_tensor(self, shape: &[usize]) -> Raw {
        match self {
            Seed::Ones => Raw::ones(shape),
            Seed::Given(g) => g,
        }
    }
}

fn key(node: &Arc<Node>) -> usize {
    Arc::as_ptr(node) as usize
}

/// Nodes reachable from `root`, each after every node that consumes it.
fn topological_order(root: &Arc<Node>) -> Vec<Arc<Node>> {
    let mut order = Vec::new();
    let mut visited = std::collections::HashSet::new();
    // Iterative post-order DFS: (node, next input to visit).
    let mut stack = vec![(root.clone(), 0usize)];
    visited.insert(key(root));
    while let Some((node, i)) = stack.pop() {
        if i < node.inputs.len() {
            stack.push((node.clone(), i + 1));
            if let Edge::Node(child) = &node.inputs[i]
                && visited.insert(key(child))
            {
                stack.push((child.clone(), 0));
            }
        } else {
            order.push(node);
        }
    }
    order.reverse(); // consumers first
    order
}

fn run_graph(root: &Arc<Node>, seed: Seed, retain_graph: bool) -> Result<()> {
    let mut pending: HashMap<usize, Raw> = HashMap::new();
    let mut seed = Some(seed);
    for node in topological_order(root) {
        // The root starts from the seed, every other node from the sum of
        // what its consumers passed on.
        let g = if key(&node) == key(root) {
            seed.take()
        } else {
            pending.remove(&key(&node)).map(Seed::Given)
        };
        // A node no path carried a gradient to (all its consumers gave None).
        let Some(g) = g else {
            continue;
        };
        let needs: Vec<bool> = node
            .inputs
            .iter()
            .map(|e| !matches!(e, Edge::None))
            .collect();
        let grads = {
            let mut op = node.op.lock().unwrap_or_else(|p| p.into_inner());
            let grads = match op.as_ref() {
                Some(op) => input_grads(op, g, &needs, &node.output_shape),
                None => return Err(AutogradError::GraphFreed { node: node.name }),
            };
            if !retain_graph {
                *op = None; // release the saved tensors now: training memory stays flat
            }
            grads
        };
        for (edge, grad) in node.inputs.iter().zip(grads) {
            let Some(grad) = grad else { continue };
            match edge {
                Edge::None => {}
                Edge::Leaf(inner) => Tensor::accumulate(inner, grad),
                Edge::Node(next) => {
                    let slot = pending.entry(key(next));
                    match slot {
                        std::collections::hash_map::Entry::Occupied(mut e) => {
                            let sum = e.get().add(&grad);
                            e.insert(sum);
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(grad);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `op`'s input gradients for `g` (of its output's `shape`): from its
/// forward when `g` is the seed of ones and the forward computed them.
fn input_grads(op: &Op, g: Seed, needs: &[bool], shape: &[usize]) -> Vec<Option<Raw>> {
    if let Seed::Ones = g
        && let Some(grads) = op.backward_of_ones()
    {
        return grads;
    }
    op.backward(&g.into_tensor(shape), needs)
}
