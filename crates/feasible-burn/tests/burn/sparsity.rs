//! L0 hard-concrete gates: the distribution's closed forms, the gated
//! layer, and a density constraint met through the trainer.

use burn::module::Param;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::random::{Draw, SplitMix64};
use feasible_burn::sparsity::{
    self, GateMode, GatedLayer, Granularity, L0Conv2d, L0Conv2dConfig, L0LinearConfig, expected_density, hard_concrete,
};
use feasible_burn::{ConstrainedTrainer, ConstraintTensors, Evaluation};

fn device() -> Device {
    Device::flex().autodiff()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.without_autodiff().try_into_vec_as::<f64>().unwrap()
}

fn constant(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

#[test]
fn the_closed_forms_match_hand_computation() {
    let device = device();
    // At log α = 0: P(z ≠ 0) = σ((2/3) ln 11) = σ(1.59859...), the
    // deterministic gate is 0.5·1.2 - 0.1 = 0.5, and the median noise
    // u = 0.5 gives s = σ(0) = 0.5, so z = 0.5 too.
    let zero = constant(&[0.0], [1, 1], &device);
    let p = 1.0 / (1.0 + (-(2.0 / 3.0) * 11f64.ln()).exp());
    assert!((values(hard_concrete::probability_nonzero(zero.clone()))[0] - p).abs() < 1e-6);
    assert!((hard_concrete::probability_nonzero_f64(0.0) - p).abs() < 1e-15);
    assert!((values(hard_concrete::deterministic(zero.clone()))[0] - 0.5).abs() < 1e-6);
    let half = constant(&[0.5], [1, 1], &device);
    assert!((values(hard_concrete::sample(zero.clone(), half))[0] - 0.5).abs() < 1e-6);
    // Noise near 0 clips the gate to exactly 0, near 1 to exactly 1.
    assert_eq!(
        values(hard_concrete::sample(zero.clone(), constant(&[1e-6], [1, 1], &device)))[0],
        0.0
    );
    assert_eq!(
        values(hard_concrete::sample(zero, constant(&[0.999999], [1, 1], &device)))[0],
        1.0
    );
    // The deterministic gate is zero exactly below σ(log α) = 1/12.
    let edge = (1.0f64 / 11.0).ln();
    assert!(!hard_concrete::deterministic_nonzero(edge - 1e-9) && hard_concrete::deterministic_nonzero(edge + 1e-9));
    // Drop rate 0.01: log α = ln 99, a dense start.
    assert!((hard_concrete::log_alpha_for_drop_rate(0.01) - 99f64.ln()).abs() < 1e-12);
    assert!((hard_concrete::probability_nonzero_f64(99f64.ln()) - 0.99796).abs() < 1e-5);
}

#[test]
fn sampled_gates_are_non_zero_as_often_as_the_closed_form_says() {
    let device = device();
    let n = 100_000;
    let mut rng = SplitMix64::new(5);
    for log_alpha in [-2.0, -1.0, 0.5, 2.0] {
        let locations = constant(&vec![log_alpha as f32; n], [n, 1], &device);
        let u: Vec<f32> = (0..n).map(|_| rng.uniform_open() as f32).collect();
        let z = values(hard_concrete::sample(locations, constant(&u, [n, 1], &device)));
        let nonzero = z.iter().filter(|z| **z > 0.0).count() as f64 / n as f64;
        let expected = hard_concrete::probability_nonzero_f64(log_alpha);
        // 100k Bernoulli draws: standard error below 0.0016.
        assert!(
            (nonzero - expected).abs() < 0.006,
            "log α {log_alpha}: {nonzero} vs {expected}"
        );
        assert!(z.iter().all(|z| (0.0..=1.0).contains(z)));
    }
}

#[test]
fn the_gated_layer_counts_what_its_gates_switch() {
    let device = device();
    let mut rng = SplitMix64::new(1);
    let units = L0LinearConfig::new(3, 4).init(&device, &mut rng).unwrap();
    let weights = L0LinearConfig::new(3, 4)
        .with_granularity(Granularity::Weights)
        .init(&device, &mut rng)
        .unwrap();
    assert_eq!((units.gate_shape(), weights.gate_shape()), ([3, 1], [3, 4]));
    // Dense start: the deterministic gates are all exactly 1, so the layer
    // is a plain linear map.
    let x = constant(&[1.0, -2.0, 0.5], [1, 3], &device);
    let gated = values(units.forward(x.clone(), &GateMode::Deterministic).unwrap());
    let plain = values(x.matmul(units.weight.val()) + units.bias.val().reshape([1, 4]));
    assert_eq!(gated, plain);
    assert_eq!(units.deterministic_nonzero().unwrap(), 12);
    // Expected non-zero weights: P per gate times the weights it switches.
    let p = hard_concrete::probability_nonzero_f64(99f64.ln());
    assert!((values(units.expected_nonzero())[0] - 3.0 * 4.0 * p).abs() < 1e-4);
    assert!((values(weights.expected_nonzero())[0] - 12.0 * p).abs() < 1e-4);
    let both = [units, weights];
    assert!((values(expected_density(&both).unwrap())[0] - p).abs() < 1e-5);
    assert_eq!(sparsity::deterministic_density(&both).unwrap(), 1.0);
    assert!(expected_density::<&dyn GatedLayer>(&[]).is_none());
}

#[test]
fn the_gated_convolution_drops_whole_channels_and_counts_their_filters() {
    let device = device();
    let mut conv = L0Conv2dConfig::new(1, 2, [2, 2])
        .init(&device, &mut SplitMix64::new(2))
        .unwrap();
    // Filters [[1, 2], [3, 4]] and [[-1, 0], [0, 1]], biases 0.5 and -0.25;
    // channel 0 dense (log α = ln 99), channel 1 dropped (log α = -10).
    conv.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, -1.0, 0.0, 0.0, 1.0], [2, 1, 2, 2]),
        &device,
    ));
    conv.bias = Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.5f32, -0.25], [2]), &device));
    let gates = |thetas: [f32; 2]| Param::from_tensor(constant(&thetas, [2, 1], &device));
    conv.gate = gates([99f32.ln(), -10.0]);
    let image: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let x = Tensor::<4>::from_data(TensorData::new(image, [1, 1, 3, 3]), &device);
    // By hand, valid cross-correlation of [[1,2,3],[4,5,6],[7,8,9]]:
    // channel 0: 1·1 + 2·2 + 3·4 + 4·5 + 0.5 = 37.5, then 47.5, 67.5, 77.5;
    // channel 1, dropped: exactly 0 (its bias is gated too).
    let out = values(conv.forward(x.clone(), &GateMode::Deterministic).unwrap());
    assert_eq!(out, vec![37.5, 47.5, 67.5, 77.5, 0.0, 0.0, 0.0, 0.0]);
    // Channel 1 on: x[i+1, j+1] - x[i, j] - 0.25 = 3.75 everywhere.
    conv.gate = gates([99f32.ln(), 99f32.ln()]);
    let out = values(conv.forward(x.clone(), &GateMode::Deterministic).unwrap());
    assert_eq!(out[4..], [3.75, 3.75, 3.75, 3.75]);
    // Sampled gates at log α = 0: noise near 1 opens a gate fully, near 0
    // closes it.
    conv.gate = gates([0.0, 0.0]);
    let noise = constant(&[0.999999, 1e-6], [2, 1], &device);
    let out = values(conv.forward(x, &GateMode::Sample(noise)).unwrap());
    assert_eq!(out, vec![37.5, 47.5, 67.5, 77.5, 0.0, 0.0, 0.0, 0.0]);
    // Counts: a gate switches its channel's 1·2·2 weights.
    conv.gate = gates([99f32.ln(), -10.0]);
    // One zero on each side: the corner window sees only x[0, 0] = 1, under
    // the filter's last weight: 4·1 + 0.5.
    let padded = L0Conv2d {
        padding: [1, 1],
        ..conv.clone()
    };
    let x = Tensor::<4>::from_data(
        TensorData::new((1..=9).map(|v| v as f32).collect(), [1, 1, 3, 3]),
        &device,
    );
    let out = padded.forward(x, &GateMode::Deterministic).unwrap();
    assert_eq!(out.dims(), [1, 2, 4, 4]);
    assert_eq!(values(out)[0], 4.5);
    assert_eq!((conv.gated_weights(), conv.deterministic_nonzero().unwrap()), (8, 4));
    let expected =
        4.0 * (hard_concrete::probability_nonzero_f64(99f64.ln()) + hard_concrete::probability_nonzero_f64(-10.0));
    assert!((values(conv.expected_nonzero())[0] - expected).abs() < 1e-5);
    // A density over convolution and linear layers together: 4 of the 8
    // filter weights and all 12 of a dense 3×4 layer's.
    let linear = L0LinearConfig::new(3, 4)
        .init(&device, &mut SplitMix64::new(3))
        .unwrap();
    let layers: [&dyn GatedLayer; 2] = [&conv, &linear];
    assert_eq!(sparsity::deterministic_density(&layers).unwrap(), 16.0 / 20.0);
    assert_eq!(
        sparsity::deterministic_layer_densities(&layers).unwrap(),
        vec![0.5, 1.0]
    );
    let p = hard_concrete::probability_nonzero_f64(99f64.ln());
    let density = values(expected_density(&layers).unwrap())[0];
    assert!((density - (expected + 12.0 * p) / 20.0).abs() < 1e-6);
}

