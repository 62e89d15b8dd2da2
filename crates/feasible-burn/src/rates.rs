//! Rates of a classifier's predictions — positive-prediction rate, true and
//! false positive and negative rates, error rate, accuracy, precision — over
//! a batch or a group of it, each as a differentiable surrogate for the
//! model and the true 0/1 value for the multipliers (*proxy constraints*).
//!
//! A 0/1 rate has zero gradient almost everywhere, so the model cannot
//! descend it; a surrogate can be descended but is not the requirement. The
//! [`Rate`]s here carry both: [`Rate::into_constraint`] gives the
//! surrogate as the constraint's value and the 0/1 rate as its strict value,
//! so the multiplier grows exactly while the *true* rate is violated.
//!
//! Predictions are *margins* `s`: a sample is predicted positive when
//! `s > 0`. For a binary classifier `s` is its logit; one-vs-rest for class
//! `k` of a multiclass classifier, `s = z_k - max_{j≠k} z_j` (positive iff
//! `k` is the arg max). The [`Surrogate`] replaces the indicator
//! `1[s > 0]` by `σ(s)` or by the hinge `max(0, 1 + s)` (TFCO's default, a
//! convex upper bound), and `1[s <= 0]` by `σ(-s)` or `max(0, 1 - s)`.
//!
//! Rates combine linearly, like TFCO's expressions: `tpr_group - tpr`,
//! `rate * 2.0 + 0.1`.
//!
//! ## Denominators in small batches
//!
//! A rate is a ratio: the true positive rate of a group divides by the
//! group's positives *in the batch*. A small group can have none in a batch
//! (the rate is then undefined and asking for its value is an
//! [`Error::EmptyRate`]), and the batch ratio is a biased estimate of the
//! data set's rate. [`Rate::with_expected_denominator`] divides instead by
//! the denominator's expected share of the batch, known from the whole data
//! set (e.g. `P(y = 1, group)`): an unbiased estimate, defined for every
//! batch. TFCO keeps running averages of the denominators for the same
//! reason.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use feasible_burn::rates::{BinaryPredictions, Subset, Surrogate};
//!
//! let device = Device::flex().autodiff();
//! let logits = Tensor::<1>::from_floats([2.0, -1.0, 0.5, -3.0], &device).require_grad();
//! let labels = [true, true, false, false];
//! let female = [true, false, true, false];
//! let predictions = BinaryPredictions::new(logits, labels, Surrogate::Sigmoid)?;
//! let tpr = predictions.true_positive_rate(&Subset::All)?;
//! let tpr_female = predictions.true_positive_rate(&Subset::mask("female", female))?;
//! assert_eq!(tpr.strict()?, 0.5); // one of the two positives predicted positive
//! assert_eq!(tpr_female.strict()?, 1.0);
//! // Equal opportunity for the group: TPR - TPR_female <= 0.05.
//! let gap = tpr - tpr_female;
//! assert_eq!(gap.strict()?, -0.5);
//! let tensors = gap.into_constraint()?; // surrogate value, 0/1 strict value
//! # let _ = tensors;
//! # Ok::<(), feasible_burn::Error>(())
//! ```

use std::ops::{Add, Mul, Neg, Sub};

use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::evaluation::ConstraintTensors;

/// The differentiable stand-in for the indicator `1[s > 0]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Surrogate {
    /// `σ(s)`: smooth, between 0 and 1.
    Sigmoid,
    /// `max(0, 1 + s)`: TFCO's default, a convex upper bound of the
    /// indicator.
    #[default]
    Hinge,
}

impl Surrogate {
    fn positive(self, margins: Tensor<1>) -> Tensor<1> {
        match self {
            Surrogate::Sigmoid => sigmoid(margins),
            Surrogate::Hinge => relu(margins.add_scalar(1.0)),
        }
    }

    fn negative(self, margins: Tensor<1>) -> Tensor<1> {
        self.positive(margins.neg())
    }
}

/// Which samples of the batch a rate is over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subset {
    /// The whole batch.
    All,
    /// The samples whose mask entry is `true`, under a name for messages.
    Mask {
        /// The group's name.
        name: String,
        /// One entry per sample of the batch.
        mask: Vec<bool>,
    },
}

