//! Observers: every step's [`StepReport`] goes to each registered observer.
//!
//! Observers run after a step is computed and before it is committed; if one
//! fails, the step is not committed (the dual state stays as it was) and the
//! error names the observer. Two observers come with the crate: an
//! in-memory [`History`] and a [`JsonLinesWriter`]. [`Every`] thins any
//! observer out to every n-th step.

use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{FeasibleError, Result};
use crate::report::StepReport;

/// The error an observer returns.
pub type ObserverError = Box<dyn Error + Send + Sync>;

/// Receives every step's report.
pub trait Observer: Send {
    /// A name for error messages.
    fn name(&self) -> &str;

    /// Called with every step's report.
    fn on_step(&mut self, report: &StepReport) -> Result<(), ObserverError>;

    /// Called by [`ConstrainedOptimizer::finish`](crate::ConstrainedOptimizer::finish)
    /// (flush files here). Does nothing by default.
    fn on_finish(&mut self) -> Result<(), ObserverError> {
        Ok(())
    }
}

/// Keeps every report in memory. Cloning gives another handle to the same
/// history: register one clone with the optimizer, read the other.
///
/// ```
/// use feasible::History;
/// let history = History::new();
/// let reader = history.clone();
/// assert!(reader.reports().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct History {
    reports: Arc<Mutex<Vec<StepReport>>>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the reports so far.
    pub fn reports(&self) -> Vec<StepReport> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The number of reports so far.
    pub fn len(&self) -> usize {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no report arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The multiplier trajectory of one constraint entry: `(step, λ)` pairs.
    pub fn multiplier_trajectory(&self, constraint: &str, entry: usize) -> Vec<(u64, f64)> {
        let reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        reports
            .iter()
            .filter_map(|r| {
                let c = r.constraint(constraint)?;
                Some((r.step, *c.multipliers.as_ref()?.get(entry)?))
            })
            .collect()
    }
}

impl Observer for History {
    fn name(&self) -> &str {
        "history"
    }

    fn on_step(&mut self, report: &StepReport) -> Result<(), ObserverError> {
        self.reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(report.clone());
        Ok(())
    }
}

/// Writes one JSON object per step and line.
pub struct JsonLinesWriter<W: Write + Send> {
    writer: W,
    name: String,
}

impl<W: Write + Send> JsonLinesWriter<W> {
    /// Writes to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            writer,
            name: "json-lines writer".to_string(),
        }
    }

    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl JsonLinesWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|source| FeasibleError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            writer: BufWriter::new(file),
            name: format!("json-lines writer {}", path.display()),
        })
    }
}

impl<W: Write + Send> Observer for JsonLinesWriter<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_step(&mut self, report: &StepReport) -> Result<(), ObserverError> {
        serde_json::to_writer(&mut self.writer, report)?;
        self.writer.write_all(b"\n")?;
        Ok(())
    }

    fn on_finish(&mut self) -> Result<(), ObserverError> {
        self.writer.flush()?;
        Ok(())
    }
}

/// Passes every `n`-th report (steps `n, 2n, ...`) to the inner observer.
pub struct Every<O> {
    n: u64,
    inner: O,
}

impl<O: Observer> Every<O> {
    /// Thins `inner` out to every `n`-th step (`n = 0` is taken as 1).
    pub fn new(n: u64, inner: O) -> Self {
        Self { n: n.max(1), inner }
    }
}

impl<O: Observer> Observer for Every<O> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn on_step(&mut self, report: &StepReport) -> Result<(), ObserverError> {
        if report.step.is_multiple_of(self.n) {
            self.inner.on_step(report)
        } else {
            Ok(())
        }
    }

    fn on_finish(&mut self) -> Result<(), ObserverError> {
        self.inner.on_finish()
    }
}
