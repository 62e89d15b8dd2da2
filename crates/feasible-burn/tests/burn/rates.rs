//! Rates and fairness constraints against hand-computed values: the 0/1
//! rates, the sigmoid and hinge surrogates and their gradients, expected
//! denominators, multiclass margins, and the error paths.

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use feasible_burn::Error;
use feasible_burn::fairness::Fairness;
use feasible_burn::rates::{BinaryPredictions, Confusion, MulticlassPredictions, Rate, Subset, Surrogate};

// Margins, labels and a group of a six-sample batch. Predicted positive
// (margin > 0): samples 0, 2, 5. Positives: 0, 1, 4. Group: 0, 2, 4, 5.
const MARGINS: [f32; 6] = [2.0, -1.5, 0.5, -3.0, 0.0, 1.5];
const LABELS: [bool; 6] = [true, true, false, false, true, false];
const GROUP: [bool; 6] = [true, false, true, false, true, true];

fn device() -> Device {
    Device::flex().autodiff()
}

fn predictions(surrogate: Surrogate) -> (Tensor<1>, BinaryPredictions) {
    let margins = Tensor::<1>::from_floats(MARGINS, &device()).require_grad();
    let p = BinaryPredictions::new(margins.clone(), LABELS, surrogate).unwrap();
    (margins, p)
}

