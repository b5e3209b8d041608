//! Reductions, softmax, convolution, pooling, joining, indexing and losses.

use wgrad_autograd::{Reduction, Tensor};
use wgrad_tensor::ops::conv::Conv2dOptions;
use wgrad_tensor::ops::pool2d::{AvgPool2dOptions, MaxPool2dOptions};

use crate::common::{Input, check_gradients, values};

#[test]
fn reduction_gradients_match_finite_differences() {
    let x = [Input::distinct(&[3, 4, 5], 41)];
    check_gradients("sum", &x, 1e-2, 1e-2, |t| t[0].sum());
    check_gradients("sum_dim keepdim", &x, 1e-2, 1e-2, |t| t[0].sum_dim(1, true));
    check_gradients("sum_dim", &x, 1e-2, 1e-2, |t| t[0].sum_dim(-1, false));
    check_gradients("mean", &x, 1e-2, 1e-2, |t| t[0].mean());
    check_gradients("mean_dim", &x, 1e-2, 1e-2, |t| t[0].mean_dim(0, false));
    // Distinct values keep max/min away from ties (where they are not differentiable).
    check_gradients("max", &x, 1e-3, 1e-2, |t| t[0].max());
    check_gradients("min", &x, 1e-3, 1e-2, |t| t[0].min());
    check_gradients("max_dim", &x, 1e-3, 1e-2, |t| t[0].max_dim(1, false).0);
    check_gradients("min_dim keepdim", &x, 1e-3, 1e-2, |t| {
        t[0].min_dim(2, true).0
    });
}

#[test]
fn max_over_all_elements_shares_the_gradient_of_ties() {
    let x = Tensor::from_slice(&[1.0f32, 3.0, 3.0, 2.0], &[4]).with_grad();
    x.max().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 0.5, 0.5, 0.0]
    );
}

#[test]
fn softmax_gradients_match_finite_differences() {
    let x = [Input::new(&[3, 5], -2.0, 2.0, 42)];
    check_gradients("softmax dim 1", &x, 1e-2, 1e-2, |t| t[0].softmax(1));
    check_gradients("softmax dim 0", &x, 1e-2, 1e-2, |t| t[0].softmax(0));
    check_gradients("log_softmax", &x, 1e-2, 1e-2, |t| t[0].log_softmax(-1));
    check_gradients("log_softmax of transposed", &x, 1e-2, 1e-2, |t| {
        t[0].t().log_softmax(1)
    });
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    let opts = Conv2dOptions {
        stride: (2, 1),
        padding: (1, 2),
        dilation: (1, 2),
        groups: 1,
    };
    let ins = [
        Input::new(&[2, 2, 5, 6], -1.0, 1.0, 43),
        Input::new(&[3, 2, 3, 2], -1.0, 1.0, 44),
        Input::new(&[3], -1.0, 1.0, 45),
    ];
    check_gradients("conv2d", &ins, 1e-2, 2e-2, |t| {
        t[0].conv2d(&t[1], Some(&t[2]), opts)
    });
    let grouped = Conv2dOptions {
        groups: 2,
        ..Conv2dOptions::default()
    };
    let ins = [
        Input::new(&[1, 4, 4, 4], -1.0, 1.0, 46),
        Input::new(&[2, 2, 3, 3], -1.0, 1.0, 47),
    ];
    check_gradients("conv2d groups 2", &ins, 1e-2, 2e-2, |t| {
        t[0].conv2d(&t[1], None, grouped)
    });
    // A batch of 8 or more narrow images with 4 input channels: the input
    // and weight gradients by whole rows (`conv_whole_rows.wgsl`).
    let strided = Conv2dOptions {
        stride: (1, 2),
        padding: (2, 1),
        ..Conv2dOptions::default()
    };
    let ins = [
        Input::new(&[9, 4, 3, 5], -1.0, 1.0, 48),
        Input::new(&[3, 4, 3, 2], -1.0, 1.0, 49),
    ];
    check_gradients("conv2d batch 9", &ins, 1e-2, 2e-2, |t| {
        t[0].conv2d(&t[1], None, strided)
    });
    // One input channel and 10 output channels: the weight gradient of a
    // first layer (`conv_weight_taps.wgsl`), two channels per lane.
    let first = Conv2dOptions {
        stride: (2, 2),
        padding: (1, 1),
        ..Conv2dOptions::default()
    };
    let ins = [
        Input::new(&[2, 1, 6, 7], -1.0, 1.0, 90),
        Input::new(&[10, 1, 3, 3], -1.0, 1.0, 91),
        Input::new(&[10], -1.0, 1.0, 92),
    ];
    check_gradients("conv2d first layer", &ins, 1e-2, 2e-2, |t| {
        t[0].conv2d(&t[1], Some(&t[2]), first)
    });
    // Under a ReLU, with an input that needs no gradient (the images), its
    // weight and bias gradients take ReLU's backward in the same pass. A
    // small step, so that no pre-activation crosses 0.
    let x = Tensor::from_slice(&ins[0].data, &ins[0].shape);
    check_gradients("conv2d_relu first layer", &ins[1..], 1e-3, 2e-2, |t| {
        x.conv2d_relu(&t[0], Some(&t[1]), first)
    });
    check_gradients(
        "conv2d_relu first layer without bias",
        &ins[1..2],
        1e-3,
        2e-2,
        |t| x.conv2d_relu(&t[0], None, first),
    );
}

