// Reductions along one axis of a dense tensor viewed as [outer, n, inner].
//
// Invocation i owns output slot (o, c, j) of a [outer, chunks, inner] result
// (so the slot's index in y is i itself) and folds the elements
// k = c, c + chunks, c + 2 * chunks, ... < n of row (o, ., j).
//   chunks == 1: that is the whole reduction, one invocation per output.
//   chunks > 1:  y holds partials; the Rust side (ops/reduce.rs) reduces
//                them again along the same axis (n = chunks) until one is
//                left, so a full sum of 4M elements is three short passes,
//                not one invocation's serial loop.
// Stepping k by `chunks` makes neighbouring invocations read neighbouring
// elements when inner == 1. No workgroup memory and no barriers: barriers
// are very costly on lavapipe, and the staged partials already sum
// pairwise-like (error grows with the longest serial run, not with n).
//
// sum:           y = sum / divisor (divisor = n for mean, 1 for sum).
// max_dim:       y = the max (OP 0) or min (OP 1), idx = its index along n.
// max_dim_merge: the same over (value x, index xi) pairs from an earlier pass.
// Ties go to the lowest index (PyTorch's CPU kernels); a NaN beats every
// number, the first NaN winning (PyTorch propagates NaN through max/min).
//
// The slots are covered by a grid-stride loop (i = gid.x, gid.x + stride,
// ...) over a bounded grid (see binary.wgsl), so a reduction with many
// short rows does not launch one workgroup (a thread-pool task on
// lavapipe) per 64 outputs. The fold order within a slot does not depend on
// the grid, so results are the same bits whatever the device.

const WORKGROUP_SIZE: u32 = 256u;
override OP: u32 = 0u; // max_dim, max_dim_merge: 0 = max, 1 = min

struct Params {
    outer: u32,
    n: u32,
    inner: u32,
    chunks: u32,
    slots: u32,     // outer * chunks * inner: the invocations with work
    divisor: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<i32>;
@group(0) @binding(4) var<storage, read> xi: array<i32>;

// lavapipe (Mesa 22.3) specialises a shader on uniforms that bound its
// loops and recompiles it at every dispatch; a value that also depends on a
// buffer's length is not a uniform to it.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&y) == 0u);
}

// The loop-bounding parameters, read once through `opaque`.
struct Span {
    n: u32,
    inner: u32,
    chunks: u32,
    slots: u32,
}

fn span() -> Span {
    return Span(opaque(p.n), opaque(p.inner), opaque(p.chunks), opaque(p.slots));
}

// Storage index of element k = 0 of slot i's row, and the slot's chunk c.
fn row_start(s: Span, i: u32) -> vec2<u32> {
    let j = i % s.inner;
    let t = i / s.inner;
    let c = t % s.chunks;
    let o = t / s.chunks;
    return vec2<u32>(o * s.n * s.inner + j, c);
}

// By bits, because WGSL lets compilers assume floats are never NaN.
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Whether (v, vi) replaces the best-so-far (b, bi).
fn better(v: f32, vi: i32, b: f32, bi: i32) -> bool {
    let vn = is_nan(v);
    let bn = is_nan(b);
    if (vn || bn) {
        return vn && (!bn || vi < bi);
    }
    let wins = select((v < b), (v > b), OP == 0u);
    return wins || (v == b && vi < bi);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = span();
    let divisor = p.divisor;
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var i = gid.x; i < s.slots; i += stride) {
        let rc = row_start(s, i);
        var acc = 0.0;
        for (var k = rc.y; k < s.n; k += s.chunks) {
            acc += x[rc.x + k * s.inner];
        }
        y[i] = acc / divisor;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_dim(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = span();
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var i = gid.x; i < s.slots; i += stride) {
        let rc = row_start(s, i);
        // chunks <= n, so every slot has at least its first element k = c.
        var best = x[rc.x + rc.y * s.inner];
        var bi = i32(rc.y);
        for (var k = rc.y + s.chunks; k < s.n; k += s.chunks) {
            let v = x[rc.x + k * s.inner];
            if (better(v, i32(k), best, bi)) {
                best = v;
                bi = i32(k);
            }
        }
        y[i] = best;
        idx[i] = bi;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_dim_merge(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = span();
    let stride = nwg.x * WORKGROUP_SIZE;
    for (var i = gid.x; i < s.slots; i += stride) {
        let rc = row_start(s, i);
        let first = rc.x + rc.y * s.inner;
        var best = x[first];
        var bi = xi[first];
        for (var k = rc.y + s.chunks; k < s.n; k += s.chunks) {
            let at = rc.x + k * s.inner;
            let v = x[at];
            let vi = xi[at];
            if (better(v, vi, best, bi)) {
                best = v;
                bi = vi;
            }
        }
        y[i] = best;
        idx[i] = bi;
    }
}
