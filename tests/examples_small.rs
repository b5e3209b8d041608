//! The tutorial examples `tensors`, `neural_net` and `linear_regression`,
//! run (reduced where a flag allows) asserting what they print, and their
//! one-line errors for bad input.
//!
//! `cargo test` builds the examples next to this test binary
//! (`target/<profile>/examples/`); the test makes sure they are current
//! (one `cargo build` of the three, a no-op after `cargo test`, which also
//! covers `cargo test --test examples_small`) and runs them directly.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use common::{assert_one_error_line, example_path, profile_dir, run_program};

const EXAMPLES: [&str; 3] = ["tensors", "neural_net", "linear_regression"];

/// Builds the three examples in this test's profile, once per process.
fn build_examples() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut cargo = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cargo
            .args(["build", "--quiet", "--manifest-path"])
            .arg(manifest);
        if profile_dir().file_name().is_some_and(|p| p == "release") {
            cargo.arg("--release");
        }
        for name in EXAMPLES {
            cargo.args(["--example", name]);
        }
        let status = cargo.status().expect("running cargo build");
        assert!(status.success(), "cargo build of the examples failed");
    });
}

fn example(name: &str) -> PathBuf {
    build_examples();
    example_path(name)
}

/// The repository root, where `../shared/data` is the examples' default.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The linear-regression data beside the checkout.
fn linreg_csv() -> PathBuf {
    repo_root().join("../shared/data/linreg/linreg.csv")
}

/// Runs an example from the repository root: (stdout, stderr, success).
fn run(name: &str, args: &[&str]) -> (String, String, bool) {
    run_program(&example(name), args, Some(&repo_root()))
}

/// Asserts that `block` (lines) appears in `stdout`.
fn assert_prints(stdout: &str, block: &str) {
    assert!(stdout.contains(block), "missing\n{block}\nin:\n{stdout}");
}

#[test]
fn tensors_prints_the_tutorials_tensors_where_they_are_not_random() {
    let (stdout, stderr, ok) = run("tensors", &[]);
    assert!(ok, "tensors failed:\n{stdout}\n{stderr}");
    // i32 is wgrad's integer type, so every integer tensor names its dtype.
    assert_prints(
        &stdout,
        "tensor([[1, 2],\n        [3, 4]], dtype=torch.int32)\ntensor([[1, 2],\n        [3, 4]], dtype=torch.int32)\n",
    );
    assert_prints(
        &stdout,
        "tensor([[1, 1],\n        [1, 1]], dtype=torch.int32)\ntensor([[0, 0],\n        [0, 0]], dtype=torch.int32)\n",
    );
    assert_prints(
        &stdout,
        "Ones Tensor: \n tensor([[1., 1., 1.],\n        [1., 1., 1.]]) \n",
    );
    assert_prints(
        &stdout,
        "shape: torch.Size([3, 4])\ndata type: torch.float32\ndevice: ",
    );
    assert_prints(
        &stdout,
        "First row: tensor([1., 1., 1., 1.])\nFirst column: tensor([1., 1., 1., 1.])\nLast column: tensor([1., 1., 1., 1.])\n",
    );
    let row = |r: &str, n: usize| vec![r; n].join(",\n        ");
    // tensor[:, 1] = 0, then torch.cat along dims 1 and 0.
    let zeroed = format!("tensor([{}])\n", row("[1., 0., 1., 1.]", 4));
    assert_prints(&stdout, &zeroed);
    assert_prints(
        &stdout,
        &format!(
            "tensor([{}])\n",
            row("[1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.]", 4)
        ),
    );
    assert_prints(
        &stdout,
        &format!("tensor([{}])\n", row("[1., 0., 1., 1.]", 12)),
    );
    // mul and * keep the zero column; matmul sums three ones per entry.
    assert_prints(&stdout, &format!("{zeroed}{zeroed}"));
    let products = format!("tensor([{}])\n", row("[3., 0., 3., 3.]", 4));
    assert_prints(
        &stdout,
        &format!(
            "{products}{products}tensor([{}])\n",
            row("[3., 3., 3., 3.]", 4)
        ),
    );
    // + 5, add(5), then add_(5) in place.
    let plus5 = format!("tensor([{}])\n", row("[6., 5., 6., 6.]", 4));
    let plus10 = format!("tensor([{}])\n", row("[11., 10., 11., 11.]", 4));
    assert_prints(&stdout, &format!("{plus5}{plus5}{plus10}{plus10}"));
    assert!(stdout.ends_with("tensor([1., 1., 1., 1., 1.])\n[1. 1. 1. 1. 1.]\n[6. 6. 6. 6. 6.]\ntensor([7., 7., 7., 7., 7.])\n"), "{stdout}");
}

