//! Internal centring of badly scaled covariates (a calendar year 1990-2020 beside an intercept).
//!
//! A fixed-effects column x whose mean is large against its SD makes [1, x] nearly collinear, and
//! with a random slope on x the intercept's variance and its covariance with the slope span
//! several orders of magnitude in θ: lme4's optimizer then stops far short (168 units of REML on
//! `tests/data/lme4_fragile/year_slope`). In a model with an intercept, the column x − c spans the
//! same space, and so does a random-effects term with an intercept whose column x becomes x − c:
//! with X̃ = XM and Z̃ₖ = ZₖMₖ (M = I except M₀ⱼ = −cⱼ, a unit triangular map, det M = 1) the two
//! models are the same model, with β = Mβ̃, Var(β̂) = M Var(β̃) M′ and ΛₖΛₖ′ = MₖΛ̃ₖΛ̃ₖ′Mₖ′; the
//! likelihood and the REML criterion are equal (log|R_X|² changes by 2 log|det M| = 0). So the fit
//! runs centred and everything is reported on the user's scale; Satterthwaite's df of the user's
//! intercept are those of the contrast (1, −c₁, …) of the centred coefficients (they do not depend
//! on how the variance parameters are parametrised). Columns are left alone unless their mean is
//! far from zero in SDs ([`CENTRE_ABOVE`]), so ordinary fits are unchanged to the bit.

use crate::design::Design;

/// A column whose |mean| exceeds this many SDs is centred. [1, x] then has a condition number of
/// about (mean/SD)² > 600; the year case has 225 SDs. Ordinary covariates (sleepstudy's Days: 1.6,
/// the seed study's: below 1) stay as they are.
pub(crate) const CENTRE_ABOVE: f64 = 25.0;

/// The centre of each model-matrix column (0: not centred).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Centring {
    /// Per fixed-effects column, the intercept (never centred) included.
    pub fixed: Vec<f64>,
    /// Per random-effects term, per column of its model matrix.
    pub random: Vec<Vec<f64>>,
}

