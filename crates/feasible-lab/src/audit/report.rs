//! An audit of several constraints and splits, and its reports: JSON,
//! Markdown and a terminal table.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::entry::{AuditEntry, assess};
use super::error::{AuditError, check_confidence};
use super::evidence::{EXCESS_DROP_METHOD, Evidence};
use super::requirement::Requirement;
use super::verdict::{Verdict, percent_label};
use crate::table::Table;

/// The entries of an audit, all at one confidence level.
///
/// ```
/// use feasible_lab::audit::{Audit, Evidence, Requirement};
///
/// let mut audit = Audit::new(0.95)?;
/// audit.push(&Requirement::at_least("tpr", 0.8), "test", &Evidence::Proportion { successes: 172, trials: 200 })?;
/// audit.push(&Requirement::at_most("density", 0.1), "model", &Evidence::Exact(0.08))?;
/// assert_eq!(audit.to_json()["entries"][1]["verdict"], "holds_with_confidence");
/// assert!(audit.to_markdown().contains("| tpr | test | 0.8600 |"));
/// # Ok::<(), feasible_lab::audit::AuditError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// The two-sided confidence level of every interval (0.95 for 95%).
    pub confidence: f64,
    /// One entry per constraint and split, in the order pushed.
    pub entries: Vec<AuditEntry>,
}

impl Audit {
    /// An empty audit at `confidence`.
    ///
    /// # Errors
    /// [`AuditError::Confidence`] unless `0 < confidence < 1`.
    pub fn new(confidence: f64) -> Result<Self, AuditError> {
        check_confidence(confidence)?;
        Ok(Self {
            confidence,
            entries: Vec::new(),
        })
    }

    /// Audits `requirement` on `split` (see [`assess`]) and appends the
    /// entry.
    ///
    /// # Errors
    /// Those of [`assess`]; the audit is then unchanged.
    pub fn push(&mut self, requirement: &Requirement, split: &str, evidence: &Evidence) -> Result<(), AuditError> {
        let entry = assess(requirement, split, evidence, self.confidence)?;
        self.entries.push(entry);
        Ok(())
    }

