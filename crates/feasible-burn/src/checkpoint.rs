//! Saving and resuming a constrained training run exactly.
//!
//! A trainer checkpoint is a directory of four files:
//!
//! | file | what it holds | written by |
//! |------|---------------|------------|
//! | `model.bpk` | the model's weights | burn: [`ModuleRecord`] (burnpack) |
//! | `optimizer.bpk` | the primal optimizer's state | burn: [`OptimizerRecord`] (burnpack) |
//! | `dual.json` | the whole dual state (multipliers, dual optimizer states, penalty coefficients, step count) | the core: [`DualState::save`] |
//! | `manifest.json` | the format and its version, the trainer's learning rate and RNG seed, the primal optimizer's identity, the step count and constraint names, and the length and CRC-32 of each of the three files above | [`feasible::checkpoint::write_atomic`] |
//!
//! The two `.bpk` files are burn's own format, the one burn-train's
//! Learner writes its checkpoints in (`checkpoint/model-{epoch}.bpk`,
//! `checkpoint/optim-{epoch}.bpk`): a burn user needs nothing of this crate
//! to read them.
//!
//! ```
//! # use burn::module::Module;
//! # use burn::nn::{Linear, LinearConfig};
//! # use burn::optim::{OptimizerRecord, SgdConfig};
//! # use burn::tensor::Device;
//! # use feasible::{Constraint, ConstrainedOptimizer};
//! # use feasible_burn::ConstrainedTrainer;
//! # #[derive(Module, Debug)]
//! # struct Model { linear: Linear }
//! # let device = Device::flex().autodiff();
//! # let model = Model { linear: LinearConfig::new(2, 1).init(&device) };
//! # let dual = ConstrainedOptimizer::builder().constraint(Constraint::at_most("z", 1.0)).build()?;
//! # let trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 0.1)?;
//! # let dir = tempfile::tempdir().unwrap();
//! # let run = dir.path().join("run");
//! trainer.save(&run, &model)?;
//! // With burn alone:
//! let fresh = Model { linear: LinearConfig::new(2, 1).init(&device) };
//! let restored = fresh.try_load_file(run.join("model.bpk")).unwrap();
//! let optimizer = SgdConfig::new().init().load(run.join("optimizer.bpk")).unwrap();
//! # let _ = (restored, optimizer);
//! # Ok::<(), feasible_burn::Error>(())
//! ```
//!
//! `dual.json` and `manifest.json` are in the core's checkpoint format
//! (see [`feasible::checkpoint`]): a header line with the kind, length and
//! CRC-32 of the payload, then the payload, JSON text.
//!
//! **Atomic.** Everything is written into a temporary sibling directory
//! (`.<name>.tmp-<pid>-<n>`), each file flushed to disk, the directory
//! flushed; then an existing checkpoint is renamed away
//! (`.<name>.old-<pid>-<n>`), the new one renamed in, and the old one
//! removed. A crash at any moment leaves the old checkpoint or the new one,
//! complete: in the instant between the two renames, the old one is beside
//! the target under its `.old-` name, and [`ConstrainedTrainer::load`] reads
//! it from there when the target is missing. A failed save removes what it
//! wrote; a successful one removes what saves to the same target by
//! processes that no longer run left behind (on Linux). Saves to one path
//! at the same moment (two threads, two processes) may fail, never mix:
//! give each writer its own path.
//!
//! **Verified.** Loading reads the manifest, checks the format version,
//! the length and checksum of each file, that the dual state fits the
//! trainer's constraints and dual optimizers (the core's
//! [`DualState::check_fits`]), that the primal optimizer is the one that
//! saved (see [`ConstrainedTrainer::with_primal_config`]) and that the
//! weights fit the model, all before it changes anything: a refused load
//! leaves the trainer and the model as they were.
//!
//! Running `N` steps, or `k` steps, saving, loading into a freshly built
//! trainer and model, and running `N - k` more gives the same model and dual
//! state bit for bit (this crate's tests check it for every dual optimizer),
//! provided random draws go through [`ConstrainedTrainer::with_rng`].

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use feasible::checkpoint::{read_verified, write_atomic};
use feasible::{DualState, FeasibleError};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::trainer::ConstrainedTrainer;

