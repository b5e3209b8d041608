//! The one error type of `wgrad-data`.
//!
//! Every variant names the file it is about and says what is wrong with it in
//! a sentence a user can act on: data files come from outside the program, so
//! a bad one is an ordinary `Err`, never a panic.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// `Result` with [`DataError`] as the error.
pub type Result<T> = std::result::Result<T, DataError>;

/// Everything that can go wrong while reading a data set from disk.
#[derive(Debug, Error)]
pub enum DataError {
    /// The operating system could not open or read the file.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The file is named `*.gz` but does not start with the gzip magic bytes.
    #[error(
        "{path} is named .gz but is not gzip-compressed \
         (it does not start with the gzip magic bytes 1f 8b)"
    )]
    NotGzip {
        /// The file.
        path: PathBuf,
    },

    /// The file starts like gzip but its compressed stream is damaged or cut short.
    #[error("{path} is a corrupt or cut-short gzip file: {source}")]
    CorruptGzip {
        /// The file.
        path: PathBuf,
        /// What the decompressor said.
        source: io::Error,
    },

    /// The file does not start with an IDX magic number at all.
    #[error(
        "{path} is not an IDX file: it should start with two zero bytes, a type code \
         and a dimension count, but starts with the bytes {}",
        hex(found)
    )]
    NotIdx {
        /// The file.
        path: PathBuf,
        /// The first bytes of the file.
        found: Vec<u8>,
    },

    /// The file is IDX but not the kind the caller asked for (images vs labels).
    #[error(
        "{path} has IDX magic number {found:#010x} but {expected:#010x} was expected \
         ({hint})"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number the caller needs.
        expected: u32,
        /// The magic number in the file.
        found: u32,
        /// What the expected number means, e.g. "0x803 is 3-D unsigned bytes: images".
        hint: &'static str,
    },

    /// The IDX type code is not one of the six the format defines.
    #[error(
        "{path} declares IDX element type code {code:#04x}, which is not one of \
         0x08 (u8), 0x09 (i8), 0x0B (i16), 0x0C (i32), 0x0D (f32), 0x0E (f64)"
    )]
    UnsupportedIdxType {
        /// The file.
        path: PathBuf,
        /// The type code found.
        code: u8,
    },

    /// The file ends before the part its header (or opcode) announced.
    #[error(
        "{path} is truncated: expected {expected_bytes} bytes of {what} but found only {found_bytes}"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part was being read ("IDX header", "IDX data", ...).
        what: &'static str,
        /// How many bytes that part should have.
        expected_bytes: u64,
        /// How many bytes the file actually had.
        found_bytes: u64,
    },

    /// The IDX header declares dimensions that cannot be true for this file.
    #[error("{path} has an IDX header that cannot be right: dimensions {dims:?} {reason}")]
    LyingHeader {
        /// The file.
        path: PathBuf,
        /// The dimensions the header declares.
        dims: Vec<u64>,
        /// Why they cannot be right.
        reason: String,
    },

    /// The pickle stream is malformed or uses something this reader does not support.
    #[error("{path} is not a pickle this reader can load (at byte {offset}): {message}")]
    Pickle {
        /// The file.
        path: PathBuf,
        /// Offset of the opcode being run, in the decompressed stream.
        offset: u64,
        /// What is wrong.
        message: String,
    },

    /// The pickle refers to a Python global this reader does not know.
    ///
    /// The reader never executes anything; it only recognises a fixed list of
    /// numpy constructors, so any other global (`os.system`, ...) is refused.
    #[error(
        "{path} refers to the Python global {module}.{name} (at byte {offset}); only numpy \
         arrays and dtypes can be loaded, and nothing from a pickle is ever executed"
    )]
    UnknownGlobal {
        /// The file.
        path: PathBuf,
        /// Offset of the GLOBAL/STACK_GLOBAL opcode.
        offset: u64,
        /// The module part, e.g. `os`.
        module: String,
        /// The name part, e.g. `system`.
        name: String,
    },

    /// The file loaded, but its contents are not laid out as the caller expects.
    #[error("{path} does not have the expected layout: expected {expected}, found {found}")]
    UnexpectedLayout {
        /// The file.
        path: PathBuf,
        /// What the caller needed.
        expected: String,
        /// What the file holds.
        found: String,
    },

    /// An image file and its label file disagree on the number of samples.
    #[error("{images_path} holds {images} images but {labels_path} holds {labels} labels")]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },

    /// A label outside the range of classes.
    #[error("{path} has label {label} at index {index}, outside the classes 0..={max}")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Index of the sample.
        index: usize,
        /// The label found.
        label: i64,
        /// The largest valid label.
        max: i64,
    },

    /// A data set file is missing from its folder.
    #[error(
        "{dir} has no {name} (nor {name}.gz); set WGRAD_DATA to the folder holding the data set"
    )]
    MissingFile {
        /// The folder searched.
        dir: PathBuf,
        /// The file name looked for, without `.gz`.
        name: &'static str,
    },

    /// An array cannot be converted to the requested element type without loss.
    #[error("cannot convert a {from} array to {to}: {reason}")]
    Convert {
        /// The array's dtype, e.g. `float32`.
        from: &'static str,
        /// The requested type, e.g. `i64`.
        to: &'static str,
        /// Why not.
        reason: String,
    },

    /// Host data whose length does not fill the shape it is given.
    #[error("{len} values do not fill shape {shape:?} ({numel} elements)")]
    HostShape {
        /// The shape asked for.
        shape: Vec<usize>,
        /// Its number of elements.
        numel: usize,
        /// The number of values given.
        len: usize,
    },

    /// The tensors of a data set disagree on the number of samples (their first dimension).
    #[error(
        "a TensorDataset needs one sample per row of every tensor, but the features have shape \
         {features:?} and the labels {labels:?}"
    )]
    SampleCount {
        /// Shape of the features.
        features: Vec<usize>,
        /// Shape of the labels.
        labels: Vec<usize>,
    },

    /// A sample index past the end of a data set.
    #[error("{what}: index {index} is out of range for a data set of {len} samples")]
    IndexOutOfRange {
        /// What was being built, e.g. `Subset`.
        what: &'static str,
        /// The index.
        index: usize,
        /// The data set's length.
        len: usize,
    },

    /// `random_split` lengths that cannot split the data set.
    #[error("random_split: cannot split a data set of {len} samples into {lengths}: {reason}")]
    SplitLengths {
        /// The lengths or fractions as given, e.g. `[80, 30]`.
        lengths: String,
        /// The data set's length.
        len: usize,
        /// Why not.
        reason: String,
    },

    /// A transform that cannot apply to the samples it is given.
    #[error("{transform} cannot apply: {reason}")]
    Transform {
        /// The transform, e.g. `Normalize(mean=0.1307, std=0)`.
        transform: String,
        /// Why not.
        reason: String,
    },

    /// No data set where one was expected.
    #[error(
        "no data set at {path} (the path comes from {origin}): {reason}. Pass --data with a \
         folder of IDX files (train-images-idx3-ubyte.gz, ...) or an mnist.pkl.gz file, set \
         WGRAD_DATA to one, or fetch MNIST with Mnist::download(folder)"
    )]
    DataNotFound {
        /// The path looked at.
        path: PathBuf,
        /// Where the path came from: `--data`, `WGRAD_DATA` or the default.
        origin: &'static str,
        /// What is missing.
        reason: String,
    },

    /// A command-line flag given without its value.
    #[error("{flag} needs a value, e.g. {flag} ../shared/data/mnist")]
    MissingArgument {
        /// The flag, e.g. `--data`.
        flag: &'static str,
    },

    /// A file could not be downloaded from any mirror.
    #[error(
        "could not download {file} into {dir}: {}",
        attempts.iter().map(|(url, why)| format!("{url}: {why}")).collect::<Vec<_>>().join("; ")
    )]
    Download {
        /// The file name, e.g. `train-images-idx3-ubyte.gz`.
        file: String,
        /// The folder it was to be written to.
        dir: PathBuf,
        /// Each URL tried, with what went wrong there.
        attempts: Vec<(String, String)>,
    },

    /// The GPU device failed (no adapter, out of memory, lost device).
    #[error(transparent)]
    Device(#[from] wgrad_tensor::TensorError),
}

/// Bytes as `47 49 46 38`, the way a hex dump shows them.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
