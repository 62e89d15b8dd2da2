//! The hard-margin SVM as a constrained problem with one multiplier per
//! training point (nuPI paper; experiments.md §5):
//!
//! ```text
//! min_{w,b} ½|w|²   s.t.   y_i (w·x_i + b) >= 1   for every training point i
//! ```
//!
//! Iris, setosa (−1) against versicolor (+1), the 4 features standardized,
//! a 70/30 split; full batch, primal SGD with step 1e-3 and momentum 0.9,
//! 10,000 epochs, one indexed constraint with 70 entries. The multipliers
//! of this convex QP are its dual variables: at the solution the support
//! vectors are the points with a positive multiplier. An independent
//! interior-point solver (clarabel) solves the same QP exactly; the rows put
//! its objective, support vectors and multipliers beside ours.
//!
//! Not given, chosen here: zero initialisation; nuPI with dual step 0.1,
//! `K_p = 10`, `K_i = 1` (by the equivalence in `feasible::dual::nupi`, the
//! augmented Lagrangian method with penalty `c = 0.1 · 10 = 1`); alternating
//! updates, dual first; split seed 0; a point counts as a support vector when
//! its multiplier exceeds 1e-3 of the largest (clarabel's: 1e-6 of the
//! largest). A second row runs plain gradient ascent (`K_p = 0`) with the
//! same step, to show what the proportional term does.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::{Initializer, LinearConfig};
use burn::optim::SgdConfig;
use burn::optim::momentum::MomentumConfig;
use burn::tensor::{Tensor, TensorData};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, NuPi, UpdateScheme};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Evaluation};
use serde::{Deserialize, Serialize};

use super::registry::{Experiment, Outcome, RunOptions, StepsOption};
use super::saved::{self, CONFIDENCE, SavedModel, SavedRun};
use crate::audit::{Audit, Evidence, Requirement};
use crate::data::iris::{Binary, setosa_versicolor};
use crate::device::DeviceSpec;

/// The per-sample constraint's name.
pub const CONSTRAINT: &str = "margin";

/// The experiment's settings.
#[derive(Clone, Debug, Serialize)]
pub struct SvmConfig {
    /// Full-batch steps.
    pub epochs: usize,
    /// SGD step.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// nuPI step.
    pub dual_lr: f64,
    /// nuPI's proportional gain.
    pub kp: f64,
    /// Split seed.
    pub seed: u64,
    /// The device it computes on (`--device`; flex, the CPU, by default).
    pub device: DeviceSpec,
}

impl Default for SvmConfig {
    fn default() -> Self {
        Self {
            device: DeviceSpec::Flex,
            epochs: 10_000,
            lr: 1e-3,
            momentum: 0.9,
            dual_lr: 0.1,
            kp: 10.0,
            seed: 0,
        }
    }
}

/// The result, ours beside the exact QP solution.
#[derive(Clone, Debug, Serialize)]
pub struct SvmRow {
    /// Always `svm`.
    pub experiment: &'static str,
    /// `nupi` or `gradient_ascent`.
    pub method: &'static str,
    /// `½|w|²` of our solution.
    pub objective: f64,
    /// `½|w|²` of the QP solution.
    pub qp_objective: f64,
    /// Relative gap of the objectives.
    pub objective_gap: f64,
    /// `max_i [1 - y_i (w·x_i + b)]_+` on the training set (ours).
    pub max_violation: f64,
    /// The same for the QP solution.
    pub qp_max_violation: f64,
    /// Our support vectors (training indices).
    pub support_vectors: Vec<usize>,
    /// The QP's support vectors.
    pub qp_support_vectors: Vec<usize>,
    /// `max_i |λ_i - z_i|`.
    pub multiplier_error: f64,
    /// The largest QP multiplier (for scale).
    pub qp_max_multiplier: f64,
    /// `max |w - w*|, |b - b*|`.
    pub parameter_error: f64,
    /// Test accuracy of our solution.
    pub test_accuracy: f64,
    /// Training points.
    pub train_points: usize,
    /// Epochs.
    pub epochs: usize,
    /// Wall time of training, seconds.
    pub seconds: f64,
    /// The trained model (not a column: saved by `--models`).
    #[serde(skip)]
    pub model: SvmModel,
}

/// A trained SVM: `(w, b)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SvmModel {
    /// The weights.
    pub w: Vec<f64>,
    /// The bias.
    pub b: f64,
}

