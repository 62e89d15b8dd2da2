//! The one registry of experiments: `feasible list`, `feasible reproduce
//! [NAME]`, the command line's help and the tests all read [`EXPERIMENTS`],
//! so a new experiment is one [`Experiment`] implementation and one line
//! here.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use feasible::UpdateScheme;
use indicatif::ProgressBar;
use serde::Serialize;

use super::saved::{SavedModel, SavedRun};
use super::{balancing_act, compas, concave, fairness, feasible_learning, l0onie, rate, sparsity, svm};
use crate::audit::Audit;
use crate::data::sets::DataSet;
use crate::device::DeviceSpec;

/// Every experiment `feasible reproduce` knows, in the order it runs them.
pub static EXPERIMENTS: &[&dyn Experiment] = &[
    &rate::RateExperiment,
    &concave::ConcaveExperiment,
    &feasible_learning::FeasibleLearningExperiment,
    &sparsity::SparsityExperiment,
    &sparsity::LeNetSparsityExperiment,
    &l0onie::L0onieExperiment,
    &fairness::FairnessExperiment,
    &compas::CompasExperiment,
    &balancing_act::BalancingActExperiment,
    &svm::SvmExperiment,
];

/// What `--steps` counts for an experiment, and the largest value accepted
/// (far beyond any useful run, well below what would exhaust memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepsOption {
    /// What one step is ("training epochs", ...).
    pub unit: &'static str,
    /// The largest `--steps`.
    pub max: usize,
}

/// A published experiment the lab reproduces.
pub trait Experiment: Sync {
    /// Its name on the command line (`feasible reproduce NAME`).
    fn name(&self) -> &'static str;
    /// One line: what it reproduces and where it was published.
    fn summary(&self) -> &'static str;
    /// What `--steps` overrides (every experiment accepts it).
    fn steps(&self) -> StepsOption;
    /// Whether `--scheme` (the update scheme) applies; the others refuse it.
    fn accepts_scheme(&self) -> bool {
        false
    }
    /// What `--full` runs, where the experiment has a longer version
    /// (`None`: it has none, and refuses the flag).
    fn full(&self) -> Option<&'static str> {
        None
    }
    /// Whether it computes with burn tensors, on `--device`; one that does
    /// not computes in plain `f64` on the CPU whatever `--device` says.
    fn uses_device(&self) -> bool {
        true
    }
    /// The fetched data sets it needs (`quick`: its `--quick` version).
    fn data_needed(&self, quick: bool) -> Vec<DataSet> {
        let _ = quick;
        Vec::new()
    }
    /// The SVG files `--plots DIR` writes for it (empty: none).
    fn figures(&self) -> &'static [&'static str] {
        &[]
    }
    /// Runs it with `options` (already checked with [`RunOptions::check`]).
    fn run(&self, options: &RunOptions) -> anyhow::Result<Outcome>;
    /// Audits a model it saved for `reproduce --models` (see
    /// [`saved`](super::saved)): reloads the run's data and the model in
    /// `dir`, and measures each requirement on the training data and on
    /// data the model has not seen.
    fn audit(&self, saved: &SavedRun, dir: &Path) -> anyhow::Result<Audit>;
}

/// Finds an experiment by name; an unknown one is an error that lists the
/// known ones.
pub fn find(name: &str) -> anyhow::Result<&'static dyn Experiment> {
    match EXPERIMENTS.iter().find(|e| e.name() == name) {
        Some(experiment) => Ok(*experiment),
        None => bail!("unknown experiment `{name}`; known: {}", names().join(", ")),
    }
}

/// The experiments' names, in the registry's order.
pub fn names() -> Vec<&'static str> {
    EXPERIMENTS.iter().map(|e| e.name()).collect()
}

/// The experiments that accept `--scheme`.
pub fn scheme_experiments() -> Vec<&'static str> {
    EXPERIMENTS
        .iter()
        .filter(|e| e.accepts_scheme())
        .map(|e| e.name())
        .collect()
}

/// The two lines `feasible list` prints for `experiment`.
pub fn list_entry(experiment: &dyn Experiment) -> String {
    let name = experiment.name();
    let steps = experiment.steps();
    let mut notes = vec![format!("--steps: {}, 1 to {}", steps.unit, steps.max)];
    if experiment.accepts_scheme() {
        notes.push("accepts --scheme".to_string());
    }
    if let Some(full) = experiment.full() {
        notes.push(format!("--full: {full}"));
    }
    let data: Vec<&str> = experiment.data_needed(false).iter().map(|s| s.id()).collect();
    if !data.is_empty() {
        notes.push(format!("data: {}", data.join(", ")));
    }
    format!("{name:17} {}\n{:17} ({})\n", experiment.summary(), "", notes.join("; "))
}

