// 2-D max and average pooling over NCHW planes, forward and backward.
//
// Window (oy, ox) of a plane covers rows oy*sh - ph + ky*dh (ky < kh) and
// columns ox*sw - pw + kx*dw (kx < kw); positions outside the input are
// padding: -inf for max pooling, 0 for average pooling.
//
//   max_pool2d:          y = the window's maximum; indices = its flat index
//                        iy*W + ix within the plane (PyTorch's
//                        `return_indices`). Scan order is row-major and
//                        only a strictly greater value (or a NaN) replaces
//                        the best, so ties keep the first, as in PyTorch.
//   max_pool2d_backward: dx[iy, ix] = sum of dy over the windows whose
//                        saved index is iy*W + ix (a scatter over the
//                        outputs when windows do not overlap).
//   avg_pool2d:          y = window sum / divisor (see `divisor`).
//   avg_pool2d_backward: dx[iy, ix] = sum over windows covering (iy, ix)
//                        of dy / divisor.
//
// Backward passes are gathers, each dx element computed by one invocation
// from the windows that could contain it: WGSL has no float atomics, and an
// element owned by one invocation needs no zero-fill pass either. The
// exception is max pooling with windows that do not overlap, where a
// scatter cannot collide (max_pool2d_backward_scatter); for 2-wide windows
// at column stride 2 over widths that are multiples of 8 a vec4 gather
// (max_pool2d_backward_w2) is faster still and needs no fill.
//
// Every kernel takes many output elements per invocation (`row_span`), as
// in binary.wgsl (see there for why).

const WORKGROUP_SIZE: u32 = 256u;

