//! Families and links of generalised linear models, as R's family objects define them
//! (`binomial()`, `poisson()`): the link g and its inverse, dμ/dη, the variance function V(μ), the
//! deviance residuals, the −2 log-likelihood that R's `aic()` sums, and the starting values of
//! `initialize`. The clamps of R's link functions (μ kept inside (ε, 1 − ε), dμ/dη at least ε) are
//! kept, so that fits stop where R's stop.

use crate::elementary;
use crate::simd::avx2_dispatch;
use statrs::distribution::{Continuous, ContinuousCDF, Normal};
use statrs::function::gamma::ln_gamma;
use std::fmt;
use std::str::FromStr;

/// R's `.Machine$double.eps`.
const EPS: f64 = f64::EPSILON;
/// R's logit link clamps η to ±30 before exponentiating (`THRESH` in family.c).
const LOGIT_THRESH: f64 = 30.0;

/// A link function g(μ) = η.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// log(μ/(1 − μ)), the binomial's canonical link.
    Logit,
    /// Φ⁻¹(μ).
    Probit,
    /// log(−log(1 − μ)).
    Cloglog,
    /// log(μ), the Poisson's canonical link.
    Log,
}

/// The response distribution of a GLM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// Binomial proportions (0/1 responses, or successes out of trials), dispersion 1.
    Binomial,
    /// Poisson counts, dispersion 1.
    Poisson,
}

/// A family: a distribution with a link valid for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Family {
    /// The distribution of the response.
    pub distribution: Distribution,
    /// The link.
    pub link: Link,
}

/// A family or link name that parsim does not know, or a link the family does not take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FamilyError(pub String);

