//! Simultaneous gradient descent-ascent: both players step from `(x_t, λ_t)`.
//!
//! ```text
//! x_{t+1} = x_t - η_x ∇_x L(x_t, λ_t)
//! λ_{t+1} = Π(λ_t + step(g(x_t)))
//! ```

use crate::error::Result;
use crate::observation::Observation;
use crate::optimizer::{ConstrainedOptimizer, Prepared};

/// Everything of a simultaneous step but the primal step: the weights of
/// `λ_t` and the dual update from `g(x_t)`, not committed.
pub(crate) fn simultaneous(optimizer: &ConstrainedOptimizer, first: Observation) -> Result<Prepared> {
    let views = optimizer.views(&first);
    let updated = optimizer.dual_update(views.clone(), &first)?;
    let weights = optimizer.primal_weights(&views, &first);
    let targets = first.targets();
    let report = optimizer.report(first, None, &weights, &views, &updated);
    Ok(Prepared {
        weights,
        report,
        updated,
        targets,
    })
}
