//! Matrix products with PyTorch's semantics: `matmul` (1-D promotion,
//! broadcast batch dims), `mm` and `bmm` (`shaders/matmul.wgsl`).
//!
//! Operands are read in place when their matrix is row-major or
//! column-major with any leading dimension (`w.t()`, a column slice, an
//! expanded batch): the kernel gets the orientation as an override constant
//! and the leading dimension and batch strides as params. Other layouts, and
//! for the register kernel layouts whose rows do not start on 16 bytes, are
//! first copied (into rows padded to a multiple of 4 elements for the
//! register kernels, which read quads). The narrow kernel reads unaligned
//! row- or column-major layouts in place, as scalars.

use std::sync::OnceLock;

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::layout::{Layout, broadcast_layout, coalesce};
use crate::ops::{or_panic, pack8, to_u32};
use crate::runtime::{Binding, Kernel, rt};
use crate::shaders::{MATMUL, MATMUL_SUBGROUP};
use crate::tensor::Tensor;

/// Which kernel computes the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatmulKernel {
    /// Each invocation accumulates a 32 x 32 block of the result in
    /// registers, no workgroup memory: for CPU drivers, where every storage
    /// load costs a loop over the SIMD lanes and barriers are coroutine
    /// switches (on lavapipe about 30 times faster than `Tiled`).
    Register,
    /// `Register` with a workgroup's lanes sharing what they load by
    /// subgroup shuffles (`shaders/matmul.subgroup.wgsl`): its 8 lanes
    /// compute a 64 x 128 block of the result as a 2 x 4 grid of 32 x 32
    /// blocks, each lane loading a quarter of the rows of `a` and half of
    /// the columns of `b` that its own 32 x 32 block needs (products of at
    /// most 32 rows: a 1 x 8 row sharing only `a`'s rows). On lavapipe
    /// 53 GFLOP/s at n = 1024, 1.10-1.13x the 1 x 8 row's speed (measured
    /// in one process, BENCHMARKS.md). Needs subgroups of at least 8
    /// invocations ([`AdapterSummary::subgroups_of_8`]); elsewhere it runs
    /// as `Register`.
    ///
    /// [`AdapterSummary::subgroups_of_8`]: crate::runtime::AdapterSummary::subgroups_of_8
    RegisterSubgroup,
    /// 64 x 64 tiles staged in workgroup memory behind barriers: what real
    /// GPUs prefer.
    Tiled,
}

/// Rows per invocation of the register kernel (`TM`).
const REGISTER_ROWS: usize = 32;
/// Columns per invocation of the register kernel (`TN`).
const REGISTER_COLS: usize = 32;
/// Invocations per workgroup of the register kernel (`WG_X`): side by
/// side along the columns in the portable kernel, a grid of `GRID_ROWS`
/// rows in the subgroup one.
const REGISTER_WORKGROUP: usize = 8;
/// Rows of the subgroup register kernel's grid of lanes (`GRID_ROWS`)
/// when the product has more rows than one invocation covers. A product
/// whose row count crosses 32 from call to call (an epoch's short last
/// batch through a wide Linear layer) then takes two register pipelines,
/// each several seconds of compiling on lavapipe with an empty shader
/// cache, where it took one before.
const GRID_ROWS: usize = 2;
/// The tiled kernel's output tile is `TILE x TILE` (`TILE` in the shader).
const TILE: usize = 64;
/// Workgroups per grid dimension that every adapter allows.
const MAX_GROUPS: usize = 65_535;

impl MatmulKernel {
    /// `WGRAD_MATMUL=register|register-subgroup|tiled` if set, else the
    /// register kernel on CPU adapters (with subgroups where it has them)
    /// and the tiled one elsewhere. Read once per process.
    pub fn current() -> MatmulKernel {
        static CHOICE: OnceLock<MatmulKernel> = OnceLock::new();
        *CHOICE.get_or_init(|| match std::env::var("WGRAD_MATMUL").as_deref() {
            Ok("register") => MatmulKernel::Register,
            Ok("register-subgroup") => MatmulKernel::RegisterSubgroup,
            Ok("tiled") => MatmulKernel::Tiled,
            _ if rt().adapter().device_type == wgpu::DeviceType::Cpu => {
                MatmulKernel::RegisterSubgroup
            }
            _ => MatmulKernel::Tiled,
        })
    }

