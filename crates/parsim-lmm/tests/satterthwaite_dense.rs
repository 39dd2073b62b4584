//! Satterthwaite df against an independent dense computation: V = ZΛΛ′Z′ + I built densely (n up
//! to 160), Var(β̂) = σ²(X′V⁻¹X)⁻¹ differentiated analytically in θ and σ, and the Hessian of
//! lmerTest's deviance dev(θ, σ) = log|V| + log|X′V⁻¹X| + r²/σ² + (n − p) log(2πσ²) (REML) from
//! its analytic second derivatives. Random designs with one grouping factor (random slope) and
//! crossed factors, at θ̂ of data whose random effects are much larger than the residual (θ of
//! order 100) or comparable, where finite differences of Var(β̂) failed at large θ.

// Index loops follow the matrix algebra.
#![allow(clippy::needless_range_loop)]

use parsim_lmm::{DataFrame, Formula, LmmFitter, LmmOptions};

/// A deterministic sequence (64-bit LCG, high bits) for the designs.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

/// Row-major dense matrix.
#[derive(Clone)]
struct Mat {
    r: usize,
    c: usize,
    v: Vec<f64>,
}

impl Mat {
    fn zeros(r: usize, c: usize) -> Mat {
        Mat {
            r,
            c,
            v: vec![0.0; r * c],
        }
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.c + j]
    }
    fn set(&mut self, i: usize, j: usize, x: f64) {
        self.v[i * self.c + j] = x;
    }
    fn t(&self) -> Mat {
        let mut out = Mat::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                out.set(j, i, self.at(i, j));
            }
        }
        out
    }
    fn mul(&self, b: &Mat) -> Mat {
        assert_eq!(self.c, b.r);
        let mut out = Mat::zeros(self.r, b.c);
        for i in 0..self.r {
            for k in 0..self.c {
                let a = self.at(i, k);
                if a != 0.0 {
                    for j in 0..b.c {
                        out.v[i * b.c + j] += a * b.v[k * b.c + j];
                    }
                }
            }
        }
        out
    }
    fn add(&self, b: &Mat, s: f64) -> Mat {
        let v = self.v.iter().zip(&b.v).map(|(x, y)| x + s * y).collect();
        Mat {
            r: self.r,
            c: self.c,
            v,
        }
    }
    fn trace(&self) -> f64 {
        (0..self.r).map(|i| self.at(i, i)).sum()
    }
    /// Inverse of a symmetric positive definite matrix (Cholesky; panics otherwise, a test failure).
    fn spd_inverse(&self) -> Mat {
        let n = self.r;
        let mut l = Mat::zeros(n, n);
        for j in 0..n {
            let d = self.at(j, j) - (0..j).map(|k| l.at(j, k).powi(2)).sum::<f64>();
            assert!(d > 0.0, "not positive definite");
            l.set(j, j, d.sqrt());
            for i in j + 1..n {
                let x = self.at(i, j) - (0..j).map(|k| l.at(i, k) * l.at(j, k)).sum::<f64>();
                l.set(i, j, x / l.at(j, j));
            }
        }
        let mut inv = Mat::zeros(n, n);
        for col in 0..n {
            let mut x = vec![0.0; n];
            for i in 0..n {
                let b = if i == col { 1.0 } else { 0.0 };
                x[i] = (b - (0..i).map(|k| l.at(i, k) * x[k]).sum::<f64>()) / l.at(i, i);
            }
            for i in (0..n).rev() {
                x[i] = (x[i] - (i + 1..n).map(|k| l.at(k, i) * x[k]).sum::<f64>()) / l.at(i, i);
            }
            for i in 0..n {
                inv.set(i, col, x[i]);
            }
        }
        inv
    }
}

/// A random-effects term: per observation its level and the values of its q columns.
struct Term {
    levels: Vec<usize>,
    nlevels: usize,
    columns: Vec<Vec<f64>>,
}

