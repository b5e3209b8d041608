//! Prints the adapter wgrad chose and runs a matmul on it.
//!
//! `cargo run --release --example device`

use std::process::ExitCode;

use wgrad::{Tensor, runtime};

fn run() -> wgrad::Result<()> {
    let rt = runtime()?;
    println!("adapter: {}", rt.adapter());
    let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = Tensor::arange(0.0, 6.0, 1.0).reshape(&[3, 2]);
    println!("a =\n{a}");
    println!("b =\n{b}");
    println!("a @ b =\n{}", a.matmul(&b));
    let n = 512;
    let x = Tensor::rand(&[n, n]);
    let y = x.matmul(&x).sum();
    println!("sum of a random {n}x{n} matrix squared: {:.3}", y.item()?);
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
