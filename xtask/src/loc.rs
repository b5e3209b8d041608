//! `cargo xtask loc`: lines per source file, longest first, with the ones
//! over the soft budget of 400 lines marked.

use std::path::Path;

const BUDGET: usize = 400;

pub fn run(root: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    for dir in ["crates", "shaders", "xtask", "examples", "tests"] {
        collect(&root.join(dir), &mut files);
    }
    let mut counted: Vec<(usize, String)> = files
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let shown = p.strip_prefix(root).unwrap_or(p).display().to_string();
            Some((text.lines().count(), shown))
        })
        .collect();
    counted.sort_by(|a, b| b.cmp(a));
    let total: usize = counted.iter().map(|(n, _)| n).sum();
    for (n, path) in &counted {
        let mark = if *n > BUDGET { "  over budget" } else { "" };
        println!("{n:6} {path}{mark}");
    }
    println!("{total:6} total in {} files", counted.len());
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "wgsl") {
            out.push(path);
        }
    }
}
