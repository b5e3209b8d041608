// Batched matrix product c[z] = a[z] @ b[z]: a is [m, k], b is [k, n], c is
// dense [m, n] per batch entry z (c is [batch, m, n]).
//
// a and b are read through a leading dimension (lda, ldb) and, with the
// TRANS_A / TRANS_B override constants, in either orientation, so views such
// as `w.t()` or a column slice are read in place:
//   a[m, k] = a[a_off + m * lda + k]    or, TRANS_A, a[a_off + k * lda + m]
//   b[k, n] = b[b_off + k * ldb + n]    or, TRANS_B, b[b_off + n * ldb + k]
// Batch entries are found through up to 8 batch dims with their own strides
// (0 where an operand is broadcast).
//
// For CPU drivers, `matmul` keeps a 32 x 32 block of c in registers per
// invocation and `matmul_narrow` up to 16 x 8, for every product too
// narrow for that; for GPUs, `matmul_tiled` stages tiles in workgroup
// memory. None of them splits k.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// c may be written as vec4s: n is a multiple of 4.
override C_VEC4: bool = false;
// The kernel computes the transposed product c^T = b^T a^T (the host swaps
// the operands when that orientation suits the tiles better) and stores it
// transposed: element (row, col) of what it computes is c[col, row]. m and n
// are then the computed matrix's dims (c's n and m).
override TRANS_C: bool = false;
// Row quads per narrow-kernel invocation, 1 to 4, so that no lane
// multiplies padding rows (`matmul` always has 8: the host gives products
// of at most 16 rows to `matmul_narrow`).
override TM_QUADS: u32 = 4u;
// Column quads per narrow-kernel invocation: 1 or 2.
override TN_QUADS: u32 = 2u;
// The register kernels add a bias of c's columns (Linear's
// bias, torch.addmm's `input` of shape [n]), so that it costs no pass of
// its own.
override HAS_BIAS: bool = false;
// The product has batch dims (batch_rank > 0). Without them the kernels
// skip `batch_offsets`, whose loop of divisions by uniforms took lavapipe
// about 0.1 s to compile, measured on the narrow kernel's smallest variant
// on an empty shader cache: 74 ms without it against 166. A model that
// runs both batched and unbatched products with otherwise equal constants
// creates a pipeline for each.
override BATCHED: bool = true;
// a's (b's) quads start on 16 bytes (its offset, leading dimension and
// batch strides are multiples of 4), so each is one vec4 load. The narrow
// kernel also reads operands that are not, 4 scalars a quad: a Linear
// layer's gradient with 10 columns, read in place by the narrow products
// that take it, instead of copied into padded rows by a dispatch of its
// own (`matmul` reads only aligned ones: a product of it still copies).
override A_VEC4: bool = true;
override B_VEC4: bool = true;
// The narrow kernel also sums a's rows into `row_sums` (Linear's bias
// gradient beside its weight gradient, `gᵀ @ x`): each invocation adds up
// the blocks of a it loads anyway, and those of the first block of
// columns store them. The host sets it only for unbatched products in the
// kernel's own orientation (not TRANS_C).
override ROW_SUMS: bool = false;

