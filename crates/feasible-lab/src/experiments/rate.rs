//! Rate-constrained linear classification (position paper Fig. 2, Tables 4
//! and 5, App. B.3; after Cotter et al. 2019, Fig. 2).
//!
//! ```text
//! min_{w,b}  mean CE(w·x + b, y)   s.t.   mean 1[w·x + b < 0]  >=  0.7
//! ```
//!
//! The constraint (70% of the training points predicted class 0) is a 0/1
//! rate, not differentiable. The Lagrangian uses *proxy constraints*: the
//! model descends the surrogate `P(ŷ=0) = mean(1 - σ(w·x + b))`, the
//! multiplier ascends the true rate. The penalized baseline can only use the
//! surrogate: `CE - c·P(ŷ=0)` (eq. 16), i.e. a fixed penalty with
//! coefficient `c` on the same constraint.
//!
//! Setup as published: 400 points (four clusters of 100), full batch, primal
//! gradient descent with step 2e-2 for 10,000 steps, gradient
//! descent-ascent for the Lagrangian; 20 values (0 and 19 log-spaced from
//! 1e-4 to 1e2) used once as the penalty coefficient and once as the dual
//! step size. Not given in the paper, chosen here: zero initialisation of
//! `w, b`, multiplier starting at 0, noise std 0.22, data seed 0, and the
//! order of the two steps: alternating dual→primal (Cooper's recommended
//! scheme, written by the paper's authors). With simultaneous steps the last
//! iterate oscillates by about one point around 70% for dual step sizes
//! >= 1 (`--scheme simultaneous` shows it).

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::SgdConfig;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, ConstraintId, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Evaluation};
use serde::{Deserialize, Serialize};

use super::registry::{Experiment, Outcome, RunOptions, StepsOption};
use super::saved::{self, CONFIDENCE, SavedModel, SavedRun};
use crate::audit::{Audit, Evidence, Requirement};
use crate::data::gaussian_mixture::{Points, four_clusters};
use crate::device::DeviceSpec;

/// The constraint's name.
pub const CONSTRAINT: &str = "class0_rate";

/// A linear classifier `x ↦ w·x + b` (logit of class 1).
#[derive(Module, Debug)]
pub struct LinearClassifier {
    linear: Linear,
}

impl LinearClassifier {
    /// Zero-initialised weights and bias.
    pub fn zeros(device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(2, 1)
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }

    /// Logits, `[n, 1]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(x)
    }
}

/// Which method a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Fixed penalty `CE - c·P(ŷ=0)`.
    Penalty,
    /// Lagrangian with proxy constraints, dual step size `c`.
    Lagrangian,
}

impl Method {
    /// `penalty` or `lagrangian`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Penalty => "penalty",
            Method::Lagrangian => "lagrangian",
        }
    }
}

/// The experiment's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RateConfig {
    /// Points per cluster (4 clusters).
    pub per_cluster: usize,
    /// Cluster noise standard deviation.
    pub noise_std: f64,
    /// Data seed.
    pub seed: u64,
    /// Training steps (full batch).
    pub steps: usize,
    /// Primal gradient-descent step size.
    pub primal_lr: f64,
    /// Required fraction of points predicted class 0.
    pub target: f64,
    /// The sweep: penalty coefficients and dual step sizes.
    pub coefficients: Vec<f64>,
    /// The order of the primal and dual steps.
    pub scheme: UpdateScheme,
    /// The device it computes on (`--device`; flex, the CPU, by default).
    pub device: DeviceSpec,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            device: DeviceSpec::Flex,
            per_cluster: 100,
            noise_std: 0.22,
            seed: 0,
            steps: 10_000,
            primal_lr: 2e-2,
            target: 0.7,
            coefficients: published_sweep(),
            scheme: UpdateScheme::AlternatingDualPrimal,
        }
    }
}

/// 0, then `10^(k/3)` for `k = -12..=6`: 1e-4, 2.15e-4, 4.64e-4, ..., 1e2.
pub fn published_sweep() -> Vec<f64> {
    std::iter::once(0.0)
        .chain((-12..=6).map(|k| 10f64.powf(k as f64 / 3.0)))
        .collect()
}

