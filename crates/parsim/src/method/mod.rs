//! The method contract: what every analysis method of a study implements, and the registry that turns a
//! study file's `[methods.NAME]` table into one.
//!
//! Three layers, from the study file to the fit:
//! - a [`MethodKind`] (`lmm`, `ols`, or one of your own) reads a `[methods.NAME]` table through a
//!   [`MethodTable`] and returns a [`MethodSpec`], the configured method;
//! - a [`MethodSpec`] says which columns it reads and builds a [`Method`] per worker;
//! - a [`Method`] is a worker's reusable workspace: it fits one data set after another and reports its
//!   estimates into an [`Estimates`] sink, with an [`Outcome`].
//!
//! The runner, the store and the measures know methods only through these traits: a new kind of method
//! is registered in a [`Registry`] and needs nothing else (see `tests/method_kind.rs`).

mod builtin;
#[cfg(unix)]
mod external;
mod registry;
pub(crate) mod table;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use parsim_lmm::Columns;
use parsim_random::{default_rng_from, Generator, SeedSequence};

pub use builtin::{variance_term, GlmKind, GlmmKind, LmmKind, OlsKind};
#[cfg(unix)]
pub use external::ExternalKind;
pub use registry::Registry;
pub use table::{Located, MethodTable};

/// Status of one fit of one method to one replication's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FitStatus {
    /// Converged to an interior optimum (or a method without an optimizer that ran to the end).
    Ok,
    /// Converged, with a variance component on the boundary (lme4's isSingular).
    Singular,
    /// The optimizer stopped short of a verified optimum; estimates are stored but not used by the measures.
    NotConverged,
    /// The fit failed (an error or a panic); nothing but the message is stored.
    Error,
    /// The fit did not finish within the method's `timeout` (a method run in a worker process, which
    /// is stopped and restarted); nothing but the message is stored.
    Timeout,
    /// The data are (quasi-)separated: a GLM's maximum-likelihood estimate does not exist, and the
    /// estimates stored are where the iteration stopped; not used by the measures.
    Separation,
}

impl FitStatus {
    /// Every status, in the order the store sorts them.
    pub const ALL: [FitStatus; 6] = [
        FitStatus::Ok,
        FitStatus::Singular,
        FitStatus::NotConverged,
        FitStatus::Error,
        FitStatus::Timeout,
        FitStatus::Separation,
    ];

    /// The word stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            FitStatus::Ok => "ok",
            FitStatus::Singular => "singular",
            FitStatus::NotConverged => "not_converged",
            FitStatus::Error => "error",
            FitStatus::Timeout => "timeout",
            FitStatus::Separation => "separation",
        }
    }

    /// Parse the stored word.
    pub fn parse(s: &str) -> Option<FitStatus> {
        FitStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
    }

    /// Whether the measures use this fit's estimates (SimDesign and rsimsum use converged fits only).
    pub fn is_usable(self) -> bool {
        matches!(self, FitStatus::Ok | FitStatus::Singular)
    }
}

/// Whether an estimate is a coefficient (with inference) or a variance component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TermKind {
    /// A fixed-effect (or OLS) coefficient, or any estimate with a standard error: estimate, SE, df, CI,
    /// p-value.
    Fixed,
    /// A variance component (SD, correlation or residual SD): estimate only.
    Variance,
}

impl TermKind {
    /// The word stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            TermKind::Fixed => "fixed",
            TermKind::Variance => "variance",
        }
    }

    /// Parse the stored word.
    pub fn parse(s: &str) -> Option<TermKind> {
        [TermKind::Fixed, TermKind::Variance]
            .into_iter()
            .find(|kind| kind.as_str() == s)
    }
}

