// 2-D convolution, NCHW, with stride, zero padding, dilation and groups.
//
//   conv2d:                 y[n, oc, oy, ox] = b[oc] + sum_{ci, ky, kx}
//                               x[n, g*cin_g + ci, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw]
//                               * w[oc, ci, ky, kx]          (g = oc / cout_g)
//   conv2d_backward_input:  dx = the same sum read backwards: each dx element
//                           gathers the dy elements whose windows covered it.
//   conv2d_backward_weight: dw[oc, ci, ky, kx] = sum_{n, oy, ox} dy[n, oc, oy, ox] * x[...]
//   conv2d_backward_bias:   db[oc] = sum_{n, oy, ox} dy[n, oc, oy, ox]
//
// Each convolution is an implicit GEMM: a matrix product over the taps
// (ci, ky, kx) whose im2col operand is never stored; the loads compute
// their indices and padding tests instead. Two families of kernels:
//
// - Row kernels (conv2d_rows, conv2d_backward_weight_rows) for dilation 1
//   along w, stride_w 1 or 2 and kernels up to 8 wide (conv2d_rows also
//   computes conv2d_backward_input at stride 1, as a convolution of dy
//   with the flipped filters). They work on quads of 4 neighbouring output
//   pixels of a row and load x as aligned vec4 windows that serve every
//   kernel column at once.
// - General kernels (conv2d, conv2d_backward_input, conv2d_backward_weight)
//   for every other shape, gathering x one scalar per tap and pixel.
// Batches of 8 or more narrow images take the whole-row kernels of
// `conv_whole_rows.wgsl` for the forward pass and the input gradient
// instead, and layers of 4 or more input channels per group its weight
// gradient (ops/conv/whole_rows.rs says when).
//
// Why this shape of kernel, on lavapipe (llvmpipe, the CPU driver): an
// invocation is one SIMD lane; arithmetic runs 8 lanes at once but every
// storage load or store is a loop over the lanes with a bounds check per
// component (a vec4 load costs about two scalar ones), a workgroup barrier
// is a coroutine switch, and both sides of a branch run (masked). So there
// is no shared memory; each invocation keeps a block of up to 16 x 16
// results in registers (4 x 4 sub-blocks as mat4x4) and the work per load
// is what counts. Shape constants are pipeline constants so that the code
// for channel or pixel quads that do not exist is removed, not masked.
// Every block lies inside one group; lanes past the end of a dimension
// compute on clamped indices and store nothing. No float atomics exist in
// WGSL, so every output is owned by one invocation, and sums too long for
// one (dw, db over a large batch) are split into chunks whose partial sums
// conv2d_backward_weight_sum adds.
//
// All tensors are dense row-major; `*_offset` is where each starts in its
// buffer. Each buffer has its own binding number so that no two entry points
// give one binding two meanings.

const WORKGROUP_SIZE: u32 = 64u;

// conv2d_backward_bias: dy's planes are whole, 16-byte aligned quads.
override VEC_DB: bool = false;

// conv2d and conv2d_rows: the output passes through ReLU as it is stored
// (a Conv2d followed by ReLU), saving the activation's pass over memory.
override RELU: bool = false;

// ReLU as `unary.wgsl` computes it: 0 for v <= 0 and for NaN.
fn relu_out(v: vec4<f32>) -> vec4<f32> {
    return select(v, select(vec4<f32>(0.0), v, v > vec4<f32>(0.0)), RELU);
}

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

// ---------------------------------------------------------------------------
// General kernels. Each invocation keeps a 16 x 16 block of results and
// loads 16 + 16 scalars per step of its reduction for 256 multiply-adds:
//   conv2d:                 16 output channels x 16 output pixels, over the
//                           taps (ci, ky, kx) of the group;
//   conv2d_backward_input:  16 input channels x 16 input pixels of one stride
//                           class, over (oc, ky, kx) of the group;
//   conv2d_backward_weight: 16 output channels x 16 taps (ci, ky, kx), over a
//                           chunk of the output pixels (n, oy, ox).
// Pixels run over the whole batch (n, y, x), so small images still fill the
// blocks. Channels past the end of a group repeat the last one; the updates
// of channel quads past the end are behind branches that the invocations of
// a workgroup take alike (they share the channel block), which a GPU skips.
// Invocations run 8 to a workgroup, pixels (taps) fastest, so that the
// lanes of a workgroup read the same weights (dy).
const LANES: u32 = 8u;
const BLOCK: u32 = 16u;

// conv2d_backward_weight_sum: the per-chunk partial sums of dw.
@group(0) @binding(9) var<storage, read> part: array<f32>;

// Block (channel quad c, pixel or tap quad q) at 4 c + q; column j is
// channel 4 c + j, row i pixel (tap) 4 q + i. Indexed only by constants
// after inlining, so the blocks stay in registers.
var<private> acc: array<mat4x4<f32>, 16>;

// NOTE: lavapipe specialises a shader on the uniform values that bound its
// loops and recompiles it at every dispatch (see matmul.wgsl); a bound that
// also depends on a buffer's length is not recognised as uniform.
fn opaque_x(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&x) == 0u);
}

fn opaque_dy(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&dy) == 0u);
}

fn opaque_part(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&part) == 0u);
}

fn gemm_thread(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * LANES + lid.x;
}

// Four consecutive indices from `first`, clamped to `last`.
fn quad_from(first: u32, last: u32) -> vec4<u32> {
    return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last));
}

// x, dy, w at four storage indices; masked lanes read an in-range index and
// yield 0.
fn x_quad(i: vec4<u32>, ok: vec4<bool>) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(x[i.x], x[i.y], x[i.z], x[i.w]), ok);
}

fn dy_quad(i: vec4<u32>, ok: vec4<bool>) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(dy[i.x], dy[i.y], dy[i.z], dy[i.w]), ok);
}

fn dy_at(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(dy[i.x], dy[i.y], dy[i.z], dy[i.w]);
}

fn w_at(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(w[i.x], w[i.y], w[i.z], w[i.w]);
}

// The rank-1 update of channel quad c: column j of block (c, q) += v_q * s[j].
fn update(c: u32, s: vec4<f32>, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
    let i = 4u * c;
    acc[i] += mat4x4<f32>(v0 * s.x, v0 * s.y, v0 * s.z, v0 * s.w);
    acc[i + 1u] += mat4x4<f32>(v1 * s.x, v1 * s.y, v1 * s.z, v1 * s.w);
    acc[i + 2u] += mat4x4<f32>(v2 * s.x, v2 * s.y, v2 * s.z, v2 * s.w);
    acc[i + 3u] += mat4x4<f32>(v3 * s.x, v3 * s.y, v3 * s.z, v3 * s.w);
}

// The stores of one block of results: element (column j, row i) goes to
// (c + j) * c_stride + offsets[i] when c + j < n_c and ok[i]. Unrolled, so
// that every element is read at a constant index: looping over j and i
// indexed the block dynamically, which spilled it to memory and made the
// general input gradient 1.3x slower (`cargo xtask bench --only
// conv2d_backward_input`, CNN3's conv2: 12.1-12.8 against 9.0-9.7 GFLOP/s).
fn store_y(blk: mat4x4<f32>, c: u32, n_c: u32, c_stride: u32, offsets: vec4<u32>, ok: vec4<bool>, bias: vec4<f32>) {
    store_y_column(relu_out(blk[0] + bias.x), ok & vec4<bool>(c < n_c), c * c_stride + offsets);
    store_y_column(relu_out(blk[1] + bias.y), ok & vec4<bool>(c + 1u < n_c), (c + 1u) * c_stride + offsets);
    store_y_column(relu_out(blk[2] + bias.z), ok & vec4<bool>(c + 2u < n_c), (c + 2u) * c_stride + offsets);
    store_y_column(relu_out(blk[3] + bias.w), ok & vec4<bool>(c + 3u < n_c), (c + 3u) * c_stride + offsets);
}

fn store_y_column(v: vec4<f32>, ok: vec4<bool>, at: vec4<u32>) {
    if (ok.x) { y[at.x] = v.x; }
    if (ok.y) { y[at.y] = v.y; }
    if (ok.z) { y[at.z] = v.z; }
    if (ok.w) { y[at.w] = v.w; }
}

fn store_dx(blk: mat4x4<f32>, c: u32, n_c: u32, c_stride: u32, offsets: vec4<u32>, ok: vec4<bool>) {
    store_dx_column(blk[0], ok & vec4<bool>(c < n_c), c * c_stride + offsets);
    store_dx_column(blk[1], ok & vec4<bool>(c + 1u < n_c), (c + 1u) * c_stride + offsets);
    store_dx_column(blk[2], ok & vec4<bool>(c + 2u < n_c), (c + 2u) * c_stride + offsets);
    store_dx_column(blk[3], ok & vec4<bool>(c + 3u < n_c), (c + 3u) * c_stride + offsets);
}

fn store_dx_column(v: vec4<f32>, ok: vec4<bool>, at: vec4<u32>) {
    if (ok.x) { dx[at.x] = v.x; }
    if (ok.y) { dx[at.y] = v.y; }
    if (ok.z) { dx[at.z] = v.z; }
    if (ok.w) { dx[at.w] = v.w; }
}

