//! From formula terms and data to model-matrix columns: variable kinds, factor levels (sorted, as R's
//! `factor()`), treatment contrasts with R's coding rule and lme4's column names, grouping factors.
//!
//! Everything here is built once per data shape; the per-fit work ([`LevelMap::encode`],
//! [`Design::fill_column`]) writes into buffers owned by the caller and allocates nothing while the
//! levels stay the same.

use crate::data::{ColumnRef, Columns};
use crate::error::{FitError, ModelError};
use crate::formula::{Formula, Source, TermList};
use crate::frame::{column, matrix_column_names, ModelFrame};
use std::collections::BTreeMap;

// The formula is the bottom layer: it knows no data. What needs the data's columns to be answered
// (the column names of the fixed part, which depend on factor levels) is implemented here.
impl Formula {
    /// Names of the fixed-effects columns as lme4 names them: `(Intercept)`, `X`, `recipeB`, `recipeB:temp`.
    /// Categorical columns need the data to know their levels.
    /// Computed variables (`poly()`, `I()`) are formed from the data; a failure to form one is a
    /// [`ModelError::Frame`].
    pub fn fixed_term_names(&self, data: &dyn Columns) -> Result<Vec<String>, ModelError> {
        self.fixed_term_names_with(data, &BTreeMap::new())
    }

    /// The formula's categorical variables by label (`Diet`, `factor(Diet)`): its text columns,
    /// the columns the data mark as factors and inline `factor()`s, whose coding `contrasts` choose.
    pub fn categorical_variables(&self, data: &dyn Columns) -> Result<Vec<String>, ModelError> {
        self.with_vars(data, &BTreeMap::new(), |vars| {
            let categorical = vars.kinds.iter().zip(&vars.names);
            categorical
                .filter(|(kind, _)| matches!(kind, Kind::Categorical(_)))
                .map(|(_, name)| name.clone())
                .collect()
        })
    }

    /// As [`Formula::fixed_term_names`], with contrasts per categorical variable (see
    /// [`Contrast`]).
    pub fn fixed_term_names_with(
        &self,
        data: &dyn Columns,
        contrasts: &BTreeMap<String, Contrast>,
    ) -> Result<Vec<String>, ModelError> {
        self.with_vars(data, contrasts, |vars| {
            Design::from_vars(&self.fixed, vars).names()
        })
    }

    /// `read` of the variables of the formula resolved against `data` (through a model frame when
    /// the formula computes variables).
    fn with_vars<T>(
        &self,
        data: &dyn Columns,
        contrasts: &BTreeMap<String, Contrast>,
        read: impl FnOnce(&VarTable) -> T,
    ) -> Result<T, ModelError> {
        let mut frame = ModelFrame::default();
        if !self.is_plain() {
            frame.update(self, data, None).map_err(|e| match e {
                crate::FitError::Model(m) => m,
                other => ModelError::Frame(other.to_string()),
            })?;
        }
        let view = frame.view(data);
        let data: &dyn Columns = if self.is_plain() { data } else { &view };
        Ok(read(&VarTable::resolve(self, data, contrasts)?))
    }
}

/// How a categorical variable's levels are coded when the model has its margin (R's `contrasts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Contrast {
    /// `contr.treatment` (R's default): one indicator per level but the first, named `xB`, `xC`.
    #[default]
    Treatment,
    /// `contr.sum`: level j's indicator minus the last level's, for j = 1..K−1, named `x1`, `x2`, ...
    Sum,
}

impl Contrast {
    /// The coding R names `contr.sum` or `contr.treatment` (or `sum`, `treatment`).
    pub fn from_r_name(name: &str) -> Option<Contrast> {
        match name.strip_prefix("contr.").unwrap_or(name) {
            "sum" => Some(Contrast::Sum),
            "treatment" => Some(Contrast::Treatment),
            _ => None,
        }
    }
}

/// Sorted distinct values of a categorical column: its levels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LevelMap {
    Text(Vec<String>),
    Int(Vec<i64>),
    Float(Vec<f64>),
}

