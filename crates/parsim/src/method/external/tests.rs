use super::protocol::{mask, Row};
use super::*;
use crate::method::TermNames;

fn row(term: &str, m: u8, values: [f64; 6]) -> Row<'_> {
    Row {
        term,
        mask: m,
        values,
    }
}

#[test]
fn intervals_and_p_values_come_from_the_se_as_the_built_ins_compute_them() {
    let (mut rows, mut names) = (Vec::new(), TermNames::default());
    let mut estimates = Estimates::new(&mut rows, &mut names);
    let t = row("t", mask::SE | mask::DF, [1.0, 0.5, 10.0, 0.0, 0.0, 0.0]);
    add_row(&t, 0.95, &mut estimates).unwrap();
    let z = row("z", mask::SE, [1.0, 0.5, 0.0, 0.0, 0.0, 0.0]);
    add_row(&z, 0.9, &mut estimates).unwrap();
    let given = row(
        "given",
        mask::SE | mask::CI_LOWER | mask::CI_UPPER | mask::P_VALUE,
        [1.0, 0.5, 0.0, -7.0, 7.0, 0.5],
    );
    add_row(&given, 0.95, &mut estimates).unwrap();
    let bare = row("bare", 0, [2.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    add_row(&bare, 0.95, &mut estimates).unwrap();
    let rows = estimates.rows();
    // qt(0.975, 10) = 2.228138851986274 and 2 * pt(-2, 10) = 0.0733880347707424 (R 4.2).
    assert_eq!(rows[0].df, Some(10.0));
    assert!((rows[0].ci_upper.unwrap() - (1.0 + 0.5 * 2.228138851986274)).abs() < 1e-13);
    assert!((rows[0].ci_lower.unwrap() - (1.0 - 0.5 * 2.228138851986274)).abs() < 1e-13);
    assert!((rows[0].p_value.unwrap() - 0.0733880347707424).abs() < 1e-14);
    // qnorm(0.95) = 1.6448536269514722.
    assert_eq!(rows[1].df, None);
    assert!((rows[1].ci_upper.unwrap() - (1.0 + 0.5 * 1.6448536269514722)).abs() < 1e-13);
    // The normal tail is parsim-lmm's (statrs' erfc), as for the built-in methods' z tests: exactly
    // theirs, and within 1e-10 relative of R's (statrs is accurate to ~5e-11 there).
    let p = rows[1].p_value.unwrap();
    assert_eq!(p, parsim_lmm::student_t::two_sided_p(2.0, f64::INFINITY));
    assert!((p - 0.04550026389635842).abs() < 1e-10 * p, "{p}");
    // What the method gives is kept as given.
    assert_eq!(
        (rows[2].ci_lower, rows[2].ci_upper, rows[2].p_value),
        (Some(-7.0), Some(7.0), Some(0.5))
    );
    // Without an SE there is no inference to compute.
    assert_eq!(
        (rows[3].se, rows[3].ci_lower, rows[3].p_value),
        (None, None, None)
    );
}

#[test]
fn a_bad_row_is_the_fits_error() {
    let (mut rows, mut names) = (Vec::new(), TermNames::default());
    let mut estimates = Estimates::new(&mut rows, &mut names);
    let cases = [
        (row("", 0, [1.0; 6]), "empty term name"),
        (row("x", 0, [f64::NAN; 6]), "the estimate of `x` is NaN"),
        (
            row("x", mask::SE, [1.0, -1.0, 0.0, 0.0, 0.0, 0.0]),
            "standard error of `x` is -1",
        ),
        (
            row("x", mask::DF, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
            "the df of `x` is 0",
        ),
    ];
    for (r, expected) in cases {
        let err = add_row(&r, 0.95, &mut estimates).unwrap_err();
        assert!(err.contains(expected), "{err}");
    }
    add_row(&row("x", 0, [1.0; 6]), 0.95, &mut estimates).unwrap();
    let err = add_row(&row("x", 0, [1.0; 6]), 0.95, &mut estimates).unwrap_err();
    assert!(err.contains("`x` is returned twice"), "{err}");
}