fn value(rate: &Rate) -> f64 {
    rate.surrogate().unwrap().without_autodiff().into_scalar::<f64>()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn binary_rates_strict_values_are_the_hand_counted_ones() {
    let (_, p) = predictions(Surrogate::Hinge);
    assert_eq!(p.predicted(), [true, false, true, false, false, true]);
    let all = Subset::All;
    let group = Subset::mask("g", GROUP);
    let cases: [(&str, Rate, f64); 12] = [
        ("tpr", p.true_positive_rate(&all).unwrap(), 1.0 / 3.0),
        ("fnr", p.false_negative_rate(&all).unwrap(), 2.0 / 3.0),
        ("fpr", p.false_positive_rate(&all).unwrap(), 2.0 / 3.0),
        ("tnr", p.true_negative_rate(&all).unwrap(), 1.0 / 3.0),
        ("ppr", p.positive_prediction_rate(&all).unwrap(), 0.5),
        ("npr", p.negative_prediction_rate(&all).unwrap(), 0.5),
        ("error", p.error_rate(&all).unwrap(), 4.0 / 6.0),
        ("accuracy", p.accuracy(&all).unwrap(), 2.0 / 6.0),
        ("precision", p.precision(&all).unwrap(), 1.0 / 3.0),
        ("tpr_g", p.true_positive_rate(&group).unwrap(), 0.5),
        ("fpr_g", p.false_positive_rate(&group).unwrap(), 1.0),
        ("error_g", p.error_rate(&group).unwrap(), 0.75),
    ];
    for (name, rate, expected) in cases {
        assert!(
            close(rate.strict().unwrap(), expected),
            "{name}: {}",
            rate.strict().unwrap()
        );
    }
    // The host counts agree.
    let c = Confusion::new(p.predicted(), &LABELS, Some(&GROUP)).unwrap();
    assert_eq!(
        (c.true_positives, c.false_positives, c.true_negatives, c.false_negatives),
        (1, 2, 0, 1)
    );
    assert!(close(c.true_positive_rate(), 0.5) && close(c.error_rate(), 0.75));
    assert!(close(c.positive_prediction_rate(), 0.75) && close(c.precision(), 1.0 / 3.0));
}

#[test]
fn hinge_surrogates_and_their_gradients_are_hand_computed() {
    // max(0, 1 + s) = [3, 0, 1.5, 0, 1, 2.5]; max(0, 1 - s) = [0, 2.5, 0.5, 4, 1, 0].
    let (margins, p) = predictions(Surrogate::Hinge);
    let all = Subset::All;
    assert!(close(value(&p.true_positive_rate(&all).unwrap()), 4.0 / 3.0));
    assert!(close(value(&p.false_positive_rate(&all).unwrap()), 4.0 / 3.0));
    assert!(close(value(&p.positive_prediction_rate(&all).unwrap()), 8.0 / 6.0));
    assert!(close(value(&p.error_rate(&all).unwrap()), 7.5 / 6.0));
    assert!(close(value(&p.precision(&all).unwrap()), 4.0 / 8.0));
    // d TPR / d s: 1/3 for the positives on the linear part of the hinge.
    let grads = p.true_positive_rate(&all).unwrap().surrogate().unwrap().backward();
    let g: Vec<f32> = margins.grad(&grads).unwrap().to_data().try_to_vec().unwrap();
    let expected = [1.0 / 3.0, 0.0, 0.0, 0.0, 1.0 / 3.0, 0.0];
    for (a, b) in g.iter().zip(expected) {
        assert!((*a as f64 - b).abs() < 1e-6, "{g:?}");
    }
}

#[test]
fn sigmoid_surrogate_is_the_mean_probability() {
    let (_, p) = predictions(Surrogate::Sigmoid);
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let tpr = (s(2.0) + s(-1.5) + s(0.0)) / 3.0;
    assert!(close(value(&p.true_positive_rate(&Subset::All).unwrap()), tpr));
    let tnr_g = (s(-0.5) + s(-1.5)) / 2.0; // negatives of the group: samples 2, 5
    assert!(close(
        value(&p.true_negative_rate(&Subset::mask("g", GROUP)).unwrap()),
        tnr_g
    ));
    // Matches burn's own sigmoid.
    let direct = sigmoid(Tensor::<1>::from_floats([2.0f32], &device())).into_scalar::<f64>();
    assert!(close(direct, s(2.0)));
}

#[test]
fn combinations_and_expected_denominators() {
    let (_, p) = predictions(Surrogate::Hinge);
    let tpr = p.true_positive_rate(&Subset::All).unwrap();
    let tpr_g = p.true_positive_rate(&Subset::mask("g", GROUP)).unwrap();
    let gap = (tpr.clone() - tpr_g.clone()) * 2.0 + 0.1;
    assert!(close(gap.strict().unwrap(), 2.0 * (1.0 / 3.0 - 0.5) + 0.1));
    assert!(close(value(&gap), 2.0 * (4.0 / 3.0 - 4.0 / 2.0) + 0.1));
    // P(y = 1, g) = 0.25 of a batch of 6: divide by 1.5 instead of 2.
    let expected = tpr_g.with_expected_denominator(0.25).unwrap();
    assert!(close(expected.strict().unwrap(), 1.0 / 1.5));
    assert!(close(value(&expected), 4.0 / 1.5));
    assert!(matches!(gap.with_expected_denominator(0.5), Err(Error::Rate { .. })));
    assert!(matches!(tpr.with_expected_denominator(0.0), Err(Error::Rate { .. })));
    let precision = p.precision(&Subset::All).unwrap();
    assert!(matches!(
        precision.with_expected_denominator(0.5),
        Err(Error::Rate { .. })
    ));
}

#[test]
fn multiclass_margins_accuracy_and_one_vs_rest() {
    let logits =
        Tensor::<2>::from_floats([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 1.5, 2.0]], &device()).require_grad();
    let p = MulticlassPredictions::new(logits, vec![0, 2, 2], Surrogate::Hinge).unwrap();
    // Margins of the true class: 1, -2, 0.5.
    assert_eq!(p.correct(), [true, false, true]);
    let accuracy = p.accuracy(&Subset::All).unwrap();
    assert!(close(accuracy.strict().unwrap(), 2.0 / 3.0));
    assert!(close(value(&accuracy), (2.0 + 0.0 + 1.5) / 3.0));
    let error = p.error_rate(&Subset::mask("last two", [false, true, true])).unwrap();
    assert!(close(error.strict().unwrap(), 0.5));
    assert!(close(value(&error), (3.0 + 0.5) / 2.0));
    // "Predicted class 1?": margins -1, 2, -0.5; no sample is labelled 1.
    let one = p.one_vs_rest(1).unwrap();
    assert_eq!(one.predicted(), [false, true, false]);
    assert!(close(
        one.positive_prediction_rate(&Subset::All).unwrap().strict().unwrap(),
        1.0 / 3.0
    ));
    assert!(close(
        one.false_positive_rate(&Subset::All).unwrap().strict().unwrap(),
        1.0 / 3.0
    ));
    assert!(p.one_vs_rest(3).is_err());
}

