//! The contract every formulation keeps under every scheme, checked table
//! by table (as optax's `_common_test` does for its optimizers): the state
//! round-trips through JSON and resumes identically, runs are
//! deterministic, a failed step changes nothing, inequality multipliers
//! stay `>= 0`, an upper bound holds. Then property tests: the projection,
//! and failure atomicity on random (often invalid) measurements.

use feasible::multiplier::Bounds;
use feasible::penalty::{Penalty, PenaltyGrowth};
use feasible::{
    Adam, ConstrainedOptimizer, Constraint, DualState, FeasibleError, Formulation, GradientAscent, Measurement,
    Measurements, NuPi, Omega, Optimistic, Pid, StepReport, UpdateScheme,
};
use proptest::prelude::*;

use crate::common::{LinearlyConstrainedQuadratic, Replay, bits, run};
use crate::user_optimizer::HeavyBall;

/// One row of the table: a name, the formulation (for both constraints),
/// and its multiplier upper bound, if it has one.
pub struct Case {
    pub name: &'static str,
    pub formulation: Formulation,
    pub bound: Option<f64>,
}

fn case(name: &'static str, formulation: impl Into<Formulation>) -> Case {
    Case {
        name,
        formulation: formulation.into(),
        bound: None,
    }
}

fn bounded(name: &'static str, formulation: impl Into<Formulation>) -> Case {
    Case {
        name,
        formulation: formulation.into(),
        bound: Some(BOUND),
    }
}

const BOUND: f64 = 0.5;

pub fn cases() -> Vec<Case> {
    let growth = |factor| Penalty::new(1.0).with_updater(PenaltyGrowth::multiplicative(factor));
    vec![
        case(
            "lagrangian/gradient_ascent",
            Formulation::lagrangian(GradientAscent::new(0.2)),
        ),
        case(
            "lagrangian/nupi",
            Formulation::lagrangian(NuPi::new(0.2, 1.0, 1.0).with_nu(0.3)),
        ),
        case(
            "lagrangian/pid",
            Formulation::lagrangian(Pid::new(0.2, 1.0, 1.0, 0.5).with_nu(0.3).with_derivative_ema(0.5)),
        ),
        case("lagrangian/optimistic", Formulation::lagrangian(Optimistic::new(0.2))),
        case("lagrangian/omega", Formulation::lagrangian(Omega::new(0.2))),
        case("lagrangian/adam", Formulation::lagrangian(Adam::new(0.05))),
        case(
            "lagrangian/heavy_ball",
            Formulation::lagrangian(HeavyBall::new(0.1, 0.5)),
        ),
        case(
            "lagrangian/options",
            Formulation::lagrangian_from(GradientAscent::new(0.2), 0.1)
                .with_dual_decay(0.05)
                .with_smoothed_violation(0.5)
                .with_warmup(2),
        ),
        case(
            "augmented_lagrangian/classical",
            Formulation::augmented_lagrangian(growth(1.01)),
        ),
        case(
            "augmented_lagrangian/nupi",
            Formulation::augmented_lagrangian(1.0).with_dual_optimizer(NuPi::new(0.2, 1.0, 1.0)),
        ),
        case("quadratic_penalty/growth", Formulation::quadratic_penalty(growth(1.05))),
        case("fixed_penalty", Formulation::fixed_penalty(1.0)),
        bounded(
            "lagrangian/gradient_ascent/bounded",
            Formulation::lagrangian(GradientAscent::new(0.2)).with_upper_bound(BOUND),
        ),
        bounded(
            "lagrangian/pid/bounded",
            Formulation::lagrangian(Pid::new(0.2, 1.0, 1.0, 0.5)).with_upper_bound(BOUND),
        ),
        bounded(
            "lagrangian/heavy_ball/bounded",
            Formulation::lagrangian(HeavyBall::new(0.1, 0.5)).with_upper_bound(BOUND),
        ),
        bounded(
            "augmented_lagrangian/classical/bounded",
            Formulation::augmented_lagrangian(1.0).with_upper_bound(BOUND),
        ),
        bounded(
            "augmented_lagrangian/adam/bounded",
            Formulation::augmented_lagrangian(1.0)
                .with_dual_optimizer(Adam::new(0.05))
                .with_upper_bound(BOUND),
        ),
    ]
}