/// The model's weights, burn's [`ModuleRecord`] in burnpack.
pub const MODEL_FILE: &str = "model.bpk";
/// The primal optimizer's state, burn's [`OptimizerRecord`] in burnpack.
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// The dual state, written by [`DualState::save`].
pub const DUAL_FILE: &str = "dual.json";
/// The manifest: format, version, trainer settings, identities, checksums.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The checkpoint kind of the manifest (see [`feasible::checkpoint`]).
pub const MANIFEST_KIND: &str = "feasible_burn_manifest";
/// The format tag of the manifest.
pub const FORMAT: &str = "feasible-burn.trainer";
/// The version of the checkpoint format this build writes and reads
/// (version 1 was a single file).
pub const VERSION: u32 = 2;

/// The three files a manifest vouches for.
const DATA_FILES: [&str; 3] = [MODEL_FILE, OPTIMIZER_FILE, DUAL_FILE];

/// Makes the temporary names of one process unique across threads and calls.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The primal optimizer as the manifest names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrimalIdentity {
    /// The configuration declared with
    /// [`ConstrainedTrainer::with_primal_config`]: its type and its
    /// hyperparameters (`None` when undeclared).
    pub(crate) config: Option<String>,
    /// The entries of one parameter's state (`momentum.moment_1`, ...),
    /// without the parameter's id; empty before the first step or for a
    /// stateless optimizer.
    pub(crate) state: BTreeSet<String>,
    /// The number of parameters that have a state.
    pub(crate) parameters: usize,
}

impl PrimalIdentity {
    fn describe_config(config: &Option<String>) -> String {
        match config {
            Some(config) => config.clone(),
            None => "an undeclared configuration".to_string(),
        }
    }
}

/// The structure of a primal optimizer's state in burnpack bytes: the
/// entries of each parameter's state (names without the parameter id) and
/// the number of parameters.
fn state_structure(bytes: &Bytes) -> std::result::Result<(BTreeSet<String>, usize), String> {
    let reader = burn_pack::Reader::from_bytes(bytes.clone()).map_err(|e| e.to_string())?;
    let mut entries = BTreeSet::new();
    let mut parameters = BTreeSet::new();
    let names = reader
        .tensor_names()
        .into_iter()
        .map(str::to_string)
        .chain(reader.scalars().keys().cloned());
    for name in names {
        match name.split_once('.') {
            Some((parameter, entry)) => {
                parameters.insert(parameter.to_string());
                entries.insert(entry.to_string());
            }
            None => {
                entries.insert(name);
            }
        }
    }
    Ok((entries, parameters.len()))
}

/// One data file as the manifest records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FileEntry {
    bytes: u64,
    crc32: u32,
}

/// The manifest's payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    /// The primal learning rate.
    lr: f64,
    /// The seed of [`ConstrainedTrainer::with_rng`].
    seed: Option<u64>,
    /// The dual state's step count (for people; the dual state is the truth).
    steps: u64,
    /// The constraints' names, in order (for people; the dual state is
    /// checked against the trainer's constraints).
    constraints: Vec<String>,
    primal: PrimalIdentity,
    files: BTreeMap<String, FileEntry>,
}

/// Where a save stops short, in tests: as a crash would, leaving behind
/// whatever it wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CrashPoint {
    /// After writing the model's file into the temporary directory.
    AfterModel,
    /// After writing every file, before the renames.
    BeforeRename,
    /// After renaming the old checkpoint away, before renaming the new one in.
    BetweenRenames,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| {
        Error::Core(FeasibleError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// `.<name>.<tag>-<pid>-<n>`, next to `path`.
fn sibling(path: &Path, tag: &str, pid: u32, counter: u64) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io_error(path)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a directory",
        ))
    })?;
    let mut sibling = OsString::from(".");
    sibling.push(name);
    sibling.push(format!(".{tag}-{pid}-{counter}"));
    Ok(path.with_file_name(sibling))
}

