//! The burn trainer against known answers: a hand-computed step, a
//! hand-written training loop (bit for bit), and every error path, each of
//! which must give the model back unchanged.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use feasible::{
    Adam, AnyDualOptimizer, ConstrainedOptimizer, Constraint, FeasibleError, Formulation, GradientAscent, NuPi, Omega,
    Optimistic, Penalty, PenaltyGrowth, UpdateScheme,
};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Error, Evaluation};

#[derive(Module, Debug)]
struct Affine {
    linear: Linear,
}

impl Affine {
    fn zeros(inputs: usize, device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(inputs, 1)
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(x)
    }

    /// Weights then bias, on the host.
    fn parameters(&self) -> Vec<f32> {
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

fn device() -> Device {
    Device::flex().autodiff()
}

fn tensor2(values: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [rows, cols]), device)
}

fn lagrangian(name: &str, dual_lr: f64, initial: f64) -> Constraint {
    Constraint::at_most(name, 1.0).with_formulation(Formulation::lagrangian_from(GradientAscent::new(dual_lr), initial))
}

#[test]
fn first_step_matches_hand_computation() {
    // One point x = 2, model z = w x + b from zero, loss (z - 3)², constraint
    // z <= 1 with λ0 = 0.5, dual step 0.1, dual first: g = 0 - 1 = -1,
    // λ1 = 0.4. Gradients: dloss/dw = 2(z-3)x = -12, dloss/db = -6;
    // dz/dw = 2, dz/db = 1. So w = -0.1(-12 + 0.4·2) = 1.12, b = -0.1(-6 + 0.4) = 0.56.
    let device = device();
    let x = tensor2(&[2.0], 1, 1, &device);
    let dual = ConstrainedOptimizer::builder()
        .constraint(lagrangian("z", 0.1, 0.5))
        .scheme(UpdateScheme::AlternatingDualPrimal)
        .build()
        .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 0.1).unwrap();
    let model = Affine::zeros(1, &device);
    let z = model.forward(x.clone()).reshape([1]);
    let loss = (z.clone().sub_scalar(3.0)).powi_scalar(2).mean();
    let (model, report) = trainer
        .step(model, Evaluation::new(loss).with("z", ConstraintTensors::new(z)))
        .unwrap();
    let p = model.parameters();
    assert!((p[0] - 1.12).abs() < 1e-6 && (p[1] - 0.56).abs() < 1e-6, "{p:?}");
    assert!((trainer.dual().multipliers("z").unwrap().unwrap()[0] - 0.4).abs() < 1e-15);
    assert_eq!(report.loss, 9.0);
    assert_eq!(report.constraints[0].violation, vec![-1.0]);
    assert!(report.feasible);
}

/// 6 points of a rate-constrained logistic regression.
fn rate_data(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x = tensor2(
        &[1.0, 0.3, -0.5, 1.2, 0.7, -1.0, -1.5, 0.2, 0.1, 0.9, 2.0, -0.4],
        6,
        2,
        device,
    );
    let y = tensor2(&[1.0, 1.0, 0.0, 0.0, 1.0, 1.0], 6, 1, device);
    (x, y)
}

fn rate_parts(model: &Affine, x: &Tensor<2>, y: &Tensor<2>) -> (Tensor<1>, Tensor<1>, Tensor<2>) {
    let z = model.forward(x.clone());
    let loss = (burn::tensor::activation::softplus(z.clone(), 1.0) - y.clone() * z.clone()).mean();
    let proxy = sigmoid(z.clone().neg()).mean();
    (loss, proxy, z)
}

#[test]
fn matches_a_hand_written_gradient_descent_ascent_loop_bit_for_bit() {
    for scheme in [UpdateScheme::Simultaneous, UpdateScheme::AlternatingDualPrimal] {
        let device = device();
        let (x, y) = rate_data(&device);
        let (dual_lr, target, steps) = (0.3, 0.6, 60);

        // By hand: at_least(0.6) means g = 0.6 - rate, value coefficient -λ.
        let mut model = Affine::zeros(2, &device);
        let mut optimizer = SgdConfig::new().init();
        let mut lambda = 0.0f64;
        let mut lambdas = Vec::new();
        for _ in 0..steps {
            let (loss, proxy, z) = rate_parts(&model, &x, &y);
            let rate: f64 = z.without_autodiff().lower_elem(0.0).float().mean().into_scalar::<f64>();
            let updated = (lambda + dual_lr * (target - rate)).max(0.0);
            let weight = if scheme == UpdateScheme::Simultaneous {
                lambda
            } else {
                updated
            };
            lambda = updated;
            lambdas.push(lambda);
            let objective = loss + proxy.mul_scalar(-weight);
            let grads = GradientsParams::from_grads(objective.backward(), &model);
            model = optimizer.step(0.5, model, grads);
        }

        // Through the trainer.
        let dual = ConstrainedOptimizer::builder()
            .constraint(
                Constraint::at_least("rate", target)
                    .with_formulation(Formulation::lagrangian(GradientAscent::new(dual_lr))),
            )
            .scheme(scheme)
            .build()
            .unwrap();
        let mut trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 0.5).unwrap();
        let mut ours = Affine::zeros(2, &device);
        for (t, expected) in lambdas.iter().enumerate() {
            let (loss, proxy, z) = rate_parts(&ours, &x, &y);
            let rate = z.without_autodiff().lower_elem(0.0).float().mean();
            let evaluation = Evaluation::new(loss).with("rate", ConstraintTensors::new(proxy).with_strict(rate));
            let (next, report) = trainer.step(ours, evaluation).unwrap();
            ours = next;
            let got = report.constraints[0].multipliers.as_ref().unwrap()[0];
            assert_eq!(
                got.to_bits(),
                expected.to_bits(),
                "{scheme:?} step {t}: {got} vs {expected}"
            );
        }
        assert!(lambdas.iter().any(|l| *l > 0.0), "the constraint must have been active");
        let (a, b) = (ours.parameters(), model.parameters());
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{scheme:?}: {a:?} vs {b:?}"
        );
    }
}