fn store_dw(blk: mat4x4<f32>, c: u32, n_c: u32, c_stride: u32, offsets: vec4<u32>, ok: vec4<bool>) {
    store_dw_column(blk[0], ok & vec4<bool>(c < n_c), c * c_stride + offsets);
    store_dw_column(blk[1], ok & vec4<bool>(c + 1u < n_c), (c + 1u) * c_stride + offsets);
    store_dw_column(blk[2], ok & vec4<bool>(c + 2u < n_c), (c + 2u) * c_stride + offsets);
    store_dw_column(blk[3], ok & vec4<bool>(c + 3u < n_c), (c + 3u) * c_stride + offsets);
}

fn store_dw_column(v: vec4<f32>, ok: vec4<bool>, at: vec4<u32>) {
    if (ok.x) { dw[at.x] = v.x; }
    if (ok.y) { dw[at.y] = v.y; }
    if (ok.z) { dw[at.z] = v.z; }
    if (ok.w) { dw[at.w] = v.w; }
}

// The biases of channels c .. c + 3 of a tile of n_c from storage index
// bg, or 0 without a bias. A select, not a branch on the uniform has_bias:
// lavapipe would specialise the shader on it (see `opaque_x`). Without a
// bias, b is x's buffer: the indices are clamped to it.
fn bias_quad(bg: u32, c: u32, n_c: u32) -> vec4<f32> {
    let i = min(vec4<u32>(bg) + min(vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(n_c - 1u)), vec4<u32>(arrayLength(&b) - 1u));
    return select(vec4<f32>(0.0), vec4<f32>(b[i.x], b[i.y], b[i.z], b[i.w]), p.has_bias != 0u);
}

// Four output pixels (flat indices over n, oy, ox) of conv2d: where their
// windows start in x (row, column; either may be in the padding) and the
// storage index of that start, for channel 0 of the group (may lie outside x
// when the start is padding; such taps are masked).
struct Windows {
    iy: vec4<i32>,
    ix: vec4<i32>,
    at: vec4<i32>,
}

fn windows(pix: vec4<u32>, xg: u32) -> Windows {
    let ohw = p.oh * p.ow;
    let n = pix / ohw;
    let r = pix % ohw;
    let iy = vec4<i32>((r / p.ow) * p.stride_h) - i32(p.pad_h);
    let ix = vec4<i32>((r % p.ow) * p.stride_w) - i32(p.pad_w);
    let at = vec4<i32>(n * (p.c_in * p.h * p.w) + xg) + iy * i32(p.w) + ix;
    return Windows(iy, ix, at);
}

// Where conv2d stores 4 pixels of channel c0 of group g, and which exist.
fn y_offsets(first: u32, np: u32, yg: u32) -> vec4<u32> {
    let ohw = p.oh * p.ow;
    let pix = quad_from(first, np - 1u);
    return (pix / ohw) * (p.c_out * ohw) + yg + pix % ohw;
}

fn y_ok(first: u32, np: u32, live: bool) -> vec4<bool> {
    return (vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(np)) & vec4<bool>(live);
}

// Threads: (group, block of 16 output channels, block of 16 pixels), pixels
// fastest so that the 8 invocations of a workgroup share the weights.
@compute @workgroup_size(LANES)
fn conv2d(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t_raw = gemm_thread(wid, lid, nwg);
    // Lanes past the end redo the last block and store nothing.
    let live = t_raw < p.threads;
    let t = min(t_raw, p.threads - 1u);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let ohw = p.oh * p.ow;
    let np = p.n * ohw;
    let pblocks = (np + BLOCK - 1u) / BLOCK;
    let cblocks = (cout_g + BLOCK - 1u) / BLOCK;
    let pb = t % pblocks;
    let cb = (t / pblocks) % cblocks;
    let g = t / (pblocks * cblocks);
    let c0 = cb * BLOCK;
    let n_c = min(BLOCK, cout_g - c0);
    let hw = p.h * p.w;
    let xg = p.x_offset + g * cin_g * hw;
    let p0 = pb * BLOCK;
    let q0 = windows(quad_from(p0, np - 1u), xg);
    let q1 = windows(quad_from(p0 + 4u, np - 1u), xg);
    let q2 = windows(quad_from(p0 + 8u, np - 1u), xg);
    let q3 = windows(quad_from(p0 + 12u, np - 1u), xg);
    let kk = p.kh * p.kw;
    let fsize = cin_g * kk;
    // Filter starts of the 16 channels; channels past n_c repeat the last.
    let wg = p.w_offset + (g * cout_g + c0) * fsize;
    let lanes = vec4<u32>(0u, 1u, 2u, 3u);
    let last = vec4<u32>(n_c - 1u);
    let w0 = min(lanes, last) * fsize + wg;
    let w1 = min(lanes + 4u, last) * fsize + wg;
    let w2 = min(lanes + 8u, last) * fsize + wg;
    let w3 = min(lanes + 12u, last) * fsize + wg;
    let h = vec4<u32>(p.h);
    let wd = vec4<u32>(p.w);
    let zero = vec4<i32>(0);
    let kh = opaque_x(p.kh);
    let kw = opaque_x(p.kw);
    let cin = opaque_x(cin_g);
    for (var ky = 0u; ky < kh; ky++) {
        let ty = i32(ky * p.dil_h);
        let r0 = vec4<u32>(q0.iy + ty) < h;
        let r1 = vec4<u32>(q1.iy + ty) < h;
        let r2 = vec4<u32>(q2.iy + ty) < h;
        let r3 = vec4<u32>(q3.iy + ty) < h;
        for (var kx = 0u; kx < kw; kx++) {
            let tx = i32(kx * p.dil_w);
            let ok0 = r0 & (vec4<u32>(q0.ix + tx) < wd);
            let ok1 = r1 & (vec4<u32>(q1.ix + tx) < wd);
            let ok2 = r2 & (vec4<u32>(q2.ix + tx) < wd);
            let ok3 = r3 & (vec4<u32>(q3.ix + tx) < wd);
            // Masked lanes start at 0 and step by hw: always inside x.
            let tap = ty * i32(p.w) + tx;
            var a0 = vec4<u32>(select(zero, q0.at + tap, ok0));
            var a1 = vec4<u32>(select(zero, q1.at + tap, ok1));
            var a2 = vec4<u32>(select(zero, q2.at + tap, ok2));
            var a3 = vec4<u32>(select(zero, q3.at + tap, ok3));
            var wi = ky * p.kw + kx;
            for (var ci = 0u; ci < cin; ci++) {
                let v0 = x_quad(a0, ok0);
                let v1 = x_quad(a1, ok1);
                let v2 = x_quad(a2, ok2);
                let v3 = x_quad(a3, ok3);
                update(0u, w_at(w0 + wi), v0, v1, v2, v3);
                if (n_c > 4u) {
                    update(1u, w_at(w1 + wi), v0, v1, v2, v3);
                }
                if (n_c > 8u) {
                    update(2u, w_at(w2 + wi), v0, v1, v2, v3);
                }
                if (n_c > 12u) {
                    update(3u, w_at(w3 + wi), v0, v1, v2, v3);
                }
                a0 += hw;
                a1 += hw;
                a2 += hw;
                a3 += hw;
                wi += kk;
            }
        }
    }
    let yg = (g * cout_g + c0) * ohw;
    let o0 = y_offsets(p0, np, yg);
    let o1 = y_offsets(p0 + 4u, np, yg);
    let o2 = y_offsets(p0 + 8u, np, yg);
    let o3 = y_offsets(p0 + 12u, np, yg);
    let k0 = y_ok(p0, np, live);
    let k1 = y_ok(p0 + 4u, np, live);
    let k2 = y_ok(p0 + 8u, np, live);
    let k3 = y_ok(p0 + 12u, np, live);
    let bg = p.b_offset + g * cout_g + c0;
    let bias = array<vec4<f32>, 4>(bias_quad(bg, 0u, n_c), bias_quad(bg, 4u, n_c), bias_quad(bg, 8u, n_c), bias_quad(bg, 12u, n_c));
    store_y(acc[0], 0u, n_c, ohw, o0, k0, bias[0]);
    store_y(acc[1], 0u, n_c, ohw, o1, k1, bias[0]);
    store_y(acc[2], 0u, n_c, ohw, o2, k2, bias[0]);
    store_y(acc[3], 0u, n_c, ohw, o3, k3, bias[0]);
    store_y(acc[4], 4u, n_c, ohw, o0, k0, bias[1]);
    store_y(acc[5], 4u, n_c, ohw, o1, k1, bias[1]);
    store_y(acc[6], 4u, n_c, ohw, o2, k2, bias[1]);
    store_y(acc[7], 4u, n_c, ohw, o3, k3, bias[1]);
    store_y(acc[8], 8u, n_c, ohw, o0, k0, bias[2]);
    store_y(acc[9], 8u, n_c, ohw, o1, k1, bias[2]);
    store_y(acc[10], 8u, n_c, ohw, o2, k2, bias[2]);
    store_y(acc[11], 8u, n_c, ohw, o3, k3, bias[2]);
    store_y(acc[12], 12u, n_c, ohw, o0, k0, bias[3]);
    store_y(acc[13], 12u, n_c, ohw, o1, k1, bias[3]);
    store_y(acc[14], 12u, n_c, ohw, o2, k2, bias[3]);
    store_y(acc[15], 12u, n_c, ohw, o3, k3, bias[3]);
}

