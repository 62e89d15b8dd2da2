//! "Dual optimistic ascent is the augmented Lagrangian method in disguise"
//! (Ramirez & Lacoste-Julien 2025, arXiv 2509.22500), checked on random
//! problems with a non-convex objective and a nonlinear equality constraint.
//!
//! Gradient descent-ascent on the augmented Lagrangian, primal step first:
//!
//! ```text
//! x_{t+1} = x_t - η_x [∇f(x_t) + ∇h(x_t) (μ_t + c h(x_t))]
//! μ_{t+1} = μ_t + η_d h(x_{t+1})
//! ```
//!
//! nuPI on the Lagrangian with `K_i = 1, K_p = c / η_d, ν = 0`, step `η_d`,
//! dual step first (`λ_t = λ_{t-1} + η_d e_t + c (e_t - e_{t-1})`, then
//! `x_{t+1} = x_t - η_x [∇f + ∇h λ_t]`). Started with the plain-ascent first
//! step from `λ_{-1} = μ_0 + (c - η_d) h(x_0)`, so that `λ_0 = μ_0 + c h(x_0)`,
//! both produce the same `x_t` at every step and `λ_t = μ_t + c h(x_t)`.

use std::convert::Infallible;

use feasible::dual::NuPiStart;
use feasible::{
    ConstrainedOptimizer, Constraint, Formulation, GradientAscent, Measurement, Measurements, NuPi, PrimalProblem,
    PrimalWeights, UpdateScheme,
};
use proptest::prelude::*;

/// `f(x) = a1 x1 + a2 x2 + s sin(x1 + x2)`, `h(x) = x1² + k x2 - t`.
#[derive(Clone, Copy, Debug)]
struct Problem {
    a1: f64,
    a2: f64,
    s: f64,
    k: f64,
    t: f64,
    lr: f64,
}

struct Run {
    problem: Problem,
    last: [f64; 2],
}

impl Problem {
    fn h(&self, x: &[f64; 2]) -> f64 {
        x[0] * x[0] + self.k * x[1] - self.t
    }
}

impl PrimalProblem for Run {
    type Point = [f64; 2];
    type Error = Infallible;

    fn measure(&mut self, x: &[f64; 2]) -> Result<Measurements, Infallible> {
        self.last = *x;
        let p = self.problem;
        let f = p.a1 * x[0] + p.a2 * x[1] + p.s * (x[0] + x[1]).sin();
        Ok(Measurements::new(f).with("h", Measurement::scalar(p.h(x))))
    }

    fn descend(&mut self, from: &[f64; 2], at: &[f64; 2], weights: &PrimalWeights) -> Result<[f64; 2], Infallible> {
        assert_eq!(at, &self.last);
        let (p, x) = (self.problem, *at);
        let w = weights.value_coefficient(weights.ids().next().unwrap()).unwrap();
        let wave = p.s * (x[0] + x[1]).cos();
        let grad = [p.a1 + wave + w * 2.0 * x[0], p.a2 + wave + w * p.k];
        Ok([from[0] - p.lr * grad[0], from[1] - p.lr * grad[1]])
    }
}

fn trajectory(
    problem: Problem,
    formulation: impl Into<Formulation>,
    scheme: UpdateScheme,
    x0: [f64; 2],
    steps: usize,
) -> (Vec<[f64; 2]>, Vec<f64>) {
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::equal_to("h", 0.0).with_formulation(formulation))
        .scheme(scheme)
        .build()
        .unwrap();
    let mut run = Run { problem, last: x0 };
    let (mut x, mut xs, mut multipliers) = (x0, Vec::new(), Vec::new());
    for _ in 0..steps {
        x = opt.step(&mut run, &x).unwrap().0;
        xs.push(x);
        multipliers.push(opt.multipliers("h").unwrap().unwrap()[0]);
    }
    (xs, multipliers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn optimistic_ascent_on_the_lagrangian_is_descent_ascent_on_the_augmented_lagrangian(
        a1 in -1.0f64..1.0, a2 in -1.0f64..1.0, s in 0.1f64..2.0, k in 0.5f64..2.0, t in 0.2f64..2.0,
        x1 in -1.0f64..1.0, x2 in -1.0f64..1.0, mu0 in -1.0f64..1.0,
        lr in 0.002f64..0.05, dual_lr in 0.01f64..0.5, c in 0.01f64..2.0,
    ) {
        let problem = Problem { a1, a2, s, k, t, lr };
        let x0 = [x1, x2];
        let alm = Formulation::augmented_lagrangian(c)
            .with_dual_optimizer(GradientAscent::new(dual_lr))
            .with_initial_multiplier(mu0);
        let optimistic = Formulation::lagrangian_from(
            NuPi::from_penalty(dual_lr, c).with_start(NuPiStart::Ascent),
            mu0 + (c - dual_lr) * problem.h(&x0),
        );
        let steps = 50;
        let (xa, mu) = trajectory(problem, alm, UpdateScheme::AlternatingPrimalDual, x0, steps);
        let (xb, lambda) = trajectory(problem, optimistic, UpdateScheme::AlternatingDualPrimal, x0, steps);
        prop_assume!(xa.iter().all(|x| x[0].abs() < 1e3 && x[1].abs() < 1e3));
        for t in 0..steps {
            for i in 0..2 {
                let scale = 1.0 + xa[t][i].abs();
                prop_assert!((xa[t][i] - xb[t][i]).abs() <= 1e-10 * scale, "step {t}: {:?} vs {:?}", xa[t], xb[t]);
            }
        }
        // λ_t = μ_t + c h(x_t): nuPI's multiplier after step t+1 against the
        // augmented Lagrangian's after step t.
        for t in 0..steps - 1 {
            let expected = mu[t] + c * problem.h(&xa[t]);
            prop_assert!((lambda[t + 1] - expected).abs() <= 1e-9 * (1.0 + expected.abs()), "step {t}: {} vs {expected}", lambda[t + 1]);
        }
    }
}