#[test]
fn vector_constraints_weight_each_entry_by_its_own_multiplier() {
    // Two entries z1 = w·x1 + b, z2 = w·x2 + b with x1 = 1, x2 = -2, both
    // <= 1; loss 0 · z (no pull), multipliers λ = (0.5, 2.0), dual step 0
    // (they stay). Gradient of Σ λ_i z_i: dw = 0.5·1 + 2·(-2) = -3.5,
    // db = 2.5; SGD step 1: w = 3.5, b = -2.5.
    let device = device();
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("z", 1.0)
                .with_entries(2)
                .with_formulation(Formulation::lagrangian_from(GradientAscent::new(0.0), 0.5)),
        )
        .build()
        .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 1.0).unwrap();
    // Set the second multiplier through a restored state.
    let mut state = trainer.dual().state();
    if let Some(multipliers) = state.constraints[0].state.multipliers_mut() {
        multipliers[1] = 2.0;
    }
    trainer.dual_mut().restore(state).unwrap();
    let model = Affine::zeros(1, &device);
    let z = model.forward(tensor2(&[1.0, -2.0], 2, 1, &device)).reshape([2]);
    let loss = z.clone().sum().mul_scalar(0.0);
    let (model, report) = trainer
        .step(model, Evaluation::new(loss).with("z", ConstraintTensors::new(z)))
        .unwrap();
    assert_eq!(model.parameters(), vec![3.5, -2.5]);
    assert_eq!(report.constraints[0].primal_weight, vec![0.5, 2.0]);
}

fn scalar(value: f32, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(vec![value], [1]), device)
}

/// A trainer with Adam (so the primal optimizer has state to protect) that
/// has taken a few good steps.
fn warmed_up(scheme: UpdateScheme) -> (ConstrainedTrainer, Affine, Tensor<2>, Tensor<2>) {
    let device = device();
    let (x, y) = rate_data(&device);
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least("rate", 0.6).with_formulation(Formulation::lagrangian(GradientAscent::new(0.3))),
        )
        .scheme(scheme)
        .build()
        .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05).unwrap();
    let mut model = Affine::zeros(2, &device);
    for _ in 0..5 {
        model = trainer.step_with(model, |m| good(m, &x, &y)).unwrap().0;
    }
    (trainer, model, x, y)
}

fn good(model: &Affine, x: &Tensor<2>, y: &Tensor<2>) -> Evaluation {
    let (loss, proxy, z) = rate_parts(model, x, y);
    let rate = z.without_autodiff().lower_elem(0.0).float().mean();
    Evaluation::new(loss).with("rate", ConstraintTensors::new(proxy).with_strict(rate))
}

/// Runs `bad` as the next step and checks it failed with `check`, changing
/// nothing: the same model comes back, and the next good steps give exactly
/// what a trainer that never saw the failure gives.
fn assert_rejected_without_trace(
    scheme: UpdateScheme,
    bad: impl FnMut(&Affine) -> Evaluation,
    check: impl Fn(&Error) -> bool,
) {
    let (mut trainer, model, x, y) = warmed_up(scheme);
    let (mut control, control_model, _, _) = warmed_up(scheme);
    let before = model.parameters();
    let state = trainer.dual().state();
    let failure = match trainer.step_with(model, bad) {
        Ok(_) => panic!("the step must fail"),
        Err(failure) => failure,
    };
    assert!(check(&failure.error), "unexpected error: {}", failure.error);
    assert_eq!(failure.model.parameters(), before);
    assert_eq!(trainer.dual().state(), state);
    let mut model = failure.model;
    let mut control_model = control_model;
    for _ in 0..3 {
        model = trainer.step_with(model, |m| good(m, &x, &y)).unwrap().0;
        control_model = control.step_with(control_model, |m| good(m, &x, &y)).unwrap().0;
    }
    assert_eq!(model.parameters(), control_model.parameters());
    assert_eq!(trainer.dual().state(), control.dual().state());
}

