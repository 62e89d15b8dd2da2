//! The constraints of a run, resolved against the data: what the library
//! is given each step, and what the audit measures afterwards.

use burn::tensor::{Tensor, TensorData};
use feasible::penalty::Penalty;
use feasible::{Adam, Constraint, Formulation, GradientAscent, NuPi, Optimistic};
use feasible_burn::fairness::{Criterion, Fairness};
use feasible_burn::rates::{BinaryPredictions, Confusion, MulticlassPredictions, Rate, Subset};
use feasible_burn::{ConstraintTensors, Evaluation};

use super::config::{ConfigError, Source};
use super::data::{Split, TrainData};
use super::model::Network;
use super::plan::{ConstraintSpec, DualKind, FormulationKind, RateKind, RateSense, TrainingPlan};
use crate::audit::{Audit, Evidence, Requirement, Sense};

/// The name of the density constraint.
pub const DENSITY: &str = "density";

/// The name of the per-sample loss constraint.
pub const SAMPLE_LOSS: &str = "sample_loss";

/// A group: its column's index among the group columns, and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `column=value`.
    pub name: String,
    /// The column's index among the data's group columns.
    pub column: usize,
    /// The value.
    pub value: String,
}

/// A constraint resolved against the data.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// A rate of a group.
    Rate {
        /// Its name.
        name: String,
        /// Which rate.
        rate: RateKind,
        /// The group (all samples when `None`).
        group: Option<Group>,
        /// The sense.
        sense: RateSense,
        /// The target.
        target: f64,
        /// The audit's tolerance for `==`.
        tolerance: f64,
        /// The training set's share of the rate's denominator (none for
        /// precision).
        share: Option<f64>,
    },
    /// A fairness criterion.
    Fairness {
        /// The library's constraints.
        fairness: Fairness,
        /// The groups, in order.
        groups: Vec<Group>,
    },
    /// The density of the gated weights.
    Density {
        /// At most this.
        target: f64,
    },
    /// Every training sample's loss.
    SampleLoss {
        /// At most this.
        bound: f64,
        /// Training samples.
        samples: usize,
    },
}

fn group(
    source: &Source,
    data: &TrainData,
    text: &str,
    span: std::ops::Range<usize>,
    key: &str,
) -> Result<Group, ConfigError> {
    let Some((column, value)) = text.split_once('=') else {
        return Err(source.error(span, key, format!("`{text}` is not `column=value`")));
    };
    let (column, value) = (column.trim(), value.trim());
    let Some(index) = data.group_columns.iter().position(|c| c == column) else {
        return Err(source.error(
            span,
            key,
            format!(
                "`{column}` is not a group column; the group columns are: {} (CSV: list it in data.groups)",
                data.group_columns.join(", ")
            ),
        ));
    };
    let values: std::collections::BTreeSet<&String> = data.train().groups[index].iter().collect();
    if !values.iter().any(|v| *v == value) {
        let known: Vec<&str> = values.iter().take(30).map(|v| v.as_str()).collect();
        return Err(source.error(
            span,
            key,
            format!(
                "no training sample has {column} = `{value}`; its values: {}",
                known.join(", ")
            ),
        ));
    }
    Ok(Group {
        name: format!("{column}={value}"),
        column: index,
        value: value.to_string(),
    })
}

/// The share of the training set in a rate's denominator.
fn share(rate: RateKind, train: &Split, mask: Option<&[bool]>, binary: bool) -> Option<f64> {
    let n = train.len() as f64;
    let member = |i: usize| mask.is_none_or(|m| m[i]);
    let count = |f: &dyn Fn(usize) -> bool| (0..train.len()).filter(|i| member(*i) && f(*i)).count() as f64 / n;
    match rate {
        RateKind::Precision => None,
        RateKind::TruePositive | RateKind::FalseNegative if binary => Some(count(&|i| train.labels[i] == 1)),
        RateKind::FalsePositive if binary => Some(count(&|i| train.labels[i] == 0)),
        _ => Some(count(&|_| true)),
    }
}

