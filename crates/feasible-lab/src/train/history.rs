//! The per-step history of a run: the loss and, for every constraint, its
//! value, multiplier and violation; written as `history.jsonl` and
//! `history.csv`, and drawn as SVG figures.
//!
//! A constraint with several entries (a two-sided fairness criterion, the
//! per-sample losses of a batch) is summarised by its entry of largest
//! violation: that entry's value (the 0/1 value where the constraint has
//! one) and violation, and the largest multiplier of the step.

use std::path::{Path, PathBuf};

use feasible::StepReport;
use serde::Serialize;

use crate::plots::{Axes, Series, Style, line_chart};

/// One constraint at one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConstraintPoint {
    /// The value (the entry of largest violation).
    pub value: f64,
    /// The largest multiplier (0 without multipliers).
    pub multiplier: f64,
    /// The largest violation (positive: violated).
    pub violation: f64,
}

/// One step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// The step, from 1.
    pub step: u64,
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean cross-entropy of the batch.
    pub loss: f64,
    /// Every constraint, in declaration order.
    pub constraints: Vec<(String, ConstraintPoint)>,
}

impl Step {
    /// The step of a report.
    pub fn from_report(report: &StepReport, epoch: usize) -> Self {
        let constraints = report
            .constraints
            .iter()
            .map(|c| {
                let values = c.strict_value.as_ref().unwrap_or(&c.value);
                let (k, violation) =
                    c.violation
                        .iter()
                        .copied()
                        .enumerate()
                        .fold(
                            (0, f64::NEG_INFINITY),
                            |best, (i, v)| if v > best.1 { (i, v) } else { best },
                        );
                let multiplier = c
                    .multipliers
                    .as_ref()
                    .map_or(0.0, |m| m.iter().copied().fold(0.0, f64::max));
                (
                    c.name.to_string(),
                    ConstraintPoint {
                        value: values.get(k).copied().unwrap_or(f64::NAN),
                        multiplier,
                        violation: if violation.is_finite() { violation } else { 0.0 },
                    },
                )
            })
            .collect();
        Self {
            step: report.step,
            epoch,
            loss: report.loss,
            constraints,
        }
    }

    /// The JSON object of the step: `{"step", "epoch", "loss",
    /// "constraints": {name: {"value", "multiplier", "violation"}}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let constraints: serde_json::Map<String, serde_json::Value> = self
            .constraints
            .iter()
            .map(|(n, p)| (n.clone(), serde_json::json!(p)))
            .collect();
        serde_json::json!({
            "step": self.step,
            "epoch": self.epoch,
            "loss": self.loss,
            "constraints": constraints,
        })
    }
}

/// Writes `history.jsonl` and `history.csv` (columns `step, epoch, loss`,
/// then `<name>.value, <name>.multiplier, <name>.violation` per constraint).
pub fn write(steps: &[Step], names: &[String], dir: &Path) -> anyhow::Result<()> {
    let mut jsonl = String::new();
    for s in steps {
        jsonl.push_str(&serde_json::to_string(&s.to_json())?);
        jsonl.push('\n');
    }
    std::fs::write(dir.join("history.jsonl"), jsonl)?;
    let mut csv = csv::Writer::from_path(dir.join("history.csv"))?;
    let mut header = vec!["step".to_string(), "epoch".to_string(), "loss".to_string()];
    for n in names {
        header.extend(["value", "multiplier", "violation"].map(|f| format!("{n}.{f}")));
    }
    csv.write_record(&header)?;
    for s in steps {
        let mut row = vec![s.step.to_string(), s.epoch.to_string(), s.loss.to_string()];
        for (_, p) in &s.constraints {
            row.extend([p.value, p.multiplier, p.violation].map(|v| v.to_string()));
        }
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(())
}

/// Draws `plots/loss.svg`, `plots/multipliers.svg` and
/// `plots/violations.svg` against the steps.
pub fn draw(steps: &[Step], names: &[String], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dir.join("plots");
    std::fs::create_dir_all(&dir)?;
    let x = |s: &Step| s.step as f64;
    let mut written = Vec::new();
    let loss = vec![Series::new(
        "mean cross-entropy of the batch",
        steps.iter().map(|s| (x(s), s.loss)).collect(),
        Style::Line,
    )];
    let figures: [(&str, &str, &str, Vec<Series>); 3] = [
        ("loss.svg", "Loss against the steps", "cross-entropy", loss),
        (
            "multipliers.svg",
            "Multipliers against the steps (largest per constraint)",
            "multiplier",
            per_constraint(steps, names, |p| p.multiplier),
        ),
        (
            "violations.svg",
            "Violations against the steps (largest per constraint; > 0: violated)",
            "violation",
            per_constraint(steps, names, |p| p.violation),
        ),
    ];
    for (file, title, y_label, series) in figures {
        let axes = Axes {
            title: title.to_string(),
            x_label: "step".to_string(),
            y_label: y_label.to_string(),
            ..Axes::default()
        };
        let path = dir.join(file);
        line_chart(&path, &axes, &series)?;
        written.push(path);
    }
    Ok(written)
}

fn per_constraint(steps: &[Step], names: &[String], pick: impl Fn(&ConstraintPoint) -> f64) -> Vec<Series> {
    names
        .iter()
        .enumerate()
        .map(|(k, n)| {
            Series::new(
                n.clone(),
                steps
                    .iter()
                    .map(|s| (s.step as f64, pick(&s.constraints[k].1)))
                    .collect(),
                Style::Line,
            )
        })
        .collect()
}
