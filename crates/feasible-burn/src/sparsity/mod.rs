//! L0 sparsity for burn models: hard-concrete gates (Louizos, Welling &
//! Kingma 2018) whose expected L0 norm is differentiable, so "at most 50% of
//! the weights non-zero" is a constraint in the model's own units:
//! `Constraint::at_most("density", 0.5)`, its differentiable value the
//! expected density ([`expected_density`]), its strict value the density of
//! the deterministic test-time gates ([`deterministic_density`]).
//!
//! [`L0Linear`] gates its weights per input unit (structured: a dropped
//! unit removes a row) or per weight; [`L0Conv2d`] gates a convolution's
//! output channels (a dropped channel removes its filter). Both are
//! [`GatedLayer`]s, and a density is taken over any list of them
//! (`&[&dyn GatedLayer]` mixes kinds). Density constraints can be
//! model-wise (one constraint over all layers) or layer-wise (one entry per
//! layer, [`layer_densities`]).

pub mod hard_concrete;
pub mod l0_conv2d;
pub mod l0_linear;

pub use l0_conv2d::{L0Conv2d, L0Conv2dConfig};
pub use l0_linear::{GateMode, Granularity, L0Linear, L0LinearConfig};

use burn::tensor::Tensor;

/// A layer whose weights are switched by L0 gates.
pub trait GatedLayer {
    /// The number of gated weights.
    fn gated_weights(&self) -> usize;
    /// The expected number of non-zero weights, `[1]`, differentiable in
    /// the gates: each gate's `P(z ≠ 0)` times the weights it switches.
    fn expected_nonzero(&self) -> Tensor<1>;
    /// The number of weights the deterministic gates keep (host).
    fn deterministic_nonzero(&self) -> Result<usize, crate::Error>;
}

impl<T: GatedLayer + ?Sized> GatedLayer for &T {
    fn gated_weights(&self) -> usize {
        (**self).gated_weights()
    }

    fn expected_nonzero(&self) -> Tensor<1> {
        (**self).expected_nonzero()
    }

    fn deterministic_nonzero(&self) -> Result<usize, crate::Error> {
        (**self).deterministic_nonzero()
    }
}

/// The gates' starting parameter `θ` for `drop_rate` and `gate_scale`,
/// after checking both (`layer` names the layer in the error).
fn initial_gate(layer: &'static str, drop_rate: f64, gate_scale: f64) -> crate::Result<f32> {
    if !(drop_rate > 0.0 && drop_rate < 1.0) {
        return Err(setting_error(
            layer,
            "initial_drop_rate",
            drop_rate,
            "must be in (0, 1)",
        ));
    }
    positive_finite(layer, "gate_scale", gate_scale)?;
    Ok((hard_concrete::log_alpha_for_drop_rate(drop_rate) / gate_scale) as f32)
}

/// `value` of `setting`, refused unless it is a positive finite number.
fn positive_finite(layer: &'static str, setting: &'static str, value: f64) -> crate::Result<()> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(setting_error(layer, setting, value, "must be a positive finite number"))
    }
}

/// A size (`inputs`, `outputs`, a kernel's side), refused when zero.
fn nonzero(layer: &'static str, setting: &'static str, value: usize) -> crate::Result<()> {
    if value == 0 {
        Err(setting_error(layer, setting, value, "must be at least 1"))
    } else {
        Ok(())
    }
}

fn setting_error(
    layer: &'static str,
    setting: &'static str,
    value: impl std::fmt::Display,
    expected: &'static str,
) -> crate::Error {
    crate::Error::LayerSetting {
        layer,
        setting,
        value: value.to_string(),
        expected,
    }
}

/// The gates of `mode` for gates at `log_alpha`: sampled from the mode's
/// noise, refused unless the noise has the gates' shape, or deterministic.
fn gates(layer: &'static str, log_alpha: Tensor<2>, mode: &GateMode) -> crate::Result<Tensor<2>> {
    match mode {
        GateMode::Sample(noise) => {
            let (expected, found) = (log_alpha.dims(), noise.dims());
            if found != expected {
                return Err(crate::Error::LayerInput {
                    layer,
                    what: "gates' noise",
                    expected: format!("{expected:?} (the gates' shape)"),
                    found: found.to_vec(),
                });
            }
            Ok(hard_concrete::sample(log_alpha, noise.clone()))
        }
        GateMode::Deterministic => Ok(hard_concrete::deterministic(log_alpha)),
    }
}

/// The expected number of weights kept by gates at `log_alpha`, each
/// switching `weights_per_gate` weights, `[1]`.
fn expected_kept<const D: usize>(log_alpha: Tensor<D>, weights_per_gate: usize) -> Tensor<1> {
    hard_concrete::probability_nonzero(log_alpha)
        .sum()
        .mul_scalar(weights_per_gate as f64)
}

/// How many of the gates at `log_alpha` the deterministic gates keep (host).
fn kept_gates<const D: usize>(log_alpha: Tensor<D>) -> Result<usize, crate::Error> {
    let log_alpha = log_alpha
        .without_autodiff()
        .try_into_vec_as::<f64>()
        .map_err(|e| crate::Error::Readback {
            reason: format!("{e:?}"),
        })?;
    Ok(log_alpha
        .iter()
        .filter(|a| hard_concrete::deterministic_nonzero(**a))
        .count())
}

/// The expected fraction of gated weights that are non-zero over `layers`,
/// `[1]`, differentiable in the gates (`None` for no layers).
pub fn expected_density<L: GatedLayer>(layers: &[L]) -> Option<Tensor<1>> {
    let total: usize = layers.iter().map(L::gated_weights).sum();
    let sum = layers.iter().map(L::expected_nonzero).reduce(|a, b| a + b)?;
    Some(sum.div_scalar(total.max(1) as f64))
}

/// Each layer's expected density, `[layers]`, for a layer-wise constraint
/// (`None` for no layers).
pub fn layer_densities<L: GatedLayer>(layers: &[L]) -> Option<Tensor<1>> {
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
pub fn deterministic_density<L: GatedLayer>(layers: &[L]) -> Result<f64, crate::Error> {
    let total: usize = layers.iter().map(L::gated_weights).sum();
    let kept = layers.iter().map(L::deterministic_nonzero).sum::<Result<usize, _>>()?;
    Ok(kept as f64 / total.max(1) as f64)
}

/// Each layer's deterministic density (host).
pub fn deterministic_layer_densities<L: GatedLayer>(layers: &[L]) -> Result<Vec<f64>, crate::Error> {
    layers
        .iter()
        .map(|l| Ok(l.deterministic_nonzero()? as f64 / l.gated_weights().max(1) as f64))
        .collect()
}
