// A 2-D convolution (NCHW, dilation 1) over narrow images and its input
// gradient, one whole output row (or block of its columns) per invocation,
// and its weight gradient (at the end of the file):
//
//   conv2d_whole_rows:                  y[n, co, oy, ox] = b[co] + sum_{ci, ky, kx}
//                                           x[n, ci, oy*sh - ph + ky, ox*sw - pw + kx]
//                                           * w[co, ci, ky, kx]
//   conv2d_backward_input_whole_rows:   dx[n, ci, iy, ix] = sum_{co, ky, kx}
//                                           dy[n, co, oy, ox] * w[co, ci, ky, kx]
//                                           over oy*sh - ph + ky = iy, ox*sw - pw + kx = ix
//
// An invocation owns one output row (y or dx) of CB channels in registers
// (or, for rows wider than 16, a block of its columns: COL_BLOCKS below).
// For every channel it reduces over and every kernel row ky that meets its
// row, it loads that source row (x or dy) once and applies every kernel
// column to it: the forward pass gathers (acc[ox] += x[ix] * w), the input
// gradient scatters (acc[ix] += dy[ox] * w). All indices are constants
// once the shape constants below are in place (the tap loops are unrolled
// by hand), so no tap that lands in the padding is computed at all.
//
// Why (lavapipe): every storage load is a loop over the 8 lanes, while a
// multiply-add of all 8 is one instruction, so the work per loaded value is
// what counts. Here each loaded value serves up to KWC * CB multiply-adds.
// The input gradient gains most: conv2d_rows, at stride 1, convolves dy
// padded by k - 1 - p, and for LeNet's conv2 (dy 8 x 8 -> dx 12 x 12)
// spends more than half its multiply-adds on the zeros around dy.
//
// The 8 lanes of a workgroup are 8 images of the batch at the same (group,
// channel block, row): the source rows they read have the same (row, ky),
// so the ky loop has the same bounds in every lane and runs no masked
// iteration, and the lanes multiply by the same weights (shared by
// subgroupShuffle in `conv_whole_rows.subgroup.wgsl`).

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
// The rows read (x or dy; at x_offset or dy_offset) and written (y or dx;
// dense from 0).
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> src2: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dst2: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> b: array<f32>;

// Shape constants (the host checks them): output channels of the
// invocation's row (4, 8 or 16), source and output row (or window and
// block) widths (up to 32, 16 for the input gradient's dy, and 16),
// kernel width (up to 8), column stride and padding.
override CB: u32 = 8u;
override SRC_W: u32 = 8u;
override DST_W: u32 = 12u;
override KWC: u32 = 5u;
override SWC: u32 = 1u;
override PWC: u32 = 0u;
// Source rows are whole, 16-byte aligned vec4s (SRC_W % 4 == 0 and an
// offset that is a multiple of 4); output rows too (DST_W % 4 == 0).
override VEC_SRC: bool = false;
// Whole source rows are pairs starting on 8 bytes (SRC_W even, an even
// offset; one block per row): two values per load.
override VEC2_SRC: bool = false;
override VEC_DST: bool = false;
// Output rows are whole pairs starting on 8 bytes (DST_W and ow even):
// two values per store (each store is a loop over the lanes on lavapipe).
override VEC2_DST: bool = false;
// Output rows of width 4k + 2 (one block per row) in planes of a multiple
// of 4 values: even rows start on 16 bytes and are stored as k vec4s and
// a vec2, odd rows 8 bytes past and stored as a vec2 and k vec4s. Fewer
// stores than 2k + 1 vec2s (CNN3's 14-wide rows: 4 against 7).
override ALT_DST: bool = false;
// conv2d_whole_rows: the output passes through ReLU as it is stored.
override RELU: bool = false;
// Output rows wider than 16 are split into COL_BLOCKS blocks of DST_W
// columns. An invocation then loads the window of SRC_W source columns
// its block needs, with the columns outside the row read as 0, and PWC
// places the window: in the forward pass it starts at column block *
// DST_W * SWC - pad_w (PWC = 0: the window holds the padding); in the
// input gradient at (block * DST_W + pad_w - PWC) / SWC, where PWC >= KWC
// - 1 makes it reach every dy column that meets the block. VEC_SRC then
// means the windows are whole, aligned vec4s inside the row.
override COL_BLOCKS: u32 = 1u;

const LANES: u32 = 8u;

