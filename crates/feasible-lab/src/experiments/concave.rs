//! The concave 1-D problem (position paper Example 1, Table 1, App. B.1 and D):
//!
//! ```text
//! min_{x ∈ [0, π/2]} cos(x)   s.t.   sin(x) <= ε,        ε ∈ {0.1, ..., 0.8}
//! ```
//!
//! The solution is `x* = arcsin(ε)` with multiplier `λ* = ε / √(1 - ε²)`,
//! the constraint active. The objective is concave: a fixed penalty
//! `cos x + c sin x` is concave too and its minimizer over `[0, π/2]` is an
//! endpoint for every `c`, never `x*`. Plain gradient descent-ascent on the
//! Lagrangian oscillates around `(x*, λ*)` without converging; nuPI
//! (damped, PI-controlled ascent) and the augmented Lagrangian method
//! converge.
//!
//! Setup as published: projected gradient descent on `x` (step 0.01,
//! projection onto `[0, π/2]` after every step), 10,000 iterations, from
//! `x0 = 0.5`, `λ0 = 0`, dual step first; nuPI with step 0.3, `K_p = 40`,
//! `ν = 0`. Chosen here: gradient descent-ascent with the same dual step
//! 0.3; the augmented Lagrangian with `c = 12` and a dual step of 0.3 (the
//! penalty equivalent of `K_p = 40` at that step: `c = η K_p`, see
//! `feasible::dual::nupi`), primal step first; the penalty's best
//! coefficient from a sweep of 0 and 10^-3..10^3 (19 log-spaced values).
//! A fifth row, the augmented Lagrangian with the classical dual step
//! (`η = c = 12`), shows that the step matters.

use std::convert::Infallible;
use std::path::Path;

use feasible::{
    ConstrainedOptimizer, Constraint, ConstraintId, Formulation, GradientAscent, Measurement, Measurements, NuPi,
    PrimalProblem, PrimalWeights, UpdateScheme,
};
use serde::{Deserialize, Serialize};

use super::registry::{Experiment, Outcome, RunOptions, StepsOption};
use super::saved::{self, CONFIDENCE, SavedModel, SavedRun};
use crate::audit::{Audit, Evidence, Requirement};

/// The constraint levels of Table 1.
pub const EPSILONS: [f64; 8] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

/// Table 1's "x_t at convergence" column.
pub const PUBLISHED_X: [f64; 8] = [0.100, 0.201, 0.305, 0.412, 0.524, 0.644, 0.775, 0.927];

/// The settings of the experiment.
#[derive(Clone, Debug, Serialize)]
pub struct ConcaveConfig {
    /// Iterations per run.
    pub steps: usize,
    /// Primal step size.
    pub primal_lr: f64,
    /// Starting point.
    pub x0: f64,
    /// Dual step size of gradient ascent, nuPI and the augmented Lagrangian.
    pub dual_lr: f64,
    /// nuPI's proportional gain.
    pub kp: f64,
    /// The augmented Lagrangian's penalty coefficient.
    pub penalty: f64,
    /// Steps at the end over which the oscillation is measured.
    pub tail: usize,
}

impl Default for ConcaveConfig {
    fn default() -> Self {
        Self {
            steps: 10_000,
            primal_lr: 0.01,
            x0: 0.5,
            dual_lr: 0.3,
            kp: 40.0,
            penalty: 12.0,
            tail: 1_000,
        }
    }
}

/// `cos x` on `[0, π/2]` with the constraint value `sin x`; projected
/// gradient descent.
struct Concave {
    lr: f64,
    constraint: ConstraintId,
    last: f64,
}

impl PrimalProblem for Concave {
    type Point = f64;
    type Error = Infallible;

    fn measure(&mut self, x: &f64) -> Result<Measurements, Infallible> {
        self.last = *x;
        Ok(Measurements::new(x.cos()).with_id(self.constraint, Measurement::scalar(x.sin())))
    }