/// The process id in a sibling's name `.<name>.<tag>-<pid>-<n>`, for
/// `tag` `tmp` or `old`; `None` for any other name.
fn sibling_pid(name: &str, candidate: &str) -> Option<(u32, bool)> {
    let rest = candidate.strip_prefix('.')?.strip_prefix(name)?;
    let (old, rest) = if let Some(rest) = rest.strip_prefix(".old-") {
        (true, rest)
    } else {
        (false, rest.strip_prefix(".tmp-")?)
    };
    let (pid, counter) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(counter) {
        return None;
    }
    Some((pid.parse().ok()?, old))
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Flushes a directory's entries to disk; not every platform can, so a
/// failure is not an error.
fn sync_directory(path: &Path) {
    if let Ok(dir) = File::open(path) {
        let _ = dir.sync_all();
    }
}

/// Writes `bytes` to a new file at `path` and flushes it to disk.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

fn entry(bytes: &[u8]) -> FileEntry {
    FileEntry {
        bytes: bytes.len() as u64,
        crc32: crc32fast::hash(bytes),
    }
}

/// Removes what saves to `path` by processes no longer running left
/// behind. Best effort; Linux only (elsewhere there is no cheap way to
/// tell that a process has ended).
fn remove_leftovers(path: &Path) {
    if !cfg!(target_os = "linux") || !Path::new("/proc/self").exists() {
        return;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let Ok(entries) = fs::read_dir(parent(path)) else {
        return;
    };
    let own = std::process::id();
    for entry in entries.flatten() {
        let candidate = entry.file_name();
        let Some((pid, _)) = candidate.to_str().and_then(|c| sibling_pid(name, c)) else {
            continue;
        };
        if pid == own || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}

/// The checkpoint directory to read for `path`: `path` itself, or, when it
/// is missing, the old checkpoint a save interrupted between its two
/// renames left beside it.
fn resolve(path: &Path) -> Result<PathBuf> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let missing = || Error::CheckpointMissing {
        path: path.to_path_buf(),
    };
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(missing)?;
    let Ok(entries) = fs::read_dir(parent(path)) else {
        return Err(missing());
    };
    let mut candidates: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|c| sibling_pid(name, c))
                .is_some_and(|(_, old)| old)
        })
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    candidates.sort();
    candidates.pop().ok_or_else(missing)
}

/// Reads the manifest of the checkpoint directory `dir` (named `path` in
/// errors), checking the format version.
fn read_manifest(path: &Path, dir: &Path) -> Result<Manifest> {
    let file = dir.join(MANIFEST_FILE);
    let bad = |reason: String| Error::Checkpoint {
        path: file.clone(),
        reason,
    };
    if dir.is_file() {
        // Version 1 was one file in the core's checkpoint format.
        return match read_verified(dir, "feasible_burn_trainer") {
            Ok(_) => Err(Error::CheckpointVersion {
                path: path.to_path_buf(),
                found: 1,
                expected: VERSION,
            }),
            Err(_) => Err(Error::Checkpoint {
                path: path.to_path_buf(),
                reason: "not a trainer checkpoint (a file, expected a directory)".to_string(),
            }),
        };
    }
    if !file.exists() {
        return Err(Error::CheckpointMissing { path: file });
    }
    let payload = read_verified(&file, MANIFEST_KIND)?;
    let value: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| bad(format!("the manifest is not JSON: {e}")))?;
    let format = value.get("format").and_then(serde_json::Value::as_str);
    if format != Some(FORMAT) {
        return Err(bad(format!(
            "format {}, expected `{FORMAT}`",
            format.map_or("missing".to_string(), |f| format!("`{f}`"))
        )));
    }
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(VERSION)) {
        return match version.and_then(|v| u32::try_from(v).ok()) {
            Some(found) => Err(Error::CheckpointVersion {
                path: path.to_path_buf(),
                found,
                expected: VERSION,
            }),
            None => Err(bad("the manifest has no valid version".to_string())),
        };
    }
    serde_json::from_value(value).map_err(|e| bad(format!("unreadable manifest: {e}")))
}