#[test]
fn fused_conv2d_relu_matches_conv2d_then_relu() {
    let opts = Conv2dOptions {
        stride: (2, 2),
        padding: (1, 1),
        ..Conv2dOptions::default()
    };
    let leaf = |shape: &[usize], seed| {
        let n = shape.iter().product();
        Tensor::from_slice(&values(n, -1.0, 1.0, seed), shape).with_grad()
    };
    let (x, w, b) = (
        leaf(&[2, 3, 7, 6], 50),
        leaf(&[4, 3, 3, 3], 51),
        leaf(&[4], 52),
    );
    let fused = x.conv2d_relu(&w, Some(&b), opts);
    let f = fused.grad_fn().unwrap();
    assert_eq!(f.name(), "ReluBackward0");
    let conv = f.next_functions()[0].clone().unwrap();
    assert_eq!(conv.name(), "ConvolutionBackward0");
    assert_eq!(conv.next_functions().len(), 3);

    let g = Tensor::from_slice(&values(fused.numel(), -1.0, 1.0, 53), fused.shape());
    let grads = |y: &Tensor| {
        for t in [&x, &w, &b] {
            t.zero_grad();
        }
        (y * &g).sum().backward().unwrap();
        [&x, &w, &b].map(|t| t.grad().unwrap().to_vec::<f32>().unwrap())
    };
    let got = grads(&fused);
    let plain = x.conv2d(&w, Some(&b), opts).relu();
    let want = grads(&plain);
    let (yf, yp) = (
        fused.to_vec::<f32>().unwrap(),
        plain.to_vec::<f32>().unwrap(),
    );
    assert!(yp.contains(&0.0) && yp.iter().any(|&v| v > 0.0));
    for (what, a, b) in [
        ("y", &yf, &yp),
        ("dx", &got[0], &want[0]),
        ("dw", &got[1], &want[1]),
        ("db", &got[2], &want[2]),
    ] {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (p, q)) in a.iter().zip(b.iter()).enumerate() {
            assert!(
                (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                "{what}[{i}]: {p} vs {q}"
            );
        }
    }

    let ins = [
        Input::new(&[2, 2, 5, 6], -1.0, 1.0, 54),
        Input::new(&[3, 2, 3, 3], -1.0, 1.0, 55),
        Input::new(&[3], -1.0, 1.0, 56),
    ];
    // A small step, so that no pre-activation crosses 0 (the kink).
    check_gradients("conv2d_relu", &ins, 1e-3, 2e-2, |t| {
        t[0].conv2d_relu(&t[1], Some(&t[2]), opts)
    });
    check_gradients("conv2d_relu without bias", &ins[..2], 1e-3, 2e-2, |t| {
        t[0].conv2d_relu(&t[1], None, opts)
    });
}

#[test]
fn pooling_gradients_match_finite_differences() {
    let x = [Input::distinct(&[2, 2, 5, 7], 48)];
    let max = MaxPool2dOptions {
        stride: Some((2, 2)),
        padding: (1, 1),
        ..MaxPool2dOptions::new((3, 3))
    };
    check_gradients("max_pool2d", &x, 1e-3, 1e-2, |t| t[0].max_pool2d(max));
    check_gradients("max_pool2d 2x2", &x, 1e-3, 1e-2, |t| {
        t[0].max_pool2d(MaxPool2dOptions::new((2, 2)))
    });
    let avg = AvgPool2dOptions {
        stride: Some((1, 2)),
        padding: (1, 0),
        ..AvgPool2dOptions::new((2, 3))
    };
    check_gradients("avg_pool2d", &x, 1e-2, 1e-2, |t| t[0].avg_pool2d(avg));
}

