//! The models an experiment trained, saved for `feasible audit`.
//!
//! `feasible reproduce NAME --models DIR` writes each constrained model an
//! experiment trained into `DIR/NAME/RUN/`: the model (`model.bpk`, burn's
//! own record, or `model.json` for a model held on the host), `experiment.json`
//! (which experiment and run, and the options that rebuild its data: `--quick`,
//! `--full`, `--steps`, `--scheme`), and the audit of its requirements
//! (`audit.json`, `audit.md`). `feasible audit DIR/NAME/RUN` reloads the data
//! and the model and audits again, as it does for a run of `feasible train`:
//! each requirement on the training data and on data the model has not seen,
//! with a confidence interval and a verdict ([`crate::audit`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::registry::{self, Experiment, RunOptions};
use crate::audit::Audit;

/// A saved run's description.
pub const SAVED_FILE: &str = "experiment.json";
/// A model saved in burn's record format.
pub const MODEL_RECORD: &str = "model.bpk";
/// A model held on the host, saved as JSON.
pub const MODEL_JSON: &str = "model.json";
/// The confidence of every experiment's audit.
pub const CONFIDENCE: f64 = 0.95;

/// What `experiment.json` records: enough to rebuild the run's data and
/// reload its model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRun {
    /// The experiment's name (`feasible reproduce NAME`).
    pub experiment: String,
    /// The run's name within it (`lagrangian-seed0`).
    pub run: String,
    /// `--quick` was given.
    pub quick: bool,
    /// `--full` was given.
    pub full: bool,
    /// `--steps`, if given.
    pub steps: Option<usize>,
    /// `--scheme`, if given (its name).
    pub scheme: Option<String>,
    /// What the experiment needs to tell this run from its others (the
    /// seed, the method, the target, ...).
    pub detail: serde_json::Value,
}

impl SavedRun {
    /// The options the run was trained with (on the flex device, one
    /// thread, no progress bar).
    ///
    /// # Errors
    /// A scheme name the core does not know.
    pub fn options(&self) -> anyhow::Result<RunOptions> {
        let scheme = match &self.scheme {
            Some(name) => Some(name.parse().map_err(|e| anyhow::anyhow!("{SAVED_FILE}: scheme: {e}"))?),
            None => None,
        };
        Ok(RunOptions {
            steps: self.steps,
            scheme,
            quick: self.quick,
            full: self.full,
            ..RunOptions::default()
        })
    }

    /// The detail, as the experiment's own type.
    ///
    /// # Errors
    /// A detail of another shape (a file edited, or another version's).
    pub fn detail<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_value(self.detail.clone()).with_context(|| {
            format!(
                "{SAVED_FILE}: the detail of run `{}` of `{}`",
                self.run, self.experiment
            )
        })
    }
}

/// Writes a model's files into a run directory.
pub type WriteModel = Box<dyn FnOnce(&Path) -> anyhow::Result<()>>;

/// One model an experiment hands over for `--models`.
pub struct SavedModel {
    run: String,
    detail: serde_json::Value,
    write: WriteModel,
}

impl SavedModel {
    /// The model of run `run`, told apart by `detail`, written by `write`.
    ///
    /// # Errors
    /// A detail that does not serialise.
    pub fn new(
        run: impl Into<String>,
        detail: &impl Serialize,
        write: impl FnOnce(&Path) -> anyhow::Result<()> + 'static,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            run: run.into(),
            detail: serde_json::to_value(detail)?,
            write: Box::new(write),
        })
    }

    /// The run's name.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Saves the model into `root/EXPERIMENT/RUN/` and audits it from the
    /// files written (so the audit is that of the saved model); returns the
    /// directory and the audit.
    ///
    /// # Errors
    /// A file that cannot be written, or an audit that fails.
    pub fn save(
        self,
        experiment: &dyn Experiment,
        options: &RunOptions,
        root: &Path,
    ) -> anyhow::Result<(PathBuf, Audit)> {
        let dir = root.join(experiment.name()).join(&self.run);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        (self.write)(&dir).with_context(|| format!("saving the model into {}", dir.display()))?;
        let saved = SavedRun {
            experiment: experiment.name().to_string(),
            run: self.run,
            quick: options.quick,
            full: options.full,
            steps: options.steps,
            scheme: options.scheme.map(|s| s.name().to_string()),
            detail: self.detail,
        };
        let text = serde_json::to_string_pretty(&saved)? + "\n";
        std::fs::write(dir.join(SAVED_FILE), text)
            .with_context(|| format!("writing {}", dir.join(SAVED_FILE).display()))?;
        let audit = audit(&dir)?;
        Ok((dir, audit))
    }
}

