//! The caller keeps the loop: `begin` → the caller's primal step → `commit`
//! gives the same trajectories, bit for bit, as `step` with a
//! `PrimalProblem`; nothing changes before the commit.

use feasible::{
    ConstrainedOptimizer, Constraint, FeasibleError, Formulation, GradientAscent, Measurements, NuPi, PrimalProblem,
    UpdateScheme,
};

use crate::common::{LinearlyConstrainedQuadratic, bits, run};

fn build(scheme: UpdateScheme) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x1", 1.0).with_formulation(Formulation::lagrangian(NuPi::new(0.3, 1.0, 1.0))))
        .constraint(Constraint::equal_to("sum", 0.3).with_formulation(Formulation::augmented_lagrangian(0.5)))
        .scheme(scheme)
        .build()
        .unwrap()
}

const ROWS: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])];

/// The caller's own loop over `problem`: measure, descend with the pending
/// weights, commit (measuring again where the scheme asks).
fn own_loop(optimizer: &mut ConstrainedOptimizer, x0: &[f64], steps: usize) -> Vec<f64> {
    let mut problem = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], ROWS, 0.05).bind(optimizer);
    let mut x = x0.to_vec();
    for _ in 0..steps {
        let measured = problem.measure(&x).unwrap();
        let pending = optimizer.begin(measured).unwrap();
        let next = problem.descend(&x, &x, pending.weights()).unwrap();
        if pending.needs_measurement() {
            let again = problem.measure_constraints(&next).unwrap();
            pending.commit_measured(again).unwrap();
        } else {
            pending.commit().unwrap();
        }
        x = next;
    }
    x
}

#[test]
fn begin_and_commit_follow_step_bit_for_bit_in_every_one_measurement_scheme() {
    for scheme in [
        UpdateScheme::Simultaneous,
        UpdateScheme::AlternatingDualPrimal,
        UpdateScheme::AlternatingPrimalDual,
    ] {
        let mut stepped = build(scheme);
        let mut problem = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], ROWS, 0.05).bind(&stepped);
        let (x_stepped, _) = run(&mut stepped, &mut problem, &[0.5, -1.0], 300);
        let mut looped = build(scheme);
        let x_looped = own_loop(&mut looped, &[0.5, -1.0], 300);
        assert_eq!(bits(&x_looped), bits(&x_stepped), "{}", scheme.name());
        assert_eq!(looped.state(), stepped.state(), "{}", scheme.name());
    }
}

#[test]
fn nothing_changes_before_the_commit() {
    let mut optimizer = build(UpdateScheme::AlternatingDualPrimal);
    let before = optimizer.state();
    let mut problem = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], ROWS, 0.05).bind(&optimizer);
    let pending = optimizer.begin(problem.measure(&vec![3.0, 3.0]).unwrap()).unwrap();
    // The weights already hold the dual→primal update: λ_1 = 0.3·(1+1)·2 = 1.2 (nuPI from zeros).
    let w = pending.weights().violation_weights(problem.ids[0]).unwrap()[0];
    assert!((w - 0.3 * 2.0 * 2.0).abs() < 1e-15, "{w}");
    assert_eq!(pending.report().unwrap().step, 1);
    drop(pending);
    assert_eq!(optimizer.state(), before);
    assert_eq!(optimizer.steps(), 0);
}

#[test]
fn schemes_that_need_another_measurement_say_so_and_change_nothing() {
    let mut extra = build(UpdateScheme::Extragradient);
    let mut problem = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], ROWS, 0.05).bind(&extra);
    let err = extra.begin(problem.measure(&vec![3.0, 3.0]).unwrap()).unwrap_err();
    assert!(matches!(err, FeasibleError::SchemeNeedsProblem { .. }), "{err}");

    let mut primal_dual = build(UpdateScheme::AlternatingPrimalDual);
    let before = primal_dual.state();
    problem = problem.bind(&primal_dual);
    let pending = primal_dual.begin(problem.measure(&vec![3.0, 3.0]).unwrap()).unwrap();
    assert!(pending.needs_measurement() && pending.report().is_none());
    assert!(matches!(
        pending.commit().unwrap_err(),
        FeasibleError::MeasurementNeeded
    ));
    assert_eq!(primal_dual.state(), before);

    let mut dual_primal = build(UpdateScheme::AlternatingDualPrimal);
    problem = problem.bind(&dual_primal);
    let pending = dual_primal.begin(problem.measure(&vec![3.0, 3.0]).unwrap()).unwrap();
    let err = pending.commit_measured(Measurements::new(0.0)).unwrap_err();
    assert!(err.to_string().contains("call `commit`"), "{err}");
    assert_eq!(dual_primal.steps(), 0);
}

#[test]
fn a_bad_second_measurement_changes_nothing() {
    let mut optimizer = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x1", 1.0).with_formulation(Formulation::lagrangian(GradientAscent::new(0.1))))
        .constraint(Constraint::equal_to("sum", 0.3))
        .scheme(UpdateScheme::AlternatingPrimalDual)
        .build()
        .unwrap();
    let before = optimizer.state();
    let mut problem = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], ROWS, 0.05).bind(&optimizer);
    let pending = optimizer.begin(problem.measure(&vec![3.0, 3.0]).unwrap()).unwrap();
    // The second measurement forgets a constraint.
    let err = pending.commit_measured(Measurements::new(0.0)).unwrap_err();
    assert!(matches!(err, FeasibleError::MissingMeasurement { .. }), "{err}");
    assert_eq!(optimizer.state(), before);
}
