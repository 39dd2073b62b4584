//! The study file: what to simulate (parameters, the data program), which methods to compare, the true
//! values of the estimands, and how random streams are assigned to conditions and replications.
//!
//! `docs/study-file.md` is the user's reference for every key.

mod check;
mod design;
mod grow;
mod stopping;

use std::path::{Path, PathBuf};

use parsim_random::{default_rng, default_rng_from, Generator, SeedSequence};
use toml::de::DeTable;

use crate::diagnostic::{self, did_you_mean, Diagnostic};
use crate::lang::{self, ParameterDecl, Program, RuntimeError};
use crate::method::{table::choice, Registry, StudyMethod};
use crate::reader::{number, type_name, Number, Reader, StringMap};

pub use check::{CheckReport, MethodTerms};
pub use grow::Growth;
pub use stopping::{Stopping, TargetMeasure};

/// How replications get their random streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streams {
    /// Replication `r` of condition `c` draws from `SeedSequence(seed, spawn_key=(c, r))` (default).
    Keyed,
    /// Replication `r` draws from `default_rng(seed + r)` in every condition, as the seed's loop did.
    PerReplicationSeed,
}

impl Streams {
    /// The name used in the study file.
    pub fn as_str(self) -> &'static str {
        match self {
            Streams::Keyed => "keyed",
            Streams::PerReplicationSeed => "per-replication-seed",
        }
    }
}

/// A parameter: one value (fixed) or several (a design factor).
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// Its name in the data program and the estimands.
    pub name: String,
    /// Its values; more than one makes it a factor of the design.
    pub values: Vec<f64>,
    /// True when every value was written as an integer (then it is an integer in the program).
    pub integer: bool,
    /// A derived parameter's expression (`n2 = "2 * n1"`): its value is computed in each condition from
    /// the parameters above it, and `values` is empty.
    pub expression: Option<String>,
}

/// `[summary]`: settings of the performance measures (the study's, or the command line's overrides).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SummarySettings {
    /// Confidence level of the intervals whose coverage is measured (default 0.95).
    pub level: f64,
    /// Significance level for power / type I error (default 0.05).
    pub alpha: f64,
    /// Method that relative measures (relative precision) compare against; `None` = the first method.
    pub reference: Option<String>,
}

impl SummarySettings {
    /// The `[summary]` table of a study file's text (defaults for what is absent), read by the rules of
    /// [`Study::load`]. Nothing else of the file is checked: a stored study's methods may be of kinds this
    /// process has not registered.
    pub fn from_study_toml(source: &str) -> Result<SummarySettings, StudyError> {
        let path = Path::new("study.toml");
        let parsed = parse_toml(path, source)?;
        let mut r = Reader::new(source);
        let settings = match Reader::get(parsed.get_ref(), "summary") {
            Some(v) => r
                .table(v, "[summary]")
                .and_then(|t| summary(&mut r, t))
                .map(|(s, _)| s),
            None => Some(SummarySettings::default()),
        };
        match settings {
            Some(s) if r.diagnostics.is_empty() => Ok(s),
            _ => Err(StudyError::invalid(path, source, r.diagnostics)),
        }
    }
}

/// The text of a study file; a file that is not UTF-8 is an invalid study, located at its first byte
/// that cannot be read.
fn read_text(path: &Path) -> Result<String, StudyError> {
    let bytes = std::fs::read(path).map_err(|source| StudyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes().get(at).copied().unwrap_or(0);
        // The text up to the bad byte locates it (line and column); the rest is shown as read.
        let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let message = format!(
            "the study file is not UTF-8 text: byte 0x{byte:02x} cannot be read as a character"
        );
        let d = Diagnostic::new(&shown, at..at + 1, message)
            .with_note("save the file as UTF-8 (the encoding of TOML files)");
        StudyError::invalid(path, &shown, vec![d])
    })
}

/// The TOML document of a study file, or the error that names where it is not TOML.
fn parse_toml<'s>(path: &Path, source: &'s str) -> Result<toml::Spanned<DeTable<'s>>, StudyError> {
    DeTable::parse(source).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = format!("invalid TOML: {}", e.message().trim_end());
        let d = Diagnostic::new(source, span, message);
        StudyError::invalid(path, source, vec![d])
    })
}