// acc0[i] holds the block's channels 0 .. 3 at column i, acc1 the next 4
// (CB >= 8), acc2 and acc3 channels 8 .. 15 (CB == 16). Indexed only by
// constants, so they stay in registers (or their spill slots).
var<private> acc0: array<vec4<f32>, 16>;
var<private> acc1: array<vec4<f32>, 16>;
var<private> acc2: array<vec4<f32>, 16>;
var<private> acc3: array<vec4<f32>, 16>;
// The source row being applied, and the weights of the block's channels
// at the current (reduced channel, ky) as vec4s per kx, likewise.
var<private> row: array<f32, 32>;
var<private> w0: array<vec4<f32>, 8>;
var<private> w1: array<vec4<f32>, 8>;
var<private> w2: array<vec4<f32>, 8>;
var<private> w3: array<vec4<f32>, 8>;

// NOTE: lavapipe specialises a shader on the uniform values that bound its
// loops and recompiles it at every dispatch (see matmul.wgsl); a bound that
// also depends on a buffer's length is not recognised as uniform.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&src) == 0u);
}

// Output column ox of the forward convolution meets input column ix =
// ox * SWC - PWC + kx through tap kx. `gather` (a constant) chooses the
// direction: y[ox] += x[ix] * w, or dx[ix] += dy[ox] * w. The callers
// make only taps kx < KWC of columns ox of the row they apply.
fn tap(ox: u32, kx: u32, gather: bool) {
    let ix = i32(ox * SWC + kx) - i32(PWC);
    let x_w = select(DST_W, SRC_W, gather);
    if (ix < 0 || ix >= i32(x_w)) {
        return;
    }
    // The accumulated column and the source value.
    let a = select(u32(ix), ox, gather);
    let v = select(row[ox], row[ix], gather);
    acc0[a] += v * w0[kx];
    if (CB > 4u) {
        acc1[a] += v * w1[kx];
    }
    if (CB > 8u) {
        acc2[a] += v * w2[kx];
        acc3[a] += v * w3[kx];
    }
}

// The unrolled calls here and below are guarded by conditions on the shape
// constants at the call site, and the callees do not test those bounds
// again: the host cuts a branch on a constant before the driver sees the
// kernel (`runtime/specialize.rs`), while a test of a callee's argument
// stays until lavapipe has inlined every call. With 128 tap calls per row and
// their guards inside, W3's three forward pipelines took 64 / 49 / 40 ms
// to create (`create_compute_pipeline`); with only the taps, columns,
// loads and stores their shapes use, 40 / 21 / 12 ms.
fn taps_of_column(ox: u32, gather: bool) {
    tap(ox, 0u, gather);
    if (KWC > 1u) { tap(ox, 1u, gather); }
    if (KWC > 2u) { tap(ox, 2u, gather); }
    if (KWC > 3u) { tap(ox, 3u, gather); }
    if (KWC > 4u) { tap(ox, 4u, gather); }
    if (KWC > 5u) { tap(ox, 5u, gather); }
    if (KWC > 6u) { tap(ox, 6u, gather); }
    if (KWC > 7u) { tap(ox, 7u, gather); }
}

// The source row applied to every output column (forward pass).
fn gather_row() {
    taps_of_column(0u, true);
    if (DST_W > 1u) { taps_of_column(1u, true); }
    if (DST_W > 2u) { taps_of_column(2u, true); }
    if (DST_W > 3u) { taps_of_column(3u, true); }
    if (DST_W > 4u) { taps_of_column(4u, true); }
    if (DST_W > 5u) { taps_of_column(5u, true); }
    if (DST_W > 6u) { taps_of_column(6u, true); }
    if (DST_W > 7u) { taps_of_column(7u, true); }
    if (DST_W > 8u) { taps_of_column(8u, true); }
    if (DST_W > 9u) { taps_of_column(9u, true); }
    if (DST_W > 10u) { taps_of_column(10u, true); }
    if (DST_W > 11u) { taps_of_column(11u, true); }
    if (DST_W > 12u) { taps_of_column(12u, true); }
    if (DST_W > 13u) { taps_of_column(13u, true); }
    if (DST_W > 14u) { taps_of_column(14u, true); }
    if (DST_W > 15u) { taps_of_column(15u, true); }
}

// Every column of the source row (dy) scattered to the columns it meets
// (input gradient).
fn scatter_row() {
    taps_of_column(0u, false);
    if (SRC_W > 1u) { taps_of_column(1u, false); }
    if (SRC_W > 2u) { taps_of_column(2u, false); }
    if (SRC_W > 3u) { taps_of_column(3u, false); }
    if (SRC_W > 4u) { taps_of_column(4u, false); }
    if (SRC_W > 5u) { taps_of_column(5u, false); }
    if (SRC_W > 6u) { taps_of_column(6u, false); }
    if (SRC_W > 7u) { taps_of_column(7u, false); }
    if (SRC_W > 8u) { taps_of_column(8u, false); }
    if (SRC_W > 9u) { taps_of_column(9u, false); }
    if (SRC_W > 10u) { taps_of_column(10u, false); }
    if (SRC_W > 11u) { taps_of_column(11u, false); }
    if (SRC_W > 12u) { taps_of_column(12u, false); }
    if (SRC_W > 13u) { taps_of_column(13u, false); }
    if (SRC_W > 14u) { taps_of_column(14u, false); }
    if (SRC_W > 15u) { taps_of_column(15u, false); }
}