/// Satterthwaite df of every coefficient at θ, densely (REML).
fn dense_df(x: &Mat, y: &[f64], terms: &[Term], theta: &[f64]) -> Vec<f64> {
    let (n, p) = (x.r, x.c);
    let q: usize = terms.iter().map(|t| t.nlevels * t.columns.len()).sum();
    let mut z = Mat::zeros(n, q);
    let mut lambda = Mat::zeros(q, q);
    // E_i = ∂Λ/∂θ_i.
    let mut e: Vec<Mat> = Vec::new();
    let mut term_of = Vec::new();
    let (mut offset, mut t_offset) = (0, 0);
    for (index, term) in terms.iter().enumerate() {
        let tq = term.columns.len();
        for obs in 0..n {
            for (a, col) in term.columns.iter().enumerate() {
                z.set(obs, offset + term.levels[obs] * tq + a, col[obs]);
            }
        }
        let mut k = t_offset;
        for b in 0..tq {
            for a in b..tq {
                let mut ei = Mat::zeros(q, q);
                for level in 0..term.nlevels {
                    let base = offset + level * tq;
                    lambda.set(base + a, base + b, theta[k]);
                    ei.set(base + a, base + b, 1.0);
                }
                e.push(ei);
                term_of.push(index);
                k += 1;
            }
        }
        offset += term.nlevels * tq;
        t_offset = k;
    }
    let k = e.len();
    let zl = z.mul(&lambda);
    let mut v = zl.mul(&zl.t());
    for i in 0..n {
        v.set(i, i, v.at(i, i) + 1.0);
    }
    let vi = v.spd_inverse();
    let xt = x.t();
    let vix = vi.mul(x);
    let c = xt.mul(&vix).spd_inverse();
    let ym = Mat {
        r: n,
        c: 1,
        v: y.to_vec(),
    };
    let beta = c.mul(&xt.mul(&vi.mul(&ym)));
    let resid = ym.add(&x.mul(&beta), -1.0);
    let py = vi.mul(&resid);
    let r2 = resid.t().mul(&py).v[0];
    let sigma2 = r2 / (n - p) as f64;
    let sigma = sigma2.sqrt();
    // P = V⁻¹ − V⁻¹XCX′V⁻¹.
    let pm = vi.add(&vix.mul(&c).mul(&vix.t()), -1.0);
    let vd: Vec<Mat> = e
        .iter()
        .map(|ei| {
            let d = ei.mul(&lambda.t());
            z.mul(&d.add(&d.t(), 1.0)).mul(&z.t())
        })
        .collect();
    let viv: Vec<Mat> = vd.iter().map(|d| vi.mul(d)).collect();
    let a_i: Vec<Mat> = vd.iter().map(|d| vix.t().mul(d).mul(&vix)).collect(); // −∂(X′V⁻¹X)
    let pv: Vec<Mat> = vd.iter().map(|d| pm.mul(d)).collect();
    let k1 = k + 1;
    let mut h = Mat::zeros(k1, k1);
    for i in 0..k {
        for j in 0..=i {
            let vij = if term_of[i] == term_of[j] {
                let d = e[i].mul(&e[j].t());
                z.mul(&d.add(&d.t(), 1.0)).mul(&z.t())
            } else {
                Mat::zeros(n, n)
            };
            let logdet_v = vi.mul(&vij).trace() - viv[i].mul(&viv[j]).trace();
            let aij = vix
                .t()
                .mul(
                    &vd[i]
                        .mul(&vi)
                        .mul(&vd[j])
                        .add(&vd[j].mul(&vi).mul(&vd[i]), 1.0)
                        .add(&vij, -1.0),
                )
                .mul(&vix);
            let logdet_a = c.mul(&aij).trace() - c.mul(&a_i[i]).mul(&c).mul(&a_i[j]).trace();
            let quad =
                2.0 * py.t().mul(&vd[i]).mul(&pv[j]).mul(&py).v[0] - py.t().mul(&vij).mul(&py).v[0];
            let value = logdet_v + logdet_a + quad / sigma2;
            h.set(i, j, value);
            h.set(j, i, value);
        }
        let dr2 = -py.t().mul(&vd[i]).mul(&py).v[0];
        h.set(k, i, -2.0 * dr2 / (sigma2 * sigma));
        h.set(i, k, -2.0 * dr2 / (sigma2 * sigma));
    }
    h.set(
        k,
        k,
        6.0 * r2 / (sigma2 * sigma2) - 2.0 * (n - p) as f64 / sigma2,
    );
    let a = h.spd_inverse();
    (0..p)
        .map(|j| {
            let mut g = vec![0.0; k1];
            for i in 0..k {
                g[i] = sigma2 * c.mul(&a_i[i]).mul(&c).at(j, j);
            }
            g[k] = 2.0 * sigma * c.at(j, j);
            let var = sigma2 * c.at(j, j);
            let quad: f64 = (0..k1)
                .map(|r| (0..k1).map(|s| g[r] * 2.0 * a.at(r, s) * g[s]).sum::<f64>())
                .sum();
            2.0 * var * var / quad
        })
        .collect()
}

