//! The neural-network part of the PyTorch tutorial "Tensors, autograd,
//! neural networks" (and "nn.Module"): LeNet for 1x32x32 input, its
//! parameters, a forward pass, MSELoss and its grad_fn chain, zero_grad and
//! backward, then a manual update and one `optim.SGD` step.
//!
//! `cargo run --release --example neural_net [-- --seed N]`
//!
//! Weights, input and target come from wgrad's generator (`manual_seed`),
//! so the numbers differ from the tutorial's; the structure is the same.

mod common;

use std::process::ExitCode;

use wgrad::nn::{Conv2d, Forward, Linear, MSELoss, Module, functional as F};
use wgrad::optim::{Optimizer, SGD};
use wgrad::{Tensor, no_grad};

/// The tutorial's `Net`: two conv/relu/max-pool stages, three linear layers.
#[derive(Module)]
struct Net {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl Net {
    fn new() -> Net {
        Net {
            conv1: Conv2d::new(1, 6, 5),       // [1, 1, 32, 32] -> [1, 6, 28, 28]
            conv2: Conv2d::new(6, 16, 5),      // [1, 6, 14, 14] -> [1, 16, 10, 10]
            fc1: Linear::new(16 * 5 * 5, 120), // 5*5 from the image dimension
            fc2: Linear::new(120, 84),
            fc3: Linear::new(84, 10),
        }
    }
}

impl Forward for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        // Max pooling over a (2, 2) window; a square size can be one number.
        let x = F::max_pool2d(&F::relu(&self.conv1.forward(x)), (2, 2)); // [1, 6, 14, 14]
        let x = F::max_pool2d(&F::relu(&self.conv2.forward(&x)), 2); // [1, 16, 5, 5]
        let x = x.flatten(1, -1); // every dimension but the batch: [1, 400]
        let x = F::relu(&self.fc1.forward(&x));
        let x = F::relu(&self.fc2.forward(&x));
        self.fc3.forward(&x)
    }
}

/// Prints the tutorial's eight steps back from the loss: `loss.grad_fn`,
/// then `.next_functions[0][0]` and `.next_functions[1][0]` alternately
/// (input 1 of an `AddmmBackward0` is x; its inputs are bias, x, weight).
fn print_grad_fn_chain(loss: &Tensor) {
    let mut node = loss.grad_fn();
    for step in 0..8 {
        let Some(f) = node else { break };
        println!("{f}");
        node = f.next_functions().get(step % 2).cloned().flatten();
    }
}

/// `print(t.grad)`: the tensor, or `None`.
fn grad_repr(t: &Tensor) -> String {
    t.grad().map_or("None".to_string(), |g| g.to_string())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let seed = common::parse_seed("neural_net")?;
    wgrad::runtime()?;
    wgrad::manual_seed(seed);

    // 3.1 Define the network.
    let net = Net::new();
    println!("{net}");
    let params = net.parameters();
    println!("{}", params.len());
    println!("{}", common::torch_size(params[0].shape())); // conv1's .weight

    let input = Tensor::randn(&[1, 1, 32, 32]); // [batch, channels, height, width]
    let out = net.forward(&input);
    println!("{out}");
    net.zero_grad();
    out.backward_with(&Tensor::randn(&[1, 10]))?;

    // 3.2 Loss function.
    let output = net.forward(&input);
    let target = Tensor::randn(&[10]).view(&[1, -1]); // the same shape as the output
    let criterion = MSELoss::new();
    let loss = criterion.forward(&output, &target);
    println!("{loss}");
    print_grad_fn_chain(&loss);

    // 3.3 Backprop. The tutorial ran PyTorch 1, whose zero_grad() zeroed
    // the gradients in place (it prints zeros); PyTorch 2's zero_grad(),
    // like wgrad's, sets them to None.
    net.zero_grad_with(false);
    let conv1_bias = net.conv1.bias.as_deref().ok_or("conv1 has no bias")?;
    println!("conv1.bias.grad before backward");
    println!("{}", grad_repr(conv1_bias));
    loss.backward()?;
    println!("conv1.bias.grad after backward");
    println!("{}", grad_repr(conv1_bias));

    // 3.4 Update the weights: weight = weight - learning_rate * gradient
    let learning_rate = 0.01;
    no_grad(|| {
        for f in net.parameters() {
            if let Some(g) = f.grad() {
                f.sub_(&(g * learning_rate));
            }
        }
    });

    // The same with torch.optim.
    let mut optimizer = SGD::new(net.parameters(), 0.01);
    optimizer.zero_grad();
    let output = net.forward(&input);
    let loss = criterion.forward(&output, &target);
    println!("loss before the SGD step: {:.4}", loss.item()?);
    loss.backward()?;
    optimizer.step()?;
    let loss_after = no_grad(|| criterion.forward(&net.forward(&input), &target));
    println!("loss after the SGD step:  {:.4}", loss_after.item()?);
    Ok(())
}

fn main() -> ExitCode {
    common::main_with(run)
}
