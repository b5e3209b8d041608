//! Opcodes that push one new object built from their own argument bytes:
//! numbers, strings, bytes and empty containers.

use std::borrow::Cow;

use super::input::Input;
use super::machine::Obj;
use super::opcodes::*;
use crate::error::Result;

/// The object `op` pushes, or `None` when `op` is not a literal opcode.
pub(super) fn literal<'a>(input: &mut Input<'a>, op: u8) -> Result<Option<Obj<'a>>> {
    let obj = match op {
        NONE => Obj::None,
        NEWTRUE => Obj::Bool(true),
        NEWFALSE => Obj::Bool(false),
        BININT => Obj::Int(input.i32_le()?.into()),
        BININT1 => Obj::Int(input.u8()?.into()),
        BININT2 => Obj::Int(input.u16_le()?.into()),
        LONG1 | LONG4 => {
            let len = if op == LONG1 {
                u64::from(input.u8()?)
            } else {
                u64::from(input.u32_le()?)
            };
            let digits = input.take_len(len)?;
            Obj::Int(
                long_le(digits).ok_or_else(|| input.error("an integer does not fit in 64 bits"))?,
            )
        }
        BINFLOAT => Obj::Float(input.f64_be()?),
        // Python 2 `str` is bytes; numpy stored raw array data this way.
        SHORT_BINSTRING | SHORT_BINBYTES | BINSTRING | BINBYTES | BINBYTES8 | BYTEARRAY8 => {
            let len = match op {
                SHORT_BINSTRING | SHORT_BINBYTES => u64::from(input.u8()?),
                BINSTRING => {
                    let len = input.i32_le()?;
                    u64::try_from(len)
                        .map_err(|_| input.error("BINSTRING has a negative length"))?
                }
                BINBYTES => u64::from(input.u32_le()?),
                _ => input.u64_le()?,
            };
            Obj::Bytes(Cow::Borrowed(input.take_len(len)?))
        }
        SHORT_BINUNICODE | BINUNICODE | BINUNICODE8 => {
            let len = match op {
                SHORT_BINUNICODE => u64::from(input.u8()?),
                BINUNICODE => u64::from(input.u32_le()?),
                _ => input.u64_le()?,
            };
            let raw = input.take_len(len)?;
            Obj::Str(
                std::str::from_utf8(raw).map_err(|_| input.error("a string is not valid UTF-8"))?,
            )
        }
        EMPTY_TUPLE => Obj::Tuple(Vec::new()),
        EMPTY_LIST => Obj::List(Vec::new()),
        EMPTY_DICT => Obj::Dict(Vec::new()),
        _ => return Ok(None),
    };
    Ok(Some(obj))
}

/// Decodes LONG1/LONG4's little-endian two's-complement digits.
fn long_le(digits: &[u8]) -> Option<i64> {
    if digits.len() > 8 {
        return None;
    }
    let negative = digits.last().is_some_and(|&b| b & 0x80 != 0);
    let mut buf = if negative { [0xff; 8] } else { [0; 8] };
    buf[..digits.len()].copy_from_slice(digits);
    Some(i64::from_le_bytes(buf))
}
