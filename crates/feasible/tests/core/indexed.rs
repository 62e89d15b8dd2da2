//! Indexed (per-sample) multipliers: only a batch's entries move, repeated
//! ids, ids out of range, entries never observed, dense and indexed storage
//! giving the same trajectories, mini-batch convergence, and the slack
//! relaxation of Feasible Learning.

use std::convert::Infallible;

use feasible::dual::NuPiStart;
use feasible::{
    Adam, AnyDualOptimizer, ConstrainedOptimizer, Constraint, ConstraintId, FeasibleError, Formulation, GradientAscent,
    Measurement, Measurements, NuPi, Omega, Optimistic, PrimalProblem, PrimalWeights, UpdateScheme,
};

use crate::common::{Rng, close};

/// Reports fixed values for a batch and never moves the point.
struct Batches {
    measurements: Vec<Measurements>,
    next: usize,
}

impl PrimalProblem for Batches {
    type Point = ();
    type Error = Infallible;
    fn measure(&mut self, _: &()) -> Result<Measurements, Infallible> {
        let m = self.measurements[self.next % self.measurements.len()].clone();
        self.next += 1;
        Ok(m)
    }
    fn descend(&mut self, _: &(), _: &(), _: &PrimalWeights) -> Result<(), Infallible> {
        Ok(())
    }
}

fn indexed(entries: usize, formulation: impl Into<Formulation>, scheme: UpdateScheme) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("loss_i", 0.5)
                .with_entries(entries)
                .indexed()
                .with_formulation(formulation),
        )
        .scheme(scheme)
        .build()
        .unwrap()
}

fn batch(ids: &[usize], values: &[f64]) -> Measurements {
    Measurements::new(0.0).with("loss_i", Measurement::indexed(ids.to_vec(), values.to_vec()))
}

#[test]
fn only_the_batch_moves_and_unobserved_entries_keep_their_start() {
    let mut opt = indexed(
        6,
        Formulation::lagrangian_from(NuPi::new(0.5, 1.0, 1.0), 0.25),
        UpdateScheme::AlternatingDualPrimal,
    );
    // Entries 1 and 4, violations 0.5 and -1.0: nuPI from zeros with K_p = K_i = 1
    // steps 0.5 (2 g): λ1 = 0.25 + 0.5, λ4 = max(0, 0.25 - 1.0).
    let mut p = Batches {
        measurements: vec![batch(&[1, 4], &[1.0, -0.5])],
        next: 0,
    };
    let (_, report) = opt.step(&mut p, &()).unwrap();
    assert_eq!(
        opt.multipliers("loss_i").unwrap().unwrap(),
        &[0.25, 0.75, 0.25, 0.25, 0.0, 0.25]
    );
    let c = &report.constraints[0];
    assert_eq!(c.indices, Some(vec![1, 4]));
    assert_eq!(c.multipliers, Some(vec![0.75, 0.0]));
    assert_eq!(c.primal_weight, vec![0.75, 0.0]);
    // The optimizer state of the unobserved entries never started.
    let entries = nupi_entries(&opt);
    assert_eq!(entries.get(0).unwrap(), [0.0, 0.0]);
    assert_eq!(entries.get(1).unwrap(), [0.5, 1.0]);
}

#[test]
fn repeated_ids_share_their_weight_and_average_their_violations_into_one_update() {
    let mut opt = indexed(
        8,
        Formulation::lagrangian(NuPi::new(0.5, 0.0, 1.0).with_start(NuPiStart::Ascent)),
        UpdateScheme::AlternatingDualPrimal,
    );
    // Id 3 twice with violations 0.5 and 2.5 (values - 0.5): mean 1.5, one
    // step of 0.5·1.5; id 5 once with 1.5.
    let mut p = Batches {
        measurements: vec![batch(&[3, 5, 3], &[1.0, 2.0, 3.0])],
        next: 0,
    };
    let (_, report) = opt.step(&mut p, &()).unwrap();
    let m = opt.multipliers("loss_i").unwrap().unwrap();
    assert_eq!((m[3], m[5]), (0.75, 0.75));
    assert_eq!(report.constraints[0].primal_weight, vec![0.75, 0.75, 0.75]);
    assert_eq!(report.constraints[0].multipliers, Some(vec![0.75, 0.75, 0.75]));
    // One update: nuPI's ξ of entry 3 is the mean, not the last violation.
    let entries = nupi_entries(&opt);
    assert_eq!(entries.get(3).unwrap(), [1.5, 1.0]);
}