/// The common options of `feasible reproduce`, as one experiment receives
/// them.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Independent training runs at once (at least 1): threads, or worker
    /// processes where the experiment sends its runs to them (`rate`).
    pub threads: usize,
    /// `--steps`: overrides the experiment's steps (see [`StepsOption`]).
    pub steps: Option<usize>,
    /// `--scheme`: overrides the update scheme where one is used.
    pub scheme: Option<UpdateScheme>,
    /// `--quick`: the shorter version where the experiment has one.
    pub quick: bool,
    /// `--full`: the longer version where the experiment has one
    /// ([`Experiment::full`]).
    pub full: bool,
    /// `--device`: the burn device.
    pub device: DeviceSpec,
    /// Data sets known to be missing (skipped with a notice).
    pub missing: Vec<DataSet>,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

impl Default for RunOptions {
    /// One thread, no override, flex, no progress bar.
    fn default() -> Self {
        Self {
            threads: 1,
            steps: None,
            scheme: None,
            quick: false,
            full: false,
            device: DeviceSpec::Flex,
            missing: Vec::new(),
            progress: false,
        }
    }
}

impl RunOptions {
    /// Refuses options `experiment` cannot honour: `--steps` of 0 or beyond
    /// its limit, `--scheme` where no update scheme is used, `--full` where
    /// there is no longer version, a `--device` whose backend this build
    /// lacks.
    pub fn check(&self, experiment: &dyn Experiment) -> anyhow::Result<()> {
        let name = experiment.name();
        let StepsOption { unit, max } = experiment.steps();
        if let Some(steps) = self.steps {
            if steps == 0 {
                bail!("--steps 0: `{name}` needs at least 1 ({unit})");
            }
            if steps > max {
                bail!("--steps {steps} is too many for `{name}` ({unit}): at most {max}");
            }
        }
        if let Some(scheme) = self.scheme
            && !experiment.accepts_scheme()
        {
            bail!(
                "--scheme {}: `{name}` does not use an update scheme; --scheme is accepted by: {}",
                scheme.name(),
                scheme_experiments().join(", ")
            );
        }
        if self.full && experiment.full().is_none() {
            bail!(
                "--full: `{name}` has no longer version; --full is accepted by: {}",
                EXPERIMENTS
                    .iter()
                    .filter(|e| e.full().is_some())
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        self.device.check()?;
        Ok(())
    }

    /// Whether `set` is known to be missing.
    pub fn is_missing(&self, set: DataSet) -> bool {
        self.missing.contains(&set)
    }

    /// A progress bar of `len` steps on stderr (hidden without
    /// [`RunOptions::progress`]).
    pub fn progress_bar(&self, len: usize, label: &str) -> ProgressBar {
        if self.progress {
            crate::progress::bar(len, label)
        } else {
            ProgressBar::hidden()
        }
    }
}

/// Draws an experiment's figures into a directory; returns their paths.
pub type Figures = Box<dyn FnOnce(&Path) -> anyhow::Result<Vec<PathBuf>>>;

/// What an experiment produced: its rows as JSON lines, its tables, the
/// figures it can draw and the models it can save.
pub struct Outcome {
    json_lines: Vec<String>,
    text: String,
    figures: Option<Figures>,
    models: Vec<SavedModel>,
}

impl Outcome {
    /// `rows`, one JSON object each, and `text`, the tables.
    pub fn rows<R: Serialize>(rows: &[R], text: String) -> anyhow::Result<Self> {
        let json_lines = rows.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            json_lines,
            text,
            figures: None,
            models: Vec::new(),
        })
    }

    /// With more JSON rows after the first (another table of the same
    /// experiment, its rows with an `experiment` field of their own).
    pub fn with_more_rows<R: Serialize>(mut self, rows: &[R]) -> anyhow::Result<Self> {
        for row in rows {
            self.json_lines.push(serde_json::to_string(row)?);
        }
        Ok(self)
    }

