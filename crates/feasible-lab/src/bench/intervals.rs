//! Summaries of per-step timings: quantiles, and a bootstrap interval for
//! the ratio of two medians from interleaved (paired) rounds.

use serde::Serialize;

use crate::data::sampling::{Draw, SplitMix64};

/// The `q`-quantile of sorted values, interpolated linearly (`NaN` when
/// there are none).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let position = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (below, above) = (position.floor() as usize, position.ceil() as usize);
            let fraction = position - below as f64;
            sorted[below] + fraction * (sorted[above] - sorted[below])
        }
    }
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of `values` (`NaN` when there are none).
pub fn median(values: &[f64]) -> f64 {
    quantile(&sorted(values), 0.5)
}

/// Median, quartiles and extremes of a sample of step times, microseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Median.
    pub median_us: f64,
    /// First quartile.
    pub q1_us: f64,
    /// Third quartile.
    pub q3_us: f64,
    /// Fastest.
    pub min_us: f64,
    /// Slowest.
    pub max_us: f64,
}

impl Spread {
    /// The spread of `seconds`, reported in microseconds.
    pub fn of_seconds(seconds: &[f64]) -> Self {
        let us: Vec<f64> = sorted(seconds).into_iter().map(|s| 1e6 * s).collect();
        Self {
            median_us: quantile(&us, 0.5),
            q1_us: quantile(&us, 0.25),
            q3_us: quantile(&us, 0.75),
            min_us: us.first().copied().unwrap_or(f64::NAN),
            max_us: us.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// The interquartile range, microseconds.
    pub fn iqr_us(&self) -> f64 {
        self.q3_us - self.q1_us
    }
}

/// `median(numerator) / median(denominator) - 1` with a 95% bootstrap
/// interval, and the median of the per-round ratios.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatioEstimate {
    /// `median(numerator) / median(denominator) - 1`.
    pub ratio_of_medians: f64,
    /// 2.5th percentile of the bootstrap distribution of that ratio.
    pub ci95_low: f64,
    /// 97.5th percentile.
    pub ci95_high: f64,
    /// The median over rounds of `numerator_i / denominator_i - 1`.
    pub median_paired_ratio: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
}

/// Estimates `median(numerator) / median(denominator) - 1` from paired
/// samples (`numerator[i]` and `denominator[i]` measured in the same round),
/// resampling rounds with replacement `resamples` times (seeded: the same
/// numbers give the same interval).
pub fn ratio_of_medians(numerator: &[f64], denominator: &[f64], resamples: usize, seed: u64) -> RatioEstimate {
    let n = numerator.len().min(denominator.len());
    let (numerator, denominator) = (&numerator[..n], &denominator[..n]);
    let paired: Vec<f64> = numerator.iter().zip(denominator).map(|(a, b)| a / b - 1.0).collect();
    let mut rng = SplitMix64::new(seed);
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    let mut ratios = Vec::with_capacity(resamples);
    if n > 0 {
        for _ in 0..resamples {
            for k in 0..n {
                let i = rng.below(n);
                a[k] = numerator[i];
                b[k] = denominator[i];
            }
            ratios.push(median_in_place(&mut a) / median_in_place(&mut b) - 1.0);
        }
    }
    let ratios = sorted(&ratios);
    RatioEstimate {
        ratio_of_medians: median(numerator) / median(denominator) - 1.0,
        ci95_low: quantile(&ratios, 0.025),
        ci95_high: quantile(&ratios, 0.975),
        median_paired_ratio: median(&paired),
        resamples,
    }
}

/// The smallest median of consecutive blocks of `block` values (a last,
/// shorter block included; `NaN` when there are none): an estimate of the
/// step time in the machine's quietest stretch.
pub fn min_block_median(values: &[f64], block: usize) -> f64 {
    values.chunks(block.max(1)).map(median).fold(f64::NAN, f64::min)
}

/// The median, reordering `values`.
fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = values[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

/// This machine's processor count and load averages (1, 5, 15 minutes,
/// from `/proc/loadavg`; `None` where unreadable).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MachineLoad {
    /// Processors available to this process.
    pub processors: usize,
    /// Load averages over 1, 5 and 15 minutes.
    pub load_average: Option<[f64; 3]>,
}

impl MachineLoad {
    /// Reads them now.
    pub fn now() -> Self {
        let load_average = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| {
            let v: Vec<f64> = s.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
            <[f64; 3]>::try_from(v).ok()
        });
        Self {
            processors: std::thread::available_parallelism().map_or(1, usize::from),
            load_average,
        }
    }

    /// `2 processors, load 1.23 0.98 0.75`.
    pub fn describe(&self) -> String {
        match self.load_average {
            Some([a, b, c]) => format!("{} processors, load average {a:.2} {b:.2} {c:.2}", self.processors),
            None => format!("{} processors, load average unknown", self.processors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert_eq!(quantile(&v, 0.125), 1.5);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        let mut w = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median_in_place(&mut w), 2.5);
        let mut odd = [9.0, 1.0, 5.0];
        assert_eq!(median_in_place(&mut odd), 5.0);
        assert_eq!(min_block_median(&[5.0, 1.0, 9.0, 4.0, 3.0, 8.0, 7.0], 3), 4.0);
        assert!(min_block_median(&[], 3).is_nan());
    }

    #[test]
    fn a_constant_ratio_has_a_degenerate_interval() {
        // Every round 10% dearer: every resample gives exactly 0.1.
        let base: Vec<f64> = (1..=50).map(f64::from).collect();
        let dearer: Vec<f64> = base.iter().map(|b| b * 1.1).collect();
        let r = ratio_of_medians(&dearer, &base, 200, 3);
        for x in [r.ratio_of_medians, r.ci95_low, r.ci95_high, r.median_paired_ratio] {
            assert!((x - 0.1).abs() < 1e-12, "{r:?}");
        }
    }
}
