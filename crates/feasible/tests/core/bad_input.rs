//! Bad input, as a new user (or a hand-edited file) would give it: every
//! case is a typed error naming the culprit, and changes no state.
//! (Solution selection and checkpoint temporaries: see `robustness`.)

use std::convert::Infallible;

use feasible::dual::EntryStates;
use feasible::formulation::FormulationState;
use feasible::penalty::{Penalty, PenaltyGrowth};
use feasible::{
    Adam, ConstrainedOptimizer, Constraint, ConstraintId, DualState, FeasibleError, Formulation, GradientAscent,
    History, Measurement, Measurements, NuPi, PrimalProblem, PrimalWeights, ProxyLagrangian, UpdateScheme,
};

use crate::common::{Replay, step_on};

fn scalar(formulation: impl Into<Formulation>, scheme: UpdateScheme) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(formulation))
        .scheme(scheme)
        .build()
        .unwrap()
}

/// Asserts a refused dual update of `quantity` to `value` for `entry`.
pub fn assert_non_finite(e: &FeasibleError, expected_entry: usize, expected_quantity: &str, expected_value: f64) {
    match e {
        FeasibleError::NonFiniteDualUpdate {
            constraint,
            entry,
            quantity,
            value,
        } => {
            assert!(constraint.contains('`'), "{e}");
            assert_eq!((*entry, quantity.as_str()), (expected_entry, expected_quantity), "{e}");
            assert_eq!(value.to_bits(), expected_value.to_bits(), "{e}");
        }
        other => panic!("expected a non-finite dual update, got {other}"),
    }
    assert!(e.to_string().contains("nothing changed"), "{e}");
}

// ---------------------------------------------------------------------------
// (1) Finite but huge violations, non-finite numbers in saved states.
// ---------------------------------------------------------------------------

#[test]
fn a_finite_but_huge_violation_that_overflows_the_dual_update_is_refused_with_nothing_changed() {
    for scheme in UpdateScheme::ALL {
        // Adam's second moment squares the violation: (1 - β₂)·1e320 = inf.
        let mut opt = scalar(Formulation::lagrangian(Adam::new(0.05)), scheme);
        step_on(&mut opt, "x", 3.0).unwrap();
        let before = opt.state();
        let e = step_on(&mut opt, "x", 1e160).unwrap_err();
        assert_non_finite(&e, 0, "v", f64::INFINITY);
        assert!(e.to_string().contains("constraint `x`"), "{e}");
        assert_eq!(opt.state(), before, "{}", scheme.name());
        assert_eq!(opt.steps(), 1);

        // Gradient ascent with an absurd step size: 1e200·1e160 = inf.
        let mut opt = scalar(Formulation::lagrangian(GradientAscent::new(1e200)), scheme);
        step_on(&mut opt, "x", 1.5).unwrap();
        let before = opt.state();
        assert_non_finite(&step_on(&mut opt, "x", 1e160).unwrap_err(), 0, "step", f64::INFINITY);
        assert_eq!(opt.state(), before);
        assert_eq!(opt.steps(), 1);

        // The augmented Lagrangian's classical step: λ + c g = 1e200·1e160.
        let mut opt = scalar(Formulation::augmented_lagrangian(1e200), scheme);
        assert_non_finite(
            &step_on(&mut opt, "x", 1e160).unwrap_err(),
            0,
            "multiplier",
            f64::INFINITY,
        );
        assert_eq!(opt.steps(), 0);

        // A growing penalty: 1 → 1e200 → inf.
        let mut opt = scalar(
            Formulation::quadratic_penalty(Penalty::new(1.0).with_updater(PenaltyGrowth::multiplicative(1e200))),
            scheme,
        );
        step_on(&mut opt, "x", 2.0).unwrap();
        assert_eq!(opt.penalty("x").unwrap(), Some(&[1e200][..]));
        let before = opt.state();
        assert_non_finite(
            &step_on(&mut opt, "x", 2.0).unwrap_err(),
            0,
            "penalty coefficient",
            f64::INFINITY,
        );
        assert_eq!(opt.state(), before);
    }
}

