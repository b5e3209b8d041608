//! Multi-tensor optimizer updates (PyTorch's `foreach` implementations):
//! SGD and Adam over a list of parameters with up to 4 parameters per
//! dispatch (`sgd_multi` and `adam_multi` in `shaders/optim.wgsl`), so that
//! a training step's update is a few dispatches instead of one per
//! parameter. The arithmetic is the single-tensor kernels' own (shared
//! functions in the shader), so results are bit-identical.
//!
//! A dispatch whose tensors all start on 16 bytes takes the kernels' quad
//! variants (`sgd_multi4`, `adam_multi4`: 4 elements per invocation, read
//! and written as vec4s); any other takes the scalar ones.
//!
//! Where a kernel cannot bind 16 storage buffers (WebGPU's default limit is
//! 8), and for AMSGrad, each parameter gets the single-tensor update.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::ops::optim::{AdamStep, SgdStep, Update, adam_scalars, f, sgd_scalars, step_zero};
use crate::ops::{WORKGROUP_SIZE, dispatch_1d, to_u32};
use crate::runtime::{Binding, Kernel, rt};
use crate::shaders::OPTIM;
use crate::tensor::Tensor;

/// Parameters per dispatch at most (the shader's 4 slots).
const MAX_SLOTS: usize = 4;
/// Storage buffers the multi-tensor kernels bind (4 slots of 4 tensors).
const BUFFERS: u32 = 16;

/// One parameter of [`try_sgd_foreach_`].
#[derive(Clone, Copy)]
pub struct SgdSlot<'a> {
    /// Updated in place.
    pub param: &'a Tensor,
    /// Its gradient.
    pub grad: &'a Tensor,
    /// Required when momentum is on; updated in place.
    pub momentum_buffer: Option<&'a Tensor>,
    /// Whether the momentum buffer is created by this step (see
    /// [`SgdStep::first_step`]).
    pub first_step: bool,
}

/// One parameter of [`try_adam_foreach_`].
#[derive(Clone, Copy)]
pub struct AdamSlot<'a> {
    /// Updated in place.
    pub param: &'a Tensor,
    /// Its gradient.
    pub grad: &'a Tensor,
    /// First moment, updated in place.
    pub exp_avg: &'a Tensor,
    /// Second moment, updated in place.
    pub exp_avg_sq: &'a Tensor,
    /// Required with AMSGrad; updated in place.
    pub max_exp_avg_sq: Option<&'a Tensor>,
    /// This parameter's step number, from 1 (parameters that skipped steps
    /// without a gradient have their own).
    pub step: u64,
}

/// Whether this adapter can run the multi-tensor kernels.
fn multi_supported() -> bool {
    rt().adapter().max_storage_buffers_per_stage >= BUFFERS
}

