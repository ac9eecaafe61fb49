//! Summaries of measured samples.

use serde::Serialize;

/// Distribution of a series of samples, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Samples measured.
    pub n: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
}

impl Summary {
    /// Summarises durations given in nanoseconds.
    pub fn of_ns(samples: &[u64]) -> Summary {
        let mut ms: Vec<f64> = samples.iter().map(|ns| *ns as f64 / 1e6).collect();
        ms.sort_by(f64::total_cmp);
        let mean = (!ms.is_empty()).then(|| ms.iter().sum::<f64>() / ms.len() as f64);
        Summary {
            n: ms.len(),
            p50_ms: percentile(&ms, 50.0),
            p99_ms: percentile(&ms, 99.0),
            max_ms: ms.last().copied(),
            mean_ms: mean,
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value such that at least `p` %
/// of the samples are less than or equal to it. `None` for no samples.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(100.0));
        assert_eq!(percentile(&values, 99.0), Some(198.0));
        assert_eq!(percentile(&values, 100.0), Some(200.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_in_milliseconds() {
        let s = Summary::of_ns(&[3_000_000, 1_000_000, 2_000_000]);
        assert_eq!(s.n, 3);
        assert_eq!(
            (s.p50_ms, s.max_ms, s.mean_ms),
            (Some(2.0), Some(3.0), Some(2.0))
        );
        assert_eq!(Summary::of_ns(&[]).p99_ms, None);
    }
}