#[test]
fn invalid_evaluations_are_refused_and_change_nothing() {
    let device = device();
    for scheme in UpdateScheme::ALL {
        // A constraint that was never declared.
        assert_rejected_without_trace(
            scheme,
            |m| {
                let (x, y) = rate_data(&device);
                good(m, &x, &y).with(
                    "unused",
                    ConstraintTensors::new(scalar(0.0, &device)).without_primal_update(),
                )
            },
            |e| matches!(e, Error::Core(FeasibleError::UnknownConstraint { name, .. }) if name == "unused"),
        );
        // A NaN in the loss.
        assert_rejected_without_trace(
            scheme,
            |m| {
                let (x, y) = rate_data(&device);
                let (loss, proxy, _) = rate_parts(m, &x, &y);
                Evaluation::new(loss.mul_scalar(f32::NAN)).with("rate", ConstraintTensors::new(proxy))
            },
            |e| matches!(e, Error::Core(FeasibleError::NonFiniteLoss { .. })),
        );
        assert_rejected_without_trace(
            scheme,
            |m| {
                let (x, y) = rate_data(&device);
                let (loss, proxy, _) = rate_parts(m, &x, &y);
                Evaluation::new(loss).with(
                    "rate",
                    ConstraintTensors::new(proxy).with_strict_values(vec![f64::INFINITY]),
                )
            },
            |e| e.to_string().contains("`rate`: strict value of entry 0 is inf"),
        );
        assert_rejected_without_trace(
            scheme,
            |m| {
                let (x, y) = rate_data(&device);
                let (loss, _, z) = rate_parts(m, &x, &y);
                // The strict rate given as the differentiable value.
                let rate = z.lower_elem(0.0).float().mean();
                Evaluation::new(loss).with("rate", ConstraintTensors::new(rate))
            },
            |e| matches!(e, Error::ValueNotTracked { constraint } if constraint == "rate"),
        );
        assert_rejected_without_trace(
            scheme,
            |m| {
                let (x, y) = rate_data(&device);
                let (_, proxy, z) = rate_parts(m, &x, &y);
                let per_sample = z.reshape([6]) * y.clone().reshape([6]);
                Evaluation::new(per_sample).with("rate", ConstraintTensors::new(proxy))
            },
            |e| matches!(e, Error::LossShape { elements: 6 }),
        );
        assert_rejected_without_trace(
            scheme,
            |m| {
                let (x, y) = rate_data(&device);
                let (loss, proxy, _) = rate_parts(m, &x, &y);
                Evaluation::new(loss.detach()).with("rate", ConstraintTensors::new(proxy))
            },
            |e| matches!(e, Error::LossNotTracked),
        );
    }
}

#[test]
fn a_failing_re_measurement_rolls_back_the_primal_step_and_the_optimizer_state() {
    // In the alternating primal->dual scheme the model has already moved
    // when the second measurement turns out to be invalid.
    let device = device();
    let mut calls = 0;
    assert_rejected_without_trace(
        UpdateScheme::AlternatingPrimalDual,
        move |m| {
            calls += 1;
            let (x, y) = rate_data(&device);
            let (loss, proxy, z) = rate_parts(m, &x, &y);
            let rate = z.without_autodiff().lower_elem(0.0).float().mean();
            let rate = if calls == 2 { rate.mul_scalar(f32::NAN) } else { rate };
            Evaluation::new(loss).with("rate", ConstraintTensors::new(proxy).with_strict(rate))
        },
        |e| e.to_string().contains("strict value of entry 0 is NaN"),
    );
}

#[test]
fn the_primal_dual_scheme_needs_an_evaluator_and_bad_learning_rates_are_refused() {
    let (mut trainer, model, x, y) = warmed_up(UpdateScheme::AlternatingPrimalDual);
    let before = model.parameters();
    let failure = trainer
        .step(model, good(&Affine::zeros(2, &device()), &x, &y))
        .unwrap_err();
    assert!(matches!(failure.error, Error::NeedsEvaluator));
    assert!(failure.to_string().contains("step_with"));
    assert_eq!(failure.model.parameters(), before);

    let dual = || {
        ConstrainedOptimizer::builder()
            .constraint(lagrangian("z", 0.1, 0.0))
            .build()
            .unwrap()
    };
    for lr in [-0.1, f64::NAN] {
        let err = ConstrainedTrainer::new(dual(), SgdConfig::new().init(), lr).unwrap_err();
        assert!(err.to_string().contains("primal learning rate"), "{err}");
    }
    let mut trainer = ConstrainedTrainer::new(dual(), SgdConfig::new().init(), 0.1).unwrap();
    assert!(trainer.set_lr(-1.0).is_err());
    assert_eq!(trainer.lr(), 0.1);
    assert!(
        trainer
            .id("w")
            .unwrap_err()
            .to_string()
            .contains("unknown constraint `w`")
    );
}

