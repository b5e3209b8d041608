//! `cargo xtask validate`: every `shaders/*.wgsl` parsed and validated by
//! naga, then each compute entry point translated to SPIR-V, MSL, HLSL and
//! GLSL, the languages of wgpu's backends. A failure names file and line.

use std::path::{Path, PathBuf};

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};

/// Validates every shader under `dir`; returns how many files and entry points passed.
pub fn run(dir: &Path) -> Result<(), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut entry_points = 0;
    for path in &files {
        match check_file(path) {
            Ok(n) => {
                entry_points += n;
                println!("ok   {} ({n} entry points)", path.display());
            }
            Err(e) => {
                println!("FAIL {}", path.display());
                failures.push(e);
            }
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    println!(
        "validated {} shaders, translated {entry_points} entry points to SPIR-V, MSL, HLSL and GLSL; {} failed",
        files.len(),
        failures.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} shader(s) failed validation", failures.len()))
    }
}

/// Parses, validates and translates one file; returns its entry point count.
///
/// A patch `X.subgroup.wgsl` is checked as the variant it makes:
/// `X.wgsl` composed with it (`wgrad_tensor::shaders::compose`), which may
/// use subgroup operations (the host loads it only on adapters with them).
fn check_file(path: &Path) -> Result<usize, String> {
    let mut shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let (src, caps) = match shown.strip_suffix(".subgroup.wgsl") {
        Some(stem) => {
            let base_path = format!("{stem}.wgsl");
            let base =
                std::fs::read_to_string(&base_path).map_err(|e| format!("{base_path}: {e}"))?;
            let composed = wgrad_tensor::shaders::compose(&base, &text)
                .map_err(|e| format!("{shown}: {e}"))?;
            // Errors then point into the composed text.
            shown = format!("{base_path} patched by {shown}");
            (composed, Capabilities::SUBGROUP)
        }
        // Only what every backend, GL included, supports.
        None => (text, Capabilities::empty()),
    };
    let module =
        naga::front::wgsl::parse_str(&src).map_err(|e| e.emit_to_string_with_path(&src, &shown))?;
    let info = Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| e.emit_to_string_with_path(&src, &shown))?;
    for ep in &module.entry_points {
        let name = ep.name.as_str();
        // Overrides take their defaults here; wgpu substitutes the real values per pipeline.
        let (m, i) = naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            Some((naga::ShaderStage::Compute, name)),
            &Default::default(),
        )
        .map_err(|e| format!("{shown}: {name}: overrides: {e}"))?;
        translate(&m, &i, name).map_err(|e| format!("{shown}: entry point `{name}`: {e}"))?;
    }
    Ok(module.entry_points.len())
}

fn translate(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> Result<(), String> {
    let stage_entry = Some((naga::ShaderStage::Compute, entry.to_string()));
    spv::write_vec(module, info, &spv::Options::default(), None)
        .map_err(|e| format!("SPIR-V: {e}"))?;
    let msl_pipeline = msl::PipelineOptions {
        entry_point: stage_entry.clone(),
        ..Default::default()
    };
    msl::write_string(module, info, &msl::Options::default(), &msl_pipeline)
        .map_err(|e| format!("MSL: {e}"))?;
    let mut hlsl_out = String::new();
    let hlsl_pipeline = hlsl::PipelineOptions {
        entry_point: stage_entry,
    };
    hlsl::Writer::new(&mut hlsl_out, &hlsl::Options::default(), &hlsl_pipeline)
        .write(module, info, None)
        .map_err(|e| format!("HLSL: {e}"))?;
    let mut glsl_out = String::new();
    let glsl_options = glsl::Options {
        version: glsl::Version::new_gles(310),
        ..Default::default()
    };
    let glsl_pipeline = glsl::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: entry.to_string(),
        multiview: None,
    };
    glsl::Writer::new(
        &mut glsl_out,
        module,
        info,
        &glsl_options,
        &glsl_pipeline,
        Default::default(),
    )
    .and_then(|mut w| w.write().map(|_| ()))
    .map_err(|e| format!("GLSL: {e}"))?;
    Ok(())
}
