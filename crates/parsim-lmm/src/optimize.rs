//! Minimising the profiled criterion over θ with lme4's bounds (diagonal elements ≥ 0) from lme4's
//! start (θ = identity; [`Optimizer::minimize`]) or the caller's ([`Optimizer::minimize_from`]:
//! the fitter's moment estimate on several terms): BOBYQA for two or more parameters, and for one
//! a bracketing search on a multiplicative grid followed by Brent's method, which reaches the
//! optimum to ~1e-7 in θ in about twenty evaluations. When the criterion is cheap (one grouping
//! factor, or several whose factorization is small, up to six θ elements) a damped Newton
//! iteration on finite differences goes first: there BOBYQA's own work costs several times the
//! criterion's; it hands over to BOBYQA near a bound or if it does not settle.
//! A boundary restart follows BOBYQA as lme4 does. Nothing allocates after construction.

use bobyqa::{Bobyqa, Config};

use crate::dense::{backward_solve, cholesky_small, forward_solve};

/// Outcome of a minimisation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Minimum {
    /// Criterion at the optimum.
    pub value: f64,
    /// Criterion evaluations used.
    pub evaluations: usize,
    /// Whether the optimizer stopped for a reason other than reaching its tolerance.
    pub budget_exhausted: bool,
}

/// A reusable optimizer for θ of a fixed length.
pub(crate) struct Optimizer {
    /// Try [`newton`] before BOBYQA (small θ of a cheap criterion: one grouping factor).
    newton: bool,
    lower: Vec<f64>,
    upper: Vec<f64>,
    solver: Option<Bobyqa>,
    start: Vec<f64>,
    /// The point before a restart.
    best: Vec<f64>,
    /// Relative accuracy in θ of the one-dimensional search ([`BRENT_TOLERANCE`] unless coarse).
    tolerance: f64,
}

/// A bounded element at or below this after BOBYQA is probed inward ([`BOUNDARY_PROBES`]).
const BOUNDARY_NEAR: f64 = 1e-4;
/// Inward values tried for an element near its bound.
const BOUNDARY_PROBES: [f64; 2] = [1e-3, 1e-2];

/// Relative accuracy in θ of the one-dimensional search. Tighter is not more accurate: near the
/// optimum the criterion's rounding noise (~1e-14 relative) exceeds its variation over steps below
/// ~1.5e-6 in θ (seed0's random-intercept fit: θ = 0.4036, criterion noise ~2e-10 at 14182), and
/// Brent spent 15 of 34 evaluations bisecting that noise at 1e-10, 8 of 24 at 1e-7, 4 of 17 at
/// 1e-6. θ then lies within the noise's ~4e-6 relative of the optimum, inside lme4's 5e-5.
const BRENT_TOLERANCE: f64 = 1e-6;
/// Initial trust-region radius of BOBYQA: on the fixtures' random-slope and crossed fits 0.1 needs
/// about 7% fewer evaluations than 0.25 or 0.05 (θ is of order 1 at the start).
const RHO_BEGIN: f64 = 0.1;
/// Final trust-region radius of BOBYQA: tight, since lme4's default stops up to 4e-4 off in θ.
const RHO_END: f64 = 1e-7;
/// BOBYQA's final radius on several terms (started from a moment estimate): the post-fit check
/// and Newton polish take what is left. The crossed, Penicillin and nested benches need 4, 4 and
/// 4 fewer evaluations (5-9% fewer instructions per fit) than at 1e-7; the 200 replications of
/// the crossed power study stay within 1e-6 of lme4's optimum and the lme4 fixtures pass (at 1e-5
/// the polish's extra derivatives cost the crossed fit more than the evaluations saved).
const RHO_END_SEVERAL: f64 = 1e-6;

impl Optimizer {
    /// An optimizer for θ whose elements `diagonal[i]` are template diagonals (bounded below by 0).
    /// `cheap`: the criterion costs little next to BOBYQA's own work, so a Newton iteration on
    /// finite differences is tried first when θ has at most [`NEWTON_MAX`] elements.
    pub fn new(diagonal: &[bool], cheap: bool) -> Optimizer {
        let n = diagonal.len();
        let lower = diagonal
            .iter()
            .map(|&d| if d { 0.0 } else { f64::NEG_INFINITY })
            .collect();
        let upper = vec![f64::INFINITY; n];
        let start = diagonal
            .iter()
            .map(|&d| if d { 1.0 } else { 0.0 })
            .collect();
        Optimizer {
            newton: cheap && (2..=NEWTON_MAX).contains(&n),
            lower,
            upper,
            solver: None,
            best: vec![0.0; n],
            start,
            tolerance: BRENT_TOLERANCE,
        }
        .with_final_radius(RHO_END)
    }

