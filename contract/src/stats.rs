//! Summary statistics over runs. Outliers are flagged with the modified
//! z-score (Iglewicz & Hoaglin; as hyperfine does) and never dropped.

use crate::schema::MetricStats;

const OUTLIER_Z: f64 = 3.5;

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// Indices (into `values`) whose modified z-score exceeds 3.5. When the
/// MAD is zero (most values identical) the mean absolute deviation stands
/// in for it, scaled as Iglewicz & Hoaglin suggest.
pub fn outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < 3 {
        return Vec::new();
    }
    let med = median(&sorted(values));
    let dev: Vec<f64> = values.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&sorted(&dev));
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        let mean_ad = dev.iter().sum::<f64>() / dev.len() as f64;
        if mean_ad == 0.0 {
            return Vec::new();
        }
        mean_ad * 1.253314
    };
    dev.iter()
        .enumerate()
        .filter(|(_, d)| **d / scale > OUTLIER_Z)
        .map(|(i, _)| i)
        .collect()
}

/// Statistics of `values`, which belong to the runs numbered `run_index`.
pub fn metric(name: &str, unit: &str, values: &[f64], run_index: &[u32]) -> Option<MetricStats> {
    if values.is_empty() {
        return None;
    }
    let s = sorted(values);
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let med = median(&s);
    let mad = median(&sorted(
        &values.iter().map(|x| (x - med).abs()).collect::<Vec<_>>(),
    ));
    Some(MetricStats {
        name: name.into(),
        unit: unit.into(),
        n: values.len() as u32,
        min: s[0],
        max: s[s.len() - 1],
        mean,
        median: med,
        stddev: var.sqrt(),
        mad,
        outlier_runs: outliers(values).into_iter().map(|i| run_index[i]).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_a_clear_outlier_only() {
        let v = [1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 3.0];
        assert_eq!(outliers(&v), vec![6]);
        assert!(outliers(&[1.0, 1.0, 1.0, 1.0]).is_empty());
        assert_eq!(outliers(&[5.0, 5.0, 5.0, 5.0, 5.0, 9.0]), vec![5]);
        let m = metric("wall_s", "s", &v, &[0, 1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(m.median, 1.00);
        assert_eq!(m.outlier_runs, vec![6]);
        assert_eq!(m.n, 7);
    }
}