    /// The kernel that runs for this choice on this adapter.
    fn available(self) -> MatmulKernel {
        if self == MatmulKernel::RegisterSubgroup && !rt().adapter().subgroups_of_8 {
            MatmulKernel::Register
        } else {
            self
        }
    }
}

/// One operand as the kernel reads it.
struct Operand {
    tensor: Tensor,
    /// Column-major matrix (`TRANS_A` / `TRANS_B`).
    trans: bool,
    /// Distance between rows (columns when `trans`), in elements.
    ld: usize,
    /// Strides of the batch dims, broadcast to the result's batch shape.
    batch_strides: Vec<usize>,
}

impl Operand {
    /// The same matrix read as its transpose.
    fn flipped(self) -> Operand {
        Operand {
            trans: !self.trans,
            ..self
        }
    }

    /// Whether every quad the register kernel reads starts at a multiple
    /// of 4 elements, so it can be one 16-byte load.
    fn aligned(&self) -> bool {
        self.tensor.layout.offset.is_multiple_of(4)
            && self.ld.is_multiple_of(4)
            && self.batch_strides.iter().all(|s| s.is_multiple_of(4))
    }
}

/// How a kernel reads an operand's quads (4 consecutive elements), from
/// the least demanding to the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Quads {
    /// As scalars: the tiled kernel.
    Scalars,
    /// As one 16-byte load where they are aligned, else as 4 scalars: the
    /// narrow kernel (`A_VEC4`, `B_VEC4`).
    AlignedOrScalars,
    /// Only as 16-byte loads: the register kernel.
    Aligned,
}

/// Reads `t` (rank >= 2, f32) as a batch of matrices: in place when its
/// matrix dims are row- or column-major (and 16-byte aligned, for
/// `Quads::Aligned`), else from a dense copy (O(rows x cols) against the
/// product's O(rows x cols x n)) whose rows are padded to a multiple of 4
/// elements for the kernels that read quads.
fn operand(t: &Tensor, batch: &[usize], quads: Quads) -> Result<Operand> {
    let rank = t.dim();
    let (rows, cols) = (t.shape()[rank - 2], t.shape()[rank - 1]);
    let (rs, cs) = (t.strides()[rank - 2], t.strides()[rank - 1]);
    let read = |tensor: &Tensor, trans: bool, ld: usize| {
        let l = &tensor.layout;
        let batch_layout = Layout {
            shape: l.shape[..rank - 2].to_vec(),
            strides: l.strides[..rank - 2].to_vec(),
            offset: l.offset,
        };
        Operand {
            tensor: tensor.clone(),
            trans,
            ld,
            // Size-1 batch dims never move the index either.
            batch_strides: broadcast_layout(&batch_layout, batch)
                .strides
                .iter()
                .zip(batch)
                .map(|(&s, &d)| if d == 1 { 0 } else { s })
                .collect(),
        }
    };
    // A size-1 dim's stride never moves the index: its leading dim is 0.
    let in_place = [
        (cols == 1 || cs == 1).then(|| read(t, false, if rows == 1 { 0 } else { rs })),
        (rows == 1 || rs == 1).then(|| read(t, true, if cols == 1 { 0 } else { cs })),
    ];
    if let Some(o) = in_place
        .into_iter()
        .flatten()
        .find(|o| quads != Quads::Aligned || o.aligned())
    {
        return Ok(o);
    }
    let ld = if quads == Quads::Scalars {
        cols
    } else {
        cols.next_multiple_of(4)
    };
    let mut shape = t.shape().to_vec();
    shape[rank - 1] = ld;
    let view = Tensor::uninit("matmul", &shape, DType::F32)?.try_narrow(-1, 0, cols)?;
    view.try_copy_(t)?;
    // What lies in the padding is never stored: past k it is masked, past
    // n it only reaches columns of c that are not written.
    Ok(read(&view, false, if rows == 1 { 0 } else { ld }))
}

/// Errors unless `a` and `b` are matrices `[m, k]` and `[k, n]`, naming
/// `op` and both shapes.
fn check_matrices(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() != 2 || sb.len() != 2 || sa[1] != sb[0] {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: sa.to_vec(),
            rhs: sb.to_vec(),
        });
    }
    Ok(())
}

