//! Raw rows for the figures that show every replication (distribution of estimates, zip plot).

/// Quantile of sorted values, linear interpolation between order statistics (R's type 7).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A range padded by 5% on each side (or ±1 around a single value), ignoring non-finite values.
pub fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - pad, hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_r_type_7() {
        let x = [1.0, 2.0, 4.0, 8.0];
        // R: quantile(c(1, 2, 4, 8), c(0.25, 0.5, 0.9)) = 1.75 3.00 6.80
        assert!((quantile(&x, 0.25) - 1.75).abs() < 1e-12);
        assert!((quantile(&x, 0.5) - 3.0).abs() < 1e-12);
        assert!((quantile(&x, 0.9) - 6.8).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
