//! The Lagrangian's options and the per-entry settings against hand
//! computations: the multiplier upper bound, dual weight decay, PID (and
//! its anti-windup), warm-up, smoothed violations, per-entry targets,
//! initial multipliers and penalty coefficients, and the typed errors of
//! invalid settings.

use feasible::dual::{NuPiStart, PerEntry};
use feasible::formulation::FormulationState;
use feasible::penalty::{Granularity, Penalty, PenaltyGrowth};
use feasible::{
    ConstrainedOptimizer, Constraint, FeasibleError, Formulation, GradientAscent, Measurement, Measurements, NuPi, Pid,
    StepReport, UpdateScheme,
};

use crate::common::{LinearlyConstrainedQuadratic, Replay, bits, close, run, step_on};

fn optimizer(constraint: Constraint, formulation: impl Into<Formulation>) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(constraint.with_formulation(formulation))
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap()
}

fn multiplier(optimizer: &ConstrainedOptimizer, name: &str) -> f64 {
    optimizer.multipliers(name).unwrap().unwrap()[0]
}

fn optimizer_state(optimizer: &ConstrainedOptimizer, name: &str, entry: usize) -> Vec<f64> {
    optimizer
        .constraint_state(name)
        .unwrap()
        .dual_optimizer()
        .unwrap()
        .entries
        .get(entry)
        .unwrap()
        .to_vec()
}

fn entries_step(optimizer: &mut ConstrainedOptimizer, name: &str, values: &[f64]) -> StepReport {
    Replay::new(Measurements::new(0.0).with(name, Measurement::entries(values.to_vec())))
        .step(optimizer)
        .unwrap()
}

// ---------------------------------------------------------------------------
// Upper bound.
// ---------------------------------------------------------------------------

#[test]
fn the_upper_bound_clamps_after_the_projection() {
    // Gradient ascent with step 1, λ_max = 1.5.
    let bounded = || Formulation::lagrangian(GradientAscent::new(1.0)).with_upper_bound(1.5);
    let mut inequality = optimizer(Constraint::at_most("g", 0.0), bounded());
    for (value, expected) in [(2.0, 1.5), (-0.25, 1.25), (-5.0, 0.0), (100.0, 1.5)] {
        step_on(&mut inequality, "g", value).unwrap();
        assert_eq!(multiplier(&inequality, "g"), expected, "after g = {value}");
    }
    // An equality keeps |μ| <= λ_max on both sides.
    let mut equality = optimizer(Constraint::equal_to("h", 0.0), bounded());
    for (value, expected) in [(-3.0, -1.5), (5.0, 1.5), (-1.0, 0.5), (-7.0, -1.5)] {
        step_on(&mut equality, "h", value).unwrap();
        assert_eq!(multiplier(&equality, "h"), expected, "after h = {value}");
    }
    // The augmented Lagrangian's classical step λ ← [λ + c g]_+ = 4 is clamped
    // too, and so is its step by a dual optimizer; its primal weight
    // [λ + c g]_+ is not a multiplier and is not clamped.
    let mut classical = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::augmented_lagrangian(2.0).with_upper_bound(1.5),
    );
    step_on(&mut classical, "g", 2.0).unwrap();
    assert_eq!(multiplier(&classical, "g"), 1.5);
    let report = step_on(&mut classical, "g", 2.0).unwrap();
    assert_eq!(report.constraints[0].primal_weight, vec![1.5 + 4.0]);
    assert_eq!(multiplier(&classical, "g"), 1.5);
    let mut with_optimizer = optimizer(
        Constraint::equal_to("h", 0.0),
        Formulation::augmented_lagrangian(2.0)
            .with_dual_optimizer(GradientAscent::new(1.0))
            .with_upper_bound(1.5),
    );
    step_on(&mut with_optimizer, "h", -3.0).unwrap();
    assert_eq!(multiplier(&with_optimizer, "h"), -1.5);
    // An infinite bound is no bound.
    let mut unbounded = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian(GradientAscent::new(1.0)).with_upper_bound(f64::INFINITY),
    );
    step_on(&mut unbounded, "g", 1e300).unwrap();
    assert_eq!(multiplier(&unbounded, "g"), 1e300);
}

// ---------------------------------------------------------------------------
// Dual weight decay.
// ---------------------------------------------------------------------------

