//! Reader for the IDX format of MNIST and Fashion-MNIST.
//!
//! Layout (all integers big-endian):
//! ```text
//! 00 00 TT NN          magic: two zero bytes, type code TT, number of dims NN
//! d0 d1 ... d(NN-1)    each dimension as a u32
//! data                 d0 * d1 * ... elements of type TT, row-major, big-endian
//! ```
//! Type codes: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64.
//! MNIST images are magic 0x00000803 (u8, 3 dims: count, rows, cols) and
//! labels 0x00000801 (u8, 1 dim: count).
//!
//! The header is checked against the body before the body is trusted: the
//! element count uses checked multiplication, absurd sizes are refused, and
//! the body is read with a limit one byte past what the header announces, so
//! neither a short nor a long file goes unnoticed and a lying header cannot
//! make us allocate more than the file really holds.

use std::path::Path;

use byteorder::{BigEndian, ByteOrder};

use crate::error::{DataError, Result};
use crate::ndarray::read_elements;
use crate::source::Source;

/// Magic number of an IDX file of images (u8, 3 dims).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of labels (u8, 1 dim).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Largest data section we accept (8 GiB): anything bigger is a corrupt header.
const MAX_BODY_BYTES: u64 = 8 << 30;

/// An n-dimensional array read from an IDX file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The dimensions, outermost first (`[count, rows, cols]` for images).
    pub dims: Vec<usize>,
    /// The elements in row-major order, converted to native endianness.
    pub data: IdxData,
}

/// The elements of an IDX array, in the type its header declares.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    /// Type code 0x08.
    U8(Vec<u8>),
    /// Type code 0x09.
    I8(Vec<i8>),
    /// Type code 0x0B.
    I16(Vec<i16>),
    /// Type code 0x0C.
    I32(Vec<i32>),
    /// Type code 0x0D.
    F32(Vec<f32>),
    /// Type code 0x0E.
    F64(Vec<f64>),
}

impl IdxData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::I8(v) => v.len(),
            Self::I16(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// MNIST-style images: `count` images of `rows x cols` unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image, row-major.
    pub pixels: Vec<u8>,
}

/// Element types of the IDX format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElemType {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl ElemType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x08 => Self::U8,
            0x09 => Self::I8,
            0x0B => Self::I16,
            0x0C => Self::I32,
            0x0D => Self::F32,
            0x0E => Self::F64,
            _ => return None,
        })
    }

    fn size(self) -> u64 {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Converts a body of exactly the right length from big-endian bytes.
    fn decode(self, body: Vec<u8>) -> IdxData {
        match self {
            Self::U8 => IdxData::U8(body),
            Self::I8 => IdxData::I8(body.into_iter().map(|b| b as i8).collect()),
            Self::I16 => IdxData::I16(read_elements(&body, 2, BigEndian::read_i16_into)),
            Self::I32 => IdxData::I32(read_elements(&body, 4, BigEndian::read_i32_into)),
            Self::F32 => IdxData::F32(read_elements(&body, 4, BigEndian::read_f32_into)),
            Self::F64 => IdxData::F64(read_elements(&body, 8, BigEndian::read_f64_into)),
        }
    }
}

/// What the header says, before the body is read.
struct Header {
    magic: u32,
    elem: ElemType,
    dims: Vec<u64>,
    body_bytes: u64,
}

/// Reads any IDX file, gzip-compressed or not.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let mut source = Source::open(path.as_ref())?;
    let header = read_header(&mut source)?;
    read_body(&mut source, header)
}

