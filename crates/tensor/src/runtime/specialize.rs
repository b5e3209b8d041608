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
//! decided only once the driver has inlined the calls, so the kernels also
//! guard their unrolled calls on constants at the call site
//! (`taps_of_column` in `conv_whole_rows.wgsl`).

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

/// `block` with every `if` on a constant replaced by the branch it takes,
/// and what follows a taken branch that leaves the block (`if (!HAS_BIAS)
/// { return blk; }`) dropped as unreachable.
fn prune(block: Block, exprs: &naga::Arena<Expression>, module: &Module) -> Block {
    let mut out = Block::with_capacity(block.len());
    for (statement, span) in block.span_into_iter() {
        if out.last().is_some_and(leaves) {
            break;
        }
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

/// Whether control never passes beyond `statement`: it returns, breaks or
/// continues, or is a block that ends doing so.
fn leaves(statement: &Statement) -> bool {
    match statement {
        Statement::Return { .. } | Statement::Kill | Statement::Break | Statement::Continue => true,
        Statement::Block(b) => b.last().is_some_and(leaves),
        _ => false,
    }
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

    fn loops(block: &naga::Block) -> usize {
        block
            .iter()
            .map(|s| match s {
                Statement::If { accept, reject, .. } => loops(accept) + loops(reject),
                Statement::Block(b) => loops(b),
                Statement::Loop {
                    body, continuing, ..
                } => 1 + loops(body) + loops(continuing),
                _ => 0,
            })
            .sum()
    }

    /// What `count` finds in function `name` of a specialised module.
    fn count_in(module: &naga::Module, name: &str, count: fn(&naga::Block) -> usize) -> usize {
        let (_, f) = module
            .functions
            .iter()
            .find(|(_, f)| f.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} is still called"));
        count(&f.body)
    }

    /// On the narrow matmul: the branches on its constants go, those on
    /// values known only when it runs stay, the bias's buffer (7) is bound
    /// only when the bias is added, and b is bound as vec4s (5) or, when
    /// its quads are not aligned, as scalars (2).
    #[test]
    fn branches_on_constants_are_cut_and_unused_buffers_left_unbound() {
        let parsed = parse(&crate::shaders::MATMUL.text()).expect("valid WGSL");
        let constants = |bias: f64, b_vec4: f64| {
            [
                ("TRANS_A", 0.0),
                ("TRANS_B", 1.0),
                ("C_VEC4", 0.0),
                ("TRANS_C", 1.0),
                ("TM_QUADS", 3.0),
                ("TN_QUADS", 1.0),
                ("HAS_BIAS", bias),
                ("B_VEC4", b_vec4),
            ]
        };
        let s = specialize(&parsed, "matmul_narrow", &constants(0.0, 1.0)).expect("specialised");
        // Its `if (TN_QUADS > 1u)`s and `if (TRANS_C)` are decided;
        // the edge tests on the row and the columns are not.
        assert_eq!(count_in(&s.module, "narrow_update_row", ifs), 0);
        assert_eq!(count_in(&s.module, "store_quad", ifs), 5);
        assert!(s.module.overrides.is_empty(), "every override is applied");
        assert!(!s.bindings.contains(&7), "{:?}", s.bindings);
        assert!(
            s.bindings.contains(&5) && !s.bindings.contains(&2),
            "{:?}",
            s.bindings
        );
        assert!(!s.bindings.contains(&8), "no row sums: {:?}", s.bindings);
        let s = specialize(&parsed, "matmul_narrow", &constants(1.0, 1.0)).expect("specialised");
        assert!(s.bindings.contains(&7), "{:?}", s.bindings);
        // Upright (the orientation that makes row sums), with them.
        let with_sums = [
            ("TRANS_A", 1.0),
            ("TRANS_C", 0.0),
            ("TM_QUADS", 3.0),
            ("TN_QUADS", 2.0),
            ("ROW_SUMS", 1.0),
        ];
        let s = specialize(&parsed, "matmul_narrow", &with_sums).expect("specialised");
        assert!(s.bindings.contains(&8), "row sums: {:?}", s.bindings);
        let s = specialize(&parsed, "matmul_narrow", &constants(0.0, 0.0)).expect("specialised");
        assert!(
            s.bindings.contains(&2) && !s.bindings.contains(&5),
            "{:?}",
            s.bindings
        );
        assert!(specialize(&parsed, "matmul_narrow", &[("NOPE", 1.0)]).is_err());
    }

    /// The quad optimizer kernels keep the bindings of their first `SLOTS`
    /// slots only (params 30.., grads 34.., momentum buffers 38..).
    #[test]
    fn optimizer_quad_kernels_bind_only_the_slots_they_keep() {
        let parsed = parse(&crate::shaders::OPTIM.text()).expect("valid WGSL");
        let s = specialize(&parsed, "sgd_multi4", &[("SLOTS", 2.0)]).expect("specialised");
        let mut bindings = s.bindings.clone();
        bindings.sort_unstable();
        assert_eq!(bindings, [0, 30, 31, 34, 35, 38, 39]);
        let s = specialize(&parsed, "adam_multi4", &[("SLOTS", 3.0)]).expect("specialised");
        assert_eq!(s.bindings.len(), 1 + 4 * 3, "{:?}", s.bindings);
    }

    /// A product without batch dims (`BATCHED` false) keeps no loop in
    /// `batch_offsets`: the divisions lavapipe took ~0.1 s to compile.
    #[test]
    fn unbatched_products_lose_the_batch_offset_loop() {
        let parsed = parse(&crate::shaders::MATMUL.text()).expect("valid WGSL");
        for (batched, loops_left) in [(0.0, 0), (1.0, 1)] {
            let constants = [
                ("TRANS_A", 0.0),
                ("TRANS_B", 0.0),
                ("BATCHED", batched),
                ("C_VEC4", 1.0),
                ("TRANS_C", 0.0),
                ("TM_QUADS", 1.0),
                ("TN_QUADS", 1.0),
                ("HAS_BIAS", 0.0),
            ];
            let s = specialize(&parsed, "matmul_narrow", &constants).expect("specialised");
            assert_eq!(count_in(&s.module, "batch_offsets", loops), loops_left);
        }
    }
}