#[test]
fn dual_weight_decay_first_steps_match_hand_computation() {
    // λ ← [λ + η (g − γ λ)]_+ with η = 0.5, γ = 0.5, λ0 = 1:
    // g = 2:  1 + 0.5 (2 - 0.5)         = 1.75
    // g = 2:  1.75 + 0.5 (2 - 0.875)    = 2.3125
    // g = -1: 2.3125 + 0.5 (-1 - 1.15625) = 1.234375
    // g = -9: [1.234375 + 0.5 (-9 - 0.6171875)]_+ = 0
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian_from(GradientAscent::new(0.5), 1.0).with_dual_decay(0.5),
    );
    let first = step_on(&mut opt, "g", 2.0).unwrap();
    // The reported Lagrangian includes the slack's cost: λ0 g - γ λ0²/2.
    assert_eq!(first.lagrangian, 2.0 - 0.25);
    assert_eq!(multiplier(&opt, "g"), 1.75);
    for (value, expected) in [(2.0, 2.3125), (-1.0, 1.234375), (-9.0, 0.0)] {
        step_on(&mut opt, "g", value).unwrap();
        assert_eq!(multiplier(&opt, "g"), expected, "after g = {value}");
    }

    // With nuPI (η = 0.5, K_p = K_i = 1, from zeros) the optimizer ascends
    // the decayed gradient e = g - γλ:
    // e0 = 2 - 0.5 = 1.5:   ξ = 1.5,  step 0.5 (1.5 + 1.5) = 1.5,    λ = 2.5
    // e1 = 2 - 1.25 = 0.75: ξ = 0.75, step 0.5 (0.75 - 0.75) = 0,    λ = 2.5
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian_from(NuPi::new(0.5, 1.0, 1.0), 1.0).with_dual_decay(0.5),
    );
    step_on(&mut opt, "g", 2.0).unwrap();
    assert_eq!(multiplier(&opt, "g"), 2.5);
    step_on(&mut opt, "g", 2.0).unwrap();
    assert_eq!(multiplier(&opt, "g"), 2.5);
    assert_eq!(optimizer_state(&opt, "g", 0), [0.75, 1.0]);
}

#[test]
fn dual_weight_decay_settles_at_the_violation_over_gamma() {
    // A constant violation 0.6 with γ = 0.3: λ ← 0.85 λ + 0.3, fixed point 2.
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian(GradientAscent::new(0.5)).with_dual_decay(0.3),
    );
    for _ in 0..400 {
        step_on(&mut opt, "g", 0.6).unwrap();
    }
    assert!(close(multiplier(&opt, "g"), 2.0, 1e-12), "{}", multiplier(&opt, "g"));
}

#[test]
fn dual_weight_decay_follows_the_slack_of_cost_one_over_gamma() {
    // γ λ and λ / (1/γ) round differently, so the trajectories agree to
    // round-off, not bit for bit.
    let gamma = 0.3;
    for scheme in UpdateScheme::ALL {
        let build = |decay: bool| {
            let formulation = |lr: f64| {
                let f = Formulation::lagrangian(GradientAscent::new(lr));
                if decay {
                    f.with_dual_decay(gamma)
                } else {
                    f.with_slack(1.0 / gamma)
                }
            };
            ConstrainedOptimizer::builder()
                .constraint(Constraint::at_most("x1", 1.0).with_formulation(formulation(0.2)))
                .constraint(Constraint::equal_to("sum", 0.3).with_formulation(formulation(0.1)))
                .scheme(scheme)
                .build()
                .unwrap()
        };
        let rows: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])];
        let (mut decayed, mut slack) = (build(true), build(false));
        let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], rows, 0.05).bind(&decayed);
        let (xa, ra) = run(&mut decayed, &mut p, &[3.0, -2.0], 300);
        p = p.bind(&slack);
        let (xb, rb) = run(&mut slack, &mut p, &[3.0, -2.0], 300);
        for (a, b) in ra.iter().zip(&rb) {
            for (ca, cb) in a.constraints.iter().zip(&b.constraints) {
                let (ma, mb) = (ca.multipliers.as_ref().unwrap()[0], cb.multipliers.as_ref().unwrap()[0]);
                assert!(close(ma, mb, 1e-12), "{} step {}: {ma} vs {mb}", scheme.name(), a.step);
            }
            assert!(close(a.lagrangian, b.lagrangian, 1e-12));
        }
        for (a, b) in xa.iter().zip(&xb) {
            assert!(close(*a, *b, 1e-12), "{}: {xa:?} vs {xb:?}", scheme.name());
        }
        // The relaxation really acts. x1 <= 1 is inactive here; the
        // equality settles where μ = h/γ and x = (2 - μ/2, 1 - μ/2), i.e.
        // h = 2.7 - μ: μ = 2.7/(1 + γ), h = 2.7γ/(1 + γ) instead of 0.
        let mu = 2.7 / (1.0 + gamma);
        assert!(close(xa[0], 2.0 - mu / 2.0, 1e-6), "{}: {xa:?}", scheme.name());
        assert!(close(xa[1], 1.0 - mu / 2.0, 1e-6), "{}: {xa:?}", scheme.name());
        assert!(close(multiplier(&decayed, "sum"), mu, 1e-6));
    }
}

