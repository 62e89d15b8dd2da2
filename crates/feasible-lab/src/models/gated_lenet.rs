//! LeNet-5 with L0 gates on its convolutions' channels and its dense
//! layers' input units (Louizos, Welling & Kingma 2018, §4.1; the
//! 20-50-800-500 version that Gallego-Posada et al. 2022 constrain).

use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};
use feasible_burn::random::SplitMix64;
use feasible_burn::sparsity::{GateMode, GatedLayer, L0Conv2d, L0Conv2dConfig, L0Linear, L0LinearConfig};

/// Channels of the two convolutions.
pub const CHANNELS: [usize; 2] = [20, 50];
/// Units of the hidden dense layer.
pub const HIDDEN: usize = 500;
/// Side of the (square) kernels.
pub const KERNEL: usize = 5;

/// `28×28 → conv 5×5 (20) → ReLU → max-pool 2 → conv 5×5 (50) → ReLU →
/// max-pool 2 → dense 800 → 500 → ReLU → dense 500 → classes`.
#[derive(Module, Debug)]
pub struct GatedLeNet {
    /// The two convolutions, one gate per output channel.
    pub convs: Vec<L0Conv2d>,
    /// The two dense layers, one gate per input unit.
    pub dense: Vec<L0Linear>,
}

/// Gated layers: the convolutions, then the dense layers; also the order of
/// [`GatedLeNet::sample_gates`]'s modes.
pub const LAYERS: usize = 4;

impl GatedLeNet {
    /// For 28×28 grey images and `classes` classes, gates' parameters scaled
    /// by `gate_scale`, initialised from `seed`.
    /// A gate scale that is not a positive finite number, or no classes,
    /// is refused.
    pub fn new(classes: usize, gate_scale: f64, device: &Device, seed: u64) -> feasible_burn::Result<Self> {
        let mut rng = SplitMix64::new(seed);
        let [c1, c2] = CHANNELS;
        let conv = |i, o| L0Conv2dConfig::new(i, o, [KERNEL, KERNEL]).with_gate_scale(gate_scale);
        let convs = vec![
            conv(1, c1).init(device, &mut rng)?,
            conv(c1, c2).init(device, &mut rng)?,
        ];
        let flat = c2 * 4 * 4;
        let dense_layer = |i, o| L0LinearConfig::new(i, o).with_gate_scale(gate_scale);
        let dense = vec![
            dense_layer(flat, HIDDEN).init(device, &mut rng)?,
            dense_layer(HIDDEN, classes).init(device, &mut rng)?,
        ];
        Ok(Self { convs, dense })
    }

    /// Its gated layers (for densities), convolutions first.
    pub fn gated(&self) -> Vec<&dyn GatedLayer> {
        let convs = self.convs.iter().map(|c| c as &dyn GatedLayer);
        convs.chain(self.dense.iter().map(|d| d as &dyn GatedLayer)).collect()
    }

    /// Fresh uniform noise for every layer's gates.
    pub fn sample_gates(&self, rng: &mut SplitMix64, device: &Device) -> Vec<GateMode> {
        let mut modes: Vec<GateMode> = self
            .convs
            .iter()
            .map(|c| GateMode::Sample(c.noise(rng, device)))
            .collect();
        modes.extend(self.dense.iter().map(|d| GateMode::Sample(d.noise(rng, device))));
        modes
    }

    /// Logits of `[n, 784]` images; `modes` has one entry per gated layer.
    /// Inputs without 784 features, or modes not one per gated layer, are
    /// refused.
    pub fn forward(&self, x: Tensor<2>, modes: &[GateMode]) -> feasible_burn::Result<Tensor<2>> {
        let [n, features] = x.dims();
        if features != 28 * 28 || modes.len() != LAYERS {
            return Err(feasible_burn::Error::LayerInput {
                layer: "GatedLeNet",
                what: "input (and its gate modes)",
                expected: format!("[n, 784] and {LAYERS} gate modes (got {})", modes.len()),
                found: vec![n, features],
            });
        }
        let pool = || MaxPoolOptions::new([2, 2]).with_stride([2, 2]);
        let mut h = x.reshape([n, 1, 28, 28]);
        for (conv, mode) in self.convs.iter().zip(modes) {
            h = max_pool2d(relu(conv.forward(h, mode)?), pool());
        }
        let h: Tensor<2> = h.flatten(1, 3);
        let hidden = relu(self.dense[0].forward(h, &modes[2])?);
        self.dense[1].forward(hidden, &modes[3])
    }

    /// Logits with the deterministic test-time gates.
    pub fn forward_deterministic(&self, x: Tensor<2>) -> feasible_burn::Result<Tensor<2>> {
        let modes = vec![GateMode::Deterministic; LAYERS];
        self.forward(x, &modes)
    }
}