#[test]
fn extragradient_first_step_matches_hand_computation() {
    // x = 2, z = w x + b from 0, loss (z - 3)², z <= 1, λ0 = 0.5, dual step
    // 0.1, SGD 0.1. Lookahead from (0, 0): grads (-12 + 0.5·2, -6 + 0.5) =
    // (-11, -5.5), so (w~, b~) = (1.1, 0.55); λ~ = 0.5 - 0.1 = 0.4. At the
    // lookahead z = 2.75: grads (2(-0.25)2 + 0.4·2, 2(-0.25) + 0.4) =
    // (-0.2, -0.1), applied from (0, 0): (0.02, 0.01); λ1 = 0.5 + 0.1·1.75.
    let device = device();
    let x = tensor2(&[2.0], 1, 1, &device);
    let dual = ConstrainedOptimizer::builder()
        .constraint(lagrangian("z", 0.1, 0.5))
        .scheme(UpdateScheme::Extragradient)
        .build()
        .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 0.1).unwrap();
    let evaluate = |m: &Affine| {
        let z = m.forward(x.clone()).reshape([1]);
        Evaluation::new(z.clone().sub_scalar(3.0).powi_scalar(2).mean()).with("z", ConstraintTensors::new(z))
    };
    let (model, report) = trainer.step_with(Affine::zeros(1, &device), evaluate).unwrap();
    let p = model.parameters();
    assert!((p[0] - 0.02).abs() < 1e-6 && (p[1] - 0.01).abs() < 1e-6, "{p:?}");
    assert!((trainer.dual().multipliers("z").unwrap().unwrap()[0] - 0.675).abs() < 1e-7);
    assert!((report.constraints[0].violation[0] - 1.75).abs() < 1e-6);
}

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    out: Linear,
}

impl Mlp {
    fn new(device: &Device, value: f64) -> Self {
        let init = |i, o, v| {
            LinearConfig::new(i, o)
                .with_initializer(Initializer::Constant { value: v })
                .init(device)
        };
        Self {
            hidden: init(2, 4, value),
            out: init(4, 1, -value / 2.0),
        }
    }

    fn parameters(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for t in [
            self.hidden.weight.val().reshape([8]),
            self.out.weight.val().reshape([4]),
            self.hidden.bias.as_ref().unwrap().val(),
            self.out.bias.as_ref().unwrap().val(),
        ] {
            out.extend(
                t.without_autodiff()
                    .try_into_vec_as::<f32>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits()),
            );
        }
        out
    }
}

/// The device's RNG is one for the process: tests that seed it and draw
/// from it (through `noisy`) take turns, or another test's draws would fall
/// between a seed and the draws it is for.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_turn() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A noisy evaluation (the noise comes from the device's RNG): the loss,
/// an inequality on the class-0 rate with a strict value, and an equality
/// on the mean logit.
fn noisy(model: &Mlp, x: &Tensor<2>, y: &Tensor<2>) -> Evaluation {
    let hidden = burn::tensor::activation::relu(model.hidden.forward(x.clone()));
    let noise = Tensor::<2>::random([8, 1], Distribution::Normal(0.0, 0.3), &x.device());
    let z = model.out.forward(hidden) + noise;
    let loss = (burn::tensor::activation::softplus(z.clone(), 1.0) - y.clone() * z.clone()).mean();
    let proxy = sigmoid(z.clone().neg()).mean();
    let rate = z.clone().without_autodiff().lower_elem(0.0).float().mean();
    Evaluation::new(loss)
        .with("rate", ConstraintTensors::new(proxy).with_strict(rate))
        .with("mean_logit", ConstraintTensors::new(z.mean()))
}

fn resumable(rate: impl Into<Formulation>, scheme: UpdateScheme, device: &Device) -> ConstrainedTrainer {
    let dual = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_least("rate", 0.6).with_formulation(rate))
        .constraint(
            Constraint::equal_to("mean_logit", 0.1)
                .with_formulation(Formulation::lagrangian(NuPi::new(0.05, 1.0, 1.0))),
        )
        .scheme(scheme)
        .build()
        .unwrap();
    ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05)
        .unwrap()
        .with_rng(device.clone(), 1234)
}

fn dual_optimizers() -> Vec<AnyDualOptimizer> {
    vec![
        GradientAscent::new(0.2).into(),
        NuPi::new(0.2, 2.0, 1.0).with_nu(0.3).into(),
        Optimistic::new(0.2).into(),
        Omega::new(0.2).into(),
        Adam::new(0.05).into(),
    ]
}

