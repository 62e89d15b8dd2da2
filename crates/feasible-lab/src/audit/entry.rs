//! One audited constraint on one split: [`assess`] and its [`AuditEntry`].

use serde::{Deserialize, Serialize};

use super::error::{AuditError, check_confidence};
use super::evidence::Evidence;
use super::requirement::{Requirement, Sense};
use super::verdict::Verdict;

/// A constraint's value on a split, its interval, and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The constraint's name.
    pub constraint: String,
    /// The split it was measured on (`train`, `test`).
    pub split: String,
    /// The value on the split.
    pub value: f64,
    /// The interval's lower end.
    pub ci_low: f64,
    /// The interval's upper end.
    pub ci_high: f64,
    /// The requirement's bound.
    pub target: f64,
    /// `>=`, `<=` or `== ± tolerance`.
    pub sense: String,
    /// Whether the requirement holds.
    pub verdict: Verdict,
    /// How the interval was computed: `clopper-pearson`,
    /// `bonferroni clopper-pearson difference` or `exact`.
    pub method: String,
    /// The samples behind the value; `None` for an exact quantity.
    pub n: Option<u64>,
}

/// Audits `requirement` on `split` from `evidence`: the value, its two-sided
/// interval at `confidence` (0.95 for 95%) and the verdict.
///
/// ```
/// use feasible_lab::audit::{assess, Evidence, Requirement, Verdict};
///
/// // 172 of 200 positives found (86%), required at least 80%.
/// let tpr = Requirement::at_least("tpr", 0.8);
/// let entry = assess(&tpr, "test", &Evidence::Proportion { successes: 172, trials: 200 }, 0.95)?;
/// assert_eq!(entry.verdict, Verdict::HoldsWithConfidence);
/// // 86 of 100 is the same rate, but the interval reaches below 80%.
/// let entry = assess(&tpr, "test", &Evidence::Proportion { successes: 86, trials: 100 }, 0.95)?;
/// assert_eq!(entry.verdict, Verdict::HoldsOnSampleOnly);
/// # Ok::<(), feasible_lab::audit::AuditError>(())
/// ```
///
/// # Errors
/// [`AuditError::Confidence`] unless `0 < confidence < 1`;
/// [`AuditError::NonFinite`] for a NaN or infinite target, tolerance or
/// exact value; [`AuditError::NegativeTolerance`];
/// [`AuditError::NoTrials`] and [`AuditError::SuccessesExceedTrials`] for a
/// bad sample. Each names the constraint and split (`tpr on test, group`).
pub fn assess(
    requirement: &Requirement,
    split: &str,
    evidence: &Evidence,
    confidence: f64,
) -> Result<AuditEntry, AuditError> {
    check_confidence(confidence)?;
    let subject = format!("{} on {split}", requirement.constraint);
    let non_finite = |quantity, value| AuditError::NonFinite {
        subject: subject.clone(),
        quantity,
        value,
    };
    if !requirement.target.is_finite() {
        return Err(non_finite("target", requirement.target));
    }
    if let Sense::Within { tolerance } = requirement.sense {
        if !tolerance.is_finite() {
            return Err(non_finite("tolerance", tolerance));
        }
        if tolerance < 0.0 {
            return Err(AuditError::NegativeTolerance { subject, tolerance });
        }
    }
    let estimate = evidence.estimate(confidence).map_err(|e| e.within(&subject))?;
    Ok(AuditEntry {
        constraint: requirement.constraint.clone(),
        split: split.to_string(),
        value: estimate.value,
        ci_low: estimate.low,
        ci_high: estimate.high,
        target: requirement.target,
        sense: requirement.sense.symbol(),
        verdict: Verdict::judge(requirement.sense, requirement.target, &estimate),
        method: evidence.method().to_string(),
        n: evidence.samples(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proportion(successes: u64, trials: u64) -> Evidence {
        Evidence::Proportion { successes, trials }
    }

    #[test]
    fn a_proportion_is_judged_on_its_clopper_pearson_interval() {
        // 7/20: (0.1539092, 0.5921885) at 95% (R binom.test).
        let entry = assess(&Requirement::at_most("error", 0.6), "test", &proportion(7, 20), 0.95).unwrap();
        assert_eq!(entry.verdict, Verdict::HoldsWithConfidence);
        assert_eq!(
            (entry.value, entry.n, entry.method.as_str(), entry.sense.as_str()),
            (0.35, Some(20), "clopper-pearson", "<=")
        );
        assert!((entry.ci_low - 0.153_909_2).abs() < 1e-7 && (entry.ci_high - 0.592_188_5).abs() < 1e-7);
        let entry = assess(&Requirement::at_most("error", 0.5), "test", &proportion(7, 20), 0.95).unwrap();
        assert_eq!(entry.verdict, Verdict::HoldsOnSampleOnly);
        let entry = assess(
            &Requirement::at_least("accuracy", 0.15),
            "test",
            &proportion(7, 20),
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::HoldsWithConfidence);
        let entry = assess(
            &Requirement::at_least("accuracy", 0.36),
            "test",
            &proportion(7, 20),
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::Violated);
        // Within 0.35 ± 0.25 = [0.10, 0.60] holds on the whole interval; ± 0.2 does not.
        let entry = assess(
            &Requirement::within("rate", 0.35, 0.25),
            "test",
            &proportion(7, 20),
            0.95,
        )
        .unwrap();
        assert_eq!(
            (entry.verdict, entry.sense.as_str()),
            (Verdict::HoldsWithConfidence, "== ± 0.25")
        );
        let entry = assess(
            &Requirement::within("rate", 0.35, 0.2),
            "test",
            &proportion(7, 20),
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::HoldsOnSampleOnly);
        let entry = assess(&Requirement::within("rate", 0.5, 0.1), "test", &proportion(7, 20), 0.95).unwrap();
        assert_eq!(entry.verdict, Verdict::Violated);
    }

    #[test]
    fn a_group_gap_uses_the_bonferroni_interval_and_counts_both_samples() {
        // Group 20/50, rest 90/150: gap -0.15 in [-0.3314308, 0.0467766].
        let gap = Evidence::GroupGap {
            group: (20, 50),
            rest: (90, 150),
        };
        let entry = assess(
            &Requirement::at_least("equal_opportunity[female]", -0.2),
            "test",
            &gap,
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::HoldsOnSampleOnly);
        assert_eq!(
            (entry.n, entry.method.as_str()),
            (Some(200), "bonferroni clopper-pearson difference")
        );
        assert!((entry.value + 0.15).abs() < 1e-15);
        assert!((entry.ci_low + 0.331_430_829_3).abs() < 1e-9 && (entry.ci_high - 0.046_776_573_2).abs() < 1e-9);
        let entry = assess(
            &Requirement::at_least("equal_opportunity[female]", -0.35),
            "test",
            &gap,
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::HoldsWithConfidence);
        let entry = assess(
            &Requirement::within("demographic_parity[female]", 0.0, 0.1),
            "test",
            &gap,
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::Violated);
    }

    #[test]
    fn an_exact_quantity_holds_with_confidence_whenever_it_holds() {
        let entry = assess(
            &Requirement::at_most("density", 0.1),
            "model",
            &Evidence::Exact(0.08),
            0.95,
        )
        .unwrap();
        assert_eq!(
            (entry.ci_low, entry.ci_high, entry.verdict),
            (0.08, 0.08, Verdict::HoldsWithConfidence)
        );
        assert_eq!((entry.n, entry.method.as_str()), (None, "exact"));
        let entry = assess(
            &Requirement::at_most("density", 0.1),
            "model",
            &Evidence::Exact(0.12),
            0.95,
        )
        .unwrap();
        assert_eq!(entry.verdict, Verdict::Violated);
    }

    #[test]
    fn every_bad_input_is_refused_with_the_constraint_and_what_was_wrong() {
        let tpr = Requirement::at_least("tpr", 0.8);
        let message = |r: Result<AuditEntry, AuditError>| r.unwrap_err().to_string();
        assert_eq!(
            message(assess(&tpr, "test", &proportion(5, 4), 0.95)),
            "tpr on test, proportion: 5 successes out of 4 trials; successes cannot exceed trials"
        );
        assert_eq!(
            message(assess(&tpr, "test", &proportion(0, 0), 0.95)),
            "tpr on test, proportion: 0 trials; a rate needs at least one trial"
        );
        let gap = Evidence::GroupGap {
            group: (1, 0),
            rest: (1, 2),
        };
        assert!(
            matches!(assess(&tpr, "test", &gap, 0.95), Err(AuditError::NoTrials { subject }) if subject == "tpr on test, group")
        );
        let gap = Evidence::GroupGap {
            group: (1, 2),
            rest: (3, 2),
        };
        assert!(matches!(
            assess(&tpr, "test", &gap, 0.95),
            Err(AuditError::SuccessesExceedTrials { subject, successes: 3, trials: 2 }) if subject == "tpr on test, rest"
        ));
        assert!(
            matches!(assess(&tpr, "test", &proportion(1, 2), 1.5), Err(AuditError::Confidence { confidence }) if confidence == 1.5)
        );
        assert_eq!(
            message(assess(
                &Requirement::at_least("tpr", f64::NAN),
                "test",
                &proportion(1, 2),
                0.95
            )),
            "tpr on test: target is NaN, not a finite number"
        );
        assert!(matches!(
            assess(&tpr, "test", &Evidence::Exact(f64::INFINITY), 0.95),
            Err(AuditError::NonFinite { quantity: "value", .. })
        ));
        assert!(matches!(
            assess(
                &Requirement::within("tpr", 0.5, f64::NAN),
                "test",
                &proportion(1, 2),
                0.95
            ),
            Err(AuditError::NonFinite {
                quantity: "tolerance",
                ..
            })
        ));
        assert_eq!(
            message(assess(
                &Requirement::within("tpr", 0.5, -0.1),
                "test",
                &proportion(1, 2),
                0.95
            )),
            "tpr on test: tolerance -0.1 is negative"
        );
    }
}
