//! `cargo xtask bench [--json FILE] [--only NAME_PREFIX]`: the workloads
//! of issue 7 and per-kernel micro-benchmarks on the chosen adapter.
//!
//! - W1 matmul (GFLOP/s), then micro-benchmarks: conv2d forward and both
//!   backward passes on LeNet's shapes, max-pool backward, softmax,
//!   reductions and elementwise add (GB/s). Each is timed over several
//!   runs after a warm-up (which compiles the pipelines and fills the
//!   buffer pool); each run ends with `runtime().synchronize()`, so it
//!   measures finished GPU work.
//! - W2–W5 (training and inference on MNIST) each run in a child process
//!   (`xtask bench-train NAME`, see `bench_train.rs`) so that their first
//!   epoch is a true cold start.
//!
//! The last lines are one summary per result, `bench <name> <median> <unit>`,
//! for scripts to grep.

use std::time::{Duration, Instant};

use wgrad_tensor::ops::conv::{
    Conv2dOptions, conv2d, conv2d_backward_input, conv2d_backward_weight,
    conv2d_relu_backward_bias, conv2d_relu_backward_weight_bias,
};
use wgrad_tensor::ops::matmul::MatmulKernel;
use wgrad_tensor::ops::optim::{AdamStep, SgdStep};
use wgrad_tensor::ops::optim_foreach::{AdamSlot, SgdSlot, try_adam_foreach_, try_sgd_foreach_};
use wgrad_tensor::ops::pool2d::{MaxPool2dOptions, max_pool2d, max_pool2d_backward};
use wgrad_tensor::{Runtime, Tensor, runtime};

use crate::bench_train::Workload;

const USAGE: &str = "usage: cargo xtask bench [--json FILE] [--only NAME_PREFIX]";

/// Timed runs per result (min, median and max are reported).
const RUNS: usize = 5;
/// A run repeats the op until it has taken at least this long, so that
/// small sizes are not dominated by the cost of one synchronisation.
const MIN_RUN: Duration = Duration::from_millis(200);
/// Square matmul sizes.
const MATMUL_SIZES: [usize; 3] = [256, 1024, 2048];
/// Elements per operand of the add benchmark: 64 MiB each, inside the
/// 128 MiB storage binding limit of lavapipe.
const ADD_ELEMENTS: usize = 16 << 20;

/// One benchmark's results over its runs.
pub struct Measurement {
    pub name: String,
    pub unit: &'static str,
    /// The result of each run, sorted ascending.
    pub runs: Vec<f64>,
}

impl Measurement {
    pub fn new(name: String, unit: &'static str, mut runs: Vec<f64>) -> Measurement {
        runs.sort_by(f64::total_cmp);
        Measurement { name, unit, runs }
    }

    pub fn median(&self) -> f64 {
        self.runs[self.runs.len() / 2]
    }
}

/// Runs the benchmarks; `args` are what follows `bench` on the command line.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut json = None;
    let mut only = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let slot = match arg.as_str() {
            "--json" => &mut json,
            "--only" => &mut only,
            _ => return Err(USAGE.to_string()),
        };
        *slot = Some(rest.next().ok_or(USAGE)?.clone());
    }
    let wanted = |name: &str| only.as_ref().is_none_or(|o| name.starts_with(o.as_str()));
    let rt = runtime().map_err(|e| e.to_string())?;
    println!("adapter: {}", rt.adapter());
    let kernel = MatmulKernel::current();
    println!("matmul kernel: {kernel:?} (WGRAD_MATMUL=register|tiled to choose)");
    let mut results = Vec::new();
    for n in MATMUL_SIZES {
        if wanted(&format!("w1_matmul_{n}")) {
            results.push(bench_matmul(rt, n, false)?);
        }
    }
    // The layout of every Linear layer: x @ w.t() with w stored [out, in].
    if wanted("w1_matmul_1024_bt") {
        results.push(bench_matmul(rt, 1024, true)?);
    }
    results.extend(micro_benchmarks(rt, &wanted)?);
    if wanted("dataloader") {
        let data = wgrad_data::resolve_data_path(None::<&str>).map_err(|e| e.to_string())?;
        for (name, median, unit) in crate::bench_data::run(rt, &data)? {
            results.push(Measurement::new(name, unit, vec![median]));
        }
    }
    for workload in Workload::ALL {
        if wanted(workload.name()) || (workload == Workload::Lenet && wanted("w5")) {
            results.extend(run_child(workload, &[], &[])?);
            results.extend(run_child_with_empty_shader_cache(workload)?);
        }
    }
    for r in &results {
        println!("bench {} {} {}", r.name, format_value(r.median()), r.unit);
    }
    if let Some(path) = json {
        std::fs::write(&path, to_json(rt, kernel, &results))
            .map_err(|e| format!("writing {path}: {e}"))?;
    }
    Ok(())
}

