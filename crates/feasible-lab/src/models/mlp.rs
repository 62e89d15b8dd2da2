//! A multilayer perceptron with ReLU activations, for the experiments.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::data::sampling::{Draw, SplitMix64};

/// `dims[0] → dims[1] → ... → dims[last]`, ReLU between layers, none after
/// the last (logits).
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    /// A network initialised as burn's and PyTorch's `Linear` are, weights
    /// and biases uniform in `±1/√fan_in`, drawn on the host from `seed`:
    /// the same weights whatever else runs (burn's own RNG is global to the
    /// backend, so runs on several threads would draw from each other).
    pub fn new(dims: &[usize], device: &Device, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mut uniform = |n: usize, bound: f64| -> Vec<f32> {
            (0..n)
                .map(|_| ((2.0 * rng.uniform_open0() - 1.0) * bound) as f32)
                .collect()
        };
        let layers = dims
            .windows(2)
            .map(|w| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let bound = 1.0 / (fan_in as f64).sqrt();
                Linear {
                    weight: Param::from_tensor(Tensor::from_data(
                        TensorData::new(uniform(fan_in * fan_out, bound), [fan_in, fan_out]),
                        device,
                    )),
                    bias: Some(Param::from_tensor(Tensor::from_data(
                        TensorData::new(uniform(fan_out, bound), [fan_out]),
                        device,
                    ))),
                }
            })
            .collect();
        Self { layers }
    }

    /// Logits `[n, dims[last]]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            let h = layer.forward(h);
            if i < last { relu(h) } else { h }
        })
    }
}

/// Which weights of an [`Mlp`] are kept: one row-major `[fan_in, fan_out]`
/// mask per layer (biases are always kept).
#[derive(Clone, Debug, PartialEq)]
pub struct PruningMask {
    /// `true` where the weight is kept.
    pub layers: Vec<Vec<bool>>,
}

impl PruningMask {
    /// The fraction of weights kept.
    pub fn density(&self) -> f64 {
        let total: usize = self.layers.iter().map(Vec::len).sum();
        let kept: usize = self.layers.iter().map(|l| l.iter().filter(|k| **k).count()).sum();
        kept as f64 / total.max(1) as f64
    }

    /// The masks as 0/1 tensors on `device`, shaped as the weights.
    pub fn tensors(&self, model: &Mlp, device: &Device) -> Vec<Tensor<2>> {
        self.layers
            .iter()
            .zip(&model.layers)
            .map(|(mask, layer)| {
                let values: Vec<f32> = mask.iter().map(|k| if *k { 1.0 } else { 0.0 }).collect();
                Tensor::from_data(TensorData::new(values, layer.weight.dims()), device)
            })
            .collect()
    }
}

