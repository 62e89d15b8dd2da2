//! Confidence intervals: the exact Clopper–Pearson interval of a binomial
//! proportion, and the Bonferroni interval of a group's gap to the overall
//! rate built from two of them.

use super::beta::beta_quantile;
use super::error::{AuditError, check_confidence};

/// The exact two-sided Clopper–Pearson interval of a proportion, from
/// `successes` of `trials`, at `confidence` (0.95 for 95%).
///
/// With `α = 1 - confidence`, `x` successes and `n` trials:
/// `lower = B⁻¹(α/2; x, n-x+1)` (0 when `x = 0`) and
/// `upper = B⁻¹(1-α/2; x+1, n-x)` (1 when `x = n`), where `B⁻¹(p; a, b)` is
/// the `p`-quantile of Beta(a, b). Equivalently, `lower` is the `p` at which
/// `P(X >= x) = α/2` and `upper` the `p` at which `P(X <= x) = α/2` for
/// `X ~ Binomial(n, p)`: the interval covers the true rate with probability
/// at least `confidence` (Clopper & Pearson, Biometrika 26, 1934). It is
/// what R's `binom.test(x, n)$conf.int` returns.
///
/// ```
/// use feasible_lab::audit::clopper_pearson;
///
/// let (low, high) = clopper_pearson(7, 20, 0.95)?;
/// assert!((low - 0.1539092).abs() < 1e-7 && (high - 0.5921885).abs() < 1e-7);
/// # Ok::<(), feasible_lab::audit::AuditError>(())
/// ```
///
/// # Errors
/// [`AuditError::Confidence`] unless `0 < confidence < 1`,
/// [`AuditError::NoTrials`] when `trials == 0`,
/// [`AuditError::TooManyTrials`] above [`MAX_TRIALS`] and
/// [`AuditError::SuccessesExceedTrials`] when `successes > trials`.
pub fn clopper_pearson(successes: u64, trials: u64, confidence: f64) -> Result<(f64, f64), AuditError> {
    check_confidence(confidence)?;
    check_sample("binomial sample", successes, trials)?;
    Ok(exact_interval(successes, trials, confidence))
}

/// The interval for a checked sample and level.
fn exact_interval(successes: u64, trials: u64, confidence: f64) -> (f64, f64) {
    let alpha = 1.0 - confidence;
    let (x, n) = (successes as f64, trials as f64);
    let lower = if successes == 0 {
        0.0
    } else {
        beta_quantile(alpha / 2.0, x, n - x + 1.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        beta_quantile(1.0 - alpha / 2.0, x + 1.0, n - x)
    };
    (lower, upper)
}

/// The most trials [`clopper_pearson`] accepts: 2^53, past which `f64`
/// no longer counts every integer.
pub const MAX_TRIALS: u64 = 1 << 53;

/// `Ok` for between 1 and [`MAX_TRIALS`] trials and no more successes than
/// trials.
pub(crate) fn check_sample(subject: &str, successes: u64, trials: u64) -> Result<(), AuditError> {
    if trials == 0 {
        return Err(AuditError::NoTrials {
            subject: subject.to_string(),
        });
    }
    if trials > MAX_TRIALS {
        return Err(AuditError::TooManyTrials {
            subject: subject.to_string(),
            trials,
        });
    }
    if successes > trials {
        return Err(AuditError::SuccessesExceedTrials {
            subject: subject.to_string(),
            successes,
            trials,
        });
    }
    Ok(())
}

/// A point value with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The value on the sample.
    pub value: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
}