struct Params {
    batch_shape: array<vec4<u32>, 2>,
    a_batch_strides: array<vec4<u32>, 2>,
    b_batch_strides: array<vec4<u32>, 2>,
    m: u32,
    n: u32,
    k: u32,
    batch_rank: u32,
    a_offset: u32,
    b_offset: u32,
    lda: u32,
    ldb: u32,
    // This dispatch covers rows row_start.., columns col_start.., batch
    // entries batch_start..: grids are limited to 65,535 groups a side.
    row_start: u32,
    col_start: u32,
    batch_start: u32,
    // The register kernels with HAS_BIAS: where the bias starts in `bias`.
    bias_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
// The same buffers again, for 16-byte accesses (A_VEC4, B_VEC4, C_VEC4).
// `matmul` reads a and b only this way: their offsets, leading dimensions
// and batch strides must be multiples of 4 (the Rust side copies an
// operand into padded rows if not).
@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> c4: array<vec4<f32>>;
// The register kernels' bias (HAS_BIAS).
@group(0) @binding(7) var<storage, read> bias: array<f32>;
// The narrow kernel's sums of a's rows (ROW_SUMS), from element 0.
@group(0) @binding(8) var<storage, read_write> row_sums: array<f32>;

// NOTE: lavapipe (Mesa 22.3) specialises a shader on the values of uniforms
// that bound its loops ("inline uniforms") and redoes that at dispatch time:
// a 16 x 16 product took 3.4 ms per call, 0.03 ms once its loops were bounded
// by `opaque(...)`, which also depends on a buffer's length and so is not
// recognised as uniform.
fn opaque(v: u32) -> u32 {
    return select(v, 0u, arrayLength(&c) == 0u);
}

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

// Storage offsets of batch entry z in a and b.
fn batch_offsets(z: u32) -> vec2<u32> {
    var oa = p.a_offset;
    var ob = p.b_offset;
    if (BATCHED) {
        var rem = z;
        for (var d = i32(opaque(p.batch_rank)) - 1; d >= 0; d--) {
            let n = at(p.batch_shape, u32(d));
            let i = rem % n;
            rem /= n;
            oa += i * at(p.a_batch_strides, u32(d));
            ob += i * at(p.b_batch_strides, u32(d));
        }
    }
    return vec2<u32>(oa, ob);
}

fn a_at(off: u32, row: u32, k: u32) -> f32 {
    if (TRANS_A) {
        return a[off + k * p.lda + row];
    }
    return a[off + row * p.lda + k];
}

fn b_at(off: u32, k: u32, n: u32) -> f32 {
    if (TRANS_B) {
        return b[off + n * p.ldb + k];
    }
    return b[off + k * p.ldb + n];
}

// The 4 elements of a (b) from storage index i on (a multiple of 4 when
// A_VEC4, B_VEC4).
fn a_quad(i: u32) -> vec4<f32> {
    if (A_VEC4) {
        return a4[i / 4u];
    }
    return vec4<f32>(a[i], a[i + 1u], a[i + 2u], a[i + 3u]);
}

fn b_quad(i: u32) -> vec4<f32> {
    if (B_VEC4) {
        return b4[i / 4u];
    }
    return vec4<f32>(b[i], b[i + 1u], b[i + 2u], b[i + 3u]);
}

// Where quad t (0 to 3) of a's 4 x 4 block at rows r0.. and k.. starts:
// row r0 + t's 4 values from k on, or with TRANS_A (quads along the rows)
// row k + t of the stored matrix from r0 on, the first row kept
// quad-aligned. Rows past the last are read clamped (and never stored);
// elements at k + j >= K (a quad's, or with TRANS_A whole quads) read
// whatever lies there, and `a_block_of` masks them.
fn a_quad_at(off: u32, r0: u32, k: u32, t: u32) -> u32 {
    let last = p.m - 1u;
    if (TRANS_A) {
        return off + (k + t) * p.lda + min(r0, last & ~3u);
    }
    return off + min(r0 + t, last) * p.lda + k;
}

// The block whose quads 0 to 3 (see `a_quad_at`) are the columns of q, as
// a matrix whose column r is a[r0 + r, k..k + 4], zero where k + j >= K.
fn a_block_of(q: mat4x4<f32>, live: vec4<bool>) -> mat4x4<f32> {
    var blk = q;
    if (TRANS_A) {
        blk = transpose(q);
    }
    // select, not multiply: past-the-end bits may be NaN.
    let zero = vec4<f32>(0.0);
    return mat4x4<f32>(select(zero, blk[0], live), select(zero, blk[1], live), select(zero, blk[2], live), select(zero, blk[3], live));
}

// A 4 x 4 block of a as a matrix whose column r is a[r0 + r, k..k + 4].
fn a_block(off: u32, r0: u32, k: u32, live: vec4<bool>) -> mat4x4<f32> {
    let q = mat4x4<f32>(a_quad(a_quad_at(off, r0, k, 0u)), a_quad(a_quad_at(off, r0, k, 1u)), a_quad(a_quad_at(off, r0, k, 2u)), a_quad(a_quad_at(off, r0, k, 3u)));
    return a_block_of(q, live);
}

// A 4 x 4 block of b as a matrix whose column j is b[k + j, c0..c0 + 4],
// zero where k + j >= K.
fn b_block(off: u32, c0: u32, k: u32, live: vec4<bool>) -> mat4x4<f32> {
    let last = p.n - 1u;
    var blk: mat4x4<f32>;
    if (TRANS_B) {
        let cols = min(vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4<u32>(last)) * p.ldb + off + k;
        blk = transpose(mat4x4<f32>(b_quad(cols.x), b_quad(cols.y), b_quad(cols.z), b_quad(cols.w)));
    } else {
        let i = off + k * p.ldb + min(c0, last & ~3u);
        blk = mat4x4<f32>(b_quad(i), b_quad(i + p.ldb), b_quad(i + 2u * p.ldb), b_quad(i + 3u * p.ldb));
    }
    let zero = vec4<f32>(0.0);
    return mat4x4<f32>(select(zero, blk[0], live.x), select(zero, blk[1], live.y), select(zero, blk[2], live.z), select(zero, blk[3], live.w));
}

// c[row, col..col + 4] = v, skipping what lies past the edges. One path
// for both orientations (each store site is code for lavapipe to work
// through when it creates a pipeline).
fn store_quad(cz: u32, row: u32, col: u32, v: vec4<f32>) {
    if (row >= p.m || col >= p.n) {
        return;
    }
    // (`&`, not `&&`: naga lowers `&&` through a variable, which keeps the
    // branch from being cut when the kernel is specialised.)
    if (C_VEC4 & !TRANS_C) {
        c4[(cz + row * p.n + col) / 4u] = v;
        return;
    }
    // With TRANS_C, c is [n, m]: consecutive columns are p.m apart.
    let t = cz + select(row * p.n + col, col * p.m + row, TRANS_C);
    let step = select(1u, p.m, TRANS_C);
    c[t] = v.x;
    if (col + 1u < p.n) { c[t + step] = v.y; }
    if (col + 2u < p.n) { c[t + 2u * step] = v.z; }
    if (col + 3u < p.n) { c[t + 3u * step] = v.w; }
}

// c[r0..r0 + 4, c0..c0 + 4] from a block whose column r is row r0 + r.
//
// NOTE: the register kernels' stores are loops the driver cannot unroll
// (their bounds are `opaque`), here and in their epilogues. On lavapipe each
// store site is a loop over the lanes with a bounds check per component,
// and LLVM spent most of a pipeline's compile (which it does at the first
// dispatch, on the queue's thread) on the unrolled stores: with its blocks
// (3 to 16 then) stored site by site, a narrow pipeline took 0.3-1.1 s to
// compile.
// The loops pick what they store by `select` on constant indices: an
// accumulator indexed by the loop counter would be kept in memory instead
// of registers for the whole kernel.
fn store_block(cz: u32, r0: u32, c0: u32, blk: mat4x4<f32>) {
    for (var r = 0u; r < opaque(4u); r++) {
        let v = select(select(select(blk[0], blk[1], r == 1u), blk[2], r == 2u), blk[3], r == 3u);
        store_quad(cz, r0 + r, c0, v);
    }
}

// ---------------------------------------------------------------------------
// Register kernel. On lavapipe (Mesa 22.3) every storage load is a loop over
// the 8 SIMD lanes with a bounds check per component (~40 instructions per
// lane for a vec4), while arithmetic runs on all 8 lanes at once, and
// barriers are coroutine switches. So each invocation keeps a 32 x 32 block
// of c in registers (8 x 8 blocks of 4 x 4 as mat4x4 accumulators) and reads
// each 4-wide step of k as 8 + 8 blocks of a and b: 64 vec4 loads for 4,096
// multiply-adds. Measured at n = 1024: 16 x 16 blocks ~27 GFLOP/s, 32 x 32
// ~37 (and ~4 s to compile per pipeline; 48 x 32 took 20 s).
// The 8 invocations of a workgroup lie side by side along n, so all lanes
// read the same rows of a (cache hits) and 256 contiguous columns of b; a
// 4 x 2 arrangement was 40% slower. (With subgroups, where lanes pass each
// other what they load, `matmul.subgroup.wgsl` arranges them 2 x 4 above
// 32 rows.)
// Accumulators and blocks are private arrays indexed only by constants
// (after inlining), so they become plain values; loops over them would index
// them dynamically, which the driver does with per-lane gathers (3x slower).
const WG_X: u32 = 8u;
const TM: u32 = 32u;
const TN: u32 = 32u;

var<private> acc: array<mat4x4<f32>, 64>; // block (row quad g, column quad j) at 8 g + j
var<private> bq: array<mat4x4<f32>, 8>; // this step's blocks of b, by column quad

// bq[at .. at + 3] = the blocks of b's 4 column quads from column c on
// (`at`, 0 or 4, is a constant once inlined, like `g` below).
fn load_b_blocks(at: u32, off: u32, c: u32, k: u32, live: vec4<bool>) {
    bq[at] = b_block(off, c, k, live);
    bq[at + 1u] = b_block(off, c + 4u, k, live);
    bq[at + 2u] = b_block(off, c + 8u, k, live);
    bq[at + 3u] = b_block(off, c + 12u, k, live);
}

// acc[g, j] += b_j * a_g for the 8 column quads of row quad g.
fn update_row(g: u32, ag: mat4x4<f32>) {
    let i = 8u * g;
    acc[i] += bq[0] * ag;
    acc[i + 1u] += bq[1] * ag;
    acc[i + 2u] += bq[2] * ag;
    acc[i + 3u] += bq[3] * ag;
    acc[i + 4u] += bq[4] * ag;
    acc[i + 5u] += bq[5] * ag;
    acc[i + 6u] += bq[6] * ag;
    acc[i + 7u] += bq[7] * ag;
}

// Block (row quad g, column quad j) of acc, for g not known at compile
// time (see `store_block`): a select over the 8 row quads.
fn acc_block(g: u32, j: u32) -> mat4x4<f32> {
    var blk = acc[j];
    blk = pick(blk, acc[8u + j], g == 1u);
    blk = pick(blk, acc[16u + j], g == 2u);
    blk = pick(blk, acc[24u + j], g == 3u);
    blk = pick(blk, acc[32u + j], g == 4u);
    blk = pick(blk, acc[40u + j], g == 5u);
    blk = pick(blk, acc[48u + j], g == 6u);
    blk = pick(blk, acc[56u + j], g == 7u);
    return blk;
}

// `select` for matrices: b where `take`, else a.
fn pick(a: mat4x4<f32>, b: mat4x4<f32>, take: bool) -> mat4x4<f32> {
    return mat4x4<f32>(select(a[0], b[0], take), select(a[1], b[1], take), select(a[2], b[2], take), select(a[3], b[3], take));
}

// Accumulator row g's 8 blocks, stored at rows r..r + 4: blocks 0-3 at
// columns lo.., 4-7 at hi.. (here hi = lo + 16; the subgroup variant swaps
// the halves on half of its lanes). One store site per column quad.
fn store_row(cz: u32, g: u32, r: u32, lo: u32, hi: u32) {
    store_block(cz, r, lo, with_bias(acc_block(g, 0u), r, lo));
    store_block(cz, r, lo + 4u, with_bias(acc_block(g, 1u), r, lo + 4u));
    store_block(cz, r, lo + 8u, with_bias(acc_block(g, 2u), r, lo + 8u));
    store_block(cz, r, lo + 12u, with_bias(acc_block(g, 3u), r, lo + 12u));
    store_block(cz, r, hi, with_bias(acc_block(g, 4u), r, hi));
    store_block(cz, r, hi + 4u, with_bias(acc_block(g, 5u), r, hi + 4u));
    store_block(cz, r, hi + 8u, with_bias(acc_block(g, 6u), r, hi + 8u));
    store_block(cz, r, hi + 12u, with_bias(acc_block(g, 7u), r, hi + 12u));
}

// @swap matmul-helpers
// @end

// @swap matmul-kernel
@compute @workgroup_size(WG_X)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let zs = p.batch_start + wid.z;
    let offs = batch_offsets(zs);
    let r0 = p.row_start + wid.y * TM;
    let c0 = p.col_start + (wid.x * WG_X + lid.x) * TN;
    // (opaque: a loop bounded by a uniform is recompiled per value.)
    let kend = opaque(p.k);
    // k runs in steps of 4; the step that crosses K masks what lies beyond.
    for (var k = 0u; k < kend; k += 4u) {
        let live = vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(kend);
        load_b_blocks(0u, offs.y, c0, k, live);
        load_b_blocks(4u, offs.y, c0 + 16u, k, live);
        // Every invocation loads the same rows of a
        // (`matmul.subgroup.wgsl` shares rows and columns between lanes).
        update_row(0u, a_block(offs.x, r0, k, live));
        update_row(1u, a_block(offs.x, r0 + 4u, k, live));
        update_row(2u, a_block(offs.x, r0 + 8u, k, live));
        update_row(3u, a_block(offs.x, r0 + 12u, k, live));
        update_row(4u, a_block(offs.x, r0 + 16u, k, live));
        update_row(5u, a_block(offs.x, r0 + 20u, k, live));
        update_row(6u, a_block(offs.x, r0 + 24u, k, live));
        update_row(7u, a_block(offs.x, r0 + 28u, k, live));
    }
    let cz = zs * p.m * p.n;
    for (var g = 0u; g < opaque(TM / 4u); g++) {
        store_row(cz, g, r0 + 4u * g, c0, c0 + 16u);
    }
}
// @end

