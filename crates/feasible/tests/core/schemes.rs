//! The Lagrangian and the fixed penalty under every scheme: hand-computed
//! steps, convergence to closed-form KKT points, every error path, observers,
//! exact restore.

use std::convert::Infallible;

use feasible::{
    ConstrainedOptimizer, Constraint, DualState, FeasibleError, Formulation, GradientAscent, History, JsonLinesWriter,
    Measurement, Measurements, Observer, ObserverError, PrimalProblem, PrimalWeights, StepReport, UpdateScheme,
};

use crate::common::{LinearlyConstrainedQuadratic, close, run};

pub fn lagrangian(dual_lr: f64) -> Formulation {
    Formulation::lagrangian(GradientAscent::new(dual_lr)).into()
}

// ---------------------------------------------------------------------------
// Hand-computed steps. Problem: min (x - 2)² s.t. x <= 1, x0 = 3, λ0 = 0,
// primal step 0.1, dual step 0.5. g(x) = x - 1, ∇f = 2(x - 2).
// ---------------------------------------------------------------------------

pub fn one_dimensional(
    scheme: UpdateScheme,
    formulation: impl Into<Formulation>,
) -> (ConstrainedOptimizer, LinearlyConstrainedQuadratic) {
    let optimizer = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(formulation))
        .scheme(scheme)
        .build()
        .unwrap();
    let problem = LinearlyConstrainedQuadratic::new(&[2.0], &[("x", &[&[1.0]])], 0.1).bind(&optimizer);
    (optimizer, problem)
}

#[test]
fn simultaneous_first_two_steps_match_hand_computation() {
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Simultaneous, lagrangian(0.5));
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 2);
    // Step 1: x1 = 3 - 0.1 (2·1 + 0) = 2.8 ; λ1 = 0 + 0.5·2 = 1.0
    assert!(close(
        reports[0].constraints[0].multipliers.as_ref().unwrap()[0],
        1.0,
        1e-15
    ));
    assert_eq!(reports[0].constraints[0].primal_weight, vec![0.0]);
    assert!(close(reports[0].lagrangian, 1.0, 1e-15)); // f(3) + λ0 g(3)
    // Step 2: g1 = 1.8 ; x2 = 2.8 - 0.1 (2·0.8 + 1.0) = 2.54 ; λ2 = 1.0 + 0.5·1.8 = 1.9
    assert!(close(x[0], 2.54, 1e-14), "{x:?}");
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 1.9, 1e-14));
    assert!(close(reports[1].constraints[0].violation[0], 1.8, 1e-14));
    assert!(close(reports[1].lagrangian, 0.64 + 1.0 * 1.8, 1e-14));
    assert_eq!(reports[1].step, 2);
    assert!(!reports[1].feasible);
}

#[test]
fn alternating_dual_primal_first_two_steps_match_hand_computation() {
    let (mut opt, mut p) = one_dimensional(UpdateScheme::AlternatingDualPrimal, lagrangian(0.5));
    let (x1, r1) = run(&mut opt, &mut p, &[3.0], 1);
    // λ1 = 0.5·2 = 1.0 first, then x1 = 3 - 0.1 (2 + 1.0) = 2.7
    assert!(close(x1[0], 2.7, 1e-15));
    assert_eq!(r1[0].constraints[0].primal_weight, vec![1.0]);
    assert!(close(r1[0].lagrangian, 1.0 + 1.0 * 2.0, 1e-15)); // f(3) + λ1 g(3)
    // g1 = 1.7 ; λ2 = 1.0 + 0.85 = 1.85 ; x2 = 2.7 - 0.1 (1.4 + 1.85) = 2.375
    let (x2, _) = run(&mut opt, &mut p, &x1, 1);
    assert!(close(x2[0], 2.375, 1e-14), "{x2:?}");
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 1.85, 1e-14));
}

