//! TensorDataset, Subset and random_split against plain host arrays.

use std::sync::Arc;

use wgrad_autograd::Tensor;
use wgrad_data::{DataError, Dataset, HostTensor, Subset, TensorDataset, random_split};

use crate::assert_mentions;

/// `n` samples of shape `[2, 3]` whose values say where they come from
/// (`100 * sample + position`), labelled with their own index.
pub fn numbered(n: usize) -> TensorDataset {
    let x: Vec<f32> = (0..n * 6).map(|v| (100 * (v / 6) + v % 6) as f32).collect();
    let y: Vec<i32> = (0..n as i32).collect();
    TensorDataset::new(
        HostTensor::new(x, &[n, 2, 3]).expect("x fills its shape"),
        HostTensor::new(y, &[n]).expect("y fills its shape"),
    )
    .expect("as many labels as samples")
}

/// The features of sample `i` of [`numbered`].
pub fn row(i: usize) -> Vec<f32> {
    (0..6).map(|p| (100 * i + p) as f32).collect()
}

pub fn f32s(t: &Tensor) -> Vec<f32> {
    t.data().to_vec::<f32>().expect("read back f32")
}

pub fn i32s(t: &Tensor) -> Vec<i32> {
    t.data().to_vec::<i32>().expect("read back i32")
}

#[test]
fn tensor_dataset_indexes_one_sample_without_its_first_dimension() {
    let ds = numbered(5);
    assert_eq!(ds.len(), 5);
    let (x, y) = ds.get(3);
    assert_eq!((x.data().shape(), y.data().shape()), (&[2, 3][..], &[][..]));
    assert_eq!(f32s(&x), row(3));
    assert_eq!(i32s(&y), [3]);
}

#[test]
fn tensor_dataset_slices_like_python_stopping_at_the_last_sample() {
    // train_ds[i * bs : i * bs + bs] with n = 10, bs = 4: the third batch
    // (8..12) holds samples 8 and 9; a slice past the end is empty.
    let ds = numbered(10);
    let (x, y) = ds.slice(4..8);
    assert_eq!(x.data().shape(), [4, 2, 3]);
    assert_eq!(f32s(&x), [row(4), row(5), row(6), row(7)].concat());
    assert_eq!(i32s(&y), [4, 5, 6, 7]);

    let (x, y) = ds.slice(8..12);
    assert_eq!(
        (x.data().shape(), y.data().shape()),
        (&[2, 2, 3][..], &[2][..])
    );
    assert_eq!(f32s(&x), [row(8), row(9)].concat());

    let (x, y) = ds.slice(12..16);
    assert_eq!(
        (x.data().shape(), y.data().shape()),
        (&[0, 2, 3][..], &[0][..])
    );
}

#[test]
fn tensor_dataset_refuses_features_and_labels_of_different_lengths() {
    let x = HostTensor::new(vec![0.0f32; 6], &[3, 2]).expect("x");
    let y = HostTensor::new(vec![0i32; 4], &[4]).expect("y");
    let err = TensorDataset::new(x.clone(), y).expect_err("3 rows, 4 labels");
    assert!(matches!(err, DataError::SampleCount { .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["[3, 2]", "[4]"]);

    let scalar = HostTensor::new(vec![1i32], &[]).expect("a 0-d array");
    let err = TensorDataset::new(x, scalar).expect_err("0-d labels have no rows");
    assert!(matches!(err, DataError::SampleCount { .. }), "{err:?}");
}

#[test]
fn host_tensor_refuses_values_that_do_not_fill_the_shape() {
    let err = HostTensor::new(vec![0.0f32; 5], &[2, 3]).expect_err("5 values, 6 places");
    assert!(
        matches!(
            err,
            DataError::HostShape {
                numel: 6,
                len: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["5 values", "[2, 3]"]);
}

#[test]
fn subset_gives_the_samples_at_its_indices_in_its_order() {
    let subset = Subset::new(Arc::new(numbered(10)), vec![7, 2, 9]).expect("indices in range");
    assert_eq!(subset.len(), 3);
    let (x, y) = subset.get(1);
    assert_eq!(f32s(&x), row(2));
    assert_eq!(i32s(&y), [2]);

    let err = Subset::new(Arc::new(numbered(10)), vec![3, 10]).expect_err("10 of 10");
    assert!(
        matches!(
            err,
            DataError::IndexOutOfRange {
                index: 10,
                len: 10,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The dataset indices each part of a split holds.
fn parts<D>(split: &[Subset<D>]) -> Vec<Vec<usize>> {
    split.iter().map(|s| s.indices().to_vec()).collect()
}

#[test]
fn random_split_by_counts_uses_every_index_exactly_once() {
    let split = random_split(numbered(100), [80, 20], 42).expect("80 + 20 = 100");
    assert_eq!((split[0].len(), split[1].len()), (80, 20));
    let mut all: Vec<usize> = parts(&split).concat();
    assert_ne!(
        all,
        (0..100).collect::<Vec<_>>(),
        "the indices are shuffled"
    );
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    // Both parts share the one data set.
    assert!(Arc::ptr_eq(split[0].dataset(), split[1].dataset()));
}

#[test]
fn random_split_is_reproducible_from_its_seed() {
    let a = parts(&random_split(numbered(50), [30, 20], 7).expect("split"));
    let b = parts(&random_split(numbered(50), [30, 20], 7).expect("split"));
    let c = parts(&random_split(numbered(50), [30, 20], 8).expect("split"));
    assert_eq!(a, b, "same seed, same split");
    assert_ne!(a, c, "another seed, another split");
}

#[test]
fn random_split_by_fractions_floors_then_deals_the_remainder_round_robin() {
    let lengths = |n: usize, fractions: &[f64]| -> Vec<usize> {
        random_split(numbered(n), fractions, 0)
            .expect("fractions summing to 1")
            .iter()
            .map(Dataset::len)
            .collect()
    };
    // floor(100 * 0.8) = 80, floor(100 * 0.2) = 20: nothing left over.
    assert_eq!(lengths(100, &[0.8, 0.2]), [80, 20]);
    // floor(10 * 0.25) = 2 four times, 2 left: one each to parts 0 and 1.
    assert_eq!(lengths(10, &[0.25; 4]), [3, 3, 2, 2]);
    // floors 1, 2, 7 of 1.1, 2.2, 7.7 leave 1, which goes to part 0.
    assert_eq!(lengths(11, &[0.1, 0.2, 0.7]), [2, 2, 7]);
    // floor(7 * 0.5) = 3 twice, 1 left for part 0.
    assert_eq!(lengths(7, &[0.5, 0.5]), [4, 3]);
}

#[test]
fn random_split_refuses_lengths_that_do_not_fit_the_dataset() {
    let err = random_split(numbered(100), [80, 30], 0).expect_err("110 != 100");
    assert!(
        matches!(err, DataError::SplitLengths { len: 100, .. }),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["[80, 30]", "sum to 110"]);

    let err = random_split(numbered(10), [0.5, 0.6], 0).expect_err("sum 1.1");
    assert_mentions(&err.to_string(), &["sum to 1"]);

    let err = random_split(numbered(10), [-0.1, 1.1], 0).expect_err("negative");
    assert_mentions(&err.to_string(), &["index 0", "between 0 and 1"]);
}
