//! The tutorial's `get_data`, `loss_batch` and `fit`, shared by the
//! "What is torch.nn really?" examples.

use wgrad::data::{DataLoader, Dataset, TensorDataset};
use wgrad::nn::Forward;
use wgrad::nn::functional as F;
use wgrad::optim::Optimizer;
use wgrad::{Tensor, no_grad};

use super::{Args, EpochProgress};

type Error = Box<dyn std::error::Error>;

/// `get_data(train_ds, valid_ds, bs)`: a shuffled training loader and a
/// validation loader with twice the batch size.
pub fn get_data(
    train_ds: TensorDataset,
    valid_ds: TensorDataset,
    bs: usize,
    seed: u64,
) -> (DataLoader<TensorDataset>, DataLoader<TensorDataset>) {
    (
        DataLoader::new(train_ds, bs).shuffle(true).seed(seed),
        DataLoader::new(valid_ds, bs * 2),
    )
}

/// `loss_batch`: the batch's cross-entropy, a step when given an
/// optimizer, and the batch size (for weighting the validation mean).
fn loss_batch(
    model: &dyn Forward,
    xb: &Tensor,
    yb: &Tensor,
    opt: Option<&mut dyn Optimizer>,
) -> Result<(Tensor, usize), Error> {
    let loss = F::cross_entropy(&model.forward(xb), yb);
    if let Some(opt) = opt {
        loss.backward()?;
        opt.step()?;
        opt.zero_grad();
    }
    Ok((loss.detach(), yb.numel()))
}

/// `fit(epochs, model, loss_func, opt, train_dl, valid_dl)`: prints
/// `epoch val_loss` after each epoch; returns the per-epoch mean training
/// and validation losses.
pub fn fit(
    epochs: usize,
    model: &dyn Forward,
    opt: &mut dyn Optimizer,
    train_dl: &DataLoader<TensorDataset>,
    valid_dl: &DataLoader<TensorDataset>,
    args: &Args,
) -> Result<(Vec<f32>, Vec<f32>), Error> {
    let (mut train_losses, mut valid_losses) = (Vec::new(), Vec::new());
    for epoch in 0..epochs {
        model.train();
        let batches = args.batches(train_dl.len());
        let mut progress = EpochProgress::new(epoch, batches);
        let mut train_sum = Tensor::zeros(&[]);
        for (xb, yb) in train_dl.iter().take(batches) {
            let (loss, n) = loss_batch(model, &xb, &yb, Some(&mut *opt))?;
            train_sum = &train_sum + &loss;
            progress.step(n, None);
        }
        progress.finish();
        model.eval();
        let (sum, count) = no_grad(|| -> Result<(Tensor, usize), Error> {
            let mut sum = Tensor::zeros(&[]);
            let mut count = 0;
            for (xb, yb) in valid_dl {
                let (loss, n) = loss_batch(model, &xb, &yb, None)?;
                sum = &sum + &(loss * n as f32);
                count += n;
            }
            Ok((sum, count))
        })?;
        let val_loss = sum.item()? / valid_dl.dataset().len().min(count).max(1) as f32;
        println!("{epoch} {val_loss:.4}");
        train_losses.push(train_sum.item()? / batches.max(1) as f32);
        valid_losses.push(val_loss);
    }
    Ok((train_losses, valid_losses))
}
