//! Dual optimizers: hand-computed first steps, the special cases that make
//! them one family, dense entries against separate constraints, and
//! convergence of each on the closed-form problems.

use feasible::dual::{NuPiStart, PerEntry};
use feasible::{
    Adam, AnyDualOptimizer, ConstrainedOptimizer, Constraint, DualOptimizer, FeasibleError, Formulation,
    GradientAscent, NuPi, Omega, Optimistic, Pid, UpdateScheme,
};

use crate::common::{LinearlyConstrainedQuadratic, Rng, close, run};
use crate::schemes::cases;

/// The steps `optimizer` takes on one entry for `errors`, from a fresh state.
pub fn steps<D: DualOptimizer>(optimizer: &D, errors: &[f64]) -> Vec<f64> {
    let mut state = vec![0.0; optimizer.state_fields().len()];
    errors.iter().map(|e| optimizer.step(0, *e, &mut state)).collect()
}

/// `got` equals `expected` within 1e-15, element by element.
pub fn assert_steps(got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert!(close(*g, *e, 1e-15), "{got:?} vs {expected:?}");
    }
}

const ERRORS: [f64; 3] = [1.0, 3.0, -2.0];

#[test]
fn nupi_first_steps_match_hand_computation_for_both_starts() {
    // lr 0.1, K_p 2, K_i 0.5, ν 0.5. Zeros: ξ0 = 0.5, step 0.1 (0.5 + 2·0.5) = 0.15;
    // ξ1 = 1.75, step 0.1 (1.5 + 2·1.25) = 0.4; ξ2 = -0.125, step 0.1 (-1 - 3.75) = -0.475.
    let nupi = NuPi::new(0.1, 2.0, 0.5).with_nu(0.5);
    assert_steps(&steps(&nupi, &ERRORS), &[0.15, 0.4, -0.475]);
    // Ascent: ξ0 = e0 = 1, step 0.1·0.5 = 0.05; ξ1 = 2, step 0.1 (1.5 + 2) = 0.35;
    // ξ2 = 0, step 0.1 (-1 - 4) = -0.5.
    let ascent = nupi.with_start(NuPiStart::Ascent);
    assert_steps(&steps(&ascent, &ERRORS), &[0.05, 0.35, -0.5]);
    let mut state = [0.0; 2];
    ascent.step(0, 1.0, &mut state);
    // ξ = 1, started.
    assert_eq!(ascent.state_fields(), ["xi", "started"]);
    assert_eq!(state, [1.0, 1.0]);
}

#[test]
fn optimistic_omega_and_adam_first_steps_match_hand_computation() {
    // 0.1 (2·1 - 0), 0.1 (2·3 - 1), 0.1 (2·(-2) - 3)
    assert_steps(&steps(&Optimistic::new(0.1), &ERRORS), &[0.2, 0.5, -0.7]);
    // γ = 1, β = 0.5: m_{-1} = e0 = 1: 0.1·1; m = 1 → 0.1 (3 + 2) ; m = 2 → 0.1 (-2 - 4)
    let omega = Omega::new(0.1).with_ema(0.5);
    assert_steps(&steps(&omega, &ERRORS), &[0.1, 0.5, -0.6]);
    // Computed independently (Python, the textbook recurrence).
    let adam = steps(&Adam::new(0.1), &[4.0, -1.0, 0.5]);
    assert_steps(&adam, &[0.09999999975000001, 0.04694681695972697, 0.04372336212013907]);
}

fn random_errors(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect()
}

#[test]
fn nupi_special_cases_are_ascent_and_optimism() {
    for seed in 0..20 {
        let errors = random_errors(seed, 50);
        let lr = 0.01 + seed as f64 * 0.05;
        // K_p = 0, K_i = 1, ν = 0 is gradient ascent, whatever the start.
        for start in [NuPiStart::Zeros, NuPiStart::Ascent] {
            let nupi = NuPi::new(lr, 0.0, 1.0).with_start(start);
            assert_eq!(steps(&nupi, &errors), steps(&GradientAscent::new(lr), &errors));
        }
        // K_p = 1, K_i = 1, ν = 0 (zeros) is optimistic ascent.
        let nupi = steps(&NuPi::new(lr, 1.0, 1.0), &errors);
        let optimistic = steps(&Optimistic::new(lr), &errors);
        for (a, b) in nupi.iter().zip(&optimistic) {
            assert!(close(*a, *b, 1e-14 * (1.0 + b.abs())), "{a} vs {b}");
        }
        // Omega with β = 0 and γ = 1 is optimistic ascent after its first step.
        let omega = steps(&Omega::new(lr).with_ema(0.0), &errors);
        for (a, b) in omega[1..].iter().zip(&optimistic[1..]) {
            assert!(close(*a, *b, 1e-14 * (1.0 + b.abs())), "{a} vs {b}");
        }
    }
}