impl Default for SummarySettings {
    fn default() -> Self {
        SummarySettings {
            level: 0.95,
            alpha: 0.05,
            reference: None,
        }
    }
}

/// One estimand: a term of the fitted models and the expression of parameters giving its true value.
#[derive(Clone, Debug)]
pub struct Estimand {
    /// The term as the methods name it (`X`, `(Intercept)`).
    pub term: String,
    /// The expression as written (`beta1`), or for a simulated estimand the variable holding its value.
    pub expression: String,
    program: Program,
    /// A simulated estimand: its program, run once per condition from the estimand's own stream, and
    /// `expression` names the scalar variable holding the value.
    simulation: Option<Program>,
}

/// A cell of the design: one value of every parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// 0-based position in [`Study::conditions`] (design order).
    pub index: usize,
    /// Every parameter with its value in this condition (fixed ones too), in file order.
    pub values: Vec<(String, f64)>,
    /// The first spawn key of its keyed streams: [`condition_stream`] of its values, or, in a store
    /// written before streams were keyed by values, the number it had there. Independent of the
    /// condition's position, so a level inserted into the design moves no condition's data.
    pub stream: u64,
}

/// The stream key of a condition whose parameters have `values` (every parameter in file order): the
/// first eight bytes of the SHA-256 of the values as little-endian doubles, read as a little-endian
/// integer with its top bit cleared (it fits SQLite's signed integers). In Python:
/// `int.from_bytes(hashlib.sha256(struct.pack(f"<{len(v)}d", *v)).digest()[:8], "little") & (2**63 - 1)`.
pub fn condition_stream(values: &[(String, f64)]) -> u64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (_, v) in values {
        // −0 as 0: growth matches conditions by comparing values, which holds them equal.
        hasher.update((v + 0.0).to_le_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first) & (u64::MAX >> 1)
}

/// A study that could not be loaded: unreadable, or invalid (rendered diagnostics, exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The study file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The study is invalid: each diagnostic names the line and column; `rendered` shows them with carets.
    #[error("{rendered}")]
    Invalid {
        /// The study file.
        path: PathBuf,
        /// The problems, in file order.
        diagnostics: Vec<Diagnostic>,
        /// All diagnostics rendered (file:line:col, the line, a caret).
        rendered: String,
    },
}

impl StudyError {
    /// The diagnostics of an invalid study (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            StudyError::Io { .. } => &[],
            StudyError::Invalid { diagnostics, .. } => diagnostics,
        }
    }

    pub(crate) fn invalid(
        path: &Path,
        source: &str,
        mut diagnostics: Vec<Diagnostic>,
    ) -> StudyError {
        diagnostics.sort_by_key(|d| d.span.start);
        let rendered = diagnostic::render(&path.display().to_string(), source, &diagnostics);
        StudyError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
            rendered,
        }
    }
}

/// A loaded, validated study.
#[derive(Clone, Debug)]
pub struct Study {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// The TOML text exactly as read.
    pub source: String,
    /// `[study] name` (default: the file name without extension).
    pub name: String,
    /// Replications per condition.
    pub replications: u64,
    /// The study's seed.
    pub seed: u64,
    /// How replications get their streams.
    pub streams: Streams,
    /// Whether every condition uses the same stream for replication `r` (keyed streams only).
    pub common_random_numbers: bool,
    /// Parameters in file order.
    pub parameters: Vec<Parameter>,
    /// Methods in file order.
    pub methods: Vec<StudyMethod>,
    /// Estimands in file order.
    pub estimands: Vec<Estimand>,
    /// `[summary]` settings.
    pub summary: SummarySettings,
    /// The compiled data program.
    pub program: Program,
    conditions: Vec<Condition>,
    /// `truths[c][e]`: the true value of estimand `e` in condition `c`.
    truths: Vec<Vec<f64>>,
    program_map: StringMap,
    /// File spans of each estimand's key.
    estimand_spans: Vec<std::ops::Range<usize>>,
    /// The method kinds the study was read with (to read a stored version of it the same way).
    registry: Registry,
    /// `[stopping]`: run conditions in rounds until the measures are precise enough.
    pub stopping: Option<Stopping>,
}