    /// The same optimizer stopping at relative accuracy `tolerance` in θ (BOBYQA's final radius
    /// and Brent's tolerance): a start for a polish that converges faster than these searches
    /// (the GLMM's Newton stage 2).
    pub fn coarse(diagonal: &[bool], tolerance: f64) -> Optimizer {
        let mut optimizer = Optimizer::new(diagonal, false).with_final_radius(tolerance);
        optimizer.tolerance = tolerance;
        optimizer
    }

    /// The optimizer with BOBYQA's final trust-region radius [`RHO_END_SEVERAL`], for the
    /// criterion of several random-effects terms started from a moment estimate.
    pub fn for_several_terms(self) -> Optimizer {
        self.with_final_radius(RHO_END_SEVERAL)
    }

    /// BOBYQA (for two or more parameters) stopping at final trust-region radius `rho_end`.
    fn with_final_radius(mut self, rho_end: f64) -> Optimizer {
        let n = self.lower.len();
        if n >= 2 {
            let mut config = Config::new(n);
            config.rho_begin = RHO_BEGIN;
            config.rho_end = rho_end;
            config.max_fun = 20_000 * n;
            self.solver = Bobyqa::new(n, config).ok();
        }
        self
    }

    /// Minimises `f` from lme4's start; the optimum is left in `theta`.
    pub fn minimize(&mut self, f: impl FnMut(&[f64]) -> f64, theta: &mut [f64]) -> Minimum {
        theta.copy_from_slice(&self.start);
        self.minimize_from(f, theta)
    }

    /// Minimises `f` from the start in `theta` (within the bounds); the optimum is left there.
    /// A single θ starts from 1 whatever `theta` holds (see [`minimize_scalar`]).
    pub fn minimize_from(
        &mut self,
        mut f: impl FnMut(&[f64]) -> f64,
        theta: &mut [f64],
    ) -> Minimum {
        self.best.copy_from_slice(theta);
        if theta.len() == 1 {
            return minimize_scalar(|t| f(&[t]), &mut theta[0], self.lower[0], self.tolerance);
        }
        if self.newton {
            if let Some(minimum) = newton(&mut f, theta, &self.lower) {
                return minimum;
            }
            theta.copy_from_slice(&self.best);
        }
        let Some(solver) = self.solver.as_mut() else {
            return Minimum {
                value: f(theta),
                evaluations: 1,
                budget_exhausted: true,
            };
        };
        let outcome = solver.minimize(&mut f, theta, &self.lower, &self.upper);
        let mut evaluations = outcome.n_eval;
        let mut value = outcome.f;
        let mut budget_exhausted = !matches!(
            outcome.status,
            bobyqa::Status::Converged | bobyqa::Status::FtolReached
        );
        let converged = |status: bobyqa::Status| {
            matches!(
                status,
                bobyqa::Status::Converged | bobyqa::Status::FtolReached
            )
        };
        // Boundary restarts (lme4 makes one, stepping 1e-4 inward): an element at or near its bound
        // (up to BOUNDARY_NEAR) is moved inward to each of BOUNDARY_PROBES; if that lowers the
        // criterion BOBYQA starts again there. A crossed fit stopped at θ₃ = 2.7e-6, 0.022 above
        // the optimum at θ₃ = 0.042, which a probe at 1e-4 alone did not reveal.
        for i in 0..theta.len() {
            if self.lower[i] == 0.0 && theta[i] <= BOUNDARY_NEAR {
                let saved = theta[i];
                let (mut best, mut best_value) = (saved, value);
                for probe in BOUNDARY_PROBES {
                    theta[i] = probe;
                    let inward = f(theta);
                    evaluations += 1;
                    if inward < best_value {
                        (best, best_value) = (probe, inward);
                    }
                }
                theta[i] = best;
                if best != saved {
                    let again = solver.minimize(&mut f, theta, &self.lower, &self.upper);
                    evaluations += again.n_eval;
                    value = again.f;
                    budget_exhausted = !converged(again.status);
                }
            }
        }
        Minimum {
            value,
            evaluations,
            budget_exhausted,
        }
    }

