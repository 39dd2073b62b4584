//! Test fixtures shared by the unit tests of several modules.

/// A small study of two conditions (N = 40 and 70 rows in 5 groups) with two methods, a random-intercept
/// model `ri` and OLS `ols`, and the slope's true value -0.5: cheap to run, and every part of a run
/// (mixed-model and OLS rows, variance components, failures-free fits) shows in its store.
pub(crate) fn two_method_study(name: &str, replications: u64, seed: u64) -> String {
    format!(
        r#"
[study]
name = "{name}"
replications = {replications}
seed = {seed}

[parameters]
N = [40, 70]
n_groups = 5
beta1 = -0.5

[data]
program = """
X = normal(0, 1, N)
group = integers(0, n_groups, N)
u = normal(0, 1, n_groups)
response = 1 + u[group] + beta1 * X + normal(0, 1, N)
"""

[methods.ri]
model = "lmm"
formula = "response ~ X + (1 | group)"

[methods.ols]
model = "ols"
formula = "response ~ X"

[estimands]
X = "beta1"
"#
    )
}