const SECTIONS: &[&str] = &[
    "study",
    "parameters",
    "design",
    "data",
    "methods",
    "estimands",
    "summary",
    "stopping",
];
const STUDY_KEYS: &[&str] = &[
    "name",
    "replications",
    "seed",
    "streams",
    "common_random_numbers",
];
const SUMMARY_KEYS: &[&str] = &["level", "alpha", "reference"];

impl Study {
    /// Reads and validates a study file, with the built-in method kinds.
    pub fn load(path: &Path) -> Result<Study, StudyError> {
        Study::load_with(path, &Registry::builtin())
    }

    /// Reads and validates a study file whose methods are of the kinds in `registry`.
    pub fn load_with(path: &Path, registry: &Registry) -> Result<Study, StudyError> {
        let source = read_text(path)?;
        Study::from_source_with(path, source, registry)
    }

    /// Validates a study given as text (`path` names it in messages), with the built-in method kinds.
    pub fn from_source(path: &Path, source: String) -> Result<Study, StudyError> {
        Study::from_source_with(path, source, &Registry::builtin())
    }

    /// Validates a study given as text whose methods are of the kinds in `registry`.
    pub fn from_source_with(
        path: &Path,
        source: String,
        registry: &Registry,
    ) -> Result<Study, StudyError> {
        let parsed = parse_toml(path, &source)?;
        let mut r = Reader::new(&source);
        let built = build(&mut r, path, parsed.get_ref(), registry);
        match built {
            Some(study) if r.diagnostics.is_empty() => Ok(study),
            _ => {
                let diagnostics = std::mem::take(&mut r.diagnostics);
                Err(StudyError::invalid(path, &source, diagnostics))
            }
        }
    }

    /// The conditions of the design: the cartesian product of the factors' values, the first factor in the
    /// file varying slowest (as nested loops in file order).
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The true value of an estimand's term in a condition.
    pub fn truth(&self, condition: usize, term: &str) -> Option<f64> {
        let e = self.estimands.iter().position(|e| e.term == term)?;
        self.truths.get(condition).map(|t| t[e])
    }

    /// The estimands' terms in file order.
    pub fn estimand_terms(&self) -> Vec<&str> {
        self.estimands.iter().map(|e| e.term.as_str()).collect()
    }

    /// The generator of replication `replication` of condition `condition`, according to `streams`.
    pub fn generator(&self, condition: usize, replication: u64) -> Generator {
        match self.streams {
            Streams::PerReplicationSeed => default_rng(self.seed.wrapping_add(replication)),
            Streams::Keyed if self.common_random_numbers => {
                default_rng_from(&SeedSequence::with_spawn_key(self.seed, &[replication]))
            }
            Streams::Keyed => default_rng_from(&SeedSequence::with_spawn_key(
                self.seed,
                &[self.condition_stream(condition), replication],
            )),
        }
    }

    /// The stream key of condition `condition` (see [`Condition::stream`]).
    pub fn condition_stream(&self, condition: usize) -> u64 {
        self.conditions
            .get(condition)
            .map_or(condition as u64, |c| c.stream)
    }

    /// Units of work: conditions × replications (data sets), each fitted by every method.
    pub fn units(&self) -> u64 {
        (self.conditions.len() as u64).saturating_mul(self.replications)
    }

    /// Renders a data-generation error with the study file's line, column and caret, naming the condition
    /// and replication.
    pub fn render_runtime_error(
        &self,
        err: &RuntimeError,
        condition: usize,
        replication: u64,
    ) -> String {
        let span = self
            .program_map
            .map(self.program.source(), err.span.clone());
        let d = Diagnostic::new(&self.source, span, err.message.clone()).with_note(format!(
            "while generating replication {replication} of condition {condition}"
        ));
        diagnostic::render(&self.path.display().to_string(), &self.source, &[d])
    }

    /// Generates one replication's data set into `workspace`; an error is rendered against the study file.
    pub fn generate(
        &self,
        workspace: &mut lang::Workspace,
        condition: usize,
        replication: u64,
    ) -> Result<(), String> {
        let Some(c) = self.conditions.get(condition) else {
            return Err(format!(
                "condition {condition} does not exist: the study has {} (0 to {})",
                self.conditions.len(),
                self.conditions.len().saturating_sub(1)
            ));
        };
        let mut rng = self.generator(condition, replication);
        workspace
            .generate(&self.program, &c.values, &mut rng)
            .map_err(|e| self.render_runtime_error(&e, condition, replication))
    }

