//! Errors of model building ([`ModelError`]) and fitting ([`FitError`]).

/// The formula does not fit the model kind or the data's columns.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A formula column is not in the data.
    #[error("unknown column '{name}'{}", suggestion_note(name, suggestion.as_deref()))]
    UnknownColumn {
        /// The name in the formula.
        name: String,
        /// The closest column name in the data, if any is close.
        suggestion: Option<String>,
    },
    /// A mixed model was asked for a formula without random-effects terms.
    #[error("the formula has no random-effects term such as (1 | g): use OLS, or add one")]
    NoRandomTerms,
    /// OLS was asked for a formula with random-effects terms.
    #[error("the formula has random-effects terms: fit it as a mixed model")]
    RandomTermsInOls,
    /// A GLM was asked for a formula with random-effects terms.
    #[error(
        "the formula has random-effects terms: fit it as a generalised linear mixed model (glmm)"
    )]
    RandomTermsInGlm,
    /// A `cbind(successes, failures)` response was given to a linear model.
    #[error("cbind(successes, failures) is a binomial response: fit it with family = binomial (a GLM or GLMM)")]
    CountsResponse,
    /// The response is categorical.
    #[error("the response '{0}' is not numeric")]
    NonNumericResponse(String),
    /// A column has no rows.
    #[error("the data have no rows")]
    NoRows,
    /// A text column is used where numbers are needed (inside `I()`, a function, weights).
    #[error("column '{0}' is not numeric: it cannot be used in arithmetic or as weights")]
    NonNumericColumn(String),
    /// A computed variable of the formula (`poly()`, `I()`, ...) cannot be formed on these data.
    #[error("{0}")]
    Frame(String),
    /// Contrasts were asked for a variable that is not a categorical variable of the formula.
    #[error("contrasts for '{0}': the formula has no categorical variable of that name")]
    UnknownContrast(String),
}

/// Why a fit could not be done. Messages name the column or term concerned.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FitError {
    /// The model does not match the data.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A numeric column has NaN or infinite values.
    #[error("column '{column}' has a non-finite value (NaN or infinite) in row {row}; drop or fix missing values first")]
    NonFinite {
        /// The column.
        column: String,
        /// 1-based row.
        row: usize,
    },
    /// A grouping factor has fewer than two levels.
    #[error("grouping factor '{0}' has only one level: a random effect needs at least two")]
    OneLevel(String),
    /// More random effects than observations (lme4: "number of levels of each grouping factor must be < number of observations").
    #[error("grouping factor '{group}' has {levels} levels x {effects} effects = {total} random effects, not fewer than the {nobs} observations")]
    TooManyRandomEffects {
        /// The grouping factor.
        group: String,
        /// Its levels.
        levels: usize,
        /// Random effects per level.
        effects: usize,
        /// levels x effects.
        total: usize,
        /// Observations.
        nobs: usize,
    },
    /// The response does not vary.
    #[error("the response '{0}' is constant: there is nothing to fit")]
    ConstantResponse(String),
    /// The fixed-effects matrix has no full-rank part.
    #[error("the fixed-effects model matrix is rank deficient: {0}")]
    RankDeficient(String),
    /// The data have no usable rows or fewer rows than parameters.
    #[error("{0}")]
    TooFewObservations(String),
    /// A column of the data has a different length from the others.
    #[error("column '{column}' has {len} values but the data have {nrows} rows")]
    Length {
        /// The column.
        column: String,
        /// Its length.
        len: usize,
        /// Rows of the table.
        nrows: usize,
    },
    /// A formula function cannot be computed on these data (e.g. `poly(x, 3)` of x with 3 values).
    #[error("{term}: {message}")]
    Transform {
        /// The variable as R labels it (`poly(x, 3)`).
        term: String,
        /// What is wrong.
        message: String,
    },
    /// A prior weight is not a positive finite number.
    #[error("weights column '{column}' has the value {value} in row {row}: weights must be positive and finite")]
    BadWeight {
        /// The weights column.
        column: String,
        /// 1-based row.
        row: usize,
        /// The value.
        value: f64,
    },
    /// The criterion could not be evaluated anywhere (numerical breakdown).
    #[error("the fit failed numerically: {0}")]
    Numerical(String),
}

/// The note after an unknown column: a column that differs only in white space is named as such (a
/// header written `y, x` has a column ` x`), any other near miss as a suggestion.
fn suggestion_note(name: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) if s.trim() == name.trim() => {
            format!(" (the data have '{s}', which differs from it only in white space)")
        }
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

/// The column of `columns` called `name` but for white space around it, else the nearest by
/// [`did_you_mean`].
pub(crate) fn column_suggestion(name: &str, columns: Vec<String>) -> Option<String> {
    match columns.iter().find(|c| c.trim() == name.trim()) {
        Some(c) => Some(c.clone()),
        None => did_you_mean(name, columns),
    }
}

/// What to say after "unknown column 'NAME'" given the data's `columns`: the column that differs only in
/// white space, or a near miss, or nothing (with a leading space when not empty).
pub fn unknown_column_note(name: &str, columns: Vec<String>) -> String {
    suggestion_note(name, column_suggestion(name, columns).as_deref())
}

/// The candidate nearest to `name`, ignoring case, by optimal string alignment distance (Levenshtein plus
/// adjacent transpositions), when within a third of `name`'s length (at least 1, at most 3 edits): the
/// one rule behind every "did you mean" of parsim, for columns, keys, functions and methods alike.
/// A candidate equal to `name` is not a suggestion.
pub fn did_you_mean<S: AsRef<str>>(
    name: &str,
    candidates: impl IntoIterator<Item = S>,
) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| c.as_ref() != name)
        .map(|c| (edit_distance(&lower, &c.as_ref().to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_ref().to_string())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = vec!["response".to_string(), "group".to_string(), "X".to_string()];
        assert_eq!(did_you_mean("respons", &names).as_deref(), Some("response"));
        assert_eq!(did_you_mean("Group", &names).as_deref(), Some("group"));
        assert_eq!(did_you_mean("temperature", &names), None);
        // A swap of neighbours is one edit; an exact name is no suggestion.
        assert_eq!(did_you_mean("gropu", ["group"]).as_deref(), Some("group"));
        assert_eq!(did_you_mean("group", ["group"]), None);
    }
}