#[test]
fn empty_denominators_and_bad_shapes_are_named_errors() {
    let (_, p) = predictions(Surrogate::Hinge);
    // Group {1, 3}... has positive 1; group {2, 3} has no positives.
    let no_positives = Subset::mask("g2", [false, false, true, true, false, false]);
    let tpr = p.true_positive_rate(&no_positives).unwrap();
    let e = tpr.strict().unwrap_err().to_string();
    assert!(e.starts_with("rate `true_positive_rate[g2]` is undefined"), "{e}");
    assert!(matches!(tpr.surrogate(), Err(Error::EmptyRate { .. })));
    let e = p
        .true_positive_rate(&Subset::mask("short", [true]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "rates: the mask of group `short` has 1 entries, the batch 6");
    let margins = Tensor::<1>::from_floats([1.0, 2.0], &device());
    assert!(BinaryPredictions::new(margins, [true], Surrogate::Hinge).is_err());
    let logits = Tensor::<2>::from_floats([[1.0, 2.0]], &device());
    assert!(MulticlassPredictions::new(logits, vec![2], Surrogate::Hinge).is_err());
}

#[test]
fn fairness_constraints_match_the_hand_computed_gaps() {
    let (_, p) = predictions(Surrogate::Hinge);
    let g = GROUP.to_vec();
    let h: Vec<bool> = GROUP.iter().map(|x| !x).collect(); // samples 1, 3: positive 1 missed
    let masks = vec![g, h];
    let third = 1.0 / 3.0;

    let eo = Fairness::equal_opportunity(["g", "h"], 0.05).unwrap();
    let values = eo.values(p.predicted(), &LABELS, &masks).unwrap();
    assert!(close(values[0], third - 0.5) && close(values[1], third), "{values:?}");
    let measured = eo.measure(&p, &masks).unwrap();
    assert_eq!(measured[0].0, "equal_opportunity[g]");
    assert_eq!(measured[1].0, "equal_opportunity[h]");
    for ((_, tensors), v) in measured.iter().zip(&values) {
        assert!(close(tensors.strict_values().unwrap()[0], *v));
    }
    let violations = eo.violations(p.predicted(), &LABELS, &masks).unwrap();
    assert!(close(violations[1], third - 0.05));

    let odds = Fairness::equalized_odds(["g", "h"], 0.1).unwrap();
    let values = odds.values(p.predicted(), &LABELS, &masks).unwrap();
    // g: TPR 1/2, FPR 1; h: TPR 0, FPR 0 (sample 3 predicted negative).
    let expected = [0.5 - third, third - 0.5, 1.0 - 2.0 * third, 2.0 * third - 1.0];
    let expected_h = [-third, third, -2.0 * third, 2.0 * third];
    for (v, e) in values.iter().zip(expected.iter().chain(&expected_h)) {
        assert!(close(*v, *e), "{values:?}");
    }
    let measured = odds.measure(&p, &masks).unwrap();
    assert_eq!(measured[0].1.strict_values().unwrap().len(), 4);
    assert_eq!(measured[0].1.value().dims(), [4]);

    let parity = Fairness::demographic_parity(["g"], 0.0).unwrap();
    let values = parity.values(p.predicted(), &LABELS, &masks[..1]).unwrap();
    assert!(close(values[0], 0.25) && close(values[1], -0.25));

    // Data-set denominators: the same gaps when the batch is the data set.
    let eo = eo.with_dataset_denominators(&LABELS, &masks).unwrap();
    let measured = eo.measure(&p, &masks).unwrap();
    assert!(close(measured[0].1.strict_values().unwrap()[0], third - 0.5));

    // A group without positives has no true positive rate.
    let none = vec![vec![false, false, true, true, false, false]];
    let e = Fairness::equal_opportunity(["none"], 0.05)
        .unwrap()
        .with_dataset_denominators(&LABELS, &none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("group `none` has no samples"), "{e}");
    assert!(Fairness::equal_opportunity(["a"], -0.1).is_err());
    assert!(eo.measure(&p, &masks[..1]).is_err());
}
