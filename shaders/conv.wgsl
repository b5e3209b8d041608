// 2-D convolution, NCHW, with stride, zero padding, dilation and groups.
//
//   conv2d:                y[n, oc, oy, ox] = b[oc] + sum_{ci, ky, kx}
//                              x[n, g*cin_g + ci, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw]
//                              * w[oc, ci, ky, kx]          (g = oc / cout_g)
//   conv2d_backward_input: dx = the same sum read backwards: each dx element
//                          gathers the dy elements whose windows covered it.
//   conv2d_backward_weight: dw[oc, ci, ky, kx] = sum_{n, oy, ox} dy[n, oc, oy, ox] * x[...]
//   conv2d_backward_bias:  db[oc] = sum_{n, oy, ox} dy[n, oc, oy, ox]
//
// On lavapipe a workgroup barrier costs far more than the arithmetic it
// saves, so there is no shared memory here: each invocation computes a
// TILE x TILE block in registers (4 channels x 4 pixels, or 4 channels x 4
// kernel columns for dw), loading 8 values for 16 multiply-adds. This is
// the direct form; an implicit GEMM (the im2col matrix never stored) is the
// faster one for wide layers. Every block lies inside one group;
// lanes past the end of a dimension compute on clamped indices and are
// masked when storing. No float atomics exist in WGSL, so every output is
// owned by exactly one invocation.
//
// All tensors are dense row-major; `*_offset` is where each starts in its
// buffer. Each buffer has its own binding number so that no two entry points
// give one binding two meanings.

const WORKGROUP_SIZE: u32 = 64u;
const TILE: u32 = 4u;

struct Params {
    n: u32,
    c_in: u32,
    h: u32,
    w: u32,
    c_out: u32,
    oh: u32,
    ow: u32,
    groups: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    pad_h: u32,
    pad_w: u32,
    dil_h: u32,
    dil_w: u32,
    x_offset: u32,
    w_offset: u32,
    b_offset: u32,
    dy_offset: u32,
    has_bias: u32,
    threads: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;
@group(0) @binding(8) var<storage, read_write> db: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// x[row + ix], or 0 where ix falls in the zero padding.
fn x_at(row: u32, ix: i32) -> f32 {
    let inside = ix >= 0 && ix < i32(p.w);
    return select(0.0, x[row + u32(clamp(ix, 0, i32(p.w) - 1))], inside);
}

// Threads: (n, group, block of TILE output channels, oy, block of TILE ox).
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    var t = linear_index(gid, nwg);
    if (t >= p.threads) {
        return;
    }
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let owb = (p.ow + TILE - 1u) / TILE;
    let ocb = (cout_g + TILE - 1u) / TILE;
    let ox0 = (t % owb) * TILE;
    t /= owb;
    let oy = t % p.oh;
    t /= p.oh;
    let ob = t % ocb;
    t /= ocb;
    let g = t % p.groups;
    let n = t / p.groups;

    let oc0 = g * cout_g + ob * TILE;
    let n_oc = min(TILE, cout_g - ob * TILE);
    let n_ox = min(TILE, p.ow - ox0);
    // Start of each channel's filter; lanes past n_oc repeat the last one.
    let fsize = cin_g * p.kh * p.kw;
    let w0 = p.w_offset + oc0 * fsize;
    let w1 = w0 + min(1u, n_oc - 1u) * fsize;
    let w2 = w0 + min(2u, n_oc - 1u) * fsize;
    let w3 = w0 + min(3u, n_oc - 1u) * fsize;

    // acc_k holds output channel oc0 + k at the TILE pixels ox0 .. ox0 + 3.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let iy0 = i32(oy * p.stride_h) - i32(p.pad_h);
    let ix0 = i32(ox0 * p.stride_w) - i32(p.pad_w);
    let sw = i32(p.stride_w);
    for (var ci = 0u; ci < cin_g; ci++) {
        let plane = (n * p.c_in + g * cin_g + ci) * p.h;
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = iy0 + i32(ky * p.dil_h);
            // A padding row contributes nothing to any of the TILE pixels.
            if (iy < 0 || iy >= i32(p.h)) {
                continue;
            }
            let row = p.x_offset + (plane + u32(iy)) * p.w;
            let wk = (ci * p.kh + ky) * p.kw;
            for (var kx = 0u; kx < p.kw; kx++) {
                let ix = ix0 + i32(kx * p.dil_w);
                let xv = vec4<f32>(x_at(row, ix), x_at(row, ix + sw), x_at(row, ix + 2 * sw), x_at(row, ix + 3 * sw));
                let wi = wk + kx;
                acc0 += w[w0 + wi] * xv;
                acc1 += w[w1 + wi] * xv;
                acc2 += w[w2 + wi] * xv;
                acc3 += w[w3 + wi] * xv;
            }
        }
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var k = 0u; k < n_oc; k++) {
        let oc = oc0 + k;
        let bias = select(0.0, b[p.b_offset + oc], p.has_bias != 0u);
        let out = ((n * p.c_out + oc) * p.oh + oy) * p.ow + ox0;
        for (var j = 0u; j < n_ox; j++) {
            y[out + j] = accs[k][j] + bias;
        }
    }
}