/// The exact solution: `(w, b)` and the multipliers, by clarabel.
pub fn exact(train: &Binary) -> anyhow::Result<(Vec<f64>, f64, Vec<f64>)> {
    let d = train.features[0].len();
    let p: Vec<Vec<f64>> = (0..=d)
        .map(|i| (0..=d).map(|j| if i == j && i < d { 1.0 } else { 0.0 }).collect())
        .collect();
    // y_i (w·x_i + b) >= 1  as  -y_i [x_i, 1]·v + s = -1, s >= 0.
    let a: Vec<Vec<f64>> = train
        .features
        .iter()
        .zip(&train.labels)
        .map(|(x, y)| x.iter().chain(std::iter::once(&1.0)).map(|v| -y * v).collect())
        .collect();
    let settings = DefaultSettings {
        verbose: false,
        tol_gap_abs: 1e-12,
        tol_gap_rel: 1e-12,
        tol_feas: 1e-12,
        ..DefaultSettings::default()
    };
    let mut solver = DefaultSolver::new(
        &CscMatrix::from(&p),
        &vec![0.0; d + 1],
        &CscMatrix::from(&a),
        &vec![-1.0; a.len()],
        &[SupportedConeT::NonnegativeConeT(a.len())],
        settings,
    )
    .map_err(|e| anyhow::anyhow!("clarabel setup: {e:?}"))?;
    solver.solve();
    if !matches!(
        solver.solution.status,
        SolverStatus::Solved | SolverStatus::AlmostSolved
    ) {
        anyhow::bail!("clarabel did not solve the QP: {:?}", solver.solution.status);
    }
    let v = &solver.solution.x;
    Ok((v[..d].to_vec(), v[d], solver.solution.z.clone()))
}

fn margins(w: &[f64], b: f64, data: &Binary) -> Vec<f64> {
    data.features
        .iter()
        .zip(&data.labels)
        .map(|(x, y)| y * (x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b))
        .collect()
}

fn support(multipliers: &[f64], relative: f64) -> Vec<usize> {
    let largest = multipliers.iter().copied().fold(0.0, f64::max);
    multipliers
        .iter()
        .enumerate()
        .filter(|(_, m)| **m > relative * largest)
        .map(|(i, _)| i)
        .collect()
}

/// The published-setup row (nuPI) and plain gradient ascent.
pub fn reproduce(config: &SvmConfig) -> anyhow::Result<Vec<SvmRow>> {
    Ok(vec![
        run(config, "nupi")?,
        run(
            &SvmConfig {
                kp: 0.0,
                ..config.clone()
            },
            "gradient_ascent",
        )?,
    ])
}

/// Trains the SVM with per-sample multipliers and compares with the QP.
pub fn run(config: &SvmConfig, method: &'static str) -> anyhow::Result<SvmRow> {
    let (train, test) = setosa_versicolor(0.7, config.seed)?;
    let n = train.labels.len();
    let d = train.features[0].len();
    let device = config.device.device()?.autodiff();
    let x: Vec<f32> = train.features.iter().flatten().map(|v| *v as f32).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [n, d]), &device);
    let y = Tensor::<1>::from_data(
        TensorData::new(train.labels.iter().map(|v| *v as f32).collect::<Vec<_>>(), [n]),
        &device,
    );
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least(CONSTRAINT, 1.0)
                .with_entries(n)
                .indexed()
                .with_formulation(Formulation::lagrangian(NuPi::new(config.dual_lr, config.kp, 1.0))),
        )
        .scheme(UpdateScheme::AlternatingDualPrimal)
        .build()?;
    // SGD with heavy-ball momentum, no weight decay (nuPI paper's SVM,
    // Sohrabi et al. 2024).
    let sgd = SgdConfig::new().with_weight_decay(None).with_momentum(Some(
        MomentumConfig::new()
            .with_momentum(config.momentum)
            .with_dampening(0.0)
            .with_nesterov(false),
    ));
    let mut trainer = ConstrainedTrainer::new(dual, sgd.init(), config.lr)?;
    let id = trainer.id(CONSTRAINT)?;
    let ids: Vec<usize> = (0..n).collect();
    let mut model = LinearConfig::new(d, 1)
        .with_initializer(Initializer::Zeros)
        .init(&device);
    let start = Instant::now();
    for _ in 0..config.epochs {
        let margin = y.clone() * model.forward(x.clone()).reshape([n]);
        let objective = model.weight.val().powi_scalar(2).sum().mul_scalar(0.5);
        let evaluation =
            Evaluation::new(objective).with_id(id, ConstraintTensors::new(margin).with_indices(ids.clone()));
        model = trainer.step(model, evaluation)?.0;
    }
    let seconds = start.elapsed().as_secs_f64();
    let inference = model.valid();
    let w: Vec<f64> = inference
        .weight
        .val()
        .try_into_vec_as::<f64>()
        .map_err(|e| anyhow::anyhow!("reading w: {e:?}"))?;
    let b: f64 = inference
        .bias
        .as_ref()
        .map(|b| b.val().try_into_vec_as::<f64>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("reading b: {e:?}"))?
        .and_then(|b| b.first().copied())
        .unwrap_or(0.0);
    let multipliers = trainer.dual().multipliers(CONSTRAINT)?.unwrap_or(&[]).to_vec();
    let (w_star, b_star, z) = exact(&train)?;
    let half_norm = |w: &[f64]| 0.5 * w.iter().map(|v| v * v).sum::<f64>();
    let worst = |m: &[f64]| m.iter().map(|m| (1.0 - m).max(0.0)).fold(0.0, f64::max);
    let (objective, qp_objective) = (half_norm(&w), half_norm(&w_star));
    let test_margins = margins(&w, b, &test);
    Ok(SvmRow {
        experiment: "svm",
        method,
        objective,
        qp_objective,
        objective_gap: (objective - qp_objective).abs() / qp_objective,
        max_violation: worst(&margins(&w, b, &train)),
        qp_max_violation: worst(&margins(&w_star, b_star, &train)),
        support_vectors: support(&multipliers, 1e-3),
        qp_support_vectors: support(&z, 1e-6),
        multiplier_error: multipliers
            .iter()
            .zip(&z)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max),
        qp_max_multiplier: z.iter().copied().fold(0.0, f64::max),
        parameter_error: w
            .iter()
            .zip(&w_star)
            .map(|(a, b)| (a - b).abs())
            .chain(std::iter::once((b - b_star).abs()))
            .fold(0.0, f64::max),
        test_accuracy: test_margins.iter().filter(|m| **m > 0.0).count() as f64 / test_margins.len() as f64,
        train_points: n,
        epochs: config.epochs,
        seconds,
        model: SvmModel { w, b },
    })
}