struct Params {
    planes: u32, // n * c
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    stride_h: u32,
    stride_w: u32,
    pad_h: u32,
    pad_w: u32,
    dil_h: u32,
    dil_w: u32,
    x_offset: u32,
    dy_offset: u32,
    indices_offset: u32,
    count_include_pad: u32,
    numel: u32, // invocations: elements of y (forward) or dx (backward)
    _pad0: u32,
    _pad1: u32,
    // div_by's (multiplier, shift) pairs: (ow, oh), (w, h), (stride_h,
    // stride_w), (ow / 4, w / 8).
    div: array<vec4<u32>, 4>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// Written by max_pool2d, read by max_pool2d_backward.
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
// x, y and indices four at a time, for max_pool2d_w2.
@group(0) @binding(6) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> indices4: array<vec4<i32>>;
// dy, indices and dx four at a time, for max_pool2d_backward_w2.
@group(0) @binding(9) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> indices4r: array<vec4<i32>>;
@group(0) @binding(11) var<storage, read_write> dx4: array<vec4<f32>>;

// The parameters, read once per invocation (inside the loops, each read
// would be a per-lane gather on lavapipe, as the loops' stores may alias
// them) in a form lavapipe cannot see through: lavapipe (Mesa 22.3) specialises a shader on uniforms that bound its loops
// or decide its branches and recompiles it at every dispatch (about 1 ms);
// a value that also depends on a buffer's length is not a uniform to it.
struct Win {
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    dh: u32,
    dw: u32,
    count_include_pad: bool,
    numel: u32,
    div_ow: vec2<u32>,
    div_oh: vec2<u32>,
    div_w: vec2<u32>,
    div_h: vec2<u32>,
    div_sh: vec2<u32>,
    div_sw: vec2<u32>,
    div_ow4: vec2<u32>,
    div_w8: vec2<u32>,
    x_offset: u32,
    dy_offset: u32,
    indices_offset: u32,
}

// `len` is the length of the kernel's output buffer (never 0 when it runs).
fn window(len: u32) -> Win {
    let z = len == 0u;
    return Win(
        select(p.h, 0u, z),
        select(p.w, 0u, z),
        select(p.oh, 0u, z),
        select(p.ow, 0u, z),
        select(p.kh, 0u, z),
        select(p.kw, 0u, z),
        select(p.stride_h, 1u, z),
        select(p.stride_w, 1u, z),
        select(p.pad_h, 0u, z),
        select(p.pad_w, 0u, z),
        select(p.dil_h, 1u, z),
        select(p.dil_w, 1u, z),
        select(p.count_include_pad, 0u, z) != 0u,
        select(p.numel, 0u, z),
        p.div[0].xy,
        p.div[0].zw,
        p.div[1].xy,
        p.div[1].zw,
        p.div[2].xy,
        p.div[2].zw,
        p.div[3].xy,
        p.div[3].zw,
        p.x_offset,
        p.dy_offset,
        p.indices_offset,
    );
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

fn div2(n: u32, d: vec2<u32>) -> u32 {
    return div_by(n, d.x, d.y);
}

// (column, row, plane) of element i of [planes, rows, cols] tensors.
fn unravel(i: u32, cols: u32, div_cols: vec2<u32>, rows: u32, div_rows: vec2<u32>) -> vec3<u32> {
    let t = div2(i, div_cols);
    let plane = div2(t, div_rows);
    return vec3<u32>(i - t * cols, t - plane * rows, plane);
}

// The output rows (or columns) whose window can contain input position i:
// o*s - pad <= i <= o*s - pad + span - 1, clamped to [0, out). Returns
// (first, end).
fn windows(i: u32, pad: u32, span: u32, s: u32, div_s: vec2<u32>, out: u32) -> vec2<u32> {
    let hi = i + pad; // o*s <= hi
    let lo = select(0u, hi + 1u - span, hi + 1u >= span); // o*s >= lo, clamped at 0
    let first = div2(lo + s - 1u, div_s);
    return vec2<u32>(first, min(div2(hi, div_s) + 1u, out));
}

// The range [start, end) of items (in steps of 8) that invocation `g` of
// `groups` (a power of two) workgroups handles out of `n`; see binary.wgsl.
fn row_span(g: u32, groups: u32, n: u32) -> vec2<u32> {
    let rows = groups * (WORKGROUP_SIZE / 8u);
    let per_row = (((n + rows - 1u) >> countTrailingZeros(rows)) + 7u) & ~7u;
    let row_start = (g / 8u) * per_row;
    return vec2<u32>(row_start + g % 8u, min(row_start + per_row, n));
}

fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&y));
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let o = unravel(i, q.ow, q.div_ow, q.oh, q.div_oh);
        let ox = o.x;
        let oy = o.y;
        let base = q.x_offset + o.z * q.h * q.w;
        let y0 = i32(oy * q.sh) - i32(q.ph);
        let x0 = i32(ox * q.sw) - i32(q.pw);
        // As PyTorch: the first in-bounds tap is the best so far whatever
        // its value, so a window of -inf values still points inside it.
        var best = bitcast<f32>(0xff800000u); // -inf
        var best_i = -1;
        for (var ky = 0u; ky < q.kh; ky++) {
            let iy = y0 + i32(ky * q.dh);
            if (iy < 0 || iy >= i32(q.h)) {
                continue;
            }
            for (var kx = 0u; kx < q.kw; kx++) {
                let ix = x0 + i32(kx * q.dw);
                if (ix < 0 || ix >= i32(q.w)) {
                    continue;
                }
                let flat = iy * i32(q.w) + ix;
                let v = x[base + u32(flat)];
                // A NaN always wins, as in PyTorch. (The bit test because naga
                // writes `v != v` as an ordered compare, false for NaN.)
                if (v > best || is_nan(v) || best_i < 0) {
                    best = v;
                    best_i = flat;
                }
            }
        }
        y[i] = best;
        indices[i] = best_i;
    }
}

