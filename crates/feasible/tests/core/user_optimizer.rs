//! A user's own dual optimizers and penalty updater, written here entirely
//! through the public API as an outside crate would: heavy-ball ascent,
//! AdaGrad ascent, and an optimizer that misbehaves on purpose. They train,
//! save and resume bit for bit, are told apart from other optimizers on
//! restore, and a step that would make their numbers non-finite is refused
//! with nothing changed.

use feasible::dual::PerEntry;
use feasible::penalty::{Penalty, PenaltyUpdater};
use feasible::{
    ConstrainedOptimizer, Constraint, DualOptimizer, DualState, FeasibleError, Formulation, Measurement, Measurements,
    NuPi, Result, UpdateScheme,
};

use crate::bad_input::assert_non_finite;
use crate::common::{LinearlyConstrainedQuadratic, Replay, bits, close, run, step_on};

// ---------------------------------------------------------------------------
// The user's optimizers.
// ---------------------------------------------------------------------------

/// Heavy-ball ascent: `v ← β v + e`, step `η v`, with a step size per entry
/// if the user wants one.
#[derive(Clone, Debug)]
pub struct HeavyBall {
    pub lr: PerEntry,
    pub beta: f64,
}

impl HeavyBall {
    pub fn new(lr: f64, beta: f64) -> Self {
        Self {
            lr: PerEntry::Shared(lr),
            beta,
        }
    }
}

impl DualOptimizer for HeavyBall {
    fn name(&self) -> &str {
        "heavy_ball"
    }

    fn state_fields(&self) -> &'static [&'static str] {
        &["velocity"]
    }

    fn validate(&self, owner: &str, entries: usize) -> Result<()> {
        let invalid = |name, value, requirement| FeasibleError::InvalidHyperparameter {
            owner: owner.to_string(),
            name,
            value,
            requirement,
        };
        let lrs: &[f64] = match &self.lr {
            PerEntry::Shared(lr) => std::slice::from_ref(lr),
            PerEntry::Entries(lrs) if lrs.len() != entries => {
                return Err(invalid(
                    "heavy-ball step sizes",
                    lrs.len() as f64,
                    "one step size per entry",
                ));
            }
            PerEntry::Entries(lrs) => lrs,
        };
        if let Some(lr) = lrs.iter().find(|lr| !(lr.is_finite() && **lr >= 0.0)) {
            return Err(invalid("heavy-ball step size", *lr, "must be a finite number >= 0"));
        }
        if !(self.beta.is_finite() && (0.0..1.0).contains(&self.beta)) {
            return Err(invalid("heavy-ball momentum", self.beta, "must be in [0, 1)"));
        }
        Ok(())
    }

    fn step(&self, entry: usize, gradient: f64, state: &mut [f64]) -> f64 {
        state[0] = self.beta * state[0] + gradient;
        self.lr.get(entry) * state[0]
    }
}

/// AdaGrad ascent: `s ← s + e²`, step `η e / √s`. Squares overflow first.
#[derive(Clone, Debug)]
pub struct AdaGrad {
    pub lr: f64,
}

impl DualOptimizer for AdaGrad {
    fn name(&self) -> &str {
        "adagrad"
    }

    fn state_fields(&self) -> &'static [&'static str] {
        &["sum_squares"]
    }

    fn validate(&self, _owner: &str, _entries: usize) -> Result<()> {
        Ok(())
    }

    fn step(&self, _entry: usize, gradient: f64, state: &mut [f64]) -> f64 {
        state[0] += gradient * gradient;
        if state[0] > 0.0 {
            self.lr * gradient / state[0].sqrt()
        } else {
            0.0
        }
    }
}

/// Gradient ascent that marks every entry it steps, returns an infinite
/// step for a gradient above 10 and poisons its state below -10.
#[derive(Clone, Debug)]
struct Faulty;

impl DualOptimizer for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }

    fn state_fields(&self) -> &'static [&'static str] {
        &["seen"]
    }

    fn validate(&self, _owner: &str, _entries: usize) -> Result<()> {
        Ok(())
    }

    fn step(&self, _entry: usize, gradient: f64, state: &mut [f64]) -> f64 {
        state[0] = 1.0;
        if gradient > 10.0 {
            f64::INFINITY
        } else if gradient < -10.0 {
            state[0] = f64::NAN;
            0.0
        } else {
            0.1 * gradient
        }
    }
}