#[test]
fn alternating_primal_dual_first_two_steps_match_hand_computation() {
    let (mut opt, mut p) = one_dimensional(UpdateScheme::AlternatingPrimalDual, lagrangian(0.5));
    let (x1, r1) = run(&mut opt, &mut p, &[3.0], 1);
    // x1 = 3 - 0.1·2 = 2.8 ; re-measured g(x1) = 1.8 ; λ1 = 0.9
    assert!(close(x1[0], 2.8, 1e-15));
    assert!(close(r1[0].constraints[0].violation[0], 1.8, 1e-15));
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 0.9, 1e-15));
    // x2 = 2.8 - 0.1 (1.6 + 0.9) = 2.55 ; g(x2) = 1.55 ; λ2 = 0.9 + 0.775 = 1.675
    let (x2, _) = run(&mut opt, &mut p, &x1, 1);
    assert!(close(x2[0], 2.55, 1e-14));
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 1.675, 1e-14));
}

#[test]
fn extragradient_first_step_matches_hand_computation() {
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Extragradient, lagrangian(0.5));
    let (x1, r1) = run(&mut opt, &mut p, &[3.0], 1);
    // Lookahead: x~ = 3 - 0.1·2 = 2.8, λ~ = 0.5·2 = 1.0. At x~: g = 1.8.
    // Update from x0 with the lookahead's gradient: x1 = 3 - 0.1 (2·0.8 + 1.0) = 2.74;
    // λ1 = 0 + 0.5·1.8 = 0.9.
    assert!(close(x1[0], 2.74, 1e-15), "{x1:?}");
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 0.9, 1e-15));
    assert_eq!(r1[0].constraints[0].primal_weight, vec![1.0]);
    assert!(close(r1[0].constraints[0].violation[0], 1.8, 1e-15));
}

#[test]
fn fixed_penalty_steps_with_a_constant_weight_and_no_multiplier() {
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Simultaneous, Formulation::fixed_penalty(1.5));
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 2);
    // x1 = 3 - 0.1 (2 + 1.5) = 2.65 ; x2 = 2.65 - 0.1 (1.3 + 1.5) = 2.37
    assert!(close(x[0], 2.37, 1e-14));
    assert_eq!(reports[0].constraints[0].multipliers, None);
    assert!(close(reports[0].lagrangian, 1.0 + 1.5 * 2.0, 1e-15));
    assert_eq!(opt.multipliers("x").unwrap(), None);
}

#[test]
fn at_least_constraint_descends_the_right_way_and_the_strict_value_drives_the_multiplier() {
    // min x² s.t. x >= 0.7, λ0 = 2: the value coefficient is -λ, so the step
    // is x1 = 0.5 - 0.1 (2·0.5 - 2) = 0.6. The strict value 0.4 (not the
    // differentiable 0.5) drives λ1 = 2 + 0.5 (0.7 - 0.4) = 2.15.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least("rate", 0.7)
                .with_formulation(Formulation::lagrangian_from(GradientAscent::new(0.5), 2.0)),
        )
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap();
    let mut p = LinearlyConstrainedQuadratic::new(&[0.0], &[("rate", &[&[1.0]])], 0.1).bind(&opt);
    p.strict = Some(|v| v - 0.1);
    let (x, r) = run(&mut opt, &mut p, &[0.5], 1);
    assert!(close(x[0], 0.6, 1e-15));
    assert!(close(opt.multipliers("rate").unwrap().unwrap()[0], 2.15, 1e-15));
    let c = &r[0].constraints[0];
    assert_eq!(c.value, vec![0.5]);
    assert!(close(c.strict_value.as_ref().unwrap()[0], 0.4, 1e-15));
    assert!(close(c.violation[0], 0.3, 1e-15));
}

#[test]
fn equality_multipliers_go_negative_without_projection() {
    // min x² s.t. x == 1, x0 = 0: h = -1 twice ; μ1 = -0.5, μ2 = -1.0 ;
    // x1 = 0, x2 = 0 - 0.1 (0 + μ1) = 0.05.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::equal_to("x", 1.0).with_formulation(lagrangian(0.5)))
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap();
    let mut p = LinearlyConstrainedQuadratic::new(&[0.0], &[("x", &[&[1.0]])], 0.1).bind(&opt);
    let (x, _) = run(&mut opt, &mut p, &[0.0], 2);
    assert!(close(x[0], 0.05, 1e-15));
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], -1.0, 1e-15));
}