// Threads: (n, group, block of TILE input channels, iy, column class r,
// block of TILE columns of that class). The columns of a thread are
// ix0 + j*sw (j < TILE), all congruent mod sw, so one test per tap decides
// for all of them whether an output column hits them: no per-lane integer
// division, which lavapipe's SIMD code cannot vectorise.
// dx[n, ci, iy, ix] = sum over oc of the group, ky, kx with
// iy = oy*sh - ph + ky*dh and ix = ox*sw - pw + kx*dw for some in-range
// (oy, ox) of dy[n, oc, oy, ox] * w[oc, ci, ky, kx].
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    var t = linear_index(gid, nwg);
    if (t >= p.threads) {
        return;
    }
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let sw = p.stride_w;
    let per_class = (((p.w + sw - 1u) / sw) + TILE - 1u) / TILE;
    let icb = (cin_g + TILE - 1u) / TILE;
    let blk = t % per_class;
    t /= per_class;
    let cls = t % sw;
    t /= sw;
    let iy = t % p.h;
    t /= p.h;
    let cb = t % icb;
    t /= icb;
    let g = t % p.groups;
    let n = t / p.groups;

    let ix0 = cls + blk * TILE * sw;
    let ci0 = cb * TILE; // within the group
    let n_ci = min(TILE, cin_g - ci0);
    let kk = p.kh * p.kw;
    // Offsets of w[oc, ci0 + k, 0, 0] from w[oc, ci0, 0, 0]; lanes past n_ci repeat the last.
    let c1 = min(1u, n_ci - 1u) * kk;
    let c2 = min(2u, n_ci - 1u) * kk;
    let c3 = min(3u, n_ci - 1u) * kk;
    let w_oc = cin_g * kk; // from one output channel's filters to the next
    let dy_oc = p.oh * p.ow;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let sh = i32(p.stride_h);
    let isw = i32(sw);
    // ix0 + pw - kx*dw = q*sw + r with 0 <= r < sw, stepped along kx.
    let q_step = i32(p.dil_w / sw);
    let r_step = i32(p.dil_w % sw);
    let ow = i32(p.ow);
    for (var ky = 0u; ky < p.kh; ky++) {
        let ty = i32(iy + p.pad_h) - i32(ky * p.dil_h);
        let oy = ty / sh;
        if (ty < 0 || ty % sh != 0 || oy >= i32(p.oh)) {
            continue;
        }
        let row0 = p.dy_offset + ((n * p.c_out + g * cout_g) * p.oh + u32(oy)) * p.ow;
        let w0 = p.w_offset + ((g * cout_g) * cin_g + ci0) * kk + ky * p.kw;
        var q = i32((ix0 + p.pad_w) / sw);
        var r = i32((ix0 + p.pad_w) % sw);
        for (var kx = 0u; kx < p.kw; kx++) {
            if (kx > 0u) {
                q -= q_step;
                r -= r_step;
                if (r < 0) {
                    r += isw;
                    q -= 1;
                }
            }
            // Column j is hit by output column q + j when r == 0.
            if (r != 0 || q + 3 < 0 || q >= ow) {
                continue;
            }
            let ox = vec4<i32>(q, q + 1, q + 2, q + 3);
            let hit = (ox >= vec4<i32>(0)) & (ox < vec4<i32>(ow));
            let at = vec4<u32>(clamp(ox, vec4<i32>(0), vec4<i32>(ow - 1)));
            var row = row0;
            var wi = w0 + kx;
            for (var j = 0u; j < cout_g; j++) {
                let dv = select(vec4<f32>(0.0), vec4<f32>(dy[row + at.x], dy[row + at.y], dy[row + at.z], dy[row + at.w]), hit);
                acc0 += w[wi] * dv;
                acc1 += w[wi + c1] * dv;
                acc2 += w[wi + c2] * dv;
                acc3 += w[wi + c3] * dv;
                row += dy_oc;
                wi += w_oc;
            }
        }
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var k = 0u; k < n_ci; k++) {
        let out = ((n * p.c_in + g * cin_g + ci0 + k) * p.h + iy) * p.w;
        for (var i = 0u; i < TILE; i++) {
            let ix = ix0 + i * sw;
            if (ix < p.w) {
                dx[out + ix] = accs[k][i];
            }
        }
    }
}