/// Reads the data file `name` of `dir`, checking it against the manifest.
fn read_data(dir: &Path, manifest: &Manifest, name: &str) -> Result<Vec<u8>> {
    let file = dir.join(name);
    let expected = manifest.files.get(name).ok_or_else(|| Error::Checkpoint {
        path: dir.join(MANIFEST_FILE),
        reason: format!("the manifest does not list `{name}`"),
    })?;
    let bytes = match fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::CheckpointMissing { path: file }),
        Err(e) => return Err(io_error(&file)(e)),
    };
    if bytes.len() as u64 != expected.bytes {
        return Err(Error::CheckpointLength {
            path: file,
            expected: expected.bytes,
            found: bytes.len() as u64,
        });
    }
    let found = crc32fast::hash(&bytes);
    if found != expected.crc32 {
        return Err(Error::CheckpointChecksum {
            path: file,
            expected: expected.crc32,
            found,
        });
    }
    Ok(bytes)
}

impl ConstrainedTrainer {
    /// Writes `model`, the primal optimizer's state, the dual state, the
    /// learning rate and the RNG seed to the checkpoint directory `path`,
    /// atomically (see the [module documentation](self)). `path`'s parent
    /// directory must exist; an existing checkpoint at `path` (or a
    /// single-file one of version 1) is replaced, anything else there is
    /// refused with [`Error::Checkpoint`].
    pub fn save<M: Module>(&self, path: impl AsRef<Path>, model: &M) -> Result<()> {
        self.save_crashing(path.as_ref(), model, None)
    }

