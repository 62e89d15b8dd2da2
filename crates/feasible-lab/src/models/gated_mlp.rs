//! A multilayer perceptron whose layers are L0-gated (feasible-burn's
//! [`L0Linear`]), for the sparsity experiments.

use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use feasible_burn::random::SplitMix64;
use feasible_burn::sparsity::{GateMode, L0Linear, L0LinearConfig};

/// `dims[0] → ... → dims[last]`, ReLU between layers, L0 gates on every
/// layer's inputs or weights.
#[derive(Module, Debug)]
pub struct GatedMlp {
    /// The layers.
    pub layers: Vec<L0Linear>,
}

impl GatedMlp {
    /// Layers made by `config(inputs, outputs)`, initialised from `seed`
    /// (a layer's setting out of range is refused).
    pub fn new(
        dims: &[usize],
        config: impl Fn(usize, usize) -> L0LinearConfig,
        device: &Device,
        seed: u64,
    ) -> feasible_burn::Result<Self> {
        let mut rng = SplitMix64::new(seed);
        let layers = dims
            .windows(2)
            .map(|w| config(w[0], w[1]).init(device, &mut rng))
            .collect::<feasible_burn::Result<_>>()?;
        Ok(Self { layers })
    }

    /// Fresh uniform noise for every layer's gates.
    pub fn sample_gates(&self, rng: &mut SplitMix64, device: &Device) -> Vec<GateMode> {
        self.layers
            .iter()
            .map(|l| GateMode::Sample(l.noise(rng, device)))
            .collect()
    }

    /// Logits; `modes` has one entry per layer (sampled or deterministic).
    /// An input or noise of the wrong shape is refused.
    pub fn forward(&self, x: Tensor<2>, modes: &[GateMode]) -> feasible_burn::Result<Tensor<2>> {
        let last = self.layers.len().saturating_sub(1);
        self.layers
            .iter()
            .zip(modes)
            .enumerate()
            .try_fold(x, |h, (i, (layer, mode))| {
                let h = layer.forward(h, mode)?;
                Ok(if i < last { relu(h) } else { h })
            })
    }

    /// Logits with the deterministic test-time gates.
    pub fn forward_deterministic(&self, x: Tensor<2>) -> feasible_burn::Result<Tensor<2>> {
        let modes = vec![GateMode::Deterministic; self.layers.len()];
        self.forward(x, &modes)
    }
}
