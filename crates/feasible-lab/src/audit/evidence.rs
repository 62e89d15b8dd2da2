//! What a split says about a constrained quantity: a proportion, a group's
//! gap to the overall rate, or a number with no sampling error.

use super::error::{AuditError, check_confidence};
use super::interval::{Estimate, check_sample, clopper_pearson, group_gap};

/// The method of [`Evidence::ExcessDrop`]'s interval.
pub const EXCESS_DROP_METHOD: &str = "bonferroni clopper-pearson difference, dense gap fixed";

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
    /// A group's excess accuracy drop after pruning (Balancing Act):
    /// `ψ_g = (A − A_g) − d_g`, where `A − A_g` is the overall accuracy
    /// minus the group's, from the group's and the rest's `(correct,
    /// samples)` as in [`GroupGap`](Evidence::GroupGap), and `d_g` is the
    /// dense model's same difference on the same split, taken as a
    /// constant. The interval is the group gap's, negated and shifted by
    /// `d_g`.
    ExcessDrop {
        /// The group's `(correct, samples)`.
        group: (u64, u64),
        /// Everyone else's `(correct, samples)`.
        rest: (u64, u64),
        /// The dense model's `A − A_g` on the split.
        dense_shortfall: f64,
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
            Evidence::ExcessDrop { .. } => EXCESS_DROP_METHOD,
            Evidence::Exact(_) => "exact",
        }
    }

    /// The samples behind the value: `trials`, the group's plus the rest's
    /// trials, or none for an exact quantity.
    pub fn samples(&self) -> Option<u64> {
        match *self {
            Evidence::Proportion { trials, .. } => Some(trials),
            Evidence::GroupGap { group, rest } | Evidence::ExcessDrop { group, rest, .. } => {
                Some(group.1.saturating_add(rest.1))
            }
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
            Evidence::ExcessDrop {
                group,
                rest,
                dense_shortfall,
            } => {
                if !dense_shortfall.is_finite() {
                    return Err(AuditError::NonFinite {
                        subject: "excess drop".to_string(),
                        quantity: "dense_shortfall",
                        value: dense_shortfall,
                    });
                }
                let gap = group_gap(group, rest, confidence)?;
                Ok(Estimate {
                    value: -gap.value - dense_shortfall,
                    low: -gap.high - dense_shortfall,
                    high: -gap.low - dense_shortfall,
                })
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excess_drop_is_the_group_gap_negated_and_shifted_by_the_dense_gap() {
        // 18 of 20 right in the group, 70 of 80 elsewhere: A = 88/100,
        // A_g = 0.9, so A - A_g = -0.02; the dense model's gap 0.05 gives
        // ψ = -0.07.
        let gap = group_gap((18, 20), (70, 80), 0.95).unwrap();
        let drop = Evidence::ExcessDrop {
            group: (18, 20),
            rest: (70, 80),
            dense_shortfall: 0.05,
        };
        let e = drop.estimate(0.95).unwrap();
        assert!((e.value - (-0.07)).abs() < 1e-12, "{e:?}");
        assert!((e.low - (-gap.high - 0.05)).abs() < 1e-15 && (e.high - (-gap.low - 0.05)).abs() < 1e-15);
        assert!(e.low < e.value && e.value < e.high);
        assert_eq!((drop.samples(), drop.method()), (Some(100), EXCESS_DROP_METHOD));
        let nan = Evidence::ExcessDrop {
            group: (18, 20),
            rest: (70, 80),
            dense_shortfall: f64::NAN,
        };
        assert!(matches!(nan.estimate(0.95), Err(AuditError::NonFinite { .. })));
    }
}
