//! Element types. Both are four bytes, so every kernel that only moves data
//! (copies, gathers, concatenation) works on raw `u32` words for either.

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float: everything that is computed.
    F32,
    /// 32-bit signed integer: class labels and indices. WGSL has no 8- or
    /// 64-bit storage types, so PyTorch's int64 labels become i32 here.
    I32,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        4
    }

    /// PyTorch's name for the type, as printed in `dtype=torch.int32`.
    pub const fn torch_name(self) -> &'static str {
        match self {
            DType::F32 => "torch.float32",
            DType::I32 => "torch.int32",
        }
    }
}

/// A Rust type that can be a tensor element.
pub trait Element: bytemuck::Pod + Copy + Send + Sync + 'static {
    /// The tensor dtype of this Rust type.
    const DTYPE: DType;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
}

impl Element for i32 {
    const DTYPE: DType = DType::I32;
}