    /// BOBYQA again from `theta`, whose criterion is `value`, for a fit that failed the post-fit
    /// gradient check: BOBYQA's model, built at the start's scale, can stop short where θ is large
    /// or badly scaled (a random slope with θ ≈ 100 stopped 3.3e-7 above the optimum); a restart
    /// rebuilds it about the best point. `theta` is left unchanged unless the restart lowers the
    /// criterion. None for a single θ (Brent's search has no model to rebuild).
    pub fn restart(
        &mut self,
        mut f: impl FnMut(&[f64]) -> f64,
        theta: &mut [f64],
        value: f64,
    ) -> Option<Minimum> {
        let solver = self.solver.as_mut()?;
        self.best.copy_from_slice(theta);
        let again = solver.minimize(&mut f, theta, &self.lower, &self.upper);
        let improved = again.f < value;
        if !improved {
            theta.copy_from_slice(&self.best);
        }
        Some(Minimum {
            value: again.f.min(value),
            evaluations: again.n_eval,
            budget_exhausted: !matches!(
                again.status,
                bobyqa::Status::Converged | bobyqa::Status::FtolReached
            ),
        })
    }
}

/// Largest θ handled by [`newton`] (a 3×3 template).
const NEWTON_MAX: usize = 6;
/// Newton iterations before giving up on [`newton`].
const NEWTON_ITERATIONS: usize = 60;
/// [`newton`] stops at a Newton step no longer than this (relative to max(|θᵢ|, 1)) after taking
/// it: with the Hessian accurate to ~1e-3 the point is then ~1e-9 from the optimum, at the level of
/// the finite differences' rounding noise.
const NEWTON_STEP_TOLERANCE: f64 = 1e-6;
/// Step halvings before [`newton`] gives up on a direction.
const NEWTON_HALVINGS: usize = 30;
/// Full steps longer than this (relative) are tried stretched ×2, ×4, ... up to [`NEWTON_STRETCH_MAX`].
const NEWTON_STRETCH_ABOVE: f64 = 1e-3;
const NEWTON_STRETCH_MAX: f64 = 16.0;
/// [`newton`] hands over to BOBYQA (which handles the bounds and lme4's restart) when a bounded
/// θ element falls below this.
const NEWTON_BOUND_MARGIN: f64 = 1e-3;