    pub(crate) fn estimand_span(&self, e: usize) -> std::ops::Range<usize> {
        self.estimand_spans[e].clone()
    }
}

/// The environment variable that overrides the directory a study's file names are relative to: set by
/// the Slurm script, whose tasks read a copy of the study file kept in the results directory.
pub const STUDY_DIR_VARIABLE: &str = "PARSIM_STUDY_DIR";

/// The directory of the study file, absolute, which the methods' file names are relative to (or
/// [`STUDY_DIR_VARIABLE`] when set).
pub(crate) fn study_directory(path: &Path) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os(STUDY_DIR_VARIABLE).filter(|d| !d.is_empty()) {
        return std::path::PathBuf::from(dir);
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// A section that must be present, as a table.
fn section<'t, 'i>(
    r: &mut Reader<'_>,
    root: &'t DeTable<'i>,
    name: &str,
) -> Option<&'t DeTable<'i>> {
    match Reader::get(root, name) {
        Some(v) => r.table(v, &format!("[{name}]")),
        None => None,
    }
}

fn build(
    r: &mut Reader<'_>,
    path: &Path,
    root: &DeTable<'_>,
    registry: &Registry,
) -> Option<Study> {
    r.check_keys(root, SECTIONS, "the study file");
    let end = r.source.len();
    // [methods] may be absent: a data-only study generates and stores its replications without fitting
    // anything (to check a data program at scale, or to measure the cost of generation alone).
    for required in ["study", "data"] {
        if Reader::get(root, required).is_none() {
            r.error(end..end, format!("missing section [{required}]"))
                .notes
                .push("a study needs [study] and [data], and usually [methods.NAME]; see docs/study-file.md".to_string());
        }
    }
    let settings = section(r, root, "study").and_then(|t| study_settings(r, t, path));
    let (mut parameters, spans) = match Reader::get(root, "parameters") {
        Some(v) => r
            .table(v, "[parameters]")
            .map(|t| (parameters(r, t), parameter_spans(r, t)))
            .unwrap_or_default(),
        None => (Vec::new(), Vec::new()),
    };
    let derived = derived_parameters(r, &mut parameters, &spans);
    let decls: Vec<ParameterDecl> = parameters
        .iter()
        .map(|p| ParameterDecl {
            name: p.name.clone(),
            integer: p.integer,
        })
        .collect();
    let program = section(r, root, "data").and_then(|t| data_program(r, t, &decls));
    let summary = match Reader::get(root, "summary") {
        Some(v) => r.table(v, "[summary]").and_then(|t| summary(r, t)),
        None => Some((SummarySettings::default(), None)),
    };
    // The methods' intervals are at the summary's level; a wrong level is reported above.
    let level = summary.as_ref().map_or(0.95, |(s, _)| s.level);
    let methods = section(r, root, "methods")
        .map(|t| registry.methods(r, t, level, &study_directory(path)))
        .unwrap_or_default();
    let estimands = match Reader::get(root, "estimands") {
        Some(v) => r
            .table(v, "[estimands]")
            .map(|t| estimands(r, t, &decls))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let conditions = check_design_size(r, root, &parameters)
        .then(|| design::conditions(r, root, &parameters, &derived, &spans))
        .flatten();
    let (settings, (mut program, program_map), (summary, reference_span)) =
        (settings?, program?, summary?);
    let (estimands, estimand_spans): (Vec<Estimand>, Vec<_>) = estimands.into_iter().unzip();
    let terms: Vec<String> = estimands.iter().map(|e| e.term.clone()).collect();
    let stopping = match Reader::get(root, "stopping") {
        Some(v) => r
            .table(v, "[stopping]")
            .and_then(|t| stopping::read(r, t, &terms)),
        None => None,
    };
    if methods.is_empty() && Reader::get(root, "methods").is_some() {
        let span = Reader::get(root, "methods").map_or(0..0, |v| v.span());
        r.error(span, "[methods] has no method")
            .notes
            .push("add a table such as [methods.ols] with model and formula".into());
    }
    if let (Some(reference), Some(span)) = (&summary.reference, reference_span) {
        if !methods.iter().any(|m| &m.name == reference) {
            let help = did_you_mean(reference, methods.iter().map(|m| m.name.as_str()));
            r.error(
                span,
                format!("[summary] reference `{reference}` is not a method of the study"),
            )
            .notes
            .extend(help);
        }
    }
    if !r.diagnostics.is_empty() {
        return None;
    }
    let mut study = Study {
        path: path.to_path_buf(),
        source: r.source.to_string(),
        name: settings.name,
        replications: settings.replications,
        seed: settings.seed,
        streams: settings.streams,
        common_random_numbers: settings.common_random_numbers,
        conditions: conditions?,
        parameters,
        methods,
        estimands,
        summary,
        program: program.clone(),
        truths: Vec::new(),
        program_map,
        estimand_spans,
        registry: registry.clone(),
        stopping,
    };
    check::method_columns(r, &study);
    if !r.diagnostics.is_empty() {
        return None;
    }
    let used: Vec<String> = study
        .methods
        .iter()
        .flat_map(|m| m.spec.columns().into_iter().map(|c| c.name))
        .collect();
    program.require_finite(used.iter().map(String::as_str));
    if let Some(response) = study.methods.iter().find_map(|m| m.spec.response()) {
        program.set_rows_from(response);
    }
    study.program = program;
    study.truths = check::truths(r, &study);
    if !r.diagnostics.is_empty() {
        return None;
    }
    Some(study)
}

struct Settings {
    name: String,
    replications: u64,
    seed: u64,
    streams: Streams,
    common_random_numbers: bool,
}

fn study_settings(r: &mut Reader<'_>, t: &DeTable<'_>, path: &Path) -> Option<Settings> {
    r.check_keys(t, STUDY_KEYS, "[study]");
    let default_name = path
        .file_stem()
        .map_or("study".to_string(), |s| s.to_string_lossy().into_owned());
    let name = match Reader::get(t, "name") {
        Some(v) => r
            .string(v, "`name`")
            .and_then(|name| match name_problem(&name) {
                None => Some(name),
                Some(why) => {
                    r.error(v.span(), format!("the study name {name:?} {why}"))
                        .notes
                        .push(NAME_RULE.into());
                    None
                }
            }),
        None => match name_problem(&default_name) {
            None => Some(default_name),
            Some(why) => {
                let span = study_header_span(r.source);
                let message = format!(
                    "the study file's name {default_name:?} {why}, so it cannot name the study"
                );
                r.error(span, message).notes.push(format!(
                    "give the study a name in [study]: name = \"...\"; {NAME_RULE}"
                ));
                None
            }
        },
    };
    let replications = match Reader::get(t, "replications") {
        Some(v) => r.integer(v, "`replications`").and_then(|n| {
            if n >= 1 {
                Some(n as u64)
            } else {
                r.error(
                    v.span(),
                    format!("`replications` must be at least 1, got {n}"),
                );
                None
            }
        }),
        None => {
            let span = study_header_span(r.source);
            r.error(span, "missing key `replications` in [study]")
                .notes
                .push("e.g. replications = 500".into());
            None
        }
    };
    let seed = match Reader::get(t, "seed") {
        Some(v) => r.integer(v, "`seed`").and_then(|n| {
            if n >= 0 {
                Some(n as u64)
            } else {
                r.error(
                    v.span(),
                    format!("`seed` must be a non-negative integer, got {n}"),
                );
                None
            }
        }),
        None => {
            let span = study_header_span(r.source);
            r.error(span, "missing key `seed` in [study]")
                .notes
                .push("e.g. seed = 2024".into());
            None
        }
    };
    let streams = match Reader::get(t, "streams") {
        Some(v) => choice(r, v, "`streams`", &["keyed", "per-replication-seed"]).map(|k| {
            if k == 0 {
                Streams::Keyed
            } else {
                Streams::PerReplicationSeed
            }
        }),
        None => Some(Streams::Keyed),
    };
    let crn = match Reader::get(t, "common_random_numbers") {
        Some(v) => r.bool(v, "`common_random_numbers`"),
        None => Some(false),
    };
    Some(Settings {
        name: name?,
        replications: replications?,
        seed: seed?,
        streams: streams?,
        common_random_numbers: crn?,
    })
}

/// What a study name may be: it names the results directory `results/<name>`, so it must never be a path.
const NAME_RULE: &str =
    "a study name has letters, digits, `.`, `_` and `-` only, and does not start with `.`";

/// Why `name` cannot name a study (it would be a path, or hidden), if it cannot.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.starts_with('.') {
        Some("starts with `.`")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("has characters other than letters, digits, `.`, `_` and `-`")
    } else {
        None
    }
}

