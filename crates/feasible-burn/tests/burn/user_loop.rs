//! The caller's own loop (`Constraints::lagrangian`, burn's optimizer and
//! scheduler, `Pending::commit`): the same as the trainer bit for bit,
//! gradient accumulation over micro-batches against a hand-written
//! full-batch Lagrangian loop, and failures that change nothing.

use burn::lr_scheduler::step::StepLrSchedulerConfig;
use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::{GradientsAccumulator, GradientsParams, SgdConfig};
use burn::tensor::activation::{sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, FeasibleError, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Constraints, Error, Evaluation};

#[derive(Module, Debug)]
pub(crate) struct Affine {
    linear: Linear,
}

impl Affine {
    pub(crate) fn new(device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(2, 1)
                .with_initializer(Initializer::Constant { value: 0.1 })
                .init(device),
        }
    }

    pub(crate) fn parameters(&self) -> Vec<f32> {
        let mut p: Vec<f32> = self
            .linear
            .weight
            .val()
            .without_autodiff()
            .try_into_vec_as::<f32>()
            .unwrap();
        if let Some(b) = &self.linear.bias {
            p.extend(b.val().without_autodiff().try_into_vec_as::<f32>().unwrap());
        }
        p
    }
}

pub(crate) fn device() -> Device {
    Device::flex().autodiff()
}

pub(crate) const N: usize = 16;

/// 16 points, 2 features, labels.
pub(crate) fn data(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = (0..N)
        .flat_map(|i| {
            let t = i as f32;
            [(t * 0.37).sin() * 1.5, (t * 0.91).cos() - 0.2]
        })
        .collect();
    let y: Vec<f32> = (0..N).map(|i| if (i * 7) % 5 < 3 { 1.0 } else { 0.0 }).collect();
    (
        Tensor::from_data(TensorData::new(x, [N, 2]), device),
        Tensor::from_data(TensorData::new(y, [N, 1]), device),
    )
}

pub(crate) fn rows(t: &Tensor<2>, from: usize, to: usize) -> Tensor<2> {
    t.clone().narrow(0, from, to - from)
}

/// Logistic loss (mean), the proxy rate of class 0 (mean), its true rate
/// (host), the per-sample margins `(2y - 1) z` and their 0/1 strict values
/// (margin at least 0.5).
pub(crate) struct Parts {
    pub(crate) loss: Tensor<1>,
    proxy: Tensor<1>,
    rate: f64,
    margins: Tensor<1>,
    met: Vec<f64>,
}

pub(crate) fn evaluate(model: &Affine, x: &Tensor<2>, y: &Tensor<2>) -> Parts {
    let n = x.dims()[0];
    let z = model.linear.forward(x.clone());
    let loss = (softplus(z.clone(), 1.0) - y.clone() * z.clone()).mean();
    let proxy = sigmoid(z.clone().neg()).mean();
    let host: Vec<f64> = z.clone().without_autodiff().try_into_vec_as::<f64>().unwrap();
    let rate = host.iter().filter(|v| **v < 0.0).count() as f64 / n as f64;
    let margins = (z * y.clone().mul_scalar(2.0).sub_scalar(1.0)).reshape([n]);
    let met = margins
        .clone()
        .without_autodiff()
        .try_into_vec_as::<f64>()
        .unwrap()
        .iter()
        .map(|m| if *m >= 0.5 { 1.0 } else { 0.0 })
        .collect();
    Parts {
        loss,
        proxy,
        rate,
        margins,
        met,
    }
}

pub(crate) fn evaluation(p: Parts, ids: std::ops::Range<usize>) -> Evaluation {
    Evaluation::new(p.loss)
        .with("rate", ConstraintTensors::new(p.proxy).with_strict_values(vec![p.rate]))
        .with(
            "margin",
            ConstraintTensors::new(p.margins)
                .with_indices(ids.collect::<Vec<_>>())
                .with_strict_values(p.met),
        )
}

const RATE_TARGET: f64 = 0.6;
const RATE_LR: f64 = 0.3;
const MARGIN_LR: f64 = 0.05;