/// A group's rate minus the overall rate (the overall rate counting the
/// group), with a conservative interval at `confidence`.
///
/// `group` and `rest` are each `(successes, trials)`. With
/// `w = n_g / (n_g + n_rest)` the overall rate is `w p_g + (1-w) p_rest`, so
/// the gap is `p_g - p = (1-w)(p_g - p_rest)`. The interval combines the
/// Clopper–Pearson intervals `[L_g, U_g]` and `[L_r, U_r]` of the two
/// independent samples, each at level `1 - α/2`:
/// `[(1-w)(L_g - U_r), (1-w)(U_g - L_r)]`. By Bonferroni both intervals
/// cover their rates with probability at least `1 - α`, and then this one
/// covers the gap (`w` is fixed by the sample sizes), so its coverage is at
/// least `confidence`: conservative, wider than an exact interval would be.
///
/// ```
/// use feasible_lab::audit::group_gap;
///
/// // 20 of 50 in the group, 90 of 150 elsewhere: overall 110/200 = 0.55.
/// let gap = group_gap((20, 50), (90, 150), 0.95)?;
/// assert!((gap.value - (0.40 - 0.55)).abs() < 1e-12);
/// assert!(gap.low < gap.value && gap.value < gap.high);
/// # Ok::<(), feasible_lab::audit::AuditError>(())
/// ```
///
/// # Errors
/// [`AuditError::Confidence`] unless `0 < confidence < 1`; a
/// [`NoTrials`](AuditError::NoTrials) or
/// [`SuccessesExceedTrials`](AuditError::SuccessesExceedTrials) whose
/// subject is `group` or `rest`.
pub fn group_gap(group: (u64, u64), rest: (u64, u64), confidence: f64) -> Result<Estimate, AuditError> {
    check_confidence(confidence)?;
    check_sample("group", group.0, group.1)?;
    check_sample("rest", rest.0, rest.1)?;
    let each = 1.0 - (1.0 - confidence) / 2.0;
    let (group_low, group_high) = exact_interval(group.0, group.1, each);
    let (rest_low, rest_high) = exact_interval(rest.0, rest.1, each);
    let (n_group, n_rest) = (group.1 as f64, rest.1 as f64);
    let scale = n_rest / (n_group + n_rest); // 1 - w
    let rate = |(s, n): (u64, u64)| s as f64 / n as f64;
    Ok(Estimate {
        value: scale * (rate(group) - rate(rest)),
        low: scale * (group_low - rest_high),
        high: scale * (group_high - rest_low),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(confidence, x, n, lower, upper)`, computed with mpmath (40 digits)
    /// by bisecting the exact binomial tail sums `P(X >= x | p) = α/2` and
    /// `P(X <= x | p) = α/2`; the 95% rows agree with R's
    /// `binom.test(x, n)$conf.int` to its 7 printed digits and with a
    /// second mpmath computation through `betainc`.
    const REFERENCE: [(f64, u64, u64, f64, f64); 33] = [
        (0.95, 7, 20, 0.153_909_204_784_541_16, 0.592_188_534_532_828_2),
        (0.95, 0, 10, 0.0, 0.308_497_107_818_760_82),
        (0.95, 10, 10, 0.691_502_892_181_239_2, 1.0),
        (0.95, 50, 100, 0.398_321_129_503_300_98, 0.601_678_870_496_699),
        (0.95, 1, 1000, 2.531_748_749_129_404e-5, 0.005_558_924_279_826_673),
        (0.95, 3, 7, 0.098_988_278_442_507_86, 0.815_948_432_359_917),
        (0.95, 999, 1000, 0.994_441_075_720_173_4, 0.999_974_682_512_508_8),
        (0.95, 0, 1, 0.0, 0.975),
        (0.95, 1, 1, 0.025, 1.0),
        (0.95, 123, 4567, 0.022_432_278_104_357_843, 0.032_050_112_069_048_265),
        (
            0.95,
            250,
            100_000,
            0.002_199_999_496_427_869_7,
            0.002_829_410_059_873_396_3,
        ),
        (0.9, 7, 20, 0.177_310_917_574_449_1, 0.558_034_511_315_488_8),
        (0.9, 0, 10, 0.0, 0.258_865_550_893_052_3),
        (0.9, 10, 10, 0.741_134_449_106_947_7, 1.0),
        (0.9, 50, 100, 0.413_621_714_630_911_76, 0.586_378_285_369_088_2),
        (0.9, 1, 1000, 5.129_197_890_901_780_8e-5, 0.004_734_993_575_499_778),
        (0.9, 3, 7, 0.128_756_392_804_242_68, 0.774_678_415_967_552_3),
        (0.9, 999, 1000, 0.995_265_006_424_500_2, 0.999_948_708_021_090_9),
        (0.9, 0, 1, 0.0, 0.95),
        (0.9, 1, 1, 0.05, 1.0),
        (0.9, 123, 4567, 0.023_108_676_610_791_18, 0.031_214_064_454_916_54),
        (0.9, 250, 100_000, 0.002_246_008_258_292_181, 0.002_775_770_404_443_513),
        (0.99, 7, 20, 0.113_879_763_266_732_16, 0.656_568_584_231_921_3),
        (0.99, 0, 10, 0.0, 0.411_295_981_347_525_4),
        (0.99, 10, 10, 0.588_704_018_652_474_7, 1.0),
        (0.99, 50, 100, 0.368_861_437_358_924, 0.631_138_562_641_075_9),
        (0.99, 1, 1000, 5.012_529_260_777_506_1e-6, 0.007_406_286_938_352_938),
        (0.99, 3, 7, 0.055_299_349_980_566_267, 0.882_296_248_331_048),
        (0.99, 999, 1000, 0.992_593_713_061_647, 0.999_994_987_470_739_2),
        (0.99, 0, 1, 0.0, 0.995),
        (0.99, 1, 1, 0.005, 1.0),
        (0.99, 123, 4567, 0.021_148_428_403_451_924, 0.033_724_834_185_179_505),
        (0.99, 250, 100_000, 0.002_111_916_715_029_636, 0.002_936_205_105_285_026),
    ];

    #[test]
    fn clopper_pearson_matches_published_and_mpmath_values_at_90_95_and_99_percent() {
        for (confidence, x, n, lower, upper) in REFERENCE {
            let (low, high) = clopper_pearson(x, n, confidence).unwrap();
            // Relative 1e-11 (the worst case measured is 3.8e-13).
            let ok = |got: f64, want: f64| (got - want).abs() <= 1e-11 * want || (got - want).abs() <= 1e-15;
            assert!(ok(low, lower), "{confidence} {x}/{n}: lower {low:e}, want {lower:e}");
            assert!(ok(high, upper), "{confidence} {x}/{n}: upper {high:e}, want {upper:e}");
        }
    }

    #[test]
    fn clopper_pearson_matches_r_binom_test_to_its_printed_digits() {
        // binom.test(x, n)$conf.int, R 4.x, as printed (7 significant digits).
        let r = [
            (7, 20, 0.1539092, 0.5921885),
            (0, 10, 0.0, 0.3084971),
            (10, 10, 0.6915029, 1.0),
            (50, 100, 0.3983211, 0.6016789),
            (1, 1000, 0.0000253, 0.0055589),
        ];
        for (x, n, lower, upper) in r {
            let (low, high) = clopper_pearson(x, n, 0.95).unwrap();
            assert!(
                (low - lower).abs() < 5e-8 && (high - upper).abs() < 5e-8,
                "{x}/{n}: ({low}, {high})"
            );
        }
    }

    /// `P(X <= k)` for `X ~ Binomial(n, p)`, by summing the mass function
    /// with its ratio recurrence: independent of the beta function.
    fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
        let mut mass = (1.0 - p).powi(n as i32);
        let mut total = mass;
        for j in 1..=k {
            mass *= (n - j + 1) as f64 / j as f64 * p / (1.0 - p);
            total += mass;
        }
        total
    }

    #[test]
    fn the_interval_ends_solve_the_binomial_tail_equations() {
        for confidence in [0.9, 0.95, 0.99] {
            let half = (1.0 - confidence) / 2.0;
            for (x, n) in [(7, 20), (1, 30), (29, 30), (50, 100), (120, 400)] {
                let (low, high) = clopper_pearson(x, n, confidence).unwrap();
                let upper_tail = 1.0 - binomial_cdf(x - 1, n, low); // P(X >= x | low)
                let lower_tail = binomial_cdf(x, n, high); // P(X <= x | high)
                assert!(
                    (upper_tail - half).abs() < 1e-10,
                    "{x}/{n} at {confidence}: {upper_tail}"
                );
                assert!(
                    (lower_tail - half).abs() < 1e-10,
                    "{x}/{n} at {confidence}: {lower_tail}"
                );
            }
        }
    }

    #[test]
    fn a_few_successes_in_trillions_of_trials_keep_their_digits() {
        // 3 successes, mpmath (60 digits) bisecting the exact binomial tails.
        for (n, lower, upper) in [
            (1_000_000_000_000, 6.186_721_228_960_286e-13, 8.767_273_069_717_044e-12),
            (MAX_TRIALS, 6.868_640_355_324_211e-17, 9.733_628_425_204_003e-16),
        ] {
            let (low, high) = clopper_pearson(3, n, 0.95).unwrap();
            assert!(
                (low / lower - 1.0).abs() < 1e-11 && (high / upper - 1.0).abs() < 1e-11,
                "3/{n}: ({low:e}, {high:e})"
            );
        }
        assert!(matches!(
            clopper_pearson(3, MAX_TRIALS + 1, 0.95),
            Err(AuditError::TooManyTrials { trials, .. }) if trials == MAX_TRIALS + 1
        ));
    }

    #[test]
    fn zero_and_all_successes_pin_one_end_and_use_the_closed_form_at_the_other() {
        // x = 0: upper = 1 - (α/2)^(1/n); x = n: lower = (α/2)^(1/n).
        let (low, high) = clopper_pearson(0, 40, 0.9).unwrap();
        assert_eq!(low, 0.0);
        assert!((high - (1.0 - 0.05_f64.powf(1.0 / 40.0))).abs() < 1e-13);
        let (low, high) = clopper_pearson(40, 40, 0.9).unwrap();
        assert_eq!(high, 1.0);
        assert!((low - 0.05_f64.powf(1.0 / 40.0)).abs() < 1e-13);
    }

    #[test]
    fn the_group_gap_is_the_scaled_difference_of_two_bonferroni_intervals() {
        // Group 20/50, rest 90/150: w = 1/4, gap = 0.75 (0.4 - 0.6) = -0.15 =
        // 0.40 - 110/200. Intervals at 97.5% each (mpmath, 40 digits):
        // group [0.24758202651892062, 0.56778981535594597],
        // rest [0.50542105103592637, 0.68948979898156790];
        // low = 0.75 (0.2475... - 0.6894...), high = 0.75 (0.5677... - 0.5054...).
        let gap = group_gap((20, 50), (90, 150), 0.95).unwrap();
        assert!((gap.value + 0.15).abs() < 1e-15);
        assert!((gap.low - -0.331_430_829_346_985_5).abs() < 1e-10, "{}", gap.low);
        assert!((gap.high - 0.046_776_573_240_014_702).abs() < 1e-10, "{}", gap.high);
        let (g_low, g_high) = clopper_pearson(20, 50, 0.975).unwrap();
        let (r_low, r_high) = clopper_pearson(90, 150, 0.975).unwrap();
        assert!((gap.low - 0.75 * (g_low - r_high)).abs() < 1e-15);
        assert!((gap.high - 0.75 * (g_high - r_low)).abs() < 1e-15);
    }

    #[test]
    fn bad_samples_and_levels_are_refused_with_what_was_wrong() {
        let message = |e: AuditError| e.to_string();
        assert!(matches!(clopper_pearson(3, 0, 0.95), Err(AuditError::NoTrials { .. })));
        assert!(matches!(
            clopper_pearson(11, 10, 0.95),
            Err(AuditError::SuccessesExceedTrials {
                successes: 11,
                trials: 10,
                ..
            })
        ));
        for confidence in [0.0, 1.0, -0.5, 95.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                clopper_pearson(1, 10, confidence),
                Err(AuditError::Confidence { .. })
            ));
        }
        assert_eq!(
            message(clopper_pearson(11, 10, 0.95).unwrap_err()),
            "binomial sample: 11 successes out of 10 trials; successes cannot exceed trials"
        );
        assert_eq!(
            message(group_gap((1, 2), (0, 0), 0.95).unwrap_err()),
            "rest: 0 trials; a rate needs at least one trial"
        );
        assert!(message(group_gap((3, 2), (1, 2), 0.95).unwrap_err()).starts_with("group: 3 successes"));
        assert_eq!(
            message(clopper_pearson(1, 2, 1.0).unwrap_err()),
            "confidence level 1 is not strictly between 0 and 1"
        );
    }
}
