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

const WORKGROUP_SIZE: u32 = 64u;
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

// Storage index of element k = 0 of slot i's row, and the slot's chunk c.
fn row_start(i: u32) -> vec2<u32> {
    let j = i % p.inner;
    let t = i / p.inner;
    let c = t % p.chunks;
    let o = t / p.chunks;
    return vec2<u32>(o * p.n * p.inner + j, c);
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
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    // The grid is rounded up to whole workgroups: extra invocations stop here.
    if (i >= p.slots) {
        return;
    }
    let rc = row_start(i);
    var acc = 0.0;
    for (var k = rc.y; k < p.n; k += p.chunks) {
        acc += x[rc.x + k * p.inner];
    }
    y[i] = acc / p.divisor;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_dim(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= p.slots) {
        return;
    }
    let rc = row_start(i);
    // chunks <= n, so every slot has at least its first element k = c.
    var best = x[rc.x + rc.y * p.inner];
    var bi = i32(rc.y);
    for (var k = rc.y + p.chunks; k < p.n; k += p.chunks) {
        let v = x[rc.x + k * p.inner];
        if (better(v, i32(k), best, bi)) {
            best = v;
            bi = i32(k);
        }
    }
    y[i] = best;
    idx[i] = bi;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_dim_merge(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= p.slots) {
        return;
    }
    let rc = row_start(i);
    let first = rc.x + rc.y * p.inner;
    var best = x[first];
    var bi = xi[first];
    for (var k = rc.y + p.chunks; k < p.n; k += p.chunks) {
        let at = rc.x + k * p.inner;
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
