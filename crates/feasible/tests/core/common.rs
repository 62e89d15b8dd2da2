//! A problem with a closed form shared by the test modules.

use std::convert::Infallible;

use feasible::{
    ConstrainedOptimizer, ConstraintId, Measurement, Measurements, PrimalProblem, PrimalWeights, StepReport,
};

/// `f(x) = Σ (x_i - a_i)²` with linear constraint values `value_k = c_k · x`
/// (one row per entry), primal gradient descent with step `lr`. Follows the
/// `descend` contract: the gradient is taken at the last measured point and
/// applied from `from` (extragradient measures a lookahead point).
pub struct LinearlyConstrainedQuadratic {
    pub anchor: Vec<f64>,
    /// Per constraint: its name and the rows `c` of its entries.
    pub rows: Vec<(String, Vec<Vec<f64>>)>,
    /// The strict value as a function of the differentiable one, if any.
    pub strict: Option<fn(f64) -> f64>,
    pub lr: f64,
    pub ids: Vec<ConstraintId>,
    last: Vec<f64>,
}

impl LinearlyConstrainedQuadratic {
    pub fn new(anchor: &[f64], rows: &[(&str, &[&[f64]])], lr: f64) -> Self {
        Self {
            anchor: anchor.to_vec(),
            rows: rows
                .iter()
                .map(|(name, r)| (name.to_string(), r.iter().map(|row| row.to_vec()).collect()))
                .collect(),
            strict: None,
            lr,
            ids: Vec::new(),
            last: Vec::new(),
        }
    }

    pub fn bind(mut self, optimizer: &ConstrainedOptimizer) -> Self {
        self.ids = self.rows.iter().map(|(name, _)| optimizer.id(name).unwrap()).collect();
        self
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl PrimalProblem for LinearlyConstrainedQuadratic {
    type Point = Vec<f64>;
    type Error = Infallible;

    fn measure(&mut self, x: &Vec<f64>) -> Result<Measurements, Infallible> {
        self.last = x.clone();
        let loss = x.iter().zip(&self.anchor).map(|(x, a)| (x - a).powi(2)).sum();
        let mut m = Measurements::new(loss);
        for (name, rows) in &self.rows {
            let values: Vec<f64> = rows.iter().map(|row| dot(row, x)).collect();
            let mut measurement = Measurement::entries(values.clone());
            if let Some(strict) = self.strict {
                measurement = measurement.with_strict(values.iter().map(|v| strict(*v)).collect::<Vec<_>>());
            }
            m.insert(name.clone(), measurement);
        }
        Ok(m)
    }

    fn descend(&mut self, from: &Vec<f64>, at: &Vec<f64>, weights: &PrimalWeights) -> Result<Vec<f64>, Infallible> {
        assert_eq!(at, &self.last, "descend must differentiate at the last point measured");
        let mut grad: Vec<f64> = at.iter().zip(&self.anchor).map(|(x, a)| 2.0 * (x - a)).collect();
        for ((_, rows), id) in self.rows.iter().zip(&self.ids) {
            for (row, coef) in rows.iter().zip(weights.value_coefficients(*id).unwrap()) {
                for (g, c) in grad.iter_mut().zip(row) {
                    *g += coef * c;
                }
            }
        }
        Ok(from.iter().zip(&grad).map(|(x, g)| x - self.lr * g).collect())
    }
}

pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Runs `steps` steps, returning the last point and every report.
pub fn run(
    optimizer: &mut ConstrainedOptimizer,
    problem: &mut impl PrimalProblem<Point = Vec<f64>>,
    x0: &[f64],
    steps: usize,
) -> (Vec<f64>, Vec<StepReport>) {
    let mut x = x0.to_vec();
    let mut reports = Vec::new();
    for _ in 0..steps {
        let (next, report) = optimizer.step(problem, &x).unwrap();
        x = next;
        reports.push(report);
    }
    (x, reports)
}

/// SplitMix64, for reproducible random problems.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Solves `min ½xᵀPx + qᵀx  s.t.  Ax + s = b, s ∈ cones` with clarabel at
/// tight tolerances and returns `(x, z)`: the reference for the QP and LP
/// tests. Panics unless clarabel reports the problem solved.
pub fn clarabel_solve(
    p: &clarabel::algebra::CscMatrix<f64>,
    q: &[f64],
    a: &clarabel::algebra::CscMatrix<f64>,
    b: &[f64],
    cones: &[clarabel::solver::SupportedConeT<f64>],
) -> (Vec<f64>, Vec<f64>) {
    use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus};
    let settings = DefaultSettings {
        verbose: false,
        tol_gap_abs: 1e-12,
        tol_gap_rel: 1e-12,
        tol_feas: 1e-12,
        ..DefaultSettings::default()
    };
    let mut solver = DefaultSolver::new(p, q, a, b, cones, settings).unwrap();
    solver.solve();
    assert!(
        matches!(
            solver.solution.status,
            SolverStatus::Solved | SolverStatus::AlmostSolved
        ),
        "{:?}",
        solver.solution.status
    );
    (solver.solution.x.clone(), solver.solution.z.clone())
}

/// Replays fixed measurements and never moves (its point is `()`): the
/// first measurement of a step returns `first`, a second one (the
/// re-measurement of the alternating primal→dual scheme, extragradient's
/// lookahead) returns `second`, or `first` again when there is none.
pub struct Replay {
    pub first: Measurements,
    pub second: Option<Measurements>,
    calls: usize,
}

impl Replay {
    pub fn new(first: Measurements) -> Self {
        Self {
            first,
            second: None,
            calls: 0,
        }
    }

    pub fn with_second(mut self, second: Measurements) -> Self {
        self.second = Some(second);
        self
    }

    /// One step of `optimizer` on these measurements.
    pub fn step(&mut self, optimizer: &mut ConstrainedOptimizer) -> feasible::Result<StepReport> {
        self.calls = 0;
        optimizer.step(self, &()).map(|(_, report)| report)
    }
}

impl PrimalProblem for Replay {
    type Point = ();
    type Error = Infallible;

    fn measure(&mut self, _: &()) -> Result<Measurements, Infallible> {
        self.calls += 1;
        Ok(match (&self.second, self.calls) {
            (Some(second), 2..) => second.clone(),
            _ => self.first.clone(),
        })
    }

    fn descend(&mut self, _: &(), _: &(), _: &PrimalWeights) -> Result<(), Infallible> {
        Ok(())
    }
}

/// One step on the scalar measurement `value` of constraint `name` (loss 0).
pub fn step_on(optimizer: &mut ConstrainedOptimizer, name: &str, value: f64) -> feasible::Result<StepReport> {
    Replay::new(Measurements::new(0.0).with(name, Measurement::scalar(value))).step(optimizer)
}

/// The bits of every number, for bit-for-bit comparisons.
pub fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}
