//! What TFCO's two fairness experiments (Adult: [`super::fairness`];
//! COMPAS: [`super::compas`]) share: the runs per seed (unconstrained,
//! Lagrangian, TFCO's proxy-Lagrangian), the four solution selections of a
//! constrained run, and the sweep over the proxy-Lagrangian's dual step.

use std::path::Path;

use feasible::selection::Snapshots;
use feasible::{Adam, ConstrainedOptimizer, Constraint, Formulation, GradientAscent, ProxyLagrangian, UpdateScheme};
use serde::Serialize;

use super::fairness::{Measured, expected};
use super::saved::SavedModel;
use crate::audit::{Audit, Evidence, Requirement};

/// How the proxy-Lagrangian's swap-regret matrix moves (its `log M`
/// ascends; see [`feasible::ProxyLagrangian`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "rule", content = "step", rename_all = "snake_case")]
pub enum ProxyStep {
    /// Gradient ascent with step `η`: the multiplicative update of Cotter et
    /// al. 2019, Algorithm 2 (TFCO's tests run it with `η = 1`).
    Multiplicative(f64),
    /// Adam with step `η`, as TFCO's notebooks run it: its optimizer uses the
    /// model's optimizer (Adam 0.01) for the matrix unless told otherwise.
    Adam(f64),
}

impl ProxyStep {
    /// The formulation.
    pub fn formulation(self) -> ProxyLagrangian {
        match self {
            ProxyStep::Multiplicative(step) => Formulation::proxy_lagrangian(GradientAscent::new(step)),
            ProxyStep::Adam(step) => Formulation::proxy_lagrangian(Adam::new(step)),
        }
    }

    /// `multiplicative 1`, `adam 0.01`.
    pub fn label(self) -> String {
        match self {
            ProxyStep::Multiplicative(step) => format!("multiplicative {step}"),
            ProxyStep::Adam(step) => format!("adam {step}"),
        }
    }
}

/// The steps the sweep compares: TFCO's notebooks' Adam 0.01, and the
/// multiplicative update with steps 0.1, 1 and 10.
pub fn default_sweep() -> Vec<ProxyStep> {
    vec![
        ProxyStep::Adam(0.01),
        ProxyStep::Multiplicative(0.1),
        ProxyStep::Multiplicative(1.0),
        ProxyStep::Multiplicative(10.0),
    ]
}

/// How a training run treats the constraints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Training {
    /// Without them.
    Unconstrained,
    /// The Lagrangian: gradient ascent on the multipliers with the
    /// experiment's dual step, alternating dual→primal updates.
    Lagrangian,
    /// TFCO's proxy-Lagrangian, both players stepping at the same point.
    ProxyLagrangian(ProxyStep),
}

impl Training {
    /// The prefix of the row names of its selections.
    pub fn prefix(self) -> &'static str {
        match self {
            Training::ProxyLagrangian(_) => "proxy_",
            _ => "",
        }
    }

    /// The run's constrained optimizer: `make` gives the constraints for a
    /// formulation.
    pub fn optimizer(
        self,
        dual_lr: f64,
        make: impl FnOnce(Formulation) -> Vec<Constraint>,
    ) -> feasible::Result<ConstrainedOptimizer> {
        let builder = ConstrainedOptimizer::builder();
        match self {
            Training::Unconstrained => builder,
            Training::Lagrangian => builder
                .scheme(UpdateScheme::AlternatingDualPrimal)
                .constraints(make(Formulation::lagrangian(GradientAscent::new(dual_lr)).into())),
            Training::ProxyLagrangian(step) => builder
                .scheme(UpdateScheme::Simultaneous)
                .constraints(make(step.formulation().into())),
        }
        .build()
    }
}