/// Renders the comparison.
pub fn render(rows: &[SvmRow]) -> String {
    use crate::table::Table;
    let first = &rows[0];
    let mut out = format!(
        "Hard-margin SVM with one multiplier per training point (Iris setosa vs versicolor, {} training points, \
         {} epochs of SGD 1e-3 with momentum 0.9)\n\n",
        first.train_points, first.epochs
    );
    let mut table = Table::new(
        "Constrained training against the exact QP solution (clarabel)",
        &[
            "dual",
            "1/2|w|^2",
            "QP",
            "max violation",
            "support vectors",
            "QP support vectors",
            "max |λ - z|",
            "test acc %",
            "seconds",
        ],
    );
    for r in rows {
        table.row(vec![
            r.method.to_string(),
            format!("{:.6}", r.objective),
            format!("{:.6}", r.qp_objective),
            format!("{:.1e}", r.max_violation),
            format!("{:?}", r.support_vectors),
            format!("{:?}", r.qp_support_vectors),
            format!("{:.1e}", r.multiplier_error),
            format!("{:.2}", 100.0 * r.test_accuracy),
            format!("{:.2}", r.seconds),
        ]);
    }
    out.push_str(&table.to_string());
    out.push_str(&format!("  largest QP multiplier: {:.4}\n", first.qp_max_multiplier));
    out
}

/// The SVM experiment in the registry.
pub struct SvmExperiment;

impl Experiment for SvmExperiment {
    fn name(&self) -> &'static str {
        "svm"
    }

    fn summary(&self) -> &'static str {
        "hard-margin SVM with one multiplier per training point (Iris) against the exact QP"
    }

    fn steps(&self) -> StepsOption {
        StepsOption {
            unit: "training epochs",
            max: 10_000_000,
        }
    }

    fn run(&self, options: &RunOptions) -> anyhow::Result<Outcome> {
        let rows = reproduce(&config(options))?;
        let text = render(&rows);
        let models = rows
            .iter()
            .map(|r| {
                let model = r.model.clone();
                SavedModel::new(r.method, &r.method, move |dir| saved::write_json(dir, &model))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Outcome::rows(&rows, text)?.with_models(models))
    }

    /// The fraction of points with margin `y (w·x + b) >= 1`, on the
    /// training points (the constraint asks for all of them) and on the
    /// held-out 30%, with exact Clopper–Pearson intervals.
    fn audit(&self, saved: &SavedRun, dir: &Path) -> anyhow::Result<Audit> {
        let config = config(&saved.options()?);
        let model: SvmModel = saved::read_json(dir)?;
        let (train, test) = setosa_versicolor(0.7, config.seed)?;
        let mut audit = Audit::new(CONFIDENCE)?;
        for (split, data) in [("train", &train), ("test", &test)] {
            let margins = margins(&model.w, model.b, data);
            let within = margins.iter().filter(|m| **m >= 1.0).count() as u64;
            audit.push(
                &Requirement::at_least(format!("{CONSTRAINT} >= 1: fraction of points"), 1.0),
                split,
                &Evidence::Proportion {
                    successes: within,
                    trials: margins.len() as u64,
                },
            )?;
        }
        Ok(audit)
    }
}

/// The settings `options` ask for.
fn config(options: &RunOptions) -> SvmConfig {
    let mut config = SvmConfig {
        device: options.device,
        ..SvmConfig::default()
    };
    if let Some(steps) = options.steps {
        config.epochs = steps;
    }
    config
}