// Four input pixels of conv2d_backward_input, flat indices over
// (n, a, b) of stride class (ry, rx): pixel (n, ry + a sh, rx + b sw).
// `at` is the dy index of (oy, ox) = (a, b) for the group's first output
// channel; a tap adds its (offy, offx) to (a, b).
struct Sources {
    a: vec4<i32>,
    b: vec4<i32>,
    at: vec4<i32>,
    // Inside dx (classes are padded to the largest class's size).
    alive: vec4<bool>,
    // Where dx[n, c, iy, ix] lies for the tile's first channel c.
    out: vec4<u32>,
}

fn sources(pix: vec4<u32>, ry: u32, rx: u32, rows: u32, cols: u32, dyg: u32, xg: u32) -> Sources {
    let per_n = rows * cols;
    let n = pix / per_n;
    let r = pix % per_n;
    let a = r / cols;
    let b = r % cols;
    let iy = a * p.stride_h + ry;
    let ix = b * p.stride_w + rx;
    let alive = (iy < vec4<u32>(p.h)) & (ix < vec4<u32>(p.w));
    let at = vec4<i32>(n * (p.c_out * p.oh * p.ow) + dyg + a * p.ow + b);
    let out = n * (p.c_in * p.h * p.w) + xg + iy * p.w + ix;
    return Sources(vec4<i32>(a), vec4<i32>(b), at, alive, out);
}

// v / s for v a multiple of s > 0, without dividing a negative number
// (undefined in GLSL, which naga's GL backend emits directly).
fn exact_div(v: i32, s: i32) -> i32 {
    return select(v / s, -((-v) / s), v < 0);
}

// The first tap k < min(step, k_end) with (r - k d) a multiple of the
// stride s, or k_end if none: r is the class's row (column) plus padding.
fn first_tap(r: u32, d: u32, s: u32, step: u32, k_end: u32) -> u32 {
    var first = k_end;
    for (var k = 0u; k < min(opaque_dy(step), k_end); k++) {
        // r - k d is a multiple of s, in unsigned arithmetic: GLSL leaves
        // % of a negative operand undefined, and llvmpipe's GL gave wrong
        // taps for it.
        if (r % s == (k * d) % s) {
            first = min(first, k);
        }
    }
    return first;
}

// Threads: (stride class, group, block of 16 input channels, block of 16
// pixels of the class), pixels fastest. All pixels of an invocation are in
// one class (iy = ry mod sh, ix = rx mod sw), so whether a tap (ky, kx)
// reaches any output pixel is the same for all of them:
// iy + ph - ky dh must be a multiple of sh, and then oy = a + offy.
@compute @workgroup_size(LANES)
// @swap backward-input-entry
fn conv2d_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
// @end
    let t_raw = gemm_thread(wid, lid, nwg);
    let t = min(t_raw, p.threads - 1u);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let ohw = p.oh * p.ow;
    let rows = (p.h + p.stride_h - 1u) / p.stride_h;
    let cols = (p.w + p.stride_w - 1u) / p.stride_w;
    let np = p.n * rows * cols;
    // Whole workgroups of pixel blocks per (class, group, channel block),
    // so that the lanes of a workgroup share their weights (see
    // `conv.subgroup.wgsl`).
    let real_pblocks = (np + BLOCK - 1u) / BLOCK;
    let pblocks = (real_pblocks + LANES - 1u) / LANES * LANES;
    let cblocks = (cin_g + BLOCK - 1u) / BLOCK;
    let pb = t % pblocks;
    let live = t_raw < p.threads && pb < real_pblocks;
    var rest = t / pblocks;
    let cb = rest % cblocks;
    rest /= cblocks;
    let g = rest % p.groups;
    let cls = rest / p.groups;
    let ry = cls / p.stride_w;
    let rx = cls % p.stride_w;
    let c0 = cb * BLOCK;
    let n_c = min(BLOCK, cin_g - c0);
    let dyg = p.dy_offset + g * cout_g * ohw;
    let xg = (g * cin_g + c0) * p.h * p.w;
    let p0 = pb * BLOCK;
    let q0 = sources(quad_from(p0, np - 1u), ry, rx, rows, cols, dyg, xg);
    let q1 = sources(quad_from(p0 + 4u, np - 1u), ry, rx, rows, cols, dyg, xg);
    let q2 = sources(quad_from(p0 + 8u, np - 1u), ry, rx, rows, cols, dyg, xg);
    let q3 = sources(quad_from(p0 + 12u, np - 1u), ry, rx, rows, cols, dyg, xg);
    let kk = p.kh * p.kw;
    let fsize = cin_g * kk;
    // w[g cout_g, c0 + j, 0, 0] for the 16 input channels j; one output
    // channel further is fsize on.
    let wg = p.w_offset + g * cout_g * fsize + c0 * kk;
    let lanes = vec4<u32>(0u, 1u, 2u, 3u);
    let last = vec4<u32>(n_c - 1u);
    let w0 = min(lanes, last) * kk + wg;
    let w1 = min(lanes + 4u, last) * kk + wg;
    let w2 = min(lanes + 8u, last) * kk + wg;
    let w3 = min(lanes + 12u, last) * kk + wg;
    let oh = vec4<u32>(p.oh);
    let ow = vec4<u32>(p.ow);
    let zero = vec4<i32>(0);
    let sh = i32(p.stride_h);
    let sw = i32(p.stride_w);
    let kh = opaque_dy(p.kh);
    let kw = opaque_dy(p.kw);
    let cout = opaque_dy(cout_g);
    // The taps that reach an output pixel from this class are every
    // step-th from the first (step = stride / gcd(stride, dilation), in
    // `chunk` and `splits`); the loops visit only those, so the lanes of a
    // workgroup (which share the class) run no masked iterations.
    let ky0 = first_tap(ry + p.pad_h, p.dil_h, p.stride_h, p.chunk, kh);
    let kx0 = first_tap(rx + p.pad_w, p.dil_w, p.stride_w, p.splits, kw);
    for (var ky = ky0; ky < kh; ky += p.chunk) {
        let ty = i32(ry + p.pad_h) - i32(ky * p.dil_h);
        let offy = exact_div(ty, sh);
        let r0 = vec4<u32>(q0.a + offy) < oh;
        let r1 = vec4<u32>(q1.a + offy) < oh;
        let r2 = vec4<u32>(q2.a + offy) < oh;
        let r3 = vec4<u32>(q3.a + offy) < oh;
        for (var kx = kx0; kx < kw; kx += p.splits) {
            let tx = i32(rx + p.pad_w) - i32(kx * p.dil_w);
            let offx = exact_div(tx, sw);
            let ok0 = r0 & (vec4<u32>(q0.b + offx) < ow) & q0.alive;
            let ok1 = r1 & (vec4<u32>(q1.b + offx) < ow) & q1.alive;
            let ok2 = r2 & (vec4<u32>(q2.b + offx) < ow) & q2.alive;
            let ok3 = r3 & (vec4<u32>(q3.b + offx) < ow) & q3.alive;
            // Masked lanes start at 0 and step by ohw: always inside dy.
            let tap = offy * i32(p.ow) + offx;
            var a0 = vec4<u32>(select(zero, q0.at + tap, ok0));
            var a1 = vec4<u32>(select(zero, q1.at + tap, ok1));
            var a2 = vec4<u32>(select(zero, q2.at + tap, ok2));
            var a3 = vec4<u32>(select(zero, q3.at + tap, ok3));
            var wi = ky * p.kw + kx;
            for (var oc = 0u; oc < cout; oc++) {
                let v0 = dy_quad(a0, ok0);
                let v1 = dy_quad(a1, ok1);
                let v2 = dy_quad(a2, ok2);
                let v3 = dy_quad(a3, ok3);
                // Every lane loads the 16 channels' weights of this tap.
                // @swap backward-input-weights
                update(0u, w_at(w0 + wi), v0, v1, v2, v3);
                if (n_c > 4u) {
                    update(1u, w_at(w1 + wi), v0, v1, v2, v3);
                }
                if (n_c > 8u) {
                    update(2u, w_at(w2 + wi), v0, v1, v2, v3);
                }
                if (n_c > 12u) {
                    update(3u, w_at(w3 + wi), v0, v1, v2, v3);
                }
                // @end
                a0 += ohw;
                a1 += ohw;
                a2 += ohw;
                a3 += ohw;
                wi += fsize;
            }
        }
    }
    let hw = p.h * p.w;
    let k0 = q0.alive & y_ok(p0, np, live);
    let k1 = q1.alive & y_ok(p0 + 4u, np, live);
    let k2 = q2.alive & y_ok(p0 + 8u, np, live);
    let k3 = q3.alive & y_ok(p0 + 12u, np, live);
    store_dx(acc[0], 0u, n_c, hw, q0.out, k0);
    store_dx(acc[1], 0u, n_c, hw, q1.out, k1);
    store_dx(acc[2], 0u, n_c, hw, q2.out, k2);
    store_dx(acc[3], 0u, n_c, hw, q3.out, k3);
    store_dx(acc[4], 4u, n_c, hw, q0.out, k0);
    store_dx(acc[5], 4u, n_c, hw, q1.out, k1);
    store_dx(acc[6], 4u, n_c, hw, q2.out, k2);
    store_dx(acc[7], 4u, n_c, hw, q3.out, k3);
    store_dx(acc[8], 8u, n_c, hw, q0.out, k0);
    store_dx(acc[9], 8u, n_c, hw, q1.out, k1);
    store_dx(acc[10], 8u, n_c, hw, q2.out, k2);
    store_dx(acc[11], 8u, n_c, hw, q3.out, k3);
    store_dx(acc[12], 12u, n_c, hw, q0.out, k0);
    store_dx(acc[13], 12u, n_c, hw, q1.out, k1);
    store_dx(acc[14], 12u, n_c, hw, q2.out, k2);
    store_dx(acc[15], 12u, n_c, hw, q3.out, k3);
}