/// An optimizer with three constraints whose states hold every kind of
/// number: multipliers and a nuPI state, a smoothed violation, penalties.
fn three_constraints() -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("a", 1.0)
                .with_formulation(Formulation::lagrangian(NuPi::new(0.1, 1.0, 1.0)).with_smoothed_violation(0.5)),
        )
        .constraint(Constraint::at_most("b", 1.0).with_formulation(Formulation::augmented_lagrangian(2.0)))
        .constraint(
            Constraint::at_least("c", 1.0).with_formulation(Formulation::quadratic_penalty(
                Penalty::new(1.0).with_updater(PenaltyGrowth::additive(1.0)),
            )),
        )
        .build()
        .unwrap()
}

fn trained() -> ConstrainedOptimizer {
    let mut opt = three_constraints();
    let mut p = Replay::new(
        Measurements::new(0.0)
            .with("a", Measurement::scalar(2.0))
            .with("b", Measurement::scalar(2.0))
            .with("c", Measurement::scalar(0.0)),
    );
    for _ in 0..3 {
        p.step(&mut opt).unwrap();
    }
    opt
}

/// Every way to put a number in a state, each with a name for messages.
type Edit = (&'static str, fn(&mut DualState, f64));

fn edits() -> Vec<Edit> {
    fn lagrangian(state: &mut DualState) -> &mut feasible::formulation::LagrangianState {
        match &mut state.constraints[0].state {
            FormulationState::Lagrangian(s) => s,
            other => panic!("{}", other.name()),
        }
    }
    vec![
        ("multiplier", |s, v| {
            s.constraints[0].state.multipliers_mut().unwrap()[0] = v
        }),
        ("multiplier", |s, v| {
            s.constraints[1].state.multipliers_mut().unwrap()[0] = v
        }),
        ("penalty coefficient", |s, v| {
            s.constraints[1].state.penalty_mut().unwrap()[0] = v
        }),
        ("penalty coefficient", |s, v| {
            s.constraints[2].state.penalty_mut().unwrap()[0] = v
        }),
        ("xi", |s, v| {
            lagrangian(s).dual_optimizer.entries.get_mut(0).unwrap()[0] = v
        }),
        ("value", |s, v| {
            lagrangian(s).smoothed.as_mut().unwrap().get_mut(0).unwrap()[0] = v
        }),
    ]
}

#[test]
fn a_state_holding_nan_or_inf_is_not_saved_and_no_file_is_written() {
    let opt = trained();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ckpt");
    opt.state().save(&good).unwrap();
    let good_bytes = std::fs::read(&good).unwrap();
    for (what, edit) in edits() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut state = opt.state();
            edit(&mut state, bad);
            let e = state.to_json().unwrap_err();
            assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
            let text = e.to_string();
            assert!(text.contains(what) && text.contains(&bad.to_string()), "{text}");
            // A new file is not created; an existing one is left as it was.
            let fresh = dir.path().join("fresh.ckpt");
            assert_eq!(state.save(&fresh).unwrap_err().to_string(), text);
            assert!(!fresh.exists());
            assert!(state.save(&good).is_err());
            assert_eq!(std::fs::read(&good).unwrap(), good_bytes);
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["good.ckpt"], "no temporary file is left");
        }
    }
}

