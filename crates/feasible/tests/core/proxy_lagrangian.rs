//! The proxy-Lagrangian with swap-regret updates (Cotter et al. 2019,
//! TFCO): hand-computed first steps, TFCO's own known answers, one game
//! across constraints, the game's equilibrium on a problem with a closed
//! form, the objective's weight scaling the other constraints, save and
//! restore, and what it refuses.

use feasible::{
    Adam, ConstrainedOptimizer, Constraint, FeasibleError, Formulation, FormulationState, GradientAscent, Measurement,
    Measurements, UpdateScheme,
};

use crate::common::close;

fn proxy_state(opt: &ConstrainedOptimizer, name: &str) -> feasible::formulation::ProxyLagrangianState {
    match opt.constraint_state(name).unwrap() {
        FormulationState::ProxyLagrangian(s) => s.clone(),
        other => panic!("not a proxy-Lagrangian state: {other:?}"),
    }
}

/// `x <= 1` with the proxy-Lagrangian, gradient ascent `η` on `log M`,
/// both players stepping at the same point (TFCO's order).
fn one_constraint(eta: f64) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("x", 1.0).with_formulation(Formulation::proxy_lagrangian(GradientAscent::new(eta))),
        )
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap()
}

/// The stationary distribution of `[[a, b], [1-a, 1-b]]`: `(b, 1-a) / (b + 1 - a)`.
fn two_by_two(a: f64, b: f64) -> (f64, f64) {
    let z = b + 1.0 - a;
    (b / z, (1.0 - a) / z)
}

#[test]
fn the_first_two_steps_match_the_hand_computed_swap_regret_updates() {
    let eta = 0.5;
    let mut opt = one_constraint(eta);
    let id = opt.id("x").unwrap();
    // m = 1, radius r = 1e-3: row 0 of M is 1 - r/2, row 1 is r/2, so
    // λ = (0.9995, 0.0005).
    let (mut l0, mut l1) = (1.0 - 0.0005, 0.0005);
    let s = proxy_state(&opt, "x");
    assert_eq!((s.objective_weight, s.multipliers[0]), (l0, l1));

    // log M as the hand computation keeps it: columns (top, bottom).
    let mut log = [[l0.ln(), l1.ln()], [l0.ln(), l1.ln()]];
    for value in [3.0, 0.25] {
        let g: f64 = value - 1.0;
        let pending = opt
            .begin(Measurements::new(0.0).with("x", Measurement::scalar(value)))
            .unwrap();
        // The model descends λ_0 ∇f + λ_1 ∇g.
        let w = pending.weights();
        assert!(
            close(w.objective_weight(), l0, 1e-15),
            "{} against {l0}",
            w.objective_weight()
        );
        assert!(close(w.value_coefficient(id).unwrap(), l1, 1e-15), "{w:?} against {l1}");
        pending.commit().unwrap();
        // log M_1k += η g λ_k (row 0, the objective's, has G_0 = 0), then
        // each column is normalised, and an entry below the floor
        // ε = r/2 = 0.0005 is raised to it (the other then holds 1 - ε).
        let lambda = [l0, l1];
        let mut floored = 0;
        for (k, column) in log.iter_mut().enumerate() {
            column[1] += eta * g * lambda[k];
            let z = column[0].exp() + column[1].exp();
            column[0] -= z.ln();
            column[1] -= z.ln();
            if column[1].exp() < 0.0005 {
                *column = [(1.0 - 0.0005_f64).ln(), 0.0005_f64.ln()];
                floored += 1;
            }
        }
        // The violated step raises both columns' bottom entries; the
        // satisfied one pushes the second column's (λ_1 = 0.00136 small)
        // below the floor but not the first's.
        assert_eq!(floored, if g > 0.0 { 0 } else { 1 }, "step with g = {g}");
        (l0, l1) = two_by_two(log[0][0].exp(), log[1][0].exp());
        let s = proxy_state(&opt, "x");
        assert!(
            close(s.objective_weight, l0, 1e-15),
            "{} against {l0}",
            s.objective_weight
        );
        assert!(close(s.multipliers[0], l1, 1e-15), "{} against {l1}", s.multipliers[0]);
        for (k, column) in log.iter().enumerate() {
            assert!(
                close(s.log_matrix[k], column[0], 1e-14),
                "{:?} against {log:?}",
                s.log_matrix
            );
            assert!(
                close(s.log_matrix[2 + k], column[1], 1e-14),
                "{:?} against {log:?}",
                s.log_matrix
            );
        }
    }
    // The violated step moved weight onto the constraint, the satisfied one
    // took some back.
    assert!(l1 > 0.0005);
}

