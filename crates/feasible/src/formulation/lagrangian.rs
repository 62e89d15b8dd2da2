//! The Lagrangian formulation, `L(x, λ) = f(x) + Σ_i λ_i g_i(x)`
//! (Nocedal & Wright, *Numerical Optimization*, eq. 12.33).
//!
//! The model descends `∇_x L = ∇f + Σ λ_i ∇g_i`, so the primal weight of
//! entry `i` is `λ_i`. The multipliers ascend `∇_λ L = g`, measured by the
//! strict violation when one is given (proxy constraints, Cotter et al.
//! 2019): `λ ← Π(λ + step(g))`, `Π` the projection onto `λ >= 0` for
//! inequalities.
//!
//! ## Relaxation by slack variables
//!
//! With a slack cost `α > 0` the constraint may be relaxed: `g(x) <= u`,
//! `u >= 0`, at a cost `(α/2) |u|²` added to the objective (resilient
//! constrained learning, Hounie et al. 2023; the slack relaxation of
//! Feasible Learning, Ramirez et al. 2025). Minimising over `u` in closed
//! form gives `u = λ/α` and the Lagrangian `f + λ·g - |λ|²/(2α)`: the model
//! sees the same weights `λ`, and the multipliers ascend `g - λ/α`, which
//! stops them at `λ = α [g]_+`: the minimal-norm slack that makes every
//! entry feasible, at equilibrium with the loss.
//!
//! ## Dual restarts
//!
//! A multiplier integrates the violation, and when the model can only react
//! slowly (L0 gates that start saturated need hundreds of steps before the
//! density moves) it winds up far past the value the solution needs, and
//! the constraint is then over-satisfied. With restarts, an inequality
//! entry that is strictly satisfied (`g < 0`) gets its initial multiplier
//! back (Gallego-Posada et al. 2022; Cooper's `restart_on_feasible`): the
//! pressure stops as soon as the requirement holds. Restarts apply to
//! inequalities only: asking for them on an equality is an error at build.
//!
//! ## Options
//!
//! | builder | effect |
//! |---|---|
//! | [`Lagrangian::with_initial_multiplier`] | `λ_0`, one value or one per entry |
//! | [`Lagrangian::with_slack`] | relaxation with slack cost `α`: ascend `g - λ/α` |
//! | [`Lagrangian::with_dual_decay`] | dual weight decay `γ`: ascend `g - γ λ` (the same relaxation, `γ = 1/α`) |
//! | [`Lagrangian::with_upper_bound`] | `λ ← min(Π(λ + step), λ_max)` (equality: `|μ| <= λ_max`) |
//! | [`Lagrangian::with_warmup`] | the multipliers stay at `λ_0` for the first `k` steps |
//! | [`Lagrangian::with_smoothed_violation`] | the dual update sees `ĝ_t = β ĝ_{t-1} + (1 - β) g_t`, `ĝ_0 = g_0` |
//! | [`Lagrangian::with_restart_on_feasible`] | dual restarts (inequalities) |
//!
//! **Dual weight decay** `λ ← [λ + η (g − γ λ)]_+` (gradient ascent) is the
//! "resilient" relaxation: at equilibrium `λ = [g]_+ / γ`, so a constraint
//! that cannot be met is relaxed by `u = γ λ` instead of letting `λ` grow
//! without bound; the Feasible Learning authors' relaxed variant does this.
//! It is the slack relaxation with `α = 1/γ`, and the reported Lagrangian
//! includes the slack's cost `-γ|λ|²/2`. With another dual optimizer the
//! decayed gradient `g - γλ` is what the optimizer ascends.
//!
//! **Smoothing** (an EMA of the strict violation, per entry) lets the dual
//! update follow the trend of a noisy mini-batch estimate; the restarts and
//! the relaxation then use the smoothed `ĝ` too. During a warm-up the EMA
//! already runs, so the first dual step after it sees a warmed estimate.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dual::{DualOptimizer, EntryStates, OptimizerState, PerEntry, SharedDualOptimizer, ascend_entries};
use crate::error::{FeasibleError, Result};
use crate::multiplier::Bounds;
use crate::shape::Shape;

/// How the constraint is relaxed, if it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Relaxation {
    /// Slack cost `α > 0`: ascend `g - λ/α`.
    Slack(f64),
    /// Dual weight decay `γ > 0`: ascend `g - γ λ`.
    Decay(f64),
}

impl Relaxation {
    /// The gradient the multiplier ascends.
    fn relax(self, g: f64, lambda: f64) -> f64 {
        match self {
            Relaxation::Slack(alpha) => g - lambda / alpha,
            Relaxation::Decay(gamma) => g - gamma * lambda,
        }
    }