#[test]
fn restore_refuses_non_finite_numbers_anywhere_in_the_state_and_changes_nothing() {
    let mut opt = trained();
    let before = opt.state();
    for (what, edit) in edits() {
        for bad in [f64::NAN, f64::INFINITY] {
            let mut state = before.clone();
            edit(&mut state, bad);
            let e = opt.restore(state).unwrap_err();
            assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
            let text = e.to_string();
            assert!(text.contains(what) && text.contains(&bad.to_string()), "{what}: {text}");
            assert_eq!(opt.state(), before);
        }
    }
    // In JSON text a number too large for an f64 (1e999), NaN or null is
    // not a number the state can hold: refused when parsed, and a
    // checkpoint file holding one is refused when loaded.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.ckpt");
    let sentinel = 0.123456789;
    for (what, edit) in edits() {
        let mut state = before.clone();
        edit(&mut state, sentinel);
        let json = state.to_json().unwrap();
        assert_eq!(json.matches("0.123456789").count(), 1, "{what}");
        DualState::from_json(&json).unwrap();
        for bad in ["1e999", "-1e999", "NaN", "null", "\"inf\""] {
            let edited = json.replace("0.123456789", bad);
            let e = DualState::from_json(&edited).unwrap_err();
            assert!(matches!(e, FeasibleError::Serialization { .. }), "{what} = {bad}: {e}");
            feasible::checkpoint::write_atomic(&path, DualState::CHECKPOINT_KIND, edited.as_bytes()).unwrap();
            let e = DualState::load(&path).unwrap_err();
            assert!(
                matches!(&e, FeasibleError::CorruptCheckpoint { reason, .. } if reason.contains("not a dual state")),
                "{what} = {bad}: {e}"
            );
        }
    }
    assert_eq!(opt.state(), before);
}