#[test]
fn neural_net_prints_lenet_its_grad_fn_chain_and_one_sgd_step_lowers_the_loss() {
    let (stdout, stderr, ok) = run("neural_net", &[]);
    assert!(ok, "neural_net failed:\n{stdout}\n{stderr}");
    assert_prints(
        &stdout,
        "Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n  (fc1): Linear(in_features=400, out_features=120, bias=True)\n  (fc2): Linear(in_features=120, out_features=84, bias=True)\n  (fc3): Linear(in_features=84, out_features=10, bias=True)\n)\n10\ntorch.Size([6, 1, 5, 5])\n",
    );
    assert!(
        stdout.contains("]], grad_fn=<AddmmBackward0>)\n"),
        "{stdout}"
    );
    // PyTorch's chain for this net (it names the flatten ReshapeAliasBackward0
    // in older versions, ViewBackward0 in newer ones).
    let chain = [
        "MseLossBackward0",
        "AddmmBackward0",
        "ReluBackward0",
        "AddmmBackward0",
        "ReluBackward0",
        "AddmmBackward0",
        "ViewBackward0",
        "MaxPool2DWithIndicesBackward0",
    ];
    let chain: Vec<String> = chain.iter().map(|n| format!("<{n}>")).collect();
    assert_prints(
        &stdout,
        &format!("grad_fn=<MseLossBackward0>)\n{}\n", chain.join("\n")),
    );
    assert_prints(
        &stdout,
        "conv1.bias.grad before backward\ntensor([0., 0., 0., 0., 0., 0.])\nconv1.bias.grad after backward\ntensor([",
    );
    let after = stdout
        .lines()
        .skip_while(|l| *l != "conv1.bias.grad after backward")
        .nth(1)
        .expect("bias gradient line");
    assert_ne!(
        after, "tensor([0., 0., 0., 0., 0., 0.])",
        "backward left conv1.bias.grad at zero"
    );
    let loss = |prefix: &str| -> f32 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{stdout}"));
        line[prefix.len()..]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{line}"))
    };
    let (before, after) = (
        loss("loss before the SGD step:"),
        loss("loss after the SGD step:"),
    );
    assert!(
        after < before,
        "one SGD step with lr 0.01 did not lower the loss: {before} -> {after}"
    );
}

/// The `a = X, b = Y` result of each `== Case N` section, in order.
fn case_results(stdout: &str) -> Vec<(u32, f64, f64)> {
    let mut case = 0;
    let mut out = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("== Case ") {
            case = rest
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("case number");
        } else if let Some((a, b)) = line
            .strip_prefix("a = ")
            .and_then(|r| r.split_once(", b = "))
        {
            out.push((case, a.parse().expect("a"), b.parse().expect("b")));
        }
    }
    out
}

/// The training points of linreg.csv, read with the plainest code.
fn training_points() -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(linreg_csv()).expect("linreg.csv");
    assert!(text.starts_with("x,y,split\n"), "unexpected header");
    let rows = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>());
    rows.filter(|r| r[2] == "train")
        .map(|r| (r[0].parse().unwrap(), r[1].parse().unwrap()))
        .collect()
}

/// Full-batch gradient descent on y ≈ a + b·x with the tutorial's
/// gradients: da = -2·mean(e), db = -2·mean(x·e), e = y - (a + b·x).
fn gradient_descent(
    points: &[(f64, f64)],
    (mut a, mut b): (f64, f64),
    lr: f64,
    epochs: usize,
) -> (f64, f64) {
    let n = points.len() as f64;
    for _ in 0..epochs {
        let errors = points.iter().map(|&(x, y)| (x, y - (a + b * x)));
        let (da, db) = errors.fold((0.0, 0.0), |(da, db), (x, e)| {
            (da - 2.0 * e / n, db - 2.0 * x * e / n)
        });
        (a, b) = (a - lr * da, b - lr * db);
    }
    (a, b)
}

#[test]
fn linear_regression_full_batch_cases_reach_the_tutorials_a_and_b_after_1000_epochs() {
    // Cases 1 to 6 need no matrix product, so the tutorial's 1000 epochs are
    // quick; the default --data (../shared from the repository root) is used.
    let (stdout, stderr, ok) = run("linear_regression", &["--last-case", "6"]);
    assert!(ok, "linear_regression failed:\n{stdout}\n{stderr}");
    let results = case_results(&stdout);
    assert_eq!(
        results.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6],
        "{stdout}"
    );
    for (case, a, b) in results {
        // The tutorial's numpy result and the data's least-squares fit agree to 4e-7.
        assert!(
            (a - 1.02354).abs() < 1e-3 && (b - 1.96896).abs() < 1e-3,
            "case {case}: a = {a}, b = {b}"
        );
    }
    assert_prints(
        &stdout,
        "tensor([0.1940], requires_grad=True) tensor([0.1391], requires_grad=True)\ntensor([1.0235], requires_grad=True) tensor([1.9690], requires_grad=True)\n",
    );
    assert_prints(
        &stdout,
        "OrderedDict([('a', tensor([0.3367])), ('b', tensor([0.1288]))])\nOrderedDict([('a', tensor([1.0235])), ('b', tensor([1.9690]))])\n",
    );
    assert!(
        !stdout.contains("== Case 7"),
        "--last-case 6 ran on:\n{stdout}"
    );
}

