//! The proxy-Lagrangian's objective weight reaches the objective burn
//! descends.

use burn::tensor::{Tensor, TensorData};
use feasible::{ConstrainedOptimizer, Constraint, Formulation, GradientAscent, UpdateScheme};
use feasible_burn::{ConstraintTensors, Constraints, Evaluation};

use crate::user_loop::device;

#[test]
fn the_objective_is_lambda_0_times_the_loss_plus_the_weighted_values() {
    // One constraint `c <= 0.5` beside a fixed penalty `d <= 0` (c = 2): at
    // the start λ = (0.9995, 0.0005), so the objective is
    // 0.9995 · loss + 0.0005 · c + 0.9995 · 2 · d.
    let optimizer = ConstrainedOptimizer::builder()
        .constraint(
            Constraint::at_most("c", 0.5).with_formulation(Formulation::proxy_lagrangian(GradientAscent::new(1.0))),
        )
        .constraint(Constraint::at_most("d", 0.0).with_formulation(Formulation::fixed_penalty(2.0)))
        .scheme(UpdateScheme::Simultaneous)
        .build()
        .unwrap();
    let mut constraints = Constraints::new(optimizer);
    let device = device();
    let tracked = |v: f64| Tensor::<1>::from_data(TensorData::new(vec![v as f32], [1]), &device).require_grad();
    let (loss, c, d) = (tracked(3.0), tracked(0.75), tracked(0.25));
    let evaluation = Evaluation::new(loss.clone().sum())
        .with("c", ConstraintTensors::new(c.clone()))
        .with("d", ConstraintTensors::new(d.clone()));
    let (objective, pending) = constraints.lagrangian(evaluation).unwrap();
    let value = objective.clone().without_autodiff().try_into_vec_as::<f64>().unwrap()[0];
    let want = 0.9995 * 3.0 + 0.0005 * 0.75 + 0.9995 * 2.0 * 0.25;
    assert!((value - want).abs() < 1e-6, "{value} against {want}");
    // The gradients: λ_0 on the loss, λ_1 on c, λ_0 · 2 on d.
    let grads = objective.backward();
    let grad = |t: &Tensor<1>| t.grad(&grads).unwrap().try_into_vec_as::<f64>().unwrap()[0];
    assert!((grad(&loss) - 0.9995).abs() < 1e-6);
    assert!((grad(&c) - 0.0005).abs() < 1e-6);
    assert!((grad(&d) - 2.0 * 0.9995).abs() < 1e-6);
    pending.commit().unwrap();
    // The violated `c` (0.75 > 0.5) took weight from the objective.
    let after = constraints.multipliers("c").unwrap().unwrap()[0];
    assert!(after > 0.0005, "{after}");
}
