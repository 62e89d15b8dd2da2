//! Adam in ascent mode (Kingma & Ba 2015), for users who ask for it.
//!
//! ```text
//! m_t = β₁ m_{t-1} + (1 - β₁) e_t,    v_t = β₂ v_{t-1} + (1 - β₂) e_t²
//! λ_{t+1} = λ_t + η m̂_t / (√v̂_t + ε),  m̂_t = m_t / (1 - β₁ᵗ),  v̂_t = v_t / (1 - β₂ᵗ)
//! ```
//!
//! **Its steps on a multiplier are about `±η`, whatever the size of the
//! violation.** On the first step `m̂ = e_0` and `v̂ = e_0²`, so the step is
//! `η e_0 / (|e_0| + ε) ≈ η sign(e_0)`; while the violation keeps its sign
//! the ratio stays near ±1. A multiplier driven by Adam therefore moves at
//! a constant speed `η` until the violation changes sign, then overshoots
//! and turns back, a bang-bang controller, whereas gradient ascent and nuPI
//! move in proportion to the violation. The step size `η` is in the
//! multiplier's own units. On `min (x-2)² s.t. x <= 1` (`λ* = 2`, this
//! crate's tests), Adam with `η = 0.05` keeps oscillating (λ swinging by
//! more than 0.1 after 20,000 steps) where gradient ascent with the same step
//! converges; with `η = 0.01` Adam converges too. Prefer nuPI; if you use
//! Adam, pick `η` as the resolution you accept on the multiplier.
//!
//! The step count is kept per entry, so an entry observed for the first
//! time (per-sample constraints) gets the bias correction of a first step.
//! `ε` defaults to 1e-8 (PyTorch's and optax's default; burn's Adam uses
//! 1e-5).

use serde::{Deserialize, Serialize};

use super::DualOptimizer;
use crate::error::{FeasibleError, Result, check_nonnegative, check_unit_interval};

/// Adam ascent on the multipliers, see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Step size `η >= 0`.
    pub lr: f64,
    /// First-moment coefficient `β₁` in `[0, 1)`.
    pub beta1: f64,
    /// Second-moment coefficient `β₂` in `[0, 1)`.
    pub beta2: f64,
    /// `ε > 0` in the denominator.
    pub epsilon: f64,
}

impl Adam {
    /// Adam with step `lr`, `β₁ = 0.9`, `β₂ = 0.999`, `ε = 1e-8`.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// With moment coefficients `beta1`, `beta2`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// With `epsilon`.
    pub fn with_epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
}

impl DualOptimizer for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }

    /// The moments `m`, `v` and the entry's own step count `t`.
    fn state_fields(&self) -> &'static [&'static str] {
        &["m", "v", "t"]
    }

    fn validate(&self, owner: &str, _entries: usize) -> Result<()> {
        check_nonnegative(owner, "Adam step size", self.lr)?;
        check_unit_interval(owner, "Adam beta1", self.beta1)?;
        check_unit_interval(owner, "Adam beta2", self.beta2)?;
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(FeasibleError::InvalidHyperparameter {
                owner: owner.to_string(),
                name: "Adam epsilon",
                value: self.epsilon,
                requirement: "must be a finite number > 0",
            });
        }
        Ok(())
    }

    fn step(&self, _entry: usize, error: f64, state: &mut [f64]) -> f64 {
        let Some(state) = state.first_chunk_mut::<3>() else {
            return f64::NAN;
        };
        let t = state[2] + 1.0;
        let m = self.beta1 * state[0] + (1.0 - self.beta1) * error;
        let v = self.beta2 * state[1] + (1.0 - self.beta2) * error * error;
        *state = [m, v, t];
        // t counts steps exactly (an f64 holds every integer up to 2^53).
        let exponent = if t < i32::MAX as f64 { t as i32 } else { i32::MAX };
        let m_hat = m / (1.0 - self.beta1.powi(exponent));
        let v_hat = v / (1.0 - self.beta2.powi(exponent));
        self.lr * m_hat / (v_hat.sqrt() + self.epsilon)
    }
}
