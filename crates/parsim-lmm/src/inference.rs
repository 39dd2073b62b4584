//! Post-fit derivatives: lmerTest's Satterthwaite degrees of freedom and the convergence check.
//!
//! lmerTest works with varpar = (θ, σ) and the deviance *not* profiled over σ,
//! dev(θ, σ) = log|Lθ|² + r²(θ)/σ² + n log(2πσ²) [REML: + log|R_X|² − p log(2πσ²)],
//! with A = 2H⁺ (H its Hessian at the optimum, pseudo-inverse over eigenvalues > 1e-8) and the
//! Jacobian of Var(β̂) = σ²(X′V⁻¹X)⁻¹(θ). For a coefficient, df = 2v²/(g′Ag) with v its variance and
//! g its gradient over varpar. The Hessian's θ part is central differences, whose evaluation points
//! also give the gradient and Hessian of the profiled criterion for the convergence check. Where
//! some |θᵢ| exceeds 10 ([`RICHARDSON_ABOVE`]) the differences are Richardson-extrapolated and the
//! Jacobian is analytic ([`Blocked::xvx_derivatives`]): plain finite differences lost accuracy
//! there (26.153 against lmerTest's 25.999 on a random slope with θ ≈ 100). Elsewhere one level of
//! central differences gives both, at the cost of the fit before those changes. All buffers are
//! allocated once.

use crate::blocked::{Blocked, Criteria};
use crate::dense::{cholesky_small, symmetric_eigen};
use crate::student_t;

/// Eigenvalues of the varpar Hessian at or below this are dropped from the pseudo-inverse (lmerTest's tol).
const EIGEN_TOLERANCE: f64 = 1e-8;

/// First finite-difference step of the Richardson scheme for θ element value `t`: relative, as
/// numDeriv's (lmerTest's: 10%, halved [`RICHARDSON_LEVELS`] − 1 times), with an absolute floor
/// for an element at or near zero. Steps this large keep the criterion's rounding noise out of the
/// second differences where θ is large: at Oxboys' optimum that noise is ~1e-8 (r² and |R_X|
/// cancel far more than at θ ≈ 1), and with steps of 1% and one halving the df of `age` varied by
/// ±2.5e-4 between points 1e-6 apart in θ; the extrapolation over four steps removes the
/// truncation error the large step brings.
fn step(t: f64) -> f64 {
    1e-1 * t.abs() + 1e-4
}

/// Steps h, h/2, … of the Richardson scheme (numDeriv's r = 4).
const RICHARDSON_LEVELS: usize = 4;

/// The Richardson extrapolation of central differences at steps h, h/2, h/4, … (`values[l]` at
/// h/2ˡ, errors in even powers of h) to step zero: the last entry of Neville's tableau.
fn extrapolate(values: &mut [f64]) -> f64 {
    let n = values.len();
    for m in 1..n {
        let factor = 4f64.powi(m as i32);
        for l in (m..n).rev() {
            values[l] = (factor * values[l] - values[l - 1]) / (factor - 1.0);
        }
    }
    values[n - 1]
}

/// Finite-difference step of the one-level scheme: relative as [`step`] but a tenth of it, as a
/// plain central difference's error is O(h²), not O(h⁴).
fn single_step(t: f64) -> f64 {
    1e-3 * t.abs() + 1e-6
}

/// The Richardson step (twice the criterion evaluations about θ̂) is taken only when some |θᵢ|
/// exceeds this. Evidence (tests/satterthwaite_dense.rs, tests/lme4_fragile): with the one-level
/// scheme the df are within 1.0e-5 of the dense computation for θ up to 1.3 (one-factor and
/// crossed), but 4.9e-5 off at θ ≈ 90, 2.9e-4 at θ ≈ 130 and 2.1e-4 from lmerTest's at θ ≈ 100;
/// with the Richardson step all are within 3.6e-5. The usual fits (θ of order 1: sleepstudy,
/// Penicillin, the seed study) then cost what the one-level scheme costs.
const RICHARDSON_ABOVE: f64 = 10.0;

/// Whether the derivatives about `theta` take the Richardson step.
fn needs_richardson(theta: &[f64]) -> bool {
    theta.iter().any(|x| x.abs() > RICHARDSON_ABOVE)
}

