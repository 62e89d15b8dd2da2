//! Extragradient (Korpelevich 1976): a lookahead step of both players,
//! then the update from the saved point with the lookahead's gradients.
//!
//! ```text
//! x̃ = x_t - η_x ∇_x L(x_t, λ_t),          λ̃ = Π(λ_t + step(g(x_t)))
//! x_{t+1} = x_t - η_x ∇_x L(x̃, λ̃),       λ_{t+1} = Π(λ_t + step(g(x̃)))
//! ```
//!
//! Stateful optimizers advance their state at both half steps, as
//! Extra-Adam does (Gidel et al. 2019); penalty coefficients keep the
//! values of `λ_t`'s side and are updated once, with the update. Indexed
//! constraints must be measured on the same batch at both points.

use super::PrimalProblem;
use crate::error::{FeasibleError, Result};
use crate::observation::{Observation, observe};
use crate::optimizer::{ConstrainedOptimizer, Prepared, primal_error};

/// One extragradient step from `point`, measured as `first`: the next
/// point and the dual update, not committed. Extragradient needs the
/// model twice within a step, so it runs through a [`PrimalProblem`] only.
pub(crate) fn extragradient<P: PrimalProblem>(
    optimizer: &ConstrainedOptimizer,
    problem: &mut P,
    point: &P::Point,
    first: Observation,
) -> Result<(P::Point, Prepared)> {
    let views = optimizer.views(&first);
    let weights = optimizer.primal_weights(&views, &first);
    let lookahead = problem.descend(point, point, &weights).map_err(primal_error)?;
    let mut lookahead_views = optimizer.dual_update(views.clone(), &first)?;
    let measured = problem.measure(&lookahead).map_err(primal_error)?;
    let second = observe(optimizer.constraints(), optimizer.owner(), measured)?;
    for (c, (a, b)) in optimizer
        .constraints()
        .iter()
        .zip(first.constraints.iter().zip(&second.constraints))
    {
        if a.batch.as_ref().map(|b| &b.indices) != b.batch.as_ref().map(|b| &b.indices) {
            return Err(FeasibleError::BatchChanged {
                constraint: c.name().to_string(),
            });
        }
    }
    let weights = optimizer.primal_weights(&lookahead_views, &second);
    let next = problem.descend(point, &lookahead, &weights).map_err(primal_error)?;
    for (view, saved) in lookahead_views.iter_mut().zip(&views) {
        view.rewind_dual_variables(saved);
    }
    let updated = optimizer.dual_update(lookahead_views, &second)?;
    let targets = second.targets();
    let report = optimizer.report(first, Some(second), &weights, &views, &updated);
    Ok((
        next,
        Prepared {
            weights,
            report,
            updated,
            targets,
        },
    ))
}
