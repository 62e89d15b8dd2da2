//! The quadratic penalty `f + (c/2) Σ [g_i]_+² + (c/2) Σ h_j²` (Nocedal &
//! Wright eq. 17.2): no multipliers; the constrained solution is reached
//! only as `c → ∞` (with a penalty updater), which makes the problem ever
//! worse conditioned. The augmented Lagrangian keeps `c` finite.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::penalty::{Penalty, coefficient};
use crate::shape::Shape;

/// The quadratic penalty with its coefficient `c` (and how `c` changes).
#[derive(Clone, Debug)]
pub struct QuadraticPenalty {
    /// The penalty coefficient.
    pub penalty: Penalty,
}

/// The current penalty coefficients of a quadratic penalty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuadraticPenaltyState {
    /// One coefficient, or one per entry.
    pub penalty: Vec<f64>,
}

impl QuadraticPenalty {
    /// The quadratic penalty with coefficient `penalty`.
    pub fn new(penalty: impl Into<Penalty>) -> Self {
        Self {
            penalty: penalty.into(),
        }
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        self.penalty.validate(shape)
    }

    pub(crate) fn check_fits(&self, state: &QuadraticPenaltyState, shape: &Shape) -> std::result::Result<(), String> {
        self.penalty.check_fits(&state.penalty, shape.entries)
    }

    pub(crate) fn dual_update(
        &self,
        ids: Option<&[usize]>,
        state: &mut QuadraticPenaltyState,
        strict_violations: &[f64],
        shape: &Shape,
    ) -> Result<()> {
        self.penalty
            .update(&mut state.penalty, ids, strict_violations, shape.inequality)
            .map_err(|e| super::lagrangian::non_finite(shape, e))
    }

    pub(crate) fn init(&self, shape: &Shape) -> Result<QuadraticPenaltyState> {
        Ok(QuadraticPenaltyState {
            penalty: self.penalty.init(shape.entries)?,
        })
    }
}

/// `w_i = c_i [g_i]_+` (inequality) or `c_i h_i` (equality).
pub(crate) fn primal_weights(penalty: &[f64], violations: &[f64], inequality: bool, out: &mut [f64]) {
    for (i, w) in out.iter_mut().enumerate() {
        let g = if inequality {
            violations[i].max(0.0)
        } else {
            violations[i]
        };
        *w = coefficient(penalty, i) * g;
    }
}

/// `Σ (c_i / 2) [g_i]_+²` (inequality) or `Σ (c_i / 2) h_i²`.
pub(crate) fn primal_contribution(penalty: &[f64], violations: &[f64], inequality: bool) -> f64 {
    violations
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let g = if inequality { g.max(0.0) } else { *g };
            0.5 * coefficient(penalty, i) * g * g
        })
        .sum()
}