impl LevelMap {
    /// The levels present in `column`, sorted (text by bytes, numbers numerically).
    pub fn from_column(column: ColumnRef<'_>) -> LevelMap {
        match column {
            ColumnRef::Text(v) => {
                let mut levels: Vec<String> = v.to_vec();
                levels.sort_unstable();
                levels.dedup();
                LevelMap::Text(levels)
            }
            ColumnRef::Int(v) => LevelMap::Int(sorted_ints(v)),
            ColumnRef::Float(v) => {
                let mut levels: Vec<f64> = v.to_vec();
                levels.sort_unstable_by(f64::total_cmp);
                levels.dedup();
                LevelMap::Float(levels)
            }
        }
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        match self {
            LevelMap::Text(l) => l.len(),
            LevelMap::Int(l) => l.len(),
            LevelMap::Float(l) => l.len(),
        }
    }

    /// Level labels as R prints them.
    pub fn label(&self, level: usize) -> String {
        match self {
            LevelMap::Text(l) => l[level].clone(),
            LevelMap::Int(l) => l[level].to_string(),
            LevelMap::Float(l) => format!("{}", l[level]),
        }
    }

    /// Writes each row's level index into `codes` and returns true, or returns false when the
    /// column's level set differs from this map's (a value not in it, or a level not present):
    /// the caller then rebuilds the map. `seen` is scratch of at least `len()` entries.
    pub fn encode(&self, column: ColumnRef<'_>, codes: &mut [u32], seen: &mut [bool]) -> bool {
        let seen = &mut seen[..self.len()];
        seen.fill(false);
        let ok = match (self, column) {
            (LevelMap::Text(levels), ColumnRef::Text(values)) => {
                encode_with(values, codes, seen, |v| {
                    levels.binary_search_by(|l| l.as_str().cmp(v.as_str())).ok()
                })
            }
            (LevelMap::Int(levels), ColumnRef::Int(values)) => {
                if let Some(first) = consecutive_levels(self) {
                    encode_consecutive(values, first, codes, seen)
                } else {
                    encode_with(values, codes, seen, |v| levels.binary_search(v).ok())
                }
            }
            (LevelMap::Float(levels), ColumnRef::Float(values)) => {
                encode_with(values, codes, seen, |v| {
                    levels.binary_search_by(|l| l.total_cmp(v)).ok()
                })
            }
            _ => false,
        };
        ok && seen.iter().all(|s| *s)
    }
}

/// Codes of integer values whose levels are `first`, `first + 1`, ...: the code is the offset, found
/// without a search or a branch per row (groups interleave row by row in simulated data, so a
/// "same as the previous row" shortcut mispredicts). False when a value is out of range.
fn encode_consecutive(values: &[i64], first: i64, codes: &mut [u32], seen: &mut [bool]) -> bool {
    let Some(last) = (seen.len() as u64).checked_sub(1) else {
        return values.is_empty();
    };
    let mut outside = false;
    for (code, &v) in codes.iter_mut().zip(values) {
        let offset = v.wrapping_sub(first) as u64;
        outside |= offset > last;
        let level = offset.min(last) as usize;
        *code = level as u32;
        seen[level] = true;
    }
    !outside
}

/// The values and smallest level of an integer column whose levels are consecutive integers.
fn consecutive_levels(map: &LevelMap) -> Option<i64> {
    match map {
        LevelMap::Int(levels) => {
            let first = *levels.first()?;
            let last = *levels.last()?;
            (last - first == levels.len() as i64 - 1).then_some(first)
        }
        _ => None,
    }
}

fn sorted_ints(values: &[i64]) -> Vec<i64> {
    let mut levels = values.to_vec();
    levels.sort_unstable();
    levels.dedup();
    levels
}

#[inline]
fn encode_with<T: PartialEq>(
    values: &[T],
    codes: &mut [u32],
    seen: &mut [bool],
    find: impl Fn(&T) -> Option<usize>,
) -> bool {
    // Rows usually come in runs of one group: a value equal to the previous row's skips the search.
    let mut last: Option<(&T, u32)> = None;
    for (code, value) in codes.iter_mut().zip(values) {
        if let Some((previous, level)) = last {
            if previous == value {
                *code = level;
                continue;
            }
        }
        match find(value) {
            Some(level) => {
                *code = level as u32;
                seen[level] = true;
                last = Some((value, level as u32));
            }
            None => return false,
        }
    }
    true
}

/// How a variable enters the model: as a number, through its levels, or as several numeric
/// columns (`poly(x, k)`: the variables of its columns, which follow the formula's variables).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Numeric,
    Categorical(LevelMap),
    Matrix(Vec<usize>),
}

