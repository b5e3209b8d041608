//! Forward ops. Each file is one family: the Rust side checks shapes,
//! packs the kernel's `Params` and dispatches one entry point of the
//! matching `shaders/*.wgsl`.

pub mod binary;
pub mod conv;
pub mod copy;
pub mod index;
pub mod loss;
pub mod matmul;
pub mod optim;
pub mod optim_foreach;
pub mod pool2d;
pub mod reduce;
pub mod softmax;
pub mod unary;
pub mod where_cond;

use crate::error::{Result, TensorError};
use crate::runtime::{Binding, Kernel, rt};

/// The most dimensions an elementwise kernel indexes (after merging
/// contiguous dims, so views of higher rank usually still fit).
pub(crate) const MAX_RANK: usize = 8;

/// Invocations per workgroup of the kernels that `dispatch_1d` launches
/// with one invocation per element (conv, optim).
pub(crate) const WORKGROUP_SIZE: u32 = 64;

/// Invocations per workgroup of the looping kernels (`dispatch_items`);
/// must match `WORKGROUP_SIZE` in their shaders.
pub(crate) const LOOP_WORKGROUP_SIZE: u32 = 256;

/// The most workgroups one `dispatch_items` launches. lavapipe runs each
/// workgroup as one thread-pool task (about 1 us of overhead), so a bounded
/// grid whose invocations loop keeps that overhead small for any size; 512 x
/// 256 invocations still fill a discrete GPU. Below the 65,535 per-dimension
/// limit, so the grid is always one row.
const MAX_LOOP_GROUPS: u64 = 512;
const _: () = assert!(MAX_LOOP_GROUPS <= 65_535 && MAX_LOOP_GROUPS.is_power_of_two());

/// Elements an invocation of an elementwise kernel takes before the grid
/// grows: small tensors then need few workgroups (tasks on lavapipe).
/// 32 cut the CPU time of relu by a third against 4 (the loop's setup is
/// paid once per invocation) and still gives each of lavapipe's threads
/// several workgroups on LeNet's activations.
pub(crate) const ELEMENTS_PER_INVOCATION: usize = 32;

/// The same for the kernels that move four elements per access (`*_vec4`):
/// the same 32 elements.
pub(crate) const VEC4_PER_INVOCATION: usize = 8;

/// Packs up to eight dims into the kernels' `array<vec4<u32>, 2>`.
pub(crate) fn pack8(op: &'static str, dims: &[usize]) -> Result<[u32; 8]> {
    if dims.len() > MAX_RANK {
        return Err(TensorError::Invalid {
            op,
            message: format!("at most {MAX_RANK} non-mergeable dimensions are supported"),
            shape: dims.to_vec(),
        });
    }
    let mut out = [0u32; 8];
    for (o, &d) in out.iter_mut().zip(dims) {
        *o = to_u32(op, d)?;
    }
    Ok(out)
}

/// An index or count as the u32 kernels use.
pub(crate) fn to_u32(op: &'static str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| TensorError::Invalid {
        op,
        message: format!("{v} does not fit the kernels' 32-bit indices"),
        shape: vec![v],
    })
}

