//! Views: new layouts over the same buffer, no data copied (except
//! `reshape` of a non-contiguous tensor, which copies as PyTorch does).

use crate::error::{Result, TensorError};
use crate::layout::{Layout, contiguous_strides, normalize_dim};
use crate::ops::or_panic;
use crate::tensor::Tensor;

fn invalid(op: &'static str, message: String, shape: &[usize]) -> TensorError {
    TensorError::Invalid {
        op,
        message,
        shape: shape.to_vec(),
    }
}

/// Resolves one `-1` in a requested shape.
fn infer_shape(op: &'static str, from: &[usize], spec: &[isize]) -> Result<Vec<usize>> {
    let numel: usize = from.iter().product();
    let mut unknown = None;
    let mut known = 1usize;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if unknown.is_none() => unknown = Some(i),
            d if d >= 0 => known *= d as usize,
            _ => {
                return Err(invalid(
                    op,
                    format!("invalid shape {spec:?}: only one -1 and no other negative size"),
                    from,
                ));
            }
        }
    }
    let mut shape: Vec<usize> = spec.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = unknown {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(invalid(
                op,
                format!("shape {spec:?} is invalid for input of size {numel}"),
                from,
            ));
        }
        shape[i] = numel / known;
    } else if known != numel {
        return Err(invalid(
            op,
            format!("shape {spec:?} is invalid for input of size {numel}"),
            from,
        ));
    }
    Ok(shape)
}

