//! Case 12, the tutorial's final code: the whole program again with
//! `random_split`, mini-batches and a validation loss per epoch.

use wgrad::data::{DataLoader, TensorDataset, random_split};
use wgrad::nn::{Forward, Linear, MSELoss, Module, Sequential};
use wgrad::no_grad;
use wgrad::optim::SGD;

use super::data::Points;
use super::{
    Result, Setup, column, linear_start, make_train_step, ordered_dict, report_linear, value,
};

/// Case 12, the tutorial's final code: `random_split` of all the points
/// into 80 for training and 20 for validation, mini-batch training and a
/// validation loss after every epoch. Returns the per-epoch training
/// (mean over batches) and validation losses.
pub fn run(points: &Points, s: &Setup, seed: u64) -> Result<(Vec<f32>, Vec<f32>)> {
    println!("== Case 12: random_split, DataLoader and evaluation ==");
    let (xs, ys): (Vec<f32>, Vec<f32>) = points.all().unzip();
    let n = xs.len();
    let dataset = TensorDataset::new(column(xs)?, column(ys)?)?;
    let n_val = n / 5;
    let parts = random_split(dataset, [n - n_val, n_val], seed)?;
    let (train_dataset, val_dataset) = (parts[0].clone(), parts[1].clone());
    let train_loader = DataLoader::new(train_dataset, s.batch_size);
    let val_loader = DataLoader::new(val_dataset, n_val.max(1));

    let mut model = Sequential::new();
    model.push(Linear::new(1, 1));
    model.load_state_dict(&linear_start("0.", -0.9676, -0.5727), true)?;
    println!("{}", ordered_dict(&model));
    let loss_fn = MSELoss::new();
    // NOTE: the tutorial's "Evaluation" section builds this optimizer over
    // the previous model's parameters, so its new model never learns; its
    // final code (followed here) gives the optimizer the new model's.
    let mut optimizer = SGD::new(model.parameters(), s.lr as f64);
    let mut train_step = make_train_step(&model, loss_fn, &mut optimizer);
    let (mut losses, mut val_losses) = (Vec::new(), Vec::new());
    let print_every = (s.epochs / 10).max(1);
    for epoch in 1..=s.epochs {
        let mut loss_sum = 0.0;
        for (x_batch, y_batch) in &train_loader {
            loss_sum += train_step(&x_batch, &y_batch)?;
        }
        losses.push(loss_sum / train_loader.len().max(1) as f32);
        let mut val_loss_sum = 0.0;
        no_grad(|| -> Result<()> {
            for (x_val, y_val) in &val_loader {
                model.eval();
                let yhat = model.forward(&x_val);
                val_loss_sum += value(&loss_fn.forward(&y_val, &yhat))?;
            }
            Ok(())
        })?;
        val_losses.push(val_loss_sum / val_loader.len().max(1) as f32);
        if epoch % print_every == 0 || epoch == 1 {
            println!(
                "epoch {epoch}: train loss {:.5}, validation loss {:.5}",
                losses[epoch - 1],
                val_losses[epoch - 1]
            );
        }
    }
    println!("{}", ordered_dict(&model));
    report_linear(&model, "0.")?;
    Ok((losses, val_losses))
}
