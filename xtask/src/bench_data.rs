//! DataLoader benchmarks: throughput (batches/s, batch 64, shuffled, over
//! the MNIST training digits) and how much of the loading hides behind
//! compute.
//!
//! Overlap: `load` is the time to fetch every batch alone (host gather and
//! upload, synchronised per batch), `compute` the time of a fixed per-batch
//! workload on an already uploaded batch, `both` a loop doing both. Loading
//! is hidden behind compute when `(both - compute) / batches` (what loading
//! adds to a step) is well below `load / batches` (what it costs alone);
//! both are reported in microseconds per batch. `both - compute` is taken
//! within each run (the two loops back to back, each first in every other
//! run), and its median reported: the machine's speed moves between runs
//! by more than loading costs. It can come out below zero when loading
//! hides entirely and the second loop ran in a faster moment than the
//! first.

use std::time::{Duration, Instant};

use wgrad_autograd::Tensor;
use wgrad_data::{DataLoader, Mnist, TensorDataset};
use wgrad_tensor::Runtime;

/// Repetitions of each measurement; the median is reported.
const RUNS: usize = 3;
const BATCH: usize = 64;

/// One result line: name, median, unit.
pub type Line = (String, f64, &'static str);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A training-step-sized workload: a 784-512-10 MLP forward pass and a read
/// of its result (a training loop reads its loss about as often).
struct Workload {
    w1: Tensor,
    w2: Tensor,
}

impl Workload {
    fn run(&self, xb: &Tensor) -> Result<f32, String> {
        let h = xb.matmul(&self.w1).relu();
        h.matmul(&self.w2).sum().item().map_err(err)
    }
}

fn time(mut f: impl FnMut() -> Result<(), String>) -> Result<Duration, String> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

/// Runs the loader benchmarks on the MNIST files at `data`.
pub fn run(rt: &Runtime, data: &std::path::Path) -> Result<Vec<Line>, String> {
    let mnist = Mnist::load(data).map_err(err)?;
    let loader: DataLoader<TensorDataset> =
        DataLoader::new(mnist.train.to_dataset(&[]).map_err(err)?, BATCH)
            .shuffle(true)
            .seed(0);
    let batches = loader.len();
    wgrad_tensor::manual_seed(0);
    let work = Workload {
        w1: Tensor::randn(&[784, 512]),
        w2: Tensor::randn(&[512, 10]),
    };
    let (first, _) = loader.iter().next().ok_or("the training split is empty")?;
    work.run(&first)?; // compile the pipelines
    rt.synchronize().map_err(err)?;

    let (mut rate, mut load, mut compute, mut both, mut added) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        let t = time(|| {
            for (xb, _) in &loader {
                drop(xb);
            }
            rt.synchronize().map_err(err)
        })?;
        rate.push(batches as f64 / t.as_secs_f64());
        load.push(
            time(|| {
                for (xb, _) in &loader {
                    drop(xb);
                    rt.synchronize().map_err(err)?;
                }
                Ok(())
            })?
            .as_secs_f64(),
        );
        let run_alone = || {
            time(|| (0..batches).try_for_each(|_| work.run(&first).map(drop)))
                .map(|t| t.as_secs_f64())
        };
        let run_with_loading = || {
            time(|| {
                loader
                    .iter()
                    .try_for_each(|(xb, _)| work.run(&xb).map(drop))
            })
            .map(|t| t.as_secs_f64())
        };
        // Each loop goes first in every other run, so that the machine
        // speeding up or slowing down within a run favours neither.
        let (alone, with_loading) = if run % 2 == 0 {
            let alone = run_alone()?;
            (alone, run_with_loading()?)
        } else {
            let with_loading = run_with_loading()?;
            (run_alone()?, with_loading)
        };
        compute.push(alone);
        both.push(with_loading);
        added.push(with_loading - alone);
    }
    let (load, compute, both, added) = (median(load), median(compute), median(both), median(added));
    println!(
        "dataloader: per epoch of {batches} batches: load alone {load:.3}s, \
         compute alone {compute:.3}s, both in one loop {both:.3}s, \
         loading added to the loop {added:.3}s (median of the runs' differences)"
    );
    let per_batch = |s: f64| 1e6 * s / batches as f64;
    Ok(vec![
        ("dataloader_batch64".to_string(), median(rate), "batches/s"),
        (
            "dataloader_load_alone".to_string(),
            per_batch(load),
            "us/batch",
        ),
        (
            "dataloader_added_to_step".to_string(),
            per_batch(added),
            "us/batch",
        ),
    ])
}
