//! The configuration, checked: every value in its range and every key
//! where it applies, or an error naming the key and its line.

use std::ops::Range;
use std::path::PathBuf;

use feasible::UpdateScheme;
use feasible_burn::rates::Surrogate;

use crate::device::DeviceSpec;

use super::config::{At, Config, ConfigError, ConstraintConfig, Source};

/// Overrides from the command line, for a quick run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// Replaces `training.epochs`.
    pub epochs: Option<usize>,
    /// Replaces `data.max_rows`.
    pub max_rows: Option<usize>,
}

/// A file given in the configuration, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRef {
    /// The path, resolved.
    pub path: PathBuf,
    /// The key naming it.
    pub key: String,
    /// Where the value is.
    pub span: Range<usize>,
}

/// The data files.
#[derive(Clone, Debug, PartialEq)]
pub enum Files {
    /// CSV files.
    Csv {
        /// The training file.
        train: FileRef,
        /// The validation file.
        validation: Option<FileRef>,
        /// The test file.
        test: Option<FileRef>,
    },
    /// IDX images and labels.
    Idx {
        /// Training images and labels.
        train: (FileRef, FileRef),
        /// Test images and labels.
        test: Option<(FileRef, FileRef)>,
    },
}

/// A list of column names and where it is.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Columns {
    /// The names.
    pub names: Vec<String>,
    /// The key.
    pub key: String,
    /// Where the list is.
    pub span: Range<usize>,
}

/// The data, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct DataPlan {
    /// The files.
    pub files: Files,
    /// Held-out fractions of the training file: validation, test.
    pub validation_fraction: f64,
    /// See `validation_fraction`.
    pub test_fraction: f64,
    /// CSV: whether the first record names the columns.
    pub header: bool,
    /// CSV without a header: the columns.
    pub columns: Option<Columns>,
    /// CSV: the comment character.
    pub comment: Option<u8>,
    /// CSV: the label column.
    pub label: Columns,
    /// CSV: the positive label values.
    pub positive: Vec<String>,
    /// CSV: numeric columns.
    pub numeric: Columns,
    /// CSV: categorical columns.
    pub categorical: Columns,
    /// CSV: group columns.
    pub groups: Columns,
    /// The first rows of every file only.
    pub max_rows: Option<usize>,
}

/// The model, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPlan {
    /// Hidden widths (empty: linear).
    pub hidden: Vec<usize>,
    /// L0 gates.
    pub gates: bool,
    /// The gates' parameter scale.
    pub gate_scale: f64,
}

/// A constraint as declared, checked as far as can be without the data.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstraintSpec {
    /// A rate of a group.
    Rate {
        /// The constraint's name.
        name: String,
        /// The rate.
        rate: RateKind,
        /// `column=value`, and where it is; `None`: all samples.
        group: Option<(String, Range<usize>)>,
        /// How the rate compares with the target.
        sense: RateSense,
        /// The target.
        target: f64,
        /// The audit's tolerance for `==`.
        tolerance: f64,
        /// Where the entry is.
        span: Range<usize>,
    },
    /// A fairness criterion over groups.
    Fairness {
        /// The criterion.
        criterion: feasible_burn::fairness::Criterion,
        /// `column=value` per group.
        groups: Vec<String>,
        /// Where the groups are.
        groups_span: Range<usize>,
        /// `ε`.
        tolerance: f64,
    },
    /// The density of the gated weights at most `target`.
    Density {
        /// The target.
        target: f64,
        /// Where the entry is.
        span: Range<usize>,
    },
    /// Every sample's loss at most `bound`.
    SampleLoss {
        /// The bound.
        bound: f64,
    },
}

/// A rate of a classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateKind {
    /// `P(ŷ = 1)`.
    PositivePrediction,
    /// `P(ŷ = 1 | y = 1)`.
    TruePositive,
    /// `P(ŷ = 1 | y = 0)`.
    FalsePositive,
    /// `P(ŷ = 0 | y = 1)`.
    FalseNegative,
    /// `P(ŷ ≠ y)`.
    Error,
    /// `P(ŷ = y)`.
    Accuracy,
    /// `P(y = 1 | ŷ = 1)`.
    Precision,
}

