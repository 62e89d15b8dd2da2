//! A multilayer perceptron with ReLU activations, for the experiments.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::data::sampling::SplitMix64;

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