#[test]
fn n_steps_equal_k_steps_save_load_and_the_rest_bit_for_bit() {
    let _rng = rng_turn();
    let device = device();
    let x = tensor2(
        &[
            1.0, 0.3, -0.5, 1.2, 0.7, -1.0, -1.5, 0.2, 0.1, 0.9, 2.0, -0.4, 0.3, 0.3, -0.8, -0.6,
        ],
        8,
        2,
        &device,
    );
    let y = tensor2(&[1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0], 8, 1, &device);
    let mut cases: Vec<(Formulation, UpdateScheme)> = dual_optimizers()
        .into_iter()
        .map(|o| (Formulation::lagrangian(o).into(), UpdateScheme::AlternatingDualPrimal))
        .collect();
    cases.push((
        Formulation::lagrangian(NuPi::new(0.2, 2.0, 1.0)).into(),
        UpdateScheme::Extragradient,
    ));
    cases.push((
        Formulation::lagrangian(GradientAscent::new(0.2)).into(),
        UpdateScheme::AlternatingPrimalDual,
    ));
    cases.push((
        Formulation::augmented_lagrangian(Penalty::new(0.5).with_updater(PenaltyGrowth::multiplicative(1.1))).into(),
        UpdateScheme::Simultaneous,
    ));
    let dir = tempfile::tempdir().unwrap();
    for (i, (formulation, scheme)) in cases.into_iter().enumerate() {
        let label = format!("{} / {}", formulation.name(), scheme.name());
        let (n, k) = (12, 5);
        let mut straight = resumable(formulation.clone(), scheme, &device);
        let mut model = Mlp::new(&device, 0.3);
        for _ in 0..n {
            model = straight.step_with(model, |m| noisy(m, &x, &y)).unwrap().0;
        }

        let mut first = resumable(formulation.clone(), scheme, &device);
        let mut half = Mlp::new(&device, 0.3);
        for _ in 0..k {
            half = first.step_with(half, |m| noisy(m, &x, &y)).unwrap().0;
        }
        let path = dir.path().join(format!("run{i}"));
        first.save(&path, &half).unwrap();
        drop((first, half));

        // A fresh trainer and a model with other weights: everything comes from the file.
        let mut resumed = resumable(formulation.clone(), scheme, &device);
        let mut model2 = resumed.load(&path, Mlp::new(&device, -0.7)).unwrap();
        assert_eq!(resumed.dual().steps(), k as u64, "{label}");
        for _ in k..n {
            model2 = resumed.step_with(model2, |m| noisy(m, &x, &y)).unwrap().0;
        }
        assert_eq!(model2.parameters(), model.parameters(), "{label}: weights");
        assert_eq!(resumed.dual().state(), straight.dual().state(), "{label}: dual state");
    }
}

/// The files of a checkpoint directory and their bytes.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn batch(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x = tensor2(
        &[
            1.0, 0.3, -0.5, 1.2, 0.7, -1.0, -1.5, 0.2, 0.1, 0.9, 2.0, -0.4, 0.3, 0.3, -0.8, -0.6,
        ],
        8,
        2,
        device,
    );
    let y = tensor2(&[1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0], 8, 1, device);
    (x, y)
}

#[test]
fn damaged_or_foreign_checkpoints_are_refused_and_change_nothing() {
    let _rng = rng_turn();
    let device = device();
    let (x, y) = batch(&device);
    let formulation = Formulation::lagrangian(GradientAscent::new(0.2));
    let mut trainer = resumable(formulation.clone(), UpdateScheme::AlternatingDualPrimal, &device);
    let mut model = Mlp::new(&device, 0.3);
    for _ in 0..3 {
        model = trainer.step_with(model, |m| noisy(m, &x, &y)).unwrap().0;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    trainer.save(&path, &model).unwrap();
    let good = snapshot(&path);
    let weights = path.join("model.bpk");

    let mut fresh = resumable(formulation.clone(), UpdateScheme::AlternatingDualPrimal, &device);
    let before = fresh.dual().state();
    let template = Mlp::new(&device, -0.7);
    let check_refused = |fresh: &mut ConstrainedTrainer, expect: &str| {
        let failure = fresh.load(&path, Mlp::new(&device, -0.7)).unwrap_err();
        assert!(failure.to_string().contains(expect), "{failure}");
        assert_eq!(failure.model.parameters(), template.parameters());
    };

    let model_bytes = &good["model.bpk"];
    std::fs::write(&weights, &model_bytes[..model_bytes.len() - 10]).unwrap();
    check_refused(&mut fresh, "truncated");
    let mut flipped = model_bytes.clone();
    let at = model_bytes.len() - 100;
    flipped[at] ^= 0x10;
    std::fs::write(&weights, &flipped).unwrap();
    check_refused(&mut fresh, "checksum mismatch");
    assert_eq!(fresh.dual().state(), before);

    // Another problem's trainer refuses the dual state.
    std::fs::write(&weights, model_bytes).unwrap();
    let dual = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_least("rate", 0.6).with_formulation(formulation.clone()))
        .build()
        .unwrap();
    let mut other = ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05)
        .unwrap()
        .with_rng(device.clone(), 1);
    let other_before = other.dual().state();
    let failure = other.load(&path, Mlp::new(&device, -0.7)).unwrap_err();
    assert!(failure.to_string().contains("2 constraints"), "{failure}");
    assert_eq!(other.dual().state(), other_before);
    assert_eq!(other.seed(), Some(1));

    // A trainer without a seeded RNG cannot resume a seeded run exactly.
    let dual = ConstrainedOptimizer::builder()
        .constraint(Constraint::at_least("rate", 0.6).with_formulation(formulation.clone()))
        .constraint(
            Constraint::equal_to("mean_logit", 0.1)
                .with_formulation(Formulation::lagrangian(NuPi::new(0.05, 1.0, 1.0))),
        )
        .build()
        .unwrap();
    let mut unseeded = ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05).unwrap();
    assert!(
        unseeded
            .load(&path, Mlp::new(&device, 0.1))
            .unwrap_err()
            .to_string()
            .contains("with_rng")
    );

    // A failed save (into a directory that does not exist) writes nothing
    // and leaves the previous checkpoint as it was (the checkpoint module's
    // tests cover a crash at every point of a save).
    let missing = path.with_file_name("no-such-directory").join("trainer.ckpt");
    assert!(trainer.save(&missing, &model).is_err());
    assert!(!missing.parent().unwrap().exists());
    assert_eq!(snapshot(&path), good);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // And the good checkpoint still loads.
    fresh.load(&path, Mlp::new(&device, -0.7)).unwrap();
    assert_eq!(fresh.dual().state(), trainer.dual().state());
}

