// The input gradient of a 2-D convolution (NCHW, dilation 1) for narrow
// images, one whole dx row per invocation:
//
//   dx[n, ci, iy, ix] = sum_{co, ky, kx} dy[n, co, oy, ox] * w[co, ci, ky, kx]
//                       over oy*sh - ph + ky = iy and ox*sw - pw + kx = ix.
//
// An invocation owns dx[n, ci0 .. ci0 + CB, iy, 0 .. WC] in registers. For
// every output channel co and every kernel row ky that reaches iy, it loads
// the dy row (n, co, oy) once and scatters it into its accumulators: each dy
// value meets KWC taps and CB channels, all at indices that are constants
// once the shape constants below are in place (the tap loops are unrolled
// by hand), so no tap that lands in the padding is computed at all.
//
// Why (lavapipe): every storage load is a loop over the 8 lanes, while a
// multiply-add of all 8 is one instruction, so the work per loaded value is
// what counts. The general kernel (conv.wgsl) gathers one dy value per tap
// and pixel; conv2d_rows, at stride 1, convolves dy padded by k - 1 - p and
// for LeNet's conv2 (dy 8 x 8 -> dx 12 x 12) spends more than half its
// multiply-adds on the zeros around dy. Here each dy value serves up to
// KWC * CB multiply-adds and padding costs nothing.
//
// The 8 lanes of a workgroup are 8 images of the batch at the same (group,
// channel block, row): the rows they read have the same (oy, ky), so the
// ky loop has the same bounds in every lane and runs no masked iteration,
// and the lanes multiply by the same weights (shared by subgroupShuffle in
// `conv_input_rows.subgroup.wgsl`).

// The same 24 words as conv.wgsl's Params (ConvGeometry::params).
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
    splits: u32,
    chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx4: array<vec4<f32>>;

// Shape constants (the host checks them): input channels per invocation
// (4 or 8), dy and dx row widths (up to 16), kernel width (up to 8), column
// stride and padding.
override CB: u32 = 8u;
override OWC: u32 = 8u;
override WC: u32 = 12u;
override KWC: u32 = 5u;
override SWC: u32 = 1u;
override PWC: u32 = 0u;
// dy rows are whole, 16-byte aligned vec4s (OWC % 4 == 0, dy_offset % 4
// == 0); dx rows too (WC % 4 == 0; dx starts at 0).
override VEC_DY: bool = false;
override VEC_DX: bool = false;

const LANES: u32 = 8u;

// acc_lo[ix] holds channels ci0 .. ci0 + 3 at column ix, acc_hi the next 4
// (CB == 8). Indexed only by constants, so they stay in registers.
var<private> acc_lo: array<vec4<f32>, 16>;
var<private> acc_hi: array<vec4<f32>, 16>;
// The dy row being scattered, and the weights w[co, ci0 + c, ky, kx] of
// the channels as vec4s per kx.
var<private> row: array<f32, 16>;
var<private> w_lo: array<vec4<f32>, 8>;
var<private> w_hi: array<vec4<f32>, 8>;

// NOTE: lavapipe specialises a shader on the uniform values that bound its
// loops and recompiles it at every dispatch (see matmul.wgsl); a bound that
// also depends on a buffer's length is not recognised as uniform.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&dy) == 0u);
}

// dy value ox meets tap kx at column ox * SWC - PWC + kx, if inside dx.
fn tap(ox: u32, kx: u32) {
    if (ox < OWC && kx < KWC) {
        let ix = i32(ox * SWC + kx) - i32(PWC);
        if (ix >= 0 && ix < i32(WC)) {
            acc_lo[ix] += row[ox] * w_lo[kx];
            if (CB > 4u) {
                acc_hi[ix] += row[ox] * w_hi[kx];
            }
        }
    }
}

fn scatter_value(ox: u32) {
    tap(ox, 0u);
    tap(ox, 1u);
    tap(ox, 2u);
    tap(ox, 3u);
    tap(ox, 4u);
    tap(ox, 5u);
    tap(ox, 6u);
    tap(ox, 7u);
}

fn scatter_row() {
    scatter_value(0u);
    scatter_value(1u);
    scatter_value(2u);
    scatter_value(3u);
    scatter_value(4u);
    scatter_value(5u);
    scatter_value(6u);
    scatter_value(7u);
    scatter_value(8u);
    scatter_value(9u);
    scatter_value(10u);
    scatter_value(11u);
    scatter_value(12u);
    scatter_value(13u);
    scatter_value(14u);
    scatter_value(15u);
}

// Values 4 q .. 4 q + 3 of the dy row starting at `at`.
fn load_quad(q: u32, at: u32) {
    if (4u * q >= OWC) {
        return;
    }
    if (VEC_DY) {
        let v = dy4[at / 4u + q];
        row[4u * q] = v.x;
        row[4u * q + 1u] = v.y;
        row[4u * q + 2u] = v.z;
        row[4u * q + 3u] = v.w;
        return;
    }
    row[4u * q] = dy[at + 4u * q];
    if (4u * q + 1u < OWC) { row[4u * q + 1u] = dy[at + 4u * q + 1u]; }
    if (4u * q + 2u < OWC) { row[4u * q + 2u] = dy[at + 4u * q + 2u]; }
    if (4u * q + 3u < OWC) { row[4u * q + 3u] = dy[at + 4u * q + 3u]; }
}

fn load_row(at: u32) {
    load_quad(0u, at);
    load_quad(1u, at);
    load_quad(2u, at);
    load_quad(3u, at);
}

