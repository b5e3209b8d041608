//! Where the data is: one setting for tests, examples and benchmarks.
//!
//! The order is: a `--data` argument, else the `WGRAD_DATA` environment
//! variable, else `../shared/data/mnist` beside the workspace (what CI has).
//! Each names a folder of IDX files or an `mnist.pkl.gz` file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::mnist::is_pickle_name;

/// The environment variable naming the data folder or file.
pub const DATA_ENV: &str = "WGRAD_DATA";

/// The folder where MNIST files are looked for by default.
///
/// This is the `WGRAD_DATA` environment variable when it is set (to the
/// folder holding `train-images-idx3-ubyte.gz`, ... and `mnist.pkl.gz`).
/// Otherwise it is `../shared/data/mnist` next to the workspace root, found
/// from this crate's source location at compile time: the layout used by the
/// tests, the examples and CI. The folder is not checked to exist.
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os(DATA_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // crates/data -> crates -> workspace root -> its parent, holding shared/.
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist"),
    }
}

/// The value of `--data PATH` or `--data=PATH` in `args`, if present.
///
/// ```
/// use wgrad_data::data_arg;
///
/// let args = ["mnist", "--epochs", "2", "--data", "/tmp/mnist"];
/// assert_eq!(data_arg(args)?, Some("/tmp/mnist".into()));
/// # Ok::<(), wgrad_data::DataError>(())
/// ```
///
/// Errors with [`DataError::MissingArgument`] when `--data` is the last
/// argument.
pub fn data_arg<I, S>(args: I) -> Result<Option<PathBuf>>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        if arg == "--data" {
            return match args.next() {
                Some(value) => Ok(Some(PathBuf::from(value))),
                None => Err(DataError::MissingArgument { flag: "--data" }),
            };
        }
        if let Some(value) = arg.to_str().and_then(|a| a.strip_prefix("--data=")) {
            return Ok(Some(PathBuf::from(value)));
        }
    }
    Ok(None)
}

/// The data set to load: `arg` (a `--data` value) if given, else
/// [`default_data_dir`]; checked to be a folder holding
/// `train-images-idx3-ubyte[.gz]` or a `*.pkl.gz`/`*.pkl` file.
///
/// ```no_run
/// use wgrad_data::{Mnist, data_arg, resolve_data_path};
///
/// let path = resolve_data_path(data_arg(std::env::args_os())?)?;
/// let mnist = Mnist::load(&path)?;
/// # Ok::<(), wgrad_data::DataError>(())
/// ```
///
/// Errors with [`DataError::DataNotFound`], naming the path, where it came
/// from, and the three ways to point at the data.
pub fn resolve_data_path(arg: Option<impl AsRef<Path>>) -> Result<PathBuf> {
    let env_set = std::env::var_os(DATA_ENV).is_some_and(|v| !v.is_empty());
    let (path, origin) = match &arg {
        Some(path) => (path.as_ref().to_path_buf(), "--data"),
        None if env_set => (default_data_dir(), DATA_ENV),
        None => (default_data_dir(), "the default ../shared/data/mnist"),
    };
    let not_found = |reason: &str| DataError::DataNotFound {
        path: path.clone(),
        origin,
        reason: reason.into(),
    };
    if path.is_dir() {
        let has_images = ["train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"]
            .iter()
            .any(|name| path.join(name).is_file());
        if !has_images {
            return Err(not_found(
                "the folder has no train-images-idx3-ubyte.gz (nor train-images-idx3-ubyte)",
            ));
        }
    } else if path.is_file() {
        if !is_pickle_name(&path) {
            return Err(not_found(
                "the file is not named *.pkl.gz or *.pkl, and only a folder of IDX files \
                 or a pickle can be loaded",
            ));
        }
    } else {
        return Err(not_found("nothing exists there"));
    }
    Ok(path)
}