#[test]
fn inequality_multipliers_are_projected_onto_nonnegative_values() {
    // Start feasible with λ0 = 0.3: g = 1 - 1.0... x0 = 0 < 1, g = -1,
    // λ1 = max(0, 0.3 - 0.5) = 0.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("x", 1.0).with_formulation(Formulation::lagrangian_from(GradientAscent::new(0.5), 0.3)),
        )
        .build()
        .unwrap();
    let mut p = LinearlyConstrainedQuadratic::new(&[0.0], &[("x", &[&[1.0]])], 0.1).bind(&opt);
    run(&mut opt, &mut p, &[0.0], 1);
    assert_eq!(opt.multipliers("x").unwrap().unwrap(), &[0.0]);
}

#[test]
fn contribution_flags_keep_a_constraint_out_of_either_update() {
    struct Flagged(bool, bool);
    impl PrimalProblem for Flagged {
        type Point = f64;
        type Error = Infallible;
        fn measure(&mut self, x: &f64) -> Result<Measurements, Infallible> {
            let mut m = Measurement::scalar(*x);
            if !self.0 {
                m = m.without_primal_update();
            }
            if !self.1 {
                m = m.without_dual_update();
            }
            Ok(Measurements::new(0.0).with("x", m))
        }
        fn descend(&mut self, x: &f64, _: &f64, w: &PrimalWeights) -> Result<f64, Infallible> {
            Ok(x - w.violation_weights(w.ids().next().unwrap()).unwrap()[0])
        }
    }
    let build = || {
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("x", 1.0)
                    .with_formulation(Formulation::lagrangian_from(GradientAscent::new(1.0), 0.5)),
            )
            .scheme(UpdateScheme::Simultaneous)
            .build()
            .unwrap()
    };
    let mut opt = build();
    let (x, r) = opt.step(&mut Flagged(false, true), &3.0).unwrap();
    assert_eq!((x, r.constraints[0].primal_weight[0]), (3.0, 0.0));
    assert_eq!(opt.multipliers("x").unwrap().unwrap(), &[2.5]);
    let mut opt = build();
    let (x, _) = opt.step(&mut Flagged(true, false), &3.0).unwrap();
    assert_eq!(x, 2.5);
    assert_eq!(opt.multipliers("x").unwrap().unwrap(), &[0.5]);
}

// ---------------------------------------------------------------------------
// Convergence to closed-form KKT points, for every scheme.
// ---------------------------------------------------------------------------

pub struct Case {
    pub name: &'static str,
    pub anchor: &'static [f64],
    pub constraints: Vec<(Constraint, &'static [&'static [f64]])>,
    pub x_star: &'static [f64],
    pub multipliers: &'static [(&'static str, &'static [f64])],
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            // min (x1-2)² + (x2-2)² s.t. x1 + x2 <= 2: x* = (1, 1), λ* = 2
            name: "halfspace",
            anchor: &[2.0, 2.0],
            constraints: vec![(Constraint::at_most("sum", 2.0), &[&[1.0, 1.0]])],
            x_star: &[1.0, 1.0],
            multipliers: &[("sum", &[2.0])],
        },
        Case {
            // min x1² + x2² s.t. x1 + x2 == 1: x* = (.5, .5), μ* = -1
            name: "equality",
            anchor: &[0.0, 0.0],
            constraints: vec![(Constraint::equal_to("sum", 1.0), &[&[1.0, 1.0]])],
            x_star: &[0.5, 0.5],
            multipliers: &[("sum", &[-1.0])],
        },
        Case {
            // min (x1-2)² + (x2-1)² s.t. x1 <= 1 (active, λ = 2), x2 <= 3 (inactive, λ = 0)
            name: "active and inactive",
            anchor: &[2.0, 1.0],
            constraints: vec![
                (Constraint::at_most("x1", 1.0), &[&[1.0, 0.0]]),
                (Constraint::at_most("x2", 3.0), &[&[0.0, 1.0]]),
            ],
            x_star: &[1.0, 1.0],
            multipliers: &[("x1", &[2.0]), ("x2", &[0.0])],
        },
        Case {
            // min x1² + x2² s.t. x1 >= 1: x* = (1, 0), λ* = 2
            name: "lower bound",
            anchor: &[0.0, 0.0],
            constraints: vec![(Constraint::at_least("x1", 1.0), &[&[1.0, 0.0]])],
            x_star: &[1.0, 0.0],
            multipliers: &[("x1", &[2.0])],
        },
        Case {
            // min (x1-2)² + (x2-0.5)² s.t. x <= 1 entry-wise: x* = (1, .5), λ* = (2, 0)
            name: "two entries",
            anchor: &[2.0, 0.5],
            constraints: vec![(
                Constraint::at_most("x", 1.0).with_entries(2),
                &[&[1.0, 0.0], &[0.0, 1.0]],
            )],
            x_star: &[1.0, 0.5],
            multipliers: &[("x", &[2.0, 0.0])],
        },
    ]
}

