//! The record of one step: what was measured, what moved, what holds.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::constraint::Constraint;
use crate::formulation::FormulationState;
use crate::observation::Observation;
use crate::weights::PrimalWeights;

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

/// The step's report, taking the observations' vectors: `first` was
/// measured at `x_t`; `second`, if any, at `x_{t+1}` or the lookahead,
/// for the dual step.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    constraints_declared: &[Constraint],
    names: &[Arc<str>],
    steps: u64,
    first: Observation,
    second: Option<Observation>,
    weights: &PrimalWeights,
    primal_views: &[FormulationState],
    updated: &[FormulationState],
) -> StepReport {
    let mut lagrangian = first.loss;
    let mut dual_side = second.map(|o| o.constraints.into_iter());
    let constraints: Vec<ConstraintReport> = constraints_declared
        .iter()
        .zip(first.constraints)
        .enumerate()
        .map(|(i, (c, o))| {
            let inequality = c.sense().is_inequality();
            if o.primal {
                let contribution = match &o.batch {
                    None => c
                        .formulation()
                        .primal_contribution(&primal_views[i], &o.violation, inequality),
                    Some(b) => c.formulation().primal_contribution(
                        &primal_views[i].gather(&b.position),
                        &o.violation,
                        inequality,
                    ),
                };
                lagrangian += contribution;
            }
            let (strict_value, violation, batch) = match dual_side.as_mut().and_then(Iterator::next) {
                Some(d) => (d.strict_value, d.strict_violation, d.batch),
                None => (o.strict_value, o.strict_violation, o.batch),
            };
            // Dual variables after the step, for what was measured.
            let after = batch.as_ref().map(|b| updated[i].gather(&b.position));
            let after = after.as_ref().unwrap_or(&updated[i]);
            ConstraintReport {
                name: Arc::clone(&names[i]),
                feasible: violation.iter().all(|g| c.is_satisfied(*g)),
                value: o.value,
                strict_value,
                violation,
                primal_weight: weights.weights[i].clone(),
                multipliers: after.multipliers().map(<[f64]>::to_vec),
                penalty: after.penalty().map(<[f64]>::to_vec),
                indices: batch.map(|b| b.indices),
            }
        })
        .collect();
    StepReport {
        step: steps + 1,
        loss: first.loss,
        lagrangian,
        feasible: constraints.iter().all(|c| c.feasible),
        constraints,
    }
}