#[test]
fn the_iterates_average_to_the_games_equilibrium() {
    // min (x - 2)² s.t. x <= 1: the model's stationarity λ_0 · 2(x - 2) + λ_1
    // = 0 at x = 1 gives λ_1 / λ_0 = 2, λ = (1/3, 2/3). The swap-regret
    // guarantees are for the average over iterates (Cotter et al. 2019,
    // Theorem 2): average the second half of the run.
    let mut opt = one_constraint(0.5);
    let id = opt.id("x").unwrap();
    let (steps, lr) = (20_000, 0.05);
    let mut x = 3.0_f64;
    let (mut sum_x, mut sum_l1, mut count) = (0.0, 0.0, 0.0);
    for t in 0..steps {
        let pending = opt
            .begin(Measurements::new((x - 2.0).powi(2)).with("x", Measurement::scalar(x)))
            .unwrap();
        let w = pending.weights();
        let (l0, l1) = (w.objective_weight(), w.value_coefficient(id).unwrap());
        x -= lr * (l0 * 2.0 * (x - 2.0) + l1);
        pending.commit().unwrap();
        if t >= steps / 2 {
            sum_x += x;
            sum_l1 += l1;
            count += 1.0;
        }
    }
    let (mean_x, mean_l1) = (sum_x / count, sum_l1 / count);
    assert!(close(mean_x, 1.0, 1e-2), "mean x {mean_x}");
    assert!(close(mean_l1, 2.0 / 3.0, 2e-2), "mean λ_1 {mean_l1}");
}

#[test]
fn the_objective_weight_scales_the_other_constraints() {
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("a", 1.0).with_formulation(Formulation::proxy_lagrangian(GradientAscent::new(1.0))),
        )
        .constraint(Constraint::at_most("b", 1.0).with_formulation(Formulation::fixed_penalty(2.0)))
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap();
    let (a, b) = (opt.id("a").unwrap(), opt.id("b").unwrap());
    let pending = opt
        .begin(
            Measurements::new(0.0)
                .with("a", Measurement::scalar(2.0))
                .with("b", Measurement::scalar(2.0)),
        )
        .unwrap();
    let w = pending.weights();
    assert_eq!(w.objective_weight(), 0.9995);
    assert_eq!(w.value_coefficient(a), Some(0.0005));
    assert_eq!(w.value_coefficient(b), Some(2.0 * 0.9995));
}

#[test]
fn the_state_round_trips_and_resumes_identically_with_adam() {
    let build = || {
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("x", 0.0)
                    .with_entries(3)
                    .with_targets(vec![1.0, 0.5, 2.0])
                    .with_formulation(Formulation::proxy_lagrangian(Adam::new(0.1)).with_minimum_radius(0.01)),
            )
            .scheme(UpdateScheme::AlternatingDualPrimal)
            .build()
            .unwrap()
    };
    let measure = |t: usize| {
        let v = vec![1.0 + (t as f64 * 0.7).sin(), 0.5 + (t as f64 * 0.3).cos(), 1.5];
        Measurements::new(1.0).with("x", Measurement::entries(v))
    };
    let mut opt = build();
    for t in 0..15 {
        opt.begin(measure(t)).unwrap().commit().unwrap();
    }
    let state = opt.state();
    let mut resumed = build();
    resumed
        .restore(feasible::DualState::from_json(&state.to_json().unwrap()).unwrap())
        .unwrap();
    for t in 15..30 {
        let a = opt.begin(measure(t)).unwrap().commit().unwrap();
        let b = resumed.begin(measure(t)).unwrap().commit().unwrap();
        assert_eq!(a, b);
    }
    assert_eq!(opt.state(), resumed.state());
    // Every weight stays at least r / (m+1) = 0.0025, the weights sum to 1.
    let s = proxy_state(&opt, "x");
    let d = s.distribution();
    assert!(d.iter().all(|p| *p >= 0.0025 * (1.0 - 1e-12)), "{d:?}");
    assert!(close(d.iter().sum::<f64>(), 1.0, 1e-12), "{d:?}");
}

