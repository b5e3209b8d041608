// The weight gradient of a 2-D convolution (NCHW, dilation 1) for layers
// with few input channels per group, a network's first layer above all (1
// for MNIST, 3 for RGB), with every tap of the kernel in registers:
//
//   conv2d_backward_weight_taps:  dw[co, ci, ky, kx] = sum_{n, oy, ox}
//       dy[n, co, oy, ox] * x[n, ci, oy*sh - ph + ky, ox*sw - pw + kx]
//
// With MASK, dy is the gradient of y = relu(conv2d(x) + bias), and the
// kernel takes ReLU's backward in the same pass (dy where y > 0) and sums
// the bias gradient too, db[co] = sum_{n, oy, ox} of that masked dy: a
// first layer's input gradient is not needed, so nothing else reads the
// masked gradient, and the pass that wrote it for this kernel is saved.
//
// The 8 lanes of a workgroup are output channels: lane l owns channel l of
// the block and, with SLOTS == 2, channel l + 8. A workgroup takes one
// input channel and a chunk of the batch. For each (image, oy) a lane
// loads its channels' dy rows once and applies them to the x row of every
// kernel row, so each dy value it loads meets KHC * KWC taps. The x rows
// are the same in all lanes: in `conv_weight_taps.subgroup.wgsl` each lane
// loads a quad of the row and passes it on by subgroupShuffle.
//
// Why: `conv_whole_rows.wgsl`'s weight gradient makes its lanes input
// channels, and a first layer has one, which left such layers on kernels
// that load far more per multiply-add (every storage load is a loop over
// the 8 lanes on lavapipe; a multiply-add of all 8 is one instruction).
//
// The accumulators are vec4s over 4 adjacent output columns (acc[tap] +=
// dy[4q .. 4q + 3] * the x values those columns meet), added up at the
// end. The code, unrolled by hand over (ky, column quad, kx), is then a
// quarter of what scalars would take: lavapipe's compiler works through
// all of it before the shape constants remove what is unused.

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
// x (at x_offset) and dy (at dy_offset), each also as vec4s and vec2s.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dy2: array<vec2<f32>>;
// Each chunk's sums, `[splits, c_out, cin_g, kh, kw]`, which
// conv2d_backward_weight_sum adds.
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
// With MASK: y (dense like dy, at y_offset, which travels in Params'
// b_offset word), also as vec4s and vec2s, and each chunk's bias sums,
// `[splits, c_out]`. Without, the host binds dy and dw here.
@group(0) @binding(7) var<storage, read> y: array<f32>;
@group(0) @binding(8) var<storage, read> y4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> y2: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> db: array<f32>;

// Shape constants (the host checks them): output channels per lane (1 or
// 2), kernel height and width (up to MAX_K), column stride and padding, x
// and dy row widths (up to 32).
override SLOTS: u32 = 1u;
override KHC: u32 = 3u;
override KWC: u32 = 3u;
override SWC: u32 = 1u;
override PWC: u32 = 0u;
override SRC_W: u32 = 28u;
override DST_W: u32 = 26u;
// x rows are whole, 16-byte aligned vec4s (SRC_W % 4 == 0, x_offset too).
override VEC_SRC: bool = false;
// dy rows are whole aligned vec4s (DST_W % 4 == 0, dy_offset too), or
// whole pairs on 8 bytes (DST_W even, dy_offset too).
override VEC_DST: bool = false;
override VEC2_DST: bool = false;
// dy comes through a ReLU whose output is y (see the top); VEC_DST and
// VEC2_DST then hold for y's offset too.
override MASK: bool = false;

const LANES: u32 = 8u;
const MAX_K: u32 = 5u;
// Where column 0 of an x row sits in `xr`: the columns left of it (up to
// PAD, the widest padding the host lets through) read as 0.
const PAD: u32 = 8u;