/// The kind of every formula variable, resolved against one data set (a model frame's view when
/// the formula computes variables): the formula's variables by their R labels, then the columns
/// of its matrix variables.
#[derive(Clone, Debug)]
pub(crate) struct VarTable {
    pub kinds: Vec<Kind>,
    pub names: Vec<String>,
    /// Per variable: sum-to-zero contrasts instead of treatment contrasts.
    pub sum_contrasts: Vec<bool>,
}

impl VarTable {
    /// Resolves every variable of `formula` in `data`: text, `--factor` and `factor(x)` columns are
    /// categorical; `contrasts` names the categorical variables (by label) coded otherwise than
    /// by treatment contrasts.
    pub fn resolve(
        formula: &Formula,
        data: &dyn Columns,
        contrasts: &BTreeMap<String, Contrast>,
    ) -> Result<VarTable, ModelError> {
        let mut names: Vec<String> = formula.labels().to_vec();
        let mut kinds = Vec::with_capacity(names.len());
        let mut matrix_columns = Vec::new();
        for (var, source) in formula.sources.iter().enumerate() {
            if let Source::Poly { degree, .. } = source {
                let first = names.len() + matrix_columns.len();
                matrix_columns.extend(matrix_column_names(&names[var], *degree));
                kinds.push(Kind::Matrix((first..first + degree).collect()));
                continue;
            }
            let name = &names[var];
            let col = column(data, name)?;
            let categorical = matches!(col, ColumnRef::Text(_)) || data.is_factor(name);
            kinds.push(if categorical {
                Kind::Categorical(LevelMap::from_column(col))
            } else {
                Kind::Numeric
            });
        }
        if !matches!(kinds[0], Kind::Numeric) {
            return Err(ModelError::NonNumericResponse(names[0].clone()));
        }
        for name in matrix_columns {
            column(data, &name)?;
            names.push(name);
            kinds.push(Kind::Numeric);
        }
        let mut sum_contrasts = vec![false; names.len()];
        for (name, contrast) in contrasts {
            let var = names.iter().position(|n| n == name);
            match var.map(|v| (v, &kinds[v])) {
                Some((v, Kind::Categorical(_))) => sum_contrasts[v] = *contrast == Contrast::Sum,
                _ => return Err(ModelError::UnknownContrast(name.clone())),
            }
        }
        Ok(VarTable {
            kinds,
            names,
            sum_contrasts,
        })
    }
}

/// One factor of a model-matrix column: a numeric variable, or the indicator of one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Numeric(usize),
    Level(usize, u32),
    /// Sum-to-zero contrast j of a factor with `last` + 1 levels: 1 at level j, −1 at the last.
    Sum(usize, u32, u32),
}

/// One model-matrix column: the product of its parts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DesignColumn {
    pub name: String,
    pub parts: Vec<Part>,
}

/// The model-matrix columns of a term list (fixed part, or one random term's left-hand side).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Design {
    pub intercept: bool,
    pub columns: Vec<DesignColumn>,
}

impl Design {
    /// Model-matrix columns of `list` with R's coding rule: a factor in a term gets contrasts
    /// (treatment or sum) when the term without it is in the model (the intercept counting as the
    /// empty term), else indicator columns for all levels; without an intercept, the first factor
    /// gets all levels. A matrix variable contributes each of its columns.
    pub fn from_vars(list: &TermList, vars: &VarTable) -> Design {
        Design::coded(list, vars, true)
    }

    /// As [`Design::from_vars`] for the left-hand side of a random-effects term: lme4 applies the
    /// `contrasts` option to the fixed effects only, so factors here always get treatment
    /// contrasts.
    pub fn random_effects(list: &TermList, vars: &VarTable) -> Design {
        Design::coded(list, vars, false)
    }

