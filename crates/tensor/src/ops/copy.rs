//! Data movement: `contiguous`, `copy_`, `fill_`, dtype casts.

use crate::dtype::DType;
use crate::error::{Result, TensorError};
use crate::layout::{Layout, broadcast_layout, broadcast_shapes};
use crate::ops::{
    ELEMENTS_PER_INVOCATION, VEC4_PER_INVOCATION, coalesce_min1, dispatch_items, or_panic,
    pack_divisors, pack8, to_u32,
};
use crate::runtime::{Binding, Kernel};
use crate::shaders::COPY;
use crate::tensor::Tensor;

/// Which `copy.wgsl` entry moves the words.
#[derive(Clone, Copy, PartialEq)]
enum Move {
    Copy,
    Fill,
    CastI32F32,
    CastF32I32,
}

impl Move {
    /// The strided entry point, or the one moving four words per access
    /// (`copy_vec4`, `fill_vec4`) for dense views at offsets that are
    /// multiples of 4.
    fn entry(self, vec4: bool) -> &'static str {
        match (self, vec4) {
            (Move::Copy, false) => "copy",
            (Move::Copy, true) => "copy_vec4",
            (Move::Fill, false) => "fill",
            (Move::Fill, true) => "fill_vec4",
            (Move::CastI32F32, _) => "cast_i32_f32",
            (Move::CastF32I32, _) => "cast_f32_i32",
        }
    }
}

/// `copy.wgsl`'s Params for a src view and a dst view of one shape, and
/// what the dispatch needs to know about them.
struct Packed {
    words: Vec<u32>,
    /// The merged rank, the `RANK` pipeline constant.
    rank: usize,
    /// Both views dense (one merged dim of stride 1) at offsets that are
    /// multiples of 4.
    vec4: bool,
}

fn params(op: &'static str, src: &Layout, dst: &Layout, value: u32) -> Result<Packed> {
    let (shape, strides) = coalesce_min1(&dst.shape, &[&src.strides, &dst.strides]);
    let dims = pack8(op, &shape)?;
    let mut p = Vec::with_capacity(48);
    p.extend(dims);
    p.extend(pack8(op, &strides[0])?);
    p.extend(pack8(op, &strides[1])?);
    p.extend([
        to_u32(op, dst.numel())?,
        shape.len() as u32,
        to_u32(op, src.offset)?,
        to_u32(op, dst.offset)?,
        value,
        0,
        0,
        0,
    ]);
    p.extend(pack_divisors(&dims));
    let dense = shape.len() == 1 && strides.iter().all(|s| s[0] == 1);
    Ok(Packed {
        words: p,
        rank: shape.len(),
        vec4: dense && src.offset.is_multiple_of(4) && dst.offset.is_multiple_of(4),
    })
}

/// Moves `src` (viewed with `src_layout`) into `dst`'s storage at
/// `dst_layout`; a fill (of `value`) when `how` is `Move::Fill` (`src` is
/// then `dst`, and is not bound).
fn move_words(
    op: &'static str,
    how: Move,
    (src, src_layout): (&Tensor, &Layout),
    (dst, dst_layout): (&Tensor, &Layout),
    value: u32,
) -> Result<()> {
    let p = params(op, src_layout, dst_layout, value)?;
    let vec4 = p.vec4 && matches!(how, Move::Copy | Move::Fill);
    // The vec4 entries bind the same buffers at 3 and 4.
    let first = if vec4 { 3 } else { 1 };
    let mut bindings = Vec::with_capacity(2);
    if how != Move::Fill {
        bindings.push(Binding {
            binding: first,
            buffer: src.buffer(),
        });
    }
    bindings.push(Binding {
        binding: first + 1,
        buffer: dst.buffer(),
    });
    let (items, per_invocation) = if vec4 {
        (dst_layout.numel().div_ceil(4), VEC4_PER_INVOCATION)
    } else {
        (dst_layout.numel(), ELEMENTS_PER_INVOCATION)
    };
    dispatch_items(
        Kernel::new(&COPY, how.entry(vec4)),
        &[("RANK", p.rank as f64)],
        &p.words,
        &bindings,
        items,
        per_invocation,
    );
    Ok(())
}