// The weights of tap kx for the block's channels; `at` is w[co, ci0, ky, 0],
// `step` one channel further, `last` the block's last real channel.
// @swap weights
fn load_tap(kx: u32, at: u32, step: u32, last: u32, lane: u32) {
    if (kx >= KWC) {
        return;
    }
    let c = min(vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * step + at + kx;
    w_lo[kx] = vec4<f32>(w[c.x], w[c.y], w[c.z], w[c.w]);
    if (CB > 4u) {
        let d = min(vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(last)) * step + at + kx;
        w_hi[kx] = vec4<f32>(w[d.x], w[d.y], w[d.z], w[d.w]);
    }
}
// @end

fn load_taps(at: u32, step: u32, last: u32, lane: u32) {
    load_tap(0u, at, step, last, lane);
    load_tap(1u, at, step, last, lane);
    load_tap(2u, at, step, last, lane);
    load_tap(3u, at, step, last, lane);
    load_tap(4u, at, step, last, lane);
    load_tap(5u, at, step, last, lane);
    load_tap(6u, at, step, last, lane);
    load_tap(7u, at, step, last, lane);
}

// Channel c of the block: its dx row from `at` (when `ok`).
fn store_channel(c: u32, at: u32, ok: bool) {
    if (c >= CB || !ok) {
        return;
    }
    if (VEC_DX) {
        store_quad(c, 0u, at);
        store_quad(c, 1u, at);
        store_quad(c, 2u, at);
        store_quad(c, 3u, at);
        return;
    }
    store_value(c, 0u, at);
    store_value(c, 1u, at);
    store_value(c, 2u, at);
    store_value(c, 3u, at);
    store_value(c, 4u, at);
    store_value(c, 5u, at);
    store_value(c, 6u, at);
    store_value(c, 7u, at);
    store_value(c, 8u, at);
    store_value(c, 9u, at);
    store_value(c, 10u, at);
    store_value(c, 11u, at);
    store_value(c, 12u, at);
    store_value(c, 13u, at);
    store_value(c, 14u, at);
    store_value(c, 15u, at);
}

fn acc_at(c: u32, ix: u32) -> f32 {
    if (c < 4u) {
        return acc_lo[ix][c];
    }
    return acc_hi[ix][c - 4u];
}

fn store_value(c: u32, ix: u32, at: u32) {
    if (ix < WC) {
        dx[at + ix] = acc_at(c, ix);
    }
}

fn store_quad(c: u32, q: u32, at: u32) {
    if (4u * q < WC) {
        let i = 4u * q;
        dx4[at / 4u + q] = vec4<f32>(acc_at(c, i), acc_at(c, i + 1u), acc_at(c, i + 2u), acc_at(c, i + 3u));
    }
}

// Workgroups: (group, block of CB input channels, dx row iy, block of 8
// images), images fastest; lane l is image 8 * block + l.
@compute @workgroup_size(LANES)
// @swap entry
fn conv2d_backward_input_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lid.x;
// @end
    let wg_index = wid.x + wid.y * nwg.x;
    let n_blocks = (p.n + LANES - 1u) / LANES;
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let c_blocks = (cin_g + CB - 1u) / CB;
    let nb = wg_index % n_blocks;
    var rest = wg_index / n_blocks;
    let iy = rest % p.h;
    rest /= p.h;
    let cb = rest % c_blocks;
    let g = rest / c_blocks;
    // Whole workgroups past the end (a 2-D grid's last row) leave together.
    if (g >= p.groups) {
        return;
    }
    let n_raw = nb * LANES + lid.x;
    let n = min(n_raw, p.n - 1u);
    let ci0 = cb * CB;
    let last = min(CB, cin_g - ci0) - 1u;

    // (Private variables start at zero: the accumulators need no fill.)

    // Kernel rows ky with oy * sh + ky = iy + ph and 0 <= oy < oh: every
    // sh-th from the first, the same in every lane.
    let sh = opaque(p.stride_h);
    let top = iy + p.pad_h;
    let reach = (opaque(p.oh) - 1u) * sh;
    let ky_first = select(top % sh, top - reach, top > reach);
    let ky_end = min(opaque(p.kh), top + 1u);
    let kk = p.kh * p.kw;
    let ohw = p.oh * p.ow;
    for (var i = 0u; i < opaque(cout_g); i++) {
        let co = g * cout_g + i;
        let plane = p.dy_offset + (n * p.c_out + co) * ohw;
        let filters = p.w_offset + (co * cin_g + ci0) * kk;
        for (var ky = ky_first; ky < ky_end; ky += sh) {
            let oy = (top - ky) / sh;
            load_row(plane + oy * p.ow);
            load_taps(filters + ky * p.kw, kk, last, lane);
            scatter_row();
        }
    }

    let plane = ((n * p.c_in + g * cin_g + ci0) * p.h + iy) * p.w;
    let hw = p.h * p.w;
    let live = n_raw < p.n;
    store_channel(0u, plane, live);
    store_channel(1u, plane + hw, live && last >= 1u);
    store_channel(2u, plane + 2u * hw, live && last >= 2u);
    store_channel(3u, plane + 3u * hw, live && last >= 3u);
    store_channel(4u, plane + 4u * hw, live && last >= 4u);
    store_channel(5u, plane + 5u * hw, live && last >= 5u);
    store_channel(6u, plane + 6u * hw, live && last >= 6u);
    store_channel(7u, plane + 7u * hw, live && last >= 7u);
}