/// Errors if two parameters' tensors that the update writes (parameters
/// and states) overlap in one buffer: two slots of a dispatch would write
/// the same elements. Gradients are only read, and may be views of one
/// buffer (the gradients of a `cat`'s inputs are).
fn check_disjoint(op: &'static str, updates: &[Update<'_>]) -> Result<()> {
    let written: Vec<(&'static str, &Tensor)> = updates
        .iter()
        .flat_map(|u| u.present().filter(|(name, _)| *name != "grad"))
        .collect();
    // Every tensor here is dense (checked per update): elements
    // offset .. offset + numel of its buffer.
    let range = |t: &Tensor| t.layout.offset..t.layout.offset + t.numel();
    for (k, (a, ta)) in written.iter().enumerate() {
        let overlaps = |tb: &&Tensor| {
            let (ra, rb) = (range(ta), range(tb));
            tb.shares_storage(ta) && ra.start < rb.end && rb.start < ra.end
        };
        if let Some((b, _)) = written[k + 1..].iter().find(|(_, tb)| overlaps(tb)) {
            return Err(TensorError::Invalid {
                op,
                message: format!(
                    "a {a} and a {b} overlap in one buffer; each parameter and state needs its own elements"
                ),
                shape: ta.shape().to_vec(),
            });
        }
    }
    Ok(())
}

/// The tensors of one slot in binding order: param, grad, then the entry
/// point's states (SGD: the momentum buffer or a placeholder; Adam: both
/// moments).
type SlotTensors = Vec<Tensor>;

/// A multi-tensor kernel's two entry points: one element per invocation,
/// and 4 (vec4 bindings, for tensors that start on 16 bytes).
struct MultiEntry {
    scalar: &'static str,
    quads: &'static str,
}

const SGD_MULTI: MultiEntry = MultiEntry {
    scalar: "sgd_multi",
    quads: "sgd_multi4",
};
const ADAM_MULTI: MultiEntry = MultiEntry {
    scalar: "adam_multi",
    quads: "adam_multi4",
};

/// Whether the quad kernels can read `t` as vec4s: it starts on 16 bytes
/// of a buffer that is a whole number of vec4s (its last quad is read
/// whole, so it must lie inside the buffer).
fn reads_as_quads(t: &Tensor) -> bool {
    t.layout.offset.is_multiple_of(4) && t.buffer().size().is_multiple_of(16)
}

/// Parameters per dispatch for `params` of them: as few dispatches as 4
/// slots allow, and the parameters spread evenly over them, so that every
/// dispatch of a step takes the same quad pipeline (`SLOTS` in the shader:
/// 3 for 6 parameters, 2 for W2's 2) with as few slots' code as that
/// allows (a last, shorter dispatch leaves one slot unused: 5 parameters
/// are 3 + 2).
fn per_dispatch(params: usize) -> usize {
    let dispatches = params.div_ceil(MAX_SLOTS).max(1);
    params.div_ceil(dispatches).max(1)
}

/// Dispatches `entry` over `slots`, at most `slots_kept` of them (the quad
/// kernel keeps that many slots' code); `tail` follows the shared `Slots`
/// header in the params.
fn dispatch_multi(
    op: &'static str,
    entry: MultiEntry,
    slots_kept: usize,
    slots: &[SlotTensors],
    tail: &[u32],
) -> Result<()> {
    // A slot past those the kernel keeps would run and update nothing.
    debug_assert!(slots.len() <= slots_kept && slots_kept <= MAX_SLOTS);
    let quads = slots.iter().flatten().all(reads_as_quads);
    let per_invocation = if quads { 4 } else { 1 };
    let group = WORKGROUP_SIZE as usize;
    let mut numel = [0u32; 4];
    let mut first_group = [0u32; 4];
    let mut offsets = [[0u32; 4]; 4];
    let mut groups = 0usize;
    for (s, tensors) in slots.iter().enumerate() {
        numel[s] = to_u32(op, tensors[0].numel())?;
        first_group[s] = to_u32(op, groups)?;
        groups += tensors[0].numel().div_ceil(per_invocation * group);
        for (k, t) in tensors.iter().enumerate() {
            offsets[k][s] = to_u32(op, t.layout.offset)?;
        }
    }
    // Unused slots start past the last group, so no workgroup takes them.
    for fg in first_group.iter_mut().skip(slots.len()) {
        *fg = to_u32(op, groups)?;
    }
    let mut p = Vec::with_capacity(28 + tail.len());
    p.extend(numel);
    p.extend(first_group);
    for o in offsets {
        p.extend(o);
    }
    p.extend([to_u32(op, groups)?, 0, 0, 0]);
    p.extend_from_slice(tail);
    // The scalar kernels bind 10.., the quad kernels 30...
    let first_binding = if quads { 30 } else { 10 };
    let mut bindings = Vec::with_capacity(16);
    for s in 0..MAX_SLOTS {
        // Unused slots bind slot 0's buffers again; they are never touched.
        let tensors = slots.get(s).unwrap_or(&slots[0]);
        for (k, t) in tensors.iter().enumerate() {
            bindings.push(Binding {
                binding: first_binding + 4 * k as u32 + s as u32,
                buffer: t.buffer(),
            });
        }
    }
    let slots_constant = [("SLOTS", slots_kept as f64)];
    let (entry, constants): (_, &[_]) = if quads {
        (entry.quads, &slots_constant)
    } else {
        (entry.scalar, &[])
    };
    dispatch_1d(
        Kernel::new(&OPTIM, entry),
        constants,
        &p,
        &bindings,
        groups * group,
    );
    Ok(())
}

/// SGD (`torch.optim.SGD(..., foreach=True)`) over several parameters:
/// each is updated exactly as [`Tensor::try_sgd_`] would, with `s`'s
/// hyper-parameters and its own `first_step` (`s.first_step` is ignored).
///
/// Errors as [`Tensor::try_sgd_`] does for any parameter, and if two
/// parameters or states overlap; nothing is updated then.
pub fn try_sgd_foreach_(params: &[SgdSlot<'_>], s: &SgdStep) -> Result<()> {
    const OP: &str = "sgd_foreach_";
    let has_momentum = s.momentum != 0.0;
    let mut updates = Vec::with_capacity(params.len());
    for slot in params {
        let u = Update::new(OP, slot.param, slot.grad).with_optional(
            has_momentum,
            "momentum",
            "momentum_buffer",
            slot.momentum_buffer,
        )?;
        u.check()?;
        updates.push(u);
    }
    check_disjoint(OP, &updates)?;
    let live: Vec<&SgdSlot<'_>> = params.iter().filter(|p| p.param.numel() > 0).collect();
    if !multi_supported() {
        for slot in live {
            let step = SgdStep {
                first_step: slot.first_step,
                ..*s
            };
            slot.param
                .try_sgd_(slot.grad, slot.momentum_buffer, &step)?;
        }
        return Ok(());
    }
    // Without momentum the kernel still binds a buffer (see `optim.wgsl`).
    let placeholder = (!has_momentum).then(|| Tensor::empty_for(OP, &[1], DType::F32));
    let per = per_dispatch(live.len());
    for chunk in live.chunks(per) {
        let tensors: Vec<SlotTensors> = chunk
            .iter()
            .map(|p| {
                // Momentum without a buffer was refused above.
                let buf = placeholder.as_ref().or(p.momentum_buffer);
                let buf = buf.ok_or_else(|| TensorError::Invalid {
                    op: OP,
                    message: "momentum needs a momentum_buffer".into(),
                    shape: p.param.shape().to_vec(),
                })?;
                Ok(vec![p.param.clone(), p.grad.clone(), buf.clone()])
            })
            .collect::<Result<_>>()?;
        let mut first_step = [0u32; 4];
        for (f, p) in first_step.iter_mut().zip(chunk) {
            *f = u32::from(p.first_step);
        }
        let mut tail = first_step.to_vec();
        tail.extend(sgd_scalars(s));
        tail.extend([
            u32::from(has_momentum),
            u32::from(s.nesterov),
            u32::from(s.maximize),
            0,
        ]);
        dispatch_multi(OP, SGD_MULTI, per, &tensors, &tail)?;
    }
    Ok(())
}

/// Adam or AdamW (`foreach=True`) over several parameters: each is updated
/// exactly as [`Tensor::try_adam_`] would, with `s`'s hyper-parameters and
/// its own step number (`s.step` is ignored).
///
/// Errors as [`Tensor::try_adam_`] does for any parameter, and if two
/// parameters or states overlap; nothing is updated then.
pub fn try_adam_foreach_(params: &[AdamSlot<'_>], s: &AdamStep) -> Result<()> {
    const OP: &str = "adam_foreach_";
    let mut updates = Vec::with_capacity(params.len());
    for slot in params {
        let u = Update::new(OP, slot.param, slot.grad)
            .with("exp_avg", slot.exp_avg)
            .with("exp_avg_sq", slot.exp_avg_sq)
            .with_optional(s.amsgrad, "amsgrad", "max_exp_avg_sq", slot.max_exp_avg_sq)?;
        if slot.step == 0 {
            return Err(step_zero(OP, slot.param.shape()));
        }
        u.check()?;
        updates.push(u);
    }
    check_disjoint(OP, &updates)?;
    let live: Vec<&AdamSlot<'_>> = params.iter().filter(|p| p.param.numel() > 0).collect();
    if s.amsgrad || !multi_supported() {
        for p in live {
            let step = AdamStep { step: p.step, ..*s };
            p.param
                .try_adam_(p.grad, p.exp_avg, p.exp_avg_sq, p.max_exp_avg_sq, &step)?;
        }
        return Ok(());
    }
    let per = per_dispatch(live.len());
    for chunk in live.chunks(per) {
        let tensors: Vec<SlotTensors> = chunk
            .iter()
            .map(|p| {
                vec![
                    p.param.clone(),
                    p.grad.clone(),
                    p.exp_avg.clone(),
                    p.exp_avg_sq.clone(),
                ]
            })
            .collect();
        // As the single-tensor update: PyTorch's Python-float step size
        // and bias correction, per parameter's own step.
        let mut step_size = [0u32; 4];
        let mut bias_correction2_sqrt = [f(1.0); 4];
        for (k, p) in chunk.iter().enumerate() {
            let t = p.step as f64;
            step_size[k] = f(s.lr / (1.0 - s.beta1.powf(t)));
            bias_correction2_sqrt[k] = f((1.0 - s.beta2.powf(t)).sqrt());
        }
        let mut tail = step_size.to_vec();
        tail.extend(bias_correction2_sqrt);
        tail.extend(adam_scalars(s));
        tail.extend([
            u32::from(s.decoupled_weight_decay),
            u32::from(s.maximize),
            0,
            0,
            0,
        ]);
        dispatch_multi(OP, ADAM_MULTI, per, &tensors, &tail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::per_dispatch;

    #[test]
    fn parameters_spread_evenly_over_as_few_dispatches_as_four_slots_allow() {
        let spread: Vec<usize> = (0..=9).map(per_dispatch).collect();
        assert_eq!(spread, [1, 1, 2, 3, 4, 3, 3, 4, 4, 3]);
    }
}
