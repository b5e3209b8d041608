// Fused optimizer updates, one invocation per parameter element (4 in the
// multi-tensor quad kernels at the end): each entry point reads the
// gradient, updates the state buffers and the parameter in place, with the
// formulas of PyTorch's torch.optim documentation.
//
// Every tensor is dense but may start at an offset in its buffer, hence the
// *_offset fields. Scalars that PyTorch computes in Python floats (bias
// corrections, 1 - beta, 1 - lr * weight_decay) arrive precomputed in f64 on
// the host and rounded once to f32, as PyTorch rounds its Python scalars.
//
// NOTE: optional state (SGD's momentum buffer, AMSGrad's max_exp_avg_sq,
// RMSprop's grad_avg and momentum buffer) is chosen by uniform flags, not by
// override constants or separate entry points: a pipeline's automatic bind
// group layout lists every buffer the entry point's code mentions, so the
// host binds a one-element placeholder where the state does not exist and
// the flag keeps the kernel away from it.

const WORKGROUP_SIZE: u32 = 64u;

// ---------------------------------------------------------------- SGD ----

struct SgdParams {
    numel: u32,
    param_offset: u32,
    grad_offset: u32,
    buf_offset: u32,
    lr: f32,
    momentum: f32,
    one_minus_dampening: f32,
    weight_decay: f32,
    has_momentum: u32,  // momentum != 0: a momentum buffer is bound
    first_step: u32,    // the buffer is created this step: buf = g
    nesterov: u32,
    maximize: u32,
}

@group(0) @binding(0) var<uniform> sp: SgdParams;
@group(0) @binding(1) var<storage, read_write> sgd_param: array<f32>;
@group(0) @binding(2) var<storage, read> sgd_grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> momentum_buffer: array<f32>;

// The hyper-parameters of an SGD update, shared by `sgd` and `sgd_multi`.
struct SgdHyper {
    lr: f32,
    momentum: f32,
    one_minus_dampening: f32,
    weight_decay: f32,
    has_momentum: bool,
    nesterov: bool,
    maximize: bool,
}

// g = -grad if maximize else grad; g += weight_decay * theta;
// b = g on the first step, else momentum * b + (1 - dampening) * g;
// g = g + momentum * b if nesterov else b; theta -= lr * g.
// Returns (new theta, new b); b_old is ignored on the first step.
fn sgd_update(h: SgdHyper, theta: f32, grad: f32, b_old: f32, first_step: bool) -> vec2<f32> {
    // The gradient is negated before weight decay, so that maximize still
    // shrinks the weights: PyTorch's code, and its documentation since
    // pytorch/pytorch#149884 (older pages negated at the end).
    var g = grad;
    if (h.maximize) {
        g = -g;
    }
    // Skipped when 0, as in PyTorch: 0 * inf would turn an inf weight to NaN.
    if (h.weight_decay != 0.0) {
        g = g + h.weight_decay * theta;
    }
    var b = g;
    if (h.has_momentum) {
        if (!first_step) {
            b = h.momentum * b_old + h.one_minus_dampening * g;
        }
        if (h.nesterov) {
            g = g + h.momentum * b;
        } else {
            g = b;
        }
    }
    return vec2<f32>(theta - h.lr * g, b);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    // The grid is rounded up to whole workgroups: extra invocations stop here.
    if (i >= sp.numel) {
        return;
    }
    let h = SgdHyper(sp.lr, sp.momentum, sp.one_minus_dampening, sp.weight_decay, sp.has_momentum != 0u, sp.nesterov != 0u, sp.maximize != 0u);
    let bi = sp.buf_offset + i;
    var b_old = 0.0;
    if (h.has_momentum && sp.first_step == 0u) {
        b_old = momentum_buffer[bi];
    }
    let r = sgd_update(h, sgd_param[sp.param_offset + i], sgd_grad[sp.grad_offset + i], b_old, sp.first_step != 0u);
    if (h.has_momentum) {
        momentum_buffer[bi] = r.y;
    }
    sgd_param[sp.param_offset + i] = r.x;
}

