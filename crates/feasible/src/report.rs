//! The record of one step: what was measured, what moved, what holds.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One constraint in a [`StepReport`]. For an indexed constraint every
/// vector has one value per measured sample, in the order of `indices`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstraintReport {
    /// The constraint's name (shared with the optimizer: no copy per step).
    pub name: Arc<str>,
    /// The differentiable values at the step's starting point `x_t`.
    pub value: Vec<f64>,
    /// The strict values that drove the dual update (at `x_{t+1}` for the
    /// alternating primal→dual scheme), when the caller gave any.
    pub strict_value: Option<Vec<f64>>,
    /// The strict violations that drove the dual update (positive: not
    /// satisfied); the differentiable ones when no strict value was given.
    pub violation: Vec<f64>,
    /// The weights `w` of `∇g` used in the primal step.
    pub primal_weight: Vec<f64>,
    /// The multipliers after the step (`None` for a penalty).
    pub multipliers: Option<Vec<f64>>,
    /// The penalty coefficients after the step (augmented Lagrangian and
    /// quadratic penalty; one value, or one per entry).
    pub penalty: Option<Vec<f64>>,
    /// Whether every entry's violation is within the tolerance.
    pub feasible: bool,
    /// The sample ids of an indexed constraint's batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indices: Option<Vec<usize>>,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step's number, counting from 1.
    pub step: u64,
    /// The loss `f(x_t)`.
    pub loss: f64,
    /// The objective the primal step descended, at `x_t`:
    /// `f + Σ contributions` (for the Lagrangian, `f + λ·g` with the
    /// differentiable violations and the multipliers of the primal step).
    pub lagrangian: f64,
    /// Whether every constraint holds (by its strict violation).
    pub feasible: bool,
    /// One entry per constraint, in declaration order.
    pub constraints: Vec<ConstraintReport>,
}

impl StepReport {
    /// The report of the constraint called `name`.
    pub fn constraint(&self, name: &str) -> Option<&ConstraintReport> {
        self.constraints.iter().find(|c| &*c.name == name)
    }
}