impl Tensor {
    fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor::from_parts(self.storage.clone(), layout, self.dtype)
    }

    /// `t.view(shape)`: a new shape over the same elements; `-1` once is
    /// inferred. Needs a contiguous tensor.
    pub fn try_view(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = infer_shape("view", self.shape(), shape)?;
        if !self.is_contiguous() {
            return Err(invalid(
                "view",
                "view size is not compatible with input tensor's size and stride; use reshape instead".into(),
                self.shape(),
            ));
        }
        let strides = contiguous_strides(&shape);
        Ok(self.with_layout(Layout {
            shape,
            strides,
            offset: self.layout.offset,
        }))
    }

    /// `t.view(shape)`; see [`Tensor::try_view`].
    ///
    /// # Panics
    /// If the shape does not hold the same number of elements, or `self` is not contiguous.
    pub fn view(&self, shape: &[isize]) -> Tensor {
        or_panic(self.try_view(shape))
    }

    /// `t.reshape(shape)`: a view when possible, else a contiguous copy.
    pub fn try_reshape(&self, shape: &[isize]) -> Result<Tensor> {
        infer_shape("reshape", self.shape(), shape)?;
        if self.is_contiguous() {
            // Dense at any offset (a slice of a batch, say): a view.
            return self.try_view(shape);
        }
        self.contiguous().try_view(shape)
    }

    /// `t.reshape(shape)`; see [`Tensor::try_reshape`].
    ///
    /// # Panics
    /// If the shape does not hold the same number of elements.
    pub fn reshape(&self, shape: &[isize]) -> Tensor {
        or_panic(self.try_reshape(shape))
    }

    /// `t.flatten(start_dim, end_dim)` (inclusive, negatives count from the end).
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Tensor {
        if self.dim() == 0 {
            return self.reshape(&[1]);
        }
        let s = or_panic(normalize_dim("flatten", start_dim, self.dim()));
        let e = or_panic(normalize_dim("flatten", end_dim, self.dim()));
        let mut spec: Vec<isize> = self.shape()[..s].iter().map(|&d| d as isize).collect();
        spec.push(self.shape()[s..=e.max(s)].iter().product::<usize>() as isize);
        spec.extend(self.shape()[e.max(s) + 1..].iter().map(|&d| d as isize));
        self.reshape(&spec)
    }

    /// Removes dimension `dim` if its size is 1 (`t.squeeze(dim)`).
    pub fn squeeze(&self, dim: isize) -> Tensor {
        let d = or_panic(normalize_dim("squeeze", dim, self.dim()));
        if self.dim() == 0 || self.shape()[d] != 1 {
            return self.clone();
        }
        let mut l = self.layout.clone();
        l.shape.remove(d);
        l.strides.remove(d);
        self.with_layout(l)
    }

    /// Removes every dimension of size 1 (`t.squeeze()`).
    pub fn squeeze_all(&self) -> Tensor {
        let mut l = self.layout.clone();
        let keep: Vec<bool> = l.shape.iter().map(|&d| d != 1).collect();
        let mut k = keep.iter();
        l.shape.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        l.strides.retain(|_| *k.next().unwrap_or(&true));
        self.with_layout(l)
    }

    /// Inserts a dimension of size 1 at `dim` (`t.unsqueeze(dim)`; `dim` may be `rank`).
    pub fn unsqueeze(&self, dim: isize) -> Tensor {
        let d = or_panic(normalize_dim("unsqueeze", dim, self.dim() + 1));
        let mut l = self.layout.clone();
        let stride = if d < l.shape.len() {
            l.strides[d] * l.shape[d]
        } else {
            1
        };
        l.shape.insert(d, 1);
        l.strides.insert(d, stride);
        self.with_layout(l)
    }

    /// Reorders the dimensions (`t.permute(dims)`).
    pub fn try_permute(&self, dims: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.dim()];
        let valid = dims.len() == self.dim()
            && dims
                .iter()
                .all(|&d| d < seen.len() && !std::mem::replace(&mut seen[d], true));
        if !valid {
            return Err(invalid(
                "permute",
                format!("{dims:?} is not a permutation of the dimensions"),
                self.shape(),
            ));
        }
        let l = Layout {
            shape: dims.iter().map(|&d| self.shape()[d]).collect(),
            strides: dims.iter().map(|&d| self.layout.strides[d]).collect(),
            offset: self.layout.offset,
        };
        Ok(self.with_layout(l))
    }

    /// `t.permute(dims)`; see [`Tensor::try_permute`].
    ///
    /// # Panics
    /// If `dims` is not a permutation of `0..rank`.
    pub fn permute(&self, dims: &[usize]) -> Tensor {
        or_panic(self.try_permute(dims))
    }

    /// Swaps two dimensions (`t.transpose(d0, d1)`).
    pub fn transpose(&self, d0: isize, d1: isize) -> Tensor {
        let a = or_panic(normalize_dim("transpose", d0, self.dim()));
        let b = or_panic(normalize_dim("transpose", d1, self.dim()));
        let mut l = self.layout.clone();
        l.shape.swap(a, b);
        l.strides.swap(a, b);
        self.with_layout(l)
    }

    /// The transpose of a matrix (`t.t()`; a vector is returned as is).
    pub fn t(&self) -> Tensor {
        if self.dim() < 2 {
            self.clone()
        } else {
            self.transpose(0, 1)
        }
    }

    /// Elements `start..start + length` along `dim` (`t.narrow`).
    pub fn try_narrow(&self, dim: isize, start: usize, length: usize) -> Result<Tensor> {
        let d = normalize_dim("narrow", dim, self.dim())?;
        if start + length > self.shape()[d] {
            return Err(invalid(
                "narrow",
                format!(
                    "start {start} + length {length} exceeds size {} of dim {d}",
                    self.shape()[d]
                ),
                self.shape(),
            ));
        }
        let mut l = self.layout.clone();
        l.offset += start * l.strides[d];
        l.shape[d] = length;
        Ok(self.with_layout(l))
    }

    /// `t.narrow(dim, start, length)`; see [`Tensor::try_narrow`].
    ///
    /// # Panics
    /// If the range does not fit in the dimension.
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Tensor {
        or_panic(self.try_narrow(dim, start, length))
    }

    /// Python's `t[.., start:end:step, ..]` along `dim`; `end` is clamped to the size.
    pub fn try_slice(&self, dim: isize, start: usize, end: usize, step: usize) -> Result<Tensor> {
        let d = normalize_dim("slice", dim, self.dim())?;
        if step == 0 {
            return Err(invalid(
                "slice",
                "slice step must be positive".into(),
                self.shape(),
            ));
        }
        let size = self.shape()[d];
        let (start, end) = (start.min(size), end.min(size));
        let len = if end > start {
            (end - start).div_ceil(step)
        } else {
            0
        };
        let mut l = self.layout.clone();
        l.offset += start * l.strides[d];
        l.shape[d] = len;
        l.strides[d] *= step;
        Ok(self.with_layout(l))
    }

    /// `t[.., start:end:step, ..]`; see [`Tensor::try_slice`].
    ///
    /// # Panics
    /// If `dim` is out of range or `step` is 0.
    pub fn slice(&self, dim: isize, start: usize, end: usize, step: usize) -> Tensor {
        or_panic(self.try_slice(dim, start, end, step))
    }

    /// `t.select(dim, index)`: Python's `t[:, index]`, dropping the dim.
    pub fn try_select(&self, dim: isize, index: isize) -> Result<Tensor> {
        let d = normalize_dim("select", dim, self.dim())?;
        let size = self.shape()[d] as isize;
        let i = if index < 0 { index + size } else { index };
        if i < 0 || i >= size {
            return Err(invalid(
                "select",
                format!("index {index} is out of bounds for dimension {d} with size {size}"),
                self.shape(),
            ));
        }
        let mut l = self.layout.clone();
        l.offset += i as usize * l.strides[d];
        l.shape.remove(d);
        l.strides.remove(d);
        Ok(self.with_layout(l))
    }

    /// `t.select(dim, index)`; see [`Tensor::try_select`].
    ///
    /// # Panics
    /// If the index is out of range.
    pub fn select(&self, dim: isize, index: isize) -> Tensor {
        or_panic(self.try_select(dim, index))
    }

    /// Broadcasts size-1 dims to `shape` without copying (`t.expand`).
    pub fn try_expand(&self, shape: &[usize]) -> Result<Tensor> {
        let ok = shape.len() >= self.dim()
            && self
                .shape()
                .iter()
                .rev()
                .zip(shape.iter().rev())
                .all(|(&s, &t)| s == t || s == 1);
        if !ok {
            return Err(TensorError::ShapeMismatch {
                op: "expand",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
            });
        }
        Ok(self.with_layout(crate::layout::broadcast_layout(&self.layout, shape)))
    }

    /// `t.expand(shape)`; see [`Tensor::try_expand`].
    ///
    /// # Panics
    /// If `self` cannot broadcast to `shape`.
    pub fn expand(&self, shape: &[usize]) -> Tensor {
        or_panic(self.try_expand(shape))
    }
}
