//! Training a run and auditing it: the loop (the library's user-loop API,
//! [`Constraints`]), the files of the run directory, and reloading a run
//! for `feasible audit`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use feasible::ConstrainedOptimizer;
use feasible_burn::random::SplitMix64;
use feasible_burn::{Constraints, Evaluation};
use serde::{Deserialize, Serialize};

use super::config::{self, Source};
use super::constraints::{self, Batch, Predictions, Resolved};
use super::data::{self, TrainData};
use super::history::{self, Step};
use super::model::Network;
use super::plan::{self, Overrides, Plan, PrimalKind};
use crate::audit::Audit;
use crate::data::classification::{epoch_batches, evaluate, features, labels};

/// The model's file in the run directory.
pub const MODEL_FILE: &str = "model.bpk";
/// The dual state's file.
pub const DUAL_FILE: &str = "dual.json";
/// The configuration's copy.
pub const CONFIG_FILE: &str = "config.toml";
/// Where relative data paths were resolved and the overrides used.
pub const RUN_FILE: &str = "run.json";

/// What `run.json` records, to reload the same data for an audit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    /// The directory of the original configuration file.
    pub config_dir: PathBuf,
    /// The command line's overrides.
    pub overrides: Overrides,
}

/// The outcome of a training.
pub struct Trained {
    /// Every step.
    pub history: Vec<Step>,
    /// The audit of the trained model.
    pub audit: Audit,
    /// The figures written.
    pub plots: Vec<PathBuf>,
}

struct Prepared {
    plan: Plan,
    data: TrainData,
    resolved: Vec<Resolved>,
}

fn prepare(source: &Source, base: &Path, overrides: Overrides) -> anyhow::Result<Prepared> {
    let parsed = config::parse(source)?;
    let plan = plan::check(&parsed, source, overrides, base)?;
    let data = data::load(&plan.data, source, plan.training.seed).map_err(|e| match e {
        data::LoadError::Config(c) => anyhow::Error::new(c),
        data::LoadError::Data(d) => d,
    })?;
    let resolved = constraints::resolve(&plan.constraints, &data, source)?;
    Ok(Prepared { plan, data, resolved })
}

/// The mean and per-sample cross-entropy and the constraints of one batch.
fn evaluate_batch(
    model: &Network,
    ids: &[usize],
    p: &Prepared,
    rng: &mut SplitMix64,
    device: &Device,
) -> anyhow::Result<Evaluation> {
    let train = p.data.train();
    let xs: Vec<f32> = ids
        .iter()
        .flat_map(|i| train.x[i * p.data.dims..(i + 1) * p.data.dims].iter().copied())
        .collect();
    let ys: Vec<u8> = ids.iter().map(|i| train.labels[*i] as u8).collect();
    let logits = model.forward_train(features(&xs, p.data.dims, device), rng)?;
    let per_sample: Tensor<1> = log_softmax(logits.clone(), 1)
        .gather(1, labels(&ys, device))
        .reshape([ids.len()])
        .neg();
    let batch = Batch {
        ids,
        train,
        classes: p.data.classes,
    };
    constraints::add_batch(
        &p.resolved,
        Evaluation::new(per_sample.clone().mean()),
        &logits,
        &per_sample,
        &batch,
        model,
        p.plan.training.surrogate,
    )
}