    /// The slack's cost `|λ|²/(2α)` that the Lagrangian subtracts.
    fn cost(self, multipliers: &[f64]) -> f64 {
        let squares = multipliers.iter().map(|l| l * l).sum::<f64>();
        match self {
            Relaxation::Slack(alpha) => squares / (2.0 * alpha),
            Relaxation::Decay(gamma) => gamma * squares / 2.0,
        }
    }
}

/// The numbers the smoothed violation keeps per entry: `ĝ`, and whether
/// the entry has started.
const SMOOTHED_FIELDS: [&str; 2] = ["value", "started"];

/// The Lagrangian `f + λ·g` with multipliers learned by a dual optimizer,
/// see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Lagrangian {
    dual_optimizer: SharedDualOptimizer,
    initial: PerEntry,
    relaxation: Option<Relaxation>,
    restart_on_feasible: bool,
    upper_bound: Option<f64>,
    warmup: u64,
    smoothing: Option<f64>,
}

/// The dual variables of a Lagrangian constraint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LagrangianState {
    /// One multiplier per entry.
    pub multipliers: Vec<f64>,
    /// The dual optimizer's state.
    pub dual_optimizer: OptimizerState,
    /// The smoothed violation `ĝ` per entry (`["value", "started"]`), if
    /// the formulation smooths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothed: Option<EntryStates>,
}

impl Lagrangian {
    /// The Lagrangian with `dual_optimizer`, multipliers starting at 0.
    pub fn new(dual_optimizer: impl DualOptimizer) -> Self {
        Self::shared(Arc::new(dual_optimizer))
    }

    /// The Lagrangian with a shared dual optimizer.
    pub fn shared(dual_optimizer: SharedDualOptimizer) -> Self {
        Self {
            dual_optimizer,
            initial: PerEntry::Shared(0.0),
            relaxation: None,
            restart_on_feasible: false,
            upper_bound: None,
            warmup: 0,
            smoothing: None,
        }
    }

    /// Multipliers start at `initial`: one value, or one per entry.
    pub fn with_initial_multiplier(mut self, initial: impl Into<PerEntry>) -> Self {
        self.initial = initial.into();
        self
    }

    /// Relaxes the constraint by slack variables with cost `(α/2)|u|²`.
    pub fn with_slack(mut self, alpha: f64) -> Self {
        self.relaxation = Some(Relaxation::Slack(alpha));
        self
    }

    /// Dual weight decay `γ`: `λ ← Π(λ + step(g - γ λ))`.
    pub fn with_dual_decay(mut self, gamma: f64) -> Self {
        self.relaxation = Some(Relaxation::Decay(gamma));
        self
    }

    /// Dual restarts (inequalities only; an equality is refused at build).
    pub fn with_restart_on_feasible(mut self) -> Self {
        self.restart_on_feasible = true;
        self
    }

    /// Multipliers never exceed `upper` (clamped after the projection).
    pub fn with_upper_bound(mut self, upper: f64) -> Self {
        self.upper_bound = Some(upper);
        self
    }

    /// The multipliers stay at their initial values for the first `steps`
    /// steps.
    pub fn with_warmup(mut self, steps: u64) -> Self {
        self.warmup = steps;
        self
    }

    /// The dual update sees an EMA of the strict violation with
    /// coefficient `beta` in `[0, 1)`.
    pub fn with_smoothed_violation(mut self, beta: f64) -> Self {
        self.smoothing = Some(beta);
        self
    }

    /// The dual optimizer.
    pub fn dual_optimizer(&self) -> &dyn DualOptimizer {
        &*self.dual_optimizer
    }

    /// The initial multiplier(s).
    pub fn initial_multiplier(&self) -> &PerEntry {
        &self.initial
    }

    /// The relaxation, if any.
    pub fn relaxation(&self) -> Option<Relaxation> {
        self.relaxation
    }

