//! Power curves and the sample size that reaches a target power: the rejection rate of one estimand and
//! method along a numeric design factor, interpolated between design points where it crosses the target,
//! with a Monte Carlo interval from the MCSEs of the two bracketing points (delta method).
//!
//! The interpolation is linear on a chosen scale of power (probit by default) against a chosen scale of
//! the factor (linear by default; √n suits a Wald test whose SE is σ/√n, power ≈ Φ(δ√n/σ − z), but an SE
//! with a part that does not shrink with the factor, as the number of groups of a mixed model at a fixed
//! total N, bends that line: the seed model's search was 5 groups off with √n and 3 with n on a 40–80
//! bracket). Interpolation error shrinks with the bracket: `parsim power --refine` narrows it. The two
//! bracketing points are independent simulations, so the variance of the crossing is the sum of their
//! delta-method terms.

use serde::Serialize;
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use super::{ConditionInfo, Summary, Value};

/// Errors of a power search: what the summary lacks.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PowerError {
    /// The factor is not a design factor of the study.
    #[error("`{factor}` is not a numeric factor of the study; its factors are: {factors}")]
    NotAFactor {
        /// The name given.
        factor: String,
        /// The study's factors, comma separated.
        factors: String,
    },
    /// No row of the summary has this estimand and method.
    #[error(
        "no results for estimand `{estimand}` by method `{method}`; the summary has: {available}"
    )]
    NoRows {
        /// The estimand.
        estimand: String,
        /// The method.
        method: String,
        /// The (method, term) pairs the summary has.
        available: String,
    },
    /// A target that is not a probability.
    #[error("the target power must be strictly between 0 and 1, not {0}")]
    Target(f64),
    /// The stored study file cannot be turned into a refinement.
    #[error("cannot write the refinement's study file: {0}")]
    Refinement(String),
}

/// How power is transformed before interpolating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerScale {
    /// Power itself.
    Linear,
    /// log(p / (1 − p)).
    Logit,
    /// Φ⁻¹(p).
    Probit,
}

/// How the factor is transformed before interpolating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorScale {
    /// The factor itself.
    Linear,
    /// √n.
    Sqrt,
    /// log n.
    Log,
}

impl std::str::FromStr for PowerScale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linear" => Ok(PowerScale::Linear),
            "logit" => Ok(PowerScale::Logit),
            "probit" => Ok(PowerScale::Probit),
            _ => Err(format!(
                "unknown scale `{s}`; choose linear, logit or probit"
            )),
        }
    }
}

impl std::str::FromStr for FactorScale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linear" => Ok(FactorScale::Linear),
            "sqrt" => Ok(FactorScale::Sqrt),
            "log" => Ok(FactorScale::Log),
            _ => Err(format!("unknown scale `{s}`; choose linear, sqrt or log")),
        }
    }
}

impl PowerScale {
    /// The transformed power and its derivative there (for the delta method). Power 0 or 1 (every or no
    /// test rejected) is moved 1/(2n) inside, so probit and logit stay finite.
    fn transform(self, p: f64, n: u64) -> (f64, f64) {
        let edge = 0.5 / (n.max(1) as f64);
        let p = p.clamp(edge, 1.0 - edge);
        match self {
            PowerScale::Linear => (p, 1.0),
            PowerScale::Logit => ((p / (1.0 - p)).ln(), 1.0 / (p * (1.0 - p))),
            PowerScale::Probit => {
                let normal = Normal::standard();
                let q = normal.inverse_cdf(p);
                (q, 1.0 / normal.pdf(q))
            }
        }
    }

    fn of_target(self, target: f64) -> f64 {
        self.transform(target, u64::MAX).0
    }
}

impl FactorScale {
    fn forward(self, x: f64) -> f64 {
        match self {
            FactorScale::Linear => x,
            FactorScale::Sqrt => x.sqrt(),
            FactorScale::Log => x.ln(),
        }
    }

    fn back(self, u: f64) -> f64 {
        match self {
            FactorScale::Linear => u,
            FactorScale::Sqrt => u * u,
            FactorScale::Log => u.exp(),
        }
    }
}

/// One design point of a power curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerPoint {
    /// The factor's value.
    pub value: f64,
    /// Power (the rejection rate, a proportion) and its MCSE √(p(1 − p)/n).
    pub power: Value,
    /// Tests counted.
    pub tests: u64,
    /// Replications of the condition (those whose fit could not be used included).
    pub replications: u64,
    /// Where the point comes from (e.g. the results directory), for the report.
    pub source: String,
}

