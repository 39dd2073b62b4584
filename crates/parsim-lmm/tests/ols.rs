//! OLS against closed forms for a simple regression: slope Sxy/Sxx, classical SE √(σ²/Sxx) with
//! n − 2 df; with one cluster per observation CR1 equals HC1, n/(n−p)·Σ(xᵢ−x̄)²eᵢ²/Sxx² for the slope.

use parsim_lmm::{DataFrame, Formula, OlsFitter, OlsOptions};

fn data() -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..40)
        .map(|i| (i as f64 * 0.37).sin() * 3.0 + i as f64 * 0.05)
        .collect();
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| 2.0 - 0.7 * v + (i as f64 * 1.7).cos() * (1.0 + 0.1 * v * v))
        .collect();
    (x, y)
}

#[test]
fn simple_regression_matches_closed_forms() {
    let (x, y) = data();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let e: Vec<f64> = x
        .iter()
        .zip(&y)
        .map(|(a, b)| b - intercept - slope * a)
        .collect();
    let sigma2 = e.iter().map(|v| v * v).sum::<f64>() / (n - 2.0);
    let hc1 = n / (n - 2.0)
        * x.iter()
            .zip(&e)
            .map(|(a, r)| (a - mx).powi(2) * r * r)
            .sum::<f64>()
        / (sxx * sxx);

    let frame = DataFrame::default()
        .with_float("y", y)
        .with_float("x", x)
        .with_int("id", (0..40).collect());
    let formula = Formula::parse("y ~ x").unwrap();
    let fit = OlsFitter::new(&formula, OlsOptions::default())
        .unwrap()
        .fit(&frame)
        .unwrap()
        .clone();
    let b = &fit.coefficients[1];
    assert_eq!(b.term, "x");
    assert!((b.estimate - slope).abs() < 1e-12);
    assert!((b.se - (sigma2 / sxx).sqrt()).abs() < 1e-12);
    assert_eq!(b.df, n - 2.0);
    assert!((fit.sigma - sigma2.sqrt()).abs() < 1e-12);
    let options = OlsOptions {
        cluster: Some("id".into()),
        ..OlsOptions::default()
    };
    let robust = OlsFitter::new(&formula, options)
        .unwrap()
        .fit(&frame)
        .unwrap()
        .clone();
    let b = &robust.coefficients[1];
    assert!(
        (b.se - hc1.sqrt()).abs() < 1e-12,
        "{} vs {}",
        b.se,
        hc1.sqrt()
    );
    assert_eq!(b.df, n - 1.0);
    assert_eq!(robust.nclusters, Some(40));
}