#[test]
fn restore_refuses_a_smoothed_violation_with_other_fields_and_changes_nothing() {
    let mut opt = trained();
    let before = opt.state();
    fn smoothed(state: &mut DualState) -> &mut EntryStates {
        match &mut state.constraints[0].state {
            FormulationState::Lagrangian(s) => s.smoothed.as_mut().expect("a smoothed violation"),
            other => panic!("{}", other.name()),
        }
    }
    for fields in [
        &["value"][..],
        &[],
        &["started", "value"],
        &["value", "started", "more"],
    ] {
        let mut state = before.clone();
        *smoothed(&mut state) = EntryStates::new(fields, 1).unwrap();
        let e = opt.restore(state).unwrap_err();
        assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("constraint `a`") && text.contains(&format!("smoothed violation keeps {fields:?}")),
            "{text}"
        );
        assert!(text.contains(r#"this constraint keeps ["value", "started"]"#), "{text}");
        assert_eq!(opt.state(), before);
    }
    // The same from a hand-edited file.
    let json = before.to_json().unwrap();
    let at = json.find(r#""smoothed""#).unwrap();
    let edited = format!("{}{}", &json[..at], json[at..].replace(r#""started""#, r#""begun""#));
    let e = opt.restore(DualState::from_json(&edited).unwrap()).unwrap_err();
    assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
    assert!(e.to_string().contains(r#"keeps ["value", "begun"]"#), "{e}");
    assert_eq!(opt.state(), before);
    // The optimizer still steps from its own state.
    let mut p = Replay::new(
        Measurements::new(0.0)
            .with("a", Measurement::scalar(2.0))
            .with("b", Measurement::scalar(2.0))
            .with("c", Measurement::scalar(0.0)),
    );
    p.step(&mut opt).unwrap();
}

#[test]
fn restore_refuses_multipliers_beyond_the_upper_bound() {
    // λ = 2 (one step of 1·g, g = 2) saved without a bound does not load
    // where λ_max = 1.5.
    let pairs: [(Formulation, Formulation); 2] = [
        (
            Formulation::lagrangian(GradientAscent::new(1.0)).into(),
            Formulation::lagrangian(GradientAscent::new(1.0))
                .with_upper_bound(1.5)
                .into(),
        ),
        (
            Formulation::augmented_lagrangian(0.0)
                .with_dual_optimizer(GradientAscent::new(1.0))
                .into(),
            Formulation::augmented_lagrangian(0.0)
                .with_dual_optimizer(GradientAscent::new(1.0))
                .with_upper_bound(1.5)
                .into(),
        ),
    ];
    for (unbounded, bounded) in pairs {
        let mut free = scalar(unbounded, UpdateScheme::Simultaneous);
        step_on(&mut free, "x", 3.0).unwrap();
        let mut saved = free.state();
        assert_eq!(saved.constraints[0].state.multipliers(), Some(&[2.0][..]));
        let mut bounded = scalar(bounded, UpdateScheme::Simultaneous);
        let before = bounded.state();
        let e = bounded.restore(saved.clone()).unwrap_err();
        assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("`x`") && text.contains("entry 0 is 2") && text.contains("upper bound 1.5"),
            "{text}"
        );
        assert_eq!(bounded.state(), before);
        // At the bound it loads.
        saved.constraints[0].state.multipliers_mut().unwrap()[0] = 1.5;
        bounded.restore(saved).unwrap();
    }
}

// ---------------------------------------------------------------------------
// (2) Constraint ids of another optimizer.
// ---------------------------------------------------------------------------

/// What `PrimalWeights` answers for an id: `value_coefficients`,
/// `value_coefficient`, `violation_weights`.
type Answer = (Option<Vec<f64>>, Option<f64>, Option<Vec<f64>>);

/// Measures by id and records what the weights say about some ids.
struct ById {
    measure_as: ConstraintId,
    asked: Vec<ConstraintId>,
    answers: Vec<Answer>,
}

impl PrimalProblem for ById {
    type Point = ();
    type Error = Infallible;

    fn measure(&mut self, _: &()) -> Result<Measurements, Infallible> {
        Ok(Measurements::new(0.0).with_id(self.measure_as, Measurement::scalar(3.0)))
    }

    fn descend(&mut self, _: &(), _: &(), weights: &PrimalWeights) -> Result<(), Infallible> {
        self.answers = self
            .asked
            .iter()
            .map(|id| {
                (
                    weights.value_coefficients(*id),
                    weights.value_coefficient(*id),
                    weights.violation_weights(*id).map(<[f64]>::to_vec),
                )
            })
            .collect();
        Ok(())
    }
}

#[test]
fn a_constraint_id_of_another_optimizer_is_refused_even_with_identical_constraints() {
    let build = || {
        scalar(
            Formulation::lagrangian_from(GradientAscent::new(1.0), 0.5),
            UpdateScheme::Simultaneous,
        )
    };
    let (mut a, mut b) = (build(), build());
    let (id_a, id_b) = (a.id("x").unwrap(), b.id("x").unwrap());
    assert_ne!(id_a, id_b);
    assert_eq!(id_a.index(), id_b.index());
    let before = b.state();
    let mut foreign = ById {
        measure_as: id_a,
        asked: Vec::new(),
        answers: Vec::new(),
    };
    let e = b.step(&mut foreign, &()).unwrap_err();
    assert!(
        matches!(&e, FeasibleError::ForeignConstraintId { index: 0, declared } if declared == "x"),
        "{e}"
    );
    assert!(e.to_string().contains("another optimizer") && e.to_string().contains("declared here: x"));
    assert_eq!(b.state(), before);
    assert_eq!(b.steps(), 0);
    // An id of an optimizer with more constraints is refused the same way.
    let wider = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("y", 1.0))
        .constraint(Constraint::at_most("x", 1.0))
        .build()
        .unwrap();
    foreign.measure_as = wider.id("x").unwrap();
    let e = b.step(&mut foreign, &()).unwrap_err();
    assert!(matches!(e, FeasibleError::ForeignConstraintId { index: 1, .. }), "{e}");
    assert_eq!(b.state(), before);

    // The weights of b answer for b's ids only: λ0 = 0.5 (simultaneous).
    let mut own = ById {
        measure_as: id_b,
        asked: vec![id_a, id_b],
        answers: Vec::new(),
    };
    b.step(&mut own, &()).unwrap();
    assert_eq!(own.answers[0], (None, None, None));
    assert_eq!(own.answers[1], (Some(vec![0.5]), Some(0.5), Some(vec![0.5])));
    // And a's own id works with a.
    let mut mine = ById {
        measure_as: id_a,
        asked: vec![id_a],
        answers: Vec::new(),
    };
    a.step(&mut mine, &()).unwrap();
    assert_eq!(mine.answers[0].1, Some(0.5));
}

// ---------------------------------------------------------------------------
// (3) Observers see only committed steps.
// ---------------------------------------------------------------------------

#[test]
fn observers_see_exactly_the_committed_steps_in_order_whatever_fails_in_between() {
    let scalar_m = |v: f64| Measurements::new(0.0).with("x", Measurement::scalar(v));
    for scheme in UpdateScheme::ALL {
        let history = History::new();
        let mut opt = ConstrainedOptimizer::builder()
            .constraint(Constraint::at_most("x", 1.0).with_formulation(Formulation::lagrangian(Adam::new(0.1))))
            .scheme(scheme)
            .observer(history.clone())
            .build()
            .unwrap();
        let mut committed = Vec::new();
        let ok = |opt: &mut ConstrainedOptimizer, committed: &mut Vec<f64>| {
            Replay::new(scalar_m(3.0)).step(opt).unwrap();
            committed.push(opt.multipliers("x").unwrap().unwrap()[0]);
        };
        ok(&mut opt, &mut committed);
        // A NaN at the first measurement, or (re-measuring schemes) at the second.
        assert!(Replay::new(scalar_m(f64::NAN)).step(&mut opt).is_err());
        assert!(
            Replay::new(scalar_m(3.0))
                .with_second(scalar_m(f64::NAN))
                .step(&mut opt)
                .is_err()
                == scheme.remeasures()
        );
        if !scheme.remeasures() {
            // That step was committed; it is the second one.
            committed.push(opt.multipliers("x").unwrap().unwrap()[0]);
        }
        ok(&mut opt, &mut committed);
        // A dual update that overflows (Adam squares 1e160).
        assert!(matches!(
            step_on(&mut opt, "x", 1e160),
            Err(FeasibleError::NonFiniteDualUpdate { .. })
        ));
        ok(&mut opt, &mut committed);
        let reports = history.reports();
        assert_eq!(reports.len() as u64, opt.steps(), "{}", scheme.name());
        assert_eq!(
            reports.iter().map(|r| r.step).collect::<Vec<_>>(),
            (1..=opt.steps()).collect::<Vec<_>>()
        );
        let seen: Vec<f64> = reports
            .iter()
            .map(|r| r.constraints[0].multipliers.as_ref().unwrap()[0])
            .collect();
        assert_eq!(seen, committed, "{}", scheme.name());
    }
}

// ---------------------------------------------------------------------------
// (4) Sizes.
// ---------------------------------------------------------------------------

#[test]
fn absurd_sizes_are_typed_errors_at_build_not_aborts() {
    let formulations = || -> Vec<Formulation> {
        vec![
            Formulation::lagrangian(GradientAscent::new(0.1)).into(),
            Formulation::lagrangian(NuPi::new(0.1, 1.0, 1.0))
                .with_smoothed_violation(0.5)
                .into(),
            Formulation::augmented_lagrangian(1.0).into(),
            Formulation::quadratic_penalty(Penalty::new(1.0).per_entry()).into(),
        ]
    };
    for entries in [usize::MAX, 1_000_000_000_000, usize::MAX / 16] {
        for indexed in [false, true] {
            for formulation in formulations() {
                let name = formulation.name();
                let mut constraint = Constraint::at_most("loss_i", 0.5)
                    .with_entries(entries)
                    .with_formulation(formulation);
                if indexed {
                    constraint = constraint.indexed();
                }
                let e = ConstrainedOptimizer::builder()
                    .constraint(constraint)
                    .build()
                    .unwrap_err();
                assert!(
                    matches!(&e, FeasibleError::TooLarge { what } if what.contains(&entries.to_string())),
                    "{name}, {entries}: {e}"
                );
                assert!(e.to_string().contains("cannot be allocated"), "{e}");
            }
        }
    }
}

#[test]
fn an_absurd_proxy_lagrangian_game_is_a_typed_error_at_build_not_an_abort() {
    let proxy = || Formulation::proxy_lagrangian(Adam::new(0.1));
    let too_large = |e: &FeasibleError, entries: usize| {
        assert!(
            matches!(e, FeasibleError::TooLarge { what } if what.contains(&format!("game of {entries} entries"))),
            "{entries}: {e}"
        );
        assert!(e.to_string().contains("cannot be allocated"), "{e}");
    };
    for entries in [usize::MAX, usize::MAX / 2, 1 << 31, ProxyLagrangian::MAX_ENTRIES + 1] {
        let e = ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("rates", 0.5)
                    .with_entries(entries)
                    .with_formulation(proxy()),
            )
            .build()
            .unwrap_err();
        too_large(&e, entries);
    }
    // Two constraints within the limit that together exceed it: one game.
    let half = ProxyLagrangian::MAX_ENTRIES / 2 + 1;
    let e = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("a", 0.5)
                .with_entries(half)
                .with_formulation(proxy()),
        )
        .constraint(
            Constraint::at_most("b", 0.5)
                .with_entries(half)
                .with_formulation(proxy()),
        )
        .build()
        .unwrap_err();
    too_large(&e, 2 * half);
}

/// The resident memory of this process, in bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_billion_indexed_entries_build_without_allocating_their_state_and_step_on_a_batch() {
    let n = 1_000_000_000;
    let resident = resident_bytes();
    let started = std::time::Instant::now();
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("loss_i", 0.5)
                .with_entries(n)
                .indexed()
                .with_formulation(Formulation::lagrangian(NuPi::new(0.5, 1.0, 1.0))),
        )
        .build()
        .unwrap();
    let build_time = started.elapsed();
    let allocated = |opt: &ConstrainedOptimizer| {
        opt.constraint_state("loss_i")
            .unwrap()
            .dual_optimizer()
            .unwrap()
            .entries
            .allocated_bytes()
    };
    // The page table only: far below the 16 GB of a dense (ξ, started) store.
    assert!(allocated(&opt) < 10_000_000, "{}", allocated(&opt));
    // nuPI from zeros, K_p = K_i = 1: the first step is 0.5·2g.
    let mut batch = Replay::new(
        Measurements::new(0.0).with("loss_i", Measurement::indexed(vec![5, n - 1, 5], vec![1.0, 1.5, 2.0])),
    );
    let report = batch.step(&mut opt).unwrap();
    // Entry 5: mean violation (0.5 + 1.5)/2 = 1, λ = 1; entry n-1: g = 1, λ = 1.
    let m = opt.multipliers("loss_i").unwrap().unwrap();
    assert_eq!((m[5], m[n - 1], m[0], m[n / 2]), (1.0, 1.0, 0.0, 0.0));
    assert_eq!(report.constraints[0].multipliers, Some(vec![1.0, 1.0, 1.0]));
    let state = opt.constraint_state("loss_i").unwrap().dual_optimizer().unwrap();
    assert_eq!(
        (state.entries.get(5).unwrap(), state.entries.get(n - 1).unwrap()),
        (&[1.0, 1.0][..], &[1.0, 1.0][..])
    );
    // Two pages of 1024 entries × 2 numbers were written.
    assert!(allocated(&opt) < 10_000_000 + 2 * 1024 * 16, "{}", allocated(&opt));
    if let (Some(before), Some(after)) = (resident, resident_bytes()) {
        // 8 GB of multipliers and 16 GB of optimizer state were not touched.
        let grown = after.saturating_sub(before);
        assert!(grown < 1 << 29, "resident memory grew by {grown} bytes");
    }
    assert!(build_time.as_secs() < 30, "{build_time:?}");
}

