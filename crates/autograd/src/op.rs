//! Every differentiable op with what it saved for backward, and its
//! backward rule. One exhaustive `match`: an op without a backward does
//! not compile.

use crate::ops::loss::Reduction;
use wgrad_tensor::ops::conv::{self, Conv2dOptions};
use wgrad_tensor::ops::loss::CrossEntropyGrad;
use wgrad_tensor::ops::pool2d::{self, AvgPool2dOptions, MaxPool2dOptions};
use wgrad_tensor::{BinaryOp, Tensor as Raw, UnaryOp};

/// A recorded op and the tensors (or shapes) its backward needs.
pub(crate) enum Op {
    /// `y = f(x, scalar)` elementwise.
    Unary {
        op: UnaryOp,
        scalar: f32,
        x: Raw,
        y: Raw,
    },
    /// `a + b` with broadcasting.
    Add {
        a_shape: Vec<usize>,
        b_shape: Vec<usize>,
    },
    /// `a - b` with broadcasting.
    Sub {
        a_shape: Vec<usize>,
        b_shape: Vec<usize>,
    },
    /// `a * b` with broadcasting.
    Mul { a: Raw, b: Raw },
    /// `a / b` with broadcasting; `out` is the quotient.
    Div { a: Raw, b: Raw, out: Raw },
    /// `a ** b` with broadcasting; `out` is the power.
    Pow { a: Raw, b: Raw, out: Raw },
    /// `maximum(a, b)` / `minimum(a, b)`: ties split the gradient in half.
    Extremum { op: BinaryOp, a: Raw, b: Raw },
    /// Any view that only regroups elements (view, reshape, flatten, squeeze, unsqueeze).
    Reshape { input_shape: Vec<usize> },
    /// `permute(dims)` (and `transpose`, `t`).
    Permute { dims: Vec<usize> },
    /// `expand(shape)`.
    Expand { input_shape: Vec<usize> },
    /// `slice(dim, start, end, step)` / `narrow` / `select` (then `keep_dim` is false).
    Slice {
        input_shape: Vec<usize>,
        dim: usize,
        start: usize,
        step: usize,
        keep_dim: bool,
    },
    /// A copy that keeps the graph (`contiguous`, `clone`).
    Identity,
    /// `a @ b` with PyTorch's matmul semantics.
    Matmul { a: Raw, b: Raw },
    /// `scale * sum` over all elements (`dims` None) or one dim: sum and mean.
    Sum {
        input_shape: Vec<usize>,
        dims: Option<(usize, bool)>,
        scale: f32,
    },
    /// `max()` / `min()` of all elements: ties share the gradient evenly.
    ExtremumAll { x: Raw, out: Raw },
    /// `max(dim)` / `min(dim)`: the gradient goes to the saved index
    /// (`indices` kept with the reduced dim, size 1).
    ExtremumDim {
        indices: Raw,
        dim: usize,
        keepdim: bool,
        input_shape: Vec<usize>,
    },
    /// `x @ wᵀ (+ b)` for 2-D `x`; inputs are (bias, x, w) or (x, w).
    Linear { x: Raw, w: Raw, has_bias: bool },
    /// `softmax` / `log_softmax` along `dim`; `y` is the output.
    Softmax { y: Raw, dim: isize, log: bool },
    /// `conv2d(x, w, bias)`; the bias, when given, is the third input.
    /// `relu_out` is the output of a fused ReLU (`conv2d_relu`), whose
    /// mask this node applies to the gradient it gets (see `FusedRelu`).
    Conv2d {
        x: Raw,
        w: Raw,
        opts: Conv2dOptions,
        relu_out: Option<Raw>,
    },
    /// The ReLU of `conv2d_relu`: its gradient passes through unchanged, and
    /// the convolution's node below (its only input, which no one else can
    /// reach) applies the mask in the same pass as its bias gradient.
    FusedRelu,
    /// `max_pool2d` with the argmax of each window.
    MaxPool2d {
        indices: Raw,
        input_shape: Vec<usize>,
        opts: MaxPool2dOptions,
    },
    /// `avg_pool2d`.
    AvgPool2d {
        input_shape: Vec<usize>,
        opts: AvgPool2dOptions,
    },
    /// `cat` along `dim` of inputs with these sizes along it.
    Cat { dim: usize, sizes: Vec<usize> },
    /// `stack` along a new `dim`.
    Stack { dim: usize },
    /// `index_select(dim, index)`.
    IndexSelect {
        dim: isize,
        index: Raw,
        input_shape: Vec<usize>,
    },
    /// `gather(dim, index)`.
    Gather {
        dim: isize,
        index: Raw,
        input_shape: Vec<usize>,
    },
    /// `where(cond, a, b)` (and `masked_fill`, as `where(mask == 0, x, value)`).
    Where {
        cond: Raw,
        a_shape: Vec<usize>,
        b_shape: Vec<usize>,
    },
    /// `mse_loss(x, y)` with `diff = x - y`; `scale` is 2/n for mean, 2 for sum.
    MseLoss {
        diff: Raw,
        scale: f32,
        reduced: bool,
    },
    /// `nll_loss(x, target)`: `weights[i]` is what row i's picked log-prob
    /// counts (0 for an ignored target, 1/count for mean).
    NllLoss {
        target: Raw,
        weights: Raw,
        input_shape: Vec<usize>,
        reduced: bool,
    },
    /// `log_softmax` and `nll_loss` fused: each row's loss was
    /// `scale * (logsumexp(logits[i]) - logits[i, target[i]])`.
    CrossEntropy {
        logits: Raw,
        target: Raw,
        ignore_index: Option<i32>,
        reduction: Reduction,
        /// For a mean: the `[2]` sums (loss, counted rows) of the forward.
        sums: Option<Raw>,
        /// For a mean: the gradient for an upstream gradient of 1, when the
        /// forward computed it (see [`Op::backward_of_ones`]).
        grad_of_ones: Option<Raw>,
    },
}

