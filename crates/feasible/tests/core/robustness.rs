//! Bad input to solution selection, as a new user (or a hand-edited file)
//! would give it: every case is refused with a typed error naming the
//! culprit, or has a documented, defined result; nothing panics.

use feasible::FeasibleError;
use feasible::selection::{Distribution, Snapshots};
use proptest::prelude::*;

fn two_snapshots() -> Snapshots {
    let mut s = Snapshots::new(2);
    s.push(0.1, [0.03, -0.5]).unwrap();
    s.push(0.3, [-0.01, 0.5]).unwrap();
    s
}

fn snapshots_error(json: &str) -> String {
    let e = serde_json::from_str::<Snapshots>(json).unwrap_err();
    e.to_string()
}

fn distribution_error(json: &str) -> String {
    let e = serde_json::from_str::<Distribution>(json).unwrap_err();
    e.to_string()
}

#[test]
fn snapshots_round_trip_through_json() {
    let s = two_snapshots();
    let json = serde_json::to_string(&s).unwrap();
    let back: Snapshots = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.best_distribution().unwrap(), s.best_distribution().unwrap());
    let empty: Snapshots = serde_json::from_str(r#"{"constraints": 3, "snapshots": []}"#).unwrap();
    assert!(empty.is_empty() && empty.constraints() == 3);
}