// acc[(slot * MAX_K + ky) * MAX_K + kx] holds tap (ky, kx) of the lane's
// channel `slot`, one component per column of a quad. Indexed only by
// constants, so they stay in registers (or their spill slots).
var<private> acc: array<vec4<f32>, 50>;
// The lane's dy rows at the current (image, oy) as quads, 0 past DST_W.
var<private> dq0: array<vec4<f32>, 8>;
var<private> dq1: array<vec4<f32>, 8>;
// The x row being applied, column c at PAD + c; the entries left of the
// row are never written and stay 0, those right of it are written 0.
var<private> xr: array<f32, 64>;
// With MASK: the sum of the lane's masked dy quads, per slot.
var<private> bias_acc: array<vec4<f32>, 2>;

// NOTE: lavapipe specialises a shader on the uniform values that bound its
// loops and recompiles it at every dispatch (see matmul.wgsl); a bound that
// also depends on a buffer's length is not recognised as uniform.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&x) == 0u);
}

// Value, pair and quad i of dy, or with `from_y` of y. Every caller passes
// a constant `from_y`, so each call loads one buffer (WGSL cannot pass a
// storage array to a function).
fn row1(i: u32, from_y: bool) -> f32 {
    if (from_y) {
        return y[i];
    }
    return dy[i];
}

fn row2(i: u32, from_y: bool) -> vec2<f32> {
    if (from_y) {
        return y2[i];
    }
    return dy2[i];
}

fn row4(i: u32, from_y: bool) -> vec4<f32> {
    if (from_y) {
        return y4[i];
    }
    return dy4[i];
}

// Quad q of the dy row (or y's) of one channel at `at`, 0 past DST_W.
// (tap() also masks those columns' x values: each mask keeps a non-finite
// value next to the row out of the sums, dy's here and x's there.)
fn row_quad(q: u32, at: u32, from_y: bool) -> vec4<f32> {
    let i = 4u * q;
    if (VEC_DST) {
        return row4(at / 4u + q, from_y);
    }
    if (VEC2_DST) {
        let lo = row2(at / 2u + 2u * q, from_y);
        if (i + 2u >= DST_W) {
            return vec4<f32>(lo, 0.0, 0.0);
        }
        return vec4<f32>(lo, row2(at / 2u + 2u * q + 1u, from_y));
    }
    var v = vec4<f32>(row1(at + i, from_y), 0.0, 0.0, 0.0);
    if (i + 1u < DST_W) { v.y = row1(at + i + 1u, from_y); }
    if (i + 2u < DST_W) { v.z = row1(at + i + 2u, from_y); }
    if (i + 3u < DST_W) { v.w = row1(at + i + 3u, from_y); }
    return v;
}

// Quad q of the gradient the taps take at dy's `at`: dy itself, or with
// MASK dy where y > 0, added to the bias sum of `slot`.
fn grad_quad(q: u32, at: u32, slot: u32) -> vec4<f32> {
    let d = row_quad(q, at, false);
    if (!MASK) {
        return d;
    }
    let v = row_quad(q, at - p.dy_offset + p.b_offset, true);
    let g = select(vec4<f32>(0.0), d, v > vec4<f32>(0.0));
    bias_acc[slot] += g;
    return g;
}

fn load_dy_quad(q: u32, at0: u32, at1: u32) {
    dq0[q] = grad_quad(q, at0, 0u);
    if (SLOTS > 1u) {
        dq1[q] = grad_quad(q, at1, 1u);
    }
}

// The unrolled calls are guarded by conditions on the shape constants at
// the call site (and the callees do not test those bounds again), so that
// the host cuts those past the shape before the driver sees the kernel
// (see `taps_of_column` in conv_whole_rows.wgsl).
fn load_dy_rows(at0: u32, at1: u32) {
    load_dy_quad(0u, at0, at1);
    if (DST_W > 4u) { load_dy_quad(1u, at0, at1); }
    if (DST_W > 8u) { load_dy_quad(2u, at0, at1); }
    if (DST_W > 12u) { load_dy_quad(3u, at0, at1); }
    if (DST_W > 16u) { load_dy_quad(4u, at0, at1); }
    if (DST_W > 20u) { load_dy_quad(5u, at0, at1); }
    if (DST_W > 24u) { load_dy_quad(6u, at0, at1); }
    if (DST_W > 28u) { load_dy_quad(7u, at0, at1); }
}

