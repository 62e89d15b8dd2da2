//! L0 sparsity for burn models: hard-concrete gates (Louizos, Welling &
//! Kingma 2018) whose expected L0 norm is differentiable, so "at most 50% of
//! the weights non-zero" is a constraint in the model's own units:
//! `Constraint::at_most("density", 0.5)`, its differentiable value the
//! expected density ([`expected_density`]), its strict value the density of
//! the deterministic test-time gates ([`deterministic_density`]).
//!
//! [`L0Linear`] gates its weights per input unit (structured: a dropped
//! unit removes a row) or per weight. Density constraints can be
//! model-wise (one constraint over all layers) or layer-wise (one entry per
//! layer, [`layer_densities`]).

pub mod hard_concrete;
pub mod l0_linear;

pub use l0_linear::{GateMode, Granularity, L0Linear, L0LinearConfig};

use burn::tensor::Tensor;

/// The expected fraction of gated weights that are non-zero over `layers`,
/// `[1]`, differentiable in the gates (`None` for no layers).
pub fn expected_density(layers: &[L0Linear]) -> Option<Tensor<1>> {
    let total: usize = layers.iter().map(L0Linear::gated_weights).sum();
    let sum = layers.iter().map(L0Linear::expected_nonzero).reduce(|a, b| a + b)?;
    Some(sum.div_scalar(total.max(1) as f64))
}

/// Each layer's expected density, `[layers]`, for a layer-wise constraint
/// (`None` for no layers).
pub fn layer_densities(layers: &[L0Linear]) -> Option<Tensor<1>> {
    if layers.is_empty() {
        return None;
    }
    Some(Tensor::cat(
        layers
            .iter()
            .map(|l| l.expected_nonzero().div_scalar(l.gated_weights().max(1) as f64))
            .collect(),
        0,
    ))
}

/// The fraction of gated weights the deterministic gates keep (host).
pub fn deterministic_density(layers: &[L0Linear]) -> Result<f64, crate::Error> {
    let total: usize = layers.iter().map(L0Linear::gated_weights).sum();
    let kept = layers
        .iter()
        .map(L0Linear::deterministic_nonzero)
        .sum::<Result<usize, _>>()?;
    Ok(kept as f64 / total.max(1) as f64)
}

/// Each layer's deterministic density (host).
pub fn deterministic_layer_densities(layers: &[L0Linear]) -> Result<Vec<f64>, crate::Error> {
    layers
        .iter()
        .map(|l| Ok(l.deterministic_nonzero()? as f64 / l.gated_weights().max(1) as f64))
        .collect()
}