impl Subset {
    /// The samples where `mask` is `true`.
    pub fn mask(name: impl Into<String>, mask: impl Into<Vec<bool>>) -> Self {
        Subset::Mask {
            name: name.into(),
            mask: mask.into(),
        }
    }

    /// The samples whose group id is `group`.
    pub fn group(name: impl Into<String>, ids: &[usize], group: usize) -> Self {
        Subset::mask(name, ids.iter().map(|id| *id == group).collect::<Vec<bool>>())
    }

    fn name(&self) -> &str {
        match self {
            Subset::All => "all",
            Subset::Mask { name, .. } => name,
        }
    }

    fn contains(&self, i: usize) -> bool {
        match self {
            Subset::All => true,
            Subset::Mask { mask, .. } => mask[i],
        }
    }

    fn check(&self, len: usize) -> Result<()> {
        match self {
            Subset::Mask { name, mask } if mask.len() != len => Err(Error::Rate {
                reason: format!("the mask of group `{name}` has {} entries, the batch {len}", mask.len()),
            }),
            _ => Ok(()),
        }
    }
}

/// One batch's binary predictions (margins, positive iff `> 0`) and labels.
#[derive(Clone, Debug)]
pub struct BinaryPredictions {
    positive: Tensor<1>,
    negative: Tensor<1>,
    predicted: Vec<bool>,
    labels: Vec<bool>,
}

impl BinaryPredictions {
    /// From the margins `[n]` (a binary classifier's logits) and the labels
    /// (`true` = positive). Reads the margins back once to know the 0/1
    /// predictions.
    pub fn new(margins: Tensor<1>, labels: impl Into<Vec<bool>>, surrogate: Surrogate) -> Result<Self> {
        let labels = labels.into();
        let n = margins.dims()[0];
        if labels.len() != n {
            return Err(Error::Rate {
                reason: format!("{} labels for {n} predictions", labels.len()),
            });
        }
        let predicted = read(margins.clone())?.iter().map(|s| *s > 0.0).collect();
        Ok(Self {
            positive: surrogate.positive(margins.clone()),
            negative: surrogate.negative(margins),
            predicted,
            labels,
        })
    }

    /// One-vs-rest for `class` of a multiclass classifier's logits `[n, K]`:
    /// positive means "predicted `class`" (the arg max), the label is
    /// `labels[i] == class`.
    pub fn one_vs_rest(logits: Tensor<2>, labels: &[usize], class: usize, surrogate: Surrogate) -> Result<Self> {
        let [n, classes] = logits.dims();
        if class >= classes {
            return Err(Error::Rate {
                reason: format!("class {class} of a classifier with {classes} classes"),
            });
        }
        let column: Vec<usize> = vec![class; n];
        let margins = margins_of(logits, &column)?;
        Self::new(
            margins,
            labels.iter().map(|y| *y == class).collect::<Vec<bool>>(),
            surrogate,
        )
    }

    /// The number of predictions.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 0/1 predictions (`margin > 0`).
    pub fn predicted(&self) -> &[bool] {
        &self.predicted
    }

    /// Sums `surrogate` and the 0/1 `indicator` over the subset's samples
    /// that `event` selects.
    fn term(
        &self,
        rate: &str,
        subset: &Subset,
        event: impl Fn(usize) -> bool,
        surrogate: &Tensor<1>,
        indicator: impl Fn(usize) -> bool,
    ) -> Result<Rate> {
        subset.check(self.len())?;
        let members: Vec<bool> = (0..self.len()).map(|i| subset.contains(i) && event(i)).collect();
        let count = members.iter().filter(|m| **m).count();
        let strict = (0..self.len()).filter(|i| members[*i] && indicator(*i)).count();
        Ok(Rate::single(Term {
            coefficient: 1.0,
            name: format!("{rate}[{}]", subset.name()),
            numerator: masked_sum(surrogate, &members),
            numerator_strict: strict as f64,
            denominator: Denominator::Count(count as f64),
            batch: self.len(),
        }))
    }

    /// `P(ŷ = 1)` over the subset.
    pub fn positive_prediction_rate(&self, subset: &Subset) -> Result<Rate> {
        self.term(
            "positive_prediction_rate",
            subset,
            |_| true,
            &self.positive,
            |i| self.predicted[i],
        )
    }