// ---------------------------------------------------------------------------
// PID.
// ---------------------------------------------------------------------------

use crate::dual_optimizers::{assert_steps, steps};

#[test]
fn pid_first_three_steps_match_hand_computation() {
    // η = 0.1, K_p = 2, K_i = 0.5, K_d = 1, ν = 0.5, ν_d = 0.5, errors 1, 3, -2.
    // Zeros start:
    // t0: ξ = 0.5,    Δξ = 0.5,    PI 0.1 (0.5 + 1)    = 0.15,   d = 0.25,    D 0.1 (0.25)          = 0.025
    // t1: ξ = 1.75,   Δξ = 1.25,   PI 0.1 (1.5 + 2.5)  = 0.4,    d = 0.75,    D 0.1 (0.75 - 0.25)   = 0.05
    // t2: ξ = -0.125, Δξ = -1.875, PI 0.1 (-1 - 3.75)  = -0.475, d = -0.5625, D 0.1 (-0.5625 - 0.75) = -0.13125
    let pid = Pid::new(0.1, 2.0, 0.5, 1.0).with_nu(0.5).with_derivative_ema(0.5);
    let errors = [1.0, 3.0, -2.0];
    assert_steps(&steps(&pid, &errors), &[0.175, 0.45, -0.60625]);
    // Summed, the steps are the positional controller η (K_i Σe + K_p ξ + K_d d).
    let total: f64 = steps(&pid, &errors).iter().sum();
    assert!(close(total, 0.1 * (0.5 * 2.0 + 2.0 * -0.125 + -0.5625), 1e-15));
    // Ascent start (ξ_{-1} = e0):
    // t0: ξ = 1, Δξ = 0,  PI 0.05,  d = 0,     D 0
    // t1: ξ = 2, Δξ = 1,  PI 0.35,  d = 0.5,   D 0.05
    // t2: ξ = 0, Δξ = -2, PI -0.5,  d = -0.75, D -0.125
    assert_steps(
        &steps(&pid.clone().with_start(NuPiStart::Ascent), &errors),
        &[0.05, 0.4, -0.625],
    );

    // Through the optimizer: λ = 0.175, 0.625, [0.625 - 0.60625]_+ = 0.01875,
    // and the state (ξ, d, started) is saved.
    let mut opt = optimizer(Constraint::at_most("g", 0.0), Formulation::lagrangian(pid));
    for (value, expected) in errors.iter().zip([0.175, 0.625, 0.01875]) {
        step_on(&mut opt, "g", *value).unwrap();
        assert!(
            close(multiplier(&opt, "g"), expected, 1e-15),
            "{}",
            multiplier(&opt, "g")
        );
    }
    let state = optimizer_state(&opt, "g", 0);
    assert_steps(&state, &[-0.125, -0.5625, 1.0]);
    let saved = opt.state();
    let fields = saved.constraints[0].state.dual_optimizer().unwrap().entries.fields();
    assert_eq!(fields, ["xi", "d", "started"]);
}

