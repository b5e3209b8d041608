//! Dispatches whose pipelines do not exist yet are held back and encoded,
//! in order, once their pipelines have been created together.
//!
//! Its own test binary: the compile statistics are process-wide, and the op
//! tests would create pipelines alongside it if they shared the process.

use std::sync::Mutex;

use approx::assert_relative_eq;
use wgrad_tensor::{Tensor, runtime};

/// The tests take turns: each counts the pipelines created while it runs.
static SERIAL: Mutex<()> = Mutex::new(());

/// `exp(x) + x`, then its sum over dim 1, then `relu` of that: three
/// dependent kernels, each one's input written by the one before.
fn chain(x: &Tensor) -> (Tensor, Tensor) {
    let y = x.exp().add(x);
    let s = y.sum_dim(1, false).relu();
    (y, s)
}

fn reference(data: &[f32], cols: usize) -> (Vec<f32>, Vec<f32>) {
    let y: Vec<f32> = data.iter().map(|v| v.exp() + v).collect();
    let s = y
        .chunks(cols)
        .map(|row| row.iter().sum::<f32>().max(0.0))
        .collect();
    (y, s)
}

#[test]
fn held_dispatches_run_in_order_after_their_pipelines_are_created() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime().expect("device");
    let (rows, cols) = (37, 129);
    let data: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
        .collect();
    let (want_y, want_s) = reference(&data, cols);
    let x = Tensor::from_slice(&data, &[rows, cols]);
    let before = rt.compile_stats();
    let (y, s) = chain(&x);
    // Reading s encodes the held dispatches (creating their pipelines) and
    // submits them; y, computed first, must hold its values too.
    let got_s = s.to_vec::<f32>().expect("read s");
    let got_y = y.to_vec::<f32>().expect("read y");
    let first = rt.compile_stats();
    assert!(
        first.pipelines >= before.pipelines + 3,
        "the chain's kernels were created on first use: {before:?} -> {first:?}"
    );
    for (got, want) in got_y.iter().zip(&want_y) {
        assert_relative_eq!(*got, *want, max_relative = 1e-5, epsilon = 1e-5);
    }
    for (got, want) in got_s.iter().zip(&want_s) {
        assert_relative_eq!(*got, *want, max_relative = 1e-4, epsilon = 1e-3);
    }

    // The same chain again creates nothing and gives the same values.
    let (_, again) = chain(&x);
    assert_eq!(again.to_vec::<f32>().expect("read again"), got_s);
    assert_eq!(rt.compile_stats().pipelines, first.pipelines);
}

/// Every kernel reaches the driver specialised: its constants applied and
/// the branches they decide cut (`runtime/specialize.rs`). A kernel naga
/// could not specialise would still run, from the whole shader, so only
/// the statistics tell.
#[test]
fn kernels_are_specialised_before_the_driver_sees_them() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime().expect("device");
    let x = Tensor::rand(&[4, 3, 12, 12]);
    let w = Tensor::rand(&[8, 3, 3, 3]);
    // (None of the other test's kernels, which must be new to it.)
    let y = x.conv2d(&w, None, Default::default());
    // Products for the register kernel (with subgroups: its 2 x 4 grid
    // of lanes, and its 1 x 8 row at 20 rows) and three narrow plans (16 x 8
    // blocks; 12 x 4, transposed; one 4 x 4 invocation over a long k).
    let big = Tensor::rand(&[40, 30]).matmul(&Tensor::rand(&[30, 1100]));
    let row = Tensor::rand(&[20, 30]).matmul(&Tensor::rand(&[30, 1100]));
    let wide = Tensor::rand(&[40, 30]).matmul(&Tensor::rand(&[30, 300]));
    let narrow = Tensor::rand(&[64, 20]).matmul(&Tensor::rand(&[20, 10]));
    let one_invocation = Tensor::rand(&[2, 500]).matmul(&Tensor::rand(&[500, 3]));
    for t in [y, big, row, wide, narrow, one_invocation] {
        t.to_vec::<f32>().expect("read");
    }
    let stats = rt.compile_stats();
    assert!(stats.pipelines >= 7, "{stats:?}");
    assert_eq!(stats.unspecialized, 0, "{stats:?}");
}
