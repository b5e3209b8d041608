//! `cargo xtask bench [--json FILE] [--only NAME_PREFIX]`: matmul GFLOP/s
//! and elementwise add GB/s on the chosen adapter.
//!
//! Every result is timed over several runs after a warm-up (which compiles
//! the pipelines and fills the buffer pool); each run ends with
//! `runtime().synchronize()`, so it measures finished GPU work, not recording.
//! The last lines are one summary per result, `bench <name> <median> <unit>`,
//! for scripts to grep.

use std::time::{Duration, Instant};

use wgrad_tensor::ops::matmul::MatmulKernel;
use wgrad_tensor::{Runtime, Tensor, runtime};

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

/// One benchmark's throughputs over its runs.
struct Measurement {
    name: String,
    unit: &'static str,
    /// Units of work (GFLOP, GB) one call does.
    work: f64,
    /// Throughput of each run, sorted ascending.
    runs: Vec<f64>,
}

impl Measurement {
    fn median(&self) -> f64 {
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
        if wanted(&format!("matmul_{n}")) {
            results.push(bench_matmul(rt, n, false)?);
        }
    }
    // The layout of every Linear layer: x @ w.t() with w stored [out, in].
    if wanted("matmul_1024_bt") {
        results.push(bench_matmul(rt, 1024, true)?);
    }
    if wanted("add") {
        results.push(bench_add(rt)?);
    }
    let mut lines: Vec<crate::bench_data::Line> = results
        .iter()
        .map(|r| (r.name.clone(), r.median(), r.unit))
        .collect();
    if wanted("dataloader") {
        let data = wgrad_data::resolve_data_path(None::<&str>).map_err(|e| e.to_string())?;
        lines.extend(crate::bench_data::run(rt, &data)?);
    }
    for (name, median, unit) in &lines {
        println!("bench {name} {median:.1} {unit}");
    }
    if let Some(path) = json {
        std::fs::write(&path, to_json(rt, kernel, &results))
            .map_err(|e| format!("writing {path}: {e}"))?;
    }
    Ok(())
}

/// Times `op` (work per call: `work` units) over `RUNS` runs; returns
/// units per second of each run.
fn time_runs(rt: &Runtime, work: f64, mut op: impl FnMut()) -> Result<Vec<f64>, String> {
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
    runs.sort_by(f64::total_cmp);
    Ok(runs)
}

/// `[n, n] @ [n, n]` in GFLOP/s (2 n^3 flops); with `transposed_b` the
/// right operand is the `.t()` view of a dense matrix.
fn bench_matmul(rt: &Runtime, n: usize, transposed_b: bool) -> Result<Measurement, String> {
    let a = Tensor::rand(&[n, n]);
    let b = Tensor::rand(&[n, n]);
    let b = if transposed_b { b.t() } else { b };
    let flops = 2.0 * (n as f64).powi(3);
    let work = flops / 1e9;
    let runs = time_runs(rt, work, || drop(a.matmul(&b)))?;
    let suffix = if transposed_b { "_bt" } else { "" };
    let m = Measurement {
        name: format!("matmul_{n}{suffix}"),
        unit: "GFLOP/s",
        work,
        runs,
    };
    print_runs(
        &m,
        &format!(
            "{n}x{n} @ {n}x{n}{}",
            if transposed_b { " (b = w.t())" } else { "" }
        ),
    );
    Ok(m)
}

/// `a + b` over `ADD_ELEMENTS` f32s in GB/s (two reads and one write of 4 bytes each).
fn bench_add(rt: &Runtime) -> Result<Measurement, String> {
    let a = Tensor::rand(&[ADD_ELEMENTS]);
    let b = Tensor::rand(&[ADD_ELEMENTS]);
    let bytes = 3.0 * 4.0 * ADD_ELEMENTS as f64;
    let work = bytes / 1e9;
    let runs = time_runs(rt, work, || drop(&a + &b))?;
    let m = Measurement {
        name: format!("add_{}m", ADD_ELEMENTS >> 20),
        unit: "GB/s",
        work,
        runs,
    };
    print_runs(&m, &format!("{} M elements", ADD_ELEMENTS >> 20));
    Ok(m)
}

fn print_runs(m: &Measurement, what: &str) {
    println!(
        "{:<14} {what}: min {:.2}, median {:.2}, max {:.2} {} over {} runs ({:.0} us per call)",
        m.name,
        m.runs[0],
        m.median(),
        m.runs[m.runs.len() - 1],
        m.unit,
        m.runs.len(),
        1e6 * m.work / m.median()
    );
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