    /// An experiment skipped for want of data: said on stderr now, and in
    /// the tables (never with `--json`).
    pub fn skipped(experiment: &str, title: &str, reason: &str) -> Self {
        eprintln!("{experiment}: skipped: {reason}");
        Self {
            json_lines: Vec::new(),
            text: format!("{title}: skipped: {reason}\n\n"),
            figures: None,
            models: Vec::new(),
        }
    }

    /// With the figures `draw` writes for `--plots`.
    pub fn with_figures(mut self, draw: impl FnOnce(&Path) -> anyhow::Result<Vec<PathBuf>> + 'static) -> Self {
        self.figures = Some(Box::new(draw));
        self
    }

    /// With the trained models `--models` saves.
    pub fn with_models(mut self, models: Vec<SavedModel>) -> Self {
        self.models.extend(models);
        self
    }

    /// Saves the models into `root/EXPERIMENT/RUN/` with their audits, and
    /// names each on stderr with its verdicts; returns the directories.
    ///
    /// # Errors
    /// A model that cannot be saved or audited.
    pub fn save_models(
        &mut self,
        experiment: &dyn Experiment,
        options: &RunOptions,
        root: &Path,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let name = experiment.name();
        let mut dirs = Vec::new();
        for model in std::mem::take(&mut self.models) {
            let (dir, audit) = model.save(experiment, options, root)?;
            eprintln!("{name}: model {} ({})", dir.display(), audit.summary());
            dirs.push(dir);
        }
        Ok(dirs)
    }

    /// One JSON object per row.
    pub fn json_lines(&self) -> &[String] {
        &self.json_lines
    }

    /// The tables.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Writes the JSON lines (`json`) or the tables to `out`.
    pub fn write(&self, out: &mut impl Write, json: bool) -> std::io::Result<()> {
        if json {
            for line in &self.json_lines {
                writeln!(out, "{line}")?;
            }
        } else {
            write!(out, "{}", self.text)?;
        }
        Ok(())
    }

    /// Draws the figures into `dir` and names them on stderr (nothing for
    /// an experiment without figures, or a skipped one).
    pub fn draw(self, experiment: &str, dir: &Path) -> anyhow::Result<()> {
        let Some(figures) = self.figures else {
            return Ok(());
        };
        let written = figures(dir).context("drawing the figures")?;
        if written.is_empty() {
            eprintln!("{experiment}: no figure (nothing to draw)");
        }
        for path in written {
            eprintln!("{experiment}: figure {}", path.display());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let mut sorted = names();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), EXPERIMENTS.len());
        for experiment in EXPERIMENTS {
            assert_eq!(find(experiment.name()).unwrap().name(), experiment.name());
        }
        let error = find("bogus").err().unwrap().to_string();
        assert!(
            error.starts_with("unknown experiment `bogus`; known: rate, concave"),
            "{error}"
        );
    }

    #[test]
    fn options_are_checked_against_what_the_experiment_accepts() {
        let rate = find("rate").unwrap();
        let concave = find("concave").unwrap();
        let scheme = RunOptions {
            scheme: Some(UpdateScheme::Extragradient),
            ..RunOptions::default()
        };
        assert!(scheme.check(rate).is_ok());
        let error = scheme.check(concave).unwrap_err().to_string();
        assert_eq!(
            error,
            "--scheme extragradient: `concave` does not use an update scheme; --scheme is accepted by: rate"
        );
        let zero = RunOptions {
            steps: Some(0),
            ..RunOptions::default()
        };
        assert_eq!(
            zero.check(rate).unwrap_err().to_string(),
            "--steps 0: `rate` needs at least 1 (full-batch training steps)"
        );
        let max = rate.steps().max;
        let many = RunOptions {
            steps: Some(max + 1),
            ..RunOptions::default()
        };
        assert!(many.check(rate).unwrap_err().to_string().contains("at most 1000000"));
        let exactly = RunOptions {
            steps: Some(max),
            ..RunOptions::default()
        };
        assert!(exactly.check(rate).is_ok());
    }

    #[test]
    fn a_skipped_experiment_prints_no_json_and_says_why_in_the_tables() {
        let outcome = Outcome::skipped("sparsity", "Controlled sparsity", "no data");
        let mut json = Vec::new();
        outcome.write(&mut json, true).unwrap();
        assert!(json.is_empty());
        let mut text = Vec::new();
        outcome.write(&mut text, false).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "Controlled sparsity: skipped: no data\n\n"
        );
    }
}