/// Simulates a design with `groups` levels of g (each with `per` observations) and, when
/// `items` > 0, a crossed factor it; fits it with parsim and compares the df at θ̂ with the dense
/// computation. Returns θ̂.
fn check(seed: u64, groups: usize, per: usize, items: usize, sd_re: f64, sd_res: f64) -> Vec<f64> {
    let mut rng = Lcg(seed);
    let n = groups * per;
    let slopes: Vec<(f64, f64)> = (0..groups).map(|_| (rng.normal(), rng.normal())).collect();
    let item_effects: Vec<f64> = (0..items.max(1)).map(|_| rng.normal()).collect();
    let mut csv = String::from("y,x,g,it\n");
    let (mut xs, mut ys, mut gs, mut its) = (vec![], vec![], vec![], vec![]);
    for obs in 0..n {
        let g = obs / per;
        let it = if items > 0 { obs % items } else { 0 };
        let x = rng.uniform() * 2.0;
        let (b0, b1) = slopes[g];
        let y = 1.0 + 0.5 * x + sd_re * (b0 + b1 * x + item_effects[it]) + sd_res * rng.normal();
        csv.push_str(&format!("{y},{x},g{g},i{it}\n"));
        xs.push(x);
        ys.push(y);
        gs.push(g);
        its.push(it);
    }
    let formula = if items > 0 {
        "y ~ x + (1 + x | g) + (1 | it)"
    } else {
        "y ~ x + (1 + x | g)"
    };
    let data = DataFrame::parse_csv(&csv, "dense").unwrap();
    let mut fitter =
        LmmFitter::new(&Formula::parse(formula).unwrap(), LmmOptions::default()).unwrap();
    let fit = fitter.fit(&data).unwrap().clone();
    assert!(
        !fit.singular,
        "seed {seed}: a singular fit, choose another design"
    );
    let mut x = Mat::zeros(n, 2);
    for obs in 0..n {
        x.set(obs, 0, 1.0);
        x.set(obs, 1, xs[obs]);
    }
    // parsim orders the levels as they first appear (g0, g1, ...), as here.
    let mut terms = vec![Term {
        levels: gs,
        nlevels: groups,
        columns: vec![vec![1.0; n], xs],
    }];
    if items > 0 {
        terms.push(Term {
            levels: its,
            nlevels: items,
            columns: vec![vec![1.0; n]],
        });
    }
    let want = dense_df(&x, &ys, &terms, &fit.theta);
    for (coef, w) in fit.coefficients.iter().zip(&want) {
        // 5e-5 relative, half the 1e-4: the dense df is exact to rounding; ours has an
        // analytic Jacobian and a finite-difference Hessian: one level for θ ≤ 10 (error up to
        // 1.0e-5 here), Richardson-extrapolated above (up to 3.6e-5 at θ ≈ 130; one level there
        // was 2.9e-4 off, and fixed-step differences 1e-2).
        let d = ((coef.df - w) / w).abs();
        println!(
            "seed {seed} θ {:?}: df {} {} vs dense {w} ({d:.1e})",
            fit.theta, coef.term, coef.df
        );
        assert!(
            d < 5e-5,
            "seed {seed}: df {}: {} vs dense {w} ({d:.2e})",
            coef.term,
            coef.df
        );
    }
    fit.theta
}

#[test]
fn one_factor_large_theta() {
    let theta = check(1, 15, 8, 0, 1.0, 0.01);
    assert!(theta[0] > 30.0, "θ {theta:?}: large, as meant");
}

#[test]
fn one_factor_moderate_theta() {
    check(2, 15, 8, 0, 1.0, 1.0);
}

#[test]
fn one_factor_small_theta() {
    let theta = check(3, 40, 4, 0, 0.25, 1.0);
    assert!(theta[0] < 0.6, "θ {theta:?}: smaller than 1, as meant");
}

#[test]
fn crossed_large_theta() {
    let theta = check(4, 12, 10, 5, 1.0, 0.01);
    assert!(theta[0] > 30.0, "θ {theta:?}: large, as meant");
}

#[test]
fn crossed_moderate_theta() {
    check(5, 12, 10, 5, 1.0, 1.0);
}
