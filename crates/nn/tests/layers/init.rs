//! `nn::init` and the layers' default initialisation: bounds and statistics.

use wgrad_autograd::Tensor;
use wgrad_nn::init::{self, FanMode, Nonlinearity};
use wgrad_nn::{Conv2d, Linear};

use crate::common::host;

/// Mean and standard deviation.
fn stats(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Every value in [-bound, bound], the extremes near the bound, and the
/// standard deviation of U(-bound, bound), which is bound/√3.
#[track_caller]
fn assert_uniform(what: &str, v: &[f32], bound: f32) {
    let lo = v.iter().cloned().fold(f32::INFINITY, f32::min);
    let hi = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    assert!(
        lo >= -bound && hi <= bound,
        "{what}: range [{lo}, {hi}] outside ±{bound}"
    );
    assert!(
        lo < -0.98 * bound && hi > 0.98 * bound,
        "{what}: range [{lo}, {hi}] does not reach ±{bound}"
    );
    let (mean, std) = stats(v);
    let want = bound as f64 / 3f64.sqrt();
    assert!(mean.abs() < 0.02 * bound as f64, "{what}: mean {mean}");
    assert!(
        (std - want).abs() < 0.02 * want,
        "{what}: std {std}, want {want}"
    );
}

#[track_caller]
fn assert_normal(what: &str, v: &[f32], std_want: f64) {
    let (mean, std) = stats(v);
    assert!(mean.abs() < 0.02 * std_want, "{what}: mean {mean}");
    assert!(
        (std - std_want).abs() < 0.02 * std_want,
        "{what}: std {std}, want {std_want}"
    );
}

#[test]
fn linear_weights_and_biases_are_uniform_within_one_over_root_fan_in() {
    // kaiming_uniform_(a = √5): gain = √(2 / (1 + 5)), bound = gain · √(3 / fan_in) = 1/√fan_in.
    let lin = Linear::new(400, 300);
    let bound = 1.0 / 400f32.sqrt();
    assert_uniform("Linear.weight", &host(&lin.weight), bound);
    let b = host(lin.bias.as_ref().unwrap());
    assert!(
        b.iter().all(|v| v.abs() <= bound),
        "Linear.bias outside ±{bound}"
    );
    assert!(lin.weight.requires_grad() && lin.weight.is_leaf());
}

#[test]
fn conv2d_fan_in_counts_channels_per_group_times_the_kernel_area() {
    let conv = Conv2d::builder(8, 64, 5).groups(2).build();
    let fan_in = (8 / 2 * 5 * 5) as f32;
    assert_uniform("Conv2d.weight", &host(&conv.weight), 1.0 / fan_in.sqrt());
    let b = host(conv.bias.as_ref().unwrap());
    assert!(b.iter().all(|v| v.abs() <= 1.0 / fan_in.sqrt()));
}

#[test]
fn fans_follow_pytorch_for_matrices_and_convolution_kernels() {
    assert_eq!(init::calculate_fan_in_and_fan_out(&[120, 400]), (400, 120));
    assert_eq!(init::calculate_fan_in_and_fan_out(&[6, 1, 5, 5]), (25, 150));
    let err = std::panic::catch_unwind(|| init::calculate_fan_in_and_fan_out(&[5])).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("fewer than 2 dimensions") && msg.contains("[5]"),
        "{msg}"
    );
}

#[test]
fn calculate_gain_gives_pytorchs_recommended_gains() {
    use Nonlinearity::*;
    assert_eq!(init::calculate_gain(Linear, None), 1.0);
    assert_eq!(init::calculate_gain(Conv, None), 1.0);
    assert_eq!(init::calculate_gain(Sigmoid, None), 1.0);
    assert!((init::calculate_gain(Tanh, None) - 5.0 / 3.0).abs() < 1e-7);
    assert!((init::calculate_gain(Relu, None) - 2f32.sqrt()).abs() < 1e-7);
    assert!((init::calculate_gain(LeakyRelu, None) - (2.0 / 1.0001f32).sqrt()).abs() < 1e-6);
    assert!(
        (init::calculate_gain(LeakyRelu, Some(5f32.sqrt())) - (1.0f32 / 3.0).sqrt()).abs() < 1e-6
    );
    assert_eq!(init::calculate_gain(Selu, None), 0.75);
}

#[test]
fn kaiming_uniform_bound_is_gain_times_root_three_over_fan() {
    let t = Tensor::zeros(&[256, 128, 3, 3]); // fan_in 1152, fan_out 2304
    init::kaiming_uniform_(&t, 0.0, FanMode::FanIn, Nonlinearity::Relu);
    assert_uniform(
        "kaiming_uniform_ fan_in relu",
        &host(&t),
        (6.0f32 / 1152.0).sqrt(),
    );
    init::kaiming_uniform_(&t, 0.0, FanMode::FanOut, Nonlinearity::Relu);
    assert_uniform(
        "kaiming_uniform_ fan_out relu",
        &host(&t),
        (6.0f32 / 2304.0).sqrt(),
    );
}

#[test]
fn kaiming_normal_std_is_gain_over_root_fan() {
    let t = Tensor::zeros(&[300, 500]);
    init::kaiming_normal_(&t, 0.0, FanMode::FanIn, Nonlinearity::Relu);
    assert_normal("kaiming_normal_", &host(&t), (2.0f64 / 500.0).sqrt());
}

#[test]
fn xavier_uses_the_sum_of_both_fans() {
    let t = Tensor::zeros(&[300, 500]);
    init::xavier_uniform_(&t, 1.0);
    assert_uniform("xavier_uniform_", &host(&t), (6.0f32 / 800.0).sqrt());
    init::xavier_normal_(&t, 2.0);
    assert_normal(
        "xavier_normal_ gain 2",
        &host(&t),
        2.0 * (2.0f64 / 800.0).sqrt(),
    );
}

#[test]
fn uniform_normal_and_constants_fill_in_place() {
    let t = Tensor::zeros(&[100_000]);
    init::uniform_(&t, 2.0, 4.0);
    let v = host(&t);
    assert!(v.iter().all(|&x| (2.0..4.0).contains(&x)));
    assert!((stats(&v).0 - 3.0).abs() < 0.01);
    init::normal_(&t, -1.0, 0.5);
    let (mean, std) = stats(&host(&t));
    assert!(
        (mean + 1.0).abs() < 0.01 && (std - 0.5).abs() < 0.01,
        "N(-1, 0.25): {mean}, {std}"
    );
    init::constant_(&t, 0.25);
    assert!(host(&t).iter().all(|&x| x == 0.25));
    init::ones_(&t);
    assert!(host(&t).iter().all(|&x| x == 1.0));
    init::zeros_(&t);
    assert!(host(&t).iter().all(|&x| x == 0.0));
}

#[test]
fn init_may_fill_a_parameter_that_requires_grad() {
    let lin = Linear::new(3, 2);
    init::constant_(&lin.weight, 0.5);
    init::normal_(lin.bias.as_ref().unwrap(), 7.0, 0.0);
    assert!(host(&lin.weight).iter().all(|&x| x == 0.5));
    assert!(host(lin.bias.as_ref().unwrap()).iter().all(|&x| x == 7.0));
    assert!(lin.weight.requires_grad() && lin.weight.is_leaf());
}