    /// [`ConstrainedTrainer::save`], stopping at `crash` (in tests) as a
    /// crash would: without cleaning up.
    pub(crate) fn save_crashing<M: Module>(&self, path: &Path, model: &M, crash: Option<CrashPoint>) -> Result<()> {
        let failed = |what: &str, e: &dyn std::fmt::Debug| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot encode the {what}: {e:?}"),
        };
        let in_the_way = |what: &str| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("{what} that is not a trainer checkpoint is in the way; it is not replaced"),
        };
        if path.is_file() {
            // Version 1 was a single file: it is replaced; nothing else is.
            if read_verified(path, "feasible_burn_trainer").is_err() {
                return Err(in_the_way("a file"));
            }
        } else if path.exists() && !path.join(MANIFEST_FILE).is_file() {
            let empty = fs::read_dir(path).map(|mut d| d.next().is_none()).unwrap_or(false);
            if !empty {
                return Err(in_the_way("a directory"));
            }
        }
        // Everything is encoded before anything is written.
        let state = self.dual().state();
        state.to_json()?;
        let primal = self
            .primal()
            .into_bytes()
            .map_err(|e| failed("primal optimizer state", &e))?;
        let (entries, parameters) = state_structure(&primal).map_err(|e| failed("primal optimizer state", &e))?;
        let weights = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| failed("model weights", &e))?;

        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let tmp = sibling(path, "tmp", pid, counter)?;
        fs::create_dir(&tmp).map_err(io_error(path))?;
        let written = (|| -> Result<()> {
            write_file(&tmp.join(MODEL_FILE), &weights)?;
            if crash == Some(CrashPoint::AfterModel) {
                return Err(crashed());
            }
            write_file(&tmp.join(OPTIMIZER_FILE), &primal)?;
            state.save(tmp.join(DUAL_FILE))?;
            let dual = fs::read(tmp.join(DUAL_FILE)).map_err(io_error(&tmp.join(DUAL_FILE)))?;
            let manifest = Manifest {
                format: FORMAT.to_string(),
                version: VERSION,
                lr: self.lr(),
                seed: self.seed(),
                steps: state.steps,
                constraints: state.constraints.iter().map(|c| c.name.clone()).collect(),
                primal: PrimalIdentity {
                    config: self.primal_config().map(str::to_string),
                    state: entries,
                    parameters,
                },
                files: [
                    (MODEL_FILE.to_string(), entry(&weights)),
                    (OPTIMIZER_FILE.to_string(), entry(&primal)),
                    (DUAL_FILE.to_string(), entry(&dual)),
                ]
                .into(),
            };
            let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| failed("manifest", &e))?;
            write_atomic(&tmp.join(MANIFEST_FILE), MANIFEST_KIND, &manifest)?;
            sync_directory(&tmp);
            if crash == Some(CrashPoint::BeforeRename) {
                return Err(crashed());
            }
            Ok(())
        })();
        if let Err(error) = written {
            if crash.is_none() {
                let _ = fs::remove_dir_all(&tmp);
            }
            return Err(error);
        }

        // The swap: the old checkpoint away, the new one in, the old one removed.
        let old = if path.exists() {
            let old = sibling(path, "old", pid, counter)?;
            if let Err(e) = fs::rename(path, &old) {
                let _ = fs::remove_dir_all(&tmp);
                return Err(io_error(path)(e));
            }
            Some(old)
        } else {
            None
        };
        if crash == Some(CrashPoint::BetweenRenames) {
            return Err(crashed());
        }
        if let Err(e) = fs::rename(&tmp, path) {
            if let Some(old) = &old {
                let _ = fs::rename(old, path);
            }
            let _ = fs::remove_dir_all(&tmp);
            return Err(io_error(path)(e));
        }
        sync_directory(parent(path));
        if let Some(old) = old {
            let _ = if old.is_dir() {
                fs::remove_dir_all(&old)
            } else {
                fs::remove_file(&old)
            };
        }
        remove_leftovers(path);
        Ok(())
    }

    /// Reads a checkpoint written by [`ConstrainedTrainer::save`] into this
    /// trainer and into `model` (a model of the same architecture, freshly
    /// built: its weights are replaced).
    ///
    /// Refused, with the trainer and `model` unchanged:
    /// - a missing checkpoint or file ([`Error::CheckpointMissing`]), a
    ///   file whose length or checksum is not the manifest's
    ///   ([`Error::CheckpointLength`], [`Error::CheckpointChecksum`]), a
    ///   damaged manifest or dual state (the core's
    ///   [`FeasibleError::CorruptCheckpoint`]);
    /// - another format version ([`Error::CheckpointVersion`]);
    /// - other constraints or other dual optimizers (the core's
    ///   [`DualState::check_fits`]);
    /// - another primal optimizer ([`Error::PrimalOptimizerMismatch`]);
    /// - weights that do not fit `model`, a seeded run into a trainer
    ///   without [`ConstrainedTrainer::with_rng`] ([`Error::Checkpoint`]).
    pub fn load<M: Module>(&mut self, path: impl AsRef<Path>, model: M) -> Result<M, crate::StepError<M>> {
        let path = path.as_ref();
        match self.read_checkpoint(path) {
            Ok(loaded) => {
                let Loaded {
                    dual,
                    primal,
                    weights,
                    lr,
                    seed,
                } = loaded;
                let loaded = match model.clone().try_load_record(weights) {
                    Ok(loaded) => loaded,
                    Err(e) => {
                        return Err(crate::StepError {
                            model,
                            error: Error::Checkpoint {
                                path: path.join(MODEL_FILE),
                                reason: format!("the weights do not fit this model: {e:?}"),
                            },
                        });
                    }
                };
                if let Err(error) = self.dual_mut().restore(dual) {
                    return Err(crate::StepError {
                        model,
                        error: error.into(),
                    });
                }
                self.set_primal(primal);
                self.set_lr(lr).ok();
                self.set_seed(seed);
                Ok(loaded)
            }
            Err(error) => Err(crate::StepError { model, error }),
        }
    }

    /// Reads and checks everything a load needs; changes nothing.
    fn read_checkpoint(&self, path: &Path) -> Result<Loaded> {
        let dir = resolve(path)?;
        let manifest = read_manifest(path, &dir)?;
        let [weights, primal, dual] = DATA_FILES.map(|name| read_data(&dir, &manifest, name));
        let (weights, primal, _) = (weights?, primal?, dual?);
        let dual = DualState::load(dir.join(DUAL_FILE))?;
        // Other constraints, other dual optimizers: the core's check.
        dual.check_fits(self.dual().constraints())?;

        // The primal optimizer: the declared configuration, then whether
        // this trainer's optimizer rebuilds every entry of the saved state
        // (burn drops, silently, the state it cannot rebuild).
        let mismatch = |reason: String| Error::PrimalOptimizerMismatch {
            path: path.to_path_buf(),
            saved: PrimalIdentity::describe_config(&manifest.primal.config),
            trainer: PrimalIdentity::describe_config(&self.primal_config().map(str::to_string)),
            reason,
        };
        if manifest.primal.config.as_deref() != self.primal_config() {
            return Err(mismatch("the configurations differ".to_string()));
        }
        let bad = |what: &str, e: &dyn std::fmt::Debug| Error::Checkpoint {
            path: dir.join(what),
            reason: format!("unreadable: {e:?}"),
        };
        let saved = Bytes::from_bytes_vec(primal);
        let (saved_entries, saved_parameters) = state_structure(&saved).map_err(|e| bad(OPTIMIZER_FILE, &e))?;
        let record = OptimizerRecord::from_bytes(saved).map_err(|e| bad(OPTIMIZER_FILE, &e))?;
        let rebuilt = self.primal().clone().load_record(record);
        let rebuilt_bytes = rebuilt.into_bytes().map_err(|e| bad(OPTIMIZER_FILE, &e))?;
        let (entries, parameters) = state_structure(&rebuilt_bytes).map_err(|e| bad(OPTIMIZER_FILE, &e))?;
        if entries != saved_entries || parameters != saved_parameters {
            let list = |entries: &BTreeSet<String>| entries.iter().cloned().collect::<Vec<_>>().join(", ");
            return Err(mismatch(format!(
                "the saved state has entries [{}] for {saved_parameters} parameters; this trainer's \
                 optimizer rebuilds [{}] for {parameters}",
                list(&saved_entries),
                list(&entries)
            )));
        }

        let weights = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights)).map_err(|e| bad(MODEL_FILE, &e))?;
        let refuse = |reason: String| Error::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        if manifest.seed.is_some() && self.seed().is_none() {
            return Err(refuse(
                "the run used a seeded RNG: build the trainer with `with_rng(device, seed)` before loading".to_string(),
            ));
        }
        if !(manifest.lr.is_finite() && manifest.lr >= 0.0) {
            return Err(refuse(format!("invalid learning rate {}", manifest.lr)));
        }
        Ok(Loaded {
            dual,
            primal: rebuilt,
            weights,
            lr: manifest.lr,
            seed: manifest.seed,
        })
    }
}

