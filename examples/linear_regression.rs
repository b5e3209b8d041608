//! The tutorial "Understanding PyTorch with an example: a step-by-step
//! tutorial": fit y = a + b·x to the points of `linreg.csv` (y = 1 + 2x +
//! noise) by gradient descent, first by hand and then with each piece of
//! PyTorch in turn: autograd, `optim.SGD`, `MSELoss`, a custom module,
//! `nn.Linear`, `Sequential`, a train-step closure, `TensorDataset`,
//! `DataLoader`, `random_split` and evaluation on a validation set.
//!
//! `cargo run --release --example linear_regression [-- --data FILE.csv --epochs 1000
//!  --batch-size 16 --lr 0.1 --seed 0 --plot loss.png --last-case 12]`
//!
//! `--epochs` is the tutorial's `n_epochs` of every case. Where the
//! tutorial draws random starting parameters, the values it printed are
//! used, since numpy's and PyTorch's generators are not wgrad's.

mod common;

#[path = "linear_regression/data.rs"]
mod data;
#[path = "linear_regression/final_code.rs"]
mod final_code;
#[path = "linear_regression/flags.rs"]
mod flags;

use std::error::Error;
use std::process::ExitCode;

use data::Points;
use flags::Flags;
use wgrad::data::{DataLoader, Dataset, HostTensor, TensorDataset};
use wgrad::nn::{Forward, Linear, MSELoss, Module, Parameter, Sequential, StateDict};
use wgrad::optim::{Optimizer, SGD};
use wgrad::{Tensor, no_grad};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// What every case trains with.
struct Setup {
    x_train: Tensor, // [80, 1]
    y_train: Tensor, // [80, 1]
    lr: f32,
    epochs: usize,
    batch_size: usize,
    /// Stop after this case (`--last-case`).
    last_case: usize,
}

/// A case's result on one line, intercept then slope.
fn report(a: f32, b: f32) {
    println!("a = {a:.5}, b = {b:.5}");
}

/// A one-element tensor's value.
fn value(t: &Tensor) -> Result<f32> {
    Ok(t.item()?)
}

/// `print(model.state_dict())`: `OrderedDict([('a', tensor([0.3367])), ...])`.
fn ordered_dict(model: &dyn Module) -> String {
    let items: Vec<String> = model
        .state_dict()
        .iter()
        .map(|(k, t)| format!("('{k}', {t})"))
        .collect();
    format!("OrderedDict([{}])", items.join(", "))
}

/// The tutorial's printed start of an `nn.Linear(1, 1)` after
/// `torch.manual_seed(42)`, as a state dict with keys `{prefix}weight` and
/// `{prefix}bias`.
fn linear_start(prefix: &str, weight: f32, bias: f32) -> StateDict {
    [
        (
            format!("{prefix}weight"),
            Tensor::from_slice(&[weight], &[1, 1]),
        ),
        (format!("{prefix}bias"), Tensor::from_slice(&[bias], &[1])),
    ]
    .into_iter()
    .collect()
}

/// Case 1: the gradients written out, as the tutorial does with numpy.
fn by_hand(s: &Setup) -> Result<()> {
    println!("== Case 1: gradient descent with gradients by hand ==");
    // a = np.random.randn(1); b = np.random.randn(1) after np.random.seed(42):
    // numpy's values, which the tutorial does not print.
    let a = Tensor::from_slice(&[0.496_714_15f32], &[1]);
    let b = Tensor::from_slice(&[-0.138_264_3f32], &[1]);
    for _ in 0..s.epochs {
        let yhat = &a + &(&b * &s.x_train);
        let error = &s.y_train - &yhat;
        // loss = (error ** 2).mean() is not needed for the update.
        let a_grad = error.mean() * -2.0;
        let b_grad = (&s.x_train * &error).mean() * -2.0;
        a.sub_(&(a_grad * s.lr));
        b.sub_(&(b_grad * s.lr));
    }
    println!("{a} {b}");
    report(value(&a)?, value(&b)?);
    Ok(())
}

/// Case 2: the closed-form least-squares fit (the tutorial's sklearn check).
fn least_squares(points: &Points) {
    println!("== Case 2: least squares (sanity check) ==");
    let (x, y): (Vec<f64>, Vec<f64>) = points.train().map(|(x, y)| (x as f64, y as f64)).unzip();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = x.iter().map(|x| (x - mx) * (x - mx)).sum();
    let slope = sxy / sxx;
    report((my - slope * mx) as f32, slope as f32);
}