// ------------------------------------------------------ Adam / AdamW ----

struct AdamParams {
    numel: u32,
    param_offset: u32,
    grad_offset: u32,
    exp_avg_offset: u32,
    exp_avg_sq_offset: u32,
    max_exp_avg_sq_offset: u32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    weight_decay: f32,
    decay_factor: f32,           // 1 - lr * weight_decay (AdamW)
    step_size: f32,              // lr / (1 - beta1^t)
    bias_correction2_sqrt: f32,  // sqrt(1 - beta2^t)
    decoupled: u32,              // AdamW: decay the weights, not the gradient
    amsgrad: u32,                // max_exp_avg_sq is bound
    maximize: u32,
}

@group(0) @binding(0) var<uniform> ap: AdamParams;
@group(0) @binding(1) var<storage, read_write> adam_param: array<f32>;
@group(0) @binding(2) var<storage, read> adam_grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> exp_avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq: array<f32>;
@group(0) @binding(5) var<storage, read_write> max_exp_avg_sq: array<f32>;

// The hyper-parameters of an Adam update that do not depend on the step,
// shared by `adam` and `adam_multi`.
struct AdamHyper {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    weight_decay: f32,
    decay_factor: f32,
    decoupled: bool,
    maximize: bool,
}

// The moments and the decayed weight of one Adam step:
// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2.
// Returns (theta after weight decay, m, v, 0).
fn adam_moments(h: AdamHyper, theta_in: f32, grad: f32, m_old: f32, v_old: f32) -> vec4<f32> {
    var theta = theta_in;
    var g = grad;
    if (h.maximize) {
        g = -g;
    }
    if (h.weight_decay != 0.0) {
        if (h.decoupled) {
            theta = theta * h.decay_factor;
        } else {
            g = g + h.weight_decay * theta;
        }
    }
    let m = h.beta1 * m_old + h.one_minus_beta1 * g;
    let v = h.beta2 * v_old + h.one_minus_beta2 * g * g;
    return vec4<f32>(theta, m, v, 0.0);
}

// theta -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
fn adam_param_update(h: AdamHyper, theta: f32, m: f32, v: f32, step_size: f32, bias_correction2_sqrt: f32) -> f32 {
    let denom = sqrt(v) / bias_correction2_sqrt + h.eps;
    return theta - step_size * (m / denom);
}

fn adam_hyper() -> AdamHyper {
    return AdamHyper(ap.beta1, ap.one_minus_beta1, ap.beta2, ap.one_minus_beta2, ap.eps, ap.weight_decay, ap.decay_factor, ap.decoupled != 0u, ap.maximize != 0u);
}

// With amsgrad, v_max = max(v_max, v) takes v's place in the update.
@compute @workgroup_size(WORKGROUP_SIZE)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= ap.numel) {
        return;
    }
    let h = adam_hyper();
    let mi = ap.exp_avg_offset + i;
    let vi = ap.exp_avg_sq_offset + i;
    let r = adam_moments(h, adam_param[ap.param_offset + i], adam_grad[ap.grad_offset + i], exp_avg[mi], exp_avg_sq[vi]);
    exp_avg[mi] = r.y;
    exp_avg_sq[vi] = r.z;
    var v = r.z;
    if (ap.amsgrad != 0u) {
        // The maximum of the raw second moments; the bias correction of
        // the current step applies to it (as in PyTorch's code).
        let xi = ap.max_exp_avg_sq_offset + i;
        v = max(max_exp_avg_sq[xi], v);
        max_exp_avg_sq[xi] = v;
    }
    adam_param[ap.param_offset + i] = adam_param_update(h, r.x, r.y, v, ap.step_size, ap.bias_correction2_sqrt);
}

// ------------------------------------------------------------ RMSprop ----

struct RmspropParams {
    numel: u32,
    param_offset: u32,
    grad_offset: u32,
    square_avg_offset: u32,
    grad_avg_offset: u32,
    buf_offset: u32,
    lr: f32,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    weight_decay: f32,
    momentum: f32,
    centered: u32,      // grad_avg is bound
    has_momentum: u32,  // momentum > 0: a momentum buffer is bound
    maximize: u32,
}