impl Tensor {
    /// A dense row-major tensor with the same values that starts at the
    /// beginning of its buffer; `self` when it already is one.
    ///
    /// NOTE: unlike PyTorch, a dense view at an offset (`t.narrow(0, 5, 2)`)
    /// is copied too, so that every kernel taking a contiguous input can
    /// index it from 0.
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() && self.layout.offset == 0 {
            return self.clone();
        }
        let out = Tensor::empty_for("contiguous", self.shape(), self.dtype);
        or_panic(move_words(
            "contiguous",
            Move::Copy,
            (self, &self.layout),
            (&out, &out.layout),
            0,
        ));
        out
    }

    /// Copies `src` (broadcast to `self`'s shape) into `self`'s elements,
    /// in place (`t.copy_(src)`, and `t[:, 1] = src` on a view). Converts
    /// between f32 and i32 as PyTorch does.
    pub fn try_copy_(&self, src: &Tensor) -> Result<()> {
        let shape = broadcast_shapes("copy_", src.shape(), self.shape())?;
        if shape != self.shape() {
            return Err(TensorError::ShapeMismatch {
                op: "copy_",
                lhs: self.shape().to_vec(),
                rhs: src.shape().to_vec(),
            });
        }
        let how = match (src.dtype, self.dtype) {
            (DType::I32, DType::F32) => Move::CastI32F32,
            (DType::F32, DType::I32) => Move::CastF32I32,
            _ => Move::Copy,
        };
        // The source may be a view of the same buffer (`t[0] = t[1]`):
        // read it from a copy so that no element is read after it is written.
        let src = if src.shares_storage(self) {
            src.detached_copy()
        } else {
            src.clone()
        };
        let src_layout = broadcast_layout(&src.layout, self.shape());
        move_words("copy_", how, (&src, &src_layout), (self, &self.layout), 0)
    }

    /// `t.copy_(src)`; see [`Tensor::try_copy_`].
    ///
    /// # Panics
    /// If `src` does not broadcast to `self`'s shape.
    pub fn copy_(&self, src: &Tensor) {
        or_panic(self.try_copy_(src));
    }

    /// A dense copy with its own buffer, even when `self` is dense.
    pub fn detached_copy(&self) -> Tensor {
        let out = Tensor::empty_for("clone", self.shape(), self.dtype);
        or_panic(move_words(
            "clone",
            Move::Copy,
            (self, &self.layout),
            (&out, &out.layout),
            0,
        ));
        out
    }

    /// Sets every element to `value` in place (`t.fill_(v)`).
    pub fn fill_(&self, value: f32) {
        let bits = match self.dtype {
            DType::F32 => value.to_bits(),
            DType::I32 => (value as i32) as u32,
        };
        let layout = (self, &self.layout);
        or_panic(move_words("fill_", Move::Fill, layout, layout, bits));
    }

    /// Sets every element to zero in place (`t.zero_()`).
    pub fn zero_(&self) {
        self.fill_(0.0);
    }

    /// This tensor as `dtype` (a copy when the type changes).
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype {
            return self.clone();
        }
        let out = Tensor::empty_for("to_dtype", self.shape(), dtype);
        let how = if dtype == DType::F32 {
            Move::CastI32F32
        } else {
            Move::CastF32I32
        };
        or_panic(move_words(
            "to_dtype",
            how,
            (self, &self.layout),
            (&out, &out.layout),
            0,
        ));
        out
    }

    /// As f32 (`t.float()`).
    pub fn float(&self) -> Tensor {
        self.to_dtype(DType::F32)
    }

    /// As i32, truncating toward zero (`t.int()`; wgrad's `long()`).
    pub fn int(&self) -> Tensor {
        self.to_dtype(DType::I32)
    }
}
