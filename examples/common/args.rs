//! The flags every MNIST example takes.

use std::path::PathBuf;

/// An example's own defaults for the common flags.
#[derive(Clone, Copy)]
pub struct Defaults {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
}

/// Parsed command line.
#[derive(Debug, Clone)]
pub struct Args {
    /// `--data DIR_OR_FILE`: a directory of IDX files or `mnist.pkl.gz`.
    pub data: Option<PathBuf>,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    /// `--plot FILE.png`: training and validation loss per epoch.
    pub plot: Option<PathBuf>,
    /// `--save FILE.safetensors` after training.
    pub save: Option<PathBuf>,
    /// `--load FILE.safetensors` before training.
    pub load: Option<PathBuf>,
    /// `--max-batches N`: stop each epoch after N batches (quick runs, tests).
    pub max_batches: Option<usize>,
}

const USAGE: &str = "flags: --data DIR_OR_FILE --epochs N --batch-size N --lr X --seed N \
                     --plot FILE.png --save FILE.safetensors --load FILE.safetensors --max-batches N";

impl Args {
    /// Parses `std::env::args()`; an unknown flag or a bad value is an error
    /// naming it.
    pub fn parse(defaults: Defaults) -> Result<Args, String> {
        Args::parse_from(std::env::args().skip(1), defaults)
    }

    fn parse_from(mut it: impl Iterator<Item = String>, d: Defaults) -> Result<Args, String> {
        let mut a = Args {
            data: None,
            epochs: d.epochs,
            batch_size: d.batch_size,
            lr: d.lr,
            seed: 0,
            plot: None,
            save: None,
            load: None,
            max_batches: None,
        };
        while let Some(flag) = it.next() {
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or(format!("{name} needs a value"))
            };
            match name.as_str() {
                "--data" => a.data = Some(PathBuf::from(value()?)),
                "--epochs" => a.epochs = number(&name, &value()?)?,
                "--batch-size" => a.batch_size = number(&name, &value()?)?,
                "--lr" => a.lr = number(&name, &value()?)?,
                "--seed" => a.seed = number(&name, &value()?)?,
                "--plot" => a.plot = Some(PathBuf::from(value()?)),
                "--save" => a.save = Some(PathBuf::from(value()?)),
                "--load" => a.load = Some(PathBuf::from(value()?)),
                "--max-batches" => a.max_batches = Some(number(&name, &value()?)?),
                "--help" | "-h" => return Err(USAGE.to_string()),
                _ => return Err(format!("unknown flag {flag:?}; {USAGE}")),
            }
        }
        if a.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        Ok(a)
    }

    /// The MNIST location: `--data`, else `WGRAD_DATA`, else `../shared/data/mnist`.
    pub fn data_path(&self) -> Result<PathBuf, wgrad::data::DataError> {
        wgrad::data::resolve_data_path(self.data.as_ref())
    }

    /// How many batches of `total` to run this epoch (`--max-batches`).
    pub fn batches(&self, total: usize) -> usize {
        self.max_batches.map_or(total, |m| m.min(total))
    }
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag} {v:?} is not a valid number"))
}
