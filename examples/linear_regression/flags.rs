//! The flags of the linear-regression example (its `--data` is a CSV file,
//! so it does not share the MNIST examples' `Args`).

use std::path::PathBuf;

/// The data file when `--data` is not given (shared/ beside the checkout).
pub const DEFAULT_DATA: &str = "../shared/data/linreg/linreg.csv";

/// The tutorial's cases, numbered as the example prints them.
pub const CASES: usize = 12;

const USAGE: &str = "flags: --data FILE.csv --epochs N --batch-size N --lr X --seed N --plot FILE.png --last-case N";

/// Parsed command line.
#[derive(Debug, Clone)]
pub struct Flags {
    /// `--data FILE.csv`: columns `x`, `y` and `split` (`train` or `val`).
    pub data: PathBuf,
    /// `--epochs N`: the tutorial's `n_epochs` of every case (1000).
    pub epochs: usize,
    /// `--batch-size N`: the mini-batch cases' batch size (16).
    pub batch_size: usize,
    /// `--lr X`: the learning rate of every case (0.1).
    pub lr: f32,
    /// `--seed N`: wgrad's generator, the shuffling and `random_split` (0).
    pub seed: u64,
    /// `--plot FILE.png`: training and validation loss of the last case.
    pub plot: Option<PathBuf>,
    /// `--last-case N`: stop after case N (1 to 12; all by default).
    pub last_case: usize,
}

impl Flags {
    /// Parses `std::env::args()`; an unknown flag or a bad value is an error naming it.
    pub fn parse() -> Result<Flags, String> {
        let mut f = Flags {
            data: PathBuf::from(DEFAULT_DATA),
            epochs: 1000,
            batch_size: 16,
            lr: 0.1,
            seed: 0,
            plot: None,
            last_case: CASES,
        };
        let mut it = std::env::args().skip(1);
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
                "--data" => f.data = PathBuf::from(value()?),
                "--epochs" => f.epochs = number(&name, &value()?)?,
                "--batch-size" => f.batch_size = number(&name, &value()?)?,
                "--lr" => f.lr = number(&name, &value()?)?,
                "--seed" => f.seed = number(&name, &value()?)?,
                "--plot" => f.plot = Some(PathBuf::from(value()?)),
                "--last-case" => f.last_case = number(&name, &value()?)?,
                "--help" | "-h" => return Err(USAGE.to_string()),
                _ => return Err(format!("unknown flag {flag:?}; {USAGE}")),
            }
        }
        if f.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        if !(1..=CASES).contains(&f.last_case) {
            return Err(format!(
                "--last-case must be between 1 and {CASES}, got {}",
                f.last_case
            ));
        }
        if f.plot.is_some() && f.last_case < CASES {
            return Err(format!(
                "--plot draws case {CASES}'s losses: it needs --last-case {CASES}"
            ));
        }
        Ok(f)
    }
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag} {v:?} is not a valid number"))
}
