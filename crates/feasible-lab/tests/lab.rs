//! The lab against the published numbers, and its command line.

use std::process::Command;

use burn::tensor::Device;
use std::process::Output;

use feasible_lab::data::image::{self, Image};
use feasible_lab::data::{adult, compas as compas_data, fashion_mnist};
use feasible_lab::experiments::balancing_act::{self, BalancingConfig, Mitigation, PaperPrimal, Setup};
use feasible_lab::experiments::compas::{self, CompasConfig};
use feasible_lab::experiments::concave::{self, ConcaveConfig};
use feasible_lab::experiments::fairness::{self, FairnessConfig};
use feasible_lab::experiments::feasible_learning::{self, FeasibleLearningConfig};
use feasible_lab::experiments::l0onie::{self, L0onieConfig};
use feasible_lab::experiments::rate::{self, Method, RateConfig, RateData};
use feasible_lab::experiments::registry::{self, EXPERIMENTS, RunOptions};
use feasible_lab::experiments::sparsity::{self, SparsityConfig};
use feasible_lab::experiments::svm::{self, SvmConfig};

/// The `feasible` binary, never fetching data (no network in tests).
fn feasible() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_feasible"));
    command.env("FEASIBLE_NO_FETCH", "1");
    command
}

/// The `feasible` binary in a world without fetched data: the data
/// directory and Fashion-MNIST's point into an empty directory of `name`.
fn feasible_without_data(name: &str) -> (Command, std::path::PathBuf) {
    let empty = std::env::temp_dir().join(format!("feasible-no-data-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let mut command = feasible();
    command
        .env("FEASIBLE_DATA_DIR", &empty)
        .env("FEASIBLE_FASHION_MNIST", &empty)
        .env_remove("FEASIBLE_DOWNLOADS")
        .env_remove("FEASIBLE_ADULT")
        .env_remove("FEASIBLE_COMPAS");
    (command, empty)
}

/// Every line of stdout as JSON.
fn parse_json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Runs the `feasible` binary with `args` and parses one JSON object per line.
fn json_rows(args: &[&str]) -> Vec<serde_json::Value> {
    let out = feasible().args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    parse_json_lines(&out)
}

/// Runs the `feasible` binary with `args`, expects it to fail, returns stderr.
fn refused(command: &mut Command, args: &[&str]) -> String {
    // A backtrace, had one been captured, would show with RUST_BACKTRACE=1.
    let out = command.env("RUST_BACKTRACE", "1").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(!stderr.contains("backtrace"), "{args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn data(config: &RateConfig) -> RateData {
    RateData::new(&rate::points(config), &Device::flex().autodiff())
}

#[test]
fn the_lagrangian_reaches_the_target_rate_where_the_paper_does() {
    // Table 5: dual step size 1e-2 gives 70.00% class 0 and 80.00% accuracy.
    let config = RateConfig::default();
    let row = rate::run_one(&config, &data(&config), Method::Lagrangian, 1e-2).unwrap();
    // One point of 400 is 0.25%.
    assert!((row.class0_rate - 0.70).abs() <= 0.0025 + 1e-12, "{row:?}");
    assert!((row.accuracy - 0.80).abs() <= 0.0025 + 1e-12, "{row:?}");
    assert!(row.multiplier.unwrap() > 1.0, "the constraint is active: {row:?}");
}

#[test]
fn the_penalty_collapses_at_both_ends_of_the_sweep() {
    // Table 4: c = 0 ignores the constraint (~50% class 0, ~100% accuracy),
    // c = 100 predicts class 0 everywhere (100%, 50% accuracy).
    let config = RateConfig::default();
    let data = data(&config);
    let low = rate::run_one(&config, &data, Method::Penalty, 0.0).unwrap();
    assert!(
        (low.class0_rate - 0.5).abs() <= 0.005 && low.accuracy >= 0.99,
        "{low:?}"
    );
    assert!(!low.feasible);
    let high = rate::run_one(&config, &data, Method::Penalty, 100.0).unwrap();
    assert!(high.class0_rate >= 0.9975 && high.accuracy <= 0.5025, "{high:?}");
}

#[test]
fn the_sweep_is_the_published_one() {
    let sweep = rate::published_sweep();
    assert_eq!(sweep.len(), 20);
    assert_eq!(sweep[0], 0.0);
    assert!((sweep[1] - 1e-4).abs() < 1e-18 && (sweep[19] - 100.0).abs() < 1e-12);
    for (c, _, _) in rate::PUBLISHED_LAGRANGIAN {
        assert!(rate::published(Method::Lagrangian, c).is_some());
    }
    for c in &sweep {
        assert!(rate::published(Method::Penalty, *c).is_some(), "{c}");
    }
}

#[test]
fn reproduce_prints_one_json_object_per_row_on_stdout() {
    let rows = json_rows(&["reproduce", "rate", "--json", "--steps", "50"]);
    assert_eq!(rows.len(), 40);
    for row in &rows {
        assert_eq!(row["experiment"], "rate");
        assert!(row["method"] == "penalty" || row["method"] == "lagrangian");
        for key in ["coef", "class0_rate", "accuracy"] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
        let rate = row["class0_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&rate), "a fraction, not a percentage: {row}");
    }
    assert_eq!(rows.iter().filter(|r| r["method"] == "penalty").count(), 20);
}

#[test]
fn the_rate_sweep_in_worker_processes_gives_the_rows_of_one_thread_bit_for_bit() {
    // `--threads 2` sends each run to a `feasible job rate` worker process;
    // `--threads 1` runs them in this process. Everything but the wall time
    // must agree exactly (the JSON carries every f64 bit for bit).
    let strip = |rows: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        rows.into_iter()
            .map(|mut row| {
                row.as_object_mut().unwrap().remove("seconds");
                row
            })
            .collect()
    };
    let sweep = |threads: &str| {
        strip(json_rows(&[
            "reproduce",
            "rate",
            "--json",
            "--steps",
            "30",
            "--threads",
            threads,
        ]))
    };
    let (one, two) = (sweep("1"), sweep("2"));
    assert_eq!(one.len(), 40);
    assert_eq!(one, two);
    // The multipliers moved: the comparison is not between empty runs.
    assert!(one.iter().any(|r| r["multiplier"].as_f64().is_some_and(|m| m > 0.0)));
}

#[test]
fn a_worker_process_answers_one_job_and_refuses_an_unknown_one() {
    use std::io::Write;
    use std::process::Stdio;
    let job = serde_json::json!({
        "config": serde_json::to_value(RateConfig { steps: 10, ..RateConfig::default() }).unwrap(),
        "method": "lagrangian",
        "coef": 0.01,
    });
    let mut child = feasible()
        .args(["job", "rate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let config = RateConfig {
        steps: 10,
        ..RateConfig::default()
    };
    let here = rate::train_one(&config, &data(&config), Method::Lagrangian, 0.01).unwrap();
    assert_eq!(outcome["class0_rate"].as_f64(), Some(here.class0_rate));
    assert_eq!(outcome["multiplier"].as_f64(), here.multiplier);
    let e = refused(&mut feasible(), &["job", "nonsense"]);
    assert!(e.contains("unknown job `nonsense`"), "{e}");
}

#[test]
fn unknown_experiments_and_schemes_are_named_in_the_error() {
    let out = feasible().args(["reproduce", "ratee"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown experiment `ratee`") && stderr.contains("rate"),
        "{stderr}"
    );
    let out = feasible()
        .args(["reproduce", "rate", "--scheme", "gda"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown update scheme `gda`"));
}

#[test]
fn nupi_and_the_augmented_lagrangian_recover_arcsin_eps_for_every_level() {
    // Table 1: x_t = arcsin(eps) to 3 digits for every eps; expected here:
    // within 1e-3, with the multiplier at eps / sqrt(1 - eps²).
    let config = ConcaveConfig::default();
    for eps in concave::EPSILONS {
        for method in ["nupi", "alm"] {
            let row = concave::run_one(&config, eps, method, 0.0).unwrap();
            assert!(row.error <= 1e-3, "{method} at {eps}: {row:?}");
            assert!(
                (row.lambda_final - row.lambda_star).abs() <= 1e-3,
                "{method} at {eps}: {row:?}"
            );
            assert!((row.x_final - row.published_x.unwrap()).abs() <= 5e-4, "{row:?}");
        }
    }
}

#[test]
fn the_penalty_ends_at_an_endpoint_and_descent_ascent_does_not_settle() {
    let config = ConcaveConfig::default();
    for eps in [0.2, 0.6] {
        let row = concave::best_penalty(&config, eps).unwrap();
        let at_endpoint = row.x_final == 0.0 || row.x_final == std::f64::consts::FRAC_PI_2;
        assert!(at_endpoint && row.error > 0.1, "{row:?}");
    }
    let gda = concave::run_one(&config, 0.5, "gda", 0.0).unwrap();
    assert!(gda.oscillation > 0.1, "{gda:?}");
    // The classical step (dual step = c = 12) sticks at the boundary x = 0
    // for eps = 0.1, where cos'(0) = 0.
    let classical = concave::run_one(&config, 0.1, "alm_classical", 0.0).unwrap();
    assert_eq!(classical.x_final, 0.0);
}

#[test]
fn reproduce_concave_prints_the_required_json_fields() {
    let rows = json_rows(&["reproduce", "concave", "--json", "--steps", "200"]);
    assert_eq!(rows.len(), 8 * 5);
    for row in &rows {
        assert_eq!(row["experiment"], "concave");
        for key in ["eps", "x_final", "lambda_final"] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
        assert!(["penalty", "gda", "nupi", "alm", "alm_classical"].contains(&row["method"].as_str().unwrap()));
    }
}

#[test]
fn per_sample_multipliers_solve_the_hard_margin_svm_as_the_exact_qp_does() {
    let row = svm::run(&SvmConfig::default(), "nupi").unwrap();
    assert!(row.objective_gap < 1e-5, "{row:?}");
    assert!(row.max_violation < 1e-5, "{row:?}");
    assert_eq!(row.support_vectors, row.qp_support_vectors);
    assert!(row.multiplier_error < 1e-4 * row.qp_max_multiplier.max(1.0), "{row:?}");
    assert_eq!(row.test_accuracy, 1.0);
}

#[test]
fn feasible_learning_satisfies_every_two_moons_sample_where_erm_does_not() {
    let data = feasible_learning::moons(0);
    let config = FeasibleLearningConfig::moons();
    let erm = feasible_learning::run_one(&data, &config, "erm").unwrap();
    let fl = feasible_learning::run_one(&data, &config, "feasible").unwrap();
    assert!(
        erm.worst_train_loss > config.epsilon && erm.train_frac_satisfied < 1.0,
        "{erm:?}"
    );
    assert_eq!(fl.train_frac_satisfied, 1.0, "{fl:?}");
    assert!(fl.worst_train_loss <= config.epsilon, "{fl:?}");
    assert!(fl.max_multiplier > 0.0);
}

#[test]
fn feasible_learning_imposed_below_the_requirement_is_still_counted_at_the_requirement() {
    // Two moons, the bound imposed at probability 0.9 on the true class
    // (-ln 0.9 = 0.105) while the requirement stays at 0.6 (0.511): every
    // sample ends within the requirement, the rows keep the requirement as
    // their epsilon, and the tighter bound pushes the worst loss below
    // the one Feasible Learning reaches at the requirement itself.
    let data = feasible_learning::moons(0);
    let at_requirement = FeasibleLearningConfig::moons();
    let tighter = FeasibleLearningConfig {
        imposed: Some(-(0.9f64.ln())),
        ..FeasibleLearningConfig::moons()
    };
    assert_eq!(tighter.imposed_bound(), -(0.9f64.ln()));
    assert_eq!(at_requirement.imposed_bound(), at_requirement.epsilon);
    let plain = feasible_learning::run_one(&data, &at_requirement, "feasible").unwrap();
    let below = feasible_learning::run_one(&data, &tighter, "feasible").unwrap();
    assert_eq!(below.epsilon, at_requirement.epsilon);
    assert_eq!(below.imposed, tighter.imposed);
    assert_eq!(plain.imposed, Some(at_requirement.epsilon));
    assert_eq!(below.train_frac_satisfied, 1.0, "{below:?}");
    assert!(
        below.worst_train_loss < plain.worst_train_loss,
        "{below:?} vs {plain:?}"
    );
    let erm = feasible_learning::run_one(&data, &tighter, "erm").unwrap();
    assert_eq!(erm.imposed, None);
}

#[test]
fn a_training_is_compared_with_erm_sample_by_sample() {
    // By hand, ε = 0.5: samples 0 and 1 within it under both, sample 2
    // gained (0.4 here, 0.7 under ERM), samples 3 and 4 lost (0.6 and 2.0
    // here; their median 1.3), sample 5 above it under both.
    let here = [0.1, 0.5, 0.4, 0.6, 2.0, 3.0];
    let erm = [0.2, 0.3, 0.7, 0.5, 0.1, 4.0];
    let a = feasible_learning::AgainstErm::new(&here, &erm, 0.5);
    assert_eq!((a.gained, a.lost), (1, 2));
    assert!((a.lost_median_loss - 1.3).abs() < 1e-12, "{a:?}");
    let none = feasible_learning::AgainstErm::new(&erm, &erm, 0.5);
    assert_eq!((none.gained, none.lost), (0, 0));
    assert!(none.lost_median_loss.is_nan());
    // Multipliers from 1: growth 0.5 (within ε), 1.5 and 2 (above it);
    // the one below its start does not count.
    let share = feasible_learning::growth_on_unsatisfied(&[1.5, 2.5, 3.0, 0.2], &[0.1, 0.9, 0.7, 0.8], 1.0, 0.5);
    assert_eq!(share, 3.5 / 4.0);
    // With the ERM rows of a sweep: the row at the same budget and seed.
    let data = feasible_learning::moons(0);
    let config = FeasibleLearningConfig {
        epochs: 20,
        ..FeasibleLearningConfig::moons()
    };
    let mut rows = vec![
        feasible_learning::run_one(&data, &config, "feasible").unwrap(),
        feasible_learning::run_one(&data, &config, "erm").unwrap(),
    ];
    feasible_learning::compare_with_erm(&mut rows);
    let expected = feasible_learning::AgainstErm::new(&rows[0].train_losses, &rows[1].train_losses, config.epsilon);
    assert_eq!(
        (rows[0].against_erm.unwrap().gained, rows[0].against_erm.unwrap().lost),
        (expected.gained, expected.lost)
    );
    assert_eq!(rows[1].against_erm, None);
    assert!(rows[0].growth_on_unsatisfied.is_some() && rows[1].growth_on_unsatisfied.is_none());
    // Across seeds, by hand: ERM 0.90 and 0.80 on seeds 0 and 1, the
    // setting 0.92 and 0.79: gaps +0.02 and -0.01, mean +0.005, standard
    // deviation 0.015·√2, standard error 0.015; one seed at or above ERM. A
    // setting on one seed only is left out.
    let row = |method, seed, satisfied| feasible_learning::FeasibleLearningRow {
        method,
        seed,
        train_frac_satisfied: satisfied,
        ..rows[if method == "erm" { 1 } else { 0 }].clone()
    };
    let seeds = vec![
        row("erm", 0, 0.90),
        row("erm", 1, 0.80),
        row("feasible", 0, 0.92),
        row("feasible", 1, 0.79),
        feasible_learning::FeasibleLearningRow {
            dual_lr: Some(0.5),
            ..row("feasible", 0, 0.5)
        },
    ];
    let groups = feasible_learning::AcrossSeeds::group(&seeds);
    assert_eq!(groups.len(), 1);
    let (mean, se) = groups[0].gap(|r| r.train_frac_satisfied);
    assert!(
        (mean - 0.005).abs() < 1e-12 && (se - 0.015).abs() < 1e-12,
        "{mean} {se}"
    );
    assert_eq!(groups[0].seeds_at_or_above_erm(), 1);
}

#[test]
fn feasible_learning_at_the_batch_mean_with_a_still_dual_is_erm_bit_for_bit() {
    // Every multiplier at 1 and a dual step of 0: the model descends the
    // batch's mean of 1 · CE_i, ERM's objective, so every step is ERM's and
    // every loss ends the same, bit for bit (the `--full` sweep's first
    // check). Descending the sum instead, 512 times the mean, Adam's steps
    // differ through its ε alone, and the losses part.
    let data = feasible_learning::moons(0);
    let still = FeasibleLearningConfig {
        epochs: 40,
        initial_multiplier: 1.0,
        dual_lr: 0.0,
        batch_mean: true,
        ..FeasibleLearningConfig::moons()
    };
    let erm = feasible_learning::run_one(&data, &still, "erm").unwrap();
    let fl = feasible_learning::run_one(&data, &still, "feasible").unwrap();
    assert_eq!(fl.train_losses, erm.train_losses);
    assert_eq!(fl.max_multiplier, 1.0);
    assert_eq!(fl.batch_mean, Some(true));
    let summed = FeasibleLearningConfig {
        batch_mean: false,
        ..still.clone()
    };
    let sum = feasible_learning::run_one(&data, &summed, "feasible").unwrap();
    assert_ne!(sum.train_losses, erm.train_losses);
    assert_eq!(sum.batch_mean, Some(false));
}

#[test]
fn feasible_learning_clips_the_violation_its_multipliers_ascend_on() {
    // One full-batch step on two moons, multipliers from 1, plain gradient
    // ascent (K_p = 0, step 0.1). Capped at 0.01: every multiplier moves by
    // at most 0.1 · 0.01, and the largest by exactly that (at the random
    // start some sample's loss is more than 0.01 above the bound); uncapped,
    // the largest moves by 0.1 times the largest violation.
    let data = feasible_learning::moons(0);
    let one_step = FeasibleLearningConfig {
        epochs: 1,
        initial_multiplier: 1.0,
        dual_lr: 0.1,
        kp: 0.0,
        ..FeasibleLearningConfig::moons()
    };
    let capped = FeasibleLearningConfig {
        violation_cap: Some(0.01),
        ..one_step.clone()
    };
    let run = |config: &FeasibleLearningConfig| feasible_learning::run_one(&data, config, "feasible").unwrap();
    let capped_row = run(&capped);
    assert!(
        (capped_row.max_multiplier - 1.001).abs() < 1e-7,
        "{}",
        capped_row.max_multiplier
    );
    assert_eq!(
        (capped_row.violation_floor, capped_row.violation_cap),
        (None, Some(0.01))
    );
    assert!(run(&one_step).max_multiplier > 1.002);
    // Floored at 0 under a bound every sample meets (10): no multiplier
    // falls below its start; unfloored, each falls to 0.1 CE_i.
    let loose = FeasibleLearningConfig {
        imposed: Some(10.0),
        ..one_step.clone()
    };
    let floored = FeasibleLearningConfig {
        violation_floor: Some(0.0),
        ..loose.clone()
    };
    assert_eq!(run(&floored).max_multiplier, 1.0);
    assert!(run(&loose).max_multiplier < 1.0);
    // A cap of 0 or less, or a negative floor, is not the same constraint:
    // refused.
    for (floor, cap) in [(None, Some(0.0)), (Some(-0.1), None), (None, Some(f64::NAN))] {
        let wrong = FeasibleLearningConfig {
            violation_floor: floor,
            violation_cap: cap,
            ..one_step.clone()
        };
        let error = feasible_learning::run_one(&data, &wrong, "feasible").unwrap_err();
        assert!(error.to_string().contains("violation_"), "{error}");
    }
    // ERM keeps neither setting.
    let erm = feasible_learning::run_one(&data, &floored, "erm").unwrap();
    assert_eq!((erm.violation_floor, erm.violation_cap), (None, None));
    // The sweep's table names the range the violation was clipped to.
    let both = feasible_learning::FeasibleLearningRow {
        violation_floor: Some(0.0),
        violation_cap: Some(0.2),
        ..capped_row.clone()
    };
    let table = feasible_learning::render_sweep(&[capped_row, both]);
    assert!(
        table.contains("[-∞, 0.01]") && table.contains("[0, 0.2]") && !table.contains("[-0,"),
        "{table}"
    );
}

#[test]
fn the_multiplier_model_gives_unseen_samples_over_the_bound_larger_multipliers() {
    // Two moons: the 128 validation points are never seen in training; the
    // multiplier model still gives the 8 of them whose loss exceeds the
    // bound a larger mean multiplier (0.172) than the 120 within it (0.102).
    // Indexed multipliers have none for them.
    let data = feasible_learning::moons(0);
    let config = FeasibleLearningConfig::moons();
    let implicit = feasible_learning::run_one(&data, &config, "feasible-implicit").unwrap();
    let unseen = implicit.unseen_multipliers.unwrap();
    assert_eq!(unseen.violating + unseen.satisfied, 128);
    assert!(unseen.violating > 0, "{unseen:?}");
    assert!(unseen.violating_mean > 1.5 * unseen.satisfied_mean, "{unseen:?}");
    let indexed = feasible_learning::run_one(&data, &config, "feasible").unwrap();
    assert_eq!(indexed.unseen_multipliers, None);
    // The split by hand: losses 0.2 and 0.9 around ε = 0.5.
    let u = feasible_learning::UnseenMultipliers::new(&[1.0, 3.0, 5.0], &[0.2, 0.9, 0.9], 0.5);
    assert_eq!(
        (u.violating, u.violating_mean, u.satisfied, u.satisfied_mean),
        (2, 4.0, 1, 1.0)
    );
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn fashion_mnist_loads_with_6000_training_images_per_class() {
    let (train, test) = fashion_mnist::load_all().unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.pixels.len(), 60_000 * 784);
    for class in 0..10u8 {
        assert_eq!(train.labels.iter().filter(|l| **l == class).count(), 6000);
        assert_eq!(test.labels.iter().filter(|l| **l == class).count(), 1000);
    }
    assert!(train.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn reproduce_feasible_learning_quick_and_svm_print_the_required_json_fields() {
    let rows = json_rows(&["reproduce", "feasible-learning", "--quick", "--json", "--steps", "20"]);
    assert_eq!(rows.len(), feasible_learning::METHODS.len());
    for row in &rows {
        assert_eq!(
            (row["experiment"].as_str(), row["dataset"].as_str()),
            (Some("feasible-learning"), Some("two_moons"))
        );
        assert!(feasible_learning::METHODS.contains(&row["method"].as_str().unwrap()));
        for key in [
            "train_frac_satisfied",
            "val_frac_satisfied",
            "train_acc",
            "val_acc",
            "worst_train_loss",
        ] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
    }
    let rows = json_rows(&["reproduce", "svm", "--json", "--steps", "50"]);
    for row in &rows {
        for key in ["objective", "qp_objective", "max_violation"] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
    }
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn feasible_learning_lowers_the_worst_losses_at_little_cost_against_erm() {
    // What `reproduce feasible-learning` shows on Fashion-MNIST (multipliers
    // from 1, nuPI step 3e-3, the batch's mean of λ_i CE_i, 30 epochs over
    // the 60,000 images; about a minute per training): a lower worst
    // training loss and a lower mean of the worst 1% than ERM's, and a test
    // accuracy within one point of ERM's (December 2, AMD EPYC with
    // AVX-512: ERM 9.69 / 3.16, Feasible Learning 7.67 / 2.73, test
    // accuracy 88.92% / 89.00%; over ten seeds both are lower on every
    // seed). Issue 14's goal also asks for at least ERM's fraction of
    // satisfied samples: not met (92.68% against 93.25% here, 0.27 points
    // fewer on average over ten seeds, while two runs of one setting differ
    // by up to 0.8 points: see `--full`), so it is reported, not asserted.
    // On a 6,000-image subset the dynamics satisfied 88.7% against ERM's
    // 90.0% when they were chosen, so the test trains on the whole set.
    let data = feasible_learning::fashion().unwrap();
    let config = FeasibleLearningConfig::fashion();
    let (erm, fl) = std::thread::scope(|scope| {
        let erm = scope.spawn(|| feasible_learning::run_one(&data, &config, "erm").unwrap());
        let fl = feasible_learning::run_one(&data, &config, "feasible").unwrap();
        (erm.join().unwrap(), fl)
    });
    let brief = |r: &feasible_learning::FeasibleLearningRow| {
        format!(
            "{}: satisfied {}, worst {}, worst 1% {}, worst 10% {}, val acc {}",
            r.method,
            r.train_frac_satisfied,
            r.worst_train_loss,
            r.worst_1pct_train_loss,
            r.worst_10pct_train_loss,
            r.val_acc
        )
    };
    let both = format!("{} / {}", brief(&fl), brief(&erm));
    assert!(fl.worst_train_loss < erm.worst_train_loss, "{both}");
    assert!(fl.worst_1pct_train_loss < erm.worst_1pct_train_loss, "{both}");
    assert!((fl.val_acc - erm.val_acc).abs() <= 0.01, "{both}");
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn one_constrained_training_reaches_the_target_density() {
    // The quick setup: 6,000 images, 80 epochs. The constraint density <= 0.5
    // must hold at the end and the density must not collapse below it:
    // within 2 percentage points.
    let data = feasible_learning::fashion().unwrap().subset(6_000, 2_000);
    let row = sparsity::train(&data, &SparsityConfig::quick(), sparsity::Method::Constrained(0.5)).unwrap();
    assert!(row.density <= 0.5 && row.density >= 0.48, "{row:?}");
    assert!(row.test_acc > 0.8, "{row:?}");
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn one_constrained_training_of_lenet_with_gated_channels_reaches_ten_percent_density() {
    // LeNet-5's setup on 6,000 images for 30 epochs (1,410 steps of 128):
    // at most 10% of its gated weights (filters of the gated channels,
    // rows of the gated units), and no collapse far below it.
    let data = feasible_learning::fashion().unwrap().subset(6_000, 2_000);
    let config = SparsityConfig {
        epochs: 30,
        ..SparsityConfig::lenet()
    };
    let row = sparsity::train(&data, &config, sparsity::Method::Constrained(0.1)).unwrap();
    assert!(row.density <= 0.1 && row.density >= 0.09, "{row:?}");
    assert!(row.test_acc > 0.8, "{row:?}");
    assert_eq!((row.experiment, row.published_density), ("sparsity-lenet", Some(12.24)));
}

#[test]
#[cfg_attr(
    not(all(has_chelsea, has_coffee)),
    ignore = "chelsea.png or coffee.png missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn the_second_and_third_photographs_are_their_central_squares_shrunk() {
    // Each photograph, its size, and the corner of its central 256x256.
    for (photo, path, (width, height), (left, top)) in [
        (
            l0onie::Photo::Chelsea,
            image::photo_path("chelsea"),
            (451, 300),
            (97, 22),
        ),
        (
            l0onie::Photo::Coffee,
            image::photo_path("coffee"),
            (600, 400),
            (172, 72),
        ),
    ] {
        let full = Image::read_png(&path).unwrap();
        assert_eq!((full.width, full.height), (width, height));
        let small = photo.read(64).unwrap();
        assert_eq!((small.width, small.height), (64, 64));
        // Block means of the central 256x256: the first pixel is the mean
        // of the 4x4 block at its corner.
        let mut mean = [0.0f32; 3];
        for y in top..top + 4 {
            for x in left..left + 4 {
                for (c, m) in mean.iter_mut().enumerate() {
                    *m += full.pixels[y * width + x][c] / 16.0;
                }
            }
        }
        for c in 0..3 {
            assert!(
                (small.pixels[0][c] - mean[c]).abs() < 1e-6,
                "{photo:?}: {:?} vs {mean:?}",
                small.pixels[0]
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(has_astronaut),
    ignore = "astronaut.png missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn the_pruned_siren_keeps_no_more_parameters_than_coin_and_still_fits_the_image() {
    let photo = Image::read_png(&image::photo_path("astronaut")).unwrap();
    assert_eq!((photo.width, photo.height), (512, 512));
    // `--quick`'s 2,000 steps: the small dual step prunes gradually.
    let config = L0onieConfig::quick();
    let small = config.photo.read(config.side).unwrap();
    assert_eq!(small, photo.shrink(8));
    let coin = l0onie::fit(&small, &config, l0onie::Method::Coin).unwrap();
    let pruned = l0onie::fit(&small, &config, l0onie::Method::L0onie).unwrap();
    // The constraint: at most COIN's stored size, the mask counted.
    assert_eq!(coin.bits, 16 * 1795);
    // Width 30, three hidden layers: 2·30 + 2·30² + 30·3 = 1,950 gated
    // weights, 3·30 + 3 = 93 biases.
    assert_eq!(config.wide_width, 30);
    assert_eq!(pruned.parameters_total, 1950 + 93);
    assert_eq!(
        pruned.bits,
        16 * pruned.parameters + l0onie::mask_bits(1950, pruned.parameters - 93)
    );
    assert!(pruned.within_coin_size && coin.within_coin_size);
    assert!(
        pruned.bits <= coin.bits && pruned.bpp <= coin.bpp,
        "{pruned:?} vs {coin:?}"
    );
    // And the picture survives the pruning (a collapsed network scores about 9 dB).
    assert!(pruned.psnr > 18.0, "{pruned:?}");
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn reproduce_sparsity_prints_the_required_json_fields() {
    let rows = json_rows(&["reproduce", "sparsity", "--quick", "--json", "--steps", "1"]);
    assert_eq!(rows.iter().filter(|r| r["method"] == "constrained").count(), 5);
    assert!(rows.iter().any(|r| r["method"] == "penalty"));
    for row in &rows {
        assert_eq!(row["experiment"], "sparsity");
        for key in [
            "coef",
            "target_density",
            "density",
            "test_acc",
            "train_seconds",
            "trainings",
        ] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
    }
}

#[test]
#[cfg_attr(
    not(has_adult),
    ignore = "UCI Adult missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn equal_opportunity_on_adult_is_met_where_the_unconstrained_model_violates_it() {
    // Ten epochs, one seed. The unconstrained model violates
    // TPR_g >= TPR - 0.05 (the published run by 0.019 on the training set,
    // ours by 0.03 to 0.07 over seeds and epochs); the best distribution is
    // feasible in expectation on the training set up to the LP's round-off,
    // and no iterate-based row beats the best distribution's training error
    // at no more violation.
    let data = adult::load().unwrap();
    let config = FairnessConfig::quick();
    let (rows, sweep) = fairness::reproduce(&data, &config, 2).unwrap();
    let by = |m: &str| rows.iter().find(|r| r.method == m).unwrap();
    let unconstrained = by("unconstrained");
    assert!(unconstrained.train_max_violation > 0.01, "{unconstrained:?}");
    for prefix in ["", "proxy_"] {
        let (mixture, best) = (
            by(&format!("{prefix}best_distribution")),
            by(&format!("{prefix}best_iterate")),
        );
        assert!(mixture.train_max_violation <= 1e-9, "{mixture:?}");
        assert!(mixture.snapshots.len() <= 5, "{mixture:?}");
        assert!((mixture.snapshots.iter().map(|s| s.1).sum::<f64>() - 1.0).abs() < 1e-9);
        if best.train_max_violation <= 0.0 {
            assert!(
                mixture.train_error <= best.train_error + 1e-12,
                "{mixture:?} vs {best:?}"
            );
        }
    }
    // TFCO's proxy-Lagrangian with Algorithm 2's multiplicative step 1
    // meets every constraint on the training set at its last iterate (here
    // by 0.046 after ten epochs; TFCO's published run by 0.015 after 40).
    let proxy_last = by("proxy_last_iterate");
    assert!(proxy_last.train_max_violation < 0.0, "{proxy_last:?}");
    // The sweep over the proxy-Lagrangian's dual step: one line per step,
    // the main run's among them with its numbers.
    let steps: Vec<_> = sweep.iter().map(|r| r.dual).collect();
    assert_eq!(steps, config.proxy_sweep);
    let main = sweep.iter().find(|r| r.dual == config.proxy_step).unwrap();
    assert_eq!(main.last_train_max_violation, proxy_last.train_max_violation);
    assert_eq!(
        main.best_distribution_train_error,
        by("proxy_best_distribution").train_error
    );
    // Errors stay near the published 14% (a broken model predicts "<= 50K"
    // for everyone: 24% error).
    for r in &rows {
        assert!(r.train_error < 0.16 && r.test_error < 0.16, "{r:?}");
    }
}

#[test]
#[cfg_attr(
    not(has_compas),
    ignore = "COMPAS missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn equal_opportunity_on_compas_lowers_the_unconstrained_violation() {
    // TFCO's setup: 31 features, 4,320 training and 1,852 test rows (its
    // published training error 0.29421296 is 1271/4320), 10 hidden units,
    // Adam 0.01, batches of 100, 44 steps × 500 epochs, no tolerance.
    let data = compas_data::load_tfco().unwrap();
    assert_eq!((data.train.len(), data.test.len(), data.train.dims), (4_320, 1_852, 31));
    let full = CompasConfig::full();
    assert_eq!(
        (
            full.hidden,
            full.lr,
            full.batch,
            full.steps_per_epoch,
            full.epochs,
            full.tolerance
        ),
        (10, 0.01, 100, 44, 500, 0.0)
    );
    // Fifty epochs, one seed. The unconstrained network gives the groups'
    // true positive rates a spread of about 0.1 (TFCO: 0.097, ours 0.106);
    // the constrained run's best iterate and best distribution bring the
    // largest violation on the training set well below it.
    let (rows, sweep) = compas::reproduce(&data, &CompasConfig::quick(), 2).unwrap();
    assert_eq!(sweep.len(), CompasConfig::quick().proxy_sweep.len());
    let by = |m: &str| rows.iter().find(|r| r.method == m).unwrap();
    let unconstrained = by("unconstrained");
    assert!(unconstrained.train_max_violation > 0.05, "{unconstrained:?}");
    // The Lagrangian's and TFCO's proxy-Lagrangian's.
    for method in [
        "best_iterate",
        "best_distribution",
        "proxy_best_iterate",
        "proxy_best_distribution",
    ] {
        let r = by(method);
        assert!(
            r.train_max_violation < unconstrained.train_max_violation / 4.0,
            "{r:?} vs {unconstrained:?}"
        );
    }
    let mixture = by("best_distribution");
    assert!(mixture.snapshots.len() <= 5, "{mixture:?}");
    // Errors near the published 29-30% (predicting "no" for everyone: 45%).
    for r in &rows {
        assert!(r.train_error < 0.33 && r.test_error < 0.35, "{r:?}");
    }
}

#[test]
#[cfg_attr(
    not(has_adult),
    ignore = "UCI Adult missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn reproduce_fairness_prints_the_required_json_fields() {
    let all = json_rows(&["reproduce", "fairness", "--quick", "--json", "--steps", "2"]);
    let (rows, sweep): (Vec<_>, Vec<_>) = all.iter().partition(|r| r["experiment"] == "fairness");
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, fairness::METHODS.to_vec());
    assert_eq!(sweep.len(), FairnessConfig::quick().proxy_sweep.len());
    for row in &sweep {
        assert_eq!(row["experiment"], "fairness_proxy_sweep");
        assert!(
            row["dual"]["rule"].is_string() && row["dual"]["step"].is_number(),
            "{row}"
        );
        assert!(row["best_distribution_train_error"].is_number(), "{row}");
    }
    for row in &rows {
        assert_eq!(row["experiment"], "fairness");
        for key in [
            "train_error",
            "train_max_violation",
            "test_error",
            "test_max_violation",
            "published_test_error",
        ] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
    }
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn the_constrained_fine_tuning_shrinks_the_worst_excess_accuracy_drop() {
    // The quick setup (6,000 images): pruning to 2% of the weights and
    // fine-tuning without constraint leaves one class 5 points worse off
    // than the average on the training set; under the constraint (the
    // paper's method, and our batch estimate) the worst excess drop is at
    // most 3 points, at the same density and with no more than one point
    // of training accuracy lost. Both constrained fine-tunings at the
    // tolerance with Adam at a constant step (the defaults until stop 24).
    let data = feasible_learning::fashion().unwrap();
    let at_tolerance = |mitigation| Setup {
        mitigation,
        dual_lr: 0.01,
        kp: 0.0,
        margin: 0.0,
    };
    let config = BalancingConfig {
        constrained: at_tolerance(Mitigation::Paper {
            buffer: 40,
            primal: PaperPrimal::Adam,
        }),
        comparison: at_tolerance(Mitigation::Batch),
        ..BalancingConfig::quick()
    };
    let (rows, sweep) = balancing_act::reproduce(&data, &config, &[], 2).unwrap();
    assert!(sweep.is_empty());
    let by = |m: &str| rows.iter().find(|r| r.method == m).unwrap();
    let (dense, sparse) = (by("dense"), by("sparse"));
    assert!(dense.train_gaps.iter().all(|g| *g == 0.0), "{dense:?}");
    assert!(sparse.max_train_gap > 0.04, "{sparse:?}");
    for constrained in [by("sparse_constrained"), by("batch_constrained")] {
        assert!(constrained.max_train_gap < 0.03, "{constrained:?}");
        assert!(
            constrained.train_acc > sparse.train_acc - 0.01,
            "{constrained:?} vs {sparse:?}"
        );
    }
    for method in [
        "sparse",
        "sparse_constrained",
        "sparse_constrained_best",
        "batch_constrained",
        "batch_constrained_best",
    ] {
        assert!((by(method).density - 0.02).abs() < 1e-4, "{:?}", by(method));
    }
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn the_papers_method_meets_the_tolerance_when_imposed_a_point_below_it() {
    // The whole set (60,000 images), as `reproduce balancing-act`.
    //
    // The paper's estimate (buffers of 40 predictions per class,
    // cross-entropy gaps, dual step 0.01) imposed at the tolerance, with
    // Adam at a constant step, cuts the worst class's excess accuracy drop
    // on the training set at the epoch TFCO's heuristic selects from over
    // 7 points (unconstrained fine-tuning) to under 3.5, for less than a
    // point of training accuracy, but not to the 2-point tolerance (1.93
    // on stop 19's machine, 2.27 on stop 23's, 3.17 on December 2's: the
    // trajectory moves from machine to machine, as burn's CPU kernels
    // choose their instructions at run time).
    //
    // Issue 14's goal, the tolerance on the training set at the selected
    // epoch: the default run imposes the constraint a point below the
    // tolerance, with Adam on the paper's step schedule; measured on stop
    // 24's machine: 1.23 points at the last epoch, 1.31 at the selected
    // one, for 1.27 points of training accuracy.
    let data = feasible_learning::fashion().unwrap();
    let config = BalancingConfig::full();
    let at_tolerance = Setup {
        mitigation: Mitigation::Paper {
            buffer: 40,
            primal: PaperPrimal::Adam,
        },
        dual_lr: 0.01,
        kp: 0.0,
        margin: 0.0,
    };
    let (rows, sweep) = balancing_act::reproduce(&data, &config, &[at_tolerance], 2).unwrap();
    let by = |m: &str| rows.iter().find(|r| r.method == m).unwrap();
    let sparse = by("sparse");
    assert!(sparse.max_train_gap > 0.07, "{sparse:?}");
    let [at_tolerance] = sweep.as_slice() else {
        panic!("{sweep:?}")
    };
    assert!(at_tolerance.selected_max_train_gap < 0.035, "{at_tolerance:?}");
    assert!(
        at_tolerance.selected_train_acc > sparse.train_acc - 0.01,
        "{at_tolerance:?}"
    );

    assert!((config.constrained.margin - 0.01).abs() < 1e-12, "{config:?}");
    for method in ["sparse_constrained", "sparse_constrained_best"] {
        let row = by(method);
        assert!(row.max_train_gap <= config.tolerance, "{row:?}");
        assert!(row.train_acc > sparse.train_acc - 0.02, "{row:?}");
    }
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn reproduce_balancing_act_prints_the_required_json_fields() {
    let rows = json_rows(&["reproduce", "balancing-act", "--quick", "--json", "--steps", "1"]);
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        [
            "dense",
            "sparse",
            "sparse_constrained",
            "sparse_constrained_best",
            "batch_constrained",
            "batch_constrained_best"
        ]
    );
    for row in &rows {
        assert_eq!(row["experiment"], "balancing-act");
        for key in ["density", "train_acc", "test_acc", "max_train_gap", "max_test_gap"] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
        assert_eq!(row["test_gaps"].as_array().unwrap().len(), 10);
    }
}

#[test]
fn zero_and_absurd_step_counts_are_refused_with_a_message() {
    let e = refused(&mut feasible(), &["reproduce", "rate", "--steps", "0"]);
    assert!(e.contains("--steps 0") && e.contains("at least 1"), "{e}");
    let e = refused(&mut feasible(), &["reproduce", "svm", "--steps", "99999999999999"]);
    assert!(e.contains("--steps 99999999999999 is too many for `svm`"), "{e}");
    // Every experiment is checked before any runs.
    let e = refused(&mut feasible(), &["reproduce", "--steps", "18446744073709551615"]);
    assert!(e.contains("too many for `rate`"), "{e}");
    let e = refused(
        &mut feasible(),
        &["reproduce", "concave", "--steps", "184467440737095516150"],
    );
    assert!(e.contains("--steps"), "{e}");
    for args in [
        ["reproduce", "rate", "--threads", "0"],
        ["bench", "overhead", "--steps", "0"],
        ["bench", "overhead", "--repeats", "0"],
        ["bench", "flat", "--flat-steps", "0"],
    ] {
        let e = refused(&mut feasible(), &args);
        assert!(e.contains(args[2]) && e.contains("'0'"), "{args:?}: {e}");
    }
}

#[test]
fn scheme_is_refused_by_experiments_without_an_update_scheme() {
    let e = refused(&mut feasible(), &["reproduce", "svm", "--scheme", "extragradient"]);
    assert!(
        e.contains("`svm` does not use an update scheme") && e.contains("accepted by: rate"),
        "{e}"
    );
    // All experiments: the first that does not use one is named.
    let e = refused(&mut feasible(), &["reproduce", "--scheme", "simultaneous"]);
    assert!(e.contains("`concave` does not use an update scheme"), "{e}");
}

#[test]
fn the_rate_experiment_runs_with_the_schemes_that_evaluate_twice() {
    for scheme in ["extragradient", "alternating_primal_dual"] {
        let rows = json_rows(&["reproduce", "rate", "--scheme", scheme, "--steps", "20", "--json"]);
        assert_eq!(rows.len(), 40, "{scheme}");
        for row in &rows {
            assert_eq!(row["scheme"], scheme);
            assert_eq!(row["steps"], 20);
            let rate = row["class0_rate"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&rate), "{row}");
        }
    }
}

#[test]
fn json_stdout_stays_json_when_missing_data_is_skipped() {
    let (mut command, empty) = feasible_without_data("skip");
    let out = command
        .args([
            "reproduce",
            "feasible-learning",
            "--json",
            "--skip-missing",
            "--steps",
            "5",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Two moons run; Fashion-MNIST is skipped with a notice on stderr.
    let rows = parse_json_lines(&out);
    assert_eq!(rows.len(), feasible_learning::METHODS.len(), "{rows:?}");
    assert!(rows.iter().all(|r| r["dataset"] == "two_moons"), "{rows:?}");
    assert!(stderr.contains("Fashion-MNIST skipped"), "{stderr}");
    for experiment in ["sparsity", "sparsity-lenet", "l0onie", "fairness", "balancing-act"] {
        let (mut command, _) = feasible_without_data("skip");
        let out = command
            .args(["reproduce", experiment, "--json", "--skip-missing"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{experiment}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{experiment}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.contains(&format!("{experiment}: skipped: ")), "{stderr}");
    }
    // Without --json the tables say it too.
    let (mut command, _) = feasible_without_data("skip");
    let out = command
        .args(["reproduce", "l0onie", "--skip-missing"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("L0onie: skipped: the astronaut photograph is missing"));
    std::fs::remove_dir_all(empty).unwrap();
}

#[test]
fn a_missing_data_set_is_an_error_that_names_it() {
    let (mut command, empty) = feasible_without_data("missing");
    let e = refused(&mut command, &["reproduce", "fairness", "--json"]);
    assert!(
        e.contains("UCI Adult is missing") && e.contains("needed by fairness"),
        "{e}"
    );
    assert!(e.contains("data fetch") && e.contains("--skip-missing"), "{e}");
    let (mut command, _) = feasible_without_data("missing");
    command.env_remove("FEASIBLE_NO_FETCH");
    let e = refused(&mut command, &["reproduce", "--no-fetch", "--steps", "1"]);
    for needed in [
        "Fashion-MNIST is missing",
        "UCI Adult is missing",
        "COMPAS is missing",
        "the astronaut photograph is missing",
        "the photograph of Chelsea the cat is missing",
        "the photograph of a cup of coffee is missing",
    ] {
        assert!(e.contains(needed), "{needed}: {e}");
    }
    assert!(e.contains("fetching is disabled"), "{e}");
    // `data status` says the same.
    let (mut command, _) = feasible_without_data("missing");
    let out = command.args(["data", "status", "--json"]).output().unwrap();
    assert!(out.status.success());
    let rows = parse_json_lines(&out);
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["available"] == false), "{rows:?}");
    std::fs::remove_dir_all(empty).unwrap();
}

#[test]
fn the_data_directory_is_found_at_run_time() {
    // From a directory with no data/ above it, and no FEASIBLE_DATA_DIR, the
    // data directory is the binary's (target/ sits in the repository), not
    // a path compiled in.
    let elsewhere = std::env::temp_dir().join(format!("feasible-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = feasible()
        .env_remove("FEASIBLE_DATA_DIR")
        .current_dir(&elsewhere)
        .args(["data", "status"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("found from the binary's directory"), "{stdout}");
    let out = feasible()
        .current_dir(&elsewhere)
        .args(["data", "status", "--data-dir", elsewhere.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("data directory: {} (--data-dir)", elsewhere.display())),
        "{stdout}"
    );
    std::fs::remove_dir_all(elsewhere).unwrap();
}

#[test]
fn bench_loop_prints_json_with_json() {
    let rows = json_rows(&["bench", "loop", "--kind", "loss-only", "--steps", "5", "--json"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["kind"], "loss only");
    assert_eq!(rows[0]["steps"], 5);
    assert!(rows[0]["seconds"].is_number());
}

#[test]
fn bench_mlp_step_and_reduction_print_json_with_json() {
    let args = ["--synthetic", "--rounds", "2", "--warmup", "0", "--json"];
    let rows = json_rows(&[&["bench", "mlp-step"][..], &args].concat());
    assert_eq!(rows.len(), 1);
    let report = &rows[0];
    assert_eq!(
        (report["bench"].as_str(), report["data"].as_str()),
        (Some("mlp_step"), Some("synthetic"))
    );
    let variants = report["variants"].as_array().unwrap();
    let names: Vec<&str> = variants.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "plain",
            "hand constrained",
            "user loop",
            "learner plain",
            "learner hand",
            "learner constrained"
        ]
    );
    for v in variants {
        assert_eq!(v["steps"], 2);
        assert!(v["spread"]["median_us"].as_f64().unwrap() > 0.0, "{v}");
    }
    // Same initial weights, batches and dual steps: the hand-written loop,
    // the user loop and the Learner (by hand and with feasible-burn) end
    // with the same multiplier; the unconstrained variants have none.
    let multiplier = |i: usize| variants[i]["multiplier"].as_f64();
    assert!(multiplier(0).is_none() && multiplier(3).is_none());
    let hand = multiplier(1).unwrap();
    for i in [2, 4, 5] {
        assert!((multiplier(i).unwrap() - hand).abs() < 1e-12, "{report}");
    }
    assert_eq!(report["comparisons"].as_array().unwrap().len(), 6);
    // One variant alone, for instruction counting.
    let rows = json_rows(&[&["bench", "mlp-step", "--variant", "learner-hand"][..], &args].concat());
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["variant"].as_str(), rows[0]["steps"].as_u64()),
        (Some("learner hand"), Some(2))
    );
    let e = refused(
        &mut feasible(),
        &["bench", "mlp-step", "--synthetic", "--variant", "fast"],
    );
    assert!(
        e.contains("unknown variant `fast`") && e.contains("learner-constrained"),
        "{e}"
    );

    let rows = json_rows(&[&["bench", "reduction"][..], &args].concat());
    assert_eq!(rows.len(), 2);
    for (row, constraints) in rows.iter().zip([&["class0_rate"][..], &["class0_rate", "sample_loss"]]) {
        assert_eq!(row["bench"], "reduction");
        assert_eq!(row["constraints"], serde_json::json!(constraints));
        assert_eq!((row["workers"].as_u64(), row["steps"].as_u64()), (Some(2), Some(2)));
        assert_eq!(row["phases"].as_array().unwrap().len(), 10);
        assert_eq!(row["multipliers_identical"], true, "{row}");
        assert!(
            row["fraction_of_step"]["ratio_of_medians"].as_f64().unwrap() > 0.0,
            "{row}"
        );
    }
}

#[test]
fn bench_sparsity_step_ends_where_its_steps_put_it() {
    let run = |kind: &str| {
        let rows = json_rows(&[
            "bench",
            "sparsity-step",
            "--synthetic",
            "--kind",
            kind,
            "--warmup",
            "2",
            "--steps",
            "3",
            "--json",
        ]);
        assert_eq!(rows.len(), 1);
        rows[0].clone()
    };
    // Every gate starts at drop rate 0.01, log α = ln 99: the deterministic
    // gates all keep their weights, and the expected density is
    // σ(ln 99 - (2/3) ln(0.1 / 1.1)). Five Adam steps of 1e-3 on θ = log α / 5
    // move log α by at most 0.025, the density by less than 1e-4.
    let initial = 1.0 / (1.0 + (-(99f64.ln() - (2.0 / 3.0) * (0.1f64 / 1.1).ln())).exp());
    for (kind, name, multiplier) in [
        ("feasible-penalty", "sparsity_penalized", 1.0),
        // Dual step first, 0.05 × (1.0 - 0.5) at each of the 5 steps.
        ("feasible-lagrangian", "sparsity_constrained", 0.125),
    ] {
        let row = run(kind);
        assert_eq!(
            (row["bench"].as_str(), row["kind"].as_str(), row["data"].as_str()),
            (Some("sparsity_step"), Some(name), Some("synthetic"))
        );
        assert_eq!((row["warmup"].as_u64(), row["steps"].as_u64()), (Some(2), Some(3)));
        assert_eq!(row["deterministic_density"].as_f64(), Some(1.0), "{row}");
        assert!(
            (row["expected_density"].as_f64().unwrap() - initial).abs() < 1e-4,
            "{row}"
        );
        assert!(
            (row["multiplier"].as_f64().unwrap() - multiplier).abs() < 1e-12,
            "{row}"
        );
        // Random labels among 10 classes: about ln 10.
        assert!((row["last_loss"].as_f64().unwrap() - 10f64.ln()).abs() < 0.5, "{row}");
    }
    let e = refused(
        &mut feasible(),
        &["bench", "sparsity-step", "--synthetic", "--kind", "loss-only"],
    );
    assert!(
        e.contains("feasible-penalty, feasible-lagrangian or hand-penalty"),
        "{e}"
    );
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn bench_fl_epoch_trains_one_epoch_of_235_steps() {
    let rows = json_rows(&["bench", "fl-epoch", "--json"]);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row["bench"].as_str(), row["steps"].as_u64()),
        (Some("fl_epoch"), Some(235))
    );
    // After one epoch the MLP is well past chance on both splits.
    for key in ["train_acc", "val_acc"] {
        let acc = row[key].as_f64().unwrap();
        assert!((0.7..=1.0).contains(&acc), "{row}");
    }
    // Each multiplier took one nuPI step from 0 (K_p = K_i = 1, step 1e-2):
    // 0.02 (loss - ε), with the loss of a sample of the untrained or
    // partly trained model, so below 0.02 · 10.
    let max = row["max_multiplier"].as_f64().unwrap();
    assert!(max > 0.0 && max < 0.2, "{row}");
}

/// What a figure shows, read from its SVG as XML (not its pixels).
struct Figure {
    /// Every text node, trimmed: the title, the axes, the legend.
    texts: Vec<String>,
    /// The colours of the series drawn in the plotting area, outside the
    /// legend box: lines and dots are drawn 2 pixels wide, bars filled.
    series: std::collections::BTreeSet<String>,
}

fn figure(path: &std::path::Path) -> Figure {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let svg = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    assert_eq!(svg.root_element().tag_name().name(), "svg");
    let number = |node: roxmltree::Node, name: &str| node.attribute(name).unwrap().parse::<f64>().unwrap();
    // The legend's background, drawn translucent.
    let legend = svg
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("opacity") == Some("0.85"))
        .map(|n| (number(n, "x"), number(n, "y"), number(n, "width"), number(n, "height")))
        .expect("a legend");
    let outside =
        |(x, y): (f64, f64)| x < legend.0 || x > legend.0 + legend.2 || y < legend.1 || y > legend.1 + legend.3;
    let mut series = std::collections::BTreeSet::new();
    for node in svg.descendants().filter(|n| n.is_element()) {
        let (colour, marks): (Option<&str>, Vec<(f64, f64)>) = match node.tag_name().name() {
            "polyline" if node.attribute("stroke-width") == Some("2") => (
                node.attribute("stroke"),
                node.attribute("points")
                    .unwrap()
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect(),
            ),
            "circle" if node.attribute("stroke-width") == Some("2") => {
                (node.attribute("stroke"), vec![(number(node, "cx"), number(node, "cy"))])
            }
            "rect" if !matches!(node.attribute("fill"), Some("#FFFFFF") | Some("none") | None) => (
                node.attribute("fill"),
                vec![(
                    number(node, "x") + number(node, "width") / 2.0,
                    number(node, "y") + number(node, "height") / 2.0,
                )],
            ),
            _ => (None, vec![]),
        };
        if let Some(colour) = colour
            && marks.into_iter().any(outside)
        {
            series.insert(colour.to_string());
        }
    }
    let texts = svg
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    Figure { texts, series }
}

/// Asserts that `path` is an SVG figure with one series per label, each
/// label in the legend (a label ending in `…` is a prefix).
fn assert_figure(path: &std::path::Path, labels: &[&str]) {
    let f = figure(path);
    for label in labels {
        let found = match label.strip_suffix('…') {
            Some(prefix) => f.texts.iter().any(|t| t.starts_with(prefix)),
            None => f.texts.iter().any(|t| t == label),
        };
        assert!(found, "{}: no legend entry `{label}` in {:?}", path.display(), f.texts);
    }
    assert_eq!(
        f.series.len(),
        labels.len(),
        "{}: series colours {:?} for {labels:?}",
        path.display(),
        f.series
    );
}

fn plots_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("feasible-plots-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn rate_concave_and_feasible_learning_figures_have_their_series() {
    use feasible_lab::plots;
    let dir = plots_dir("short-runs");
    let config = RateConfig {
        steps: 5,
        coefficients: vec![0.0, 1e-3, 1e-2, 1e-1, 1.0],
        ..RateConfig::default()
    };
    let rows = rate::reproduce(&config, 2, |_| {}).unwrap();
    let written = plots::rate(&rows, &config, &dir).unwrap();
    assert_eq!(written, [dir.join("rate-penalty.svg"), dir.join("rate-lagrangian.svg")]);
    for path in &written {
        let labels = [
            "class-0 rate",
            "accuracy",
            "published class-0 rate",
            "published accuracy",
            "target 70%",
        ];
        assert_figure(path, &labels);
    }

    let config = ConcaveConfig {
        steps: 30,
        tail: 10,
        ..ConcaveConfig::default()
    };
    let rows = concave::reproduce(&config, 2, |_| {}).unwrap();
    assert!(
        rows.iter()
            .all(|r| r.trajectory.len() == 31 && r.trajectory[30].0 == 30)
    );
    let written = plots::concave(&rows, &dir).unwrap();
    assert_eq!(written, [dir.join("concave-x.svg"), dir.join("concave-lambda.svg")]);
    let methods = ["penalty (c = …", "gda", "nupi", "alm", "alm_classical"];
    assert_figure(&written[0], &[&methods[..], &["x* = arcsin ε = 0.524"]].concat());
    assert_figure(&written[1], &[&methods[..], &["λ* = ε/√(1-ε²) = 0.577"]].concat());

    let data = feasible_learning::moons(0);
    let config = FeasibleLearningConfig {
        epochs: 1,
        ..FeasibleLearningConfig::moons()
    };
    let rows: Vec<_> = feasible_learning::METHODS
        .iter()
        .map(|m| feasible_learning::run_one(&data, &config, m).unwrap())
        .collect();
    assert!(rows.iter().all(|r| r.train_losses.len() == data.train_len()));
    let written = plots::feasible_learning(&rows, &dir).unwrap();
    assert_eq!(written, [dir.join("feasible-learning-two_moons.svg")]);
    assert_figure(
        &written[0],
        &[
            "ERM",
            "Feasible Learning",
            "Feasible Learning with slack",
            "Feasible Learning, multiplier model",
            "ε = 0.511",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sparsity_fairness_and_balancing_act_figures_have_their_series() {
    use feasible_lab::experiments::balancing_act::BalancingRow;
    use feasible_lab::experiments::fairness::FairnessRow;
    use feasible_lab::experiments::sparsity::SparsityRow;
    use feasible_lab::plots;
    let dir = plots_dir("synthetic");
    let sparsity_row = |method, trainings, target_density, density| SparsityRow {
        experiment: "sparsity",
        method,
        coef: 1.0,
        target_density,
        density,
        test_acc: 0.9,
        train_acc: 0.9,
        train_seconds: 1.0,
        trainings,
        selected: false,
        published_density: None,
        published_acc: None,
        model: None,
    };
    let rows = vec![
        sparsity_row("penalty", 1, 0.5, 0.9),
        sparsity_row("penalty", 2, 0.5, 0.1),
        sparsity_row("penalty", 3, 0.5, 0.6),
        sparsity_row("penalty", 4, 0.5, 0.49),
        sparsity_row("constrained", 1, 0.5, 0.5),
        sparsity_row("constrained", 1, 0.3, 0.3),
    ];
    let written = plots::sparsity(&rows, &dir).unwrap();
    assert_eq!(written, [dir.join("sparsity.svg")]);
    assert_figure(
        &written[0],
        &[
            "penalty bisection (one training each)",
            "constrained (one training)",
            "target 50%",
        ],
    );
    // LeNet-5's rows name their own file.
    let lenet: Vec<SparsityRow> = rows
        .into_iter()
        .map(|r| SparsityRow {
            experiment: "sparsity-lenet",
            ..r
        })
        .collect();
    assert_eq!(plots::sparsity(&lenet, &dir).unwrap(), [dir.join("sparsity-lenet.svg")]);

    let fairness_row = |method, seed, violations: Vec<f64>| FairnessRow {
        experiment: "fairness",
        method,
        seed,
        train_error: 0.14,
        train_max_violation: 0.0,
        test_error: 0.14,
        test_max_violation: 0.0,
        snapshots: vec![],
        published_train_error: 0.14,
        published_train_max_violation: 0.0,
        published_test_error: 0.14,
        published_test_max_violation: 0.0,
        seconds: 1.0,
        train_violations: violations.clone(),
        test_violations: violations.iter().map(|v| v + 0.01).collect(),
        model: None,
    };
    let rows: Vec<FairnessRow> = [0, 1]
        .into_iter()
        .flat_map(|seed| {
            fairness::METHODS
                .iter()
                .enumerate()
                .map(move |(i, m)| fairness_row(m, seed, vec![0.02 - 0.01 * i as f64, -0.01, 0.005, 0.03]))
        })
        .collect();
    let written = plots::fairness(&rows, &dir).unwrap();
    assert_eq!(written, [dir.join("fairness-train.svg"), dir.join("fairness-test.svg")]);
    for path in &written {
        assert_figure(path, &[&fairness::METHODS[..], &["feasible (0)"]].concat());
        let texts = figure(path).texts;
        for (group, _) in fairness::GROUPS {
            assert!(texts.iter().any(|t| t == group), "{group} in {texts:?}");
        }
    }

    let balancing_row = |method, gaps: Vec<f64>| BalancingRow {
        mitigation: None,
        dual_lr: None,
        kp: None,
        margin: None,
        experiment: "balancing-act",
        method,
        epoch: 1,
        density: 0.1,
        tolerance: 0.02,
        train_acc: 0.9,
        test_acc: 0.9,
        train_group_acc: vec![0.9; 10],
        test_group_acc: vec![0.9; 10],
        train_gaps: gaps.clone(),
        test_gaps: gaps,
        max_train_gap: 0.05,
        max_test_gap: 0.05,
        multipliers: vec![],
        seconds: 1.0,
        model: None,
    };
    let rows = vec![
        balancing_row("dense", vec![0.0; 10]),
        balancing_row("sparse", (0..10).map(|c| 0.01 * c as f64).collect()),
        balancing_row("sparse_constrained", (0..10).map(|c| 0.002 * c as f64).collect()),
    ];
    let written = plots::balancing_act(&rows, &dir).unwrap();
    assert_eq!(written, [dir.join("balancing-act.svg")]);
    assert_figure(&written[0], &["sparse", "sparse_constrained", "tolerance ε = 0.02"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plots_with_json_keep_stdout_json_and_name_the_figures_on_stderr() {
    let dir = plots_dir("cli");
    let out = feasible()
        .args(["reproduce", "concave", "--json", "--steps", "20", "--plots"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = parse_json_lines(&out);
    assert_eq!(rows.len(), 8 * 5);
    assert!(rows.iter().all(|r| r.get("trajectory").is_none()), "{}", rows[0]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    for file in ["concave-x.svg", "concave-lambda.svg"] {
        let path = dir.join(file);
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        assert_eq!(figure(&path).series.len(), 6, "{file}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// `feasible train` and `feasible audit`.

/// A fresh temporary directory of `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("feasible-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An example configuration shipped at the repository's root.
fn example(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// Runs `feasible train` with `args`, expecting success; returns stdout.
fn train_run(args: &[&str]) -> Vec<u8> {
    let out = feasible().args(["train"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "train {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Checks a run directory: the history in both forms with every
/// constraint, the figures, the audit's entries for every constraint and
/// split, and that `feasible audit --json` prints those entries again.
/// Returns audit.json.
fn check_run_dir(dir: &std::path::Path, constraints: &[&str], audited: &[&str], splits: &[&str]) -> serde_json::Value {
    for file in ["model.bpk", "dual.json", "config.toml", "run.json", "audit.md"] {
        assert!(dir.join(file).is_file(), "{file} missing in {}", dir.display());
    }
    let jsonl = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    let steps: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!steps.is_empty());
    for (k, step) in steps.iter().enumerate() {
        assert_eq!(step["step"], (k + 1) as u64);
        assert!(step["loss"].as_f64().unwrap().is_finite());
        for name in constraints {
            for field in ["value", "multiplier", "violation"] {
                assert!(
                    step["constraints"][name][field].as_f64().is_some(),
                    "step {k}: {name}.{field} missing: {step}"
                );
            }
        }
    }
    let mut csv = csv::Reader::from_path(dir.join("history.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), steps.len());
    for name in constraints {
        for field in ["value", "multiplier", "violation"] {
            let column = header.iter().position(|h| *h == format!("{name}.{field}")).unwrap();
            for (row, step) in rows.iter().zip(&steps) {
                let v: f64 = row[column].parse().unwrap();
                assert_eq!(v, step["constraints"][name][field].as_f64().unwrap());
            }
        }
    }
    for plot in ["loss.svg", "multipliers.svg", "violations.svg"] {
        let labels: Vec<&str> = if plot == "loss.svg" {
            vec!["mean cross-entropy of the batch"]
        } else {
            constraints.to_vec()
        };
        assert_figure(&dir.join("plots").join(plot), &labels);
    }
    let audit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("audit.json")).unwrap()).unwrap();
    let entries = audit["entries"].as_array().unwrap();
    for name in audited {
        for split in splits {
            let entry = entries
                .iter()
                .find(|e| e["constraint"] == *name && e["split"] == *split)
                .unwrap_or_else(|| panic!("no audit entry for {name} on {split}: {audit}"));
            for field in ["value", "ci_low", "ci_high", "target"] {
                assert!(entry[field].as_f64().is_some(), "{field}: {entry}");
            }
            assert!(entry["ci_low"].as_f64() <= entry["ci_high"].as_f64(), "{entry}");
            for field in ["sense", "verdict", "method"] {
                assert!(entry[field].is_string(), "{field}: {entry}");
            }
        }
    }
    assert_eq!(entries.len(), audited.len() * splits.len(), "{audit}");
    let report = dir.join("report.md");
    let out = feasible()
        .args([
            "audit",
            dir.to_str().unwrap(),
            "--json",
            "--markdown",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(again["entries"], audit["entries"]);
    let markdown = std::fs::read_to_string(&report).unwrap();
    assert_eq!(markdown, std::fs::read_to_string(dir.join("audit.md")).unwrap());
    for name in audited {
        assert!(markdown.contains(name), "{name} not in {markdown}");
    }
    audit
}

/// A separable CSV: `x` decides the label, `g` is a group, `c` a category.
fn synthetic_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("x,c,g,y\n");
    use feasible_lab::data::sampling::Draw;
    let mut rng = feasible_lab::data::sampling::SplitMix64::new(7);
    for i in 0..240 {
        let x = 4.0 * rng.uniform_open0() - 2.0;
        let c = if i % 3 == 0 { "a" } else { "b" };
        let g = if i % 2 == 0 { "u" } else { "v" };
        let y = if x > 0.0 { "yes" } else { "no" };
        text.push_str(&format!("{x:.4},{c},{g},{y}\n"));
    }
    let path = dir.join("points.csv");
    std::fs::write(&path, text).unwrap();
    path
}

const SYNTHETIC: &str = r#"[data]
format = "csv"
train = "points.csv"
test_fraction = 0.25
label = "y"
positive = ["yes"]
numeric = ["x"]
categorical = ["c"]
groups = ["g"]

[model]
kind = "linear"

[[constraints]]
kind = "rate"
rate = "ppr"
sense = "<="
target = 0.8

[[constraints]]
kind = "rate"
rate = "accuracy"
group = "g=u"
sense = ">="
target = 0.8

[[constraints]]
kind = "demographic_parity"
groups = ["g=u", "g=v"]
tolerance = 0.3

[training]
lr = 0.05
epochs = 8
batch_size = 20
dual_lr = 0.05
"#;

#[test]
fn train_meets_a_satisfiable_rate_constraint_on_a_small_csv_and_audits_it() {
    let dir = scratch("synthetic");
    synthetic_csv(&dir);
    let config = dir.join("run.toml");
    std::fs::write(&config, SYNTHETIC).unwrap();
    let run = dir.join("run");
    let stdout = train_run(&[config.to_str().unwrap(), "--out", run.to_str().unwrap(), "--json"]);
    let printed: serde_json::Value = serde_json::from_slice(&stdout).expect("stdout is one JSON document");
    let names = [
        "positive_prediction_rate[all]",
        "accuracy[g=u]",
        "demographic_parity[g=u]",
        "demographic_parity[g=v]",
    ];
    let audit = check_run_dir(&run, &names, &names, &["train", "test"]);
    assert_eq!(printed["audit"], audit);
    assert_eq!(printed["steps"], 72); // 8 epochs of 180 rows in batches of 20
    for name in names {
        assert!(
            printed["last_step"]["constraints"][name]["multiplier"]
                .as_f64()
                .unwrap()
                >= 0.0
        );
    }
    // 180 training, 60 test rows; a linear model separates x > 0: about
    // half are predicted positive, and group u's accuracy is near 1.
    let entry = |name: &str, split: &str| {
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["constraint"] == name && e["split"] == split)
            .unwrap()
            .clone()
    };
    for split in ["train", "test"] {
        let ppr = entry("positive_prediction_rate[all]", split);
        assert!(ppr["value"].as_f64().unwrap() <= 0.8, "{ppr}");
        assert_ne!(ppr["verdict"], "violated", "{ppr}");
        let accuracy = entry("accuracy[g=u]", split);
        assert!(accuracy["value"].as_f64().unwrap() >= 0.9, "{accuracy}");
    }
    assert_eq!(entry("positive_prediction_rate[all]", "train")["n"], 180);
    assert_eq!(entry("positive_prediction_rate[all]", "test")["n"], 60);
}

#[test]
fn train_plays_the_proxy_lagrangian_game_over_every_constraint() {
    // The same problem with TFCO's proxy-Lagrangian: the four constraints'
    // weights (five entries: demographic parity has two) and the objective's
    // make one distribution, and the satisfiable rate still holds.
    let dir = scratch("proxy");
    synthetic_csv(&dir);
    let config = dir.join("run.toml");
    let text = SYNTHETIC.replace("dual_lr = 0.05", "dual_lr = 1.0\nformulation = \"proxy_lagrangian\"");
    std::fs::write(&config, text).unwrap();
    let run = dir.join("run");
    let stdout = train_run(&[config.to_str().unwrap(), "--out", run.to_str().unwrap(), "--json"]);
    let printed: serde_json::Value = serde_json::from_slice(&stdout).expect("stdout is one JSON document");
    let constraints = printed["last_step"]["constraints"].as_object().unwrap();
    assert_eq!(constraints.len(), 4, "{constraints:?}");
    let weights: Vec<f64> = constraints
        .values()
        .flat_map(|c| match &c["multiplier"] {
            serde_json::Value::Array(m) => m.iter().map(|v| v.as_f64().unwrap()).collect(),
            v => vec![v.as_f64().unwrap()],
        })
        .collect();
    assert!(weights.iter().all(|w| *w > 0.0), "{weights:?}");
    assert!(
        weights.iter().sum::<f64>() < 1.0,
        "the objective keeps a share: {weights:?}"
    );
    let names: Vec<&str> = constraints.keys().map(String::as_str).collect();
    let audit = check_run_dir(&run, &names, &names, &["train", "test"]);
    let ppr = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["constraint"] == "positive_prediction_rate[all]" && e["split"] == "train")
        .unwrap()
        .clone();
    assert!(ppr["value"].as_f64().unwrap() <= 0.8, "{ppr}");
}

#[test]
fn config_mistakes_name_the_key_and_the_line() {
    let dir = scratch("mistakes");
    synthetic_csv(&dir);
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        ("epochs = 8", "epochs = 8\nbach_size = 3", "line 35", &["bach_size"]),
        (
            "epochs = 8",
            "epochs = 0",
            "line 34",
            &["`training.epochs`", "at least 1"],
        ),
        (
            "target = 0.8\n",
            "target = 1.5\n",
            "line 18",
            &["`constraints.target`", "1.5"],
        ),
        (
            "numeric = [\"x\"]",
            "numeric = [\"z\"]",
            "line 7",
            &["`data.numeric`", "unknown column `z`"],
        ),
        (
            "\"g=u\", \"g=v\"",
            "\"g=u\", \"g=w\"",
            "line 29",
            &["`constraints.groups`", "`w`"],
        ),
    ];
    for (k, (from, to, line, needles)) in cases.into_iter().enumerate() {
        assert!(SYNTHETIC.contains(from), "{from}");
        let config = dir.join(format!("bad{k}.toml"));
        std::fs::write(&config, SYNTHETIC.replacen(from, to, 1)).unwrap();
        let out = dir.join(format!("out{k}"));
        let stderr = refused(
            &mut feasible(),
            &["train", config.to_str().unwrap(), "--out", out.to_str().unwrap()],
        );
        let (file_line, _) = line
            .split_once(' ')
            .map(|(_, n)| (format!("bad{k}.toml:{n}:"), ()))
            .unwrap();
        assert!(stderr.contains(&file_line), "case {k}: `{file_line}` not in {stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "case {k}: `{needle}` not in {stderr}");
        }
    }
}

#[test]
#[cfg_attr(
    not(has_adult),
    ignore = "UCI Adult missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn the_adult_example_trains_and_audits_end_to_end() {
    let dir = scratch("adult");
    let run = dir.join("run");
    let config = example("adult-equal-opportunity.toml");
    train_run(&[
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--epochs",
        "1",
        "--max-rows",
        "3000",
    ]);
    let names = [
        "equal_opportunity[sex=Female]",
        "equal_opportunity[sex=Male]",
        "equal_opportunity[race=White]",
        "equal_opportunity[race=Black]",
    ];
    check_run_dir(&run, &names, &names, &["train", "validation", "test"]);
}

#[test]
#[cfg_attr(
    not(has_fashion_mnist),
    ignore = "Fashion-MNIST missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn the_fashion_mnist_example_trains_and_audits_end_to_end() {
    let dir = scratch("fashion");
    let run = dir.join("run");
    let config = example("fashion-mnist-density.toml");
    train_run(&[
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--epochs",
        "1",
        "--max-rows",
        "1000",
    ]);
    let audit = check_run_dir(&run, &["density"], &["density"], &["train", "validation", "test"]);
    // The density is exact: the same on every split, a fraction.
    let values: Vec<f64> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_f64().unwrap())
        .collect();
    assert!(
        values.iter().all(|v| *v == values[0] && (0.0..=1.0).contains(v)),
        "{values:?}"
    );
}

#[test]
fn list_help_and_the_checks_cover_every_registered_experiment() {
    let list = feasible().arg("list").output().unwrap();
    assert!(list.status.success());
    let list = String::from_utf8(list.stdout).unwrap();
    let help = feasible().args(["reproduce", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let mut listed = String::new();
    for experiment in EXPERIMENTS {
        let name = experiment.name();
        listed.push_str(&registry::list_entry(*experiment));
        assert!(help.contains(name), "{name} not in reproduce --help: {help}");
        for figure in experiment.figures() {
            assert!(help.contains(figure), "{figure} not in reproduce --help: {help}");
        }
        let too_many = (experiment.steps().max + 1).to_string();
        let e = refused(&mut feasible(), &["reproduce", name, "--steps", &too_many]);
        assert!(
            e.contains(&format!("--steps {too_many} is too many for `{name}`")),
            "{e}"
        );
        if !experiment.accepts_scheme() {
            let e = refused(&mut feasible(), &["reproduce", name, "--scheme", "simultaneous"]);
            assert!(e.contains(&format!("`{name}` does not use an update scheme")), "{e}");
        }
        if experiment.full().is_none() {
            let e = refused(&mut feasible(), &["reproduce", name, "--full"]);
            assert!(
                e.contains(&format!(
                    "--full: `{name}` has no longer version; --full is accepted by: feasible-learning, sparsity, sparsity-lenet, l0onie, balancing-act"
                )),
                "{e}"
            );
        }
    }
    // `list` is exactly the registry, in its order.
    assert_eq!(list, listed);
    assert!(
        list.starts_with("rate              rate-constrained linear classification"),
        "{list}"
    );
    assert!(
        list.contains("                  (--steps: training epochs, 1 to 10000; data: adult)\n"),
        "{list}"
    );
}

#[test]
fn the_registry_runs_an_experiment_as_its_module_does() {
    let experiment = registry::find("concave").unwrap();
    let options = RunOptions {
        steps: Some(200),
        threads: 2,
        ..RunOptions::default()
    };
    options.check(experiment).unwrap();
    let outcome = experiment.run(&options).unwrap();
    let config = ConcaveConfig {
        steps: 200,
        tail: ConcaveConfig::default().tail.min(200),
        ..ConcaveConfig::default()
    };
    let rows = concave::reproduce(&config, 1, |_| {}).unwrap();
    assert_eq!(outcome.text(), concave::render(&rows, &config));
    let lines: Vec<String> = rows.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
    assert_eq!(outcome.json_lines(), lines.as_slice());
}

#[test]
fn unknown_devices_and_devices_not_compiled_in_are_refused_cleanly() {
    for args in [
        ["reproduce", "rate", "--device", "bogus"],
        ["bench", "loop", "--device", "bogus"],
        ["reproduce", "svm", "--device", "cuda:x"],
    ] {
        let e = refused(&mut feasible(), &args);
        assert!(e.contains(&format!("unknown device `{}`", args[3])), "{args:?}: {e}");
        assert!(e.contains("known: flex, wgpu, cuda, cuda:N"), "{args:?}: {e}");
    }
    if !cfg!(feature = "wgpu") {
        let e = refused(&mut feasible(), &["reproduce", "rate", "--device", "wgpu"]);
        assert!(e.contains("device `wgpu` needs the `wgpu` feature"), "{e}");
        assert!(
            e.contains("cargo run --release -p feasible-lab --features wgpu --"),
            "{e}"
        );
    }
    if !cfg!(feature = "cuda") {
        let e = refused(&mut feasible(), &["bench", "overhead", "--device", "cuda:1"]);
        assert!(e.contains("device `cuda:1` needs the `cuda` feature"), "{e}");
    }
    // flex is always there.
    let rows = json_rows(&["reproduce", "svm", "--device", "flex", "--steps", "2", "--json"]);
    assert!(!rows.is_empty());
}

// `feasible reproduce --models` and `feasible audit` of a saved model.

/// Runs `feasible reproduce NAME ARGS --json --models DIR`; checks that
/// every saved run has its model, `experiment.json` and `audit.json`, and
/// that `feasible audit` of it prints the same entries again. Returns the
/// rows and, per run, its audit entries.
fn saved_models(
    name: &str,
    args: &[&str],
) -> (
    Vec<serde_json::Value>,
    std::collections::BTreeMap<String, Vec<serde_json::Value>>,
) {
    let dir = scratch(&format!("models-{name}"));
    let mut all = vec!["reproduce", name, "--json", "--models", dir.to_str().unwrap()];
    all.extend(args);
    let rows = json_rows(&all);
    let mut audits = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir.join(name)).unwrap() {
        let run_dir = entry.unwrap().path();
        let run = run_dir.file_name().unwrap().to_str().unwrap().to_string();
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run_dir.join("experiment.json")).unwrap()).unwrap();
        assert_eq!(
            (saved["experiment"].as_str(), saved["run"].as_str()),
            (Some(name), Some(run.as_str()))
        );
        assert!(
            run_dir.join("model.bpk").is_file() || run_dir.join("model.json").is_file(),
            "no model in {}",
            run_dir.display()
        );
        let audit: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run_dir.join("audit.json")).unwrap()).unwrap();
        assert!(run_dir.join("audit.md").is_file());
        let out = feasible()
            .args(["audit", run_dir.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
        assert_eq!(again["entries"], audit["entries"], "{run}");
        let entries = audit["entries"].as_array().unwrap().clone();
        assert!(!entries.is_empty(), "{run}");
        audits.insert(run, entries);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    (rows, audits)
}

/// The values of a run's entries on `split`.
fn audit_values(entries: &[serde_json::Value], split: &str) -> Vec<f64> {
    entries
        .iter()
        .filter(|e| e["split"] == split)
        .map(|e| e["value"].as_f64().unwrap())
        .collect()
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9, "{what}: {a} against {b}");
}

#[test]
fn models_saved_by_reproduce_audit_to_the_numbers_of_their_rows() {
    // rate: the Lagrangian's models; the class 0 rate on the training
    // points is the row's, and 400 fresh points are held out.
    let (rows, audits) = saved_models("rate", &["--steps", "300"]);
    let lagrangian: Vec<&serde_json::Value> = rows.iter().filter(|r| r["method"] == "lagrangian").collect();
    assert_eq!(audits.len(), lagrangian.len());
    for row in lagrangian {
        let entries = &audits[&format!("lagrangian-{:.3e}", row["coef"].as_f64().unwrap())];
        assert_eq!(
            audit_values(entries, "train"),
            vec![row["class0_rate"].as_f64().unwrap()]
        );
        let held_out = entries.iter().find(|e| e["split"] == "held-out").unwrap();
        assert_eq!(
            (held_out["n"].as_u64(), held_out["target"].as_f64()),
            (Some(400), Some(0.7))
        );
    }
    // concave: sin(x) at each row's last iterate, exact.
    let (rows, audits) = saved_models("concave", &["--steps", "3000"]);
    assert_eq!(audits.len(), rows.len());
    for row in &rows {
        let run = format!(
            "{}-eps{}",
            row["method"].as_str().unwrap(),
            row["eps"].as_f64().unwrap()
        );
        let entry = &audits[&run][0];
        assert_close(
            entry["value"].as_f64().unwrap(),
            row["x_final"].as_f64().unwrap().sin(),
            &run,
        );
        let holds = entry["verdict"] != "violated";
        assert_eq!(holds, row["feasible"].as_bool().unwrap(), "{run}: {entry}");
    }
    // svm: every training margin at least 1 exactly when the row's largest
    // violation is 0; 70 training and 30 test points.
    let (rows, audits) = saved_models("svm", &["--steps", "3000"]);
    for row in &rows {
        let entries = &audits[row["method"].as_str().unwrap()];
        let all_within = audit_values(entries, "train") == vec![1.0];
        assert_eq!(all_within, row["max_violation"].as_f64().unwrap() == 0.0, "{row}");
        let n: Vec<u64> = entries.iter().map(|e| e["n"].as_u64().unwrap()).collect();
        assert_eq!(n, vec![70, 30]);
    }
    // Feasible Learning on two moons: the fractions within the bound are
    // the rows'.
    let (rows, audits) = saved_models("feasible-learning", &["--quick", "--steps", "40"]);
    assert_eq!(audits.len(), feasible_learning::METHODS.len());
    for row in &rows {
        let entries = &audits[&format!("two_moons-{}", row["method"].as_str().unwrap())];
        assert_close(
            audit_values(entries, "train")[0],
            row["train_frac_satisfied"].as_f64().unwrap(),
            "train",
        );
        assert_close(
            audit_values(entries, "validation")[0],
            row["val_frac_satisfied"].as_f64().unwrap(),
            "validation",
        );
    }
}

#[test]
#[cfg_attr(
    not(all(has_fashion_mnist, has_adult, has_compas, has_astronaut, has_chelsea, has_coffee)),
    ignore = "a data set missing: run `cargo run --release -p feasible-lab -- data fetch`"
)]
fn models_saved_by_the_data_experiments_audit_to_the_numbers_of_their_rows() {
    // Adult: each group's TPR minus the overall TPR; the smallest is the
    // row's largest violation `TPR - ε - TPR_g`, negated, minus ε.
    let (rows, audits) = saved_models("fairness", &["--quick", "--steps", "2"]);
    for run in [
        "unconstrained",
        "last_iterate",
        "best_iterate",
        "proxy_last_iterate",
        "proxy_best_iterate",
    ] {
        assert!(
            audits.contains_key(&format!("{run}-seed0")),
            "{run}: {:?}",
            audits.keys()
        );
    }
    for (run, entries) in &audits {
        let method = run.strip_suffix("-seed0").unwrap();
        let row = rows.iter().find(|r| r["method"] == method && r["seed"] == 0).unwrap();
        for (split, column) in [("train", "train_max_violation"), ("test", "test_max_violation")] {
            let smallest = audit_values(entries, split).into_iter().fold(f64::INFINITY, f64::min);
            assert_close(
                -smallest - 0.05,
                row[column].as_f64().unwrap(),
                &format!("{run} {split}"),
            );
        }
    }
    // COMPAS: TPR_g - TPR at most 0; the largest is the row's violation.
    let (rows, audits) = saved_models("compas", &["--quick", "--steps", "3"]);
    assert!(audits.contains_key("last_iterate-seed0") && audits.contains_key("unconstrained-seed0"));
    for (run, entries) in &audits {
        let method = run.strip_suffix("-seed0").unwrap();
        let row = rows.iter().find(|r| r["method"] == method && r["seed"] == 0).unwrap();
        for (split, column) in [("train", "train_max_violation"), ("test", "test_max_violation")] {
            let largest = audit_values(entries, split)
                .into_iter()
                .fold(f64::NEG_INFINITY, f64::max);
            assert_close(largest, row[column].as_f64().unwrap(), &format!("{run} {split}"));
        }
    }
    // Sparsity, the MLP and LeNet-5: the density of each constrained model
    // and of the bisection's selected one, exact.
    for (name, constrained) in [("sparsity", 5), ("sparsity-lenet", 1)] {
        let (rows, audits) = saved_models(name, &["--quick", "--steps", "1"]);
        assert!(rows.iter().all(|r| r["experiment"] == name));
        assert_eq!(
            rows.iter().filter(|r| r["method"] == "constrained").count(),
            constrained
        );
        let selected: Vec<&serde_json::Value> = rows.iter().filter(|r| r["selected"] == true).collect();
        assert_eq!(audits.len(), selected.len());
        for row in selected {
            let run = match row["method"].as_str().unwrap() {
                "constrained" => format!("constrained-{}", row["target_density"].as_f64().unwrap()),
                method => format!("{method}-{:.3e}", row["coef"].as_f64().unwrap()),
            };
            let entry = &audits[&run][0];
            assert_eq!(entry["value"].as_f64(), row["density"].as_f64(), "{name} {run}");
            assert_eq!(entry["target"].as_f64(), row["target_density"].as_f64(), "{name} {run}");
        }
    }
    // Balancing Act: the largest excess drop per split is the row's.
    let (rows, audits) = saved_models("balancing-act", &["--quick", "--steps", "1"]);
    assert_eq!(audits.len(), 5);
    for (run, entries) in &audits {
        let row = rows.iter().find(|r| r["method"] == run.as_str()).unwrap();
        for (split, column) in [("train", "max_train_gap"), ("test", "max_test_gap")] {
            let values = audit_values(entries, split);
            assert_eq!(values.len(), 10);
            let largest = values.into_iter().fold(f64::NEG_INFINITY, f64::max);
            assert_close(largest, row[column].as_f64().unwrap(), &format!("{run} {split}"));
        }
    }
    // L0onie: the stored bits, mask included, exact, against COIN's.
    let (rows, audits) = saved_models("l0onie", &["--quick", "--steps", "30"]);
    let gated = rows.iter().find(|r| r["method"] == "l0onie").unwrap();
    let coin = rows.iter().find(|r| r["method"] == "coin").unwrap();
    let entry = &audits["l0onie"][0];
    assert_eq!(entry["value"].as_f64(), gated["bits"].as_f64());
    assert_eq!(entry["target"].as_f64(), coin["bits"].as_f64());
}

#[test]
fn audit_names_what_a_directory_lacks_and_refuses_an_unknown_experiment() {
    let dir = scratch("audit-refusals");
    let stderr = refused(&mut feasible(), &["audit", dir.to_str().unwrap(), "--json"]);
    assert!(
        stderr.contains("neither a run directory of `feasible train` (no run.json) nor a model saved by `feasible reproduce --models` (no experiment.json)"),
        "{stderr}"
    );
    std::fs::write(
        dir.join("experiment.json"),
        r#"{"experiment": "bogus", "run": "x", "quick": false, "full": false, "steps": null, "scheme": null, "detail": null}"#,
    )
    .unwrap();
    let stderr = refused(&mut feasible(), &["audit", dir.to_str().unwrap()]);
    assert!(stderr.contains("unknown experiment `bogus`"), "{stderr}");
    std::fs::write(
        dir.join("experiment.json"),
        r#"{"experiment": "concave", "run": "x", "quick": false, "full": false, "steps": null, "scheme": null, "detail": {"method": "nupi", "eps": 0.5}}"#,
    )
    .unwrap();
    let stderr = refused(&mut feasible(), &["audit", dir.to_str().unwrap()]);
    assert!(stderr.contains("model.json"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
