//! Random convex QPs `min ||x||²  s.t.  Ax <= b` or `Cx = d`, solved by an
//! independent interior-point solver (clarabel) and by every formulation
//! under every scheme.

use std::convert::Infallible;

use clarabel::algebra::CscMatrix;
use clarabel::solver::SupportedConeT;
use feasible::{
    ConstrainedOptimizer, Constraint, ConstraintId, Formulation, GradientAscent, Measurement, Measurements, NuPi,
    PrimalProblem, PrimalWeights, UpdateScheme,
};

use crate::common::{Rng, clarabel_solve, dot};

/// `f(x) = ||x||²`, one constraint `a_i·x - b_i <= 0` (or `= 0`) per row.
struct Qp {
    a: Vec<Vec<f64>>,
    b: Vec<f64>,
    lr: f64,
    id: ConstraintId,
    last: Vec<f64>,
}

impl PrimalProblem for Qp {
    type Point = Vec<f64>;
    type Error = Infallible;

    fn measure(&mut self, x: &Vec<f64>) -> Result<Measurements, Infallible> {
        self.last = x.clone();
        let values: Vec<f64> = self.a.iter().zip(&self.b).map(|(row, b)| dot(row, x) - b).collect();
        Ok(Measurements::new(dot(x, x)).with_id(self.id, Measurement::entries(values)))
    }

    fn descend(&mut self, from: &Vec<f64>, at: &Vec<f64>, weights: &PrimalWeights) -> Result<Vec<f64>, Infallible> {
        assert_eq!(at, &self.last);
        let mut grad: Vec<f64> = at.iter().map(|x| 2.0 * x).collect();
        for (row, w) in self.a.iter().zip(weights.value_coefficients(self.id).unwrap()) {
            for (g, a) in grad.iter_mut().zip(row) {
                *g += w * a;
            }
        }
        Ok(from.iter().zip(&grad).map(|(x, g)| x - self.lr * g).collect())
    }
}

/// Rows of unit norm; `b` chosen so that the origin is infeasible (some
/// constraints are active at the solution).
fn random_problem(seed: u64, n: usize, m: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let a: Vec<Vec<f64>> = (0..m)
        .map(|_| {
            let row: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let norm = dot(&row, &row).sqrt();
            row.iter().map(|v| v / norm).collect()
        })
        .collect();
    let b = (0..m).map(|_| rng.uniform(-1.0, 0.3)).collect();
    (a, b)
}

/// The reference: clarabel's solution `x` and multipliers `z`.
fn reference(a: &[Vec<f64>], b: &[f64], equality: bool) -> (Vec<f64>, Vec<f64>) {
    let n = a[0].len();
    let identity: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 2.0 } else { 0.0 }).collect())
        .collect();
    let p = CscMatrix::from(&identity);
    let a_matrix = CscMatrix::from(a);
    let cone = if equality {
        SupportedConeT::ZeroConeT(a.len())
    } else {
        SupportedConeT::NonnegativeConeT(a.len())
    };
    clarabel_solve(&p, &vec![0.0; n], &a_matrix, b, &[cone])
}

fn formulations() -> Vec<(&'static str, Formulation)> {
    vec![
        (
            "lagrangian + ascent",
            Formulation::lagrangian(GradientAscent::new(0.1)).into(),
        ),
        (
            "lagrangian + nupi",
            Formulation::lagrangian(NuPi::from_penalty(0.1, 0.3)).into(),
        ),
        ("augmented lagrangian", Formulation::augmented_lagrangian(0.3).into()),
        (
            "augmented lagrangian + ascent",
            Formulation::augmented_lagrangian(0.5)
                .with_dual_optimizer(GradientAscent::new(0.1))
                .into(),
        ),
    ]
}

