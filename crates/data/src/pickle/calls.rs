//! The only Python globals the machine knows, and what calling them means.
//!
//! A real unpickler imports the named global and calls it, which is how a
//! pickle runs arbitrary code. Here each known global is a variant whose
//! "call" builds plain data in Rust; any other name is refused when the
//! GLOBAL opcode is read, before anything could use it.

use std::borrow::Cow;

use super::machine::{Machine, Obj, ObjId};
use crate::error::Result;
use crate::ndarray::{Dtype, NdArray};

/// A Python global this reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Global {
    /// `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`: an empty
    /// array that BUILD then fills (protocols 0 to 4).
    Reconstruct,
    /// `numpy.ndarray`, the class handed to `_reconstruct`.
    Ndarray,
    /// `numpy.dtype(name, align, copy)`; BUILD then sets the byte order.
    Dtype,
    /// `numpy.core.numeric._frombuffer(buffer, dtype, shape, order)` (protocol 5).
    FromBuffer,
    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar.
    Scalar,
    /// `_codecs.encode(text, 'latin1')`: how Python 3 writes `bytes` under protocol 2.
    CodecsEncode,
    /// `bytes()`: how Python 3 writes an empty `bytes` under protocol 2.
    Bytes,
}

impl Global {
    /// numpy 2 renamed `numpy.core` to `numpy._core`; both spellings occur.
    pub(super) fn resolve(module: &str, name: &str) -> Option<Self> {
        let core = module
            .strip_prefix("numpy._core.")
            .or_else(|| module.strip_prefix("numpy.core."));
        Some(match (module, core, name) {
            (_, Some("multiarray"), "_reconstruct") => Self::Reconstruct,
            (_, Some("multiarray"), "scalar") => Self::Scalar,
            (_, Some("numeric"), "_frombuffer") => Self::FromBuffer,
            ("numpy", _, "ndarray") => Self::Ndarray,
            ("numpy", _, "dtype") => Self::Dtype,
            ("_codecs", _, "encode") => Self::CodecsEncode,
            ("__builtin__" | "builtins", _, "bytes") => Self::Bytes,
            _ => return None,
        })
    }

    fn python_name(self) -> &'static str {
        match self {
            Self::Reconstruct => "numpy.core.multiarray._reconstruct",
            Self::Ndarray => "numpy.ndarray",
            Self::Dtype => "numpy.dtype",
            Self::FromBuffer => "numpy.core.numeric._frombuffer",
            Self::Scalar => "numpy.core.multiarray.scalar",
            Self::CodecsEncode => "_codecs.encode",
            Self::Bytes => "bytes",
        }
    }
}

