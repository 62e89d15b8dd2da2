//! What a split says about a constrained quantity: a proportion, a group's
//! gap to the overall rate, or a number with no sampling error.

use super::error::{AuditError, check_confidence};
use super::interval::{Estimate, check_sample, clopper_pearson, group_gap};

/// The measurement of a constrained quantity on one split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Evidence {
    /// `successes` of `trials`: a rate or proportion (TPR of a group,
    /// accuracy, fraction of samples within a loss bound). Exact
    /// Clopper–Pearson interval ([`clopper_pearson`]).
    Proportion {
        /// Samples counted as successes.
        successes: u64,
        /// Samples.
        trials: u64,
    },
    /// A group's rate minus the overall rate, where the overall rate
    /// includes the group (how `feasible_burn::fairness` defines its
    /// constraints), given as the group's and the rest's
    /// `(successes, trials)`: value `(1-w)(p_g - p_rest)` with
    /// `w = n_g / (n_g + n_rest)`; conservative Bonferroni interval
    /// ([`group_gap`]).
    GroupGap {
        /// The group's `(successes, trials)`.
        group: (u64, u64),
        /// Everyone else's `(successes, trials)`.
        rest: (u64, u64),
    },
    /// A quantity with no sampling error given the model (the density of
    /// kept weights): the interval is `[value, value]`.
    Exact(f64),
}

impl Evidence {
    /// `clopper-pearson`, `bonferroni clopper-pearson difference` or `exact`.
    pub fn method(&self) -> &'static str {
        match self {
            Evidence::Proportion { .. } => "clopper-pearson",
            Evidence::GroupGap { .. } => "bonferroni clopper-pearson difference",
            Evidence::Exact(_) => "exact",
        }
    }

    /// The samples behind the value: `trials`, the group's plus the rest's
    /// trials, or none for an exact quantity.
    pub fn samples(&self) -> Option<u64> {
        match *self {
            Evidence::Proportion { trials, .. } => Some(trials),
            Evidence::GroupGap { group, rest } => Some(group.1.saturating_add(rest.1)),
            Evidence::Exact(_) => None,
        }
    }

    /// The value and its two-sided interval at `confidence`.
    ///
    /// # Errors
    /// [`AuditError::Confidence`] unless `0 < confidence < 1`;
    /// [`AuditError::NoTrials`] or [`AuditError::SuccessesExceedTrials`] for
    /// a sample with no trials or more successes than trials (subject
    /// `proportion`, `group` or `rest`); [`AuditError::NonFinite`] for an
    /// exact value that is NaN or infinite.
    pub fn estimate(&self, confidence: f64) -> Result<Estimate, AuditError> {
        check_confidence(confidence)?;
        match *self {
            Evidence::Proportion { successes, trials } => {
                check_sample("proportion", successes, trials)?;
                let (low, high) = clopper_pearson(successes, trials, confidence)?;
                Ok(Estimate {
                    value: successes as f64 / trials as f64,
                    low,
                    high,
                })
            }
            Evidence::GroupGap { group, rest } => group_gap(group, rest, confidence),
            Evidence::Exact(value) => {
                if !value.is_finite() {
                    return Err(AuditError::NonFinite {
                        subject: "exact evidence".to_string(),
                        quantity: "value",
                        value,
                    });
                }
                Ok(Estimate {
                    value,
                    low: value,
                    high: value,
                })
            }
        }
    }
}
