//! One epoch of Feasible Learning on Fashion-MNIST (the setup of
//! [`FeasibleLearningConfig::fashion`]: one multiplier per training sample,
//! nuPI, AdamW, batches of 256; with the multipliers from 0 and nuPI step
//! 1e-2 that `scripts/bench_vs_pytorch.py` mirrors, the experiment's
//! dynamics before issue 14), timed over the training loop only (not the
//! loading of the data, not the evaluation after it), with the accuracies
//! and constraint values it ends at, so that another implementation of the
//! same epoch can be checked against it before the times are compared
//! (`scripts/bench-vs-pytorch.sh`).

use serde::Serialize;

use crate::data::classification::Dataset;
use crate::experiments::feasible_learning::{FeasibleLearningConfig, run_one};

/// The timing and the end state of one epoch.
#[derive(Clone, Debug, Serialize)]
pub struct FlEpoch {
    /// Always `fl_epoch`.
    pub bench: &'static str,
    /// Training steps in the epoch.
    pub steps: usize,
    /// Wall time of the epoch's training loop, seconds.
    pub seconds: f64,
    /// Fraction of training samples whose loss is at most ε after the epoch.
    pub train_frac_satisfied: f64,
    /// Fraction of test samples whose loss is at most ε.
    pub val_frac_satisfied: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Test accuracy.
    pub val_acc: f64,
    /// Mean training cross-entropy.
    pub mean_train_loss: f64,
    /// The largest multiplier.
    pub max_multiplier: f64,
}

/// Trains the Fashion-MNIST Feasible Learning model (`feasible`, no slack)
/// for one epoch on `data` and measures it.
pub fn run(data: &Dataset) -> anyhow::Result<FlEpoch> {
    let config = FeasibleLearningConfig {
        epochs: 1,
        initial_multiplier: 0.0,
        dual_lr: 1e-2,
        // The sum of `λ_i CE_i`, as the PyTorch mirror in
        // `scripts/bench_vs_pytorch.py` descends it.
        batch_mean: false,
        ..FeasibleLearningConfig::fashion()
    };
    let batch = config.batch.unwrap_or(data.train_len()).max(1);
    let row = run_one(data, &config, "feasible")?;
    Ok(FlEpoch {
        bench: "fl_epoch",
        steps: data.train_len().div_ceil(batch),
        seconds: row.seconds,
        train_frac_satisfied: row.train_frac_satisfied,
        val_frac_satisfied: row.val_frac_satisfied,
        train_acc: row.train_acc,
        val_acc: row.val_acc,
        mean_train_loss: row.mean_train_loss,
        max_multiplier: row.max_multiplier,
    })
}

/// Renders one epoch's result.
pub fn render(epoch: &FlEpoch) -> String {
    format!(
        "Feasible Learning, Fashion-MNIST, one epoch ({} steps of 256): {:.3} s\n\
         \x20 train acc {:.2}%, test acc {:.2}%, train samples with loss <= eps {:.2}%, max multiplier {:.4}\n",
        epoch.steps,
        epoch.seconds,
        100.0 * epoch.train_acc,
        100.0 * epoch.val_acc,
        100.0 * epoch.train_frac_satisfied,
        epoch.max_multiplier
    )
}