@group(0) @binding(0) var<uniform> rp: RmspropParams;
@group(0) @binding(1) var<storage, read_write> rmsprop_param: array<f32>;
@group(0) @binding(2) var<storage, read> rmsprop_grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> square_avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_avg: array<f32>;
@group(0) @binding(5) var<storage, read_write> rmsprop_buffer: array<f32>;

// v = alpha * v + (1 - alpha) * g^2; centered: ga = alpha * ga + (1 - alpha) * g
// and v~ = v - ga^2; momentum: b = momentum * b + g / (sqrt(v~) + eps),
// theta -= lr * b; else theta -= lr * g / (sqrt(v~) + eps).
@compute @workgroup_size(WORKGROUP_SIZE)
fn rmsprop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= rp.numel) {
        return;
    }
    let theta = rmsprop_param[rp.param_offset + i];
    var g = rmsprop_grad[rp.grad_offset + i];
    if (rp.maximize != 0u) {
        g = -g;
    }
    if (rp.weight_decay != 0.0) {
        g = g + rp.weight_decay * theta;
    }
    let si = rp.square_avg_offset + i;
    let v = rp.alpha * square_avg[si] + rp.one_minus_alpha * g * g;
    square_avg[si] = v;
    var v_tilde = v;
    if (rp.centered != 0u) {
        let ai = rp.grad_avg_offset + i;
        let ga = rp.alpha * grad_avg[ai] + rp.one_minus_alpha * g;
        grad_avg[ai] = ga;
        v_tilde = v - ga * ga;
    }
    let avg = sqrt(v_tilde) + rp.eps;
    if (rp.has_momentum != 0u) {
        // The buffer starts at zero (PyTorch's zeros_like), so step 1 gives
        // b = g / avg without a special case.
        let bi = rp.buf_offset + i;
        let b = rp.momentum * rmsprop_buffer[bi] + g / avg;
        rmsprop_buffer[bi] = b;
        rmsprop_param[rp.param_offset + i] = theta - rp.lr * b;
    } else {
        rmsprop_param[rp.param_offset + i] = theta - rp.lr * (g / avg);
    }
}

// ------------------------------------------- multi-tensor SGD / Adam ----
// Up to 4 parameters per dispatch (PyTorch's `foreach` implementations):
// one training step's update costs a dispatch per 4 parameters instead of
// one per parameter. Workgroups first_group[s] .. first_group[s + 1] - 1
// update slot s, WORKGROUP_SIZE elements each (4 times as many in the
// quad kernels); a slot with numel 0 is
// unused (the host binds slot 0's buffers there). The slot is the same for
// a whole workgroup, so the switch below does not diverge. AMSGrad keeps
// the single-tensor `adam`.