/// Workspace and results of the post-fit derivatives.
pub(crate) struct Derivatives {
    k: usize,
    p: usize,
    /// Cross second differences from two diagonal points and the axial ones (2 evaluations per
    /// pair) instead of four diagonal points (4 per pair, the default): for a criterion whose
    /// evaluations dominate the fit (the crossed bench: 20 post-fit evaluations instead of 32).
    /// Both are O(h²) and even in h; the two-point one carries a further ¼hᵢhⱼ∂⁴f/∂θᵢ²∂θⱼ²
    /// term, which put a one-factor random slope's df (sleepstudy, log response) 1.1e-4 off
    /// lmerTest's, hence not everywhere.
    paired_cross: bool,
    point: Vec<f64>,
    h: Vec<f64>,
    /// G = F + r²/σ² at θ ± h e_i (index 2i) and, with the Richardson step, θ ± h/2 e_i (2i + 1), and the profiled
    /// criterion and r² there.
    g_plus: Vec<f64>,
    g_minus: Vec<f64>,
    crit_plus: Vec<f64>,
    crit_minus: Vec<f64>,
    r2_plus: Vec<f64>,
    r2_minus: Vec<f64>,
    c_center: Vec<f64>,
    /// −∂(X′V⁻¹X)/∂θᵢ, k matrices p×p, and a p×p temporary.
    dxvx: Vec<f64>,
    product: Vec<f64>,
    column: Vec<f64>,
    /// Hessian of dev(θ, σ), (k+1)².
    hessian: Vec<f64>,
    /// Gradient and Hessian of the profiled criterion.
    crit_gradient: Vec<f64>,
    /// The Newton step −H⁻¹g over the elements of the last gradient check (zero elsewhere), and
    /// the decrease of the criterion its quadratic model predicts, ½g′H⁻¹g.
    newton: Vec<f64>,
    predicted: f64,
    crit_hessian: Vec<f64>,
    /// A = 2H⁺.
    a: Vec<f64>,
    eigen_values: Vec<f64>,
    eigen_vectors: Vec<f64>,
    scratch: Vec<f64>,
    /// Jacobian of Var(β̂): (k+1) matrices p×p.
    jacobian: Vec<f64>,
}

impl Derivatives {
    /// Buffers for `k` θ elements and `p` fixed effects; `paired_cross`: see the field.
    pub fn new(k: usize, p: usize, paired_cross: bool) -> Derivatives {
        let k1 = k + 1;
        Derivatives {
            k,
            p,
            paired_cross,
            point: vec![0.0; k],
            h: vec![0.0; k],
            g_plus: vec![0.0; RICHARDSON_LEVELS * k],
            g_minus: vec![0.0; RICHARDSON_LEVELS * k],
            crit_plus: vec![0.0; RICHARDSON_LEVELS * k],
            crit_minus: vec![0.0; RICHARDSON_LEVELS * k],
            r2_plus: vec![0.0; RICHARDSON_LEVELS * k],
            r2_minus: vec![0.0; RICHARDSON_LEVELS * k],
            c_center: vec![0.0; p * p],
            dxvx: vec![0.0; k * p * p],
            product: vec![0.0; p * p],
            column: vec![0.0; p.max(k1)],
            hessian: vec![0.0; k1 * k1],
            crit_gradient: vec![0.0; k],
            newton: vec![0.0; k],
            predicted: 0.0,
            crit_hessian: vec![0.0; k * k],
            a: vec![0.0; k1 * k1],
            eigen_values: vec![0.0; k1],
            eigen_vectors: vec![0.0; k1 * k1],
            scratch: vec![0.0; k1 * k1],
            jacobian: vec![0.0; k1 * p * p],
        }
    }

