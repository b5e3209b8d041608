// Elementwise binary ops with NumPy/PyTorch broadcasting: z[i] = f(a[...], b[...]).
//
// a and b are strided views already broadcast to z's shape (stride 0 on
// broadcast dims); z is dense. OP numbers must match `BinaryOp` in
// crates/tensor/src/ops/binary.rs.

const WORKGROUP_SIZE: u32 = 64u;
override OP: u32 = 0u;

struct Params {
    shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
    numel: u32,
    rank: u32,
    a_offset: u32,
    b_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
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
    let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
    if (i >= p.numel) {
        return;
    }
    var rem = i;
    var ia = p.a_offset;
    var ib = p.b_offset;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let n = at(p.shape, u32(d));
        let c = rem % n;
        rem /= n;
        ia += c * at(p.a_strides, u32(d));
        ib += c * at(p.b_strides, u32(d));
    }
    z[i] = apply(a[ia], b[ib]);
}