impl Mlp {
    /// Global magnitude pruning: keeps the `density` fraction of weights
    /// with the largest `|w|` over all layers (ties broken by position).
    pub fn magnitude_mask(&self, density: f64) -> anyhow::Result<PruningMask> {
        if !(0.0..=1.0).contains(&density) {
            anyhow::bail!("the density to keep is {density}, not a fraction in [0, 1]");
        }
        let weights: Vec<Vec<f32>> = self
            .layers
            .iter()
            .map(|l| {
                l.weight
                    .val()
                    .without_autodiff()
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .map_err(|e| anyhow::anyhow!("reading the weights: {e:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut all: Vec<(f32, usize, usize)> = weights
            .iter()
            .enumerate()
            .flat_map(|(l, w)| w.iter().enumerate().map(move |(i, v)| (v.abs(), l, i)))
            .collect();
        let keep = (density * all.len() as f64).round() as usize;
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let mut layers: Vec<Vec<bool>> = weights.iter().map(|w| vec![false; w.len()]).collect();
        for (_, l, i) in all.into_iter().take(keep) {
            layers[l][i] = true;
        }
        Ok(PruningMask { layers })
    }

    /// A new network, built from host copies of this one's parameters,
    /// with the masked-out weights set to zero. It shares no autodiff state
    /// with `self`, so copies can be trained on several threads.
    pub fn pruned(&self, mask: &PruningMask) -> anyhow::Result<Self> {
        let host = |t: Tensor<1>| {
            t.without_autodiff()
                .into_data()
                .try_into_vec_as::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the parameters: {e:?}"))
        };
        let layers = self
            .layers
            .iter()
            .zip(&mask.layers)
            .map(|(layer, keep)| {
                let device = layer.weight.val().device();
                let dims = layer.weight.dims();
                let weight: Vec<f32> = host(layer.weight.val().flatten(0, 1))?
                    .iter()
                    .zip(keep)
                    .map(|(w, k)| if *k { *w } else { 0.0 })
                    .collect();
                let bias = match &layer.bias {
                    Some(b) => Some(Param::from_tensor(Tensor::from_data(
                        TensorData::new(host(b.val())?, b.dims()),
                        &device,
                    ))),
                    None => None,
                };
                Ok(Linear {
                    weight: Param::from_tensor(Tensor::from_data(TensorData::new(weight, dims), &device)),
                    bias,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { layers })
    }

    /// Logits with each weight matrix multiplied by its mask (see
    /// [`PruningMask::tensors`]): the gradient of a masked-out weight is
    /// zero, so under Adam it stays where [`Mlp::pruned`] put it, at zero.
    pub fn forward_masked(&self, x: Tensor<2>, masks: &[Tensor<2>]) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        self.layers
            .iter()
            .zip(masks)
            .enumerate()
            .fold(x, |h, (i, (layer, mask))| {
                let mut h = h.matmul(layer.weight.val() * mask.clone());
                if let Some(bias) = &layer.bias {
                    h = h + bias.val().unsqueeze();
                }
                if i < last { relu(h) } else { h }
            })
    }

    /// The fraction of weights (biases excluded) that are not zero.
    pub fn weight_density(&self) -> anyhow::Result<f64> {
        let (mut nonzero, mut total) = (0usize, 0usize);
        for layer in &self.layers {
            let w = layer
                .weight
                .val()
                .without_autodiff()
                .into_data()
                .try_into_vec_as::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the weights: {e:?}"))?;
            nonzero += w.iter().filter(|v| **v != 0.0).count();
            total += w.len();
        }
        Ok(nonzero as f64 / total.max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn magnitude_pruning_keeps_the_largest_weights_over_all_layers() {
        let device = Device::flex();
        let mlp = Mlp::new(&[3, 4, 2], &device, 7);
        let weights: Vec<f32> = mlp.layers.iter().flat_map(|l| host(l.weight.val())).collect();
        assert_eq!(weights.len(), 20);
        let mask = mlp.magnitude_mask(0.25).unwrap();
        assert_eq!(mask.density(), 0.25);
        // The 5 kept weights are the 5 largest |w|.
        let mut sorted: Vec<f32> = weights.iter().map(|w| w.abs()).collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let kept: Vec<bool> = mask.layers.concat();
        for (w, k) in weights.iter().zip(&kept) {
            assert_eq!(
                *k,
                w.abs() >= sorted[4],
                "|w| = {}, fifth largest {}",
                w.abs(),
                sorted[4]
            );
        }
        let pruned = mlp.pruned(&mask).unwrap();
        assert_eq!(pruned.weight_density().unwrap(), 0.25);
        let after: Vec<f32> = pruned.layers.iter().flat_map(|l| host(l.weight.val())).collect();
        for ((w, a), k) in weights.iter().zip(&after).zip(&kept) {
            assert_eq!(*a, if *k { *w } else { 0.0 });
        }
        // The masked forward pass of the dense network is the pruned one's.
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, -1.0, 2.0, 1.0, 0.0, -0.5], [2, 3]),
            &device,
        );
        let masked = host(mlp.forward_masked(x.clone(), &mask.tensors(&mlp, &device)));
        let plain = host(pruned.forward(x));
        for (a, b) in masked.iter().zip(&plain) {
            assert!((a - b).abs() < 1e-6, "{masked:?} vs {plain:?}");
        }
        assert!(mlp.magnitude_mask(1.5).is_err());
    }
}