// Values 4 q .. 4 q + 3 of the source row starting at `at`, or of its
// window from column `start` (COL_BLOCKS > 1; columns outside the row's
// `width` read as 0).
fn load_quad(q: u32, at: u32, start: i32, width: u32) {
    let i = 4u * q;
    if (COL_BLOCKS > 1u) {
        if (VEC_SRC) {
            let v = src4[(at + u32(start)) / 4u + q];
            row[i] = v.x;
            row[i + 1u] = v.y;
            row[i + 2u] = v.z;
            row[i + 3u] = v.w;
            return;
        }
        row[i] = window_value(at, start + i32(i), width);
        if (i + 1u < SRC_W) { row[i + 1u] = window_value(at, start + i32(i + 1u), width); }
        if (i + 2u < SRC_W) { row[i + 2u] = window_value(at, start + i32(i + 2u), width); }
        if (i + 3u < SRC_W) { row[i + 3u] = window_value(at, start + i32(i + 3u), width); }
        return;
    }
    if (VEC_SRC) {
        let v = src4[at / 4u + q];
        row[i] = v.x;
        row[i + 1u] = v.y;
        row[i + 2u] = v.z;
        row[i + 3u] = v.w;
        return;
    }
    if (VEC2_SRC) {
        let lo = src2[at / 2u + 2u * q];
        row[i] = lo.x;
        row[i + 1u] = lo.y;
        if (i + 2u < SRC_W) {
            let hi = src2[at / 2u + 2u * q + 1u];
            row[i + 2u] = hi.x;
            row[i + 3u] = hi.y;
        }
        return;
    }
    row[i] = src[at + i];
    if (i + 1u < SRC_W) { row[i + 1u] = src[at + i + 1u]; }
    if (i + 2u < SRC_W) { row[i + 2u] = src[at + i + 2u]; }
    if (i + 3u < SRC_W) { row[i + 3u] = src[at + i + 3u]; }
}

// Column `col` of the row at `at`, 0 outside the row (a masked lane
// reads the row's first value).
fn window_value(at: u32, col: i32, width: u32) -> f32 {
    let inside = col >= 0 && col < i32(width);
    return select(0.0, src[at + select(0u, u32(col), inside)], inside);
}

fn load_row(at: u32, start: i32, width: u32) {
    load_quad(0u, at, start, width);
    if (SRC_W > 4u) { load_quad(1u, at, start, width); }
    if (SRC_W > 8u) { load_quad(2u, at, start, width); }
    if (SRC_W > 12u) { load_quad(3u, at, start, width); }
    if (SRC_W > 16u) { load_quad(4u, at, start, width); }
    if (SRC_W > 20u) { load_quad(5u, at, start, width); }
    if (SRC_W > 24u) { load_quad(6u, at, start, width); }
    if (SRC_W > 28u) { load_quad(7u, at, start, width); }
}

// The weights of tap kx for the block's channels: channel c's is at
// `at + c * step + kx`; channels past `last` repeat it.
// @swap weights
fn load_tap(kx: u32, at: u32, step: u32, last: u32, lane: u32) {
    w0[kx] = weights_of(vec4<u32>(0u, 1u, 2u, 3u), kx, at, step, last);
    if (CB > 4u) {
        w1[kx] = weights_of(vec4<u32>(4u, 5u, 6u, 7u), kx, at, step, last);
    }
    if (CB > 8u) {
        w2[kx] = weights_of(vec4<u32>(8u, 9u, 10u, 11u), kx, at, step, last);
        w3[kx] = weights_of(vec4<u32>(12u, 13u, 14u, 15u), kx, at, step, last);
    }
}

fn weights_of(channels: vec4<u32>, kx: u32, at: u32, step: u32, last: u32) -> vec4<f32> {
    let c = min(channels, vec4<u32>(last)) * step + at + kx;
    return vec4<f32>(w[c.x], w[c.y], w[c.z], w[c.w]);
}
// @end

fn load_taps(at: u32, step: u32, last: u32, lane: u32) {
    load_tap(0u, at, step, last, lane);
    if (KWC > 1u) { load_tap(1u, at, step, last, lane); }
    if (KWC > 2u) { load_tap(2u, at, step, last, lane); }
    if (KWC > 3u) { load_tap(3u, at, step, last, lane); }
    if (KWC > 4u) { load_tap(4u, at, step, last, lane); }
    if (KWC > 5u) { load_tap(5u, at, step, last, lane); }
    if (KWC > 6u) { load_tap(6u, at, step, last, lane); }
    if (KWC > 7u) { load_tap(7u, at, step, last, lane); }
}