#[test]
fn pid_without_its_derivative_term_is_nupi_bit_for_bit() {
    for scheme in UpdateScheme::ALL {
        for start in [NuPiStart::Zeros, NuPiStart::Ascent] {
            let nupi = NuPi::new(0.1, 2.0, 1.0).with_nu(0.3).with_start(start);
            // The derivative filter does nothing when K_d = 0.
            let pid = Pid::new(0.1, 2.0, 1.0, 0.0)
                .with_nu(0.3)
                .with_derivative_ema(0.7)
                .with_start(start);
            let build = |formulation: fn(&NuPi, &Pid) -> Formulation| {
                ConstrainedOptimizer::builder()
                    .constraint(Constraint::at_most("x1", 1.0).with_formulation(formulation(&nupi, &pid)))
                    .constraint(Constraint::equal_to("sum", 2.5).with_formulation(formulation(&nupi, &pid)))
                    .scheme(scheme)
                    .build()
                    .unwrap()
            };
            let mut a = build(|n, _| Formulation::lagrangian(n.clone()).into());
            let mut b = build(|_, p| Formulation::lagrangian(p.clone()).into());
            let rows: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])];
            let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], rows, 0.05).bind(&a);
            let (xa, ra) = run(&mut a, &mut p, &[3.0, -2.0], 2000);
            p = p.bind(&b);
            let (xb, rb) = run(&mut b, &mut p, &[3.0, -2.0], 2000);
            for (r, s) in ra.iter().zip(&rb) {
                for (c, d) in r.constraints.iter().zip(&s.constraints) {
                    assert_eq!(
                        bits(c.multipliers.as_ref().unwrap()),
                        bits(d.multipliers.as_ref().unwrap()),
                        "{} {start:?} step {}",
                        scheme.name(),
                        r.step
                    );
                }
            }
            assert_eq!(bits(&xa), bits(&xb));
            // And it is a real run, to the KKT point: x1 <= 1 is active,
            // x = (1, 1.5), λ* = 3, μ* = -1.
            assert!(close(xa[0], 1.0, 1e-8) && close(xa[1], 1.5, 1e-8), "{xa:?}");
            assert!(close(multiplier(&a, "x1"), 3.0, 1e-8), "{}", multiplier(&a, "x1"));
            assert!(close(multiplier(&a, "sum"), -1.0, 1e-8), "{}", multiplier(&a, "sum"));
        }
    }
}

#[test]
fn pid_does_not_wind_up_past_the_upper_bound() {
    // η = 0.1, K_p = 1, K_i = 1, K_d = 0.5, λ_max = 1. Fifty violated steps
    // (e = 1) pin λ at 1; ξ = 1 and d = 0 by then. The first satisfied step
    // (e = -0.5): Δξ = -1.5, PI 0.1 (-0.5 - 1.5) = -0.2, d = -1.5,
    // D 0.1·0.5·(-1.5) = -0.075: λ = 1 - 0.275 = 0.725 at once.
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian(Pid::new(0.1, 1.0, 1.0, 0.5)).with_upper_bound(1.0),
    );
    let mut trajectory = Vec::new();
    for _ in 0..50 {
        step_on(&mut opt, "g", 1.0).unwrap();
        trajectory.push(multiplier(&opt, "g"));
    }
    assert!(trajectory[10..].iter().all(|l| *l == 1.0), "{trajectory:?}");
    step_on(&mut opt, "g", -0.5).unwrap();
    let after = multiplier(&opt, "g");
    assert!(after < 1.0 && close(after, 0.725, 1e-15), "{after}");
}

// ---------------------------------------------------------------------------
// Warm-up and smoothed violations.
// ---------------------------------------------------------------------------

#[test]
fn warmup_holds_the_initial_multipliers_then_moves_as_computed_by_hand() {
    // Gradient ascent, η = 0.5, λ0 = 0.25, three warm-up steps, g = 2.
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian_from(GradientAscent::new(0.5), 0.25).with_warmup(3),
    );
    for _ in 0..3 {
        let report = step_on(&mut opt, "g", 2.0).unwrap();
        assert_eq!(multiplier(&opt, "g"), 0.25);
        assert_eq!(report.constraints[0].primal_weight, vec![0.25]);
    }
    step_on(&mut opt, "g", 2.0).unwrap();
    assert_eq!(multiplier(&opt, "g"), 1.25);

    // nuPI's state does not start during the warm-up: its first step after
    // it is a first step (from zeros: 0.5 (1 + 1)·2 = 2).
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian(NuPi::new(0.5, 1.0, 1.0)).with_warmup(2),
    );
    for _ in 0..2 {
        step_on(&mut opt, "g", 2.0).unwrap();
        assert_eq!(optimizer_state(&opt, "g", 0), [0.0, 0.0]);
        assert_eq!(multiplier(&opt, "g"), 0.0);
    }
    step_on(&mut opt, "g", 2.0).unwrap();
    assert_eq!(multiplier(&opt, "g"), 2.0);
    assert_eq!(optimizer_state(&opt, "g", 0), [2.0, 1.0]);

    // The smoothed violation already runs during the warm-up (β = 0.5):
    // ĝ = 4, 3, 2, so the first move (η = 1) is by 2.
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0),
        Formulation::lagrangian(GradientAscent::new(1.0))
            .with_warmup(2)
            .with_smoothed_violation(0.5),
    );
    for value in [4.0, 2.0] {
        step_on(&mut opt, "g", value).unwrap();
        assert_eq!(multiplier(&opt, "g"), 0.0);
    }
    step_on(&mut opt, "g", 1.0).unwrap();
    assert_eq!(multiplier(&opt, "g"), 2.0);
}