/// A trained run's checkpoint, for the refusal tests: the Adam trainer of
/// `resumable` after three steps.
fn saved_run(path: &std::path::Path, device: &Device) -> (ConstrainedTrainer, Mlp) {
    let (x, y) = batch(device);
    let mut trainer = resumable(
        Formulation::lagrangian(GradientAscent::new(0.2)),
        UpdateScheme::AlternatingDualPrimal,
        device,
    );
    let mut model = Mlp::new(device, 0.3);
    for _ in 0..3 {
        model = trainer.step_with(model, |m| noisy(m, &x, &y)).unwrap().0;
    }
    trainer.save(path, &model).unwrap();
    (trainer, model)
}

/// Loads `path` into `trainer`, expecting a refusal that changes nothing;
/// gives the error back.
fn refused(trainer: &mut ConstrainedTrainer, path: &std::path::Path, device: &Device) -> Error {
    let template = Mlp::new(device, -0.7);
    let (state, lr, seed) = (trainer.dual().state(), trainer.lr(), trainer.seed());
    let failure = trainer.load(path, Mlp::new(device, -0.7)).unwrap_err();
    assert_eq!(failure.model.parameters(), template.parameters());
    assert_eq!(trainer.dual().state(), state);
    assert_eq!((trainer.lr(), trainer.seed()), (lr, seed));
    failure.error
}

#[test]
fn every_file_of_a_checkpoint_is_verified_flipped_truncated_or_missing() {
    let _rng = rng_turn();
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    let (trainer, _) = saved_run(&path, &device);
    let good = snapshot(&path);
    assert_eq!(
        good.keys().map(String::as_str).collect::<Vec<_>>(),
        ["dual.json", "manifest.json", "model.bpk", "optimizer.bpk"]
    );
    let formulation = Formulation::lagrangian(GradientAscent::new(0.2));
    let mut fresh = resumable(formulation, UpdateScheme::AlternatingDualPrimal, &device);
    for (name, bytes) in &good {
        let file = path.join(name);
        let restore = || std::fs::write(&file, bytes).unwrap();
        // A flipped byte, in the middle of the file.
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x01;
        std::fs::write(&file, &flipped).unwrap();
        let e = refused(&mut fresh, &path, &device);
        if name == "manifest.json" {
            // The manifest is checked by its own header's checksum.
            assert!(
                matches!(&e, Error::Core(FeasibleError::CorruptCheckpoint { path: p, .. }) if *p == file),
                "{name}: {e}"
            );
        } else {
            assert!(
                matches!(&e, Error::CheckpointChecksum { path: p, expected, found }
                    if *p == file && *expected == crc32fast::hash(bytes) && *found == crc32fast::hash(&flipped)),
                "{name}: {e}"
            );
        }
        assert!(e.to_string().contains("checksum mismatch"), "{name}: {e}");
        assert!(e.to_string().contains(name.as_str()), "{name}: {e}");
        // Truncated by one byte.
        std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
        let e = refused(&mut fresh, &path, &device);
        if name != "manifest.json" {
            assert!(
                matches!(&e, Error::CheckpointLength { path: p, expected, found }
                    if *p == file && *expected == bytes.len() as u64 && *found == bytes.len() as u64 - 1),
                "{name}: {e}"
            );
        }
        assert!(e.to_string().contains("truncated"), "{name}: {e}");
        // Missing.
        std::fs::remove_file(&file).unwrap();
        let e = refused(&mut fresh, &path, &device);
        assert!(
            matches!(&e, Error::CheckpointMissing { path: p } if *p == file),
            "{name}: {e}"
        );
        restore();
    }
    // The whole checkpoint missing.
    let e = refused(&mut fresh, &dir.path().join("nothing-here"), &device);
    assert!(matches!(&e, Error::CheckpointMissing { .. }), "{e}");
    // Restored, it loads.
    fresh.load(&path, Mlp::new(&device, -0.7)).unwrap();
    assert_eq!(fresh.dual().state(), trainer.dual().state());
}

