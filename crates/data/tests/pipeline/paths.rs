//! Finding the data: the `--data` argument and what happens when it is wrong.

use std::path::PathBuf;

use wgrad_data::{DataError, data_arg, resolve_data_path};

use crate::{TempDir, assert_mentions, mnist_dir};

#[test]
fn data_arg_reads_both_spellings_and_refuses_a_missing_value() {
    let found = data_arg(["prog", "--epochs", "3", "--data", "/d/mnist"]).expect("valid");
    assert_eq!(found, Some(PathBuf::from("/d/mnist")));
    let found = data_arg(["prog", "--data=/d/mnist.pkl.gz"]).expect("valid");
    assert_eq!(found, Some(PathBuf::from("/d/mnist.pkl.gz")));
    assert_eq!(data_arg(["prog", "--epochs", "3"]).expect("valid"), None);

    let err = data_arg(["prog", "--data"]).expect_err("no value");
    assert!(
        matches!(err, DataError::MissingArgument { flag: "--data" }),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["--data needs a value"]);
}

#[test]
fn resolve_data_path_accepts_an_idx_folder_and_a_pickle() {
    let dir = mnist_dir();
    assert_eq!(resolve_data_path(Some(&dir)).expect("IDX folder"), dir);
    let pickle = dir.join("mnist.pkl.gz");
    assert_eq!(resolve_data_path(Some(&pickle)).expect("pickle"), pickle);
}

#[test]
fn resolve_data_path_says_what_to_do_when_the_data_is_missing() {
    let tmp = TempDir::new("resolve");
    let missing = tmp.path().join("mnist");
    let err = resolve_data_path(Some(&missing)).expect_err("nothing there");
    assert!(
        matches!(
            err,
            DataError::DataNotFound {
                origin: "--data",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(
        &err.to_string(),
        &[
            &missing.display().to_string(),
            "nothing exists there",
            "Pass --data",
            "WGRAD_DATA",
            "Mnist::download",
        ],
    );

    let err = resolve_data_path(Some(tmp.path())).expect_err("an empty folder");
    assert_mentions(&err.to_string(), &["no train-images-idx3-ubyte.gz"]);

    let csv = tmp.file("data.csv", b"x,y\n");
    let err = resolve_data_path(Some(&csv)).expect_err("not a pickle");
    assert_mentions(&err.to_string(), &["not named *.pkl.gz"]);
}