/// Same name as [`HeavyBall`], but it keeps another number per entry.
#[derive(Clone, Debug)]
struct CountingHeavyBall;

impl DualOptimizer for CountingHeavyBall {
    fn name(&self) -> &str {
        "heavy_ball"
    }

    fn state_fields(&self) -> &'static [&'static str] {
        &["velocity", "steps"]
    }

    fn validate(&self, _owner: &str, _entries: usize) -> Result<()> {
        Ok(())
    }

    fn step(&self, _entry: usize, gradient: f64, state: &mut [f64]) -> f64 {
        state[1] += 1.0;
        state[0] = 0.5 * state[0] + gradient;
        0.1 * state[0]
    }
}

fn one_dimensional(scheme: UpdateScheme, formulation: impl Into<Formulation>) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("x", 1.0).with_formulation(formulation))
        .scheme(scheme)
        .build()
        .unwrap()
}

/// `min (x - 2)²  s.t.  x <= 1` (x* = 1, λ* = 2), primal step `lr`.
fn problem(optimizer: &ConstrainedOptimizer, lr: f64) -> LinearlyConstrainedQuadratic {
    LinearlyConstrainedQuadratic::new(&[2.0], &[("x", &[&[1.0]])], lr).bind(optimizer)
}

fn state_of(optimizer: &ConstrainedOptimizer, name: &str, entry: usize) -> Vec<f64> {
    optimizer
        .constraint_state(name)
        .unwrap()
        .dual_optimizer()
        .expect("a dual optimizer state")
        .entries
        .get(entry)
        .unwrap()
        .to_vec()
}

// ---------------------------------------------------------------------------
// Heavy ball: hand-computed steps, training, exact resume.
// ---------------------------------------------------------------------------

#[test]
fn heavy_ball_first_steps_match_hand_computation() {
    // η = 0.5, β = 0.5, simultaneous, primal step 0.1, x0 = 3, g = x - 1.
    // 1: g = 2,    v = 2,               λ1 = 1,              x1 = 3 - 0.1·2 = 2.8
    // 2: g = 1.8,  v = 1 + 1.8 = 2.8,   λ2 = 1 + 1.4 = 2.4,  x2 = 2.8 - 0.1 (1.6 + 1) = 2.54
    // 3: g = 1.54, v = 1.4 + 1.54 = 2.94, λ3 = 2.4 + 1.47 = 3.87, x3 = 2.54 - 0.1 (1.08 + 2.4) = 2.192
    let mut opt = one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::lagrangian(HeavyBall::new(0.5, 0.5)),
    );
    let mut p = problem(&opt, 0.1);
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 3);
    let multipliers: Vec<f64> = reports
        .iter()
        .map(|r| r.constraints[0].multipliers.as_ref().unwrap()[0])
        .collect();
    for (got, expected) in multipliers.iter().zip([1.0, 2.4, 3.87]) {
        assert!(close(*got, expected, 1e-14), "{multipliers:?}");
    }
    assert!(close(x[0], 2.192, 1e-14), "{x:?}");
    let velocity = state_of(&opt, "x", 0);
    assert!(close(velocity[0], 2.94, 1e-14), "{velocity:?}");
    let state = opt.state();
    let saved = state.constraints[0].state.dual_optimizer().unwrap();
    assert_eq!(saved.optimizer, "heavy_ball");
    assert_eq!(saved.entries.fields(), ["velocity"]);
}

#[test]
fn heavy_ball_trains_to_the_kkt_point_under_every_scheme() {
    for scheme in UpdateScheme::ALL {
        let mut opt = one_dimensional(scheme, Formulation::lagrangian(HeavyBall::new(0.05, 0.5)));
        let mut p = problem(&opt, 0.05);
        let (x, reports) = run(&mut opt, &mut p, &[3.0], 6000);
        let lambda = opt.multipliers("x").unwrap().unwrap()[0];
        assert!(close(x[0], 1.0, 1e-8), "{}: x = {x:?}", scheme.name());
        assert!(close(lambda, 2.0, 1e-8), "{}: λ = {lambda}", scheme.name());
        assert!(reports.last().unwrap().feasible);
        // At the fixed point the velocity is e / (1 - β) = 0.
        assert!(state_of(&opt, "x", 0)[0].abs() < 1e-8);
    }
}

