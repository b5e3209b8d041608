//! Plain CPU n-dimensional arrays, as numpy pickles them.
//!
//! [`NdArray`] is what the pickle reader turns a numpy array into: a shape and
//! the elements in row-major (C) order and native endianness, whatever byte
//! order and memory order the file used.

use byteorder::{BigEndian, ByteOrder, LittleEndian};

use crate::error::{DataError, Result};

/// Element types this crate can load from numpy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// numpy `float32` (`f4`).
    F32,
    /// numpy `float64` (`f8`).
    F64,
    /// numpy `int64` (`i8`).
    I64,
    /// numpy `int32` (`i4`).
    I32,
    /// numpy `uint8` (`u1`).
    U8,
}

impl ElementType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::F64 | Self::I64 => 8,
            Self::U8 => 1,
        }
    }

    /// The numpy name, e.g. `float32`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F64 => "float64",
            Self::I64 => "int64",
            Self::I32 => "int32",
            Self::U8 => "uint8",
        }
    }
}

/// A numpy dtype restricted to what this crate supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// The element type.
    pub element: ElementType,
    /// True when multi-byte elements are stored big-endian (`>`).
    pub big_endian: bool,
}

impl Dtype {
    /// Parses a numpy type string such as `f4`, `<i8`, `>f8`, `|u1` or `float32`.
    ///
    /// Without a byte-order prefix the order is little-endian: numpy writes
    /// the real order in the dtype's pickled state, which overrides this.
    pub fn parse(text: &str) -> Option<Self> {
        let (big_endian, name) = match text.as_bytes().first() {
            Some(b'>') => (true, &text[1..]),
            Some(b'<' | b'|' | b'=') => (false, &text[1..]),
            _ => (false, text),
        };
        let element = match name {
            "f4" | "float32" => ElementType::F32,
            "f8" | "float64" => ElementType::F64,
            "i8" | "int64" => ElementType::I64,
            "i4" | "int32" => ElementType::I32,
            "u1" | "uint8" => ElementType::U8,
            _ => return None,
        };
        Some(Self {
            element,
            big_endian,
        })
    }
}

/// An n-dimensional array in row-major (C) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// The dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// The elements, `shape.iter().product()` of them.
    pub data: NdData,
}

/// The elements of an [`NdArray`].
#[derive(Debug, Clone, PartialEq)]
pub enum NdData {
    /// `float32` elements.
    F32(Vec<f32>),
    /// `float64` elements.
    F64(Vec<f64>),
    /// `int64` elements.
    I64(Vec<i64>),
    /// `int32` elements.
    I32(Vec<i32>),
    /// `uint8` elements.
    U8(Vec<u8>),
}