// ReLU as `unary.wgsl` computes it: 0 for v <= 0 and for NaN.
fn out(v: vec4<f32>) -> vec4<f32> {
    return select(v, select(vec4<f32>(0.0), v, v > vec4<f32>(0.0)), RELU);
}

// Channels 4 q .. 4 q + 3 of the block, whose columns `cols` holds (acc0
// for q = 0, ...): each plus its bias, through ReLU when RELU, stored as a
// row from at[j] (when ok[j]). Each column is one vec4 of the 4 channels,
// so the stores are written out per column rather than per channel and
// column: a quarter of the code for lavapipe's compiler to work through
// before the shape constants remove what is unused (with per-channel
// stores, creating a pipeline took 0.3 s instead of 0.12 s).
//
// The 4 channel rows, and the block's channel quads (`store_block`), are
// loops the driver cannot unroll (`opaque` bounds), as in matmul.wgsl's
// `store_block`: each store site is a loop over the lanes that LLVM
// compiles at the first dispatch, and with every site written out the
// forward pipelines of CNN3 took 0.38 s each to compile, 0.19-0.25 s so.
fn store_channels(cols: array<vec4<f32>, 16>, at: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>, odd: bool) {
    if (VEC_DST) {
        store_column_quad(cols, 0u, at, ok, bias);
        if (DST_W > 4u) { store_column_quad(cols, 1u, at, ok, bias); }
        if (DST_W > 8u) { store_column_quad(cols, 2u, at, ok, bias); }
        if (DST_W > 12u) { store_column_quad(cols, 3u, at, ok, bias); }
        return;
    }
    if (ALT_DST) {
        if (DST_W > 5u) { store_shifted_quad(cols, 0u, odd, at, ok, bias); }
        if (DST_W > 9u) { store_shifted_quad(cols, 1u, odd, at, ok, bias); }
        if (DST_W > 13u) { store_shifted_quad(cols, 2u, odd, at, ok, bias); }
        store_end_pair(cols, odd, at, ok, bias);
        return;
    }
    if (VEC2_DST) {
        store_column_pair(cols, 0u, at, ok, bias);
        if (DST_W > 2u) { store_column_pair(cols, 1u, at, ok, bias); }
        if (DST_W > 4u) { store_column_pair(cols, 2u, at, ok, bias); }
        if (DST_W > 6u) { store_column_pair(cols, 3u, at, ok, bias); }
        if (DST_W > 8u) { store_column_pair(cols, 4u, at, ok, bias); }
        if (DST_W > 10u) { store_column_pair(cols, 5u, at, ok, bias); }
        if (DST_W > 12u) { store_column_pair(cols, 6u, at, ok, bias); }
        if (DST_W > 14u) { store_column_pair(cols, 7u, at, ok, bias); }
        return;
    }
    store_column(cols, 0u, at, ok, bias);
    if (DST_W > 1u) { store_column(cols, 1u, at, ok, bias); }
    if (DST_W > 2u) { store_column(cols, 2u, at, ok, bias); }
    if (DST_W > 3u) { store_column(cols, 3u, at, ok, bias); }
    if (DST_W > 4u) { store_column(cols, 4u, at, ok, bias); }
    if (DST_W > 5u) { store_column(cols, 5u, at, ok, bias); }
    if (DST_W > 6u) { store_column(cols, 6u, at, ok, bias); }
    if (DST_W > 7u) { store_column(cols, 7u, at, ok, bias); }
    if (DST_W > 8u) { store_column(cols, 8u, at, ok, bias); }
    if (DST_W > 9u) { store_column(cols, 9u, at, ok, bias); }
    if (DST_W > 10u) { store_column(cols, 10u, at, ok, bias); }
    if (DST_W > 11u) { store_column(cols, 11u, at, ok, bias); }
    if (DST_W > 12u) { store_column(cols, 12u, at, ok, bias); }
    if (DST_W > 13u) { store_column(cols, 13u, at, ok, bias); }
    if (DST_W > 14u) { store_column(cols, 14u, at, ok, bias); }
    if (DST_W > 15u) { store_column(cols, 15u, at, ok, bias); }
}

// Column i of 4 channel rows.
fn store_column(cols: array<vec4<f32>, 16>, i: u32, at: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>) {
    let v = out(cols[i] + bias);
    for (var c = 0u; c < opaque(4u); c++) {
        if (ok[c]) { dst[at[c] + i] = v[c]; }
    }
}

