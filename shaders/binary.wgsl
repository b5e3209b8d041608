// Elementwise binary ops with NumPy/PyTorch broadcasting: z[i] = f(a[...], b[...]).
//
// a and b are strided views already broadcast to z's shape (stride 0 on
// broadcast dims); z is dense. OP numbers must match `BinaryOp` in
// crates/tensor/src/ops/binary.rs.
//
// Each invocation loops over many elements: ops/mod.rs (`dispatch_items`)
// launches a bounded number of 256-wide workgroups, and `row_span` says
// which elements an invocation takes. On lavapipe every workgroup is one
// thread-pool task (~1 us), so one workgroup per 64 elements spent more
// time scheduling than adding.
//
// RANK (the dims left after merging, at least 1) is a pipeline constant, so
// the index decode unrolls and a dense or scalar-broadcast operand (RANK 1)
// costs one multiply-add per element. Higher ranks divide by each dim's
// size through a host-computed multiplier (`div_by`), not `/` and `%`.

const WORKGROUP_SIZE: u32 = 256u;
override OP: u32 = 0u;
override RANK: u32 = 1u;

struct Params {
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
    numel: u32,
    rank: u32,
    a_offset: u32,
    b_offset: u32,
    magic: array<vec4<u32>, 2>,     // div_by's multiplier for each dim of shape
    shift: array<vec4<u32>, 2>,     // and its shift
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
// The same buffers four elements at a time, for `binary_vec4`.
@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> z4: array<vec4<f32>>;

// lavapipe (Mesa 22.3) specialises a shader on uniforms that bound its
// loops or decide its branches, and recompiles it at every dispatch. A value
// that also depends on a buffer's length is not a uniform to it.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&z) == 0u);
}

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

// n / d without a division instruction, from the multiplier m and shift l
// that ops::magic_divisor computed for d on the host (exact for every u32
// n). CPUs have no vector integer division: on lavapipe each `/` or `%` by
// a runtime value became eight scalar divisions per SIMD step.
fn div_by(n: u32, m: u32, l: u32) -> u32 {
    // The high word of n * m, from 16-bit halves.
    let lo = (n & 0xffffu) * (m & 0xffffu);
    let mid1 = (n >> 16u) * (m & 0xffffu);
    let mid2 = (n & 0xffffu) * (m >> 16u);
    let carry = ((lo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
    let t = (n >> 16u) * (m >> 16u) + (mid1 >> 16u) + (mid2 >> 16u) + carry;
    return (t + ((n - t) >> min(l, 1u))) >> (max(l, 1u) - 1u);
}

// Storage indices of z's element i in a and b. The outermost dim needs no
// modulo: what is left of i there is already below its size.
fn operand_indices(u: Params, i: u32) -> vec2<u32> {
    var rem = i;
    var ia = u.a_offset;
    var ib = u.b_offset;
    for (var d = RANK - 1u; d > 0u; d--) {
        let q = div_by(rem, at(u.magic, d), at(u.shift, d));
        let c = rem - q * at(u.shape, d);
        rem = q;
        ia += c * at(u.a_strides, d);
        ib += c * at(u.b_strides, d);
    }
    return vec2<u32>(ia + rem * u.a_strides[0].x, ib + rem * u.b_strides[0].x);
}

// The range [start, end) of items (in steps of 8) that invocation `g` of
// `groups` workgroups handles out of `n`. Invocations go in rows of 8 (a
// SIMD vector on lavapipe, a quarter warp on a GPU): each row owns one
// contiguous span and its 8 lanes take neighbouring items, so a row reads
// one contiguous block per step and walks its span front to back. On a CPU
// that keeps the hardware prefetcher and the TLB working (a plain grid
// stride jumped megabytes between the steps of one SIMD vector and ran at
// a quarter of the speed on large tensors); on a GPU the accesses stay
// coalesced.
fn row_span(g: u32, groups: u32, n: u32) -> vec2<u32> {
    // groups is a power of two (ops::dispatch_items), so is rows: divide by
    // shifting, not with eight scalar divisions per SIMD vector.
    let rows = groups * (WORKGROUP_SIZE / 8u);
    let per_row = (((n + rows - 1u) >> countTrailingZeros(rows)) + 7u) & ~7u;
    let row_start = (g / 8u) * per_row;
    return vec2<u32>(row_start + g % 8u, min(row_start + per_row, n));
}

fn pow_f32(v: f32, e: f32) -> f32 {
    if (e == 0.0) {
        return 1.0;
    }
    let m = pow(abs(v), e);
    if (v >= 0.0) {
        return m;
    }
    if (fract(e) != 0.0) {
        return bitcast<f32>(0x7fc00000u); // NaN for a negative base
    }
    return select(m, -m, (i32(abs(e)) & 1) == 1);
}

fn apply(u: f32, v: f32) -> f32 {
    switch OP {
        case 0u: { return u + v; }               // add
        case 1u: { return u - v; }               // sub
        case 2u: { return u * v; }               // mul
        case 3u: { return u / v; }               // div
        case 4u: { return pow_f32(u, v); }       // pow
        case 5u: { return max(u, v); }           // maximum
        case 6u: { return min(u, v); }           // minimum
        case 7u: { return f32(u == v); }         // eq
        case 8u: { return f32(u != v); }         // ne
        case 9u: { return f32(u < v); }          // lt
        case 10u: { return f32(u <= v); }        // le
        case 11u: { return f32(u > v); }         // gt
        case 12u: { return f32(u >= v); }        // ge
        default: { return u; }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = opaque(p.numel);
    // The parameters in registers: read inside the loop, each would be a
    // per-lane gather on lavapipe (the loop's stores may alias them).
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let ab = operand_indices(u, i);
        z[i] = apply(a[ab.x], b[ab.y]);
    }
}

// Dense a and b at offsets that are multiples of 4, four elements per
// access: lavapipe moves each SIMD lane's data in a loop over the lanes, so
// a vec4 access costs little more than a scalar one. The numel % 4 elements
// past the last whole vec4 are done one by one by the first invocation,
// through components of that vec4 (inside the buffer: the pool sizes
// buffers in multiples of 64 bytes).
@compute @workgroup_size(WORKGROUP_SIZE)
fn binary_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = select(p.numel, 0u, arrayLength(&z4) == 0u);
    let oa = p.a_offset / 4u;
    let ob = p.b_offset / 4u;
    let whole = numel / 4u;
    let span = row_span(gid.x, nwg.x, whole);
    for (var i = span.x; i < span.y; i += 8u) {
        let u = a4[oa + i];
        let v = b4[ob + i];
        z4[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
    }
    if (gid.x == 0u) {
        for (var i = whole * 4u; i < numel; i++) {
            let k = i % 4u;
            z4[i / 4u][k] = apply(a4[oa + i / 4u][k], b4[ob + i / 4u][k]);
        }
    }
}
