// Cross-entropy over the rows of logits x [n, c] (dense) with i32 class
// targets t [n], fused: PyTorch composes log_softmax and nll_loss, which is
// six or seven dispatches forward and four backward; here it is one each
// (plus the host's sums for the reduction).
//
//   cross_entropy_rows:     loss[i] = w_i * (logsumexp(x[i, :]) - x[i, t[i]]),
//                           loss[n + i] = w_i
//   cross_entropy_mean:     loss[0] = sum_i of the above, loss[1] = sum_i w_i,
//                           loss[2] = loss[0] / loss[1] (one workgroup);
//                           with WITH_GRAD also dx for g = 1 (below), so
//                           that `loss.backward()` needs no dispatch for it
//   cross_entropy_backward: dx[i, j] = g_i * w_i / d * (softmax(x[i, :])[j] - (j == t[i]))
//
// where w_i is 0 for a row whose target is the ignore index (when
// HAS_IGNORE) and 1 otherwise; g_i = g[i] when G_PER_ROW (reduction
// "none") and g[0] otherwise; d is the count of counted rows (norm[1], the
// sum of the w_i) for a mean, else 1.
// One invocation per row: the rows of a classifier are short (10 to 1000
// classes) and a batch has enough of them to fill the lanes.
//
// A counted target outside [0, c) cannot be reported without a read-back;
// its row gives NaN (loss and gradient), visible rather than silently wrong.

const WORKGROUP_SIZE: u32 = 64u;
override G_PER_ROW: bool = false;
override MEAN: bool = false;
override WITH_GRAD: bool = false;

struct Params {
    n: u32,
    c: u32,
    has_ignore: u32,
    ignore_index: i32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read> norm: array<f32>;

// Loop bounds hidden from lavapipe, which otherwise recompiles the shader
// for every new value of a uniform that bounds a loop.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&x) == 0u);
}

fn nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

// has_ignore decides a branch and differs between calls with and without
// an ignore index: hidden from lavapipe's uniform inlining (see opaque).
fn ignored(label: i32) -> bool {
    return opaque(p.has_ignore) != 0u && label == p.ignore_index;
}

// (max, sum of exp(x - max)) over the row starting at base.
fn row_stats(base: u32, c: u32) -> vec2<f32> {
    var m = x[base];
    for (var j = 1u; j < c; j++) {
        m = max(m, x[base + j]);
    }
    var s = 0.0;
    for (var j = 0u; j < c; j++) {
        s += exp(x[base + j] - m);
    }
    return vec2<f32>(m, s);
}

fn row_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// Row i's (w_i * loss, w_i), with the NaN of a target outside [0, c).
fn row_loss(i: u32, c: u32) -> vec2<f32> {
    let label = t[i];
    if (ignored(label)) {
        return vec2<f32>(0.0, 0.0);
    }
    if (label < 0 || u32(label) >= c) {
        return vec2<f32>(nan(), 1.0);
    }
    let base = i * c;
    let ms = row_stats(base, c);
    return vec2<f32>(ms.x + log(ms.y) - x[base + u32(label)], 1.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cross_entropy_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = row_index(gid, nwg);
    let n = p.n;
    if (i >= n) {
        return;
    }
    let r = row_loss(i, opaque(p.c));
    loss[i] = r.x;
    loss[n + i] = r.y;
}

var<workgroup> partial: array<vec2<f32>, WORKGROUP_SIZE>;

// dx[i, :] = k * (softmax(x[i, :]) - onehot(t[i])): 0 for an ignored row,
// NaN for a target outside [0, c).
fn store_row_grad(i: u32, c: u32, k: f32) {
    let base = i * c;
    let label = t[i];
    if (ignored(label)) {
        for (var j = 0u; j < c; j++) {
            dx[base + j] = 0.0;
        }
        return;
    }
    if (label < 0 || u32(label) >= c) {
        for (var j = 0u; j < c; j++) {
            dx[base + j] = nan();
        }
        return;
    }
    let ms = row_stats(base, c);
    let inv = 1.0 / ms.y;
    for (var j = 0u; j < c; j++) {
        let soft = exp(x[base + j] - ms.x) * inv;
        dx[base + j] = k * (soft - select(0.0, 1.0, j == u32(label)));
    }
}

// The mean reduction in one dispatch: one workgroup, lane l sums rows l,
// l + 64, ...; after one barrier lane 0 adds the 64 partial sums (one
// barrier instead of a tree of six: barriers are the expensive part on a
// CPU driver, and a classifier's loss has few rows). With WITH_GRAD, a
// second barrier hands every lane the count of counted rows, and lane l
// writes the gradient of rows l, l + 64, ...
@compute @workgroup_size(WORKGROUP_SIZE)
fn cross_entropy_mean(@builtin(local_invocation_index) lane: u32) {
    let c = opaque(p.c);
    let n = opaque(p.n);
    var acc = vec2<f32>(0.0);
    for (var i = lane; i < n; i += WORKGROUP_SIZE) {
        acc += row_loss(i, c);
    }
    partial[lane] = acc;
    workgroupBarrier();
    if (lane == 0u) {
        var total = vec2<f32>(0.0);
        for (var k = 0u; k < WORKGROUP_SIZE; k++) {
            total += partial[k];
        }
        loss[0] = total.x;
        loss[1] = total.y;
        // NaN when every row is ignored (0 / 0), as in PyTorch.
        loss[2] = total.x / total.y;
        if (WITH_GRAD) {
            // Only lane 0 reads the partial sums: slot 0 may take the
            // total for the others.
            partial[0] = total;
        }
    }
    if (WITH_GRAD) {
        workgroupBarrier();
        let k = 1.0 / partial[0].y;
        for (var i = lane; i < n; i += WORKGROUP_SIZE) {
            store_row_grad(i, c, k);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = row_index(gid, nwg);
    if (i >= p.n) {
        return;
    }
    var k = g[0];
    if (G_PER_ROW) {
        k = g[i];
    }
    if (MEAN) {
        k /= norm[1];
    }
    store_row_grad(i, opaque(p.c), k);
}