    fn bounds(&self, shape: &Shape) -> Bounds {
        Bounds::new(shape.inequality).with_upper(self.upper_bound.unwrap_or(f64::INFINITY))
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        let owner = &shape.owner;
        self.dual_optimizer.validate(owner, shape.entries)?;
        let invalid = |name, value, requirement| FeasibleError::InvalidHyperparameter {
            owner: owner.clone(),
            name,
            value,
            requirement,
        };
        match self.relaxation {
            Some(Relaxation::Slack(a)) if !(a.is_finite() && a > 0.0) => {
                return Err(invalid("slack cost", a, "must be a finite number > 0"));
            }
            Some(Relaxation::Decay(g)) if !(g.is_finite() && g > 0.0) => {
                return Err(invalid("dual weight decay", g, "must be a finite number > 0"));
            }
            _ => {}
        }
        if let Some(upper) = self.upper_bound
            && (upper.is_nan() || upper <= 0.0)
        {
            return Err(invalid("multiplier upper bound", upper, "must be > 0 (or infinite)"));
        }
        // After the bound: an invalid bound is the culprit, not the
        // multipliers it would exclude.
        check_initial(&self.initial, shape, self.upper_bound)?;
        if let Some(beta) = self.smoothing {
            crate::error::check_unit_interval(owner, "smoothing coefficient", beta)?;
        }
        if self.restart_on_feasible && !shape.inequality {
            return Err(FeasibleError::InvalidConstraint {
                constraint: shape.constraint_name().to_string(),
                reason: "dual restarts apply to inequalities only; this constraint is an equality".into(),
            });
        }
        if self.dual_optimizer.state_fields().len() > EntryStates::MAX_FIELDS {
            return Err(FeasibleError::InvalidConstraint {
                constraint: shape.constraint_name().to_string(),
                reason: format!(
                    "dual optimizer `{}` keeps {} numbers per entry, at most {} are supported",
                    self.dual_optimizer.name(),
                    self.dual_optimizer.state_fields().len(),
                    EntryStates::MAX_FIELDS
                ),
            });
        }
        Ok(())
    }

    pub(crate) fn init(&self, shape: &Shape) -> Result<LagrangianState> {
        Ok(LagrangianState {
            multipliers: initial_vector(&self.initial, shape.entries)?,
            dual_optimizer: OptimizerState::new(&*self.dual_optimizer, shape.entries)?,
            smoothed: match self.smoothing {
                Some(_) => Some(EntryStates::new(&SMOOTHED_FIELDS, shape.entries)?),
                None => None,
            },
        })
    }

    /// Whether `state` was made by this formulation for `shape`; otherwise
    /// what differs.
    pub(crate) fn check_fits(&self, state: &LagrangianState, shape: &Shape) -> std::result::Result<(), String> {
        check_length("multipliers", state.multipliers.len(), shape.entries)?;
        check_within(&state.multipliers, self.upper_bound)?;
        state.dual_optimizer.check_fits(&*self.dual_optimizer, shape.entries)?;
        match (&state.smoothed, self.smoothing) {
            (None, None) => Ok(()),
            (Some(s), Some(_)) => {
                if s.fields() != SMOOTHED_FIELDS {
                    return Err(format!(
                        "its smoothed violation keeps {:?}, this constraint keeps {SMOOTHED_FIELDS:?}",
                        s.fields()
                    ));
                }
                check_length("smoothed violations", s.len(), shape.entries)
            }
            (Some(_), None) => Err("it has a smoothed violation, this constraint does not smooth".into()),
            (None, Some(_)) => Err("it has no smoothed violation, this constraint smooths".into()),
        }
    }

    /// `Σ λ_i g_i`, less the slack's cost.
    pub(crate) fn primal_contribution(&self, state: &LagrangianState, violations: &[f64]) -> f64 {
        let relaxation = self.relaxation.map_or(0.0, |r| r.cost(&state.multipliers));
        primal_contribution(&state.multipliers, violations) - relaxation
    }

    /// One dual update of `state` (a view: the whole state of a dense
    /// constraint, the batch's entries of an indexed one) at committed step
    /// `step`.
    pub(crate) fn dual_update(
        &self,
        ids: Option<&[usize]>,
        state: &mut LagrangianState,
        strict_violations: &[f64],
        shape: &Shape,
        step: u64,
    ) -> Result<()> {
        let smoothed;
        let mut g = strict_violations;
        if let (Some(beta), Some(ema)) = (self.smoothing, state.smoothed.as_mut()) {
            smoothed = smooth(ema, strict_violations, beta);
            g = &smoothed;
        }
        if step < self.warmup {
            return Ok(());
        }
        let relaxed: Vec<f64>;
        if let Some(r) = self.relaxation {
            relaxed = g.iter().zip(&state.multipliers).map(|(g, l)| r.relax(*g, *l)).collect();
        } else {
            relaxed = Vec::new();
        }
        let gradients = if self.relaxation.is_some() { &relaxed[..] } else { g };
        ascend_entries(
            &*self.dual_optimizer,
            ids,
            gradients,
            &mut state.dual_optimizer.entries,
            &mut state.multipliers,
            self.bounds(shape),
        )
        .map_err(|e| non_finite(shape, e))?;
        if self.restart_on_feasible && shape.inequality {
            let initial = |k: usize| self.initial.get(ids.map_or(k, |ids| ids[k]));
            for (k, g) in g.iter().enumerate() {
                if *g < 0.0 {
                    state.multipliers[k] = initial(k);
                    state.dual_optimizer.entries.reset(k);
                }
            }
        }
        Ok(())
    }
}