#[test]
fn heavy_ball_resumes_bit_for_bit_from_a_checkpoint_file() {
    for scheme in UpdateScheme::ALL {
        let build = || {
            ConstrainedOptimizer::builder()
                .constraint(
                    Constraint::at_most("x1", 1.0).with_formulation(Formulation::lagrangian(HeavyBall::new(0.3, 0.7))),
                )
                .constraint(
                    Constraint::equal_to("sum", 0.3)
                        .with_formulation(Formulation::lagrangian(HeavyBall::new(0.1, 0.9))),
                )
                .scheme(scheme)
                .build()
                .unwrap()
        };
        let rows: &[(&str, &[&[f64]])] = &[("x1", &[&[1.0, 0.0]]), ("sum", &[&[1.0, 1.0]])];
        let x0 = [0.123, -0.77];
        let mut straight = build();
        let mut p = LinearlyConstrainedQuadratic::new(&[2.0, 1.0], rows, 0.03).bind(&straight);
        let (x_straight, _) = run(&mut straight, &mut p, &x0, 100);

        let mut first = build();
        p = p.bind(&first);
        let (x_half, _) = run(&mut first, &mut p, &x0, 50);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dual.ckpt");
        first.state().save(&path).unwrap();
        let mut resumed = build();
        resumed.restore(DualState::load(&path).unwrap()).unwrap();
        assert_eq!(resumed.steps(), 50);
        p = p.bind(&resumed);
        let (x_resumed, _) = run(&mut resumed, &mut p, &x_half, 50);

        assert_eq!(bits(&x_resumed), bits(&x_straight), "{}", scheme.name());
        for name in ["x1", "sum"] {
            let a = resumed.multipliers(name).unwrap().unwrap();
            let b = straight.multipliers(name).unwrap().unwrap();
            assert_eq!(bits(a), bits(b), "{} / {name}", scheme.name());
            assert_eq!(bits(&state_of(&resumed, name, 0)), bits(&state_of(&straight, name, 0)));
        }
        assert_eq!(resumed.state(), straight.state());
    }
}

#[test]
fn per_entry_step_sizes_follow_the_entry_id_of_an_indexed_constraint() {
    // The optimizer receives each entry's id, not its position in the batch:
    // ids 3 and 1 with violation 1 take steps 0.4 and 0.2.
    let mut opt = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("loss_i", 0.0)
                .with_entries(4)
                .indexed()
                .with_formulation(Formulation::lagrangian(HeavyBall {
                    lr: PerEntry::Entries(vec![0.1, 0.2, 0.3, 0.4]),
                    beta: 0.5,
                })),
        )
        .build()
        .unwrap();
    let mut batch =
        Replay::new(Measurements::new(0.0).with("loss_i", Measurement::indexed(vec![3, 1], vec![1.0, 1.0])));
    batch.step(&mut opt).unwrap();
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[0.0, 0.2, 0.0, 0.4]);
    // Second step: v = 0.5 + 1 = 1.5 for both.
    batch.step(&mut opt).unwrap();
    let m = opt.multipliers("loss_i").unwrap().unwrap();
    assert!(close(m[1], 0.2 + 0.3, 1e-15) && close(m[3], 0.4 + 0.6, 1e-15), "{m:?}");
    assert_eq!(state_of(&opt, "loss_i", 0), [0.0]);
    assert_eq!(state_of(&opt, "loss_i", 3), [1.5]);
}

#[test]
fn a_users_validation_errors_reach_the_caller_naming_the_constraint() {
    let err = |optimizer: HeavyBall| {
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("gap", 0.1)
                    .with_entries(2)
                    .with_formulation(Formulation::lagrangian(optimizer)),
            )
            .build()
            .unwrap_err()
    };
    let e = err(HeavyBall {
        lr: PerEntry::Entries(vec![0.1, 0.2, 0.3]),
        beta: 0.5,
    });
    assert!(
        matches!(&e, FeasibleError::InvalidHyperparameter { owner, name: "heavy-ball step sizes", value, .. }
            if owner.contains("`gap`") && *value == 3.0),
        "{e}"
    );
    let e = err(HeavyBall::new(0.1, 1.0)).to_string();
    assert!(e.contains("`gap`") && e.contains("heavy-ball momentum = 1"), "{e}");
    let e = err(HeavyBall::new(-0.1, 0.5)).to_string();
    assert!(e.contains("heavy-ball step size = -0.1"), "{e}");
}

