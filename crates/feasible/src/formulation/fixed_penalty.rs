//! The fixed penalty `f(x) + c Σ_i g_i(x)`: the weighted-sum baseline.
//!
//! With a non-convex problem no fixed `c` may solve the constrained problem
//! (position paper, §3); it is kept so experiments can compare against it.

use crate::error::{Result, check_nonnegative};
use crate::shape::Shape;

/// A fixed weighted-sum penalty `f + c·g`: the baseline the position
/// paper criticises. No multiplier; `c` never changes. The term is linear
/// in `g` (as in eq. 16 of the paper): it keeps pushing after the
/// constraint is met.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedPenalty {
    /// The penalty coefficient `c >= 0`.
    pub coefficient: f64,
}

impl FixedPenalty {
    /// A fixed penalty with coefficient `c`.
    pub fn new(coefficient: f64) -> Self {
        Self { coefficient }
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        check_nonnegative(&shape.owner, "penalty coefficient", self.coefficient).map(|_| ())
    }
}

/// `w_i = c`.
pub fn primal_weights(coefficient: f64, out: &mut [f64]) {
    out.fill(coefficient);
}

/// `c Σ g_i`.
pub fn primal_contribution(coefficient: f64, violations: &[f64]) -> f64 {
    coefficient * violations.iter().sum::<f64>()
}