// Four taps (ci, ky, kx) of conv2d_backward_weight, flat indices over the
// group's filter: their offsets from a window's start in rows, columns and
// storage.
struct Taps {
    ty: vec4<i32>,
    tx: vec4<i32>,
    at: vec4<i32>,
}

fn taps(k: vec4<u32>) -> Taps {
    let kk = p.kh * p.kw;
    let ci = k / kk;
    let r = k % kk;
    let ty = (r / p.kw) * p.dil_h;
    let tx = (r % p.kw) * p.dil_w;
    return Taps(vec4<i32>(ty), vec4<i32>(tx), vec4<i32>(ci * (p.h * p.w) + ty * p.w + tx));
}

// x at 4 taps of the window starting at (iy, ix), storage index `at`.
fn tap_quad(q: Taps, iy: i32, ix: i32, at: i32) -> vec4<f32> {
    let ok = (vec4<u32>(q.ty + iy) < vec4<u32>(p.h)) & (vec4<u32>(q.tx + ix) < vec4<u32>(p.w));
    return x_quad(vec4<u32>(select(vec4<i32>(0), q.at + at, ok)), ok);
}

// Threads: (chunk of output pixels, group, block of 16 output channels,
// block of 16 taps), taps fastest. Each sums its chunk's pixels into dw, or,
// with several chunks, into dw[chunk] for conv2d_backward_weight_sum.
@compute @workgroup_size(LANES)
fn conv2d_backward_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t_raw = gemm_thread(wid, lid, nwg);
    let live = t_raw < p.threads;
    let t = min(t_raw, p.threads - 1u);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let ohw = p.oh * p.ow;
    let np = p.n * ohw;
    let kk = p.kh * p.kw;
    let fsize = cin_g * kk;
    let kblocks = (fsize + BLOCK - 1u) / BLOCK;
    let cblocks = (cout_g + BLOCK - 1u) / BLOCK;
    let kb = t % kblocks;
    var rest = t / kblocks;
    let cb = rest % cblocks;
    rest /= cblocks;
    let g = rest % p.groups;
    let chunk = rest / p.groups;
    let c0 = cb * BLOCK;
    let n_c = min(BLOCK, cout_g - c0);
    let k0 = kb * BLOCK;
    let q0 = taps(quad_from(k0, fsize - 1u));
    let q1 = taps(quad_from(k0 + 4u, fsize - 1u));
    let q2 = taps(quad_from(k0 + 8u, fsize - 1u));
    let q3 = taps(quad_from(k0 + 12u, fsize - 1u));
    // dy channel offsets of the 16 output channels; past n_c the last.
    let lanes = vec4<u32>(0u, 1u, 2u, 3u);
    let last = vec4<u32>(n_c - 1u);
    let d0 = min(lanes, last) * ohw;
    let d1 = min(lanes + 4u, last) * ohw;
    let d2 = min(lanes + 8u, last) * ohw;
    let d3 = min(lanes + 12u, last) * ohw;
    let first = min(chunk * p.chunk, np);
    let count = opaque_dy(min(p.chunk, np - first));
    var n = first / ohw;
    var oy = (first % ohw) / p.ow;
    var ox = first % p.ow;
    let hw = p.h * p.w;
    let xg = i32(p.x_offset + g * cin_g * hw);
    let dyg = p.dy_offset + (g * cout_g + c0) * ohw;
    for (var i = 0u; i < count; i++) {
        let iy = i32(oy * p.stride_h) - i32(p.pad_h);
        let ix = i32(ox * p.stride_w) - i32(p.pad_w);
        let at = i32(n * p.c_in * hw) + xg + iy * i32(p.w) + ix;
        let v0 = tap_quad(q0, iy, ix, at);
        let v1 = tap_quad(q1, iy, ix, at);
        let v2 = tap_quad(q2, iy, ix, at);
        let v3 = tap_quad(q3, iy, ix, at);
        let d = n * p.c_out * ohw + dyg + oy * p.ow + ox;
        update(0u, dy_at(d0 + d), v0, v1, v2, v3);
        if (n_c > 4u) {
            update(1u, dy_at(d1 + d), v0, v1, v2, v3);
        }
        if (n_c > 8u) {
            update(2u, dy_at(d2 + d), v0, v1, v2, v3);
        }
        if (n_c > 12u) {
            update(3u, dy_at(d3 + d), v0, v1, v2, v3);
        }
        ox += 1u;
        if (ox == p.ow) {
            ox = 0u;
            oy += 1u;
            if (oy == p.oh) {
                oy = 0u;
                n += 1u;
            }
        }
    }
    // dw[oc, k] for oc = g cout_g + c0 + j, k = k0 + i; with chunks the
    // partial sums of chunk `chunk` follow all of dw's size before them.
    let base = select(0u, chunk * p.c_out * fsize, p.splits > 1u) + (g * cout_g + c0) * fsize;
    let o0 = quad_from(k0, fsize - 1u) + base;
    let o1 = quad_from(k0 + 4u, fsize - 1u) + base;
    let o2 = quad_from(k0 + 8u, fsize - 1u) + base;
    let o3 = quad_from(k0 + 12u, fsize - 1u) + base;
    let e0 = y_ok(k0, fsize, live);
    let e1 = y_ok(k0 + 4u, fsize, live);
    let e2 = y_ok(k0 + 8u, fsize, live);
    let e3 = y_ok(k0 + 12u, fsize, live);
    store_dw(acc[0], 0u, n_c, fsize, o0, e0);
    store_dw(acc[1], 0u, n_c, fsize, o1, e1);
    store_dw(acc[2], 0u, n_c, fsize, o2, e2);
    store_dw(acc[3], 0u, n_c, fsize, o3, e3);
    store_dw(acc[4], 4u, n_c, fsize, o0, e0);
    store_dw(acc[5], 4u, n_c, fsize, o1, e1);
    store_dw(acc[6], 4u, n_c, fsize, o2, e2);
    store_dw(acc[7], 4u, n_c, fsize, o3, e3);
    store_dw(acc[8], 8u, n_c, fsize, o0, e0);
    store_dw(acc[9], 8u, n_c, fsize, o1, e1);
    store_dw(acc[10], 8u, n_c, fsize, o2, e2);
    store_dw(acc[11], 8u, n_c, fsize, o3, e3);
    store_dw(acc[12], 12u, n_c, fsize, o0, e0);
    store_dw(acc[13], 12u, n_c, fsize, o1, e1);
    store_dw(acc[14], 12u, n_c, fsize, o2, e2);
    store_dw(acc[15], 12u, n_c, fsize, o3, e3);
}

// dw[i] = the sum over chunks s of part[s * size + i] (size = p.threads).
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_backward_weight_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.threads) {
        return;
    }
    var s = 0.0;
    var at = i;
    for (var k = 0u; k < opaque_part(p.splits); k++) {
        s += part[at];
        at += p.threads;
    }
    dw[i] = s;
}

// Bias gradients: db[oc] = the sum of dy[n, oc, :, :] over n. Workgroup oc
// sums channel oc: lane l takes images l, l + WORKGROUP_SIZE, ..., a whole
// plane at a time, and lane 0 adds the lanes' sums in order after one
// barrier (one coroutine switch on lavapipe; a tree would take six). So it
// is one dispatch for any batch. Where the offsets are multiples of 4
// (VEC_DB) every load is a vec4: a plane is the aligned vec4s that cover
// it, and when planes are not whole vec4s (EDGES) the vec4s at a plane's
// edges hold elements of its neighbours too, which its sum masks out.
// Measured against one invocation per channel and chunk of images (`cargo
// xtask bench --only conv2d_relu_backward_bias`): 1.2-2.2x faster on
// CNN3's conv1 and conv2 and LeNet's layers, but about 1.2x slower on
// CNN3's conv3 (10 channels of 64 planes of 4 x 4, where the barrier's
// fixed cost shows). Channels bound the parallelism: a layer of one
// channel runs on one core.
override EDGES: bool = false;