#[test]
fn bad_ids_are_refused_and_change_nothing() {
    let mut opt = indexed(
        4,
        Formulation::lagrangian(GradientAscent::new(0.1)),
        UpdateScheme::Simultaneous,
    );
    let before = opt.state();
    let err = |m: Measurements, opt: &mut ConstrainedOptimizer| {
        opt.step(
            &mut Batches {
                measurements: vec![m],
                next: 0,
            },
            &(),
        )
        .unwrap_err()
    };
    let out_of_range = err(batch(&[0, 4], &[1.0, 1.0]), &mut opt);
    assert!(matches!(
        out_of_range,
        FeasibleError::IndexOutOfRange {
            index: 4,
            entries: 4,
            ..
        }
    ));
    assert!(out_of_range.to_string().contains("sample id 4 is out of range"));
    let sizes = err(batch(&[0, 1, 2], &[1.0, 1.0]), &mut opt).to_string();
    assert!(
        sizes.contains("3 sample ids were given with 2 differentiable values"),
        "{sizes}"
    );
    let dense = err(
        Measurements::new(0.0).with("loss_i", Measurement::entries(vec![0.0; 4])),
        &mut opt,
    )
    .to_string();
    assert!(dense.contains("measure it with `Measurement::indexed"), "{dense}");
    let strict = err(
        Measurements::new(0.0).with(
            "loss_i",
            Measurement::indexed(vec![1], vec![0.0]).with_strict(vec![0.0, 1.0]),
        ),
        &mut opt,
    )
    .to_string();
    assert!(strict.contains("strict value has 2 entries"), "{strict}");
    assert_eq!(opt.state(), before);

    let mut plain = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_most("rate", 0.5))
        .build()
        .unwrap();
    let ids_on_dense = plain
        .step(
            &mut Batches {
                measurements: vec![Measurements::new(0.0).with("rate", Measurement::indexed(vec![0], vec![0.1]))],
                next: 0,
            },
            &(),
        )
        .unwrap_err()
        .to_string();
    assert!(ids_on_dense.contains("declare it with `.indexed()`"), "{ids_on_dense}");
}

fn optimizers() -> Vec<AnyDualOptimizer> {
    vec![
        GradientAscent::new(0.3).into(),
        NuPi::new(0.3, vec![0.0, 1.0, 2.0, 3.0, 4.0], 1.0).with_nu(0.2).into(),
        NuPi::new(0.3, 2.0, 1.0).with_start(NuPiStart::Ascent).into(),
        Optimistic::new(0.3).into(),
        Omega::new(0.3).into(),
        Adam::new(0.05).into(),
    ]
}

#[test]
fn dense_and_indexed_storage_follow_the_same_trajectories() {
    // Five entries measured every step: densely, and as an indexed batch in
    // a shuffled order. Every optimizer (per-entry gains included, which
    // must follow the entry, not its position in the batch) gives the same
    // multipliers and optimizer states bit for bit.
    let mut rng = Rng::new(9);
    let steps: Vec<Vec<f64>> = (0..40)
        .map(|_| (0..5).map(|_| rng.uniform(-1.0, 1.5)).collect())
        .collect();
    for optimizer in optimizers() {
        for scheme in [UpdateScheme::Simultaneous, UpdateScheme::AlternatingDualPrimal] {
            let mut dense = ConstrainedOptimizer::builder()
                .constraint(
                    Constraint::at_most("loss_i", 0.5)
                        .with_entries(5)
                        .with_formulation(Formulation::lagrangian(optimizer.clone())),
                )
                .scheme(scheme)
                .build()
                .unwrap();
            let mut sparse = indexed(5, Formulation::lagrangian(optimizer.clone()), scheme);
            let order = [3, 0, 4, 1, 2];
            let mut d = Batches {
                measurements: steps
                    .iter()
                    .map(|v| Measurements::new(0.0).with("loss_i", Measurement::entries(v.clone())))
                    .collect(),
                next: 0,
            };
            let mut s = Batches {
                measurements: steps.iter().map(|v| batch(&order, &order.map(|i| v[i]))).collect(),
                next: 0,
            };
            for _ in 0..steps.len() {
                dense.step(&mut d, &()).unwrap();
                sparse.step(&mut s, &()).unwrap();
            }
            assert_eq!(
                dense.state().constraints[0].state,
                sparse.state().constraints[0].state,
                "{}",
                optimizer.name()
            );
        }
    }
}