#[test]
fn linear_regression_cases_match_plain_gradient_descent_and_mini_batches_learn() {
    let epochs = 30;
    let plot = std::env::temp_dir().join(format!("wgrad-linreg-{}.png", std::process::id()));
    let data = linreg_csv();
    let args = [
        "--epochs",
        "30",
        "--data",
        data.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ];
    let (stdout, stderr, ok) = run("linear_regression", &args);
    assert!(ok, "linear_regression failed:\n{stdout}\n{stderr}");
    let points = training_points();
    assert_eq!(points.len(), 80);
    let gd = |start, epochs| gradient_descent(&points, start, 0.1, epochs);
    let tutorial_start = (0.1940, 0.1391);
    // Cases 7 and 8 start from nn.Linear's printed weight 0.7645 and bias 0.8300;
    // case 9 trains case 8's model for another `epochs`.
    let expected = [
        (1, gd((0.496_714_15, -0.138_264_3), epochs)),
        (2, (1.023_540_75, 1.968_964_47)), // least squares (shared/data/README.md)
        (3, gd(tutorial_start, epochs)),
        (4, gd(tutorial_start, epochs)),
        (5, gd(tutorial_start, epochs)),
        (6, gd((0.3367, 0.1288), epochs)),
        (7, gd((0.8300, 0.7645), epochs)),
        (8, gd((0.8300, 0.7645), epochs)),
        (9, gd((0.8300, 0.7645), 2 * epochs)),
    ];
    let results = case_results(&stdout);
    assert_eq!(
        results.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12],
        "{stdout}"
    );
    for ((case, a, b), (want_case, (want_a, want_b))) in results.iter().zip(expected) {
        assert_eq!(*case, want_case);
        let close = (a - want_a).abs() < 2e-5 && (b - want_b).abs() < 2e-5;
        assert!(
            close,
            "case {case}: a = {a}, b = {b}; plain gradient descent gives {want_a:.5}, {want_b:.5}"
        );
    }
    // The first training point of the file, as TensorDataset's item 0.
    assert_prints(
        &stdout,
        "== Case 10: TensorDataset ==\n(tensor([0.3745]), tensor([1.7578]))\n",
    );
    assert_prints(
        &stdout,
        "OrderedDict([('0.weight', tensor([[-0.9676]])), ('0.bias', tensor([-0.5727]))])\n",
    );
    // Case 12 prints both losses every 3 epochs; mini-batch SGD lowers them.
    let losses: Vec<(f64, f64)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("epoch ")?.split_once(": train loss "))
        .map(|(_, rest)| {
            rest.split_once(", validation loss ")
                .map(|(t, v)| (t.parse().unwrap(), v.parse().unwrap()))
                .expect("two losses")
        })
        .collect();
    assert_eq!(losses.len(), 11, "{stdout}");
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(
        last.0 < first.0 / 10.0 && last.1 < first.1 / 10.0,
        "losses {first:?} -> {last:?}"
    );
    // The noise has variance 0.01, so a fitted line cannot do much better.
    assert!(
        last.1 > 0.002,
        "validation loss {} is below the noise",
        last.1
    );
    let size = std::fs::metadata(&plot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "no plot written ({size} bytes)");
    std::fs::remove_file(&plot).ok();
}

#[test]
fn bad_input_gives_one_line_naming_the_problem_and_a_failing_exit_code() {
    let dir = std::env::temp_dir().join(format!("wgrad-linreg-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_number = dir.join("bad_number.csv");
    std::fs::write(&bad_number, "x,y,split\n0.5,2.0,train\n0.25,abc,train\n").unwrap();
    let no_split = dir.join("no_split.csv");
    std::fs::write(&no_split, "x,y\n0.5,2.0\n").unwrap();
    let (bad_number, no_split) = (bad_number.to_str().unwrap(), no_split.to_str().unwrap());
    let cases: [(&str, Vec<&str>, String); 6] = [
        (
            "linear_regression",
            vec!["--data", "/nonexistent/linreg.csv"],
            "/nonexistent/linreg.csv: cannot read".into(),
        ),
        (
            "linear_regression",
            vec!["--data", bad_number],
            format!("{bad_number}:3: y: \"abc\" is not a number"),
        ),
        (
            "linear_regression",
            vec!["--data", no_split],
            "has no column \"split\"".into(),
        ),
        (
            "linear_regression",
            vec!["--last-case", "13"],
            "--last-case".into(),
        ),
        ("tensors", vec!["--seed", "x"], "--seed".into()),
        ("neural_net", vec!["--frobnicate"], "--frobnicate".into()),
    ];
    for (name, args, needle) in cases {
        assert_one_error_line(name, &args, run(name, &args), &needle);
    }
    std::fs::remove_dir_all(&dir).ok();
}
