//! What the example tests share: where cargo put the examples, running
//! one, and the check that bad input gives one error line.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`, from this test binary's `target/<profile>/deps/<name>`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf()
}

/// Where cargo builds example `name` for this test's profile.
pub fn example_path(name: &str) -> PathBuf {
    profile_dir()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs the program at `path` (in `dir` if given): (stdout, stderr, success).
pub fn run_program(path: &Path, args: &[&str], dir: Option<&Path>) -> (String, String, bool) {
    let mut command = Command::new(path);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", path.display()));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&out.stdout), text(&out.stderr), out.status.success())
}

/// Asserts that a run of `name` with `args` failed with exactly one line on
/// stderr (besides the driver's XDG_RUNTIME_DIR notice), `error: ...`
/// containing `needle`, and no panic.
pub fn assert_one_error_line(name: &str, args: &[&str], run: (String, String, bool), needle: &str) {
    let (stdout, stderr, ok) = run;
    assert!(!ok, "{name} {args:?} succeeded:\n{stdout}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{name} {args:?}: expected one line, got:\n{stderr}"
    );
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{name} {args:?}: {}",
        lines[0]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
