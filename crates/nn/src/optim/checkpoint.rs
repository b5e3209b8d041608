//! An optimizer's state as a safetensors file: buffers as tensors under
//! `state.<i>.<name>` (PyTorch's `state_dict()["state"][i][name]`),
//! hyper-parameters as text in the file's `__metadata__` under
//! `param_groups.0.<name>`, so that f64 values survive exactly.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::checkpoint::{load_safetensors_with_metadata, save_safetensors_with_metadata};
use crate::error::{NnError, Result};
use crate::optim::{HyperParam, Optimizer, OptimizerState};
use crate::state_dict::StateDict;

const GROUP: &str = "param_groups.0.";
const NUM_PARAMS: &str = "num_params";

fn encode(value: &HyperParam) -> String {
    match value {
        HyperParam::Float(v) => format!("float:{v:?}"),
        HyperParam::Bool(b) => format!("bool:{b}"),
        HyperParam::Pair(a, b) => format!("pair:{a:?},{b:?}"),
    }
}

fn decode(text: &str) -> Option<HyperParam> {
    let (kind, value) = text.split_once(':')?;
    match kind {
        "float" => value.parse().ok().map(HyperParam::Float),
        "bool" => value.parse().ok().map(HyperParam::Bool),
        "pair" => {
            let (a, b) = value.split_once(',')?;
            Some(HyperParam::Pair(a.parse().ok()?, b.parse().ok()?))
        }
        _ => None,
    }
}

/// Saves `optimizer.state_dict()` at `path` (atomically, like model checkpoints).
pub fn save_optimizer(optimizer: &dyn Optimizer, path: impl AsRef<Path>) -> Result<()> {
    let state = optimizer.state_dict();
    let mut tensors = StateDict::new();
    for (index, buffers) in &state.state {
        for (name, tensor) in buffers {
            tensors.insert(format!("state.{index}.{name}"), tensor.clone());
        }
    }
    let mut metadata: HashMap<String, String> = state
        .param_group
        .iter()
        .map(|(k, v)| (format!("{GROUP}{k}"), encode(v)))
        .collect();
    metadata.insert(NUM_PARAMS.to_string(), state.num_params.to_string());
    save_safetensors_with_metadata(&tensors, &metadata, path)
}

/// Loads a file written by [`save_optimizer`] into `optimizer`
/// (`optimizer.load_state_dict(torch.load(path))`); nothing changes on error.
pub fn load_optimizer(optimizer: &mut dyn Optimizer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (tensors, metadata) = load_safetensors_with_metadata(path)?;
    let malformed = |reason: String| NnError::Safetensors {
        path: path.to_path_buf(),
        reason,
    };
    let num_params = metadata
        .get(NUM_PARAMS)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            malformed(format!(
                "no optimizer state: metadata {NUM_PARAMS:?} is missing or not a number"
            ))
        })?;
    let mut param_group = BTreeMap::new();
    for (key, text) in &metadata {
        if let Some(name) = key.strip_prefix(GROUP) {
            let value = decode(text).ok_or_else(|| {
                malformed(format!(
                    "hyper-parameter {name:?} has an unreadable value {text:?}"
                ))
            })?;
            param_group.insert(name.to_string(), value);
        }
    }
    let mut state: BTreeMap<usize, BTreeMap<String, _>> = BTreeMap::new();
    for (key, tensor) in tensors.iter() {
        let parsed = key
            .strip_prefix("state.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(i, name)| Some((i.parse::<usize>().ok()?, name)));
        let (index, name) = parsed.ok_or_else(|| {
            malformed(format!(
                "tensor {key:?} is not an optimizer state (state.<i>.<name>)"
            ))
        })?;
        state
            .entry(index)
            .or_default()
            .insert(name.to_string(), tensor.clone());
    }
    optimizer.load_state_dict(&OptimizerState {
        state,
        param_group,
        num_params,
    })?;
    Ok(())
}