var<workgroup> lane_sums: array<f32, WORKGROUP_SIZE>;

// The channel a workgroup sums (workgroups may spill into y, see grid_1d).
fn bias_channel(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// v without the elements outside [start, end) of the 4 from element 4 q.
fn in_plane(v: vec4<f32>, q: u32, start: u32, end: u32) -> vec4<f32> {
    if (!EDGES) {
        return v;
    }
    let e = vec4<u32>(4u * q) + vec4<u32>(0u, 1u, 2u, 3u);
    return select(vec4<f32>(0.0), v, (e >= vec4<u32>(start)) & (e < vec4<u32>(end)));
}

// Lane 0 writes the sum of the lanes' sums to db[oc].
fn store_bias(oc: u32, lane: u32, sum: f32) {
    lane_sums[lane] = sum;
    workgroupBarrier();
    if (lane == 0u) {
        var s = 0.0;
        for (var i = 0u; i < WORKGROUP_SIZE; i++) {
            s += lane_sums[i];
        }
        db[oc] = s;
    }
}

// Loop bounds go through opaque_dy: they change with the layer (see
// `opaque_x`).
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_backward_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
    let oc = bias_channel(wid, nwg);
    if (oc >= opaque_dy(p.c_out)) {
        return;
    }
    let plane = opaque_dy(p.oh * p.ow);
    var acc4 = vec4<f32>(0.0);
    var acc1 = 0.0;
    for (var n = lane; n < opaque_dy(p.n); n += WORKGROUP_SIZE) {
        let start = p.dy_offset + (n * p.c_out + oc) * plane;
        let end = start + plane;
        if (VEC_DB) {
            for (var q = start / 4u; q < (end + 3u) / 4u; q++) {
                acc4 += in_plane(dy4[q], q, start, end);
            }
        } else {
            for (var i = start; i < end; i++) {
                acc1 += dy[i];
            }
        }
    }
    store_bias(oc, lane, acc1 + (acc4.x + acc4.y) + (acc4.z + acc4.w));
}

// ReLU's backward and the bias gradient in one pass, for a Conv2d followed
// by ReLU (conv2d_relu): dx = dy * (y > 0 ? 1 : 0), with y the ReLU'd
// output bound as x (unary_backward's formula, so a NaN gradient stays
// NaN), and db[oc] = the sum of dx over (n, oy, ox), as in
// conv2d_backward_bias. dx is dense from 0, dy and y may start at offsets
// (VEC_DB: multiples of 4).
@group(0) @binding(15) var<storage, read_write> dx4: array<vec4<f32>>;

// dy * (y > 0) at vec4 q of dx.
fn relu_gradient4(q: u32) -> vec4<f32> {
    let y_pos = x4[p.x_offset / 4u + q] > vec4<f32>(0.0);
    return dy4[p.dy_offset / 4u + q] * select(vec4<f32>(0.0), vec4<f32>(1.0), y_pos);
}

// With EDGES, a vec4 of dx shared by two planes is written by the one that
// holds its first element, whole (its other elements get the same values;
// dx's buffer holds whole vec4s, its size a multiple of 64 bytes): the
// plane before only reads it, outside the loop, so that the loop's store
// needs no condition (a conditional store cost a third of the kernel).
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_relu_backward_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
    let oc = bias_channel(wid, nwg);
    if (oc >= opaque_dy(p.c_out)) {
        return;
    }
    let plane = opaque_dy(p.oh * p.ow);
    var acc4 = vec4<f32>(0.0);
    var acc1 = 0.0;
    for (var n = lane; n < opaque_dy(p.n); n += WORKGROUP_SIZE) {
        let start = (n * p.c_out + oc) * plane;
        let end = start + plane;
        if (VEC_DB) {
            let owned = (start + 3u) / 4u;
            if (EDGES && start % 4u != 0u) {
                acc4 += in_plane(relu_gradient4(owned - 1u), owned - 1u, start, end);
            }
            for (var q = owned; q < (end + 3u) / 4u; q++) {
                let v = relu_gradient4(q);
                dx4[q] = v;
                acc4 += in_plane(v, q, start, end);
            }
        } else {
            for (var i = start; i < end; i++) {
                let v = dy[p.dy_offset + i] * select(0.0, 1.0, x[p.x_offset + i] > 0.0);
                dx[i] = v;
                acc1 += v;
            }
        }
    }
    store_bias(oc, lane, acc1 + (acc4.x + acc4.y) + (acc4.z + acc4.w));
}

// ---------------------------------------------------------------------------
// Row kernel (conv2d_rows): conv2d for dilation_w 1, stride_w 1 or 2 and
// kernels up to 8 wide, which also computes conv2d_backward_input at
// stride 1 (a convolution of dy with the flipped, transposed filters and
// padding dilation * (k - 1) - padding, negative when it crops).
//
// An invocation takes PQ quads of 4 neighbouring output pixels in a row
// (quads never cross rows; the last of a row may be part-full) and CQ
// quads of output channels: CQ * PQ blocks of 4 x 4. For each input channel
// and kernel row it loads, per pixel quad, the NV aligned vec4s of x that
// hold every tap of that row (one 16-byte load costs about two 4-byte ones
// on lavapipe), zeroes the padding and shifts them into place; kernel
// column kx then takes elements kx, kx + SW, kx + 2 SW, kx + 3 SW (constant
// indices: the column loop is unrolled). So x costs NV vec4 loads per pixel
// quad and row of taps instead of 4 scalar loads per tap, and the weights,
// packed by conv2d_pack_weights as [channel][ky][kx][output channel] with
// the output channels padded to whole blocks, one vec4 per channel quad
// and tap, shared by the PQ pixel quads. Compared with the general kernel
// (16 + 16 scalar loads per 256 multiply-adds) this is 2-3x faster on the
// LeNet and CNN3 shapes.
//
// The shape constants are pipeline constants, so the code for channel or
// pixel quads that do not exist is removed (lavapipe executes both sides of
// a branch).
override CQ: u32 = 4u; // channel quads, 1..4
override PQ: u32 = 4u; // pixel quads, CQ * PQ <= 16
override SW: u32 = 1u; // stride along w, 1 or 2
override NV: u32 = 3u; // vec4s per window, 3 or 4: 3 + 3 SW + kw <= 4 NV
override VEC_Y: bool = false; // ow is a multiple of 4: store quads as vec4s
override VEC2_Y: bool = false; // ow is even: store quads as pairs of vec2s
override KW: u32 = 1u; // kernel width, at most 8 (the column loop is unrolled)

@group(0) @binding(10) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read> wp4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> y2: array<vec2<f32>>;

// Per pixel quad j: (x index of its row for reduction channel 0, first
// input row, first input column, 0); rows and columns may be padding.
var<private> quad_at: array<vec4<i32>, 16>;
// Window of pixel quad j as vec4s 4 j .. 4 j + 3.
var<private> win: array<vec4<f32>, 64>;
// This tap's weights, by channel quad.
var<private> wq: array<vec4<f32>, 4>;

fn opaque_x4(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&x4) == 0u);
}

fn x4_at(q: i32, ix: vec4<i32>, row_ok: bool) -> vec4<f32> {
    let v = x4[clamp(q, 0, i32(arrayLength(&x4)) - 1)];
    let ok = vec4<bool>(row_ok) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(p.w)));
    return select(vec4<f32>(0.0), v, ok);
}

// Elements r .. r + 3 of the 8 in (a, b).
fn align4(a: vec4<f32>, b: vec4<f32>, r: i32) -> vec4<f32> {
    let s1 = vec4<f32>(a.yzw, b.x);
    let s2 = vec4<f32>(a.zw, b.xy);
    let s3 = vec4<f32>(a.w, b.xyz);
    return select(select(select(a, s1, r == 1), s2, r == 2), s3, r == 3);
}

// Loads the window of pixel quad j for the tap row at storage offset `off`
// (channel and kernel row) and input row offset ty.
fn load_window(j: u32, off: i32, ty: i32) {
    let g = quad_at[j];
    load_win(j, g.x + off + g.z, g.y + ty, g.z);
}

// win[4 slot ..] = x[e ..], a window starting at input row iy, column ix,
// with the elements in the padding zeroed.
fn load_win(slot: u32, e: i32, iy: i32, ix0: i32) {
    let row_ok = iy >= 0 && iy < i32(p.h);
    let q = e >> 2u;
    let r = e & 3;
    // Input column of each element of the vec4 at q.
    let ix = vec4<i32>(ix0 - r) + vec4<i32>(0, 1, 2, 3);
    var v0 = vec4<f32>(0.0);
    var v1 = vec4<f32>(0.0);
    var v2 = vec4<f32>(0.0);
    var v3 = vec4<f32>(0.0);
    // Lanes whose row is padding skip the loads (each lane's load is its
    // own step on lavapipe).
    if (row_ok) {
        v0 = x4_at(q, ix, true);
        v1 = x4_at(q + 1, ix + 4, true);
        v2 = x4_at(q + 2, ix + 8, true);
        if (NV > 3u) {
            v3 = x4_at(q + 3, ix + 12, true);
        }
    }
    let i = 4u * slot;
    win[i] = align4(v0, v1, r);
    win[i + 1u] = align4(v1, v2, r);
    win[i + 2u] = align4(v2, v3, r);
    win[i + 3u] = align4(v3, vec4<f32>(0.0), r);
}