impl Centring {
    /// No column centred, for a model of these designs.
    pub fn none<'a>(fixed: &Design, terms: impl Iterator<Item = &'a Design>) -> Centring {
        Centring {
            fixed: vec![0.0; fixed.width()],
            random: terms.map(|d| vec![0.0; d.width()]).collect(),
        }
    }

    /// Whether some column is centred.
    pub fn active(&self) -> bool {
        self.fixed.iter().any(|&c| c != 0.0)
    }

    /// Sets the centres this data set wants, from X′X (weighted with prior weights) of the columns
    /// as currently centred (`self`); true when they differ from the current ones (the caller then
    /// assembles again). A centre is the column's mean rounded to a power of two at most its SD,
    /// so that data sets of one design keep the same centre (no re-assembly) and x − c is exact.
    /// Random-effects columns take the centre of the fixed column of the same variables when their
    /// term has an intercept (otherwise the centred column would not span the same space).
    pub fn update<'a>(
        &mut self,
        xtx: &[f64],
        fixed: &Design,
        terms: impl Iterator<Item = &'a Design>,
    ) -> bool {
        let p = fixed.width();
        if !fixed.intercept || p < 2 || xtx[0] <= 0.0 {
            return false;
        }
        let n = xtx[0];
        let mut changed = false;
        for j in 1..p {
            let mean = xtx[j] / n;
            let variance = xtx[j * p + j] / n - mean * mean;
            let raw_mean = self.fixed[j] + mean;
            let sd = variance.max(0.0).sqrt();
            let wanted = if sd > 0.0 && raw_mean.abs() > CENTRE_ABOVE * sd {
                let unit = sd.log2().floor().exp2();
                (raw_mean / unit).round() * unit
            } else {
                0.0
            };
            changed |= wanted != self.fixed[j];
            self.fixed[j] = wanted;
        }
        if !changed {
            // The random-effects columns follow the fixed ones: nothing to do (the usual case,
            // no column centred before or now).
            return false;
        }
        for (centres, design) in self.random.iter_mut().zip(terms) {
            let offset = usize::from(design.intercept);
            for (a, column) in design.columns.iter().enumerate() {
                let wanted = match fixed.columns.iter().position(|f| f.parts == column.parts) {
                    Some(j) if design.intercept => self.fixed[j + 1],
                    _ => 0.0,
                };
                changed |= wanted != centres[a + offset];
                centres[a + offset] = wanted;
            }
        }
        changed
    }

    /// β = Mβ̃ in place: the intercept less Σ cⱼβ̃ⱼ.
    pub fn coefficients(&self, beta: &mut [f64]) {
        let shift: f64 = self.fixed.iter().zip(beta.iter()).map(|(c, b)| c * b).sum();
        beta[0] -= shift;
    }

    /// Row `j` of M (the user's coefficient j as a contrast of the centred ones) into `out`.
    pub fn contrast(&self, j: usize, out: &mut [f64]) {
        out.fill(0.0);
        out[j] = 1.0;
        if j == 0 {
            for (o, c) in out.iter_mut().zip(&self.fixed).skip(1) {
                *o = -c;
            }
        }
    }

    /// V = M Ṽ M′ in place (p×p, column-major).
    pub fn covariance(&self, v: &mut [f64]) {
        let p = self.fixed.len();
        // Rows: row 0 ← row 0 − Σ cⱼ row j; then the same on the columns.
        for col in 0..p {
            let shift: f64 = (1..p).map(|j| self.fixed[j] * v[col * p + j]).sum();
            v[col * p] -= shift;
        }
        for row in 0..p {
            let shift: f64 = (1..p).map(|j| self.fixed[j] * v[j * p + row]).sum();
            v[row] -= shift;
        }
    }

    /// θ of the user's parametrisation from the centred one (`to_user`), or back, term by term:
    /// the lower-triangular factor of MₖΛ̃ₖ (of Mₖ⁻¹Λₖ back), in lme4's column-major packing.
    /// `scratch` holds at least 2q² values for the largest q.
    pub fn theta(&self, from: &[f64], to: &mut [f64], to_user: bool, scratch: &mut Vec<f64>) {
        let mut offset = 0;
        for centres in &self.random {
            let q = centres.len();
            let size = q * (q + 1) / 2;
            let (input, output) = (&from[offset..offset + size], &mut to[offset..offset + size]);
            offset += size;
            if centres.iter().all(|&c| c == 0.0) {
                output.copy_from_slice(input);
                continue;
            }
            scratch.resize(q * q, 0.0);
            let a = &mut scratch[..q * q];
            unpack(input, q, a);
            // Row 0 of MΛ is row 0 of Λ less Σ cₐ row a (plus, for M⁻¹).
            let sign = if to_user { -1.0 } else { 1.0 };
            for col in 0..q {
                let shift: f64 = (1..q).map(|r| centres[r] * a[col * q + r]).sum();
                a[col * q] += sign * shift;
            }
            lower_factor(a, q);
            pack(a, q, output);
        }
    }
}

/// The column-major lower triangle `packed` of a q×q matrix into the full column-major `a`.
fn unpack(packed: &[f64], q: usize, a: &mut [f64]) {
    a.fill(0.0);
    let mut k = 0;
    for col in 0..q {
        for row in col..q {
            a[col * q + row] = packed[k];
            k += 1;
        }
    }
}

/// The lower triangle of the column-major `a` packed as θ.
fn pack(a: &[f64], q: usize, packed: &mut [f64]) {
    let mut k = 0;
    for col in 0..q {
        for row in col..q {
            packed[k] = a[col * q + row];
            k += 1;
        }
    }
}

