//! Implicit multipliers against a hand-computed step, and what a step
//! refuses.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::SgdConfig;
use burn::tensor::{Tensor, TensorData};
use feasible_burn::Error;
use feasible_burn::implicit::{ImplicitMultipliers, MultiplierNet};

use crate::user_loop::device;

/// `h(x) = w·x + b` with every weight and the bias at `0.1`.
#[derive(Module, Debug)]
struct LinearNet {
    linear: Linear,
}

impl MultiplierNet for LinearNet {
    fn forward(&self, features: Tensor<2>) -> Tensor<1> {
        let n = features.dims()[0];
        self.linear.forward(features).reshape([n])
    }
}

fn model() -> ImplicitMultipliers<LinearNet> {
    let net = LinearNet {
        linear: LinearConfig::new(2, 1)
            .with_initializer(Initializer::Constant { value: 0.1 })
            .init(&device()),
    };
    ImplicitMultipliers::new(net, SgdConfig::new().init(), 0.5).unwrap()
}

fn features() -> Tensor<2> {
    Tensor::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0], [2, 2]), &device())
}

fn softplus(x: f64) -> f64 {
    x.exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn one_ascent_step_matches_the_hand_computed_sgd_step() {
    // Rows x_1 = (1, 0), x_2 = (0, 2): h = (0.2, 0.3), λ = softplus(h).
    let mut m = model();
    let lambda = m.multipliers(features()).unwrap();
    let (h1, h2) = (0.2, 0.3);
    for (got, want) in lambda.iter().zip([softplus(h1), softplus(h2)]) {
        assert!((got - want).abs() < 1e-6, "{lambda:?}");
    }
    // Ascent on mean_i λ_i g_i with g = (2, -1): ∂/∂h_i = g_i σ(h_i) / 2.
    // SGD with step 0.5 on the negated objective: θ ← θ + 0.5 ∂/∂θ.
    let g = [2.0, -1.0];
    m.ascend(features(), &g).unwrap();
    let d1 = g[0] * sigmoid(h1) / 2.0;
    let d2 = g[1] * sigmoid(h2) / 2.0;
    let (w1, w2, b) = (0.1 + 0.5 * d1 * 1.0, 0.1 + 0.5 * d2 * 2.0, 0.1 + 0.5 * (d1 + d2));
    let after = m.multipliers(features()).unwrap();
    let want = [softplus(w1 + b), softplus(2.0 * w2 + b)];
    for (got, want) in after.iter().zip(want) {
        assert!((got - want).abs() < 1e-6, "{after:?} against {want}");
    }
    // The violated sample's multiplier rose, the satisfied one's fell.
    assert!(after[0] > lambda[0] && after[1] < lambda[1]);
}

#[test]
fn a_refused_step_changes_nothing() {
    let mut m = model();
    let before = m.multipliers(features()).unwrap();
    for (g, needle) in [
        (vec![1.0], "1 violations for a batch of 2 samples"),
        (vec![1.0, f64::NAN], "the violation of sample 1 is NaN"),
    ] {
        let e = m.ascend(features(), &g).unwrap_err();
        assert!(matches!(e, Error::ImplicitMultipliers { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
        assert_eq!(m.multipliers(features()).unwrap(), before);
    }
    let e = ImplicitMultipliers::new(
        LinearNet {
            linear: LinearConfig::new(2, 1).init(&device()),
        },
        SgdConfig::new().init(),
        f64::NAN,
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidLearningRate { .. }), "{e}");
}

/// A network that answers one multiplier whatever the batch.
#[derive(Module, Debug)]
struct OneAnswer {
    linear: Linear,
}

impl MultiplierNet for OneAnswer {
    fn forward(&self, features: Tensor<2>) -> Tensor<1> {
        self.linear.forward(features).sum()
    }
}

#[test]
fn a_network_that_does_not_answer_every_sample_or_is_off_the_graph_is_refused() {
    let linear = LinearConfig::new(2, 1)
        .with_initializer(Initializer::Constant { value: 0.1 })
        .init(&device());
    let mut one = ImplicitMultipliers::new(OneAnswer { linear }, SgdConfig::new().init(), 0.5).unwrap();
    let e = one.ascend(features(), &[1.0, -1.0]).unwrap_err();
    assert!(
        e.to_string()
            .contains("returned 1 multipliers for a batch of 2 samples"),
        "{e}"
    );
    // Built without autodiff: nothing to ascend, and nothing changes.
    let plain = burn::tensor::Device::flex();
    let net = LinearNet {
        linear: LinearConfig::new(2, 1)
            .with_initializer(Initializer::Constant { value: 0.1 })
            .init(&plain),
    };
    let mut m = ImplicitMultipliers::new(net, SgdConfig::new().init(), 0.5).unwrap();
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0], [2, 2]), &plain);
    let before = m.multipliers(x.clone()).unwrap();
    let e = m.ascend(x.clone(), &[1.0, -1.0]).unwrap_err();
    assert!(e.to_string().contains("not tracked by autodiff"), "{e}");
    assert_eq!(m.multipliers(x).unwrap(), before);
}
