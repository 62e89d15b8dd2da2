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

use serde::{Deserialize, Serialize};

use crate::error::{FeasibleError, Result, check_nonnegative};

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

/// How a coefficient grows.
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

/// When and how a penalty coefficient changes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PenaltyUpdater {
    /// How it grows.
    pub growth: Growth,
    /// The coefficient grows when the (norm of the) strict violation exceeds
    /// this (Cooper's default 1e-4).
    pub tolerance: f64,
    /// Whether an inequality (entry) that became feasible goes back to the
    /// initial coefficient.
    pub restart: bool,
}

impl PenaltyUpdater {
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

    fn grow(&self, c: f64) -> f64 {
        match self.growth {
            Growth::Multiplicative { factor } => c * factor,
            Growth::Additive { increment } => c + increment,
        }
    }
}

/// A penalty coefficient: its initial value, its granularity, its updater.
///
/// ```
/// use feasible::penalty::{Penalty, PenaltyUpdater};
/// let c = Penalty::new(10.0).per_entry().with_updater(PenaltyUpdater::multiplicative(1.01));
/// assert_eq!(c.initial, 10.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Penalty {
    /// The initial coefficient `c_0 >= 0`.
    pub initial: f64,
    /// One coefficient per constraint or per entry.
    pub granularity: Granularity,
    /// How it changes (never, by default).
    pub updater: Option<PenaltyUpdater>,
}

impl Penalty {
    /// A fixed coefficient `c` for the whole constraint.
    pub fn new(initial: f64) -> Self {
        Self {
            initial,
            granularity: Granularity::PerConstraint,
            updater: None,
        }
    }

    /// One coefficient per entry (each starting at the initial value).
    pub fn per_entry(mut self) -> Self {
        self.granularity = Granularity::PerEntry;
        self
    }

    /// With an updater.
    pub fn with_updater(mut self, updater: PenaltyUpdater) -> Self {
        self.updater = Some(updater);
        self
    }

    pub(crate) fn validate(&self, owner: &str) -> Result<()> {
        check_nonnegative(owner, "penalty coefficient", self.initial)?;
        if let Some(updater) = &self.updater {
            check_nonnegative(owner, "penalty tolerance", updater.tolerance)?;
            match updater.growth {
                Growth::Multiplicative { factor } if !(factor.is_finite() && factor >= 1.0) => {
                    return Err(FeasibleError::InvalidHyperparameter {
                        owner: owner.to_string(),
                        name: "penalty growth factor",
                        value: factor,
                        requirement: "must be a finite number >= 1",
                    });
                }
                Growth::Additive { increment } => {
                    check_nonnegative(owner, "penalty increment", increment)?;
                }
                Growth::Multiplicative { .. } => {}
            }
        }
        Ok(())
    }

    /// The starting coefficients: one value, or one per entry.
    pub(crate) fn init(&self, entries: usize) -> Vec<f64> {
        match self.granularity {
            Granularity::PerConstraint => vec![self.initial],
            Granularity::PerEntry => vec![self.initial; entries],
        }
    }

    /// Whether `values` has the shape this penalty makes for `entries` entries.
    pub(crate) fn fits(&self, values: &[f64], entries: usize) -> bool {
        let expected = match self.granularity {
            Granularity::PerConstraint => 1,
            Granularity::PerEntry => entries,
        };
        values.len() == expected && values.iter().all(|c| c.is_finite() && *c >= 0.0)
    }

    /// Applies the updater to `values` given the step's strict violations.
    pub(crate) fn update(&self, values: &mut [f64], strict_violations: &[f64], inequality: bool) {
        let Some(updater) = &self.updater else { return };
        let excess = |g: f64| if inequality { g.max(0.0) } else { g };
        match self.granularity {
            Granularity::PerConstraint => {
                let norm = strict_violations.iter().map(|g| excess(*g).powi(2)).sum::<f64>().sqrt();
                if norm > updater.tolerance {
                    values[0] = updater.grow(values[0]);
                } else if updater.restart && inequality && strict_violations.iter().all(|g| *g <= 0.0) {
                    values[0] = self.initial;
                }
            }
            Granularity::PerEntry => {
                for (c, g) in values.iter_mut().zip(strict_violations) {
                    if excess(*g).abs() > updater.tolerance {
                        *c = updater.grow(*c);
                    } else if updater.restart && inequality && *g <= 0.0 {
                        *c = self.initial;
                    }
                }
            }
        }
    }
}

/// The coefficient of `entry` in `values` (one shared value, or one per entry).
pub fn coefficient(values: &[f64], entry: usize) -> f64 {
    if values.len() == 1 { values[0] } else { values[entry] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_coefficient_grows_with_the_norm_of_the_violation_vector() {
        let p = Penalty::new(2.0).with_updater(PenaltyUpdater::multiplicative(1.5).with_tolerance(0.1));
        let mut c = p.init(3);
        // Entries 0.06 and 0.08: each below the tolerance, their norm 0.1 is not above it.
        p.update(&mut c, &[0.06, 0.08, -1.0], true);
        assert_eq!(c, vec![2.0]);
        p.update(&mut c, &[0.07, 0.08, -1.0], true);
        assert_eq!(c, vec![3.0]);
        // A satisfied inequality (negative violations) does not count.
        p.update(&mut c, &[-5.0, -5.0, -5.0], true);
        assert_eq!(c, vec![3.0]);
        // An equality counts both signs.
        p.update(&mut c, &[-5.0, 0.0, 0.0], false);
        assert_eq!(c, vec![4.5]);
    }

    #[test]
    fn per_entry_coefficients_grow_and_restart_entry_by_entry() {
        let p = Penalty::new(1.0)
            .per_entry()
            .with_updater(PenaltyUpdater::additive(0.5).with_restart());
        let mut c = p.init(3);
        p.update(&mut c, &[1.0, 0.0, 1.0], true);
        assert_eq!(c, vec![1.5, 1.0, 1.5]);
        p.update(&mut c, &[1.0, 1.0, -0.5], true);
        assert_eq!(c, vec![2.0, 1.5, 1.0]);
    }

    #[test]
    fn invalid_updaters_are_named() {
        let bad = Penalty::new(1.0).with_updater(PenaltyUpdater::multiplicative(0.5));
        assert!(
            bad.validate("c")
                .unwrap_err()
                .to_string()
                .contains("growth factor = 0.5")
        );
        let bad = Penalty::new(-1.0);
        assert!(
            bad.validate("c")
                .unwrap_err()
                .to_string()
                .contains("penalty coefficient = -1")
        );
        let bad = Penalty::new(1.0).with_updater(PenaltyUpdater::additive(1.0).with_tolerance(f64::NAN));
        assert!(bad.validate("c").unwrap_err().to_string().contains("penalty tolerance"));
    }
}