// ---------------------------------------------------------------------------
// Narrow register kernel: the register kernel's scheme for products too
// narrow for its 32 columns per invocation (a Linear layer's 10 outputs,
// computed transposed, over a batch of 64: 16 invocations with 4 columns
// each, where 32 columns would leave 2). Up to 16 x 8 blocks of c per
// invocation, k unsplit even for a product of one invocation: splitting k
// into slices and summing them in a second pass was slower on lavapipe at
// every shape measured (see `Plan::choose`). A separate entry point, not
// constants of `matmul`:
// lavapipe works through a kernel's whole unrolled code before the
// constants remove the unused part, and with `matmul`'s 64 blocks of
// stores a narrow pipeline took 0.13-0.14 s to create, 0.035-0.055 s as
// its own entry point (measured before the host cut the branches on
// constants, `runtime/specialize.rs`).
// At most 2 column quads, not 4: on an empty shader cache lavapipe compiled
// W4's Linear input gradient (`[50, 10] @ [10, 256]`) in 0.19 s as 16 x 8
// blocks, 0.36 s as 16 x 16, and the Linear products of W2, W4 and W5 ran
// as fast or faster with the narrower blocks (`cargo xtask bench --only
// matmul_w`, interleaved runs; BENCHMARKS.md, eleventh stop).
var<private> nacc: array<mat4x4<f32>, 8>; // block (row quad g, column quad j) at 2 g + j
var<private> nsum: array<vec4<f32>, 4>; // ROW_SUMS: row quad g's sums so far