// Columns 2 k and 2 k + 1 of 4 channel rows, one vec2 store per row.
fn store_column_pair(cols: array<vec4<f32>, 16>, k: u32, at: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>) {
    let i = 2u * k;
    let a = out(cols[i] + bias);
    let b = out(cols[i + 1u] + bias);
    for (var c = 0u; c < opaque(4u); c++) {
        if (ok[c]) { dst2[at[c] / 2u + k] = vec2<f32>(a[c], b[c]); }
    }
}

// ALT_DST's quad k of 4 channel rows: columns 4 k .. 4 k + 3 of an even
// row, 4 k + 2 .. 4 k + 5 of an odd one (which starts 8 bytes past 16).
// The columns are chosen by select, not by a branch on `odd`: lavapipe
// ran both sides of such a branch, and its stores (an input gradient 1.3x
// slower than with vec2 stores).
fn store_shifted_quad(cols: array<vec4<f32>, 16>, k: u32, odd: bool, at: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>) {
    let i = 4u * k;
    let a = out(select(cols[i], cols[i + 2u], odd) + bias);
    let b = out(select(cols[i + 1u], cols[i + 3u], odd) + bias);
    let c = out(select(cols[i + 2u], cols[i + 4u], odd) + bias);
    let d = out(select(cols[i + 3u], cols[i + 5u], odd) + bias);
    let q = (at + select(0u, 2u, odd)) / 4u + k;
    for (var ch = 0u; ch < opaque(4u); ch++) {
        if (ok[ch]) { dst4[q[ch]] = vec4<f32>(a[ch], b[ch], c[ch], d[ch]); }
    }
}

// ALT_DST's pair of 4 channel rows: the last two columns of an even row,
// the first two of an odd one.
fn store_end_pair(cols: array<vec4<f32>, 16>, odd: bool, at: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>) {
    // (max: rows narrower than 2 never take this path, but still compile.)
    let last = max(DST_W, 2u) - 2u;
    let a = out(select(cols[last], cols[0], odd) + bias);
    let b = out(select(cols[last + 1u], cols[1], odd) + bias);
    let q = (at + select(last, 0u, odd)) / 2u;
    for (var c = 0u; c < opaque(4u); c++) {
        if (ok[c]) { dst2[q[c]] = vec2<f32>(a[c], b[c]); }
    }
}

// Columns 4 k .. 4 k + 3 of 4 channel rows, one vec4 store per row (the
// rows start on 16 bytes when VEC_DST).
fn store_column_quad(cols: array<vec4<f32>, 16>, k: u32, at: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>) {
    let i = 4u * k;
    let a = out(cols[i] + bias);
    let b = out(cols[i + 1u] + bias);
    let c = out(cols[i + 2u] + bias);
    let d = out(cols[i + 3u] + bias);
    for (var ch = 0u; ch < opaque(4u); ch++) {
        if (ok[ch]) { dst4[at[ch] / 4u + k] = vec4<f32>(a[ch], b[ch], c[ch], d[ch]); }
    }
}

// Channels 4 q .. 4 q + 3 of the block by column (acc0 for q = 0, ...),
// for q not known at compile time: a select per column (indexing the
// accumulators by q would keep them in memory for the whole kernel).
fn channel_quad(q: u32) -> array<vec4<f32>, 16> {
    return array<vec4<f32>, 16>(
        quad_column(q, 0u),
        quad_column(q, 1u),
        quad_column(q, 2u),
        quad_column(q, 3u),
        quad_column(q, 4u),
        quad_column(q, 5u),
        quad_column(q, 6u),
        quad_column(q, 7u),
        quad_column(q, 8u),
        quad_column(q, 9u),
        quad_column(q, 10u),
        quad_column(q, 11u),
        quad_column(q, 12u),
        quad_column(q, 13u),
        quad_column(q, 14u),
        quad_column(q, 15u),
    );
}

fn quad_column(q: u32, i: u32) -> vec4<f32> {
    return pick_quad(acc0[i], acc1[i], acc2[i], acc3[i], q);
}

// v0, v1, v2 or v3 for q = 0 .. 3, by select.
fn pick_quad(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, q: u32) -> vec4<f32> {
    return select(select(select(v0, v1, q == 1u), v2, q == 2u), v3, q == 3u);
}

// The block's rows from `plane` (channel c at plane + c * hw), when
// `live`; `last` is its last real channel, `bias` the biases of its
// channel quads; `row` is the output row's index (its parity places the
// row's quads with ALT_DST, the same in every lane).
fn store_block(plane: u32, hw: u32, live: bool, last: u32, bias: array<vec4<f32>, 4>, row: u32) {
    let lanes = vec4<u32>(0u, 1u, 2u, 3u);
    let odd = (row & 1u) == 1u;
    for (var q = 0u; q < opaque(CB / 4u); q++) {
        let channels = lanes + 4u * q;
        let quad_bias = pick_quad(bias[0], bias[1], bias[2], bias[3], q);
        store_channels(channel_quad(q), plane + channels * hw, vec4<bool>(live) & (channels <= vec4<u32>(last)), quad_bias, odd);
    }
}