    /// `{"confidence": 0.95, "entries": [{"constraint", "split", "value",
    /// "ci_low", "ci_high", "target", "sense", "verdict", "method", "n"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an audit is plain strings and numbers")
    }

    /// A Markdown report: title, confidence level, one table row per entry
    /// (constraint, split, value, interval, target, verdict, method, n) and
    /// a paragraph on what the verdicts and methods mean.
    pub fn to_markdown(&self) -> String {
        let level = percent_label(self.confidence);
        let miss = percent_label(1.0 - self.confidence);
        let mut out = String::from("# Constraint audit\n\n");
        out += &format!(
            "Confidence level: {level}. Every interval is two-sided at this level; the method column names how it was computed.\n\n"
        );
        out += &format!("| constraint | split | value | {level} CI | target | verdict | method | n |\n");
        out += "|---|---|---:|---|---|---|---|---:|\n";
        for e in &self.entries {
            let cells = self.cells(e);
            let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            out += &format!("| {} |\n", escaped.join(" | "));
        }
        if self.entries.is_empty() {
            out += "\nNo constraints were audited.\n";
        }
        out += &format!(
            "\n**Verdicts.** *Holds with {level} confidence*: the whole confidence interval lies on the feasible side \
of the target: the requirement holds on the population the split was drawn from, with the stated confidence \
(an interval built this way misses the true value at most {miss} of the time). *Holds on the sample only*: the value measured on the split meets the target but the interval reaches \
past it, so the sample cannot rule out a violation. *Violated*: the measured value itself misses the target.\n\n\
**Methods.** *clopper-pearson*: the exact binomial interval of a proportion (Clopper and Pearson, 1934), \
the one R's `binom.test` reports; its coverage is at least the level. *bonferroni clopper-pearson difference*: \
a group's rate minus the overall rate, `(1-w)(p_group - p_rest)` with `w` the group's share of the samples; \
the Clopper–Pearson intervals of the group and of the rest, each at level 1-α/2, are combined end to end and \
scaled by `1-w`, which by Bonferroni covers the gap with probability at least the level (conservative: wider than \
an exact interval). *exact*: a quantity with no sampling error given the model (such as the density of kept \
weights); its interval is the value itself.\n"
        );
        if self.entries.iter().any(|e| e.method == EXCESS_DROP_METHOD) {
            out += &format!(
                "*{EXCESS_DROP_METHOD}*: a group's excess accuracy drop after pruning, `(A - A_group) - d_group` \
(Balancing Act): the interval of the group gap above, negated and shifted by `d_group`, the dense model's gap \
measured on the same split and taken as known (its own sampling error is not counted).\n"
            );
        }
        out
    }

    /// One line: how many entries got each verdict (`6 entries: 4 hold
    /// with 95% confidence, 1 on the sample only, 1 violated`).
    pub fn summary(&self) -> String {
        let count = |v: Verdict| self.entries.iter().filter(|e| e.verdict == v).count();
        format!(
            "{} entries: {} hold with {} confidence, {} on the sample only, {} violated",
            self.entries.len(),
            count(Verdict::HoldsWithConfidence),
            percent_label(self.confidence),
            count(Verdict::HoldsOnSampleOnly),
            count(Verdict::Violated)
        )
    }

    /// The entries as an aligned plain-text table for the terminal.
    pub fn to_table(&self) -> String {
        let level = percent_label(self.confidence);
        let interval = format!("{level} CI");
        let header = [
            "constraint",
            "split",
            "value",
            interval.as_str(),
            "target",
            "verdict",
            "method",
            "n",
        ];
        let mut table = Table::new(format!("constraint audit ({level} confidence)"), &header);
        for e in &self.entries {
            table.row(self.cells(e));
        }
        table.to_string()
    }

    /// Writes `audit.json` and `audit.md` into `dir` (created if missing),
    /// each through a temporary file renamed into place, so a reader never
    /// sees half a report.
    ///
    /// # Errors
    /// [`AuditError::Io`] with the directory or file that could not be
    /// created, written or renamed.
    pub fn write(&self, dir: &Path) -> Result<(), AuditError> {
        fs::create_dir_all(dir).map_err(|source| AuditError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let files = [
            ("audit.json", format!("{:#}\n", self.to_json())),
            ("audit.md", self.to_markdown()),
        ];
        let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
        let result = (|| {
            for (name, text) in &files {
                let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
                staged.push((temporary.clone(), dir.join(name)));
                fs::write(&temporary, text).map_err(|source| AuditError::Io {
                    path: temporary,
                    source,
                })?;
            }
            for (temporary, path) in &staged {
                fs::rename(temporary, path).map_err(|source| AuditError::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(())
        })();
        if result.is_err() {
            for (temporary, _) in &staged {
                let _ = fs::remove_file(temporary);
            }
        }
        result
    }

    /// One entry's cells, in the order of the report's columns.
    fn cells(&self, e: &AuditEntry) -> Vec<String> {
        let target = match e.sense.strip_prefix("== ± ") {
            Some(tolerance) => format!("{} ± {tolerance}", number(e.target)),
            None => format!("{} {}", e.sense, number(e.target)),
        };
        vec![
            e.constraint.clone(),
            e.split.clone(),
            number(e.value),
            format!("[{}, {}]", number(e.ci_low), number(e.ci_high)),
            target,
            e.verdict.describe(self.confidence),
            e.method.clone(),
            e.n.map(|n| n.to_string()).unwrap_or_else(|| "-".to_string()),
        ]
    }
}

/// Four decimals, or four significant digits below 0.01: `0.8600`,
/// `-0.1500`, `2.532e-5`, `0`.
fn number(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if x.abs() >= 0.01 {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Verdict;

    fn sample() -> Audit {
        let mut audit = Audit::new(0.95).unwrap();
        audit
            .push(
                &Requirement::at_least("tpr", 0.8),
                "test",
                &Evidence::Proportion {
                    successes: 172,
                    trials: 200,
                },
            )
            .unwrap();
        let gap = Evidence::GroupGap {
            group: (20, 50),
            rest: (90, 150),
        };
        audit
            .push(&Requirement::at_least("equal_opportunity[female]", -0.2), "test", &gap)
            .unwrap();
        audit
            .push(&Requirement::within("demographic_parity|a", 0.0, 0.1), "train", &gap)
            .unwrap();
        audit
            .push(&Requirement::at_most("density", 0.1), "model", &Evidence::Exact(0.0025))
            .unwrap();
        audit
    }

    #[test]
    fn the_json_names_every_field_and_round_trips() {
        let audit = sample();
        let json = audit.to_json();
        assert_eq!(json["confidence"], 0.95);
        let first = json["entries"][0].as_object().unwrap();
        let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "ci_high",
                "ci_low",
                "constraint",
                "method",
                "n",
                "sense",
                "split",
                "target",
                "value",
                "verdict"
            ]
        );
        assert_eq!(first["constraint"], "tpr");
        assert_eq!(first["split"], "test");
        assert_eq!(first["value"], 0.86);
        assert_eq!(first["target"], 0.8);
        assert_eq!(first["sense"], ">=");
        assert_eq!(first["verdict"], "holds_with_confidence");
        assert_eq!(first["n"], 200);
        assert!(first["ci_low"].as_f64().unwrap() < 0.86 && first["ci_high"].as_f64().unwrap() > 0.86);
        assert_eq!(json["entries"][1]["verdict"], "holds_on_sample_only");
        assert_eq!(json["entries"][2]["verdict"], "violated");
        assert_eq!(json["entries"][2]["sense"], "== ± 0.1");
        assert_eq!(json["entries"][3]["n"], serde_json::Value::Null);
        let back: Audit = serde_json::from_value(json).unwrap();
        assert_eq!(back, audit);
    }

    #[test]
    fn the_markdown_has_a_header_row_and_one_row_per_entry() {
        let audit = sample();
        let markdown = audit.to_markdown();
        assert!(markdown.starts_with("# Constraint audit\n"));
        assert!(markdown.contains("Confidence level: 95%."));
        let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(
            rows[0],
            "| constraint | split | value | 95% CI | target | verdict | method | n |"
        );
        assert!(rows[1].starts_with("|---|"));
        assert_eq!(rows.len(), 2 + audit.entries.len());
        assert!(rows[2].starts_with("| tpr | test | 0.8600 | ["), "{}", rows[2]);
        assert!(
            rows[2].ends_with("| >= 0.8000 | holds with 95% confidence | clopper-pearson | 200 |"),
            "{}",
            rows[2]
        );
        assert!(rows[3].contains("| -0.1500 | [-0.3314, 0.0468] | >= -0.2000 | holds on the sample only | bonferroni clopper-pearson difference | 200 |"), "{}", rows[3]);
        // A `|` in a name is escaped so the row keeps its eight cells.
        assert!(
            rows[4].starts_with("| demographic_parity\\|a | train |") && rows[4].contains("| 0 ± 0.1 | violated |"),
            "{}",
            rows[4]
        );
        assert!(
            rows[5].contains("| 2.500e-3 | [2.500e-3, 2.500e-3] | <= 0.1000 | holds with 95% confidence | exact | - |"),
            "{}",
            rows[5]
        );
        for verdict in [
            "*Holds with 95% confidence*",
            "*Holds on the sample only*",
            "*Violated*",
        ] {
            assert!(markdown.contains(verdict), "{verdict}");
        }
        for method in [
            "*clopper-pearson*",
            "*bonferroni clopper-pearson difference*",
            "*exact*",
        ] {
            assert!(markdown.contains(method), "{method}");
        }
    }

    #[test]
    fn the_terminal_table_aligns_one_line_per_entry_at_the_audits_level() {
        let mut audit = Audit::new(0.9).unwrap();
        audit
            .push(
                &Requirement::at_least("accuracy", 0.15),
                "test",
                &Evidence::Proportion {
                    successes: 7,
                    trials: 20,
                },
            )
            .unwrap();
        audit
            .push(&Requirement::at_most("density", 0.1), "model", &Evidence::Exact(0.2))
            .unwrap();
        let table = audit.to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "constraint audit (90% confidence)");
        assert!(lines[1].contains("90% CI") && lines[1].trim_start().starts_with("constraint"));
        assert_eq!(lines.len(), 3 + 2);
        // 7/20 at 90%: (0.1773109, 0.5580345), mpmath.
        assert!(
            lines[3].contains("[0.1773, 0.5580]") && lines[3].contains("holds with 90% confidence"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].contains(" violated ") && lines[4].trim_start().starts_with("density") && lines[4].ends_with(" -"),
            "{}",
            lines[4]
        );
        let width = lines[1].chars().count();
        assert!(lines[2..].iter().all(|l| l.chars().count() == width), "{table}");
    }

    #[test]
    fn a_refused_push_leaves_the_audit_unchanged() {
        let mut audit = sample();
        let before = audit.clone();
        let refused = audit.push(
            &Requirement::at_least("tpr", 0.8),
            "test",
            &Evidence::Proportion {
                successes: 3,
                trials: 2,
            },
        );
        assert!(matches!(refused, Err(AuditError::SuccessesExceedTrials { .. })));
        assert_eq!(audit, before);
        assert!(matches!(Audit::new(0.0), Err(AuditError::Confidence { .. })));
        assert!(matches!(Audit::new(f64::NAN), Err(AuditError::Confidence { .. })));
    }

    #[test]
    fn write_puts_both_reports_in_place_and_names_the_path_it_cannot_write() {
        let dir = std::env::temp_dir().join(format!("feasible-audit-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let audit = sample();
        audit.write(&dir.join("nested")).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("nested/audit.json")).unwrap()).unwrap();
        assert_eq!(json, audit.to_json());
        assert_eq!(
            fs::read_to_string(dir.join("nested/audit.md")).unwrap(),
            audit.to_markdown()
        );
        let mut names: Vec<String> = fs::read_dir(dir.join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["audit.json", "audit.md"], "no temporary file is left behind");
        // A regular file where the directory should be.
        let blocker = dir.join("file");
        fs::write(&blocker, "x").unwrap();
        match audit.write(&blocker) {
            Err(AuditError::Io { path, .. }) => assert_eq!(path, blocker),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(
            audit
                .write(&blocker)
                .unwrap_err()
                .to_string()
                .starts_with(&blocker.display().to_string())
        );
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(audit.entries[3].verdict, Verdict::HoldsWithConfidence);
    }
}
