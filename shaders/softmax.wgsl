// Softmax and log-softmax along one axis of a dense tensor viewed as
// [outer, n, inner], and their backward kernels. One invocation per row
// (o, ., j): rows are independent, so no workgroup memory or barriers
// (costly on lavapipe). Few rows of great length take the composed path in
// ops/softmax.rs instead (reductions + elementwise ops), which is parallel.
//
// Forward (numerically stable: exponents are taken of x - max <= 0, so
// rows like [1000, -1000] give no inf and no NaN):
//   softmax:     y = exp(x - m) / s
//   log_softmax: y = (x - m) - log(s)        m = max(x), s = sum(exp(x - m))
// m and s come from one "online" pass (s is rescaled whenever m grows), then
// a second pass writes y. A NaN in a row makes the whole row NaN.
//
// Backward (y is the forward output, dy the incoming gradient):
//   softmax_backward:     dx = y * (dy - sum(dy * y))
//   log_softmax_backward: dx = dy - exp(y) * sum(dy)

const WORKGROUP_SIZE: u32 = 64u;

struct Params {
    outer: u32,
    n: u32,
    inner: u32,
    rows: u32,      // outer * inner
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// The backward kernels read y and dy and write dx.
@group(0) @binding(3) var<storage, read> y_in: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// Storage index of element 0 of row r; elements are `inner` apart.
fn row_start(r: u32) -> u32 {
    let j = r % p.inner;
    let o = r / p.inner;
    return o * p.n * p.inner + j;
}

// (max, sum of exp(x - max)) of the row at `base`, in one pass.
fn max_and_sum(base: u32) -> vec2<f32> {
    var m = x[base];
    var s = 1.0;
    for (var k = 1u; k < p.n; k++) {
        let v = x[base + k * p.inner];
        if (v > m) {
            s = s * exp(m - v) + 1.0;
            m = v;
        } else {
            // Also the NaN case: exp(NaN) makes s, and so the row, NaN.
            s += exp(v - m);
        }
    }
    return vec2<f32>(m, s);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    // The grid is rounded up to whole workgroups: extra invocations stop here.
    if (r >= p.rows) {
        return;
    }
    let base = row_start(r);
    let ms = max_and_sum(base);
    let inv = 1.0 / ms.y;
    for (var k = 0u; k < p.n; k++) {
        let at = base + k * p.inner;
        y[at] = exp(x[at] - ms.x) * inv;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (r >= p.rows) {
        return;
    }
    let base = row_start(r);
    let ms = max_and_sum(base);
    let log_s = log(ms.y);
    for (var k = 0u; k < p.n; k++) {
        let at = base + k * p.inner;
        y[at] = (x[at] - ms.x) - log_s;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (r >= p.rows) {
        return;
    }
    let base = row_start(r);
    var dot = 0.0;
    for (var k = 0u; k < p.n; k++) {
        let at = base + k * p.inner;
        dot += dy[at] * y_in[at];
    }
    for (var k = 0u; k < p.n; k++) {
        let at = base + k * p.inner;
        dx[at] = y_in[at] * (dy[at] - dot);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (r >= p.rows) {
        return;
    }
    let base = row_start(r);
    var total = 0.0;
    for (var k = 0u; k < p.n; k++) {
        total += dy[base + k * p.inner];
    }
    for (var k = 0u; k < p.n; k++) {
        let at = base + k * p.inner;
        dx[at] = dy[at] - exp(y_in[at]) * total;
    }
}
