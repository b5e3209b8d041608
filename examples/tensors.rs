//! The tensor part of the PyTorch tutorial "Tensors, autograd, neural
//! networks": creation, attributes, indexing, concatenation, products,
//! in-place addition and the numpy bridge, printed as PyTorch prints them.
//!
//! `cargo run --release --example tensors [-- --seed N]`
//!
//! The random tensors come from wgrad's generator (`manual_seed`), not
//! PyTorch's, so their values differ from the tutorial's; every other
//! printed tensor is the tutorial's.

mod common;

use std::process::ExitCode;

use wgrad::Tensor;

/// A host vector as numpy prints a float array: `[1. 1. 1.]`.
fn numpy_repr(values: &[f32]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| {
            if v.fract() == 0.0 {
                format!("{v}.")
            } else {
                format!("{v}")
            }
        })
        .collect();
    format!("[{}]", items.join(" "))
}

/// 1.1 Creating tensors: from data, from a host vector, `*_like`, by shape.
fn creation() {
    // data = [[1, 2], [3, 4]]; x_data = torch.tensor(data)
    let x_data = Tensor::from_slice(&[1i32, 2, 3, 4], &[2, 2]);
    println!("{x_data}");
    // x_np = torch.from_numpy(np_array): a host Vec takes numpy's place.
    let np_array: Vec<i32> = vec![1, 2, 3, 4];
    let x_np = Tensor::from_vec(np_array).view(&[2, 2]);
    println!("{x_np}");

    // NOTE: wgrad's `*_like` make f32 tensors (PyTorch keeps the dtype);
    // `.int()` gives the tutorial's integer ones and zeros.
    let x_ones = x_data.ones_like().int();
    let x_zeros = x_data.zeros_like().int();
    println!("{x_ones}");
    println!("{x_zeros}");
    println!();
    // torch.rand_like(x_data, dtype=torch.float)
    let x_rand = x_data.rand_like();
    println!("{x_rand}");

    let shape = [2, 3];
    let rand_tensor = Tensor::rand(&shape);
    let ones_tensor = Tensor::ones(&shape);
    let zeros_tensor = Tensor::zeros(&shape);
    println!("Random Tensor: \n {rand_tensor} \n");
    println!("Ones Tensor: \n {ones_tensor} \n");
    println!("Zeros Tensor: \n {zeros_tensor}");
}

/// 1.2 Attributes: shape, dtype and the device the data lives on.
fn attributes(device: &str) {
    let tensor = Tensor::rand(&[3, 4]);
    println!("shape: {}", common::torch_size(tensor.shape()));
    println!("data type: {}", tensor.dtype().torch_name());
    // Every wgrad tensor lives on the one device of the process.
    println!("device: {device}");
}

/// 1.3 Operations: indexing, slice assignment, cat, products, addition.
fn operations() {
    let tensor = Tensor::ones(&[4, 4]);
    println!("{tensor}");
    println!("First row: {}", tensor.select(0, 0)); // tensor[0]
    println!("First column: {}", tensor.select(1, 0)); // tensor[:, 0]
    println!("Last column: {}", tensor.select(-1, -1)); // tensor[..., -1]
    // tensor[:, 1] = 0: a view of column 1, filled in place.
    tensor.select(1, 1).fill_(0.0);
    println!("{tensor}");

    // torch.cat([tensor, tensor, tensor], dim=1), then dim=0
    let t1 = Tensor::cat(&[&tensor, &tensor, &tensor], 1);
    println!("{t1}");
    let t2 = Tensor::cat(&[&tensor, &tensor, &tensor], 0);
    println!("{t2}");

    // Element-wise product: tensor.mul(tensor), tensor * tensor
    println!("{}", tensor.mul(&tensor));
    println!("{}", &tensor * &tensor);

    // Matrix product: tensor.matmul(tensor), tensor @ tensor, tensor @ tensor.T
    println!("{}", tensor.matmul(&tensor));
    println!("{}", tensor.matmul(&tensor));
    println!("{}", tensor.matmul(&tensor.t()));

    // t_add = tensor + 5; tensor.add(5); then in place t_add.add_(5)
    let t_add = &tensor + 5.0;
    println!("{t_add}");
    println!("{}", tensor.add_scalar(5.0));
    t_add.add_(&Tensor::scalar(5.0));
    println!("{t_add}");
    println!("{t_add}");
}

/// 1.4 The numpy bridge: `to_vec` and `from_vec`.
fn numpy_bridge() -> Result<(), wgrad::TensorError> {
    let t = Tensor::ones(&[5]);
    println!("{t}");
    let mut t_np: Vec<f32> = t.to_vec()?;
    println!("{}", numpy_repr(&t_np));
    // NOTE: PyTorch's t.numpy() shares memory with a CPU tensor; a wgrad
    // tensor lives on the GPU, so to_vec() is a copy and is read again to
    // see the in-place add.
    t.add_(&Tensor::scalar(5.0));
    t_np = t.to_vec()?;
    println!("{}", numpy_repr(&t_np));
    // np.add(t_np, 1, out=t_np); the host change goes back with from_vec.
    t_np.iter_mut().for_each(|v| *v += 1.0);
    let t = Tensor::from_vec(t_np);
    println!("{t}");
    Ok(())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let seed = common::parse_seed("tensors")?;
    let rt = wgrad::runtime()?;
    wgrad::manual_seed(seed);
    creation();
    attributes(&rt.adapter().name);
    operations();
    numpy_bridge()?;
    Ok(())
}

fn main() -> ExitCode {
    common::main_with(run)
}
