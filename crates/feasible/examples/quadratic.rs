//! `min (x - 2)²  s.t.  x <= 1` by gradient descent-ascent, printing the
//! iterates' approach to `x* = 1`, `λ* = 2`.
//!
//! `cargo run --release -p feasible --example quadratic [steps]`. With a
//! large step count it also serves to count the core's instructions per step
//! (`valgrind --tool=callgrind`, two step counts, the difference).

use std::convert::Infallible;

use feasible::{
    ConstrainedOptimizer, Constraint, ConstraintId, Formulation, GradientAscent, Measurement, Measurements,
    PrimalProblem, PrimalWeights, UpdateScheme,
};

struct Quadratic {
    constraint: ConstraintId,
}

impl PrimalProblem for Quadratic {
    type Point = f64;
    type Error = Infallible;

    fn measure(&mut self, x: &f64) -> Result<Measurements, Infallible> {
        Ok(Measurements::new((x - 2.0).powi(2)).with_id(self.constraint, Measurement::scalar(*x)))
    }

    fn descend(&mut self, x: &f64, at: &f64, weights: &PrimalWeights) -> Result<f64, Infallible> {
        let coef = weights.value_coefficient(self.constraint).unwrap_or(0.0);
        Ok(x - 0.1 * (2.0 * (at - 2.0) + coef))
    }
}

fn main() -> Result<(), feasible::FeasibleError> {
    let steps: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut optimizer = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(Formulation::lagrangian(GradientAscent::new(0.1))))
        .scheme(UpdateScheme::AlternatingDualPrimal)
        .build()?;
    let mut problem = Quadratic {
        constraint: optimizer.id("x")?,
    };
    let mut x = 3.0;
    for t in 1..=steps {
        let (next, report) = optimizer.step(&mut problem, &x)?;
        x = next;
        if steps <= 1000 && (t % (steps / 10).max(1) == 0 || t == 1) {
            let lambda = report.constraints[0].multipliers.as_ref().map(|m| m[0]).unwrap_or(0.0);
            println!(
                "step {t:5}  x = {x:.6}  lambda = {lambda:.6}  feasible = {}",
                report.feasible
            );
        }
    }
    println!(
        "x = {x:.9} (x* = 1), lambda = {:.9} (lambda* = 2)",
        optimizer.multipliers("x")?.unwrap_or(&[0.0])[0]
    );
    Ok(())
}