/// The shared shape rules of `matmul`: 1-D operands are promoted (and the
/// added dim dropped from the result), batch dims broadcast.
fn matmul_shapes(a: &[usize], b: &[usize]) -> Result<(Vec<usize>, Vec<usize>)> {
    let mismatch = || TensorError::ShapeMismatch {
        op: "matmul",
        lhs: a.to_vec(),
        rhs: b.to_vec(),
    };
    if a.is_empty() || b.is_empty() {
        return Err(TensorError::Invalid {
            op: "matmul",
            message: format!(
                "both arguments need at least one dimension, got shapes {a:?} and {b:?}"
            ),
            shape: if a.is_empty() { a.to_vec() } else { b.to_vec() },
        });
    }
    let ka = a[a.len() - 1];
    let kb = if b.len() == 1 { b[0] } else { b[b.len() - 2] };
    if ka != kb {
        return Err(mismatch());
    }
    let batch_a = &a[..a.len().saturating_sub(2)];
    let batch_b = &b[..b.len().saturating_sub(2)];
    let batch =
        crate::layout::broadcast_shapes("matmul", batch_a, batch_b).map_err(|_| mismatch())?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(a[a.len() - 2]);
    }
    if b.len() > 1 {
        out.push(b[b.len() - 1]);
    }
    Ok((batch, out))
}