/// Published results (Tables 4 and 5): `(coef, class 0 %, accuracy %)`.
/// The paper prints 4.60 where the log-spaced value is 4.64.
pub const PUBLISHED_PENALTY: [(f64, f64, f64); 20] = [
    (0.0, 49.75, 99.75),
    (1e-4, 49.75, 99.75),
    (2.15e-4, 49.75, 99.75),
    (4.60e-4, 49.75, 99.75),
    (1e-3, 49.75, 99.75),
    (2.15e-3, 49.75, 99.75),
    (4.60e-3, 49.75, 99.75),
    (1e-2, 49.75, 99.75),
    (2.15e-2, 49.75, 99.75),
    (4.60e-2, 49.75, 99.75),
    (1e-1, 49.75, 99.75),
    (2.15e-1, 49.75, 99.75),
    (4.60e-1, 49.75, 99.75),
    (1.0, 50.50, 99.50),
    (2.15, 76.00, 74.00),
    (4.60, 99.75, 50.25),
    (10.0, 100.0, 50.0),
    (21.5, 100.0, 50.0),
    (46.0, 100.0, 50.0),
    (100.0, 100.0, 50.0),
];

/// See [`PUBLISHED_PENALTY`].
pub const PUBLISHED_LAGRANGIAN: [(f64, f64, f64); 20] = [
    (0.0, 49.75, 99.75),
    (1e-4, 49.75, 99.75),
    (2.15e-4, 49.75, 99.75),
    (4.60e-4, 50.00, 100.00),
    (1e-3, 60.00, 90.00),
    (2.15e-3, 70.00, 80.00),
    (4.60e-3, 70.00, 80.00),
    (1e-2, 70.00, 80.00),
    (2.15e-2, 70.00, 80.00),
    (4.60e-2, 70.00, 80.00),
    (1e-1, 70.00, 80.00),
    (2.15e-1, 70.00, 80.00),
    (4.60e-1, 70.00, 80.00),
    (1.0, 70.00, 80.00),
    (2.15, 69.75, 80.25),
    (4.60, 70.00, 80.00),
    (10.0, 70.00, 80.00),
    (21.5, 70.00, 80.00),
    (46.0, 69.75, 80.25),
    (100.0, 69.75, 80.25),
];

/// The published `(class 0 fraction, accuracy fraction)` for a sweep value,
/// matched to 3 significant digits.
pub fn published(method: Method, coef: f64) -> Option<(f64, f64)> {
    let table = match method {
        Method::Penalty => &PUBLISHED_PENALTY,
        Method::Lagrangian => &PUBLISHED_LAGRANGIAN,
    };
    table
        .iter()
        .find(|(c, _, _)| (*c == 0.0 && coef == 0.0) || (*c > 0.0 && (coef / c - 1.0).abs() < 0.011))
        .map(|(_, rate, acc)| (rate / 100.0, acc / 100.0))
}

/// One run's result: a row of the published tables, with ours beside.
#[derive(Clone, Debug, Serialize)]
pub struct RateRow {
    /// Always `rate`.
    pub experiment: &'static str,
    /// `penalty` or `lagrangian`.
    pub method: &'static str,
    /// Penalty coefficient or dual step size.
    pub coef: f64,
    /// Fraction of training points predicted class 0 (true 0/1 rate).
    pub class0_rate: f64,
    /// Training accuracy, as a fraction.
    pub accuracy: f64,
    /// The differentiable surrogate `P(ŷ=0)` at the end.
    pub proxy_class0_rate: f64,
    /// The multiplier at the end (Lagrangian only).
    pub multiplier: Option<f64>,
    /// Whether the true rate meets the target.
    pub feasible: bool,
    /// Published class 0 fraction (Tables 4/5).
    pub published_class0_rate: Option<f64>,
    /// Published accuracy fraction.
    pub published_accuracy: Option<f64>,
    /// Training steps.
    pub steps: usize,
    /// The update scheme.
    pub scheme: &'static str,
    /// Wall time of the training run, in seconds.
    pub seconds: f64,
    /// The trained model (not a column: saved by `--models`).
    #[serde(skip)]
    pub parameters: LinearParameters,
}

/// A trained linear classifier's parameters, on the host: the logit of
/// class 1 is `w[0] x[0] + w[1] x[1] + b`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinearParameters {
    /// The weights.
    pub w: [f32; 2],
    /// The bias.
    pub b: f32,
}

impl LinearParameters {
    /// The parameters of `model`.
    ///
    /// # Errors
    /// A parameter that cannot be read back from the device.
    pub fn of(model: &LinearClassifier) -> anyhow::Result<Self> {
        let read = |t: Tensor<1>| {
            t.without_autodiff()
                .try_into_vec_as::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the parameters back failed: {e:?}"))
        };
        let w = read(model.linear.weight.val().flatten(0, 1))?;
        let b = match &model.linear.bias {
            Some(b) => read(b.val())?[0],
            None => 0.0,
        };
        Ok(Self { w: [w[0], w[1]], b })
    }

