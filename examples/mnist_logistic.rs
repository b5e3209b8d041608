//! "What is torch.nn really?" on `mnist.pkl.gz`: logistic regression from
//! scratch, then refactored step by step with `F::cross_entropy`, a Module
//! with Parameters, `nn::Linear`, `optim::SGD`, `TensorDataset`,
//! `DataLoader`, validation, and the `fit()`/`get_data()` helpers.
//!
//! `cargo run --release --example mnist_logistic [-- --data mnist.pkl.gz --epochs 2 --batch-size 64 --lr 0.5]`

mod common;

use std::process::ExitCode;

use common::{Args, Defaults};
use wgrad::data::{DataLoader, MnistSplit};
use wgrad::nn::functional as F;
use wgrad::nn::{Forward, Linear, Module, Parameter};
use wgrad::optim::{Optimizer, SGD};
use wgrad::{Tensor, no_grad};

type Error = Box<dyn std::error::Error>;

/// `x: [n, 784]` f32 and `y: [n]` i32 on the device.
fn device_tensors(split: &MnistSplit) -> (Tensor, Tensor) {
    let x = Tensor::from_slice(&split.images, &[split.count, 784]);
    let labels: Vec<i32> = split.labels.iter().map(|&l| l as i32).collect();
    (x, Tensor::from_slice(&labels, &[split.count]))
}

/// `def log_softmax(x): return x - x.exp().sum(-1).log().unsqueeze(-1)`
fn log_softmax(x: &Tensor) -> Tensor {
    x - &x.exp().sum_dim(-1, false).log().unsqueeze(-1)
}

/// `def nll(input, target): return -input[range(target.shape[0]), target].mean()`
fn nll(input: &Tensor, target: &Tensor) -> Tensor {
    -input.take_along_rows(target).mean()
}

/// `(torch.argmax(out, dim=1) == yb).float().mean()`
fn accuracy(out: &Tensor, yb: &Tensor) -> Tensor {
    out.argmax(1, false).eq(yb).float().mean()
}

fn show(t: &Tensor) -> Result<f32, Error> {
    Ok(t.item()?)
}

/// The tutorial's `Mnist_Logistic` with its own Parameters.
#[derive(Module)]
struct MnistLogistic {
    weights: Parameter,
    bias: Parameter,
}

impl MnistLogistic {
    fn new() -> MnistLogistic {
        MnistLogistic {
            weights: Parameter::new(Tensor::randn(&[784, 10]) / 784f32.sqrt()),
            bias: Parameter::new(Tensor::zeros(&[10])),
        }
    }
}

impl Forward for MnistLogistic {
    fn forward(&self, xb: &Tensor) -> Tensor {
        &xb.matmul(&self.weights) + &*self.bias
    }
}

/// Batches `[i*bs, i*bs + bs)` of the first `n` rows, as the tutorial loops.
fn batch_starts(n: usize, bs: usize, args: &Args) -> impl Iterator<Item = (usize, usize)> {
    let batches = args.batches((n - 1) / bs + 1);
    (0..batches).map(move |i| (i * bs, (i * bs + bs).min(n) - i * bs))
}