fn acc_index(j: u32, c: u32) -> u32 {
    return min(j * CQ + c, 15u);
}

// Element m of window `slot` (m a constant after inlining).
fn win_elem(slot: u32, m: u32) -> f32 {
    let v = win[4u * slot + min(m / 4u, 3u)];
    return v[m % 4u];
}

// The 4 inputs of window `slot` for kernel column kx (a constant).
fn win_at(slot: u32, kx: u32) -> vec4<f32> {
    return vec4<f32>(win_elem(slot, kx), win_elem(slot, kx + SW), win_elem(slot, kx + 2u * SW), win_elem(slot, kx + 3u * SW));
}

fn row_tap_k(j: u32, kx: u32) {
    let v = win_at(j, kx);
    let a = acc_index(j, 0u);
    acc[a] += mat4x4<f32>(v * wq[0].x, v * wq[0].y, v * wq[0].z, v * wq[0].w);
    if (CQ > 1u) {
        let b = acc_index(j, 1u);
        acc[b] += mat4x4<f32>(v * wq[1].x, v * wq[1].y, v * wq[1].z, v * wq[1].w);
    }
    if (CQ > 2u) {
        let b = acc_index(j, 2u);
        acc[b] += mat4x4<f32>(v * wq[2].x, v * wq[2].y, v * wq[2].z, v * wq[2].w);
    }
    if (CQ > 3u) {
        let b = acc_index(j, 3u);
        acc[b] += mat4x4<f32>(v * wq[3].x, v * wq[3].y, v * wq[3].z, v * wq[3].w);
    }
}

// Kernel column kx (a constant) for all pixel quads; wi: its weights.
fn taps_k(kx: u32, wi: u32) {
    wq[0] = wp4[wi];
    if (CQ > 1u) { wq[1] = wp4[wi + 1u]; }
    if (CQ > 2u) { wq[2] = wp4[wi + 2u]; }
    if (CQ > 3u) { wq[3] = wp4[wi + 3u]; }
    row_tap_k(0u, kx);
    if (PQ > 1u) { row_tap_k(1u, kx); }
    if (PQ > 2u) { row_tap_k(2u, kx); }
    if (PQ > 3u) { row_tap_k(3u, kx); }
    if (PQ > 4u) { row_tap_k(4u, kx); }
    if (PQ > 5u) { row_tap_k(5u, kx); }
    if (PQ > 6u) { row_tap_k(6u, kx); }
    if (PQ > 7u) { row_tap_k(7u, kx); }
    if (PQ > 8u) { row_tap_k(8u, kx); }
    if (PQ > 9u) { row_tap_k(9u, kx); }
    if (PQ > 10u) { row_tap_k(10u, kx); }
    if (PQ > 11u) { row_tap_k(11u, kx); }
    if (PQ > 12u) { row_tap_k(12u, kx); }
    if (PQ > 13u) { row_tap_k(13u, kx); }
    if (PQ > 14u) { row_tap_k(14u, kx); }
    if (PQ > 15u) { row_tap_k(15u, kx); }
}

fn load_windows(off: i32, ty: i32) {
    load_window(0u, off, ty);
    if (PQ > 1u) { load_window(1u, off, ty); }
    if (PQ > 2u) { load_window(2u, off, ty); }
    if (PQ > 3u) { load_window(3u, off, ty); }
    if (PQ > 4u) { load_window(4u, off, ty); }
    if (PQ > 5u) { load_window(5u, off, ty); }
    if (PQ > 6u) { load_window(6u, off, ty); }
    if (PQ > 7u) { load_window(7u, off, ty); }
    if (PQ > 8u) { load_window(8u, off, ty); }
    if (PQ > 9u) { load_window(9u, off, ty); }
    if (PQ > 10u) { load_window(10u, off, ty); }
    if (PQ > 11u) { load_window(11u, off, ty); }
    if (PQ > 12u) { load_window(12u, off, ty); }
    if (PQ > 13u) { load_window(13u, off, ty); }
    if (PQ > 14u) { load_window(14u, off, ty); }
    if (PQ > 15u) { load_window(15u, off, ty); }
}

// Output pixel quad qi (over n, oy, column quad) of conv2d_rows.
struct RowQuad {
    n: u32,
    oy: u32,
    ox: u32,
}

fn row_quad(qi: u32) -> RowQuad {
    let owq = (p.ow + 3u) / 4u;
    let per_n = p.oh * owq;
    return RowQuad(qi / per_n, (qi % per_n) / owq, 4u * ((qi % per_n) % owq));
}

fn init_quad(j: u32, qi: u32, xg: i32) {
    let rq = row_quad(qi);
    let iy = i32(rq.oy * p.stride_h) - bitcast<i32>(p.pad_h);
    let ix = i32(rq.ox * SW) - bitcast<i32>(p.pad_w);
    quad_at[j] = vec4<i32>(i32(rq.n * p.c_in * p.h * p.w) + xg + iy * i32(p.w), iy, ix, 0);
}

// Stores block (pixel quad j, channel quad c): y[n, oc, oy, ox + i] for the
// tile's channels below n_c and columns below ow.
fn store_rows(j: u32, c: u32, qi: u32, nq: u32, oc0: u32, n_c: u32, live: bool) {
    if (!live || qi + j >= nq) {
        return;
    }
    let rq = row_quad(qi + j);
    let m = acc[acc_index(j, c)];
    let ohw = p.oh * p.ow;
    let at = (rq.n * p.c_out + oc0 + 4u * c) * ohw + rq.oy * p.ow + rq.ox;
    let count = min(4u, p.ow - rq.ox);
    // select, not a branch on the uniform: see `opaque`.
    let bi = min(vec4<u32>(p.b_offset + oc0 + 4u * c) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(arrayLength(&b) - 1u));
    let bias = select(vec4<f32>(0.0), vec4<f32>(b[bi.x], b[bi.y], b[bi.z], b[bi.w]), p.has_bias != 0u);
    if (4u * c < n_c) {
        put_y(at, relu_out(m[0] + bias.x), count);
    }
    if (4u * c + 1u < n_c) {
        put_y(at + ohw, relu_out(m[1] + bias.y), count);
    }
    if (4u * c + 2u < n_c) {
        put_y(at + 2u * ohw, relu_out(m[2] + bias.z), count);
    }
    if (4u * c + 3u < n_c) {
        put_y(at + 3u * ohw, relu_out(m[3] + bias.w), count);
    }
}

// y[at .. at + count] = the first count elements of v; one 16-byte store
// when rows are whole quads (VEC_Y: ow a multiple of 4), 8-byte ones when
// they are whole pairs (VEC2_Y: ow even, so count is 2 or 4).
fn put_y(at: u32, v: vec4<f32>, count: u32) {
    if (VEC_Y) {
        y4[at / 4u] = v;
        return;
    }
    // Even rows start on 8 bytes: two 8-byte stores instead of four
    // 4-byte ones (each a loop over the lanes on lavapipe).
    if (VEC2_Y) {
        y2[at / 2u] = v.xy;
        if (count > 2u) {
            y2[at / 2u + 1u] = v.zw;
        }
        return;
    }
    y[at] = v.x;
    if (count > 1u) {
        y[at + 1u] = v.y;
    }
    if (count > 2u) {
        y[at + 2u] = v.z;
    }
    if (count > 3u) {
        y[at + 3u] = v.w;
    }
}

fn store_quad_rows(j: u32, qi: u32, nq: u32, oc0: u32, n_c: u32, live: bool) {
    store_rows(j, 0u, qi, nq, oc0, n_c, live);
    if (CQ > 1u) { store_rows(j, 1u, qi, nq, oc0, n_c, live); }
    if (CQ > 2u) { store_rows(j, 2u, qi, nq, oc0, n_c, live); }
    if (CQ > 3u) { store_rows(j, 3u, qi, nq, oc0, n_c, live); }
}

