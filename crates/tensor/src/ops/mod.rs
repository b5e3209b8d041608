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

/// Invocations per workgroup of the 1-D elementwise kernels.
pub(crate) const WORKGROUP_SIZE: u32 = 64;

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

/// Unwraps a checked op's result: the message already names the op and
/// the shapes, so model code can read like PyTorch.
pub(crate) fn or_panic<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}
