//! `state_dict()` and `load_state_dict()`: a model's tensors by PyTorch's
//! dotted key names, and copying them back with every key checked first.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;
use wgrad_autograd::{Tensor, no_grad};

use crate::error::Result;

/// An ordered map from dotted names (`conv1.weight`, `0.bias`) to tensors:
/// PyTorch's `OrderedDict` returned by `state_dict()`.
#[derive(Clone, Default)]
pub struct StateDict {
    entries: Vec<(String, Tensor)>,
    index: HashMap<String, usize>,
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> StateDict {
        StateDict::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tensor under `key`.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Sets `key` to `tensor`, keeping its position if it was present (and
    /// returning the old tensor), else appending it.
    pub fn insert(&mut self, key: impl Into<String>, tensor: Tensor) -> Option<Tensor> {
        let key = key.into();
        match self.index.get(&key) {
            Some(&i) => Some(std::mem::replace(&mut self.entries[i].1, tensor)),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, tensor));
                None
            }
        }
    }

    /// Removes `key`, keeping the order of the rest.
    pub fn remove(&mut self, key: &str) -> Option<Tensor> {
        let i = self.index.remove(key)?;
        let (_, t) = self.entries.remove(i);
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        Some(t)
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// `(key, tensor)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().map(|(k, t)| (k.as_str(), t))
    }
}

impl FromIterator<(String, Tensor)> for StateDict {
    fn from_iter<I: IntoIterator<Item = (String, Tensor)>>(iter: I) -> StateDict {
        let mut sd = StateDict::new();
        for (k, t) in iter {
            sd.insert(k, t);
        }
        sd
    }
}

impl IntoIterator for StateDict {
    type Item = (String, Tensor);
    type IntoIter = std::vec::IntoIter<(String, Tensor)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl fmt::Debug for StateDict {
    /// Keys with shapes (the values would need a read-back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, t)| (k, t.shape())))
            .finish()
    }
}

/// The keys that did not match when loading non-strictly
/// (PyTorch's `_IncompatibleKeys`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncompatibleKeys {
    /// Keys of the model that the state dict lacks.
    pub missing_keys: Vec<String>,
    /// Keys of the state dict that the model lacks.
    pub unexpected_keys: Vec<String>,
}

/// A key present in both whose shapes differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The dotted key.
    pub key: String,
    /// The shape in the state dict (checkpoint).
    pub checkpoint: Vec<usize>,
    /// The shape in the model.
    pub model: Vec<usize>,
}

/// Why `load_state_dict` refused: every problem at once, printed as
/// PyTorch's `Error(s) in loading state_dict for Net: ...`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct LoadStateDictError {
    /// The model's class name.
    pub module: String,
    /// Model keys absent from the state dict (reported when strict).
    pub missing: Vec<String>,
    /// State dict keys absent from the model (reported when strict).
    pub unexpected: Vec<String>,
    /// Keys whose shapes differ.
    pub mismatched: Vec<ShapeMismatch>,
}

fn quoted(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn torch_size(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("torch.Size([{}])", dims.join(", "))
}

impl fmt::Display for LoadStateDictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut msgs = Vec::new();
        if !self.missing.is_empty() {
            msgs.push(format!(
                "Missing key(s) in state_dict: {}. ",
                quoted(&self.missing)
            ));
        }
        if !self.unexpected.is_empty() {
            msgs.push(format!(
                "Unexpected key(s) in state_dict: {}. ",
                quoted(&self.unexpected)
            ));
        }
        for m in &self.mismatched {
            msgs.push(format!(
                "size mismatch for {}: copying a param with shape {} from checkpoint, the shape in current model is {}.",
                m.key,
                torch_size(&m.checkpoint),
                torch_size(&m.model)
            ));
        }
        write!(
            f,
            "Error(s) in loading state_dict for {}:\n\t{}",
            self.module,
            msgs.join("\n\t")
        )
    }
}

/// Checks `state` against the model's own state (`target`, whose tensors
/// share the model's buffers) and, if nothing is wrong, copies every
/// matching tensor into place.
pub(crate) fn load_into(
    module: &str,
    target: &StateDict,
    state: &StateDict,
    strict: bool,
) -> Result<IncompatibleKeys> {
    let keys = IncompatibleKeys {
        missing_keys: target
            .keys()
            .filter(|k| !state.contains_key(k))
            .map(String::from)
            .collect(),
        unexpected_keys: state
            .keys()
            .filter(|k| !target.contains_key(k))
            .map(String::from)
            .collect(),
    };
    let mismatched: Vec<ShapeMismatch> = target
        .iter()
        .filter_map(|(k, dst)| {
            let src = state.get(k)?;
            (src.shape() != dst.shape()).then(|| ShapeMismatch {
                key: k.to_string(),
                checkpoint: src.shape().to_vec(),
                model: dst.shape().to_vec(),
            })
        })
        .collect();
    let key_errors = strict && !(keys.missing_keys.is_empty() && keys.unexpected_keys.is_empty());
    if key_errors || !mismatched.is_empty() {
        let (missing, unexpected) = if strict {
            (keys.missing_keys, keys.unexpected_keys)
        } else {
            (Vec::new(), Vec::new())
        };
        return Err(LoadStateDictError {
            module: module.to_string(),
            missing,
            unexpected,
            mismatched,
        }
        .into());
    }
    no_grad(|| {
        for (k, dst) in target.iter() {
            if let Some(src) = state.get(k) {
                // The raw copy converts f32 <-> i32 as PyTorch's copy_ does.
                dst.data().copy_(src.data());
            }
        }
    });
    Ok(keys)
}