#[test]
fn every_scheme_converges_to_the_kkt_point_of_small_convex_problems() {
    for scheme in [
        UpdateScheme::Simultaneous,
        UpdateScheme::AlternatingDualPrimal,
        UpdateScheme::AlternatingPrimalDual,
    ] {
        for case in cases() {
            let mut builder = ConstrainedOptimizer::builder().scheme(scheme);
            for (c, _) in &case.constraints {
                builder = builder.constraint(c.clone().with_formulation(lagrangian(0.2)));
            }
            let mut opt = builder.build().unwrap();
            let rows: Vec<(&str, &[&[f64]])> = case.constraints.iter().map(|(c, r)| (c.name(), *r)).collect();
            let mut p = LinearlyConstrainedQuadratic::new(case.anchor, &rows, 0.05).bind(&opt);
            let (x, reports) = run(&mut opt, &mut p, &[3.0, -2.0], 4000);
            for (xi, si) in x.iter().zip(case.x_star) {
                assert!(close(*xi, *si, 1e-8), "{} / {}: x = {x:?}", scheme.name(), case.name);
            }
            for (name, expected) in case.multipliers {
                let got = opt.multipliers(name).unwrap().unwrap();
                for (g, e) in got.iter().zip(*expected) {
                    assert!(
                        close(*g, *e, 1e-8),
                        "{} / {}: λ[{name}] = {got:?}",
                        scheme.name(),
                        case.name
                    );
                }
            }
            assert!(reports.last().unwrap().feasible, "{} / {}", scheme.name(), case.name);
        }
    }
}

#[test]
fn a_fixed_penalty_converges_to_the_penalized_minimizer_not_the_constrained_one() {
    // min (x-2)² + c (x - 1) has its minimizer at x = 2 - c/2: with c = 1
    // it is 1.5, infeasible for x <= 1; the Lagrangian would give 1.
    let (mut opt, mut p) = one_dimensional(UpdateScheme::Simultaneous, Formulation::fixed_penalty(1.0));
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 2000);
    assert!(close(x[0], 1.5, 1e-10));
    assert!(!reports.last().unwrap().feasible);
}

// ---------------------------------------------------------------------------
// Errors: each names what was wrong, and a failed step changes nothing.
// ---------------------------------------------------------------------------

struct Scripted(Measurements);
impl PrimalProblem for Scripted {
    type Point = f64;
    type Error = Infallible;
    fn measure(&mut self, _: &f64) -> Result<Measurements, Infallible> {
        Ok(self.0.clone())
    }
    fn descend(&mut self, x: &f64, _: &f64, _: &PrimalWeights) -> Result<f64, Infallible> {
        Ok(x + 1.0)
    }
}

fn two_constraints() -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(Constraint::at_least("rate", 0.7).with_formulation(lagrangian(0.1)))
        .constraint(
            Constraint::at_most("group_gap", 0.05)
                .with_entries(3)
                .with_formulation(lagrangian(0.1)),
        )
        .build()
        .unwrap()
}

fn valid() -> Measurements {
    Measurements::new(1.0)
        .with("rate", Measurement::scalar(0.5))
        .with("group_gap", Measurement::entries(vec![0.1, 0.0, 0.2]))
}

