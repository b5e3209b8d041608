//! Every WGSL file wgrad dispatches, embedded at build time. `cargo xtask
//! validate` checks the same files with naga.
//!
//! A file `X.subgroup.wgsl` is not a shader of its own but a patch: the
//! variant of `X.wgsl` for adapters with subgroups of at least 8
//! invocations is `X.wgsl` with each section marked `// @swap NAME` ...
//! `// @end` replaced by the patch's section of the same name
//! ([`compose`]). The kernels then differ only where they share loads
//! across a workgroup's lanes, and the rest of their code exists once.

use crate::runtime::Shader;

macro_rules! shader {
    ($ident:ident, $file:literal) => {
        #[doc = concat!("`shaders/", $file, "`")]
        pub static $ident: Shader = Shader {
            name: $file,
            source: include_str!(concat!("../../../shaders/", $file)),
            patch: None,
        };
    };
    ($ident:ident, $file:literal, $patch:literal) => {
        #[doc = concat!("`shaders/", $file, "` patched by `shaders/", $patch, "`")]
        pub static $ident: Shader = Shader {
            name: $patch,
            source: include_str!(concat!("../../../shaders/", $file)),
            patch: Some(include_str!(concat!("../../../shaders/", $patch))),
        };
    };
}

shader!(UNARY, "unary.wgsl");
shader!(UNARY_BACKWARD, "unary_backward.wgsl");
shader!(BINARY, "binary.wgsl");
shader!(COPY, "copy.wgsl");
shader!(REDUCE, "reduce.wgsl");
shader!(SOFTMAX, "softmax.wgsl");
shader!(MATMUL, "matmul.wgsl");
shader!(MATMUL_SUBGROUP, "matmul.wgsl", "matmul.subgroup.wgsl");
shader!(CONV, "conv.wgsl");
shader!(CONV_SUBGROUP, "conv.wgsl", "conv.subgroup.wgsl");
shader!(CONV_WHOLE_ROWS, "conv_whole_rows.wgsl");
shader!(
    CONV_WHOLE_ROWS_SUBGROUP,
    "conv_whole_rows.wgsl",
    "conv_whole_rows.subgroup.wgsl"
);
shader!(CONV_WEIGHT_TAPS, "conv_weight_taps.wgsl");
shader!(
    CONV_WEIGHT_TAPS_SUBGROUP,
    "conv_weight_taps.wgsl",
    "conv_weight_taps.subgroup.wgsl"
);
shader!(POOL2D, "pool2d.wgsl");
shader!(INDEX, "index.wgsl");
shader!(OPTIM, "optim.wgsl");
shader!(LOSS, "loss.wgsl");

/// Marks the start of a replaceable section: `// @swap NAME`.
const SWAP: &str = "// @swap ";
/// Marks the end of a section.
const END: &str = "// @end";

/// The sections of `text` by name, each with its line range (markers
/// included).
fn sections(text: &str) -> Result<Vec<(&str, std::ops::Range<usize>)>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut open: Option<(&str, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix(SWAP) {
            if let Some((outer, _)) = open {
                return Err(format!("section `{name}` opens inside `{outer}`"));
            }
            open = Some((name.trim(), i));
        } else if line == END {
            let (name, start) = open
                .take()
                .ok_or(format!("line {}: `{END}` closes nothing", i + 1))?;
            if out.iter().any(|(n, _)| *n == name) {
                return Err(format!("section `{name}` appears twice"));
            }
            out.push((name, start..i + 1));
        }
    }
    match open {
        Some((name, _)) => Err(format!("section `{name}` is not closed")),
        None => Ok(out),
    }
}

/// `base` with every section of `patch` put in place of `base`'s section
/// of the same name (markers kept, so a compile error in the composed text
/// can be traced to its section). Errors if the markers do not pair up, or
/// if `patch` has a section `base` lacks or text outside its sections.
pub fn compose(base: &str, patch: &str) -> Result<String, String> {
    let base_sections = sections(base)?;
    let patch_sections = sections(patch)?;
    let patch_lines: Vec<&str> = patch.lines().collect();
    // Outside its sections a patch may hold only comments and blank lines.
    let mut inside = vec![false; patch_lines.len()];
    for (_, r) in &patch_sections {
        inside[r.clone()].iter_mut().for_each(|b| *b = true);
    }
    if let Some(i) = (0..patch_lines.len()).find(|&i| {
        let l = patch_lines[i].trim();
        !inside[i] && !l.is_empty() && !l.starts_with("//")
    }) {
        return Err(format!("patch line {} lies outside every section", i + 1));
    }
    let mut replacement = std::collections::HashMap::new();
    for (name, r) in &patch_sections {
        if !base_sections.iter().any(|(n, _)| n == name) {
            return Err(format!("the base has no section `{name}`"));
        }
        replacement.insert(*name, &patch_lines[r.clone()]);
    }
    let base_lines: Vec<&str> = base.lines().collect();
    let mut out = String::with_capacity(base.len() + patch.len());
    let mut i = 0;
    for (name, r) in &base_sections {
        for line in &base_lines[i..r.start] {
            out.push_str(line);
            out.push('\n');
        }
        let body: &[&str] = replacement
            .get(name)
            .copied()
            .unwrap_or(&base_lines[r.clone()]);
        for line in body {
            out.push_str(line);
            out.push('\n');
        }
        i = r.end;
    }
    for line in &base_lines[i..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{
        CONV_SUBGROUP, CONV_WEIGHT_TAPS_SUBGROUP, CONV_WHOLE_ROWS_SUBGROUP, MATMUL_SUBGROUP,
        compose,
    };

    #[test]
    fn every_variant_composes() {
        let variants = [
            &MATMUL_SUBGROUP,
            &CONV_SUBGROUP,
            &CONV_WHOLE_ROWS_SUBGROUP,
            &CONV_WEIGHT_TAPS_SUBGROUP,
        ];
        for shader in variants {
            let text = shader.text();
            assert!(text.contains("subgroupShuffle"), "{}", shader.name);
        }
    }

    #[test]
    fn compose_swaps_named_sections_and_refuses_what_does_not_fit() {
        let base = "a\n// @swap one\nold\n// @end\nb\n// @swap two\nkept\n// @end\n";
        let patch = "// the patch\n// @swap one\nnew 1\nnew 2\n// @end\n";
        assert_eq!(
            compose(base, patch).unwrap(),
            "a\n// @swap one\nnew 1\nnew 2\n// @end\nb\n// @swap two\nkept\n// @end\n"
        );
        let err = |p: &str| compose(base, p).unwrap_err();
        assert!(err("// @swap three\nx\n// @end\n").contains("no section `three`"));
        assert!(err("stray\n").contains("outside every section"));
        assert!(err("// @swap one\nx\n").contains("not closed"));
        assert!(err("// @end\n").contains("closes nothing"));
        let twice = "// @swap one\n// @end\n// @swap one\n// @end\n";
        assert!(err(twice).contains("twice"));
    }
}
