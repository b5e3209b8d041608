//! Shapes, strides and offsets: how a tensor's elements sit in its buffer.
//! Views (reshape, permute, narrow, expand, ...) change only the layout.

use crate::error::{Result, TensorError};

/// Row-major strides for `shape`, in elements.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

/// How a tensor's elements are placed in its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Size of each dimension.
    pub shape: Vec<usize>,
    /// Distance in elements between neighbours along each dimension
    /// (0 for a broadcast dimension).
    pub strides: Vec<usize>,
    /// Index of the first element in the storage.
    pub offset: usize,
}

impl Layout {
    /// The dense row-major layout of `shape` at offset 0.
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the elements are dense and row-major (any offset).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    /// One past the largest storage index this layout touches.
    pub fn extent(&self) -> usize {
        if self.numel() == 0 {
            return self.offset;
        }
        self.offset
            + self
                .shape
                .iter()
                .zip(&self.strides)
                .map(|(&d, &s)| (d - 1) * s)
                .sum::<usize>()
            + 1
    }
}

/// Turns a possibly negative dim into an index, PyTorch style.
pub fn normalize_dim(op: &'static str, dim: isize, rank: usize) -> Result<usize> {
    let r = rank as isize;
    let d = if dim < 0 { dim + r } else { dim };
    if d < 0 || d >= r.max(1) || (rank == 0 && d != 0) {
        return Err(TensorError::BadDim { op, dim, rank });
    }
    Ok(d as usize)
}

/// The broadcast shape of two shapes, NumPy/PyTorch rules.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(TensorError::ShapeMismatch {
                    op,
                    lhs: a.to_vec(),
                    rhs: b.to_vec(),
                });
            }
        };
    }
    Ok(out)
}

/// `layout` viewed with `shape` (which it broadcasts to): stride 0 where a
/// dimension is new or of size 1.
pub fn broadcast_layout(layout: &Layout, shape: &[usize]) -> Layout {
    let extra = shape.len() - layout.shape.len();
    let mut strides = vec![0; shape.len()];
    for (i, s) in strides.iter_mut().enumerate().skip(extra) {
        let j = i - extra;
        *s = if layout.shape[j] == 1 && shape[i] != 1 {
            0
        } else {
            layout.strides[j]
        };
    }
    Layout {
        shape: shape.to_vec(),
        strides,
        offset: layout.offset,
    }
}

/// Merges neighbouring dimensions that are contiguous with each other in
/// every operand, so kernels do fewer divisions per element. All layouts
/// must share one shape. Returns the merged shape and each operand's strides.
pub fn coalesce(shape: &[usize], strides: &[&[usize]]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for i in 0..shape.len() {
        if shape[i] == 1 {
            continue; // size-1 dims never move the index
        }
        let mergeable = !out_shape.is_empty()
            && strides
                .iter()
                .zip(&out_strides)
                .all(|(s, o)| o[o.len() - 1] == s[i] * shape[i]);
        if mergeable {
            let last = out_shape.len() - 1;
            out_shape[last] *= shape[i];
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                o[last] = s[i];
            }
        } else {
            out_shape.push(shape[i]);
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                o.push(s[i]);
            }
        }
    }
    (out_shape, out_strides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_merges_contiguous_dims_and_keeps_broadcast_ones() {
        let (shape, strides) = coalesce(&[2, 3, 4], &[&[12, 4, 1], &[0, 0, 1]]);
        assert_eq!(shape, vec![6, 4]);
        assert_eq!(strides, vec![vec![4, 1], vec![0, 1]]);
        let (shape, strides) = coalesce(&[2, 1, 4], &[&[4, 4, 1]]);
        assert_eq!(shape, vec![8]);
        assert_eq!(strides, vec![vec![1]]);
    }

    #[test]
    fn broadcast_follows_numpy_rules() {
        assert_eq!(broadcast_shapes("add", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes("add", &[], &[2, 2]).unwrap(), vec![2, 2]);
        let e = broadcast_shapes("add", &[3], &[4]).unwrap_err().to_string();
        assert!(
            e.contains("add") && e.contains("[3]") && e.contains("[4]"),
            "{e}"
        );
    }
}