/// The runs: per seed the unconstrained, Lagrangian and proxy-Lagrangian
/// (`proxy`) trainings, in that order; then, on the first seed, the
/// proxy-Lagrangian with every other step of `sweep`.
pub fn jobs(seeds: &[u64], proxy: ProxyStep, sweep: &[ProxyStep]) -> Vec<(u64, Training)> {
    let mut jobs: Vec<(u64, Training)> = seeds
        .iter()
        .flat_map(|s| {
            [
                Training::Unconstrained,
                Training::Lagrangian,
                Training::ProxyLagrangian(proxy),
            ]
            .map(|t| (*s, t))
        })
        .collect();
    if let Some(first) = seeds.first() {
        jobs.extend(
            sweep
                .iter()
                .filter(|s| **s != proxy)
                .map(|s| (*first, Training::ProxyLagrangian(*s))),
        );
    }
    jobs
}

/// The runs per seed that make the rows (the rest of [`jobs`] is the
/// sweep).
pub const RUNS_PER_SEED: usize = 3;

/// One selection of a constrained run's snapshots.
pub struct Selection {
    /// `last_iterate`, `best_iterate`, `uniform` or `best_distribution`.
    pub name: &'static str,
    /// On the training set (expected, for a mixture).
    pub train: Measured,
    /// On the test set (likewise).
    pub test: Measured,
    /// The snapshots (epochs, from 1) with their probabilities.
    pub snapshots: Vec<(usize, f64)>,
}

/// The last iterate, the best iterate by TFCO's rank heuristic, the
/// uniform mixture of every snapshot and the best distribution over at most
/// `m + 1` snapshots (TFCO's "T-" and "m-stochastic"), selected on the
/// training set, from each epoch's `(train, test)` measurements.
pub fn selections(measured: &[(Measured, Measured)], groups: usize) -> anyhow::Result<Vec<Selection>> {
    let mut snapshots = Snapshots::new(groups);
    for (train, _) in measured {
        snapshots.push(train.error, train.violations.clone())?;
    }
    let last = measured
        .len()
        .checked_sub(1)
        .ok_or_else(|| anyhow::anyhow!("no epochs were trained"))?;
    let best = snapshots.best_iterate()?;
    let single = |name, k: usize| Selection {
        name,
        train: measured[k].0.clone(),
        test: measured[k].1.clone(),
        snapshots: vec![(k + 1, 1.0)],
    };
    let mut out = vec![single("last_iterate", last), single("best_iterate", best)];
    let trains: Vec<&Measured> = measured.iter().map(|m| &m.0).collect();
    let tests: Vec<&Measured> = measured.iter().map(|m| &m.1).collect();
    for (name, distribution) in [
        ("uniform", snapshots.uniform()?),
        ("best_distribution", snapshots.best_distribution()?),
    ] {
        out.push(Selection {
            name,
            train: expected(&distribution, &trains)?,
            test: expected(&distribution, &tests)?,
            snapshots: distribution.weights.iter().map(|(i, p)| (i + 1, *p)).collect(),
        });
    }
    Ok(out)
}

/// One line of the sweep over the proxy-Lagrangian's dual step: its last
/// iterate and best distribution.
#[derive(Clone, Debug, Serialize)]
pub struct ProxySweepRow {
    /// `fairness_proxy_sweep` or `compas_proxy_sweep`.
    pub experiment: &'static str,
    /// The seed.
    pub seed: u64,
    /// How the matrix moved.
    pub dual: ProxyStep,
    /// The last iterate's training error.
    pub last_train_error: f64,
    /// The last iterate's largest violation on the training set.
    pub last_train_max_violation: f64,
    /// The best distribution's expected training error.
    pub best_distribution_train_error: f64,
    /// Its largest expected violation on the training set.
    pub best_distribution_train_max_violation: f64,
    /// Its expected test error.
    pub best_distribution_test_error: f64,
    /// Its largest expected violation on the test set.
    pub best_distribution_test_max_violation: f64,
}

impl ProxySweepRow {
    /// The row of one proxy-Lagrangian run.
    pub fn new(experiment: &'static str, seed: u64, dual: ProxyStep, selections: &[Selection]) -> anyhow::Result<Self> {
        let of = |name: &str| {
            selections
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| anyhow::anyhow!("no `{name}` selection"))
        };
        let (last, mixture) = (of("last_iterate")?, of("best_distribution")?);
        Ok(Self {
            experiment,
            seed,
            dual,
            last_train_error: last.train.error,
            last_train_max_violation: last.train.max_violation(),
            best_distribution_train_error: mixture.train.error,
            best_distribution_train_max_violation: mixture.train.max_violation(),
            best_distribution_test_error: mixture.test.error,
            best_distribution_test_max_violation: mixture.test.max_violation(),
        })
    }
}

