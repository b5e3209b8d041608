//! Pipeline constants applied before the driver sees a kernel, with the
//! branches they decide cut out.
//!
//! Why: the kernels are unrolled by hand and choose their code paths with
//! `override` constants (`if (VEC_DST) { ... }`). Given the WGSL and the
//! constants, wgpu hands the driver every path, each branch on a constant;
//! lavapipe then inlines and works through all of that code before it
//! folds the constants away, and that is most of what creating such a
//! pipeline costs (0.15-0.36 s each for the whole-row convolutions, 0.05-0.13
//! s specialised). Here naga applies the constants, the `if`s whose
//! conditions became constants keep only the branch taken, and what is no
//! longer called goes. Conditions on a function's arguments stay: they are
//! decided only once the driver has inlined the calls.

use std::borrow::Cow;

use naga::{Block, Expression, Literal, Module, Statement};

/// A shader parsed and validated once, to be specialised per pipeline.
pub(crate) struct Parsed {
    module: Module,
    info: naga::valid::ModuleInfo,
}

/// Parses and validates a WGSL text.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    let module = naga::front::wgsl::parse_str(text).map_err(|e| e.emit_to_string(text))?;
    let info = validator()
        .validate(&module)
        .map_err(|e| e.emit_to_string(text))?;
    Ok(Parsed { module, info })
}

fn validator() -> naga::valid::Validator {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
}

/// A kernel specialised for one pipeline.
pub(crate) struct Specialized {
    /// The module of the entry point alone.
    pub(crate) module: Module,
    /// The bindings of group 0 that the entry point still uses: a buffer
    /// that only a cut branch read is no longer in the pipeline's layout,
    /// so it must not be bound either.
    pub(crate) bindings: Vec<u32>,
}

/// The module of `entry` alone, with `constants` applied and the branches
/// they decide cut out.
pub(crate) fn specialize(
    parsed: &Parsed,
    entry: &str,
    constants: &[(&'static str, f64)],
) -> Result<Specialized, String> {
    let values: naga::back::PipelineConstants = constants
        .iter()
        .map(|&(name, v)| (name.to_string(), v))
        .collect();
    let (module, _) = naga::back::pipeline_constants::process_overrides(
        &parsed.module,
        &parsed.info,
        Some((naga::ShaderStage::Compute, entry)),
        &values,
    )
    .map_err(|e| format!("{entry}: {e}"))?;
    let mut module = match module {
        Cow::Borrowed(m) => m.clone(),
        Cow::Owned(m) => m,
    };
    let mut functions = module.functions.take();
    for (_, f) in functions.iter_mut() {
        cut(f, &module);
    }
    module.functions = functions;
    let mut entry_points = std::mem::take(&mut module.entry_points);
    for ep in &mut entry_points {
        cut(&mut ep.function, &module);
    }
    module.entry_points = entry_points;
    // Drops the functions no longer called, with what only they used.
    naga::compact::compact(&mut module, naga::compact::KeepUnused::No);
    let info = validator()
        .validate(&module)
        .map_err(|e| format!("{entry}: {e}"))?;
    let uses = info.get_entry_point(0);
    let bindings = module
        .global_variables
        .iter()
        .filter(|&(h, _)| !uses[h].is_empty())
        .filter_map(|(_, g)| g.binding.as_ref())
        .filter(|b| b.group == 0)
        .map(|b| b.binding)
        .collect();
    Ok(Specialized { module, bindings })
}

/// Cuts the branches of `f` that its constants decide.
fn cut(f: &mut naga::Function, module: &Module) {
    f.body = prune(std::mem::take(&mut f.body), &f.expressions, module);
    // Names are debug information, and `compact` keeps every named
    // expression: one in a cut branch (`let d = row_quad(...)`) would keep
    // a call to a function that is no longer called, and compaction
    // panics on it.
    f.named_expressions.clear();
}

/// `block` with every `if` on a constant replaced by the branch it takes.
fn prune(block: Block, exprs: &naga::Arena<Expression>, module: &Module) -> Block {
    let mut out = Block::with_capacity(block.len());
    for (statement, span) in block.span_into_iter() {
        let statement = match statement {
            Statement::If {
                condition,
                accept,
                reject,
            } => match constant_bool(condition, exprs, module) {
                Some(taken) => {
                    Statement::Block(prune(if taken { accept } else { reject }, exprs, module))
                }
                None => Statement::If {
                    condition,
                    accept: prune(accept, exprs, module),
                    reject: prune(reject, exprs, module),
                },
            },
            Statement::Block(b) => Statement::Block(prune(b, exprs, module)),
            Statement::Loop {
                body,
                continuing,
                break_if,
            } => Statement::Loop {
                body: prune(body, exprs, module),
                continuing: prune(continuing, exprs, module),
                break_if,
            },
            Statement::Switch { selector, cases } => Statement::Switch {
                selector,
                cases: cases
                    .into_iter()
                    .map(|c| naga::SwitchCase {
                        body: prune(c.body, exprs, module),
                        ..c
                    })
                    .collect(),
            },
            other => other,
        };
        out.push(statement, span);
    }
    out
}

/// The value of a boolean expression that the constants decided.
fn constant_bool(
    h: naga::Handle<Expression>,
    exprs: &naga::Arena<Expression>,
    module: &Module,
) -> Option<bool> {
    let literal = match exprs[h] {
        Expression::Constant(c) => &module.global_expressions[module.constants[c].init],
        ref e => e,
    };
    match *literal {
        Expression::Literal(Literal::Bool(b)) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, specialize};
    use naga::Statement;

    const SHADER: &str = "
override WIDE: bool = false;
override N: u32 = 1u;
@group(0) @binding(1) var<storage, read_write> narrow: array<f32>;
@group(0) @binding(2) var<storage, read_write> wide: array<vec4<f32>>;

fn store(i: u32) {
    if (WIDE) {
        wide[i] = vec4<f32>(1.0);
        return;
    }
    let v = f32(i);
    if (N > 2u) {
        narrow[i] = v;
    }
}

@compute @workgroup_size(1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    store(id.x);
    if (id.x > N) {
        narrow[0] = 2.0;
    }
}
";

    fn ifs(block: &naga::Block) -> usize {
        block
            .iter()
            .map(|s| match s {
                Statement::If { accept, reject, .. } => 1 + ifs(accept) + ifs(reject),
                Statement::Block(b) => ifs(b),
                Statement::Loop {
                    body, continuing, ..
                } => ifs(body) + ifs(continuing),
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn branches_on_constants_are_cut_and_unused_buffers_left_unbound() {
        let parsed = parse(SHADER).expect("valid WGSL");
        let s = specialize(&parsed, "main", &[("WIDE", 0.0), ("N", 1.0)]).expect("specialised");
        let (_, store) = s
            .module
            .functions
            .iter()
            .next()
            .expect("store is still called");
        // Only the `if` on the invocation id is left: `WIDE` and `N > 2u`
        // are decided.
        assert_eq!(ifs(&store.body), 0);
        assert_eq!(ifs(&s.module.entry_points[0].function.body), 1);
        assert_eq!(s.bindings, vec![1]);
        let s = specialize(&parsed, "main", &[("WIDE", 1.0), ("N", 3.0)]).expect("specialised");
        let mut bindings = s.bindings;
        bindings.sort_unstable();
        assert_eq!(bindings, vec![1, 2]);
        assert!(specialize(&parsed, "main", &[("NOPE", 1.0)]).is_err());
    }
}
