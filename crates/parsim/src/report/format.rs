//! Number formatting for reports.

use crate::measures::Value;

/// `estimate (MCSE)`: the MCSE to two significant digits and the estimate to the same decimal place;
/// `NA` when the estimate is not available; the estimate alone (4 significant digits) when its MCSE is not.
pub fn format_value(value: Value) -> String {
    let Some(estimate) = value.estimate() else {
        return "NA".to_string();
    };
    // An MCSE that is rounding noise relative to the estimate (a constant SE or width) is shown as 0.
    let mcse = value
        .mcse()
        .map(|m| if m <= 1e-10 * estimate.abs() { 0.0 } else { m });
    match mcse {
        Some(mcse) if mcse > 0.0 && mcse < 1e-6 => format!("{estimate:.3e} ({mcse:.1e})"),
        Some(mcse) if mcse > 0.0 => {
            let decimals = (1 - mcse.log10().floor() as i32).clamp(0, 8) as usize;
            format!("{estimate:.decimals$} ({mcse:.decimals$})")
        }
        Some(_) => format!("{} (0)", format_number(estimate)),
        None => format_number(estimate),
    }
}

/// A number with up to 6 significant digits, trailing zeros dropped (`10`, `-0.5`, `0.123457`); `NA` for NaN.
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NA".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..=9).contains(&magnitude) {
        return format!("{x:.5e}");
    }
    let decimals = (5 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_rounded_to_their_mcse() {
        assert_eq!(
            format_value(Value::new(-0.012345, 0.0045)),
            "-0.0123 (0.0045)"
        );
        assert_eq!(format_value(Value::new(94.8, 0.99)), "94.80 (0.99)");
        assert_eq!(format_value(Value::new(94.8, 1.0)), "94.8 (1.0)");
        assert_eq!(format_value(Value::new(1234.4, 23.0)), "1234 (23)");
        assert_eq!(format_value(Value::new(f64::NAN, 1.0)), "NA");
        assert_eq!(format_value(Value::new(0.5, f64::NAN)), "0.5");
        assert_eq!(format_value(Value::new(0.5, 0.0)), "0.5 (0)");
        assert_eq!(format_value(Value::new(0.284347, 2.6e-18)), "0.284347 (0)");
        assert_eq!(format_value(Value::new(1e-8, 2e-9)), "1.000e-8 (2.0e-9)");
    }

    #[test]
    fn numbers_drop_trailing_zeros() {
        assert_eq!(format_number(10.0), "10");
        assert_eq!(format_number(-0.5), "-0.5");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(5000.0), "5000");
        assert_eq!(format_number(f64::NAN), "NA");
    }
}