fn run() -> Result<(), Error> {
    let args = Args::parse(Defaults {
        epochs: 2,
        batch_size: 64,
        lr: 0.5,
    })?;
    let (train, valid) = common::train_valid(&args)?;
    wgrad::manual_seed(args.seed);
    let (x_train, y_train) = device_tensors(&train);
    let (x_valid, y_valid) = device_tensors(&valid);
    let n = x_train.size(0);
    let (bs, lr, epochs) = (args.batch_size, args.lr as f32, args.epochs);
    println!("x_train.shape = torch.Size({:?})", x_train.shape());
    println!(
        "y_train.min() = {}, y_train.max() = {}",
        show(&y_train.float().min())?,
        show(&y_train.float().max())?
    );

    // --- Neural net from scratch (no torch.nn) ---
    let weights = (Tensor::randn(&[784, 10]) / 784f32.sqrt())
        .detach()
        .with_grad();
    let bias = Tensor::zeros(&[10]).with_grad();
    let model = |xb: &Tensor| log_softmax(&(&xb.matmul(&weights) + &bias));
    let xb = x_train.narrow(0, 0, bs);
    let yb = y_train.narrow(0, 0, bs);
    let preds = model(&xb);
    println!(
        "preds[0] = {}\npreds.shape = torch.Size({:?})",
        preds.select(0, 0),
        preds.shape()
    );
    println!(
        "loss = {:.4}, accuracy = {:.4}",
        show(&nll(&preds, &yb))?,
        show(&accuracy(&preds, &yb))?
    );
    let mut last = (xb, yb);
    for _ in 0..epochs {
        for (start, len) in batch_starts(n, bs, &args) {
            let (xb, yb) = (x_train.narrow(0, start, len), y_train.narrow(0, start, len));
            let loss = nll(&model(&xb), &yb);
            loss.backward()?;
            no_grad(|| {
                for p in [&weights, &bias] {
                    if let Some(g) = p.grad() {
                        p.sub_(&(&g * lr));
                        p.zero_grad();
                    }
                }
            });
            last = (xb, yb);
        }
    }
    let (xb, yb) = &last;
    println!(
        "from scratch, last batch: loss {:.4}, accuracy {:.4}",
        show(&nll(&model(xb), yb))?,
        show(&accuracy(&model(xb), yb))?
    );

    // --- Using torch.nn.functional: cross_entropy = log_softmax + nll ---
    let model = |xb: &Tensor| &xb.matmul(&weights) + &bias;
    println!(
        "F.cross_entropy: loss {:.4}, accuracy {:.4}",
        show(&F::cross_entropy(&model(xb), yb))?,
        show(&accuracy(&model(xb), yb))?
    );

    // --- Refactor using nn.Module; fit() with manual updates ---
    let fit_manual = |model: &dyn Forward| -> Result<(), Error> {
        for _ in 0..epochs {
            for (start, len) in batch_starts(n, bs, &args) {
                let (xb, yb) = (x_train.narrow(0, start, len), y_train.narrow(0, start, len));
                F::cross_entropy(&model.forward(&xb), &yb).backward()?;
                no_grad(|| {
                    for p in model.parameters() {
                        if let Some(g) = p.grad() {
                            p.sub_(&(&g * lr));
                        }
                    }
                });
                model.zero_grad();
            }
        }
        Ok(())
    };
    let model = MnistLogistic::new();
    println!(
        "nn.Module before fit: loss {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );
    fit_manual(&model)?;
    println!(
        "nn.Module after fit: loss {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );

    // --- Refactor using nn.Linear ---
    let model = Linear::new(784, 10);
    println!(
        "{model}: before fit {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );
    fit_manual(&model)?;
    println!(
        "{model}: after fit {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );

    // --- Refactor using optim ---
    let get_model = || {
        let model = Linear::new(784, 10);
        let opt = SGD::new(model.parameters(), lr as f64);
        (model, opt)
    };
    let (model, mut opt) = get_model();
    println!(
        "optim.SGD before: {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );
    for _ in 0..epochs {
        for (start, len) in batch_starts(n, bs, &args) {
            let (xb, yb) = (x_train.narrow(0, start, len), y_train.narrow(0, start, len));
            F::cross_entropy(&model.forward(&xb), &yb).backward()?;
            opt.step()?;
            opt.zero_grad();
        }
    }
    println!(
        "optim.SGD after: {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );

    // --- Refactor using Dataset: xb, yb = train_ds[i*bs : i*bs+bs] ---
    let train_ds = common::dataset(&train)?;
    let (model, mut opt) = get_model();
    for _ in 0..epochs {
        for (start, len) in batch_starts(n, bs, &args) {
            let (xb, yb) = train_ds.slice(start..start + len);
            F::cross_entropy(&model.forward(&xb), &yb).backward()?;
            opt.step()?;
            opt.zero_grad();
        }
    }
    println!(
        "TensorDataset: {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );

    // --- Refactor using DataLoader ---
    let train_dl = DataLoader::new(train_ds, bs);
    let (model, mut opt) = get_model();
    for _ in 0..epochs {
        for (xb, yb) in train_dl.iter().take(args.batches(train_dl.len())) {
            F::cross_entropy(&model.forward(&xb), &yb).backward()?;
            opt.step()?;
            opt.zero_grad();
        }
    }
    println!(
        "DataLoader: {:.4}",
        show(&F::cross_entropy(&model.forward(xb), yb))?
    );
    drop((x_train, y_train, x_valid, y_valid));

    // --- Add validation; then fit() and get_data() ---
    let (train_dl, valid_dl) = common::get_data(
        common::dataset(&train)?,
        common::dataset(&valid)?,
        bs,
        args.seed,
    );
    let (model, mut opt) = get_model();
    let (train_losses, valid_losses) =
        common::fit(epochs, &model, &mut opt, &train_dl, &valid_dl, &args)?;
    if let Some(path) = &args.plot {
        common::plot_losses(
            path,
            "Logistic regression on MNIST",
            &train_losses,
            &valid_losses,
        )?;
        println!("loss plot written to {}", path.display());
    }
    let last = valid_losses.last().copied().unwrap_or(f32::NAN);
    println!("result: valid_loss={last:.4}");
    Ok(())
}

fn main() -> ExitCode {
    common::main_with(run)
}