impl RateKind {
    /// Every rate with its names in the configuration (long, short).
    pub const ALL: [(RateKind, &'static str, &'static str); 7] = [
        (RateKind::PositivePrediction, "positive_prediction_rate", "ppr"),
        (RateKind::TruePositive, "true_positive_rate", "tpr"),
        (RateKind::FalsePositive, "false_positive_rate", "fpr"),
        (RateKind::FalseNegative, "false_negative_rate", "fnr"),
        (RateKind::Error, "error_rate", "error"),
        (RateKind::Accuracy, "accuracy", "accuracy"),
        (RateKind::Precision, "precision", "precision"),
    ];

    /// The long name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("rate", |(_, n, _)| n)
    }
}

/// `>=`, `<=`, `==`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateSense {
    /// `>=`.
    AtLeast,
    /// `<=`.
    AtMost,
    /// `==`.
    Equal,
}

/// The formulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormulationKind {
    /// Learned multipliers.
    Lagrangian,
    /// Multipliers and a quadratic penalty.
    AugmentedLagrangian,
    /// A quadratic penalty.
    QuadraticPenalty,
    /// A fixed linear penalty.
    FixedPenalty,
    /// TFCO's proxy-Lagrangian: the constraints play one swap-regret game
    /// whose weights include the objective's.
    ProxyLagrangian,
}

impl FormulationKind {
    /// Whether it takes a penalty coefficient.
    fn has_penalty(self) -> bool {
        !matches!(self, FormulationKind::Lagrangian | FormulationKind::ProxyLagrangian)
    }
}

/// The dual optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DualKind {
    /// Projected gradient ascent.
    GradientAscent,
    /// nuPI with `K_p = K_i = 1`.
    NuPi,
    /// Adam.
    Adam,
    /// Optimistic gradient ascent.
    Optimistic,
}

/// The primal optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrimalKind {
    /// Adam.
    Adam,
    /// AdamW.
    AdamW,
    /// SGD.
    Sgd,
}

/// The training settings, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingPlan {
    /// The formulation.
    pub formulation: FormulationKind,
    /// Its penalty coefficient.
    pub penalty: f64,
    /// Restart multipliers on feasibility.
    pub restart_on_feasible: bool,
    /// The dual optimizer.
    pub dual: DualKind,
    /// Its step.
    pub dual_lr: f64,
    /// The update scheme.
    pub scheme: UpdateScheme,
    /// The primal optimizer.
    pub primal: PrimalKind,
    /// Its step.
    pub lr: f64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// The seed.
    pub seed: u64,
    /// The rates' surrogate.
    pub surrogate: Surrogate,
    /// The audit's confidence level.
    pub confidence: f64,
    /// The device to train and evaluate on.
    pub device: DeviceSpec,
}

/// The whole configuration, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The data.
    pub data: DataPlan,
    /// The model.
    pub model: ModelPlan,
    /// The constraints.
    pub constraints: Vec<ConstraintSpec>,
    /// The training.
    pub training: TrainingPlan,
}

/// Resolves a data path: `data:`, `adult:` and `fashion-mnist:` stand for
/// those directories; another relative path is relative to `base` (the
/// configuration's directory).
pub fn resolve_path(value: &str, base: &std::path::Path) -> PathBuf {
    use crate::data::locations;
    let downloads = || locations::downloads_in(&locations::data_dir());
    let prefixed: [(&str, &dyn Fn() -> PathBuf); 3] = [
        ("data:", &locations::data_dir),
        ("adult:", &|| locations::adult_dir_in(&downloads())),
        ("fashion-mnist:", &locations::fashion_mnist_dir),
    ];
    for (prefix, dir) in prefixed {
        if let Some(rest) = value.strip_prefix(prefix) {
            return dir().join(rest);
        }
    }
    let path = PathBuf::from(value);
    if path.is_absolute() { path } else { base.join(path) }
}