// Which (group, block of CB output channels, output row and block of its
// columns, block of 8 images) a workgroup computes, images fastest; lane l
// is image 8 * block + l.
struct Work {
    n: u32,
    live: bool,
    // The output row, and the first column of its block.
    row: u32,
    col0: u32,
    g: u32,
    // The block's first channel within its group, and its last real one.
    c0: u32,
    last: u32,
    // Whole workgroups past the end (a 2-D grid's last row) do nothing.
    idle: bool,
}

fn work(wg_index: u32, lane_in_group: u32, rows: u32, channels: u32) -> Work {
    let n_blocks = (p.n + LANES - 1u) / LANES;
    let c_blocks = (channels + CB - 1u) / CB;
    let nb = wg_index % n_blocks;
    var rest = wg_index / n_blocks;
    let row_block = rest % (rows * COL_BLOCKS);
    rest /= rows * COL_BLOCKS;
    let cb = rest % c_blocks;
    let g = rest / c_blocks;
    let n_raw = nb * LANES + lane_in_group;
    let c0 = cb * CB;
    let live = n_raw < p.n;
    let idle = g >= p.groups;
    let row = row_block / COL_BLOCKS;
    let col0 = row_block % COL_BLOCKS * DST_W;
    return Work(min(n_raw, p.n - 1u), live, row, col0, g, c0, min(CB, channels - c0) - 1u, idle);
}

@compute @workgroup_size(LANES)
// @swap entry
fn conv2d_whole_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lid.x;
// @end
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let t = work(wid.x + wid.y * nwg.x, lid.x, p.oh, cout_g);
    if (t.idle) {
        return;
    }
    let oy = t.row;
    let start = i32(t.col0 * p.stride_w) - i32(p.pad_w);
    // Kernel rows ky with 0 <= oy * sh - ph + ky < h, the same in every lane.
    let top = oy * p.stride_h;
    let ky_first = min(p.pad_h - min(top, p.pad_h), p.kh);
    let ky_end = min(opaque(p.kh), p.h + p.pad_h - min(top, p.h + p.pad_h));
    let kk = p.kh * p.kw;
    let co0 = t.g * cout_g + t.c0;
    for (var i = 0u; i < opaque(cin_g); i++) {
        let ci = t.g * cin_g + i;
        let plane = p.x_offset + (t.n * p.c_in + ci) * p.h * p.w;
        let filters = p.w_offset + (co0 * cin_g + i) * kk;
        for (var ky = ky_first; ky < ky_end; ky++) {
            load_row(plane + (top + ky - p.pad_h) * p.w, start, p.w);
            load_taps(filters + ky * p.kw, cin_g * kk, t.last, lane);
            gather_row();
        }
    }
    let ohw = p.oh * p.ow;
    let plane = (t.n * p.c_out + co0) * ohw + oy * p.ow + t.col0;
    let first = p.b_offset + co0;
    let bias = array<vec4<f32>, 4>(bias_quad(0u, first, t.last), bias_quad(1u, first, t.last), bias_quad(2u, first, t.last), bias_quad(3u, first, t.last));
    store_block(plane, ohw, t.live, t.last, bias, oy);
}

// The biases of the block's channels 4 q .. 4 q + 3 (0 without a bias);
// `first` is the block's first.
fn bias_quad(q: u32, first: u32, last: u32) -> vec4<f32> {
    if (p.has_bias == 0u || 4u * q >= CB) {
        return vec4<f32>(0.0);
    }
    let c = min(vec4<u32>(4u * q) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) + first;
    return vec4<f32>(b[c.x], b[c.y], b[c.z], b[c.w]);
}

@compute @workgroup_size(LANES)
// @swap entry-backward
fn conv2d_backward_input_whole_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lid.x;
// @end
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let t = work(wid.x + wid.y * nwg.x, lid.x, p.h, cin_g);
    if (t.idle) {
        return;
    }
    let iy = t.row;
    // With blocks, the window of dy columns that reach dx columns col0 ..:
    // from (col0 + pad_w - PWC) / sw, an exact division (the host makes
    // DST_W a multiple of sw and PWC - pad_w one too).
    let first_col = i32(t.col0 + p.pad_w) - i32(PWC);
    let sw = i32(p.stride_w);
    let start = select(first_col / sw, -((-first_col) / sw), first_col < 0);
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
        let co = t.g * cout_g + i;
        let plane = p.dy_offset + (t.n * p.c_out + co) * ohw;
        let filters = p.w_offset + (co * cin_g + t.c0) * kk;
        for (var ky = ky_first; ky < ky_end; ky += sh) {
            let oy = (top - ky) / sh;
            load_row(plane + oy * p.ow, start, p.ow);
            load_taps(filters + ky * p.kw, kk, t.last, lane);
            scatter_row();
        }
    }
    let hw = p.h * p.w;
    let plane = ((t.n * p.c_in + t.g * cin_g + t.c0) * p.h + iy) * p.w + t.col0;
    store_block(plane, hw, t.live, t.last, array<vec4<f32>, 4>(), iy);
}