// ---------------------------------------------------------------------------
// (6) A state for one requirement does not load into another.
// ---------------------------------------------------------------------------

#[test]
fn a_state_saved_for_one_sense_or_target_does_not_load_into_another_and_says_both() {
    let build = |constraint: Constraint| {
        ConstrainedOptimizer::builder()
            .constraint(constraint.with_formulation(Formulation::lagrangian(GradientAscent::new(0.1))))
            .build()
            .unwrap()
    };
    let saved = build(Constraint::at_least("rate", 0.4)).state();
    for other in [Constraint::at_most("rate", 0.9), Constraint::at_least("rate", 0.5)] {
        let declared = other.to_string();
        let mut opt = build(other);
        let before = opt.state();
        let e = opt.restore(saved.clone()).unwrap_err();
        assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("`rate >= 0.4`") && text.contains(&format!("`{declared}`")),
            "{text}"
        );
        assert_eq!(opt.state(), before);
    }
    // Per-entry targets: both vectors are shown.
    let targets = |t: Vec<f64>| Constraint::equal_to("Ax", 0.0).with_entries(2).with_targets(t);
    let saved = build(targets(vec![1.0, -3.0])).state();
    let e = build(targets(vec![1.0, -2.0]))
        .restore(saved.clone())
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1.0, -3.0]") && e.contains("[1.0, -2.0]"), "{e}");
    let e = build(Constraint::equal_to("Ax", 1.0).with_entries(2))
        .restore(saved)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1.0, -3.0]") && e.contains("`Ax == 1`"), "{e}");
}