// ---------------------------------------------------------------------------
// Checkpoints of one optimizer are refused by another.
// ---------------------------------------------------------------------------

#[test]
fn a_checkpoint_is_refused_by_a_constraint_using_another_optimizer_naming_both() {
    let trained = |formulation: Formulation| {
        let mut opt = one_dimensional(UpdateScheme::Simultaneous, formulation);
        let mut p = problem(&opt, 0.1);
        run(&mut opt, &mut p, &[3.0], 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dual.ckpt");
        opt.state().save(&path).unwrap();
        DualState::load(&path).unwrap()
    };
    let heavy_ball = trained(Formulation::lagrangian(HeavyBall::new(0.1, 0.5)).into());
    let nupi = trained(Formulation::lagrangian(NuPi::new(0.1, 1.0, 1.0)).into());
    let adagrad = trained(Formulation::lagrangian(AdaGrad { lr: 0.1 }).into());

    let refuse = |formulation: Formulation, state: &DualState| {
        let mut opt = one_dimensional(UpdateScheme::Simultaneous, formulation);
        step_on(&mut opt, "x", 2.0).unwrap();
        let before = opt.state();
        let e = opt.restore(state.clone()).unwrap_err();
        assert!(matches!(e, FeasibleError::StateMismatch { .. }), "{e}");
        assert_eq!(opt.state(), before);
        assert_eq!(opt.steps(), 1);
        e.to_string()
    };
    let e = refuse(Formulation::lagrangian(NuPi::new(0.1, 1.0, 1.0)).into(), &heavy_ball);
    assert!(
        e.contains("`heavy_ball`") && e.contains("`nupi`") && e.contains("`x`"),
        "{e}"
    );
    let e = refuse(Formulation::lagrangian(HeavyBall::new(0.1, 0.5)).into(), &nupi);
    assert!(e.contains("`nupi`") && e.contains("`heavy_ball`"), "{e}");
    let e = refuse(Formulation::lagrangian(HeavyBall::new(0.1, 0.5)).into(), &adagrad);
    assert!(e.contains("`adagrad`") && e.contains("`heavy_ball`"), "{e}");
    // The same name with other state fields is refused too, naming the fields.
    let e = refuse(Formulation::lagrangian(CountingHeavyBall).into(), &heavy_ball);
    assert!(
        e.contains(r#"["velocity"]"#) && e.contains(r#"["velocity", "steps"]"#),
        "{e}"
    );
    // An augmented Lagrangian taking the user's optimizer for its dual step
    // refuses a checkpoint of its classical step, and the other way round.
    let classical = trained(Formulation::augmented_lagrangian(1.0).into());
    let e = refuse(
        Formulation::augmented_lagrangian(1.0)
            .with_dual_optimizer(HeavyBall::new(0.1, 0.5))
            .into(),
        &classical,
    );
    assert!(e.contains("classical") && e.contains("`heavy_ball`"), "{e}");
    // Its own checkpoint loads.
    let mut opt = one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::lagrangian(HeavyBall::new(0.1, 0.5)),
    );
    opt.restore(heavy_ball.clone()).unwrap();
    assert_eq!(opt.state(), heavy_ball);
}

// ---------------------------------------------------------------------------
// Non-finite results are refused with nothing changed.
// ---------------------------------------------------------------------------

#[test]
fn a_huge_violation_that_overflows_a_users_state_is_refused_with_nothing_changed() {
    // AdaGrad squares the violation: 1e160² overflows its sum of squares.
    let mut opt = one_dimensional(UpdateScheme::Simultaneous, Formulation::lagrangian(AdaGrad { lr: 0.1 }));
    // First a normal step: s = 4, λ = 0.1·2/2 = 0.1.
    step_on(&mut opt, "x", 3.0).unwrap();
    assert!(close(opt.multipliers("x").unwrap().unwrap()[0], 0.1, 1e-15));
    let before = opt.state();
    let e = step_on(&mut opt, "x", 1e160).unwrap_err();
    assert_non_finite(&e, 0, "sum_squares", f64::INFINITY);
    if let FeasibleError::NonFiniteDualUpdate { constraint, .. } = &e {
        assert_eq!(constraint, "constraint `x`");
    }
    assert_eq!(opt.state(), before);
    assert_eq!(opt.steps(), 1);
    assert_eq!(state_of(&opt, "x", 0), [4.0]);

    // Heavy ball with β = 0.5 on g = 1e308: v = 1e308, 1.5e308, 1.75e308,
    // then 1.875e308 > f64::MAX: the fourth step is refused.
    let mut opt = one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::lagrangian(HeavyBall::new(0.1, 0.5)),
    );
    for expected in [1e308, 1.5e308, 1.75e308] {
        step_on(&mut opt, "x", 1e308).unwrap();
        let v = state_of(&opt, "x", 0)[0];
        assert!(close(v / expected, 1.0, 1e-15), "{v}");
    }
    let lambda = opt.multipliers("x").unwrap().unwrap()[0];
    assert!(close(lambda / 0.425e308, 1.0, 1e-15), "{lambda}");
    let before = opt.state();
    let e = step_on(&mut opt, "x", 1e308).unwrap_err();
    assert!(
        matches!(&e, FeasibleError::NonFiniteDualUpdate { quantity, .. } if quantity == "velocity"),
        "{e}"
    );
    assert_eq!(opt.state(), before);
    assert_eq!(opt.steps(), 3);
}