/// The gradient of a broadcast binary op's input: `g` summed back to `shape`.
fn unbroadcast(g: Raw, shape: &[usize]) -> Raw {
    if g.shape() == shape {
        g
    } else {
        g.sum_to_shape(shape)
    }
}

impl Op {
    /// The input gradients for an upstream gradient of ones (what
    /// `loss.backward()` seeds), if the forward already computed them: the
    /// mean cross-entropy's kernel writes its gradient with the loss, so a
    /// training step's backward starts without a dispatch. `None` for
    /// every other op.
    pub(crate) fn backward_of_ones(&self) -> Option<Vec<Option<Raw>>> {
        match self {
            Op::CrossEntropy {
                grad_of_ones: Some(dx),
                ..
            } => Some(vec![Some(dx.clone())]),
            _ => None,
        }
    }

    /// The gradients of the op's inputs given the gradient `g` of its
    /// output; `needs[i]` says whether input `i` wants one.
    pub(crate) fn backward(&self, g: &Raw, needs: &[bool]) -> Vec<Option<Raw>> {
        let need = |i: usize| needs.get(i).copied().unwrap_or(false);
        match self {
            Op::Unary { op, scalar, x, y } => vec![Some(x.unary_backward(*op, *scalar, y, g))],
            Op::Add { a_shape, b_shape } => vec![
                need(0).then(|| unbroadcast(g.clone(), a_shape)),
                need(1).then(|| unbroadcast(g.clone(), b_shape)),
            ],
            Op::Sub { a_shape, b_shape } => vec![
                need(0).then(|| unbroadcast(g.clone(), a_shape)),
                need(1).then(|| unbroadcast(g.neg(), b_shape)),
            ],
            Op::Mul { a, b } => vec![
                need(0).then(|| unbroadcast(g.mul(b), a.shape())),
                need(1).then(|| unbroadcast(g.mul(a), b.shape())),
            ],
            // d(a/b)/da = 1/b; d(a/b)/db = -a/b² = -out/b
            Op::Div { a, b, out } => vec![
                need(0).then(|| unbroadcast(g.div(b), a.shape())),
                need(1).then(|| unbroadcast(g.mul(out).div(b).neg(), b.shape())),
            ],
            // d(a^b)/da = b·a^(b-1) = b·out/a (a ≠ 0); d(a^b)/db = out·ln(a)
            Op::Pow { a, b, out } => vec![
                need(0).then(|| unbroadcast(g.mul(&b.mul(&a.pow(&b.sub_scalar(1.0)))), a.shape())),
                need(1).then(|| unbroadcast(g.mul(&out.mul(&a.log())), b.shape())),
            ],
            Op::Extremum { op, a, b } => {
                // maximum: a wins where a > b; minimum: where a < b; ties give each half.
                let wins = if *op == BinaryOp::Maximum {
                    a.gt(b)
                } else {
                    a.lt(b)
                };
                let share_a = wins.add(&a.eq(b).mul_scalar(0.5));
                vec![
                    need(0).then(|| unbroadcast(g.mul(&share_a), a.shape())),
                    need(1).then(|| unbroadcast(g.mul(&share_a.rsub_scalar(1.0)), b.shape())),
                ]
            }
            Op::Reshape { input_shape } => vec![Some(g.reshape(&signed(input_shape)))],
            Op::Permute { dims } => {
                let mut inverse = vec![0; dims.len()];
                for (i, &d) in dims.iter().enumerate() {
                    inverse[d] = i;
                }
                vec![Some(g.permute(&inverse))]
            }
            Op::Expand { input_shape } => vec![Some(g.sum_to_shape(input_shape))],
            Op::Slice {
                input_shape,
                dim,
                start,
                step,
                keep_dim,
            } => {
                let dx = Raw::zeros(input_shape);
                let len = if *keep_dim { g.shape()[*dim] } else { 1 };
                let end = if len == 0 {
                    *start
                } else {
                    start + (len - 1) * step + 1
                };
                let view = dx.slice(*dim as isize, *start, end, *step);
                let g = if *keep_dim {
                    g.clone()
                } else {
                    g.unsqueeze(*dim as isize)
                };
                view.copy_(&g);
                vec![Some(dx)]
            }
            Op::Identity => vec![Some(g.clone())],
            Op::Matmul { a, b } => crate::ops::linalg::matmul_backward(a, b, g, need(0), need(1)),
            Op::Linear { x, w, has_bias } => {
                crate::ops::linalg::linear_backward(x, w, *has_bias, g, needs)
            }
            Op::Sum {
                input_shape,
                dims,
                scale,
            } => {
                let g = match dims {
                    Some((d, false)) => g.unsqueeze(*d as isize),
                    _ => g.clone(),
                };
                let g = if *scale == 1.0 {
                    g
                } else {
                    g.mul_scalar(*scale)
                };
                vec![Some(g.expand(input_shape).contiguous())]
            }
            Op::ExtremumAll { x, out } => {
                let mask = x.eq(out);
                let share = mask.div(&mask.sum());
                vec![Some(share.mul(g))]
            }
            Op::Softmax { y, dim, log } => {
                vec![Some(if *log {
                    y.log_softmax_backward(g, *dim)
                } else {
                    y.softmax_backward(g, *dim)
                })]
            }
            Op::Conv2d {
                x,
                w,
                opts,
                relu_out,
            } => {
                // Under a fused ReLU, a first layer (no input gradient)
                // masks g, sums the bias and takes the weight gradient in
                // one pass where its kernel allows.
                if let (Some(y), false, true) = (relu_out, need(0), need(1)) {
                    let (dw, db) =
                        conv::conv2d_relu_backward_weight_bias(g, y, x, w.shape(), *opts);
                    return vec![None, Some(dw), need(2).then_some(db)];
                }
                // Otherwise mask g and sum the bias in one pass.
                let (g, db) = match relu_out {
                    Some(y) => {
                        let (masked, db) = conv::conv2d_relu_backward_bias(g, y);
                        (masked, Some(db))
                    }
                    None => (g.clone(), None),
                };
                vec![
                    need(0).then(|| conv::conv2d_backward_input(&g, w, x.shape(), *opts)),
                    need(1).then(|| conv::conv2d_backward_weight(&g, x, w.shape(), *opts)),
                    need(2).then(|| db.unwrap_or_else(|| conv::conv2d_backward_bias(&g))),
                ]
            }
            Op::FusedRelu => vec![Some(g.clone())],
            Op::MaxPool2d {
                indices,
                input_shape,
                opts,
            } => {
                vec![Some(pool2d::max_pool2d_backward(
                    g,
                    indices,
                    input_shape,
                    *opts,
                ))]
            }
            Op::AvgPool2d { input_shape, opts } => {
                vec![Some(pool2d::avg_pool2d_backward(g, input_shape, *opts))]
            }
            Op::Cat { dim, sizes } => {
                let mut start = 0;
                sizes
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| {
                        let part = need(i).then(|| g.narrow(*dim as isize, start, n).contiguous());
                        start += n;
                        part
                    })
                    .collect()
            }
            Op::Stack { dim } => (0..g.shape()[*dim])
                .map(|i| need(i).then(|| g.select(*dim as isize, i as isize).contiguous()))
                .collect(),
            Op::IndexSelect {
                dim,
                index,
                input_shape,
            } => {
                vec![Some(Raw::index_select_backward(
                    g,
                    *dim,
                    index,
                    input_shape,
                ))]
            }
            Op::Gather {
                dim,
                index,
                input_shape,
            } => vec![Some(Raw::gather_backward(g, index, *dim, input_shape))],
            Op::Where {
                cond,
                a_shape,
                b_shape,
            } => {
                let zero = Raw::zeros(&[]);
                vec![
                    need(0).then(|| unbroadcast(Raw::where_cond(cond, g, &zero), a_shape)),
                    need(1).then(|| unbroadcast(Raw::where_cond(cond, &zero, g), b_shape)),
                ]
            }
            Op::MseLoss {
                diff,
                scale,
                reduced,
            } => {
                // d/dx sum(c·(x - y)²) = 2c·(x - y); c folded into `scale`.
                let g = if *reduced {
                    g.expand(diff.shape())
                } else {
                    g.clone()
                };
                let dx = diff.mul(&g).mul_scalar(*scale);
                vec![need(0).then(|| dx.clone()), need(1).then(|| dx.neg())]
            }
            Op::NllLoss {
                target,
                weights,
                input_shape,
                reduced,
            } => {
                // loss = -Σ weights[i]·x[i, target[i]]: the gradient is -weights·g at the picked entries.
                let g = if *reduced {
                    g.expand(weights.shape())
                } else {
                    g.clone()
                };
                let picked = weights.mul(&g).neg().unsqueeze(1);
                vec![Some(Raw::gather_backward(
                    &picked,
                    &target.unsqueeze(1),
                    1,
                    input_shape,
                ))]
            }
            Op::CrossEntropy {
                logits,
                target,
                ignore_index,
                reduction,
                sums,
                grad_of_ones: _,
            } => {
                let how = match (reduction, sums) {
                    (Reduction::None, _) => CrossEntropyGrad::PerRow,
                    (Reduction::Mean, Some(sums)) => CrossEntropyGrad::Mean(sums),
                    _ => CrossEntropyGrad::Sum,
                };
                vec![Some(logits.cross_entropy_backward(
                    target,
                    g,
                    *ignore_index,
                    how,
                ))]
            }
            Op::ExtremumDim {
                indices,
                dim,
                keepdim,
                input_shape,
            } => {
                let g = if *keepdim {
                    g.clone()
                } else {
                    g.unsqueeze(*dim as isize)
                };
                vec![Some(Raw::gather_backward(
                    &g,
                    indices,
                    *dim as isize,
                    input_shape,
                ))]
            }
        }
    }
}

/// A shape as the `isize` list `reshape` takes.
pub(crate) fn signed(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&d| d as isize).collect()
}
