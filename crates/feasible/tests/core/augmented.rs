//! The augmented Lagrangian and the quadratic penalty: hand-computed steps,
//! the exact reduction to the Lagrangian at `c = 0`, Nocedal & Wright's
//! problem 17.3, penalty coefficients that grow, convergence under every
//! scheme.

use std::convert::Infallible;

use feasible::{
    ConstrainedOptimizer, Constraint, Formulation, GradientAscent, Measurement, Measurements, NuPi, Penalty,
    PenaltyGrowth, PrimalProblem, PrimalWeights, UpdateScheme,
};

use crate::common::{LinearlyConstrainedQuadratic, close, run};
use crate::schemes::{cases, one_dimensional};

#[test]
fn augmented_lagrangian_first_two_steps_match_hand_computation() {
    // min (x-2)² s.t. x <= 1, c = 2, classical dual step, simultaneous, x0 = 3.
    // Step 1: g = 2, w = [0 + 2·2]_+ = 4, x1 = 3 - 0.1 (2 + 4) = 2.4, λ1 = 4;
    //   L_c = f + λg + c/2 g² = 1 + 0 + 4 = 5.
    // Step 2: g = 1.4, w = [4 + 2.8]_+ = 6.8, x2 = 2.4 - 0.1 (0.8 + 6.8) = 1.64, λ2 = 6.8.
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Simultaneous, Formulation::augmented_lagrangian(2.0));
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 2);
    assert_eq!(reports[0].constraints[0].primal_weight, vec![4.0]);
    assert!(close(reports[0].lagrangian, 5.0, 1e-15));
    assert_eq!(reports[0].constraints[0].penalty, Some(vec![2.0]));
    assert!(close(x[0], 1.64, 1e-14), "{x:?}");
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 6.8, 1e-14));
}

#[test]
fn quadratic_penalty_steps_and_its_penalized_minimizer() {
    // c = 2: x1 = 3 - 0.1 (2 + 2·2) = 2.4 ; x2 = 2.4 - 0.1 (0.8 + 2·1.4) = 2.04.
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Simultaneous, Formulation::quadratic_penalty(2.0));
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 2);
    assert!(close(x[0], 2.04, 1e-14));
    assert!(close(reports[0].lagrangian, 1.0 + 0.5 * 2.0 * 4.0, 1e-15));
    assert_eq!(reports[0].constraints[0].multipliers, None);
    // Its minimizer: 2(x-2) + c(x-1) = 0, x = (4 + c)/(2 + c) = 1.5: infeasible.
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Simultaneous, Formulation::quadratic_penalty(2.0));
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 3000);
    assert!(close(x[0], 1.5, 1e-10));
    assert!(!reports.last().unwrap().feasible);
}

#[test]
fn zero_penalty_is_exactly_the_lagrangian() {
    // With c = 0 and the same dual optimizer, the augmented Lagrangian and
    // the Lagrangian take the same steps bit for bit, under every scheme
    // (Cooper 1.0.1 gives NaN for c = 0 on an inequality).
    for scheme in UpdateScheme::ALL {
        for case in cases() {
            let build = |al: bool| {
                let mut builder = ConstrainedOptimizer::builder().scheme(scheme);
                for (c, _) in &case.constraints {
                    let formulation: Formulation = if al {
                        Formulation::augmented_lagrangian(0.0)
                            .with_dual_optimizer(GradientAscent::new(0.2))
                            .into()
                    } else {
                        Formulation::lagrangian(GradientAscent::new(0.2)).into()
                    };
                    builder = builder.constraint(c.clone().with_formulation(formulation));
                }
                builder.build().unwrap()
            };
            let rows: Vec<(&str, &[&[f64]])> = case.constraints.iter().map(|(c, r)| (c.name(), *r)).collect();
            let (mut a, mut b) = (build(true), build(false));
            let mut p = LinearlyConstrainedQuadratic::new(case.anchor, &rows, 0.05).bind(&a);
            let (xa, ra) = run(&mut a, &mut p, &[3.0, -2.0], 500);
            p = p.bind(&b);
            let (xb, rb) = run(&mut b, &mut p, &[3.0, -2.0], 500);
            assert_eq!(xa, xb, "{} / {}", scheme.name(), case.name);
            for (x, y) in ra.iter().zip(&rb) {
                assert_eq!(x.lagrangian, y.lagrangian);
                assert!(!x.lagrangian.is_nan());
                for (cx, cy) in x.constraints.iter().zip(&y.constraints) {
                    assert_eq!(cx.multipliers, cy.multipliers);
                }
            }
        }
    }
    // The classical step scales by c: with c = 0 the multipliers stay.
    let (mut opt, mut p) = one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::augmented_lagrangian(0.0).with_initial_multiplier(1.5),
    );
    run(&mut opt, &mut p, &[3.0], 10);
    assert_eq!(opt.multipliers("x").unwrap().unwrap(), &[1.5]);
}

