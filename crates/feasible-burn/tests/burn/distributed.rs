//! Two workers (threads on the one `flex` device, each with its own model
//! replica, shard, primal optimizer and copy of the dual state) sharing one
//! set of multipliers: identical on both after every step, and equal to a
//! single-device run on the combined batch.

use std::thread;

use burn::optim::{GradientsParams, SgdConfig};
use feasible::UpdateScheme;
use feasible_burn::distributed::{HostCollective, HostGradients, sum_gradients};
use feasible_burn::{ConstraintStatistics, Constraints};

use super::user_loop::{Affine, N, constraints, data, device, evaluate, evaluation, rows};

/// After each step: the rate multiplier, the per-sample multipliers, the
/// model's parameters.
type Trace = Vec<(f64, Vec<f64>, Vec<f32>)>;

fn record(constraints: &Constraints, model: &Affine) -> (f64, Vec<f64>, Vec<f32>) {
    (
        constraints.multipliers("rate").unwrap().unwrap()[0],
        constraints.multipliers("margin").unwrap().unwrap().to_vec(),
        model.parameters(),
    )
}

const LR: f64 = 0.5;

fn worker(
    rank: usize,
    workers: usize,
    steps: usize,
    scheme: UpdateScheme,
    statistics: HostCollective<ConstraintStatistics>,
    gradients: HostCollective<HostGradients>,
) -> Trace {
    let device = device();
    let (x, y) = data(&device);
    let size = N / workers;
    let (from, to) = (rank * size, (rank + 1) * size);
    let (x, y) = (rows(&x, from, to), rows(&y, from, to));
    let mut constraints = Constraints::new(constraints(scheme));
    let mut model = Affine::new(&device);
    let mut optimizer = SgdConfig::new().init();
    let mut trace = Vec::new();
    for _ in 0..steps {
        // Statistics of this shard, all-gathered and reduced the same way everywhere.
        let part = constraints
            .measure(evaluation(evaluate(&model, &x, &y), from..to), rank, size as f64)
            .unwrap();
        let all = statistics.all_gather(rank, part.statistics().clone()).unwrap();
        let global = ConstraintStatistics::reduce(all.iter()).unwrap();
        let (objectives, pending) = constraints.lagrangian_reduced(vec![part], &global).unwrap();
        let Some(objective) = objectives.into_iter().next() else {
            unreachable!("one part, one objective")
        };
        // Gradients summed across workers, the same primal step everywhere.
        let local = GradientsParams::from_grads(objective.backward(), &model);
        let all = gradients.all_gather(rank, HostGradients::new(&model, &local)).unwrap();
        let summed = sum_gradients(&model, &local, &all).unwrap();
        model = optimizer.step(LR, model, summed);
        if pending.needs_measurement() {
            let part = pending
                .measure(evaluation(evaluate(&model, &x, &y), from..to), rank, size as f64)
                .unwrap();
            let all = statistics.all_gather(rank, part).unwrap();
            pending
                .commit_reduced(&ConstraintStatistics::reduce(all.iter()).unwrap())
                .unwrap();
        } else {
            pending.commit().unwrap();
        }
        trace.push(record(&constraints, &model));
    }
    trace
}

fn single_device(steps: usize, scheme: UpdateScheme) -> Trace {
    let device = device();
    let (x, y) = data(&device);
    let mut constraints = Constraints::new(constraints(scheme));
    let mut model = Affine::new(&device);
    let mut optimizer = SgdConfig::new().init();
    let mut trace = Vec::new();
    for _ in 0..steps {
        let (objective, pending) = constraints
            .lagrangian(evaluation(evaluate(&model, &x, &y), 0..N))
            .unwrap();
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        model = optimizer.step(LR, model, grads);
        if pending.needs_measurement() {
            pending
                .commit_measured(evaluation(evaluate(&model, &x, &y), 0..N))
                .unwrap();
        } else {
            pending.commit().unwrap();
        }
        trace.push(record(&constraints, &model));
    }
    trace
}