impl Tensor {
    /// The matrix product with PyTorch's rules (`torch.matmul`, `a @ b`):
    /// 1-D x 1-D is a dot product (0-dim result); a 1-D operand is promoted
    /// to a matrix by a leading (left) or trailing (right) 1 that is removed
    /// from the result; other dims are batch dims and broadcast:
    /// `[b, 1, m, k] @ [n_, k, n] -> [b, n_, m, n]`. Integer operands are
    /// computed in f32.
    pub fn try_matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.try_matmul_with(other, MatmulKernel::current())
    }

    /// [`Tensor::try_matmul`] with a chosen kernel rather than the
    /// process-wide one (for tests and benchmarks of both kernels).
    pub fn try_matmul_with(&self, other: &Tensor, kernel: MatmulKernel) -> Result<Tensor> {
        Ok(self.product(other, kernel, None, false)?.0)
    }

    /// `(self @ b, self.sum_dim(1, false))` for matrices `self: [m, k]` and
    /// `b: [k, n]`: how autograd's Linear backward gets its weight and
    /// bias gradients (`gᵀ @ x` and `Σ_rows g`). Where the narrow register
    /// kernel computes the product in its own orientation (no more rows
    /// than columns, and at most 16 rows or too few 32 x 32 blocks for the
    /// register kernel: a Linear layer's weight gradient with fewer
    /// outputs than inputs, on CPU adapters), every invocation adds up
    /// `self`'s rows from the blocks it loads anyway, those of the first
    /// block of columns store them, and the sums cost no dispatch of their
    /// own; elsewhere (and for an integer `self`) they are a separate
    /// `sum_dim`. The two add in different orders, so the sums' last bits
    /// depend on which ran.
    pub fn try_matmul_and_row_sums(&self, b: &Tensor) -> Result<(Tensor, Tensor)> {
        check_matrices("matmul_and_row_sums (needs [m, k] and [k, n])", self, b)?;
        let fuse = self.dtype == DType::F32;
        let (product, sums) = self.product(b, MatmulKernel::current(), None, fuse)?;
        let sums = match sums {
            Some(sums) => sums,
            None => self.try_sum_dim(1, false)?,
        };
        Ok((product, sums))
    }

    /// `bias + a @ b` for matrices `a: [m, k]`, `b: [k, n]` and a bias that
    /// broadcasts to `[m, n]` (`torch.addmm(bias, a, b)`; Linear's forward
    /// with `b = w.t()`). A bias of shape `[n]` is added as the register
    /// kernels store, so Linear's bias costs no dispatch of its own on CPU
    /// adapters; with the tiled kernel (GPUs) it is a separate add.
    pub fn try_addmm(bias: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        check_matrices("addmm (needs [m, k] and [k, n])", a, b)?;
        let n = b.shape()[1];
        if bias.shape() == [n] && bias.dtype == DType::F32 {
            // A dense view is read in place, at its offset.
            let bias = if bias.is_contiguous() {
                bias.clone()
            } else {
                bias.contiguous()
            };
            return Ok(a.product(b, MatmulKernel::current(), Some(&bias), false)?.0);
        }
        let out = a.try_matmul(b)?;
        let sum = out.try_add(bias)?;
        if sum.shape() != out.shape() {
            return Err(TensorError::ShapeMismatch {
                op: "addmm (bias must broadcast to [m, n])",
                lhs: bias.shape().to_vec(),
                rhs: out.shape().to_vec(),
            });
        }
        Ok(sum)
    }

    /// The product of [`Tensor::try_matmul_with`], plus `bias` (dense f32
    /// `[n]`, added to every row) when given; with `row_sums`, also the
    /// sums of `self`'s rows where the kernel can make them (the narrow
    /// kernel, unbatched, untransposed), `None` where it cannot.
    fn product(
        &self,
        other: &Tensor,
        kernel: MatmulKernel,
        bias: Option<&Tensor>,
        row_sums: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let (batch, out_shape) = matmul_shapes(self.shape(), other.shape())?;
        let a = as_f32(self);
        let b = as_f32(other);
        // a: [..., k] -> [..., 1, k]; b: [k] -> [k, 1]
        let a = if a.dim() == 1 { a.unsqueeze(0) } else { a };
        let b = if b.dim() == 1 { b.unsqueeze(1) } else { b };
        let (m, k, n) = (a.size(-2), a.size(-1), b.size(-1));
        let numel: usize = out_shape.iter().product();
        if numel == 0 {
            return Ok((Tensor::uninit("matmul", &out_shape, DType::F32)?, None));
        }
        if k == 0 {
            // Sums of nothing.
            let out = Tensor::uninit("matmul", &out_shape, DType::F32)?;
            out.zero_();
            let out = match bias {
                Some(bias) => out.try_add(bias)?,
                None => out,
            };
            return Ok((out, None));
        }
        let kernel = kernel.available();
        let batches: usize = batch.iter().product();
        let plan = Plan::choose(kernel, m, n, batches);
        let quads = plan.quads();
        let (oa, ob) = (operand(&a, &batch, quads)?, operand(&b, &batch, quads)?);
        // The transposed orientation computes c^T = b^T a^T: b's
        // transpose is the left operand, read in place with the other
        // orientation flag (see TRANS_C in the shader).
        let (oa, ob, m, n) = if plan.transposed {
            (ob.flipped(), oa.flipped(), n, m)
        } else {
            (oa, ob, m, n)
        };
        let (merged, strides) = coalesce(&batch, &[&oa.batch_strides, &ob.batch_strides]);
        let c_vec4 = n.is_multiple_of(4) && !plan.transposed;
        let mut p = Vec::with_capacity(40);
        p.extend(pack8("matmul", &merged)?);
        p.extend(pack8("matmul", &strides[0])?);
        p.extend(pack8("matmul", &strides[1])?);
        for v in [m, n, k, merged.len()] {
            p.push(to_u32("matmul", v)?);
        }
        for v in [
            oa.tensor.layout.offset,
            ob.tensor.layout.offset,
            oa.ld,
            ob.ld,
        ] {
            p.push(to_u32("matmul", v)?);
        }
        to_u32("matmul", numel)?;
        let flag = |b: bool| f64::from(u8::from(b));
        // The first three are all the tiled kernel reads (`dispatch_chunks`).
        let constants = [
            ("TRANS_A", flag(oa.trans)),
            ("TRANS_B", flag(ob.trans)),
            ("BATCHED", flag(!merged.is_empty())),
            ("C_VEC4", flag(c_vec4)),
            ("TRANS_C", flag(plan.transposed)),
            // Read by the narrow kernel only (the register kernel's
            // operands are aligned).
            ("A_VEC4", flag(oa.aligned())),
            ("B_VEC4", flag(ob.aligned())),
        ];
        let out = Tensor::uninit("matmul", &out_shape, DType::F32)?;
        let buffers = [oa.tensor.buffer(), ob.tensor.buffer(), out.buffer()];
        // The register kernels add the bias as they store.
        let (in_kernel, after) = match plan.entry {
            "matmul_tiled" => (None, bias),
            _ => (bias, None),
        };
        let sums_in_kernel =
            row_sums && plan.entry == "matmul_narrow" && !plan.transposed && batch.is_empty();
        let sums = if sums_in_kernel {
            Some(Tensor::uninit("matmul", &[m], DType::F32)?)
        } else {
            None
        };
        dispatch_chunks(
            &plan,
            &constants,
            &p,
            buffers,
            in_kernel,
            sums.as_ref(),
            [n, m, batches],
        );
        let out = match after {
            Some(bias) => out.try_add(bias)?,
            None => out,
        };
        Ok((out, sums))
    }

    /// `(self @ b, self.sum_dim(1, false))`; see
    /// [`Tensor::try_matmul_and_row_sums`].
    ///
    /// # Panics
    /// If an operand is not a matrix or the inner dims differ.
    pub fn matmul_and_row_sums(&self, b: &Tensor) -> (Tensor, Tensor) {
        or_panic(self.try_matmul_and_row_sums(b))
    }

    /// `a @ b`; see [`Tensor::try_matmul`].
    ///
    /// # Panics
    /// If the inner dims differ, the batch dims do not broadcast, or an
    /// operand is 0-dimensional.
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        or_panic(self.try_matmul(other))
    }

    /// This matrix (or batch of matrices) in a layout that the kernels of
    /// `products` read in place in either orientation, each product given
    /// as the `(m, n)` of its result (with `self`'s batch dims): `self`
    /// when it already is one, else an f32 copy whose rows are padded to a
    /// multiple of 4 elements (a narrowed view of it). A product makes that
    /// copy itself when it needs one; an operand of several products
    /// (autograd's linear backward multiplies `g` and `gᵀ`) is copied once
    /// this way instead of once per product. Only the register kernel
    /// needs aligned rows: for products that the narrow or tiled kernel
    /// computes, a row- or column-major `self` is returned as it is.
    pub fn try_aligned_for_matmul(&self, products: &[(usize, usize)]) -> Result<Tensor> {
        let kernel = MatmulKernel::current().available();
        if self.dim() < 2 {
            return Ok(self.clone());
        }
        let batch = self.shape()[..self.dim() - 2].to_vec();
        let batches = batch.iter().product();
        // What the most demanding of the products' kernels needs.
        let quads = products
            .iter()
            .map(|&(m, n)| Plan::choose(kernel, m, n, batches).quads())
            .max()
            .unwrap_or(Quads::Scalars);
        Ok(operand(&as_f32(self), &batch, quads)?.tensor)
    }

    /// The product of two matrices (`torch.mm`): `[m, k] @ [k, n] -> [m, n]`.
    pub fn try_mm(&self, other: &Tensor) -> Result<Tensor> {
        check_matrices("mm (needs [m, k] and [k, n])", self, other)?;
        self.try_matmul(other)
    }

    /// `torch.mm`; see [`Tensor::try_mm`].
    ///
    /// # Panics
    /// If an operand is not a matrix or the inner dims differ.
    pub fn mm(&self, other: &Tensor) -> Tensor {
        or_panic(self.try_mm(other))
    }

    /// Batched matrix product without broadcasting (`torch.bmm`):
    /// `[b, m, k] @ [b, k, n] -> [b, m, n]`.
    pub fn try_bmm(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self.shape(), other.shape());
        if a.len() != 3 || b.len() != 3 || a[0] != b[0] || a[2] != b[1] {
            return Err(TensorError::ShapeMismatch {
                op: "bmm (needs [b, m, k] and [b, k, n])",
                lhs: a.to_vec(),
                rhs: b.to_vec(),
            });
        }
        self.try_matmul(other)
    }

    /// `torch.bmm`; see [`Tensor::try_bmm`].
    ///
    /// # Panics
    /// If the operands are not 3-D with equal batch and matching inner dims.
    pub fn bmm(&self, other: &Tensor) -> Tensor {
        or_panic(self.try_bmm(other))
    }
}