    fn descend(&mut self, from: &f64, at: &f64, weights: &PrimalWeights) -> Result<f64, Infallible> {
        debug_assert_eq!(*at, self.last, "the gradient is taken at the point last measured");
        let w = weights.value_coefficient(self.constraint).unwrap_or(0.0);
        let gradient = -at.sin() + w * at.cos();
        Ok((from - self.lr * gradient).clamp(0.0, std::f64::consts::FRAC_PI_2))
    }
}

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct ConcaveRow {
    /// Always `concave`.
    pub experiment: &'static str,
    /// The constraint level.
    pub eps: f64,
    /// `penalty`, `gda`, `nupi`, `alm`, `alm_classical`.
    pub method: &'static str,
    /// The last iterate.
    pub x_final: f64,
    /// The last multiplier (the coefficient, for the penalty).
    pub lambda_final: f64,
    /// `arcsin(ε)`.
    pub x_star: f64,
    /// `ε / √(1 - ε²)`.
    pub lambda_star: f64,
    /// `|x_final - x*|`.
    pub error: f64,
    /// `max - min` of `x` over the last `tail` steps.
    pub oscillation: f64,
    /// `sin(x_final) <= ε` (within 1e-6).
    pub feasible: bool,
    /// The objective `cos(x_final)`.
    pub objective: f64,
    /// Table 1's `x_t` for the augmented Lagrangian / nuPI rows.
    pub published_x: Option<f64>,
    /// The update scheme.
    pub scheme: &'static str,
    /// `(step, x_t, λ_t)` at step 0, every step up to
    /// [`TRAJECTORY_POINTS`], then every [`trajectory_stride`] steps and at
    /// the last step (for the figure; not in the JSON rows).
    #[serde(skip)]
    pub trajectory: Vec<(usize, f64, f64)>,
}

/// The steps a trajectory keeps every one of, and about how many it keeps
/// after them.
pub const TRAJECTORY_POINTS: usize = 1_000;

/// Every how many steps a trajectory keeps a point after the first
/// [`TRAJECTORY_POINTS`].
pub fn trajectory_stride(steps: usize) -> usize {
    steps.div_ceil(TRAJECTORY_POINTS).max(1)
}

/// The methods, in the order of the table.
pub const METHODS: [&str; 5] = ["penalty", "gda", "nupi", "alm", "alm_classical"];

fn formulation(method: &str, config: &ConcaveConfig, coef: f64) -> (Formulation, UpdateScheme) {
    match method {
        "penalty" => (
            Formulation::fixed_penalty(coef).into(),
            UpdateScheme::AlternatingDualPrimal,
        ),
        "gda" => (
            Formulation::lagrangian(GradientAscent::new(config.dual_lr)).into(),
            UpdateScheme::AlternatingDualPrimal,
        ),
        "nupi" => (
            Formulation::lagrangian(NuPi::new(config.dual_lr, config.kp, 1.0)).into(),
            UpdateScheme::AlternatingDualPrimal,
        ),
        "alm" => (
            Formulation::augmented_lagrangian(config.penalty)
                .with_dual_optimizer(GradientAscent::new(config.dual_lr))
                .into(),
            UpdateScheme::AlternatingPrimalDual,
        ),
        _ => (
            Formulation::augmented_lagrangian(config.penalty).into(),
            UpdateScheme::AlternatingPrimalDual,
        ),
    }
}

