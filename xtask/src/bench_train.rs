//! The training workloads of the benchmark (W2–W5): real MNIST, one epoch
//! each, timed from the first batch to the synchronised end of the epoch
//! (reading the IDX files is not timed).
//!
//! Each workload runs in its own process (`cargo xtask bench` starts
//! `xtask bench-train <name>`), so that its first epoch is a true cold
//! start: every pipeline it needs is compiled inside that epoch. Then the
//! same epoch runs `WARM_RUNS` more times from a freshly seeded model, and
//! those runs give min/median/max.

use std::time::Instant;

use wgrad::data::{DataLoader, Dataset, Mnist, TensorDataset, Transform};
use wgrad::nn::functional as F;
use wgrad::nn::{AvgPool2d, Conv2d, Flatten, Forward, Linear, MaxPool2d, Module, ReLU, Sequential};
use wgrad::optim::{Adam, Optimizer, SGD};
use wgrad::{Tensor, no_grad};
use wgrad_tensor::Runtime;

use crate::bench::Measurement;

/// Warm epochs per workload after the cold one: 5, because an epoch lasts
/// 1-3 s and on these 2-core machines the host's thread and lavapipe's two
/// compete, so single epochs of one run differ by up to 30%.
const WARM_RUNS: usize = 5;
/// Inference passes over the test set (after one warm-up pass).
const INFERENCE_RUNS: usize = 5;
/// W5's batch size.
const INFERENCE_BATCH: usize = 1000;

/// A training workload: model, optimizer, batch size, shuffling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Workload {
    /// W2: Linear(784, 10), SGD lr 0.5, batch 64, no shuffle.
    Logistic,
    /// W3: three stride-2 3x3 convs with ReLU, AvgPool2d(4); SGD lr 0.1
    /// momentum 0.9, batch 64, shuffled.
    Cnn3,
    /// W4: LeNet-5-like; Adam lr 1e-3, batch 50, shuffled. Also runs W5.
    Lenet,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Logistic, Workload::Cnn3, Workload::Lenet];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Logistic => "w2_logistic",
            Workload::Cnn3 => "w3_cnn3",
            Workload::Lenet => "w4_lenet",
        }
    }

    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    fn batch_size(self) -> usize {
        match self {
            Workload::Logistic | Workload::Cnn3 => 64,
            Workload::Lenet => 50,
        }
    }

    fn shuffle(self) -> bool {
        self != Workload::Logistic
    }

    /// MNIST as x / 255, flat for the linear model, [1, 28, 28] for the CNNs.
    fn transforms(self) -> Vec<Transform> {
        match self {
            Workload::Logistic => Vec::new(),
            _ => vec![Transform::reshape(&[1, 28, 28])],
        }
    }

    fn model(self) -> Sequential {
        let mut m = Sequential::new();
        match self {
            Workload::Logistic => {
                m.push(Linear::new(784, 10));
            }
            Workload::Cnn3 => {
                let conv = |i, o| Conv2d::builder(i, o, 3).stride(2).padding(1).build();
                m.push(conv(1, 16))
                    .push(ReLU::new())
                    .push(conv(16, 16))
                    .push(ReLU::new())
                    .push(conv(16, 10))
                    .push(ReLU::new())
                    .push(AvgPool2d::new(4))
                    .push(Flatten::new());
            }
            Workload::Lenet => {
                m.push(Conv2d::new(1, 6, 5))
                    .push(ReLU::new())
                    .push(MaxPool2d::new(2))
                    .push(Conv2d::new(6, 16, 5))
                    .push(ReLU::new())
                    .push(MaxPool2d::new(2))
                    .push(Flatten::new())
                    .push(Linear::new(256, 10));
            }
        }
        m
    }

    fn optimizer(self, params: Vec<Tensor>) -> Box<dyn Optimizer> {
        match self {
            Workload::Logistic => Box::new(SGD::new(params, 0.5)),
            Workload::Cnn3 => Box::new(SGD::new(params, 0.1).momentum(0.9)),
            Workload::Lenet => Box::new(Adam::new(params, 1e-3)),
        }
    }
}

/// What one epoch did.
struct Epoch {
    seconds: f64,
    samples: usize,
    steps: u64,
    /// Submissions per step, counted after the first step.
    submissions_per_step: f64,
    /// Kernel dispatches per step, counted after the first step.
    dispatches_per_step: f64,
    /// Buffers the pool created after the first step.
    allocations_after_first_step: u64,
    /// Device memory the pool holds when the epoch's training ends, in MiB:
    /// what it took, and what earlier epochs' test passes left in it.
    pool_mib: f64,
    /// Test accuracy of the trained model.
    accuracy: f64,
    /// Pipelines created during the epoch.
    pipelines: u64,
    /// Wall time the training thread waited for them to be created (wgpu's
    /// translation and the driver's shader passes; lavapipe's LLVM code
    /// generation comes later, at the first dispatch, inside device time).
    pipeline_seconds: f64,
}