#[test]
fn two_workers_hold_the_same_multipliers_as_one_device_on_the_combined_batch() {
    let (workers, steps) = (2, 30);
    for scheme in [
        UpdateScheme::AlternatingDualPrimal,
        UpdateScheme::Simultaneous,
        UpdateScheme::AlternatingPrimalDual,
    ] {
        let statistics = HostCollective::new(workers);
        let gradients = HostCollective::new(workers);
        let traces: Vec<Trace> = (0..workers)
            .map(|rank| {
                let (statistics, gradients) = (statistics.clone(), gradients.clone());
                thread::spawn(move || worker(rank, workers, steps, scheme, statistics, gradients))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect();
        let single = single_device(steps, scheme);
        for t in 0..steps {
            let (rate, margin, parameters) = &traces[0][t];
            for other in &traces[1..] {
                // Identical on every worker, bit for bit: multipliers and replicas.
                assert_eq!(other[t].0.to_bits(), rate.to_bits(), "{scheme:?} step {t}");
                assert_eq!(&other[t].1, margin, "{scheme:?} step {t}");
                assert_eq!(&other[t].2, parameters, "{scheme:?} step {t}");
            }
            let (s_rate, s_margin, s_parameters) = &single[t];
            assert!((rate - s_rate).abs() < 1e-9, "{scheme:?} step {t}: {rate} vs {s_rate}");
            for (a, b) in margin.iter().zip(s_margin) {
                assert!((a - b).abs() < 1e-9, "{scheme:?} step {t}: {margin:?} vs {s_margin:?}");
            }
            for (a, b) in parameters.iter().zip(s_parameters) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "{scheme:?} step {t}: {parameters:?} vs {s_parameters:?}"
                );
            }
        }
        let (rate, margin, _) = &traces[0][steps - 1];
        assert!(
            *rate > 0.0 && margin.iter().any(|l| *l > 0.0),
            "{scheme:?}: constraints active"
        );
    }
}

#[test]
fn statistics_of_parts_that_do_not_fit_are_refused() {
    let device = device();
    let (x, y) = data(&device);
    let model = Affine::new(&device);
    let constraints = Constraints::new(constraints(UpdateScheme::Simultaneous));
    let a = constraints
        .measure(
            evaluation(evaluate(&model, &rows(&x, 0, 8), &rows(&y, 0, 8)), 0..8),
            0,
            8.0,
        )
        .unwrap();
    let b = constraints
        .measure(
            evaluation(evaluate(&model, &rows(&x, 8, 16), &rows(&y, 8, 16)), 8..16),
            0,
            8.0,
        )
        .unwrap();
    let error = ConstraintStatistics::reduce([a.statistics(), b.statistics()]).unwrap_err();
    assert!(error.to_string().contains("rank 0"), "{error}");
    let error = constraints
        .measure(evaluation(evaluate(&model, &x, &y), 0..N), 1, 0.0)
        .unwrap_err();
    assert!(error.to_string().contains("sample count"), "{error}");
    // A part that is not among the reduced ones.
    let mut constraints = Constraints::new(constraints.into_optimizer());
    let global = ConstraintStatistics::reduce([a.statistics()]).unwrap();
    let c = constraints
        .measure(evaluation(evaluate(&model, &x, &y), 0..N), 3, 16.0)
        .unwrap();
    let error = constraints.lagrangian_reduced(vec![c], &global).unwrap_err();
    assert!(error.to_string().contains("rank 3"), "{error}");
    assert_eq!(constraints.optimizer().steps(), 0);
}

#[test]
fn parts_whose_ids_do_not_match_their_own_values_are_refused_even_when_the_totals_do() {
    // Two parts of the per-sample constraint: 2 values with 3 ids, then
    // 3 values with 2 ids. Concatenated, 5 ids and 5 values.
    let device = device();
    let margins = burn::module::Param::from_tensor(burn::tensor::Tensor::<1>::ones([5], &device)).val();
    let mut constraints = Constraints::new(constraints(UpdateScheme::Simultaneous));
    let part = |from: usize, to: usize, ids: std::ops::Range<usize>| {
        feasible_burn::Evaluation::feasibility().with(
            "margin",
            feasible_burn::ConstraintTensors::new(margins.clone().narrow(0, from, to - from))
                .with_indices(ids.collect::<Vec<_>>()),
        )
    };
    let error = constraints
        .lagrangian_parts(vec![part(0, 2, 0..3), part(2, 5, 3..5)])
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            error,
            feasible_burn::Error::Core(feasible::FeasibleError::IdsValuesMismatch { ids: 3, values: 2, .. })
        ),
        "{error}"
    );
    assert_eq!(constraints.optimizer().steps(), 0);
}