/// Runs one method at level `eps` (with coefficient `coef` for the penalty).
pub fn run_one(config: &ConcaveConfig, eps: f64, method: &'static str, coef: f64) -> feasible::Result<ConcaveRow> {
    let (formulation, scheme) = formulation(method, config, coef);
    let mut optimizer = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("sin", eps).with_formulation(formulation))
        .scheme(scheme)
        .build()?;
    let mut problem = Concave {
        lr: config.primal_lr,
        constraint: optimizer.id("sin")?,
        last: config.x0,
    };
    let mut x = config.x0;
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    let stride = trajectory_stride(config.steps);
    let multiplier = |optimizer: &ConstrainedOptimizer| -> feasible::Result<f64> {
        Ok(optimizer.multipliers("sin")?.map(|m| m[0]).unwrap_or(coef))
    };
    let mut trajectory = vec![(0, x, multiplier(&optimizer)?)];
    for t in 0..config.steps {
        x = optimizer.step(&mut problem, &x)?.0;
        if t < TRAJECTORY_POINTS || (t + 1) % stride == 0 || t + 1 == config.steps {
            trajectory.push((t + 1, x, multiplier(&optimizer)?));
        }
        if t + config.tail >= config.steps {
            low = low.min(x);
            high = high.max(x);
        }
    }
    let lambda_final = optimizer.multipliers("sin")?.map(|m| m[0]).unwrap_or(coef);
    let x_star = eps.asin();
    let published_x = EPSILONS
        .iter()
        .position(|e| (e - eps).abs() < 1e-12)
        .filter(|_| matches!(method, "nupi" | "alm"))
        .map(|i| PUBLISHED_X[i]);
    Ok(ConcaveRow {
        experiment: "concave",
        eps,
        method,
        x_final: x,
        lambda_final,
        x_star,
        lambda_star: eps / (1.0 - eps * eps).sqrt(),
        error: (x - x_star).abs(),
        oscillation: high - low,
        feasible: x.sin() <= eps + FEASIBILITY_TOLERANCE,
        objective: x.cos(),
        published_x,
        scheme: scheme.name(),
        trajectory,
    })
}

/// 0 and `10^(k/3)` for `k = -9..=9`.
pub fn penalty_sweep() -> Vec<f64> {
    std::iter::once(0.0)
        .chain((-9..=9).map(|k| 10f64.powf(k as f64 / 3.0)))
        .collect()
}

/// The penalty's best run over the sweep: the feasible one with the lowest
/// objective (or, if none is feasible, the least violated).
pub fn best_penalty(config: &ConcaveConfig, eps: f64) -> feasible::Result<ConcaveRow> {
    let mut best: Option<ConcaveRow> = None;
    for coef in penalty_sweep() {
        let row = run_one(config, eps, "penalty", coef)?;
        let better = match &best {
            None => true,
            Some(b) => match (row.feasible, b.feasible) {
                (true, false) => true,
                (false, true) => false,
                (true, true) => row.objective < b.objective,
                (false, false) => row.x_final.sin() < b.x_final.sin(),
            },
        };
        if better {
            best = Some(row);
        }
    }
    Ok(best.expect("the sweep is not empty"))
}

