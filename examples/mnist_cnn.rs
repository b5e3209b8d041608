//! "What is torch.nn really?", the CNN part: `Mnist_CNN` (three 3x3
//! stride-2 convolutions with ReLU, then avg_pool2d(4)) trained with
//! SGD(lr=0.1, momentum=0.9), then the same model as a `Sequential` with
//! `Lambda` layers. Prints the validation loss per epoch.
//!
//! `cargo run --release --example mnist_cnn [-- --data mnist.pkl.gz --epochs 2 --batch-size 64 --lr 0.1]`

mod common;

use std::process::ExitCode;

use common::{Args, Defaults};
use wgrad::Tensor;
use wgrad::nn::functional as F;
use wgrad::nn::{AvgPool2d, Conv2d, Forward, Lambda, Module, ReLU, Sequential};
use wgrad::ops::AvgPool2dOptions;
use wgrad::optim::SGD;

/// The tutorial's `Mnist_CNN`.
#[derive(Module)]
struct MnistCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
}

fn conv(c_in: usize, c_out: usize) -> Conv2d {
    Conv2d::builder(c_in, c_out, 3).stride(2).padding(1).build()
}

impl MnistCnn {
    fn new() -> MnistCnn {
        MnistCnn {
            conv1: conv(1, 16),
            conv2: conv(16, 16),
            conv3: conv(16, 10),
        }
    }
}

impl Forward for MnistCnn {
    fn forward(&self, xb: &Tensor) -> Tensor {
        let xb = xb.view(&[-1, 1, 28, 28]);
        let xb = F::relu(&self.conv1.forward(&xb)); // [n, 16, 14, 14]
        let xb = F::relu(&self.conv2.forward(&xb)); // [n, 16, 7, 7]
        let xb = F::relu(&self.conv3.forward(&xb)); // [n, 10, 4, 4]
        let xb = xb.avg_pool2d(AvgPool2dOptions::new((4, 4))); // [n, 10, 1, 1]
        xb.view(&[-1, xb.size(1) as isize]) // [n, 10]
    }
}

/// `def preprocess(x): return x.view(-1, 1, 28, 28)`
fn preprocess(x: &Tensor) -> Tensor {
    x.view(&[-1, 1, 28, 28])
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(Defaults {
        epochs: 2,
        batch_size: 64,
        lr: 0.1,
    })?;
    let (train, valid) = common::train_valid(&args)?;
    wgrad::manual_seed(args.seed);
    let (train_dl, valid_dl) = common::get_data(
        common::dataset(&train)?,
        common::dataset(&valid)?,
        args.batch_size,
        args.seed,
    );

    println!("Mnist_CNN:");
    let model = MnistCnn::new();
    let mut opt = SGD::new(model.parameters(), args.lr).momentum(0.9);
    common::fit(args.epochs, &model, &mut opt, &train_dl, &valid_dl, &args)?;

    println!("nn.Sequential:");
    let mut model = Sequential::new();
    model
        .push(Lambda::new(preprocess))
        .push(conv(1, 16))
        .push(ReLU::new())
        .push(conv(16, 16))
        .push(ReLU::new())
        .push(conv(16, 10))
        .push(ReLU::new())
        .push(AvgPool2d::new(4))
        .push(Lambda::new(|x: &Tensor| x.view(&[x.size(0) as isize, -1])));
    println!("{model}");
    let mut opt = SGD::new(model.parameters(), args.lr).momentum(0.9);
    let (train_losses, valid_losses) =
        common::fit(args.epochs, &model, &mut opt, &train_dl, &valid_dl, &args)?;
    if let Some(path) = &args.plot {
        common::plot_losses(
            path,
            "Sequential CNN on MNIST",
            &train_losses,
            &valid_losses,
        )?;
        println!("loss plot written to {}", path.display());
    }
    println!(
        "result: valid_loss={:.4}",
        valid_losses.last().copied().unwrap_or(f32::NAN)
    );
    Ok(())
}

fn main() -> ExitCode {
    common::main_with(run)
}