#[test]
fn the_augmented_lagrangian_converges_to_the_kkt_points_under_every_scheme() {
    for scheme in UpdateScheme::ALL {
        for formulation in [
            Formulation::augmented_lagrangian(0.5),
            Formulation::augmented_lagrangian(Penalty::new(0.5).per_entry()),
            Formulation::augmented_lagrangian(1.0).with_dual_optimizer(GradientAscent::new(0.1)),
            Formulation::augmented_lagrangian(1.0).with_dual_optimizer(NuPi::new(0.1, 2.0, 1.0)),
        ] {
            for case in cases() {
                let mut builder = ConstrainedOptimizer::builder().scheme(scheme);
                for (c, _) in &case.constraints {
                    builder = builder.constraint(c.clone().with_formulation(formulation.clone()));
                }
                let mut opt = builder.build().unwrap();
                let rows: Vec<(&str, &[&[f64]])> = case.constraints.iter().map(|(c, r)| (c.name(), *r)).collect();
                let mut p = LinearlyConstrainedQuadratic::new(case.anchor, &rows, 0.05).bind(&opt);
                let (x, reports) = run(&mut opt, &mut p, &[3.0, -2.0], 4000);
                for (xi, si) in x.iter().zip(case.x_star) {
                    assert!(
                        close(*xi, *si, 1e-8),
                        "{} / {formulation:?} / {}: x = {x:?}",
                        scheme.name(),
                        case.name
                    );
                }
                for (name, expected) in case.multipliers {
                    let got = opt.multipliers(name).unwrap().unwrap();
                    for (g, e) in got.iter().zip(*expected) {
                        assert!(
                            close(*g, *e, 1e-7),
                            "{} / {}: λ[{name}] = {got:?}",
                            scheme.name(),
                            case.name
                        );
                    }
                }
                assert!(reports.last().unwrap().feasible);
            }
        }
    }
}

/// Nocedal & Wright, *Numerical Optimization*, problem 17.3 (Example 17.1):
/// `min x1 + x2  s.t.  x1² + x2² = 2`, solution `(-1, -1)`, `μ* = 1/2`.
struct CircleProblem {
    lr: f64,
    last: [f64; 2],
}

impl PrimalProblem for CircleProblem {
    type Point = [f64; 2];
    type Error = Infallible;

    fn measure(&mut self, x: &[f64; 2]) -> Result<Measurements, Infallible> {
        self.last = *x;
        Ok(Measurements::new(x[0] + x[1]).with("circle", Measurement::scalar(x[0] * x[0] + x[1] * x[1])))
    }

    fn descend(&mut self, from: &[f64; 2], at: &[f64; 2], weights: &PrimalWeights) -> Result<[f64; 2], Infallible> {
        let w = weights.value_coefficient(weights.ids().next().unwrap()).unwrap();
        // The gradient is taken at the point handed over, the last one measured.
        assert_eq!(at, &self.last);
        let x = *at;
        Ok([
            from[0] - self.lr * (1.0 + w * 2.0 * x[0]),
            from[1] - self.lr * (1.0 + w * 2.0 * x[1]),
        ])
    }
}

fn circle(formulation: impl Into<Formulation>, steps: usize) -> ([f64; 2], ConstrainedOptimizer) {
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::equal_to("circle", 2.0).with_formulation(formulation))
        .scheme(UpdateScheme::AlternatingDualPrimal)
        .build()
        .unwrap();
    let mut problem = CircleProblem {
        lr: 0.02,
        last: [0.0; 2],
    };
    let mut x = [-1.5, -0.5];
    for _ in 0..steps {
        x = opt.step(&mut problem, &x).unwrap().0;
    }
    (x, opt)
}