impl NdData {
    /// The element type.
    pub fn element_type(&self) -> ElementType {
        match self {
            Self::F32(_) => ElementType::F32,
            Self::F64(_) => ElementType::F64,
            Self::I64(_) => ElementType::I64,
            Self::I32(_) => ElementType::I32,
            Self::U8(_) => ElementType::U8,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::U8(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NdArray {
    /// Builds an array from raw element bytes as numpy stores them.
    ///
    /// `fortran` says the bytes are in column-major order; they are reordered
    /// to row-major. Errors (a `String` for the caller to place in context)
    /// when the byte count does not match the shape.
    pub(crate) fn from_raw(
        dtype: Dtype,
        shape: Vec<usize>,
        bytes: &[u8],
        fortran: bool,
    ) -> std::result::Result<Self, String> {
        let size = dtype.element.size();
        let expected = shape
            .iter()
            .try_fold(size, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| format!("array shape {shape:?} is too large to exist"))?;
        if bytes.len() != expected {
            return Err(format!(
                "a {} array of shape {shape:?} needs {expected} bytes of data but the pickle holds {}",
                dtype.element.name(),
                bytes.len()
            ));
        }
        let data = if fortran && !is_trivially_contiguous(&shape) {
            decode(dtype, &fortran_to_c(bytes, &shape, size))
        } else {
            decode(dtype, bytes)
        };
        Ok(Self { shape, data })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements as `f32`, converting like numpy's `astype(np.float32)`
    /// (wide floats and large integers round to the nearest `f32`).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            NdData::F32(v) => v.clone(),
            NdData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            NdData::I64(v) => v.iter().map(|&x| x as f32).collect(),
            NdData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            NdData::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
        }
    }

    /// Like [`to_f32_vec`](Self::to_f32_vec), but moves the elements out of a
    /// `float32` array instead of copying them.
    pub fn into_f32_vec(self) -> Vec<f32> {
        match self.data {
            NdData::F32(v) => v,
            _ => self.to_f32_vec(),
        }
    }

    /// The elements as `i64`. Float arrays are refused rather than truncated:
    /// labels stored as floats usually mean the wrong array was picked.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        match &self.data {
            NdData::I64(v) => Ok(v.clone()),
            NdData::I32(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NdData::U8(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NdData::F32(_) | NdData::F64(_) => Err(self.not_integer("i64")),
        }
    }

    /// The elements as `i32`; refuses floats and values outside the `i32` range.
    pub fn to_i32_vec(&self) -> Result<Vec<i32>> {
        match &self.data {
            NdData::I32(v) => Ok(v.clone()),
            NdData::U8(v) => Ok(v.iter().map(|&x| i32::from(x)).collect()),
            NdData::I64(v) => v
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    i32::try_from(x).map_err(|_| DataError::Convert {
                        from: "int64",
                        to: "i32",
                        reason: format!("value {x} at index {i} is outside the i32 range"),
                    })
                })
                .collect(),
            NdData::F32(_) | NdData::F64(_) => Err(self.not_integer("i32")),
        }
    }

    fn not_integer(&self, to: &'static str) -> DataError {
        DataError::Convert {
            from: self.data.element_type().name(),
            to,
            reason: "the array holds floating-point values, not integers".into(),
        }
    }
}

/// True when column-major and row-major orders coincide: at most one
/// dimension is longer than 1.
fn is_trivially_contiguous(shape: &[usize]) -> bool {
    shape.iter().filter(|&&d| d > 1).count() <= 1
}

/// Reorders elements of `size` bytes from column-major to row-major.
///
/// The caller has checked that `bytes.len()` is `size * product(shape)`.
fn fortran_to_c(bytes: &[u8], shape: &[usize], size: usize) -> Vec<u8> {
    // Column-major strides, in elements: the first index varies fastest.
    let mut strides = Vec::with_capacity(shape.len());
    let mut stride = 1;
    for &d in shape {
        strides.push(stride);
        stride *= d;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = vec![0usize; shape.len()];
    for _ in 0..bytes.len() / size {
        let src: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.extend_from_slice(&bytes[src * size..(src + 1) * size]);
        // Advance the row-major odometer: the last index varies fastest.
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// Decodes `bytes` (whole elements of `size` bytes) with one of byteorder's
/// `read_*_into` functions, which fix the byte order.
pub(crate) fn read_elements<T: Default + Clone>(
    bytes: &[u8],
    size: usize,
    read: fn(&[u8], &mut [T]),
) -> Vec<T> {
    let mut out = vec![T::default(); bytes.len() / size];
    read(bytes, &mut out);
    out
}

/// Decodes whole elements from `bytes` in the dtype's byte order.
fn decode(dtype: Dtype, bytes: &[u8]) -> NdData {
    macro_rules! endian {
        ($variant:ident, $size:expr, $read:ident) => {
            NdData::$variant(if dtype.big_endian {
                read_elements(bytes, $size, BigEndian::$read)
            } else {
                read_elements(bytes, $size, LittleEndian::$read)
            })
        };
    }
    match dtype.element {
        ElementType::U8 => NdData::U8(bytes.to_vec()),
        ElementType::F32 => endian!(F32, 4, read_f32_into),
        ElementType::F64 => endian!(F64, 8, read_f64_into),
        ElementType::I64 => endian!(I64, 8, read_i64_into),
        ElementType::I32 => endian!(I32, 4, read_i32_into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_reordered_to_row_major() {
        // [[0, 1, 2], [3, 4, 5]] stored column by column: 0 3 1 4 2 5.
        let column_major = [0u8, 3, 1, 4, 2, 5];
        let dtype = Dtype {
            element: ElementType::U8,
            big_endian: false,
        };
        let array = NdArray::from_raw(dtype, vec![2, 3], &column_major, true).expect("valid");
        assert_eq!(array.data, NdData::U8(vec![0, 1, 2, 3, 4, 5]));
    }

    #[test]
    fn dtype_strings_carry_byte_order() {
        let big = Dtype::parse(">i4").expect("known");
        assert!(big.big_endian);
        assert_eq!(big.element, ElementType::I32);
        assert!(!Dtype::parse("|u1").expect("known").big_endian);
        assert!(Dtype::parse("U5").is_none());
    }
}
