//! Classification data sets as flat host arrays, and their batches as
//! tensors.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::error::DataError;
use super::fashion_mnist;
use super::sampling::{Draw, SplitMix64};

/// A classification data set: features row-major, labels in `0..classes`.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Its name in the rows.
    pub name: &'static str,
    /// Features per sample.
    pub dims: usize,
    /// Classes.
    pub classes: usize,
    /// Training features, row-major.
    pub train_x: Vec<f32>,
    /// Training labels.
    pub train_y: Vec<u8>,
    /// Validation (or test) features.
    pub val_x: Vec<f32>,
    /// Validation (or test) labels.
    pub val_y: Vec<u8>,
}

impl Dataset {
    /// The number of training samples.
    pub fn train_len(&self) -> usize {
        self.train_y.len()
    }

    /// The first `train` training and `val` validation samples.
    pub fn subset(&self, train: usize, val: usize) -> Dataset {
        let (train, val) = (train.min(self.train_len()), val.min(self.val_y.len()));
        Dataset {
            train_x: self.train_x[..train * self.dims].to_vec(),
            train_y: self.train_y[..train].to_vec(),
            val_x: self.val_x[..val * self.dims].to_vec(),
            val_y: self.val_y[..val].to_vec(),
            ..self.clone()
        }
    }

    /// The features and labels of training samples `ids`, as tensors.
    pub fn batch(&self, ids: &[usize], device: &Device) -> (Tensor<2>, Tensor<2, Int>) {
        let xs: Vec<f32> = ids
            .iter()
            .flat_map(|i| self.train_x[i * self.dims..(i + 1) * self.dims].iter().copied())
            .collect();
        let ys: Vec<u8> = ids.iter().map(|i| self.train_y[*i]).collect();
        (features(&xs, self.dims, device), labels(&ys, device))
    }
}

/// Fashion-MNIST's training and test sets (the test set as validation).
pub fn fashion() -> Result<Dataset, DataError> {
    let (train, test) = fashion_mnist::load_all()?;
    Ok(Dataset {
        name: "fashion_mnist",
        dims: 784,
        classes: 10,
        train_x: train.pixels,
        train_y: train.labels,
        val_x: test.pixels,
        val_y: test.labels,
    })
}

/// `[n, dims]` features from row-major host data.
pub fn features(x: &[f32], dims: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(x.to_vec(), [x.len() / dims, dims]), device)
}

/// `[n, 1]` integer labels.
pub fn labels(y: &[u8], device: &Device) -> Tensor<2, Int> {
    let n = y.len();
    let y: Vec<i64> = y.iter().map(|l| i64::from(*l)).collect();
    Tensor::from_data(TensorData::new(y, [n, 1]), device)
}

/// The batches of one epoch: every id once, shuffled, in chunks of `size`
/// (`None`: one full batch in order).
pub fn epoch_batches(n: usize, size: Option<usize>, rng: &mut SplitMix64) -> Vec<Vec<usize>> {
    let mut ids: Vec<usize> = (0..n).collect();
    match size {
        None => vec![ids],
        Some(size) => {
            rng.shuffle(&mut ids);
            ids.chunks(size.max(1)).map(<[usize]>::to_vec).collect()
        }
    }
}

/// Per-sample cross-entropy and correctness of a classifier's logits on
/// host data, evaluated in chunks of 4096 without autodiff (an error of
/// `logits` is returned as it is).
pub fn evaluate(
    logits: impl Fn(Tensor<2>) -> anyhow::Result<Tensor<2>>,
    x: &[f32],
    y: &[u8],
    dims: usize,
    device: &Device,
) -> anyhow::Result<(Vec<f64>, Vec<bool>)> {
    let device = device.clone().without_autodiff();
    let (mut losses, mut correct) = (Vec::new(), Vec::new());
    for (xs, ys) in x.chunks(4096 * dims).zip(y.chunks(4096)) {
        let z = logits(features(xs, dims, &device))?;
        let loss = burn::tensor::activation::log_softmax(z.clone(), 1)
            .gather(1, labels(ys, &device))
            .neg();
        losses.extend(
            loss.try_into_vec_as::<f64>()
                .map_err(|e| anyhow::anyhow!("reading losses back: {e:?}"))?,
        );
        let predicted: Vec<i64> = z
            .argmax(1)
            .try_into_vec_as::<i64>()
            .map_err(|e| anyhow::anyhow!("reading predictions back: {e:?}"))?;
        correct.extend(predicted.iter().zip(ys).map(|(p, y)| *p == i64::from(*y)));
    }
    Ok((losses, correct))
}
