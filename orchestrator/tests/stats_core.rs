//! The statistics: medians, bootstrap intervals (coverage checked by
//! simulation), outliers, verdicts.

use lwm::stats::{
    ci_half_width_rel, geomean, geomean_ratio_ci, mad_outliers, median, median_ci, ratio_ci,
    verdict, Interval, SplitMix64, Verdict,
};

#[test]
fn medians_of_known_samples() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&[7.5]), 7.5);
    assert_eq!(median(&[1.0, 1.0, 1.0, 100.0]), 1.0);
    assert!(median(&[]).is_nan());
    assert!((geomean(&[0.5, 2.0]) - 1.0).abs() < 1e-12);
    assert!(geomean(&[1.0, 0.0]).is_nan());
}

#[test]
fn median_interval_is_tight_for_a_tight_sample_and_wide_for_a_spread_one() {
    let tight = [
        1.00, 1.01, 0.99, 1.005, 0.995, 1.002, 0.998, 1.0, 1.003, 0.997,
    ];
    let ci = median_ci(&tight, 7);
    assert!(ci.contains(1.0), "{ci:?}");
    assert!(ci.low <= ci.high);
    assert!(
        ci.high - ci.low < 0.02,
        "tight sample, tight interval: {ci:?}"
    );

    let spread = [0.5, 1.7, 0.9, 2.4, 1.1, 0.3, 1.9, 1.4, 0.7, 2.2];
    let wide = median_ci(&spread, 7);
    assert!(wide.contains(median(&spread)), "{wide:?}");
    assert!(
        wide.high - wide.low > 0.5,
        "spread sample, wide interval: {wide:?}"
    );
    assert!(ci_half_width_rel(&tight, 7) < 0.01);
    assert!(ci_half_width_rel(&spread, 7) > 0.2);
}

#[test]
fn intervals_are_deterministic_for_a_seed() {
    let xs = [0.5, 1.7, 0.9, 2.4, 1.1, 0.3, 1.9, 1.4, 0.7, 2.2];
    assert_eq!(median_ci(&xs, 11), median_ci(&xs, 11));
    assert_eq!(ratio_ci(&xs, &xs[..7], 3), ratio_ci(&xs, &xs[..7], 3));
    // Another seed draws other resamples: the ends move a little.
    assert_ne!(median_ci(&xs, 11), median_ci(&xs, 12));
}

#[test]
fn degenerate_inputs() {
    assert!(median_ci(&[], 1).is_nan());
    assert_eq!(
        median_ci(&[2.0], 1),
        Interval {
            low: 2.0,
            high: 2.0
        }
    );
    assert_eq!(ci_half_width_rel(&[2.0], 1), f64::INFINITY);
    let (r, ci) = ratio_ci(&[], &[1.0], 1);
    assert!(r.is_nan() && ci.is_nan());
    assert_eq!(verdict(r, ci, 0.02), Verdict::NoDifference);
}

/// Standard normal by Box-Muller, for the simulation.
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Fraction of `trials` samples of `n` from N(10, 1) whose median interval
/// contains the true median 10.
fn coverage(n: usize, trials: u64, seed: u64) -> f64 {
    let mut rng = SplitMix64::new(seed);
    let mut covered = 0;
    for t in 0..trials {
        let xs: Vec<f64> = (0..n).map(|_| 10.0 + normal(&mut rng)).collect();
        if median_ci(&xs, t).contains(10.0) {
            covered += 1;
        }
    }
    covered as f64 / trials as f64
}

#[test]
fn median_interval_covers_the_true_median_about_95_percent_of_the_time() {
    // The percentile bootstrap of a median is a little liberal at these
    // sizes; far below 0.85, or always covering, would mean a broken interval.
    for (n, seed) in [(21, 2024), (20, 77), (9, 5)] {
        let c = coverage(n, 300, seed);
        println!("n = {n}: coverage {c}");
        assert!((0.85..0.995).contains(&c), "n = {n}: coverage {c}");
    }
}

#[test]
fn ratio_of_medians_and_its_interval() {
    let b = [1.00, 1.01, 0.99, 1.02, 0.98, 1.005, 0.995];
    let a: Vec<f64> = b.iter().map(|x| x * 0.8).collect();
    let (r, ci) = ratio_ci(&a, &b, 5);
    assert!((r - 0.8).abs() < 1e-12, "{r}");
    assert!(ci.contains(0.8) && ci.high < 1.0, "{ci:?}");
    assert_eq!(verdict(r, ci, 0.02), Verdict::Faster);

    // Same distributions: the interval straddles 1.
    let (r, ci) = ratio_ci(&b, &b[1..], 5);
    assert!(ci.contains(1.0), "{r} {ci:?}");
    assert_eq!(verdict(r, ci, 0.02), Verdict::NoDifference);
}

#[test]
fn geomean_of_ratios_with_a_joint_bootstrap() {
    let base = [1.0, 1.01, 0.99, 1.005, 0.995];
    let half: Vec<f64> = base.iter().map(|x| x * 0.5).collect();
    let double: Vec<f64> = base.iter().map(|x| x * 2.0).collect();
    let (g, ci) = geomean_ratio_ci(&[(&half, &base), (&double, &base)], 9);
    assert!(
        (g - 1.0).abs() < 1e-9,
        "0.5 and 2 average to 1 geometrically: {g}"
    );
    assert!(ci.contains(1.0), "{ci:?}");
    let (g, ci) = geomean_ratio_ci(&[(&half, &base), (&half, &base), (&[], &base)], 9);
    assert!(
        (g - 0.5).abs() < 1e-9 && ci.high < 0.6,
        "empty pairs are skipped: {g} {ci:?}"
    );
}

#[test]
fn outliers_are_flagged_by_modified_z_score() {
    let xs = [1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 3.0];
    assert_eq!(mad_outliers(&xs), vec![6]);
    // MAD 0: the mean absolute deviation stands in.
    assert_eq!(mad_outliers(&[5.0, 5.0, 5.0, 5.0, 5.0, 9.0]), vec![5]);
    assert!(mad_outliers(&[1.0, 1.0, 1.0, 1.0]).is_empty());
    assert!(mad_outliers(&[1.0, 1.1, 0.9, 1.05, 0.95]).is_empty());
    // Low outliers too.
    assert_eq!(mad_outliers(&[0.01, 1.00, 1.01, 0.99, 1.02, 0.98]), vec![0]);
}

#[test]
fn verdict_needs_the_whole_interval_and_the_noise_threshold() {
    let iv = |low, high| Interval { low, high };
    assert_eq!(verdict(0.8, iv(0.75, 0.85), 0.02), Verdict::Faster);
    assert_eq!(verdict(1.2, iv(1.15, 1.25), 0.02), Verdict::Slower);
    // Interval crosses 1.
    assert_eq!(verdict(0.9, iv(0.8, 1.01), 0.02), Verdict::NoDifference);
    assert_eq!(verdict(1.1, iv(0.99, 1.2), 0.02), Verdict::NoDifference);
    // Significant but within the noise threshold.
    assert_eq!(verdict(0.99, iv(0.985, 0.995), 0.02), Verdict::NoDifference);
    assert_eq!(verdict(1.015, iv(1.01, 1.02), 0.02), Verdict::NoDifference);
    // Same numbers with no threshold.
    assert_eq!(verdict(0.99, iv(0.985, 0.995), 0.0), Verdict::Faster);
    assert_eq!(verdict(1.015, iv(1.01, 1.02), 0.0), Verdict::Slower);
    assert_eq!(
        verdict(f64::NAN, Interval::NAN, 0.02),
        Verdict::NoDifference
    );
}
