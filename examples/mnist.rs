//! The README's main job: the CNN tutorial's LeNet-style model trained on
//! MNIST with CrossEntropyLoss and Adam, then its test accuracy.
//!
//! `cargo run --release --example mnist [-- --epochs 1 --batch-size 50 --lr 0.001 --seed 0
//!  --data DIR_OR_FILE --plot loss.png --save model.safetensors --load model.safetensors]`
//!
//! `--batch-size 1` is the tutorial's per-sample loop.

mod common;

use std::process::ExitCode;
use std::time::Instant;

use common::{Args, Defaults, EpochProgress};
use wgrad::data::{DataLoader, Dataset, Mnist, TensorDataset, Transform};
use wgrad::nn::{Conv2d, CrossEntropyLoss, Forward, Linear, MaxPool2d, Module, ReLU};
use wgrad::optim::{Adam, Optimizer};
use wgrad::{Tensor, no_grad};

/// `MyModel` of the tutorial: two conv/relu/pool stages and one linear layer.
#[derive(Module)]
struct MyModel {
    layer1_conv: Conv2d,
    layer1_relu: ReLU,
    layer1_pool: MaxPool2d,
    layer2_conv: Conv2d,
    layer2_relu: ReLU,
    layer2_pool: MaxPool2d,
    fc: Linear,
}

impl MyModel {
    fn new() -> MyModel {
        MyModel {
            layer1_conv: Conv2d::builder(1, 6, 5).stride(1).build(),
            layer1_relu: ReLU::new(),
            layer1_pool: MaxPool2d::new(2),
            layer2_conv: Conv2d::builder(6, 16, 5).stride(1).build(),
            layer2_relu: ReLU::new(),
            layer2_pool: MaxPool2d::new(2),
            fc: Linear::new(16 * 4 * 4, 10),
        }
    }
}

impl Forward for MyModel {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = self
            .layer1_pool
            .forward(&self.layer1_relu.forward(&self.layer1_conv.forward(x))); // [n, 6, 12, 12]
        let x = self
            .layer2_pool
            .forward(&self.layer2_relu.forward(&self.layer2_conv.forward(&x))); // [n, 16, 4, 4]
        self.fc.forward(&x.view(&[-1, 256])) // [n, 10]
    }
}

/// Correct predictions and mean loss of `model` over `loader`.
fn evaluate(
    model: &MyModel,
    loader: &DataLoader<TensorDataset>,
    criterion: &CrossEntropyLoss,
) -> Result<(usize, f32), wgrad::TensorError> {
    no_grad(|| {
        let mut correct = Tensor::zeros(&[]);
        let mut loss = Tensor::zeros(&[]);
        for (x, y) in loader {
            let out = model.forward(&x);
            correct = &correct + &out.argmax(1, false).eq(&y).sum();
            loss = &loss + &(criterion.forward(&out, &y) * y.numel() as f32);
        }
        let n = loader.dataset().len().max(1) as f32;
        Ok((correct.item()? as usize, loss.item()? / n))
    })
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(Defaults {
        epochs: 1,
        batch_size: 50,
        lr: 1e-3,
    })?;
    let data = Mnist::load(args.data_path()?)?;
    let rt = wgrad::runtime()?;
    println!("adapter: {}", rt.adapter().name);
    wgrad::manual_seed(args.seed);

    let model = MyModel::new();
    if let Some(path) = &args.load {
        model.load(path)?;
    }
    println!("{model}");
    let criterion = CrossEntropyLoss::new();
    let mut optimizer = Adam::new(model.parameters(), args.lr);
    let image = [Transform::reshape(&[1, 28, 28])];
    let train = data
        .train
        .loader(args.batch_size, &image)?
        .shuffle(true)
        .seed(args.seed);
    let test = data.test.loader(1000, &image)?;

    let (mut train_losses, mut test_losses) = (Vec::new(), Vec::new());
    let mut train_seconds = 0.0;
    let mut samples = 0;
    print!("training with {} data... ", train.dataset().len());
    for epoch in 1..=args.epochs {
        let batches = args.batches(train.len());
        let mut progress = EpochProgress::new(epoch, batches);
        let start = Instant::now();
        let mut loss_sum = Tensor::zeros(&[]);
        for (i, (x, y)) in train.iter().take(batches).enumerate() {
            let loss = criterion.forward(&model.forward(&x), &y);
            optimizer.zero_grad();
            loss.backward()?;
            optimizer.step()?;
            loss_sum = &loss_sum + &loss.detach();
            // Reading the loss waits for the GPU: only now and then, for the bar.
            let shown = (progress.is_visible() && i % 20 == 0)
                .then(|| loss.item())
                .transpose()?;
            progress.step(y.numel(), shown);
            samples += y.numel();
        }
        train_losses.push(loss_sum.item()? / batches.max(1) as f32);
        train_seconds += start.elapsed().as_secs_f64();
        progress.finish();
        let (_, test_loss) = evaluate(&model, &test, &criterion)?;
        test_losses.push(test_loss);
        println!(
            "epoch {epoch}: train loss {:.4}, test loss {test_loss:.4}",
            train_losses[epoch - 1]
        );
    }
    println!("done (elapsed {train_seconds:.1}s)");
    let (correct, _) = evaluate(&model, &test, &criterion)?;
    let total = test.dataset().len();
    let accuracy = correct as f64 / total.max(1) as f64;
    println!(
        "test accuracy : {correct}/{total} ({:.2}%)",
        100.0 * accuracy
    );
    if let Some(path) = &args.plot {
        common::plot_losses(path, "LeNet on MNIST (Adam)", &train_losses, &test_losses)?;
        println!("loss plot written to {}", path.display());
    }
    if let Some(path) = &args.save {
        model.save(path)?;
        println!("model saved to {}", path.display());
    }
    println!(
        "result: test_accuracy={accuracy:.4} train_seconds={train_seconds:.1} samples_per_second={:.0}",
        samples as f64 / train_seconds.max(1e-9)
    );
    Ok(())
}

fn main() -> ExitCode {
    common::main_with(run)
}