    /// Computes the derivatives about the optimum θ̂ with residual SD σ̂, from a factorization at θ̂
    /// whose criteria are `center` (the caller's evaluation, not repeated: one evaluation of the
    /// 1 + 2k², or 1 + k(k + 1) with paired cross differences, of a fit's post-fit work). Leaves the factorization at θ̂.
    pub fn compute(
        &mut self,
        blocked: &mut Blocked,
        theta: &[f64],
        center: Criteria,
        sigma: f64,
        reml: bool,
        n: usize,
    ) {
        let (k, p) = (self.k, self.p);
        let k1 = k + 1;
        let sigma2 = sigma * sigma;
        let g_of = |c: Criteria| c.ldl2 + if reml { c.ldrx2 } else { 0.0 } + c.r2 / sigma2;
        let (g0, crit0) = (g_of(center), center.criterion(reml, n, p));
        blocked.xvx_inverse(&mut self.c_center, &mut self.column);
        // For a large θ, central differences at steps h and h/2, combined by one Richardson step,
        // (4D(h/2) − D(h))/3, whose error is O(h⁴): the steps can then be large enough (1% of θᵢ)
        // for the criterion's rounding noise not to matter, where steps of a fixed size gave df off
        // by 1e-2. Otherwise one central difference at a relative step of 0.1% (see
        // RICHARDSON_ABOVE); both steps are relative, as a fixed step was off by 0.9 for θᵢ = 5e-4.
        let levels = if needs_richardson(theta) {
            RICHARDSON_LEVELS
        } else {
            1
        };
        // The Jacobian of Var(β̂) in θ: analytic where θ is large (central differences of C lost
        // accuracy there), else central differences of C at the one-level points, which costs
        // p×p solves instead of the analytic derivative's pass over the groups.
        let pp = p * p;
        if levels > 1 {
            blocked.xvx_derivatives(theta, &mut self.dxvx);
        }
        for i in 0..k {
            self.h[i] = if levels > 1 {
                step(theta[i])
            } else {
                single_step(theta[i])
            };
            for level in 0..levels {
                let hl = self.h[i] / (1 << level) as f64;
                for (sign, forward) in [(1.0, true), (-1.0, false)] {
                    self.point.copy_from_slice(theta);
                    self.point[i] += sign * hl;
                    let c = blocked.evaluate(&self.point).unwrap_or_default();
                    let (g, crit) = (g_of(c), c.criterion(reml, n, p));
                    let at = i * RICHARDSON_LEVELS + level;
                    if levels == 1 {
                        blocked.xvx_inverse(&mut self.product, &mut self.column);
                        let slot = &mut self.jacobian[i * pp..(i + 1) * pp];
                        for (jac, &inv) in slot.iter_mut().zip(&self.product) {
                            *jac = if forward {
                                inv
                            } else {
                                sigma2 * (*jac - inv) / (2.0 * hl)
                            };
                        }
                    }
                    if forward {
                        (self.g_plus[at], self.crit_plus[at], self.r2_plus[at]) = (g, crit, c.r2);
                    } else {
                        (self.g_minus[at], self.crit_minus[at], self.r2_minus[at]) =
                            (g, crit, c.r2);
                    }
                }
            }
        }
        for i in 0..k {
            let hi = self.h[i];
            // Differences at each level's step hᵢ/2ˡ, extrapolated (one level: as they are).
            let at = |l: usize| (i * RICHARDSON_LEVELS + l, hi / (1 << l) as f64);
            let second = |plus: &[f64], minus: &[f64], center: f64| {
                let mut d = [0.0; RICHARDSON_LEVELS];
                for (l, d) in d.iter_mut().enumerate().take(levels) {
                    let (e, h) = at(l);
                    *d = (plus[e] - 2.0 * center + minus[e]) / (h * h);
                }
                extrapolate(&mut d[..levels])
            };
            let first = |plus: &[f64], minus: &[f64]| {
                let mut d = [0.0; RICHARDSON_LEVELS];
                for (l, d) in d.iter_mut().enumerate().take(levels) {
                    let (e, h) = at(l);
                    *d = (plus[e] - minus[e]) / (2.0 * h);
                }
                extrapolate(&mut d[..levels])
            };
            self.hessian[i * k1 + i] = second(&self.g_plus, &self.g_minus, g0);
            self.crit_hessian[i * k + i] = second(&self.crit_plus, &self.crit_minus, crit0);
            self.crit_gradient[i] = first(&self.crit_plus, &self.crit_minus);
            for j in 0..i {
                let hj = self.h[j];
                let mut g_cross = [0.0; RICHARDSON_LEVELS];
                let mut crit_cross = [0.0; RICHARDSON_LEVELS];
                for level in 0..levels {
                    let scale = (1 << level) as f64;
                    let (di, dj) = (hi / scale, hj / scale);
                    let (ei, ej) = (i * RICHARDSON_LEVELS + level, j * RICHARDSON_LEVELS + level);
                    let (mut g_sum, mut crit_sum) = (0.0, 0.0);
                    if self.paired_cross {
                        // f(θ ± (dᵢeᵢ + dⱼeⱼ)) less the four axial values (at hand), plus
                        // 2f(θ): 2dᵢdⱼHᵢⱼ + O(d⁴), even in d (Richardson applies).
                        for sign in [1.0, -1.0] {
                            self.point.copy_from_slice(theta);
                            self.point[i] += sign * di;
                            self.point[j] += sign * dj;
                            let c = blocked.evaluate(&self.point).unwrap_or_default();
                            g_sum += g_of(c);
                            crit_sum += c.criterion(reml, n, p);
                        }
                        let axial = |plus: &[f64], minus: &[f64]| {
                            plus[ei] + minus[ei] + plus[ej] + minus[ej]
                        };
                        g_sum += 2.0 * g0 - axial(&self.g_plus, &self.g_minus);
                        crit_sum += 2.0 * crit0 - axial(&self.crit_plus, &self.crit_minus);
                        (g_sum, crit_sum) = (2.0 * g_sum, 2.0 * crit_sum);
                    } else {
                        for (si, sj, sign) in [
                            (1.0, 1.0, 1.0),
                            (1.0, -1.0, -1.0),
                            (-1.0, 1.0, -1.0),
                            (-1.0, -1.0, 1.0),
                        ] {
                            self.point.copy_from_slice(theta);
                            self.point[i] += si * di;
                            self.point[j] += sj * dj;
                            let c = blocked.evaluate(&self.point).unwrap_or_default();
                            g_sum += sign * g_of(c);
                            crit_sum += sign * c.criterion(reml, n, p);
                        }
                    }
                    g_cross[level] = g_sum / (4.0 * di * dj);
                    crit_cross[level] = crit_sum / (4.0 * di * dj);
                }
                let gh = extrapolate(&mut g_cross[..levels]);
                let ch = extrapolate(&mut crit_cross[..levels]);
                self.hessian[j * k1 + i] = gh;
                self.hessian[i * k1 + j] = gh;
                self.crit_hessian[j * k + i] = ch;
                self.crit_hessian[i * k + j] = ch;
            }
            // ∂²dev/∂θᵢ∂σ = −2 (∂r²/∂θᵢ) / σ³.
            let dr2 = first(&self.r2_plus, &self.r2_minus);
            let cross = -2.0 * dr2 / (sigma2 * sigma);
            self.hessian[k * k1 + i] = cross;
            self.hessian[i * k1 + k] = cross;
        }
        let lv = if reml { (n - p) as f64 } else { n as f64 };
        self.hessian[k * k1 + k] = 6.0 * center.r2 / (sigma2 * sigma2) - 2.0 * lv / sigma2;
        self.pseudo_inverse();
        // Jacobian of Var(β̂) = σ² C(θ): σ² C Dᵢ C in θ (where analytic), 2σC in σ.
        let c = &self.c_center;
        for i in (0..k).filter(|_| levels > 1) {
            let d = &self.dxvx[i * pp..(i + 1) * pp];
            for col in 0..p {
                for row in 0..p {
                    self.product[col * p + row] =
                        (0..p).map(|l| d[l * p + row] * c[col * p + l]).sum();
                }
            }
            for col in 0..p {
                for row in 0..p {
                    self.jacobian[i * pp + col * p + row] = sigma2
                        * (0..p)
                            .map(|l| c[l * p + row] * self.product[col * p + l])
                            .sum::<f64>();
                }
            }
        }
        for e in 0..pp {
            self.jacobian[k * pp + e] = 2.0 * sigma * self.c_center[e];
        }
        // Leave the factorization at θ̂ for callers that read it afterwards.
        let _ = blocked.evaluate(theta);
    }