/// `x1 <= 1` (an inequality) and `x1 + x2 == 2.5` (an equality), both
/// with the case's formulation. With `min (x1-2)² + (x2-1)²` the solution
/// is x = (1, 1.5), λ* = 3, μ* = -1: an upper bound of 0.5 binds both.
fn build(case: &Case, scheme: UpdateScheme) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x1", 1.0).with_formulation(case.formulation.clone()))
        .constraint(Constraint::equal_to("sum", 2.5).with_formulation(case.formulation.clone()))
        .scheme(scheme)
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

fn problem(optimizer: &ConstrainedOptimizer) -> LinearlyConstrainedQuadratic {
    LinearlyConstrainedQuadratic::new(&[2.0, 1.0], &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])], 0.05)
        .bind(optimizer)
}

const X0: [f64; 2] = [3.0, -2.0];

fn every_case(mut check: impl FnMut(&Case, UpdateScheme, &str)) {
    for case in cases() {
        for scheme in UpdateScheme::ALL {
            let label = format!("{} / {}", case.name, scheme.name());
            check(&case, scheme, &label);
        }
    }
}

fn measurements(loss: f64, x1: Vec<f64>, sum: Vec<f64>) -> Measurements {
    Measurements::new(loss)
        .with("x1", Measurement::entries(x1))
        .with("sum", Measurement::entries(sum))
}

// ---------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------

#[test]
fn the_state_round_trips_through_json_and_resumes_identically() {
    every_case(|case, scheme, label| {
        let mut opt = build(case, scheme);
        let mut p = problem(&opt);
        let (x, _) = run(&mut opt, &mut p, &X0, 20);
        let state = opt.state();
        let text = serde_json::to_string(&state).unwrap();
        let back: DualState = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state, "{label}");
        assert_eq!(
            DualState::from_json(&state.to_json().unwrap()).unwrap(),
            state,
            "{label}"
        );

        let mut resumed = build(case, scheme);
        resumed.restore(back).unwrap();
        assert_eq!(resumed.state(), state, "{label}");
        let (xa, ra) = run(&mut opt, &mut p, &x, 10);
        p = p.bind(&resumed);
        let (xb, rb) = run(&mut resumed, &mut p, &x, 10);
        assert_eq!(bits(&xa), bits(&xb), "{label}");
        assert_eq!(ra, rb, "{label}");
        assert_eq!(resumed.state(), opt.state(), "{label}");
    });
}

#[test]
fn identical_runs_give_identical_states_and_reports() {
    every_case(|case, scheme, label| {
        let outcome = || {
            let mut opt = build(case, scheme);
            let mut p = problem(&opt);
            let (x, reports) = run(&mut opt, &mut p, &X0, 30);
            (bits(&x), reports, opt.state())
        };
        let (first, second) = (outcome(), outcome());
        assert_eq!(first.0, second.0, "{label}");
        assert_eq!(first.1, second.1, "{label}");
        assert_eq!(first.2, second.2, "{label}");
    });
}

/// The refused step leaves the state and the step count as they were.
fn assert_refused(opt: &mut ConstrainedOptimizer, replay: &mut Replay, label: &str) -> FeasibleError {
    let (before, steps) = (opt.state(), opt.steps());
    let e = replay.step(opt).expect_err(label);
    assert_eq!(opt.state(), before, "{label}: {e}");
    assert_eq!(opt.steps(), steps, "{label}: {e}");
    e
}