/// Resolves the declared constraints against the data.
pub fn resolve(specs: &[ConstraintSpec], data: &TrainData, source: &Source) -> Result<Vec<Resolved>, ConfigError> {
    let train = data.train();
    let binary = data.classes == 2;
    let mut resolved = Vec::with_capacity(specs.len());
    let mut names: Vec<String> = Vec::new();
    for spec in specs {
        let (r, span) = match spec {
            ConstraintSpec::Rate {
                name,
                rate,
                group: g,
                sense,
                target,
                tolerance,
                span,
            } => {
                let g = g
                    .as_ref()
                    .map(|(text, s)| group(source, data, text, s.clone(), "constraints.group"))
                    .transpose()?;
                let mask = g.as_ref().map(|g| train.mask(g.column, &g.value));
                let share = share(*rate, train, mask.as_deref(), binary);
                if share == Some(0.0) {
                    return Err(source.error(
                        span.clone(),
                        "constraints.rate",
                        format!("`{name}`: no training sample is of the kind this rate divides by"),
                    ));
                }
                (
                    Resolved::Rate {
                        name: name.clone(),
                        rate: *rate,
                        group: g,
                        sense: *sense,
                        target: *target,
                        tolerance: *tolerance,
                        share,
                    },
                    span.clone(),
                )
            }
            ConstraintSpec::Fairness {
                criterion,
                groups,
                groups_span,
                tolerance,
            } => {
                let groups = groups
                    .iter()
                    .map(|g| group(source, data, g, groups_span.clone(), "constraints.groups"))
                    .collect::<Result<Vec<_>, _>>()?;
                let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
                let fail =
                    |e: feasible_burn::Error| source.error(groups_span.clone(), "constraints.groups", e.to_string());
                let fairness = match criterion {
                    Criterion::DemographicParity => Fairness::demographic_parity(names, *tolerance),
                    Criterion::EqualOpportunity => Fairness::equal_opportunity(names, *tolerance),
                    Criterion::EqualizedOdds => Fairness::equalized_odds(names, *tolerance),
                }
                .map_err(fail)?;
                let masks: Vec<Vec<bool>> = groups.iter().map(|g| train.mask(g.column, &g.value)).collect();
                let fairness = fairness
                    .with_dataset_denominators(&train.binary_labels(), &masks)
                    .map_err(fail)?;
                (Resolved::Fairness { fairness, groups }, groups_span.clone())
            }
            ConstraintSpec::Density { target, span } => (Resolved::Density { target: *target }, span.clone()),
            ConstraintSpec::SampleLoss { bound } => (
                Resolved::SampleLoss {
                    bound: *bound,
                    samples: train.len(),
                },
                0..0,
            ),
        };
        for name in r.names() {
            if names.contains(&name) {
                return Err(source.error(span, "constraints", format!("two constraints are named `{name}`")));
            }
            names.push(name);
        }
        resolved.push(r);
    }
    Ok(resolved)
}

impl Resolved {
    /// The names of the library's constraints this one declares.
    pub fn names(&self) -> Vec<String> {
        match self {
            Resolved::Rate { name, .. } => vec![name.clone()],
            Resolved::Fairness { fairness, groups } => {
                groups.iter().map(|g| fairness.constraint_name(&g.name)).collect()
            }
            Resolved::Density { .. } => vec![DENSITY.to_string()],
            Resolved::SampleLoss { .. } => vec![SAMPLE_LOSS.to_string()],
        }
    }
}