/// Enough digits to read a value of any size.
fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// `xtask bench-train NAME [--training-only]` (the child side): runs one
/// workload (W4 with W5's inference passes, unless `--training-only`) and
/// prints its results as `result <name> <unit> <run> <run> ...` lines.
pub fn run_train(args: &[String]) -> Result<(), String> {
    let usage = "usage: xtask bench-train WORKLOAD [--training-only]";
    let name = args.first().ok_or(usage)?;
    let training_only = match args.get(1).map(String::as_str) {
        None => false,
        Some("--training-only") => true,
        Some(_) => return Err(usage.to_string()),
    };
    let workload = Workload::from_name(name).ok_or(format!("no workload named {name}"))?;
    let rt = runtime().map_err(|e| e.to_string())?;
    let data = wgrad_data::resolve_data_path(None::<&str>).map_err(|e| e.to_string())?;
    let results =
        crate::bench_train::run(rt, workload, &data, training_only).map_err(|e| e.to_string())?;
    for r in results {
        let runs: Vec<String> = r.runs.iter().map(|v| format!("{v}")).collect();
        println!("result {} {} {}", r.name, r.unit, runs.join(" "));
    }
    Ok(())
}

/// The first epoch against warm ones on a machine that has never compiled
/// these kernels: Mesa keeps what LLVM compiled in a disk cache
/// (~/.cache/mesa_shader_cache), so every run after the first on a machine
/// finds its pipelines compiled, and `wN_cold_over_warm` measures that case.
/// Here the child gets an empty cache of its own, two warm epochs and no
/// inference passes (only its first epoch against warm ones is kept).
fn run_child_with_empty_shader_cache(workload: Workload) -> Result<Vec<Measurement>, String> {
    let dir = std::env::temp_dir().join(format!(
        "wgrad-bench-empty-shader-cache-{}-{}",
        std::process::id(),
        workload.name()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let env = [
        ("MESA_SHADER_CACHE_DIR", dir.to_string_lossy().into_owned()),
        ("WGRAD_BENCH_WARM_RUNS", "2".to_string()),
    ];
    println!("{}: again, with an empty shader cache", workload.name());
    let results = run_child(workload, &env, &["--training-only"]);
    // The cache is a few MiB of compiled kernels no later run will look for.
    let _ = std::fs::remove_dir_all(&dir);
    let cold = format!("{}_cold_over_warm", workload.name());
    Ok(results?
        .into_iter()
        .filter(|r| r.name == cold)
        .map(|r| Measurement::new(format!("{cold}_empty_shader_cache"), r.unit, r.runs))
        .collect())
}

/// Runs `workload` in a fresh process with `env` added to its environment
/// and `args` after its name, echoes its report and collects its `result`
/// lines.
fn run_child(
    workload: Workload,
    env: &[(&str, String)],
    args: &[&str],
) -> Result<Vec<Measurement>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["bench-train", workload.name()])
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("starting the {} benchmark: {e}", workload.name()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the {} benchmark failed:\n{stdout}",
            workload.name()
        ));
    }
    let mut results = Vec::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("result ") else {
            println!("{line}");
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (Some(name), Some(unit)) = (fields.next(), fields.next()) else {
            return Err(format!("bad result line: {line}"));
        };
        let runs = fields
            .map(str::parse)
            .collect::<Result<Vec<f64>, _>>()
            .map_err(|e| format!("bad result line {line}: {e}"))?;
        let unit = UNITS
            .iter()
            .find(|u| **u == unit)
            .ok_or(format!("unknown unit in {line}"))?;
        results.push(Measurement::new(name.to_string(), unit, runs));
    }
    Ok(results)
}

/// The units a child may report.
const UNITS: [&str; 7] = [
    "samples/s",
    "x",
    "%",
    "buffers",
    "MiB",
    "submissions",
    "dispatches",
];