    /// The fraction of `points` predicted class 0 (logit below 0), as
    /// `(predicted class 0, points)`.
    pub fn class0(&self, points: &Points) -> (u64, u64) {
        let zero = points
            .features
            .iter()
            .filter(|x| x[0] * self.w[0] + x[1] * self.w[1] + self.b < 0.0)
            .count();
        (zero as u64, points.len() as u64)
    }
}

/// The data as tensors on `device`.
pub struct RateData {
    /// Features `[n, 2]`.
    pub x: Tensor<2>,
    /// Label signs `[n, 1]`: `2y - 1`, i.e. -1.0 for class 0, +1.0 for class 1.
    pub signs: Tensor<2>,
    /// Labels on the host.
    pub labels: Vec<u8>,
}

impl RateData {
    /// Moves `points` to `device`.
    pub fn new(points: &Points, device: &Device) -> Self {
        let n = points.len();
        let flat: Vec<f32> = points.features.iter().flatten().copied().collect();
        let signs: Vec<f32> = points.labels.iter().map(|l| 2.0 * *l as f32 - 1.0).collect();
        Self {
            x: Tensor::from_data(TensorData::new(flat, [n, 2]), device),
            signs: Tensor::from_data(TensorData::new(signs, [n, 1]), device),
            labels: points.labels.clone(),
        }
    }
}

/// The mean cross-entropy, the surrogate `P(ŷ=0)` and the logits at `model`.
///
/// For labels `y ∈ {0, 1}` and logit `z`, the cross-entropy
/// `softplus(z) - y z` equals `-log σ((2y - 1) z)`: one `log_sigmoid` node
/// instead of the eight operations of burn's thresholded `softplus`, the same
/// value and gradient.
pub fn forward(model: &LinearClassifier, data: &RateData) -> (Tensor<1>, Tensor<1>, Tensor<2>) {
    let logits = model.forward(data.x.clone());
    let loss = log_sigmoid(logits.clone() * data.signs.clone()).mean().neg();
    let proxy = sigmoid(logits.clone().neg()).mean();
    (loss, proxy, logits)
}

/// The loss, the surrogate and the true rate at `model`.
pub fn evaluate(model: &LinearClassifier, data: &RateData, constraint: ConstraintId) -> Evaluation {
    let (loss, proxy, logits) = forward(model, data);
    let rate = logits.without_autodiff().lower_elem(0.0).float().mean();
    Evaluation::new(loss).with_id(constraint, ConstraintTensors::new(proxy).with_strict(rate))
}

/// Class 0 rate, accuracy and surrogate rate of `model`, measured on the host.
pub fn metrics(model: &LinearClassifier, data: &RateData) -> anyhow::Result<(f64, f64, f64)> {
    let logits: Vec<f32> = model
        .forward(data.x.clone())
        .without_autodiff()
        .try_into_vec_as::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the logits back failed: {e:?}"))?;
    let n = logits.len().max(1) as f64;
    let class0 = logits.iter().filter(|z| **z < 0.0).count() as f64 / n;
    let correct = logits
        .iter()
        .zip(&data.labels)
        .filter(|(z, y)| (**z >= 0.0) == (**y == 1))
        .count() as f64
        / n;
    let proxy = logits.iter().map(|z| 1.0 / (1.0 + (*z as f64).exp())).sum::<f64>() / n;
    Ok((class0, correct, proxy))
}

/// The constrained optimizer for one run.
pub fn dual(method: Method, coef: f64, target: f64, scheme: UpdateScheme) -> feasible::Result<ConstrainedOptimizer> {
    let formulation: Formulation = match method {
        Method::Penalty => Formulation::fixed_penalty(coef).into(),
        Method::Lagrangian => Formulation::lagrangian(GradientAscent::new(coef)).into(),
    };
    ConstrainedOptimizer::builder()
        .constraint(Constraint::at_least(CONSTRAINT, target).with_formulation(formulation))
        .scheme(scheme)
        .build()
}

/// What one training run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateOutcome {
    /// Fraction of training points predicted class 0 (true 0/1 rate).
    pub class0_rate: f64,
    /// Training accuracy, as a fraction.
    pub accuracy: f64,
    /// The differentiable surrogate `P(ŷ=0)` at the end.
    pub proxy_class0_rate: f64,
    /// The multiplier at the end (Lagrangian only).
    pub multiplier: Option<f64>,
    /// Wall time of the training run, in seconds.
    pub seconds: f64,
    /// The trained model.
    pub parameters: LinearParameters,
}

