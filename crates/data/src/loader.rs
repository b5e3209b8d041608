//! `DataLoader`: mini-batches of a data set as device tensors, assembled on
//! a background thread.
//!
//! Each epoch starts one thread that, batch after batch, gathers the rows of
//! the batch on the host into one contiguous vector per tensor and uploads
//! it with `Tensor::try_from_slice`. Batches wait in a bounded channel (two
//! by default), so the next batch is gathered and uploaded while the GPU
//! works on the current one, and at most `prefetch + 1` batches exist on the
//! device at once: the data set is never bound as one GPU buffer. The upload
//! is safe from another thread because the runtime is `Send + Sync` and every
//! upload goes through its one queue (`queue.write_buffer`, which runs before
//! the next submission).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wgrad_autograd::Tensor;
use wgrad_tensor::Tensor as Raw;

use crate::dataset::BatchSource;
use crate::error::Result;
use crate::split::permutation;

/// Batches waiting on the device ahead of the one being used, by default.
const DEFAULT_PREFETCH: usize = 2;

/// Mini-batches of a data set (`torch.utils.data.DataLoader`).
///
/// ```no_run
/// use wgrad_data::{DataLoader, Mnist, Transform, default_data_dir};
///
/// let mnist = Mnist::from_idx_dir(default_data_dir())?;
/// let train_ds = mnist.train.to_dataset(&[Transform::normalize(0.1307, 0.3081)])?;
/// let train_dl = DataLoader::new(train_ds, 64).shuffle(true).seed(0);
/// for epoch in 0..2 {
///     for (xb, yb) in &train_dl {
///         // xb: [64, 784] f32, yb: [64] i32, both on the device.
///         # let _ = (epoch, xb, yb);
///     }
/// }
/// # Ok::<(), wgrad_data::DataError>(())
/// ```
pub struct DataLoader<D> {
    dataset: Arc<D>,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    prefetch: usize,
    /// The shuffling generator when seeded; `None` draws each epoch's
    /// permutation from wgrad's global generator (`manual_seed`), as PyTorch
    /// draws from its default generator.
    generator: Mutex<Option<StdRng>>,
}

impl<D: BatchSource> DataLoader<D> {
    /// A loader of `batch_size` samples per batch, in order, keeping the
    /// last short batch (`DataLoader(dataset, batch_size=batch_size)`).
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn new(dataset: D, batch_size: usize) -> Self {
        Self::from_arc(Arc::new(dataset), batch_size)
    }

    /// Like [`DataLoader::new`] for a data set shared with other owners.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn from_arc(dataset: Arc<D>, batch_size: usize) -> Self {
        assert!(
            batch_size > 0,
            "DataLoader: batch_size should be a positive integer, got 0"
        );
        Self {
            dataset,
            batch_size,
            shuffle: false,
            drop_last: false,
            prefetch: DEFAULT_PREFETCH,
            generator: Mutex::new(None),
        }
    }

    /// Reshuffles the samples at the start of every epoch (`shuffle=True`).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Drops the last batch when it is shorter than `batch_size` (`drop_last=True`).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Shuffles with a generator of its own seeded with `seed`
    /// (`generator=torch.Generator().manual_seed(seed)`): every epoch draws a
    /// new permutation from it, and two loaders with the same seed give the
    /// same sequence of epochs.
    pub fn seed(self, seed: u64) -> Self {
        *self.generator.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(StdRng::seed_from_u64(seed));
        self
    }

    /// How many batches the background thread may have ready ahead of the
    /// one in use (the channel's capacity; 2 by default, at least 1).
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches.max(1);
        self
    }

    /// The data set.
    pub fn dataset(&self) -> &Arc<D> {
        &self.dataset
    }

    /// Samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of batches in an epoch (`len(dataloader)`).
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// True when an epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts an epoch: the batches in this epoch's order.
    pub fn iter(&self) -> Batches {
        let order = self.epoch_order();
        let batches = self.len();
        let (sender, receiver) = sync_channel(self.prefetch);
        let dataset = Arc::clone(&self.dataset);
        let batch_size = self.batch_size;
        let worker = std::thread::Builder::new()
            .name("wgrad-dataloader".into())
            .spawn(move || assemble(&*dataset, &order, batch_size, batches, &sender))
            .unwrap_or_else(|e| panic!("DataLoader: could not start its thread: {e}"));
        Batches {
            receiver: Some(receiver),
            worker: Some(worker),
            remaining: batches,
        }
    }

    /// The sample indices of one epoch, in order.
    fn epoch_order(&self) -> Vec<usize> {
        let n = self.dataset.len();
        if !self.shuffle {
            return (0..n).collect();
        }
        let mut generator = self.generator.lock().unwrap_or_else(|p| p.into_inner());
        match generator.as_mut() {
            Some(rng) => permutation(n, rng),
            None => wgrad_tensor::random::permutation(n),
        }
    }
}

impl<D: BatchSource> IntoIterator for &DataLoader<D> {
    type Item = (Tensor, Tensor);
    type IntoIter = Batches;

    fn into_iter(self) -> Batches {
        self.iter()
    }
}

/// A batch as uploaded by the background thread, or why the upload failed.
type Uploaded = Result<(Raw, Raw)>;

/// The background thread: gathers, uploads and sends `batches` batches,
/// stopping early when the receiving [`Batches`] is dropped.
fn assemble<D: BatchSource + ?Sized>(
    dataset: &D,
    order: &[usize],
    batch_size: usize,
    batches: usize,
    sender: &SyncSender<Uploaded>,
) {
    for indices in order.chunks(batch_size).take(batches) {
        let (x, y) = dataset.gather(indices);
        let uploaded = x.to_device().and_then(|x| Ok((x, y.to_device()?)));
        let failed = uploaded.is_err();
        // An error means the receiver is gone: the epoch was abandoned.
        if sender.send(uploaded).is_err() || failed {
            return;
        }
    }
}

/// The batches of one epoch, as `(features, labels)` device tensors.
///
/// Dropping it before the end stops the background thread: the thread
/// notices at its next send and exits, and the drop waits for it (at most
/// the batch it is assembling).
pub struct Batches {
    receiver: Option<Receiver<Uploaded>>,
    worker: Option<JoinHandle<()>>,
    remaining: usize,
}

impl Batches {
    /// Waits for the thread, passing on its panic if it had one.
    fn join(&mut self) {
        if let Some(worker) = self.worker.take()
            && let Err(panic) = worker.join()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Iterator for Batches {
    type Item = (Tensor, Tensor);

    /// # Panics
    /// If uploading a batch failed (no device, out of device memory), with
    /// the device's message, or with the data set's own panic if gathering
    /// panicked.
    fn next(&mut self) -> Option<(Tensor, Tensor)> {
        if self.remaining == 0 {
            self.receiver = None;
            self.join();
            return None;
        }
        let received = self.receiver.as_ref().map(|r| r.recv());
        match received {
            Some(Ok(Ok((x, y)))) => {
                self.remaining -= 1;
                Some((Tensor::from_raw(x), Tensor::from_raw(y)))
            }
            Some(Ok(Err(e))) => {
                self.remaining = 0;
                panic!("DataLoader: uploading a batch failed: {e}")
            }
            // The thread ended before sending every batch: it panicked.
            Some(Err(_)) | None => {
                self.remaining = 0;
                self.receiver = None;
                self.join();
                panic!("DataLoader: the background thread stopped before the end of the epoch")
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        // Hang up first, so a thread blocked on a full channel wakes with an
        // error and returns; then wait for it. Its panic, if any, is not
        // re-raised here: a drop may run during another unwinding.
        self.receiver = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