#[test]
fn the_gated_layers_refuse_bad_settings_and_misshapen_input_with_typed_errors() {
    let device = device();
    let mut rng = SplitMix64::new(4);
    let before = rng.clone();
    let refused = |result: feasible_burn::Result<()>| match result {
        Err(feasible_burn::Error::LayerSetting {
            layer, setting, value, ..
        }) => format!("{layer} {setting} {value}"),
        other => panic!("expected a refused setting, got {other:?}"),
    };
    let linear = |config: L0LinearConfig, rng: &mut SplitMix64| config.init(&device, rng).map(|_| ());
    assert_eq!(
        refused(linear(L0LinearConfig::new(0, 4), &mut rng)),
        "L0Linear inputs 0"
    );
    assert_eq!(
        refused(linear(L0LinearConfig::new(3, 0), &mut rng)),
        "L0Linear outputs 0"
    );
    for rate in [0.0, 1.0, f64::NAN] {
        let config = L0LinearConfig::new(3, 4).with_initial_drop_rate(rate);
        assert_eq!(
            refused(linear(config, &mut rng)),
            format!("L0Linear initial_drop_rate {rate}")
        );
    }
    for scale in [0.0, -1.0, f64::INFINITY] {
        let config = L0LinearConfig::new(3, 4).with_gate_scale(scale);
        assert_eq!(
            refused(linear(config, &mut rng)),
            format!("L0Linear gate_scale {scale}")
        );
    }
    let config = L0LinearConfig::new(3, 4).with_weight_bound(-0.5);
    assert_eq!(refused(linear(config, &mut rng)), "L0Linear weight_bound -0.5");
    let conv = |config: L0Conv2dConfig, rng: &mut SplitMix64| config.init(&device, rng).map(|_| ());
    assert_eq!(
        refused(conv(L0Conv2dConfig::new(1, 2, [0, 2]), &mut rng)),
        "L0Conv2d kernel height 0"
    );
    assert_eq!(
        refused(conv(L0Conv2dConfig::new(0, 2, [2, 2]), &mut rng)),
        "L0Conv2d inputs 0"
    );
    // Nothing was drawn from the generator by a refused layer.
    assert_eq!(rng, before);

    let wrong = |result: feasible_burn::Result<Vec<usize>>| match result {
        Err(feasible_burn::Error::LayerInput { layer, what, found, .. }) => format!("{layer} {what} {found:?}"),
        other => panic!("expected a refused input, got {other:?}"),
    };
    let layer = L0LinearConfig::new(3, 4).init(&device, &mut rng).unwrap();
    let x = constant(&[1.0, 2.0], [1, 2], &device);
    let dims = |t: Tensor<2>| t.dims().to_vec();
    assert_eq!(
        wrong(layer.forward(x.clone(), &GateMode::Deterministic).map(dims)),
        "L0Linear input [1, 2]"
    );
    assert_eq!(wrong(layer.forward_ungated(x).map(dims)), "L0Linear input [1, 2]");
    let x = constant(&[1.0, 2.0, 3.0], [1, 3], &device);
    let noise = constant(&[0.5; 4], [4, 1], &device);
    assert_eq!(
        wrong(layer.forward(x.clone(), &GateMode::Sample(noise)).map(dims)),
        "L0Linear gates' noise [4, 1]"
    );
    assert_eq!(layer.forward(x, &GateMode::Deterministic).unwrap().dims(), [1, 4]);
    let conv = L0Conv2dConfig::new(2, 3, [3, 3]).init(&device, &mut rng).unwrap();
    let image = |shape: [usize; 4]| Tensor::<4>::zeros(shape, &device);
    let conv_dims = |t: Tensor<4>| t.dims().to_vec();
    for shape in [[1, 1, 5, 5], [1, 2, 2, 5], [1, 2, 5, 2]] {
        let found = conv.forward(image(shape), &GateMode::Deterministic).map(conv_dims);
        assert_eq!(wrong(found), format!("L0Conv2d input {shape:?}"));
    }
    let padded = L0Conv2d {
        padding: [1, 1],
        ..conv.clone()
    };
    let out = padded.forward(image([1, 2, 1, 1]), &GateMode::Deterministic).unwrap();
    assert_eq!(out.dims(), [1, 3, 1, 1]);
}

