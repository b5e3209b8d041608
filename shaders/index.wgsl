// Indexing: gather (index_select is a gather whose index is broadcast along
// every other dim), the gradient of both, and where_cond (elementwise select).
//
// gather:          y[..., i, ...] = x[..., index[..., i, ...], ...]   (along `dim`)
// gather_backward: dx[..., r, ...] = sum over j with index[..., j, ...] == r
//                                    of dy[..., j, ...]
// where_cond:      y[i] = cond[i] != 0 ? a[i] : b[i]   (all three broadcast)
//
// Every operand is read through its strides (stride 0 on broadcast dims), so
// views and expanded tensors need no copy first; the output is dense.
// gather and where_cond move raw u32 words and so serve f32 and i32 alike.
//
// Each buffer variable has its own binding number (no two declarations share
// one): an entry point binds only the buffers it uses, and wgpu's derived
// layouts drop the rest.

const WORKGROUP_SIZE: u32 = 64u;

// One Params for the whole file; each kernel names what its slots hold.
struct Params {
    shape: array<vec4<u32>, 2>,     // the output's shape (y or dx), innermost last
    strides_0: array<vec4<u32>, 2>, // gather: x | gather_backward: dy | where_cond: cond
    strides_1: array<vec4<u32>, 2>, // gather, gather_backward: index | where_cond: a
    strides_2: array<vec4<u32>, 2>, // where_cond: b
    numel: u32,
    rank: u32,
    dim: u32,                       // gather, gather_backward: the indexed dim
    size: u32,                      // gather: x.shape[dim] | gather_backward: index.shape[dim]
                                    // | where_cond: 1 when cond is f32, 0 when i32
    offset_0: u32,
    offset_1: u32,
    offset_2: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read> cond: array<u32>;
@group(0) @binding(7) var<storage, read> a: array<u32>;
@group(0) @binding(8) var<storage, read> b: array<u32>;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    // The grid is rounded up to whole workgroups: extra invocations stop here.
    if (i >= p.numel) {
        return;
    }
    var rem = i;
    var ix = p.offset_0;
    var ii = p.offset_1;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let n = at(p.shape, u32(d));
        let c = rem % n;
        rem /= n;
        ii += c * at(p.strides_1, u32(d));
        if (u32(d) != p.dim) {
            ix += c * at(p.strides_0, u32(d));
        }
    }
    let j = index[ii];
    // NOTE: the host cannot check indices without a read-back. An index
    // outside [0, size) yields 0 instead of a read outside x's view:
    // unspecified (as after a CUDA device assert in PyTorch) but memory-safe.
    if (j < 0 || u32(j) >= p.size) {
        y[i] = 0u;
        return;
    }
    y[i] = x[ix + u32(j) * at(p.strides_0, p.dim)];
}

// There are no float atomics in WGSL, so instead of scattering dy into dx
// each dx element gathers its contributions: it scans the `size` index
// entries along `dim` that could point at it. Cost O(numel(dx) * size);
// the sum runs in index order, so the result is deterministic.
@compute @workgroup_size(WORKGROUP_SIZE)
fn gather_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    var rem = i;
    var idy = p.offset_0;
    var ii = p.offset_1;
    var r = 0u;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let n = at(p.shape, u32(d));
        let c = rem % n;
        rem /= n;
        if (u32(d) == p.dim) {
            r = c;
        } else {
            idy += c * at(p.strides_0, u32(d));
            ii += c * at(p.strides_1, u32(d));
        }
    }
    let sdy = at(p.strides_0, p.dim);
    let si = at(p.strides_1, p.dim);
    var acc = 0.0;
    for (var j = 0u; j < p.size; j++) {
        if (index[ii + j * si] == i32(r)) {
            acc += dy[idy + j * sdy];
        }
    }
    dx[i] = acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn where_cond(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    var rem = i;
    var ic = p.offset_0;
    var ia = p.offset_1;
    var ib = p.offset_2;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let n = at(p.shape, u32(d));
        let c = rem % n;
        rem /= n;
        ic += c * at(p.strides_0, u32(d));
        ia += c * at(p.strides_1, u32(d));
        ib += c * at(p.strides_2, u32(d));
    }
    let w = cond[ic];
    // An f32 cond is false only for +0.0 and -0.0 (NaN is true, as Python's
    // bool() of a float). Tested on the bits: WGSL lets float comparisons
    // assume no NaN, and lavapipe does.
    let zero_bits = select(w, w & 0x7fffffffu, p.size == 1u);
    let take_a = zero_bits != 0u;
    y[i] = select(b[ib], a[ia], take_a);
}
