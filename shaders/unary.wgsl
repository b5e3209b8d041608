// Elementwise unary ops and tensor-scalar ops: y[i] = f(x[...], scalar).
//
// x may be any strided view (broadcast dims have stride 0); y is dense.
// The op is chosen by the OP override constant, so each op is its own
// pipeline with the switch folded away. Numbers must match `UnaryOp` in
// crates/tensor/src/ops/unary.rs.
//
// Many elements per invocation (`row_span`), a RANK pipeline constant for
// the index decode and a vec4 entry for dense inputs, as in binary.wgsl
// (see there for why).

const WORKGROUP_SIZE: u32 = 256u;
override OP: u32 = 0u;
override RANK: u32 = 1u;

struct Params {
    shape: array<vec4<u32>, 2>,     // up to 8 dims, innermost last
    x_strides: array<vec4<u32>, 2>,
    numel: u32,
    rank: u32,                      // = RANK (the kernel uses the constant)
    x_offset: u32,
    scalar: f32,
    magic: array<vec4<u32>, 2>,     // div_by's multiplier for each dim of shape
    shift: array<vec4<u32>, 2>,     // and its shift
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// The same buffers four elements at a time, for `unary_vec4`.
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> y4: array<vec4<f32>>;

// lavapipe (Mesa 22.3) specialises a shader on uniforms that bound its
// loops or decide its branches (pow's tests of the exponent), recompiling
// it at every dispatch; a value that also depends on a buffer's length is
// not a uniform to it.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&y) == 0u);
}

fn opaque_f32(v: f32) -> f32 {
    return select(v, 0.0, arrayLength(&y) == 0u);
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

// Storage index of the element with row-major index `i` in x. The outermost
// dim needs no modulo: what is left of i there is below its size.
fn x_index(u: Params, i: u32) -> u32 {
    var rem = i;
    var off = u.x_offset;
    for (var d = RANK - 1u; d > 0u; d--) {
        let q = div_by(rem, at(u.magic, d), at(u.shift, d));
        off += (rem - q * at(u.shape, d)) * at(u.x_strides, d);
        rem = q;
    }
    return off + rem * u.x_strides[0].x;
}

// The range [start, end) of items (in steps of 8) that invocation `g` of
// `groups` (a power of two) workgroups handles out of `n`; see binary.wgsl.
fn row_span(g: u32, groups: u32, n: u32) -> vec2<u32> {
    let rows = groups * (WORKGROUP_SIZE / 8u);
    let per_row = (((n + rows - 1u) >> countTrailingZeros(rows)) + 7u) & ~7u;
    let row_start = (g / 8u) * per_row;
    return vec2<u32>(row_start + g % 8u, min(row_start + per_row, n));
}

fn apply(v: f32, s: f32) -> f32 {
    switch OP {
        case 0u: { return -v; }                          // neg
        case 1u: { return abs(v); }                      // abs
        case 2u: { return exp(v); }                      // exp
        case 3u: { return log(v); }                      // log
        case 4u: { return sqrt(v); }                     // sqrt
        // relu: 0 for v <= 0 (and for NaN, as max(v, 0) would hide it).
        case 5u: { return select(0.0, v, v > 0.0); }     // relu
        // sigmoid in the form that does not overflow for large |v|.
        case 6u: {
            let e = exp(-abs(v));
            return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
        }
        case 7u: { return tanh(v); }                     // tanh
        case 8u: { return pow_f32(v, s); }               // pow by scalar
        case 9u: { return v + s; }                       // add scalar
        case 10u: { return v - s; }                      // sub scalar
        case 11u: { return s - v; }                      // scalar minus x
        case 12u: { return v * s; }                      // mul scalar
        case 13u: { return v / s; }                      // div scalar
        case 14u: { return s / v; }                      // scalar over x
        case 15u: { return max(v, s); }                  // maximum with scalar
        case 16u: { return min(v, s); }                  // minimum with scalar
        case 17u: { return f32(v == s); }                // eq scalar
        case 18u: { return f32(v != s); }                // ne scalar
        case 19u: { return f32(v < s); }                 // lt scalar
        case 20u: { return f32(v <= s); }                // le scalar
        case 21u: { return f32(v > s); }                 // gt scalar
        case 22u: { return f32(v >= s); }                // ge scalar
        case 23u: { return sin(v); }                     // sin
        case 24u: { return cos(v); }                     // cos
        case 25u: { return v * v; }                      // square
        case 26u: { return 1.0 / v; }                    // reciprocal
        case 27u: { return v; }                          // identity (contiguous copy)
        default: { return v; }
    }
}

// pow as PyTorch computes it for a real exponent: WGSL's pow is undefined
// for a negative base, so integer exponents are handled by sign.
fn pow_f32(v: f32, e: f32) -> f32 {
    if (e == 0.0) {
        return 1.0;
    }
    if (e == 1.0) {
        return v;
    }
    if (e == 2.0) {
        return v * v;
    }
    let m = pow(abs(v), e);
    if (v >= 0.0) {
        return m;
    }
    if (fract(e) != 0.0) {
        return bitcast<f32>(0x7fc00000u); // NaN, as for a negative base in PyTorch
    }
    let odd = (i32(abs(e)) & 1) == 1;
    return select(m, -m, odd);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = opaque(p.numel);
    let s = opaque_f32(p.scalar);
    // The parameters in registers: read inside the loop, each would be a
    // per-lane gather on lavapipe, as the loop's stores may alias them.
    let u = p;
    let span = row_span(gid.x, nwg.x, numel);
    for (var i = span.x; i < span.y; i += 8u) {
        y[i] = apply(x[x_index(u, i)], s);
    }
}

fn apply4(v: vec4<f32>, s: f32) -> vec4<f32> {
    return vec4<f32>(apply(v.x, s), apply(v.y, s), apply(v.z, s), apply(v.w, s));
}

// Dense x at an offset that is a multiple of 4, four elements per access:
// lavapipe moves each SIMD lane's data in a loop over the lanes, so a vec4
// access costs little more than a scalar one. The numel % 4 elements past
// the last whole vec4 are done one by one by the first invocation.
@compute @workgroup_size(WORKGROUP_SIZE)
fn unary_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = select(p.numel, 0u, arrayLength(&y4) == 0u);
    let s = select(p.scalar, 0.0, arrayLength(&y4) == 0u);
    let off4 = p.x_offset / 4u;
    let whole = numel / 4u;
    let span = row_span(gid.x, nwg.x, whole);
    for (var i = span.x; i < span.y; i += 8u) {
        y4[i] = apply4(x4[off4 + i], s);
    }
    if (gid.x == 0u) {
        for (var i = whole * 4u; i < numel; i++) {
            y4[i / 4u][i % 4u] = apply(x4[off4 + i / 4u][i % 4u], s);
        }
    }
}
