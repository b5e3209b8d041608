//! The layers' ops: softmax, convolution, pooling.

use wgrad_tensor::Result;
use wgrad_tensor::ops::conv::{self, Conv2dOptions};
use wgrad_tensor::ops::pool2d::{self, AvgPool2dOptions, MaxPool2dOptions};

use crate::op::Op;
use crate::tensor::Tensor;

impl Tensor {
    /// `softmax(x, dim)`, numerically stable.
    pub fn try_softmax(&self, dim: isize) -> Result<Tensor> {
        let y = self.data().try_softmax(dim)?;
        Ok(Tensor::record(
            y.clone(),
            "SoftmaxBackward0",
            &[self],
            || Op::Softmax { y, dim, log: false },
        ))
    }

    /// `softmax(x, dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn softmax(&self, dim: isize) -> Tensor {
        self.try_softmax(dim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `log_softmax(x, dim)`, numerically stable.
    pub fn try_log_softmax(&self, dim: isize) -> Result<Tensor> {
        let y = self.data().try_log_softmax(dim)?;
        Ok(Tensor::record(
            y.clone(),
            "LogSoftmaxBackward0",
            &[self],
            || Op::Softmax { y, dim, log: true },
        ))
    }

    /// `log_softmax(x, dim)`.
    ///
    /// # Panics
    /// If `dim` is out of range.
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        self.try_log_softmax(dim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// 2-D convolution, NCHW: `x: [n, c_in, h, w]`, `w: [c_out, c_in/groups, kh, kw]`,
    /// `bias: [c_out]` -> `[n, c_out, oh, ow]`.
    pub fn try_conv2d(
        &self,
        w: &Tensor,
        bias: Option<&Tensor>,
        opts: Conv2dOptions,
    ) -> Result<Tensor> {
        let y = conv::try_conv2d(self.data(), w.data(), bias.map(Tensor::data), opts)?;
        let mut inputs = vec![self, w];
        inputs.extend(bias);
        Ok(Tensor::record(y, "ConvolutionBackward0", &inputs, || {
            Op::Conv2d {
                x: self.data().clone(),
                w: w.data().clone(),
                opts,
                relu_out: None,
            }
        }))
    }

    /// 2-D convolution; see [`Tensor::try_conv2d`].
    ///
    /// # Panics
    /// If the shapes do not fit (the message names them).
    pub fn conv2d(&self, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOptions) -> Tensor {
        self.try_conv2d(w, bias, opts)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `relu(conv2d(x, w, bias))`, computed in one pass (the kernels apply
    /// ReLU as they store) and recorded as PyTorch records the two ops:
    /// `ReluBackward0` after `ConvolutionBackward0`.
    pub fn try_conv2d_relu(
        &self,
        w: &Tensor,
        bias: Option<&Tensor>,
        opts: Conv2dOptions,
    ) -> Result<Tensor> {
        let y = conv::try_conv2d_relu(self.data(), w.data(), bias.map(Tensor::data), opts)?;
        let mut inputs = vec![self, w];
        inputs.extend(bias);
        // The convolution's own output never exists, and its node is
        // reachable only through the ReLU's. So the ReLU's node passes the
        // gradient through, and the convolution's applies ReLU's mask
        // (`y > 0`, where the convolution gave v: exactly where v > 0) in
        // the same pass as its bias gradient.
        let conv_out = Tensor::record(y.clone(), "ConvolutionBackward0", &inputs, || Op::Conv2d {
            x: self.data().clone(),
            w: w.data().clone(),
            opts,
            relu_out: Some(y.clone()),
        });
        Ok(Tensor::record(y, "ReluBackward0", &[&conv_out], || {
            Op::FusedRelu
        }))
    }

    /// `relu(conv2d(x, w, bias))`; see [`Tensor::try_conv2d_relu`].
    ///
    /// # Panics
    /// If the shapes do not fit (the message names them).
    pub fn conv2d_relu(&self, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOptions) -> Tensor {
        self.try_conv2d_relu(w, bias, opts)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// 2-D max pooling: `[n, c, h, w] -> [n, c, oh, ow]`; the gradient goes
    /// to the position of each window's (first) maximum.
    pub fn try_max_pool2d(&self, opts: MaxPool2dOptions) -> Result<Tensor> {
        let (y, indices) = pool2d::try_max_pool2d(self.data(), opts)?;
        let input_shape = self.shape().to_vec();
        Ok(Tensor::record(
            y,
            "MaxPool2DWithIndicesBackward0",
            &[self],
            || Op::MaxPool2d {
                indices,
                input_shape,
                opts,
            },
        ))
    }

    /// 2-D max pooling; see [`Tensor::try_max_pool2d`].
    ///
    /// # Panics
    /// If the input is not 4-D or the window does not fit.
    pub fn max_pool2d(&self, opts: MaxPool2dOptions) -> Tensor {
        self.try_max_pool2d(opts).unwrap_or_else(|e| panic!("{e}"))
    }

    /// 2-D average pooling: `[n, c, h, w] -> [n, c, oh, ow]`.
    pub fn try_avg_pool2d(&self, opts: AvgPool2dOptions) -> Result<Tensor> {
        let y = pool2d::try_avg_pool2d(self.data(), opts)?;
        let input_shape = self.shape().to_vec();
        Ok(Tensor::record(y, "AvgPool2DBackward0", &[self], || {
            Op::AvgPool2d { input_shape, opts }
        }))
    }

    /// 2-D average pooling; see [`Tensor::try_avg_pool2d`].
    ///
    /// # Panics
    /// If the input is not 4-D or the window does not fit.
    pub fn avg_pool2d(&self, opts: AvgPool2dOptions) -> Tensor {
        self.try_avg_pool2d(opts).unwrap_or_else(|e| panic!("{e}"))
    }
}