/// Damped Newton iteration from `theta` on finite-difference derivatives: central differences for
/// the gradient and the diagonal of the Hessian, forward ones for its off-diagonal (they only set
/// the convergence rate; the optimum is where the central gradient vanishes). A Hessian that is
/// not positive definite gets a growing multiple of the identity added; steps are halved until
/// the criterion decreases. None (the caller falls back to BOBYQA) if a bounded element nears its
/// bound, no decrease is found, or the iteration does not settle.
fn newton(f: &mut impl FnMut(&[f64]) -> f64, theta: &mut [f64], lower: &[f64]) -> Option<Minimum> {
    let k = theta.len();
    let mut evaluations = 0;
    let mut eval = |x: &[f64]| {
        evaluations += 1;
        let v = f(x);
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    let mut point = [0.0; NEWTON_MAX];
    let (mut h, mut plus, mut gradient) = ([0.0; NEWTON_MAX], [0.0; NEWTON_MAX], [0.0; NEWTON_MAX]);
    let mut hessian = [0.0; NEWTON_MAX * NEWTON_MAX];
    let mut factor = [0.0; NEWTON_MAX * NEWTON_MAX];
    let (mut step, mut candidate) = ([0.0; NEWTON_MAX], [0.0; NEWTON_MAX]);
    let mut value = eval(theta);
    if !value.is_finite() {
        return None;
    }
    let near_bound = |x: &[f64]| (0..k).any(|i| lower[i] == 0.0 && x[i] < NEWTON_BOUND_MARGIN);
    for _ in 0..NEWTON_ITERATIONS {
        if near_bound(theta) {
            return None;
        }
        let point = &mut point[..k];
        for i in 0..k {
            h[i] = 1e-4 * theta[i].abs().max(0.1);
            point.copy_from_slice(theta);
            point[i] = theta[i] + h[i];
            let fp = eval(point);
            point[i] = theta[i] - h[i];
            let fm = eval(point);
            plus[i] = fp;
            gradient[i] = (fp - fm) / (2.0 * h[i]);
            hessian[i * k + i] = (fp - 2.0 * value + fm) / (h[i] * h[i]);
        }
        for i in 0..k {
            for j in 0..i {
                point.copy_from_slice(theta);
                point[i] += h[i];
                point[j] += h[j];
                let cross = (eval(point) - plus[i] - plus[j] + value) / (h[i] * h[j]);
                hessian[j * k + i] = cross;
                hessian[i * k + j] = cross;
            }
        }
        if !gradient[..k]
            .iter()
            .chain(&hessian[..k * k])
            .all(|v| v.is_finite())
        {
            return None;
        }
        // Newton direction, the Hessian shifted until positive definite.
        let scale = (0..k).fold(0.0f64, |m, i| m.max(hessian[i * k + i].abs()));
        let mut shift = 0.0;
        loop {
            factor[..k * k].copy_from_slice(&hessian[..k * k]);
            for i in 0..k {
                factor[i * k + i] += shift;
            }
            if cholesky_small(&mut factor[..k * k], k) {
                break;
            }
            shift = if shift == 0.0 {
                1e-6 * scale.max(1e-12)
            } else {
                shift * 10.0
            };
            if shift > 1e12 * scale.max(1.0) {
                return None;
            }
        }
        for i in 0..k {
            step[i] = -gradient[i];
        }
        forward_solve(&factor, k, k, &mut step[..k]);
        backward_solve(&factor, k, k, &mut step[..k]);
        let size = (0..k).fold(0.0f64, |m, i| {
            m.max(step[i].abs() / theta[i].abs().max(1.0))
        });
        if size <= NEWTON_STEP_TOLERANCE {
            // At the tolerance the remaining step is within the finite differences' noise: take
            // it if it helps, and stop.
            for i in 0..k {
                point[i] = (theta[i] + step[i]).max(lower[i]);
            }
            let trial = eval(point);
            if trial < value {
                theta.copy_from_slice(point);
                value = trial;
            }
            return (!near_bound(theta)).then_some(Minimum {
                value,
                evaluations,
                budget_exhausted: false,
            });
        }
        // Halve the step until it stays inside the bounds and lowers the criterion; a full step
        // that lowers it is stretched while it keeps doing so (far from the optimum the profiled
        // criterion bends like log θ and Newton steps fall short).
        let mut alpha = 1.0;
        let mut accepted = false;
        for _ in 0..NEWTON_HALVINGS {
            for i in 0..k {
                point[i] = theta[i] + alpha * step[i];
            }
            if (0..k).all(|i| point[i] >= lower[i]) {
                let trial = eval(point);
                if trial < value {
                    value = trial;
                    accepted = true;
                    break;
                }
            }
            alpha *= 0.5;
        }
        if !accepted {
            return None;
        }
        if alpha == 1.0 && size > NEWTON_STRETCH_ABOVE {
            let candidate = &mut candidate[..k];
            while alpha < NEWTON_STRETCH_MAX {
                for i in 0..k {
                    candidate[i] = theta[i] + 2.0 * alpha * step[i];
                }
                if !(0..k).all(|i| candidate[i] >= lower[i]) {
                    break;
                }
                let trial = eval(candidate);
                if trial >= value {
                    break;
                }
                value = trial;
                alpha *= 2.0;
                point.copy_from_slice(candidate);
            }
        }
        theta.copy_from_slice(point);
    }
    None
}

/// Minimises a function of one θ ≥ `lower` (0 or −∞): bracket on a ×4 grid from θ = 1, then Brent.
fn minimize_scalar(
    mut f: impl FnMut(f64) -> f64,
    theta: &mut f64,
    lower: f64,
    tolerance: f64,
) -> Minimum {
    let mut evaluations = 0;
    let mut eval = |t: f64| {
        evaluations += 1;
        let v = f(t);
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    let (mut mid, mut f_mid) = (1.0, eval(1.0));
    let (mut low, mut f_low) = (0.25, eval(0.25));
    let (mut high, mut f_high) = (4.0, eval(4.0));
    // Walk down or up until the middle point is lowest.
    while f_low < f_mid && low > 1e-8 {
        (high, f_high, mid, f_mid) = (mid, f_mid, low, f_low);
        low = mid / 4.0;
        f_low = eval(low);
    }
    while f_high < f_mid && high < 1e8 {
        (low, f_low, mid, f_mid) = (mid, f_mid, high, f_high);
        high = mid * 4.0;
        f_high = eval(high);
    }
    let _ = f_high;
    if f_low < f_mid {
        // Still decreasing toward the bound: the optimum is at (or indistinguishable from) it.
        let at_bound = if lower == 0.0 { 0.0 } else { low };
        let f_bound = eval(at_bound);
        let (best, f_best) = if f_bound <= f_low {
            (at_bound, f_bound)
        } else {
            (low, f_low)
        };
        *theta = best;
        return Minimum {
            value: f_best,
            evaluations,
            budget_exhausted: false,
        };
    }
    let left = if f_low.is_finite() { low } else { mid / 4.0 };
    let (mut x, mut fx) = brent(&mut eval, left, high, mid, f_mid, tolerance);
    // A fit at the boundary (θ = 0 exactly) as lme4 reports it when the criterion is no higher there.
    if lower == 0.0 && x < 1e-6 {
        let f0 = eval(0.0);
        if f0 <= fx {
            (x, fx) = (0.0, f0);
        }
    }
    *theta = x;
    Minimum {
        value: fx,
        evaluations,
        budget_exhausted: false,
    }
}

/// Brent's minimisation on [a, b] from the interior point x with f(x) = fx.
fn brent(
    f: &mut impl FnMut(f64) -> f64,
    mut a: f64,
    mut b: f64,
    x0: f64,
    fx0: f64,
    tolerance: f64,
) -> (f64, f64) {
    const GOLDEN: f64 = 0.381_966_011_250_105_1;
    let (mut x, mut w, mut v) = (x0, x0, x0);
    let (mut fx, mut fw, mut fv) = (fx0, fx0, fx0);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    for _ in 0..200 {
        let xm = 0.5 * (a + b);
        let tol1 = tolerance * x.abs() + 1e-14;
        let tol2 = 2.0 * tol1;
        if (x - xm).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol1 {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            let e_old = e;
            e = d;
            if p.abs() < (0.5 * q * e_old).abs() && p > q * (a - x) && p < q * (b - x) {
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = tol1.copysign(xm - x);
                }
                golden = false;
            }
        }
        if golden {
            e = if x < xm { b - x } else { a - x };
            d = GOLDEN * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1.copysign(d)
        };
        let fu = f(u);
        if fu <= fx {
            if u < x {
                b = x;
            } else {
                a = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_search_finds_interior_and_boundary_minima() {
        let mut t = 0.0;
        let m = minimize_scalar(|x| (x - 0.4037).powi(2) + 3.0, &mut t, 0.0, BRENT_TOLERANCE);
        assert!((t - 0.4037).abs() < 1e-9 && (m.value - 3.0).abs() < 1e-15);
        let m = minimize_scalar(|x| (x + 0.5).powi(2), &mut t, 0.0, BRENT_TOLERANCE);
        assert_eq!(t, 0.0);
        assert!((m.value - 0.25).abs() < 1e-15);
        minimize_scalar(|x| (x - 123.0).powi(2), &mut t, 0.0, BRENT_TOLERANCE);
        assert!((t - 123.0).abs() < 1e-7);
    }

    #[test]
    fn bobyqa_respects_lower_bounds() {
        let mut opt = Optimizer::new(&[true, false, true], false);
        let mut theta = [0.0; 3];
        opt.minimize(
            |x| (x[0] - 0.5).powi(2) + (x[1] + 0.2).powi(2) + (x[2] + 1.0).powi(2),
            &mut theta,
        );
        assert!((theta[0] - 0.5).abs() < 1e-7 && (theta[1] + 0.2).abs() < 1e-7 && theta[2] == 0.0);
    }
}