#[test]
fn a_failed_step_changes_nothing() {
    every_case(|case, scheme, label| {
        let mut opt = build(case, scheme);
        let mut p = problem(&opt);
        run(&mut opt, &mut p, &X0, 5);
        let good = || measurements(0.5, vec![2.0], vec![1.0]);

        let e = assert_refused(
            &mut opt,
            &mut Replay::new(measurements(0.5, vec![f64::NAN], vec![1.0])),
            label,
        );
        assert!(matches!(e, FeasibleError::NonFiniteValue { .. }), "{label}: {e}");
        let e = assert_refused(
            &mut opt,
            &mut Replay::new(measurements(0.5, vec![2.0], vec![1.0, 1.0])),
            label,
        );
        assert!(matches!(e, FeasibleError::SizeMismatch { got: 2, .. }), "{label}: {e}");
        let e = assert_refused(
            &mut opt,
            &mut Replay::new(measurements(f64::INFINITY, vec![2.0], vec![1.0])),
            label,
        );
        assert!(matches!(e, FeasibleError::NonFiniteLoss { .. }), "{label}: {e}");
        if scheme.remeasures() {
            // Invalid at the second measurement, after the primal step.
            let mut replay = Replay::new(good()).with_second(measurements(0.5, vec![2.0], vec![f64::NAN]));
            let e = assert_refused(&mut opt, &mut replay, label);
            assert!(matches!(e, FeasibleError::NonFiniteValue { .. }), "{label}: {e}");
        }

        // A dual update that leaves the finite numbers: every multiplier and
        // penalty coefficient at f64::MAX, violations of 1e308.
        if case.bound.is_none() {
            let mut huge = opt.state();
            for c in &mut huge.constraints {
                if let Some(m) = c.state.multipliers_mut() {
                    m.fill(f64::MAX);
                }
                if let Some(p) = c.state.penalty_mut() {
                    p.fill(f64::MAX);
                }
            }
            opt.restore(huge).unwrap();
            let mut replay = Replay::new(measurements(0.5, vec![1e308], vec![1e308]));
            if case.formulation.name() == "fixed_penalty" {
                // Nothing to overflow: the step is taken.
                replay.step(&mut opt).unwrap();
            } else {
                let e = assert_refused(&mut opt, &mut replay, label);
                assert!(matches!(e, FeasibleError::NonFiniteDualUpdate { .. }), "{label}: {e}");
            }
        }
    });
}

/// The invariants of every committed step: finite dual state, inequality
/// multipliers and weights `>= 0` (never `-0.0`), the bound.
fn assert_invariants(opt: &ConstrainedOptimizer, report: &StepReport, bound: Option<f64>, label: &str) {
    opt.state().check_finite().unwrap_or_else(|e| panic!("{label}: {e}"));
    let x1 = &report.constraints[0];
    for w in &x1.primal_weight {
        assert!(
            *w >= 0.0 && w.is_sign_positive(),
            "{label}: step {}: w = {w}",
            report.step
        );
    }
    if let Some(m) = opt.multipliers("x1").unwrap() {
        assert_eq!(Some(m), x1.multipliers.as_deref(), "{label}");
        for l in m {
            assert!(
                *l >= 0.0 && l.is_sign_positive(),
                "{label}: step {}: λ = {l}",
                report.step
            );
        }
    }
    if let Some(bound) = bound {
        for name in ["x1", "sum"] {
            for l in opt.multipliers(name).unwrap().unwrap() {
                assert!(l.abs() <= bound, "{label}: step {}: {name} λ = {l}", report.step);
            }
        }
    }
}

#[test]
fn inequality_multipliers_stay_nonnegative_and_upper_bounds_hold_after_every_step() {
    every_case(|case, scheme, label| {
        let mut opt = build(case, scheme);
        let mut p = problem(&opt);
        let mut x = X0.to_vec();
        let mut largest = [0.0f64; 2];
        for _ in 0..40 {
            let (next, report) = opt.step(&mut p, &x).unwrap();
            x = next;
            assert_invariants(&opt, &report, case.bound, label);
            if let Some(m) = report.constraints[0].multipliers.as_ref() {
                largest[0] = largest[0].max(m[0]);
                largest[1] = largest[1].max(report.constraints[1].multipliers.as_ref().unwrap()[0].abs());
            }
        }
        if let Some(bound) = case.bound {
            // The bound was reached, so the test tested it.
            assert_eq!(largest[0], bound, "{label}");
        }
    });
}

// ---------------------------------------------------------------------------
// Property tests.
// ---------------------------------------------------------------------------

/// Any f64: ordinary, tiny, huge, infinite, NaN, signed zeros.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0f64..10.0,
        2 => any::<f64>(),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
            1e-300,
        ]),
    ]
}

/// An upper bound: finite and positive, or none (infinite).
fn any_upper() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 1e-6f64..100.0,
        1 => Just(f64::INFINITY),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN_POSITIVE),
    ]
}

/// A measured value for the atomicity property: mostly ordinary, sometimes
/// non-finite or huge.
fn measured() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => -3.0f64..3.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => prop::sample::select(vec![1e308, -1e308, f64::MAX, -f64::MAX, 1e160, -1e160]),
    ]
}