fn is_nan4(v: vec4<f32>) -> vec4<bool> {
    return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

// max_pool2d for windows two columns wide at column stride 2, without column
// padding or dilation (2 x 2 pooling, LeNet's and most CNNs'), four
// neighbouring outputs of a row per item: their 8 input columns are two vec4
// loads per window row and the outputs one vec4 store each, where the
// general kernel moves every value alone (lavapipe moves a vec4 for little
// more than a scalar). The host checks that w and ow are multiples of 4
// (x is dense from offset 0), so every vec4 is aligned and inside its row.
// Same scan order, tie and NaN rules as max_pool2d.
@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d_w2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&y4));
    let ow4 = q.ow / 4u;
    // q.numel counts items: planes * oh * ow4, in that order.
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let o = unravel(i, ow4, q.div_ow4, q.oh, q.div_oh);
        let x0 = o.x * 8u;
        let base = q.x_offset + o.z * q.h * q.w + x0;
        let y0 = i32(o.y * q.sh) - i32(q.ph);
        let cols = vec4<i32>(0, 2, 4, 6) + i32(x0);
        var best = vec4<f32>(bitcast<f32>(0xff800000u)); // -inf
        var best_i = vec4<i32>(-1);
        for (var ky = 0u; ky < q.kh; ky++) {
            let iy = y0 + i32(ky * q.dh);
            if (iy < 0 || iy >= i32(q.h)) {
                continue;
            }
            let at = (base + u32(iy) * q.w) / 4u;
            let a = x4[at];
            let b = x4[at + 1u];
            let flat = iy * i32(q.w) + cols;
            // Column 0 of each window, then column 1 (row-major scan order).
            let left = vec4<f32>(a.x, a.z, b.x, b.z);
            let take_left = (left > best) | is_nan4(left) | (best_i < vec4<i32>(0));
            best = select(best, left, take_left);
            best_i = select(best_i, flat, take_left);
            let right = vec4<f32>(a.y, a.w, b.y, b.w);
            let take_right = (right > best) | is_nan4(right);
            best = select(best, right, take_right);
            best_i = select(best_i, flat + vec4<i32>(1), take_right);
        }
        y4[i] = best;
        indices4[i] = best_i;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&dx));
    let span_h = (q.kh - 1u) * q.dh + 1u;
    let span_w = (q.kw - 1u) * q.dw + 1u;
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let c = unravel(i, q.w, q.div_w, q.h, q.div_h);
        let ix = c.x;
        let iy = c.y;
        let flat = i32(iy * q.w + ix);
        let rows = windows(iy, q.ph, span_h, q.sh, q.div_sh, q.oh);
        let cols = windows(ix, q.pw, span_w, q.sw, q.div_sw, q.ow);
        let out = c.z * q.oh * q.ow;
        var acc = 0.0;
        for (var oy = rows.x; oy < rows.y; oy++) {
            for (var ox = cols.x; ox < cols.y; ox++) {
                let o = out + oy * q.ow + ox;
                if (indices[q.indices_offset + o] == flat) {
                    acc += dy[q.dy_offset + o];
                }
            }
        }
        dx[i] = acc;
    }
}

// max_pool2d_backward when no two windows overlap (stride >= dilated kernel
// in both directions, chosen on the host), over the outputs instead of dx:
// each input position lies in at most one window, so each output writes its
// dy straight to the position its saved index names and no two outputs
// write one element. dx is zero-filled before (ops/pool2d.rs). An index
// outside the plane (which max_pool2d never saves) is skipped.
@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d_backward_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&dx));
    let plane_size = q.h * q.w;
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let plane = unravel(i, q.ow, q.div_ow, q.oh, q.div_oh).z;
        let at = indices[q.indices_offset + i];
        if (at >= 0 && u32(at) < plane_size) {
            dx[plane * plane_size + u32(at)] = dy[q.dy_offset + i];
        }
    }
}