#[test]
fn received_statistics_that_do_not_fit_together_are_refused_when_read() {
    let device = device();
    let (x, y) = data(&device);
    let model = Affine::new(&device);
    let constraints = Constraints::new(constraints(UpdateScheme::Simultaneous));
    let part = constraints
        .measure(evaluation(evaluate(&model, &x, &y), 0..N), 0, N as f64)
        .unwrap();
    let good = serde_json::to_value(part.statistics()).unwrap();
    let back: ConstraintStatistics = serde_json::from_value(good.clone()).unwrap();
    assert_eq!(&back, part.statistics());
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        serde_json::from_value::<ConstraintStatistics>(v)
            .unwrap_err()
            .to_string()
    };
    let e = broken(&|v| v["samples"] = serde_json::json!([]));
    assert!(e.contains("1 ranks with 0 sample counts"), "{e}");
    let e = broken(&|v| {
        v["ranks"] = serde_json::json!([1, 1]);
        v["samples"] = serde_json::json!([8.0, 8.0]);
    });
    assert!(e.contains("not ascending"), "{e}");
    let e = broken(&|v| v["samples"] = serde_json::json!([-1.0]));
    assert!(e.contains("sample count"), "{e}");
    // The per-sample constraint: one id dropped, then a part's length.
    let margin = good["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == "margin")
        .unwrap();
    let e = broken(&|v| {
        v["constraints"][margin]["sums"]["Indexed"]["ids"]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    assert!(e.contains(&format!("{} ids with {N} values", N - 1)), "{e}");
    let e = broken(&|v| v["constraints"][margin]["sums"]["Indexed"]["lengths"] = serde_json::json!([3]));
    assert!(e.contains("do not add up"), "{e}");
}

#[test]
fn a_collective_refuses_a_rank_outside_its_workers_and_a_second_value_in_a_round() {
    let collective = HostCollective::<u32>::new(2);
    let e = collective.all_gather(2, 7).unwrap_err();
    assert!(matches!(e, feasible_burn::Error::Collective { .. }), "{e}");
    assert!(e.to_string().contains("rank 2 of 2 workers"), "{e}");
    // Rank 0 gives twice, from two threads: whichever comes second is
    // refused at once; the first waits for rank 1.
    let (sender, results) = std::sync::mpsc::channel();
    let givers: Vec<_> = [1, 9]
        .into_iter()
        .map(|value| {
            let (collective, sender) = (collective.clone(), sender.clone());
            thread::spawn(move || sender.send(collective.all_gather(0, value)).unwrap())
        })
        .collect();
    let e = results.recv().unwrap().unwrap_err();
    assert!(e.to_string().contains("rank 0 gave twice in one round"), "{e}");
    let round = collective.all_gather(1, 2).unwrap();
    let waited = results.recv().unwrap().unwrap();
    assert_eq!(round, waited);
    assert!(*round == vec![1, 2] || *round == vec![9, 2], "{round:?}");
    for giver in givers {
        giver.join().unwrap();
    }
}

#[test]
fn every_round_gives_every_worker_all_values_whether_it_watched_or_slept() {
    // Rank 1 arrives at once in the first rounds (whichever rank comes
    // first usually finds the round complete while it watches) and 5 ms
    // late in the last ones (rank 0 has stopped watching and sleeps until
    // rank 1 completes the round). Every round must give both ranks both
    // values of that round; a lost wake-up fails the test after 30 s
    // instead of hanging it. (That watching shortens the wait is measured
    // by `feasible bench reduction`, BENCHMARKS.md §7, not tested.)
    let collective = HostCollective::<(usize, u32)>::new(2);
    let late = |round: u32| round >= 195;
    let (sender, results) = std::sync::mpsc::channel();
    let ranks: Vec<_> = [0usize, 1]
        .into_iter()
        .map(|rank| {
            let (collective, sender) = (collective.clone(), sender.clone());
            thread::spawn(move || {
                let seen: Vec<_> = (0..200u32)
                    .map(|round| {
                        if rank == 1 && late(round) {
                            thread::sleep(std::time::Duration::from_millis(5));
                        }
                        collective.all_gather(rank, (rank, round)).unwrap()
                    })
                    .collect();
                sender.send((rank, seen)).unwrap();
            })
        })
        .collect();
    let timeout = std::time::Duration::from_secs(30);
    let mut seen = [results.recv_timeout(timeout), results.recv_timeout(timeout)]
        .map(|r| r.expect("every round completes within 30 s"));
    seen.sort_by_key(|(rank, _)| *rank);
    for (round, (a, b)) in seen[0].1.iter().zip(&seen[1].1).enumerate() {
        let round = round as u32;
        assert_eq!(**a, vec![(0, round), (1, round)]);
        assert_eq!(a, b);
    }
    for rank in ranks {
        rank.join().unwrap();
    }
}

#[test]
fn gradients_of_another_model_are_refused() {
    let device = device();
    let (x, y) = data(&device);
    let model = Affine::new(&device);
    let p = evaluate(&model, &x, &y);
    let local = GradientsParams::from_grads(p.loss.backward(), &model);
    let own = HostGradients::new(&model, &local);
    assert!(sum_gradients(&model, &local, &[own.clone(), own]).is_ok());
    // A linear map of another width: its gradients do not fit.
    let wider = burn::nn::LinearConfig::new(3, 1).init(&device);
    let z = wider.forward(burn::tensor::Tensor::<2>::ones([2, 3], &device)).sum();
    let foreign = HostGradients::new(&wider, &GradientsParams::from_grads(z.backward(), &wider));
    let e = sum_gradients(&model, &local, &[foreign]).unwrap_err();
    assert!(matches!(e, feasible_burn::Error::Collective { .. }), "{e}");
    assert!(e.to_string().contains("shape"), "{e}");
}