// nacc[g, j] += b_j * a_g for the TN_QUADS column quads of row quad g.
fn narrow_update_row(g: u32, ag: mat4x4<f32>) {
    let i = 2u * g;
    nacc[i] += bq[0] * ag;
    if (TN_QUADS > 1u) { nacc[i + 1u] += bq[1] * ag; }
    // Column r of ag is row r's 4 values at this step of k.
    if (ROW_SUMS) { nsum[g] += vec4<f32>(1.0) * ag; }
}

// row_sums[r0..r0 + 4 TM_QUADS], rows past the last skipped; one store
// site (see `store_block`).
fn store_row_sums(r0: u32) {
    for (var i = 0u; i < opaque(TM_QUADS * 4u); i++) {
        let g = i / 4u;
        let quad = select(select(select(nsum[0], nsum[1], g == 1u), nsum[2], g == 2u), nsum[3], g == 3u);
        if (r0 + i < p.m) {
            row_sums[r0 + i] = quad[i % 4u];
        }
    }
}

// Block `at` (= 2 g + j) of nacc, for `at` not known at compile time (see
// `store_block`).
fn nacc_block(at: u32) -> mat4x4<f32> {
    var blk = nacc[0];
    blk = pick(blk, nacc[1], at == 1u);
    blk = pick(blk, nacc[2], at == 2u);
    blk = pick(blk, nacc[3], at == 3u);
    blk = pick(blk, nacc[4], at == 4u);
    blk = pick(blk, nacc[5], at == 5u);
    blk = pick(blk, nacc[6], at == 6u);
    blk = pick(blk, nacc[7], at == 7u);
    return blk;
}

