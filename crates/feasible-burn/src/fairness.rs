//! Group-fairness constraints, one line each, built from [`rates`](crate::rates).
//!
//! | criterion | per group `g`, with tolerance `ε` |
//! |---|---|
//! | [demographic parity](Fairness::demographic_parity) | `|P(ŷ=1 | g) - P(ŷ=1)| <= ε` |
//! | [equal opportunity](Fairness::equal_opportunity) | `TPR_g >= TPR - ε` |
//! | [equalised odds](Fairness::equalized_odds) | `|TPR_g - TPR| <= ε` and `|FPR_g - FPR| <= ε` |
//!
//! Each group gets one constraint, named `criterion[group]`
//! (`equal_opportunity[Female]`), with one entry per one-sided inequality
//! (two-sided ones are two entries), all of the form `value <= ε`. The
//! model descends surrogate rates, the multipliers ascend the true 0/1 rates
//! (proxy constraints).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use feasible::{ConstrainedOptimizer, Formulation, GradientAscent};
//! use feasible_burn::fairness::Fairness;
//! use feasible_burn::rates::{BinaryPredictions, Surrogate};
//! use feasible_burn::Evaluation;
//!
//! // TPR_g >= TPR - 0.05 for two groups.
//! let fairness = Fairness::equal_opportunity(["female", "male"], 0.05)?;
//! let dual = ConstrainedOptimizer::builder()
//!     .constraints(fairness.constraints(Formulation::lagrangian(GradientAscent::new(0.1))))
//!     .build()?;
//! let names: Vec<&str> = dual.constraints().iter().map(|c| c.name()).collect();
//! assert_eq!(names, ["equal_opportunity[female]", "equal_opportunity[male]"]);
//!
//! // Each step: margins (logits), labels and the batch's group masks.
//! let device = Device::flex().autodiff();
//! let logits = Tensor::<1>::from_floats([1.0, -1.0, 2.0, 0.5], &device).require_grad();
//! let labels = [true, true, true, false];
//! let female = vec![true, true, false, false];
//! let male = vec![false, false, true, true];
//! let predictions = BinaryPredictions::new(logits.clone(), labels, Surrogate::Hinge)?;
//! let loss = logits.powf_scalar(2.0).mean();
//! let evaluation = fairness.add_to(Evaluation::new(loss), &predictions, &[female, male])?;
//! # let _ = evaluation;
//! # Ok::<(), feasible_burn::Error>(())
//! ```

use feasible::{Constraint, Formulation};

use crate::error::{Error, Result};
use crate::evaluation::{ConstraintTensors, Evaluation};
use crate::rates::{BinaryPredictions, Confusion, Rate, Subset};

/// Which fairness criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Equal positive-prediction rates.
    DemographicParity,
    /// Each group's true positive rate at least the overall one minus `ε`.
    EqualOpportunity,
    /// Equal true and false positive rates.
    EqualizedOdds,
}

impl Criterion {
    /// `demographic_parity`, `equal_opportunity` or `equalized_odds`.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::DemographicParity => "demographic_parity",
            Criterion::EqualOpportunity => "equal_opportunity",
            Criterion::EqualizedOdds => "equalized_odds",
        }
    }

    /// Entries per group.
    pub fn entries(self) -> usize {
        match self {
            Criterion::DemographicParity => 2,
            Criterion::EqualOpportunity => 1,
            Criterion::EqualizedOdds => 4,
        }
    }
}

/// A group's share of the data set: `P(g)`, `P(y=1, g)`, `P(y=0, g)`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shares {
    all: f64,
    positives: f64,
    negatives: f64,
}

impl Shares {
    fn of(labels: &[bool], mask: Option<&[bool]>) -> Self {
        let n = labels.len() as f64;
        let member = |i: usize| mask.is_none_or(|m| m[i]);
        let count = |f: &dyn Fn(usize) -> bool| (0..labels.len()).filter(|i| member(*i) && f(*i)).count() as f64 / n;
        Shares {
            all: count(&|_| true),
            positives: count(&|i| labels[i]),
            negatives: count(&|i| !labels[i]),
        }
    }
}

/// Fairness constraints over named groups (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct Fairness {
    criterion: Criterion,
    tolerance: f64,
    groups: Vec<String>,
    /// `(overall, per group)` shares of the data set, when known.
    shares: Option<(Shares, Vec<Shares>)>,
}