struct Slots {
    numel: vec4<u32>,
    // The first workgroup of each slot; unused slots start at total_groups.
    first_group: vec4<u32>,
    param_offset: vec4<u32>,
    grad_offset: vec4<u32>,
    // SGD's momentum buffer or Adam's exp_avg; Adam's exp_avg_sq.
    state0_offset: vec4<u32>,
    state1_offset: vec4<u32>,
    total_groups: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct SgdMultiParams {
    slots: Slots,
    // SGD: whether slot s's momentum buffer is created by this step.
    first_step: vec4<u32>,
    lr: f32,
    momentum: f32,
    one_minus_dampening: f32,
    weight_decay: f32,
    has_momentum: u32,
    nesterov: u32,
    maximize: u32,
    _pad: u32,
}

struct AdamMultiParams {
    slots: Slots,
    // Per slot: lr / (1 - beta1^t) and sqrt(1 - beta2^t) of its own step t.
    step_size: vec4<f32>,
    bias_correction2_sqrt: vec4<f32>,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    weight_decay: f32,
    decay_factor: f32,
    decoupled: u32,
    maximize: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> smp: SgdMultiParams;
@group(0) @binding(0) var<uniform> amp: AdamMultiParams;
@group(0) @binding(10) var<storage, read_write> param0: array<f32>;
@group(0) @binding(11) var<storage, read_write> param1: array<f32>;
@group(0) @binding(12) var<storage, read_write> param2: array<f32>;
@group(0) @binding(13) var<storage, read_write> param3: array<f32>;
@group(0) @binding(14) var<storage, read> grad0: array<f32>;
@group(0) @binding(15) var<storage, read> grad1: array<f32>;
@group(0) @binding(16) var<storage, read> grad2: array<f32>;
@group(0) @binding(17) var<storage, read> grad3: array<f32>;
@group(0) @binding(18) var<storage, read_write> state0_0: array<f32>;
@group(0) @binding(19) var<storage, read_write> state0_1: array<f32>;
@group(0) @binding(20) var<storage, read_write> state0_2: array<f32>;
@group(0) @binding(21) var<storage, read_write> state0_3: array<f32>;
@group(0) @binding(22) var<storage, read_write> state1_0: array<f32>;
@group(0) @binding(23) var<storage, read_write> state1_1: array<f32>;
@group(0) @binding(24) var<storage, read_write> state1_2: array<f32>;
@group(0) @binding(25) var<storage, read_write> state1_3: array<f32>;

// NOTE: every uniform value that a branch depends on goes through
// `opaque4`. lavapipe (Mesa 22.3) inlines such values into the shader and
// recompiles it whenever they differ from the last dispatch's ("inline
// uniforms"); the slots differ between the dispatches of one step, and
// without this a step over CNN3's six parameters took 1.9 ms instead of 0.2.
fn opaque4(v: vec4<u32>) -> vec4<u32> {
    return select(v, vec4<u32>(0u), arrayLength(&grad0) == 0u);
}

// (slot, element) of invocation lid of workgroup w, or slot 4 past the end.
fn slot_element(sl: Slots, w: u32, lid: u32) -> vec2<u32> {
    let first_group = opaque4(sl.first_group);
    let numel = opaque4(sl.numel);
    if (w >= opaque4(vec4<u32>(sl.total_groups)).x) {
        return vec2<u32>(4u, 0u);
    }
    let s = select(select(select(0u, 1u, w >= first_group.y), 2u, w >= first_group.z), 3u, w >= first_group.w);
    let i = (w - first_group[s]) * WORKGROUP_SIZE + lid;
    return vec2<u32>(select(4u, s, i < numel[s]), i);
}

// A hyper-parameter that a branch tests, hidden from lavapipe (see opaque4).
fn opaque_f32(v: f32) -> f32 {
    return bitcast<f32>(opaque4(vec4<u32>(bitcast<u32>(v))).x);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd_multi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let sl = smp.slots;
    let at = slot_element(sl, wid.x + wid.y * nwg.x, lid.x);
    let s = at.x;
    if (s > 3u) {
        return;
    }
    let flags = opaque4(vec4<u32>(smp.has_momentum, smp.nesterov, smp.maximize, smp.first_step[s])) != vec4<u32>(0u);
    let h = SgdHyper(smp.lr, smp.momentum, smp.one_minus_dampening, opaque_f32(smp.weight_decay), flags.x, flags.y, flags.z);
    let pi = sl.param_offset[s] + at.y;
    let gi = sl.grad_offset[s] + at.y;
    let bi = sl.state0_offset[s] + at.y;
    let first = flags.w;
    // Without momentum the buffers are one-element placeholders: read
    // (clamped) and written back unchanged, never used.
    switch s {
        case 0u: {
            let b = state0_0[min(bi, arrayLength(&state0_0) - 1u)];
            let r = sgd_update(h, param0[pi], grad0[gi], b, first);
            param0[pi] = r.x;
            if (h.has_momentum) { state0_0[bi] = r.y; }
        }
        case 1u: {
            let b = state0_1[min(bi, arrayLength(&state0_1) - 1u)];
            let r = sgd_update(h, param1[pi], grad1[gi], b, first);
            param1[pi] = r.x;
            if (h.has_momentum) { state0_1[bi] = r.y; }
        }
        case 2u: {
            let b = state0_2[min(bi, arrayLength(&state0_2) - 1u)];
            let r = sgd_update(h, param2[pi], grad2[gi], b, first);
            param2[pi] = r.x;
            if (h.has_momentum) { state0_2[bi] = r.y; }
        }
        default: {
            let b = state0_3[min(bi, arrayLength(&state0_3) - 1u)];
            let r = sgd_update(h, param3[pi], grad3[gi], b, first);
            param3[pi] = r.x;
            if (h.has_momentum) { state0_3[bi] = r.y; }
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn adam_multi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let sl = amp.slots;
    let at = slot_element(sl, wid.x + wid.y * nwg.x, lid.x);
    let s = at.x;
    if (s > 3u) {
        return;
    }
    let flags = opaque4(vec4<u32>(amp.decoupled, amp.maximize, 0u, 0u)) != vec4<u32>(0u);
    let h = AdamHyper(amp.beta1, amp.one_minus_beta1, amp.beta2, amp.one_minus_beta2, amp.eps, opaque_f32(amp.weight_decay), amp.decay_factor, flags.x, flags.y);
    let pi = sl.param_offset[s] + at.y;
    let gi = sl.grad_offset[s] + at.y;
    let mi = sl.state0_offset[s] + at.y;
    let vi = sl.state1_offset[s] + at.y;
    let step_size = amp.step_size[s];
    let bc2 = amp.bias_correction2_sqrt[s];
    switch s {
        case 0u: {
            let r = adam_moments(h, param0[pi], grad0[gi], state0_0[mi], state1_0[vi]);
            state0_0[mi] = r.y;
            state1_0[vi] = r.z;
            param0[pi] = adam_param_update(h, r.x, r.y, r.z, step_size, bc2);
        }
        case 1u: {
            let r = adam_moments(h, param1[pi], grad1[gi], state0_1[mi], state1_1[vi]);
            state0_1[mi] = r.y;
            state1_1[vi] = r.z;
            param1[pi] = adam_param_update(h, r.x, r.y, r.z, step_size, bc2);
        }
        case 2u: {
            let r = adam_moments(h, param2[pi], grad2[gi], state0_2[mi], state1_2[vi]);
            state0_2[mi] = r.y;
            state1_2[vi] = r.z;
            param2[pi] = adam_param_update(h, r.x, r.y, r.z, step_size, bc2);
        }
        default: {
            let r = adam_moments(h, param3[pi], grad3[gi], state0_3[mi], state1_3[vi]);
            state0_3[mi] = r.y;
            state1_3[vi] = r.z;
            param3[pi] = adam_param_update(h, r.x, r.y, r.z, step_size, bc2);
        }
    }
}

// ------------------------------------ multi-tensor SGD / Adam on quads ----
// `sgd_multi` and `adam_multi` with 4 elements per invocation, read and
// written as vec4s: the host takes these when every tensor of a dispatch
// starts on 16 bytes (pool buffers are whole multiples of 64 bytes). On
// lavapipe a storage access is a loop over the SIMD lanes whatever its
// width: W2's update (Linear(784, 10), 7,850 elements) took 285 us a call
// as scalars under `WGRAD_PROFILE=1`, against 125 us for a sum of 10
// values (BENCHMARKS.md, thirteenth stop).
//
// A tensor's last quad may hold fewer than 4 of its elements: it is read
// whole (the rest lies in the same buffer) and written element by element.
// WGSL lets a component's store rewrite its whole vector, so what keeps
// the rest of that quad intact is that nothing else writes it during the
// dispatch: every tensor here starts on 16 bytes and none overlap, so no
// two share a quad, and a tensor outside the dispatch is not written by
// it. The updates are the scalar functions above, applied per component,
// so results are bit-identical to the scalar kernels'.

@group(0) @binding(30) var<storage, read_write> param4_0: array<vec4<f32>>;
@group(0) @binding(31) var<storage, read_write> param4_1: array<vec4<f32>>;
@group(0) @binding(32) var<storage, read_write> param4_2: array<vec4<f32>>;
@group(0) @binding(33) var<storage, read_write> param4_3: array<vec4<f32>>;
@group(0) @binding(34) var<storage, read> grad4_0: array<vec4<f32>>;
@group(0) @binding(35) var<storage, read> grad4_1: array<vec4<f32>>;
@group(0) @binding(36) var<storage, read> grad4_2: array<vec4<f32>>;
@group(0) @binding(37) var<storage, read> grad4_3: array<vec4<f32>>;
@group(0) @binding(38) var<storage, read_write> state0_4_0: array<vec4<f32>>;
@group(0) @binding(39) var<storage, read_write> state0_4_1: array<vec4<f32>>;
@group(0) @binding(40) var<storage, read_write> state0_4_2: array<vec4<f32>>;
@group(0) @binding(41) var<storage, read_write> state0_4_3: array<vec4<f32>>;
@group(0) @binding(42) var<storage, read_write> state1_4_0: array<vec4<f32>>;
@group(0) @binding(43) var<storage, read_write> state1_4_1: array<vec4<f32>>;
@group(0) @binding(44) var<storage, read_write> state1_4_2: array<vec4<f32>>;
@group(0) @binding(45) var<storage, read_write> state1_4_3: array<vec4<f32>>;

// Slots the quad kernels serve, 1 to 4: the code of the others is cut
// before the driver sees it (`runtime/specialize.rs`), so a model with
// 2 parameters (W2) gets a kernel of half the loads and stores, which
// lavapipe compiled in 0.06 s against 0.09 s for 4 slots. The host
// spreads a step's parameters over its dispatches so that they all take
// one pipeline.
override SLOTS: u32 = 4u;

// `opaque4` and `opaque_f32` for the quads' kernels, which must name a
// binding of their own.
fn opaque4q(v: vec4<u32>) -> vec4<u32> {
    return select(v, vec4<u32>(0u), arrayLength(&grad4_0) == 0u);
}

fn opaque_f32q(v: f32) -> f32 {
    return bitcast<f32>(opaque4q(vec4<u32>(bitcast<u32>(v))).x);
}

// Where invocation lid of workgroup w works: (slot, first element, how
// many of the 4 are the tensor's), slot 4 past the end. The slot is the
// same for the whole workgroup.
fn slot_quad(sl: Slots, w: u32, lid: u32) -> vec3<u32> {
    let first_group = opaque4q(sl.first_group);
    let numel = opaque4q(sl.numel);
    if (w >= opaque4q(vec4<u32>(sl.total_groups)).x) {
        return vec3<u32>(4u, 0u, 0u);
    }
    let s = select(select(select(0u, 1u, w >= first_group.y), 2u, w >= first_group.z), 3u, w >= first_group.w);
    let e = ((w - first_group[s]) * WORKGROUP_SIZE + lid) * 4u;
    if (e >= numel[s]) {
        return vec3<u32>(4u, 0u, 0u);
    }
    return vec3<u32>(s, e, min(numel[s] - e, 4u));
}

// `sgd_update` on 4 elements: (new theta, new momentum buffer).
fn sgd_quad(h: SgdHyper, theta: vec4<f32>, grad: vec4<f32>, b: vec4<f32>, first: bool) -> mat2x4<f32> {
    let r0 = sgd_update(h, theta.x, grad.x, b.x, first);
    let r1 = sgd_update(h, theta.y, grad.y, b.y, first);
    let r2 = sgd_update(h, theta.z, grad.z, b.z, first);
    let r3 = sgd_update(h, theta.w, grad.w, b.w, first);
    return mat2x4<f32>(vec4<f32>(r0.x, r1.x, r2.x, r3.x), vec4<f32>(r0.y, r1.y, r2.y, r3.y));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd_multi4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let sl = smp.slots;
    let at = slot_quad(sl, wid.x + wid.y * nwg.x, lid.x);
    let s = at.x;
    if (s > 3u) {
        return;
    }
    let live = at.z;
    let flags = opaque4q(vec4<u32>(smp.has_momentum, smp.nesterov, smp.maximize, smp.first_step[s])) != vec4<u32>(0u);
    let h = SgdHyper(smp.lr, smp.momentum, smp.one_minus_dampening, opaque_f32q(smp.weight_decay), flags.x, flags.y, flags.z);
    let pq = (sl.param_offset[s] + at.y) / 4u;
    let gq = (sl.grad_offset[s] + at.y) / 4u;
    let bq = (sl.state0_offset[s] + at.y) / 4u;
    // The loads and stores name slot s's bindings, and only the first
    // SLOTS slots' code is kept; the update between them is written once.
    // Without momentum the buffers are placeholders: read (clamped), never
    // written.
    var theta: vec4<f32>;
    var grad: vec4<f32>;
    var b: vec4<f32>;
    if (s == 0u) { theta = param4_0[pq]; grad = grad4_0[gq]; b = state0_4_0[min(bq, arrayLength(&state0_4_0) - 1u)]; }
    if (SLOTS > 1u) { if (s == 1u) { theta = param4_1[pq]; grad = grad4_1[gq]; b = state0_4_1[min(bq, arrayLength(&state0_4_1) - 1u)]; } }
    if (SLOTS > 2u) { if (s == 2u) { theta = param4_2[pq]; grad = grad4_2[gq]; b = state0_4_2[min(bq, arrayLength(&state0_4_2) - 1u)]; } }
    if (SLOTS > 3u) { if (s == 3u) { theta = param4_3[pq]; grad = grad4_3[gq]; b = state0_4_3[min(bq, arrayLength(&state0_4_3) - 1u)]; } }
    let r = sgd_quad(h, theta, grad, b, flags.w);
    if (live == 4u) {
        if (s == 0u) { param4_0[pq] = r[0]; if (h.has_momentum) { state0_4_0[bq] = r[1]; } }
        if (SLOTS > 1u) { if (s == 1u) { param4_1[pq] = r[0]; if (h.has_momentum) { state0_4_1[bq] = r[1]; } } }
        if (SLOTS > 2u) { if (s == 2u) { param4_2[pq] = r[0]; if (h.has_momentum) { state0_4_2[bq] = r[1]; } } }
        if (SLOTS > 3u) { if (s == 3u) { param4_3[pq] = r[0]; if (h.has_momentum) { state0_4_3[bq] = r[1]; } } }
        return;
    }
    for (var j = 0u; j < live; j++) {
        if (s == 0u) { param4_0[pq][j] = r[0][j]; if (h.has_momentum) { state0_4_0[bq][j] = r[1][j]; } }
        if (SLOTS > 1u) { if (s == 1u) { param4_1[pq][j] = r[0][j]; if (h.has_momentum) { state0_4_1[bq][j] = r[1][j]; } } }
        if (SLOTS > 2u) { if (s == 2u) { param4_2[pq][j] = r[0][j]; if (h.has_momentum) { state0_4_2[bq][j] = r[1][j]; } } }
        if (SLOTS > 3u) { if (s == 3u) { param4_3[pq][j] = r[0][j]; if (h.has_momentum) { state0_4_3[bq][j] = r[1][j]; } } }
    }
}

// `adam_moments` and `adam_param_update` on 4 elements: (new theta, m, v).
fn adam_quad(h: AdamHyper, theta: vec4<f32>, grad: vec4<f32>, m: vec4<f32>, v: vec4<f32>, step_size: f32, bc2: f32) -> mat3x4<f32> {
    let r0 = adam_moments(h, theta.x, grad.x, m.x, v.x);
    let r1 = adam_moments(h, theta.y, grad.y, m.y, v.y);
    let r2 = adam_moments(h, theta.z, grad.z, m.z, v.z);
    let r3 = adam_moments(h, theta.w, grad.w, m.w, v.w);
    let t = vec4<f32>(
        adam_param_update(h, r0.x, r0.y, r0.z, step_size, bc2),
        adam_param_update(h, r1.x, r1.y, r1.z, step_size, bc2),
        adam_param_update(h, r2.x, r2.y, r2.z, step_size, bc2),
        adam_param_update(h, r3.x, r3.y, r3.z, step_size, bc2),
    );
    return mat3x4<f32>(t, vec4<f32>(r0.y, r1.y, r2.y, r3.y), vec4<f32>(r0.z, r1.z, r2.z, r3.z));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn adam_multi4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let sl = amp.slots;
    let at = slot_quad(sl, wid.x + wid.y * nwg.x, lid.x);
    let s = at.x;
    if (s > 3u) {
        return;
    }
    let live = at.z;
    let flags = opaque4q(vec4<u32>(amp.decoupled, amp.maximize, 0u, 0u)) != vec4<u32>(0u);
    let h = AdamHyper(amp.beta1, amp.one_minus_beta1, amp.beta2, amp.one_minus_beta2, amp.eps, opaque_f32q(amp.weight_decay), amp.decay_factor, flags.x, flags.y);
    let pq = (sl.param_offset[s] + at.y) / 4u;
    let gq = (sl.grad_offset[s] + at.y) / 4u;
    let mq = (sl.state0_offset[s] + at.y) / 4u;
    let vq = (sl.state1_offset[s] + at.y) / 4u;
    // As in `sgd_multi4`: slot s's loads, the update once, its stores.
    var theta: vec4<f32>;
    var grad: vec4<f32>;
    var m: vec4<f32>;
    var v: vec4<f32>;
    if (s == 0u) { theta = param4_0[pq]; grad = grad4_0[gq]; m = state0_4_0[mq]; v = state1_4_0[vq]; }
    if (SLOTS > 1u) { if (s == 1u) { theta = param4_1[pq]; grad = grad4_1[gq]; m = state0_4_1[mq]; v = state1_4_1[vq]; } }
    if (SLOTS > 2u) { if (s == 2u) { theta = param4_2[pq]; grad = grad4_2[gq]; m = state0_4_2[mq]; v = state1_4_2[vq]; } }
    if (SLOTS > 3u) { if (s == 3u) { theta = param4_3[pq]; grad = grad4_3[gq]; m = state0_4_3[mq]; v = state1_4_3[vq]; } }
    let r = adam_quad(h, theta, grad, m, v, amp.step_size[s], amp.bias_correction2_sqrt[s]);
    if (live == 4u) {
        if (s == 0u) { param4_0[pq] = r[0]; state0_4_0[mq] = r[1]; state1_4_0[vq] = r[2]; }
        if (SLOTS > 1u) { if (s == 1u) { param4_1[pq] = r[0]; state0_4_1[mq] = r[1]; state1_4_1[vq] = r[2]; } }
        if (SLOTS > 2u) { if (s == 2u) { param4_2[pq] = r[0]; state0_4_2[mq] = r[1]; state1_4_2[vq] = r[2]; } }
        if (SLOTS > 3u) { if (s == 3u) { param4_3[pq] = r[0]; state0_4_3[mq] = r[1]; state1_4_3[vq] = r[2]; } }
        return;
    }
    for (var j = 0u; j < live; j++) {
        if (s == 0u) { param4_0[pq][j] = r[0][j]; state0_4_0[mq][j] = r[1][j]; state1_4_0[vq][j] = r[2][j]; }
        if (SLOTS > 1u) { if (s == 1u) { param4_1[pq][j] = r[0][j]; state0_4_1[mq][j] = r[1][j]; state1_4_1[vq][j] = r[2][j]; } }
        if (SLOTS > 2u) { if (s == 2u) { param4_2[pq][j] = r[0][j]; state0_4_2[mq][j] = r[1][j]; state1_4_2[vq][j] = r[2][j]; } }
        if (SLOTS > 3u) { if (s == 3u) { param4_3[pq][j] = r[0][j]; state0_4_3[mq][j] = r[1][j]; state1_4_3[vq][j] = r[2][j]; } }
    }
}
