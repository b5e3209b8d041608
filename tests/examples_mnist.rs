//! The MNIST examples, run in a reduced form (`--max-batches`), asserting
//! what they print; and their one-line errors for bad input.
//!
//! `cargo test` builds the examples next to this test binary
//! (`target/<profile>/examples/`), so the test runs them directly.

mod common;

use std::path::PathBuf;

use common::{assert_one_error_line, example_path, run_program};

fn example(name: &str) -> PathBuf {
    let path = example_path(name);
    assert!(
        path.exists(),
        "{} is not built: run the whole package's tests (`cargo test -p wgrad` or `cargo test --workspace`), which build the examples",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> (String, String, bool) {
    run_program(&example(name), args, None)
}

/// The number after `key=` on the `result:` line.
fn result_value(stdout: &str, key: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("result:"))
        .unwrap_or_else(|| panic!("no result line in:\n{stdout}"));
    let value = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .expect(key);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value} is not a number"))
}

#[test]
fn mnist_trains_a_few_batches_saves_reloads_and_reports_accuracy() {
    let dir = std::env::temp_dir().join(format!("wgrad-mnist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.safetensors");
    let plot = dir.join("loss.png");
    let model_arg = model.to_str().unwrap();
    let (stdout, stderr, ok) = run(
        "mnist",
        &[
            "--max-batches",
            "40",
            "--save",
            model_arg,
            "--plot",
            plot.to_str().unwrap(),
        ],
    );
    assert!(ok, "mnist failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("(fc): Linear(in_features=256, out_features=10, bias=True)"),
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("test accuracy : "))
        .expect("accuracy line");
    assert!(line.ends_with("%)") && line.contains("/10000 ("), "{line}");
    let accuracy = result_value(&stdout, "test_accuracy");
    // 40 Adam steps of 50 digits already classify most of the test set.
    assert!(accuracy > 0.5, "accuracy {accuracy} after 40 batches");
    assert!(
        std::fs::metadata(&plot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "no plot written"
    );
    // Loading the saved model and training zero batches keeps its accuracy.
    let (stdout, stderr, ok) = run("mnist", &["--max-batches", "0", "--load", model_arg]);
    assert!(ok, "mnist --load failed:\n{stdout}\n{stderr}");
    assert!(
        (result_value(&stdout, "test_accuracy") - accuracy).abs() < 1e-9,
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mnist_logistic_walks_every_stage_of_the_tutorial() {
    let (stdout, stderr, ok) = run("mnist_logistic", &["--max-batches", "30"]);
    assert!(ok, "mnist_logistic failed:\n{stdout}\n{stderr}");
    for stage in [
        "x_train.shape = torch.Size([8000, 784])",
        "preds.shape = torch.Size([64, 10])",
        "from scratch",
        "F.cross_entropy",
        "nn.Module after fit",
        "optim.SGD after",
        "TensorDataset",
        "DataLoader",
    ] {
        assert!(stdout.contains(stage), "missing {stage:?} in:\n{stdout}");
    }
    // `fit` prints "epoch valid_loss" twice; 60 SGD steps at lr 0.5 get well below ln(10) = 2.3.
    let loss = result_value(&stdout, "valid_loss");
    assert!(loss < 1.0, "validation loss {loss}");
}

#[test]
fn mnist_cnn_trains_both_models() {
    let (stdout, stderr, ok) = run("mnist_cnn", &["--max-batches", "10", "--epochs", "1"]);
    assert!(ok, "mnist_cnn failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Mnist_CNN:") && stdout.contains("(0): Lambda()"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(7): AvgPool2d(kernel_size=4, stride=4, padding=0)"),
        "{stdout}"
    );
    let loss = result_value(&stdout, "valid_loss");
    assert!(loss.is_finite() && loss < 2.4, "validation loss {loss}");
}

#[test]
fn bad_input_gives_one_line_and_a_failing_exit_code() {
    let corrupt = std::env::temp_dir().join(format!("wgrad-corrupt-{}.pkl.gz", std::process::id()));
    std::fs::write(&corrupt, b"this is not gzip").unwrap();
    let cases: [(&str, Vec<&str>, &str); 4] = [
        (
            "mnist",
            vec!["--data", "/nonexistent/mnist"],
            "/nonexistent/mnist",
        ),
        ("mnist", vec!["--epochs", "two"], "--epochs"),
        ("mnist_cnn", vec!["--frobnicate"], "--frobnicate"),
        (
            "mnist_logistic",
            vec!["--data", corrupt.to_str().unwrap()],
            "gzip",
        ),
    ];
    for (name, args, needle) in cases {
        assert_one_error_line(name, &args, run(name, &args), needle);
    }
    std::fs::remove_file(&corrupt).ok();
}