impl Fairness {
    fn new(criterion: Criterion, groups: impl IntoIterator<Item = impl Into<String>>, tolerance: f64) -> Result<Self> {
        let groups: Vec<String> = groups.into_iter().map(Into::into).collect();
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(Error::Rate {
                reason: format!(
                    "{}: tolerance {tolerance} must be a finite number >= 0",
                    criterion.name()
                ),
            });
        }
        if groups.is_empty() {
            return Err(Error::Rate {
                reason: format!("{}: no groups", criterion.name()),
            });
        }
        Ok(Self {
            criterion,
            tolerance,
            groups,
            shares: None,
        })
    }

    /// `|P(ŷ=1 | g) - P(ŷ=1)| <= tolerance` for each group.
    pub fn demographic_parity(groups: impl IntoIterator<Item = impl Into<String>>, tolerance: f64) -> Result<Self> {
        Self::new(Criterion::DemographicParity, groups, tolerance)
    }

    /// `TPR_g >= TPR - tolerance` for each group.
    pub fn equal_opportunity(groups: impl IntoIterator<Item = impl Into<String>>, tolerance: f64) -> Result<Self> {
        Self::new(Criterion::EqualOpportunity, groups, tolerance)
    }

    /// `|TPR_g - TPR| <= tolerance` and `|FPR_g - FPR| <= tolerance` for each group.
    pub fn equalized_odds(groups: impl IntoIterator<Item = impl Into<String>>, tolerance: f64) -> Result<Self> {
        Self::new(Criterion::EqualizedOdds, groups, tolerance)
    }

    /// Estimates every rate in a batch with the data set's denominators
    /// (see [`Rate::with_expected_denominator`]): unbiased, and defined
    /// even for a batch with no member of a small group. `labels` and
    /// `masks` (one per group, in order) cover the whole training set.
    pub fn with_dataset_denominators(mut self, labels: &[bool], masks: &[Vec<bool>]) -> Result<Self> {
        self.check_masks(masks, labels.len())?;
        let overall = Shares::of(labels, None);
        let groups: Vec<Shares> = masks.iter().map(|m| Shares::of(labels, Some(m))).collect();
        for (name, shares) in self.groups.iter().zip(&groups) {
            let needed = match self.criterion {
                Criterion::DemographicParity => [shares.all, 1.0],
                Criterion::EqualOpportunity => [shares.positives, 1.0],
                Criterion::EqualizedOdds => [shares.positives, shares.negatives],
            };
            if needed.iter().any(|p| *p <= 0.0) {
                return Err(Error::Rate {
                    reason: format!("group `{name}` has no samples of the kind its rates divide by in the data set"),
                });
            }
        }
        self.shares = Some((overall, groups));
        Ok(self)
    }

    /// The criterion.
    pub fn criterion(&self) -> Criterion {
        self.criterion
    }

    /// The tolerance `ε`.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// The groups' names, in order.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The name of a group's constraint: `criterion[group]`.
    pub fn constraint_name(&self, group: &str) -> String {
        format!("{}[{group}]", self.criterion.name())
    }

    /// The constraints to declare, one per group, each solved with
    /// `formulation`.
    pub fn constraints(&self, formulation: impl Into<Formulation>) -> Vec<Constraint> {
        let formulation = formulation.into();
        self.groups
            .iter()
            .map(|g| {
                Constraint::at_most(self.constraint_name(g), self.tolerance)
                    .with_entries(self.criterion.entries())
                    .with_formulation(formulation.clone())
            })
            .collect()
    }

    fn check_masks(&self, masks: &[Vec<bool>], len: usize) -> Result<()> {
        if masks.len() != self.groups.len() {
            return Err(Error::Rate {
                reason: format!("{} group masks for {} groups", masks.len(), self.groups.len()),
            });
        }
        for (name, mask) in self.groups.iter().zip(masks) {
            if mask.len() != len {
                return Err(Error::Rate {
                    reason: format!("the mask of group `{name}` has {} entries, the batch {len}", mask.len()),
                });
            }
        }
        Ok(())
    }

    /// Each group's constraint tensors for this batch (`masks`: one per
    /// group, in order, one entry per sample).
    pub fn measure(
        &self,
        predictions: &BinaryPredictions,
        masks: &[Vec<bool>],
    ) -> Result<Vec<(String, ConstraintTensors)>> {
        self.check_masks(masks, predictions.len())?;
        let expected = |rate: Rate, share: Option<f64>| match share {
            Some(p) => rate.with_expected_denominator(p),
            None => Ok(rate),
        };
        let overall = self.shares.as_ref().map(|(o, _)| *o);
        let tpr = || {
            expected(
                predictions.true_positive_rate(&Subset::All)?,
                overall.map(|s| s.positives),
            )
        };
        let fpr = || {
            expected(
                predictions.false_positive_rate(&Subset::All)?,
                overall.map(|s| s.negatives),
            )
        };
        let ppr = || predictions.positive_prediction_rate(&Subset::All);
        let mut out = Vec::with_capacity(self.groups.len());
        for (k, (name, mask)) in self.groups.iter().zip(masks).enumerate() {
            let shares = self.shares.as_ref().map(|(_, g)| g[k]);
            let subset = Subset::mask(name.clone(), mask.clone());
            let rates = match self.criterion {
                Criterion::DemographicParity => {
                    let group = expected(predictions.positive_prediction_rate(&subset)?, shares.map(|s| s.all))?;
                    vec![group.clone() - ppr()?, ppr()? - group]
                }
                Criterion::EqualOpportunity => {
                    let group = expected(predictions.true_positive_rate(&subset)?, shares.map(|s| s.positives))?;
                    vec![tpr()? - group]
                }
                Criterion::EqualizedOdds => {
                    let group_tpr = expected(predictions.true_positive_rate(&subset)?, shares.map(|s| s.positives))?;
                    let group_fpr = expected(predictions.false_positive_rate(&subset)?, shares.map(|s| s.negatives))?;
                    vec![
                        group_tpr.clone() - tpr()?,
                        tpr()? - group_tpr,
                        group_fpr.clone() - fpr()?,
                        fpr()? - group_fpr,
                    ]
                }
            };
            out.push((self.constraint_name(name), Rate::stack(rates)?));
        }
        Ok(out)
    }

    /// Adds every group's constraint for this batch to `evaluation`.
    pub fn add_to(
        &self,
        mut evaluation: Evaluation,
        predictions: &BinaryPredictions,
        masks: &[Vec<bool>],
    ) -> Result<Evaluation> {
        for (name, tensors) in self.measure(predictions, masks)? {
            evaluation = evaluation.with(name, tensors);
        }
        Ok(evaluation)
    }

    /// The exact constraint values on a whole data set, on the host: for
    /// each group in order, its entries (as in [`measure`](Self::measure)),
    /// each to be kept `<= tolerance`.
    pub fn values(&self, predicted: &[bool], labels: &[bool], masks: &[Vec<bool>]) -> Result<Vec<f64>> {
        self.check_masks(masks, labels.len())?;
        let all = Confusion::new(predicted, labels, None)?;
        let mut values = Vec::with_capacity(self.groups.len() * self.criterion.entries());
        for (name, mask) in self.groups.iter().zip(masks) {
            let group = Confusion::new(predicted, labels, Some(mask))?;
            let entries = match self.criterion {
                Criterion::DemographicParity => {
                    let d = group.positive_prediction_rate() - all.positive_prediction_rate();
                    vec![d, -d]
                }
                Criterion::EqualOpportunity => vec![all.true_positive_rate() - group.true_positive_rate()],
                Criterion::EqualizedOdds => {
                    let t = group.true_positive_rate() - all.true_positive_rate();
                    let f = group.false_positive_rate() - all.false_positive_rate();
                    vec![t, -t, f, -f]
                }
            };
            if let Some(v) = entries.iter().find(|v| !v.is_finite()) {
                return Err(Error::EmptyRate {
                    rate: self.constraint_name(name),
                    reason: format!("it is {v}: the group has no samples of the kind its rates divide by"),
                });
            }
            values.extend(entries);
        }
        Ok(values)
    }

    /// The violations `value - tolerance` on a whole data set (positive:
    /// violated), in the order of [`values`](Self::values) — what
    /// [`feasible::selection::Snapshots`] takes.
    pub fn violations(&self, predicted: &[bool], labels: &[bool], masks: &[Vec<bool>]) -> Result<Vec<f64>> {
        Ok(self
            .values(predicted, labels, masks)?
            .into_iter()
            .map(|v| v - self.tolerance)
            .collect())
    }
}