/// The power of one method for one estimand along a factor, the other factors held at `fixed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerCurve {
    /// The other factors' values of this curve.
    pub fixed: Vec<(String, f64)>,
    /// Points in increasing order of the factor.
    pub points: Vec<PowerPoint>,
}

/// Where a curve reaches the target, with its Monte Carlo interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Crossing {
    /// The interpolated factor value.
    pub value: f64,
    /// Its Monte Carlo SE (delta method, on the factor's own scale).
    pub se: f64,
    /// Lower end of the Monte Carlo interval.
    pub lower: f64,
    /// Upper end of the Monte Carlo interval.
    pub upper: f64,
    /// The bracketing points' factor values.
    pub bracket: (f64, f64),
}

/// How to interpolate, and the level of the Monte Carlo interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interpolation {
    /// The scale of power.
    pub power: PowerScale,
    /// The scale of the factor.
    pub factor: FactorScale,
    /// The Monte Carlo interval's level (e.g. 0.95).
    pub level: f64,
}

impl Default for Interpolation {
    fn default() -> Self {
        Interpolation {
            power: PowerScale::Probit,
            factor: FactorScale::Linear,
            level: 0.95,
        }
    }
}

/// The power curves of `method` for `estimand` along `factor` in `summary`: one per combination of the
/// other factors. `source` labels the points.
pub fn power_curves(
    summary: &Summary,
    estimand: &str,
    method: &str,
    factor: &str,
    source: &str,
) -> Result<Vec<PowerCurve>, PowerError> {
    if !summary.factors.iter().any(|f| f == factor) {
        return Err(PowerError::NotAFactor {
            factor: factor.to_string(),
            factors: summary.factors.join(", "),
        });
    }
    let mut curves: Vec<PowerCurve> = Vec::new();
    for row in summary
        .rows
        .iter()
        .filter(|r| r.term == estimand && r.method == method)
    {
        let Some(condition) = summary.condition(row.condition) else {
            continue;
        };
        let Some(value) = condition.value(factor) else {
            continue;
        };
        let fixed = others(summary, condition, factor);
        let rejection = row.measures.rejection;
        let point = PowerPoint {
            value,
            power: Value::new(rejection.estimate / 100.0, rejection.mcse / 100.0),
            tests: row.measures.used,
            replications: row.measures.used + row.measures.failed,
            source: source.to_string(),
        };
        match curves.iter_mut().find(|c| c.fixed == fixed) {
            Some(curve) => curve.points.push(point),
            None => curves.push(PowerCurve {
                fixed,
                points: vec![point],
            }),
        }
    }
    if curves.is_empty() {
        let mut available: Vec<String> = summary
            .rows
            .iter()
            .map(|r| format!("{} {}", r.method, r.term))
            .collect();
        available.dedup();
        return Err(PowerError::NoRows {
            estimand: estimand.to_string(),
            method: method.to_string(),
            available: available.join(", "),
        });
    }
    for curve in &mut curves {
        curve.sort();
    }
    Ok(curves)
}

/// The other factors' values of a condition.
fn others(summary: &Summary, condition: &ConditionInfo, factor: &str) -> Vec<(String, f64)> {
    summary
        .factors
        .iter()
        .filter(|f| *f != factor)
        .filter_map(|f| condition.value(f).map(|v| (f.clone(), v)))
        .collect()
}

impl PowerCurve {
    /// Add another simulation's points (e.g. a refinement's) to this curve.
    pub fn extend(&mut self, other: PowerCurve) {
        self.points.extend(other.points);
        self.sort();
    }

    fn sort(&mut self) {
        self.points.sort_by(|a, b| a.value.total_cmp(&b.value));
    }

    /// Where power first reaches `target` going up the factor: interpolated between the last point below
    /// it and the next point, with its Monte Carlo interval; `None` when no pair of points brackets it.
    pub fn crossing(
        &self,
        target: f64,
        how: Interpolation,
    ) -> Result<Option<Crossing>, PowerError> {
        if !(target > 0.0 && target < 1.0) {
            return Err(PowerError::Target(target));
        }
        let usable: Vec<&PowerPoint> = self
            .points
            .iter()
            .filter(|p| p.power.estimate().is_some())
            .collect();
        let bracket = usable.windows(2).find(|w| {
            let (a, b) = (w[0].power.estimate, w[1].power.estimate);
            a < target && b >= target
        });
        Ok(bracket.map(|w| interpolate(w[0], w[1], target, how)))
    }
}

