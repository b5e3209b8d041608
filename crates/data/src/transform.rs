//! Transforms of MNIST images, and MNIST splits as data sets and loaders.
//!
//! The images are already floats in `[0, 1]` (`ToTensor`'s job is done by
//! the readers). The transforms here are deterministic, so they are applied
//! once to the whole split when the data set is built, not per sample per
//! epoch as torchvision does: same values, done once.

use std::fmt;

use crate::dataset::TensorDataset;
use crate::error::{DataError, Result};
use crate::host::HostTensor;
use crate::loader::DataLoader;
use crate::mnist::MnistSplit;

/// One step of preprocessing, applied to every image in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// `(x - mean) / std` for every value
    /// (`torchvision.transforms.Normalize((mean,), (std,))`; MNIST's usual
    /// values are `0.1307` and `0.3081`).
    Normalize {
        /// Subtracted first.
        mean: f32,
        /// Divided by next; must be positive.
        std: f32,
    },
    /// Gives each image this shape, the same number of values: `[1, 28, 28]`
    /// for a convolutional network, `[784]` (the default) for a linear one.
    Reshape(Vec<usize>),
}

impl Transform {
    /// [`Transform::Normalize`].
    pub fn normalize(mean: f32, std: f32) -> Self {
        Self::Normalize { mean, std }
    }

    /// [`Transform::Reshape`].
    pub fn reshape(shape: &[usize]) -> Self {
        Self::Reshape(shape.to_vec())
    }

    /// Applies this transform to every row of `images`.
    fn apply(&self, images: &mut HostTensor) -> Result<()> {
        let error = |reason: String| DataError::Transform {
            transform: self.to_string(),
            reason,
        };
        match self {
            &Self::Normalize { mean, std } => {
                if !(std > 0.0 && std.is_finite() && mean.is_finite()) {
                    return Err(error(
                        "std must be positive and finite, and mean finite".into(),
                    ));
                }
                // Subtract then divide, as torchvision does, so values match
                // to the last bit (multiplying by 1/std would not).
                if !images.map_f32(|x| (x - mean) / std) {
                    return Err(error("the images are integers, not floats".into()));
                }
            }
            Self::Reshape(shape) => {
                if !images.reshape_rows(shape) {
                    return Err(error(format!(
                        "an image has {} values, which do not fill shape {shape:?}",
                        images.row_len()
                    )));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normalize { mean, std } => write!(f, "Normalize(mean={mean}, std={std})"),
            Self::Reshape(shape) => write!(f, "Reshape({shape:?})"),
        }
    }
}

impl MnistSplit {
    /// This split as a [`TensorDataset`]: images `[count, rows * cols]` f32
    /// (then `transforms` in order) and labels `[count]` i32.
    ///
    /// ```no_run
    /// use wgrad_data::{Mnist, Transform, default_data_dir};
    ///
    /// let mnist = Mnist::from_idx_dir(default_data_dir())?;
    /// // For a CNN: normalized, [N, 1, 28, 28].
    /// let train_ds = mnist.train.to_dataset(&[
    ///     Transform::normalize(0.1307, 0.3081),
    ///     Transform::reshape(&[1, 28, 28]),
    /// ])?;
    /// # Ok::<(), wgrad_data::DataError>(())
    /// ```
    pub fn to_dataset(&self, transforms: &[Transform]) -> Result<TensorDataset> {
        let pixels = self.pixels_per_image();
        let mut images = HostTensor::new(self.images.clone(), &[self.count, pixels])?;
        for transform in transforms {
            transform.apply(&mut images)?;
        }
        // The readers checked every label is in 0..=9, so none is lost here.
        let labels: Vec<i32> = self.labels.iter().map(|&l| l as i32).collect();
        let labels = HostTensor::new(labels, &[self.count])?;
        TensorDataset::new(images, labels)
    }

    /// A loader over [`MnistSplit::to_dataset`], in order; chain
    /// `.shuffle(true)` for training.
    pub fn loader(
        &self,
        batch_size: usize,
        transforms: &[Transform],
    ) -> Result<DataLoader<TensorDataset>> {
        Ok(DataLoader::new(self.to_dataset(transforms)?, batch_size))
    }
}
