// Fused optimizer updates, one invocation per parameter element: each entry
// point reads the gradient, updates the state buffers and the parameter in
// place, with the formulas of PyTorch's torch.optim documentation.
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

// g = -grad if maximize else grad; g += weight_decay * theta;
// b = g on the first step, else momentum * b + (1 - dampening) * g;
// g = g + momentum * b if nesterov else b; theta -= lr * g.
@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    // The grid is rounded up to whole workgroups: extra invocations stop here.
    if (i >= sp.numel) {
        return;
    }
    let theta = sgd_param[sp.param_offset + i];
    // The gradient is negated before weight decay, so that maximize still
    // shrinks the weights: PyTorch's code, and its documentation since
    // pytorch/pytorch#149884 (older pages negated at the end).
    var g = sgd_grad[sp.grad_offset + i];
    if (sp.maximize != 0u) {
        g = -g;
    }
    // Skipped when 0, as in PyTorch: 0 * inf would turn an inf weight to NaN.
    if (sp.weight_decay != 0.0) {
        g = g + sp.weight_decay * theta;
    }
    if (sp.has_momentum != 0u) {
        let bi = sp.buf_offset + i;
        var b = g;
        if (sp.first_step == 0u) {
            b = sp.momentum * momentum_buffer[bi] + sp.one_minus_dampening * g;
        }
        momentum_buffer[bi] = b;
        if (sp.nesterov != 0u) {
            g = g + sp.momentum * b;
        } else {
            g = b;
        }
    }
    sgd_param[sp.param_offset + i] = theta - sp.lr * g;
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

// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
// v_max = max(v_max, v) with amsgrad;
// theta -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
@compute @workgroup_size(WORKGROUP_SIZE)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= ap.numel) {
        return;
    }
    var theta = adam_param[ap.param_offset + i];
    var g = adam_grad[ap.grad_offset + i];
    if (ap.maximize != 0u) {
        g = -g;
    }
    if (ap.weight_decay != 0.0) {
        if (ap.decoupled != 0u) {
            theta = theta * ap.decay_factor;
        } else {
            g = g + ap.weight_decay * theta;
        }
    }
    let mi = ap.exp_avg_offset + i;
    let vi = ap.exp_avg_sq_offset + i;
    let m = ap.beta1 * exp_avg[mi] + ap.one_minus_beta1 * g;
    var v = ap.beta2 * exp_avg_sq[vi] + ap.one_minus_beta2 * g * g;
    exp_avg[mi] = m;
    exp_avg_sq[vi] = v;
    if (ap.amsgrad != 0u) {
        // The maximum of the raw second moments; the bias correction of
        // the current step applies to it (as in PyTorch's code).
        let xi = ap.max_exp_avg_sq_offset + i;
        v = max(max_exp_avg_sq[xi], v);
        max_exp_avg_sq[xi] = v;
    }
    let denom = sqrt(v) / ap.bias_correction2_sqrt + ap.eps;
    adam_param[ap.param_offset + i] = theta - ap.step_size * (m / denom);
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