    /// The columns of `list`, with the variables' chosen contrasts when `contrasts`, else with
    /// treatment contrasts.
    fn coded(list: &TermList, vars: &VarTable, contrasts: bool) -> Design {
        let mut columns = Vec::new();
        let mut first_factor_full = !list.intercept;
        for (index, term) in list.terms.iter().enumerate() {
            let earlier = &list.terms[..index];
            // Per variable of the term: the levels it contributes (None for a numeric variable).
            let mut codings: Vec<(usize, Coding)> = Vec::new();
            for &var in term {
                match &vars.kinds[var] {
                    Kind::Numeric => codings.push((var, Coding::Numeric)),
                    Kind::Matrix(columns) => codings.push((var, Coding::Matrix(columns))),
                    Kind::Categorical(levels) => {
                        let rest: Vec<usize> = term.iter().copied().filter(|&v| v != var).collect();
                        let margin_present = rest.is_empty() || earlier.contains(&rest);
                        let full = if rest.is_empty() && first_factor_full {
                            first_factor_full = false;
                            true
                        } else {
                            !margin_present
                        };
                        let k = levels.len() as u32;
                        codings.push((
                            var,
                            if full {
                                Coding::Levels(0, k)
                            } else if contrasts && vars.sum_contrasts[var] {
                                Coding::Sum(k)
                            } else {
                                Coding::Levels(1, k)
                            },
                        ));
                    }
                }
            }
            // Kronecker order: the first variable varies fastest, as R's model.matrix.
            let mut combos: Vec<Vec<Part>> = vec![Vec::new()];
            for (var, coding) in &codings {
                let parts: Vec<Part> = match coding {
                    Coding::Numeric => vec![Part::Numeric(*var)],
                    Coding::Matrix(columns) => columns.iter().map(|&c| Part::Numeric(c)).collect(),
                    Coding::Levels(start, end) => {
                        (*start..*end).map(|l| Part::Level(*var, l)).collect()
                    }
                    Coding::Sum(k) => (0..k - 1).map(|l| Part::Sum(*var, l, k - 1)).collect(),
                };
                let mut next = Vec::new();
                for part in parts {
                    for c in &combos {
                        next.push([c.as_slice(), &[part]].concat());
                    }
                }
                combos = next;
            }
            for parts in combos {
                let name = parts
                    .iter()
                    .map(|p| part_name(p, vars))
                    .collect::<Vec<_>>()
                    .join(":");
                columns.push(DesignColumn { name, parts });
            }
        }
        Design {
            intercept: list.intercept,
            columns,
        }
    }

    /// Column names, `(Intercept)` first when present.
    pub fn names(&self) -> Vec<String> {
        let intercept = self.intercept.then(|| "(Intercept)".to_string());
        intercept
            .into_iter()
            .chain(self.columns.iter().map(|c| c.name.clone()))
            .collect()
    }

    /// Number of columns including the intercept.
    pub fn width(&self) -> usize {
        usize::from(self.intercept) + self.columns.len()
    }
}

/// How one variable of a term enters its columns.
enum Coding<'a> {
    Numeric,
    Matrix(&'a [usize]),
    /// Indicators of the levels start..end.
    Levels(u32, u32),
    /// Sum-to-zero contrasts of k levels.
    Sum(u32),
}

fn part_name(part: &Part, vars: &VarTable) -> String {
    match *part {
        Part::Numeric(var) => vars.names[var].clone(),
        Part::Level(var, level) => match &vars.kinds[var] {
            Kind::Categorical(levels) => {
                format!("{}{}", vars.names[var], levels.label(level as usize))
            }
            _ => vars.names[var].clone(),
        },
        Part::Sum(var, level, _) => format!("{}{}", vars.names[var], level + 1),
    }
}

/// Numeric values of a column as f64 (for the response and numeric covariates), checked finite.
pub(crate) fn numeric_value(column: ColumnRef<'_>, row: usize) -> f64 {
    match column {
        ColumnRef::Float(v) => v[row],
        ColumnRef::Int(v) => v[row] as f64,
        ColumnRef::Text(_) => f64::NAN,
    }
}

/// The first non-finite value of a numeric column, as an error.
pub(crate) fn check_finite(name: &str, column: ColumnRef<'_>) -> Result<(), FitError> {
    if let ColumnRef::Float(v) = column {
        if let Some(row) = v.iter().position(|x| !x.is_finite()) {
            return Err(FitError::NonFinite {
                column: name.to_string(),
                row: row + 1,
            });
        }
    }
    Ok(())
}

/// Per-fit encoded data for a set of variables: the level code of every row for categorical ones.
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    /// codes[var] (empty for numeric variables).
    pub codes: Vec<Vec<u32>>,
    seen: Vec<bool>,
    /// Variables no model-matrix column reads (e.g. a grouping factor, whose own codes and level
    /// check are in [`GroupingFactor`]): not encoded here.
    skip: Vec<bool>,
}

impl Encoded {
    /// Leaves out the grouping variables `grouping` that no column of `designs` reads.
    pub fn without_groupings(designs: &[&Design], grouping: &[usize], nvars: usize) -> Encoded {
        let mut skip = vec![false; nvars];
        for &var in grouping {
            skip[var] = true;
        }
        for part in designs
            .iter()
            .flat_map(|d| &d.columns)
            .flat_map(|c| &c.parts)
        {
            if let Part::Level(var, _) | Part::Sum(var, ..) = *part {
                skip[var] = false;
            }
        }
        Encoded {
            skip,
            ..Encoded::default()
        }
    }

