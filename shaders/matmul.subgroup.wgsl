// Patch of `matmul.wgsl` (see `crates/tensor/src/shaders.rs`): its register
// kernels (`matmul`, `matmul_narrow`) for adapters with subgroups of at
// least 8 invocations (lavapipe: 8), where the lanes of a workgroup share
// what they load by subgroup shuffles instead of each loading it: on a CPU
// driver a storage load is a loop over the lanes, a shuffle by a constant
// lane or lane mask a few vector instructions.

// @swap matmul-helpers
// Lanes l0 .. l0 + 3's quads q, as the columns of a matrix.
fn quads_of_lanes(q: vec4<f32>, l0: u32) -> mat4x4<f32> {
    return mat4x4<f32>(subgroupShuffle(q, l0), subgroupShuffle(q, l0 + 1u), subgroupShuffle(q, l0 + 2u), subgroupShuffle(q, l0 + 3u));
}

// The block that lane `lane ^ x` holds as `m`.
fn xor_block(m: mat4x4<f32>, x: u32) -> mat4x4<f32> {
    return mat4x4<f32>(subgroupShuffleXor(m[0], x), subgroupShuffleXor(m[1], x), subgroupShuffleXor(m[2], x), subgroupShuffleXor(m[3], x));
}

// Accumulator row g of the register kernel: the (g % GRID_ROWS)-th block
// of a (a0 or a1) that lane `lane ^ (g / GRID_ROWS)` loaded (g and the
// constants fold once inlined; mask 0 is this lane's own block).
fn shared_a_block(a0: mat4x4<f32>, a1: mat4x4<f32>, g: u32) -> mat4x4<f32> {
    let blk = pick(a0, a1, g % GRID_ROWS == 1u);
    let mask = g / GRID_ROWS;
    if (mask == 0u) {
        return blk;
    }
    return xor_block(blk, mask);
}

// The register kernel's grid of lanes, 1 or 2 rows (no other value): 2
// rows of 4 (a workgroup covers 64 x 128 of c), or, for products of at
// most 32 rows, where a second row of lanes would compute nothing, 1 row
// of 8 (32 x 256).
override GRID_ROWS: u32 = 2u;
// @end

