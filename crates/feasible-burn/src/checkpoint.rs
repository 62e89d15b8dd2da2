//! Saving and resuming a constrained training run exactly.
//!
//! One file holds everything a step depends on: the model's weights, the
//! primal optimizer's state (burn's own `burnpack` bytes for both), the
//! whole dual state (multipliers, dual optimizer states, penalty
//! coefficients, step count; JSON) and the trainer's learning rate and RNG
//! seed. It is written atomically with a checksum by
//! [`feasible::checkpoint`]: a crash while saving leaves the previous file,
//! and a truncated or corrupted file is refused with the reason. Loading
//! checks everything before it changes anything.
//!
//! Running `N` steps, or `k` steps, saving, loading into a freshly built
//! trainer and model, and running `N - k` more gives the same model and dual
//! state bit for bit (this crate's tests check it for every dual optimizer),
//! provided random draws go through [`ConstrainedTrainer::with_rng`].

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use feasible::DualState;
use feasible::checkpoint::{read_verified, write_atomic};

use crate::error::{Error, Result};
use crate::trainer::ConstrainedTrainer;

/// The checkpoint kind written in the file's header.
pub const KIND: &str = "feasible_burn_trainer";

/// What the trainer itself keeps, besides the three big parts.
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    format: String,
    version: u32,
    lr: f64,
    seed: Option<u64>,
}

const FORMAT: &str = "feasible-burn.trainer";
const VERSION: u32 = 1;

/// Length-prefixed sections: `u64` little-endian length, then the bytes.
fn pack(sections: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sections.iter().map(|s| s.len() + 8).sum());
    for section in sections {
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    out
}

fn unpack(mut bytes: &[u8], count: usize) -> Option<Vec<&[u8]>> {
    let mut sections = Vec::with_capacity(count);
    for _ in 0..count {
        let (length, rest) = bytes.split_first_chunk::<8>()?;
        let length = usize::try_from(u64::from_le_bytes(*length)).ok()?;
        if rest.len() < length {
            return None;
        }
        let (section, rest) = rest.split_at(length);
        sections.push(section);
        bytes = rest;
    }
    bytes.is_empty().then_some(sections)
}

impl ConstrainedTrainer {
    /// Writes `model`, the primal optimizer state, the dual state, the
    /// learning rate and the RNG seed to `path`, atomically.
    pub fn save<M: Module>(&self, path: impl AsRef<Path>, model: &M) -> Result<()> {
        let path = path.as_ref();
        let failed = |what: &str, e: &dyn std::fmt::Debug| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot encode the {what}: {e:?}"),
        };
        let meta = Meta {
            format: FORMAT.to_string(),
            version: VERSION,
            lr: self.lr(),
            seed: self.seed(),
        };
        let meta = serde_json::to_vec(&meta).map_err(|e| failed("trainer settings", &e))?;
        let dual = self.dual().state().to_json()?;
        let primal = self
            .primal()
            .into_bytes()
            .map_err(|e| failed("primal optimizer state", &e))?;
        let weights = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| failed("model weights", &e))?;
        let payload = pack(&[&meta, dual.as_bytes(), &primal, &weights]);
        write_atomic(path, KIND, &payload)?;
        Ok(())
    }

    /// Reads a checkpoint written by [`ConstrainedTrainer::save`] into this
    /// trainer and into `model` (a model of the same architecture, freshly
    /// built: its weights are replaced). The trainer must declare the same
    /// constraints and formulations, and its primal optimizer must be of
    /// the same kind. On error, neither the trainer nor `model` changed.
    pub fn load<M: Module>(&mut self, path: impl AsRef<Path>, model: M) -> Result<M, crate::StepError<M>> {
        let path = path.as_ref();
        let loaded = (|| -> Result<_> {
            let bad = |reason: String| Error::Checkpoint {
                path: path.to_path_buf(),
                reason,
            };
            let payload = read_verified(path, KIND)?;
            let [meta, dual, primal, weights] = unpack(&payload, 4)
                .and_then(|s| <[&[u8]; 4]>::try_from(s).ok())
                .ok_or_else(|| bad("the sections of the payload do not add up".to_string()))?;
            let meta: Meta =
                serde_json::from_slice(meta).map_err(|e| bad(format!("unreadable trainer settings: {e}")))?;
            if meta.format != FORMAT || meta.version != VERSION {
                return Err(bad(format!(
                    "format `{}` version {}, this build reads `{FORMAT}` version {VERSION}",
                    meta.format, meta.version
                )));
            }
            let dual = std::str::from_utf8(dual)
                .map_err(|e| bad(format!("the dual state is not text: {e}")))
                .and_then(|text| Ok(DualState::from_json(text)?))?;
            let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
                .map_err(|e| bad(format!("unreadable model weights: {e:?}")))?;
            let primal = self
                .primal()
                .clone()
                .from_bytes(Bytes::from_bytes_vec(primal.to_vec()))
                .map_err(|e| bad(format!("unreadable primal optimizer state: {e:?}")))?;
            Ok((meta, dual, record, primal))
        })();
        let (meta, dual, record, primal) = match loaded {
            Ok(parts) => parts,
            Err(error) => return Err(crate::StepError { model, error }),
        };
        let refuse = |model: M, reason: String| {
            Err(crate::StepError {
                model,
                error: Error::Checkpoint {
                    path: path.to_path_buf(),
                    reason,
                },
            })
        };
        // Everything that can fail is checked before anything changes.
        if meta.seed.is_some() && self.seed().is_none() {
            return refuse(
                model,
                "the run used a seeded RNG: build the trainer with `with_rng(device, seed)` before loading".to_string(),
            );
        }
        if !(meta.lr.is_finite() && meta.lr >= 0.0) {
            return refuse(model, format!("invalid learning rate {}", meta.lr));
        }
        let loaded = match model.clone().try_load_record(record) {
            Ok(loaded) => loaded,
            Err(e) => return refuse(model, format!("the weights do not fit this model: {e:?}")),
        };
        if let Err(error) = self.dual_mut().restore(dual) {
            return Err(crate::StepError {
                model,
                error: error.into(),
            });
        }
        self.set_primal(primal);
        self.set_lr(meta.lr).ok();
        self.set_seed(meta.seed);
        Ok(loaded)
    }
}
