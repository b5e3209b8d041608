//! Printing tensors as PyTorch does. Printing reads the tensor back.

use crate::dtype::DType;
use crate::format::{FormatData, format_tensor};
use crate::tensor::Tensor;

impl Tensor {
    /// PyTorch's repr with extra suffixes (`requires_grad=True`,
    /// `grad_fn=<MulBackward0>`); the autograd layer passes its own.
    pub fn format_with(&self, extra: &[String]) -> String {
        let mut suffixes = Vec::new();
        if self.dtype == DType::I32 {
            suffixes.push(format!("dtype={}", self.dtype.torch_name()));
        }
        suffixes.extend_from_slice(extra);
        let text = match self.dtype {
            DType::F32 => self
                .to_vec::<f32>()
                .map(|v| format_tensor(FormatData::F32(&v), self.shape(), &suffixes)),
            DType::I32 => self
                .to_vec::<i32>()
                .map(|v| format_tensor(FormatData::I32(&v), self.shape(), &suffixes)),
        };
        text.unwrap_or_else(|e| format!("tensor(<unreadable: {e}>)"))
    }
}

impl std::fmt::Display for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format_with(&[]))
    }
}
