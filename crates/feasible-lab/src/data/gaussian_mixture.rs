//! The 2-D mixture of Gaussians of the rate-constrained experiment
//! (position paper App. B.3, after Cotter et al. 2019, Fig. 2).

use super::sampling::{Draw, SplitMix64};

/// Labelled 2-D points.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    /// Row-major `[n, 2]` features.
    pub features: Vec<[f32; 2]>,
    /// Labels, 0 or 1.
    pub labels: Vec<u8>,
}

impl Points {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Four clusters of `per_cluster` points with noise `std`: class 1 around
/// (0, 1) and (-1, 0), class 0 around (0, -1) and (1, 0). The two classes
/// are separated by the line `x2 = x1` at distance `1/√2` from each centre,
/// so with `std = 0.22` they are almost linearly separable (3.2 standard
/// deviations).
pub fn four_clusters(per_cluster: usize, std: f64, seed: u64) -> Points {
    const CENTRES: [([f64; 2], u8); 4] = [([0.0, 1.0], 1), ([-1.0, 0.0], 1), ([0.0, -1.0], 0), ([1.0, 0.0], 0)];
    let mut rng = SplitMix64::new(seed);
    let mut features = Vec::with_capacity(4 * per_cluster);
    let mut labels = Vec::with_capacity(4 * per_cluster);
    for (centre, label) in CENTRES {
        for _ in 0..per_cluster {
            let x = centre[0] + std * rng.normal();
            let y = centre[1] + std * rng.normal();
            features.push([x as f32, y as f32]);
            labels.push(label);
        }
    }
    Points { features, labels }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_and_reproducible() {
        let a = four_clusters(100, 0.22, 3);
        assert_eq!(a.len(), 400);
        assert_eq!(a.labels.iter().filter(|l| **l == 0).count(), 200);
        assert_eq!(a, four_clusters(100, 0.22, 3));
        assert_ne!(a, four_clusters(100, 0.22, 4));
        // Cluster means near their centres.
        let mean = |range: std::ops::Range<usize>| {
            let n = range.len() as f32;
            let s = a.features[range]
                .iter()
                .fold([0.0; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
            [s[0] / n, s[1] / n]
        };
        let m = mean(300..400);
        assert!((m[0] - 1.0).abs() < 0.07 && m[1].abs() < 0.07, "{m:?}");
    }
}