/// The smoothed violation `(ĝ, started)` of entry `k`.
fn smoothed(optimizer: &ConstrainedOptimizer, name: &str, k: usize) -> Vec<f64> {
    match optimizer.constraint_state(name).unwrap() {
        FormulationState::Lagrangian(s) => s
            .smoothed
            .as_ref()
            .expect("a smoothed violation")
            .get(k)
            .unwrap()
            .to_vec(),
        other => panic!("{}", other.name()),
    }
}

#[test]
fn smoothed_violations_follow_the_ema_computed_by_hand() {
    // β = 0.5, η = 1, two entries. Entry 0: g = 4, 0, 0, -8 → ĝ = 4, 2, 1,
    // -3.5 → λ = 4, 6, 7, 3.5. Entry 1: g = -1, 3, 3, 3 → ĝ = -1, 1, 2, 2.5
    // → λ = 0, 1, 3, 5.5 (ĝ_0 = g_0: no bias towards 0 at the start).
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0).with_entries(2),
        Formulation::lagrangian(GradientAscent::new(1.0)).with_smoothed_violation(0.5),
    );
    let expected = [
        ([4.0, 0.0], [4.0, -1.0]),
        ([6.0, 1.0], [2.0, 1.0]),
        ([7.0, 3.0], [1.0, 2.0]),
    ];
    let inputs = [[4.0, -1.0], [0.0, 3.0], [0.0, 3.0], [-8.0, 3.0]];
    for (values, (lambda, estimate)) in inputs.iter().zip(expected) {
        entries_step(&mut opt, "g", values);
        assert_eq!(opt.multipliers("g").unwrap().unwrap(), lambda);
        assert_eq!(smoothed(&opt, "g", 0), [estimate[0], 1.0]);
        assert_eq!(smoothed(&opt, "g", 1), [estimate[1], 1.0]);
    }
    entries_step(&mut opt, "g", &inputs[3]);
    assert_eq!(opt.multipliers("g").unwrap().unwrap(), &[3.5, 5.5]);
    // The estimate is part of the saved state and comes back.
    let json = opt.state().to_json().unwrap();
    let mut restored = optimizer(
        Constraint::at_most("g", 0.0).with_entries(2),
        Formulation::lagrangian(GradientAscent::new(1.0)).with_smoothed_violation(0.5),
    );
    restored
        .restore(feasible::DualState::from_json(&json).unwrap())
        .unwrap();
    assert_eq!(smoothed(&restored, "g", 0), [-3.5, 1.0]);
    // A state without the estimate does not fit a smoothing constraint.
    let mut plain = optimizer(
        Constraint::at_most("g", 0.0).with_entries(2),
        Formulation::lagrangian(GradientAscent::new(1.0)),
    );
    let e = plain.restore(opt.state()).unwrap_err().to_string();
    assert!(e.contains("smoothed violation"), "{e}");
}

// ---------------------------------------------------------------------------
// Per-entry targets, initial multipliers and penalty coefficients.
// ---------------------------------------------------------------------------