// The block at (r0, c0) plus the bias, when HAS_BIAS: c's columns are the
// computed matrix's rows when TRANS_C (each of the block's rows gets one
// value), its columns otherwise. Indices past the edges are clamped; what
// lies there is not stored.
fn with_bias(blk: mat4x4<f32>, r0: u32, c0: u32) -> mat4x4<f32> {
    if (!HAS_BIAS) {
        return blk;
    }
    if (TRANS_C) {
        let at = min(vec4<u32>(r0, r0 + 1u, r0 + 2u, r0 + 3u), vec4<u32>(p.m - 1u)) + p.bias_offset;
        return mat4x4<f32>(blk[0] + bias[at.x], blk[1] + bias[at.y], blk[2] + bias[at.z], blk[3] + bias[at.w]);
    }
    let at = min(vec4<u32>(c0, c0 + 1u, c0 + 2u, c0 + 3u), vec4<u32>(p.n - 1u)) + p.bias_offset;
    let v = vec4<f32>(bias[at.x], bias[at.y], bias[at.z], bias[at.w]);
    return mat4x4<f32>(blk[0] + v, blk[1] + v, blk[2] + v, blk[3] + v);
}

@compute @workgroup_size(WG_X)
// @swap matmul-narrow-entry
fn matmul_narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
// @end
    let zs = p.batch_start + wid.z;
    let offs = batch_offsets(zs);
    let r0 = p.row_start + wid.y * TM_QUADS * 4u;
    let c0 = p.col_start + (wid.x * WG_X + lid.x) * TN_QUADS * 4u;
    let kend = opaque(p.k);
    for (var k = 0u; k < kend; k += 4u) {
        let live = vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(kend);
        bq[0] = b_block(offs.y, c0, k, live);
        if (TN_QUADS > 1u) { bq[1] = b_block(offs.y, c0 + 4u, k, live); }
        // @swap matmul-narrow-rows
        narrow_update_row(0u, a_block(offs.x, r0, k, live));
        if (TM_QUADS > 1u) { narrow_update_row(1u, a_block(offs.x, r0 + 4u, k, live)); }
        if (TM_QUADS > 2u) { narrow_update_row(2u, a_block(offs.x, r0 + 8u, k, live)); }
        if (TM_QUADS > 3u) { narrow_update_row(3u, a_block(offs.x, r0 + 12u, k, live)); }
        // @end
    }
    let cz = zs * p.m * p.n;
    // One store site for all the blocks (see `store_block`).
    for (var i = 0u; i < opaque(TM_QUADS * TN_QUADS); i++) {
        let g = i / TN_QUADS;
        let j = i % TN_QUADS;
        let r = r0 + 4u * g;
        let c = c0 + 4u * j;
        store_block(cz, r, c, with_bias(nacc_block(2u * g + j), r, c));
    }
    if (ROW_SUMS) {
        if (c0 == 0u) {
            store_row_sums(r0);
        }
    }
}