/// `ĝ ← β ĝ + (1 - β) g` per entry (`ĝ_0 = g_0`); returns `ĝ`.
fn smooth(ema: &mut EntryStates, g: &[f64], beta: f64) -> Vec<f64> {
    g.iter()
        .enumerate()
        .map(|(k, g)| {
            let s = ema.entry_mut(k);
            s[0] = if s[1] != 0.0 {
                beta * s[0] + (1.0 - beta) * g
            } else {
                *g
            };
            s[1] = 1.0;
            s[0]
        })
        .collect()
}

/// The error of a dual update that left the finite numbers.
pub(crate) fn non_finite(shape: &Shape, e: crate::dual::NonFinite) -> FeasibleError {
    FeasibleError::NonFiniteDualUpdate {
        constraint: shape.owner.clone(),
        entry: e.entry,
        quantity: e.quantity,
        value: e.value,
    }
}

/// `n` initial multipliers; an impossible size is an error.
pub(crate) fn initial_vector(initial: &PerEntry, n: usize) -> Result<Vec<f64>> {
    let too_large = |_| FeasibleError::TooLarge {
        what: format!("{n} multipliers"),
    };
    match initial {
        PerEntry::Shared(x) => {
            // Asked first, so that an impossible size is an error, not an
            // abort. Then `vec!` takes zeroed memory from the allocator for
            // zeros: the pages of a billion per-sample multipliers are not
            // touched (nor resident) until an entry is written.
            Vec::<f64>::new().try_reserve_exact(n).map_err(too_large)?;
            Ok(vec![*x; n])
        }
        PerEntry::Entries(xs) => {
            let mut v = Vec::new();
            v.try_reserve_exact(n).map_err(too_large)?;
            v.extend_from_slice(xs);
            Ok(v)
        }
    }
}

/// Checks initial multipliers: one per entry if per entry, finite, `>= 0`
/// for an inequality, within the upper bound.
pub(crate) fn check_initial(initial: &PerEntry, shape: &Shape, upper: Option<f64>) -> Result<()> {
    let upper = upper.unwrap_or(f64::INFINITY);
    let valid: fn(f64) -> bool = if shape.inequality {
        |x| x.is_finite() && x >= 0.0
    } else {
        f64::is_finite
    };
    let requirement = if shape.inequality {
        "must be a finite number >= 0 (an inequality's multiplier)"
    } else {
        "must be a finite number"
    };
    initial.validate(&shape.owner, "initial multiplier", shape.entries, valid, requirement)?;
    let values: &[f64] = match initial {
        PerEntry::Shared(x) => std::slice::from_ref(x),
        PerEntry::Entries(xs) => xs,
    };
    match values.iter().find(|x| x.abs() > upper) {
        Some(x) => Err(FeasibleError::InvalidHyperparameter {
            owner: shape.owner.clone(),
            name: "initial multiplier",
            value: *x,
            requirement: "must be within the multiplier upper bound",
        }),
        None => Ok(()),
    }
}

/// Every multiplier within the upper bound (by magnitude), or the message.
pub(crate) fn check_within(multipliers: &[f64], upper: Option<f64>) -> std::result::Result<(), String> {
    let Some(upper) = upper else { return Ok(()) };
    match multipliers.iter().position(|m| m.abs() > upper) {
        Some(k) => Err(format!(
            "multiplier entry {k} is {}, beyond the multiplier upper bound {upper}",
            multipliers[k]
        )),
        None => Ok(()),
    }
}

/// `got == expected`, or the message.
pub(crate) fn check_length(what: &str, got: usize, expected: usize) -> std::result::Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("it has {got} {what}, the constraint has {expected} entries"))
    }
}

/// `w_i = λ_i` (`out` as long as `multipliers`).
pub(crate) fn primal_weights(multipliers: &[f64], out: &mut [f64]) {
    out.copy_from_slice(multipliers);
}

/// `Σ λ_i g_i`.
pub fn primal_contribution(multipliers: &[f64], violations: &[f64]) -> f64 {
    multipliers.iter().zip(violations).map(|(l, g)| l * g).sum()
}

/// The slack `u = λ/α` that relaxes each entry under a slack cost `α`.
pub fn slack(multipliers: &[f64], alpha: f64) -> Vec<f64> {
    multipliers.iter().map(|l| l / alpha).collect()
}
