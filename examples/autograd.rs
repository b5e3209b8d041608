//! The autograd part of the PyTorch tutorial "Tensors, autograd, neural
//! networks": Q = 3a³ - b², its gradients, the external-gradient form, and
//! the grad_fn chain of a small network, written out as a Graphviz file.
//!
//! `cargo run --release --example autograd [-- --dot FILE]`

use std::process::ExitCode;

use wgrad::Tensor;
use wgrad::ops::{Conv2dOptions, MaxPool2dOptions};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dot_path = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => "autograd_graph.dot".to_string(),
        [flag, path] if flag == "--dot" => path.clone(),
        other => {
            return Err(
                format!("unknown arguments {other:?}; usage: autograd [--dot FILE]").into(),
            );
        }
    };
    wgrad::runtime()?;

    // a = torch.tensor([2., 3.], requires_grad=True)
    let a = Tensor::from_slice(&[2.0f32, 3.0], &[2]).with_grad();
    let b = Tensor::from_slice(&[6.0f32, 4.0], &[2]).with_grad();
    // Q = 3*a**3 - b**2; dQ/da = 9a², dQ/db = -2b
    let q = &(a.pow_scalar(3.0) * 3.0) - &b.pow_scalar(2.0);
    q.sum().backward_retain_graph()?;
    println!("a.grad = {}", a.grad().ok_or("a has no gradient")?);
    println!("b.grad = {}", b.grad().ok_or("b has no gradient")?);

    // Q.backward(gradient=external_grad), after zeroing the gradients.
    a.zero_grad();
    b.zero_grad();
    let external_grad = Tensor::from_slice(&[1.0f32, 1.0], &[2]);
    q.backward_with(&external_grad)?;
    println!("with external_grad:");
    println!("a.grad = {}", a.grad().ok_or("a has no gradient")?);
    println!("b.grad = {}", b.grad().ok_or("b has no gradient")?);

    // A small convolutional network and its grad_fn chain.
    wgrad::manual_seed(0);
    let param = |shape: &[usize]| (Tensor::randn(shape) * 0.1).detach().with_grad();
    let (conv_w, conv_b) = (param(&[6, 1, 5, 5]), param(&[6]));
    let (fc1_w, fc1_b) = (param(&[32, 6 * 14 * 14]), param(&[32]));
    let (fc2_w, fc2_b) = (param(&[10, 32]), param(&[10]));
    let input = Tensor::randn(&[1, 1, 32, 32]);
    let x = input
        .conv2d(&conv_w, Some(&conv_b), Conv2dOptions::default())
        .relu();
    let x = x.max_pool2d(MaxPool2dOptions::new((2, 2))).flatten(1, -1);
    let x = x.linear(&fc1_w, Some(&fc1_b)).relu();
    let output = x.linear(&fc2_w, Some(&fc2_b));
    let target = Tensor::randn(&[1, 10]);
    let loss = output.mse_loss(&target);
    println!("loss = {loss}");
    let mut f = loss.grad_fn();
    let mut path = String::from("loss.grad_fn");
    // Follow PyTorch's walk: next_functions[0] after the loss, then [1] (the input of addmm) ...
    for step in 0.. {
        let Some(node) = f else { break };
        println!("{path:<60} {node}");
        let next = node.next_functions();
        let i = if step == 0 || node.name() != "AddmmBackward0" {
            0
        } else {
            1
        };
        path.push_str(&format!(".next_functions[{i}][0]"));
        f = next.get(i).cloned().flatten();
    }
    std::fs::write(&dot_path, wgrad::to_dot(&loss))?;
    println!("graph written to {dot_path} (render with `dot -Tpng {dot_path} -o graph.png`)");
    loss.backward()?;
    println!(
        "conv bias gradient: {}",
        conv_b.grad().ok_or("no gradient")?
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
