//! An optimizer's `state_dict`: per-parameter buffers as named tensors and
//! the hyper-parameters, with the checks `load_state_dict` makes before it
//! replaces anything.

use std::collections::BTreeMap;
use std::fmt;

use wgrad_autograd::Tensor;
use wgrad_tensor::{DType, Tensor as Raw};

use crate::optim::error::{OptimError, Result};

/// A hyper-parameter in a state dict (an entry of PyTorch's `param_groups[0]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HyperParam {
    /// A number (`lr`, `momentum`, `eps`).
    Float(f64),
    /// A switch (`nesterov`, `amsgrad`).
    Bool(bool),
    /// A pair (`betas`).
    Pair(f64, f64),
}

/// What `state_dict()` returns: PyTorch's `{"state": ..., "param_groups":
/// [...]}` for an optimizer with one parameter group.
///
/// The tensors are copies: unlike PyTorch's references, they do not change
/// when the optimizer steps again.
#[derive(Clone, Default)]
pub struct OptimizerState {
    /// The buffers of each parameter that has been updated, by its position
    /// in `params`, under PyTorch's names: `step` (a 0-d f32 tensor, as
    /// PyTorch keeps it), `momentum_buffer`, `exp_avg`, `exp_avg_sq`,
    /// `max_exp_avg_sq`, `square_avg`, `grad_avg`.
    pub state: BTreeMap<usize, BTreeMap<String, Tensor>>,
    /// The hyper-parameters under PyTorch's names (`lr`, `betas`, ...).
    /// `load_state_dict` ignores names the optimizer does not have.
    pub param_group: BTreeMap<String, HyperParam>,
    /// The number of parameters (the length of PyTorch's `params` list).
    pub num_params: usize,
}

impl fmt::Debug for OptimizerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: BTreeMap<_, BTreeMap<_, _>> = self
            .state
            .iter()
            .map(|(i, s)| (i, s.iter().map(|(k, t)| (k, t.shape())).collect()))
            .collect();
        f.debug_struct("OptimizerState")
            .field("state", &shapes)
            .field("param_group", &self.param_group)
            .field("num_params", &self.num_params)
            .finish()
    }
}

impl OptimizerState {
    fn hyper(&self, optimizer: &'static str, key: &'static str) -> Result<HyperParam> {
        self.param_group
            .get(key)
            .copied()
            .ok_or(OptimError::MissingHyperParameter { optimizer, key })
    }

    /// The number under `key`.
    pub(crate) fn float(&self, optimizer: &'static str, key: &'static str) -> Result<f64> {
        match self.hyper(optimizer, key)? {
            HyperParam::Float(v) => Ok(v),
            _ => Err(OptimError::HyperParameterType {
                optimizer,
                key,
                expected: "a number",
            }),
        }
    }

    /// The switch under `key`.
    pub(crate) fn flag(&self, optimizer: &'static str, key: &'static str) -> Result<bool> {
        match self.hyper(optimizer, key)? {
            HyperParam::Bool(v) => Ok(v),
            _ => Err(OptimError::HyperParameterType {
                optimizer,
                key,
                expected: "a bool",
            }),
        }
    }

    /// The pair under `key`.
    pub(crate) fn pair(&self, optimizer: &'static str, key: &'static str) -> Result<(f64, f64)> {
        match self.hyper(optimizer, key)? {
            HyperParam::Pair(a, b) => Ok((a, b)),
            _ => Err(OptimError::HyperParameterType {
                optimizer,
                key,
                expected: "a pair of numbers",
            }),
        }
    }
}

/// The state of one parameter: its step count and named buffers.
#[derive(Clone, Default)]
pub(crate) struct ParamState {
    /// Updates made so far (PyTorch's `state["step"]`).
    pub(crate) step: u64,
    buffers: BTreeMap<&'static str, Raw>,
}

impl ParamState {
    /// The buffer `name`, if it exists.
    pub(crate) fn get(&self, name: &'static str) -> Option<Raw> {
        self.buffers.get(name).cloned()
    }

    /// Stores `buffer` as `name`.
    pub(crate) fn insert(&mut self, name: &'static str, buffer: Raw) {
        self.buffers.insert(name, buffer);
    }

    /// The buffer `name`, created as zeros of `shape` (PyTorch's
    /// `zeros_like(p)`) if it does not exist yet.
    pub(crate) fn zeros_if_absent(&mut self, name: &'static str, shape: &[usize]) -> Raw {
        self.buffers
            .entry(name)
            .or_insert_with(|| Raw::zeros(shape))
            .clone()
    }
}

/// Which state an optimizer keeps per parameter.
pub(crate) struct StateSpec {
    /// The optimizer, for errors.
    pub(crate) optimizer: &'static str,
    /// Whether its state has a `step` (SGD's has not).
    pub(crate) has_step: bool,
    /// Buffers a loaded state must have.
    pub(crate) required: &'static [&'static str],
    /// Buffers that are created as needed when absent.
    pub(crate) optional: &'static [&'static str],
}