    /// Encodes every categorical variable of `vars` in `data` that a column reads; false when some
    /// level set changed.
    pub fn encode(&mut self, vars: &VarTable, data: &dyn Columns) -> Result<bool, FitError> {
        let n = data.nrows();
        self.codes.resize_with(vars.kinds.len(), Vec::new);
        for (var, kind) in vars.kinds.iter().enumerate() {
            if matches!(kind, Kind::Matrix(_)) {
                // Its columns are variables of their own.
                continue;
            }
            let col = column(data, &vars.names[var])?;
            if col.len() != n {
                return Err(FitError::Length {
                    column: vars.names[var].clone(),
                    len: col.len(),
                    nrows: n,
                });
            }
            if self.skip.get(var).copied().unwrap_or(false) {
                continue;
            }
            if let Kind::Categorical(levels) = kind {
                self.codes[var].resize(n, 0);
                if self.seen.len() < levels.len() {
                    self.seen.resize(levels.len(), false);
                }
                if !levels.encode(col, &mut self.codes[var], &mut self.seen) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// Fills `out` with column `c` of a design: the product of its parts over all rows.
pub(crate) fn fill_column(
    parts: &[Part],
    data: &dyn Columns,
    vars: &VarTable,
    encoded: &Encoded,
    out: &mut [f64],
) {
    out.fill(1.0);
    for part in parts {
        match *part {
            Part::Numeric(var) => {
                if let Some(col) = data.column(&vars.names[var]) {
                    for (row, o) in out.iter_mut().enumerate() {
                        *o *= numeric_value(col, row);
                    }
                }
            }
            Part::Level(var, level) => {
                for (o, &code) in out.iter_mut().zip(&encoded.codes[var]) {
                    if code != level {
                        *o = 0.0;
                    }
                }
            }
            Part::Sum(var, level, last) => {
                for (o, &code) in out.iter_mut().zip(&encoded.codes[var]) {
                    if code == last {
                        *o = -*o;
                    } else if code != level {
                        *o = 0.0;
                    }
                }
            }
        }
    }
}

/// A grouping factor (`g` or the interaction `a:b`): levels and per-row level codes.
#[derive(Clone, Debug)]
pub(crate) struct GroupingFactor {
    /// Label as lme4 prints it (`g`, `a:b`).
    pub label: String,
    vars: Vec<usize>,
    maps: Vec<LevelMap>,
    /// For an interaction: the present combinations (mixed-radix codes), sorted.
    combined: Option<LevelMap>,
    /// Per-row level index.
    pub codes: Vec<u32>,
    scratch: Vec<i64>,
    part_codes: Vec<u32>,
    seen: Vec<bool>,
}

impl GroupingFactor {
    /// The grouping factor of the variables `vars` in `data`.
    pub fn new(
        label: String,
        vars: &[usize],
        names: &[String],
        data: &dyn Columns,
    ) -> Result<GroupingFactor, FitError> {
        let mut maps = Vec::new();
        for &v in vars {
            maps.push(LevelMap::from_column(column(data, &names[v])?));
        }
        let mut factor = GroupingFactor {
            label,
            vars: vars.to_vec(),
            maps,
            combined: None,
            codes: Vec::new(),
            scratch: Vec::new(),
            part_codes: Vec::new(),
            seen: Vec::new(),
        };
        if vars.len() > 1 {
            factor.combine(names, data)?;
            factor.combined = Some(LevelMap::Int(sorted_ints(&factor.scratch)));
        }
        if !factor.encode(names, data)? {
            return Err(FitError::Numerical(format!(
                "grouping factor '{}' could not be encoded",
                factor.label
            )));
        }
        Ok(factor)
    }

    /// Mixed-radix codes of the level combinations into `scratch`.
    fn combine(&mut self, names: &[String], data: &dyn Columns) -> Result<bool, FitError> {
        let n = data.nrows();
        self.scratch.clear();
        self.scratch.resize(n, 0);
        self.part_codes.resize(n, 0);
        for (k, &v) in self.vars.iter().enumerate() {
            let map = &self.maps[k];
            if self.seen.len() < map.len() {
                self.seen.resize(map.len(), false);
            }
            if !map.encode(
                column(data, &names[v])?,
                &mut self.part_codes,
                &mut self.seen,
            ) {
                return Ok(false);
            }
            let radix = map.len() as i64;
            for (s, &c) in self.scratch.iter_mut().zip(&self.part_codes) {
                *s = *s * radix + i64::from(c);
            }
        }
        Ok(true)
    }

    /// Recomputes the per-row codes for a new data set; false when the level set changed.
    pub fn encode(&mut self, names: &[String], data: &dyn Columns) -> Result<bool, FitError> {
        let n = data.nrows();
        self.codes.resize(n, 0);
        let len = self.nlevels();
        if self.seen.len() < len {
            self.seen.resize(len, false);
        }
        match &self.combined {
            None => {
                let col = column(data, &names[self.vars[0]])?;
                if col.len() != n {
                    return Err(FitError::Length {
                        column: names[self.vars[0]].clone(),
                        len: col.len(),
                        nrows: n,
                    });
                }
                Ok(self.maps[0].encode(col, &mut self.codes, &mut self.seen))
            }
            Some(_) => {
                if !self.combine(names, data)? {
                    return Ok(false);
                }
                let Some(map) = &self.combined else {
                    return Ok(false);
                };
                let (scratch, codes, seen) = (&self.scratch, &mut self.codes, &mut self.seen);
                Ok(map.encode(ColumnRef::Int(scratch), codes, seen))
            }
        }
    }

    /// Number of levels.
    pub fn nlevels(&self) -> usize {
        self.combined.as_ref().unwrap_or(&self.maps[0]).len()
    }

    /// For a factor of one integer variable whose levels are consecutive integers, that column of
    /// `data` (if it is an integer column) and its smallest level: a row's level is then its value
    /// minus that, which lets the fast path skip the per-row codes. Otherwise None.
    pub fn consecutive_ints<'a>(
        &self,
        names: &[String],
        data: &'a dyn Columns,
    ) -> Option<(&'a [i64], i64)> {
        if self.combined.is_some() {
            return None;
        }
        let first = consecutive_levels(&self.maps[0])?;
        match data.column(&names[self.vars[0]])? {
            ColumnRef::Int(values) => Some((values, first)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataFrame;

    fn frame() -> DataFrame {
        let text = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        DataFrame::default()
            .with_float("y", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            .with_text("recipe", text(&["B", "A", "C", "A", "B", "C"]))
            .with_int("temp", vec![175, 185, 195, 175, 185, 195])
            .with_text("f", text(&["u", "v", "u", "v", "u", "v"]))
    }

    fn names(formula: &str) -> Vec<String> {
        Formula::parse(formula)
            .unwrap()
            .fixed_term_names(&frame())
            .unwrap()
    }

    #[test]
    fn names_follow_lme4() {
        assert_eq!(
            names("y ~ recipe * temp"),
            [
                "(Intercept)",
                "recipeB",
                "recipeC",
                "temp",
                "recipeB:temp",
                "recipeC:temp"
            ]
        );
        assert_eq!(names("y ~ 0 + recipe"), ["recipeA", "recipeB", "recipeC"]);
        assert_eq!(
            names("y ~ 0 + recipe + f"),
            ["recipeA", "recipeB", "recipeC", "fv"]
        );
        assert_eq!(
            names("y ~ recipe:f"),
            [
                "(Intercept)",
                "recipeA:fu",
                "recipeB:fu",
                "recipeC:fu",
                "recipeA:fv",
                "recipeB:fv",
                "recipeC:fv"
            ]
        );
        assert_eq!(
            names("y ~ recipe*f"),
            [
                "(Intercept)",
                "recipeB",
                "recipeC",
                "fv",
                "recipeB:fv",
                "recipeC:fv"
            ]
        );
    }

    #[test]
    fn unknown_column_suggests() {
        let err = Formula::parse("y ~ recipee")
            .unwrap()
            .fixed_term_names(&frame())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown column 'recipee' (did you mean 'recipe'?)"
        );
    }

    #[test]
    fn interaction_grouping_factor_counts_combinations() {
        let f = Formula::parse("y ~ 1 + (1 | recipe:f)").unwrap();
        let vars = VarTable::resolve(&f, &frame(), &BTreeMap::new()).unwrap();
        let g = GroupingFactor::new(
            "recipe:f".into(),
            &f.random[0].grouping,
            &vars.names,
            &frame(),
        )
        .unwrap();
        // Present combinations: B:u, A:v, C:u, C:v.
        assert_eq!(g.nlevels(), 4);
    }
}