    /// `P(ŷ = 0)` over the subset.
    pub fn negative_prediction_rate(&self, subset: &Subset) -> Result<Rate> {
        self.term(
            "negative_prediction_rate",
            subset,
            |_| true,
            &self.negative,
            |i| !self.predicted[i],
        )
    }

    /// `P(ŷ = 1 | y = 1)` over the subset (recall).
    pub fn true_positive_rate(&self, subset: &Subset) -> Result<Rate> {
        self.term(
            "true_positive_rate",
            subset,
            |i| self.labels[i],
            &self.positive,
            |i| self.predicted[i],
        )
    }

    /// `P(ŷ = 0 | y = 1)` over the subset.
    pub fn false_negative_rate(&self, subset: &Subset) -> Result<Rate> {
        self.term(
            "false_negative_rate",
            subset,
            |i| self.labels[i],
            &self.negative,
            |i| !self.predicted[i],
        )
    }

    /// `P(ŷ = 1 | y = 0)` over the subset.
    pub fn false_positive_rate(&self, subset: &Subset) -> Result<Rate> {
        self.term(
            "false_positive_rate",
            subset,
            |i| !self.labels[i],
            &self.positive,
            |i| self.predicted[i],
        )
    }

    /// `P(ŷ = 0 | y = 0)` over the subset.
    pub fn true_negative_rate(&self, subset: &Subset) -> Result<Rate> {
        self.term(
            "true_negative_rate",
            subset,
            |i| !self.labels[i],
            &self.negative,
            |i| !self.predicted[i],
        )
    }

    /// `P(ŷ ≠ y)` over the subset.
    pub fn error_rate(&self, subset: &Subset) -> Result<Rate> {
        let wrong = self.labels_mix(&self.negative, &self.positive);
        self.term(
            "error_rate",
            subset,
            |_| true,
            &wrong,
            |i| self.predicted[i] != self.labels[i],
        )
    }

    /// `P(ŷ = y)` over the subset.
    pub fn accuracy(&self, subset: &Subset) -> Result<Rate> {
        let right = self.labels_mix(&self.positive, &self.negative);
        self.term(
            "accuracy",
            subset,
            |_| true,
            &right,
            |i| self.predicted[i] == self.labels[i],
        )
    }

    /// `P(y = 1 | ŷ = 1)` over the subset. Its denominator depends on the
    /// predictions, so it is a ratio of surrogates (and cannot take an
    /// expected denominator).
    pub fn precision(&self, subset: &Subset) -> Result<Rate> {
        let true_positives = self.term(
            "precision",
            subset,
            |i| self.labels[i],
            &self.positive,
            |i| self.predicted[i],
        )?;
        let predicted_positive = self.term("precision", subset, |_| true, &self.positive, |i| self.predicted[i])?;
        let (mut term, denominator) = (true_positives.terms[0].clone(), &predicted_positive.terms[0]);
        term.denominator = Denominator::Predicted {
            surrogate: Box::new(denominator.numerator.clone()),
            strict: denominator.numerator_strict,
        };
        Ok(Rate::single(term))
    }

    /// Per sample: `if_positive` where the label is positive, else `if_negative`.
    fn labels_mix(&self, if_positive: &Tensor<1>, if_negative: &Tensor<1>) -> Tensor<1> {
        let mask = constant(if_positive, &self.labels);
        if_positive.clone() * mask.clone() + if_negative.clone() * mask.neg().add_scalar(1.0)
    }
}

/// One batch's multiclass predictions (logits `[n, K]`) and labels.
#[derive(Clone, Debug)]
pub struct MulticlassPredictions {
    logits: Tensor<2>,
    labels: Vec<usize>,
    correct: BinaryPredictions,
    surrogate: Surrogate,
}

