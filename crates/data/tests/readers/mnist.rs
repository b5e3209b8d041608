//! MNIST from the real files in shared/data/mnist, through both readers.

use std::sync::OnceLock;

use wgrad_data::{DataError, Mnist, MnistSplit, default_data_dir};

use crate::{TempDir, assert_mentions, mnist_dir};

/// Loaded once for all the tests of this binary (decompressing is the slow part).
pub fn from_idx() -> &'static Mnist {
    static DATA: OnceLock<Mnist> = OnceLock::new();
    DATA.get_or_init(|| Mnist::from_idx_dir(mnist_dir()).unwrap_or_else(|e| panic!("{e}")))
}

pub fn from_pickle() -> &'static Mnist {
    static DATA: OnceLock<Mnist> = OnceLock::new();
    DATA.get_or_init(|| {
        Mnist::from_pickle(mnist_dir().join("mnist.pkl.gz")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn assert_shape(split: &MnistSplit, count: usize, what: &str) {
    assert_eq!(
        (split.count, split.rows, split.cols),
        (count, 28, 28),
        "{what}"
    );
    assert_eq!(split.images.len(), count * 784, "{what} images");
    assert_eq!(split.labels.len(), count, "{what} labels");
    assert!(
        split.images.iter().all(|x| (0.0..=1.0).contains(x)),
        "{what} pixels in [0, 1]"
    );
}

#[test]
fn mnist_idx_has_10000_train_and_10000_test_images() {
    let data = from_idx();
    assert_shape(&data.train, 10_000, "idx train");
    assert_shape(&data.test, 10_000, "idx test");
    assert!(data.valid.is_none());
}

#[test]
fn mnist_test_labels_have_the_official_histogram() {
    let mut histogram = [0usize; 10];
    for &label in &from_idx().test.labels {
        histogram[label as usize] += 1;
    }
    assert_eq!(
        histogram,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn mnist_pickle_splits_are_8000_2000_10000() {
    let data = from_pickle();
    assert_shape(&data.train, 8_000, "pickle train");
    assert_shape(
        data.valid
            .as_ref()
            .expect("the pickle has a validation split"),
        2_000,
        "pickle valid",
    );
    assert_shape(&data.test, 10_000, "pickle test");
}

/// Compares two scalings of the same bytes pixel by pixel and reports like a
/// person: how many differ, the first one, and the largest difference.
fn assert_same_pixels(a: &[f32], scale_a: f32, b: &[f32], scale_b: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: pixel counts");
    let (mut mismatches, mut first, mut largest) = (0, None, 0.0f32);
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let (px, py) = ((x * scale_a).round(), (y * scale_b).round());
        if px != py {
            mismatches += 1;
            first.get_or_insert(i);
            largest = largest.max((px - py).abs());
        }
    }
    assert_eq!(
        mismatches, 0,
        "{what}: {mismatches} pixels differ, first at {first:?}, largest by {largest}"
    );
}

#[test]
fn mnist_test_images_agree_between_idx_and_pickle() {
    // IDX pixels are scaled by 1/255, the pickle's by 1/256: both must give
    // back the same byte for every one of the 7,840,000 pixels.
    let (idx, pickle) = (&from_idx().test, &from_pickle().test);
    assert_same_pixels(&idx.images, 255.0, &pickle.images, 256.0, "test images");
    assert_eq!(idx.labels, pickle.labels, "test labels");
}

#[test]
fn mnist_pickle_stores_pixel_over_256_exactly() {
    // Kept as stored: every value is a whole number of 1/256ths, below 1.
    let train = &from_pickle().train;
    assert!(
        train
            .images
            .iter()
            .all(|&x| (x * 256.0).fract() == 0.0 && x < 1.0)
    );
}

#[test]
fn mnist_idx_dir_names_a_missing_file() {
    let dir = TempDir::new("mnist-missing");
    let err = Mnist::from_idx_dir(dir.path()).expect_err("empty folder");
    assert!(
        matches!(
            err,
            DataError::MissingFile {
                name: "train-images-idx3-ubyte",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["train-images-idx3-ubyte", "WGRAD_DATA"]);
}

#[test]
fn mnist_images_and_labels_must_agree_in_count() {
    let dir = TempDir::new("mnist-count");
    let images = dir.file(
        "images",
        &[
            &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1][..],
            &[0, 255],
        ]
        .concat(),
    );
    let labels = dir.file("labels", &[0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]);
    let err = MnistSplit::from_idx(&images, &labels).expect_err("2 images, 3 labels");
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 2,
                labels: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err.to_string(), &["2 images", "3 labels"]);

    let labels = dir.file("bad-labels", &[0, 0, 8, 1, 0, 0, 0, 2, 1, 12]);
    let err = MnistSplit::from_idx(&images, &labels).expect_err("label 12");
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 12,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn mnist_pickle_with_the_wrong_layout_is_explained() {
    // A pickle of the int 1 instead of three splits.
    let dir = TempDir::new("mnist-layout");
    let err = Mnist::from_pickle(dir.file("one.pkl", b"\x80\x02K\x01.")).expect_err("not splits");
    assert!(matches!(err, DataError::UnexpectedLayout { .. }), "{err:?}");
    assert_mentions(
        &err.to_string(),
        &["three (images, labels) pairs", "found an int"],
    );
}

#[test]
fn mnist_pickle_train_and_valid_are_the_idx_training_set_in_order() {
    // shared/data/README.md: the pickle's first 8,000 digits are its train
    // split and the last 2,000 its validation split, both from the same
    // 10,000 training digits as the IDX files.
    let (idx, pickle) = (&from_idx().train, from_pickle());
    let valid = pickle.valid.as_ref().expect("validation split");
    let images = [&pickle.train.images[..], &valid.images[..]].concat();
    let labels = [&pickle.train.labels[..], &valid.labels[..]].concat();
    assert_same_pixels(&idx.images, 255.0, &images, 256.0, "train + valid images");
    assert_eq!(idx.labels, labels, "train + valid labels");
}

#[test]
fn default_data_dir_is_the_shared_mnist_folder_unless_wgrad_data_is_set() {
    match std::env::var_os("WGRAD_DATA") {
        Some(dir) if !dir.is_empty() => {
            assert_eq!(default_data_dir(), std::path::PathBuf::from(dir))
        }
        _ => {
            assert_eq!(default_data_dir(), mnist_dir());
            assert!(
                default_data_dir()
                    .join("t10k-images-idx3-ubyte.gz")
                    .is_file()
            );
        }
    }
}