pub(crate) fn constraints(scheme: UpdateScheme) -> ConstrainedOptimizer {
    ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least("rate", RATE_TARGET)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(RATE_LR))),
        )
        .constraint(
            Constraint::at_least("margin", 1.0)
                .with_entries(N)
                .indexed()
                .with_formulation(Formulation::lagrangian(GradientAscent::new(MARGIN_LR))),
        )
        .scheme(scheme)
        .build()
        .unwrap()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn the_callers_loop_is_the_trainer_bit_for_bit() {
    for scheme in [
        UpdateScheme::Simultaneous,
        UpdateScheme::AlternatingDualPrimal,
        UpdateScheme::AlternatingPrimalDual,
    ] {
        let device = device();
        let (x, y) = data(&device);
        let steps = 25;

        let mut trainer = ConstrainedTrainer::new(constraints(scheme), SgdConfig::new().init(), 0.5).unwrap();
        let mut theirs = Affine::new(&device);
        for _ in 0..steps {
            theirs = trainer
                .step_with(theirs, |m| evaluation(evaluate(m, &x, &y), 0..N))
                .unwrap()
                .0;
        }

        let mut constraints = Constraints::new(constraints(scheme));
        let mut optimizer = SgdConfig::new().init();
        let mut ours = Affine::new(&device);
        for _ in 0..steps {
            let (objective, pending) = constraints
                .lagrangian(evaluation(evaluate(&ours, &x, &y), 0..N))
                .unwrap();
            let grads = GradientsParams::from_grads(objective.backward(), &ours);
            ours = optimizer.step(0.5, ours, grads);
            if pending.needs_measurement() {
                assert_eq!(scheme, UpdateScheme::AlternatingPrimalDual);
                pending
                    .commit_measured(evaluation(evaluate(&ours, &x, &y), 0..N))
                    .unwrap();
            } else {
                pending.commit().unwrap();
            }
        }
        assert_eq!(bits(&ours.parameters()), bits(&theirs.parameters()), "{scheme:?}");
        assert_eq!(constraints.optimizer().state(), trainer.dual().state(), "{scheme:?}");
        assert!(
            constraints.multipliers("rate").unwrap().unwrap()[0] > 0.0,
            "{scheme:?}: the rate constraint must have been active"
        );
    }
}

#[test]
fn values_of_different_dtypes_are_read_back_as_those_of_one() {
    // One step's loss and constraint values reach the host in one transfer
    // of their concatenation when they share a dtype; a loss in f64 beside
    // f32 constraint values takes the other path (a transaction). Both must
    // report the same numbers and make the same dual update.
    let device = device();
    let (x, y) = data(&device);
    let model = Affine::new(&device);
    let step = |wide_loss: bool| {
        let mut constraints = Constraints::new(constraints(UpdateScheme::Simultaneous));
        let mut parts = evaluate(&model, &x, &y);
        if wide_loss {
            parts.loss = parts.loss.cast(burn::tensor::DType::F64);
        }
        let (_, pending) = constraints.lagrangian(evaluation(parts, 0..N)).unwrap();
        let report = pending.commit().unwrap();
        (report, constraints.optimizer().state())
    };
    let (narrow, narrow_state) = step(false);
    let (wide, wide_state) = step(true);
    assert_eq!(narrow, wide);
    assert_eq!(narrow_state, wide_state);
    // And the numbers are the tensors' own, each in its place: the loss,
    // the rate's surrogate, and the margins entry by entry.
    let parts = evaluate(&model, &x, &y);
    let host = |t: Tensor<1>| t.without_autodiff().try_into_vec_as::<f64>().unwrap();
    assert_eq!(narrow.loss, host(parts.loss)[0]);
    assert_eq!(narrow.constraint("rate").unwrap().value, host(parts.proxy));
    assert_eq!(narrow.constraint("margin").unwrap().value, host(parts.margins));
}