impl Link {
    /// The names as R spells them.
    pub const NAMES: [&'static str; 4] = ["logit", "probit", "cloglog", "log"];

    /// η = g(μ).
    pub fn link(self, mu: f64) -> f64 {
        match self {
            Link::Logit => (mu / (1.0 - mu)).ln(),
            Link::Probit => Normal::standard().inverse_cdf(mu),
            Link::Cloglog => (-(-mu).ln_1p()).ln(),
            Link::Log => mu.ln(),
        }
    }

    /// μ = g⁻¹(η), clamped as R clamps it.
    #[inline]
    pub fn inverse(self, eta: f64) -> f64 {
        match self {
            Link::Logit => {
                // Without a branch on η (the loops over observations vectorize).
                let e = elementary::exp(eta.clamp(-LOGIT_THRESH, LOGIT_THRESH));
                let e = if eta < -LOGIT_THRESH {
                    EPS
                } else if eta > LOGIT_THRESH {
                    1.0 / EPS
                } else {
                    e
                };
                e / (1.0 + e)
            }
            Link::Probit => {
                // R: η clamped to ±(−qnorm(ε)) so that μ stays inside (0, 1).
                let thresh = -Normal::standard().inverse_cdf(EPS);
                Normal::standard().cdf(eta.clamp(-thresh, thresh))
            }
            Link::Cloglog => (-(-eta.exp()).exp_m1()).clamp(EPS, 1.0 - EPS),
            Link::Log => eta.exp().max(EPS),
        }
    }

    /// dμ/dη at η, bounded below by ε as R bounds it.
    pub fn mu_eta(self, eta: f64) -> f64 {
        match self {
            Link::Logit => {
                if !(-LOGIT_THRESH..=LOGIT_THRESH).contains(&eta) {
                    EPS
                } else {
                    let e = eta.exp();
                    e / ((1.0 + e) * (1.0 + e))
                }
            }
            Link::Probit => Normal::standard().pdf(eta).max(EPS),
            Link::Cloglog => {
                let eta = eta.min(700.0);
                (eta.exp() * (-eta.exp()).exp()).max(EPS)
            }
            Link::Log => eta.exp().max(EPS),
        }
    }
}

impl Link {
    /// μ = g⁻¹(η) of every element: [`Link::inverse`] with the choice of link made once, not per
    /// element.
    pub fn inverse_into(self, eta: &[f64], mu: &mut [f64]) {
        inverse_slice(self, eta, mu);
    }
}

avx2_dispatch! {
    /// [`Link::inverse_into`].
    fn inverse_slice = inverse_slice_in / inverse_slice_avx2 (link: Link, eta: &[f64], mu: &mut [f64])
}

#[inline(always)]
fn inverse_slice_in(link: Link, eta: &[f64], mu: &mut [f64]) {
    match link {
        Link::Logit => mu
            .iter_mut()
            .zip(eta)
            .for_each(|(m, &e)| *m = Link::Logit.inverse(e)),
        Link::Log => mu
            .iter_mut()
            .zip(eta)
            .for_each(|(m, &e)| *m = Link::Log.inverse(e)),
        link => mu
            .iter_mut()
            .zip(eta)
            .for_each(|(m, &e)| *m = link.inverse(e)),
    }
}

impl Link {
    /// dμ/dη at η whose mean μ = g⁻¹(η) is known: for the logit μ(1 − μ) and for the log μ, equal
    /// to [`Link::mu_eta`] to rounding without its exponential; the others call it.
    #[inline]
    pub fn mu_eta_at(self, eta: f64, mu: f64) -> f64 {
        match self {
            Link::Logit if (-LOGIT_THRESH..=LOGIT_THRESH).contains(&eta) => mu * (1.0 - mu),
            Link::Log => mu,
            _ => self.mu_eta(eta),
        }
    }
}

impl Distribution {
    /// The names as R spells them.
    pub const NAMES: [&'static str; 2] = ["binomial", "poisson"];

    /// The canonical link.
    pub fn canonical(self) -> Link {
        match self {
            Distribution::Binomial => Link::Logit,
            Distribution::Poisson => Link::Log,
        }
    }

    /// V(μ).
    #[inline]
    pub fn variance(self, mu: f64) -> f64 {
        match self {
            Distribution::Binomial => mu * (1.0 - mu),
            Distribution::Poisson => mu,
        }
    }

    /// V′(μ), the variance function's derivative.
    #[inline]
    pub fn variance_derivative(self, mu: f64) -> f64 {
        match self {
            Distribution::Binomial => 1.0 - 2.0 * mu,
            Distribution::Poisson => 1.0,
        }
    }

    /// The deviance residual dᵢ (squared) of response `y` (a proportion for the binomial) at mean
    /// `mu` with prior weight `wt`: 2 wt (ℓ(y; y) − ℓ(μ; y)).
    #[inline(always)]
    pub fn deviance_residual(self, y: f64, mu: f64, wt: f64) -> f64 {
        match self {
            Distribution::Binomial => 2.0 * wt * (y_log_y(y, mu) + y_log_y(1.0 - y, 1.0 - mu)),
            Distribution::Poisson => {
                let r = if y > 0.0 {
                    y * elementary::ln(y / mu)
                } else {
                    0.0
                };
                2.0 * wt * (r - (y - mu))
            }
        }
    }

    /// Σ of the deviance residuals ([`Distribution::deviance_residual`]) of responses `y` at means
    /// `mu` with prior weights `wt`, the choice of distribution made once.
    pub fn deviance(self, y: &[f64], mu: &[f64], wt: &[f64]) -> f64 {
        deviance_sum(self, y, mu, wt)
    }

    /// −2 log p(y | μ) of one observation, the term R's `family$aic` sums: for the binomial,
    /// `trials` is R's m (the trials of a cbind response, else the prior weight) and the term is
    /// scaled by wt/m; for the Poisson, by wt.
    pub fn minus_two_log_density(self, y: f64, mu: f64, wt: f64, trials: f64) -> f64 {
        match self {
            Distribution::Binomial => {
                if trials <= 0.0 {
                    return 0.0;
                }
                let n = trials.round();
                let k = (trials * y).round();
                -2.0 * (wt / trials) * log_dbinom(k, n, mu)
            }
            Distribution::Poisson => -2.0 * wt * log_dpois(y, mu),
        }
    }

    /// R's `mustart` of `initialize`: (wt·y + ½)/(wt + 1) for the binomial, y + 0.1 for the
    /// Poisson.
    pub fn initial_mu(self, y: f64, wt: f64) -> f64 {
        match self {
            Distribution::Binomial => (wt * y + 0.5) / (wt + 1.0),
            Distribution::Poisson => y + 0.1,
        }
    }

    /// Whether μ is inside the family's range (R's `validmu`).
    pub fn valid_mu(self, mu: f64) -> bool {
        match self {
            Distribution::Binomial => mu.is_finite() && mu > 0.0 && mu < 1.0,
            Distribution::Poisson => mu.is_finite() && mu > 0.0,
        }
    }
}

avx2_dispatch! {
    /// [`Distribution::deviance`].
    fn deviance_sum = deviance_sum_in / deviance_sum_avx2 (
        distribution: Distribution, y: &[f64], mu: &[f64], wt: &[f64]
    ) -> f64
}

/// [`Distribution::deviance`]: the residuals of a block of observations into a buffer (a loop
/// that vectorizes), then summed in four interleaved sums.
#[inline(always)]
fn deviance_sum_in(distribution: Distribution, y: &[f64], mu: &[f64], wt: &[f64]) -> f64 {
    #[inline(always)]
    fn sum(d: Distribution, y: &[f64], mu: &[f64], wt: &[f64]) -> f64 {
        const BLOCK: usize = 64;
        let mut residuals = [0.0; BLOCK];
        let (mut sums, mut tail) = ([0.0; 4], 0.0);
        for ((y, mu), wt) in y.chunks(BLOCK).zip(mu.chunks(BLOCK)).zip(wt.chunks(BLOCK)) {
            let m = y.len().min(mu.len()).min(wt.len());
            let (y, mu, wt, residuals) = (&y[..m], &mu[..m], &wt[..m], &mut residuals[..m]);
            // 0/1 responses (the usual binomial case): one logarithm of the response's
            // probability, −2 wt log(y ? μ : 1 − μ), for the two of the general residual and its
            // divisions.
            let binary = d == Distribution::Binomial
                && y.iter()
                    .fold(true, |all, &v| all & ((v == 0.0) | (v == 1.0)));
            if binary {
                for (i, r) in residuals.iter_mut().enumerate() {
                    let p = if y[i] == 1.0 { mu[i] } else { 1.0 - mu[i] };
                    *r = -2.0 * wt[i] * elementary::ln(p);
                }
            } else {
                for (i, r) in residuals.iter_mut().enumerate() {
                    *r = d.deviance_residual(y[i], mu[i], wt[i]);
                }
            }
            let quads = residuals.chunks_exact(4);
            tail += quads.remainder().iter().sum::<f64>();
            for quad in quads {
                for k in 0..4 {
                    sums[k] += quad[k];
                }
            }
        }
        (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
    }
    match distribution {
        Distribution::Binomial => sum(Distribution::Binomial, y, mu, wt),
        Distribution::Poisson => sum(Distribution::Poisson, y, mu, wt),
    }
}

impl Family {
    /// The family with its canonical link.
    pub fn canonical(distribution: Distribution) -> Family {
        Family {
            distribution,
            link: distribution.canonical(),
        }
    }

    /// A distribution with `link` (its canonical link when None); an error for a link the
    /// distribution does not take here (the Poisson takes the log link only).
    pub fn new(distribution: Distribution, link: Option<Link>) -> Result<Family, FamilyError> {
        let link = link.unwrap_or(distribution.canonical());
        let valid = match distribution {
            Distribution::Binomial => matches!(link, Link::Logit | Link::Probit | Link::Cloglog),
            Distribution::Poisson => link == Link::Log,
        };
        if !valid {
            let takes = match distribution {
                Distribution::Binomial => "logit, probit or cloglog",
                Distribution::Poisson => "log",
            };
            return Err(FamilyError(format!(
                "the {distribution} family takes the link {takes}, not {link}"
            )));
        }
        Ok(Family { distribution, link })
    }

    /// Whether the link is the distribution's canonical one (then observed and expected
    /// information agree).
    pub fn is_canonical(&self) -> bool {
        self.link == self.distribution.canonical()
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Link::Logit => "logit",
            Link::Probit => "probit",
            Link::Cloglog => "cloglog",
            Link::Log => "log",
        })
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Distribution::Binomial => "binomial",
            Distribution::Poisson => "poisson",
        })
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.distribution, self.link)
    }
}