fn as_f32(t: &Tensor) -> Tensor {
    if t.dtype == DType::F32 {
        t.clone()
    } else {
        t.float()
    }
}

/// How one product is computed: which entry point, the block of c one
/// workgroup covers, and the orientation.
struct Plan {
    entry: &'static str,
    /// Rows and columns of the computed matrix one workgroup covers.
    block: (usize, usize),
    /// Compute c^T = b^T a^T and store it transposed (`TRANS_C`).
    transposed: bool,
    /// Row quads per invocation: 8 in the register kernel, `TM_QUADS` of
    /// the narrow one.
    row_quads: usize,
    /// `TN_QUADS` of the narrow register kernel: column quads per
    /// invocation.
    col_quads: usize,
    /// The register kernels share their loads between lanes by subgroup
    /// shuffles (`matmul.subgroup.wgsl`).
    shared_loads: bool,
    /// Rows of lanes in a register workgroup (`GRID_ROWS` of the subgroup
    /// kernel; 1 in the portable one).
    grid_rows: usize,
}

/// The register kernel is used for products of more than 16 rows when it
/// gets at least this many invocations; below, most SIMD lanes of a CPU
/// driver would idle. The narrow kernel takes narrower blocks of columns
/// until it has as many, or takes one column quad each.
///
/// k is never split: with fewer invocations than lanes, a 4 x 4 kernel
/// that split k into slices for parallelism and summed them in a second
/// pass (until the tenth stop) was slower on lavapipe at every shape
/// measured. W2's forward `[64, 784] @ [784, 10]`: 110-118 us per call as
/// 16 narrow invocations, 168-224 us split 2 to 32 ways. With bias, 200
/// calls in one submission, best of 5: `[16, 784] @ [784, 10]` (an epoch's
/// last batch) 70-74 us against 271-430 us split, `[1, 784] @ [784, 10]`
/// 67-72 against 295-308, `[8, 4096] @ [4096, 8]` 254 against 1,117-1,336,
/// `[1, 65536] @ [65536, 1]` (one invocation) 3.4 ms against 14.6-14.9.
const REGISTER_MIN_INVOCATIONS: usize = 32;
/// Row quads (`TM_QUADS`) and column quads (`TN_QUADS`) per invocation of
/// the narrow kernel, at most.
const NARROW_ROW_QUADS: usize = 4;
const NARROW_COL_QUADS: usize = 2;