impl MulticlassPredictions {
    /// From the logits `[n, K]` and labels in `0..K`.
    pub fn new(logits: Tensor<2>, labels: impl Into<Vec<usize>>, surrogate: Surrogate) -> Result<Self> {
        let labels = labels.into();
        let [n, classes] = logits.dims();
        if labels.len() != n {
            return Err(Error::Rate {
                reason: format!("{} labels for {n} predictions", labels.len()),
            });
        }
        if let Some(y) = labels.iter().find(|y| **y >= classes) {
            return Err(Error::Rate {
                reason: format!("label {y} of a classifier with {classes} classes"),
            });
        }
        // "Correct" as a binary question: margin of the true class over the
        // best other class, every label positive.
        let margins = margins_of(logits.clone(), &labels)?;
        let correct = BinaryPredictions::new(margins, vec![true; n], surrogate)?;
        Ok(Self {
            logits,
            labels,
            correct,
            surrogate,
        })
    }

    /// The number of predictions.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Which predictions are correct (arg max = label).
    pub fn correct(&self) -> &[bool] {
        self.correct.predicted()
    }

    /// `P(arg max = y)` over the subset; surrogate: the indicator of a
    /// positive margin `z_y - max_{j≠y} z_j`.
    pub fn accuracy(&self, subset: &Subset) -> Result<Rate> {
        let mut rate = self.correct.true_positive_rate(subset)?;
        rate.terms[0].name = format!("accuracy[{}]", subset.name());
        Ok(rate)
    }

    /// `P(arg max ≠ y)` over the subset.
    pub fn error_rate(&self, subset: &Subset) -> Result<Rate> {
        let mut rate = self.correct.false_negative_rate(subset)?;
        rate.terms[0].name = format!("error_rate[{}]", subset.name());
        Ok(rate)
    }

    /// The binary question "predicted `class`?" (one-vs-rest), with all its
    /// rates.
    pub fn one_vs_rest(&self, class: usize) -> Result<BinaryPredictions> {
        BinaryPredictions::one_vs_rest(self.logits.clone(), &self.labels, class, self.surrogate)
    }
}

/// `z[i, k_i] - max_{j≠k_i} z[i, j]`, shape `[n]`.
fn margins_of(logits: Tensor<2>, columns: &[usize]) -> Result<Tensor<1>> {
    let [n, classes] = logits.dims();
    if classes < 2 {
        return Err(Error::Rate {
            reason: format!("one-vs-rest margins need at least 2 classes, the logits have {classes}"),
        });
    }
    let options = (&logits.device(), logits.dtype());
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(columns.iter().map(|c| *c as i64).collect::<Vec<i64>>(), [n, 1]),
        &logits.device(),
    );
    let own = logits.clone().gather(1, ids);
    // Push the own column far down before taking the max of the others.
    let mut shift = vec![0.0f32; n * classes];
    for (i, c) in columns.iter().enumerate() {
        shift[i * classes + c] = -1e30;
    }
    let shift = Tensor::<2>::from_data(TensorData::new(shift, [n, classes]), options);
    let others = (logits + shift).max_dim(1);
    Ok((own - others).reshape([n]))
}

/// A constant `[n]` tensor of 0/1 on the device and dtype of `like`.
fn constant(like: &Tensor<1>, mask: &[bool]) -> Tensor<1> {
    let values: Vec<f32> = mask.iter().map(|m| if *m { 1.0 } else { 0.0 }).collect();
    Tensor::<1>::from_data(TensorData::new(values, [mask.len()]), (&like.device(), like.dtype()))
}

/// `Σ_i mask_i values_i`, shape `[1]`.
fn masked_sum(values: &Tensor<1>, mask: &[bool]) -> Tensor<1> {
    (values.clone() * constant(values, mask)).sum()
}

fn read(tensor: Tensor<1>) -> Result<Vec<f64>> {
    tensor
        .without_autodiff()
        .into_data()
        .try_into_vec_as::<f64>()
        .map_err(|e| Error::Readback {
            reason: format!("{e:?}"),
        })
}

/// What a ratio term divides by.
#[derive(Clone, Debug)]
enum Denominator {
    /// A number of samples (or an expected number).
    Count(f64),
    /// A surrogate and its 0/1 count (precision).
    Predicted { surrogate: Box<Tensor<1>>, strict: f64 },
}

#[derive(Clone, Debug)]
struct Term {
    coefficient: f64,
    name: String,
    numerator: Tensor<1>,
    numerator_strict: f64,
    denominator: Denominator,
    batch: usize,
}

impl Term {
    fn empty(&self, what: &str) -> Error {
        Error::EmptyRate {
            rate: self.name.clone(),
            reason: format!("its denominator ({what}) is 0 in this batch"),
        }
    }
}

