//! `MaxPool2d`, `AvgPool2d` and their functional forms against plain loops.

use wgrad_nn::{AvgPool2d, Forward, MaxPool2d, functional as F};

use crate::common::{Window, assert_close, host, pool2d_cpu, tensor};

fn window(k: (usize, usize), s: (usize, usize), p: (usize, usize)) -> Window {
    Window {
        kernel: k,
        stride: s,
        padding: p,
        dilation: (1, 1),
    }
}

#[test]
fn max_pool2d_takes_the_largest_value_of_each_window() {
    let xs = [2, 3, 7, 6];
    let x = tensor(&xs, 20);
    let (want, shape) = pool2d_cpu(&host(&x), xs, window((2, 2), (2, 2), (0, 0)), true);
    let y = MaxPool2d::new(2).forward(&x);
    assert_eq!(y.shape(), &shape);
    assert_close("MaxPool2d(2)", &host(&y), &want, 0.0);
    assert_close(
        "F.max_pool2d",
        &host(&F::max_pool2d(&x, (2, 2))),
        &want,
        0.0,
    );
}

#[test]
fn max_pool2d_with_stride_and_padding_matches_the_cpu_pooling() {
    let xs = [1, 2, 8, 9];
    let x = tensor(&xs, 21);
    let pool = MaxPool2d::new(3).stride(2).padding(1);
    let (want, shape) = pool2d_cpu(&host(&x), xs, window((3, 3), (2, 2), (1, 1)), true);
    let y = pool.forward(&x);
    assert_eq!(y.shape(), &shape);
    assert_close("MaxPool2d(3, 2, 1)", &host(&y), &want, 0.0);
}

#[test]
fn avg_pool2d_averages_each_window() {
    // The tutorial's AvgPool2d(4) over a [n, 10, 4, 4] map: one mean per channel.
    let xs = [2, 10, 4, 4];
    let x = tensor(&xs, 22);
    let (want, shape) = pool2d_cpu(&host(&x), xs, window((4, 4), (4, 4), (0, 0)), false);
    let y = AvgPool2d::new(4).forward(&x);
    assert_eq!(y.shape(), &shape);
    assert_close("AvgPool2d(4)", &host(&y), &want, 1e-6);
    assert_close("F.avg_pool2d", &host(&F::avg_pool2d(&x, 4)), &want, 1e-6);
}

#[test]
fn avg_pool2d_with_padding_counts_the_zeros_in_the_divisor() {
    let xs = [1, 1, 5, 5];
    let x = tensor(&xs, 23);
    let (want, _) = pool2d_cpu(&host(&x), xs, window((3, 3), (2, 2), (1, 1)), false);
    let y = AvgPool2d::new(3).stride(2).padding(1).forward(&x);
    assert_close("AvgPool2d(3, 2, 1)", &host(&y), &want, 1e-6);
}

#[test]
fn pools_print_their_sizes_as_they_were_given() {
    assert_eq!(
        MaxPool2d::new(2).to_string(),
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    );
    assert_eq!(
        MaxPool2d::new((2, 2)).stride(1).ceil_mode(true).to_string(),
        "MaxPool2d(kernel_size=(2, 2), stride=1, padding=0, dilation=1, ceil_mode=True)"
    );
    assert_eq!(
        AvgPool2d::new(4).to_string(),
        "AvgPool2d(kernel_size=4, stride=4, padding=0)"
    );
}