#[test]
fn per_entry_targets_give_per_entry_violations_and_the_known_solution() {
    // min |x|²  s.t.  A x = b,  A = [[1, 1], [1, -1]],  b = (1, -3):
    // x* = (-1, 2); 2x + Aᵀμ = 0 gives μ* = (-1, 3).
    for scheme in UpdateScheme::ALL {
        let mut opt = ConstrainedOptimizer::builder()
            .constraint(
                Constraint::equal_to("Ax", 0.0)
                    .with_entries(2)
                    .with_targets(vec![1.0, -3.0])
                    .with_formulation(Formulation::lagrangian(GradientAscent::new(0.2))),
            )
            .scheme(scheme)
            .build()
            .unwrap();
        let mut p =
            LinearlyConstrainedQuadratic::new(&[0.0, 0.0], &[("Ax", &[&[1.0, 1.0], &[1.0, -1.0]])], 0.05).bind(&opt);
        let (x, reports) = run(&mut opt, &mut p, &[0.0, 0.0], 4000);
        if !scheme.remeasures() {
            // At x0 = 0 the violations are A·0 - b = (-1, 3).
            assert_eq!(reports[0].constraints[0].violation, vec![-1.0, 3.0]);
        }
        for (got, expected) in x.iter().zip([-1.0, 2.0]) {
            assert!(close(*got, expected, 1e-8), "{}: {x:?}", scheme.name());
        }
        let mu = opt.multipliers("Ax").unwrap().unwrap();
        for (got, expected) in mu.iter().zip([-1.0, 3.0]) {
            assert!(close(*got, expected, 1e-8), "{}: {mu:?}", scheme.name());
        }
        assert!(reports.last().unwrap().feasible);
    }
    // Inequalities x <= (1, 0.5) with the anchor (2, 2): x* = (1, 0.5), λ* = (2, 3).
    let mut opt = optimizer(
        Constraint::at_most("x", 0.0)
            .with_entries(2)
            .with_targets(vec![1.0, 0.5]),
        Formulation::lagrangian(GradientAscent::new(0.2)),
    );
    let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 2.0], &[("x", &[&[1.0, 0.0], &[0.0, 1.0]])], 0.05).bind(&opt);
    let (x, reports) = run(&mut opt, &mut p, &[0.0, 0.0], 4000);
    assert_eq!(reports[0].constraints[0].violation, vec![-1.0, -0.5]);
    assert!(close(x[0], 1.0, 1e-8) && close(x[1], 0.5, 1e-8), "{x:?}");
    let lambda = opt.multipliers("x").unwrap().unwrap();
    assert!(close(lambda[0], 2.0, 1e-8) && close(lambda[1], 3.0, 1e-8), "{lambda:?}");
    // The targets are part of the saved state.
    assert_eq!(opt.state().constraints[0].target, PerEntry::Entries(vec![1.0, 0.5]));

    // Indexed: each value is measured against its id's target, the strict
    // value too. Ids 3 and 1 (targets 3 and 1): g = (0.5, -0.5), then
    // strict g = (-1, 1) drives the dual step while the differentiable
    // violations drive the primal weights.
    let mut opt = optimizer(
        Constraint::at_most("loss_i", 0.0)
            .with_entries(4)
            .indexed()
            .with_targets(vec![0.0, 1.0, 2.0, 3.0]),
        Formulation::lagrangian(GradientAscent::new(1.0)),
    );
    let batch = |m: Measurement| Replay::new(Measurements::new(0.0).with("loss_i", m));
    let report = batch(Measurement::indexed(vec![3, 1], vec![3.5, 0.5]))
        .step(&mut opt)
        .unwrap();
    assert_eq!(report.constraints[0].violation, vec![0.5, -0.5]);
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[0.0, 0.0, 0.0, 0.5]);
    let report = batch(Measurement::indexed(vec![3, 1], vec![3.5, 0.5]).with_strict(vec![2.0, 2.0]))
        .step(&mut opt)
        .unwrap();
    assert_eq!(report.constraints[0].violation, vec![-1.0, 1.0]);
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn per_entry_initial_multipliers_start_each_entry_and_take_hand_computed_steps() {
    // λ0 = (0.5, 0, 2), η = 0.5, simultaneous: the primal weights are λ0 and
    // g = (1, -1, -1) gives λ1 = (1, [0 - 0.5]_+, 1.5) = (1, 0, 1.5).
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0).with_entries(3),
        Formulation::lagrangian(GradientAscent::new(0.5)).with_initial_multiplier(vec![0.5, 0.0, 2.0]),
    );
    assert_eq!(opt.multipliers("g").unwrap().unwrap(), &[0.5, 0.0, 2.0]);
    let report = entries_step(&mut opt, "g", &[1.0, -1.0, -1.0]);
    assert_eq!(report.constraints[0].primal_weight, vec![0.5, 0.0, 2.0]);
    assert_eq!(opt.multipliers("g").unwrap().unwrap(), &[1.0, 0.0, 1.5]);

    // An equality may start negative; the augmented Lagrangian takes them too:
    // w = μ0 + c h = (-1 + 2·1, 3 + 2·(-1)) = (1, 1).
    let mut opt = optimizer(
        Constraint::equal_to("h", 0.0).with_entries(2),
        Formulation::augmented_lagrangian(2.0).with_initial_multiplier(vec![-1.0, 3.0]),
    );
    assert_eq!(opt.multipliers("h").unwrap().unwrap(), &[-1.0, 3.0]);
    let report = entries_step(&mut opt, "h", &[1.0, -1.0]);
    assert_eq!(report.constraints[0].primal_weight, vec![1.0, 1.0]);
    assert_eq!(opt.multipliers("h").unwrap().unwrap(), &[1.0, 1.0]);

    // A restart gives an entry its own initial multiplier, found by its id.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("loss_i", 0.0)
                .with_entries(4)
                .indexed()
                .with_formulation(
                    Formulation::lagrangian(GradientAscent::new(1.0))
                        .with_initial_multiplier(vec![0.1, 0.2, 0.3, 0.4])
                        .with_restart_on_feasible(),
                ),
        )
        .build()
        .unwrap();
    let batch =
        |values: Vec<f64>| Replay::new(Measurements::new(0.0).with("loss_i", Measurement::indexed(vec![3, 1], values)));
    batch(vec![1.0, 1.0]).step(&mut opt).unwrap();
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[0.1, 1.2, 0.3, 1.4]);
    batch(vec![-1.0, -1.0]).step(&mut opt).unwrap();
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[0.1, 0.2, 0.3, 0.4]);
}