struct Checker<'a> {
    source: &'a Source,
}

impl Checker<'_> {
    fn err<T>(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> Result<T, ConfigError> {
        Err(self.source.error(span, key, message))
    }

    fn choice<T: Copy>(&self, value: &At<String>, key: &str, choices: &[(T, &str)]) -> Result<T, ConfigError> {
        let v = value.get_ref().trim().replace('-', "_");
        match choices.iter().find(|(_, n)| *n == v) {
            Some((c, _)) => Ok(*c),
            None => self.err(
                value.span(),
                key,
                format!(
                    "unknown value `{}`; known: {}",
                    value.get_ref(),
                    choices.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    }

    /// [`Checker::choice`] of a key that may be absent, `default` then.
    fn choice_or<T: Copy>(
        &self,
        value: Option<&At<String>>,
        key: &str,
        choices: &[(T, &str)],
        default: T,
    ) -> Result<T, ConfigError> {
        value.map_or(Ok(default), |v| self.choice(v, key, choices))
    }

    fn positive(&self, value: &At<f64>, key: &str) -> Result<f64, ConfigError> {
        let v = *value.get_ref();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            self.err(value.span(), key, format!("{v} must be a finite number > 0"))
        }
    }

    fn fraction(&self, value: &At<f64>, key: &str, what: &str) -> Result<f64, ConfigError> {
        let v = *value.get_ref();
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            self.err(value.span(), key, format!("{v} is not {what} in [0, 1]"))
        }
    }

    fn count(&self, value: &At<i64>, key: &str) -> Result<usize, ConfigError> {
        let v = *value.get_ref();
        if v >= 1 {
            Ok(v as usize)
        } else {
            self.err(value.span(), key, format!("{v} must be at least 1"))
        }
    }

    fn columns(&self, value: &Option<At<Vec<String>>>, key: &str) -> Columns {
        value.as_ref().map_or_else(
            || Columns {
                key: key.to_string(),
                ..Columns::default()
            },
            |v| Columns {
                names: v.get_ref().clone(),
                key: key.to_string(),
                span: v.span(),
            },
        )
    }
}

/// Refuses `key` when set: it does not apply here.
fn not_here<T>(checker: &Checker<'_>, value: &Option<At<T>>, key: &str, why: &str) -> Result<(), ConfigError> {
    match value {
        Some(v) => checker.err(v.span(), key, format!("does not apply {why}")),
        None => Ok(()),
    }
}

/// Checks the configuration (`source` says where each value is).
pub fn check(
    config: &Config,
    source: &Source,
    overrides: Overrides,
    base: &std::path::Path,
) -> Result<Plan, ConfigError> {
    let c = Checker { source };
    let data = check_data(&c, config, overrides, base)?;
    let model = &config.model;
    let kind = c.choice(&model.kind, "model.kind", &[(false, "linear"), (true, "mlp")])?;
    let hidden = match (&model.hidden, kind) {
        (Some(h), true) => h
            .get_ref()
            .iter()
            .map(|w| {
                if *w >= 1 {
                    Ok(*w as usize)
                } else {
                    c.err(h.span(), "model.hidden", format!("width {w} must be at least 1"))
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
        (Some(h), false) => return c.err(h.span(), "model.hidden", "does not apply to a linear model"),
        (None, true) => return c.err(model.kind.span(), "model.hidden", "an mlp needs its hidden widths"),
        (None, false) => Vec::new(),
    };
    let gates = model.gates.as_ref().is_some_and(|g| *g.get_ref());
    let gate_scale = match &model.gate_scale {
        Some(s) if gates => c.positive(s, "model.gate_scale")?,
        Some(s) => return c.err(s.span(), "model.gate_scale", "applies with `gates = true` only"),
        None => 1.0,
    };
    let model = ModelPlan {
        hidden,
        gates,
        gate_scale,
    };
    let idx = matches!(data.files, Files::Idx { .. });
    let constraints = config
        .constraints
        .iter()
        .map(|entry| check_constraint(&c, entry, &model, idx))
        .collect::<Result<Vec<_>, _>>()?;
    let training = check_training(&c, config, overrides)?;
    Ok(Plan {
        data,
        model,
        constraints,
        training,
    })
}

fn check_data(
    c: &Checker<'_>,
    config: &Config,
    overrides: Overrides,
    base: &std::path::Path,
) -> Result<DataPlan, ConfigError> {
    let d = &config.data;
    let format = c.choice(&d.format, "data.format", &[(false, "csv"), (true, "idx")])?;
    let file = |v: &Option<At<String>>, key: &str| {
        v.as_ref().map(|v| FileRef {
            path: resolve_path(v.get_ref(), base),
            key: key.to_string(),
            span: v.span(),
        })
    };
    let files = if format {
        for (v, k) in [
            (&d.train, "data.train"),
            (&d.validation, "data.validation"),
            (&d.test, "data.test"),
        ] {
            not_here(c, v, k, "to IDX data (use train_images, train_labels, ...)")?;
        }
        let (Some(images), Some(labels)) = (
            file(&d.train_images, "data.train_images"),
            file(&d.train_labels, "data.train_labels"),
        ) else {
            return c.err(
                d.format.span(),
                "data.train_images",
                "IDX data needs train_images and train_labels",
            );
        };
        let test = match (
            file(&d.test_images, "data.test_images"),
            file(&d.test_labels, "data.test_labels"),
        ) {
            (Some(i), Some(l)) => Some((i, l)),
            (None, None) => None,
            _ => {
                return c.err(
                    d.format.span(),
                    "data.test_images",
                    "give both test_images and test_labels, or neither",
                );
            }
        };
        Files::Idx {
            train: (images, labels),
            test,
        }
    } else {
        for (v, k) in [
            (&d.train_images, "data.train_images"),
            (&d.train_labels, "data.train_labels"),
            (&d.test_images, "data.test_images"),
            (&d.test_labels, "data.test_labels"),
        ] {
            not_here(c, v, k, "to CSV data (use train, validation, test)")?;
        }
        let Some(train) = file(&d.train, "data.train") else {
            return c.err(d.format.span(), "data.train", "CSV data needs a training file");
        };
        Files::Csv {
            train,
            validation: file(&d.validation, "data.validation"),
            test: file(&d.test, "data.test"),
        }
    };
    let fraction = |v: &Option<At<f64>>, key: &str| v.as_ref().map_or(Ok(0.0), |v| c.fraction(v, key, "a fraction"));
    let validation_fraction = fraction(&d.validation_fraction, "data.validation_fraction")?;
    let test_fraction = fraction(&d.test_fraction, "data.test_fraction")?;
    if let (Some(v), Some(_)) = (&d.validation_fraction, &d.validation) {
        return c.err(
            v.span(),
            "data.validation_fraction",
            "give a validation file or a fraction, not both",
        );
    }
    if let (Some(v), Some(_)) = (&d.test_fraction, &d.test) {
        return c.err(
            v.span(),
            "data.test_fraction",
            "give a test file or a fraction, not both",
        );
    }
    if let (Some(v), Some(_)) = (&d.test_fraction, &d.test_images) {
        return c.err(
            v.span(),
            "data.test_fraction",
            "give test files or a fraction, not both",
        );
    }
    if validation_fraction + test_fraction >= 1.0 {
        let span = d
            .test_fraction
            .as_ref()
            .or(d.validation_fraction.as_ref())
            .map_or(0..0, |v| v.span());
        return c.err(
            span,
            "data.test_fraction",
            "the held-out fractions leave no training data",
        );
    }
    let csv_only = "to IDX data";
    if format {
        not_here(c, &d.header, "data.header", csv_only)?;
        not_here(c, &d.columns, "data.columns", csv_only)?;
        not_here(c, &d.comment, "data.comment", csv_only)?;
        not_here(c, &d.label, "data.label", csv_only)?;
        not_here(c, &d.positive, "data.positive", csv_only)?;
        not_here(c, &d.numeric, "data.numeric", csv_only)?;
        not_here(c, &d.categorical, "data.categorical", csv_only)?;
        not_here(c, &d.groups, "data.groups", csv_only)?;
    }
    let header = d.header.as_ref().is_none_or(|h| *h.get_ref());
    let columns = match (&d.columns, header) {
        (Some(cols), false) => Some(c.columns(&Some(cols.clone()), "data.columns")),
        (Some(cols), true) => {
            return c.err(
                cols.span(),
                "data.columns",
                "applies with `header = false` only (the header names the columns)",
            );
        }
        (None, false) => {
            return c.err(
                d.header.as_ref().map_or(0..0, |h| h.span()),
                "data.columns",
                "without a header, name the columns",
            );
        }
        (None, true) => None,
    };
    let comment = match &d.comment {
        Some(v) if v.get_ref().len() == 1 => Some(v.get_ref().as_bytes()[0]),
        Some(v) => return c.err(v.span(), "data.comment", "must be one ASCII character"),
        None => None,
    };
    let label = match &d.label {
        Some(l) => Columns {
            names: vec![l.get_ref().clone()],
            key: "data.label".into(),
            span: l.span(),
        },
        None if !format => return c.err(d.format.span(), "data.label", "CSV data needs its label column"),
        None => Columns::default(),
    };
    let positive = match &d.positive {
        Some(p) if p.get_ref().is_empty() => {
            return c.err(p.span(), "data.positive", "name at least one positive label value");
        }
        Some(p) => p.get_ref().clone(),
        None if !format => {
            return c.err(
                d.format.span(),
                "data.positive",
                "CSV data needs the positive label value(s)",
            );
        }
        None => Vec::new(),
    };
    let numeric = c.columns(&d.numeric, "data.numeric");
    let categorical = c.columns(&d.categorical, "data.categorical");
    if !format && numeric.names.is_empty() && categorical.names.is_empty() {
        return c.err(
            d.format.span(),
            "data.numeric",
            "no feature columns: list numeric and/or categorical columns",
        );
    }
    let max_rows = match (overrides.max_rows, &d.max_rows) {
        (Some(n), _) => Some(n),
        (None, Some(v)) => Some(c.count(v, "data.max_rows")?),
        (None, None) => None,
    };
    Ok(DataPlan {
        files,
        validation_fraction,
        test_fraction,
        header,
        columns,
        comment,
        label,
        positive,
        numeric,
        categorical,
        groups: c.columns(&d.groups, "data.groups"),
        max_rows,
    })
}

fn check_constraint(
    c: &Checker<'_>,
    entry: &At<ConstraintConfig>,
    model: &ModelPlan,
    idx: bool,
) -> Result<ConstraintSpec, ConfigError> {
    use feasible_burn::fairness::Criterion;
    let e = entry.get_ref();
    let kind = c.choice(
        &e.kind,
        "constraints.kind",
        &[
            (0, "rate"),
            (1, "demographic_parity"),
            (2, "equal_opportunity"),
            (3, "equalized_odds"),
            (4, "density"),
            (5, "sample_loss"),
        ],
    )?;
    let kind_name = e.kind.get_ref().as_str();
    let why = format!("to a `{kind_name}` constraint");
    let refuse = |keys: &[(&Option<At<String>>, &str)]| -> Result<(), ConfigError> {
        for (v, k) in keys {
            not_here(c, v, k, &why)?;
        }
        Ok(())
    };
    let need = |v: &Option<At<f64>>, key: &str| match v {
        Some(v) => Ok(v.clone()),
        None => c.err(e.kind.span(), key, format!("a `{kind_name}` constraint needs it")),
    };
    match kind {
        0 => {
            not_here(c, &e.groups, "constraints.groups", &why)?;
            not_here(c, &e.bound, "constraints.bound", &why)?;
            let Some(rate) = &e.rate else {
                return c.err(e.kind.span(), "constraints.rate", "a rate constraint needs its rate");
            };
            let choices: Vec<(RateKind, &str)> = RateKind::ALL
                .iter()
                .flat_map(|(k, long, short)| [(*k, *long), (*k, *short)])
                .collect();
            let rate_kind = c.choice(rate, "constraints.rate", &choices)?;
            if idx && !matches!(rate_kind, RateKind::Error | RateKind::Accuracy) {
                return c.err(
                    rate.span(),
                    "constraints.rate",
                    "IDX data (several classes) takes error_rate and accuracy only",
                );
            }
            let Some(sense) = &e.sense else {
                return c.err(
                    e.kind.span(),
                    "constraints.sense",
                    "a rate constraint needs `>=`, `<=` or `==`",
                );
            };
            let sense_kind = c.choice(
                sense,
                "constraints.sense",
                &[
                    (RateSense::AtLeast, ">="),
                    (RateSense::AtMost, "<="),
                    (RateSense::Equal, "=="),
                ],
            )?;
            let target = need(&e.target, "constraints.target")?;
            let target_value = c.fraction(&target, "constraints.target", "a rate")?;
            let tolerance = match &e.tolerance {
                Some(t) if sense_kind == RateSense::Equal => c.fraction(t, "constraints.tolerance", "a tolerance")?,
                Some(t) => {
                    return c.err(
                        t.span(),
                        "constraints.tolerance",
                        "applies to `==` rate constraints only",
                    );
                }
                None => 0.0,
            };
            let group = e.group.as_ref().map(|g| (g.get_ref().clone(), g.span()));
            let name = match &e.name {
                Some(n) => n.get_ref().clone(),
                None => format!(
                    "{}[{}]",
                    rate_kind.name(),
                    group.as_ref().map_or("all", |(g, _)| g.as_str())
                ),
            };
            Ok(ConstraintSpec::Rate {
                name,
                rate: rate_kind,
                group,
                sense: sense_kind,
                target: target_value,
                tolerance,
                span: entry.span(),
            })
        }
        1..=3 => {
            refuse(&[
                (&e.name, "constraints.name"),
                (&e.rate, "constraints.rate"),
                (&e.group, "constraints.group"),
                (&e.sense, "constraints.sense"),
            ])?;
            not_here(c, &e.target, "constraints.target", &why)?;
            not_here(c, &e.bound, "constraints.bound", &why)?;
            if idx {
                return c.err(
                    e.kind.span(),
                    "constraints.kind",
                    "fairness criteria need binary labels (CSV data)",
                );
            }
            let criterion = [
                Criterion::DemographicParity,
                Criterion::EqualOpportunity,
                Criterion::EqualizedOdds,
            ][kind - 1];
            let Some(groups) = &e.groups else {
                return c.err(
                    e.kind.span(),
                    "constraints.groups",
                    "a fairness criterion needs its groups",
                );
            };
            if groups.get_ref().is_empty() {
                return c.err(groups.span(), "constraints.groups", "name at least one group");
            }
            let tolerance = need(&e.tolerance, "constraints.tolerance")?;
            let tolerance = c.fraction(&tolerance, "constraints.tolerance", "a tolerance")?;
            Ok(ConstraintSpec::Fairness {
                criterion,
                groups: groups.get_ref().clone(),
                groups_span: groups.span(),
                tolerance,
            })
        }
        4 => {
            refuse(&[
                (&e.name, "constraints.name"),
                (&e.rate, "constraints.rate"),
                (&e.group, "constraints.group"),
                (&e.sense, "constraints.sense"),
            ])?;
            not_here(c, &e.groups, "constraints.groups", &why)?;
            not_here(c, &e.tolerance, "constraints.tolerance", &why)?;
            not_here(c, &e.bound, "constraints.bound", &why)?;
            if !model.gates {
                return c.err(
                    e.kind.span(),
                    "constraints.kind",
                    "a density constraint needs `gates = true` in [model]",
                );
            }
            let target = need(&e.target, "constraints.target")?;
            Ok(ConstraintSpec::Density {
                target: c.fraction(&target, "constraints.target", "a density")?,
                span: entry.span(),
            })
        }
        _ => {
            refuse(&[
                (&e.name, "constraints.name"),
                (&e.rate, "constraints.rate"),
                (&e.group, "constraints.group"),
                (&e.sense, "constraints.sense"),
            ])?;
            not_here(c, &e.groups, "constraints.groups", &why)?;
            not_here(c, &e.tolerance, "constraints.tolerance", &why)?;
            not_here(c, &e.target, "constraints.target", &why)?;
            let bound = need(&e.bound, "constraints.bound")?;
            Ok(ConstraintSpec::SampleLoss {
                bound: c.positive(&bound, "constraints.bound")?,
            })
        }
    }
}

fn check_training(c: &Checker<'_>, config: &Config, overrides: Overrides) -> Result<TrainingPlan, ConfigError> {
    let t = &config.training;
    if let Some(o) = &t.objective {
        c.choice(o, "training.objective", &[((), "cross_entropy")])?;
    }
    let formulation = c.choice_or(
        t.formulation.as_ref(),
        "training.formulation",
        &[
            (FormulationKind::Lagrangian, "lagrangian"),
            (FormulationKind::AugmentedLagrangian, "augmented_lagrangian"),
            (FormulationKind::QuadraticPenalty, "quadratic_penalty"),
            (FormulationKind::FixedPenalty, "fixed_penalty"),
            (FormulationKind::ProxyLagrangian, "proxy_lagrangian"),
        ],
        FormulationKind::Lagrangian,
    )?;
    let penalty = match &t.penalty {
        Some(p) if formulation.has_penalty() => c.positive(p, "training.penalty")?,
        Some(p) => {
            return c.err(
                p.span(),
                "training.penalty",
                "does not apply to the lagrangian and proxy_lagrangian formulations",
            );
        }
        None if !formulation.has_penalty() => 0.0,
        None => {
            return c.err(
                t.formulation.as_ref().map_or(0..0, |f| f.span()),
                "training.penalty",
                "this formulation needs a penalty coefficient",
            );
        }
    };
    let restart_on_feasible = match &t.restart_on_feasible {
        Some(r) if formulation != FormulationKind::Lagrangian => {
            return c.err(
                r.span(),
                "training.restart_on_feasible",
                "applies to the lagrangian formulation only",
            );
        }
        Some(r) => *r.get_ref(),
        None => false,
    };
    let dual = c.choice_or(
        t.dual_optimizer.as_ref(),
        "training.dual_optimizer",
        &[
            (DualKind::GradientAscent, "gradient_ascent"),
            (DualKind::NuPi, "nupi"),
            (DualKind::Adam, "adam"),
            (DualKind::Optimistic, "optimistic"),
        ],
        DualKind::GradientAscent,
    )?;
    let dual_lr = t
        .dual_lr
        .as_ref()
        .map_or(Ok(0.01), |v| c.positive(v, "training.dual_lr"))?;
    let scheme = match &t.scheme {
        Some(s) => {
            let scheme: UpdateScheme = s
                .get_ref()
                .parse()
                .map_err(|e: feasible::FeasibleError| c.source.error(s.span(), "training.scheme", e.to_string()))?;
            if scheme == UpdateScheme::Extragradient {
                return c.err(s.span(), "training.scheme", "extragradient is not offered by `feasible train`; use simultaneous, alternating_dual_primal or alternating_primal_dual");
            }
            scheme
        }
        None => UpdateScheme::AlternatingDualPrimal,
    };
    let primal = c.choice_or(
        t.primal_optimizer.as_ref(),
        "training.primal_optimizer",
        &[
            (PrimalKind::Adam, "adam"),
            (PrimalKind::AdamW, "adamw"),
            (PrimalKind::Sgd, "sgd"),
        ],
        PrimalKind::Adam,
    )?;
    let lr = t.lr.as_ref().map_or(Ok(1e-3), |v| c.positive(v, "training.lr"))?;
    let epochs = match overrides.epochs {
        Some(e) => e,
        None => c.count(&t.epochs, "training.epochs")?,
    };
    let batch_size = c.count(&t.batch_size, "training.batch_size")?;
    let seed = match &t.seed {
        Some(s) if *s.get_ref() >= 0 => *s.get_ref() as u64,
        Some(s) => return c.err(s.span(), "training.seed", "must be at least 0"),
        None => 0,
    };
    let device = match &t.device {
        Some(d) => match d.get_ref().parse::<DeviceSpec>().and_then(DeviceSpec::check) {
            Ok(spec) => spec,
            Err(e) => return c.err(d.span(), "training.device", e.to_string()),
        },
        None => DeviceSpec::Flex,
    };
    let surrogate = c.choice_or(
        t.surrogate.as_ref(),
        "training.surrogate",
        &[(Surrogate::Hinge, "hinge"), (Surrogate::Sigmoid, "sigmoid")],
        Surrogate::Hinge,
    )?;
    let confidence = match &t.confidence {
        Some(v) if *v.get_ref() > 0.0 && *v.get_ref() < 1.0 => *v.get_ref(),
        Some(v) => {
            return c.err(
                v.span(),
                "training.confidence",
                format!("{} must be in (0, 1)", v.get_ref()),
            );
        }
        None => 0.95,
    };
    Ok(TrainingPlan {
        formulation,
        penalty,
        restart_on_feasible,
        dual,
        dual_lr,
        scheme,
        primal,
        lr,
        epochs,
        batch_size,
        seed,
        surrogate,
        confidence,
        device,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[data]\nformat = \"csv\"\ntrain = \"a.csv\"\nlabel = \"y\"\npositive = [\"1\"]\nnumeric = [\"x\"]\n\
                        [model]\nkind = \"linear\"\n[training]\nepochs = 1\nbatch_size = 2\n";

    fn checked(text: &str) -> Result<Plan, ConfigError> {
        let source = Source {
            path: PathBuf::from("c.toml"),
            text: text.to_string(),
        };
        let config = super::super::config::parse(&source)?;
        check(&config, &source, Overrides::default(), std::path::Path::new("/base"))
    }

    #[test]
    fn defaults_and_relative_paths() {
        let plan = checked(BASE).unwrap();
        let Files::Csv { train, .. } = &plan.data.files else {
            panic!("csv")
        };
        assert_eq!(train.path, PathBuf::from("/base/a.csv"));
        assert_eq!(plan.training.scheme, UpdateScheme::AlternatingDualPrimal);
        assert_eq!(
            (plan.training.lr, plan.training.dual_lr, plan.training.confidence),
            (1e-3, 0.01, 0.95)
        );
        assert!(plan.model.hidden.is_empty() && !plan.model.gates);
    }

    #[test]
    fn values_that_do_not_apply_or_are_out_of_range_name_key_and_line() {
        let cases = [
            (
                "kind = \"linear\"",
                "kind = \"linear\"\nhidden = [3]",
                9,
                "`model.hidden`",
            ),
            (
                "batch_size = 2",
                "batch_size = 2\ndevice = \"tpu\"",
                12,
                "`training.device`",
            ),
            (
                "batch_size = 2",
                "batch_size = 2\nscheme = \"extragradient\"",
                12,
                "`training.scheme`",
            ),
            (
                "batch_size = 2",
                "batch_size = 2\n[[constraints]]\nkind = \"density\"\ntarget = 0.5",
                13,
                "`constraints.kind`",
            ),
            ("epochs = 1", "epochs = -3", 10, "`training.epochs`"),
        ];
        for (from, to, line, key) in cases {
            let e = checked(&BASE.replace(from, to)).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.to_string().contains(key), "{e}");
        }
    }
}
