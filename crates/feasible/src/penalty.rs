//! Penalty coefficients of the augmented Lagrangian and the quadratic
//! penalty, and the rules that grow them while a constraint stays violated.
//!
//! A coefficient is kept per constraint (one number, compared against the
//! norm of the violation vector) or per entry (one number per entry, each
//! compared against its own entry). After each dual step, an updater grows
//! the coefficient of a violated constraint or entry (strict violation above
//! the tolerance), multiplicatively (`c ← ρ c`) or additively (`c ← c + δ`),
//! and can restart an inequality that became feasible to the initial value.
//! For an inequality the violation counts only where it is positive
//! (`max(0, g)`); for an equality both signs count.

use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dual::{NonFinite, PerEntry};
use crate::error::{FeasibleError, Result, check_nonnegative};
use crate::shape::Shape;

/// Whether a constraint has one penalty coefficient or one per entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One coefficient for the whole constraint.
    #[default]
    PerConstraint,
    /// One coefficient per entry.
    PerEntry,
}

/// A rule that changes a penalty coefficient after each dual step.
/// Implementable outside this crate; the coefficient is the whole state,
/// so save, restore and failure atomicity come with it.
///
/// ```
/// use feasible::penalty::PenaltyUpdater;
///
/// /// Doubles the coefficient while violated, never above a cap.
/// #[derive(Debug)]
/// struct Capped { cap: f64 }
///
/// impl PenaltyUpdater for Capped {
///     fn name(&self) -> &str { "capped" }
///     fn validate(&self, _owner: &str) -> feasible::Result<()> { Ok(()) }
///     fn update(&self, c: f64, _initial: f64, violation: f64, _satisfied: bool) -> f64 {
///         if violation > 0.0 { (2.0 * c).min(self.cap) } else { c }
///     }
/// }
/// assert_eq!(Capped { cap: 3.0 }.update(2.0, 1.0, 0.5, false), 3.0);
/// ```
pub trait PenaltyUpdater: Debug + Send + Sync + 'static {
    /// A short name for reports and errors.
    fn name(&self) -> &str;

    /// Checks the hyperparameters; `owner` names the constraint.
    fn validate(&self, owner: &str) -> Result<()>;

    /// The next coefficient. `c` is the current one and `initial` its
    /// initial value; `violation` is, for a shared coefficient, the norm of
    /// the constraint's violation vector (for an inequality only its
    /// positive part counts), and for a per-entry coefficient the size of
    /// its entry's violation (likewise); `satisfied` tells that the
    /// constraint (the entry) is an inequality that holds strictly or with
    /// equality (`g <= 0`).
    fn update(&self, c: f64, initial: f64, violation: f64, satisfied: bool) -> f64;
}

/// How a [`PenaltyGrowth`] grows the coefficient.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Growth {
    /// `c ← factor · c`, `factor >= 1` (Cooper's default is 1.01).
    Multiplicative {
        /// The growth factor.
        factor: f64,
    },
    /// `c ← c + increment`, `increment >= 0`.
    Additive {
        /// The increment.
        increment: f64,
    },
}

/// The built-in updater: grows the coefficient while the violation exceeds
/// a tolerance, optionally restarting a satisfied inequality to its
/// initial value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PenaltyGrowth {
    /// How it grows.
    pub growth: Growth,
    /// The coefficient grows when the (norm of the) strict violation exceeds
    /// this (Cooper's default 1e-4).
    pub tolerance: f64,
    /// Whether an inequality (entry) that became feasible goes back to the
    /// initial coefficient.
    pub restart: bool,
}

impl PenaltyGrowth {
    /// Multiply by `factor` while violated beyond 1e-4, no restart.
    pub fn multiplicative(factor: f64) -> Self {
        Self {
            growth: Growth::Multiplicative { factor },
            tolerance: 1e-4,
            restart: false,
        }
    }

    /// Add `increment` while violated beyond 1e-4, no restart.
    pub fn additive(increment: f64) -> Self {
        Self {
            growth: Growth::Additive { increment },
            tolerance: 1e-4,
            restart: false,
        }
    }

    /// With tolerance `tolerance`.
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Restarting feasible inequalities to the initial coefficient.
    pub fn with_restart(mut self) -> Self {
        self.restart = true;
        self
    }
}

impl PenaltyUpdater for PenaltyGrowth {
    fn name(&self) -> &str {
        "growth"
    }