// Threads: (group, block of 4 CQ output channels, block of PQ pixel quads),
// pixel quads fastest. Params as for conv2d, except that the paddings are
// i32 (negative for the backward pass's convolution), `splits` is the
// packed filter's channel count (a multiple of 4 CQ) and the weights come
// packed in wp4.
@compute @workgroup_size(LANES)
fn conv2d_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t_raw = gemm_thread(wid, lid, nwg);
    let live = t_raw < p.threads;
    let t = min(t_raw, p.threads - 1u);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let nq = p.n * p.oh * ((p.ow + 3u) / 4u);
    let qblocks = (nq + PQ - 1u) / PQ;
    let cpad = p.splits;
    let cblocks = cpad / (4u * CQ);
    let qb = t % qblocks;
    let cb = (t / qblocks) % cblocks;
    let g = t / (qblocks * cblocks);
    let hw = p.h * p.w;
    let xg = i32(p.x_offset + g * cin_g * hw);
    let q0 = qb * PQ;
    init_quad(0u, min(q0, nq - 1u), xg);
    if (PQ > 1u) { init_quad(1u, min(q0 + 1u, nq - 1u), xg); }
    if (PQ > 2u) { init_quad(2u, min(q0 + 2u, nq - 1u), xg); }
    if (PQ > 3u) { init_quad(3u, min(q0 + 3u, nq - 1u), xg); }
    if (PQ > 4u) { init_quad(4u, min(q0 + 4u, nq - 1u), xg); }
    if (PQ > 5u) { init_quad(5u, min(q0 + 5u, nq - 1u), xg); }
    if (PQ > 6u) { init_quad(6u, min(q0 + 6u, nq - 1u), xg); }
    if (PQ > 7u) { init_quad(7u, min(q0 + 7u, nq - 1u), xg); }
    if (PQ > 8u) { init_quad(8u, min(q0 + 8u, nq - 1u), xg); }
    if (PQ > 9u) { init_quad(9u, min(q0 + 9u, nq - 1u), xg); }
    if (PQ > 10u) { init_quad(10u, min(q0 + 10u, nq - 1u), xg); }
    if (PQ > 11u) { init_quad(11u, min(q0 + 11u, nq - 1u), xg); }
    if (PQ > 12u) { init_quad(12u, min(q0 + 12u, nq - 1u), xg); }
    if (PQ > 13u) { init_quad(13u, min(q0 + 13u, nq - 1u), xg); }
    if (PQ > 14u) { init_quad(14u, min(q0 + 14u, nq - 1u), xg); }
    if (PQ > 15u) { init_quad(15u, min(q0 + 15u, nq - 1u), xg); }
    let cpad4 = cpad / 4u;
    let steps = opaque_x4(cin_g * p.kh);
    let wg = (g * cin_g * p.kh * p.kw) * cpad4 + cb * CQ;
    var ci = 0u;
    var ky = 0u;
    var wi = wg;
    for (var s = 0u; s < steps; s++) {
        let ty = i32(ky * p.dil_h);
        load_windows(i32(ci * hw) + ty * i32(p.w), ty);
        taps_k(0u, wi);
        if (KW > 1u) { taps_k(1u, wi + cpad4); }
        if (KW > 2u) { taps_k(2u, wi + 2u * cpad4); }
        if (KW > 3u) { taps_k(3u, wi + 3u * cpad4); }
        if (KW > 4u) { taps_k(4u, wi + 4u * cpad4); }
        if (KW > 5u) { taps_k(5u, wi + 5u * cpad4); }
        if (KW > 6u) { taps_k(6u, wi + 6u * cpad4); }
        if (KW > 7u) { taps_k(7u, wi + 7u * cpad4); }
        wi += KW * cpad4;
        ky += 1u;
        if (ky == p.kh) {
            ky = 0u;
            ci += 1u;
        }
    }
    let c0 = cb * 4u * CQ;
    let oc0 = g * cout_g + c0;
    let n_c = min(4u * CQ, cout_g - min(c0, cout_g));
    store_quad_rows(0u, q0, nq, oc0, n_c, live);
    if (PQ > 1u) { store_quad_rows(1u, q0, nq, oc0, n_c, live); }
    if (PQ > 2u) { store_quad_rows(2u, q0, nq, oc0, n_c, live); }
    if (PQ > 3u) { store_quad_rows(3u, q0, nq, oc0, n_c, live); }
    if (PQ > 4u) { store_quad_rows(4u, q0, nq, oc0, n_c, live); }
    if (PQ > 5u) { store_quad_rows(5u, q0, nq, oc0, n_c, live); }
    if (PQ > 6u) { store_quad_rows(6u, q0, nq, oc0, n_c, live); }
    if (PQ > 7u) { store_quad_rows(7u, q0, nq, oc0, n_c, live); }
    if (PQ > 8u) { store_quad_rows(8u, q0, nq, oc0, n_c, live); }
    if (PQ > 9u) { store_quad_rows(9u, q0, nq, oc0, n_c, live); }
    if (PQ > 10u) { store_quad_rows(10u, q0, nq, oc0, n_c, live); }
    if (PQ > 11u) { store_quad_rows(11u, q0, nq, oc0, n_c, live); }
    if (PQ > 12u) { store_quad_rows(12u, q0, nq, oc0, n_c, live); }
    if (PQ > 13u) { store_quad_rows(13u, q0, nq, oc0, n_c, live); }
    if (PQ > 14u) { store_quad_rows(14u, q0, nq, oc0, n_c, live); }
    if (PQ > 15u) { store_quad_rows(15u, q0, nq, oc0, n_c, live); }
}

// Packs filters for conv2d_rows: dw[g, c, ky, kx, o] (o padded to
// p.splits with zeros) = w[g cout_g + o, c, ky, kx], or, for the backward
// pass (has_bias = 1), w[g cout_g + c, o, kh - 1 - ky, kw - 1 - kx] with
// cout_g, cin_g the forward convolution's. c_in, c_out and groups are the
// forward convolution's.
@compute @workgroup_size(WORKGROUP_SIZE)
fn conv2d_pack_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.threads) {
        return;
    }
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let back = p.has_bias != 0u;
    // Reduction and output channels per group of the packed convolution.
    let red = select(cin_g, cout_g, back);
    let outs = select(cout_g, cin_g, back);
    let kk = p.kh * p.kw;
    let o = i % p.splits;
    var rest = i / p.splits;
    let tap = rest % kk;
    rest /= kk;
    let c = rest % red;
    let g = rest / red;
    // Selects, not branches on the uniform has_bias (see `opaque_x`).
    let at_back = ((g * cout_g + c) * cin_g + o) * kk + (kk - 1u - tap);
    let at_fwd = ((g * cout_g + o) * cin_g + c) * kk + tap;
    let at = min(p.w_offset + select(at_fwd, at_back, back), arrayLength(&w) - 1u);
    dw[i] = select(0.0, w[at], o < outs);
}

// ---------------------------------------------------------------------------
// Row kernel of conv2d_backward_weight (conv2d_backward_weight_rows), for the
// shapes conv2d_rows takes: dw[oc, ci, ky, kx] = sum over output pixels of
// dy[n, oc, oy, ox] * x[n, ci, oy sh - ph + ky dh, ox sw - pw + kx].
//
// An invocation owns CQ quads of output channels and TR tap rows (ci, ky),
// each with its 4 TQ >= kw kernel columns, and runs over a chunk of the
// output's pixel quads (4 neighbours in a row, as in conv2d_rows). Per
// pixel quad it loads the 4 CQ dy quads and, per tap row, the x window of
// conv2d_rows; a 4 x 4 block (4 channels x 4 kernel columns) then adds
// dyᵀ (4 channels x 4 pixels) times x (4 pixels x 4 columns): 64
// multiply-adds per block, the pixel sum inside the matrix product.
// dy's rows must be whole, 16-byte aligned quads (ow a multiple of 4 and
// an aligned offset): unaligned, two loads and a shuffle per quad made it
// slower than the general kernel. The host keeps to about 16 blocks; more
// spill out of registers and ran slower.
override TR: u32 = 1u; // tap rows, TR * TQ * CQ <= 64
override TQ: u32 = 1u; // quads of kernel columns, 1 or 2

@group(0) @binding(13) var<storage, read> dy4: array<vec4<f32>>;

// Block (tap row r, column quad tq, channel quad c) at (r TQ + tq) CQ + c:
// column t is kernel column 4 tq + t, row k channel 4 c + k.
var<private> wacc: array<mat4x4<f32>, 64>;
// This pixel quad's dy as 4 x 4 blocks, one per channel quad: column i is
// pixel i, row k channel 4 c + k.
var<private> dq: array<mat4x4<f32>, 4>;
// Per tap row: (storage offset of (ci, ky) from the window's start for ci
// 0, row offset ky dh).
var<private> trow: array<vec2<i32>, 16>;

fn opaque_dy4(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&dy4) == 0u);
}

// dy[e .. e + 4] (e a multiple of 4), lanes from `count` on zero.
fn dy_quad4(e: u32, count: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), dy4[e / 4u], vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(count));
}

fn wacc_index(r: u32, tq: u32, c: u32) -> u32 {
    return min((r * TQ + tq) * CQ + c, 63u);
}

fn wrow_quad(r: u32, tq: u32) {
    let k = 4u * tq;
    let x = mat4x4<f32>(win_at(r, k), win_at(r, k + 1u), win_at(r, k + 2u), win_at(r, k + 3u));
    wacc[wacc_index(r, tq, 0u)] += dq[0] * x;
    if (CQ > 1u) {
        wacc[wacc_index(r, tq, 1u)] += dq[1] * x;
    }
    if (CQ > 2u) {
        wacc[wacc_index(r, tq, 2u)] += dq[2] * x;
    }
    if (CQ > 3u) {
        wacc[wacc_index(r, tq, 3u)] += dq[3] * x;
    }
}