#[test]
fn adam_steps_are_about_plus_or_minus_lr_whatever_the_violation() {
    for magnitude in [1e-6, 1e-2, 1.0, 1e3] {
        let got = steps(&Adam::new(0.05), &[magnitude; 20]);
        for step in &got {
            assert!(close(*step, 0.05, 1e-3), "violation {magnitude}: {got:?}");
        }
        let got = steps(&Adam::new(0.05), &[-magnitude]);
        assert!(close(got[0], -0.05, 1e-3));
    }
}

fn all_optimizers(lr: f64) -> Vec<AnyDualOptimizer> {
    vec![
        GradientAscent::new(lr).into(),
        NuPi::new(lr, 3.0, 1.0).with_nu(0.3).into(),
        NuPi::new(lr, 3.0, 1.0).with_start(NuPiStart::Ascent).into(),
        Optimistic::new(lr).into(),
        Omega::new(lr).into(),
        // Adam's step is in the multiplier's own units (about ±lr per step):
        // a fifth of the others' step size, see the oscillation test below.
        Adam::new(lr / 5.0).into(),
    ]
}

#[test]
fn entries_of_one_constraint_follow_the_trajectories_of_separate_constraints() {
    // One constraint with 3 entries against 3 scalar constraints with the
    // same values: every optimizer, per-entry gains included, must give the
    // same multipliers bit for bit.
    for optimizer in all_optimizers(0.1)
        .into_iter()
        .chain([NuPi::new(0.1, vec![0.0, 1.0, 5.0], vec![1.0, 0.5, 2.0]).into()])
    {
        let scalar = |i: usize| match &optimizer {
            AnyDualOptimizer::NuPi(n) => NuPi {
                kp: PerEntry::Shared(n.kp.get(i)),
                ki: PerEntry::Shared(n.ki.get(i)),
                ..n.clone()
            }
            .into(),
            other => other.clone(),
        };
        let mut dense = ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("x", 1.0)
                    .with_entries(3)
                    .with_formulation(Formulation::lagrangian(optimizer.clone())),
            )
            .scheme(UpdateScheme::Simultaneous)
            .build()
            .unwrap();
        let mut separate = ConstrainedOptimizer::builder().scheme(UpdateScheme::Simultaneous);
        for (i, name) in ["x0", "x1", "x2"].into_iter().enumerate() {
            separate = separate
                .constraint(Constraint::at_most(name, 1.0).with_formulation(Formulation::lagrangian(scalar(i))));
        }
        let mut separate = separate.build().unwrap();
        let anchor = [2.0, 0.5, 3.0];
        let mut p = LinearlyConstrainedQuadratic::new(
            &anchor,
            &[("x", &[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0], &[0.0, 0.0, 1.0]])],
            0.05,
        )
        .bind(&dense);
        let mut q = LinearlyConstrainedQuadratic::new(
            &anchor,
            &[
                ("x0", &[&[1.0, 0.0, 0.0]]),
                ("x1", &[&[0.0, 1.0, 0.0]]),
                ("x2", &[&[0.0, 0.0, 1.0]]),
            ],
            0.05,
        )
        .bind(&separate);
        let (xa, _) = run(&mut dense, &mut p, &[0.0, 0.0, 0.0], 300);
        let (xb, _) = run(&mut separate, &mut q, &[0.0, 0.0, 0.0], 300);
        assert_eq!(xa, xb, "{}", optimizer.name());
        let dense_m = dense.multipliers("x").unwrap().unwrap().to_vec();
        let separate_m: Vec<f64> = ["x0", "x1", "x2"]
            .iter()
            .map(|n| separate.multipliers(n).unwrap().unwrap()[0])
            .collect();
        assert_eq!(dense_m, separate_m, "{}", optimizer.name());
    }
}

#[test]
fn every_dual_optimizer_converges_to_the_kkt_points_under_every_scheme() {
    for scheme in UpdateScheme::ALL {
        for optimizer in all_optimizers(0.05) {
            for case in cases() {
                let mut builder = ConstrainedOptimizer::builder().scheme(scheme);
                for (c, _) in &case.constraints {
                    builder =
                        builder.constraint(c.clone().with_formulation(Formulation::lagrangian(optimizer.clone())));
                }
                let mut opt = builder.build().unwrap();
                let rows: Vec<(&str, &[&[f64]])> = case.constraints.iter().map(|(c, r)| (c.name(), *r)).collect();
                let mut p = LinearlyConstrainedQuadratic::new(case.anchor, &rows, 0.05).bind(&opt);
                let (x, _) = run(&mut opt, &mut p, &[3.0, -2.0], 6000);
                for (xi, si) in x.iter().zip(case.x_star) {
                    assert!(
                        close(*xi, *si, 1e-7),
                        "{} / {} / {}: x = {x:?}",
                        scheme.name(),
                        optimizer.name(),
                        case.name
                    );
                }
            }
        }
    }
}