/// The tutorial's start for a and b on the GPU after `torch.manual_seed(42)`.
fn start_ab() -> (Tensor, Tensor) {
    let a = Tensor::from_slice(&[0.1940f32], &[1]).with_grad();
    let b = Tensor::from_slice(&[0.1391f32], &[1]).with_grad();
    (a, b)
}

/// Case 3, autograd: backward computes the gradients; the update runs
/// under `no_grad` and the gradients are zeroed for the next epoch.
fn with_autograd(s: &Setup) -> Result<()> {
    println!("== Case 3: autograd ==");
    let (a, b) = start_ab();
    println!("{a} {b}");
    for _ in 0..s.epochs {
        let yhat = &a + &(&b * &s.x_train);
        let error = &s.y_train - &yhat;
        let loss = error.pow_scalar(2.0).mean();
        loss.backward()?;
        let (a_grad, b_grad) = (
            a.grad().ok_or("a has no gradient")?,
            b.grad().ok_or("b has no gradient")?,
        );
        no_grad(|| {
            a.sub_(&(a_grad * s.lr));
            b.sub_(&(b_grad * s.lr));
        });
        a.zero_grad();
        b.zero_grad();
    }
    println!("{a} {b}");
    report(value(&a)?, value(&b)?);
    Ok(())
}

/// Cases 4 and 5: `optim.SGD` does the update, then `nn.MSELoss` the loss.
fn with_optimizer(s: &Setup, use_loss_fn: bool) -> Result<()> {
    if use_loss_fn {
        println!("== Case 5: nn.MSELoss ==");
    } else {
        println!("== Case 4: optim.SGD ==");
    }
    let (a, b) = start_ab();
    println!("{a} {b}");
    let loss_fn = MSELoss::new();
    let mut optimizer = SGD::new(vec![a.clone(), b.clone()], s.lr as f64);
    for _ in 0..s.epochs {
        let yhat = &a + &(&b * &s.x_train);
        let loss = if use_loss_fn {
            loss_fn.forward(&s.y_train, &yhat)
        } else {
            (&s.y_train - &yhat).pow_scalar(2.0).mean()
        };
        loss.backward()?;
        optimizer.step()?;
        optimizer.zero_grad();
    }
    println!("{a} {b}");
    report(value(&a)?, value(&b)?);
    Ok(())
}

/// `ManualLinearRegression`: a and b as the module's parameters.
#[derive(Module)]
struct ManualLinearRegression {
    a: Parameter,
    b: Parameter,
}

impl Forward for ManualLinearRegression {
    fn forward(&self, x: &Tensor) -> Tensor {
        &self.a + &self.b * x
    }
}

/// `LayerLinearRegression`: a module nesting an `nn.Linear(1, 1)`.
#[derive(Module)]
struct LayerLinearRegression {
    linear: Linear,
}

impl Forward for LayerLinearRegression {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.linear.forward(x)
    }
}

/// The tutorial's training loop for a model: predict, loss, backward, step.
fn fit(model: &dyn Forward, s: &Setup) -> Result<()> {
    println!("{}", ordered_dict(model));
    let loss_fn = MSELoss::new();
    let mut optimizer = SGD::new(model.parameters(), s.lr as f64);
    for _ in 0..s.epochs {
        model.train();
        let yhat = model.forward(&s.x_train);
        let loss = loss_fn.forward(&s.y_train, &yhat);
        loss.backward()?;
        optimizer.step()?;
        optimizer.zero_grad();
    }
    println!("{}", ordered_dict(model));
    Ok(())
}

/// Intercept and slope of a model whose state dict holds one `Linear(1, 1)`.
fn report_linear(model: &dyn Module, prefix: &str) -> Result<()> {
    let state = model.state_dict();
    let get = |k: &str| {
        state
            .get(&format!("{prefix}{k}"))
            .ok_or(format!("no {prefix}{k} in the state dict"))
    };
    report(value(get("bias")?)?, value(get("weight")?)?);
    Ok(())
}

/// `make_train_step(model, loss_fn, optimizer)`: one training step on a
/// batch, returning its loss.
fn make_train_step<'a>(
    model: &'a dyn Forward,
    loss_fn: MSELoss,
    optimizer: &'a mut impl Optimizer,
) -> impl FnMut(&Tensor, &Tensor) -> Result<f32> + 'a {
    move |x, y| {
        model.train();
        let yhat = model.forward(x);
        let loss = loss_fn.forward(y, &yhat);
        loss.backward()?;
        optimizer.step()?;
        optimizer.zero_grad();
        value(&loss)
    }
}

