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
//
// The rows are covered by a grid-stride loop (r = gid.x, gid.x + stride,
// ...) over a bounded grid (see binary.wgsl for why).

const WORKGROUP_SIZE: u32 = 256u;

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

// x and y four at a time, for the `*_vec4` forward kernels.
@group(0) @binding(6) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> y4: array<vec4<f32>>;

// lavapipe (Mesa 22.3) specialises a shader on uniforms that bound its
// loops and recompiles it at every dispatch; a value that also depends on a
// buffer's length is not a uniform to it. `len` is the length of the
// kernel's output buffer (never 0 when it runs).
fn opaque(v: u32, len: u32) -> u32 {
    return select(v, 0u, len == 0u);
}

// The loop-bounding parameters, read once through `opaque`.
struct Rows {
    n: u32,
    inner: u32,
    rows: u32,
}

fn rows(len: u32) -> Rows {
    return Rows(opaque(p.n, len), opaque(p.inner, len), opaque(p.rows, len));
}

// Storage index of element 0 of row r; elements are `inner` apart.
fn row_start(q: Rows, r: u32) -> u32 {
    let j = r % q.inner;
    let o = r / q.inner;
    return o * q.n * q.inner + j;
}

// One step of the online (max, sum of exp(x - max)) over a row: ms with
// the next value v folded in. exp(m - v) when v is the new max, else
// exp(v - m): one exp and no branch (neighbouring rows share SIMD lanes on a
// CPU driver, so a branch would cost both sides). A NaN is never "greater":
// exp(NaN) makes s, and so the row, NaN.
fn online(ms: vec2<f32>, v: f32) -> vec2<f32> {
    let e = exp(-abs(v - ms.x));
    let grows = v > ms.x;
    return vec2<f32>(select(ms.x, v, grows), select(ms.y + e, ms.y * e + 1.0, grows));
}

// (max, sum of exp(x - max)) of the row at `base`, in one pass.
fn max_and_sum(q: Rows, base: u32) -> vec2<f32> {
    var ms = vec2<f32>(x[base], 1.0);
    for (var k = 1u; k < q.n; k++) {
        ms = online(ms, x[base + k * q.inner]);
    }
    return ms;
}

// The same for a contiguous row of n4 vec4s starting at vec4 `base4`: the
// same steps in the same order, so the same bits.
fn max_and_sum4(n4: u32, base4: u32) -> vec2<f32> {
    let head = x4[base4];
    var ms = online(online(online(vec2<f32>(head.x, 1.0), head.y), head.z), head.w);
    for (var k = 1u; k < n4; k++) {
        let v = x4[base4 + k];
        ms = online(online(online(online(ms, v.x), v.y), v.z), v.w);
    }
    return ms;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = rows(arrayLength(&y));
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var r = gid.x; r < q.rows; r += stride) {
        let base = row_start(q, r);
        let ms = max_and_sum(q, base);
        let inv = 1.0 / ms.y;
        for (var k = 0u; k < q.n; k++) {
            let at = base + k * q.inner;
            y[at] = exp(x[at] - ms.x) * inv;
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = rows(arrayLength(&y));
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var r = gid.x; r < q.rows; r += stride) {
        let base = row_start(q, r);
        let ms = max_and_sum(q, base);
        let log_s = log(ms.y);
        for (var k = 0u; k < q.n; k++) {
            let at = base + k * q.inner;
            y[at] = (x[at] - ms.x) - log_s;
        }
    }
}

// softmax and log_softmax over contiguous rows (inner == 1) whose length is
// a multiple of 4, moving four values per access: lavapipe moves each SIMD
// lane's data in a loop over the lanes, so a vec4 costs little more than a
// scalar. The host picks these; the results are the same bits.
@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = rows(arrayLength(&y4));
    let n4 = q.n / 4u;
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var r = gid.x; r < q.rows; r += stride) {
        let base4 = r * n4;
        let ms = max_and_sum4(n4, base4);
        let inv = 1.0 / ms.y;
        for (var k = 0u; k < n4; k++) {
            y4[base4 + k] = exp(x4[base4 + k] - ms.x) * inv;
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = rows(arrayLength(&y4));
    let n4 = q.n / 4u;
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var r = gid.x; r < q.rows; r += stride) {
        let base4 = r * n4;
        let ms = max_and_sum4(n4, base4);
        let log_s = log(ms.y);
        for (var k = 0u; k < n4; k++) {
            y4[base4 + k] = (x4[base4 + k] - ms.x) - log_s;
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = rows(arrayLength(&dx));
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var r = gid.x; r < q.rows; r += stride) {
        let base = row_start(q, r);
        var dot = 0.0;
        for (var k = 0u; k < q.n; k++) {
            let at = base + k * q.inner;
            dot += dy[at] * y_in[at];
        }
        for (var k = 0u; k < q.n; k++) {
            let at = base + k * q.inner;
            dx[at] = y_in[at] * (dy[at] - dot);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn log_softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = rows(arrayLength(&dx));
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var r = gid.x; r < q.rows; r += stride) {
        let base = row_start(q, r);
        var total = 0.0;
        for (var k = 0u; k < q.n; k++) {
            total += dy[base + k * q.inner];
        }
        for (var k = 0u; k < q.n; k++) {
            let at = base + k * q.inner;
            dx[at] = dy[at] - exp(y_in[at]) * total;
        }
    }
}