/// Trains one model with `method` and `coef` and measures it.
pub fn train_one(config: &RateConfig, data: &RateData, method: Method, coef: f64) -> anyhow::Result<RateOutcome> {
    let device = data.x.device();
    let mut trainer = ConstrainedTrainer::new(
        dual(method, coef, config.target, config.scheme)?,
        // Plain gradient descent: no momentum, no weight decay (position
        // paper, Fig. 2).
        SgdConfig::new().with_momentum(None).with_weight_decay(None).init(),
        config.primal_lr,
    )?;
    let id = trainer.id(CONSTRAINT)?;
    let mut model = LinearClassifier::zeros(&device);
    let start = Instant::now();
    for _ in 0..config.steps {
        // `step_with`, not `step`: the alternating primal->dual and
        // extragradient schemes evaluate the model a second time within the
        // step; the other schemes evaluate it once, as `step` would.
        model = trainer.step_with(model, |m| evaluate(m, data, id))?.0;
    }
    let seconds = start.elapsed().as_secs_f64();
    let (class0_rate, accuracy, proxy_class0_rate) = metrics(&model, data)?;
    Ok(RateOutcome {
        class0_rate,
        accuracy,
        proxy_class0_rate,
        multiplier: trainer.dual().multipliers(CONSTRAINT)?.map(|m| m[0]),
        seconds,
        parameters: LinearParameters::of(&model)?,
    })
}

/// The table row of a run, with the published numbers beside.
pub fn row(config: &RateConfig, method: Method, coef: f64, outcome: RateOutcome) -> RateRow {
    let published = published(method, coef);
    RateRow {
        experiment: "rate",
        method: method.name(),
        coef,
        class0_rate: outcome.class0_rate,
        accuracy: outcome.accuracy,
        proxy_class0_rate: outcome.proxy_class0_rate,
        multiplier: outcome.multiplier,
        feasible: outcome.class0_rate >= config.target - 1e-9,
        published_class0_rate: published.map(|p| p.0),
        published_accuracy: published.map(|p| p.1),
        steps: config.steps,
        scheme: config.scheme.name(),
        seconds: outcome.seconds,
        parameters: outcome.parameters,
    }
}

/// Trains one model with `method` and `coef`: its table row.
pub fn run_one(config: &RateConfig, data: &RateData, method: Method, coef: f64) -> anyhow::Result<RateRow> {
    Ok(row(config, method, coef, train_one(config, data, method, coef)?))
}

/// One run of the sweep, as it crosses to a worker process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RateJob {
    /// The settings.
    pub config: RateConfig,
    /// The method.
    pub method: Method,
    /// Its coefficient.
    pub coef: f64,
}

impl crate::parallel::ProcessJob for RateJob {
    type Output = RateOutcome;
    const NAME: &'static str = "rate";

    fn run(&self) -> anyhow::Result<RateOutcome> {
        let data = RateData::new(&points(&self.config), &self.config.device.device()?.autodiff());
        train_one(&self.config, &data, self.method, self.coef)
    }
}

/// The data set of the experiment.
pub fn points(config: &RateConfig) -> Points {
    four_clusters(config.per_cluster, config.noise_std, config.seed)
}

/// Every `(method, coef)` pair of the sweep, penalty first.
pub fn jobs(config: &RateConfig) -> Vec<(Method, f64)> {
    [Method::Penalty, Method::Lagrangian]
        .into_iter()
        .flat_map(|m| config.coefficients.iter().map(move |c| (m, *c)))
        .collect()
}

/// Runs the whole sweep on `threads` workers (processes where the lab's
/// binary allows it: see [`crate::parallel::run_isolated`]), calling `done`
/// after each run.
pub fn reproduce(config: &RateConfig, threads: usize, done: impl Fn(&RateRow) + Sync) -> anyhow::Result<Vec<RateRow>> {
    let jobs: Vec<RateJob> = jobs(config)
        .into_iter()
        .map(|(method, coef)| RateJob {
            config: config.clone(),
            method,
            coef,
        })
        .collect();
    let results = crate::parallel::run_isolated(&jobs, threads, |job, outcome| {
        let row = outcome.map(|o| row(config, job.method, job.coef, o));
        if let Ok(row) = &row {
            done(row)
        }
        row
    });
    results.into_iter().collect()
}

/// Whether a row hits the target within one percentage point.
pub fn hits_target(row: &RateRow, target: f64) -> bool {
    (row.class0_rate - target).abs() <= 0.01 + 1e-9
}

