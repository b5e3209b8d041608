//! The pickle virtual machine: a stack, a mark stack and a memo.
//!
//! Objects live in an arena and the stack and memo hold indices into it. That
//! is what gives Python's sharing semantics: numpy memoizes a dtype right
//! after creating it and *then* sets its byte order with BUILD, and later
//! arrays fetch it from the memo; a copied value would miss the byte order.
//!
//! Nothing is ever executed: REDUCE/NEWOBJ/BUILD are interpreted only for the
//! few numpy globals in `calls.rs`; every other global is refused when named.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::PickleValue;
use super::calls::Global;
use super::input::Input;
use super::literals::literal;
use super::opcodes::*;
use crate::error::{DataError, Result};
use crate::ndarray::{Dtype, NdArray};

/// Highest protocol this reader knows (Python 3.8+ writes 5 at most).
const HIGHEST_PROTOCOL: u8 = 5;

pub(super) type ObjId = usize;

/// An object built by the machine. Containers refer to their items by id.
#[derive(Debug, Clone)]
pub(super) enum Obj<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Borrowed straight from the input when possible: array data is copied
    /// once, when it is decoded into an [`NdArray`].
    Bytes(Cow<'a, [u8]>),
    Str(&'a str),
    Tuple(Vec<ObjId>),
    List(Vec<ObjId>),
    Dict(Vec<(ObjId, ObjId)>),
    Global(Global),
    Dtype(Dtype),
    /// An ndarray made by `_reconstruct`, waiting for BUILD to give it data.
    UnbuiltArray,
    Array(NdArray),
}

impl Obj<'_> {
    /// What the object is, with its article, for error messages ("an int").
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Bool(_) => "a bool",
            Self::Int(_) => "an int",
            Self::Float(_) => "a float",
            Self::Bytes(_) => "bytes",
            Self::Str(_) => "a str",
            Self::Tuple(_) => "a tuple",
            Self::List(_) => "a list",
            Self::Dict(_) => "a dict",
            Self::Global(_) => "a Python global",
            Self::Dtype(_) => "a numpy.dtype",
            Self::UnbuiltArray | Self::Array(_) => "a numpy.ndarray",
        }
    }
}

pub(super) struct Machine<'a> {
    pub(super) input: Input<'a>,
    pub(super) arena: Vec<Obj<'a>>,
    stack: Vec<ObjId>,
    /// Stack heights at each MARK still open.
    marks: Vec<usize>,
    memo: HashMap<u32, ObjId>,
}

impl<'a> Machine<'a> {
    /// Runs the pickle in `bytes` to its STOP and returns the result.
    pub(super) fn run(bytes: &'a [u8], path: &'a Path) -> Result<PickleValue> {
        let mut machine = Machine {
            input: Input::new(bytes, path),
            arena: Vec::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
        };
        while let Some(op) = machine.input.next_op() {
            if op == STOP {
                let root = machine.pop()?;
                return super::export::export(machine.arena, root, &machine.input);
            }
            machine.step(op)?;
        }
        Err(machine
            .input
            .error("the file ends without a STOP opcode: it is cut short"))
    }

    fn step(&mut self, op: u8) -> Result<()> {
        if let Some(obj) = literal(&mut self.input, op)? {
            return self.push_new(obj);
        }
        match op {
            MARK | POP | POP_MARK | DUP | TUPLE | TUPLE1 | TUPLE2 | TUPLE3 | LIST | DICT => {
                self.structure(op)
            }
            APPEND | APPENDS => self.append(op),
            SETITEM | SETITEMS => self.set_items(op),
            BINPUT | LONG_BINPUT | MEMOIZE | BINGET | LONG_BINGET => self.memo(op),
            GLOBAL | STACK_GLOBAL => self.global(op),
            REDUCE | NEWOBJ | NEWOBJ_EX => self.reduce(op),
            BUILD => {
                let state = self.pop()?;
                let target = self.top()?;
                self.build(target, state)
            }
            PROTO | FRAME | READONLY_BUFFER | NEXT_BUFFER => self.framing(op),
            _ => Err(self.unknown_opcode(op)),
        }
    }

    /// Opcodes that move items between the stack and new tuples, lists and dicts.
    fn structure(&mut self, op: u8) -> Result<()> {
        let made = match op {
            MARK => {
                self.marks.push(self.stack.len());
                return Ok(());
            }
            // Like CPython, POP on an empty mark frame discards the mark.
            POP if self.stack.len() > self.mark_base() => {
                self.stack.pop();
                return Ok(());
            }
            POP | POP_MARK => {
                self.pop_mark()?;
                return Ok(());
            }
            DUP => {
                let top = self.top()?;
                self.stack.push(top);
                return Ok(());
            }
            TUPLE => Obj::Tuple(self.pop_mark()?),
            TUPLE1 | TUPLE2 | TUPLE3 => Obj::Tuple(self.pop_n(usize::from(op - TUPLE1 + 1))?),
            LIST => Obj::List(self.pop_mark()?),
            _ => {
                let items = self.pop_mark()?;
                Obj::Dict(self.pairs(items)?)
            }
        };
        self.push_new(made)
    }

    fn memo(&mut self, op: u8) -> Result<()> {
        let key = match op {
            BINPUT | BINGET => u32::from(self.input.u8()?),
            LONG_BINPUT | LONG_BINGET => self.input.u32_le()?,
            // MEMOIZE numbers entries in order, as CPython does.
            _ => self.memo.len() as u32,
        };
        if matches!(op, BINGET | LONG_BINGET) {
            let id = self.memo.get(&key).copied().ok_or_else(|| {
                self.input.error(format!(
                    "memo miss: entry {key} is fetched but was never stored"
                ))
            })?;
            self.stack.push(id);
        } else {
            let top = self.top()?;
            self.memo.insert(key, top);
        }
        Ok(())
    }

