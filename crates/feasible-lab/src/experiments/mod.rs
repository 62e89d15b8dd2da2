//! The published experiments the lab reproduces.

pub mod balancing_act;
pub mod compas;
pub mod concave;
pub mod fairness;
pub mod feasible_learning;
pub mod l0onie;
pub mod rate;
pub mod sparsity;
pub mod svm;

/// The experiments `feasible reproduce` knows, in the order it runs them.
pub const EXPERIMENTS: &[(&str, &str)] = &[
    (
        "rate",
        "rate-constrained linear classification (position paper Fig. 2, Tables 4 and 5)",
    ),
    (
        "concave",
        "min cos(x) s.t. sin(x) <= eps: penalty, GDA, nuPI, augmented Lagrangian (position paper Example 1, Table 1)",
    ),
    (
        "feasible-learning",
        "every sample's loss <= eps: ERM, Feasible Learning, slack relaxation; two moons and Fashion-MNIST",
    ),
    (
        "sparsity",
        "at most 50% of the weights: penalty bisection vs one constrained training, L0 gates (position paper Fig. 1, Table 3)",
    ),
    (
        "l0onie",
        "an image stored as a SIREN, a wide network pruned to a small one's size by an L0 constraint (L0onie)",
    ),
    (
        "fairness",
        "equal opportunity on UCI Adult with solution selection: last iterate, best iterate, best distribution (TFCO)",
    ),
    (
        "compas",
        "equal opportunity on COMPAS with a 10-unit network: oscillating iterates, best iterate, best distribution (TFCO)",
    ),
    (
        "balancing-act",
        "pruning without disparate impact: each class's excess accuracy drop <= eps, Fashion-MNIST (Balancing Act)",
    ),
    (
        "svm",
        "hard-margin SVM with one multiplier per training point (Iris) against the exact QP",
    ),
];

/// What `--steps` sets for `experiment` and the largest value accepted (far
/// beyond any useful run, well below what would exhaust memory); `None`
/// for an unknown experiment.
pub fn steps_limit(experiment: &str) -> Option<(&'static str, usize)> {
    Some(match experiment {
        "rate" => ("full-batch training steps", 1_000_000),
        "concave" => ("projected gradient steps", 10_000_000),
        "feasible-learning" => ("training epochs", 100_000),
        "sparsity" => ("training epochs", 10_000),
        "l0onie" => ("training steps", 1_000_000),
        "fairness" => ("training epochs", 10_000),
        "compas" => ("training epochs", 100_000),
        "balancing-act" => ("fine-tuning epochs", 10_000),
        "svm" => ("training epochs", 10_000_000),
        _ => return None,
    })
}

/// The experiments whose update scheme `--scheme` overrides; the others
/// refuse it.
pub const SCHEME_EXPERIMENTS: &[&str] = &["rate"];

/// The fetched data sets `experiment` needs (`quick`: its `--quick`
/// version). Without Fashion-MNIST, `feasible-learning` can still run its
/// two-moons part.
pub fn data_needed(experiment: &str, quick: bool) -> Vec<crate::data::sets::DataSet> {
    use crate::data::sets::DataSet;
    match experiment {
        "feasible-learning" if !quick => vec![DataSet::FashionMnist],
        "sparsity" | "balancing-act" => vec![DataSet::FashionMnist],
        "l0onie" => vec![DataSet::Astronaut],
        "fairness" => vec![DataSet::Adult],
        "compas" => vec![DataSet::Compas],
        _ => vec![],
    }
}