#[test]
fn per_entry_initial_penalty_coefficients_start_each_entry_and_take_hand_computed_steps() {
    // c0 = (1, 4), classical step, g = (0.5, 0.5): w = [0 + c g]_+ = (0.5, 2),
    // λ1 = (0.5, 2); the multiplicative updater (×2) grows each: (2, 8).
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0).with_entries(2),
        Formulation::augmented_lagrangian(
            Penalty::new(vec![1.0, 4.0]).with_updater(PenaltyGrowth::multiplicative(2.0)),
        ),
    );
    assert_eq!(opt.penalty("g").unwrap(), Some(&[1.0, 4.0][..]));
    let report = entries_step(&mut opt, "g", &[0.5, 0.5]);
    assert_eq!(report.constraints[0].primal_weight, vec![0.5, 2.0]);
    assert_eq!(opt.multipliers("g").unwrap().unwrap(), &[0.5, 2.0]);
    assert_eq!(opt.penalty("g").unwrap(), Some(&[2.0, 8.0][..]));

    // Quadratic penalty, additive growth with restarts: a violated entry
    // grows by 1, a satisfied one goes back to its own initial value.
    let mut opt = optimizer(
        Constraint::at_most("g", 0.0).with_entries(2),
        Formulation::quadratic_penalty(
            Penalty::new(vec![1.0, 4.0]).with_updater(PenaltyGrowth::additive(1.0).with_restart()),
        ),
    );
    let report = entries_step(&mut opt, "g", &[0.5, 0.5]);
    assert_eq!(report.constraints[0].primal_weight, vec![0.5, 2.0]);
    assert_eq!(opt.penalty("g").unwrap(), Some(&[2.0, 5.0][..]));
    let report = entries_step(&mut opt, "g", &[0.5, -0.5]);
    assert_eq!(report.constraints[0].primal_weight, vec![1.0, 0.0]);
    assert_eq!(opt.penalty("g").unwrap(), Some(&[3.0, 4.0][..]));
}

// ---------------------------------------------------------------------------
// Invalid settings.
// ---------------------------------------------------------------------------

fn build_error(constraint: Constraint) -> FeasibleError {
    ConstrainedOptimizer::builder()
        .constraint(constraint)
        .build()
        .unwrap_err()
}

/// Asserts an invalid-hyperparameter error for constraint `gap` naming `name`
/// and `value` (NaN matches NaN).
fn assert_invalid(e: FeasibleError, expected_name: &str, expected_value: f64) {
    match &e {
        FeasibleError::InvalidHyperparameter { owner, name, value, .. } => {
            assert_eq!(owner, "constraint `gap`", "{e}");
            assert_eq!(*name, expected_name, "{e}");
            assert!(
                *value == expected_value || (value.is_nan() && expected_value.is_nan()),
                "{e}"
            );
        }
        other => panic!("expected an invalid {expected_name}, got {other}"),
    }
    let text = e.to_string();
    assert!(text.contains("`gap`") && text.contains(expected_name), "{text}");
}