#[test]
fn a_density_constraint_keeps_the_most_important_units() {
    // Ten units with importances c_j = j + 1: the loss Σ c_j (1 - P(z_j ≠ 0))
    // wants every unit on, the constraint density <= 0.4 allows four. The
    // solution keeps units 6..=9, the four most important, and the
    // deterministic density (the strict value) is exactly 0.4. In the gates'
    // probabilities this is a linear program whose optimal multipliers fill
    // an interval (λ/10 between the importances 6 and 7): descent-ascent on
    // the Lagrangian cycles around it (the multiplier swung between 30 and
    // 110 over a thousand steps, with ascent and with nuPI, in the runs that
    // shaped this test). The augmented Lagrangian's quadratic term makes the
    // saddle well posed, and the density settles.
    let device = device();
    let mut rng = SplitMix64::new(3);
    let mut layers = vec![L0LinearConfig::new(10, 5).init(&device, &mut rng).unwrap()];
    let importance = constant(&(1..=10).map(|c| c as f32).collect::<Vec<_>>(), [10, 1], &device);
    let dual =
        ConstrainedOptimizer::builder()
            .constraint(Constraint::at_most("density", 0.4).with_formulation(
                Formulation::augmented_lagrangian(200.0).with_dual_optimizer(GradientAscent::new(1.0)),
            ))
            .scheme(UpdateScheme::AlternatingDualPrimal)
            .build()
            .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05).unwrap();
    let mut densities = Vec::new();
    for _ in 0..1500 {
        let strict = sparsity::deterministic_density(&layers).unwrap();
        densities.push(strict);
        let dropped = hard_concrete::probability_nonzero(layers[0].log_alpha())
            .neg()
            .add_scalar(1.0);
        let loss = (dropped * importance.clone()).sum();
        let evaluation = Evaluation::new(loss).with(
            "density",
            ConstraintTensors::new(expected_density(&layers).unwrap()).with_strict_values(vec![strict]),
        );
        layers = trainer.step(layers, evaluation).unwrap().0;
    }
    assert!(
        densities[1000..].iter().all(|d| *d == 0.4),
        "not settled: {:?}",
        &densities[1000..1010]
    );
    assert_eq!(sparsity::deterministic_density(&layers).unwrap(), 0.4);
    let kept: Vec<usize> = values(layers[0].log_alpha())
        .iter()
        .enumerate()
        .filter(|(_, a)| hard_concrete::deterministic_nonzero(**a))
        .map(|(j, _)| j)
        .collect();
    assert_eq!(kept, vec![6, 7, 8, 9]);
    let lambda = trainer.dual().multipliers("density").unwrap().unwrap()[0];
    assert!(lambda > 10.0 * 6.0 - 5.0 && lambda < 10.0 * 7.0 + 20.0, "{lambda}");
}