fn step_error(measurements: Measurements) -> String {
    let mut opt = two_constraints();
    let mut p = Scripted(valid());
    opt.step(&mut p, &0.0).unwrap();
    let before = opt.state();
    let err = opt.step(&mut Scripted(measurements), &0.0).unwrap_err();
    assert_eq!(opt.state(), before, "a failed step must not change the dual state");
    assert_eq!(opt.steps(), 1);
    err.to_string()
}

#[test]
fn invalid_measurements_are_refused_with_what_was_wrong() {
    let nan = step_error(
        Measurements::new(1.0)
            .with("rate", Measurement::scalar(f64::NAN))
            .with("group_gap", Measurement::entries(vec![0.0; 3])),
    );
    assert!(
        nan.contains("`rate`") && nan.contains("NaN") && nan.contains("differentiable"),
        "{nan}"
    );

    let inf = step_error(Measurements::new(1.0).with("rate", Measurement::scalar(0.5)).with(
        "group_gap",
        Measurement::entries(vec![0.0; 3]).with_strict(vec![0.0, f64::INFINITY, 0.0]),
    ));
    assert!(
        inf.contains("`group_gap`") && inf.contains("entry 1") && inf.contains("strict"),
        "{inf}"
    );

    let loss = step_error(Measurements::new(f64::NEG_INFINITY).with("rate", Measurement::scalar(0.5)));
    assert!(loss.contains("loss") && loss.contains("-inf"), "{loss}");

    let size = step_error(
        Measurements::new(1.0)
            .with("rate", Measurement::scalar(0.5))
            .with("group_gap", Measurement::entries(vec![0.0; 2])),
    );
    assert!(
        size.contains("`group_gap`") && size.contains("2 entries") && size.contains("declares 3"),
        "{size}"
    );

    let strict_size = step_error(
        Measurements::new(1.0)
            .with("rate", Measurement::scalar(0.5).with_strict(vec![0.1, 0.2]))
            .with("group_gap", Measurement::entries(vec![0.0; 3])),
    );
    assert!(strict_size.contains("strict value has 2 entries"), "{strict_size}");

    let unknown = step_error(valid().with("fairness", Measurement::scalar(0.0)));
    assert!(
        unknown.contains("unknown constraint `fairness`") && unknown.contains("rate, group_gap"),
        "{unknown}"
    );

    let missing = step_error(Measurements::new(1.0).with("rate", Measurement::scalar(0.5)));
    assert!(missing.contains("`group_gap` was not measured"), "{missing}");

    let twice = step_error(valid().with("rate", Measurement::scalar(0.5)));
    assert!(twice.contains("`rate` was measured twice"), "{twice}");
}

#[test]
fn invalid_declarations_are_refused_when_built() {
    let err = |c: Constraint| {
        ConstrainedOptimizer::builder()
            .constraint(c)
            .build()
            .unwrap_err()
            .to_string()
    };
    let neg_lr = err(Constraint::at_most("density", 0.5).with_formulation(lagrangian(-0.01)));
    assert!(
        neg_lr.contains("`density`") && neg_lr.contains("dual learning rate = -0.01"),
        "{neg_lr}"
    );
    let neg_c = err(Constraint::at_most("density", 0.5).with_formulation(Formulation::fixed_penalty(-1.0)));
    assert!(neg_c.contains("penalty coefficient = -1"), "{neg_c}");
    let neg_init = err(Constraint::at_most("density", 0.5)
        .with_formulation(Formulation::lagrangian_from(GradientAscent::new(0.1), -1.0)));
    assert!(neg_init.contains("initial multiplier = -1"), "{neg_init}");
    // A negative initial multiplier is fine for an equality.
    assert!(
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::equal_to("norm", 1.0)
                    .with_formulation(Formulation::lagrangian_from(GradientAscent::new(0.1), -1.0))
            )
            .build()
            .is_ok()
    );
    assert!(err(Constraint::at_most("density", f64::NAN)).contains("target = NaN is invalid: must be a finite number"));
    assert!(err(Constraint::at_most("density", 0.5).with_entries(0)).contains("0 entries"));
    assert!(err(Constraint::at_most(" ", 0.5)).contains("name is empty"));
    assert!(err(Constraint::at_most("d", 0.5).with_tolerance(-1.0)).contains("tolerance = -1"));
    let dup = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("density", 0.5))
        .constraint(Constraint::at_least("density", 0.1))
        .build()
        .unwrap_err();
    assert!(matches!(dup, FeasibleError::DuplicateConstraint { ref name } if name == "density"));
    let unknown = two_constraints().multipliers("dens1ty").unwrap_err().to_string();
    assert!(unknown.contains("unknown constraint `dens1ty`"), "{unknown}");
}