/// The span of the `[study]` header line (for keys missing from it).
fn study_header_span(source: &str) -> std::ops::Range<usize> {
    source.find("[study]").map_or(0..0, |i| i..i + 7)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parameters(r: &mut Reader<'_>, t: &DeTable<'_>) -> Vec<Parameter> {
    let mut out = Vec::new();
    for (key, v) in r.entries(t) {
        let name = key.get_ref().to_string();
        if !is_identifier(&name) {
            r.error(
                key.span(),
                format!("parameter name `{name}` is not a valid name"),
            )
            .notes
            .push("names start with a letter or `_` and contain letters, digits and `_`".into());
            continue;
        }
        if lang::function_names().any(|f| f == name) || name == "True" || name == "False" {
            r.error(
                key.span(),
                format!("parameter name `{name}` is the name of a function of the data language"),
            );
            continue;
        }
        let what = format!("parameter `{name}`");
        if let toml::de::DeValue::String(text) = v.get_ref() {
            out.push(Parameter {
                name,
                values: Vec::new(),
                integer: false,
                expression: Some(text.to_string()),
            });
            continue;
        }
        let values: Vec<Option<Number>> = match v.get_ref() {
            toml::de::DeValue::Array(items) if items.is_empty() => {
                r.error(v.span(), format!("{what} has an empty list of values"));
                continue;
            }
            toml::de::DeValue::Array(items) => items
                .iter()
                .map(|item| {
                    let n = number(item.get_ref());
                    if n.is_none() {
                        r.error(
                            item.span(),
                            format!(
                                "values of {what} must be numbers, got {}",
                                type_name(item.get_ref())
                            ),
                        );
                    }
                    n
                })
                .collect(),
            other => {
                let n = number(other);
                if n.is_none() {
                    r.error(
                        v.span(),
                        format!(
                            "{what} must be a number or a list of numbers, got {}",
                            type_name(other)
                        ),
                    );
                }
                vec![n]
            }
        };
        let Some(values) = values.into_iter().collect::<Option<Vec<Number>>>() else {
            continue;
        };
        let integer = values.iter().all(|n| matches!(n, Number::Int(_)));
        out.push(Parameter {
            name,
            values: values.into_iter().map(Number::as_f64).collect(),
            integer,
            expression: None,
        });
    }
    out
}

fn data_program(
    r: &mut Reader<'_>,
    t: &DeTable<'_>,
    decls: &[ParameterDecl],
) -> Option<(Program, StringMap)> {
    r.check_keys(t, &["program"], "[data]");
    let Some(v) = Reader::get(t, "program") else {
        let span = r.source.find("[data]").map_or(0..0, |i| i..i + 6);
        r.error(span, "missing key `program` in [data]")
            .notes
            .push("program = \"\"\" ... \"\"\" holds the data program".into());
        return None;
    };
    let text = r.string(v, "`program`")?;
    let map = StringMap::new(r.source, v.span(), &text);
    match Program::compile(&text, decls) {
        Ok(p) => Some((p, map)),
        Err(e) => {
            let span = map.map(&text, e.span.clone());
            let d = r.error(span, e.message.clone());
            if let Some(h) = e.help {
                d.notes.push(h);
            }
            None
        }
    }
}

fn estimands(
    r: &mut Reader<'_>,
    t: &DeTable<'_>,
    decls: &[ParameterDecl],
) -> Vec<(Estimand, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for (key, v) in r.entries(t) {
        let term = key.get_ref().to_string();
        if let toml::de::DeValue::Table(table) = v.get_ref() {
            if let Some(e) = simulated_estimand(r, &term, table, v.span(), decls) {
                out.push((e, key.span()));
            }
            continue;
        }
        let (expression, map) = match v.get_ref() {
            toml::de::DeValue::String(s) => (s.to_string(), StringMap::new(r.source, v.span(), s)),
            other => match number(other) {
                Some(n) => (format_number(n), StringMap::at(v.span())),
                None => {
                    r.error(v.span(), format!("estimand `{term}` must be an expression of parameters (a string), a number, or a simulation {{ simulate = \"...\", value = \"name\" }}, got {}", type_name(other)));
                    continue;
                }
            },
        };
        match Program::compile_expression(&expression, decls) {
            Ok(program) => out.push((
                Estimand {
                    term,
                    expression,
                    program,
                    simulation: None,
                },
                key.span(),
            )),
            Err(e) => {
                let span = map.map(&expression, e.span.clone());
                let d = r.error(span, format!("estimand `{term}`: {}", e.message));
                if let Some(h) = e.help {
                    d.notes.push(h);
                }
            }
        }
    }
    out
}

/// `term = { simulate = """program""", value = "name" }`: a data program whose scalar variable `name` is
/// the true value (a marginal estimand computed by Monte Carlo, once per condition).
fn simulated_estimand(
    r: &mut Reader<'_>,
    term: &str,
    table: &DeTable<'_>,
    span: std::ops::Range<usize>,
    decls: &[ParameterDecl],
) -> Option<Estimand> {
    let what = format!("estimand `{term}`");
    r.check_keys(table, &["simulate", "value"], &what);
    let (Some(sv), Some(vv)) = (Reader::get(table, "simulate"), Reader::get(table, "value")) else {
        r.error(
            span,
            format!(
                "{what} needs `simulate` (a program) and `value` (its variable holding the value)"
            ),
        );
        return None;
    };
    let text = r.string(sv, "`simulate`")?;
    let value = r.string(vv, "`value`")?;
    let map = StringMap::new(r.source, sv.span(), &text);
    let program = match Program::compile(&text, decls) {
        Ok(p) => p,
        Err(e) => {
            let at = map.map(&text, e.span.clone());
            let d = r.error(at, format!("{what}: {}", e.message));
            if let Some(h) = e.help {
                d.notes.push(h);
            }
            return None;
        }
    };
    if !program.variable(&value).is_some_and(|v| v.scalar) {
        let help = did_you_mean(&value, program.variable_names());
        r.error(
            vv.span(),
            format!("{what}: `{value}` is not a scalar variable of its program"),
        )
        .notes
        .extend(help);
        return None;
    }
    let expression = Program::compile_expression("0", decls).ok()?;
    Some(Estimand {
        term: term.to_string(),
        expression: value,
        program: expression,
        simulation: Some(program),
    })
}

/// Each parameter's key span in `[parameters]`, in file order (for messages about derived values).
fn parameter_spans(r: &Reader<'_>, t: &DeTable<'_>) -> Vec<(String, std::ops::Range<usize>)> {
    r.entries(t)
        .into_iter()
        .map(|(k, v)| (k.get_ref().to_string(), v.span()))
        .collect()
}

/// Compiles each derived parameter's expression over the parameters above it (so it is an integer when
/// its expression is). `None` for the others.
fn derived_parameters(
    r: &mut Reader<'_>,
    parameters: &mut [Parameter],
    spans: &[(String, std::ops::Range<usize>)],
) -> Vec<Option<Program>> {
    let mut out = Vec::with_capacity(parameters.len());
    for k in 0..parameters.len() {
        let Some(text) = parameters[k].expression.clone() else {
            out.push(None);
            continue;
        };
        let decls: Vec<ParameterDecl> = parameters[..k]
            .iter()
            .map(|p| ParameterDecl {
                name: p.name.clone(),
                integer: p.integer,
            })
            .collect();
        let span = spans
            .iter()
            .find(|(n, _)| *n == parameters[k].name)
            .map_or(0..0, |(_, s)| s.clone());
        match Program::compile_expression(&text, &decls) {
            Ok(program) => {
                parameters[k].integer = program.gives_integer();
                out.push(Some(program));
            }
            Err(e) => {
                let map = StringMap::new(r.source, span.clone(), &text);
                let at = map.map(&text, e.span.clone());
                let d = r.error(
                    at,
                    format!("derived parameter `{}`: {}", parameters[k].name, e.message),
                );
                d.notes
                    .push("a derived parameter is an expression of the parameters above it".into());
                if let Some(h) = e.help {
                    d.notes.push(h);
                }
                out.push(None);
            }
        }
    }
    out
}

fn format_number(n: Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Float(f) if f.is_finite() => format!("{f:?}"),
        Number::Float(f) => format!("{f}"),
    }
}