    fn validate(&self, owner: &str) -> Result<()> {
        check_nonnegative(owner, "penalty tolerance", self.tolerance)?;
        match self.growth {
            Growth::Multiplicative { factor } if !(factor.is_finite() && factor >= 1.0) => {
                Err(FeasibleError::InvalidHyperparameter {
                    owner: owner.to_string(),
                    name: "penalty growth factor",
                    value: factor,
                    requirement: "must be a finite number >= 1",
                })
            }
            Growth::Additive { increment } => check_nonnegative(owner, "penalty increment", increment).map(|_| ()),
            Growth::Multiplicative { .. } => Ok(()),
        }
    }

    fn update(&self, c: f64, initial: f64, violation: f64, satisfied: bool) -> f64 {
        if violation > self.tolerance {
            match self.growth {
                Growth::Multiplicative { factor } => c * factor,
                Growth::Additive { increment } => c + increment,
            }
        } else if self.restart && satisfied {
            initial
        } else {
            c
        }
    }
}

/// A penalty coefficient: its initial value (one, or one per entry), its
/// granularity, its updater.
///
/// ```
/// use feasible::penalty::{Penalty, PenaltyGrowth};
/// let c = Penalty::new(10.0).per_entry().with_updater(PenaltyGrowth::multiplicative(1.01));
/// assert_eq!(c.initial.get(0), 10.0);
/// let own = Penalty::new(vec![1.0, 5.0]); // one initial coefficient per entry
/// assert_eq!(own.initial.get(1), 5.0);
/// ```
#[derive(Clone, Debug)]
pub struct Penalty {
    /// The initial coefficient `c_0 >= 0`: one, or one per entry (which
    /// makes the coefficients per entry).
    pub initial: PerEntry,
    /// One coefficient per constraint or per entry.
    pub granularity: Granularity,
    /// How it changes (never, by default).
    pub updater: Option<Arc<dyn PenaltyUpdater>>,
}

impl From<f64> for Penalty {
    /// A fixed coefficient for the whole constraint.
    fn from(initial: f64) -> Self {
        Penalty::new(initial)
    }
}

impl Penalty {
    /// A fixed coefficient (one number: for the whole constraint; one per
    /// entry: per-entry coefficients).
    pub fn new(initial: impl Into<PerEntry>) -> Self {
        let initial = initial.into();
        let granularity = match initial {
            PerEntry::Shared(_) => Granularity::PerConstraint,
            PerEntry::Entries(_) => Granularity::PerEntry,
        };
        Self {
            initial,
            granularity,
            updater: None,
        }
    }

    /// One coefficient per entry (each starting at its initial value).
    pub fn per_entry(mut self) -> Self {
        self.granularity = Granularity::PerEntry;
        self
    }

    /// With an updater.
    pub fn with_updater(mut self, updater: impl PenaltyUpdater) -> Self {
        self.updater = Some(Arc::new(updater));
        self
    }

    pub(crate) fn validate(&self, shape: &Shape) -> Result<()> {
        let owner = &shape.owner;
        self.initial.validate(
            owner,
            "penalty coefficient",
            shape.entries,
            |c| c.is_finite() && c >= 0.0,
            "must be a finite number >= 0",
        )?;
        if matches!(self.initial, PerEntry::Entries(_)) && self.granularity == Granularity::PerConstraint {
            return Err(FeasibleError::InvalidConstraint {
                constraint: shape.constraint_name().to_string(),
                reason: "per-entry initial penalty coefficients need per-entry coefficients".into(),
            });
        }
        match &self.updater {
            Some(updater) => updater.validate(owner),
            None => Ok(()),
        }
    }

    /// The starting coefficients: one value, or one per entry.
    pub(crate) fn init(&self, entries: usize) -> Result<Vec<f64>> {
        let n = match self.granularity {
            Granularity::PerConstraint => 1,
            Granularity::PerEntry => entries,
        };
        crate::formulation::lagrangian::initial_vector(&self.initial, n)
    }