#[derive(Debug)]
struct ModelBroke;

impl std::fmt::Display for ModelBroke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model produced no gradient")
    }
}
impl std::error::Error for ModelBroke {}

#[test]
fn a_failing_primal_problem_or_re_measurement_leaves_the_dual_state_as_it_was() {
    struct FailsSecondMeasure(usize);
    impl PrimalProblem for FailsSecondMeasure {
        type Point = f64;
        type Error = ModelBroke;
        fn measure(&mut self, x: &f64) -> Result<Measurements, ModelBroke> {
            self.0 += 1;
            if self.0 == 2 {
                return Ok(Measurements::new(0.0).with("x", Measurement::scalar(f64::NAN)));
            }
            Ok(Measurements::new(0.0).with("x", Measurement::scalar(*x)))
        }
        fn descend(&mut self, x: &f64, _: &f64, _: &PrimalWeights) -> Result<f64, ModelBroke> {
            if *x < 0.0 { Err(ModelBroke) } else { Ok(x + 1.0) }
        }
    }
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(lagrangian(0.5)))
        .scheme(UpdateScheme::AlternatingPrimalDual)
        .build()
        .unwrap();
    let before = opt.state();
    let err = opt.step(&mut FailsSecondMeasure(0), &3.0).unwrap_err().to_string();
    assert!(err.contains("`x`") && err.contains("NaN"), "{err}");
    assert_eq!(opt.state(), before);
    let err = opt.step(&mut FailsSecondMeasure(5), &-1.0).unwrap_err();
    assert!(matches!(err, FeasibleError::Primal { .. }));
    assert!(err.to_string().contains("the model produced no gradient"));
    assert_eq!(opt.state(), before);
}

// ---------------------------------------------------------------------------
// Observers.
// ---------------------------------------------------------------------------

#[test]
fn history_and_json_lines_receive_every_report() {
    let history = History::new();
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(lagrangian(0.5)))
        .scheme(UpdateScheme::Simultaneous)
        .observer(history.clone())
        .observer(JsonLinesWriter::new(Shared(buffer.clone())))
        .build()
        .unwrap();
    let mut p = LinearlyConstrainedQuadratic::new(&[2.0], &[("x", &[&[1.0]])], 0.1).bind(&opt);
    let (_, reports) = run(&mut opt, &mut p, &[3.0], 3);
    opt.finish().unwrap();
    assert_eq!(history.reports(), reports);
    let trajectory = history.multiplier_trajectory("x", 0);
    assert_eq!(trajectory.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(close(trajectory[1].1, 1.9, 1e-14));
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    let parsed: Vec<StepReport> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed, reports);
}

#[test]
fn observers_see_only_committed_steps_and_a_failing_one_is_detached() {
    struct Full;
    impl Observer for Full {
        fn name(&self) -> &str {
            "disk"
        }
        fn on_step(&mut self, _: &StepReport) -> Result<(), ObserverError> {
            Err("no space left".into())
        }
    }
    let before = History::new();
    let after = History::new();
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0))
        .observer(before.clone())
        .observer(Full)
        .observer(after.clone())
        .build()
        .unwrap();
    // A refused step (a NaN) reaches no observer.
    let refused = opt.step(
        &mut Scripted(Measurements::new(0.0).with("x", Measurement::scalar(f64::NAN))),
        &0.0,
    );
    assert!(refused.is_err());
    assert!(before.is_empty() && after.is_empty());
    // A committed step reaches every observer; the failing one is detached
    // and its error kept, the step stays committed.
    for _ in 0..2 {
        opt.step(
            &mut Scripted(Measurements::new(0.0).with("x", Measurement::scalar(5.0))),
            &0.0,
        )
        .unwrap();
    }
    assert_eq!(opt.steps(), 2);
    assert_eq!((before.len(), after.len()), (2, 2));
    let err = opt.observer_error().unwrap().to_string();
    assert!(
        err.contains("observer `disk` failed") && err.contains("no space left"),
        "{err}"
    );
    let err = opt.finish().unwrap_err().to_string();
    assert!(err.contains("no space left"), "{err}");
}

