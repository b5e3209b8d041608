//! Downloading MNIST's IDX files, verified by SHA-256.
//!
//! Each file is streamed into a temporary file in the destination folder
//! while its digest is computed, flushed to disk, checked, and only then
//! renamed to its real name. A rename within one folder is atomic, so a
//! reader sees either no file or the whole verified file, and after any
//! failure (HTTP error, cut-off connection, wrong digest) nothing is left
//! behind: the temporary file is removed when its guard drops.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::mnist::Mnist;

/// The usual public mirrors of MNIST, tried in order (torchvision's and
/// TensorFlow's, then the original site).
pub const MNIST_MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// The official MNIST files and their SHA-256 digests (60,000 training and
/// 10,000 test digits).
pub const MNIST_SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

/// A download larger than this is refused: MNIST's largest file is 9.9 MB,
/// so anything near this is not the file asked for.
const MAX_BYTES: u64 = 64 << 20;

/// What to download: base URLs to try in order, and each file's name with
/// its expected SHA-256 (64 hex digits).
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadSpec {
    /// Base URLs; a file's URL is the base, a `/`, and its name.
    pub mirrors: Vec<String>,
    /// `(file name, SHA-256 as hex)` pairs.
    pub files: Vec<(String, String)>,
}

impl DownloadSpec {
    /// The official MNIST files from [`MNIST_MIRRORS`], checked against [`MNIST_SHA256`].
    pub fn mnist() -> Self {
        Self {
            mirrors: MNIST_MIRRORS.iter().map(|m| m.to_string()).collect(),
            files: MNIST_SHA256
                .iter()
                .map(|&(name, digest)| (name.to_string(), digest.to_string()))
                .collect(),
        }
    }
}

impl Mnist {
    /// Downloads the four official MNIST IDX files into `dir` (created if
    /// needed) from the usual mirrors and verifies their SHA-256; returns
    /// their paths. Files already there with the right digest are kept.
    ///
    /// ```no_run
    /// use wgrad_data::Mnist;
    ///
    /// Mnist::download("data/mnist")?;
    /// let mnist = Mnist::from_idx_dir("data/mnist")?;
    /// # Ok::<(), wgrad_data::DataError>(())
    /// ```
    pub fn download(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        download(dir, &DownloadSpec::mnist())
    }
}

/// Downloads every file of `spec` into `dir` (created if needed), each from
/// the first mirror that gives it with the expected SHA-256; returns the
/// paths in the order of `spec.files`.
///
/// A file already in `dir` with the expected digest is not downloaded
/// again; one with another digest is replaced. Errors with
/// [`DataError::Download`] naming the file and every URL tried with what
/// went wrong there; no partial file remains.
pub fn download(dir: impl AsRef<Path>, spec: &DownloadSpec) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    fs::create_dir_all(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let agent = agent();
    let mut paths = Vec::with_capacity(spec.files.len());
    for (name, digest) in &spec.files {
        let target = dir.join(name);
        let digest = digest.to_ascii_lowercase();
        if sha256_of_file(&target).is_ok_and(|found| found == digest) {
            paths.push(target);
            continue;
        }
        let mut attempts = Vec::new();
        for mirror in &spec.mirrors {
            let url = format!("{}/{name}", mirror.trim_end_matches('/'));
            match fetch_verified(&agent, &url, dir, name, &digest) {
                Ok(()) => break,
                Err(why) => attempts.push((url, why)),
            }
        }
        if attempts.len() == spec.mirrors.len() {
            return Err(DataError::Download {
                file: name.clone(),
                dir: dir.to_path_buf(),
                attempts,
            });
        }
        paths.push(target);
    }
    Ok(paths)
}

/// An HTTP agent with timeouts that let a stalled mirror fail instead of
/// hanging, and the environment's proxy settings (ureq's default).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Fetches `url` into a temporary file in `dir`, checks its digest and
/// renames it to `dir/name`. The error is a sentence for the attempt list.
fn fetch_verified(
    agent: &ureq::Agent,
    url: &str,
    dir: &Path,
    name: &str,
    digest: &str,
) -> std::result::Result<(), String> {
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("the server answered HTTP {code}"),
        other => other.to_string(),
    })?;
    let temp = TempFile::new(dir, name);
    let mut body = response.into_body().into_reader().take(MAX_BYTES + 1);
    let (found, bytes) = File::create(&temp.path)
        .and_then(|file| copy_hashing(&mut body, Some(file)))
        .map_err(|e| format!("the transfer failed: {e}"))?;
    if bytes > MAX_BYTES {
        return Err(format!(
            "the file is larger than {} MiB, which no MNIST file is",
            MAX_BYTES >> 20
        ));
    }
    if found != digest {
        return Err(format!(
            "the SHA-256 of the {bytes} bytes received is {found}, but {digest} was expected"
        ));
    }
    temp.persist(&dir.join(name))
        .map_err(|e| format!("cannot rename the verified file into place: {e}"))
}

/// Streams `reader` through SHA-256, and into `file` (then flushed to
/// disk) when given; returns the digest as hex and the byte count.
fn copy_hashing(reader: &mut impl Read, file: Option<File>) -> io::Result<(String, u64)> {
    let mut file = file.map(BufWriter::new);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        if let Some(file) = file.as_mut() {
            file.write_all(&buffer[..n])?;
        }
        total += n as u64;
    }
    if let Some(file) = file {
        // Durable before the rename, so a crash cannot leave a renamed but
        // incomplete file.
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// The SHA-256 of a file as 64 lowercase hex digits.
pub fn sha256_of_file(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let digest = File::open(path).and_then(|mut file| copy_hashing(&mut file, None));
    match digest {
        Ok((digest, _)) => Ok(digest),
        Err(source) => Err(DataError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A temporary file next to its destination, removed on drop unless
/// renamed into place.
struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// A fresh name: hidden, with the process id and a counter, so that two
    /// downloads (threads or processes) into one folder never share one.
    fn new(dir: &Path, name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}.{unique}.part", std::process::id()));
        Self {
            path,
            persisted: false,
        }
    }

    fn persist(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            // It may never have been created; nothing else to do either way.
            let _ = fs::remove_file(&self.path);
        }
    }
}
