// Backward of the elementwise unary and tensor-scalar ops:
// dx[i] = dy[i] * f'(x[i]), written with the forward output y where that is
// cheaper or more accurate (exp, sigmoid, tanh, sqrt, reciprocal).
//
// x, y, dy and dx are dense, of one shape and start at element 0. OP
// numbers are those of unary.wgsl (`UnaryOp` in crates/tensor/src/ops/unary.rs).
//
// Many elements per invocation (`row_span`), four per access: see
// binary.wgsl (binary and binary_vec4) for why.

const WORKGROUP_SIZE: u32 = 256u;
override OP: u32 = 0u;

struct Params {
    numel: u32,
    scalar: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec4<f32>>;

// Hides uniforms from lavapipe's per-dispatch specialisation (unary.wgsl).
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&dx) == 0u);
}

fn opaque_f32(v: f32) -> f32 {
    return select(v, 0.0, arrayLength(&dx) == 0u);
}

// The range [start, end) of items (in steps of 8) that invocation `g` of
// `groups` (a power of two) workgroups handles out of `n`; see binary.wgsl.
fn row_span(g: u32, groups: u32, n: u32) -> vec2<u32> {
    let rows = groups * (WORKGROUP_SIZE / 8u);
    let per_row = (((n + rows - 1u) >> countTrailingZeros(rows)) + 7u) & ~7u;
    let row_start = (g / 8u) * per_row;
    return vec2<u32>(row_start + g % 8u, min(row_start + per_row, n));
}

fn sign_of(v: f32) -> f32 {
    return select(0.0, select(-1.0, 1.0, v > 0.0), v != 0.0);
}

// d/dv of v^e for a real exponent, with the sign rules of unary.wgsl's pow.
fn dpow(v: f32, e: f32) -> f32 {
    if (e == 0.0) {
        return 0.0;
    }
    if (e == 1.0) {
        return 1.0;
    }
    if (e == 2.0) {
        return 2.0 * v;
    }
    let m = e * pow(abs(v), e - 1.0);
    if (v >= 0.0) {
        return m;
    }
    // (e - 1) odd <=> e even: the derivative of an even power is odd in v.
    let even = (i32(abs(e)) & 1) == 0;
    return select(m, -m, even);
}

fn derivative(xv: f32, yv: f32, s: f32) -> f32 {
    switch OP {
        case 0u: { return -1.0; }                          // neg
        case 1u: { return sign_of(xv); }                   // abs: 0 at 0, as PyTorch
        case 2u: { return yv; }                            // exp
        case 3u: { return 1.0 / xv; }                      // log
        case 4u: { return 0.5 / yv; }                      // sqrt
        // NOTE: relu's gradient is 0 at exactly 0, as in PyTorch.
        case 5u: { return select(0.0, 1.0, xv > 0.0); }    // relu
        case 6u: { return yv * (1.0 - yv); }               // sigmoid
        case 7u: { return 1.0 - yv * yv; }                 // tanh
        case 8u: { return dpow(xv, s); }                   // pow by scalar
        case 9u, 10u, 27u: { return 1.0; }                 // add/sub scalar, identity
        case 11u: { return -1.0; }                         // scalar minus x
        case 12u: { return s; }                            // mul scalar
        case 13u: { return 1.0 / s; }                      // div scalar
        case 14u: { return -yv / xv; }                     // s / x: -s / x^2
        // clamp(min=s) / clamp(max=s): the gradient passes where x is inside
        // the closed range, as PyTorch's clamp backward does.
        case 15u: { return select(0.0, 1.0, xv >= s); }    // maximum with scalar
        case 16u: { return select(0.0, 1.0, xv <= s); }    // minimum with scalar
        case 23u: { return cos(xv); }                      // sin
        case 24u: { return -sin(xv); }                     // cos
        case 25u: { return 2.0 * xv; }                     // square
        case 26u: { return -yv * yv; }                     // reciprocal
        default: { return 0.0; }                           // comparisons: no gradient
    }
}

fn grad4(x4: vec4<f32>, y4: vec4<f32>, dy4: vec4<f32>, s: f32) -> vec4<f32> {
    let d = vec4<f32>(
        derivative(x4.x, y4.x, s),
        derivative(x4.y, y4.y, s),
        derivative(x4.z, y4.z, s),
        derivative(x4.w, y4.w, s),
    );
    return dy4 * d;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let numel = opaque(p.numel);
    let s = opaque_f32(p.scalar);
    let whole = numel / 4u;
    let span = row_span(gid.x, nwg.x, whole);
    for (var i = span.x; i < span.y; i += 8u) {
        dx[i] = grad4(x[i], y[i], dy[i], s);
    }
    // The numel % 4 elements past the last whole vec4, one by one.
    if (gid.x == 0u) {
        for (var i = whole * 4u; i < numel; i++) {
            let v = i / 4u;
            let k = i % 4u;
            dx[v][k] = dy[v][k] * derivative(x[v][k], y[v][k], s);
        }
    }
}
