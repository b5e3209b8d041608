//! Reading `linreg.csv`: a header naming the columns `x`, `y` and `split`
//! (in any order, other columns ignored), then one point per line with
//! `split` either `train` or `val`. Errors name the file and the line.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with the data file: where, and what.
#[derive(Debug)]
pub struct DataFileError {
    path: PathBuf,
    /// 1-based line number, when the problem is in the contents.
    line: Option<usize>,
    message: String,
}

impl fmt::Display for DataFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for DataFileError {}

/// The points of the file, in file order.
pub struct Points {
    /// `(x, y, is_training_point)`.
    rows: Vec<(f32, f32, bool)>,
}

impl Points {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Points, DataFileError> {
        let err = |line: Option<usize>, message: String| DataFileError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(None, format!("cannot read the data file: {e}")))?;
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        let (_, header) = lines.next().ok_or_else(|| {
            err(
                None,
                "the file is empty: expected a header `x,y,split`".into(),
            )
        })?;
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let column = |name: &str| {
            names.iter().position(|n| *n == name).ok_or_else(|| {
                err(
                    Some(1),
                    format!("the header {header:?} has no column {name:?}"),
                )
            })
        };
        let (ix, iy, isplit) = (column("x")?, column("y")?, column("split")?);
        let mut rows = Vec::new();
        for (n, line) in lines.filter(|(_, l)| !l.is_empty()) {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != names.len() {
                return Err(err(
                    Some(n),
                    format!(
                        "{} fields where the header has {}",
                        fields.len(),
                        names.len()
                    ),
                ));
            }
            let number = |i: usize| -> Result<f32, DataFileError> {
                let v: f64 = fields[i].parse().map_err(|_| {
                    err(
                        Some(n),
                        format!("{}: {:?} is not a number", names[i], fields[i]),
                    )
                })?;
                if v.is_finite() {
                    Ok(v as f32)
                } else {
                    Err(err(Some(n), format!("{}: {v} is not finite", names[i])))
                }
            };
            let is_train = match fields[isplit] {
                "train" => true,
                "val" => false,
                other => {
                    return Err(err(
                        Some(n),
                        format!("split: {other:?} is neither \"train\" nor \"val\""),
                    ));
                }
            };
            rows.push((number(ix)?, number(iy)?, is_train));
        }
        let train = rows.iter().filter(|r| r.2).count();
        if train < 2 || train == rows.len() {
            return Err(err(
                None,
                format!(
                    "needs at least 2 training and 1 validation point, found {train} and {}",
                    rows.len() - train
                ),
            ));
        }
        Ok(Points { rows })
    }

    /// Every point, `(x, y)`.
    pub fn all(&self) -> impl Iterator<Item = (f32, f32)> + '_ {
        self.rows.iter().map(|&(x, y, _)| (x, y))
    }

    /// The training points, `(x, y)`.
    pub fn train(&self) -> impl Iterator<Item = (f32, f32)> + '_ {
        self.rows.iter().filter(|r| r.2).map(|&(x, y, _)| (x, y))
    }
}
