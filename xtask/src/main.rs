//! Project tasks: `cargo xtask validate | bench [--json FILE] | loc`.

mod bench;
mod bench_data;
mod bench_train;
mod loc;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("validate") => validate::run(&workspace_root().join("shaders")),
        Some("bench") => bench::run(&args[1..]),
        Some("bench-train") => bench::run_train(&args[1..]),
        Some("loc") => loc::run(&workspace_root()),
        _ => Err("usage: cargo xtask <validate | bench [--json FILE] | loc>".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