/// Times `op` over `RUNS` runs and reports `work` units per call as a
/// throughput (units per second) of each run.
fn time_runs(
    rt: &Runtime,
    name: String,
    unit: &'static str,
    work: f64,
    what: &str,
    mut op: impl FnMut(),
) -> Result<Measurement, String> {
    let sync = || rt.synchronize().map_err(|e| e.to_string());
    let timed = |calls: usize, op: &mut dyn FnMut()| -> Result<Duration, String> {
        let start = Instant::now();
        for _ in 0..calls {
            op();
        }
        sync()?;
        Ok(start.elapsed())
    };
    // Warm-up (compiles the pipelines), then double the calls per run until
    // a run is long enough that one synchronisation does not dominate it.
    timed(1, &mut op)?;
    let mut calls = 1;
    let mut took = timed(calls, &mut op)?;
    while took < MIN_RUN / 4 {
        calls *= 2;
        took = timed(calls, &mut op)?;
    }
    let calls = ((calls as f64) * MIN_RUN.as_secs_f64() / took.as_secs_f64()).ceil() as usize;
    let mut runs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let took = timed(calls, &mut op)?;
        runs.push(work * calls as f64 / took.as_secs_f64());
    }
    let m = Measurement::new(name, unit, runs);
    println!(
        "{:<28} {what}: min {:.2}, median {:.2}, max {:.2} {} over {} runs ({:.0} us per call)",
        m.name,
        m.runs[0],
        m.median(),
        m.runs[m.runs.len() - 1],
        m.unit,
        m.runs.len(),
        1e6 * work / m.median()
    );
    Ok(m)
}

/// W1: `[n, n] @ [n, n]` in GFLOP/s (2 n^3 flops); with `transposed_b` the
/// right operand is the `.t()` view of a dense matrix.
fn bench_matmul(rt: &Runtime, n: usize, transposed_b: bool) -> Result<Measurement, String> {
    let a = Tensor::rand(&[n, n]);
    let b = Tensor::rand(&[n, n]);
    let b = if transposed_b { b.t() } else { b };
    let work = 2.0 * (n as f64).powi(3) / 1e9;
    let suffix = if transposed_b { "_bt" } else { "" };
    let what = format!(
        "{n}x{n} @ {n}x{n}{}",
        if transposed_b { " (b = w.t())" } else { "" }
    );
    time_runs(
        rt,
        format!("w1_matmul_{n}{suffix}"),
        "GFLOP/s",
        work,
        &what,
        || drop(a.matmul(&b)),
    )
}