/// `min Σ x_i²  s.t.  x_i >= t_i` for many `i`, one multiplier per entry;
/// both the loss and the constraints are measured on random mini-batches
/// (stochastic gradients of both): `x* = max(t, 0)`, `λ* = 2 x*`.
struct PerSample {
    targets: Vec<f64>,
    batches: Vec<Vec<usize>>,
    next: usize,
    current: Vec<usize>,
    id: ConstraintId,
    lr: f64,
}

impl PrimalProblem for PerSample {
    type Point = Vec<f64>;
    type Error = Infallible;
    fn measure(&mut self, x: &Vec<f64>) -> Result<Measurements, Infallible> {
        self.current = self.batches[self.next % self.batches.len()].clone();
        self.next += 1;
        let values: Vec<f64> = self.current.iter().map(|i| x[*i] - self.targets[*i]).collect();
        let loss = self.current.iter().map(|i| x[*i] * x[*i]).sum();
        Ok(Measurements::new(loss).with_id(self.id, Measurement::indexed(self.current.clone(), values)))
    }
    fn descend(&mut self, x: &Vec<f64>, at: &Vec<f64>, w: &PrimalWeights) -> Result<Vec<f64>, Infallible> {
        let mut grad = vec![0.0; x.len()];
        for (i, c) in self.current.iter().zip(w.value_coefficients(self.id).unwrap()) {
            grad[*i] += 2.0 * at[*i] + c;
        }
        Ok(x.iter().zip(&grad).map(|(v, g)| v - self.lr * g).collect())
    }
}

#[test]
fn per_sample_multipliers_converge_from_mini_batches() {
    let n = 40;
    let mut rng = Rng::new(3);
    let targets: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    // Batches of 8 ids drawn with replacement: repeats happen.
    let batches: Vec<Vec<usize>> = (0..500)
        .map(|_| (0..8).map(|_| (rng.next_u64() % n as u64) as usize).collect())
        .collect();
    for formulation in [
        Formulation::lagrangian(GradientAscent::new(0.2)).into(),
        Formulation::lagrangian(NuPi::new(0.2, 1.0, 1.0)).into(),
        Formulation::augmented_lagrangian(0.5).into(),
    ] {
        let formulation: Formulation = formulation;
        let mut opt = ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_least("x_i - t_i", 0.0)
                    .with_entries(n)
                    .indexed()
                    .with_formulation(formulation.clone()),
            )
            .build()
            .unwrap();
        let mut p = PerSample {
            targets: targets.clone(),
            batches: batches.clone(),
            next: 0,
            current: Vec::new(),
            id: opt.id("x_i - t_i").unwrap(),
            lr: 0.1,
        };
        let mut x = vec![0.0; n];
        for _ in 0..6000 {
            x = opt.step(&mut p, &x).unwrap().0;
        }
        let multipliers = opt.multipliers("x_i - t_i").unwrap().unwrap();
        for i in 0..n {
            let expected = targets[i].max(0.0);
            assert!(
                close(x[i], expected, 1e-6),
                "{formulation:?} x[{i}] = {} vs {expected}",
                x[i]
            );
            assert!(
                close(multipliers[i], 2.0 * expected, 1e-5),
                "{formulation:?} λ[{i}] = {}",
                multipliers[i]
            );
        }
    }
}

#[test]
fn extragradient_needs_the_same_batch_twice() {
    let mut opt = indexed(
        4,
        Formulation::lagrangian(GradientAscent::new(0.1)),
        UpdateScheme::Extragradient,
    );
    let before = opt.state();
    let mut p = Batches {
        measurements: vec![batch(&[0, 1], &[1.0, 1.0]), batch(&[2, 1], &[1.0, 1.0])],
        next: 0,
    };
    assert!(matches!(
        opt.step(&mut p, &()).unwrap_err(),
        FeasibleError::BatchChanged { .. }
    ));
    assert_eq!(opt.state(), before);
    let mut same = Batches {
        measurements: vec![batch(&[0, 1], &[1.0, 1.0])],
        next: 0,
    };
    opt.step(&mut same, &()).unwrap();
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[0.05, 0.05, 0.0, 0.0]);
}