/// A ← AQ lower triangular with a non-negative diagonal (Q orthogonal: Householder reflections
/// from the right, row by row), so that AA′ is unchanged: the Cholesky-like factor lme4's θ holds,
/// also for a singular AA′.
fn lower_factor(a: &mut [f64], q: usize) {
    for i in 0..q {
        // Reflect columns i..q so that row i has zeros right of the diagonal.
        let norm = (i..q)
            .map(|c| a[c * q + i] * a[c * q + i])
            .sum::<f64>()
            .sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if a[i * q + i] > 0.0 { -norm } else { norm };
        // v = row_i[i..] − alpha e₁; H = I − 2vv′/v′v.
        let v0 = a[i * q + i] - alpha;
        let vv = v0 * v0 + (i + 1..q).map(|c| a[c * q + i] * a[c * q + i]).sum::<f64>();
        if vv == 0.0 {
            continue;
        }
        let v = |c: usize, a: &[f64]| if c == i { v0 } else { a[c * q + i] };
        for row in (i..q).rev() {
            let dot: f64 = (i..q).map(|c| a[c * q + row] * v(c, a)).sum();
            let factor = 2.0 * dot / vv;
            if row == i {
                // Row i itself becomes alpha e₁.
                a[i * q + i] = alpha;
                for c in i + 1..q {
                    a[c * q + i] = 0.0;
                }
            } else {
                for c in i..q {
                    let vc = v(c, a);
                    a[c * q + row] -= factor * vc;
                }
            }
        }
    }
    // Make the diagonal non-negative by flipping columns.
    for col in 0..q {
        if a[col * q + col] < 0.0 {
            for row in col..q {
                a[col * q + row] = -a[col * q + row];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AA′ of a q×q column-major matrix.
    fn outer(a: &[f64], q: usize) -> Vec<f64> {
        let mut out = vec![0.0; q * q];
        for i in 0..q {
            for j in 0..q {
                out[j * q + i] = (0..q).map(|k| a[k * q + i] * a[k * q + j]).sum();
            }
        }
        out
    }

    /// The factor keeps AA′, is lower triangular with a non-negative diagonal, and the map to the
    /// user's θ and back is the identity (to rounding), at the boundary (a zero diagonal) up to the
    /// choice of factor.
    #[test]
    fn theta_maps_round_trip_and_keep_the_covariance() {
        let centring = Centring {
            fixed: vec![0.0, 2005.0, 0.5],
            random: vec![vec![0.0, 2005.0, 0.5], vec![0.0]],
        };
        for theta in [
            vec![1.1, 0.3, -0.2, 0.05, 0.4, 0.7, 0.9],
            vec![0.8, -0.1, 0.2, 0.0, 0.0, 0.3, 0.5],
        ] {
            let (mut user, mut back, mut scratch) = (vec![0.0; 7], vec![0.0; 7], Vec::new());
            centring.theta(&theta, &mut user, true, &mut scratch);
            centring.theta(&user, &mut back, false, &mut scratch);
            // Back to θ itself, but at the boundary only to the same ΛΛ′ (the factor of a singular
            // matrix is not unique: any one gives the same model).
            let (mut lb, mut lt) = (vec![0.0; 9], vec![0.0; 9]);
            unpack(&back[..6], 3, &mut lb);
            unpack(&theta[..6], 3, &mut lt);
            let (got, want) = (outer(&lb, 3), outer(&lt, 3));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-9, "{back:?} vs {theta:?}");
            }
            if theta[3] != 0.0 {
                for (b, t) in back.iter().zip(&theta) {
                    assert!(
                        (b - t).abs() <= 1e-9 * (1.0 + t.abs()),
                        "{back:?} vs {theta:?}"
                    );
                }
            }
            assert_eq!(user[6], theta[6], "a term without centres is copied");
            // Λ_user Λ_user′ = M Λ̃ Λ̃′ M′.
            let (mut lt, mut lu) = (vec![0.0; 9], vec![0.0; 9]);
            unpack(&theta[..6], 3, &mut lt);
            unpack(&user[..6], 3, &mut lu);
            for col in 0..3 {
                lt[col * 3] -= 2005.0 * lt[col * 3 + 1] + 0.5 * lt[col * 3 + 2];
            }
            let (want, got) = (outer(&lt, 3), outer(&lu, 3));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "{got:?} vs {want:?}"
                );
            }
            assert!([0, 3, 5].iter().all(|&d| user[d] >= 0.0), "{user:?}");
        }
    }

    /// β = Mβ̃ and V = MṼM′ against the explicit products.
    #[test]
    fn coefficients_and_covariance_follow_m() {
        let centring = Centring {
            fixed: vec![0.0, 3.0, -2.0],
            random: Vec::new(),
        };
        let mut beta = vec![1.0, 2.0, 0.5];
        centring.coefficients(&mut beta);
        assert_eq!(beta, vec![1.0 - 6.0 + 1.0, 2.0, 0.5]);
        let v = vec![4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let mut got = v.clone();
        centring.covariance(&mut got);
        let m = [1.0, 0.0, 0.0, -3.0, 1.0, 0.0, 2.0, 0.0, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                let want: f64 = (0..3)
                    .flat_map(|k| (0..3).map(move |l| (k, l)))
                    .map(|(k, l)| m[k * 3 + i] * v[l * 3 + k] * m[l * 3 + j])
                    .sum();
                assert!((got[j * 3 + i] - want).abs() < 1e-12, "{i} {j}");
            }
        }
        let mut row = vec![0.0; 3];
        centring.contrast(0, &mut row);
        assert_eq!(row, vec![1.0, -3.0, 2.0]);
    }
}