impl FromStr for Link {
    type Err = FamilyError;

    fn from_str(s: &str) -> Result<Link, FamilyError> {
        match s {
            "logit" => Ok(Link::Logit),
            "probit" => Ok(Link::Probit),
            "cloglog" => Ok(Link::Cloglog),
            "log" => Ok(Link::Log),
            _ => Err(FamilyError(format!(
                "unknown link '{s}': the links are {}",
                Link::NAMES.join(", ")
            ))),
        }
    }
}

impl FromStr for Distribution {
    type Err = FamilyError;

    fn from_str(s: &str) -> Result<Distribution, FamilyError> {
        match s {
            "binomial" => Ok(Distribution::Binomial),
            "poisson" => Ok(Distribution::Poisson),
            _ => Err(FamilyError(format!(
                "unknown family '{s}': the families are {}",
                Distribution::NAMES.join(", ")
            ))),
        }
    }
}

/// y log(y/μ), 0 at y = 0 (R's `y_log_y`).
#[inline(always)]
fn y_log_y(y: f64, mu: f64) -> f64 {
    if y > 0.0 {
        y * elementary::ln(y / mu)
    } else {
        0.0
    }
}

/// log of the binomial probability of k successes in n trials at probability p.
fn log_dbinom(k: f64, n: f64, p: f64) -> f64 {
    let choose = ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0);
    let success = if k > 0.0 { k * p.ln() } else { 0.0 };
    let failure = if n - k > 0.0 {
        (n - k) * (-p).ln_1p()
    } else {
        0.0
    };
    choose + success + failure
}