#[test]
fn the_slack_relaxation_stops_multipliers_at_alpha_times_the_violation() {
    // Hand step: λ0 = 1, α = 2, g = 3: the gradient is g - λ/α = 2.5, so
    // λ1 = 1 + 0.5·2.5 = 2.25. At equilibrium λ = α g = 6 (the slack u = λ/α = g).
    let mut opt = indexed(
        2,
        Formulation::lagrangian_from(GradientAscent::new(0.5), 1.0).with_slack(2.0),
        UpdateScheme::Simultaneous,
    );
    let mut p = Batches {
        measurements: vec![batch(&[0, 1], &[3.5, 0.0])],
        next: 0,
    };
    let (_, report) = opt.step(&mut p, &()).unwrap();
    // Entry 1 (g = -0.5): 1 + 0.5 (-0.5 - 1/2) = 0.5.
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[2.25, 0.5]);
    // The relaxed Lagrangian: λ·g - |λ|²/(2α) with λ0 = (1, 1), g = (3, -0.5).
    assert!(close(report.lagrangian, 3.0 - 0.5 - 2.0 / 4.0, 1e-15));
    for _ in 0..200 {
        opt.step(&mut p, &()).unwrap();
    }
    let m = opt.multipliers("loss_i").unwrap().unwrap();
    assert!(close(m[0], 6.0, 1e-12) && m[1] == 0.0, "{m:?}");
    let err = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("x", 0.0)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(0.1)).with_slack(0.0)),
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("slack cost = 0"));
}

#[test]
fn indexed_states_survive_save_and_restore() {
    let mut opt = indexed(
        1000,
        Formulation::lagrangian(NuPi::new(0.2, 1.0, 1.0)),
        UpdateScheme::Simultaneous,
    );
    let mut p = Batches {
        measurements: vec![batch(&[1, 999, 500], &[1.0, 0.0, 2.0]), batch(&[2, 999], &[0.7, 0.9])],
        next: 0,
    };
    for _ in 0..5 {
        opt.step(&mut p, &()).unwrap();
    }
    let json = opt.state().to_json().unwrap();
    let mut restored = indexed(
        1000,
        Formulation::lagrangian(NuPi::new(0.2, 1.0, 1.0)),
        UpdateScheme::Simultaneous,
    );
    restored
        .restore(feasible::DualState::from_json(&json).unwrap())
        .unwrap();
    let mut q = Batches {
        measurements: p.measurements.clone(),
        next: p.next,
    };
    for _ in 0..5 {
        opt.step(&mut p, &()).unwrap();
        restored.step(&mut q, &()).unwrap();
    }
    // Compared as booleans: a failure must not print a 1000-entry state.
    assert!(opt.state() == restored.state());
    assert_eq!(
        opt.multipliers("loss_i").unwrap().unwrap()[999],
        restored.multipliers("loss_i").unwrap().unwrap()[999]
    );
}

#[test]
fn dual_restarts_reset_strictly_satisfied_entries_only() {
    // λ0 = 1 on three entries with nuPI state; violations (0.5, 0.0, -0.2),
    // step 1: entry 0 rises to 1.5, entry 1 (g = 0, satisfied but not
    // strictly) stays at 1, entry 2 (strictly satisfied) restarts at 1 with
    // a fresh optimizer state instead of falling to 0.8.
    let mut opt = indexed(
        3,
        Formulation::lagrangian_from(NuPi::new(1.0, 0.0, 1.0), 1.0).with_restart_on_feasible(),
        UpdateScheme::Simultaneous,
    );
    let mut p = Batches {
        measurements: vec![batch(&[0, 1, 2], &[1.0, 0.5, 0.3])],
        next: 0,
    };
    opt.step(&mut p, &()).unwrap();
    assert_eq!(opt.multipliers("loss_i").unwrap().unwrap(), &[1.5, 1.0, 1.0]);
    let entries = nupi_entries(&opt);
    assert!(entries.get(0).unwrap()[1] == 1.0 && entries.get(1).unwrap()[1] == 1.0);
    assert_eq!(entries.get(2).unwrap(), [0.0, 0.0]);
    // Without restarts the satisfied entry would have fallen.
    let mut plain = indexed(
        3,
        Formulation::lagrangian_from(NuPi::new(1.0, 0.0, 1.0), 1.0),
        UpdateScheme::Simultaneous,
    );
    plain
        .step(
            &mut Batches {
                measurements: p.measurements.clone(),
                next: 0,
            },
            &(),
        )
        .unwrap();
    assert!((plain.multipliers("loss_i").unwrap().unwrap()[2] - 0.8).abs() < 1e-15);
}

/// The nuPI state of the first constraint's entries (`xi`, `started`).
fn nupi_entries(opt: &ConstrainedOptimizer) -> feasible::dual::EntryStates {
    let entries = opt.constraints()[0].name();
    let entries = opt
        .constraint_state(entries)
        .unwrap()
        .dual_optimizer()
        .expect("nuPI state expected")
        .entries
        .clone();
    assert_eq!(entries.fields(), ["xi", "started"]);
    entries
}