/// The sweep's table.
pub fn render_sweep(rows: &[ProxySweepRow]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut table = crate::table::Table::new(
        format!(
            "\nthe proxy-Lagrangian's dual step (seed {}): how its matrix moves, and what the run reaches",
            first.seed
        ),
        &[
            "dual step",
            "last: train error",
            "last: train max viol.",
            "best distr.: train error",
            "train max viol.",
            "test error",
            "test max viol.",
        ],
    );
    for r in rows {
        table.row(vec![
            r.dual.label(),
            format!("{:.5}", r.last_train_error),
            format!("{:+.5}", r.last_train_max_violation),
            format!("{:.5}", r.best_distribution_train_error),
            format!("{:+.5}", r.best_distribution_train_max_violation),
            format!("{:.5}", r.best_distribution_test_error),
            format!("{:+.5}", r.best_distribution_test_max_violation),
        ]);
    }
    table.to_string()
}

/// The sweep from the runs of [`jobs`] (in its order): the first seed's
/// proxy-Lagrangian run and the sweep's runs, ordered as `sweep` (with the
/// main run where `sweep` lists its step).
pub fn sweep_rows(
    experiment: &'static str,
    jobs: &[(u64, Training)],
    selections: &[Option<Vec<Selection>>],
    sweep: &[ProxyStep],
) -> anyhow::Result<Vec<ProxySweepRow>> {
    let mut rows = Vec::new();
    for step in sweep {
        let found = jobs
            .iter()
            .zip(selections)
            .find(|((seed, t), _)| Some(seed) == jobs.first().map(|j| &j.0) && *t == Training::ProxyLagrangian(*step));
        if let Some(((seed, _), Some(s))) = found {
            rows.push(ProxySweepRow::new(experiment, *seed, *step, s)?);
        }
    }
    Ok(rows)
}

/// Audits equal opportunity on one split: for each group (`masks`, one
/// per requirement), its true-positive rate minus the overall one, from
/// the group's and the rest's `(true positives, positives)` with the
/// conservative interval of [`Evidence::GroupGap`].
///
/// # Errors
/// A group or rest without a positive sample, or a requirement the audit
/// refuses.
pub fn audit_tpr_gaps(
    audit: &mut Audit,
    split: &str,
    predicted: &[bool],
    labels: &[bool],
    masks: &[Vec<bool>],
    requirements: &[Requirement],
) -> anyhow::Result<()> {
    for (mask, requirement) in masks.iter().zip(requirements) {
        let count = |inside: bool| {
            let positives = (0..labels.len()).filter(|i| labels[*i] && mask[*i] == inside);
            positives.fold((0u64, 0u64), |(tp, p), i| (tp + u64::from(predicted[i]), p + 1))
        };
        let evidence = Evidence::GroupGap {
            group: count(true),
            rest: count(false),
        };
        audit.push(requirement, split, &evidence)?;
    }
    Ok(())
}

/// The models `--models` saves of the Adult and COMPAS experiments: the
/// first seed's rows of one snapshot (`METHOD-seedS`, `write` saving each);
/// a mixture of snapshots is a stochastic model, left out.
///
/// # Errors
/// None in practice (a method name always serialises).
pub fn first_seed_models<M: 'static>(
    rows: impl Iterator<Item = (&'static str, u64, Option<M>)>,
    seeds: &[u64],
    write: fn(&Path, M) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<SavedModel>> {
    rows.filter(|(_, seed, _)| Some(seed) == seeds.first())
        .filter_map(|(method, seed, model)| model.map(|m| (method, seed, m)))
        .map(|(method, seed, model)| {
            SavedModel::new(format!("{method}-seed{seed}"), &method, move |dir| write(dir, model))
        })
        .collect()
}