// ---------------------------------------------------------------------------
// Shared-memory tiled product for GPUs: a 16 x 16 workgroup computes a
// TILE x TILE block of c, each invocation 4 x 4 outputs spaced 16 apart.
// Each step stages a TILE x TILE_K slice of a and a TILE_K x TILE slice of b
// in workgroup memory, zero-filled past the edges of the matrices.
const TILE: u32 = 64u;
const TILE_K: u32 = 16u;
const TILE_THREADS: u32 = 256u;

var<workgroup> a_tile: array<f32, 1024>; // [TILE_K][TILE]: a[row0 + i, k0 + kk] at kk * TILE + i
var<workgroup> b_tile: array<f32, 1024>; // [TILE_K][TILE]: b[k0 + kk, col0 + j] at kk * TILE + j

@compute @workgroup_size(16, 16)
fn matmul_tiled(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let z = p.batch_start + wid.z;
    let offs = batch_offsets(z);
    let row0 = p.row_start + wid.y * TILE;
    let col0 = p.col_start + wid.x * TILE;
    var sum: array<vec4<f32>, 4>;
    let kend = opaque(p.k);
    for (var k0 = 0u; k0 < kend; k0 += TILE_K) {
        for (var e = 0u; e < 1024u / TILE_THREADS; e++) {
            let idx = li + e * TILE_THREADS;
            // Neighbouring invocations take neighbouring elements along the
            // operand's contiguous direction.
            var i = idx / TILE_K;
            var kk = idx % TILE_K;
            if (TRANS_A) {
                i = idx % TILE;
                kk = idx / TILE;
            }
            let row = row0 + i;
            let ka = k0 + kk;
            let va = a_at(offs.x, min(row, p.m - 1u), min(ka, p.k - 1u));
            a_tile[kk * TILE + i] = select(0.0, va, row < p.m && ka < p.k);
            var j = idx % TILE;
            var kb = idx / TILE;
            if (TRANS_B) {
                j = idx / TILE_K;
                kb = idx % TILE_K;
            }
            let col = col0 + j;
            let k = k0 + kb;
            let vb = b_at(offs.y, min(k, p.k - 1u), min(col, p.n - 1u));
            b_tile[kb * TILE + j] = select(0.0, vb, col < p.n && k < p.k);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let r = kk * TILE + lid.y;
            let av = vec4<f32>(a_tile[r], a_tile[r + 16u], a_tile[r + 32u], a_tile[r + 48u]);
            let s = kk * TILE + lid.x;
            let bv = vec4<f32>(b_tile[s], b_tile[s + 16u], b_tile[s + 32u], b_tile[s + 48u]);
            for (var i = 0u; i < 4u; i++) {
                sum[i] += av[i] * bv;
            }
        }
        // Nobody may overwrite the tiles while others still read them.
        workgroupBarrier();
    }
    let cz = z * p.m * p.n;
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x + 16u * j;
            if (row < p.m && col < p.n) {
                c[cz + row * p.n + col] = sum[i][j];
            }
        }
    }
}