#[test]
fn nocedal_wright_17_3_the_augmented_lagrangian_converges_and_the_quadratic_penalty_does_not() {
    let (x, opt) = circle(
        Formulation::augmented_lagrangian(10.0).with_dual_optimizer(GradientAscent::new(0.1)),
        3000,
    );
    assert!(close(x[0], -1.0, 1e-6) && close(x[1], -1.0, 1e-6), "{x:?}");
    assert!(close(opt.multipliers("circle").unwrap().unwrap()[0], 0.5, 1e-6));
    let (x, _) = circle(Formulation::augmented_lagrangian(1.0), 3000);
    assert!(
        close(x[0], -1.0, 1e-6) && close(x[1], -1.0, 1e-6),
        "classical step: {x:?}"
    );
    // The quadratic penalty alone, same budget: its minimizer for c = 10 is
    // (t, t) with 2t² - 2 = 1/(2c|t|), t ≈ -1.0124: about 0.0175 away.
    let (x, _) = circle(Formulation::quadratic_penalty(10.0), 3000);
    let distance = ((x[0] + 1.0).powi(2) + (x[1] + 1.0).powi(2)).sqrt();
    assert!(distance > 0.015 && distance < 0.02, "{x:?} at {distance}");
}

#[test]
fn penalty_coefficients_grow_while_violated_and_restart_when_feasible() {
    // min (x-2)² s.t. x <= 1 with the quadratic penalty and a multiplicative
    // updater: c grows every step while x > 1 + 1e-4, so x creeps towards
    // the boundary; with restart, a feasible step resets c.
    let updater = PenaltyGrowth::multiplicative(1.05);
    let (mut opt, mut p) = one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::quadratic_penalty(Penalty::new(1.0).with_updater(updater)),
    );
    let (_, reports) = run(&mut opt, &mut p, &[3.0], 3);
    let grown: Vec<f64> = reports
        .iter()
        .map(|r| r.constraints[0].penalty.as_ref().unwrap()[0])
        .collect();
    assert_eq!(grown, vec![1.05, 1.05 * 1.05, 1.05 * 1.05 * 1.05]);

    let (mut opt, mut p) = one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::augmented_lagrangian(Penalty::new(2.0).with_updater(PenaltyGrowth::additive(1.0).with_restart())),
    );
    // x0 = 0.5 is feasible: no growth, and restart keeps the initial value.
    let (_, reports) = run(&mut opt, &mut p, &[0.5], 1);
    assert_eq!(reports[0].constraints[0].penalty, Some(vec![2.0]));
    // From x0 = 3 it grows by 1 per violated step.
    let (_, reports) = run(&mut opt, &mut p, &[3.0], 2);
    assert_eq!(reports[1].constraints[0].penalty, Some(vec![4.0]));
    assert_eq!(opt.penalty("x").unwrap(), Some(&[4.0][..]));
}

#[test]
fn augmented_and_penalty_states_survive_save_and_restore() {
    let build = || {
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("x1", 1.0).with_formulation(Formulation::augmented_lagrangian(
                    Penalty::new(0.5).with_updater(PenaltyGrowth::multiplicative(1.01)),
                )),
            )
            .constraint(
                Constraint::equal_to("sum", 0.3).with_formulation(
                    Formulation::augmented_lagrangian(Penalty::new(0.2).per_entry())
                        .with_dual_optimizer(NuPi::new(0.1, 1.0, 1.0)),
                ),
            )
            .constraint(
                Constraint::at_least("x2", -5.0).with_formulation(Formulation::quadratic_penalty(
                    Penalty::new(1.0).with_updater(PenaltyGrowth::additive(0.1)),
                )),
            )
            .build()
            .unwrap()
    };
    let rows: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]]), ("x2", &[&[0.0, 1.0]])];
    let mut straight = build();
    let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], rows, 0.03).bind(&straight);
    let (x_straight, _) = run(&mut straight, &mut p, &[0.1, -7.0], 80);
    let mut first = build();
    p = p.bind(&first);
    let (x_half, _) = run(&mut first, &mut p, &[0.1, -7.0], 40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dual.ckpt");
    first.state().save(&path).unwrap();
    let mut resumed = build();
    resumed.restore(feasible::DualState::load(&path).unwrap()).unwrap();
    p = p.bind(&resumed);
    let (x_resumed, _) = run(&mut resumed, &mut p, &x_half, 40);
    assert_eq!(x_resumed, x_straight);
    assert_eq!(resumed.state(), straight.state());
    // A state whose penalty has the wrong shape is refused.
    let mut wrong = straight.state();
    if let Some(penalty) = wrong.constraints[1].state.penalty_mut() {
        penalty.pop();
    }
    assert!(resumed.restore(wrong).unwrap_err().to_string().contains("`sum`"));
}
