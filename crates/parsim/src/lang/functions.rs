//! The functions of the data language: numpy's names, parameter names, order and defaults.

/// ArgDefault of a parameter when the call omits it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ArgDefault {
    /// The caller must give it.
    Required,
    /// A float default (`loc=0.0`).
    Float(f64),
    /// An integer default (`decimals=0`, `endpoint=False`).
    Int(i64),
    /// numpy's `None` (`size=None`: one draw per broadcast parameter element).
    None,
}

/// A random distribution: a `parsim_random::Generator` fill method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dist {
    Random,
    StandardNormal,
    Normal,
    Uniform,
    Integers,
    StandardExponential,
    Exponential,
    Binomial,
    Poisson,
    Gamma,
    Chisquare,
    StandardT,
    Lognormal,
    Beta,
}

/// How a distribution parameter is typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    /// Float, integers are converted.
    Float,
    /// Integer only (`integers` bounds, `binomial` n).
    Int,
}

impl Dist {
    /// Parameter types, in numpy's order (without `size` and `endpoint`).
    pub(crate) fn param_types(self) -> &'static [ParamType] {
        use ParamType::*;
        match self {
            Dist::Random | Dist::StandardNormal | Dist::StandardExponential => &[],
            Dist::Normal | Dist::Uniform | Dist::Gamma | Dist::Lognormal | Dist::Beta => {
                &[Float, Float]
            }
            Dist::Integers => &[Int, Int],
            Dist::Binomial => &[Int, Float],
            Dist::Exponential | Dist::Poisson | Dist::Chisquare | Dist::StandardT => &[Float],
        }
    }

    /// Whether the draws are integers.
    pub(crate) fn integer_output(self) -> bool {
        matches!(self, Dist::Integers | Dist::Binomial | Dist::Poisson)
    }
}

/// Deterministic functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    Exp,
    Log,
    Log1p,
    Sqrt,
    Abs,
    Expit,
    Logit,
    Floor,
    Round,
    Clip,
    Where,
    Minimum,
    Maximum,
    Arange,
    Repeat,
    Tile,
    Zeros,
    Ones,
    Sum,
    Mean,
    Cumsum,
    Len,
    Concatenate,
}

/// numpy's sampling methods that are not one distribution's fill: they draw indices or whole rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sampler {
    Choice,
    Permutation,
    MultivariateNormal,
}

/// What a function name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FunctionKind {
    Random(Dist),
    Sampler(Sampler),
    Builtin(Builtin),
}

/// A function's signature.
pub(crate) struct Signature {
    pub name: &'static str,
    pub kind: FunctionKind,
    pub params: &'static [(&'static str, ArgDefault)],
}

use ArgDefault::{Int as DI, None as DN, Required as R};

const F0: ArgDefault = ArgDefault::Float(0.0);
const F1: ArgDefault = ArgDefault::Float(1.0);

