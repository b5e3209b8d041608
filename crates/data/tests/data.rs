//! Tests of wgrad-data: the readers on the real MNIST files in
//! `../shared/data/mnist` and on small files made here, valid and broken
//! (`tests/readers/`); data sets, the loader, downloads from a local HTTP
//! server and path resolution (`tests/pipeline/`).
//!
//! One binary, so one device for every test that uploads.

// A test crate's root looks for modules beside it, where Cargo would take
// them for separate test binaries: point at the subfolder instead.
#[path = "readers/idx.rs"]
mod idx;
#[path = "readers/mnist.rs"]
mod mnist;
#[path = "readers/pickle.rs"]
mod pickle;

#[path = "pipeline/dataset.rs"]
mod dataset;
#[path = "pipeline/download.rs"]
mod download;
#[path = "pipeline/loader.rs"]
mod loader;
#[path = "pipeline/paths.rs"]
mod paths;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The shared MNIST folder beside the workspace (see shared/data/README.md).
pub fn mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist")
}

/// A fresh folder under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "wgrad-data-{}-{}-{test}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(unique);
        fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }

    /// Writes `bytes` to `name` in this folder and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).expect("write a temp file");
        path
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp folder must not fail a test.
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Asserts that `message` mentions every word in `words`, showing it otherwise.
pub fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(
            message.contains(word),
            "error message {message:?} should mention {word:?}"
        );
    }
}
