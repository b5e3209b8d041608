//! Turns the machine's arena of shared objects into an owned [`PickleValue`] tree.
//!
//! An object referenced from several places (through the memo) is copied
//! for all but its last use, which takes it: the large arrays of a data set
//! are referenced once and so are moved, never copied.

use super::PickleValue;
use super::input::Input;
use super::machine::{Obj, ObjId};
use crate::error::Result;

/// Deeper nesting than this is refused rather than risking the thread's stack.
const MAX_DEPTH: usize = 1000;

struct Exporter<'a, 'i> {
    arena: Vec<Obj<'a>>,
    /// References to each object not yet exported.
    uses: Vec<u32>,
    /// Objects on the path from the root to the one being exported.
    open: Vec<bool>,
    input: &'i Input<'a>,
}

pub(super) fn export(arena: Vec<Obj<'_>>, root: ObjId, input: &Input<'_>) -> Result<PickleValue> {
    let uses = count_uses(&arena, root);
    let open = vec![false; arena.len()];
    Exporter {
        arena,
        uses,
        open,
        input,
    }
    .value(root, 0)
}

/// Counts the references to each object reachable from `root` (plus one for the root).
fn count_uses(arena: &[Obj<'_>], root: ObjId) -> Vec<u32> {
    let mut uses = vec![0u32; arena.len()];
    let mut todo = vec![root];
    uses[root] = 1;
    while let Some(id) = todo.pop() {
        for child in children(&arena[id]) {
            uses[child] = uses[child].saturating_add(1);
            if uses[child] == 1 {
                todo.push(child);
            }
        }
    }
    uses
}

fn children(obj: &Obj<'_>) -> Vec<ObjId> {
    match obj {
        Obj::Tuple(items) | Obj::List(items) => items.clone(),
        Obj::Dict(pairs) => pairs.iter().flat_map(|&(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

impl Exporter<'_, '_> {
    fn value(&mut self, id: ObjId, depth: usize) -> Result<PickleValue> {
        if depth > MAX_DEPTH {
            return Err(self
                .input
                .error(format!("containers are nested more than {MAX_DEPTH} deep")));
        }
        if self.open[id] {
            return Err(self.input.error(
                "a container holds itself (a reference cycle), which has no plain-value form",
            ));
        }
        self.uses[id] = self.uses[id].saturating_sub(1);
        let obj = if self.uses[id] == 0 {
            std::mem::replace(&mut self.arena[id], Obj::None)
        } else {
            self.arena[id].clone()
        };
        self.open[id] = true;
        let value = self.convert(obj, depth);
        self.open[id] = false;
        value
    }

    fn values(&mut self, ids: Vec<ObjId>, depth: usize) -> Result<Vec<PickleValue>> {
        ids.into_iter()
            .map(|id| self.value(id, depth + 1))
            .collect()
    }

    fn convert(&mut self, obj: Obj<'_>, depth: usize) -> Result<PickleValue> {
        Ok(match obj {
            Obj::None => PickleValue::None,
            Obj::Bool(b) => PickleValue::Bool(b),
            Obj::Int(n) => PickleValue::Int(n),
            Obj::Float(x) => PickleValue::Float(x),
            Obj::Bytes(bytes) => PickleValue::Bytes(bytes.into_owned()),
            Obj::Str(text) => PickleValue::Str(text.to_string()),
            Obj::Tuple(ids) => PickleValue::Tuple(self.values(ids, depth)?),
            Obj::List(ids) => PickleValue::List(self.values(ids, depth)?),
            Obj::Dict(pairs) => {
                let mut out = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    out.push((self.value(k, depth + 1)?, self.value(v, depth + 1)?));
                }
                PickleValue::Dict(out)
            }
            Obj::Dtype(dtype) => PickleValue::Dtype(dtype),
            Obj::Array(array) => PickleValue::NdArray(array),
            Obj::UnbuiltArray => {
                return Err(self
                    .input
                    .error("a numpy array was created but never given its data (no BUILD)"));
            }
            Obj::Global(_) => {
                return Err(self
                    .input
                    .error("the result holds a bare Python class or function, which is not data"));
            }
        })
    }
}
