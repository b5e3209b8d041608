// Patch of `conv_whole_rows.wgsl` (see `crates/tensor/src/shaders.rs`) for
// adapters with subgroups of at least 8 invocations (lavapipe: 8).
//
// The 8 lanes of a workgroup multiply by the same weights. In the base file
// every lane loads all CB of them per tap; here lane l loads channel l's
// and the others take it by subgroupShuffle, so a lane loads KWC scalars
// per (channel, ky) instead of CB * KWC.

// @swap weights
fn load_tap(kx: u32, at: u32, step: u32, last: u32, lane: u32) {
    let mine = w[min(lane, last) * step + at + kx];
    w0[kx] = vec4<f32>(subgroupShuffle(mine, 0u), subgroupShuffle(mine, 1u), subgroupShuffle(mine, 2u), subgroupShuffle(mine, 3u));
    if (CB > 4u) {
        w1[kx] = vec4<f32>(subgroupShuffle(mine, 4u), subgroupShuffle(mine, 5u), subgroupShuffle(mine, 6u), subgroupShuffle(mine, 7u));
    }
    if (CB > 8u) {
        // Channels 8 .. 15: lane l loads channel l + 8.
        let more = w[min(lane + 8u, last) * step + at + kx];
        w2[kx] = vec4<f32>(subgroupShuffle(more, 0u), subgroupShuffle(more, 1u), subgroupShuffle(more, 2u), subgroupShuffle(more, 3u));
        w3[kx] = vec4<f32>(subgroupShuffle(more, 4u), subgroupShuffle(more, 5u), subgroupShuffle(more, 6u), subgroupShuffle(more, 7u));
    }
}
// @end

// @swap entry
fn conv2d_whole_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end

// @swap entry-backward
fn conv2d_backward_input_whole_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end

// The weight gradient's dy rows: lane l loads output channel l's (and
// l + 8's) row, and each column reaches the other lanes by subgroupShuffle.
// @swap dy-columns
fn load_grad_rows(at: u32, step: u32, last: u32, lane: u32) {
    let mine = min(lane, last) * step + at;
    let more = min(lane + 8u, last) * step + at;
    for_each_column(mine, more);
}

fn for_each_column(mine: u32, more: u32) {
    grad_value(0u, mine, more);
    if (DST_W > 1u) { grad_value(1u, mine, more); }
    if (DST_W > 2u) { grad_value(2u, mine, more); }
    if (DST_W > 3u) { grad_value(3u, mine, more); }
    if (DST_W > 4u) { grad_value(4u, mine, more); }
    if (DST_W > 5u) { grad_value(5u, mine, more); }
    if (DST_W > 6u) { grad_value(6u, mine, more); }
    if (DST_W > 7u) { grad_value(7u, mine, more); }
    if (DST_W > 8u) { grad_value(8u, mine, more); }
    if (DST_W > 9u) { grad_value(9u, mine, more); }
    if (DST_W > 10u) { grad_value(10u, mine, more); }
    if (DST_W > 11u) { grad_value(11u, mine, more); }
    if (DST_W > 12u) { grad_value(12u, mine, more); }
    if (DST_W > 13u) { grad_value(13u, mine, more); }
    if (DST_W > 14u) { grad_value(14u, mine, more); }
    if (DST_W > 15u) { grad_value(15u, mine, more); }
}

fn grad_value(ox: u32, mine: u32, more: u32) {
    grad_lo[ox] = grad[mine + ox];
    if (CB > 8u) {
        grad_hi[ox] = grad[more + ox];
    }
}

fn load_column(ox: u32, at: u32, step: u32, last: u32) {
    let lo = grad_lo[ox];
    column[0] = vec4<f32>(subgroupShuffle(lo, 0u), subgroupShuffle(lo, 1u), subgroupShuffle(lo, 2u), subgroupShuffle(lo, 3u));
    if (CB > 4u) {
        column[1] = vec4<f32>(subgroupShuffle(lo, 4u), subgroupShuffle(lo, 5u), subgroupShuffle(lo, 6u), subgroupShuffle(lo, 7u));
    }
    if (CB > 8u) {
        let hi = grad_hi[ox];
        column[2] = vec4<f32>(subgroupShuffle(hi, 0u), subgroupShuffle(hi, 1u), subgroupShuffle(hi, 2u), subgroupShuffle(hi, 3u));
        column[3] = vec4<f32>(subgroupShuffle(hi, 4u), subgroupShuffle(hi, 5u), subgroupShuffle(hi, 6u), subgroupShuffle(hi, 7u));
    }
}
// @end

// @swap entry-weight
fn conv2d_backward_weight_whole_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end