/// A host `[n, 1]` column of f32.
fn column(values: Vec<f32>) -> Result<HostTensor> {
    let n = values.len();
    Ok(HostTensor::new(values, &[n, 1])?)
}

/// Cases 6 to 11: modules, the train step, Dataset and DataLoader.
fn with_modules(points: &Points, s: &Setup) -> Result<()> {
    println!("== Case 6: a custom module with two parameters ==");
    let model = ManualLinearRegression {
        a: Parameter::new(Tensor::from_slice(&[0.3367f32], &[1])),
        b: Parameter::new(Tensor::from_slice(&[0.1288f32], &[1])),
    };
    fit(&model, s)?;
    report(value(&model.a)?, value(&model.b)?);
    if s.last_case < 7 {
        return Ok(());
    }

    println!("== Case 7: a module nesting nn.Linear(1, 1) ==");
    let model = LayerLinearRegression {
        linear: Linear::new(1, 1),
    };
    model.load_state_dict(&linear_start("linear.", 0.7645, 0.8300), true)?;
    fit(&model, s)?;
    report_linear(&model, "linear.")?;
    if s.last_case < 8 {
        return Ok(());
    }

    println!("== Case 8: nn.Sequential(nn.Linear(1, 1)) ==");
    let mut model = Sequential::new();
    model.push(Linear::new(1, 1));
    model.load_state_dict(&linear_start("0.", 0.7645, 0.8300), true)?;
    fit(&model, s)?;
    report_linear(&model, "0.")?;
    if s.last_case < 9 {
        return Ok(());
    }

    println!("== Case 9: a train_step closure ==");
    let loss_fn = MSELoss::new();
    let mut optimizer = SGD::new(model.parameters(), s.lr as f64);
    let mut train_step = make_train_step(&model, loss_fn, &mut optimizer);
    let mut losses = Vec::with_capacity(s.epochs);
    for _ in 0..s.epochs {
        losses.push(train_step(&s.x_train, &s.y_train)?);
    }
    println!("{}", ordered_dict(&model));
    report_linear(&model, "0.")?;
    println!(
        "last loss {:.6}",
        losses.last().copied().unwrap_or(f32::NAN)
    );
    if s.last_case < 10 {
        return Ok(());
    }

    println!("== Case 10: TensorDataset ==");
    let (xs, ys): (Vec<f32>, Vec<f32>) = points.train().unzip();
    let train_data = TensorDataset::new(column(xs)?, column(ys)?)?;
    let (x0, y0) = train_data.get(0);
    println!("({x0}, {y0})");
    if s.last_case < 11 {
        return Ok(());
    }

    println!(
        "== Case 11: DataLoader mini-batches of {}, shuffled ==",
        s.batch_size
    );
    let train_loader = DataLoader::new(train_data, s.batch_size).shuffle(true);
    for _ in 0..s.epochs {
        for (x_batch, y_batch) in &train_loader {
            train_step(&x_batch, &y_batch)?;
        }
    }
    println!("{}", ordered_dict(&model));
    report_linear(&model, "0.")?;
    Ok(())
}

fn run() -> Result<()> {
    let flags = Flags::parse()?;
    let points = Points::read(&flags.data)?;
    wgrad::runtime()?;
    wgrad::manual_seed(flags.seed);
    let n_train = points.train().count();
    let n_val = points.all().count() - n_train;
    println!(
        "{}: {n_train} training and {n_val} validation points",
        flags.data.display()
    );

    let (xs, ys): (Vec<f32>, Vec<f32>) = points.train().unzip();
    let s = Setup {
        x_train: Tensor::from_slice(&xs, &[n_train, 1]),
        y_train: Tensor::from_slice(&ys, &[n_train, 1]),
        lr: flags.lr,
        epochs: flags.epochs,
        batch_size: flags.batch_size,
        last_case: flags.last_case,
    };
    by_hand(&s)?;
    if s.last_case >= 2 {
        least_squares(&points);
    }
    if s.last_case >= 3 {
        with_autograd(&s)?;
    }
    if s.last_case >= 4 {
        with_optimizer(&s, false)?;
    }
    if s.last_case >= 5 {
        with_optimizer(&s, true)?;
    }
    if s.last_case >= 6 {
        with_modules(&points, &s)?;
    }
    if s.last_case < 12 {
        return Ok(());
    }
    let (losses, val_losses) = final_code::run(&points, &s, flags.seed)?;
    if let Some(plot) = &flags.plot {
        common::plot_losses(
            plot,
            "Linear regression: mini-batch SGD",
            &losses,
            &val_losses,
        )?;
        println!("loss plot written to {}", plot.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    common::main_with(run)
}