#[test]
fn gradient_accumulation_with_a_scheduler_matches_a_hand_written_full_batch_loop() {
    let device = device();
    let (x, y) = data(&device);
    let (steps, k) = (30, 4);
    let scheduler = || StepLrSchedulerConfig::new(0.5, 7).with_gamma(0.5).init().unwrap();

    // By hand, on the full batch: dual first (alternating dual→primal), λ by
    // projected gradient ascent on the strict violations, then the primal
    // step on loss - λ_rate · proxy - Σ λ_i margin_i.
    let mut reference = Affine::new(&device);
    let mut optimizer = SgdConfig::new().init();
    let mut lr = scheduler();
    let mut lambda_rate = 0.0f64;
    let mut lambda_margin = vec![0.0f64; N];
    let mut history = Vec::new();
    for _ in 0..steps {
        let p = evaluate(&reference, &x, &y);
        lambda_rate = (lambda_rate + RATE_LR * (RATE_TARGET - p.rate)).max(0.0);
        for (l, met) in lambda_margin.iter_mut().zip(&p.met) {
            *l = (*l + MARGIN_LR * (1.0 - met)).max(0.0);
        }
        history.push((lambda_rate, lambda_margin.clone()));
        let coefficients = Tensor::<1>::from_data(
            TensorData::new(lambda_margin.iter().map(|l| -*l as f32).collect::<Vec<_>>(), [N]),
            &device,
        );
        let objective = p.loss + p.proxy.mul_scalar(-lambda_rate) + (p.margins * coefficients).sum();
        let grads = GradientsParams::from_grads(objective.backward(), &reference);
        reference = optimizer.step(lr.step(), reference, grads);
    }
    assert!(history.last().unwrap().0 > 0.0, "the rate constraint must be active");
    assert!(
        history.last().unwrap().1.iter().any(|l| *l > 0.0),
        "some margin constraint must be active"
    );

    // The library: four micro-batches of four, one dual step from their
    // combined statistics, gradients accumulated with burn's accumulator.
    let mut constraints = Constraints::new(constraints(UpdateScheme::AlternatingDualPrimal));
    let mut ours = Affine::new(&device);
    let mut optimizer = SgdConfig::new().init();
    let mut lr = scheduler();
    let size = N / k;
    for (t, (rate, margin)) in history.iter().enumerate() {
        let parts = (0..k)
            .map(|p| {
                let (from, to) = (p * size, (p + 1) * size);
                evaluation(evaluate(&ours, &rows(&x, from, to), &rows(&y, from, to)), from..to)
            })
            .collect();
        let (objectives, pending) = constraints.lagrangian_parts(parts).unwrap();
        assert_eq!(objectives.len(), k);
        let mut accumulator = GradientsAccumulator::new();
        for objective in objectives {
            accumulator.accumulate(&ours, GradientsParams::from_grads(objective.backward(), &ours));
        }
        ours = optimizer.step(lr.step(), ours, accumulator.grads());
        let report = pending.commit().unwrap();

        let got_rate = constraints.multipliers("rate").unwrap().unwrap()[0];
        assert!((got_rate - rate).abs() < 1e-9, "step {t}: λ_rate {got_rate} vs {rate}");
        let got = constraints.multipliers("margin").unwrap().unwrap();
        for (i, (a, b)) in got.iter().zip(margin).enumerate() {
            assert!((a - b).abs() < 1e-9, "step {t}: λ_margin[{i}] {a} vs {b}");
        }
        assert_eq!(report.step, t as u64 + 1);
    }
    let (a, b) = (ours.parameters(), reference.parameters());
    for (u, v) in a.iter().zip(&b) {
        assert!((u - v).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

#[test]
fn weighted_parts_combine_as_the_global_batch() {
    // Parts of 4, 8 and 4 samples, weighted by their sizes, measure what the
    // full batch measures (the rate as a mean, the margins concatenated).
    let device = device();
    let (x, y) = data(&device);
    let model = Affine::new(&device);
    let split = Constraints::new(constraints(UpdateScheme::Simultaneous));
    let bounds = [(0, 4), (4, 12), (12, 16)];
    let parts = split
        .measure_parts(
            bounds
                .iter()
                .map(|&(from, to)| {
                    let p = evaluate(&model, &rows(&x, from, to), &rows(&y, from, to));
                    (evaluation(p, from..to), (to - from) as f64)
                })
                .collect(),
        )
        .unwrap();
    let global = feasible_burn::ConstraintStatistics::reduce(parts.iter().rev().map(|p| p.statistics())).unwrap();
    assert_eq!(global.ranks(), &[0, 1, 2]);
    assert_eq!(global.samples(), 16.0);
    let full = evaluate(&model, &x, &y);
    let measured = global.to_measurements();
    let json = serde_json::to_string(&global).unwrap();
    let back: feasible_burn::ConstraintStatistics = serde_json::from_str(&json).unwrap();
    assert_eq!(back, global);
    // The rate: the strict value is exact (counts of sixteenths).
    let mut single = Constraints::new(constraints(UpdateScheme::Simultaneous));
    let report_parts = {
        let mut c = Constraints::new(constraints(UpdateScheme::Simultaneous));
        let pending = c.optimizer_mut().begin(measured).unwrap();
        pending.report().unwrap().clone()
    };
    let (_, pending) = single.lagrangian(evaluation(full, 0..N)).unwrap();
    let report_full = pending.report().unwrap().clone();
    drop(pending);
    assert_eq!(
        report_parts.constraints[0].strict_value,
        report_full.constraints[0].strict_value
    );
    assert_eq!(
        report_parts.constraints[1].strict_value,
        report_full.constraints[1].strict_value
    );
    for (a, b) in report_parts.constraints[1]
        .value
        .iter()
        .zip(&report_full.constraints[1].value)
    {
        assert!((a - b).abs() < 1e-6);
    }
    assert!((report_parts.loss - report_full.loss).abs() < 1e-6);
}

/// Runs `bad` through `lagrangian` (or `lagrangian_parts`) and checks it
/// failed with `check` and left the dual state as it was.
fn refused(parts: bool, bad: impl Fn(&Affine) -> Evaluation, check: impl Fn(&Error) -> bool) {
    let device = device();
    let (x, y) = data(&device);
    let mut constraints = Constraints::new(constraints(UpdateScheme::AlternatingDualPrimal));
    let model = Affine::new(&device);
    // A few good steps first, so that the state is not the initial one.
    for _ in 0..3 {
        let (_, pending) = constraints
            .lagrangian(evaluation(evaluate(&model, &x, &y), 0..N))
            .unwrap();
        pending.commit().unwrap();
    }
    let before = constraints.optimizer().state();
    let error = if parts {
        let good = evaluation(evaluate(&model, &rows(&x, 0, 8), &rows(&y, 0, 8)), 0..8);
        constraints.lagrangian_parts(vec![good, bad(&model)]).unwrap_err()
    } else {
        constraints.lagrangian(bad(&model)).unwrap_err()
    };
    assert!(check(&error), "unexpected error: {error}");
    assert_eq!(constraints.optimizer().state(), before);
}

#[test]
fn a_failing_step_before_commit_changes_nothing() {
    let device = device();
    let (x, y) = data(&device);
    let half = |m: &Affine| evaluate(m, &rows(&x, 8, 16), &rows(&y, 8, 16));
    for parts in [false, true] {
        let ids = if parts { 8..16 } else { 0..N };
        let whole = |m: &Affine| if parts { half(m) } else { evaluate(m, &x, &y) };
        // A NaN strict value.
        refused(
            parts,
            |m| {
                let mut p = whole(m);
                p.rate = f64::NAN;
                evaluation(p, ids.clone())
            },
            |e| e.to_string().contains("NaN"),
        );
        // A NaN differentiable value.
        refused(
            parts,
            |m| {
                let mut p = whole(m);
                p.margins = p.margins.mul_scalar(f32::NAN);
                evaluation(p, ids.clone())
            },
            |e| e.to_string().contains("NaN"),
        );
        // The wrong size: two rate values.
        refused(
            parts,
            |m| {
                let p = whole(m);
                let Parts {
                    loss,
                    proxy,
                    margins,
                    met,
                    ..
                } = p;
                Evaluation::new(loss)
                    .with("rate", ConstraintTensors::new(proxy.clone().repeat_dim(0, 2)))
                    .with(
                        "margin",
                        ConstraintTensors::new(margins)
                            .with_indices(ids.clone().collect::<Vec<_>>())
                            .with_strict_values(met),
                    )
            },
            |e| matches!(e, Error::Core(FeasibleError::SizeMismatch { .. })) || e.to_string().contains("size"),
        );
        // An unknown name.
        refused(
            parts,
            |m| {
                let p = whole(m);
                let extra = p.proxy.clone();
                evaluation(p, ids.clone()).with("unused", ConstraintTensors::new(extra))
            },
            |e| e.to_string().contains("unknown constraint `unused`"),
        );
    }
}

#[test]
fn dropping_a_pending_step_changes_nothing_and_the_schemes_are_told_apart() {
    let device = device();
    let (x, y) = data(&device);
    let model = Affine::new(&device);
    for scheme in [
        UpdateScheme::Simultaneous,
        UpdateScheme::AlternatingDualPrimal,
        UpdateScheme::AlternatingPrimalDual,
    ] {
        let mut constraints = Constraints::new(constraints(scheme));
        let before = constraints.optimizer().state();
        let (objective, pending) = constraints
            .lagrangian(evaluation(evaluate(&model, &x, &y), 0..N))
            .unwrap();
        assert_eq!(
            pending.needs_measurement(),
            scheme == UpdateScheme::AlternatingPrimalDual
        );
        let _ = GradientsParams::from_grads(objective.backward(), &model);
        drop(pending);
        assert_eq!(constraints.optimizer().state(), before, "{scheme:?}");
        assert_eq!(constraints.optimizer().steps(), 0);

        // Committing the wrong way is refused and changes nothing.
        let (_, pending) = constraints
            .lagrangian(evaluation(evaluate(&model, &x, &y), 0..N))
            .unwrap();
        let error = if pending.needs_measurement() {
            pending.commit().unwrap_err()
        } else {
            pending
                .commit_measured(evaluation(evaluate(&model, &x, &y), 0..N))
                .unwrap_err()
        };
        assert!(matches!(
            error,
            Error::Core(FeasibleError::MeasurementNeeded | FeasibleError::MeasurementNotNeeded { .. })
        ));
        assert_eq!(constraints.optimizer().state(), before, "{scheme:?}");
    }
    // Extragradient runs through the trainer's `step_with` only.
    let mut constraints = Constraints::new(constraints(UpdateScheme::Extragradient));
    let error = constraints
        .lagrangian(evaluation(evaluate(&model, &x, &y), 0..N))
        .unwrap_err();
    assert!(
        matches!(error, Error::Core(FeasibleError::SchemeNeedsProblem { .. })),
        "{error}"
    );
}