#[test]
fn another_format_version_is_refused() {
    let _rng = rng_turn();
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    saved_run(&path, &device);
    let formulation = Formulation::lagrangian(GradientAscent::new(0.2));
    let mut fresh = resumable(formulation, UpdateScheme::AlternatingDualPrimal, &device);
    // A manifest of version 3, with a valid checksum.
    let manifest = path.join("manifest.json");
    let payload = feasible::checkpoint::read_verified(&manifest, feasible_burn::checkpoint::MANIFEST_KIND).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(value["version"], 2);
    value["version"] = 3.into();
    let text = serde_json::to_vec(&value).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    feasible::checkpoint::write_atomic(&manifest, feasible_burn::checkpoint::MANIFEST_KIND, &text).unwrap();
    let e = refused(&mut fresh, &path, &device);
    assert!(
        matches!(&e, Error::CheckpointVersion { path: p, found: 3, expected: 2 } if *p == path),
        "{e}"
    );
    assert!(e.to_string().contains("format version 3"), "{e}");
    // Version 1 was a single file.
    let single = dir.path().join("run1.ckpt");
    feasible::checkpoint::write_atomic(&single, "feasible_burn_trainer", b"sections").unwrap();
    let e = refused(&mut fresh, &single, &device);
    assert!(
        matches!(
            &e,
            Error::CheckpointVersion {
                found: 1,
                expected: 2,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn other_constraints_or_another_dual_optimizer_are_refused() {
    let _rng = rng_turn();
    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    saved_run(&path, &device);
    // The same constraints, another dual optimizer for `rate`.
    let mut other_dual = resumable(
        Formulation::lagrangian(Adam::new(0.2)),
        UpdateScheme::AlternatingDualPrimal,
        &device,
    );
    let e = refused(&mut other_dual, &path, &device);
    assert!(matches!(&e, Error::Core(FeasibleError::StateMismatch { .. })), "{e}");
    assert!(e.to_string().contains("rate"), "{e}");
    // Another target for `rate`.
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least("rate", 0.5).with_formulation(Formulation::lagrangian(GradientAscent::new(0.2))),
        )
        .constraint(
            Constraint::equal_to("mean_logit", 0.1)
                .with_formulation(Formulation::lagrangian(NuPi::new(0.05, 1.0, 1.0))),
        )
        .build()
        .unwrap();
    let mut other_target = ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05)
        .unwrap()
        .with_rng(device.clone(), 1234);
    let e = refused(&mut other_target, &path, &device);
    assert!(e.to_string().contains("rate >= 0.5"), "{e}");
}

fn primal_trainer(primal: burn::optim::ModuleOptimizer, device: &Device) -> ConstrainedTrainer {
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_least("rate", 0.6).with_formulation(Formulation::lagrangian(GradientAscent::new(0.2))),
        )
        .constraint(
            Constraint::equal_to("mean_logit", 0.1)
                .with_formulation(Formulation::lagrangian(NuPi::new(0.05, 1.0, 1.0))),
        )
        .build()
        .unwrap();
    ConstrainedTrainer::new(dual, primal, 0.05)
        .unwrap()
        .with_rng(device.clone(), 1234)
}

#[test]
fn a_checkpoint_of_another_primal_optimizer_is_refused() {
    let _rng = rng_turn();
    let device = device();
    let (x, y) = batch(&device);
    let dir = tempfile::tempdir().unwrap();
    let adam_path = dir.path().join("adam");
    saved_run(&adam_path, &device);
    // Adam's state into SGD, with or without momentum.
    for sgd in [
        SgdConfig::new().init(),
        SgdConfig::new()
            .with_momentum(Some(burn::optim::momentum::MomentumConfig::new()))
            .init(),
    ] {
        let mut trainer = primal_trainer(sgd, &device);
        let e = refused(&mut trainer, &adam_path, &device);
        assert!(matches!(&e, Error::PrimalOptimizerMismatch { .. }), "{e}");
        assert!(e.to_string().contains("moment_1"), "{e}");
    }
    // SGD's state (momentum) into Adam.
    let sgd_path = dir.path().join("sgd");
    let mut sgd = primal_trainer(
        SgdConfig::new()
            .with_momentum(Some(burn::optim::momentum::MomentumConfig::new()))
            .init(),
        &device,
    );
    let mut model = Mlp::new(&device, 0.3);
    for _ in 0..3 {
        model = sgd.step_with(model, |m| noisy(m, &x, &y)).unwrap().0;
    }
    sgd.save(&sgd_path, &model).unwrap();
    let mut adam = primal_trainer(AdamConfig::new().init(), &device);
    let e = refused(&mut adam, &sgd_path, &device);
    assert!(matches!(&e, Error::PrimalOptimizerMismatch { .. }), "{e}");
    assert!(e.to_string().contains("velocity"), "{e}");

    // Declared configurations: another hyperparameter is refused, naming
    // both; the same one resumes.
    let declared = |config: &AdamConfig| primal_trainer(config.init(), &device).with_primal_config(config);
    let config = AdamConfig::new();
    let mut first = declared(&config);
    let mut model = Mlp::new(&device, 0.3);
    for _ in 0..3 {
        model = first.step_with(model, |m| noisy(m, &x, &y)).unwrap().0;
    }
    let declared_path = dir.path().join("declared");
    first.save(&declared_path, &model).unwrap();
    let other = AdamConfig::new().with_beta_1(0.8);
    let e = refused(&mut declared(&other), &declared_path, &device);
    let Error::PrimalOptimizerMismatch { saved, trainer, .. } = &e else {
        panic!("{e}")
    };
    assert!(saved.contains("AdamConfig") && saved.contains("beta_1: 0.9"), "{saved}");
    assert!(
        trainer.contains("AdamConfig") && trainer.contains("beta_1: 0.8"),
        "{trainer}"
    );
    // Undeclared against declared is refused too.
    let e = refused(&mut primal_trainer(config.init(), &device), &declared_path, &device);
    assert!(e.to_string().contains("undeclared"), "{e}");
    let mut same = declared(&config);
    let mut resumed = same.load(&declared_path, Mlp::new(&device, -0.7)).unwrap();
    for _ in 0..2 {
        resumed = same.step_with(resumed, |m| noisy(m, &x, &y)).unwrap().0;
        model = first.step_with(model, |m| noisy(m, &x, &y)).unwrap().0;
    }
    assert_eq!(resumed.parameters(), model.parameters());
    assert_eq!(same.dual().state(), first.dual().state());
}

#[test]
fn the_model_and_optimizer_files_load_with_burn_alone() {
    let _rng = rng_turn();
    use burn::optim::{GradientsParams, OptimizerRecord};
    use burn::store::ModuleRecord;

    let device = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    let (trainer, model) = saved_run(&path, &device);
    // The model: burn's record, applied to a fresh model.
    let record = ModuleRecord::load(path.join("model.bpk")).unwrap();
    let loaded = Mlp::new(&device, -0.7).try_load_record(record).unwrap();
    assert_eq!(loaded.parameters(), model.parameters());
    assert_ne!(Mlp::new(&device, -0.7).parameters(), model.parameters());
    let loaded = Mlp::new(&device, -0.7).load_file(path.join("model.bpk"));
    assert_eq!(loaded.parameters(), model.parameters());
    // The optimizer: burn's record, into a fresh Adam; one step from it
    // equals one step of the trainer's own optimizer, bit for bit (a fresh
    // Adam's step differs).
    let record = OptimizerRecord::load(path.join("optimizer.bpk")).unwrap();
    assert_eq!(record.len(), trainer.primal().to_record().len());
    assert!(!record.is_empty());
    let mut restored = AdamConfig::new().init().load_record(record);
    let mut own = trainer.primal().clone();
    let mut fresh = AdamConfig::new().init();
    let step = |optimizer: &mut burn::optim::ModuleOptimizer| {
        let (x, _) = batch(&device);
        let out = model.out.forward(model.hidden.forward(x));
        let grads = GradientsParams::from_grads(out.sum().backward(), &model);
        optimizer.step(0.05, model.clone(), grads).parameters()
    };
    let expected = step(&mut own);
    assert_eq!(step(&mut restored), expected);
    assert_ne!(step(&mut fresh), expected);
}

#[test]
fn per_sample_weights_follow_their_samples_in_the_batch() {
    // Indexed constraint z_i <= 1 over 6 samples; the batch measures
    // samples 4 and 1 (inputs 1 and -2) whose multipliers are 2.0 and 0.5.
    // Loss 0: the step is -lr Σ λ_id ∇z: dw = 2·1 + 0.5·(-2) = 1, db = 2.5.
    let device = device();
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("z", 1.0)
                .with_entries(6)
                .indexed()
                .with_formulation(Formulation::lagrangian(GradientAscent::new(0.0))),
        )
        .build()
        .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, SgdConfig::new().init(), 1.0).unwrap();
    let mut state = trainer.dual().state();
    if let Some(multipliers) = state.constraints[0].state.multipliers_mut() {
        multipliers[4] = 2.0;
        multipliers[1] = 0.5;
    }
    trainer.dual_mut().restore(state).unwrap();
    let model = Affine::zeros(1, &device);
    let z = model.forward(tensor2(&[1.0, -2.0], 2, 1, &device)).reshape([2]);
    let evaluation = Evaluation::feasibility().with("z", ConstraintTensors::new(z).with_indices(vec![4, 1]));
    let (model, report) = trainer.step(model, evaluation).unwrap();
    assert_eq!(model.parameters(), vec![-1.0, -2.5]);
    assert_eq!(report.constraints[0].primal_weight, vec![2.0, 0.5]);
    assert_eq!(report.constraints[0].indices, Some(vec![4, 1]));
    assert_eq!(report.loss, 0.0);
}
