//! `random_split`: disjoint random subsets of one data set, by counts or by
//! fractions, following `torch.utils.data.random_split`.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::dataset::{Dataset, Subset};
use crate::error::{DataError, Result};

/// The sizes of the parts for [`random_split`]: sample counts or fractions.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitLengths {
    /// Sample counts, summing to the data set's length (`[80, 20]`).
    Counts(Vec<usize>),
    /// Fractions of the data set, summing to 1 (`[0.8, 0.2]`).
    Fractions(Vec<f64>),
}

impl From<Vec<usize>> for SplitLengths {
    fn from(counts: Vec<usize>) -> Self {
        Self::Counts(counts)
    }
}

impl From<&[usize]> for SplitLengths {
    fn from(counts: &[usize]) -> Self {
        Self::Counts(counts.to_vec())
    }
}

impl<const N: usize> From<[usize; N]> for SplitLengths {
    fn from(counts: [usize; N]) -> Self {
        Self::Counts(counts.to_vec())
    }
}

impl From<Vec<f64>> for SplitLengths {
    fn from(fractions: Vec<f64>) -> Self {
        Self::Fractions(fractions)
    }
}

impl From<&[f64]> for SplitLengths {
    fn from(fractions: &[f64]) -> Self {
        Self::Fractions(fractions.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for SplitLengths {
    fn from(fractions: [f64; N]) -> Self {
        Self::Fractions(fractions.to_vec())
    }
}

impl SplitLengths {
    /// The sample count of each part for a data set of `len` samples.
    ///
    /// Fractions follow PyTorch: each part gets `floor(len * fraction)`
    /// samples, then the samples left over go one each to the parts in
    /// order, round-robin from the first. So 10 samples split `[0.25; 4]`
    /// are `[3, 3, 2, 2]`.
    pub fn counts(&self, len: usize) -> Result<Vec<usize>> {
        let error = |reason: String| DataError::SplitLengths {
            lengths: self.describe(),
            len,
            reason,
        };
        let counts = match self {
            Self::Counts(counts) => counts.clone(),
            Self::Fractions(fractions) => {
                if let Some(i) = fractions.iter().position(|f| !(0.0..=1.0).contains(f)) {
                    return Err(error(format!(
                        "the fraction at index {i} is not between 0 and 1"
                    )));
                }
                let sum: f64 = fractions.iter().sum();
                // math.isclose(sum, 1) with Python's default rel_tol of 1e-9.
                if (sum - 1.0).abs() > 1e-9 {
                    return Err(error(format!("fractions must sum to 1, not {sum}")));
                }
                let mut counts: Vec<usize> = fractions
                    .iter()
                    .map(|f| (len as f64 * f).floor() as usize)
                    .collect();
                let remainder = len.saturating_sub(counts.iter().sum());
                let parts = counts.len();
                for i in 0..remainder {
                    counts[i % parts] += 1;
                }
                counts
            }
        };
        let total: usize = counts.iter().sum();
        if total != len {
            return Err(error(format!(
                "the lengths sum to {total}, not to the data set's length"
            )));
        }
        Ok(counts)
    }

    fn describe(&self) -> String {
        match self {
            Self::Counts(c) => format!("{c:?}"),
            Self::Fractions(f) => format!("{f:?}"),
        }
    }
}

/// Splits `dataset` at random into disjoint subsets of the given lengths
/// (`torch.utils.data.random_split(dataset, lengths, generator)`): a
/// permutation of all indices drawn from `seed`, cut into consecutive parts.
///
/// The same seed gives the same split. The permutation is wgrad's own
/// (a seeded `StdRng`), so it is not PyTorch's for the same seed.
///
/// ```
/// use wgrad_data::{Dataset, HostTensor, TensorDataset, random_split};
///
/// let x = HostTensor::new((0..100).map(|i| i as f32).collect(), &[100, 1])?;
/// let y = HostTensor::new(vec![0.0f32; 100], &[100, 1])?;
/// let dataset = TensorDataset::new(x, y)?;
/// let parts = random_split(dataset, [0.8, 0.2], 42)?;
/// assert_eq!((parts[0].len(), parts[1].len()), (80, 20));
/// # Ok::<(), wgrad_data::DataError>(())
/// ```
///
/// Errors with [`DataError::SplitLengths`] when counts do not sum to
/// `dataset.len()`, or fractions are outside `[0, 1]` or do not sum to 1.
pub fn random_split<D: Dataset>(
    dataset: D,
    lengths: impl Into<SplitLengths>,
    seed: u64,
) -> Result<Vec<Subset<D>>> {
    let counts = lengths.into().counts(dataset.len())?;
    let mut permutation = permutation(dataset.len(), &mut StdRng::seed_from_u64(seed));
    let dataset = Arc::new(dataset);
    let mut parts = Vec::with_capacity(counts.len());
    // Peel parts off the front of the permutation, in order.
    for count in counts {
        let rest = permutation.split_off(count);
        parts.push(Subset::new(Arc::clone(&dataset), permutation)?);
        permutation = rest;
    }
    Ok(parts)
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub(crate) fn permutation(n: usize, rng: &mut StdRng) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        indices.swap(i, rng.random_range(0..=i));
    }
    indices
}