/// Everything a load applies, read and checked.
struct Loaded {
    dual: DualState,
    primal: burn::optim::ModuleOptimizer,
    weights: ModuleRecord,
    lr: f64,
    seed: Option<u64>,
}

/// The error a save stopped by a [`CrashPoint`] returns.
fn crashed() -> Error {
    Error::Checkpoint {
        path: PathBuf::new(),
        reason: "simulated crash".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::SgdConfig;
    use burn::tensor::Device;
    use feasible::{ConstrainedOptimizer, Constraint};

    use super::*;

    #[derive(Module, Debug)]
    struct Model {
        linear: Linear,
    }

    fn weights(model: &Model) -> Vec<f32> {
        model
            .linear
            .weight
            .val()
            .without_autodiff()
            .try_into_vec_as::<f32>()
            .unwrap()
    }

    fn trainer(lr: f64) -> ConstrainedTrainer {
        let dual = ConstrainedOptimizer::builder()
            .constraint(Constraint::at_most("z", 1.0))
            .build()
            .unwrap();
        ConstrainedTrainer::new(dual, SgdConfig::new().init(), lr).unwrap()
    }

    #[test]
    fn sibling_names_are_recognised() {
        let tmp = sibling(Path::new("/d/run"), "tmp", 42, 7).unwrap();
        assert_eq!(tmp, Path::new("/d/.run.tmp-42-7"));
        assert_eq!(sibling_pid("run", ".run.tmp-42-7"), Some((42, false)));
        assert_eq!(sibling_pid("run", ".run.old-42-7"), Some((42, true)));
        for other in [
            "run",
            ".run.tmp-",
            ".run.tmp-42",
            ".run.tmp-x-1",
            ".runx.tmp-1-1",
            ".run.bak-1-1",
        ] {
            assert_eq!(sibling_pid("run", other), None, "{other}");
        }
    }

    /// A save that crashes at any point leaves a checkpoint that loads: the
    /// old one (the new one was not complete, or not yet in place), and the
    /// next save succeeds and leaves the new one.
    #[test]
    fn a_crash_at_any_point_of_a_save_leaves_the_old_checkpoint_loadable() {
        let device = Device::flex().autodiff();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run");
        let old_model = Model {
            linear: LinearConfig::new(3, 2).init(&device),
        };
        let new_model = Model {
            linear: LinearConfig::new(3, 2).init(&device),
        };
        assert_ne!(weights(&old_model), weights(&new_model));
        for crash in [
            CrashPoint::AfterModel,
            CrashPoint::BeforeRename,
            CrashPoint::BetweenRenames,
        ] {
            trainer(0.25).save(&path, &old_model).unwrap();
            let e = trainer(0.5).save_crashing(&path, &new_model, Some(crash)).unwrap_err();
            assert!(e.to_string().contains("simulated crash"), "{e}");
            assert_eq!(path.exists(), crash != CrashPoint::BetweenRenames, "{crash:?}");

            let mut resumed = trainer(0.1);
            let template = Model {
                linear: LinearConfig::new(3, 2).init(&device),
            };
            let loaded = resumed.load(&path, template).unwrap();
            assert_eq!(weights(&loaded), weights(&old_model), "{crash:?}");
            assert_eq!(resumed.lr(), 0.25, "{crash:?}");

            // Our own leftovers are kept (another thread of this process
            // might be saving); the next save completes.
            trainer(0.5).save(&path, &new_model).unwrap();
            let loaded = resumed
                .load(
                    &path,
                    Model {
                        linear: LinearConfig::new(3, 2).init(&device),
                    },
                )
                .unwrap();
            assert_eq!(weights(&loaded), weights(&new_model), "{crash:?}");
            assert_eq!(resumed.lr(), 0.5, "{crash:?}");
            for entry in fs::read_dir(dir.path()).unwrap() {
                let entry = entry.unwrap();
                if entry.file_name() != "run" {
                    fs::remove_dir_all(entry.path()).unwrap();
                }
            }
        }
    }

    #[test]
    fn a_directory_that_is_not_a_checkpoint_is_not_replaced() {
        let device = Device::flex().autodiff();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("precious.txt"), b"keep me").unwrap();
        let model = Model {
            linear: LinearConfig::new(3, 2).init(&device),
        };
        let e = trainer(0.1).save(&path, &model).unwrap_err();
        assert!(e.to_string().contains("not a trainer checkpoint"), "{e}");
        assert_eq!(fs::read(path.join("precious.txt")).unwrap(), b"keep me");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Nor is a file, unless it is a checkpoint of version 1.
        let file = dir.path().join("notes.txt");
        fs::write(&file, b"keep me too").unwrap();
        let e = trainer(0.1).save(&file, &model).unwrap_err();
        assert!(e.to_string().contains("a file that is not a trainer checkpoint"), "{e}");
        assert_eq!(fs::read(&file).unwrap(), b"keep me too");
        let single = dir.path().join("run.ckpt");
        write_atomic(&single, "feasible_burn_trainer", b"sections").unwrap();
        trainer(0.1).save(&single, &model).unwrap();
        assert!(single.join(MANIFEST_FILE).is_file());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