/// The crossing between two points on the chosen scales, and its delta-method SE.
fn interpolate(lo: &PowerPoint, hi: &PowerPoint, target: f64, how: Interpolation) -> Crossing {
    let (a, da) = how.power.transform(lo.power.estimate, lo.tests);
    let (b, db) = how.power.transform(hi.power.estimate, hi.tests);
    let c = how.power.of_target(target);
    let (u0, u1) = (how.factor.forward(lo.value), how.factor.forward(hi.value));
    let h = u1 - u0;
    let u = u0 + h * (c - a) / (b - a);
    // ∂u/∂a = −h (b − c)/(b − a)², ∂u/∂b = −h (c − a)/(b − a)²; var(g(p̂)) ≈ g'(p)² MCSE².
    let d = (b - a) * (b - a);
    let var_a = (da * lo.power.mcse).powi(2);
    let var_b = (db * hi.power.mcse).powi(2);
    let se_u = ((h * (b - c) / d).powi(2) * var_a + (h * (c - a) / d).powi(2) * var_b).sqrt();
    let z = Normal::standard().inverse_cdf(0.5 + how.level / 2.0);
    let value = how.factor.back(u);
    // The interval's ends are mapped back from the factor's scale (monotone), so they stay ordered.
    let (lower, upper) = (how.factor.back(u - z * se_u), how.factor.back(u + z * se_u));
    // The SE on the factor's own scale, by the chain rule at the crossing.
    let slope = (how.factor.back(u + 1e-6) - how.factor.back(u - 1e-6)) / 2e-6;
    Crossing {
        value,
        se: se_u * slope,
        lower,
        upper,
        bracket: (lo.value, hi.value),
    }
}

/// `count` new factor values strictly inside a crossing's bracket, evenly spaced on the factor's scale,
/// rounded to integers when `integer` and without the values already `present`.
pub fn refinement_points(
    crossing: &Crossing,
    count: usize,
    integer: bool,
    how: Interpolation,
    present: &[f64],
) -> Vec<f64> {
    let (lo, hi) = crossing.bracket;
    let (u0, u1) = (how.factor.forward(lo), how.factor.forward(hi));
    let mut points: Vec<f64> = Vec::new();
    for i in 1..=count {
        let x = how
            .factor
            .back(u0 + (u1 - u0) * i as f64 / (count + 1) as f64);
        let x = if integer { x.round() } else { x };
        if x > lo && x < hi && !present.contains(&x) && !points.contains(&x) {
            points.push(x);
        }
    }
    points
}

