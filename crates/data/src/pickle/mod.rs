//! A pickle reader that never executes anything.
//!
//! Python's `pickle` is a small stack machine whose REDUCE opcode calls any
//! importable function, so loading an untrusted pickle in Python can run
//! arbitrary code. This reader implements the machine but knows only a fixed
//! list of globals — the numpy constructors for arrays and dtypes, and the
//! `_codecs.encode` / `bytes` that Python 3 uses for `bytes` under protocol 2
//! — and refuses any other global by name ([`DataError::UnknownGlobal`]).
//!
//! That is enough for data sets stored as numpy arrays, such as the classic
//! `mnist.pkl.gz` (a Python 2 pickle: protocol 2, array data as BINSTRING,
//! which Python 3 loads with `encoding="latin-1"`) and the same layout written
//! by Python 3 under protocols 2 to 5, with numpy 1 (`numpy.core`) or numpy 2
//! (`numpy._core`).
//!
//! Decoding rules:
//! - Python 2 `str` (BINSTRING) comes out as [`PickleValue::Bytes`]: it is
//!   raw bytes (the latin-1 reading), not text.
//! - numpy arrays come out as [`NdArray`] in row-major order and native
//!   endianness, whatever the file used; dtypes other than float32, float64,
//!   int64, int32 and uint8 are refused with a message naming them.
//! - Malformed input is a [`DataError::Pickle`] with the offset of the
//!   offending opcode in the (decompressed) stream, never a panic; no length
//!   field is trusted beyond the bytes that remain.
//!
//! [`DataError::UnknownGlobal`]: crate::DataError::UnknownGlobal
//! [`DataError::Pickle`]: crate::DataError::Pickle

mod calls;
mod export;
mod input;
mod literals;
mod machine;
mod opcodes;

use std::path::Path;

use crate::error::Result;
use crate::ndarray::{Dtype, NdArray};
use crate::source::Source;

/// A value read from a pickle: plain Python data and numpy arrays.
#[derive(Debug, Clone, PartialEq)]
pub enum PickleValue {
    /// Python `None`.
    None,
    /// Python `bool`.
    Bool(bool),
    /// Python `int` that fits in 64 bits (larger ones are refused).
    Int(i64),
    /// Python `float`.
    Float(f64),
    /// Python 3 `bytes`/`bytearray`, or a Python 2 `str`.
    Bytes(Vec<u8>),
    /// Python 3 `str`, or a Python 2 `unicode`.
    Str(String),
    /// Python `tuple`.
    Tuple(Vec<PickleValue>),
    /// Python `list`.
    List(Vec<PickleValue>),
    /// Python `dict`, as key/value pairs in the order they were stored.
    Dict(Vec<(PickleValue, PickleValue)>),
    /// A numpy dtype on its own.
    Dtype(Dtype),
    /// A numpy array (or a numpy scalar, with an empty shape).
    NdArray(NdArray),
}

impl PickleValue {
    /// A Python-ish name of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Bytes(_) => "bytes",
            Self::Str(_) => "str",
            Self::Tuple(_) => "tuple",
            Self::List(_) => "list",
            Self::Dict(_) => "dict",
            Self::Dtype(_) => "numpy.dtype",
            Self::NdArray(_) => "numpy.ndarray",
        }
    }

    /// The items of a tuple or list.
    pub fn as_items(&self) -> Option<&[PickleValue]> {
        match self {
            Self::Tuple(items) | Self::List(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a tuple or list, by value.
    pub fn into_items(self) -> Option<Vec<PickleValue>> {
        match self {
            Self::Tuple(items) | Self::List(items) => Some(items),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_ndarray(&self) -> Option<&NdArray> {
        match self {
            Self::NdArray(array) => Some(array),
            _ => None,
        }
    }

    /// The array by value, if this is one.
    pub fn into_ndarray(self) -> Option<NdArray> {
        match self {
            Self::NdArray(array) => Some(array),
            _ => None,
        }
    }

    /// The value stored under a string key, if this is a dict.
    pub fn get(&self, key: &str) -> Option<&PickleValue> {
        let Self::Dict(pairs) = self else { return None };
        pairs
            .iter()
            .find(|(k, _)| matches!(k, Self::Str(s) if s == key))
            .map(|(_, v)| v)
    }
}

/// Loads a pickle file, gzip-compressed or not (detected from its first bytes).
pub fn load_pickle(path: impl AsRef<Path>) -> Result<PickleValue> {
    let path = path.as_ref();
    let bytes = Source::open(path)?.read_all()?;
    machine::Machine::run(&bytes, path)
}

/// Reads a pickle from uncompressed bytes in memory; errors name the file
/// as `<memory>`.
pub fn parse_pickle(bytes: &[u8]) -> Result<PickleValue> {
    machine::Machine::run(bytes, Path::new("<memory>"))
}