// Threads: (group, block of TILE output channels, ci, ky, block of TILE kx).
// Each invocation reduces over all of n, oy, ox for its 16 weights.
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_backward_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    var t = linear_index(gid, nwg);
    if (t >= p.threads) {
        return;
    }
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let kwb = (p.kw + TILE - 1u) / TILE;
    let ocb = (cout_g + TILE - 1u) / TILE;
    let kx0 = (t % kwb) * TILE;
    t /= kwb;
    let ky = t % p.kh;
    t /= p.kh;
    let ci = t % cin_g;
    t /= cin_g;
    let ob = t % ocb;
    let g = t / ocb;

    let oc0 = g * cout_g + ob * TILE;
    let n_oc = min(TILE, cout_g - ob * TILE);
    let n_kx = min(TILE, p.kw - kx0);
    // Offsets of dy channel oc0 + k from channel oc0; lanes past n_oc repeat the last.
    let plane = p.oh * p.ow;
    let d1 = min(1u, n_oc - 1u) * plane;
    let d2 = min(2u, n_oc - 1u) * plane;
    let d3 = min(3u, n_oc - 1u) * plane;

    // Only output rows whose input row iy = oy*sh - ph + ky*dh is inside x
    // contribute: oy in [oy_lo, oy_hi).
    let sh = i32(p.stride_h);
    let top = i32(p.pad_h) - i32(ky * p.dil_h); // iy = oy*sh - top
    // (Integer division truncates toward zero, hence the sign tests.)
    let oy_lo = u32(max((top + sh - 1) / sh, 0));
    let last = i32(p.h) - 1 + top;
    let oy_hi = select(0u, min(u32(last / sh) + 1u, p.oh), last >= 0);
    let sw = i32(p.stride_w);
    let dwx = i32(p.dil_w);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var n = 0u; n < p.n; n++) {
        let xplane = p.x_offset + (n * p.c_in + g * cin_g + ci) * p.h;
        let dplane = p.dy_offset + (n * p.c_out + oc0) * plane;
        for (var oy = oy_lo; oy < oy_hi; oy++) {
            let row = (xplane + u32(i32(oy) * sh - top)) * p.w;
            let drow = dplane + oy * p.ow;
            for (var ox = 0u; ox < p.ow; ox++) {
                let ix = i32(ox) * sw - i32(p.pad_w) + i32(kx0) * dwx;
                let xv = vec4<f32>(x_at(row, ix), x_at(row, ix + dwx), x_at(row, ix + 2 * dwx), x_at(row, ix + 3 * dwx));
                let di = drow + ox;
                acc0 += dy[di] * xv;
                acc1 += dy[di + d1] * xv;
                acc2 += dy[di + d2] * xv;
                acc3 += dy[di + d3] * xv;
            }
        }
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var k = 0u; k < n_oc; k++) {
        let out = (((oc0 + k) * cin_g + ci) * p.kh + ky) * p.kw + kx0;
        for (var i = 0u; i < n_kx; i++) {
            dw[out + i] = accs[k][i];
        }
    }
}

// One invocation per output channel; dy is small next to the convolutions
// that produce it, so a serial sum per channel is enough.
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_backward_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let oc = linear_index(gid, nwg);
    if (oc >= p.threads) {
        return;
    }
    let plane = p.oh * p.ow;
    var acc = 0.0;
    for (var n = 0u; n < p.n; n++) {
        let start = p.dy_offset + (n * p.c_out + oc) * plane;
        for (var i = 0u; i < plane; i++) {
            acc += dy[start + i];
        }
    }
    db[oc] = acc;
}