type Error = Box<dyn std::error::Error>;

/// Runs one workload (in the child process): a cold epoch, `WARM_RUNS`
/// warm ones, and for W4 the inference benchmark W5 unless
/// `training_only`. Prints a report line per epoch and returns the
/// measurements.
pub fn run(
    rt: &Runtime,
    workload: Workload,
    data: &std::path::Path,
    training_only: bool,
) -> Result<Vec<Measurement>, Error> {
    let mnist = Mnist::load(data)?;
    let transforms = workload.transforms();
    let train = mnist.train.to_dataset(&transforms)?;
    let test = mnist.test.to_dataset(&transforms)?;
    let train_dl = DataLoader::new(train, workload.batch_size())
        .shuffle(workload.shuffle())
        .seed(0);
    let test_dl = DataLoader::new(test, INFERENCE_BATCH);

    let mut warm = Vec::new();
    let mut cold_seconds = 0.0;
    let mut model = None;
    // `WGRAD_BENCH_WARM_RUNS` shortens a run while investigating (at least 1).
    let warm_runs = std::env::var("WGRAD_BENCH_WARM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(WARM_RUNS)
        .max(1);
    for run in 0..=warm_runs {
        // The last epoch's model goes first, so that each epoch finds the
        // pool as the one before left it (two models alive at once would
        // make the first warm epoch allocate buffers the others need not).
        drop(model.take());
        wgrad::manual_seed(0);
        let m = workload.model();
        let epoch = train_epoch(rt, workload, &m, &train_dl, &test_dl)?;
        println!(
            "{:<12} {} epoch: {:.3} s, {:.0} samples/s, {} steps, {:.2} submissions/step, \
             {:.2} dispatches/step, {} buffers allocated after the first step, pool {:.1} MiB, {} pipelines created \
             ({:.2} s in create_compute_pipeline), test accuracy {:.4}",
            workload.name(),
            if run == 0 { "cold" } else { "warm" },
            epoch.seconds,
            epoch.samples as f64 / epoch.seconds,
            epoch.steps,
            epoch.submissions_per_step,
            epoch.dispatches_per_step,
            epoch.allocations_after_first_step,
            epoch.pool_mib,
            epoch.pipelines,
            epoch.pipeline_seconds,
            epoch.accuracy,
        );
        if run == 0 {
            cold_seconds = epoch.seconds;
        } else {
            warm.push(epoch);
        }
        model = Some(m);
    }
    let mut out = Vec::new();
    let throughput = Measurement::new(
        workload.name().to_string(),
        "samples/s",
        warm.iter().map(|e| e.samples as f64 / e.seconds).collect(),
    );
    let warm_seconds = warm[0].samples as f64 / throughput.median();
    out.push(throughput);
    out.push(Measurement::new(
        format!("{}_cold_over_warm", workload.name()),
        "x",
        vec![cold_seconds / warm_seconds],
    ));
    out.push(Measurement::new(
        format!("{}_accuracy", workload.name()),
        "%",
        warm.iter().map(|e| 100.0 * e.accuracy).collect(),
    ));
    out.push(Measurement::new(
        format!("{}_allocations_after_first_step", workload.name()),
        "buffers",
        warm.iter()
            .map(|e| e.allocations_after_first_step as f64)
            .collect(),
    ));
    out.push(Measurement::new(
        format!("{}_pool", workload.name()),
        "MiB",
        warm.iter().map(|e| e.pool_mib).collect(),
    ));
    out.push(Measurement::new(
        format!("{}_submissions_per_step", workload.name()),
        "submissions",
        warm.iter().map(|e| e.submissions_per_step).collect(),
    ));
    out.push(Measurement::new(
        format!("{}_dispatches_per_step", workload.name()),
        "dispatches",
        warm.iter().map(|e| e.dispatches_per_step).collect(),
    ));
    print_profile(rt);
    if workload == Workload::Lenet && !training_only {
        let model = model.expect("at least one run");
        out.push(inference(rt, &model, &test_dl)?);
    }
    Ok(out)
}

fn train_epoch(
    rt: &Runtime,
    workload: Workload,
    model: &Sequential,
    train_dl: &DataLoader<TensorDataset>,
    test_dl: &DataLoader<TensorDataset>,
) -> Result<Epoch, Error> {
    let mut opt = workload.optimizer(model.parameters());
    model.train();
    rt.synchronize()?;
    let compiled_before = rt.compile_stats();
    let start = Instant::now();
    let (mut samples, mut steps) = (0, 0u64);
    let (mut submissions, mut dispatches, mut allocations) = (0, 0, 0);
    for (xb, yb) in train_dl {
        let loss = F::cross_entropy(&model.forward(&xb), &yb);
        loss.backward()?;
        opt.step()?;
        opt.zero_grad();
        samples += yb.numel();
        steps += 1;
        if steps == 1 {
            submissions = rt.submissions();
            dispatches = rt.dispatches();
            allocations = rt.pool_stats().allocations;
        }
    }
    rt.synchronize()?;
    let seconds = start.elapsed().as_secs_f64();
    let per_step = |count: u64| count as f64 / steps.saturating_sub(1).max(1) as f64;
    let submissions_per_step = per_step(rt.submissions() - submissions);
    let dispatches_per_step = per_step(rt.dispatches() - dispatches);
    let allocations_after_first_step = rt.pool_stats().allocations - allocations;
    let pool_mib = rt.pool_stats().allocated_bytes as f64 / f64::from(1 << 20);
    let compiled = rt.compile_stats();
    let pipelines = compiled.pipelines - compiled_before.pipelines;
    let pipeline_seconds = (compiled.time - compiled_before.time).as_secs_f64();
    Ok(Epoch {
        pipelines,
        pipeline_seconds,
        seconds,
        samples,
        steps,
        submissions_per_step,
        dispatches_per_step,
        allocations_after_first_step,
        pool_mib,
        accuracy: accuracy(model, test_dl)?,
    })
}

/// The fraction of test digits the model classifies right.
fn accuracy(model: &Sequential, test_dl: &DataLoader<TensorDataset>) -> Result<f64, Error> {
    model.eval();
    let correct = no_grad(|| {
        let mut correct = Tensor::zeros(&[]);
        for (xb, yb) in test_dl {
            let pred = model.forward(&xb).argmax(1, false);
            correct = &correct + &pred.eq(&yb).float().sum();
        }
        correct
    });
    Ok(f64::from(correct.item()?) / test_dl.dataset().len() as f64)
}

/// W5: the trained model's forward pass over the test set, in batches of
/// `INFERENCE_BATCH`, predictions kept on the device.
fn inference(
    rt: &Runtime,
    model: &Sequential,
    test_dl: &DataLoader<TensorDataset>,
) -> Result<Measurement, Error> {
    model.eval();
    let samples = test_dl.dataset().len() as f64;
    let pass = || -> Result<f64, Error> {
        rt.synchronize()?;
        let start = Instant::now();
        no_grad(|| {
            for (xb, _) in test_dl {
                drop(model.forward(&xb).argmax(1, false));
            }
        });
        rt.synchronize()?;
        Ok(samples / start.elapsed().as_secs_f64())
    };
    pass()?;
    let runs = (0..INFERENCE_RUNS)
        .map(|_| pass())
        .collect::<Result<Vec<_>, _>>()?;
    let m = Measurement::new("w5_inference".to_string(), "samples/s", runs);
    println!(
        "w5_inference forward over {} test digits in batches of {INFERENCE_BATCH}: \
         min {:.0}, median {:.0}, max {:.0} samples/s",
        samples,
        m.runs[0],
        m.median(),
        m.runs[m.runs.len() - 1]
    );
    Ok(m)
}

/// With `WGRAD_PROFILE=1`, where the time of all the epochs went.
fn print_profile(rt: &Runtime) {
    let profile = rt.take_profile();
    if profile.is_empty() {
        return;
    }
    let total: f64 = profile.iter().map(|k| k.total.as_secs_f64()).sum();
    let first: f64 = profile
        .iter()
        .map(|k| k.first_dispatches.as_secs_f64())
        .sum();
    println!("kernel profile (each dispatch alone, with its submit and wait):");
    println!(
        "  {:>6} {:>9}   {:>7} {:>8}         {:>9}  {:>5}",
        "", "total", "calls", "per call", "first", "pipes"
    );
    for k in profile.iter().take(25) {
        println!(
            "  {:>6.1}% {:>9.3} s {:>7} {:>8.1} us/call {:>7.3} s {:>5}  {}",
            100.0 * k.total.as_secs_f64() / total,
            k.total.as_secs_f64(),
            k.calls,
            1e6 * k.total.as_secs_f64() / k.calls as f64,
            k.first_dispatches.as_secs_f64(),
            k.pipelines,
            k.kernel
        );
    }
    println!(
        "  first dispatches of {} pipelines (where lavapipe compiles): {first:.3} s of {total:.3} s",
        profile.iter().map(|k| k.pipelines).sum::<u64>()
    );
}
