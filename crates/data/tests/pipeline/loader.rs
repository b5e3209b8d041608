//! DataLoader: batch counts, shuffling, contents, stopping, and real MNIST.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wgrad_data::{
    BatchSource, DataError, DataLoader, Dataset, HostTensor, Mnist, TensorDataset, Transform,
    bench_dataloader, random_split,
};
use wgrad_tensor::DType;

use crate::dataset::{f32s, i32s, numbered, row};
use crate::mnist::from_idx;
use crate::{assert_mentions, mnist_dir};

/// The labels of one epoch, batch by batch; with [`numbered`] a label is
/// the sample's index.
fn epoch<D: BatchSource>(loader: &DataLoader<D>) -> Vec<Vec<i32>> {
    loader.iter().map(|(_, y)| i32s(&y)).collect()
}

#[test]
fn len_counts_the_short_last_batch_unless_drop_last() {
    // 10 samples in batches of 3: 3, 3, 3 and a last batch of 1.
    let loader = DataLoader::new(numbered(10), 3);
    assert_eq!(loader.len(), 4);
    let sizes: Vec<usize> = epoch(&loader).iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 3, 1]);

    let loader = DataLoader::new(numbered(10), 3).drop_last(true);
    assert_eq!(loader.len(), 3);
    let sizes: Vec<usize> = epoch(&loader).iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 3]);
    assert_eq!(loader.iter().len(), 3, "the iterator knows its length");
}

