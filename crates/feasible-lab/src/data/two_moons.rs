//! Two interleaving half circles (scikit-learn's `make_moons`), generated
//! from a seed.

use rand::Rng;

use super::gaussian_mixture::Points;
use super::sampling::{Draw, SplitMix64};

/// `n` points, half on the upper half circle of radius 1 around (0, 0)
/// (label 0), half on the lower half circle around (1, 0.5) (label 1), both
/// with Gaussian noise of standard deviation `noise`, in random order.
pub fn two_moons(n: usize, noise: f64, seed: u64) -> Points {
    let mut rng = SplitMix64::new(seed);
    let outer = n / 2;
    let inner = n - outer;
    let angle = |i: usize, count: usize| {
        if count > 1 {
            std::f64::consts::PI * i as f64 / (count - 1) as f64
        } else {
            0.0
        }
    };
    let mut points: Vec<([f32; 2], u8)> = Vec::with_capacity(n);
    for i in 0..outer {
        let t = angle(i, outer);
        points.push(([t.cos() as f32, t.sin() as f32], 0));
    }
    for i in 0..inner {
        let t = angle(i, inner);
        points.push(([(1.0 - t.cos()) as f32, (0.5 - t.sin()) as f32], 1));
    }
    for (p, _) in &mut points {
        p[0] += (noise * rng.normal()) as f32;
        p[1] += (noise * rng.normal()) as f32;
    }
    // Fisher-Yates shuffle.
    for i in (1..points.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        points.swap(i, j);
    }
    Points {
        features: points.iter().map(|(p, _)| *p).collect(),
        labels: points.iter().map(|(_, l)| *l).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_moons_on_their_circles() {
        let p = two_moons(640, 0.0, 1);
        assert_eq!(p.labels.iter().filter(|l| **l == 0).count(), 320);
        for (x, l) in p.features.iter().zip(&p.labels) {
            let (cx, cy) = if *l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let r = ((x[0] - cx).powi(2) + (x[1] - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 1e-5, "{x:?}");
            assert!(if *l == 0 { x[1] >= -1e-6 } else { x[1] <= 0.5 + 1e-6 });
        }
        assert_eq!(two_moons(64, 0.1, 7), two_moons(64, 0.1, 7));
    }
}