/// The formulation every constraint is solved with.
pub fn formulation(t: &TrainingPlan) -> Formulation {
    macro_rules! with_dual {
        ($make:expr) => {
            match t.dual {
                DualKind::GradientAscent => $make(GradientAscent::new(t.dual_lr)),
                DualKind::NuPi => $make(NuPi::new(t.dual_lr, 1.0, 1.0)),
                DualKind::Adam => $make(Adam::new(t.dual_lr)),
                DualKind::Optimistic => $make(Optimistic::new(t.dual_lr)),
            }
        };
    }
    match t.formulation {
        FormulationKind::Lagrangian => with_dual!(|d| {
            let l = Formulation::lagrangian(d);
            if t.restart_on_feasible {
                l.with_restart_on_feasible().into()
            } else {
                l.into()
            }
        }),
        FormulationKind::AugmentedLagrangian => {
            with_dual!(|d| Formulation::augmented_lagrangian(Penalty::new(t.penalty))
                .with_dual_optimizer(d)
                .into())
        }
        FormulationKind::QuadraticPenalty => Formulation::quadratic_penalty(Penalty::new(t.penalty)).into(),
        FormulationKind::FixedPenalty => Formulation::fixed_penalty(t.penalty).into(),
        FormulationKind::ProxyLagrangian => with_dual!(|d| Formulation::proxy_lagrangian(d).into()),
    }
}

/// The library's constraints.
pub fn declare(resolved: &[Resolved], t: &TrainingPlan) -> Vec<Constraint> {
    let f = formulation(t);
    resolved
        .iter()
        .flat_map(|r| match r {
            Resolved::Rate {
                name, sense, target, ..
            } => vec![
                match sense {
                    RateSense::AtLeast => Constraint::at_least(name.clone(), *target),
                    RateSense::AtMost => Constraint::at_most(name.clone(), *target),
                    RateSense::Equal => Constraint::equal_to(name.clone(), *target),
                }
                .with_formulation(f.clone()),
            ],
            Resolved::Fairness { fairness, .. } => fairness.constraints(f.clone()),
            Resolved::Density { target } => vec![Constraint::at_most(DENSITY, *target).with_formulation(f.clone())],
            Resolved::SampleLoss { bound, samples } => vec![
                Constraint::at_most(SAMPLE_LOSS, *bound)
                    .with_entries(*samples)
                    .indexed()
                    .with_formulation(f.clone()),
            ],
        })
        .collect()
}

/// One batch of the training split, for the constraints.
pub struct Batch<'a> {
    /// Indices in the training split.
    pub ids: &'a [usize],
    /// The training split.
    pub train: &'a Split,
    /// Classes of the model.
    pub classes: usize,
}

fn binary_rate(p: &BinaryPredictions, rate: RateKind, subset: &Subset) -> feasible_burn::Result<Rate> {
    match rate {
        RateKind::PositivePrediction => p.positive_prediction_rate(subset),
        RateKind::TruePositive => p.true_positive_rate(subset),
        RateKind::FalsePositive => p.false_positive_rate(subset),
        RateKind::FalseNegative => p.false_negative_rate(subset),
        RateKind::Error => p.error_rate(subset),
        RateKind::Accuracy => p.accuracy(subset),
        RateKind::Precision => p.precision(subset),
    }
}