impl Plan {
    /// How the planned kernel reads the operands' quads.
    fn quads(&self) -> Quads {
        match self.entry {
            "matmul" => Quads::Aligned,
            "matmul_narrow" => Quads::AlignedOrScalars,
            _ => Quads::Scalars,
        }
    }

    fn choose(kernel: MatmulKernel, m: usize, n: usize, batches: usize) -> Plan {
        let mut plan = Plan {
            entry: "matmul_tiled",
            block: (TILE, TILE),
            transposed: false,
            row_quads: REGISTER_ROWS / 4,
            col_quads: NARROW_COL_QUADS,
            shared_loads: false,
            grid_rows: 1,
        };
        if kernel == MatmulKernel::Tiled {
            return plan;
        }
        // The invocations of a register workgroup lie along n (all 8, or
        // 4 in each of 2 rows): the longer side goes along n (transposing
        // if needed).
        plan.transposed = m > n;
        let (rows, cols) = if plan.transposed { (n, m) } else { (m, n) };
        plan.shared_loads = kernel == MatmulKernel::RegisterSubgroup;
        let row_block = 4 * plan.row_quads;
        let invocations = rows.div_ceil(row_block) * cols.div_ceil(REGISTER_COLS) * batches;
        if rows > 4 * NARROW_ROW_QUADS && invocations >= REGISTER_MIN_INVOCATIONS {
            plan.entry = "matmul";
            // A second row of lanes only where the rows fill it in part.
            if plan.shared_loads && rows > row_block {
                plan.grid_rows = GRID_ROWS;
            }
            plan.block = (
                plan.grid_rows * row_block,
                REGISTER_WORKGROUP / plan.grid_rows * REGISTER_COLS,
            );
            return plan;
        }
        // The narrow kernel for everything else: at most 16 rows per
        // invocation, and the widest blocks of columns that still give
        // enough invocations (see `REGISTER_MIN_INVOCATIONS`). Products of
        // at most 16 rows take it even where the register kernel would
        // have enough invocations: as fast there (W5's Linear(256, 10)
        // over 1,000 images), and on an empty shader cache lavapipe
        // compiles it in a fraction of the register kernel's time.
        plan.entry = "matmul_narrow";
        plan.row_quads = rows.div_ceil(4).min(NARROW_ROW_QUADS);
        let row_blocks = rows.div_ceil(4 * plan.row_quads) * batches;
        let invocations = |col_quads: usize| row_blocks * cols.div_ceil(4 * col_quads);
        while plan.col_quads > 1 && invocations(plan.col_quads) < REGISTER_MIN_INVOCATIONS {
            plan.col_quads /= 2;
        }
        plan.block = (4 * plan.row_quads, 4 * plan.col_quads * REGISTER_WORKGROUP);
        plan
    }
}

