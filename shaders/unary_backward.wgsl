// Backward of the elementwise unary and tensor-scalar ops:
// dx[i] = dy[i] * f'(x[i]), written with the forward output y where that is
// cheaper or more accurate (exp, sigmoid, tanh, sqrt, reciprocal).
//
// x, y, dy and dx are dense and of one shape. OP numbers are those of
// unary.wgsl (`UnaryOp` in crates/tensor/src/ops/unary.rs).

const WORKGROUP_SIZE: u32 = 64u;
override OP: u32 = 0u;

struct Params {
    numel: u32,
    scalar: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

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

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= p.numel) {
        return;
    }
    dx[i] = dy[i] * derivative(x[i], y[i], p.scalar);
}
