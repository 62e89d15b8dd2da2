//! The primal weights: all a deep-learning framework needs from the dual side.
//!
//! The model must descend `∇f + Σ_i w_i ∇g_i`, with `g` the violation. Since
//! callers measure values, not violations (`g = s (value - target)`, `s = -1`
//! for `>=` and `+1` otherwise), the same direction is
//! `∇f + Σ_i (s w_i) ∇value_i`: [`PrimalWeights::value_coefficients`] gives
//! `s w_i`. With autodiff, build the objective
//! `loss + Σ_i coef_i * value_i` with the coefficients as constants (outside
//! the autodiff graph) and call backward.
//!
//! The objective's own weight is 1 but under a
//! [`ProxyLagrangian`](crate::ProxyLagrangian) constraint, whose
//! distribution weighs the objective too:
//! [`PrimalWeights::objective_weight`]; the objective is then
//! `objective_weight · loss + Σ_i coef_i * value_i`.

use std::sync::Arc;

use crate::constraint::ConstraintId;

/// Per constraint, per entry: the weight `w` of `∇g` in the primal direction.
#[derive(Clone, Debug, PartialEq)]
pub struct PrimalWeights {
    pub(crate) weights: Vec<Vec<f64>>,
    pub(crate) signs: Arc<[f64]>,
    pub(crate) owner: u64,
    pub(crate) objective: f64,
}

impl PrimalWeights {
    /// The weight of `∇f`: the proxy-Lagrangian's `λ_0` when a constraint
    /// uses one, otherwise 1. The model descends
    /// `objective_weight · ∇f + Σ w ∇g`.
    pub fn objective_weight(&self) -> f64 {
        self.objective
    }

    /// The weights of `∇g` for constraint `id` (`None` for an id that is not
    /// from the optimizer that made these weights).
    pub fn violation_weights(&self, id: ConstraintId) -> Option<&[f64]> {
        self.own(id)?;
        self.weights.get(id.index).map(Vec::as_slice)
    }

    /// `Some` when `id` was issued by the optimizer that made these weights.
    fn own(&self, id: ConstraintId) -> Option<()> {
        (id.owner == self.owner).then_some(())
    }

    /// The coefficients of `∇value` for constraint `id`: the primal objective's
    /// gradient is `∇f + Σ coef_i ∇value_i`.
    pub fn value_coefficients(&self, id: ConstraintId) -> Option<Vec<f64>> {
        self.own(id)?;
        let sign = *self.signs.get(id.index)?;
        Some(self.weights[id.index].iter().map(|w| sign * w).collect())
    }

    /// The coefficient of `∇value` for a scalar constraint (its first entry).
    pub fn value_coefficient(&self, id: ConstraintId) -> Option<f64> {
        self.own(id)?;
        let sign = *self.signs.get(id.index)?;
        self.weights[id.index].first().map(|w| sign * w)
    }

    /// The number of constraints.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there are no constraints.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The constraint ids, in declaration order.
    pub fn ids(&self) -> impl Iterator<Item = ConstraintId> {
        let owner = self.owner;
        (0..self.weights.len()).map(move |index| ConstraintId { index, owner })
    }
}
