//! safetensors checkpoints with PyTorch's key names and layouts, so that
//! `safetensors.torch.save_file(model.state_dict(), path)` and wgrad read
//! and write the same files.
//!
//! Layout: row-major, little-endian; f32 as `F32`, i32 as `I32`. On load,
//! `F64` is narrowed to f32 and `I64` (PyTorch's default integer type) to
//! i32 when every value fits.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use wgrad_autograd::Tensor;
use wgrad_tensor::DType;

use crate::error::{NnError, Result};
use crate::state_dict::StateDict;

/// One tensor's bytes as safetensors stores them.
fn tensor_bytes(t: &Tensor) -> Result<(Dtype, Vec<u8>)> {
    Ok(match t.dtype() {
        DType::F32 => (
            Dtype::F32,
            t.to_vec::<f32>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        DType::I32 => (
            Dtype::I32,
            t.to_vec::<i32>()?
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
    })
}

/// Serializes a state dict to the bytes of a safetensors file, with the
/// `{"format": "pt"}` metadata that `safetensors.torch.save_file` writes.
pub fn to_safetensors_bytes(state: &StateDict) -> Result<Vec<u8>> {
    serialize(state, &HashMap::new(), Path::new("<memory>"))
}

/// [`to_safetensors_bytes`] with extra `__metadata__` entries, errors naming `path`.
fn serialize(state: &StateDict, extra: &HashMap<String, String>, path: &Path) -> Result<Vec<u8>> {
    let data: Vec<(&str, Dtype, Vec<u8>)> = state
        .iter()
        .map(|(k, t)| {
            let (dtype, bytes) = tensor_bytes(t)?;
            Ok((k, dtype, bytes))
        })
        .collect::<Result<_>>()?;
    let invalid = |e: safetensors::SafeTensorError| NnError::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let views = data
        .iter()
        .zip(state.iter())
        .map(|((k, dtype, bytes), (_, t))| {
            TensorView::new(*dtype, t.shape().to_vec(), bytes).map(|v| (*k, v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let mut metadata = extra.clone();
    metadata.insert("format".to_string(), "pt".to_string());
    safetensors::serialize(views, Some(metadata)).map_err(invalid)
}

/// Saves a state dict as a safetensors file at `path`.
///
/// The file is written to a temporary file in the same directory, flushed
/// to disk and then renamed over `path`, so `path` never holds a
/// half-written checkpoint: on any error the old file (if any) is intact
/// and the temporary file is removed.
pub fn save_safetensors(state: &StateDict, path: impl AsRef<Path>) -> Result<()> {
    save_safetensors_with_metadata(state, &HashMap::new(), path)
}

/// [`save_safetensors`] with extra string entries in the file's
/// `__metadata__` (what is not a tensor, such as an optimizer's
/// hyper-parameters).
pub fn save_safetensors_with_metadata(
    state: &StateDict,
    metadata: &HashMap<String, String>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    write_atomically(path, &serialize(state, metadata, path)?)
}

/// Distinguishes temporary files of concurrent saves in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| NnError::Io {
            action,
            path,
            source,
        }
    };
    let result = (|| {
        let mut file = fs::File::create(&temp).map_err(io("creating", &temp))?;
        file.write_all(bytes).map_err(io("writing", &temp))?;
        file.sync_all().map_err(io("writing", &temp))?;
        fs::rename(&temp, path).map_err(io("renaming into", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Loads a safetensors file (written by wgrad or by
/// `safetensors.torch.save_file`) into a state dict, keys in file order.
///
/// Errors name the file, and the key for a tensor wgrad cannot hold.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<StateDict> {
    Ok(load_safetensors_with_metadata(path)?.0)
}

/// [`load_safetensors`] that also returns the file's `__metadata__`.
pub fn load_safetensors_with_metadata(
    path: impl AsRef<Path>,
) -> Result<(StateDict, HashMap<String, String>)> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| NnError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |e: safetensors::SafeTensorError| NnError::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(invalid)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    Ok((from_safetensors_bytes(&bytes, path)?, metadata))
}

/// Parses the bytes of a safetensors file; `path` is only for errors.
pub fn from_safetensors_bytes(bytes: &[u8], path: &Path) -> Result<StateDict> {
    let invalid = |e: safetensors::SafeTensorError| NnError::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(invalid)?;
    let file = SafeTensors::deserialize(bytes).map_err(invalid)?;
    let mut state = StateDict::new();
    for key in metadata.offset_keys() {
        let view = file.tensor(&key).map_err(invalid)?;
        let tensor = decode(&view, path, &key)?;
        state.insert(key, tensor);
    }
    Ok(state)
}

/// Little-endian words of `N` bytes.
fn words<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    data.chunks_exact(N).map(|c| {
        let mut w = [0u8; N];
        w.copy_from_slice(c);
        w
    })
}

fn decode(view: &TensorView<'_>, path: &Path, key: &str) -> Result<Tensor> {
    let shape = view.shape();
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => {
            let v: Vec<f32> = words::<4>(data).map(f32::from_le_bytes).collect();
            Tensor::from_slice(&v, shape)
        }
        Dtype::F64 => {
            let v: Vec<f32> = words::<8>(data)
                .map(|w| f64::from_le_bytes(w) as f32)
                .collect();
            Tensor::from_slice(&v, shape)
        }
        Dtype::I32 => {
            let v: Vec<i32> = words::<4>(data).map(i32::from_le_bytes).collect();
            Tensor::from_slice(&v, shape)
        }
        Dtype::I64 => {
            let v = words::<8>(data)
                .map(|w| i32::try_from(i64::from_le_bytes(w)))
                .collect::<std::result::Result<Vec<i32>, _>>()
                .map_err(|_| NnError::BadTensor {
                    path: path.to_path_buf(),
                    key: key.to_string(),
                    reason: "an I64 value does not fit in i32".into(),
                })?;
            Tensor::from_slice(&v, shape)
        }
        other => {
            return Err(NnError::UnsupportedDtype {
                path: path.to_path_buf(),
                key: key.to_string(),
                dtype: format!("{other:?}"),
            });
        }
    })
}