/// Every row: for each `ε`, every method.
pub fn reproduce(
    config: &ConcaveConfig,
    threads: usize,
    done: impl Fn(&ConcaveRow) + Sync,
) -> feasible::Result<Vec<ConcaveRow>> {
    let jobs: Vec<(f64, &'static str)> = EPSILONS
        .iter()
        .flat_map(|e| METHODS.iter().map(move |m| (*e, *m)))
        .collect();
    crate::parallel::run_jobs(
        &jobs,
        threads,
        |(eps, method)| match *method {
            "penalty" => best_penalty(config, *eps),
            m => run_one(config, *eps, m, 0.0),
        },
        |row| {
            if let Ok(row) = row {
                done(row)
            }
        },
    )
    .into_iter()
    .collect()
}

/// The table, Table 1's column beside ours, and a summary.
pub fn render(rows: &[ConcaveRow], config: &ConcaveConfig) -> String {
    use crate::table::Table;
    let mut out = format!(
        "Concave problem: min cos(x) s.t. sin(x) <= eps on [0, pi/2] (position paper Example 1, Table 1)\n\
         projected gradient descent (step {}), {} iterations from x0 = {}; dual step {}; nuPI K_p = {}; \
         augmented Lagrangian c = {}\n\n",
        config.primal_lr, config.steps, config.x0, config.dual_lr, config.kp, config.penalty
    );
    let mut table = Table::new(
        "Last iterates (oscillation: max - min of x over the last 1,000 steps)",
        &[
            "eps",
            "x* = asin(eps)",
            "paper",
            "method",
            "x_final",
            "|x - x*|",
            "lambda",
            "lambda*",
            "oscillation",
            "feasible",
        ],
    );
    for r in rows {
        table.row(vec![
            format!("{:.1}", r.eps),
            format!("{:.4}", r.x_star),
            r.published_x.map(|p| format!("{p:.3}")).unwrap_or_else(|| "-".into()),
            r.method.to_string(),
            format!("{:.4}", r.x_final),
            format!("{:.1e}", r.error),
            format!("{:.4}", r.lambda_final),
            format!("{:.4}", r.lambda_star),
            format!("{:.1e}", r.oscillation),
            if r.feasible { "yes" } else { "no" }.to_string(),
        ]);
    }
    out.push_str(&table.to_string());
    for method in METHODS {
        let of: Vec<&ConcaveRow> = rows.iter().filter(|r| r.method == method).collect();
        let within = of.iter().filter(|r| r.error <= 1e-3).count();
        out.push_str(&format!(
            "  {method}: {within} of {} within 1e-3 of arcsin(eps)\n",
            of.len()
        ));
    }
    out
}

/// The concave experiment in the registry.
pub struct ConcaveExperiment;

impl Experiment for ConcaveExperiment {
    fn name(&self) -> &'static str {
        "concave"
    }

    fn summary(&self) -> &'static str {
        "min cos(x) s.t. sin(x) <= eps: penalty, GDA, nuPI, augmented Lagrangian (position paper Example 1, Table 1)"
    }

    fn steps(&self) -> StepsOption {
        StepsOption {
            unit: "projected gradient steps",
            max: 10_000_000,
        }
    }

    /// Plain `f64` on the CPU: no burn tensor.
    fn uses_device(&self) -> bool {
        false
    }

    fn figures(&self) -> &'static [&'static str] {
        &["concave-x.svg", "concave-lambda.svg"]
    }

    fn run(&self, options: &RunOptions) -> anyhow::Result<Outcome> {
        let mut config = ConcaveConfig::default();
        if let Some(steps) = options.steps {
            config.steps = steps;
            config.tail = config.tail.min(steps);
        }
        let bar = options.progress_bar(EPSILONS.len() * METHODS.len(), "concave");
        let rows = reproduce(&config, options.threads, |_| bar.inc(1))?;
        bar.finish_and_clear();
        let text = render(&rows, &config);
        let models = rows.iter().map(saved_model).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Outcome::rows(&rows, text)?
            .with_models(models)
            .with_figures(move |dir| crate::plots::concave(&rows, dir)))
    }

    /// The one requirement `sin(x) <= ε` at the saved point, exact (within
    /// the rows' 1e-6): the problem has no data, so no other split.
    fn audit(&self, saved: &SavedRun, dir: &Path) -> anyhow::Result<Audit> {
        let run: ConcaveRun = saved.detail()?;
        let point: ConcavePoint = saved::read_json(dir)?;
        let mut audit = Audit::new(CONFIDENCE)?;
        audit.push(
            &Requirement::at_most(CONSTRAINT, run.eps + FEASIBILITY_TOLERANCE),
            "problem",
            &Evidence::Exact(point.x.sin()),
        )?;
        Ok(audit)
    }
}

/// The constraint's name in an audit.
pub const CONSTRAINT: &str = "sin(x), 1e-6 allowed";

/// How far past `ε` a point still counts as feasible (rounding).
pub const FEASIBILITY_TOLERANCE: f64 = 1e-6;

/// Which row a saved point is.
#[derive(Debug, Serialize, Deserialize)]
struct ConcaveRun {
    method: String,
    eps: f64,
}

/// The "model": the last iterate.
#[derive(Debug, Serialize, Deserialize)]
struct ConcavePoint {
    x: f64,
}

/// A row's last iterate, saved as `METHOD-epsEPS`.
fn saved_model(row: &ConcaveRow) -> anyhow::Result<SavedModel> {
    let point = ConcavePoint { x: row.x_final };
    SavedModel::new(
        format!("{}-eps{}", row.method, row.eps),
        &ConcaveRun {
            method: row.method.to_string(),
            eps: row.eps,
        },
        move |dir| saved::write_json(dir, &point),
    )
}
