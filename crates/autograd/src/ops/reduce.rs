//! Reductions: sum, mean, max, min (all elements or along a dim).

use wgrad_tensor::Result;

use crate::op::Op;
use crate::tensor::Tensor;

impl Tensor {
    /// The sum of all elements, a 0-dim tensor (`t.sum()`).
    pub fn sum(&self) -> Tensor {
        let input_shape = self.shape().to_vec();
        Tensor::record(self.data().sum(), "SumBackward0", &[self], || Op::Sum {
            input_shape,
            dims: None,
            scale: 1.0,
        })
    }

    /// The sum along `dim` (`t.sum(dim, keepdim)`).
    pub fn try_sum_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        let out = self.data().try_sum_dim(dim, keepdim)?;
        let input_shape = self.shape().to_vec();
        let d = self.dim_index(dim);
        Ok(Tensor::record(out, "SumBackward1", &[self], || Op::Sum {
            input_shape,
            dims: Some((d, keepdim)),
            scale: 1.0,
        }))
    }

    /// `t.sum(dim, keepdim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        self.try_sum_dim(dim, keepdim)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The mean of all elements (`t.mean()`).
    pub fn mean(&self) -> Tensor {
        let input_shape = self.shape().to_vec();
        let scale = 1.0 / self.numel().max(1) as f32;
        Tensor::record(self.data().mean(), "MeanBackward0", &[self], || Op::Sum {
            input_shape,
            dims: None,
            scale,
        })
    }

    /// The mean along `dim` (`t.mean(dim, keepdim)`).
    pub fn try_mean_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        let out = self.data().try_mean_dim(dim, keepdim)?;
        let input_shape = self.shape().to_vec();
        let d = self.dim_index(dim);
        let scale = 1.0 / input_shape[d].max(1) as f32;
        Ok(Tensor::record(out, "MeanBackward1", &[self], || Op::Sum {
            input_shape,
            dims: Some((d, keepdim)),
            scale,
        }))
    }

    /// `t.mean(dim, keepdim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        self.try_mean_dim(dim, keepdim)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The largest element (`t.max()`); ties share the gradient evenly, as in PyTorch.
    pub fn try_max(&self) -> Result<Tensor> {
        let out = self.data().try_max()?;
        Ok(Tensor::record(out.clone(), "MaxBackward1", &[self], || {
            Op::ExtremumAll {
                x: self.data().clone(),
                out,
            }
        }))
    }

    /// The smallest element (`t.min()`); ties share the gradient evenly.
    pub fn try_min(&self) -> Result<Tensor> {
        let out = self.data().try_min()?;
        Ok(Tensor::record(out.clone(), "MinBackward1", &[self], || {
            Op::ExtremumAll {
                x: self.data().clone(),
                out,
            }
        }))
    }

    /// `t.max()`.
    ///
    /// # Panics
    /// On an empty tensor.
    pub fn max(&self) -> Tensor {
        self.try_max().unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.min()`.
    ///
    /// # Panics
    /// On an empty tensor.
    pub fn min(&self) -> Tensor {
        self.try_min().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Values and (i32) indices of the maxima along `dim` (`t.max(dim)`);
    /// the gradient goes to the first maximum.
    pub fn try_max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        let (values, indices) = self.data().try_max_dim(dim, keepdim)?;
        Ok((
            self.record_extremum_dim(values, &indices, dim, keepdim, "MaxBackward0"),
            indices.into(),
        ))
    }

    /// Values and indices of the minima along `dim` (`t.min(dim)`).
    pub fn try_min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        let (values, indices) = self.data().try_min_dim(dim, keepdim)?;
        Ok((
            self.record_extremum_dim(values, &indices, dim, keepdim, "MinBackward0"),
            indices.into(),
        ))
    }

    /// `t.max(dim, keepdim)`.
    ///
    /// # Panics
    /// If `dim` is out of range or the dim is empty.
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        self.try_max_dim(dim, keepdim)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `t.min(dim, keepdim)`.
    ///
    /// # Panics
    /// If `dim` is out of range or the dim is empty.
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        self.try_min_dim(dim, keepdim)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn record_extremum_dim(
        &self,
        values: wgrad_tensor::Tensor,
        indices: &wgrad_tensor::Tensor,
        dim: isize,
        keepdim: bool,
        name: &'static str,
    ) -> Tensor {
        let d = self.dim_index(dim);
        let input_shape = self.shape().to_vec();
        let indices = if keepdim {
            indices.clone()
        } else {
            indices.unsqueeze(d as isize)
        };
        Tensor::record(values, name, &[self], || Op::ExtremumDim {
            indices,
            dim: d,
            keepdim,
            input_shape,
        })
    }

    /// Indices of the maxima along `dim` (no gradient).
    pub fn argmax(&self, dim: isize, keepdim: bool) -> Tensor {
        self.data().argmax(dim, keepdim).into()
    }

    /// Indices of the minima along `dim` (no gradient).
    pub fn argmin(&self, dim: isize, keepdim: bool) -> Tensor {
        self.data().argmin(dim, keepdim).into()
    }
}