/// A matmul operand of the micro-benchmarks: its shape, and whether it is
/// read through `.t()` (made in that shape, then transposed).
type OperandSpec = (&'static [usize], bool);

/// Per-kernel benchmarks: the convolutions of W3/W4 and the kernels every
/// training step runs.
fn micro_benchmarks(
    rt: &Runtime,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<Measurement>, String> {
    let mut out = Vec::new();
    // LeNet's two convolutions at W4's batch size, and W3's three.
    let convs = [
        (
            "lenet_conv1",
            [50, 1, 28, 28],
            [6, 1, 5, 5],
            Conv2dOptions::default(),
        ),
        (
            "lenet_conv2",
            [50, 6, 12, 12],
            [16, 6, 5, 5],
            Conv2dOptions::default(),
        ),
        (
            "cnn3_conv1",
            [64, 1, 28, 28],
            [16, 1, 3, 3],
            Conv2dOptions {
                stride: (2, 2),
                padding: (1, 1),
                ..Conv2dOptions::default()
            },
        ),
        (
            "cnn3_conv2",
            [64, 16, 14, 14],
            [16, 16, 3, 3],
            Conv2dOptions {
                stride: (2, 2),
                padding: (1, 1),
                ..Conv2dOptions::default()
            },
        ),
        (
            "cnn3_conv3",
            [64, 16, 7, 7],
            [10, 16, 3, 3],
            Conv2dOptions {
                stride: (2, 2),
                padding: (1, 1),
                ..Conv2dOptions::default()
            },
        ),
    ];
    for (label, x_shape, w_shape, opts) in convs {
        let x = Tensor::rand(&x_shape);
        let w = Tensor::rand(&w_shape);
        let y = conv2d(&x, &w, None, opts);
        let dy = Tensor::rand(y.shape());
        let [n, c_out, oh, ow] = [y.shape()[0], y.shape()[1], y.shape()[2], y.shape()[3]];
        let [_, cin_g, kh, kw] = w_shape;
        let work = 2.0 * (n * c_out * oh * ow * cin_g * kh * kw) as f64 / 1e9;
        let what = format!("x {x_shape:?}, w {w_shape:?}");
        if wanted(&format!("conv2d_forward_{label}")) {
            out.push(time_runs(
                rt,
                format!("conv2d_forward_{label}"),
                "GFLOP/s",
                work,
                &what,
                || drop(conv2d(&x, &w, None, opts)),
            )?);
        }
        if wanted(&format!("conv2d_backward_input_{label}")) {
            let name = format!("conv2d_backward_input_{label}");
            out.push(time_runs(rt, name, "GFLOP/s", work, &what, || {
                drop(conv2d_backward_input(&dy, &w, &x_shape, opts))
            })?);
        }
        if wanted(&format!("conv2d_backward_weight_{label}")) {
            let name = format!("conv2d_backward_weight_{label}");
            out.push(time_runs(rt, name, "GFLOP/s", work, &what, || {
                drop(conv2d_backward_weight(&dy, &x, &w_shape, opts))
            })?);
        }
        // ReLU's backward with the bias gradient (Conv2d + ReLU layers):
        // reads dy and y, writes dx.
        if wanted(&format!("conv2d_relu_backward_bias_{label}")) {
            let name = format!("conv2d_relu_backward_bias_{label}");
            let bytes = 12.0 * y.numel() as f64 / 1e9;
            let what = format!("dy {:?}", y.shape());
            out.push(time_runs(rt, name, "GB/s", bytes, &what, || {
                drop(conv2d_relu_backward_bias(&dy, &y))
            })?);
        }
        // A Conv2d + ReLU layer's weight and bias gradients where its input
        // needs none (a first layer): one pass where the first-layer kernel
        // takes it, else the two above. GFLOP/s of the weight gradient.
        if wanted(&format!("conv2d_relu_backward_weight_bias_{label}")) {
            let name = format!("conv2d_relu_backward_weight_bias_{label}");
            let y = y.relu();
            out.push(time_runs(rt, name, "GFLOP/s", work, &what, || {
                drop(conv2d_relu_backward_weight_bias(
                    &dy, &y, &x, &w_shape, opts,
                ))
            })?);
        }
    }
    // Small products of the workloads: W2's Linear(784, 10) forward and
    // weight gradient (from a dense [10, 64] and, as autograd has it, from
    // the loss gradient [64, 10] transposed), W5's Linear(256, 10) over
    // 1,000 images, W4's Linear(256, 10) at batch 50 (forward and both
    // gradients), and a LeNet conv2 as a batched GEMM. An operand marked
    // transposed is made in the shape given and read through `.t()`.
    let (plain, transposed) = (false, true);
    let small: [(&str, OperandSpec, OperandSpec); 10] = [
        (
            "w2_linear_forward",
            (&[64, 784], plain),
            (&[10, 784], transposed),
        ),
        (
            "w5_linear_forward",
            (&[1000, 256], plain),
            (&[10, 256], transposed),
        ),
        (
            "w2_linear_weight_grad",
            (&[10, 64], plain),
            (&[64, 784], plain),
        ),
        (
            "w2_linear_weight_grad_gt",
            (&[64, 10], transposed),
            (&[64, 784], plain),
        ),
        (
            "w4_linear_forward",
            (&[50, 256], plain),
            (&[10, 256], transposed),
        ),
        (
            "w4_linear_input_grad",
            (&[50, 10], plain),
            (&[10, 256], plain),
        ),
        (
            "w4_linear_weight_grad_gt",
            (&[50, 10], transposed),
            (&[50, 256], plain),
        ),
        (
            "lenet_conv2_gemm",
            (&[16, 150], plain),
            (&[50, 150, 64], plain),
        ),
        (
            "lenet_conv2_gemm_flat",
            (&[16, 150], plain),
            (&[150, 3200], plain),
        ),
        (
            "lenet_conv2_gemm_flat_t",
            (&[3200, 150], plain),
            (&[16, 150], transposed),
        ),
    ];
    let operand = |(shape, t): OperandSpec| {
        let m = Tensor::rand(shape);
        if t { m.t() } else { m }
    };
    for (label, a_spec, b_spec) in small {
        let name = format!("matmul_{label}");
        if !wanted(&name) {
            continue;
        }
        let (a, b) = (operand(a_spec), operand(b_spec));
        let c = a.matmul(&b);
        let k = a.shape()[a.dim() - 1];
        let work = 2.0 * (c.numel() * k) as f64 / 1e9;
        let what = format!("{:?} @ {:?}", a.shape(), b.shape());
        out.push(time_runs(rt, name, "GFLOP/s", work, &what, || {
            drop(a.matmul(&b))
        })?);
    }
    // One SGD-with-momentum step over CNN3's six parameters: all in a few
    // dispatches (foreach) or one dispatch per parameter.
    if wanted("optim") {
        let shapes: [&[usize]; 6] = [
            &[16, 1, 3, 3],
            &[16],
            &[16, 16, 3, 3],
            &[16],
            &[10, 16, 3, 3],
            &[10],
        ];
        let tensors: Vec<[Tensor; 3]> = shapes
            .iter()
            .map(|s| [Tensor::rand(s), Tensor::rand(s), Tensor::zeros(s)])
            .collect();
        let step = SgdStep {
            lr: 0.1,
            momentum: 0.9,
            ..SgdStep::default()
        };
        let slots: Vec<SgdSlot<'_>> = tensors
            .iter()
            .map(|[p, g, b]| SgdSlot {
                param: p,
                grad: g,
                momentum_buffer: Some(b),
                first_step: false,
            })
            .collect();
        let what = "CNN3's 6 parameters, momentum 0.9";
        out.push(time_runs(
            rt,
            "optim_sgd_foreach_cnn3".into(),
            "steps/s",
            1.0,
            what,
            || try_sgd_foreach_(&slots, &step).expect("valid slots"),
        )?);
        out.push(time_runs(
            rt,
            "optim_sgd_each_cnn3".into(),
            "steps/s",
            1.0,
            what,
            || {
                for [p, g, b] in &tensors {
                    p.sgd_(g, Some(b), &step);
                }
            },
        )?);
    }
    // W2's update: plain SGD (no momentum) over Linear(784, 10)'s weight
    // and bias, one dispatch.
    if wanted("optim") {
        let tensors: Vec<[Tensor; 2]> = [&[10, 784][..], &[10]]
            .iter()
            .map(|s| [Tensor::rand(s), Tensor::rand(s)])
            .collect();
        let step = SgdStep {
            lr: 0.5,
            ..SgdStep::default()
        };
        let slots: Vec<SgdSlot<'_>> = tensors
            .iter()
            .map(|[p, g]| SgdSlot {
                param: p,
                grad: g,
                momentum_buffer: None,
                first_step: false,
            })
            .collect();
        out.push(time_runs(
            rt,
            "optim_sgd_foreach_w2".into(),
            "steps/s",
            1.0,
            "Linear(784, 10)'s 2 parameters, no momentum",
            || try_sgd_foreach_(&slots, &step).expect("valid slots"),
        )?);
    }
    // One Adam step over LeNet's six parameters, the step number growing.
    if wanted("optim") {
        let shapes: [&[usize]; 6] = [
            &[6, 1, 5, 5],
            &[6],
            &[16, 6, 5, 5],
            &[16],
            &[10, 256],
            &[10],
        ];
        let tensors: Vec<[Tensor; 4]> = shapes
            .iter()
            .map(|s| {
                [
                    Tensor::rand(s),
                    Tensor::rand(s),
                    Tensor::zeros(s),
                    Tensor::zeros(s),
                ]
            })
            .collect();
        let what = "LeNet's 6 parameters";
        let mut step = 0;
        out.push(time_runs(
            rt,
            "optim_adam_foreach_lenet".into(),
            "steps/s",
            1.0,
            what,
            || {
                step += 1;
                let slots: Vec<AdamSlot<'_>> = tensors
                    .iter()
                    .map(|[p, g, m, v]| AdamSlot {
                        param: p,
                        grad: g,
                        exp_avg: m,
                        exp_avg_sq: v,
                        max_exp_avg_sq: None,
                        step,
                    })
                    .collect();
                try_adam_foreach_(&slots, &AdamStep::default()).expect("valid slots")
            },
        )?);
        let mut step = 0;
        out.push(time_runs(
            rt,
            "optim_adam_each_lenet".into(),
            "steps/s",
            1.0,
            what,
            || {
                step += 1;
                let s = AdamStep {
                    step,
                    ..AdamStep::default()
                };
                for [p, g, m, v] in &tensors {
                    p.adam_(g, m, v, None, &s);
                }
            },
        )?);
    }
    // Softmax over the rows of a [4096, 1024] matrix: one read, one write.
    if wanted("softmax") {
        let x = Tensor::rand(&[4096, 1024]);
        let work = 2.0 * 4.0 * x.numel() as f64 / 1e9;
        out.push(time_runs(
            rt,
            "softmax_4096x1024".into(),
            "GB/s",
            work,
            "rows of 1024",
            || drop(x.softmax(-1)),
        )?);
    }
    // MaxPool2d(2)'s backward over LeNet's first pooling: reads dy and the
    // indices, writes dx (four times their size).
    if wanted("max_pool2d_backward") {
        let opts = MaxPool2dOptions::new((2, 2));
        let x = Tensor::rand(&[50, 6, 24, 24]);
        let (y, indices) = max_pool2d(&x, opts);
        let dy = y.rand_like();
        let work = 4.0 * (2 * y.numel() + x.numel()) as f64 / 1e9;
        out.push(time_runs(
            rt,
            "max_pool2d_backward_lenet_pool1".into(),
            "GB/s",
            work,
            "x [50, 6, 24, 24], 2 x 2",
            || drop(max_pool2d_backward(&dy, &indices, x.shape(), opts)),
        )?);
    }
    let big = Tensor::rand(&[ADD_ELEMENTS]);
    if wanted("sum") {
        let work = 4.0 * ADD_ELEMENTS as f64 / 1e9;
        let what = format!("{} M elements", ADD_ELEMENTS >> 20);
        out.push(time_runs(
            rt,
            "sum_16m".into(),
            "GB/s",
            work,
            &what,
            || drop(big.sum()),
        )?);
    }
    if wanted("sum_dim") {
        let x = Tensor::rand(&[4096, 1024]);
        let work = 4.0 * x.numel() as f64 / 1e9;
        out.push(time_runs(
            rt,
            "sum_dim0_4096x1024".into(),
            "GB/s",
            work,
            "over rows",
            || drop(x.sum_dim(0, false)),
        )?);
    }
    if wanted("add") {
        let b = Tensor::rand(&[ADD_ELEMENTS]);
        // Two reads and one write of 4 bytes each.
        let work = 3.0 * 4.0 * ADD_ELEMENTS as f64 / 1e9;
        let what = format!("{} M elements", ADD_ELEMENTS >> 20);
        out.push(time_runs(
            rt,
            "add_16m".into(),
            "GB/s",
            work,
            &what,
            || drop(&big + &b),
        )?);
    }
    if wanted("add_small") {
        // A bias-sized add: what a dispatch costs when it does almost nothing.
        let a = Tensor::rand(&[64, 10]);
        let b = Tensor::rand(&[10]);
        let work = 3.0 * 4.0 * a.numel() as f64 / 1e9;
        out.push(time_runs(
            rt,
            "add_small_64x10".into(),
            "GB/s",
            work,
            "broadcast bias",
            || drop(&a + &b),
        )?);
    }
    Ok(out)
}

/// The results as JSON (written by hand: one flat schema, no serde needed).
fn to_json(rt: &Runtime, kernel: MatmulKernel, results: &[Measurement]) -> String {
    let entries: Vec<String> = results
        .iter()
        .map(|r| {
            let runs: Vec<String> = r.runs.iter().map(|v| format!("{v:.4}")).collect();
            format!(
                "    {{\"name\": {}, \"unit\": {}, \"median\": {:.4}, \"min\": {:.4}, \"max\": {:.4}, \"runs\": [{}]}}",
                quote(&r.name),
                quote(r.unit),
                r.median(),
                r.runs[0],
                r.runs[r.runs.len() - 1],
                runs.join(", ")
            )
        })
        .collect();
    format!(
        "{{\n  \"adapter\": {},\n  \"matmul_kernel\": {},\n  \"results\": [\n{}\n  ]\n}}\n",
        quote(&rt.adapter().to_string()),
        quote(&format!("{kernel:?}")),
        entries.join(",\n")
    )
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
