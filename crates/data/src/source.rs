//! Opening a data file that may or may not be gzip-compressed.
//!
//! Compression is detected from the first two bytes (1f 8b), not from the
//! name: data sets are often renamed or decompressed in place. A name ending
//! in `.gz` on a file that is not gzip is still an error, because it almost
//! always means a download went wrong (an HTML error page saved as `.gz`).

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{DataError, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A byte stream from a file, decompressed on the fly when it is gzip.
pub(crate) struct Source {
    path: PathBuf,
    reader: Box<dyn Read>,
    gzip: bool,
    /// Bytes left to read, known only for uncompressed files.
    raw_remaining: Option<u64>,
}

impl Source {
    /// Opens `path` and sniffs its first two bytes for the gzip magic.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let io_err = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();

        let mut magic = Vec::with_capacity(2);
        (&mut file)
            .take(2)
            .read_to_end(&mut magic)
            .map_err(io_err)?;
        let gzip = magic == GZIP_MAGIC;
        let named_gz = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
        if named_gz && !gzip {
            return Err(DataError::NotGzip {
                path: path.to_path_buf(),
            });
        }

        // Put the sniffed bytes back in front of the rest of the file.
        let whole = Cursor::new(magic).chain(file);
        let (reader, raw_remaining): (Box<dyn Read>, _) = if gzip {
            (Box::new(MultiGzDecoder::new(BufReader::new(whole))), None)
        } else {
            (Box::new(BufReader::new(whole)), Some(len))
        };
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            gzip,
            raw_remaining,
        })
    }

    /// The file this stream reads.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes left in an uncompressed file; `None` for gzip streams.
    pub(crate) fn raw_remaining(&self) -> Option<u64> {
        self.raw_remaining
    }

    /// Reads up to `limit` bytes (fewer only at the end of the stream).
    ///
    /// The buffer grows with the data actually read, so a header that lies
    /// about a huge size cannot make us allocate more than the file holds.
    pub(crate) fn read_up_to(&mut self, limit: u64) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        if let Some(remaining) = self.raw_remaining {
            // Exact for plain files: one allocation, no regrowth.
            buf.reserve(usize::try_from(remaining.min(limit)).unwrap_or(0));
        }
        let read = (&mut self.reader).take(limit).read_to_end(&mut buf);
        read.map_err(|e| self.read_error(e))?;
        if let Some(remaining) = self.raw_remaining.as_mut() {
            *remaining = remaining.saturating_sub(buf.len() as u64);
        }
        Ok(buf)
    }

    /// Reads the whole (decompressed) stream.
    pub(crate) fn read_all(&mut self) -> Result<Vec<u8>> {
        self.read_up_to(u64::MAX)
    }

    /// Classifies a read failure: inside a gzip stream, malformed data is
    /// the file's fault (corrupt), anything else is the operating system's.
    fn read_error(&self, source: io::Error) -> DataError {
        let path = self.path.clone();
        let decoder_complaint = matches!(
            source.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
        );
        if self.gzip && decoder_complaint {
            DataError::CorruptGzip { path, source }
        } else {
            DataError::Io { path, source }
        }
    }
}
