//! A cursor over the pickle bytes that turns every problem into a
//! [`DataError::Pickle`] naming the file and the offset of the current opcode.
//!
//! Every length read from the stream is checked against the bytes that remain
//! before anything is sliced or allocated, so a hostile length field (say
//! 2^60 in a BINBYTES8) is an error, not an allocation.

use std::path::Path;

use crate::error::DataError;

pub(super) struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where the opcode being run started: the offset errors report.
    op_start: usize,
    path: &'a Path,
}

impl<'a> Input<'a> {
    pub(super) fn new(bytes: &'a [u8], path: &'a Path) -> Self {
        Self {
            bytes,
            pos: 0,
            op_start: 0,
            path,
        }
    }

    pub(super) fn path(&self) -> &'a Path {
        self.path
    }

    pub(super) fn op_offset(&self) -> u64 {
        self.op_start as u64
    }

    /// An error at the current opcode.
    pub(super) fn error(&self, message: impl Into<String>) -> DataError {
        DataError::Pickle {
            path: self.path.to_path_buf(),
            offset: self.op_offset(),
            message: message.into(),
        }
    }

    /// Reads the next opcode, or `None` at the end of the input.
    pub(super) fn next_op(&mut self) -> Option<u8> {
        self.op_start = self.pos;
        let op = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(op)
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes, borrowed from the input.
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], DataError> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "the file is cut short: this opcode needs {n} more bytes but only {} remain",
                self.remaining()
            )));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DataError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8, DataError> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn u16_le(&mut self) -> Result<u16, DataError> {
        self.array().map(u16::from_le_bytes)
    }

    pub(super) fn u32_le(&mut self) -> Result<u32, DataError> {
        self.array().map(u32::from_le_bytes)
    }

    pub(super) fn i32_le(&mut self) -> Result<i32, DataError> {
        self.array().map(i32::from_le_bytes)
    }

    pub(super) fn u64_le(&mut self) -> Result<u64, DataError> {
        self.array().map(u64::from_le_bytes)
    }

    /// BINFLOAT is the one big-endian number in the format.
    pub(super) fn f64_be(&mut self) -> Result<f64, DataError> {
        self.array().map(f64::from_be_bytes)
    }

    /// A length field of any width, checked against what remains.
    pub(super) fn length(&mut self, len: u64) -> Result<usize, DataError> {
        match usize::try_from(len) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(self.error(format!(
                "a length field claims {len} bytes but only {} remain (file cut short or corrupt)",
                self.remaining()
            ))),
        }
    }

    /// The next `len` bytes, where `len` comes from a length field.
    pub(super) fn take_len(&mut self, len: u64) -> Result<&'a [u8], DataError> {
        let n = self.length(len)?;
        self.take(n)
    }

    /// A newline-terminated line (GLOBAL's module and name), as UTF-8.
    pub(super) fn line(&mut self) -> Result<&'a str, DataError> {
        let rest = &self.bytes[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.error("the file is cut short inside a GLOBAL opcode's name"));
        };
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| self.error("a GLOBAL opcode's name is not valid UTF-8"))?;
        self.pos += end + 1;
        Ok(text)
    }
}