impl<'a> Machine<'a> {
    /// REDUCE and NEWOBJ: "calls" a known global with a tuple of arguments.
    pub(super) fn call(&self, callable: ObjId, args: ObjId) -> Result<Obj<'a>> {
        let Obj::Global(global) = self.arena[callable] else {
            let kind = self.arena[callable].kind();
            return Err(self
                .input
                .error(format!("{kind} is called as if it were a function")));
        };
        let args = self.tuple(args, "the arguments of a call")?;
        let arity = match global {
            Global::Reconstruct | Global::Dtype => 3,
            Global::FromBuffer => 4,
            Global::Scalar | Global::CodecsEncode => 2,
            Global::Bytes | Global::Ndarray => 0,
        };
        if args.len() != arity {
            return Err(self.input.error(format!(
                "{} is called with {} arguments, which is not how numpy pickles it",
                global.python_name(),
                args.len()
            )));
        }
        match global {
            Global::Reconstruct => match self.arena[args[0]] {
                Obj::Global(Global::Ndarray) => Ok(Obj::UnbuiltArray),
                _ => Err(self
                    .input
                    .error("_reconstruct is asked to build something other than numpy.ndarray")),
            },
            Global::Dtype => {
                let name = self.text(args[0], "a dtype name")?;
                let dtype = Dtype::parse(&name).ok_or_else(|| {
                    self.input.error(format!(
                        "unsupported dtype '{name}': only f4, f8, i8, i4 and u1 \
                         (float32, float64, int64, int32, uint8) can be loaded"
                    ))
                })?;
                Ok(Obj::Dtype(dtype))
            }
            Global::CodecsEncode => {
                let encoding = self.text(args[1], "an encoding name")?;
                if !matches!(
                    encoding.to_ascii_lowercase().as_str(),
                    "latin1" | "latin-1" | "iso-8859-1"
                ) {
                    return Err(self.input.error(format!(
                        "_codecs.encode with encoding '{encoding}' is not supported"
                    )));
                }
                let bytes = self.bytes(args[0], "the text to encode")?.into_owned();
                Ok(Obj::Bytes(Cow::Owned(bytes)))
            }
            Global::Bytes => Ok(Obj::Bytes(Cow::Borrowed(&[]))),
            Global::Ndarray => Err(self.input.error(
                "numpy.ndarray is called directly; numpy pickles arrays through \
                 _reconstruct or _frombuffer",
            )),
            Global::FromBuffer => {
                let order = self.text(args[3], "an array order")?;
                let fortran = match order.as_ref() {
                    "C" => false,
                    "F" => true,
                    _ => return Err(self.input.error(format!("unknown array order '{order}'"))),
                };
                let shape = self.shape(args[2])?;
                self.array(args[1], shape, args[0], fortran)
            }
            Global::Scalar => self.array(args[0], Vec::new(), args[1], false),
        }
    }

    /// BUILD: sets the state of a just-made array or dtype, as their
    /// `__setstate__` would.
    pub(super) fn build(&mut self, target: ObjId, state: ObjId) -> Result<()> {
        let built = match &self.arena[target] {
            Obj::UnbuiltArray => self.array_state(state)?,
            Obj::Dtype(dtype) => Obj::Dtype(self.dtype_state(*dtype, state)?),
            other => {
                let kind = other.kind();
                return Err(self.input.error(format!(
                    "BUILD (setting an object's state) is only supported for numpy arrays and dtypes, not {kind}"
                )));
            }
        };
        self.arena[target] = built;
        Ok(())
    }

    /// `ndarray.__setstate__((version, shape, dtype, is_fortran, data))`;
    /// the version is absent in very old pickles.
    fn array_state(&self, state: ObjId) -> Result<Obj<'a>> {
        let items = self.tuple(state, "an array's state")?;
        let items = match items.len() {
            5 => &items[1..],
            4 => items,
            n => {
                return Err(self
                    .input
                    .error(format!("an array's state has {n} items instead of 5")));
            }
        };
        let fortran = match self.arena[items[2]] {
            Obj::Bool(flag) => flag,
            Obj::Int(flag) => flag != 0,
            _ => {
                return Err(self
                    .input
                    .error("an array's Fortran-order flag is not a bool"));
            }
        };
        if let Obj::List(_) = self.arena[items[3]] {
            return Err(self
                .input
                .error("arrays of Python objects (dtype=object) are not supported"));
        }
        let shape = self.shape(items[0])?;
        self.array(items[1], shape, items[3], fortran)
    }

    /// `dtype.__setstate__`: `(version, byteorder, subarray, names, fields, ...)`.
    fn dtype_state(&self, mut dtype: Dtype, state: ObjId) -> Result<Dtype> {
        let items = self.tuple(state, "a dtype's state")?;
        let Some(&order) = items.get(1) else {
            return Err(self.input.error("a dtype's state has no byte order"));
        };
        // Structured and sub-array dtypes carry non-None layout fields.
        if items
            .iter()
            .skip(2)
            .take(3)
            .any(|&id| !matches!(self.arena[id], Obj::None))
        {
            return Err(self
                .input
                .error("structured or sub-array dtypes are not supported"));
        }
        match self.text(order, "a byte order")?.as_ref() {
            ">" => dtype.big_endian = true,
            "<" => dtype.big_endian = false,
            // '|' (not applicable) and '=' (native; numpy writes the real one) keep the default.
            "|" | "=" => {}
            other => {
                return Err(self
                    .input
                    .error(format!("unknown dtype byte order '{other}'")));
            }
        }
        Ok(dtype)
    }

    /// Decodes raw element bytes into an array of the given dtype and shape.
    fn array(
        &self,
        dtype: ObjId,
        shape: Vec<usize>,
        data: ObjId,
        fortran: bool,
    ) -> Result<Obj<'a>> {
        let Obj::Dtype(dtype) = self.arena[dtype] else {
            let kind = self.arena[dtype].kind();
            return Err(self
                .input
                .error(format!("an array's dtype is {kind}, not a numpy.dtype")));
        };
        let bytes = self.bytes(data, "an array's data")?;
        let array = NdArray::from_raw(dtype, shape, &bytes, fortran)
            .map_err(|msg| self.input.error(msg))?;
        Ok(Obj::Array(array))
    }

    fn tuple(&self, id: ObjId, what: &str) -> Result<&[ObjId]> {
        match &self.arena[id] {
            Obj::Tuple(items) => Ok(items),
            other => Err(self
                .input
                .error(format!("{what} should be a tuple but is {}", other.kind()))),
        }
    }

    fn shape(&self, id: ObjId) -> Result<Vec<usize>> {
        self.tuple(id, "an array's shape")?
            .iter()
            .map(|&dim| match self.arena[dim] {
                Obj::Int(n) => usize::try_from(n)
                    .map_err(|_| self.input.error(format!("an array dimension is {n}"))),
                _ => Err(self
                    .input
                    .error("an array's shape holds something other than integers")),
            })
            .collect()
    }

    /// A Python 3 `str`, or a Python 2 `str` (bytes, read as latin-1).
    fn text(&self, id: ObjId, what: &str) -> Result<Cow<'a, str>> {
        match &self.arena[id] {
            Obj::Str(text) => Ok(Cow::Borrowed(*text)),
            Obj::Bytes(bytes) => Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())),
            other => Err(self
                .input
                .error(format!("{what} should be a string but is {}", other.kind()))),
        }
    }

    /// Bytes, or a `str` that stands for bytes through latin-1 (each
    /// character one byte), as Python 3 writes them under protocol 2.
    fn bytes(&self, id: ObjId, what: &str) -> Result<Cow<'_, [u8]>> {
        match &self.arena[id] {
            Obj::Bytes(bytes) => Ok(Cow::Borrowed(bytes)),
            Obj::Str(text) => text
                .chars()
                .map(u8::try_from)
                .collect::<std::result::Result<Vec<u8>, _>>()
                .map(Cow::Owned)
                .map_err(|_| {
                    self.input
                        .error(format!("{what} has a character outside latin-1"))
                }),
            other => Err(self
                .input
                .error(format!("{what} should be bytes but is {}", other.kind()))),
        }
    }
}