#[test]
fn an_optimizer_producing_inf_or_nan_is_refused_naming_the_entry_id() {
    let build = || {
        ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_most("loss_i", 0.0)
                    .with_entries(10)
                    .indexed()
                    .with_formulation(Formulation::lagrangian(Faulty)),
            )
            .build()
            .unwrap()
    };
    let batch = |ids: Vec<usize>, values: Vec<f64>| {
        Replay::new(Measurements::new(0.0).with("loss_i", Measurement::indexed(ids, values)))
    };
    for (values, quantity, value) in [
        (vec![1.0, 100.0], "step", f64::INFINITY),
        (vec![1.0, -100.0], "seen", f64::NAN),
    ] {
        let mut opt = build();
        batch(vec![2], vec![1.0]).step(&mut opt).unwrap();
        let before = opt.state();
        // Entry 7 steps fine, entry 3 fails: neither is written.
        let e = batch(vec![7, 3], values).step(&mut opt).unwrap_err();
        match &e {
            FeasibleError::NonFiniteDualUpdate {
                entry,
                quantity: q,
                value: v,
                ..
            } => {
                assert_eq!((*entry, q.as_str()), (3, quantity), "{e}");
                assert_eq!(v.to_bits(), value.to_bits(), "{e}");
            }
            other => panic!("{other}"),
        }
        assert!(opt.state() == before);
        assert_eq!(opt.steps(), 1);
        assert_eq!(state_of(&opt, "loss_i", 7), [0.0]);
        assert_eq!(opt.multipliers("loss_i").unwrap().unwrap()[7], 0.0);
        assert!(close(opt.multipliers("loss_i").unwrap().unwrap()[2], 0.1, 1e-15));
    }
}

// ---------------------------------------------------------------------------
// A user's own penalty updater.
// ---------------------------------------------------------------------------

/// Doubles the coefficient while violated, up to a cap; halves it (not below
/// its initial value) when the inequality holds.
#[derive(Debug)]
struct CappedDoubling {
    cap: f64,
}

impl PenaltyUpdater for CappedDoubling {
    fn name(&self) -> &str {
        "capped_doubling"
    }

    fn validate(&self, owner: &str) -> Result<()> {
        if self.cap.is_finite() && self.cap > 0.0 {
            Ok(())
        } else {
            Err(FeasibleError::InvalidHyperparameter {
                owner: owner.to_string(),
                name: "penalty cap",
                value: self.cap,
                requirement: "must be a finite number > 0",
            })
        }
    }

    fn update(&self, c: f64, initial: f64, violation: f64, satisfied: bool) -> f64 {
        if violation > 0.0 {
            (2.0 * c).min(self.cap)
        } else if satisfied {
            (c / 2.0).max(initial)
        } else {
            c
        }
    }
}

