// Patch of `conv.wgsl` (see `crates/tensor/src/shaders.rs`): its general
// input-gradient kernel for adapters with subgroups of at least 8
// invocations (lavapipe: 8).
//
// The 8 lanes of a workgroup share their stride class, group and channel
// block (the host gives each of those whole workgroups), so they multiply
// by the same 16 weights at every (tap, output channel). In `conv.wgsl`
// every lane loads all 16; here lane l loads channels l and l + 8 and the
// others take them by subgroupShuffle: 18 scalar loads per 256
// multiply-adds instead of 32. Measured on lavapipe (`cargo xtask bench
// --only conv2d_backward_input`): CNN3's conv2 11.1 GFLOP/s against 8.3-8.8,
// conv3 7.6 against 5.6-6.9.

// @swap backward-input-entry
fn conv2d_backward_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end

// @swap backward-input-weights
                // Channel l and l + 8 of the block (clamped past n_c).
                let lo = w[min(lane, n_c - 1u) * kk + wg + wi];
                let hi = w[min(lane + 8u, n_c - 1u) * kk + wg + wi];
                update(0u, vec4<f32>(subgroupShuffle(lo, 0u), subgroupShuffle(lo, 1u), subgroupShuffle(lo, 2u), subgroupShuffle(lo, 3u)), v0, v1, v2, v3);
                if (n_c > 4u) {
                    update(1u, vec4<f32>(subgroupShuffle(lo, 4u), subgroupShuffle(lo, 5u), subgroupShuffle(lo, 6u), subgroupShuffle(lo, 7u)), v0, v1, v2, v3);
                }
                if (n_c > 8u) {
                    update(2u, vec4<f32>(subgroupShuffle(hi, 0u), subgroupShuffle(hi, 1u), subgroupShuffle(hi, 2u), subgroupShuffle(hi, 3u)), v0, v1, v2, v3);
                }
                if (n_c > 12u) {
                    update(3u, vec4<f32>(subgroupShuffle(hi, 4u), subgroupShuffle(hi, 5u), subgroupShuffle(hi, 6u), subgroupShuffle(hi, 7u)), v0, v1, v2, v3);
                }
// @end