/// One estimate of one term by one method in one replication: what a method reports, what the store
/// keeps and what the measures read.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The term, e.g. `X`, `(Intercept)`, `sd__(Intercept)|group`, `sigma`.
    pub term: Arc<str>,
    /// Coefficient or variance component.
    pub kind: TermKind,
    /// The estimate.
    pub estimate: f64,
    /// Model-based standard error.
    pub se: Option<f64>,
    /// Degrees of freedom of the reference t distribution; `None` means normal.
    pub df: Option<f64>,
    /// Lower confidence limit at the study's level.
    pub ci_lower: Option<f64>,
    /// Upper confidence limit at the study's level.
    pub ci_upper: Option<f64>,
    /// Two-sided p-value of H0: term = 0.
    pub p_value: Option<f64>,
    /// The estimand's true value in this condition, when the study declares one (set by the runner).
    pub truth: Option<f64>,
}

impl Estimate {
    /// An estimate of `term` with nothing but its value.
    pub fn new(term: Arc<str>, kind: TermKind, estimate: f64) -> Estimate {
        Estimate {
            term,
            kind,
            estimate,
            se: None,
            df: None,
            ci_lower: None,
            ci_upper: None,
            p_value: None,
            truth: None,
        }
    }

    /// The value columns of its `estimates` row, in the table's order: estimate, se, df, ci_lower,
    /// ci_upper, p_value, truth.
    pub fn values(&self) -> [Option<f64>; 7] {
        [
            Some(self.estimate),
            self.se,
            self.df,
            self.ci_lower,
            self.ci_upper,
            self.p_value,
            self.truth,
        ]
    }
}

/// How a fit ended, besides its estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Ok, singular or not converged (an error is the `Err` of [`Method::fit`]).
    pub status: FitStatus,
    /// Why it is not `ok`, if it is not.
    pub message: Option<String>,
    /// Criterion evaluations (or iterations) the fit used; 0 when the method has none.
    pub iterations: u64,
}

impl Outcome {
    /// A fit that ran to the end without remarks.
    pub const OK: Outcome = Outcome {
        status: FitStatus::Ok,
        message: None,
        iterations: 0,
    };
}

/// A method's fit that failed: the message is stored with status `error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FitFailure(pub String);

impl FitFailure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> FitFailure {
        FitFailure(message.into())
    }
}

/// What a method may know about the unit it fits besides the data: the condition's parameter values and
/// its own random stream.
pub struct Context<'a> {
    /// Every parameter with its value in this condition, in file order.
    pub parameters: &'a [(String, f64)],
    /// The condition's index in the design.
    pub condition: usize,
    /// The replication's index within the condition.
    pub replication: u64,
    stream: Stream,
    rng: Option<Generator>,
}

/// Where a method's stream comes from: `SeedSequence(seed, spawn_key=(condition, replication, key))`,
/// `condition` the condition's stream key.
#[derive(Debug, Clone, Copy)]
struct Stream {
    seed: u64,
    condition: u64,
    key: u64,
}

impl<'a> Context<'a> {
    /// The context of replication `replication` of condition `condition` for the method whose stream key
    /// is `method_key` (see [`stream_key`]) in a study seeded with `seed`.
    pub fn new(
        parameters: &'a [(String, f64)],
        condition: usize,
        replication: u64,
        seed: u64,
        method_key: u64,
    ) -> Context<'a> {
        Context {
            parameters,
            condition,
            replication,
            stream: Stream {
                seed,
                condition: condition as u64,
                key: method_key,
            },
            rng: None,
        }
    }

    /// The same context with the condition's stream key `stream` (its [`crate::study::Condition::stream`])
    /// as the first spawn key of the method's stream instead of the condition's index.
    pub fn with_condition_stream(mut self, stream: u64) -> Context<'a> {
        self.stream.condition = stream;
        self
    }

    /// The first spawn key of the method's stream: the condition's stream key.
    pub fn condition_stream(&self) -> u64 {
        self.stream.condition
    }

    /// The value of a parameter in this condition.
    pub fn parameter(&self, name: &str) -> Option<f64> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The study's seed (the first argument of the method's `SeedSequence`).
    pub fn seed(&self) -> u64 {
        self.stream.seed
    }

    /// The method's stream key (the third spawn key of its `SeedSequence`; see [`stream_key`]).
    pub fn stream_key(&self) -> u64 {
        self.stream.key
    }

    /// The method's own random stream for this unit (for bootstrap intervals and other random steps):
    /// numpy's `default_rng(SeedSequence(seed, spawn_key=(condition, replication, key)))`, where
    /// `condition` is the condition's stream key and `key` is [`stream_key`] of the method's name. It is made on first use, so deterministic methods pay
    /// nothing, and it is the same for any number of workers, any shard split and any resumption.
    pub fn rng(&mut self) -> &mut Generator {
        let Stream {
            seed,
            condition,
            key,
        } = self.stream;
        let replication = self.replication;
        self.rng.get_or_insert_with(|| {
            default_rng_from(&SeedSequence::with_spawn_key(
                seed,
                &[condition, replication, key],
            ))
        })
    }
}