/// Reads an IDX file of images (magic 0x00000803: u8, `[count, rows, cols]`).
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let array = read_expecting(
        path.as_ref(),
        IDX_IMAGES_MAGIC,
        "0x803 means 3-D unsigned bytes: images",
    )?;
    let (IdxData::U8(pixels), &[count, rows, cols]) = (array.data, array.dims.as_slice()) else {
        unreachable!("magic 0x803 guarantees u8 elements and 3 dims");
    };
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// Reads an IDX file of labels (magic 0x00000801: u8, `[count]`).
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let array = read_expecting(
        path.as_ref(),
        IDX_LABELS_MAGIC,
        "0x801 means 1-D unsigned bytes: labels",
    )?;
    let IdxData::U8(labels) = array.data else {
        unreachable!("magic 0x801 guarantees u8 elements");
    };
    Ok(labels)
}

/// Reads an IDX file whose magic must be `expected`, checked before the body is read.
fn read_expecting(path: &Path, expected: u32, hint: &'static str) -> Result<IdxArray> {
    let mut source = Source::open(path)?;
    let header = read_header(&mut source)?;
    if header.magic != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected,
            found: header.magic,
            hint,
        });
    }
    read_body(&mut source, header)
}

fn read_header(source: &mut Source) -> Result<Header> {
    let path = source.path().to_path_buf();
    let start = read_exact(source, 4, "IDX header")?;
    if start[..2] != [0, 0] {
        return Err(DataError::NotIdx { path, found: start });
    }
    let magic = BigEndian::read_u32(&start);
    let elem = ElemType::from_code(start[2]).ok_or(DataError::UnsupportedIdxType {
        path: path.clone(),
        code: start[2],
    })?;

    let ndims = usize::from(start[3]);
    let raw_dims = read_exact(source, 4 * ndims as u64, "IDX dimensions")?;
    let dims: Vec<u64> = raw_dims
        .chunks_exact(4)
        .map(|d| u64::from(BigEndian::read_u32(d)))
        .collect();

    // Checked: a hostile header can make this product overflow u64.
    let body_bytes = dims
        .iter()
        .try_fold(elem.size(), |acc, &d| acc.checked_mul(d))
        .filter(|&bytes| bytes <= MAX_BODY_BYTES)
        .ok_or_else(|| DataError::LyingHeader {
            path: path.clone(),
            dims: dims.clone(),
            reason: format!(
                "describe more than {} GiB of data; the header is corrupt",
                MAX_BODY_BYTES >> 30
            ),
        })?;
    Ok(Header {
        magic,
        elem,
        dims,
        body_bytes,
    })
}

fn read_body(source: &mut Source, header: Header) -> Result<IdxArray> {
    let path = source.path().to_path_buf();
    let expected = header.body_bytes;
    // For a plain file the size is known: reject before reading anything.
    if let Some(remaining) = source.raw_remaining() {
        check_body_len(&path, &header, remaining)?;
    }
    // One byte past the announced size, to notice trailing data.
    let body = source.read_up_to(expected + 1)?;
    check_body_len(&path, &header, body.len() as u64)?;

    let dims = header
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| DataError::LyingHeader {
            path,
            dims: header.dims.clone(),
            reason: "do not fit in this machine's address space".into(),
        })?;
    Ok(IdxArray {
        dims,
        data: header.elem.decode(body),
    })
}

fn check_body_len(path: &Path, header: &Header, found: u64) -> Result<()> {
    let expected = header.body_bytes;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            what: "IDX data",
            expected_bytes: expected,
            found_bytes: found,
        });
    }
    if found > expected {
        return Err(DataError::LyingHeader {
            path: path.to_path_buf(),
            dims: header.dims.clone(),
            reason: format!("account for {expected} bytes of data, but the file holds more"),
        });
    }
    Ok(())
}

/// Reads exactly `n` bytes of a header part, or reports how many there were.
fn read_exact(source: &mut Source, n: u64, what: &'static str) -> Result<Vec<u8>> {
    let bytes = source.read_up_to(n)?;
    if (bytes.len() as u64) < n {
        return Err(DataError::Truncated {
            path: source.path().to_path_buf(),
            what,
            expected_bytes: n,
            found_bytes: bytes.len() as u64,
        });
    }
    Ok(bytes)
}