// ---------------------------------------------------------------------------
// The dual state serializes and restores exactly.
// ---------------------------------------------------------------------------

#[test]
fn save_restore_continues_bit_for_bit() {
    let build = || {
        ConstrainedOptimizer::builder()
            .constraint(Constraint::at_most("x1", 1.0).with_formulation(lagrangian(0.37)))
            .constraint(Constraint::equal_to("sum", 0.3).with_formulation(lagrangian(0.11)))
            .scheme(UpdateScheme::Simultaneous)
            .build()
            .unwrap()
    };
    let rows: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])];
    let mut straight = build();
    let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], rows, 0.03).bind(&straight);
    let (x_straight, _) = run(&mut straight, &mut p, &[0.123, -0.77], 200);

    let mut first = build();
    p = p.bind(&first);
    let (x_half, _) = run(&mut first, &mut p, &[0.123, -0.77], 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dual.ckpt");
    first.state().save(&path).unwrap();
    let mut resumed = build();
    resumed.restore(DualState::load(&path).unwrap()).unwrap();
    assert_eq!(resumed.steps(), 100);
    p = p.bind(&resumed);
    let (x_resumed, _) = run(&mut resumed, &mut p, &x_half, 100);

    assert_eq!(
        x_resumed.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        x_straight.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(resumed.state(), straight.state());
    for name in ["x1", "sum"] {
        let a = resumed.multipliers(name).unwrap().unwrap()[0];
        let b = straight.multipliers(name).unwrap().unwrap()[0];
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

#[test]
fn restore_refuses_a_state_of_another_problem_and_changes_nothing() {
    let mut opt = two_constraints();
    let before = opt.state();
    let other = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_least("rate", 0.7).with_formulation(Formulation::fixed_penalty(1.0)))
        .constraint(Constraint::at_most("group_gap", 0.05).with_entries(3))
        .build()
        .unwrap();
    let err = opt.restore(other.state()).unwrap_err().to_string();
    assert!(err.contains("`rate`") && err.contains("lagrangian"), "{err}");
    let mut renamed = before.clone();
    renamed.constraints[1].name = "gap".into();
    assert!(opt.restore(renamed).unwrap_err().to_string().contains("`gap`"));
    let mut negative = before.clone();
    if let Some(multipliers) = negative.constraints[0].state.multipliers_mut() {
        multipliers[0] = -0.5;
    }
    assert!(
        opt.restore(negative)
            .unwrap_err()
            .to_string()
            .contains("multiplier entry 0 is -0.5")
    );
    let mut fewer = before.clone();
    fewer.constraints.pop();
    assert!(opt.restore(fewer).unwrap_err().to_string().contains("1 constraints"));
    assert_eq!(opt.state(), before);
}

#[test]
fn a_corrupted_checkpoint_is_refused_and_the_previous_one_survives_a_failed_save() {
    let opt = two_constraints();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dual.ckpt");
    opt.state().save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&path, &bad).unwrap();
    let err = DualState::load(&path).unwrap_err().to_string();
    assert!(err.contains("dual.ckpt") && err.contains("corrupted"), "{err}");
    std::fs::write(&path, &good[..good.len() / 3]).unwrap();
    assert!(DualState::load(&path).unwrap_err().to_string().contains("truncated"));
    let missing = DualState::load(dir.path().join("nope.ckpt")).unwrap_err().to_string();
    assert!(missing.contains("nope.ckpt"), "{missing}");
}