/// Adds every constraint's tensors for one batch to `evaluation`:
/// `logits` of the batch, `per_sample` its per-sample losses.
pub fn add_batch(
    resolved: &[Resolved],
    mut evaluation: Evaluation,
    logits: &Tensor<2>,
    per_sample: &Tensor<1>,
    batch: &Batch<'_>,
    network: &Network,
    surrogate: feasible_burn::rates::Surrogate,
) -> anyhow::Result<Evaluation> {
    let labels: Vec<usize> = batch.ids.iter().map(|i| batch.train.labels[*i]).collect();
    let mask = |g: &Group| -> Vec<bool> {
        batch
            .ids
            .iter()
            .map(|i| batch.train.groups[g.column][*i] == g.value)
            .collect()
    };
    let needs_rates = resolved
        .iter()
        .any(|r| matches!(r, Resolved::Rate { .. } | Resolved::Fairness { .. }));
    let binary = if needs_rates && batch.classes == 2 {
        Some(BinaryPredictions::one_vs_rest(logits.clone(), &labels, 1, surrogate)?)
    } else {
        None
    };
    let multiclass = if needs_rates && batch.classes > 2 {
        Some(MulticlassPredictions::new(logits.clone(), labels.clone(), surrogate)?)
    } else {
        None
    };
    for r in resolved {
        match r {
            Resolved::Rate {
                name,
                rate,
                group,
                target,
                share,
                ..
            } => {
                let subset = group
                    .as_ref()
                    .map_or(Subset::All, |g| Subset::mask(g.name.clone(), mask(g)));
                let value = match (&binary, &multiclass) {
                    (Some(p), _) => binary_rate(p, *rate, &subset),
                    (None, Some(p)) if *rate == RateKind::Accuracy => p.accuracy(&subset),
                    (None, Some(p)) => p.error_rate(&subset),
                    (None, None) => anyhow::bail!("no predictions for `{name}`"),
                }?;
                let value = match share {
                    Some(s) => value.with_expected_denominator(*s)?,
                    None => value,
                };
                let tensors = match value.strict() {
                    Ok(_) => value.into_constraint()?,
                    // Precision in a batch without a predicted positive: no
                    // information, no update.
                    Err(_) => ConstraintTensors::new(Tensor::<1>::from_data(
                        TensorData::new(vec![*target as f32], [1]),
                        &logits.device(),
                    ))
                    .without_primal_update()
                    .without_dual_update(),
                };
                evaluation = evaluation.with(name.clone(), tensors);
            }
            Resolved::Fairness { fairness, groups } => {
                let p = binary
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("fairness criteria need a binary classifier"))?;
                let masks: Vec<Vec<bool>> = groups.iter().map(mask).collect();
                evaluation = fairness.add_to(evaluation, p, &masks)?;
            }
            Resolved::Density { .. } => {
                let (expected, strict) = network
                    .density()?
                    .ok_or_else(|| anyhow::anyhow!("the density constraint needs a gated model"))?;
                evaluation = evaluation.with(
                    DENSITY,
                    ConstraintTensors::new(expected).with_strict_values(vec![strict]),
                );
            }
            Resolved::SampleLoss { .. } => {
                evaluation = evaluation.with(
                    SAMPLE_LOSS,
                    ConstraintTensors::new(per_sample.clone()).with_indices(batch.ids.to_vec()),
                );
            }
        }
    }
    Ok(evaluation)
}

/// A model's hard predictions and per-sample losses on one split.
pub struct Predictions<'a> {
    /// The split.
    pub split: &'a Split,
    /// The predicted class of every sample.
    pub predicted: Vec<usize>,
    /// Every sample's cross-entropy.
    pub losses: Vec<f64>,
    /// The deterministic density of a gated model.
    pub density: Option<f64>,
}

fn counts(c: &Confusion, rate: RateKind) -> (u64, u64) {
    let (tp, fp, tn, fn_) = (
        c.true_positives as u64,
        c.false_positives as u64,
        c.true_negatives as u64,
        c.false_negatives as u64,
    );
    match rate {
        RateKind::PositivePrediction => (tp + fp, tp + fp + tn + fn_),
        RateKind::TruePositive => (tp, tp + fn_),
        RateKind::FalsePositive => (fp, fp + tn),
        RateKind::FalseNegative => (fn_, tp + fn_),
        RateKind::Error => (fp + fn_, tp + fp + tn + fn_),
        RateKind::Accuracy => (tp + tn, tp + fp + tn + fn_),
        RateKind::Precision => (tp, tp + fp),
    }
}