/// Writes `value` as JSON into `dir/model.json` (a model held on the host).
///
/// # Errors
/// A file that cannot be written.
pub fn write_json(dir: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let path = dir.join(MODEL_JSON);
    std::fs::write(&path, serde_json::to_string(value)? + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Reads `dir/model.json`.
///
/// # Errors
/// A missing file or one of another shape.
pub fn read_json<T: DeserializeOwned>(dir: &Path) -> anyhow::Result<T> {
    let path = dir.join(MODEL_JSON);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Writes `model` in burn's record format into `dir/model.bpk`.
///
/// # Errors
/// A file that cannot be written.
pub fn write_record<M: burn::module::Module>(dir: &Path, model: M) -> anyhow::Result<()> {
    write_record_named(dir, MODEL_RECORD, model)
}

/// Writes `model` in burn's record format into `dir/name` (a second model
/// a run needs: the dense network before pruning).
///
/// # Errors
/// A file that cannot be written.
pub fn write_record_named<M: burn::module::Module>(dir: &Path, name: &str, model: M) -> anyhow::Result<()> {
    let path = dir.join(name);
    model
        .save_file(&path)
        .map_err(|e| anyhow::anyhow!("saving the model to {}: {e:?}", path.display()))
}

/// Loads `dir/model.bpk` into `fresh`, a model of the same shape.
///
/// # Errors
/// A missing file, or a record of another shape.
pub fn read_record<M: burn::module::Module>(dir: &Path, fresh: M) -> anyhow::Result<M> {
    read_record_named(dir, MODEL_RECORD, fresh)
}

/// Loads `dir/name` into `fresh`, a model of the same shape.
///
/// # Errors
/// A missing file, or a record of another shape.
pub fn read_record_named<M: burn::module::Module>(dir: &Path, name: &str, fresh: M) -> anyhow::Result<M> {
    let path = dir.join(name);
    fresh
        .try_load_file(&path)
        .map_err(|e| anyhow::anyhow!("loading the model {}: {e:?}", path.display()))
}

/// Reads `dir/experiment.json`.
///
/// # Errors
/// A missing or malformed file.
pub fn read(dir: &Path) -> anyhow::Result<SavedRun> {
    let path = dir.join(SAVED_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Audits the run in `dir`, a run directory of `feasible train` (with
/// `run.json`) or a model saved by `feasible reproduce --models` (with
/// `experiment.json`): reloads its data and model, audits every
/// requirement on every split, and rewrites `audit.json` and `audit.md`.
///
/// # Errors
/// A directory that is neither, an unknown experiment, data or a model
/// that cannot be loaded.
pub fn audit(dir: &Path) -> anyhow::Result<Audit> {
    if dir.join(crate::train::run::RUN_FILE).exists() {
        return crate::train::audit(dir);
    }
    if !dir.join(SAVED_FILE).exists() {
        anyhow::bail!(
            "{} is neither a run directory of `feasible train` (no {}) nor a model saved by `feasible reproduce --models` (no {SAVED_FILE})",
            dir.display(),
            crate::train::run::RUN_FILE
        );
    }
    let saved = read(dir)?;
    let experiment = registry::find(&saved.experiment)?;
    let audit = experiment
        .audit(&saved, dir)
        .with_context(|| format!("auditing run `{}` of `{}`", saved.run, saved.experiment))?;
    audit.write(dir)?;
    Ok(audit)
}