// Quad q of the x row at `at` (columns past SRC_W read as 0).
fn x_quad(q: u32, at: u32) -> vec4<f32> {
    let i = 4u * q;
    if (VEC_SRC) {
        return x4[at / 4u + q];
    }
    var v = vec4<f32>(x[at + i], 0.0, 0.0, 0.0);
    if (i + 1u < SRC_W) { v.y = x[at + i + 1u]; }
    if (i + 2u < SRC_W) { v.z = x[at + i + 2u]; }
    if (i + 3u < SRC_W) { v.w = x[at + i + 3u]; }
    return v;
}

// Quad q of the x row into xr; x_quad's zeros past SRC_W keep the
// padding right of the row 0.
fn put_x_quad(q: u32, v: vec4<f32>) {
    let i = PAD + 4u * q;
    xr[i] = v.x;
    xr[i + 1u] = v.y;
    xr[i + 2u] = v.z;
    xr[i + 3u] = v.w;
}

// The x row at `at` into xr. Without subgroups every lane loads all of it.
// @swap x-row
fn load_x_quad(q: u32, at: u32, lane: u32) {
    put_x_quad(q, x_quad(q, at));
}

fn load_x_row(at: u32, lane: u32) {
    load_x_quad(0u, at, lane);
    if (SRC_W > 4u) { load_x_quad(1u, at, lane); }
    if (SRC_W > 8u) { load_x_quad(2u, at, lane); }
    if (SRC_W > 12u) { load_x_quad(3u, at, lane); }
    if (SRC_W > 16u) { load_x_quad(4u, at, lane); }
    if (SRC_W > 20u) { load_x_quad(5u, at, lane); }
    if (SRC_W > 24u) { load_x_quad(6u, at, lane); }
    if (SRC_W > 28u) { load_x_quad(7u, at, lane); }
}
// @end

// Tap (ky, kx) over column quad q: output column 4q + j meets x column
// (4q + j) * SWC - PWC + kx. Columns past DST_W meet nothing (their dy is
// 0, and their x is masked too, so that an inf there stays out).
fn tap(ky: u32, q: u32, kx: u32) {
    let c = 4u * q;
    let at = PAD + c * SWC + kx - PWC;
    let live = vec4<u32>(c, c + 1u, c + 2u, c + 3u) < vec4<u32>(DST_W);
    let v = vec4<f32>(xr[at], xr[at + SWC], xr[at + 2u * SWC], xr[at + 3u * SWC]);
    let win = select(vec4<f32>(0.0), v, live);
    let i = ky * MAX_K + kx;
    acc[i] += dq0[q] * win;
    if (SLOTS > 1u) {
        acc[MAX_K * MAX_K + i] += dq1[q] * win;
    }
}

fn taps_of_quad(ky: u32, q: u32) {
    tap(ky, q, 0u);
    if (KWC > 1u) { tap(ky, q, 1u); }
    if (KWC > 2u) { tap(ky, q, 2u); }
    if (KWC > 3u) { tap(ky, q, 3u); }
    if (KWC > 4u) { tap(ky, q, 4u); }
}

fn apply_x_row(ky: u32) {
    taps_of_quad(ky, 0u);
    if (DST_W > 4u) { taps_of_quad(ky, 1u); }
    if (DST_W > 8u) { taps_of_quad(ky, 2u); }
    if (DST_W > 12u) { taps_of_quad(ky, 3u); }
    if (DST_W > 16u) { taps_of_quad(ky, 4u); }
    if (DST_W > 20u) { taps_of_quad(ky, 5u); }
    if (DST_W > 24u) { taps_of_quad(ky, 6u); }
    if (DST_W > 28u) { taps_of_quad(ky, 7u); }
}

// Kernel row ky at output row oy: x row oy * sh - ph + ky, if inside x
// (the same in every lane, so the subgroup variant's shuffles run in all).
fn kernel_row(ky: u32, top: u32, plane: u32, lane: u32) {
    if (top + ky < p.pad_h || top + ky >= p.h + p.pad_h) {
        return;
    }
    load_x_row(plane + (top + ky - p.pad_h) * p.w, lane);
    apply_x_row(ky);
}

