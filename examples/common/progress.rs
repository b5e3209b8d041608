//! A progress bar per epoch (indicatif) showing loss and samples/s; quiet
//! when stdout is not a terminal, so logs and tests see only results.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of one epoch.
pub struct EpochProgress {
    bar: Option<ProgressBar>,
    start: Instant,
    samples: usize,
}

impl EpochProgress {
    /// A bar over `batches` batches titled `epoch`.
    pub fn new(epoch: usize, batches: usize) -> EpochProgress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(batches as u64);
            let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(epoch.to_string());
            bar
        });
        EpochProgress {
            bar,
            start: Instant::now(),
            samples: 0,
        }
    }

    /// One batch of `samples` done; `loss` is shown when given (reading it
    /// waits for the GPU, so callers pass it only every few batches).
    pub fn step(&mut self, samples: usize, loss: Option<f32>) {
        self.samples += samples;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if let Some(loss) = loss {
                bar.set_message(format!(
                    "loss {loss:.4}  {:.0} samples/s",
                    self.samples_per_second()
                ));
            }
        }
    }

    /// Whether a bar is shown (only then is a loss worth reading back).
    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// Samples per second so far.
    pub fn samples_per_second(&self) -> f64 {
        self.samples as f64 / self.start.elapsed().as_secs_f64().max(1e-9)
    }

    /// Seconds since the epoch started.
    pub fn seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