    /// Whether `values` has the shape this penalty makes for `entries`
    /// entries, with valid coefficients; otherwise what differs.
    pub(crate) fn check_fits(&self, values: &[f64], entries: usize) -> std::result::Result<(), String> {
        let expected = match self.granularity {
            Granularity::PerConstraint => 1,
            Granularity::PerEntry => entries,
        };
        if values.len() != expected {
            return Err(format!(
                "it has {} penalty coefficients, this constraint keeps {expected}",
                values.len()
            ));
        }
        match values.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
            Some(k) => Err(format!("penalty coefficient {k} is {}", values[k])),
            None => Ok(()),
        }
    }

    /// Applies the updater to `values` given the step's strict violations.
    pub(crate) fn update(
        &self,
        values: &mut [f64],
        ids: Option<&[usize]>,
        strict_violations: &[f64],
        inequality: bool,
    ) -> std::result::Result<(), NonFinite> {
        let id = |k: usize| ids.map_or(k, |ids| ids[k]);
        let Some(updater) = &self.updater else { return Ok(()) };
        let excess = |g: f64| if inequality { g.max(0.0) } else { g };
        let check = |entry: usize, c: f64| {
            if c.is_finite() {
                Ok(c)
            } else {
                Err(NonFinite {
                    entry,
                    quantity: "penalty coefficient".into(),
                    value: c,
                })
            }
        };
        match self.granularity {
            Granularity::PerConstraint => {
                let norm = strict_violations.iter().map(|g| excess(*g).powi(2)).sum::<f64>().sqrt();
                let satisfied = inequality && strict_violations.iter().all(|g| *g <= 0.0);
                values[0] = check(0, updater.update(values[0], self.initial.get(0), norm, satisfied))?;
            }
            Granularity::PerEntry => {
                let mut next = Vec::with_capacity(values.len());
                for (k, (c, g)) in values.iter().zip(strict_violations).enumerate() {
                    let satisfied = inequality && *g <= 0.0;
                    let c = updater.update(*c, self.initial.get(id(k)), excess(*g).abs(), satisfied);
                    next.push(check(id(k), c)?);
                }
                values.copy_from_slice(&next);
            }
        }
        Ok(())
    }
}

/// The coefficient of `entry` in `values` (one shared value, or one per
/// entry: `entry < values.len()`).
pub(crate) fn coefficient(values: &[f64], entry: usize) -> f64 {
    if values.len() == 1 { values[0] } else { values[entry] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            owner: "c".into(),
            entries: 3,
            inequality: true,
            indexed: false,
        }
    }

    #[test]
    fn a_shared_coefficient_grows_with_the_norm_of_the_violation_vector() {
        let p = Penalty::new(2.0).with_updater(PenaltyGrowth::multiplicative(1.5).with_tolerance(0.1));
        let mut c = p.init(3).unwrap();
        // Entries 0.06 and 0.08: each below the tolerance, their norm 0.1 is not above it.
        p.update(&mut c, None, &[0.06, 0.08, -1.0], true).unwrap();
        assert_eq!(c, vec![2.0]);
        p.update(&mut c, None, &[0.07, 0.08, -1.0], true).unwrap();
        assert_eq!(c, vec![3.0]);
        // A satisfied inequality (negative violations) does not count.
        p.update(&mut c, None, &[-5.0, -5.0, -5.0], true).unwrap();
        assert_eq!(c, vec![3.0]);
        // An equality counts both signs.
        p.update(&mut c, None, &[-5.0, 0.0, 0.0], false).unwrap();
        assert_eq!(c, vec![4.5]);
    }

    #[test]
    fn per_entry_coefficients_grow_and_restart_entry_by_entry() {
        let p = Penalty::new(1.0)
            .per_entry()
            .with_updater(PenaltyGrowth::additive(0.5).with_restart());
        let mut c = p.init(3).unwrap();
        p.update(&mut c, None, &[1.0, 0.0, 1.0], true).unwrap();
        assert_eq!(c, vec![1.5, 1.0, 1.5]);
        p.update(&mut c, None, &[1.0, 1.0, -0.5], true).unwrap();
        assert_eq!(c, vec![2.0, 1.5, 1.0]);
    }

    #[test]
    fn invalid_updaters_are_named() {
        let bad = Penalty::new(1.0).with_updater(PenaltyGrowth::multiplicative(0.5));
        assert!(
            bad.validate(&shape())
                .unwrap_err()
                .to_string()
                .contains("growth factor = 0.5")
        );
        let bad = Penalty::new(-1.0);
        assert!(
            bad.validate(&shape())
                .unwrap_err()
                .to_string()
                .contains("penalty coefficient = -1")
        );
        let bad = Penalty::new(1.0).with_updater(PenaltyGrowth::additive(1.0).with_tolerance(f64::NAN));
        assert!(
            bad.validate(&shape())
                .unwrap_err()
                .to_string()
                .contains("penalty tolerance")
        );
    }
}