fn capped_augmented_lagrangian() -> ConstrainedOptimizer {
    one_dimensional(
        UpdateScheme::Simultaneous,
        Formulation::augmented_lagrangian(Penalty::new(1.0).with_updater(CappedDoubling { cap: 8.0 })),
    )
}

#[test]
fn a_users_penalty_updater_drives_the_augmented_lagrangian_as_computed_by_hand() {
    // min (x-2)² s.t. x <= 1, classical dual step λ ← [λ + c g]_+ with the
    // coefficient before its update, w = [λ + c g]_+, simultaneous, x0 = 3.
    // 1: g = 2,      w = 2,     x = 3 - 0.1 (2 + 2) = 2.6,         λ = 2,     c = 2
    // 2: g = 1.6,    w = 5.2,   x = 2.6 - 0.1 (1.2 + 5.2) = 1.96,  λ = 5.2,   c = 4
    // 3: g = 0.96,   w = 9.04,  x = 1.96 - 0.1 (-0.08 + 9.04) = 1.064, λ = 9.04, c = 8
    // 4: g = 0.064,  w = 9.552, x = 1.064 - 0.1 (-1.872 + 9.552) = 0.296, λ = 9.552, c = min(16, 8) = 8
    // 5: g = -0.704, w = 9.552 - 5.632 = 3.92, x = 0.296 - 0.1 (-3.408 + 3.92) = 0.2448,
    //    λ = 3.92, satisfied: c = max(8/2, 1) = 4
    let mut opt = capped_augmented_lagrangian();
    let mut p = problem(&opt, 0.1);
    let (x, reports) = run(&mut opt, &mut p, &[3.0], 5);
    let penalty: Vec<f64> = reports
        .iter()
        .map(|r| r.constraints[0].penalty.as_ref().unwrap()[0])
        .collect();
    assert_eq!(penalty, [2.0, 4.0, 8.0, 8.0, 4.0]);
    let weights = [2.0, 5.2, 9.04, 9.552, 3.92];
    let multipliers = [2.0, 5.2, 9.04, 9.552, 3.92];
    for (r, (w, l)) in reports.iter().zip(weights.iter().zip(multipliers)) {
        let c = &r.constraints[0];
        assert!(close(c.primal_weight[0], *w, 1e-13), "step {}: {c:?}", r.step);
        assert!(
            close(c.multipliers.as_ref().unwrap()[0], l, 1e-13),
            "step {}: {c:?}",
            r.step
        );
    }
    assert!(close(x[0], 0.2448, 1e-13), "{x:?}");
    assert_eq!(opt.penalty("x").unwrap(), Some(&[4.0][..]));

    let e = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("x", 1.0).with_formulation(Formulation::augmented_lagrangian(
                Penalty::new(1.0).with_updater(CappedDoubling { cap: -1.0 }),
            )),
        )
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("`x`") && e.contains("penalty cap = -1"), "{e}");
}

#[test]
fn a_users_penalty_updater_resumes_from_a_checkpoint() {
    let mut straight = capped_augmented_lagrangian();
    let mut p = problem(&straight, 0.1);
    let (x_straight, _) = run(&mut straight, &mut p, &[3.0], 5);

    let mut first = capped_augmented_lagrangian();
    p = p.bind(&first);
    let (x_half, _) = run(&mut first, &mut p, &[3.0], 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dual.ckpt");
    first.state().save(&path).unwrap();
    let loaded = DualState::load(&path).unwrap();
    assert_eq!(loaded.constraints[0].state.penalty(), Some(&[8.0][..]));
    let mut resumed = capped_augmented_lagrangian();
    resumed.restore(loaded).unwrap();
    p = p.bind(&resumed);
    let (x_resumed, reports) = run(&mut resumed, &mut p, &x_half, 2);
    let penalty: Vec<f64> = reports
        .iter()
        .map(|r| r.constraints[0].penalty.as_ref().unwrap()[0])
        .collect();
    assert_eq!(penalty, [8.0, 4.0]);
    assert_eq!(bits(&x_resumed), bits(&x_straight));
    assert_eq!(resumed.state(), straight.state());
}
