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
//                        saved index is iy*W + ix.
//   avg_pool2d:          y = window sum / divisor (see `divisor`).
//   avg_pool2d_backward: dx[iy, ix] = sum over windows covering (iy, ix)
//                        of dy / divisor.
//
// Backward passes are gathers, one invocation per dx element, over the
// windows that could contain it: WGSL has no float atomics, and each dx
// element owned by one invocation needs no zero-fill pass either.

const WORKGROUP_SIZE: u32 = 64u;

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// Written by max_pool2d, read by max_pool2d_backward.
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// The output rows (or columns) whose window can contain input position i:
// o*s - pad <= i <= o*s - pad + span - 1, clamped to [0, out). Returns
// (first, end).
fn windows(i: u32, pad: u32, span: u32, s: u32, out: u32) -> vec2<u32> {
    let hi = i + pad; // o*s <= hi
    let lo = i32(hi) - i32(span) + 1; // o*s >= lo
    let first = u32(max((lo + i32(s) - 1) / i32(s), 0));
    return vec2<u32>(first, min(hi / s + 1u, out));
}

fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let plane = i / (p.ow * p.oh);
    let base = p.x_offset + plane * p.h * p.w;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_h);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_w);
    // As PyTorch: the index starts at the first in-bounds tap, so a window
    // of -inf values still points inside it.
    var first_y = y0;
    while (first_y < 0) {
        first_y += i32(p.dil_h);
    }
    var first_x = x0;
    while (first_x < 0) {
        first_x += i32(p.dil_w);
    }
    var best = bitcast<f32>(0xff800000u); // -inf
    var best_i = first_y * i32(p.w) + first_x;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = y0 + i32(ky * p.dil_h);
        if (iy < 0 || iy >= i32(p.h)) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = x0 + i32(kx * p.dil_w);
            if (ix < 0 || ix >= i32(p.w)) {
                continue;
            }
            let flat = iy * i32(p.w) + ix;
            let v = x[base + u32(flat)];
            // A NaN always wins, as in PyTorch. (The bit test because naga
            // writes `v != v` as an ordered compare, false for NaN.)
            if (v > best || is_nan(v)) {
                best = v;
                best_i = flat;
            }
        }
    }
    y[i] = best;
    indices[i] = best_i;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_pool2d_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let flat = i32(iy * p.w + ix);
    let rows = windows(iy, p.pad_h, (p.kh - 1u) * p.dil_h + 1u, p.stride_h, p.oh);
    let cols = windows(ix, p.pad_w, (p.kw - 1u) * p.dil_w + 1u, p.stride_w, p.ow);
    let out = plane * p.oh * p.ow;
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            let o = out + oy * p.ow + ox;
            if (indices[p.indices_offset + o] == flat) {
                acc += dy[p.dy_offset + o];
            }
        }
    }
    dx[i] = acc;
}

// PyTorch's divisor for window (oy, ox): the window clipped to the padded
// input (it can stick out past it in ceil mode), then, without
// count_include_pad, clipped to the input itself.
fn divisor(oy: u32, ox: u32) -> f32 {
    let y0 = i32(oy * p.stride_h) - i32(p.pad_h);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_w);
    var y1 = min(y0 + i32(p.kh), i32(p.h + p.pad_h));
    var x1 = min(x0 + i32(p.kw), i32(p.w + p.pad_w));
    if (p.count_include_pad != 0u) {
        return f32((y1 - y0) * (x1 - x0));
    }
    y1 = min(y1, i32(p.h));
    x1 = min(x1, i32(p.w));
    return f32((y1 - max(y0, 0)) * (x1 - max(x0, 0)));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avg_pool2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let plane = i / (p.ow * p.oh);
    let base = p.x_offset + plane * p.h * p.w;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_h);
    let x0 = i32(ox * p.stride_w) - i32(p.pad_w);
    let ys = u32(max(y0, 0));
    let ye = u32(clamp(y0 + i32(p.kh), 0, i32(p.h)));
    let xs = u32(max(x0, 0));
    let xe = u32(clamp(x0 + i32(p.kw), 0, i32(p.w)));
    var acc = 0.0;
    for (var iy = ys; iy < ye; iy++) {
        for (var ix = xs; ix < xe; ix++) {
            acc += x[base + iy * p.w + ix];
        }
    }
    y[i] = acc / divisor(oy, ox);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn avg_pool2d_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let rows = windows(iy, p.pad_h, p.kh, p.stride_h, p.oh);
    let cols = windows(ix, p.pad_w, p.kw, p.stride_w, p.ow);
    let out = p.dy_offset + plane * p.oh * p.ow;
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy++) {
        for (var ox = cols.x; ox < cols.y; ox++) {
            acc += dy[out + oy * p.ow + ox] / divisor(oy, ox);
        }
    }
    dx[i] = acc;
}
