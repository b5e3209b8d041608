// Data movement for any 4-byte dtype: elements are moved as raw u32 words,
// so one kernel serves f32 and i32 tensors alike.
//
// copy: dst view <- src view (both strided, same shape). This is
//       `contiguous()`, `copy_`, slice assignment and each part of `cat`.
// fill: dst view <- one value's bits (`fill_`, `zero_`, `t[:, 1] = 0`).
// cast_i32_f32 / cast_f32_i32: dtype conversion, src view -> dst view.

const WORKGROUP_SIZE: u32 = 64u;

struct Params {
    shape: array<vec4<u32>, 2>,
    src_strides: array<vec4<u32>, 2>,
    dst_strides: array<vec4<u32>, 2>,
    numel: u32,
    rank: u32,
    src_offset: u32,
    dst_offset: u32,
    value: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// Storage indices of element `i` in src and dst.
fn indices(i: u32) -> vec2<u32> {
    var rem = i;
    var s = p.src_offset;
    var t = p.dst_offset;
    for (var d = i32(p.rank) - 1; d >= 0; d--) {
        let n = at(p.shape, u32(d));
        let c = rem % n;
        rem /= n;
        s += c * at(p.src_strides, u32(d));
        t += c * at(p.dst_strides, u32(d));
    }
    return vec2<u32>(s, t);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let st = indices(i);
    dst[st.y] = src[st.x];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    dst[indices(i).y] = p.value;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cast_i32_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let st = indices(i);
    dst[st.y] = bitcast<u32>(f32(bitcast<i32>(src[st.x])));
}

// Truncates toward zero, as PyTorch's `.int()` / `.long()` do.
@compute @workgroup_size(WORKGROUP_SIZE)
fn cast_f32_i32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_index(gid, nwg);
    if (i >= p.numel) {
        return;
    }
    let st = indices(i);
    dst[st.y] = bitcast<u32>(i32(bitcast<f32>(src[st.x])));
}
