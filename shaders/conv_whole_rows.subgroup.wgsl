// Patch of `conv_whole_rows.wgsl` (see `crates/tensor/src/shaders.rs`) for
// adapters with subgroups of at least 8 invocations (lavapipe: 8).
//
// The 8 lanes of a workgroup multiply by the same weights. In the base file
// every lane loads all CB of them per tap; here lane l loads channel l's
// and the others take it by subgroupShuffle, so a lane loads KWC scalars
// per (channel, ky) instead of CB * KWC.

// @swap weights
fn load_tap(kx: u32, at: u32, step: u32, last: u32, lane: u32) {
    if (kx >= KWC) {
        return;
    }
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