fn summary(
    r: &mut Reader<'_>,
    t: &DeTable<'_>,
) -> Option<(SummarySettings, Option<std::ops::Range<usize>>)> {
    r.check_keys(t, SUMMARY_KEYS, "[summary]");
    let mut s = SummarySettings::default();
    let mut reference_span = None;
    for (key, default) in [("level", &mut s.level), ("alpha", &mut s.alpha)] {
        if let Some(v) = Reader::get(t, key) {
            if let Some(x) = r.float(v, &format!("`{key}`")) {
                if x > 0.0 && x < 1.0 {
                    *default = x;
                } else {
                    r.error(
                        v.span(),
                        format!("`{key}` must be between 0 and 1 (exclusive), got {x}"),
                    );
                }
            }
        }
    }
    if let Some(v) = Reader::get(t, "reference") {
        s.reference = r.string(v, "`reference`");
        reference_span = Some(v.span());
    }
    Some((s, reference_span))
}

/// The most conditions a design may have: each holds every parameter's value, so a quarter of a million
/// conditions of ten parameters take about 100 MB before anything runs.
pub const MAX_CONDITIONS: u64 = 250_000;

/// A design grid larger than [`MAX_CONDITIONS`] is refused at `[parameters]`, with its size (false).
fn check_design_size(r: &mut Reader<'_>, root: &DeTable<'_>, parameters: &[Parameter]) -> bool {
    let size = parameters
        .iter()
        .try_fold(1u64, |n, p| n.checked_mul(p.values.len().max(1) as u64));
    if size.is_some_and(|n| n <= MAX_CONDITIONS) {
        return true;
    }
    let levels: Vec<String> = parameters
        .iter()
        .filter(|p| p.values.len() > 1)
        .map(|p| format!("{} ({})", p.name, p.values.len()))
        .collect();
    let figure = size.map_or("more than 2^64".to_string(), |n| n.to_string());
    let span = Reader::get(root, "parameters").map_or(0..0, |v| v.span());
    r.error(
        span,
        format!("the design has {figure} conditions, more than the {MAX_CONDITIONS} a study may have"),
    )
    .notes
    .push(format!(
        "the factors' levels multiply: {}; run the design in parts (several study files), or use fewer levels",
        levels.join(" × ")
    ));
    false
}

impl Estimand {
    /// The true value in a condition of a study with this seed: the expression of its parameter values,
    /// or the simulation run from the estimand's own stream, numpy's
    /// `default_rng(SeedSequence(seed, spawn_key=(stream, 2**64 - 1, key)))` with `stream` the
    /// condition's [`Condition::stream`] and `key` the
    /// [`crate::method::stream_key`] of the term (distinct from every replication's and method's stream).
    pub fn value(&self, condition: &Condition, seed: u64) -> Result<f64, RuntimeError> {
        let values: Vec<f64> = condition.values.iter().map(|v| v.1).collect();
        let Some(program) = &self.simulation else {
            return self.program.evaluate_expression(&values);
        };
        let key = crate::method::stream_key(&self.term);
        let mut rng = default_rng_from(&SeedSequence::with_spawn_key(
            seed,
            &[condition.stream, u64::MAX, key],
        ));
        let mut ws = program.workspace();
        ws.generate_with(program, &values, &mut rng)?;
        Ok(ws.data().scalar(&self.expression).unwrap_or(f64::NAN))
    }

    /// Whether the true value is computed by simulation.
    pub fn is_simulated(&self) -> bool {
        self.simulation.is_some()
    }
}

#[cfg(test)]
mod tests;