/// The third spawn key of a method's stream: the first four bytes of the SHA-256 of its name, read as
/// a little-endian integer (in Python: `int.from_bytes(hashlib.sha256(name.encode()).digest()[:4],
/// "little")`). Derived from the name, so adding or reordering methods changes no method's stream.
pub fn stream_key(method: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(method.as_bytes());
    u64::from(u32::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// Where a method puts its estimates: rows reused from one fit to the next, and term names kept by
/// position so that a warm fit allocates nothing for them.
pub struct Estimates<'a> {
    rows: &'a mut Vec<Estimate>,
    names: &'a mut TermNames,
}

impl<'a> Estimates<'a> {
    /// A sink that appends to `rows`, naming terms from `names`.
    pub fn new(rows: &'a mut Vec<Estimate>, names: &'a mut TermNames) -> Estimates<'a> {
        Estimates { rows, names }
    }

    /// Add an estimate of `term` and return it, with nothing set but its value, to fill in.
    pub fn push(&mut self, term: &str, kind: TermKind, estimate: f64) -> &mut Estimate {
        let term = self.names.get(self.rows.len(), term);
        self.add(Estimate::new(term, kind, estimate))
    }

    /// [`Estimates::push`] with the term's name written by `name` (into a reused buffer: no allocation
    /// when the name is the same as last time).
    pub fn push_named(
        &mut self,
        name: impl FnOnce(&mut String),
        kind: TermKind,
        estimate: f64,
    ) -> &mut Estimate {
        let mut scratch = std::mem::take(&mut self.names.scratch);
        scratch.clear();
        name(&mut scratch);
        let term = self.names.get(self.rows.len(), &scratch);
        self.names.scratch = scratch;
        self.add(Estimate::new(term, kind, estimate))
    }

    fn add(&mut self, estimate: Estimate) -> &mut Estimate {
        let at = self.rows.len();
        self.rows.push(estimate);
        &mut self.rows[at]
    }

    /// The estimates added so far.
    pub fn rows(&self) -> &[Estimate] {
        self.rows
    }

    /// Remove every estimate (a method that fails half way drops what it had reported).
    pub fn clear(&mut self) {
        self.rows.clear();
    }
}

/// Term names already handed out for one method, by position, so that rows share them instead of
/// allocating a new string per replication.
#[derive(Default, Clone, Debug)]
pub struct TermNames {
    slots: Vec<Arc<str>>,
    scratch: String,
}

impl TermNames {
    /// The name at `slot`, reusing the previous fit's `Arc` when the name is the same.
    fn get(&mut self, slot: usize, name: &str) -> Arc<str> {
        match self.slots.get(slot) {
            Some(n) if &**n == name => n.clone(),
            _ => {
                let n: Arc<str> = Arc::from(name);
                if slot < self.slots.len() {
                    self.slots[slot] = n.clone();
                } else {
                    self.slots.push(n.clone());
                }
                n
            }
        }
    }
}