/// A rate, or a linear combination of rates plus a constant: both its
/// differentiable surrogate and its true 0/1 value.
#[derive(Clone, Debug)]
pub struct Rate {
    terms: Vec<Term>,
    constant: f64,
}

impl Rate {
    fn single(term: Term) -> Self {
        Self {
            terms: vec![term],
            constant: 0.0,
        }
    }

    /// Divides by the denominator's expected number in the batch,
    /// `probability · batch size`, instead of its count in the batch: an
    /// unbiased minibatch estimate of the data set's rate when
    /// `probability` is the data set's share of the denominator (e.g.
    /// `P(y = 1, group)` for a group's true positive rate). Only for a
    /// single rate whose denominator does not depend on the predictions.
    pub fn with_expected_denominator(mut self, probability: f64) -> Result<Self> {
        if !(probability > 0.0 && probability <= 1.0) {
            return Err(Error::Rate {
                reason: format!("expected denominator {probability}: must be a probability in (0, 1]"),
            });
        }
        match self.terms.as_mut_slice() {
            [term] if self.constant == 0.0 && term.coefficient == 1.0 => match term.denominator {
                Denominator::Count(_) => {
                    term.denominator = Denominator::Count(probability * term.batch as f64);
                    Ok(self)
                }
                Denominator::Predicted { .. } => Err(Error::Rate {
                    reason: format!(
                        "`{}` divides by the predictions; it has no expected denominator",
                        term.name
                    ),
                }),
            },
            _ => Err(Error::Rate {
                reason: "an expected denominator applies to a single rate, before combining rates".into(),
            }),
        }
    }

    /// The true (0/1) value.
    pub fn strict(&self) -> Result<f64> {
        let mut value = self.constant;
        for term in &self.terms {
            let denominator = match &term.denominator {
                Denominator::Count(count) => *count,
                Denominator::Predicted { strict, .. } => *strict,
            };
            if denominator <= 0.0 {
                return Err(term.empty(match term.denominator {
                    Denominator::Count(_) => "the samples it is a rate of",
                    Denominator::Predicted { .. } => "the predicted positives",
                }));
            }
            value += term.coefficient * term.numerator_strict / denominator;
        }
        Ok(value)
    }

    /// The differentiable surrogate, shape `[1]`.
    pub fn surrogate(&self) -> Result<Tensor<1>> {
        let mut sum: Option<Tensor<1>> = None;
        for term in &self.terms {
            let ratio = match &term.denominator {
                Denominator::Count(count) if *count > 0.0 => term.numerator.clone().div_scalar(*count),
                Denominator::Count(_) => return Err(term.empty("the samples it is a rate of")),
                Denominator::Predicted { strict, .. } if *strict <= 0.0 => {
                    return Err(term.empty("the predicted positives"));
                }
                Denominator::Predicted { surrogate, .. } => {
                    term.numerator.clone() / (**surrogate).clone().clamp_min(f32::MIN_POSITIVE)
                }
            };
            let ratio = ratio.mul_scalar(term.coefficient);
            sum = Some(match sum {
                Some(s) => s + ratio,
                None => ratio,
            });
        }
        // Every public constructor makes at least one term.
        let sum = sum.ok_or_else(|| Error::Rate {
            reason: "a constant has no surrogate".into(),
        })?;
        Ok(sum.add_scalar(self.constant))
    }

    /// The constraint tensors: the surrogate as the value, the 0/1 value as
    /// the strict value.
    pub fn into_constraint(self) -> Result<ConstraintTensors> {
        Ok(ConstraintTensors::new(self.surrogate()?).with_strict_values(vec![self.strict()?]))
    }

    /// One constraint with an entry per rate (they must be on one device).
    pub fn stack(rates: Vec<Rate>) -> Result<ConstraintTensors> {
        let surrogates = rates.iter().map(Rate::surrogate).collect::<Result<Vec<_>>>()?;
        let strict = rates.iter().map(Rate::strict).collect::<Result<Vec<_>>>()?;
        if surrogates.is_empty() {
            return Err(Error::Rate {
                reason: "no rates to stack".into(),
            });
        }
        Ok(ConstraintTensors::new(Tensor::cat(surrogates, 0)).with_strict_values(strict))
    }
}