    /// GLOBAL (module and name as text lines) and STACK_GLOBAL (two strings
    /// on the stack): only the globals of `calls.rs` are accepted.
    fn global(&mut self, op: u8) -> Result<()> {
        let (module, name) = if op == GLOBAL {
            (self.input.line()?, self.input.line()?)
        } else {
            let name = self.pop()?;
            let module = self.pop()?;
            match (&self.arena[module], &self.arena[name]) {
                (Obj::Str(module), Obj::Str(name)) => (*module, *name),
                _ => {
                    return Err(self
                        .input
                        .error("STACK_GLOBAL needs a module and a name as two strings"));
                }
            }
        };
        match Global::resolve(module, name) {
            Some(global) => self.push_new(Obj::Global(global)),
            None => Err(DataError::UnknownGlobal {
                path: self.input.path().to_path_buf(),
                offset: self.input.op_offset(),
                module: module.to_string(),
                name: name.to_string(),
            }),
        }
    }

    /// Opcodes about the stream rather than the objects.
    fn framing(&mut self, op: u8) -> Result<()> {
        match op {
            PROTO => {
                let version = self.input.u8()?;
                if version > HIGHEST_PROTOCOL {
                    return Err(self.input.error(format!(
                        "pickle protocol {version} is newer than this reader (protocols 2 to 5)"
                    )));
                }
            }
            // Frames only help buffered reading; check the length and read on.
            FRAME => {
                let len = self.input.u64_le()?;
                self.input.length(len)?;
            }
            // Marks the buffer below as read-only: nothing to do, but it needs one.
            READONLY_BUFFER => {
                self.top()?;
            }
            _ => {
                return Err(self.input.error(
                    "the pickle uses out-of-band buffers (protocol 5 with buffer_callback); \
                     pickle the arrays in-band instead",
                ));
            }
        }
        Ok(())
    }

    fn unknown_opcode(&self, op: u8) -> DataError {
        match unsupported_name(op) {
            Some(name) => self.input.error(format!(
                "opcode {name} ({op:#04x}) is not supported: only pickle protocols 2 to 5 \
                 of plain data and numpy arrays can be read"
            )),
            None => self.input.error(format!(
                "unknown opcode {op:#04x}: the file is corrupt or not a pickle"
            )),
        }
    }

    fn reduce(&mut self, op: u8) -> Result<()> {
        if op == NEWOBJ_EX {
            let kwargs = self.pop()?;
            if !matches!(&self.arena[kwargs], Obj::Dict(d) if d.is_empty()) {
                return Err(self
                    .input
                    .error("NEWOBJ_EX with keyword arguments is not supported"));
            }
        }
        let args = self.pop()?;
        let callable = self.pop()?;
        let obj = self.call(callable, args)?;
        self.push_new(obj)
    }

    fn append(&mut self, op: u8) -> Result<()> {
        let items = if op == APPEND {
            vec![self.pop()?]
        } else {
            self.pop_mark()?
        };
        let list = self.top()?;
        match &mut self.arena[list] {
            Obj::List(existing) => existing.extend(items),
            other => {
                let kind = other.kind();
                return Err(self
                    .input
                    .error(format!("APPEND needs a list on the stack, found {kind}")));
            }
        }
        Ok(())
    }

    fn set_items(&mut self, op: u8) -> Result<()> {
        let items = if op == SETITEM {
            self.pop_n(2)?
        } else {
            self.pop_mark()?
        };
        let pairs = self.pairs(items)?;
        let dict = self.top()?;
        match &mut self.arena[dict] {
            Obj::Dict(existing) => existing.extend(pairs),
            other => {
                let kind = other.kind();
                return Err(self
                    .input
                    .error(format!("SETITEM needs a dict on the stack, found {kind}")));
            }
        }
        Ok(())
    }

    fn pairs(&self, items: Vec<ObjId>) -> Result<Vec<(ObjId, ObjId)>> {
        if !items.len().is_multiple_of(2) {
            return Err(self
                .input
                .error("a dict is built from an odd number of keys and values"));
        }
        Ok(items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect())
    }

    fn push_new(&mut self, obj: Obj<'a>) -> Result<()> {
        self.arena.push(obj);
        self.stack.push(self.arena.len() - 1);
        Ok(())
    }

    /// The stack height below which the innermost open MARK forbids popping.
    fn mark_base(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn underflow(&self) -> DataError {
        self.input
            .error("stack underflow: an opcode needs more values than the stack holds")
    }

    fn top(&self) -> Result<ObjId> {
        match self.stack.last() {
            Some(&id) if self.stack.len() > self.mark_base() => Ok(id),
            _ => Err(self.underflow()),
        }
    }

    fn pop(&mut self) -> Result<ObjId> {
        let id = self.top()?;
        self.stack.pop();
        Ok(id)
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<ObjId>> {
        if self.stack.len() < self.mark_base() + n {
            return Err(self.underflow());
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    /// Everything above the innermost MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<ObjId>> {
        let base = self
            .marks
            .pop()
            .ok_or_else(|| self.input.error("an opcode needs a MARK but none is open"))?;
        Ok(self.stack.split_off(base))
    }
}
