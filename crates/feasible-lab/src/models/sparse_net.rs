//! The L0-gated networks of the sparsity experiments, one type for both.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use feasible_burn::random::SplitMix64;
use feasible_burn::sparsity::{GateMode, GatedLayer, L0LinearConfig};
use serde::{Deserialize, Serialize};

use super::gated_lenet::GatedLeNet;
use super::gated_mlp::GatedMlp;

/// Which gated network a sparsity experiment trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Architecture {
    /// A multilayer perceptron of these widths, gates on every layer's
    /// input units.
    Mlp(Vec<usize>),
    /// LeNet-5 (20-50-800-500) for 28×28 grey images, gates on its
    /// convolutions' channels and its dense layers' input units.
    LeNet5,
}

impl Architecture {
    /// The network for `classes` classes (an MLP's last width is its own),
    /// gates' parameters scaled by `gate_scale`, initialised from `seed`
    /// (a layer's setting out of range is refused).
    pub fn build(
        &self,
        classes: usize,
        gate_scale: f64,
        device: &Device,
        seed: u64,
    ) -> feasible_burn::Result<SparseNet> {
        Ok(match self {
            Self::Mlp(layers) => SparseNet::Mlp(GatedMlp::new(
                layers,
                |i, o| L0LinearConfig::new(i, o).with_gate_scale(gate_scale),
                device,
                seed,
            )?),
            Self::LeNet5 => SparseNet::LeNet(GatedLeNet::new(classes, gate_scale, device, seed)?),
        })
    }

    /// One line: the network and where its gates are.
    pub fn describe(&self) -> String {
        match self {
            Self::Mlp(layers) => format!("MLP {layers:?} with L0 gates on input units"),
            Self::LeNet5 => {
                "LeNet-5 (conv 5×5 20, conv 5×5 50, dense 800-500) with L0 gates on channels and input units"
                    .to_string()
            }
        }
    }
}

/// A gated MLP or a gated LeNet-5.
#[derive(Module, Debug)]
pub enum SparseNet {
    /// See [`GatedMlp`].
    Mlp(GatedMlp),
    /// See [`GatedLeNet`].
    LeNet(GatedLeNet),
}

impl SparseNet {
    /// Its gated layers, for densities.
    pub fn gated(&self) -> Vec<&dyn GatedLayer> {
        match self {
            Self::Mlp(m) => m.layers.iter().map(|l| l as &dyn GatedLayer).collect(),
            Self::LeNet(m) => m.gated(),
        }
    }

    /// Fresh uniform noise for every layer's gates.
    pub fn sample_gates(&self, rng: &mut SplitMix64, device: &Device) -> Vec<GateMode> {
        match self {
            Self::Mlp(m) => m.sample_gates(rng, device),
            Self::LeNet(m) => m.sample_gates(rng, device),
        }
    }

    /// Logits of `[n, features]` inputs; `modes` has one entry per gated layer.
    pub fn forward(&self, x: Tensor<2>, modes: &[GateMode]) -> feasible_burn::Result<Tensor<2>> {
        match self {
            Self::Mlp(m) => m.forward(x, modes),
            Self::LeNet(m) => m.forward(x, modes),
        }
    }

    /// Logits with the deterministic test-time gates.
    pub fn forward_deterministic(&self, x: Tensor<2>) -> feasible_burn::Result<Tensor<2>> {
        match self {
            Self::Mlp(m) => m.forward_deterministic(x),
            Self::LeNet(m) => m.forward_deterministic(x),
        }
    }
}
