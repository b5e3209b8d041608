//! Loss modules and functional losses against their formulas.

use wgrad_autograd::Tensor;
use wgrad_nn::{CrossEntropyLoss, MSELoss, NLLLoss, Reduction, functional as F};

use crate::common::{assert_close, host, tensor};

/// `-log softmax(x)[t]` per row on the CPU.
fn ce_rows(x: &[f32], c: usize, target: &[i32]) -> Vec<f32> {
    x.chunks(c)
        .zip(target)
        .map(|(row, &t)| {
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
            lse - row[t as usize]
        })
        .collect()
}

#[test]
fn mse_loss_is_the_mean_sum_or_elementwise_squared_error() {
    let (x, y) = (tensor(&[3, 4], 40), tensor(&[3, 4], 41));
    let sq: Vec<f32> = host(&x)
        .iter()
        .zip(host(&y))
        .map(|(a, b)| (a - b) * (a - b))
        .collect();
    let sum: f32 = sq.iter().sum();
    let mean = MSELoss::new().forward(&x, &y);
    assert_eq!(mean.grad_fn().map(|g| g.name()), None); // no input requires grad
    assert_close("mean", &host(&mean), &[sum / 12.0], 1e-5);
    assert_close(
        "F.mse_loss",
        &host(&F::mse_loss(&x, &y)),
        &[sum / 12.0],
        1e-5,
    );
    let total = MSELoss::new().reduction(Reduction::Sum).forward(&x, &y);
    assert_close("sum", &host(&total), &[sum], 1e-5);
    let each = MSELoss::new().reduction(Reduction::None).forward(&x, &y);
    assert_close("none", &host(&each), &sq, 1e-5);
}

#[test]
fn mse_loss_of_a_parameter_records_mse_loss_backward() {
    let x = tensor(&[1, 10], 42).with_grad();
    let loss = MSELoss::new().forward(&x, &Tensor::zeros(&[1, 10]));
    assert_eq!(loss.grad_fn().unwrap().name(), "MseLossBackward0");
}

#[test]
fn cross_entropy_is_the_mean_negative_log_softmax_of_the_targets() {
    let x = tensor(&[4, 5], 43);
    let target = Tensor::from_slice(&[0i32, 4, 2, 2], &[4]);
    let rows = ce_rows(&host(&x), 5, &[0, 4, 2, 2]);
    let mean = rows.iter().sum::<f32>() / 4.0;
    assert_close(
        "CrossEntropyLoss",
        &host(&CrossEntropyLoss::new().forward(&x, &target)),
        &[mean],
        1e-5,
    );
    assert_close(
        "F.cross_entropy",
        &host(&F::cross_entropy(&x, &target)),
        &[mean],
        1e-5,
    );
    let each = CrossEntropyLoss::new()
        .reduction(Reduction::None)
        .forward(&x, &target);
    assert_close("reduction none", &host(&each), &rows, 1e-5);
}

#[test]
fn cross_entropy_ignores_targets_equal_to_ignore_index_also_in_the_mean() {
    let x = tensor(&[4, 3], 44);
    let rows = ce_rows(&host(&x), 3, &[1, 0, 2, 0]);
    // Rows 1 and 3 are ignored: the mean is over rows 0 and 2.
    let want = (rows[0] + rows[2]) / 2.0;
    let target = Tensor::from_slice(&[1i32, -1, 2, -1], &[4]);
    let loss = CrossEntropyLoss::new()
        .ignore_index(-1)
        .forward(&x, &target);
    assert_close("ignore_index=-1", &host(&loss), &[want], 1e-5);
    // PyTorch's default ignore_index is -100.
    let target = Tensor::from_slice(&[1i32, -100, 2, -100], &[4]);
    assert_close(
        "default ignore_index",
        &host(&F::cross_entropy(&x, &target)),
        &[want],
        1e-5,
    );
}

#[test]
fn nll_loss_picks_the_negative_log_probability_of_each_target() {
    let logp = tensor(&[3, 4], 45).log_softmax(1);
    let target = Tensor::from_slice(&[3i32, 1, 0], &[3]);
    let lp = host(&logp);
    let picked = [-lp[3], -lp[4 + 1], -lp[8]];
    let sum: f32 = picked.iter().sum();
    assert_close(
        "NLLLoss",
        &host(&NLLLoss::new().forward(&logp, &target)),
        &[sum / 3.0],
        1e-5,
    );
    assert_close(
        "F.nll_loss",
        &host(&F::nll_loss(&logp, &target)),
        &[sum / 3.0],
        1e-5,
    );
    let total = NLLLoss::new()
        .reduction(Reduction::Sum)
        .forward(&logp, &target);
    assert_close("sum", &host(&total), &[sum], 1e-5);
}

#[test]
fn losses_print_like_pytorch() {
    assert_eq!(MSELoss::new().to_string(), "MSELoss()");
    assert_eq!(CrossEntropyLoss::new().to_string(), "CrossEntropyLoss()");
    assert_eq!(NLLLoss::new().to_string(), "NLLLoss()");
}
