//! Projected gradient ascent on the multipliers.

use serde::{Deserialize, Serialize};

use super::DualOptimizer;
use crate::error::{Result, check_nonnegative};

/// Gradient ascent: `λ ← λ + η g`, followed by the projection onto `λ >= 0`
/// for inequalities. `η = 0` is allowed (the multipliers never move, which is
/// the unconstrained problem when they start at 0).
///
/// ```
/// use feasible::{DualOptimizer, GradientAscent};
///
/// let ascent = GradientAscent::new(0.5);
/// // A violation of 2 raises the multiplier by 0.5 * 2.
/// assert_eq!(ascent.step(0, 2.0, &mut []), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientAscent {
    /// The dual step size `η >= 0`.
    pub lr: f64,
}

impl GradientAscent {
    /// Gradient ascent with step size `lr` (checked when the optimizer is
    /// built: it must be finite and `>= 0`).
    pub fn new(lr: f64) -> Self {
        Self { lr }
    }
}

impl DualOptimizer for GradientAscent {
    fn name(&self) -> &'static str {
        "gradient_ascent"
    }

    fn validate(&self, owner: &str, _entries: usize) -> Result<()> {
        check_nonnegative(owner, "dual learning rate", self.lr).map(|_| ())
    }

    fn step(&self, _entry: usize, gradient: f64, _state: &mut [f64]) -> f64 {
        self.lr * gradient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascends_along_the_violation() {
        let ascent = GradientAscent::new(0.1);
        assert_eq!(ascent.step(0, 3.0, &mut []), 0.1 * 3.0);
        assert_eq!(ascent.step(0, -3.0, &mut []), -0.1 * 3.0);
    }

    #[test]
    fn rejects_negative_and_non_finite_step_sizes() {
        for lr in [-1e-3, f64::NAN, f64::INFINITY] {
            let message = GradientAscent::new(lr)
                .validate("constraint `rate`", 1)
                .unwrap_err()
                .to_string();
            assert!(message.contains("dual learning rate"), "{message}");
            assert!(message.contains("constraint `rate`"), "{message}");
        }
        assert!(GradientAscent::new(0.0).validate("x", 1).is_ok());
    }
}