/// Adds every constraint's evidence on one split to the audit. An entry
/// whose denominator is empty on this split is left out, with a notice.
pub fn audit_split(
    resolved: &[Resolved],
    p: &Predictions<'_>,
    classes: usize,
    audit: &mut Audit,
) -> anyhow::Result<()> {
    let split = p.split;
    let labels = split.binary_labels();
    let positive: Vec<bool> = p.predicted.iter().map(|c| *c == 1).collect();
    let confusion = |mask: Option<&[bool]>| Confusion::new(&positive, &labels, mask);
    let mut push = |requirement: Requirement, evidence: Evidence| -> anyhow::Result<()> {
        let empty = match &evidence {
            Evidence::Proportion { trials, .. } => *trials == 0,
            Evidence::GroupGap { group, rest } | Evidence::ExcessDrop { group, rest, .. } => {
                group.1 == 0 || rest.1 == 0
            }
            Evidence::Exact(_) => false,
        };
        if empty {
            eprintln!(
                "audit: `{}` on {}: no sample of the kind it divides by; left out",
                requirement.constraint, split.name
            );
            return Ok(());
        }
        Ok(audit.push(&requirement, split.name, &evidence)?)
    };
    for r in resolved {
        match r {
            Resolved::Rate {
                name,
                rate,
                group,
                sense,
                target,
                tolerance,
                ..
            } => {
                let mask = group.as_ref().map(|g| split.mask(g.column, &g.value));
                let (successes, trials) = if classes == 2 {
                    counts(&confusion(mask.as_deref())?, *rate)
                } else {
                    let members: Vec<usize> = (0..split.len())
                        .filter(|i| mask.as_ref().is_none_or(|m| m[*i]))
                        .collect();
                    let correct = members.iter().filter(|i| p.predicted[**i] == split.labels[**i]).count() as u64;
                    let n = members.len() as u64;
                    if *rate == RateKind::Accuracy {
                        (correct, n)
                    } else {
                        (n - correct, n)
                    }
                };
                let sense = match sense {
                    RateSense::AtLeast => Sense::AtLeast,
                    RateSense::AtMost => Sense::AtMost,
                    RateSense::Equal => Sense::Within { tolerance: *tolerance },
                };
                push(
                    Requirement {
                        constraint: name.clone(),
                        sense,
                        target: *target,
                    },
                    Evidence::Proportion { successes, trials },
                )?;
            }
            Resolved::Fairness { fairness, groups } => {
                let all = confusion(None)?;
                let eps = fairness.tolerance();
                for g in groups {
                    let c = confusion(Some(&split.mask(g.column, &g.value)))?;
                    let name = fairness.constraint_name(&g.name);
                    let gap = |rate: RateKind| Evidence::GroupGap {
                        group: counts(&c, rate),
                        rest: counts(&all, rate),
                    };
                    let within = Sense::Within { tolerance: eps };
                    let entries: Vec<(String, Sense, f64, RateKind)> = match fairness.criterion() {
                        Criterion::DemographicParity => vec![(name, within, 0.0, RateKind::PositivePrediction)],
                        Criterion::EqualOpportunity => vec![(name, Sense::AtLeast, -eps, RateKind::TruePositive)],
                        Criterion::EqualizedOdds => vec![
                            (format!("{name}.tpr"), within, 0.0, RateKind::TruePositive),
                            (format!("{name}.fpr"), within, 0.0, RateKind::FalsePositive),
                        ],
                    };
                    for (constraint, sense, target, rate) in entries {
                        push(
                            Requirement {
                                constraint,
                                sense,
                                target,
                            },
                            gap(rate),
                        )?;
                    }
                }
            }
            Resolved::Density { target } => {
                let density = p
                    .density
                    .ok_or_else(|| anyhow::anyhow!("the density constraint needs a gated model"))?;
                push(
                    Requirement {
                        constraint: DENSITY.to_string(),
                        sense: Sense::AtMost,
                        target: *target,
                    },
                    Evidence::Exact(density),
                )?;
            }
            Resolved::SampleLoss { bound, .. } => {
                let within = p.losses.iter().filter(|l| **l <= *bound).count() as u64;
                push(
                    Requirement {
                        constraint: SAMPLE_LOSS.to_string(),
                        sense: Sense::AtLeast,
                        target: 1.0,
                    },
                    Evidence::Proportion {
                        successes: within,
                        trials: p.losses.len() as u64,
                    },
                )?;
            }
        }
    }
    Ok(())
}
