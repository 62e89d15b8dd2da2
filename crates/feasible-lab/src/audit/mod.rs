//! Auditing a trained model's constraints: each constraint's value on a
//! split of the data, with a confidence interval, and a verdict.
//!
//! (A minimal version with the interface of the full audit module: Wilson
//! score intervals for proportions, a normal approximation for the gap
//! between a group's rate and the overall rate.)

use std::path::Path;

use serde::Serialize;

/// How a constraint compares its value with its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sense {
    /// `value >= target`.
    AtLeast,
    /// `value <= target`.
    AtMost,
    /// `|value - target| <= tolerance`.
    Within {
        /// The tolerance.
        tolerance: f64,
    },
}

impl Sense {
    fn describe(&self) -> String {
        match self {
            Sense::AtLeast => ">=".to_string(),
            Sense::AtMost => "<=".to_string(),
            Sense::Within { tolerance } => format!("within ±{tolerance}"),
        }
    }
}

/// What a constraint's value is measured from.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// A proportion: `successes` of `trials`.
    Proportion {
        /// The count of successes.
        successes: u64,
        /// The count of trials.
        trials: u64,
    },
    /// A group's rate minus the overall rate (the overall includes the
    /// group): `(successes, trials)` of each.
    GroupGap {
        /// The group's counts.
        group: (u64, u64),
        /// The overall counts.
        rest: (u64, u64),
    },
    /// A value known exactly (no sampling error).
    Exact(f64),
}

/// A constraint to audit.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// Its name.
    pub constraint: String,
    /// How the value compares with the target.
    pub sense: Sense,
    /// The target.
    pub target: f64,
}

/// Whether a constraint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole confidence interval satisfies the constraint.
    HoldsWithConfidence,
    /// The value satisfies it, the interval does not entirely.
    HoldsOnSampleOnly,
    /// The value does not satisfy it.
    Violated,
}

/// One constraint on one split.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// The constraint's name.
    pub constraint: String,
    /// The split: train, validation, test.
    pub split: String,
    /// The measured value.
    pub value: f64,
    /// The confidence interval's lower end.
    pub ci_low: f64,
    /// The confidence interval's upper end.
    pub ci_high: f64,
    /// The target.
    pub target: f64,
    /// The sense, as text.
    pub sense: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How the interval was computed.
    pub method: String,
    /// The sample size, where there is one.
    pub n: Option<u64>,
}

/// Why an audit could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A confidence level outside (0, 1).
    #[error("confidence {0} must be in (0, 1)")]
    Confidence(f64),
    /// Counts that are not a proportion.
    #[error("constraint `{constraint}`: {reason}")]
    Evidence {
        /// The constraint.
        constraint: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing the report failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The standard normal quantile (Acklam's rational approximation).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

fn proportion(constraint: &str, (successes, trials): (u64, u64)) -> Result<f64, AuditError> {
    if trials == 0 || successes > trials {
        return Err(AuditError::Evidence {
            constraint: constraint.to_string(),
            reason: format!("{successes} successes of {trials} trials is not a proportion"),
        });
    }
    Ok(successes as f64 / trials as f64)
}

/// The Wilson score interval.
fn wilson(p: f64, n: f64, z: f64) -> (f64, f64) {
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Audits one requirement on one split.
pub fn assess(
    requirement: &Requirement,
    split: &str,
    evidence: &Evidence,
    confidence: f64,
) -> Result<AuditEntry, AuditError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(AuditError::Confidence(confidence));
    }
    let z = normal_quantile(0.5 + confidence / 2.0);
    let name = &requirement.constraint;
    let (value, low, high, method, n) = match evidence {
        Evidence::Proportion { successes, trials } => {
            let p = proportion(name, (*successes, *trials))?;
            let (low, high) = wilson(p, *trials as f64, z);
            (p, low, high, "wilson", Some(*trials))
        }
        Evidence::GroupGap { group, rest } => {
            let (pg, pa) = (proportion(name, *group)?, proportion(name, *rest)?);
            let se = (pg * (1.0 - pg) / group.1 as f64 + pa * (1.0 - pa) / rest.1 as f64).sqrt();
            let gap = pg - pa;
            (gap, gap - z * se, gap + z * se, "normal_difference", Some(group.1))
        }
        Evidence::Exact(v) => (*v, *v, *v, "exact", None),
    };
    let holds = |v: f64| match requirement.sense {
        Sense::AtLeast => v >= requirement.target,
        Sense::AtMost => v <= requirement.target,
        Sense::Within { tolerance } => (v - requirement.target).abs() <= tolerance,
    };
    let verdict = if holds(low) && holds(high) {
        Verdict::HoldsWithConfidence
    } else if holds(value) {
        Verdict::HoldsOnSampleOnly
    } else {
        Verdict::Violated
    };
    Ok(AuditEntry {
        constraint: name.clone(),
        split: split.to_string(),
        value,
        ci_low: low,
        ci_high: high,
        target: requirement.target,
        sense: requirement.sense.describe(),
        verdict,
        method: method.to_string(),
        n,
    })
}

/// The entries of an audit at one confidence level.
#[derive(Clone, Debug, PartialEq)]
pub struct Audit {
    /// The confidence level of the intervals.
    pub confidence: f64,
    /// One entry per constraint and split.
    pub entries: Vec<AuditEntry>,
}

impl Audit {
    /// An empty audit.
    pub fn new(confidence: f64) -> Result<Self, AuditError> {
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(AuditError::Confidence(confidence));
        }
        Ok(Self {
            confidence,
            entries: Vec::new(),
        })
    }

    /// Audits `requirement` on `split` and adds the entry.
    pub fn push(&mut self, requirement: &Requirement, split: &str, evidence: &Evidence) -> Result<(), AuditError> {
        self.entries
            .push(assess(requirement, split, evidence, self.confidence)?);
        Ok(())
    }

    /// `{"confidence": ..., "entries": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "confidence": self.confidence, "entries": self.entries })
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.entries
            .iter()
            .map(|e| {
                vec![
                    e.constraint.clone(),
                    e.split.clone(),
                    format!("{:.4}", e.value),
                    format!("[{:.4}, {:.4}]", e.ci_low, e.ci_high),
                    format!("{} {}", e.sense, e.target),
                    serde_json::to_value(e.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ]
            })
            .collect()
    }

    const HEADER: [&'static str; 6] = ["constraint", "split", "value", "interval", "requirement", "verdict"];

    /// A Markdown report.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Audit\n\nConfidence level {}.\n\n| {} |\n|{}\n",
            self.confidence,
            Self::HEADER.join(" | "),
            "---|".repeat(Self::HEADER.len())
        );
        for row in self.rows() {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }

    /// A plain-text table.
    pub fn to_table(&self) -> String {
        let mut table = crate::table::Table::new(format!("audit (confidence {})", self.confidence), &Self::HEADER);
        for row in self.rows() {
            table.row(row);
        }
        table.to_string()
    }

    /// Writes `audit.json` and `audit.md` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), AuditError> {
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| AuditError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        write(
            "audit.json",
            serde_json::to_string_pretty(&self.to_json()).unwrap_or_default() + "\n",
        )?;
        write("audit.md", self.to_markdown())
    }
}
