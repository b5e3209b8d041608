//! The data loader's throughput, for `cargo xtask bench`.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::loader::DataLoader;
use crate::mnist::Mnist;

/// Samples per batch in [`bench_dataloader`]: the tutorials' batch size.
pub const BENCH_BATCH_SIZE: usize = 64;

/// What [`bench_dataloader`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DataLoaderBench {
    /// Batches delivered, over all epochs.
    pub batches: usize,
    /// Samples delivered, over all epochs.
    pub samples: usize,
    /// Wall time from the first epoch's start to the device being idle.
    pub elapsed: Duration,
}

impl DataLoaderBench {
    /// Batches per second.
    pub fn batches_per_sec(&self) -> f64 {
        self.batches as f64 / self.elapsed.as_secs_f64()
    }

    /// Samples per second.
    pub fn samples_per_sec(&self) -> f64 {
        self.samples as f64 / self.elapsed.as_secs_f64()
    }
}

impl fmt::Display for DataLoaderBench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} batches of {BENCH_BATCH_SIZE} ({} samples) in {:.3} s: {:.1} batches/s, {:.0} samples/s",
            self.batches,
            self.samples,
            self.elapsed.as_secs_f64(),
            self.batches_per_sec(),
            self.samples_per_sec()
        )
    }
}

/// Times `epochs` shuffled epochs of MNIST's training split (from `data`,
/// a folder of IDX files or an `mnist.pkl.gz`), batch 64, as `[64, 784]`
/// f32 and `[64]` i32 device tensors.
///
/// Reading the files is not timed; one untimed batch first starts the
/// device. The clock stops after `synchronize()`, so every upload has
/// finished on the device. Nothing is computed on the batches: this is
/// the loader's own ceiling (host gathering, upload, channel hand-off).
pub fn bench_dataloader(data: impl AsRef<Path>, epochs: usize) -> Result<DataLoaderBench> {
    let mnist = Mnist::load(data)?;
    let loader = DataLoader::new(mnist.train.to_dataset(&[])?, BENCH_BATCH_SIZE)
        .shuffle(true)
        .seed(0);
    let runtime = wgrad_tensor::runtime()?;
    drop(loader.iter().next());
    runtime.synchronize()?;

    let start = Instant::now();
    let (mut batches, mut samples) = (0, 0);
    for _ in 0..epochs {
        for (xb, _yb) in &loader {
            batches += 1;
            samples += xb.data().shape()[0];
        }
    }
    runtime.synchronize()?;
    Ok(DataLoaderBench {
        batches,
        samples,
        elapsed: start.elapsed(),
    })
}