// ---------------------------------------------------------------------------
// conv2d_backward_weight_whole_rows:
//   dw[co, ci, ky, kx] = sum_{n, oy, ox} dy[n, co, oy, ox] * x[n, ci, oy*sh - ph + ky, ox*sw - pw + kx]
//
// The 8 lanes of a workgroup are 8 input channels of a group at one kernel
// row ky, for a block of CB output channels and a chunk of images (`chunk`
// images each, `splits` chunks). Each lane loads its own x rows; the dy
// rows are the same for all lanes: in the subgroup variant lane l loads
// output channel l's (and l + 8's) and passes its values by
// subgroupShuffle. acc0[kx] holds output channels 0 .. 3 of the block at
// tap kx (acc1 .. acc3 the next ones). Each chunk's sums go to its own
// slice of dst, `[splits, c_out, cin_g, kh, kw]`, which
// conv2d_backward_weight_sum adds.
@group(0) @binding(9) var<storage, read> grad: array<f32>;

// The dy rows of the block's channels at the current (image, oy), one
// value per lane and column (channel `lane` in grad_lo, `lane + 8` in
// grad_hi), and the column being applied as vec4s per channel quad.
var<private> grad_lo: array<f32, 16>;
var<private> grad_hi: array<f32, 16>;
var<private> column: array<vec4<f32>, 4>;

// @swap dy-columns
// Without subgroups nothing is loaded ahead: every lane loads each column
// of the block's dy rows itself (channel c's row at at + c * step,
// channels past `last` repeating it).
fn load_grad_rows(at: u32, step: u32, last: u32, lane: u32) {
}

fn grad_quad(channels: vec4<u32>, ox: u32, at: u32, step: u32, last: u32) -> vec4<f32> {
    let c = min(channels, vec4<u32>(last)) * step + at + ox;
    return vec4<f32>(grad[c.x], grad[c.y], grad[c.z], grad[c.w]);
}

fn load_column(ox: u32, at: u32, step: u32, last: u32) {
    column[0] = grad_quad(vec4<u32>(0u, 1u, 2u, 3u), ox, at, step, last);
    if (CB > 4u) {
        column[1] = grad_quad(vec4<u32>(4u, 5u, 6u, 7u), ox, at, step, last);
    }
    if (CB > 8u) {
        column[2] = grad_quad(vec4<u32>(8u, 9u, 10u, 11u), ox, at, step, last);
        column[3] = grad_quad(vec4<u32>(12u, 13u, 14u, 15u), ox, at, step, last);
    }
}
// @end

// Column ox of dy meets x column ox * SWC - PWC + kx through tap kx.
fn weight_tap(ox: u32, kx: u32) {
    let ix = i32(ox * SWC + kx) - i32(PWC);
    if (ix < 0 || ix >= i32(SRC_W)) {
        return;
    }
    let v = row[ix];
    acc0[kx] += column[0] * v;
    if (CB > 4u) {
        acc1[kx] += column[1] * v;
    }
    if (CB > 8u) {
        acc2[kx] += column[2] * v;
        acc3[kx] += column[3] * v;
    }
}

fn weight_column(ox: u32, at: u32, step: u32, last: u32) {
    load_column(ox, at, step, last);
    weight_tap(ox, 0u);
    if (KWC > 1u) { weight_tap(ox, 1u); }
    if (KWC > 2u) { weight_tap(ox, 2u); }
    if (KWC > 3u) { weight_tap(ox, 3u); }
    if (KWC > 4u) { weight_tap(ox, 4u); }
    if (KWC > 5u) { weight_tap(ox, 5u); }
    if (KWC > 6u) { weight_tap(ox, 6u); }
    if (KWC > 7u) { weight_tap(ox, 7u); }
}