#[test]
fn a_failed_step_and_a_foreign_state_change_nothing() {
    let mut opt = one_constraint(0.5);
    opt.begin(Measurements::new(0.0).with("x", Measurement::scalar(2.0)))
        .unwrap()
        .commit()
        .unwrap();
    let before = opt.state();
    let e = opt
        .begin(Measurements::new(0.0).with("x", Measurement::scalar(f64::NAN)))
        .unwrap_err();
    assert!(matches!(e, FeasibleError::NonFiniteValue { .. }), "{e}");
    assert_eq!(opt.state(), before);

    // A matrix whose column does not sum to 1 is refused, and so is a
    // distribution that is not one.
    let mut broken = before.clone();
    if let FormulationState::ProxyLagrangian(s) = &mut broken.constraints[0].state {
        s.log_matrix[0] += 0.5;
    }
    let e = opt.restore(broken).unwrap_err();
    assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
    assert!(e.to_string().contains("sums to"), "{e}");
    let mut broken = before.clone();
    if let FormulationState::ProxyLagrangian(s) = &mut broken.constraints[0].state {
        s.objective_weight += 0.5;
    }
    let e = opt.restore(broken).unwrap_err();
    assert!(e.to_string().contains("not a distribution"), "{e}");
    assert_eq!(opt.state(), before);
}

#[test]
fn what_the_proxy_lagrangian_refuses_at_build() {
    let proxy = || Formulation::proxy_lagrangian(GradientAscent::new(0.1));
    let build = |constraints: Vec<Constraint>| ConstrainedOptimizer::builder().constraints(constraints).build();
    let refused = |result: feasible::Result<ConstrainedOptimizer>, needle: &str| {
        let e = result.unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    };
    refused(
        build(vec![Constraint::equal_to("x", 1.0).with_formulation(proxy())]),
        "equality",
    );
    refused(
        build(vec![
            Constraint::at_most("x", 1.0)
                .with_entries(10)
                .indexed()
                .with_formulation(proxy()),
        ]),
        "indexed",
    );
    refused(
        build(vec![
            Constraint::at_most("a", 1.0).with_formulation(proxy()),
            Constraint::at_most("b", 1.0).with_formulation(proxy().with_minimum_radius(0.01)),
        ]),
        "one game with one setting",
    );
    for r in [0.0, 1.0, f64::NAN] {
        refused(
            build(vec![
                Constraint::at_most("x", 1.0).with_formulation(proxy().with_minimum_radius(r)),
            ]),
            "minimum radius",
        );
    }
    refused(
        build(vec![Constraint::at_most("x", 1.0).with_formulation(
            proxy().with_minimum_radius(0.1).with_initial_radius(0.05),
        )]),
        "initial radius",
    );
}

/// TFCO's test problem: constant violations (0.6, -0.1, 0.4), initial
/// radius 0.8, SGD with step 1 on the state; the entries split over
/// constraints of `sizes` entries.
fn tfco_problem(sizes: &[usize]) -> (ConstrainedOptimizer, Vec<(String, Vec<f64>)>) {
    let violations = [0.6, -0.1, 0.4];
    let mut builder = ConstrainedOptimizer::builder().scheme(UpdateScheme::Simultaneous);
    let mut measured = Vec::new();
    let mut at = 0;
    for (k, n) in sizes.iter().enumerate() {
        let name = format!("c{k}");
        builder = builder.constraint(
            Constraint::at_most(name.clone(), 0.0)
                .with_entries(*n)
                .with_formulation(Formulation::proxy_lagrangian(GradientAscent::new(1.0)).with_initial_radius(0.8)),
        );
        measured.push((name, violations[at..at + n].to_vec()));
        at += n;
    }
    (builder.build().unwrap(), measured)
}

