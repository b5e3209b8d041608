// Elementwise unary ops and tensor-scalar ops: y[i] = f(x[...], scalar).
//
// x may be any strided view (broadcast dims have stride 0); y is dense.
// The op is chosen by the OP override constant, so each op is its own
// pipeline with the switch folded away. Numbers must match `UnaryOp` in
// crates/tensor/src/ops/unary.rs.

const WORKGROUP_SIZE: u32 = 64u;
override OP: u32 = 0u;

struct Params {
    shape: array<vec4<u32>, 2>,     // up to 8 dims, innermost last
    x_strides: array<vec4<u32>, 2>,
    numel: u32,
    rank: u32,
    x_offset: u32,
    scalar: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

// Storage index of the element with row-major index `i` in x.
fn x_index(i: u32) -> u32 {
    var rem = i;
    var off = p.x_offset;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let n = at(p.shape, u32(d));
        off += (rem % n) * at(p.x_strides, u32(d));
        rem /= n;
    }
    return off;
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
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    // The grid is rounded up to whole workgroups: extra invocations stop here.
    if (i >= p.numel) {
        return;
    }
    y[i] = apply(x[x_index(i)], p.scalar);
}