#[test]
fn invalid_settings_are_typed_errors_naming_the_culprit() {
    let gap = |entries: usize, f: Formulation| {
        Constraint::at_most("gap", 0.1)
            .with_entries(entries)
            .with_formulation(f)
    };
    let ascent = || Formulation::lagrangian(GradientAscent::new(0.1));

    for upper in [-1.0, 0.0, f64::NAN] {
        assert_invalid(
            build_error(gap(1, ascent().with_upper_bound(upper).into())),
            "multiplier upper bound",
            upper,
        );
        assert_invalid(
            build_error(gap(
                1,
                Formulation::augmented_lagrangian(1.0).with_upper_bound(upper).into(),
            )),
            "multiplier upper bound",
            upper,
        );
    }
    for gamma in [0.0, -0.5, f64::INFINITY] {
        assert_invalid(
            build_error(gap(1, ascent().with_dual_decay(gamma).into())),
            "dual weight decay",
            gamma,
        );
    }
    assert_invalid(
        build_error(gap(1, ascent().with_slack(-1.0).into())),
        "slack cost",
        -1.0,
    );
    for beta in [1.0, -0.1, 1.5, f64::NAN] {
        assert_invalid(
            build_error(gap(1, ascent().with_smoothed_violation(beta).into())),
            "smoothing coefficient",
            beta,
        );
    }
    // Per-entry vectors of the wrong length: the value is the length given.
    assert_invalid(
        build_error(gap(3, ascent().with_initial_multiplier(vec![1.0, 2.0]).into())),
        "initial multiplier",
        2.0,
    );
    assert_invalid(
        build_error(gap(3, ascent().into()).with_targets(vec![0.1, 0.2])),
        "target",
        2.0,
    );
    assert_invalid(
        build_error(gap(
            3,
            Formulation::quadratic_penalty(Penalty::new(vec![1.0; 4])).into(),
        )),
        "penalty coefficient",
        4.0,
    );
    assert_invalid(
        build_error(gap(
            3,
            Formulation::lagrangian(Pid::new(0.1, 1.0, 1.0, vec![1.0, 1.0])).into(),
        )),
        "PID K_d",
        2.0,
    );
    assert_invalid(
        build_error(gap(
            1,
            Formulation::lagrangian(Pid::new(0.1, 1.0, 1.0, 1.0).with_derivative_ema(1.0)).into(),
        )),
        "PID nu_d",
        1.0,
    );
    // Initial multipliers beyond the upper bound (an equality's by magnitude).
    assert_invalid(
        build_error(gap(
            1,
            ascent().with_initial_multiplier(3.0).with_upper_bound(2.0).into(),
        )),
        "initial multiplier",
        3.0,
    );
    assert_invalid(
        build_error(gap(
            2,
            ascent()
                .with_initial_multiplier(vec![1.0, 2.5])
                .with_upper_bound(2.0)
                .into(),
        )),
        "initial multiplier",
        2.5,
    );
    assert_invalid(
        build_error(
            Constraint::equal_to("gap", 0.0).with_formulation(
                Formulation::augmented_lagrangian(1.0)
                    .with_initial_multiplier(-3.0)
                    .with_upper_bound(2.0),
            ),
        ),
        "initial multiplier",
        -3.0,
    );
    let e = build_error(gap(
        1,
        ascent().with_initial_multiplier(3.0).with_upper_bound(2.0).into(),
    ))
    .to_string();
    assert!(e.contains("upper bound"), "{e}");

    // What only the constraint can tell: restarts on an equality, per-entry
    // initial coefficients for a coefficient shared by the constraint.
    let e = build_error(Constraint::equal_to("gap", 0.0).with_formulation(ascent().with_restart_on_feasible()));
    assert!(
        matches!(&e, FeasibleError::InvalidConstraint { constraint, reason }
            if constraint == "gap" && reason.contains("inequalities only")),
        "{e}"
    );
    let shared = Penalty {
        granularity: Granularity::PerConstraint,
        ..Penalty::new(vec![1.0, 2.0])
    };
    let e = build_error(gap(2, Formulation::augmented_lagrangian(shared).into()));
    assert!(
        matches!(&e, FeasibleError::InvalidConstraint { constraint, reason }
            if constraint == "gap" && reason.contains("per-entry initial penalty coefficients")),
        "{e}"
    );
    // The valid neighbours of these settings build.
    for f in [
        ascent().with_upper_bound(2.0).with_initial_multiplier(2.0),
        ascent().with_dual_decay(1e-3).with_smoothed_violation(0.0),
        ascent().with_restart_on_feasible().with_warmup(u64::MAX),
    ] {
        ConstrainedOptimizer::builder()
            .constraint(gap(1, f.into()))
            .build()
            .unwrap();
    }
}