/// Dispatches a 1-D elementwise kernel over `numel` invocations.
pub(crate) fn dispatch_1d(
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    params: &[u32],
    bindings: &[Binding<'_>],
    numel: usize,
) {
    if numel == 0 {
        return;
    }
    let grid = crate::runtime::grid_1d(numel as u64, WORKGROUP_SIZE);
    rt().dispatch(
        kernel,
        constants,
        bytemuck::cast_slice(params),
        bindings,
        grid,
    );
}

/// Dispatches a kernel that loops over `items` work items (elements, rows,
/// output slots): enough 256-wide workgroups that each invocation gets
/// about `per_invocation` items, at most `MAX_LOOP_GROUPS`. The grid is
/// one-dimensional; the kernel derives its items from `global_invocation_id.x`
/// and `num_workgroups.x` (`row_span` in the elementwise shaders, a grid
/// stride in reduce.wgsl and softmax.wgsl).
pub(crate) fn dispatch_items(
    kernel: Kernel,
    constants: &[(&'static str, f64)],
    params: &[u32],
    bindings: &[Binding<'_>],
    items: usize,
    per_invocation: usize,
) {
    if items == 0 {
        return;
    }
    let per_group = u64::from(LOOP_WORKGROUP_SIZE) * per_invocation.max(1) as u64;
    // A power of two, so that the kernels split items among rows of
    // invocations with a shift instead of a division.
    let groups = (items as u64)
        .div_ceil(per_group)
        .next_power_of_two()
        .min(MAX_LOOP_GROUPS);
    rt().dispatch(
        kernel,
        constants,
        bytemuck::cast_slice(params),
        bindings,
        [groups as u32, 1, 1],
    );
}

/// `layout::coalesce`, then at least one dim (a size-1 dim of stride 0 when
/// nothing is left): the strided kernels take the rank as their `RANK`
/// pipeline constant and decode the outermost dim without a loop.
pub(crate) fn coalesce_min1(
    shape: &[usize],
    strides: &[&[usize]],
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let (mut shape, mut strides) = crate::layout::coalesce(shape, strides);
    if shape.is_empty() {
        shape.push(1);
        for s in &mut strides {
            s.push(0);
        }
    }
    (shape, strides)
}

/// The multiplier `m` and shift `l` with which the kernels divide any u32 `n`
/// by `d` (`div_by` in the shaders): with `t = mulhi(n, m)`,
/// `n / d = (t + ((n - t) >> min(l, 1))) >> (max(l, 1) - 1)`, exact for
/// every u32 `n` and `d >= 1` (Granlund & Montgomery, "Division by
/// invariant integers using multiplication", 1994, figure 4.1).
///
/// Why: CPUs have no vector integer division, so on lavapipe every `/` or
/// `%` by a runtime value cost eight scalar divisions per SIMD step, which
/// made index decoding the bulk of a strided elementwise kernel. `d = 0`
/// (an unused dim slot) gives `(0, 0)`.
pub(crate) fn magic_divisor(d: u32) -> (u32, u32) {
    if d == 0 {
        return (0, 0);
    }
    let l = 32 - (d - 1).leading_zeros(); // ceil(log2(d))
    let (d, l) = (u128::from(d), u128::from(l));
    // < 2^32 for every d >= 1: (2^l - d) / d < 1.
    let m = ((1u128 << 32) * ((1u128 << l) - d) / d + 1) as u32;
    (m, l as u32)
}

/// `magic_divisor` of each of eight dims: the eight multipliers, then the
/// eight shifts (two `array<vec4<u32>, 2>` in WGSL).
pub(crate) fn pack_divisors(dims: &[u32; 8]) -> [u32; 16] {
    let mut out = [0; 16];
    for (k, &d) in dims.iter().enumerate() {
        (out[k], out[8 + k]) = magic_divisor(d);
    }
    out
}

/// Unwraps a checked op's result: the message already names the op and
/// the shapes, so model code can read like PyTorch.
pub(crate) fn or_panic<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::magic_divisor;

    /// `div_by` of the shaders, with `mulhi` computed in 64 bits.
    fn div_by(n: u32, (m, l): (u32, u32)) -> u32 {
        let t = ((u64::from(n) * u64::from(m)) >> 32) as u32;
        (t + ((n - t) >> l.min(1))) >> (l.max(1) - 1)
    }

    #[test]
    fn magic_division_is_exact_for_edge_and_random_operands() {
        let mut divisors = vec![1, 2, 3, 5, 6, 7, 24, 25, 576, 65_535, 65_536, 65_537];
        divisors.extend([
            (1 << 31) - 1,
            1 << 31,
            (1 << 31) + 1,
            u32::MAX - 1,
            u32::MAX,
        ]);
        let mut s = 12_345u32;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s
        };
        for _ in 0..2000 {
            let r = next();
            divisors.push(r >> (r % 32));
        }
        for &d in divisors.iter().filter(|&&d| d > 0) {
            let magic = magic_divisor(d);
            let mut ns = vec![0, 1, d - 1, d, d.wrapping_add(1), u32::MAX, u32::MAX - 1];
            ns.extend([
                d.wrapping_mul(2),
                d.wrapping_mul(2).wrapping_sub(1),
                u32::MAX / d * d,
            ]);
            ns.extend((0..200).map(|_| next()));
            for n in ns {
                assert_eq!(div_by(n, magic), n / d, "{n} / {d} with {magic:?}");
            }
        }
    }
}