/// The study file of refinement `round` (1, 2, ...): the stored study `source` with `factor` set to
/// `values`, `replications` per condition if given, and seed + round·2³² so that its streams are its own
/// (its condition 0 would otherwise replay the study's condition 0; per-replication-seed streams stay
/// apart too while replications are fewer than 2³²). Comments are not kept: the file is generated.
pub fn refinement_study(
    source: &str,
    factor: &str,
    values: &[f64],
    round: u32,
    replications: Option<u64>,
) -> Result<String, PowerError> {
    use toml::Value as V;
    let fail = |what: String| PowerError::Refinement(what);
    let mut root: toml::Table = source
        .parse()
        .map_err(|e: toml::de::Error| fail(e.message().to_string()))?;
    let parameters = root
        .get_mut("parameters")
        .and_then(V::as_table_mut)
        .ok_or_else(|| fail("the study has no [parameters]".into()))?;
    if !parameters.get(factor).is_some_and(|v| v.is_array()) {
        return Err(fail(format!(
            "`{factor}` is not a list of values in [parameters]"
        )));
    }
    let level = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 9e15 {
            V::Integer(x as i64)
        } else {
            V::Float(x)
        }
    };
    parameters.insert(
        factor.to_string(),
        V::Array(values.iter().map(|x| level(*x)).collect()),
    );
    let study = root
        .get_mut("study")
        .and_then(V::as_table_mut)
        .ok_or_else(|| fail("the study has no [study]".into()))?;
    let seed = study.get("seed").and_then(V::as_integer).unwrap_or(0);
    let seed = seed
        .checked_add(i64::from(round) << 32)
        .ok_or_else(|| fail(format!("the seed {seed} is too large to offset")))?;
    study.insert("seed".into(), V::Integer(seed));
    if let Some(r) = replications {
        let r = i64::try_from(r).map_err(|_| fail(format!("{r} replications")))?;
        study.insert("replications".into(), V::Integer(r));
    }
    let text = toml::to_string(&root).map_err(|e| fail(e.to_string()))?;
    Ok(format!(
        "# Refinement {round} of a power search over `{factor}`, written by parsim power --refine.\n{text}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64, p: f64, n: u64) -> PowerPoint {
        PowerPoint {
            value,
            power: Value::new(p, (p * (1.0 - p) / n as f64).sqrt()),
            tests: n,
            replications: n,
            source: String::new(),
        }
    }

    #[test]
    fn linear_interpolation_on_linear_scales_is_exact() {
        let curve = PowerCurve {
            fixed: vec![],
            points: vec![point(10.0, 0.5, 400), point(20.0, 0.9, 400)],
        };
        let how = Interpolation {
            power: PowerScale::Linear,
            factor: FactorScale::Linear,
            level: 0.95,
        };
        let c = curve.crossing(0.8, how).unwrap().unwrap();
        // 10 + 10 (0.8 − 0.5)/(0.9 − 0.5) = 17.5
        assert!((c.value - 17.5).abs() < 1e-12);
        // SE: h/(b−a)² √[(b−c)² var_a + (c−a)² var_b] with var = p(1 − p)/400.
        let (va, vb): (f64, f64) = (0.25 / 400.0, 0.09 / 400.0);
        let se = 10.0 / 0.16 * (0.01 * va + 0.09 * vb).sqrt();
        assert!((c.se - se).abs() < 1e-6, "{} vs {se}", c.se);
        assert!((c.upper - c.value - 1.959964 * se).abs() < 1e-4);
    }

    #[test]
    fn a_probit_curve_in_sqrt_n_is_recovered_exactly() {
        // power = Φ(0.4 √n − 1.96): probit(power) is linear in √n, so the interpolation has no error.
        let normal = Normal::standard();
        let power = |n: f64| normal.cdf(0.4 * n.sqrt() - 1.96);
        let curve = PowerCurve {
            fixed: vec![],
            points: [10.0, 40.0, 90.0]
                .into_iter()
                .map(|n| point(n, power(n), 1000))
                .collect(),
        };
        let how = Interpolation {
            factor: FactorScale::Sqrt,
            ..Interpolation::default()
        };
        let c = curve.crossing(0.8, how).unwrap().unwrap();
        let exact = ((1.96 + normal.inverse_cdf(0.8)) / 0.4).powi(2);
        assert!((c.value - exact).abs() < 1e-9, "{} vs {exact}", c.value);
        assert_eq!(c.bracket, (40.0, 90.0));
        assert!(c.lower < exact && exact < c.upper);
    }

    #[test]
    fn no_bracket_no_crossing_and_bad_targets_are_refused() {
        let curve = PowerCurve {
            fixed: vec![],
            points: vec![point(10.0, 0.2, 100), point(20.0, 0.3, 100)],
        };
        assert_eq!(curve.crossing(0.8, Interpolation::default()), Ok(None));
        assert_eq!(
            curve.crossing(1.5, Interpolation::default()),
            Err(PowerError::Target(1.5))
        );
    }

    #[test]
    fn a_refinement_sets_the_factor_and_offsets_the_seed() {
        let source = "[study]\nname = \"s\"\nreplications = 10\nseed = 7\n[parameters]\nG = [10, 40]\nb = 1\n";
        let text = refinement_study(source, "G", &[20.0, 30.0], 2, Some(50)).unwrap();
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["parameters"]["G"],
            toml::Value::try_from([20, 30]).unwrap()
        );
        assert_eq!(table["study"]["seed"].as_integer(), Some(7 + (2 << 32)));
        assert_eq!(table["study"]["replications"].as_integer(), Some(50));
        assert!(refinement_study(source, "b", &[2.0], 1, None).is_err());
    }

    #[test]
    fn refinement_points_are_new_and_inside_the_bracket() {
        let crossing = Crossing {
            value: 15.0,
            se: 1.0,
            lower: 13.0,
            upper: 17.0,
            bracket: (10.0, 20.0),
        };
        let how = Interpolation::default();
        assert_eq!(
            refinement_points(&crossing, 4, true, how, &[14.0]),
            vec![12.0, 16.0, 18.0]
        );
    }
}