/// log of the Poisson probability of y at mean μ (y may be non-integer, as R's `dpois` warns).
fn log_dpois(y: f64, mu: f64) -> f64 {
    if y == 0.0 {
        return -mu;
    }
    y * mu.ln() - mu - ln_gamma(y + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_invert_and_differentiate() {
        for link in [Link::Logit, Link::Probit, Link::Cloglog, Link::Log] {
            for eta in [-3.0, -0.7, 0.0, 0.4, 2.5] {
                let mu = link.inverse(eta);
                assert!((link.link(mu) - eta).abs() < 1e-9, "{link} at {eta}");
                let h = 1e-6;
                let numeric = (link.inverse(eta + h) - link.inverse(eta - h)) / (2.0 * h);
                assert!(
                    (numeric - link.mu_eta(eta)).abs() < 1e-8,
                    "{link} mu_eta at {eta}"
                );
                // From μ: the same to rounding (1e-15 relative).
                let (at, direct) = (link.mu_eta_at(eta, mu), link.mu_eta(eta));
                assert!(
                    (at - direct).abs() <= 1e-15 * direct,
                    "{link} mu_eta_at {eta}"
                );
            }
        }
    }

    #[test]
    fn densities_match_r() {
        // R: -2 * dbinom(3, 10, 0.25, log = TRUE) and -2 * dpois(4, 2.5, log = TRUE).
        let b = Distribution::Binomial.minus_two_log_density(0.3, 0.25, 10.0, 10.0);
        assert!((b - 2.770_331_695_480_184).abs() < 1e-9, "{b}");
        let p = Distribution::Poisson.minus_two_log_density(4.0, 2.5, 1.0, 1.0);
        assert!((p - 4.025_781_805_702_649).abs() < 1e-9, "{p}");
    }

    #[test]
    fn links_are_checked_against_families() {
        assert!(Family::new(Distribution::Poisson, Some(Link::Logit)).is_err());
        assert_eq!(
            Family::new(Distribution::Binomial, None).unwrap().link,
            Link::Logit
        );
        assert!("probit".parse::<Link>().is_ok());
        assert!("gaussian".parse::<Distribution>().is_err());
    }
}