fn weight_row(at: u32, step: u32, last: u32) {
    weight_column(0u, at, step, last);
    if (DST_W > 1u) { weight_column(1u, at, step, last); }
    if (DST_W > 2u) { weight_column(2u, at, step, last); }
    if (DST_W > 3u) { weight_column(3u, at, step, last); }
    if (DST_W > 4u) { weight_column(4u, at, step, last); }
    if (DST_W > 5u) { weight_column(5u, at, step, last); }
    if (DST_W > 6u) { weight_column(6u, at, step, last); }
    if (DST_W > 7u) { weight_column(7u, at, step, last); }
    if (DST_W > 8u) { weight_column(8u, at, step, last); }
    if (DST_W > 9u) { weight_column(9u, at, step, last); }
    if (DST_W > 10u) { weight_column(10u, at, step, last); }
    if (DST_W > 11u) { weight_column(11u, at, step, last); }
    if (DST_W > 12u) { weight_column(12u, at, step, last); }
    if (DST_W > 13u) { weight_column(13u, at, step, last); }
    if (DST_W > 14u) { weight_column(14u, at, step, last); }
    if (DST_W > 15u) { weight_column(15u, at, step, last); }
}

// Tap kx of channels 4 q .. 4 q + 3 (at at + j * step, when ok[j]).
fn store_weight_quad(q: u32, kx: u32, at: u32, step: u32, ok: vec4<bool>) {
    // (q is the loop counter of the caller: see `store_channels`.)
    let v = quad_column(q, kx);
    let base = at + 4u * q * step + kx;
    for (var c = 0u; c < opaque(4u); c++) {
        if (ok[c]) { dst[base + c * step] = v[c]; }
    }
}

fn store_weight_taps(q: u32, at: u32, step: u32, ok: vec4<bool>) {
    store_weight_quad(q, 0u, at, step, ok);
    if (KWC > 1u) { store_weight_quad(q, 1u, at, step, ok); }
    if (KWC > 2u) { store_weight_quad(q, 2u, at, step, ok); }
    if (KWC > 3u) { store_weight_quad(q, 3u, at, step, ok); }
    if (KWC > 4u) { store_weight_quad(q, 4u, at, step, ok); }
    if (KWC > 5u) { store_weight_quad(q, 5u, at, step, ok); }
    if (KWC > 6u) { store_weight_quad(q, 6u, at, step, ok); }
    if (KWC > 7u) { store_weight_quad(q, 7u, at, step, ok); }
}

@compute @workgroup_size(LANES)
// @swap entry-weight
fn conv2d_backward_weight_whole_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = lid.x;
// @end
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    // Workgroups: (chunk, group, block of 8 input channels, ky, block of CB
    // output channels), output channels fastest.
    let co_blocks = (cout_g + CB - 1u) / CB;
    let ci_blocks = (cin_g + LANES - 1u) / LANES;
    var rest = wid.x + wid.y * nwg.x;
    let cob = rest % co_blocks;
    rest /= co_blocks;
    let ky = rest % p.kh;
    rest /= p.kh;
    let cib = rest % ci_blocks;
    rest /= ci_blocks;
    let g = rest % p.groups;
    let chunk = rest / p.groups;
    if (chunk >= p.splits) {
        return;
    }
    let ci_raw = cib * LANES + lid.x;
    let ci = min(ci_raw, cin_g - 1u);
    let c0 = cob * CB;
    let co0 = g * cout_g + c0;
    let last = min(CB, cout_g - c0) - 1u;
    // Output rows whose input row oy * sh - ph + ky lies inside x.
    let sh = opaque(p.stride_h);
    let oy_first = select(0u, (p.pad_h - ky + sh - 1u) / sh, p.pad_h > ky);
    let oy_end = select(0u, min(opaque(p.oh), (p.h - 1u + p.pad_h - ky) / sh + 1u), p.h + p.pad_h > ky);
    let ohw = p.oh * p.ow;
    let n0 = chunk * p.chunk;
    let n_end = min(n0 + p.chunk, opaque(p.n));
    for (var n = n0; n < n_end; n++) {
        let x_plane = p.x_offset + (n * p.c_in + g * cin_g + ci) * p.h * p.w;
        let dy_plane = p.dy_offset + (n * p.c_out + co0) * ohw;
        for (var oy = oy_first; oy < oy_end; oy++) {
            load_row(x_plane + (oy * sh + ky - p.pad_h) * p.w, 0, p.w);
            let at = dy_plane + oy * p.ow;
            load_grad_rows(at, ohw, last, lane);
            weight_row(at, ohw, last);
        }
    }
    // dw[co, ci, ky, kx] of this chunk: channel co0 + c at at + c * step.
    let step = cin_g * p.kh * p.kw;
    let at = chunk * p.c_out * step + co0 * step + (ci * p.kh + ky) * p.kw;
    let live = ci_raw < cin_g;
    let lanes = vec4<u32>(0u, 1u, 2u, 3u);
    for (var q = 0u; q < opaque(CB / 4u); q++) {
        store_weight_taps(q, at, step, vec4<bool>(live) & (lanes + 4u * q <= vec4<u32>(last)));
    }
}
