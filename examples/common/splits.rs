//! The tutorial's train/valid splits as datasets.

use wgrad::data::{HostTensor, Mnist, MnistSplit, TensorDataset};

use super::Args;

type Error = Box<dyn std::error::Error>;

/// The splits as the tutorial has them: `mnist.pkl.gz` brings train and
/// valid (and is preferred when the data folder holds it, as the tutorial
/// reads it); an IDX folder's 10,000 training digits are cut 8,000 / 2,000
/// the same way.
pub fn train_valid(args: &Args) -> Result<(MnistSplit, MnistSplit), Error> {
    let path = args.data_path()?;
    let pickle = path.join("mnist.pkl.gz");
    let mnist = Mnist::load(if path.is_dir() && pickle.is_file() {
        pickle
    } else {
        path
    })?;
    if let Some(valid) = mnist.valid {
        return Ok((mnist.train, valid));
    }
    let t = mnist.train;
    let cut = t.count * 4 / 5;
    let pixels = t.pixels_per_image();
    let part = |range: std::ops::Range<usize>| MnistSplit {
        images: t.images[range.start * pixels..range.end * pixels].to_vec(),
        labels: t.labels[range.clone()].to_vec(),
        count: range.len(),
        rows: t.rows,
        cols: t.cols,
    };
    Ok((part(0..cut), part(cut..t.count)))
}

/// The split as a dataset of `[n, 784]` images and i32 labels.
pub fn dataset(split: &MnistSplit) -> Result<TensorDataset, Error> {
    let labels: Vec<i32> = split.labels.iter().map(|&l| l as i32).collect();
    let x = HostTensor::new(split.images.clone(), &[split.count, 784])?;
    Ok(TensorDataset::new(
        x,
        HostTensor::new(labels, &[split.count])?,
    )?)
}