#[test]
fn adam_with_too_large_a_step_keeps_oscillating_where_ascent_converges() {
    // min (x-2)² s.t. x <= 1 (λ* = 2), both with step 0.05 on the multiplier.
    let last_swing = |optimizer: AnyDualOptimizer| {
        let mut opt = ConstrainedOptimizer::builder()
            .constraint(Constraint::at_most("x", 1.0).with_formulation(Formulation::lagrangian(optimizer)))
            .scheme(UpdateScheme::Simultaneous)
            .build()
            .unwrap();
        let mut p = LinearlyConstrainedQuadratic::new(&[2.0], &[("x", &[&[1.0]])], 0.05).bind(&opt);
        let (_, reports) = run(&mut opt, &mut p, &[3.0], 20_000);
        let tail: Vec<f64> = reports[18_000..]
            .iter()
            .map(|r| r.constraints[0].multipliers.as_ref().unwrap()[0])
            .collect();
        tail.iter().copied().fold(f64::MIN, f64::max) - tail.iter().copied().fold(f64::MAX, f64::min)
    };
    assert!(last_swing(GradientAscent::new(0.05).into()) < 1e-9);
    assert!(last_swing(Adam::new(0.05).into()) > 0.1);
    assert!(last_swing(Adam::new(0.01).into()) < 1e-6);
}

#[test]
fn a_state_slice_too_short_for_a_built_in_optimizer_is_a_nan_step_or_a_typed_error_and_changes_nothing() {
    let mut optimizers = all_optimizers(0.1);
    optimizers.push(Pid::new(0.1, 1.0, 1.0, 0.5).into());
    for o in optimizers {
        let fields = o.state_fields().len();
        for len in 0..fields {
            let mut state = vec![0.5; len];
            let step = o.step(0, 1.0, &mut state);
            assert!(step.is_nan(), "{}: {step}", o.name());
            assert_eq!(state, vec![0.5; len], "{}", o.name());
            let e = o.try_step(0, 1.0, &mut state).unwrap_err();
            assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{}` keeps {fields} numbers", o.name())),
                "{text}"
            );
            assert!(text.contains(&format!("the state given has {len}")), "{text}");
            assert_eq!(state, vec![0.5; len], "{}", o.name());
        }
        // The right length: the same step as `step`.
        let mut state = vec![0.0; fields];
        assert_eq!(o.try_step(0, 1.0, &mut state).unwrap(), steps(&o, &[1.0])[0]);
        assert!(o.try_step(0, 1.0, &mut vec![0.0; fields + 1]).is_err());
    }
}

#[test]
fn invalid_dual_hyperparameters_are_named() {
    let err = |o: AnyDualOptimizer, entries: usize| {
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("gap", 0.1)
                    .with_entries(entries)
                    .with_formulation(Formulation::lagrangian(o)),
            )
            .build()
            .unwrap_err()
            .to_string()
    };
    assert!(err(NuPi::new(0.1, 1.0, 1.0).with_nu(1.0).into(), 1).contains("nuPI nu = 1"));
    assert!(err(NuPi::new(0.1, -1.0, 1.0).into(), 1).contains("nuPI K_p = -1"));
    assert!(err(NuPi::new(0.1, vec![1.0, 2.0], 1.0).into(), 3).contains("one value per constraint entry"));
    assert!(err(NuPi::from_penalty(0.0, 1.0).into(), 1).contains("K_p"));
    assert!(err(Optimistic::new(-0.1).into(), 1).contains("optimistic step size = -0.1"));
    assert!(err(Omega::new(0.1).with_ema(-0.5).into(), 1).contains("Omega EMA coefficient = -0.5"));
    assert!(err(Adam::new(0.1).with_epsilon(0.0).into(), 1).contains("Adam epsilon = 0"));
    assert!(err(Adam::new(0.1).with_betas(0.9, 1.0).into(), 1).contains("Adam beta2 = 1"));
}

#[test]
fn every_optimizer_state_survives_save_and_restore_bit_for_bit() {
    for optimizer in all_optimizers(0.2) {
        let build = || {
            ConstrainedOptimizer::builder()
                .constraint(Constraint::at_most("x1", 1.0).with_formulation(Formulation::lagrangian(optimizer.clone())))
                .constraint(
                    Constraint::equal_to("sum", 0.3).with_formulation(Formulation::lagrangian(optimizer.clone())),
                )
                .build()
                .unwrap()
        };
        let rows: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])];
        let mut straight = build();
        let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], rows, 0.03).bind(&straight);
        let (x_straight, _) = run(&mut straight, &mut p, &[0.1, -0.7], 60);
        let mut first = build();
        p = p.bind(&first);
        let (x_half, _) = run(&mut first, &mut p, &[0.1, -0.7], 30);
        let json = first.state().to_json().unwrap();
        let mut resumed = build();
        resumed.restore(feasible::DualState::from_json(&json).unwrap()).unwrap();
        p = p.bind(&resumed);
        let (x_resumed, _) = run(&mut resumed, &mut p, &x_half, 30);
        assert_eq!(x_resumed, x_straight, "{}", optimizer.name());
        assert_eq!(resumed.state(), straight.state(), "{}", optimizer.name());
    }
}
