// Data movement for any 4-byte dtype: elements are moved as raw u32 words,
// so one kernel serves f32 and i32 tensors alike.
//
// copy: dst view <- src view (both strided, same shape). This is
//       `contiguous()`, `copy_`, slice assignment and each part of `cat`.
// fill: dst view <- one value's bits (`fill_`, `zero_`, `t[:, 1] = 0`).
// cast_i32_f32 / cast_f32_i32: dtype conversion, src view -> dst view.
//
// Many elements per invocation (`row_span`), a RANK pipeline constant for
// the index decode and vec4 entries for dense views, as in binary.wgsl (see
// there for why).

const WORKGROUP_SIZE: u32 = 256u;
override RANK: u32 = 1u;

struct Params {
    shape: array<vec4<u32>, 2>,
    src_strides: array<vec4<u32>, 2>,
    dst_strides: array<vec4<u32>, 2>,
    numel: u32,
    rank: u32,                      // = RANK (the kernels use the constant)
    src_offset: u32,
    dst_offset: u32,
    value: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    magic: array<vec4<u32>, 2>,     // div_by's multiplier for each dim of shape
    shift: array<vec4<u32>, 2>,     // and its shift
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
// The same buffers four words at a time, for `copy_vec4` and `fill_vec4`.
@group(0) @binding(3) var<storage, read> src4: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> dst4: array<vec4<u32>>;

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

// The loop bound, hidden from lavapipe's per-dispatch specialisation on
// uniforms (see binary.wgsl).
fn element_count() -> u32 {
    return select(p.numel, 0u, arrayLength(&dst) == 0u);
}

// Storage indices of element `i` in src and dst. The outermost dim needs no
// modulo: what is left of i there is below its size.
// `u` is Params read once into registers: read inside the loop, each field
// would be a per-lane gather on lavapipe (the loop's stores may alias them).
fn indices(u: Params, i: u32) -> vec2<u32> {
    var rem = i;
    var s = u.src_offset;
    var t = u.dst_offset;
    for (var d = RANK - 1u; d > 0u; d--) {
        let q = div_by(rem, at(u.magic, d), at(u.shift, d));
        let c = rem - q * at(u.shape, d);
        rem = q;
        s += c * at(u.src_strides, d);
        t += c * at(u.dst_strides, d);
    }
    return vec2<u32>(s + rem * u.src_strides[0].x, t + rem * u.dst_strides[0].x);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = element_count();
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let st = indices(u, i);
        dst[st.y] = src[st.x];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = element_count();
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        dst[indices(u, i).y] = u.value;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cast_i32_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = element_count();
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let st = indices(u, i);
        dst[st.y] = bitcast<u32>(f32(bitcast<i32>(src[st.x])));
    }
}

// Truncates toward zero, as PyTorch's `.int()` / `.long()` do.
@compute @workgroup_size(WORKGROUP_SIZE)
fn cast_f32_i32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = element_count();
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let st = indices(u, i);
        dst[st.y] = bitcast<u32>(i32(bitcast<f32>(src[st.x])));
    }
}

// Dense src and dst at offsets that are multiples of 4, four words per
// access (see binary.wgsl's binary_vec4). dst may be a view into a larger
// tensor, so the numel % 4 words past the last whole vec4 are written one by
// one (by the first invocation), never as a whole vec4.
@compute @workgroup_size(WORKGROUP_SIZE)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = select(p.numel, 0u, arrayLength(&dst4) == 0u);
    let os = p.src_offset / 4u;
    let od = p.dst_offset / 4u;
    let whole = numel / 4u;
    let span = row_span(gid.x, nwg.x, whole);
    for (var i = span.x; i < span.y; i += 8u) {
        dst4[od + i] = src4[os + i];
    }
    if (gid.x == 0u) {
        for (var i = whole * 4u; i < numel; i++) {
            dst4[od + i / 4u][i % 4u] = src4[os + i / 4u][i % 4u];
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fill_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = select(p.numel, 0u, arrayLength(&dst4) == 0u);
    let od = p.dst_offset / 4u;
    let v = vec4<u32>(p.value);
    let whole = numel / 4u;
    let span = row_span(gid.x, nwg.x, whole);
    for (var i = span.x; i < span.y; i += 8u) {
        dst4[od + i] = v;
    }
    if (gid.x == 0u) {
        for (var i = whole * 4u; i < numel; i++) {
            dst4[od + i / 4u][i % 4u] = p.value;
        }
    }
}
