//! Errors of the autograd layer.

use thiserror::Error;
use wgrad_tensor::TensorError;

/// What can go wrong when recording or running backward.
#[derive(Debug, Clone, Error)]
pub enum AutogradError {
    /// `backward()` without a gradient on a tensor with more than one element.
    #[error(
        "grad can be implicitly created only for scalar outputs; this output has shape {shape:?}: use backward_with(gradient)"
    )]
    NotScalar {
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// `backward()` on a tensor that is not part of a graph.
    #[error("element 0 of tensors does not require grad and does not have a grad_fn")]
    NoGraph,
    /// The saved tensors of a node were already released by an earlier backward.
    #[error(
        "trying to backward through the graph a second time ({node} already freed its saved tensors); \
         pass retain_graph = true to the first backward if you need to backward twice"
    )]
    GraphFreed {
        /// The node whose saved tensors are gone.
        node: &'static str,
    },
    /// The external gradient has the wrong shape.
    #[error(
        "backward: gradient of shape {gradient:?} does not match the output of shape {output:?}"
    )]
    GradientShape {
        /// The output's shape.
        output: Vec<usize>,
        /// The gradient's shape.
        gradient: Vec<usize>,
    },
    /// An in-place op on a leaf that requires grad, outside `no_grad`.
    #[error("a leaf Variable that requires grad is being used in an in-place operation ({op})")]
    InPlaceOnLeaf {
        /// The in-place op.
        op: &'static str,
    },
    /// An in-place op on a tensor that is part of a recorded graph.
    #[error(
        "{op}: in-place operations on tensors that require grad are not recorded; run it under no_grad or use the out-of-place form"
    )]
    InPlaceInGraph {
        /// The in-place op.
        op: &'static str,
    },
    /// `requires_grad_` on a tensor that is not a leaf.
    #[error("you can only change requires_grad flags of leaf variables")]
    NotLeaf,
    /// An error from the tensor runtime.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// `Result` with [`AutogradError`].
pub type Result<T> = std::result::Result<T, AutogradError>;
