// Patch of `matmul.wgsl` (see `crates/tensor/src/shaders.rs`): its register
// kernels (`matmul`, `matmul_narrow`) for adapters with subgroups of at least 8 invocations (lavapipe: 8).
//
// In `matmul` every invocation of a workgroup multiplies the same rows of a,
// so each loads all 8 blocks of them at every step of k, and on a CPU
// driver a storage load is a loop over the lanes. Here lane l loads only row
// quad l and the others take it by subgroupShuffle: 36 vec4 loads per step
// instead of 64. Measured at n = 1024 on lavapipe: 48.3 GFLOP/s against 38.7
// for `matmul.wgsl` in the same session (`cargo xtask bench --only w1`).

// @swap matmul-helpers
// Row quad l's block of a, as lane l loaded it.
fn lane_block(m: mat4x4<f32>, l: u32) -> mat4x4<f32> {
    return mat4x4<f32>(subgroupShuffle(m[0], l), subgroupShuffle(m[1], l), subgroupShuffle(m[2], l), subgroupShuffle(m[3], l));
}
// @end

// @swap matmul-entry
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end

// @swap matmul-rows
        let mine = a_block(offs.x, r0 + 4u * lane, k, live);
        update_row(0u, lane_block(mine, 0u));
        update_row(1u, lane_block(mine, 1u));
        update_row(2u, lane_block(mine, 2u));
        update_row(3u, lane_block(mine, 3u));
        update_row(4u, lane_block(mine, 4u));
        update_row(5u, lane_block(mine, 5u));
        update_row(6u, lane_block(mine, 6u));
        update_row(7u, lane_block(mine, 7u));
// @end

// @swap matmul-narrow-entry
fn matmul_narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end

// @swap matmul-narrow-rows
        // As in `matmul`: lane l loads row quad l, lanes past TM_QUADS
        // clamped rows nobody takes.
        let mine = a_block(offs.x, r0 + 4u * lane, k, live);
        narrow_update_row(0u, lane_block(mine, 0u));
        if (TM_QUADS > 1u) { narrow_update_row(1u, lane_block(mine, 1u)); }
        if (TM_QUADS > 2u) { narrow_update_row(2u, lane_block(mine, 2u)); }
        if (TM_QUADS > 3u) { narrow_update_row(3u, lane_block(mine, 3u)); }
// @end
