//! Whether a requirement holds: on the whole confidence interval, on the
//! sample only, or not at all.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::interval::Estimate;
use super::requirement::Sense;

/// The outcome of auditing one constraint on one split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole confidence interval is on the feasible side of the target.
    HoldsWithConfidence,
    /// The value on the sample meets the target, the interval crosses it.
    HoldsOnSampleOnly,
    /// The value on the sample misses the target.
    Violated,
}

impl Verdict {
    /// The verdict for `estimate` against `target`: `Violated` when the
    /// point value is on the wrong side, `HoldsWithConfidence` when both ends
    /// of the interval are on the feasible side (for every sense the
    /// feasible set is an interval, so then the whole interval is),
    /// `HoldsOnSampleOnly` otherwise.
    pub fn judge(sense: Sense, target: f64, estimate: &Estimate) -> Self {
        if !sense.admits(estimate.value, target) {
            Verdict::Violated
        } else if sense.admits(estimate.low, target) && sense.admits(estimate.high, target) {
            Verdict::HoldsWithConfidence
        } else {
            Verdict::HoldsOnSampleOnly
        }
    }

    /// The verdict in words at an audit's `confidence`: `holds with 95%
    /// confidence`, `holds on the sample only` or `violated`.
    ///
    /// ```
    /// use feasible_lab::audit::Verdict;
    ///
    /// assert_eq!(Verdict::HoldsWithConfidence.describe(0.9), "holds with 90% confidence");
    /// assert_eq!(Verdict::Violated.describe(0.9), "violated");
    /// ```
    pub fn describe(self, confidence: f64) -> String {
        match self {
            Verdict::HoldsWithConfidence => format!("holds with {} confidence", percent_label(confidence)),
            other => other.to_string(),
        }
    }
}

/// Without a confidence level: `holds with confidence`, `holds on the
/// sample only`, `violated`; [`Verdict::describe`] names the level.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::HoldsWithConfidence => "holds with confidence",
            Verdict::HoldsOnSampleOnly => "holds on the sample only",
            Verdict::Violated => "violated",
        })
    }
}

/// A confidence level as a percentage with no spurious digits:
/// `0.95 -> "95%"`, `0.995 -> "99.5%"`.
pub(crate) fn percent_label(confidence: f64) -> String {
    let percent = (confidence * 100.0 * 1e9).round() / 1e9;
    format!("{percent}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(value: f64, low: f64, high: f64) -> Estimate {
        Estimate { value, low, high }
    }

    #[test]
    fn at_least_gives_each_verdict() {
        let judge = |e| Verdict::judge(Sense::AtLeast, 0.8, &e);
        assert_eq!(judge(estimate(0.9, 0.8, 0.95)), Verdict::HoldsWithConfidence);
        assert_eq!(judge(estimate(0.85, 0.78, 0.9)), Verdict::HoldsOnSampleOnly);
        assert_eq!(judge(estimate(0.79, 0.7, 0.85)), Verdict::Violated);
    }

    #[test]
    fn at_most_gives_each_verdict() {
        let judge = |e| Verdict::judge(Sense::AtMost, 0.05, &e);
        assert_eq!(judge(estimate(0.02, 0.01, 0.05)), Verdict::HoldsWithConfidence);
        assert_eq!(judge(estimate(0.04, 0.02, 0.07)), Verdict::HoldsOnSampleOnly);
        assert_eq!(judge(estimate(0.06, 0.04, 0.08)), Verdict::Violated);
    }

    #[test]
    fn within_gives_each_verdict_from_either_side() {
        let judge = |e| Verdict::judge(Sense::Within { tolerance: 0.1 }, 0.5, &e);
        assert_eq!(judge(estimate(0.5, 0.41, 0.59)), Verdict::HoldsWithConfidence);
        assert_eq!(judge(estimate(0.55, 0.45, 0.65)), Verdict::HoldsOnSampleOnly);
        assert_eq!(judge(estimate(0.45, 0.35, 0.55)), Verdict::HoldsOnSampleOnly);
        assert_eq!(judge(estimate(0.5, 0.3, 0.7)), Verdict::HoldsOnSampleOnly);
        assert_eq!(judge(estimate(0.65, 0.55, 0.75)), Verdict::Violated);
        assert_eq!(judge(estimate(0.35, 0.3, 0.45)), Verdict::Violated);
    }

    #[test]
    fn verdicts_read_in_words_and_serialize_in_snake_case() {
        assert_eq!(Verdict::HoldsWithConfidence.describe(0.95), "holds with 95% confidence");
        assert_eq!(
            Verdict::HoldsWithConfidence.describe(0.995),
            "holds with 99.5% confidence"
        );
        assert_eq!(Verdict::HoldsOnSampleOnly.describe(0.95), "holds on the sample only");
        assert_eq!(Verdict::Violated.to_string(), "violated");
        let names: Vec<String> = [
            Verdict::HoldsWithConfidence,
            Verdict::HoldsOnSampleOnly,
            Verdict::Violated,
        ]
        .iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect();
        assert_eq!(
            names,
            ["\"holds_with_confidence\"", "\"holds_on_sample_only\"", "\"violated\""]
        );
        let back: Verdict = serde_json::from_str("\"holds_on_sample_only\"").unwrap();
        assert_eq!(back, Verdict::HoldsOnSampleOnly);
    }
}