impl Add for Rate {
    type Output = Rate;
    fn add(mut self, other: Rate) -> Rate {
        self.terms.extend(other.terms);
        self.constant += other.constant;
        self
    }
}

impl Neg for Rate {
    type Output = Rate;
    fn neg(self) -> Rate {
        self * -1.0
    }
}

impl Sub for Rate {
    type Output = Rate;
    fn sub(self, other: Rate) -> Rate {
        self + (-other)
    }
}

impl Mul<f64> for Rate {
    type Output = Rate;
    fn mul(mut self, factor: f64) -> Rate {
        self.terms.iter_mut().for_each(|t| t.coefficient *= factor);
        self.constant *= factor;
        self
    }
}

impl Add<f64> for Rate {
    type Output = Rate;
    fn add(mut self, constant: f64) -> Rate {
        self.constant += constant;
        self
    }
}

impl Sub<f64> for Rate {
    type Output = Rate;
    fn sub(self, constant: f64) -> Rate {
        self + (-constant)
    }
}

/// Counts of a binary classifier's predictions against labels, on the host
/// (for evaluating a whole data set, a snapshot, a report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    /// Predicted positive, labelled positive.
    pub true_positives: usize,
    /// Predicted positive, labelled negative.
    pub false_positives: usize,
    /// Predicted negative, labelled negative.
    pub true_negatives: usize,
    /// Predicted negative, labelled positive.
    pub false_negatives: usize,
}

impl Confusion {
    /// Counts over the samples where `mask` is `true` (all if `None`).
    pub fn new(predicted: &[bool], labels: &[bool], mask: Option<&[bool]>) -> Result<Self> {
        if predicted.len() != labels.len() || mask.is_some_and(|m| m.len() != labels.len()) {
            return Err(Error::Rate {
                reason: format!(
                    "{} predictions, {} labels and {} mask entries",
                    predicted.len(),
                    labels.len(),
                    mask.map_or(labels.len(), <[bool]>::len)
                ),
            });
        }
        let mut c = Confusion::default();
        for i in 0..labels.len() {
            if mask.is_some_and(|m| !m[i]) {
                continue;
            }
            match (predicted[i], labels[i]) {
                (true, true) => c.true_positives += 1,
                (true, false) => c.false_positives += 1,
                (false, false) => c.true_negatives += 1,
                (false, true) => c.false_negatives += 1,
            }
        }
        Ok(c)
    }

    /// The number of samples counted.
    pub fn total(&self) -> usize {
        self.true_positives + self.false_positives + self.true_negatives + self.false_negatives
    }

    fn ratio(numerator: usize, denominator: usize) -> f64 {
        if denominator == 0 {
            f64::NAN
        } else {
            numerator as f64 / denominator as f64
        }
    }

    /// `P(ŷ = 1)`; NaN for no samples (and likewise below).
    pub fn positive_prediction_rate(&self) -> f64 {
        Self::ratio(self.true_positives + self.false_positives, self.total())
    }

    /// `P(ŷ = 1 | y = 1)`.
    pub fn true_positive_rate(&self) -> f64 {
        Self::ratio(self.true_positives, self.true_positives + self.false_negatives)
    }

    /// `P(ŷ = 1 | y = 0)`.
    pub fn false_positive_rate(&self) -> f64 {
        Self::ratio(self.false_positives, self.false_positives + self.true_negatives)
    }

    /// `P(ŷ = 0 | y = 0)`.
    pub fn true_negative_rate(&self) -> f64 {
        Self::ratio(self.true_negatives, self.false_positives + self.true_negatives)
    }

    /// `P(ŷ = 0 | y = 1)`.
    pub fn false_negative_rate(&self) -> f64 {
        Self::ratio(self.false_negatives, self.true_positives + self.false_negatives)
    }

    /// `P(ŷ ≠ y)`.
    pub fn error_rate(&self) -> f64 {
        Self::ratio(self.false_positives + self.false_negatives, self.total())
    }

    /// `P(y = 1 | ŷ = 1)`.
    pub fn precision(&self) -> f64 {
        Self::ratio(self.true_positives, self.true_positives + self.false_positives)
    }
}