fn solve(
    a: &[Vec<f64>],
    b: &[f64],
    equality: bool,
    formulation: impl Into<Formulation>,
    scheme: UpdateScheme,
) -> (Vec<f64>, Vec<f64>) {
    let constraint = if equality {
        Constraint::equal_to("Ax-b", 0.0)
    } else {
        Constraint::at_most("Ax-b", 0.0)
    };
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(constraint.with_entries(a.len()).with_formulation(formulation))
        .scheme(scheme)
        .build()
        .unwrap();
    let mut qp = Qp {
        a: a.to_vec(),
        b: b.to_vec(),
        lr: 0.1,
        id: opt.id("Ax-b").unwrap(),
        last: Vec::new(),
    };
    let mut x = vec![0.0; a[0].len()];
    for _ in 0..8000 {
        x = opt.step(&mut qp, &x).unwrap().0;
    }
    (x, opt.multipliers("Ax-b").unwrap().unwrap().to_vec())
}

fn assert_matches(label: &str, got: &[f64], expected: &[f64]) {
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() <= 1e-4, "{label}: {got:?} vs {expected:?}");
    }
}

#[test]
fn every_formulation_and_scheme_solves_random_inequality_and_equality_qps() {
    let problems = [
        (1, 4, 3, false),
        (2, 5, 4, false),
        (3, 3, 2, false),
        (4, 4, 2, true),
        (5, 5, 3, true),
    ];
    for (seed, n, m, equality) in problems {
        let (a, b) = random_problem(seed, n, m);
        let (x_ref, z_ref) = reference(&a, &b, equality);
        if !equality {
            assert!(
                z_ref.iter().any(|z| *z > 1e-3),
                "seed {seed}: some constraint must be active"
            );
        }
        for scheme in UpdateScheme::ALL {
            for (name, formulation) in formulations() {
                let (x, multipliers) = solve(&a, &b, equality, formulation, scheme);
                let label = format!("seed {seed} / {} / {name}", scheme.name());
                assert_matches(&label, &x, &x_ref);
                assert_matches(&label, &multipliers, &z_ref);
            }
        }
    }
}

/// `(2I + c AᵀA) x = c Aᵀ b` by Gaussian elimination: the minimizer of
/// `||x||² + (c/2)||Ax - b||²`.
fn quadratic_penalty_minimizer(a: &[Vec<f64>], b: &[f64], c: f64) -> Vec<f64> {
    let n = a[0].len();
    let mut m: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut row: Vec<f64> = (0..n)
                .map(|j| (if i == j { 2.0 } else { 0.0 }) + c * a.iter().map(|r| r[i] * r[j]).sum::<f64>())
                .collect();
            row.push(c * a.iter().zip(b).map(|(r, bk)| r[i] * bk).sum::<f64>());
            row
        })
        .collect();
    for k in 0..n {
        let pivot = m[k].clone();
        for row in m.iter_mut().skip(k + 1) {
            let f = row[k] / pivot[k];
            for (value, p) in row.iter_mut().zip(&pivot).skip(k) {
                *value -= f * p;
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (m[i][n] - (i + 1..n).map(|j| m[i][j] * x[j]).sum::<f64>()) / m[i][i];
    }
    x
}

#[test]
fn penalties_converge_to_their_own_closed_form_minimizers_not_the_qp_solution() {
    let (a, b) = random_problem(4, 4, 2);
    let (x_ref, _) = reference(&a, &b, true);
    for scheme in UpdateScheme::ALL {
        let (x, _) = {
            let mut opt = ConstrainedOptimizer::builder()
                .constraint(
                    Constraint::equal_to("Ax-b", 0.0)
                        .with_entries(2)
                        .with_formulation(Formulation::quadratic_penalty(3.0)),
                )
                .scheme(scheme)
                .build()
                .unwrap();
            let mut qp = Qp {
                a: a.clone(),
                b: b.clone(),
                lr: 0.1,
                id: opt.id("Ax-b").unwrap(),
                last: Vec::new(),
            };
            let mut x = vec![0.0; 4];
            for _ in 0..3000 {
                x = opt.step(&mut qp, &x).unwrap().0;
            }
            (x, ())
        };
        assert_matches(scheme.name(), &x, &quadratic_penalty_minimizer(&a, &b, 3.0));
        let gap: f64 = x.iter().zip(&x_ref).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(gap > 1e-2, "a finite penalty must miss the constrained solution: {gap}");
    }
}