    /// A = 2 H⁺ over the eigenvalues above lmerTest's tolerance.
    fn pseudo_inverse(&mut self) {
        let k1 = self.k + 1;
        self.scratch.copy_from_slice(&self.hessian);
        symmetric_eigen(
            &mut self.scratch,
            k1,
            &mut self.eigen_values,
            &mut self.eigen_vectors,
        );
        self.a.fill(0.0);
        for (e, &value) in self.eigen_values.iter().enumerate() {
            if value > EIGEN_TOLERANCE {
                let v = &self.eigen_vectors[e * k1..(e + 1) * k1];
                for c in 0..k1 {
                    for r in 0..k1 {
                        self.a[c * k1 + r] += 2.0 * v[r] * v[c] / value;
                    }
                }
            }
        }
    }

    /// Satterthwaite df of coefficient `j`: 2v²/(g′Ag).
    pub fn satterthwaite_df(&self, j: usize, vcov: &[f64], p: usize) -> f64 {
        let k1 = self.k + 1;
        let pp = p * p;
        let v = vcov[j * p + j];
        let g = |r: usize| self.jacobian[r * pp + j * p + j];
        let mut denominator = 0.0;
        for c in 0..k1 {
            for r in 0..k1 {
                denominator += g(r) * self.a[c * k1 + r] * g(c);
            }
        }
        2.0 * v * v / denominator
    }

