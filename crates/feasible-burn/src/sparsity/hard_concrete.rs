//! The hard concrete distribution of L0 gates (Louizos, Welling & Kingma,
//! ICLR 2018, §4), as free functions over tensors.
//!
//! A gate `z ∈ [0, 1]` with location `log α` is sampled from uniform noise
//! `u ~ U(0, 1)`:
//!
//! ```text
//! s = σ((ln u - ln(1 - u) + log α) / β)          a binary concrete sample
//! z = min(1, max(0, s (ζ - γ) + γ))               stretched to (γ, ζ), clipped
//! ```
//!
//! with temperature `β = 2/3` and stretch interval `(γ, ζ) = (-0.1, 1.1)`.
//! The clipping puts real mass on exactly 0 and exactly 1. The probability
//! that a gate is non-zero has a closed form, differentiable in `log α`:
//!
//! ```text
//! P(z ≠ 0) = σ(log α - β ln(-γ / ζ))                (eq. 12)
//! ```
//!
//! so the expected L0 norm of gated parameters is a sum of these. At test
//! time the gate is deterministic, `ẑ = min(1, max(0, σ(log α)(ζ - γ) + γ))`,
//! which is 0 exactly when `σ(log α) <= -γ/(ζ - γ) = 1/12`.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;

/// The temperature `β`.
pub const TEMPERATURE: f64 = 2.0 / 3.0;
/// The lower end `γ` of the stretch interval.
pub const LOWER: f64 = -0.1;
/// The upper end `ζ` of the stretch interval.
pub const UPPER: f64 = 1.1;

/// The `log α` whose gate is dropped with probability `drop_rate` at the
/// start (Louizos et al.'s initialisation: `ln(1 - d) - ln d`; `d = 0.01`
/// starts dense).
pub fn log_alpha_for_drop_rate(drop_rate: f64) -> f64 {
    (1.0 - drop_rate).ln() - drop_rate.ln()
}

/// A sampled gate from `log α` and uniform noise `u` of the same shape.
pub fn sample<const D: usize>(log_alpha: Tensor<D>, noise: Tensor<D>) -> Tensor<D> {
    let logistic = noise.clone().log() - noise.neg().add_scalar(1.0).log();
    let s = sigmoid((logistic + log_alpha).div_scalar(TEMPERATURE));
    s.mul_scalar(UPPER - LOWER).add_scalar(LOWER).clamp(0.0, 1.0)
}

/// The deterministic test-time gate.
pub fn deterministic<const D: usize>(log_alpha: Tensor<D>) -> Tensor<D> {
    sigmoid(log_alpha)
        .mul_scalar(UPPER - LOWER)
        .add_scalar(LOWER)
        .clamp(0.0, 1.0)
}

/// `P(z ≠ 0)` for each gate, differentiable in `log α`.
pub fn probability_nonzero<const D: usize>(log_alpha: Tensor<D>) -> Tensor<D> {
    sigmoid(log_alpha.sub_scalar(TEMPERATURE * (-LOWER / UPPER).ln()))
}

/// `P(z ≠ 0)` of one gate, on the host.
pub fn probability_nonzero_f64(log_alpha: f64) -> f64 {
    1.0 / (1.0 + (-(log_alpha - TEMPERATURE * (-LOWER / UPPER).ln())).exp())
}

/// Whether the deterministic gate of `log α` is non-zero.
pub fn deterministic_nonzero(log_alpha: f64) -> bool {
    let s = 1.0 / (1.0 + (-log_alpha).exp());
    s * (UPPER - LOWER) + LOWER > 0.0
}
