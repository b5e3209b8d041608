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
//
// Every kernel takes many output elements per invocation (`row_span`) and
// has the output's rank as the RANK pipeline constant, as in binary.wgsl
// (see there for why).

const WORKGROUP_SIZE: u32 = 256u;
override RANK: u32 = 1u;

// One Params for the whole file; each kernel names what its slots hold.
struct Params {
    shape: array<vec4<u32>, 2>,     // the output's shape (y or dx), innermost last
    strides_0: array<vec4<u32>, 2>, // gather: x | gather_backward: dy | where_cond: cond
    strides_1: array<vec4<u32>, 2>, // gather, gather_backward: index | where_cond: a
    strides_2: array<vec4<u32>, 2>, // where_cond: b
    numel: u32,
    rank: u32,                      // = RANK (the kernels use the constant)
    dim: u32,                       // gather, gather_backward: the indexed dim
    size: u32,                      // gather: x.shape[dim] | gather_backward: index.shape[dim]
                                    // | where_cond: 1 when cond is f32, 0 when i32
    offset_0: u32,
    offset_1: u32,
    offset_2: u32,
    _pad: u32,
    magic: array<vec4<u32>, 2>,     // div_by's multiplier for each dim of shape
    shift: array<vec4<u32>, 2>,     // and its shift
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

// The range [start, end) of items (in steps of 8) that invocation `g` of
// `groups` (a power of two) workgroups handles out of `n`; see binary.wgsl.
fn row_span(g: u32, groups: u32, n: u32) -> vec2<u32> {
    let rows = groups * (WORKGROUP_SIZE / 8u);
    let per_row = (((n + rows - 1u) >> countTrailingZeros(rows)) + 7u) & ~7u;
    let row_start = (g / 8u) * per_row;
    return vec2<u32>(row_start + g % 8u, min(row_start + per_row, n));
}

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

// n / d from the multiplier m and shift l of ops::magic_divisor(d), without
// a division instruction; see binary.wgsl.
fn div_by(n: u32, m: u32, l: u32) -> u32 {
    // The high word of n * m, from 16-bit halves.
    let lo = (n & 0xffffu) * (m & 0xffffu);
    let mid1 = (n >> 16u) * (m & 0xffffu);
    let mid2 = (n & 0xffffu) * (m >> 16u);
    let carry = ((lo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
    let t = (n >> 16u) * (m >> 16u) + (mid1 >> 16u) + (mid2 >> 16u) + carry;
    return (t + ((n - t) >> min(l, 1u))) >> (max(l, 1u) - 1u);
}

// lavapipe (Mesa 22.3) specialises a shader on uniforms that bound its
// loops or decide its branches, recompiling it at every dispatch (about
// 1 ms per gather); a value that also depends on a buffer's length is not a
// uniform to it. Each entry point binds different buffers, hence one per
// output buffer.
fn opaque_y(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&y) == 0u);
}

fn opaque_dx(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&dx) == 0u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = opaque_y(p.numel);
    let dim = opaque_y(p.dim);
    let size = opaque_y(p.size);
    let x_dim_stride = at(p.strides_0, dim);
    // The parameters in registers: read inside the loop, each would be a
    // per-lane gather on lavapipe (the loop's stores may alias them).
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        var rem = i;
        var ix = u.offset_0;
        var ii = u.offset_1;
        for (var k = 0u; k < RANK; k++) {
            let d = RANK - 1u - k; // innermost first
            let q = div_by(rem, at(u.magic, d), at(u.shift, d));
            let c = select(rem - q * at(u.shape, d), rem, d == 0u); // rem < n on the outermost
            rem = q;
            ii += c * at(u.strides_1, d);
            ix += select(c * at(u.strides_0, d), 0u, d == dim);
        }
        let j = index[ii];
        // NOTE: the host cannot check indices without a read-back. An index
        // outside [0, size) yields 0 instead of a read outside x's view:
        // unspecified (as after a CUDA device assert in PyTorch) but memory-safe.
        if (j < 0 || u32(j) >= size) {
            y[i] = 0u;
        } else {
            y[i] = x[ix + u32(j) * x_dim_stride];
        }
    }
}

// There are no float atomics in WGSL, so instead of scattering dy into dx
// each dx element gathers its contributions: it scans the `size` index
// entries along `dim` that could point at it. Cost O(numel(dx) * size);
// the sum runs in index order, so the result is deterministic.
@compute @workgroup_size(WORKGROUP_SIZE)
fn gather_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = opaque_dx(p.numel);
    let dim = opaque_dx(p.dim);
    let size = opaque_dx(p.size);
    let sdy = at(p.strides_0, dim);
    let si = at(p.strides_1, dim);
    // The parameters in registers: read inside the loop, each would be a
    // per-lane gather on lavapipe (the loop's stores may alias them).
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        var rem = i;
        var idy = u.offset_0;
        var ii = u.offset_1;
        var r = 0u;
        for (var k = 0u; k < RANK; k++) {
            let d = RANK - 1u - k; // innermost first
            let q = div_by(rem, at(u.magic, d), at(u.shift, d));
            let c = select(rem - q * at(u.shape, d), rem, d == 0u); // rem < n on the outermost
            rem = q;
            let here = d == dim;
            r = select(r, c, here);
            idy += select(c * at(u.strides_0, d), 0u, here);
            ii += select(c * at(u.strides_1, d), 0u, here);
        }
        var acc = 0.0;
        for (var j = 0u; j < size; j++) {
            if (index[ii + j * si] == i32(r)) {
                acc += dy[idy + j * sdy];
            }
        }
        dx[i] = acc;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn where_cond(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = opaque_y(p.numel);
    let cond_is_f32 = opaque_y(p.size) == 1u;
    // The parameters in registers: read inside the loop, each would be a
    // per-lane gather on lavapipe (the loop's stores may alias them).
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        var rem = i;
        var ic = u.offset_0;
        var ia = u.offset_1;
        var ib = u.offset_2;
        for (var d = RANK - 1u; d > 0u; d--) {
            let q = div_by(rem, at(u.magic, d), at(u.shift, d));
            let c = rem - q * at(u.shape, d);
            rem = q;
            ic += c * at(u.strides_0, d);
            ia += c * at(u.strides_1, d);
            ib += c * at(u.strides_2, d);
        }
        ic += rem * u.strides_0[0].x;
        ia += rem * u.strides_1[0].x;
        ib += rem * u.strides_2[0].x;
        let w = cond[ic];
        // An f32 cond is false only for +0.0 and -0.0 (NaN is true, as Python's
        // bool() of a float). Tested on the bits: WGSL lets float comparisons
        // assume no NaN, and lavapipe does.
        let zero_bits = select(w, w & 0x7fffffffu, cond_is_f32);
        y[i] = select(b[ib], a[ia], zero_bits != 0u);
    }
}
