//! What the examples share: command-line flags, a progress bar, a loss
//! plot, the machine-readable result line, and the small examples' `--seed`.

#![allow(dead_code, unused_imports)] // each example uses a different part

mod args;
mod fit;
mod plot;
mod progress;
mod seed;
mod splits;

pub use args::{Args, Defaults};
pub use fit::{fit, get_data};
pub use plot::plot_losses;
pub use progress::EpochProgress;
pub use seed::{parse_seed, torch_size};
pub use splits::{dataset, train_valid};

use std::process::ExitCode;

/// Runs `body` and turns an error into one line on stderr and exit code 1
/// (no panic backtrace for a wrong path or a corrupt file).
pub fn main_with(body: impl FnOnce() -> Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