/// Every function, in the order the documentation lists them.
pub(crate) const FUNCTIONS: &[Signature] = &[
    sig_r("random", Dist::Random, &[("size", DN)]),
    sig_r("standard_normal", Dist::StandardNormal, &[("size", DN)]),
    sig_r(
        "normal",
        Dist::Normal,
        &[("loc", F0), ("scale", F1), ("size", DN)],
    ),
    sig_r(
        "uniform",
        Dist::Uniform,
        &[("low", F0), ("high", F1), ("size", DN)],
    ),
    sig_r(
        "integers",
        Dist::Integers,
        &[("low", R), ("high", DN), ("size", DN), ("endpoint", DI(0))],
    ),
    sig_r(
        "standard_exponential",
        Dist::StandardExponential,
        &[("size", DN)],
    ),
    sig_r(
        "exponential",
        Dist::Exponential,
        &[("scale", F1), ("size", DN)],
    ),
    sig_r(
        "binomial",
        Dist::Binomial,
        &[("n", R), ("p", R), ("size", DN)],
    ),
    sig_r("poisson", Dist::Poisson, &[("lam", F1), ("size", DN)]),
    sig_r(
        "gamma",
        Dist::Gamma,
        &[("shape", R), ("scale", F1), ("size", DN)],
    ),
    sig_r("chisquare", Dist::Chisquare, &[("df", R), ("size", DN)]),
    sig_r("standard_t", Dist::StandardT, &[("df", R), ("size", DN)]),
    sig_r(
        "lognormal",
        Dist::Lognormal,
        &[("mean", F0), ("sigma", F1), ("size", DN)],
    ),
    sig_r("beta", Dist::Beta, &[("a", R), ("b", R), ("size", DN)]),
    sig_s(
        "choice",
        Sampler::Choice,
        &[
            ("a", R),
            ("size", DN),
            ("replace", DI(1)),
            ("p", DN),
            ("shuffle", DI(1)),
        ],
    ),
    sig_s("permutation", Sampler::Permutation, &[("x", R)]),
    sig_s(
        "multivariate_normal",
        Sampler::MultivariateNormal,
        &[("mean", R), ("cov", R), ("size", DN), ("method", DN)],
    ),
    sig_b("exp", Builtin::Exp, &[("x", R)]),
    sig_b("log", Builtin::Log, &[("x", R)]),
    sig_b("log1p", Builtin::Log1p, &[("x", R)]),
    sig_b("sqrt", Builtin::Sqrt, &[("x", R)]),
    sig_b("abs", Builtin::Abs, &[("x", R)]),
    sig_b("expit", Builtin::Expit, &[("x", R)]),
    sig_b("logit", Builtin::Logit, &[("x", R)]),
    sig_b("floor", Builtin::Floor, &[("x", R)]),
    sig_b("round", Builtin::Round, &[("a", R), ("decimals", DN)]),
    sig_b(
        "clip",
        Builtin::Clip,
        &[("a", R), ("a_min", R), ("a_max", R)],
    ),
    sig_b(
        "where",
        Builtin::Where,
        &[("condition", R), ("x", R), ("y", R)],
    ),
    sig_b("minimum", Builtin::Minimum, &[("x1", R), ("x2", R)]),
    sig_b("maximum", Builtin::Maximum, &[("x1", R), ("x2", R)]),
    sig_b(
        "arange",
        Builtin::Arange,
        &[("start", R), ("stop", DN), ("step", DI(1))],
    ),
    sig_b("repeat", Builtin::Repeat, &[("a", R), ("repeats", R)]),
    sig_b("tile", Builtin::Tile, &[("A", R), ("reps", R)]),
    sig_b("zeros", Builtin::Zeros, &[("shape", R)]),
    sig_b("ones", Builtin::Ones, &[("shape", R)]),
    sig_b("sum", Builtin::Sum, &[("a", R)]),
    sig_b("mean", Builtin::Mean, &[("a", R)]),
    sig_b("cumsum", Builtin::Cumsum, &[("a", R)]),
    sig_b("len", Builtin::Len, &[("obj", R)]),
    sig_b("concatenate", Builtin::Concatenate, &[("arrays", R)]),
];

const fn sig_s(
    name: &'static str,
    s: Sampler,
    params: &'static [(&'static str, ArgDefault)],
) -> Signature {
    Signature {
        name,
        kind: FunctionKind::Sampler(s),
        params,
    }
}

const fn sig_r(
    name: &'static str,
    d: Dist,
    params: &'static [(&'static str, ArgDefault)],
) -> Signature {
    Signature {
        name,
        kind: FunctionKind::Random(d),
        params,
    }
}

const fn sig_b(
    name: &'static str,
    b: Builtin,
    params: &'static [(&'static str, ArgDefault)],
) -> Signature {
    Signature {
        name,
        kind: FunctionKind::Builtin(b),
        params,
    }
}

/// The signature of a function name.
pub(crate) fn lookup(name: &str) -> Option<&'static Signature> {
    FUNCTIONS.iter().find(|s| s.name == name)
}

/// Every function name (for suggestions and documentation).
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|s| s.name)
}

impl Signature {
    /// `normal(loc, scale, size)`: for messages.
    pub(crate) fn display(&self) -> String {
        let names: Vec<&str> = self.params.iter().map(|p| p.0).collect();
        format!("{}({})", self.name, names.join(", "))
    }
}
