//! `torch.nn.init`: fill a tensor in place from the seedable generator
//! (`wgrad_tensor::manual_seed`), with PyTorch's formulas for fans and gains.
//!
//! The values are drawn on the host and uploaded (wgrad's generator is a
//! host stream, so a seed gives the same weights on every backend). They
//! are not PyTorch's values for the same seed: the distributions and bounds
//! are the same, the generator is not.
//!
//! Every function runs under `no_grad`, so it may fill a parameter.

use wgrad_autograd::{Tensor, no_grad};
use wgrad_tensor::random::{normal_vec, uniform_vec};

/// The nonlinearities `calculate_gain` knows, by PyTorch's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `linear`: gain 1.
    Linear,
    /// `conv1d`, `conv2d`, `conv3d` and the transposed ones: gain 1.
    Conv,
    /// `sigmoid`: gain 1.
    Sigmoid,
    /// `tanh`: gain 5/3.
    Tanh,
    /// `relu`: gain √2.
    Relu,
    /// `leaky_relu` with the negative slope given as `param` (default
    /// 0.01): gain √(2 / (1 + slope²)). Kaiming's default.
    LeakyRelu,
    /// `selu`: gain 3/4.
    Selu,
}

/// `nn.init.calculate_gain(nonlinearity, param)`: the recommended scale of
/// the weights' standard deviation after `nonlinearity`. `param` is the
/// negative slope of `LeakyRelu` and ignored otherwise.
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f32>) -> f32 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f32.sqrt(),
        Nonlinearity::LeakyRelu => {
            let slope = f64::from(param.unwrap_or(0.01));
            (2.0 / (1.0 + slope * slope)).sqrt() as f32
        }
        Nonlinearity::Selu => 0.75,
    }
}

/// Which fan Kaiming initialisation preserves the variance of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    /// The forward pass's (PyTorch's default).
    #[default]
    FanIn,
    /// The backward pass's.
    FanOut,
}

/// `(fan_in, fan_out)` of a weight shape: `[out, in, *kernel]` gives
/// `in · Πkernel` and `out · Πkernel`.
///
/// # Panics
/// For fewer than 2 dimensions, as PyTorch raises.
pub fn calculate_fan_in_and_fan_out(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape {shape:?})"
    );
    let receptive: usize = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

fn fan(shape: &[usize], mode: FanMode) -> usize {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(shape);
    match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    }
}

/// Copies host values of `t`'s shape into `t`.
fn fill_from(t: &Tensor, values: &[f32]) {
    no_grad(|| t.copy_(&Tensor::from_slice(values, t.shape())));
}

/// `nn.init.uniform_(t, a, b)`: U[a, b).
pub fn uniform_(t: &Tensor, a: f32, b: f32) {
    fill_from(t, &uniform_vec(t.numel(), a, b));
}

/// `nn.init.normal_(t, mean, std)`: N(mean, std²).
pub fn normal_(t: &Tensor, mean: f32, std: f32) {
    fill_from(t, &normal_vec(t.numel(), mean, std));
}

/// `nn.init.constant_(t, val)`.
pub fn constant_(t: &Tensor, val: f32) {
    no_grad(|| t.fill_(val));
}

/// `nn.init.zeros_(t)`.
pub fn zeros_(t: &Tensor) {
    constant_(t, 0.0);
}

/// `nn.init.ones_(t)`.
pub fn ones_(t: &Tensor) {
    constant_(t, 1.0);
}

/// `nn.init.xavier_uniform_(t, gain)` (Glorot): U(-a, a) with
/// a = gain · √(6 / (fan_in + fan_out)).
///
/// # Panics
/// For fewer than 2 dimensions.
pub fn xavier_uniform_(t: &Tensor, gain: f32) {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(t.shape());
    let std = f64::from(gain) * (2.0 / (fan_in + fan_out) as f64).sqrt();
    let a = (3f64.sqrt() * std) as f32;
    uniform_(t, -a, a);
}

/// `nn.init.xavier_normal_(t, gain)`: N(0, std²) with
/// std = gain · √(2 / (fan_in + fan_out)).
///
/// # Panics
/// For fewer than 2 dimensions.
pub fn xavier_normal_(t: &Tensor, gain: f32) {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(t.shape());
    let std = f64::from(gain) * (2.0 / (fan_in + fan_out) as f64).sqrt();
    normal_(t, 0.0, std as f32);
}

/// The standard deviation Kaiming initialisation aims for:
/// gain(nonlinearity, a) / √fan; `None` for an empty tensor, which PyTorch
/// leaves untouched.
fn kaiming_std(t: &Tensor, a: f32, mode: FanMode, nonlinearity: Nonlinearity) -> Option<f64> {
    if t.numel() == 0 {
        return None;
    }
    let gain = f64::from(calculate_gain(nonlinearity, Some(a)));
    Some(gain / (fan(t.shape(), mode) as f64).sqrt())
}

/// `nn.init.kaiming_uniform_(t, a, mode, nonlinearity)` (He): U(-bound,
/// bound) with bound = gain · √(3 / fan), gain = `calculate_gain(nonlinearity, a)`.
/// PyTorch's defaults are `a = 0`, `FanIn`, `LeakyRelu`; `Linear` and
/// `Conv2d` use `a = √5`, which makes bound = 1/√fan_in.
///
/// # Panics
/// For fewer than 2 dimensions.
pub fn kaiming_uniform_(t: &Tensor, a: f32, mode: FanMode, nonlinearity: Nonlinearity) {
    if let Some(std) = kaiming_std(t, a, mode, nonlinearity) {
        let bound = (3f64.sqrt() * std) as f32;
        uniform_(t, -bound, bound);
    }
}

/// `nn.init.kaiming_normal_(t, a, mode, nonlinearity)`: N(0, std²) with
/// std = gain / √fan.
///
/// # Panics
/// For fewer than 2 dimensions.
pub fn kaiming_normal_(t: &Tensor, a: f32, mode: FanMode, nonlinearity: Nonlinearity) {
    if let Some(std) = kaiming_std(t, a, mode, nonlinearity) {
        normal_(t, 0.0, std as f32);
    }
}

/// What `Linear` and `Conv2d` do in `reset_parameters`: the weight from
/// `kaiming_uniform_(w, a = √5)` and the bias from U(-1/√fan_in, 1/√fan_in)
/// (0 for an empty fan), in that order from the generator.
pub(crate) fn reset_weight_and_bias(weight: &Tensor, bias: Option<&Tensor>) {
    kaiming_uniform_(weight, 5f32.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu);
    if let Some(bias) = bias {
        let (fan_in, _) = calculate_fan_in_and_fan_out(weight.shape());
        let bound = if fan_in > 0 {
            (1.0 / (fan_in as f64).sqrt()) as f32
        } else {
            0.0
        };
        uniform_(bias, -bound, bound);
    }
}
