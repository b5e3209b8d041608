//! `Conv2d` against a plain-loop convolution, and its constructor checks.

use wgrad_nn::{Conv2d, Forward, Module, NnError, ReLU, Sequential};

use crate::common::{Window, assert_close, conv2d_cpu, host, tensor};

fn check(conv: &Conv2d, xs: [usize; 4], seed: u32) {
    let x = tensor(&xs, seed);
    let y = conv.forward(&x);
    let o = &conv.options;
    let win = Window {
        kernel: conv.kernel_size,
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
    };
    let bias = conv.bias.as_ref().map(|b| host(b));
    let (want, shape) = conv2d_cpu(
        &host(&x),
        xs,
        &host(&conv.weight),
        conv.out_channels,
        bias.as_deref(),
        win,
        o.groups,
    );
    assert_eq!(y.shape(), &shape, "{conv}");
    assert_close(&conv.to_string(), &host(&y), &want, 1e-4);
}

#[test]
fn conv2d_with_defaults_matches_the_cpu_convolution() {
    let conv = Conv2d::new(3, 4, 3);
    assert_eq!(conv.weight.shape(), &[4, 3, 3, 3]);
    check(&conv, [2, 3, 7, 6], 10);
}

#[test]
fn conv2d_with_stride_and_padding_matches_the_cpu_convolution() {
    // The tutorial's Mnist_CNN layer.
    let conv = Conv2d::builder(1, 16, 3).stride(2).padding(1).build();
    check(&conv, [2, 1, 28, 28], 11);
}

#[test]
fn conv2d_with_groups_uses_one_slice_of_channels_per_group() {
    let conv = Conv2d::builder(4, 6, (3, 2))
        .groups(2)
        .padding((1, 0))
        .build();
    assert_eq!(conv.weight.shape(), &[6, 2, 3, 2]);
    check(&conv, [1, 4, 5, 5], 12);
}

#[test]
fn conv2d_with_dilation_and_no_bias_matches_the_cpu_convolution() {
    let conv = Conv2d::builder(2, 3, 3).dilation(2).bias(false).build();
    assert!(conv.bias.is_none());
    assert_eq!(conv.parameters().len(), 1);
    check(&conv, [1, 2, 9, 8], 13);
}

#[test]
fn conv2d_prints_only_the_arguments_that_differ_from_the_defaults() {
    assert_eq!(
        Conv2d::new(1, 6, 5).to_string(),
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))"
    );
    assert_eq!(
        Conv2d::builder(16, 16, 3)
            .stride(2)
            .padding(1)
            .build()
            .to_string(),
        "Conv2d(16, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    );
    assert_eq!(
        Conv2d::builder(4, 8, (3, 1))
            .dilation(2)
            .groups(4)
            .bias(false)
            .build()
            .to_string(),
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(1, 1), dilation=(2, 2), groups=4, bias=False)"
    );
}

#[test]
fn conv2d_rejects_channels_not_divisible_by_groups() {
    let err = Conv2d::builder(3, 6, 3)
        .groups(2)
        .try_build()
        .err()
        .unwrap();
    assert!(matches!(
        err,
        NnError::InvalidConfig {
            module: "Conv2d",
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("in_channels must be divisible by groups"),
        "{msg}"
    );
    let err = Conv2d::builder(4, 5, 3)
        .groups(2)
        .try_build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("out_channels"), "{err}");
    let err = Conv2d::builder(4, 4, 3)
        .stride(0)
        .try_build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("stride=0"), "{err}");
}

#[test]
fn sequential_runs_conv2d_then_relu_fused_with_the_same_values_and_graph() {
    let conv = Conv2d::builder(3, 4, 3).stride(2).padding(1).build();
    let x = tensor(&[2, 3, 7, 6], 12);
    let want: Vec<f32> = host(&conv.forward(&x))
        .into_iter()
        .map(|v| if v > 0.0 { v } else { 0.0 })
        .collect();
    let mut model = Sequential::new();
    model.push(conv).push(ReLU::new());
    let y = model.forward(&x);
    assert!(want.contains(&0.0) && want.iter().any(|&v| v > 0.0));
    assert_close("Conv2d, ReLU", &host(&y), &want, 1e-5);
    let relu = y.grad_fn().expect("the weights need gradients");
    assert_eq!(relu.name(), "ReluBackward0");
    assert_eq!(
        relu.next_functions()[0].clone().unwrap().name(),
        "ConvolutionBackward0"
    );
}