// @swap matmul-kernel
// The 8 lanes of a workgroup as a grid of 32 x 32 blocks. In the 2 x 4
// grid lane l computes rows 32 (l / 4).. of the workgroup's 64 and columns
// 32 (l % 4).. of its 128. Lanes l and l ^ 4 need the same columns of b
// and each loads half of them; the 4 lanes of a grid row need the same
// rows of a and each loads a quarter: 24 vec4 loads per lane and step of
// k. In the 1 x 8 row (GRID_ROWS = 1) lane l computes all 32 rows and
// columns 32 l..: it loads row quad l of a, which reaches the others by
// shuffles, and all 8 of its own column quads of b: 36 loads
// (`matmul.wgsl`, without subgroups: 64). The shuffles take a constant
// lane or lane mask. Measured on lavapipe, both arrangements alternating
// in one process: at n = 1024 the 2 x 4 grid 1.10-1.13x as fast; at 17 or
// 32 rows (`[17, 784] @ [784, 3000]`, `[32, 512] @ [512, 2048]`, `[1024,
// 256] @ [256, 32]`) the 1 x 8 row 1.6-1.75x (BENCHMARKS.md, fourteenth
// stop).
//
// Which block a lane's accumulators hold depends on the lane, so that the
// shuffles' masks are constants: accumulator row g is the row quad that
// lane `l ^ (g / GRID_ROWS)` loaded as its (g % GRID_ROWS)-th
// (`shared_a_block`), and in the 2 x 4 grid column blocks 0-3 are the
// half this lane loaded, 4-7 its partner's.
@compute @workgroup_size(WG_X)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let zs = p.batch_start + wid.z;
    let offs = batch_offsets(zs);
    let grid_cols = WG_X / GRID_ROWS;
    let grid_row = lane / grid_cols;
    let grid_col = lane % grid_cols;
    let r0 = p.row_start + (GRID_ROWS * wid.y + grid_row) * TM;
    let c0 = p.col_start + (grid_cols * wid.x + grid_col) * TN;
    // This lane's share of the columns (with one grid row, the first half
    // of them) and its GRID_ROWS row quads.
    let own_cols = c0 + 16u * grid_row;
    let own_rows = r0 + 4u * GRID_ROWS * grid_col;
    let kend = opaque(p.k);
    for (var k = 0u; k < kend; k += 4u) {
        let live = vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(kend);
        load_b_blocks(0u, offs.y, own_cols, k, live);
        if (GRID_ROWS == 1u) {
            load_b_blocks(4u, offs.y, c0 + 16u, k, live);
        } else {
            bq[4] = xor_block(bq[0], 4u);
            bq[5] = xor_block(bq[1], 4u);
            bq[6] = xor_block(bq[2], 4u);
            bq[7] = xor_block(bq[3], 4u);
        }
        let a0 = a_block(offs.x, own_rows, k, live);
        var a1 = a0;
        if (GRID_ROWS == 2u) {
            a1 = a_block(offs.x, own_rows + 4u, k, live);
        }
        update_row(0u, shared_a_block(a0, a1, 0u));
        update_row(1u, shared_a_block(a0, a1, 1u));
        update_row(2u, shared_a_block(a0, a1, 2u));
        update_row(3u, shared_a_block(a0, a1, 3u));
        update_row(4u, shared_a_block(a0, a1, 4u));
        update_row(5u, shared_a_block(a0, a1, 5u));
        update_row(6u, shared_a_block(a0, a1, 6u));
        update_row(7u, shared_a_block(a0, a1, 7u));
    }
    let cz = zs * p.m * p.n;
    let partner_cols = c0 + 16u - 16u * grid_row;
    for (var g = 0u; g < opaque(TM / 4u); g++) {
        let row_quad = GRID_ROWS * (grid_col ^ (g / GRID_ROWS)) + g % GRID_ROWS;
        store_row(cz, g, r0 + 4u * row_quad, own_cols, partner_cols);
    }
}
// @end

// @swap matmul-narrow-entry
fn matmul_narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
// @end

// @swap matmul-narrow-rows
        // The 4 x TM_QUADS quads of a this step needs are spread over the
        // lanes, lane l loading quad l and, past 8, quad 8 + l (see
        // `a_quad_at`), instead of lane l loading all 4 of row quad l while
        // lanes past TM_QUADS load clamped rows nobody takes: 1 or 2 loads
        // per lane where that took 4 (W2's Linear(784, 10): 6 loads per
        // step of k instead of 8 in its forward, 16 instead of 24 in its
        // weight gradient, whose gradient is read as scalars). Each block
        // then comes by shuffles from the 4 lanes that loaded it. W2's
        // forward ran 1.12-1.14x as fast, its weight gradient 1.06-1.12x
        // (BENCHMARKS.md, fourteenth stop).
        let q0 = a_quad(a_quad_at(offs.x, r0 + 4u * (lane / 4u), k, lane % 4u));
        var q1 = q0;
        if (TM_QUADS > 2u) {
            q1 = a_quad(a_quad_at(offs.x, r0 + 8u + 4u * (lane / 4u), k, lane % 4u));
        }
        narrow_update_row(0u, a_block_of(quads_of_lanes(q0, 0u), live));
        if (TM_QUADS > 1u) { narrow_update_row(1u, a_block_of(quads_of_lanes(q0, 4u), live)); }
        if (TM_QUADS > 2u) { narrow_update_row(2u, a_block_of(quads_of_lanes(q1, 0u), live)); }
        if (TM_QUADS > 3u) { narrow_update_row(3u, a_block_of(quads_of_lanes(q1, 4u), live)); }
// @end