fn step_tfco(opt: &mut ConstrainedOptimizer, measured: &[(String, Vec<f64>)]) {
    let mut m = Measurements::new(0.0);
    for (name, values) in measured {
        m.insert(name.clone(), Measurement::entries(values.clone()));
    }
    opt.begin(m).unwrap().commit().unwrap();
}

#[test]
fn constraints_that_share_the_game_follow_the_one_constraint_trajectory() {
    // Entries (0.6), (-0.1, 0.4) in two constraints: one game over the three
    // entries, the same matrices and weights as one constraint of three.
    let (mut one, one_measured) = tfco_problem(&[3]);
    let (mut two, two_measured) = tfco_problem(&[1, 2]);
    for _ in 0..5 {
        step_tfco(&mut one, &one_measured);
        step_tfco(&mut two, &two_measured);
        let (a, b0, b1) = (
            proxy_state(&one, "c0"),
            proxy_state(&two, "c0"),
            proxy_state(&two, "c1"),
        );
        assert_eq!(a.log_matrix, b0.log_matrix);
        assert!(b1.log_matrix.is_empty());
        assert_eq!(a.multipliers, [b0.multipliers.clone(), b1.multipliers.clone()].concat());
        assert_eq!(
            (b0.objective_weight, b1.objective_weight),
            (a.objective_weight, a.objective_weight)
        );
    }
    // A saved game is refused when its players disagree.
    let mut state = two.state();
    if let FormulationState::ProxyLagrangian(s) = &mut state.constraints[1].state {
        s.objective_weight *= 0.5;
    }
    let e = two.restore(state).unwrap_err();
    assert!(e.to_string().contains("different weights"), "{e}");
}

#[test]
fn the_matrices_match_tfcos_own_known_answers() {
    // TFCO's `test_multiplicative_swap_proxy_lagrangian_optimizer`
    // (tensorflow_constrained_optimization, proxy_lagrangian_optimizer_test.py,
    // "calculated using a numpy+python implementation of the algorithm"):
    // constant violations (0.6, -0.1, 0.4), initial radius 0.8, SGD with
    // step 1 on the state; TFCO checks to 1e-6 (its float32 and its power
    // method's tolerance).
    let (mut opt, measured) = tfco_problem(&[3]);
    #[rustfmt::skip]
    let expected: [[f64; 16]; 3] = [
        [0.4, 0.4, 0.4, 0.4,
         0.2, 0.2, 0.2, 0.2,
         0.2, 0.2, 0.2, 0.2,
         0.2, 0.2, 0.2, 0.2],
        [0.36999014, 0.38528351, 0.38528351, 0.38528351,
         0.23517483, 0.21720297, 0.21720297, 0.21720297,
         0.17774131, 0.18882719, 0.18882719, 0.18882719,
         0.21709373, 0.20868632, 0.20868632, 0.20868632],
        [0.33972109, 0.36811863, 0.37118462, 0.36906575,
         0.27114826, 0.23738228, 0.23376693, 0.23626491,
         0.15712313, 0.17641793, 0.17858959, 0.17708679,
         0.23200752, 0.21808115, 0.21645886, 0.21758255],
    ];
    for (t, matrix) in expected.iter().enumerate() {
        let s = proxy_state(&opt, "c0");
        for (got, want) in s.log_matrix.iter().zip(matrix) {
            assert!(
                close(got.exp(), *want, 1e-8),
                "step {t}: {:?}",
                s.log_matrix.iter().map(|x| x.exp()).collect::<Vec<_>>()
            );
        }
        step_tfco(&mut opt, &measured);
    }
}

#[test]
fn a_game_kept_out_of_the_dual_update_does_not_move() {
    // Adam keeps momentum: a step with every player kept out of the dual
    // update must not let it move the matrix.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(Formulation::proxy_lagrangian(Adam::new(0.1))))
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap();
    opt.begin(Measurements::new(0.0).with("x", Measurement::scalar(3.0)))
        .unwrap()
        .commit()
        .unwrap();
    let before = proxy_state(&opt, "x");
    opt.begin(Measurements::new(0.0).with("x", Measurement::scalar(3.0).without_dual_update()))
        .unwrap()
        .commit()
        .unwrap();
    assert_eq!(proxy_state(&opt, "x"), before);
}