#[test]
fn deserialized_snapshots_with_the_wrong_number_of_violations_are_refused() {
    // Used to panic with an index out of bounds in best_distribution.
    let fewer = r#"{"constraints": 2, "snapshots": [
        {"objective": 0.1, "violations": [0.03, -0.5]},
        {"objective": 0.3, "violations": [-0.01]}]}"#;
    let e = snapshots_error(fewer);
    assert!(
        e.contains("snapshot 1: 1 violations, the snapshots have 2 constraints"),
        "{e}"
    );
    let more = r#"{"constraints": 1, "snapshots": [
        {"objective": 0.1, "violations": [0.03, -0.5]}]}"#;
    let e = snapshots_error(more);
    assert!(
        e.contains("snapshot 0: 2 violations, the snapshots have 1 constraints"),
        "{e}"
    );
    // Missing fields and wrong types are serde's own errors.
    assert!(snapshots_error(r#"{"snapshots": []}"#).contains("constraints"));
    assert!(snapshots_error(r#"{"constraints": -1, "snapshots": []}"#).contains("-1"));
    assert!(
        snapshots_error(r#"{"constraints": 1, "snapshots": [{"objective": null, "violations": [0]}]}"#)
            .contains("null")
    );
}

#[test]
fn a_best_distribution_round_trips_through_json() {
    let mut s = two_snapshots();
    s.push(0.2, [0.01, 0.3]).unwrap();
    for mixture in [s.best_distribution().unwrap(), s.uniform().unwrap()] {
        mixture.validate().unwrap();
        let json = serde_json::to_string(&mixture).unwrap();
        let back: Distribution = serde_json::from_str(&json).unwrap();
        assert_eq!(back.support(), mixture.support());
        back.validate().unwrap();
    }
}

#[test]
fn deserialized_distributions_that_break_the_invariants_are_refused() {
    let with = |weights: &str| format!(r#"{{"weights": {weights}, "objective": 0.2, "violations": [0.0]}}"#);
    let cases = [
        ("[[2, 0.5], [0, 0.5]]", "snapshot 0 is listed after snapshot 2"),
        ("[[1, 0.5], [1, 0.5]]", "snapshot 1 is listed after snapshot 1"),
        ("[[0, 1.5], [1, -0.5]]", "the probability of snapshot 1 is -0.5"),
        ("[[0, 1.0], [1, 0.0]]", "the probability of snapshot 1 is 0"),
        ("[[0, 0.5], [1, 0.4]]", "the probabilities sum to 0.9"),
        ("[[0, 1e308], [1, 1e308]]", "the probabilities sum to inf"),
        ("[]", "it has no weights"),
    ];
    for (weights, reason) in cases {
        let e = distribution_error(&with(weights));
        assert!(e.contains("invalid distribution over snapshots"), "{weights}: {e}");
        assert!(e.contains(reason), "{weights}: {e}");
    }
    // Round-off in the sum is accepted.
    let third = 1.0 / 3.0;
    let ok: Distribution = serde_json::from_str(&with(&format!("[[0, {third}], [4, {third}], [9, {third}]]"))).unwrap();
    assert_eq!(ok.support(), vec![0, 4, 9]);
}

#[test]
fn a_hand_edited_distribution_gives_errors_not_panics() {
    let mut mixture = two_snapshots().best_distribution().unwrap();
    // Unsorted: used to index `values` out of bounds.
    mixture.weights = vec![(5, 0.5), (0, 0.5)];
    let e = mixture.expectation(&[1.0, 2.0, 3.0]).unwrap_err();
    assert!(matches!(e, FeasibleError::InvalidDistribution { .. }), "{e}");
    assert!(e.to_string().contains("snapshot 0 is listed after snapshot 5"), "{e}");
    assert!(matches!(
        mixture.validate(),
        Err(FeasibleError::InvalidDistribution { .. })
    ));
    assert!(matches!(
        mixture.try_sample(0.5),
        Err(FeasibleError::InvalidDistribution { .. })
    ));
    // `sample` is defined even so: the first whose cumulative weight exceeds u.
    assert_eq!(mixture.sample(0.2), 5);
    assert_eq!(mixture.sample(0.7), 0);

    mixture.weights = vec![(0, f64::NAN)];
    let e = mixture.expectation(&[1.0]).unwrap_err();
    assert!(e.to_string().contains("the probability of snapshot 0 is NaN"), "{e}");
    assert_eq!(mixture.sample(0.5), 0);

    mixture.weights.clear();
    assert!(matches!(
        mixture.expectation(&[1.0]),
        Err(FeasibleError::InvalidDistribution { .. })
    ));
    assert_eq!(mixture.sample(0.5), 0);
    assert!(mixture.support().is_empty());

    mixture.weights = vec![(0, 1.0)];
    mixture.objective = f64::INFINITY;
    let e = mixture.validate().unwrap_err();
    assert!(e.to_string().contains("the expected objective is inf"), "{e}");
    mixture.objective = 0.1;
    mixture.violations = vec![0.0, f64::NAN];
    let e = mixture.validate().unwrap_err();
    assert!(
        e.to_string().contains("expected violation of constraint 1 is NaN"),
        "{e}"
    );
    assert_eq!(mixture.max_violation(), 0.0);
    // expectation checks the weights only: they are all it reads.
    assert_eq!(mixture.expectation(&[2.0]).unwrap(), 2.0);
}

#[test]
fn expectation_refuses_values_that_do_not_fit() {
    let mixture = two_snapshots().best_distribution().unwrap();
    let last = *mixture.support().last().unwrap();
    let e = mixture.expectation(&vec![0.0; last]).unwrap_err();
    assert!(matches!(e, FeasibleError::Selection { .. }), "{e}");
    assert!(e.to_string().contains(&format!("uses snapshot {last}")), "{e}");
    let mut values = vec![0.5; last + 1];
    values[last] = f64::NAN;
    let e = mixture.expectation(&values).unwrap_err();
    assert!(matches!(e, FeasibleError::Selection { .. }), "{e}");
    assert!(
        e.to_string().contains(&format!("the value of snapshot {last} is NaN")),
        "{e}"
    );
    // Values of snapshots outside the support are not read; extra ones are ignored.
    let mut values = vec![0.5; last + 3];
    values[last + 2] = f64::NAN;
    assert!((mixture.expectation(&values).unwrap() - 0.5).abs() < 1e-12);
}

#[test]
fn sampling_outside_the_unit_interval_is_clamped_or_refused() {
    let mut s = Snapshots::new(1);
    s.push(0.1, [0.03]).unwrap();
    s.push(0.3, [-0.01]).unwrap();
    let mixture = s.best_distribution().unwrap();
    assert_eq!(mixture.support(), vec![0, 1]);
    // Defined: below 0 and NaN pick the first, 1 and above the last.
    for (u, expected) in [
        (-0.5, 0),
        (f64::NEG_INFINITY, 0),
        (f64::NAN, 0),
        (1.0, 1),
        (7.0, 1),
        (f64::INFINITY, 1),
    ] {
        assert_eq!(mixture.sample(u), expected, "u = {u}");
    }
    // Checked: refused, naming the draw.
    for u in [-0.5, f64::NAN, 1.0, f64::INFINITY] {
        let e = mixture.try_sample(u).unwrap_err();
        assert!(matches!(e, FeasibleError::InvalidDraw { .. }), "{e}");
        assert_eq!(e.to_string(), format!("the draw {u} is not in [0, 1)"));
    }
    assert_eq!(mixture.try_sample(0.0).unwrap(), 0);
    assert_eq!(mixture.try_sample(0.1).unwrap(), 0);
    assert_eq!(mixture.try_sample(0.9).unwrap(), 1);
    assert_eq!(mixture.try_sample(1.0 - f64::EPSILON).unwrap(), 1);
}

/// Finite values from tiny to huge, of either sign, and zeros.
fn extreme() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0f64..1.0,
        Just(0.0),
        (-300i32..300, any::<bool>()).prop_map(|(e, neg)| if neg { -(10f64.powi(e)) } else { 10f64.powi(e) }),
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(f64::MIN_POSITIVE / 4.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn selection_never_panics_on_valid_snapshots_of_any_magnitude(
        m in 0usize..4,
        rows in prop::collection::vec((extreme(), prop::collection::vec(extreme(), 4)), 1..12),
    ) {
        let mut s = Snapshots::new(m);
        for (f, g) in &rows {
            s.push(*f, g[..m].to_vec()).unwrap();
        }
        s.best_iterate().unwrap();
        let _ = s.uniform();
        // The LP may fail on absurd magnitudes; it must say so, not panic.
        if let Ok(mixture) = s.best_distribution() {
            prop_assert!(!mixture.weights.is_empty());
            prop_assert!(mixture.weights.len() <= m + 1);
            let total: f64 = mixture.weights.iter().map(|(_, q)| q).sum();
            prop_assert!((total - 1.0).abs() <= feasible::selection::PROBABILITY_SUM_TOLERANCE);
            prop_assert!(mixture.weights.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert!(mixture.weights.iter().all(|(i, q)| *i < rows.len() && *q > 0.0));
            let _ = mixture.expectation(&vec![1.0; rows.len()]);
        }
    }

    #[test]
    fn deserialization_and_use_never_panic(
        constraints in 0usize..4,
        rows in prop::collection::vec((-1.0f64..1.0, prop::collection::vec(-1.0f64..1.0, 0..5)), 0..6),
        weights in prop::collection::vec((0usize..8, -0.5f64..1.5), 0..5),
        values in prop::collection::vec(-1.0f64..1.0, 0..10),
        u in prop_oneof![-1.0f64..2.0, Just(f64::NAN)],
    ) {
        let snapshots = serde_json::json!({
            "constraints": constraints,
            "snapshots": rows.iter().map(|(f, g)| serde_json::json!({"objective": f, "violations": g})).collect::<Vec<_>>(),
        });
        let valid = rows.iter().all(|(_, g)| g.len() == constraints);
        match serde_json::from_value::<Snapshots>(snapshots) {
            Ok(s) => {
                prop_assert!(valid);
                if !s.is_empty() {
                    s.best_iterate().unwrap();
                    s.best_distribution().unwrap();
                }
            }
            Err(e) => {
                prop_assert!(!valid);
                prop_assert!(e.to_string().contains("violations, the snapshots have"), "{}", e);
            }
        }
        let distribution = serde_json::json!({"weights": weights, "objective": 0.0, "violations": []});
        let parsed = serde_json::from_value::<Distribution>(distribution);
        let hand_made = Distribution { weights, objective: 0.0, violations: Vec::new() };
        prop_assert_eq!(parsed.is_ok(), hand_made.validate().is_ok());
        let _ = hand_made.expectation(&values);
        let _ = hand_made.sample(u);
        let _ = hand_made.try_sample(u);
        let _ = hand_made.support();
        let _ = hand_made.max_violation();
    }
}