// Tap row r for the pixel quad whose windows start at storage index e,
// input row iy, column ix.
fn wrow(r: u32, e: i32, iy: i32, ix: i32) {
    let t = trow[r];
    load_win(r, e + t.x, iy + t.y, ix);
    wrow_quad(r, 0u);
    if (TQ > 1u) {
        wrow_quad(r, 1u);
    }
}

fn wrows(e: i32, iy: i32, ix: i32) {
    wrow(0u, e, iy, ix);
    if (TR > 1u) { wrow(1u, e, iy, ix); }
    if (TR > 2u) { wrow(2u, e, iy, ix); }
    if (TR > 3u) { wrow(3u, e, iy, ix); }
    if (TR > 4u) { wrow(4u, e, iy, ix); }
    if (TR > 5u) { wrow(5u, e, iy, ix); }
    if (TR > 6u) { wrow(6u, e, iy, ix); }
    if (TR > 7u) { wrow(7u, e, iy, ix); }
    if (TR > 8u) { wrow(8u, e, iy, ix); }
    if (TR > 9u) { wrow(9u, e, iy, ix); }
    if (TR > 10u) { wrow(10u, e, iy, ix); }
    if (TR > 11u) { wrow(11u, e, iy, ix); }
    if (TR > 12u) { wrow(12u, e, iy, ix); }
    if (TR > 13u) { wrow(13u, e, iy, ix); }
    if (TR > 14u) { wrow(14u, e, iy, ix); }
    if (TR > 15u) { wrow(15u, e, iy, ix); }
}

// The dy block of channel quad c: channels c0 + 4 c + k (clamped to the
// group's last) at storage index e + channel * ohw.
fn load_dq(c: u32, e: u32, c0: u32, last: u32, count: u32) {
    let ohw = p.oh * p.ow;
    let ch = min(vec4<u32>(c0 + 4u * c) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * ohw + e;
    dq[c] = transpose(mat4x4<f32>(dy_quad4(ch.x, count), dy_quad4(ch.y, count), dy_quad4(ch.z, count), dy_quad4(ch.w, count)));
}

// Stores block (r, tq, c) into dw (or chunk `base`'s partial sums): rows
// below n_c channels, columns below kw, tap rows below `rows`. Column by
// column at constant indices (see `store_y`).
fn store_wblock(r: u32, tq: u32, c: u32, tr0: u32, rows: u32, n_c: u32, oc0: u32, base: u32, live: bool) {
    if (!live || tr0 + r >= rows) {
        return;
    }
    let m = wacc[wacc_index(r, tq, c)];
    let fsize = rows * p.kw;
    let at = base + (oc0 + 4u * c) * fsize + (tr0 + r) * p.kw + 4u * tq;
    let cols = opaque_dy4(min(4u, p.kw - min(4u * tq, p.kw)));
    let channels = vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n_c);
    let offsets = vec4<u32>(at) + vec4<u32>(0u, 1u, 2u, 3u) * fsize;
    store_dw_column(m[0], channels & vec4<bool>(cols > 0u), offsets);
    store_dw_column(m[1], channels & vec4<bool>(cols > 1u), offsets + 1u);
    store_dw_column(m[2], channels & vec4<bool>(cols > 2u), offsets + 2u);
    store_dw_column(m[3], channels & vec4<bool>(cols > 3u), offsets + 3u);
}

fn store_wrow(r: u32, tr0: u32, rows: u32, n_c: u32, oc0: u32, base: u32, live: bool) {
    store_wblock(r, 0u, 0u, tr0, rows, n_c, oc0, base, live);
    if (CQ > 1u) { store_wblock(r, 0u, 1u, tr0, rows, n_c, oc0, base, live); }
    if (CQ > 2u) { store_wblock(r, 0u, 2u, tr0, rows, n_c, oc0, base, live); }
    if (CQ > 3u) { store_wblock(r, 0u, 3u, tr0, rows, n_c, oc0, base, live); }
    if (TQ > 1u) {
        store_wblock(r, 1u, 0u, tr0, rows, n_c, oc0, base, live);
        if (CQ > 1u) { store_wblock(r, 1u, 1u, tr0, rows, n_c, oc0, base, live); }
        if (CQ > 2u) { store_wblock(r, 1u, 2u, tr0, rows, n_c, oc0, base, live); }
        if (CQ > 3u) { store_wblock(r, 1u, 3u, tr0, rows, n_c, oc0, base, live); }
    }
}

fn init_trow(r: u32, tr0: u32, rows: u32) {
    let tr = min(tr0 + r, rows - 1u);
    let ky = tr % p.kh;
    let ty = i32(ky * p.dil_h);
    trow[r] = vec2<i32>(i32((tr / p.kh) * p.h * p.w) + ty * i32(p.w), ty);
}

// Threads: (chunk of pixel quads, group, block of 4 CQ output channels,
// block of TR tap rows), tap rows fastest. Params as for conv2d_backward_weight
// (`splits` chunks of `chunk` pixel quads); x comes as x4, dy as dy4.
@compute @workgroup_size(LANES)
fn conv2d_backward_weight_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t_raw = gemm_thread(wid, lid, nwg);
    let live = t_raw < p.threads;
    let t = min(t_raw, p.threads - 1u);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let rows = cin_g * p.kh;
    let rblocks = (rows + TR - 1u) / TR;
    let cblocks = (cout_g + 4u * CQ - 1u) / (4u * CQ);
    let rb = t % rblocks;
    var rest = t / rblocks;
    let cb = rest % cblocks;
    rest /= cblocks;
    let g = rest % p.groups;
    let chunk = rest / p.groups;
    let tr0 = rb * TR;
    init_trow(0u, tr0, rows);
    if (TR > 1u) { init_trow(1u, tr0, rows); }
    if (TR > 2u) { init_trow(2u, tr0, rows); }
    if (TR > 3u) { init_trow(3u, tr0, rows); }
    if (TR > 4u) { init_trow(4u, tr0, rows); }
    if (TR > 5u) { init_trow(5u, tr0, rows); }
    if (TR > 6u) { init_trow(6u, tr0, rows); }
    if (TR > 7u) { init_trow(7u, tr0, rows); }
    if (TR > 8u) { init_trow(8u, tr0, rows); }
    if (TR > 9u) { init_trow(9u, tr0, rows); }
    if (TR > 10u) { init_trow(10u, tr0, rows); }
    if (TR > 11u) { init_trow(11u, tr0, rows); }
    if (TR > 12u) { init_trow(12u, tr0, rows); }
    if (TR > 13u) { init_trow(13u, tr0, rows); }
    if (TR > 14u) { init_trow(14u, tr0, rows); }
    if (TR > 15u) { init_trow(15u, tr0, rows); }
    let c0 = cb * 4u * CQ;
    let n_c = min(4u * CQ, cout_g - min(c0, cout_g));
    let ohw = p.oh * p.ow;
    let hw = p.h * p.w;
    let owq = (p.ow + 3u) / 4u;
    let nq = p.n * p.oh * owq;
    let first = min(chunk * p.chunk, nq);
    let count = opaque_dy4(min(p.chunk, nq - first));
    var n = first / (p.oh * owq);
    var oy = (first % (p.oh * owq)) / owq;
    var ox = 4u * (first % owq);
    let ph = bitcast<i32>(p.pad_h);
    let pw = bitcast<i32>(p.pad_w);
    let xg = i32(p.x_offset + g * cin_g * hw);
    for (var i = 0u; i < count; i++) {
        let e = p.dy_offset + (n * p.c_out + g * cout_g) * ohw + oy * p.ow + ox;
        let px = min(4u, p.ow - ox);
        load_dq(0u, e, c0, cout_g - 1u, px);
        if (CQ > 1u) { load_dq(1u, e, c0, cout_g - 1u, px); }
        if (CQ > 2u) { load_dq(2u, e, c0, cout_g - 1u, px); }
        if (CQ > 3u) { load_dq(3u, e, c0, cout_g - 1u, px); }
        let iy = i32(oy * p.stride_h) - ph;
        let ix = i32(ox * SW) - pw;
        wrows(i32(n * p.c_in * hw) + xg + iy * i32(p.w) + ix, iy, ix);
        ox += 4u;
        if (ox >= p.ow) {
            ox = 0u;
            oy += 1u;
            if (oy == p.oh) {
                oy = 0u;
                n += 1u;
            }
        }
    }
    let base = select(0u, chunk * p.c_out * rows * p.kw, p.splits > 1u);
    let oc0 = g * cout_g + c0;
    store_wrow(0u, tr0, rows, n_c, oc0, base, live);
    if (TR > 1u) { store_wrow(1u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 2u) { store_wrow(2u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 3u) { store_wrow(3u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 4u) { store_wrow(4u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 5u) { store_wrow(5u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 6u) { store_wrow(6u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 7u) { store_wrow(7u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 8u) { store_wrow(8u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 9u) { store_wrow(9u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 10u) { store_wrow(10u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 11u) { store_wrow(11u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 12u) { store_wrow(12u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 13u) { store_wrow(13u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 14u) { store_wrow(14u, tr0, rows, n_c, oc0, base, live); }
    if (TR > 15u) { store_wrow(15u, tr0, rows, n_c, oc0, base, live); }
}