#[test]
fn without_shuffle_batches_come_in_dataset_order() {
    let loader = DataLoader::new(numbered(7), 3);
    assert_eq!(epoch(&loader), [vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
}

#[test]
fn batch_contents_equal_the_host_rows_of_their_samples() {
    let loader = DataLoader::new(numbered(23), 5).shuffle(true).seed(3);
    for (x, y) in &loader {
        let labels = i32s(&y);
        assert_eq!(x.data().shape(), [labels.len(), 2, 3]);
        assert_eq!(x.data().dtype(), DType::F32);
        assert_eq!(y.data().dtype(), DType::I32);
        let expected: Vec<f32> = labels.iter().flat_map(|&i| row(i as usize)).collect();
        assert_eq!(f32s(&x), expected, "batch {labels:?}");
    }
}

#[test]
fn every_sample_comes_exactly_once_per_shuffled_epoch() {
    let loader = DataLoader::new(numbered(103), 10).shuffle(true).seed(1);
    for e in 0..3 {
        let mut seen: Vec<i32> = epoch(&loader).concat();
        seen.sort_unstable();
        assert_eq!(seen, (0..103).collect::<Vec<_>>(), "epoch {e}");
    }
}

#[test]
fn drop_last_with_shuffle_gives_distinct_samples_and_full_batches() {
    let loader = DataLoader::new(numbered(103), 10)
        .shuffle(true)
        .drop_last(true)
        .seed(1);
    let batches = epoch(&loader);
    assert!(batches.iter().all(|b| b.len() == 10));
    let mut seen: Vec<i32> = batches.concat();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 100, "100 different samples, 3 left out");
}

#[test]
fn each_epoch_draws_a_new_permutation() {
    let loader = DataLoader::new(numbered(50), 50).shuffle(true).seed(9);
    let (first, second) = (epoch(&loader).concat(), epoch(&loader).concat());
    assert_ne!(first, (0..50).collect::<Vec<_>>(), "shuffled");
    assert_ne!(first, second, "a new order each epoch");
}

#[test]
fn the_same_seed_gives_the_same_epochs_and_another_seed_others() {
    let run = |seed| {
        let loader = DataLoader::new(numbered(40), 8).shuffle(true).seed(seed);
        [epoch(&loader), epoch(&loader)]
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn a_loader_over_a_random_split_part_gives_exactly_that_part() {
    let parts = random_split(numbered(30), [0.7, 0.3], 11).expect("21 + 9");
    let loader = DataLoader::new(parts[1].clone(), 4).shuffle(true).seed(2);
    let mut seen: Vec<usize> = Vec::new();
    for (x, y) in &loader {
        let labels = i32s(&y);
        let expected: Vec<f32> = labels.iter().flat_map(|&i| row(i as usize)).collect();
        assert_eq!(f32s(&x), expected);
        seen.extend(labels.iter().map(|&i| i as usize));
    }
    let mut part = parts[1].indices().to_vec();
    seen.sort_unstable();
    part.sort_unstable();
    assert_eq!(seen, part);
}

/// A data set that counts its gathers and panics on one sample.
struct Counting {
    inner: TensorDataset,
    gathers: Arc<AtomicUsize>,
    poisoned: Option<usize>,
}

impl Dataset for Counting {
    type Item = <TensorDataset as Dataset>::Item;
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn get(&self, index: usize) -> Self::Item {
        self.inner.get(index)
    }
}

impl BatchSource for Counting {
    fn gather(&self, indices: &[usize]) -> (HostTensor, HostTensor) {
        self.gathers.fetch_add(1, Ordering::SeqCst);
        if let Some(bad) = self.poisoned.filter(|p| indices.contains(p)) {
            panic!("sample {bad} cannot be read");
        }
        self.inner.gather(indices)
    }
}

#[test]
fn dropping_the_batches_mid_epoch_stops_the_background_thread() {
    let gathers = Arc::new(AtomicUsize::new(0));
    let dataset = Counting {
        inner: numbered(1000),
        gathers: Arc::clone(&gathers),
        poisoned: None,
    };
    let loader = DataLoader::new(dataset, 1).prefetch(2);
    let mut batches = loader.iter();
    for _ in 0..3 {
        batches.next().expect("a batch");
    }
    drop(batches);
    // The thread held a clone of the data set's Arc: it is gone, so the
    // thread has returned rather than waiting on a full channel.
    assert_eq!(Arc::strong_count(loader.dataset()), 1, "thread still alive");
    // 3 used, at most 2 waiting in the channel and 1 being assembled.
    let done = gathers.load(Ordering::SeqCst);
    assert!((3..=6).contains(&done), "{done} batches gathered of 1000");
}

#[test]
fn a_panic_while_gathering_reaches_the_training_loop() {
    let dataset = Counting {
        inner: numbered(20),
        gathers: Arc::new(AtomicUsize::new(0)),
        poisoned: Some(13),
    };
    let loader = DataLoader::new(dataset, 4);
    let seen = std::sync::Mutex::new(0);
    let result = std::panic::catch_unwind(|| {
        for _ in &loader {
            *seen.lock().unwrap() += 1;
        }
    });
    let payload = result.expect_err("the epoch cannot finish");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert_mentions(&message, &["sample 13 cannot be read"]);
    assert_eq!(
        *seen.lock().unwrap(),
        3,
        "batches before the bad one arrive"
    );
}

#[test]
fn mnist_test_split_loads_as_10000_samples_in_order() {
    let split = &from_idx().test;
    let loader = split.loader(1000, &[]).expect("dataset");
    assert_eq!(loader.len(), 10);
    let (mut labels, mut first) = (Vec::new(), None);
    for (x, y) in &loader {
        assert_eq!(
            (x.data().shape(), y.data().shape()),
            (&[1000, 784][..], &[1000][..])
        );
        labels.extend(i32s(&y));
        first.get_or_insert_with(|| f32s(&x));
    }
    let host: Vec<i32> = split.labels.iter().map(|&l| l as i32).collect();
    assert_eq!(labels, host);
    assert_eq!(first.expect("a batch"), split.images[..1000 * 784]);
}

#[test]
fn mnist_transforms_normalize_and_reshape_every_image() {
    let split = &from_idx().test;
    let (mean, std) = (0.1307f32, 0.3081f32);
    let ds = split
        .to_dataset(&[
            Transform::normalize(mean, std),
            Transform::reshape(&[1, 28, 28]),
        ])
        .expect("valid transforms");
    assert_eq!(ds.features().shape(), [10_000, 1, 28, 28]);
    // (x - mean) / std on the CPU, value by value.
    let expected: Vec<f32> = split.images.iter().map(|&x| (x - mean) / std).collect();
    assert_eq!(ds.features().values::<f32>().expect("f32"), expected);
    let (x, y) = ds.get(0);
    assert_eq!(
        (x.data().shape(), y.data().shape()),
        (&[1, 28, 28][..], &[][..])
    );
    assert_eq!(f32s(&x), expected[..784]);

    let loader = DataLoader::new(ds, 64).shuffle(true).seed(0);
    let (xb, _) = loader.iter().next().expect("a batch");
    assert_eq!(xb.data().shape(), [64, 1, 28, 28]);
}

#[test]
fn transforms_with_impossible_parameters_are_errors() {
    let split = &from_idx().test;
    let err = split
        .to_dataset(&[Transform::normalize(0.5, 0.0)])
        .expect_err("std 0");
    assert!(matches!(err, DataError::Transform { .. }), "{err:?}");
    assert_mentions(
        &err.to_string(),
        &["Normalize(mean=0.5, std=0)", "positive"],
    );

    let err = split
        .to_dataset(&[Transform::reshape(&[2, 28, 28])])
        .expect_err("784 values are not 2 x 28 x 28");
    assert_mentions(&err.to_string(), &["784 values", "[2, 28, 28]"]);
}

#[test]
fn mnist_load_reads_a_folder_as_idx_and_a_pkl_gz_as_pickle() {
    let idx = Mnist::load(mnist_dir()).expect("IDX folder");
    assert!(idx.valid.is_none());
    assert_eq!(idx.test, from_idx().test);
    let pickle = Mnist::load(mnist_dir().join("mnist.pkl.gz")).expect("pickle");
    assert_eq!(pickle.valid.as_ref().map(|v| v.count), Some(2_000));

    let missing = mnist_dir().join("no-such-thing");
    let err = Mnist::load(&missing).expect_err("nothing there");
    assert!(matches!(err, DataError::DataNotFound { .. }), "{err:?}");
    assert_mentions(&err.to_string(), &["no-such-thing", "--data", "WGRAD_DATA"]);
    let err = Mnist::load(mnist_dir().join("t10k-labels-idx1-ubyte.gz")).expect_err("a file");
    assert_mentions(&err.to_string(), &["neither a folder of IDX files"]);
}

#[test]
fn bench_dataloader_delivers_every_training_sample_once_per_epoch() {
    let bench = bench_dataloader(mnist_dir(), 1).expect("bench");
    // 10,000 training digits in batches of 64: 156 full and one of 16.
    assert_eq!((bench.batches, bench.samples), (157, 10_000));
    assert!(bench.batches_per_sec() > 0.0);
    assert_mentions(&bench.to_string(), &["157 batches of 64", "batches/s"]);
}