// ---------------------------------------------------------------------------
// (8) Messages that say what was expected and what was given.
// ---------------------------------------------------------------------------

#[test]
fn messages_name_both_sides_of_a_mismatch() {
    // Sample ids and values of different lengths.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("loss_i", 0.5).with_entries(10).indexed())
        .build()
        .unwrap();
    let before = opt.state();
    let e = Replay::new(Measurements::new(0.0).with("loss_i", Measurement::indexed(vec![1, 2, 3], vec![0.1, 0.2])))
        .step(&mut opt)
        .unwrap_err();
    assert!(
        matches!(e, FeasibleError::IdsValuesMismatch { ids: 3, values: 2, .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("`loss_i`: 3 sample ids were given with 2 differentiable values"),
        "{e}"
    );
    assert_eq!(opt.state(), before);

    // The wrong dual optimizer, formulation or size on restore.
    let nupi = scalar(
        Formulation::lagrangian(NuPi::new(0.1, 1.0, 1.0)),
        UpdateScheme::Simultaneous,
    );
    let mut ascent = scalar(
        Formulation::lagrangian(GradientAscent::new(0.1)),
        UpdateScheme::Simultaneous,
    );
    let untouched = ascent.state();
    let e = ascent.restore(nupi.state()).unwrap_err().to_string();
    assert!(
        e.contains("constraint `x`: it holds a `nupi` dual optimizer state, this constraint uses `gradient_ascent`"),
        "{e}"
    );
    let e = nupi.state().check_fits(ascent.constraints()).unwrap_err().to_string();
    assert!(e.contains("`nupi`") && e.contains("`gradient_ascent`"), "{e}");
    let augmented = scalar(Formulation::augmented_lagrangian(1.0), UpdateScheme::Simultaneous);
    let e = ascent.restore(augmented.state()).unwrap_err().to_string();
    assert!(
        e.contains("augmented_lagrangian state") && e.contains("uses the lagrangian formulation"),
        "{e}"
    );
    let wide = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_entries(3))
        .build()
        .unwrap();
    let e = ascent.restore(wide.state()).unwrap_err().to_string();
    assert!(e.contains("it has 3 entries, this problem declares 1"), "{e}");
    assert_eq!(ascent.state(), untouched);
}