/// A constraint's values: usually the one declared entry, sometimes none or two.
fn values() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        10 => prop::collection::vec(measured(), 1),
        1 => prop::collection::vec(measured(), 0..=2),
    ]
}

/// `(loss, x1 values, sum values)`.
type Attempt = (f64, Vec<f64>, Vec<f64>);

fn attempt() -> impl Strategy<Value = Attempt> {
    (prop_oneof![8 => -3.0f64..3.0, 1 => measured()], values(), values())
}

fn moderate(values: &[f64]) -> bool {
    values.iter().all(|v| v.abs() <= 3.0)
}

fn valid(values: &[f64]) -> bool {
    values.len() == 1 && values[0].is_finite()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn the_projection_lands_in_the_bounds_is_idempotent_and_keeps_what_is_inside(
        inequality in any::<bool>(),
        upper in any_upper(),
        value in any_value(),
        other in any_value(),
    ) {
        let bounds = Bounds::new(inequality).with_upper(upper);
        let lower = if inequality { 0.0 } else { -upper };
        let p = bounds.project(value);
        if value.is_nan() {
            prop_assert!(p.is_nan());
        } else {
            prop_assert!(lower <= p && p <= upper, "{} -> {}", value, p);
            prop_assert_eq!(bounds.project(p).to_bits(), p.to_bits());
            if lower <= value && value <= upper {
                prop_assert!(p == value, "{} -> {}", value, p);
            } else if value > upper {
                prop_assert_eq!(p, upper);
            } else {
                prop_assert_eq!(p, lower);
            }
            if inequality {
                prop_assert!(p.is_sign_positive(), "{} -> {}", value, p);
            }
            // Monotone.
            if !other.is_nan() && value <= other {
                prop_assert!(p <= bounds.project(other));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn a_step_either_commits_a_valid_state_or_changes_nothing(
        index in 0..cases().len(),
        scheme in prop::sample::select(UpdateScheme::ALL.to_vec()),
        warm in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 0..3),
        attempts in prop::collection::vec((attempt(), attempt()), 1..4),
    ) {
        let case = &cases()[index];
        let label = format!("{} / {}", case.name, scheme.name());
        let mut opt = build(case, scheme);
        for (a, b) in &warm {
            Replay::new(measurements(0.0, vec![*a], vec![*b])).step(&mut opt).unwrap();
        }
        // Once a huge value was taken, an overflow may follow any step.
        let mut huge = false;
        for (first, second) in &attempts {
            // The second measurement's loss is not what this property is
            // about: keep it finite.
            let second = (0.0, second.1.clone(), second.2.clone());
            let mut replay = Replay::new(measurements(first.0, first.1.clone(), first.2.clone()))
                .with_second(measurements(second.0, second.1.clone(), second.2.clone()));
            let mut measured = vec![first];
            if scheme.remeasures() {
                measured.push(&second);
            }
            let invalid = !first.0.is_finite() || measured.iter().any(|m| !valid(&m.1) || !valid(&m.2));
            let calm = measured.iter().all(|m| moderate(&m.1) && moderate(&m.2));
            let (before, steps) = (opt.state(), opt.steps());
            match replay.step(&mut opt) {
                Err(e) => {
                    prop_assert!(opt.state() == before, "{}: {}", label, e);
                    prop_assert_eq!(opt.steps(), steps);
                    match e {
                        FeasibleError::NonFiniteValue { .. }
                        | FeasibleError::NonFiniteLoss { .. }
                        | FeasibleError::SizeMismatch { .. } => prop_assert!(invalid, "{}: {}", label, e),
                        // Extragradient's lookahead may overflow before the
                        // second measurement is read.
                        FeasibleError::NonFiniteDualUpdate { .. } => {
                            prop_assert!(huge || !calm, "{}: {}", label, e)
                        }
                        other => prop_assert!(false, "{}: unexpected {}", label, other),
                    }
                }
                Ok(report) => {
                    prop_assert!(!invalid, "{}: an invalid measurement was taken", label);
                    prop_assert_eq!(opt.steps(), steps + 1);
                    assert_invariants(&opt, &report, case.bound, &label);
                    huge |= !calm;
                }
            }
        }
    }
}