// Tap (ky, kx) of the lane's channel `slot`, summed over its quad, to at +
// ky * kw + kx.
fn store_tap(slot: u32, ky: u32, kx: u32, at: u32) {
    let a = acc[(slot * MAX_K + ky) * MAX_K + kx];
    dw[at + ky * KWC + kx] = a.x + a.y + a.z + a.w;
}

fn store_taps_of_row(slot: u32, ky: u32, at: u32) {
    store_tap(slot, ky, 0u, at);
    if (KWC > 1u) { store_tap(slot, ky, 1u, at); }
    if (KWC > 2u) { store_tap(slot, ky, 2u, at); }
    if (KWC > 3u) { store_tap(slot, ky, 3u, at); }
    if (KWC > 4u) { store_tap(slot, ky, 4u, at); }
}

fn store_taps(slot: u32, at: u32) {
    store_taps_of_row(slot, 0u, at);
    if (KHC > 1u) { store_taps_of_row(slot, 1u, at); }
    if (KHC > 2u) { store_taps_of_row(slot, 2u, at); }
    if (KHC > 3u) { store_taps_of_row(slot, 3u, at); }
    if (KHC > 4u) { store_taps_of_row(slot, 4u, at); }
}

@compute @workgroup_size(LANES)
// @swap entry
fn conv2d_backward_weight_taps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lid.x;
// @end
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    // Workgroups: (chunk, group, input channel, block of 8 * SLOTS output
    // channels), output channels fastest.
    let block = LANES * SLOTS;
    let co_blocks = (cout_g + block - 1u) / block;
    var rest = wid.x + wid.y * nwg.x;
    let cob = rest % co_blocks;
    rest /= co_blocks;
    let ci = rest % cin_g;
    rest /= cin_g;
    let g = rest % p.groups;
    let chunk = rest / p.groups;
    if (chunk >= p.splits) {
        return;
    }
    // The lane's channels within the group (loads clamp them to the last).
    let c_a = cob * block + lane;
    let c_b = c_a + LANES;
    let co_a = g * cout_g + min(c_a, cout_g - 1u);
    let co_b = g * cout_g + min(c_b, cout_g - 1u);
    let ohw = p.oh * p.ow;
    let n0 = chunk * p.chunk;
    let n_end = min(n0 + p.chunk, opaque(p.n));
    for (var n = n0; n < n_end; n++) {
        let plane = p.x_offset + (n * p.c_in + g * cin_g + ci) * p.h * p.w;
        let dy_a = p.dy_offset + (n * p.c_out + co_a) * ohw;
        let dy_b = p.dy_offset + (n * p.c_out + co_b) * ohw;
        for (var oy = 0u; oy < opaque(p.oh); oy++) {
            load_dy_rows(dy_a + oy * p.ow, dy_b + oy * p.ow);
            let top = oy * p.stride_h;
            kernel_row(0u, top, plane, lane);
            if (KHC > 1u) { kernel_row(1u, top, plane, lane); }
            if (KHC > 2u) { kernel_row(2u, top, plane, lane); }
            if (KHC > 3u) { kernel_row(3u, top, plane, lane); }
            if (KHC > 4u) { kernel_row(4u, top, plane, lane); }
        }
    }
    // dw[co, ci, ky, kx] of this chunk.
    let taps = KHC * KWC;
    let at = (chunk * p.c_out + g * cout_g) * cin_g * taps + ci * taps;
    if (c_a < cout_g) {
        store_taps(0u, at + c_a * cin_g * taps);
    }
    if (SLOTS > 1u && c_b < cout_g) {
        store_taps(1u, at + c_b * cin_g * taps);
    }
    // db[co] of this chunk, once per output channel: by the workgroups of
    // input channel 0.
    if (!MASK || ci != 0u) {
        return;
    }
    let b_at = chunk * p.c_out + g * cout_g;
    if (c_a < cout_g) {
        let s = bias_acc[0];
        db[b_at + c_a] = s.x + s.y + s.z + s.w;
    }
    if (SLOTS > 1u && c_b < cout_g) {
        let s = bias_acc[1];
        db[b_at + c_b] = s.x + s.y + s.z + s.w;
    }
}