/// The two published tables with our numbers beside them, and a summary.
pub fn render(rows: &[RateRow], config: &RateConfig) -> String {
    use crate::table::{Table, percent, percent_or_dash, sci};
    let mut out = format!(
        "Rate-constrained linear classification (position paper Fig. 2, Tables 4 and 5)\n\
         {} points, full batch, {} steps of gradient descent (step {}), constraint: class 0 rate >= {}\n\
         Lagrangian: gradient ascent on the multiplier from the true 0/1 rate, scheme {}\n\n",
        4 * config.per_cluster,
        config.steps,
        config.primal_lr,
        config.target,
        config.scheme.name()
    );
    for (method, title, coef_name) in [
        (Method::Penalty, "Penalty CE - c P(y=0) (Table 4)", "coef c"),
        (
            Method::Lagrangian,
            "Lagrangian with proxy constraints (Table 5)",
            "dual lr",
        ),
    ] {
        let mut table = Table::new(
            title,
            &[
                coef_name,
                "class 0 %",
                "paper",
                "accuracy %",
                "paper",
                "multiplier",
                "seconds",
            ],
        );
        for r in rows.iter().filter(|r| r.method == method.name()) {
            table.row(vec![
                sci(r.coef),
                percent(r.class0_rate),
                percent_or_dash(r.published_class0_rate),
                percent(r.accuracy),
                percent_or_dash(r.published_accuracy),
                r.multiplier.map(|m| format!("{m:.4}")).unwrap_or_else(|| "-".into()),
                format!("{:.2}", r.seconds),
            ]);
        }
        out.push_str(&table.to_string());
        let hits = rows
            .iter()
            .filter(|r| r.method == method.name() && hits_target(r, config.target))
            .count();
        let total = rows.iter().filter(|r| r.method == method.name()).count();
        out.push_str(&format!(
            "  {hits} of {total} values reach {:.0}% +- 1 point\n\n",
            100.0 * config.target
        ));
    }
    out
}

/// The rate experiment in the registry.
pub struct RateExperiment;

impl Experiment for RateExperiment {
    fn name(&self) -> &'static str {
        "rate"
    }

    fn summary(&self) -> &'static str {
        "rate-constrained linear classification (position paper Fig. 2, Tables 4 and 5)"
    }

    fn steps(&self) -> StepsOption {
        StepsOption {
            unit: "full-batch training steps",
            max: 1_000_000,
        }
    }

    fn accepts_scheme(&self) -> bool {
        true
    }

    fn figures(&self) -> &'static [&'static str] {
        &["rate-penalty.svg", "rate-lagrangian.svg"]
    }

    fn run(&self, options: &RunOptions) -> anyhow::Result<Outcome> {
        let config = config(options);
        let bar = options.progress_bar(jobs(&config).len(), "rate");
        let rows = reproduce(&config, options.threads, |_| bar.inc(1))?;
        bar.finish_and_clear();
        let text = render(&rows, &config);
        // The constrained runs: the Lagrangian at every dual step.
        let models = rows
            .iter()
            .filter(|r| r.method == Method::Lagrangian.name())
            .map(|r| {
                let parameters = r.parameters;
                SavedModel::new(format!("lagrangian-{:.3e}", r.coef), &r.coef, move |dir| {
                    saved::write_json(dir, &parameters)
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Outcome::rows(&rows, text)?
            .with_models(models)
            .with_figures(move |dir| crate::plots::rate(&rows, &config, dir)))
    }

    /// The class 0 rate on the training points and on as many fresh points
    /// drawn from the same four clusters (the next seed), each with its
    /// exact Clopper–Pearson interval.
    fn audit(&self, saved: &SavedRun, dir: &Path) -> anyhow::Result<Audit> {
        let config = config(&saved.options()?);
        let parameters: LinearParameters = saved::read_json(dir)?;
        let held_out = RateConfig {
            seed: config.seed.wrapping_add(1),
            ..config.clone()
        };
        let mut audit = Audit::new(CONFIDENCE)?;
        for (split, points) in [("train", points(&config)), ("held-out", points(&held_out))] {
            let (successes, trials) = parameters.class0(&points);
            audit.push(
                &Requirement::at_least(CONSTRAINT, config.target),
                split,
                &Evidence::Proportion { successes, trials },
            )?;
        }
        Ok(audit)
    }
}

/// The settings `options` ask for.
fn config(options: &RunOptions) -> RateConfig {
    let mut config = RateConfig {
        device: options.device,
        ..RateConfig::default()
    };
    if let Some(steps) = options.steps {
        config.steps = steps;
    }
    if let Some(scheme) = options.scheme {
        config.scheme = scheme;
    }
    config
}
