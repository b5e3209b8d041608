// Patch of `conv_weight_taps.wgsl` (see `crates/tensor/src/shaders.rs`) for
// adapters with subgroups of at least 8 invocations (lavapipe: 8).
//
// The 8 lanes of a workgroup apply the same x rows. In the base file every
// lane loads the whole row; here lane l loads its quad l (rows are up to
// 32 wide) and the others take it by subgroupShuffle.

// @swap x-row
fn load_x_row(at: u32, lane: u32) {
    let mine = x_quad(min(lane, (SRC_W - 1u) / 4u), at);
    share_x_quad(0u, mine);
    if (SRC_W > 4u) { share_x_quad(1u, mine); }
    if (SRC_W > 8u) { share_x_quad(2u, mine); }
    if (SRC_W > 12u) { share_x_quad(3u, mine); }
    if (SRC_W > 16u) { share_x_quad(4u, mine); }
    if (SRC_W > 20u) { share_x_quad(5u, mine); }
    if (SRC_W > 24u) { share_x_quad(6u, mine); }
    if (SRC_W > 28u) { share_x_quad(7u, mine); }
}

fn share_x_quad(q: u32, mine: vec4<f32>) {
    put_x_quad(q, subgroupShuffle(mine, q));
}
// @end

// @swap entry
fn conv2d_backward_weight_taps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end