#[test]
fn joining_and_indexing_gradients_match_finite_differences() {
    let ins = [
        Input::new(&[2, 3], -1.0, 1.0, 49),
        Input::new(&[4, 3], -1.0, 1.0, 50),
    ];
    check_gradients("cat dim 0", &ins, 1e-2, 1e-2, |t| {
        Tensor::cat(&[&t[0], &t[1]], 0)
    });
    let ins = [
        Input::new(&[2, 3], -1.0, 1.0, 51),
        Input::new(&[2, 3], -1.0, 1.0, 52),
    ];
    check_gradients("stack dim 1", &ins, 1e-2, 1e-2, |t| {
        Tensor::stack(&[&t[0], &t[1]], 1)
    });
    check_gradients("cat dim -1", &ins, 1e-2, 1e-2, |t| {
        Tensor::cat(&[&t[0], &t[1]], -1)
    });
    let x = [Input::new(&[4, 3], -1.0, 1.0, 53)];
    let idx = Tensor::from_slice(&[2i32, 0, 2, 3], &[4]);
    check_gradients("index_select with repeats", &x, 1e-2, 1e-2, |t| {
        t[0].index_select(0, &idx)
    });
    let gidx = Tensor::from_slice(&[0i32, 2, 1, 1, 0, 0, 2, 2], &[4, 2]);
    check_gradients("gather dim 1", &x, 1e-2, 1e-2, |t| t[0].gather(1, &gidx));
    let target = Tensor::from_slice(&[1i32, 0, 2, 2], &[4]);
    check_gradients("x[range(n), target]", &x, 1e-2, 1e-2, |t| {
        t[0].take_along_rows(&target)
    });
    let cond = Tensor::from_slice(&[1.0f32, 0.0, 1.0], &[3]);
    let ins = [
        Input::new(&[4, 3], -1.0, 1.0, 54),
        Input::new(&[1, 3], -1.0, 1.0, 55),
    ];
    check_gradients("where", &ins, 1e-2, 1e-2, |t| {
        Tensor::where_cond(&cond, &t[0], &t[1])
    });
    check_gradients("masked_fill", &ins[..1], 1e-2, 1e-2, |t| {
        t[0].masked_fill(&cond, 5.0)
    });
}

#[test]
fn loss_gradients_match_finite_differences() {
    let ins = [
        Input::new(&[4, 3], -1.0, 1.0, 56),
        Input::new(&[4, 3], -1.0, 1.0, 57),
    ];
    for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        check_gradients(&format!("mse_loss {r:?}"), &ins, 1e-2, 1e-2, |t| {
            t[0].try_mse_loss(&t[1], r).unwrap()
        });
    }
    let target = Tensor::from_slice(&[1i32, 0, 2, 1], &[4]);
    let x = [Input::new(&[4, 3], -2.0, 2.0, 58)];
    for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        check_gradients(&format!("cross_entropy {r:?}"), &x, 1e-2, 1e-2, |t| {
            t[0].try_cross_entropy(&target, r, None).unwrap()
        });
        check_gradients(&format!("nll_loss {r:?}"), &x, 1e-2, 1e-2, |t| {
            t[0].try_nll_loss(&target, r, None).unwrap()
        });
    }
    check_gradients("cross_entropy ignore_index", &x, 1e-2, 1e-2, |t| {
        t[0].try_cross_entropy(&target, Reduction::Mean, Some(1))
            .unwrap()
    });
}

#[test]
fn cross_entropy_matches_the_cpu_formula() {
    let n = 5;
    let c = 4;
    let data = values(n * c, -3.0, 3.0, 59);
    let labels = [3i32, 0, 1, 1, 2];
    let x = Tensor::from_slice(&data, &[n, c]);
    let t = Tensor::from_slice(&labels, &[n]);
    let got = x.cross_entropy(&t).item().unwrap();
    let want: f64 = (0..n)
        .map(|i| {
            let row = &data[i * c..(i + 1) * c];
            let m = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
            lse - row[labels[i] as usize] as f64
        })
        .sum::<f64>()
        / n as f64;
    assert!((got as f64 - want).abs() < 1e-5, "got {got}, want {want}");
    let loss = x.with_grad_clone().cross_entropy(&t);
    assert_eq!(loss.grad_fn().unwrap().name(), "NllLossBackward0");
    // Fused: log_softmax has no node of its own (PyTorch shows a
    // LogSoftmaxBackward0 here).
    assert_eq!(
        loss.grad_fn().unwrap().next_functions()[0]
            .clone()
            .unwrap()
            .name(),
        "AccumulateGrad"
    );
    let e = x
        .try_mse_loss(&Tensor::zeros(&[5]), Reduction::Mean)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mse_loss") && e.contains("[5, 4]") && e.contains("[5]"),
        "{e}"
    );
}

trait WithGradClone {
    fn with_grad_clone(&self) -> Tensor;
}

impl WithGradClone for Tensor {
    fn with_grad_clone(&self) -> Tensor {
        self.detach().data().detached_copy().into_grad()
    }
}

trait IntoGrad {
    fn into_grad(self) -> Tensor;
}

impl IntoGrad for wgrad_tensor::Tensor {
    fn into_grad(self) -> Tensor {
        Tensor::from_raw(self).with_grad()
    }
}