// max_pool2d_backward when no two windows overlap and they are two columns
// wide at column stride 2 without column padding or dilation, for widths
// that are multiples of 8 (so ow = w / 2 is a multiple of 4): a gather over
// eight neighbouring dx elements of a row per item, which writes every
// element and so needs no zero-fill pass (two dispatches become one).
// Element (iy, ix) can only have been picked by window ((iy + ph) / sh,
// ix / 2), the one whose rows and columns would contain it: it takes that
// window's dy if the window's saved index names it, else 0. A window row
// past oh is clamped to the last, whose index names a position in its own
// rows, never this one. An item's four windows are one vec4 of dy and one
// of the indices (dense from offset 0, so aligned), its dx two vec4s: 4
// memory accesses per 8 elements, where the fill and the scatter take 8.
@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d_backward_w2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&dx4));
    // q.numel counts items: planes * h * (w / 8), in that order.
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let c = unravel(i, q.w / 8u, q.div_w8, q.h, q.div_h);
        let ix = 8u * c.x;
        let oy = div2(c.y + q.ph, q.div_sh);
        // Windows (oy, ix / 2) to (oy, ix / 2 + 3).
        let o = (c.z * q.oh + min(oy, q.oh - 1u)) * q.ow + ix / 2u;
        let g = dy4[(q.dy_offset + o) / 4u];
        let k = indices4r[(q.indices_offset + o) / 4u];
        let flat = vec4<i32>(i32(c.y * q.w + ix)) + vec4<i32>(0, 1, 2, 3);
        let low = vec4<i32>(k.x, k.x, k.y, k.y) == flat;
        let high = vec4<i32>(k.z, k.z, k.w, k.w) == flat + vec4<i32>(4);
        dx4[2u * i] = select(vec4<f32>(0.0), vec4<f32>(g.x, g.x, g.y, g.y), low);
        dx4[2u * i + 1u] = select(vec4<f32>(0.0), vec4<f32>(g.z, g.z, g.w, g.w), high);
    }
}

// PyTorch's divisor for window (oy, ox): the window clipped to the padded
// input (it can stick out past it in ceil mode), then, without
// count_include_pad, clipped to the input itself.
fn divisor(q: Win, oy: u32, ox: u32) -> f32 {
    let y0 = i32(oy * q.sh) - i32(q.ph);
    let x0 = i32(ox * q.sw) - i32(q.pw);
    var y1 = min(y0 + i32(q.kh), i32(q.h + q.ph));
    var x1 = min(x0 + i32(q.kw), i32(q.w + q.pw));
    if (q.count_include_pad) {
        return f32((y1 - y0) * (x1 - x0));
    }
    y1 = min(y1, i32(q.h));
    x1 = min(x1, i32(q.w));
    return f32((y1 - max(y0, 0)) * (x1 - max(x0, 0)));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avg_pool2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&y));
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let o = unravel(i, q.ow, q.div_ow, q.oh, q.div_oh);
        let ox = o.x;
        let oy = o.y;
        let base = q.x_offset + o.z * q.h * q.w;
        let y0 = i32(oy * q.sh) - i32(q.ph);
        let x0 = i32(ox * q.sw) - i32(q.pw);
        let ys = u32(max(y0, 0));
        let ye = u32(clamp(y0 + i32(q.kh), 0, i32(q.h)));
        let xs = u32(max(x0, 0));
        let xe = u32(clamp(x0 + i32(q.kw), 0, i32(q.w)));
        var acc = 0.0;
        for (var iy = ys; iy < ye; iy++) {
            for (var ix = xs; ix < xe; ix++) {
                acc += x[base + iy * q.w + ix];
            }
        }
        y[i] = acc / divisor(q, oy, ox);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avg_pool2d_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = window(arrayLength(&dx));
    let span = row_span(gid.x, nwg.x, q.numel);
    for (var i = span.x; i < span.y; i += 8u) {
        let c = unravel(i, q.w, q.div_w, q.h, q.div_h);
        let rows = windows(c.y, q.ph, q.kh, q.sh, q.div_sh, q.oh);
        let cols = windows(c.x, q.pw, q.kw, q.sw, q.div_sw, q.ow);
        let out = q.dy_offset + c.z * q.oh * q.ow;
        var acc = 0.0;
        for (var oy = rows.x; oy < rows.y; oy++) {
            for (var ox = cols.x; ox < cols.y; ox++) {
                acc += dy[out + oy * q.ow + ox] / divisor(q, oy, ox);
            }
        }
        dx[i] = acc;
    }
}
