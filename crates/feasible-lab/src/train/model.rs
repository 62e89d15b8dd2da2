//! The model of a run: a linear model or an MLP, with or without L0 gates,
//! `classes` logits out.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use feasible_burn::random::SplitMix64;
use feasible_burn::sparsity::{self, L0LinearConfig};

use super::plan::ModelPlan;
use crate::models::gated_mlp::GatedMlp;
use crate::models::mlp::Mlp;

/// A plain or a gated network (exactly one of the two is present).
#[derive(Module, Debug)]
pub struct Network {
    /// Without gates.
    pub plain: Option<Mlp>,
    /// With L0 gates.
    pub gated: Option<GatedMlp>,
}

impl Network {
    /// A fresh network `inputs → hidden... → classes`, initialised from
    /// `seed` (a gate scale out of range, or a zero width, is refused).
    pub fn new(
        plan: &ModelPlan,
        inputs: usize,
        classes: usize,
        device: &Device,
        seed: u64,
    ) -> feasible_burn::Result<Self> {
        let dims: Vec<usize> = std::iter::once(inputs)
            .chain(plan.hidden.iter().copied())
            .chain(std::iter::once(classes))
            .collect();
        if plan.gates {
            let scale = plan.gate_scale;
            let gated = GatedMlp::new(
                &dims,
                |i, o| L0LinearConfig::new(i, o).with_gate_scale(scale),
                device,
                seed,
            )?;
            Ok(Self {
                plain: None,
                gated: Some(gated),
            })
        } else {
            Ok(Self {
                plain: Some(Mlp::new(&dims, device, seed)),
                gated: None,
            })
        }
    }

    /// Logits in training: gates sampled from `rng`.
    pub fn forward_train(&self, x: Tensor<2>, rng: &mut SplitMix64) -> feasible_burn::Result<Tensor<2>> {
        match (&self.plain, &self.gated) {
            (Some(m), _) => Ok(m.forward(x)),
            (None, Some(g)) => {
                let modes = g.sample_gates(rng, &x.device());
                g.forward(x, &modes)
            }
            (None, None) => Ok(x),
        }
    }

    /// Logits at test time (deterministic gates).
    pub fn forward(&self, x: Tensor<2>) -> feasible_burn::Result<Tensor<2>> {
        match (&self.plain, &self.gated) {
            (Some(m), _) => Ok(m.forward(x)),
            (None, Some(g)) => g.forward_deterministic(x),
            (None, None) => Ok(x),
        }
    }

    /// The expected density of the gated weights (differentiable) and the
    /// deterministic density; `None` without gates.
    pub fn density(&self) -> anyhow::Result<Option<(Tensor<1>, f64)>> {
        let Some(g) = &self.gated else { return Ok(None) };
        let expected =
            sparsity::expected_density(&g.layers).ok_or_else(|| anyhow::anyhow!("the model has no layers"))?;
        Ok(Some((expected, sparsity::deterministic_density(&g.layers)?)))
    }
}