    /// Satterthwaite df of the contrast l′β: 2v²/(g′Ag) with v = l′Vl and gᵣ = l′Jᵣl.
    pub fn satterthwaite_df_contrast(&self, l: &[f64], vcov: &[f64], p: usize) -> f64 {
        let k1 = self.k + 1;
        let pp = p * p;
        let quadratic = |m: &[f64]| -> f64 {
            (0..p)
                .map(|c| l[c] * (0..p).map(|r| m[c * p + r] * l[r]).sum::<f64>())
                .sum()
        };
        let v = quadratic(&vcov[..pp]);
        let mut denominator = 0.0;
        for c in 0..k1 {
            let gc = quadratic(&self.jacobian[c * pp..(c + 1) * pp]);
            for r in 0..k1 {
                let gr = quadratic(&self.jacobian[r * pp..(r + 1) * pp]);
                denominator += gr * self.a[c * k1 + r] * gc;
            }
        }
        2.0 * v * v / denominator
    }

    /// max |H⁻¹g| of the profiled criterion over θ elements not on their bound (lme4's scaled
    /// gradient check); infinite when that Hessian is not positive definite. A singular fit
    /// (a template diagonal below `singular_below`) whose Hessian over the elements off the bound is
    /// not positive definite is checked again without the elements near it: at a correlation of
    /// ±(1 − 1e-9) the criterion is flat to rounding across that element, which says nothing
    /// against the optimum (lme4 keeps such a fit and calls it singular).
    pub fn max_scaled_gradient(
        &mut self,
        diagonal: &[bool],
        theta: &[f64],
        singular_below: f64,
    ) -> f64 {
        let at_bound = self.scaled_gradient_over(|i| !(diagonal[i] && theta[i] <= 0.0));
        let near = (0..self.k).any(|i| diagonal[i] && theta[i] > 0.0 && theta[i] < singular_below);
        if at_bound.is_finite() || !near {
            return at_bound;
        }
        self.scaled_gradient_over(|i| !(diagonal[i] && theta[i] < singular_below))
    }

    /// The Newton step of the last gradient check and the decrease it predicts (zero step and
    /// decrease when that Hessian was not positive definite).
    pub fn newton_step(&self) -> (&[f64], f64) {
        (&self.newton, self.predicted)
    }

    /// max |H⁻¹g| over the θ elements for which `free` holds.
    fn scaled_gradient_over(&mut self, free: impl Fn(usize) -> bool) -> f64 {
        let k = self.k;
        self.newton.fill(0.0);
        self.predicted = 0.0;
        let mut m = 0;
        for j in (0..k).filter(|&j| free(j)) {
            for (r, i) in (0..k).filter(|&i| free(i)).enumerate() {
                self.scratch[m * k + r] = self.crit_hessian[j * k + i];
            }
            self.column[m] = self.crit_gradient[j];
            m += 1;
        }
        if m == 0 {
            return 0.0;
        }
        // Compact to an m×m matrix with leading dimension m.
        for c in 0..m {
            for r in 0..m {
                self.scratch[c * m + r] = self.scratch[c * k + r];
            }
        }
        if !cholesky_small(&mut self.scratch[..m * m], m) {
            return f64::INFINITY;
        }
        crate::dense::forward_solve(&self.scratch, m, m, &mut self.column[..m]);
        crate::dense::backward_solve(&self.scratch, m, m, &mut self.column[..m]);
        for (r, i) in (0..k).filter(|&i| free(i)).enumerate() {
            self.newton[i] = -self.column[r];
            self.predicted += 0.5 * self.crit_gradient[i] * self.column[r];
        }
        self.column[..m]
            .iter()
            .fold(0.0, |acc: f64, x| acc.max(x.abs()))
    }
}

/// t statistic, two-sided p-value and confidence half-width for an estimate with `df` degrees of
/// freedom (normal reference when infinite; NaN p-value and half-width when df is not positive).
pub(crate) fn t_inference(estimate: f64, se: f64, df: f64, level: f64) -> (f64, f64, f64) {
    let t = estimate / se;
    let half = student_t::upper_quantile((1.0 - level) / 2.0, df) * se;
    (t, student_t::two_sided_p(t, df), half)
}