#[test]
fn a_layer_wise_density_constraint_has_one_entry_per_layer() {
    // Two unit-gated layers; the first must keep at most 30% of its
    // weights, the second is allowed all of them (target 1.0), nothing else
    // pulls. Each entry is measured on its own layer: only the first prunes.
    let device = device();
    let mut rng = SplitMix64::new(9);
    let mut layers = vec![
        L0LinearConfig::new(10, 4)
            .with_gate_scale(5.0)
            .init(&device, &mut rng)
            .unwrap(),
        L0LinearConfig::new(4, 2)
            .with_gate_scale(5.0)
            .init(&device, &mut rng)
            .unwrap(),
    ];
    let p = hard_concrete::probability_nonzero_f64(99f64.ln());
    let densities = values(sparsity::layer_densities(&layers).unwrap());
    assert!(densities.iter().all(|d| (d - p).abs() < 1e-5), "{densities:?}");
    let dual = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("layer_density", 0.3)
                .with_entries(2)
                .with_formulation(Formulation::lagrangian(GradientAscent::new(1.0)).with_restart_on_feasible()),
        )
        .build()
        .unwrap();
    let mut trainer = ConstrainedTrainer::new(dual, AdamConfig::new().init(), 0.05).unwrap();
    for _ in 0..300 {
        let strict = sparsity::deterministic_layer_densities(&layers).unwrap();
        // Entry 1's target is met by offsetting its value: density - 0.7 <= 0.3.
        let value = sparsity::layer_densities(&layers).unwrap()
            - Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.7], [2]), &device);
        let evaluation = Evaluation::feasibility().with(
            "layer_density",
            ConstraintTensors::new(value).with_strict_values(vec![strict[0], strict[1] - 0.7]),
        );
        layers = trainer.step(layers, evaluation).unwrap().0;
    }
    let strict = sparsity::deterministic_layer_densities(&layers).unwrap();
    assert!(strict[0] <= 0.3, "{strict:?}");
    assert_eq!(strict[1], 1.0, "{strict:?}");
}