impl StateSpec {
    /// Copies of the per-parameter states as named tensors.
    pub(crate) fn export(
        &self,
        states: &[Option<ParamState>],
        param_group: BTreeMap<String, HyperParam>,
    ) -> OptimizerState {
        let state = states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.as_ref()?)))
            .map(|(i, s)| {
                let mut named: BTreeMap<String, Tensor> = s
                    .buffers
                    .iter()
                    .map(|(k, b)| (k.to_string(), Tensor::from_raw(b.detached_copy())))
                    .collect();
                if self.has_step {
                    named.insert("step".into(), Tensor::scalar(s.step as f32));
                }
                (i, named)
            })
            .collect();
        OptimizerState {
            state,
            param_group,
            num_params: states.len(),
        }
    }

    /// Checks `sd.state` against `params` and copies it; nothing is kept
    /// if any entry is wrong. Reads each `step` back from the device.
    pub(crate) fn import(
        &self,
        sd: &OptimizerState,
        params: &[Tensor],
    ) -> Result<Vec<Option<ParamState>>> {
        let optimizer = self.optimizer;
        let found = sd
            .state
            .keys()
            .next_back()
            .map_or(0, |&i| i + 1)
            .max(sd.num_params);
        if sd.num_params != params.len() || found > params.len() {
            return Err(OptimError::ParamCount {
                optimizer,
                expected: params.len(),
                found,
            });
        }
        let mut states = vec![None; params.len()];
        for (&index, named) in &sd.state {
            let shape = params[index].shape();
            let mut s = ParamState::default();
            for &key in self.required {
                if !named.contains_key(key) {
                    return Err(OptimError::MissingState {
                        optimizer,
                        index,
                        key: key.into(),
                    });
                }
            }
            if self.has_step && !named.contains_key("step") {
                return Err(OptimError::MissingState {
                    optimizer,
                    index,
                    key: "step".into(),
                });
            }
            for (key, t) in named {
                let check = |expected: &[usize]| self.check_tensor(index, key, t, expected);
                if self.has_step && key == "step" {
                    check(&[])?;
                    s.step = read_step(optimizer, index, t)?;
                    continue;
                }
                let Some(&name) = self
                    .required
                    .iter()
                    .chain(self.optional)
                    .find(|&&n| n == key)
                else {
                    return Err(OptimError::UnexpectedState {
                        optimizer,
                        index,
                        key: key.clone(),
                    });
                };
                check(shape)?;
                s.insert(name, t.data().detached_copy());
            }
            states[index] = Some(s);
        }
        Ok(states)
    }

    /// A loaded tensor must be f32 and of the expected shape (`[]` for a
    /// step, which may also be `[1]`).
    fn check_tensor(&self, index: usize, key: &str, t: &Tensor, expected: &[usize]) -> Result<()> {
        let optimizer = self.optimizer;
        if t.dtype() != DType::F32 {
            return Err(OptimError::StateDType {
                optimizer,
                index,
                key: key.into(),
                dtype: t.dtype(),
            });
        }
        let fits = t.shape() == expected || (expected.is_empty() && t.numel() == 1);
        if !fits {
            return Err(OptimError::StateShape {
                optimizer,
                index,
                key: key.into(),
                expected: expected.to_vec(),
                found: t.shape().to_vec(),
            });
        }
        Ok(())
    }
}

/// A `step` tensor's value as a count.
fn read_step(optimizer: &'static str, index: usize, t: &Tensor) -> Result<u64> {
    let value = t.item()?;
    // f32 holds whole numbers exactly up to 2^24, far beyond real runs.
    if !(value >= 0.0 && value.fract() == 0.0 && value < 16_777_216.0) {
        return Err(OptimError::BadStep {
            optimizer,
            index,
            value,
        });
    }
    Ok(value as u64)
}

/// The dense gradient of every parameter that has one, by position; the
/// others are skipped, as PyTorch does. Every shape is checked before
/// anything is updated.
pub(crate) fn gradients(optimizer: &'static str, params: &[Tensor]) -> Result<Vec<(usize, Raw)>> {
    let mut grads = Vec::with_capacity(params.len());
    for (index, p) in params.iter().enumerate() {
        let Some(g) = p.grad() else { continue };
        if g.shape() != p.shape() {
            return Err(OptimError::GradShape {
                optimizer,
                index,
                param: p.shape().to_vec(),
                grad: g.shape().to_vec(),
            });
        }
        grads.push((index, g.data().contiguous()));
    }
    Ok(grads)
}

/// `Err` unless `ok` (PyTorch's `if not 0.0 <= lr: raise ValueError(...)`,
/// which NaN fails too).
pub(crate) fn check(
    optimizer: &'static str,
    name: &'static str,
    value: f64,
    ok: bool,
) -> Result<()> {
    if ok && !value.is_nan() {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperParameter {
            optimizer,
            name,
            value,
        })
    }
}

/// A param group from `(PyTorch name, value)` pairs.
pub(crate) fn group<const N: usize>(
    entries: [(&str, HyperParam); N],
) -> BTreeMap<String, HyperParam> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Ends an optimizer step: submits the step's recorded work to the device
/// without waiting, so that a training step is one submission and the
/// device runs it while the host records the next step.
pub(crate) fn end_step() {
    if let Ok(rt) = wgrad_tensor::runtime() {
        rt.submit();
    }
}