/// Dispatches `plan` over `[n, m, batches]` elements of the result, in
/// grids of at most 65,535 workgroups a side; each part gets its first row,
/// column and batch entry in the params.
fn dispatch_chunks(
    plan: &Plan,
    constants: &[(&'static str, f64)],
    params: &[u32],
    [a, b, c]: [&wgpu::Buffer; 3],
    bias: Option<&Tensor>,
    row_sums: Option<&Tensor>,
    [n, m, batches]: [usize; 3],
) {
    let bind = |binding, buffer| Binding { binding, buffer };
    let has_bias = ("HAS_BIAS", f64::from(u8::from(bias.is_some())));
    // Only the subgroup variant has a grid of lanes.
    let grid_rows = ("GRID_ROWS", plan.grid_rows as f64);
    let register: &[_] = if plan.shared_loads {
        &[has_bias, grid_rows]
    } else {
        &[has_bias]
    };
    let narrow = [
        ("TM_QUADS", plan.row_quads as f64),
        ("TN_QUADS", plan.col_quads as f64),
        has_bias,
        ("ROW_SUMS", f64::from(u8::from(row_sums.is_some()))),
    ];
    // The register kernels: a, b and c as scalars (1 to 3) and as vec4s
    // (4 to 6), the bias at 7 (b again without one, for a layout that
    // keeps every binding: a kernel uses only what its constants leave).
    let register_bindings = vec![
        bind(1, a),
        bind(2, b),
        bind(3, c),
        bind(4, a),
        bind(5, b),
        bind(6, c),
        bind(7, bias.map_or(b, Tensor::buffer)),
    ];
    let (constants, bindings): (Vec<_>, _) = match plan.entry {
        // The tiled kernel reads only the orientation and batch constants
        // and a, b and c as scalars.
        "matmul_tiled" => (
            constants[..3].to_vec(),
            vec![bind(1, a), bind(2, b), bind(3, c)],
        ),
        // The narrow kernel's row sums at 8 (c again without them).
        "matmul_narrow" => {
            let mut bindings = register_bindings;
            bindings.push(bind(8, row_sums.map_or(c, Tensor::buffer)));
            ([constants, &narrow].concat(), bindings)
        }
        // The register kernel's operands are aligned: A_VEC4 and B_VEC4
        // keep their defaults.
        _ => ([&constants[..5], register].concat(), register_bindings),
    };
    let (rows, cols) = plan.block;
    let (gx, gy) = (n.div_ceil(cols), m.div_ceil(rows));
    let bias_offset = bias.map_or(0, |t| t.layout.offset) as u32;
    let shader = if plan.shared_loads {
        &MATMUL_SUBGROUP
    } else {
        &MATMUL
    };
    for z0 in (0..batches).step_by(MAX_GROUPS) {
        for y0 in (0..gy).step_by(MAX_GROUPS) {
            for x0 in (0..gx).step_by(MAX_GROUPS) {
                let mut p = params.to_vec();
                // Fits: the result's element count was checked to fit in
                // u32.
                p.extend([(y0 * rows) as u32, (x0 * cols) as u32, z0 as u32]);
                p.extend([bias_offset, 0, 0, 0, 0]);
                let grid = [gx - x0, gy - y0, batches - z0].map(|g| g.min(MAX_GROUPS) as u32);
                rt().dispatch(
                    Kernel::new(shader, plan.entry),
                    &constants,
                    bytemuck::cast_slice(&p),
                    &bindings,
                    grid,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MatmulKernel, Plan};

    /// The plans `tests/ops/matmul.rs` relies on to reach every kernel
    /// variant (it checks their results against the CPU). Shapes are
    /// written `(m, n)` of `[m, k] @ [k, n]`: k does not enter the plan.
    #[test]
    fn plans_pick_the_kernel_orientation_and_blocks_by_shape() {
        let plan = |m, n| Plan::choose(MatmulKernel::Register, m, n, 1);
        let p = plan(1024, 1024);
        assert_eq!(
            (p.entry, p.transposed, p.row_quads, p.shared_loads, p.block),
            ("matmul", false, 8, false, (32, 256))
        );
        let p = Plan::choose(MatmulKernel::RegisterSubgroup, 1024, 1024, 1);
        assert_eq!(
            (p.entry, p.row_quads, p.shared_loads, p.grid_rows, p.block),
            ("matmul", 8, true, 2, (64, 128))
        );
        let p = plan(17, 3000);
        assert_eq!((p.entry, p.transposed, p.row_quads), ("matmul", false, 8));
        let p = plan(3000, 20);
        assert_eq!((p.entry, p.transposed, p.row_quads), ("matmul", true, 8));
        // The grid kernel's edge cases in `tests/ops/matmul.rs`.
        let grid = |m, n, batches| {
            let p = Plan::choose(MatmulKernel::RegisterSubgroup, m, n, batches);
            assert_eq!(p.entry, "matmul");
            (p.transposed, p.grid_rows, p.block)
        };
        assert_eq!(grid(40, 1000, 1), (false, 2, (64, 128)));
        assert_eq!(grid(100, 300, 1), (false, 2, (64, 128)));
        assert_eq!(grid(300, 100, 1), (true, 2, (64, 128)));
        assert_eq!(grid(40, 200, 3), (false, 2, (64, 128)));
        assert_eq!(grid(45, 1001, 1), (false, 2, (64, 128)));
        assert_eq!(grid(1001, 45, 1), (true, 2, (64, 128)));
        // At most 32 rows: one row of 8 lanes.
        assert_eq!(grid(17, 3000, 1), (false, 1, (32, 256)));
        assert_eq!(grid(1030, 30, 1), (true, 1, (32, 256)));
        assert_eq!(grid(32, 1100, 1), (false, 1, (32, 256)));
        assert_eq!(grid(33, 600, 1), (false, 2, (64, 128)));
        assert_eq!(grid(20, 600, 2), (false, 1, (32, 256)));
        // Linear(30, 600) and its transpose at batch 64, as addmm's test
        // has them.
        assert_eq!(plan(64, 600).entry, "matmul");
        let p = plan(600, 64);
        assert_eq!((p.entry, p.transposed), ("matmul", true));
        // The narrow kernel: (row quads, column quads) from (1, 1) to
        // (4, 2), upright and transposed.
        let narrow = |m, n, batches| {
            let p = Plan::choose(MatmulKernel::RegisterSubgroup, m, n, batches);
            assert_eq!((p.entry, p.shared_loads), ("matmul_narrow", true));
            (p.transposed, p.row_quads, p.col_quads)
        };
        assert_eq!(narrow(64, 10, 1), (true, 3, 1));
        assert_eq!(narrow(10, 784, 1), (false, 3, 2));
        assert_eq!(narrow(50, 256, 1), (false, 4, 2));
        assert_eq!(narrow(10, 256, 1), (false, 3, 2));
        assert_eq!(narrow(6, 40, 1), (false, 2, 1));
        assert_eq!(narrow(3, 37, 1), (false, 1, 1));
        assert_eq!(narrow(700, 12, 1), (true, 3, 2));
        assert_eq!(narrow(16, 36, 7), (false, 4, 2));
        // At most 16 rows: the narrow kernel, however many columns.
        assert_eq!(narrow(6, 3000, 1), (false, 2, 2));
        assert_eq!(narrow(1000, 10, 1), (true, 3, 2));
        assert_eq!(narrow(16, 1200, 1), (false, 4, 2));
        // Products with fewer invocations than lanes too, down to one:
        // k is never split.
        assert_eq!(narrow(2, 3, 1), (false, 1, 1));
        assert_eq!(narrow(5, 2, 1), (true, 1, 1));
        // W2's last batch of 16 takes the pipeline of its batches of 64.
        assert_eq!(narrow(16, 10, 1), (true, 3, 1));
        let p = Plan::choose(MatmulKernel::Tiled, 3000, 37, 1);
        assert_eq!((p.entry, p.transposed), ("matmul_tiled", false));
    }
}