/// Trains the run `config_path` describes into `out`: the model, the dual
/// state, the history, the figures and the audit.
pub fn train(config_path: &Path, out: &Path, overrides: Overrides) -> anyhow::Result<Trained> {
    let (source, _) = config::read(config_path)?;
    let base = source.directory();
    let p = prepare(&source, &base, overrides)?;
    let t = &p.plan.training;
    std::fs::create_dir_all(out).with_context(|| format!("creating the run directory {}", out.display()))?;
    std::fs::write(out.join(CONFIG_FILE), &source.text)?;
    let info = RunInfo {
        config_dir: std::path::absolute(&base).unwrap_or(base.clone()),
        overrides,
    };
    std::fs::write(out.join(RUN_FILE), serde_json::to_string_pretty(&info)? + "\n")?;

    let device = t.device.device()?.autodiff();
    let dual = ConstrainedOptimizer::builder()
        .constraints(constraints::declare(&p.resolved, t))
        .scheme(t.scheme)
        .build()?;
    let names: Vec<String> = dual.constraints().iter().map(|c| c.name().to_string()).collect();
    let mut constraints = Constraints::new(dual);
    let mut optimizer: ModuleOptimizer = match t.primal {
        // Every hyperparameter written out (burn 0.22.1's defaults, which
        // docs/train-config.md states): betas 0.9/0.999, epsilon 1e-5, no
        // weight decay for Adam, 1e-4 for AdamW; plain SGD.
        PrimalKind::Adam => AdamConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.999)
            .with_epsilon(1e-5)
            .with_weight_decay(None)
            .init(),
        PrimalKind::AdamW => AdamWConfig::new()
            .with_beta_1(0.9)
            .with_beta_2(0.999)
            .with_epsilon(1e-5)
            .with_weight_decay(1e-4)
            .init(),
        PrimalKind::Sgd => SgdConfig::new().with_momentum(None).with_weight_decay(None).init(),
    };
    let mut model = Network::new(&p.plan.model, p.data.dims, p.data.classes, &device, t.seed)?;
    let mut batches_rng = SplitMix64::new(t.seed ^ 0xba7c);
    let mut gates_rng = SplitMix64::new(t.seed ^ 0x9a7e);
    let mut steps = Vec::new();
    for epoch in 1..=t.epochs {
        for ids in epoch_batches(p.data.train().len(), Some(t.batch_size), &mut batches_rng) {
            let evaluation = evaluate_batch(&model, &ids, &p, &mut gates_rng, &device)?;
            let (objective, pending) = constraints.lagrangian(evaluation)?;
            let grads = GradientsParams::from_grads(objective.backward(), &model);
            model = optimizer.step(t.lr, model, grads);
            let report = if pending.needs_measurement() {
                pending.commit_measured(evaluate_batch(&model, &ids, &p, &mut gates_rng, &device)?)?
            } else {
                pending.commit()?
            };
            steps.push(Step::from_report(&report, epoch));
        }
    }
    let model = model.valid();
    model
        .clone()
        .save_file(out.join(MODEL_FILE))
        .map_err(|e| anyhow::anyhow!("saving the model to {}: {e:?}", out.join(MODEL_FILE).display()))?;
    constraints.optimizer().state().save(out.join(DUAL_FILE))?;
    history::write(&steps, &names, out)?;
    let plots = history::draw(&steps, &names, out)?;
    let audit = audit_model(&model, &p)?;
    audit.write(out)?;
    Ok(Trained {
        history: steps,
        audit,
        plots,
    })
}

/// The audit of a model on every split.
fn audit_model(model: &Network, p: &Prepared) -> anyhow::Result<Audit> {
    let device = p.plan.training.device.device()?;
    let mut audit = Audit::new(p.plan.training.confidence)?;
    let density = model.density()?.map(|(_, d)| d);
    let classes = p.data.classes;
    for split in &p.data.splits {
        let ys: Vec<u8> = split.labels.iter().map(|y| *y as u8).collect();
        let (losses, correct) = evaluate(|x| Ok(model.forward(x)?), &split.x, &ys, p.data.dims, &device)?;
        let predicted = split
            .labels
            .iter()
            .zip(&correct)
            .map(|(y, c)| if *c { *y } else { (y + 1) % classes })
            .collect();
        let predictions = Predictions {
            split,
            predicted,
            losses,
            density,
        };
        constraints::audit_split(&p.resolved, &predictions, classes, &mut audit)?;
    }
    Ok(audit)
}

/// Reloads the run in `dir` (its configuration, data and model), audits it
/// again and rewrites `audit.json` and `audit.md`.
pub fn audit(dir: &Path) -> anyhow::Result<Audit> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).with_context(|| {
            format!(
                "{} is not a run directory of `feasible train`: reading {name}",
                dir.display()
            )
        })
    };
    let info: RunInfo = serde_json::from_str(&read(RUN_FILE)?).with_context(|| format!("parsing {RUN_FILE}"))?;
    let source = Source {
        path: dir.join(CONFIG_FILE),
        text: read(CONFIG_FILE)?,
    };
    let p = prepare(&source, &info.config_dir, info.overrides)?;
    let model = Network::new(
        &p.plan.model,
        p.data.dims,
        p.data.classes,
        &p.plan.training.device.device()?,
        p.plan.training.seed,
    )?
    .try_load_file(dir.join(MODEL_FILE))
    .map_err(|e| anyhow::anyhow!("loading the model {}: {e:?}", dir.join(MODEL_FILE).display()))?;
    let audit = audit_model(&model, &p)?;
    audit.write(dir)?;
    Ok(audit)
}