/// A worker's reusable workspace for one method of a study: built once per worker by
/// [`MethodSpec::build`], it fits one data set after another.
pub trait Method: Send {
    /// Fit one data set. The estimates go into `estimates` (empty when called); the outcome says how the
    /// fit ended. An `Err` is stored as an `error` fit with its message, and its estimates are dropped.
    /// A warm fit should allocate nothing (the runner's allocation tests hold the built-in methods to it).
    fn fit(
        &mut self,
        data: &dyn Columns,
        context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure>;

    /// The terms the method estimates for this data set, variance components included, in its order
    /// (for `parsim check` and to check the estimands). By default, the terms of a fit.
    fn terms(
        &mut self,
        data: &dyn Columns,
        context: &mut Context<'_>,
    ) -> Result<Vec<String>, FitFailure> {
        let (mut rows, mut names) = (Vec::new(), TermNames::default());
        self.fit(data, context, &mut Estimates::new(&mut rows, &mut names))?;
        Ok(rows.iter().map(|e| e.term.to_string()).collect())
    }
}

/// How a method uses a column of the data set, for the study file's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// A variable of the analysis (response, covariate, grouping factor).
    Variable,
    /// The cluster of cluster-robust standard errors.
    Cluster,
}

/// A column a method reads, with where the study file names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnUse {
    /// The column's name.
    pub name: String,
    /// Byte range in the study file (for the caret of a message).
    pub span: Range<usize>,
    /// What the method does with it.
    pub role: ColumnRole,
}

/// A configured method of a study: one `[methods.NAME]` table read by its [`MethodKind`].
pub trait MethodSpec: Send + Sync + fmt::Debug {
    /// The kind's name (`model` in the study file and the store).
    fn model(&self) -> &str;

    /// The model formula, when the method has one (stored and shown by `parsim check`).
    fn formula(&self) -> Option<&str>;

    /// A short description for `parsim check`, e.g. `lmm (REML, Satterthwaite t)`.
    fn describe(&self) -> String;

    /// Every column the method reads, in the order it names them (response first, when it has one).
    fn columns(&self) -> Vec<ColumnUse>;

    /// The column whose length is the data set's number of rows, if the method has one (a response).
    fn response(&self) -> Option<&str> {
        None
    }

    /// A worker's workspace; an error says why the method cannot be set up (a bad formula) and stops
    /// the run before it starts.
    fn build(&self) -> Result<Box<dyn Method>, String>;

    /// Whether each fit is an exchange with another process (a method in Python, R or any
    /// program), whose two wake-ups per data set cost least when both processes share a CPU.
    fn exchanges_with_a_process(&self) -> bool {
        false
    }
}

/// A kind of method: the `model = "..."` of a `[methods.NAME]` table.
pub trait MethodKind: Send + Sync {
    /// The name in `model = "..."`.
    fn name(&self) -> &str;

    /// The keys its tables may have besides `model`; any other key is reported.
    fn keys(&self) -> &[&str];

    /// Read a table of this kind. Problems are reported through `table` (each with its place in the
    /// file), and `None` returned when the method cannot be built.
    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>>;
}

/// One method of a study: its name and its configuration.
#[derive(Clone, Debug)]
pub struct StudyMethod {
    /// The table name: `[methods.NAME]`.
    pub name: String,
    /// What the table configured.
    pub spec: Arc<dyn MethodSpec>,
    /// The third spawn key of its stream ([`stream_key`] of the name).
    pub stream_key: u64,
    /// Where messages about the method point in the study file (e.g. its formula).
    pub span: Range<usize>,
}

impl StudyMethod {
    /// A method called `name`, configured as `spec`, whose messages point at `span` of the study file.
    pub fn new(name: String, spec: Arc<dyn MethodSpec>, span: Range<usize>) -> StudyMethod {
        let stream_key = stream_key(&name);
        StudyMethod {
            name,
            spec,
            stream_key,
            span,
        }
    }
}

#[cfg(test)]
mod tests;
