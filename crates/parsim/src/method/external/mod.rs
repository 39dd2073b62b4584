//! Methods written by the user in Python, R or any language: `model = "python"`, `model = "r"` and
//! `model = "command"`.
//!
//! Each parsim worker owns one long-lived worker process per such method, started when the worker
//! builds its methods and fed one data set after another over its stdin and stdout in the binary
//! protocol of docs/methods.md ([`protocol`]). A fit that crashes the process or outlives the method's
//! `timeout` costs that fit only: the process is killed and a fresh one started for the next fit.
//! Python and R need no installed package of parsim's: their side of the protocol ([`PYTHON_WORKER`],
//! [`R_WORKER`]) is inside the binary and handed to the interpreter on its command line.

mod process;
pub mod protocol;
#[cfg(target_os = "linux")]
mod shared;
#[cfg(not(target_os = "linux"))]
#[path = "shared_none.rs"]
mod shared;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parsim_lmm::{student_t, Columns};

use self::process::{ExchangeError, Process};
use self::protocol::{mask, Reply};
use self::shared::Shared;
use super::{
    ColumnRole, ColumnUse, Context, Estimates, FitFailure, FitStatus, Located, Method, MethodKind,
    MethodSpec, MethodTable, Outcome, TermKind,
};

/// The worker side of the protocol for `model = "python"`, run as `python3 -c <source>`.
pub const PYTHON_WORKER: &str = include_str!("worker.py");

/// The worker side of the protocol for `model = "r"`. Rscript truncates a long `-e` argument, so the
/// source travels in the environment variable [`R_WORKER_VARIABLE`] and `-e` evaluates it.
pub const R_WORKER: &str = include_str!("worker.R");

/// The environment variable that carries [`R_WORKER`] to Rscript.
const R_WORKER_VARIABLE: &str = "PARSIM_R_WORKER";

/// How long a worker may take to start (interpreter, imports, `setup()`) when the method's `timeout`
/// is shorter: importing statsmodels alone takes seconds on a cold disk.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Lines of a crashed worker's standard error quoted in the fit's message.
const STDERR_LINES: usize = 12;

/// The language of a method's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    /// `model = "python"`: a function in a Python file, run by the shipped worker module.
    Python,
    /// `model = "r"`: a function in an R file, run by the shipped worker script.
    R,
    /// `model = "command"`: a program that speaks the protocol itself.
    Command,
}

/// A kind of method that runs user code in worker processes: `python`, `r` or `command`.
#[derive(Debug, Clone, Copy)]
pub struct ExternalKind {
    language: Language,
}

impl ExternalKind {
    /// `model = "python"`: `file`, `function` (default `analyse`), `python` (default `python3`),
    /// `timeout`.
    pub fn python() -> ExternalKind {
        ExternalKind {
            language: Language::Python,
        }
    }

    /// `model = "r"`: `file`, `function` (default `analyse`), `rscript` (default `Rscript`), `timeout`.
    pub fn r() -> ExternalKind {
        ExternalKind {
            language: Language::R,
        }
    }

    /// `model = "command"`: `command` (program and arguments), `timeout`.
    pub fn command() -> ExternalKind {
        ExternalKind {
            language: Language::Command,
        }
    }
}

/// A configured method of one of the external kinds.
#[derive(Debug, Clone)]
struct ExternalSpec {
    language: Language,
    /// The method's name (sent in the hello frame).
    name: String,
    /// The interpreter or the program.
    program: PathBuf,
    /// Its arguments (the worker's source for Python).
    args: Vec<String>,
    /// Environment variables to add (the worker's source for R).
    env: Vec<(String, String)>,
    /// The user's file (Python and R), absolute.
    file: Option<PathBuf>,
    /// The function in it.
    function: String,
    /// Where the process runs: the study file's directory.
    directory: PathBuf,
    /// The longest a fit may take.
    timeout: Option<Duration>,
    /// The columns sent to the worker, with their places in the study file (empty: every column).
    columns: Vec<ColumnUse>,
    /// Their names, as the fit frame filters them.
    column_names: Vec<String>,
    /// The confidence level of intervals computed from a standard error.
    level: f64,
    /// For `parsim check`.
    description: String,
}

impl MethodKind for ExternalKind {
    fn name(&self) -> &str {
        match self.language {
            Language::Python => "python",
            Language::R => "r",
            Language::Command => "command",
        }
    }

    fn keys(&self) -> &[&str] {
        match self.language {
            Language::Python => &["file", "function", "python", "timeout", "columns"],
            Language::R => &["file", "function", "rscript", "timeout", "columns"],
            Language::Command => &["command", "timeout", "columns"],
        }
    }

    fn configure(&self, table: &mut MethodTable<'_, '_>) -> Option<Arc<dyn MethodSpec>> {
        let directory = table.directory().to_path_buf();
        let timeout = timeout(table);
        let columns = columns(table);
        let mut env = Vec::new();
        let (program, args, file, function) = match self.language {
            Language::Command => {
                let (program, args) = command(table, &directory)?;
                (program, args, None, String::new())
            }
            Language::Python | Language::R => {
                let (interpreter_key, default, source, example) =
                    if self.language == Language::Python {
                        ("python", "python3", PYTHON_WORKER, "file = \"welch.py\"")
                    } else {
                        ("rscript", "Rscript", R_WORKER, "file = \"analysis.R\"")
                    };
                let file = user_file(table, &directory, example);
                let function = function(table);
                let program = match table.located(interpreter_key) {
                    Some(p) => program_path(table, &p, &directory)?,
                    None => PathBuf::from(default),
                };
                let args = if self.language == Language::Python {
                    vec!["-c".to_string(), source.to_string()]
                } else {
                    env.push((R_WORKER_VARIABLE.to_string(), source.to_string()));
                    let run = format!("eval(parse(text = Sys.getenv(\"{R_WORKER_VARIABLE}\")))");
                    vec!["-e".to_string(), run]
                };
                (program, args, Some(file?), function?)
            }
        };
        let (timeout, columns) = (timeout?, columns?);
        let shown = file.as_ref().map_or_else(
            || {
                std::iter::once(program.display().to_string())
                    .chain(args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            |f| format!("{}, {}()", relative(f, &directory), function),
        );
        let limit = timeout.map_or(String::new(), |t| {
            format!(", timeout {} s", t.as_secs_f64())
        });
        let description = format!("{} ({shown}{limit})", self.name());
        // Messages about the method as a whole (a script that fails on the first data set) point at
        // its file or command.
        let at = table.span_of(if self.language == Language::Command {
            "command"
        } else {
            "file"
        });
        table.point_at(at);
        Some(Arc::new(ExternalSpec {
            language: self.language,
            name: table.name().to_string(),
            program,
            args,
            env,
            file,
            function,
            directory,
            timeout,
            column_names: columns.iter().map(|c| c.name.clone()).collect(),
            columns,
            level: table.level(),
            description,
        }))
    }
}

/// `timeout` (seconds), when given: a positive finite number. `Some(None)` when absent; `None` when
/// wrong (reported).
fn timeout(table: &mut MethodTable<'_, '_>) -> Option<Option<Duration>> {
    if !table.has("timeout") {
        return Some(None);
    }
    let seconds = table.float("timeout")?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if seconds > 0.0 => Some(Some(d)),
        _ => {
            table
                .error_at(
                    "timeout",
                    format!("`timeout` must be a positive number of seconds, got {seconds}"),
                )
                .notes
                .push("e.g. timeout = 30".into());
            None
        }
    }
}

/// `columns`: the columns to send (default: all), each checked against the data program like a
/// formula's variables. `None` when wrong (reported).
fn columns(table: &mut MethodTable<'_, '_>) -> Option<Vec<ColumnUse>> {
    if !table.has("columns") {
        return Some(Vec::new());
    }
    let names = table.strings("columns")?;
    if names.is_empty() {
        table
            .error_at("columns", "`columns` is empty")
            .notes
            .push("leave it out to send every column, or name the ones the method reads".into());
        return None;
    }
    Some(
        names
            .into_iter()
            .map(|name| ColumnUse {
                span: name.whole(),
                name: name.text,
                role: ColumnRole::Variable,
            })
            .collect(),
    )
}

/// `file`, which must name an existing file, relative to the study file's directory.
fn user_file(table: &mut MethodTable<'_, '_>, directory: &Path, example: &str) -> Option<PathBuf> {
    let Some(file) = table.located("file") else {
        if !table.has("file") {
            table.missing(
                "file",
                &format!("e.g. {example} (relative to the study file)"),
            );
        }
        return None;
    };
    let path = directory.join(&file.text);
    if !path.is_file() {
        table
            .error(
                file.whole(),
                format!("cannot find the file `{}`", file.text),
            )
            .notes
            .push(format!(
                "looked for {} (file names are relative to the study file)",
                path.display()
            ));
        return None;
    }
    if path.to_str().is_none() {
        table.error(file.whole(), "the file's path is not valid UTF-8");
        return None;
    }
    Some(path)
}

/// `function` (default `analyse`): a name the language can call.
fn function(table: &mut MethodTable<'_, '_>) -> Option<String> {
    let Some(name) = table.located("function") else {
        return (!table.has("function")).then(|| "analyse".to_string());
    };
    let mut chars = name.text.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        table.error(
            name.whole(),
            format!(
                "`function` must be a function's name, got \"{}\"",
                name.text
            ),
        );
        return None;
    }
    Some(name.text)
}

/// An interpreter or program: a bare name is looked up on PATH when the process starts; a path (with a
/// `/`) is relative to the study file and must exist.
fn program_path(
    table: &mut MethodTable<'_, '_>,
    program: &Located,
    directory: &Path,
) -> Option<PathBuf> {
    if program.text.is_empty() {
        table.error(program.whole(), "the program's name is empty");
        return None;
    }
    if !program.text.contains('/') {
        return Some(PathBuf::from(&program.text));
    }
    // Not canonicalised: a venv's python is a symlink that must keep its own path to find the venv.
    let path = directory.join(&program.text);
    if !path.is_file() {
        table
            .error(
                program.whole(),
                format!("cannot find the program `{}`", program.text),
            )
            .notes
            .push(format!(
                "looked for {} (paths are relative to the study file)",
                path.display()
            ));
        return None;
    }
    Some(path)
}

/// `command = ["./program", "arg", ...]`: the program and its arguments.
fn command(table: &mut MethodTable<'_, '_>, directory: &Path) -> Option<(PathBuf, Vec<String>)> {
    let Some(words) = table.strings("command") else {
        if !table.has("command") {
            table.missing(
                "command",
                "e.g. command = [\"./my-method\", \"--fast\"] (relative to the study file)",
            );
        }
        return None;
    };
    let Some((first, rest)) = words.split_first() else {
        table.error_at(
            "command",
            "`command` is empty: it needs at least the program",
        );
        return None;
    };
    let program = program_path(table, first, directory)?;
    Some((program, rest.iter().map(|w| w.text.clone()).collect()))
}

/// `path` relative to `directory` when it is inside it, for messages.
fn relative(path: &Path, directory: &Path) -> String {
    path.strip_prefix(directory)
        .unwrap_or(path)
        .display()
        .to_string()
}

impl MethodSpec for ExternalSpec {
    fn exchanges_with_a_process(&self) -> bool {
        true
    }

    fn model(&self) -> &str {
        match self.language {
            Language::Python => "python",
            Language::R => "r",
            Language::Command => "command",
        }
    }

    fn formula(&self) -> Option<&str> {
        None
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    /// The columns named in `columns`; none when the method receives every column of the data set.
    fn columns(&self) -> Vec<ColumnUse> {
        self.columns.clone()
    }

    /// Starts the worker process and waits until it is ready (its `setup()` done), so that a script
    /// that cannot even load stops the run before it starts, with its own message.
    fn build(&self) -> Result<Box<dyn Method>, String> {
        let mut method = ExternalMethod {
            spec: Arc::new(self.clone()),
            process: None,
            shared: None,
            request: Vec::new(),
            reply: Vec::new(),
        };
        method.start()?;
        Ok(Box::new(method))
    }
}

/// A parsim worker's handle on its worker process for one method.
struct ExternalMethod {
    spec: Arc<ExternalSpec>,
    /// `None` after a crash or a timeout, until the next fit starts a fresh one.
    process: Option<Process>,
    /// The shared memory file of the process, when it took it up.
    shared: Option<Shared>,
    /// The request frame, reused from one fit to the next.
    request: Vec<u8>,
    /// The reply's payload, reused likewise.
    reply: Vec<u8>,
}

impl ExternalMethod {
    /// Start the process and exchange hello and ready.
    fn start(&mut self) -> Result<(), String> {
        self.shared = None;
        let spec = &self.spec;
        // A fresh file per process: one that a crashed process left half-read is not reused. Without
        // one (another system, or no memory for it), the columns travel in the frames.
        let mut shared = Shared::create().ok();
        let fd = shared.as_ref().map(Shared::fd);
        let mut process = Process::spawn(&spec.program, &spec.args, &spec.env, &spec.directory, fd)
            .map_err(|e| format!("cannot start `{}`: {e}", spec.program.display()))?;
        let file = spec.file.as_deref().and_then(Path::to_str).unwrap_or("");
        protocol::hello(&mut self.request, &spec.name, file, &spec.function, fd)
            .map_err(|e| e.0)?;
        let limit = spec
            .timeout
            .map_or(STARTUP_TIMEOUT, |t| t.max(STARTUP_TIMEOUT));
        let answer = process.exchange(
            &self.request,
            &mut self.reply,
            Some((Instant::now() + limit, limit)),
        );
        // The worker's own error (a script that fails to load) says everything; otherwise how the
        // process ended and what it wrote to its standard error do.
        let failure = match answer {
            Ok(()) => match protocol::reply(&self.reply) {
                Ok(Reply::Ready { shared: taken }) => {
                    if !taken {
                        shared = None;
                    }
                    self.shared = shared;
                    self.process = Some(process);
                    return Ok(());
                }
                Ok(Reply::Error(message)) => {
                    let message = message.to_string();
                    process.kill_now();
                    return Err(format!(
                        "the {} worker could not start: {message}",
                        spec.model()
                    ));
                }
                Ok(Reply::Outcome(_)) => {
                    "the worker answered the hello frame with an outcome".into()
                }
                Err(e) => format!("the worker's answer to the hello frame is malformed: {e}"),
            },
            Err(ExchangeError::Timeout(t)) => {
                format!("the worker was not ready within {} s", t.as_secs_f64())
            }
            Err(ExchangeError::Ended) => "the worker process ended while starting".into(),
            Err(e) => e.to_string(),
        };
        Err(format!(
            "the {} worker could not start: {failure}{}",
            spec.model(),
            ended(&mut process)
        ))
    }

    /// Send one data set and put the reply into `estimates`.
    fn exchange(
        &mut self,
        data: &dyn Columns,
        context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure> {
        if self.process.is_none() {
            self.start().map_err(FitFailure)?;
        }
        let unit = unit(context);
        protocol::fit(
            &mut self.request,
            &unit,
            context.parameters,
            data,
            &self.spec.column_names,
            self.shared.as_mut(),
        )
        .map_err(|e| FitFailure(e.0))?;
        let Some(process) = self.process.as_mut() else {
            return Err(FitFailure::new("the worker process is not running"));
        };
        let deadline = self.spec.timeout.map(|t| (Instant::now() + t, t));
        match process.exchange(&self.request, &mut self.reply, deadline) {
            Ok(()) => {}
            Err(ExchangeError::Timeout(t)) => {
                process.kill_now();
                self.process = None;
                return Ok(Outcome {
                    status: FitStatus::Timeout,
                    message: Some(format!(
                        "no result within the timeout of {} s; the worker process was killed (a new one \
                         serves the next fit)",
                        t.as_secs_f64()
                    )),
                    iterations: 0,
                });
            }
            Err(e) => {
                let why = match e {
                    ExchangeError::Ended => "the worker process ended during the fit".to_string(),
                    other => other.to_string(),
                };
                let message = format!("{why}{}", ended(process));
                self.process = None;
                return Err(FitFailure(message));
            }
        }
        match report(&self.reply, self.spec.level, estimates) {
            Ok(result) => result,
            Err(Broken(message)) => {
                // A worker that breaks the protocol cannot be trusted with the next data set.
                if let Some(mut process) = self.process.take() {
                    process.kill_now();
                }
                Err(FitFailure(message))
            }
        }
    }
}

/// How a worker ended, and what it last wrote to its standard error, for a message.
fn ended(process: &mut Process) -> String {
    let tail = process.stderr_tail(STDERR_LINES);
    let how = process.kill();
    if tail.is_empty() {
        format!(" ({how})")
    } else {
        format!(" ({how}); its standard error ended with:\n{tail}")
    }
}

impl Method for ExternalMethod {
    fn fit(
        &mut self,
        data: &dyn Columns,
        context: &mut Context<'_>,
        estimates: &mut Estimates<'_>,
    ) -> Result<Outcome, FitFailure> {
        let outcome = self.exchange(data, context, estimates);
        if !matches!(&outcome, Ok(o) if o.status != FitStatus::Timeout) {
            estimates.clear();
        }
        outcome
    }

    /// The terms of a fit of the data set; a fit that does not end well (an exception, a timeout, a
    /// malformed result) is an error here, so that `parsim check` reports it before a run.
    fn terms(
        &mut self,
        data: &dyn Columns,
        context: &mut Context<'_>,
    ) -> Result<Vec<String>, FitFailure> {
        let (mut rows, mut names) = (Vec::new(), super::TermNames::default());
        let outcome = self.fit(data, context, &mut Estimates::new(&mut rows, &mut names))?;
        if outcome.status == FitStatus::Timeout {
            return Err(FitFailure(outcome.message.unwrap_or_default()));
        }
        if rows.is_empty() {
            return Err(FitFailure::new("the method returned no estimates"));
        }
        Ok(rows.iter().map(|e| e.term.to_string()).collect())
    }
}

/// The unit's stream, as the fit frame carries it: what `Context::rng()` would draw from.
fn unit(context: &mut Context<'_>) -> protocol::Unit {
    let (seed, key) = (context.seed(), context.stream_key());
    let (condition, replication) = (context.condition as u64, context.replication);
    let rng = context.rng();
    let (state, inc) = (rng.bit_generator().state(), rng.bit_generator().inc());
    // The range of R's set.seed (a positive 32-bit integer); numpy's integers(0, 2**31 - 1).
    let integer_seed = rng.integers(0, i64::from(i32::MAX), false).unwrap_or(0);
    protocol::Unit {
        seed,
        condition,
        replication,
        key,
        state,
        inc,
        integer_seed,
    }
}

/// A reply that breaks the protocol: the worker is restarted.
struct Broken(String);

/// Put an outcome frame's rows into `estimates`, with t (or normal) intervals and p-values computed
/// from a standard error where the method gave none. The inner `Err` is the method's own failure (an
/// exception, a malformed result): the worker is fine.
fn report(
    reply: &[u8],
    level: f64,
    estimates: &mut Estimates<'_>,
) -> Result<Result<Outcome, FitFailure>, Broken> {
    let frame = match protocol::reply(reply) {
        Ok(Reply::Outcome(frame)) => frame,
        Ok(Reply::Error(message)) => return Ok(Err(FitFailure(message.to_string()))),
        Ok(Reply::Ready { .. }) => {
            return Err(Broken(
                "the worker answered a fit with a ready frame".into(),
            ))
        }
        Err(e) => return Err(Broken(format!("the worker's reply is malformed: {e}"))),
    };
    let status = match frame.status {
        "" | "ok" => FitStatus::Ok,
        "singular" => FitStatus::Singular,
        "not_converged" => FitStatus::NotConverged,
        other => {
            return Ok(Err(FitFailure(format!(
                "the method's status is \"{other}\"; it must be \"ok\", \"singular\" or \"not_converged\""
            ))))
        }
    };
    for row in frame.rows() {
        let row = row.map_err(|e| Broken(format!("the worker's reply is malformed: {e}")))?;
        if let Err(why) = add_row(&row, level, estimates) {
            return Ok(Err(FitFailure(why)));
        }
    }
    Ok(Ok(Outcome {
        status,
        message: (!frame.message.is_empty()).then(|| frame.message.to_string()),
        iterations: 0,
    }))
}

/// One returned row as an estimate; an error says what is wrong with it.
fn add_row(
    row: &protocol::Row<'_>,
    level: f64,
    estimates: &mut Estimates<'_>,
) -> Result<(), String> {
    let term = row.term;
    if term.is_empty() {
        return Err("a returned estimate has an empty term name".into());
    }
    if estimates.rows().iter().any(|e| &*e.term == term) {
        return Err(format!("the term `{term}` is returned twice"));
    }
    let estimate = row.values[0];
    let se = row.get(mask::SE, 1);
    let df = row.get(mask::DF, 2);
    if !estimate.is_finite() {
        return Err(format!(
            "the estimate of `{term}` is {estimate}, not a finite number"
        ));
    }
    if se.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
        return Err(format!(
            "the standard error of `{term}` is {}, not a finite number >= 0",
            row.values[1]
        ));
    }
    if df.is_some_and(|d| d.is_nan() || d <= 0.0) {
        return Err(format!(
            "the df of `{term}` is {}, not a number > 0",
            row.values[2]
        ));
    }
    let kind = if row.mask & mask::VARIANCE != 0 {
        TermKind::Variance
    } else {
        TermKind::Fixed
    };
    let e = estimates.push(term, kind, estimate);
    e.se = se;
    e.df = df.filter(|d| d.is_finite());
    e.ci_lower = row.get(mask::CI_LOWER, 3);
    e.ci_upper = row.get(mask::CI_UPPER, 4);
    e.p_value = row.get(mask::P_VALUE, 5);
    if let (Some(se), TermKind::Fixed) = (se, kind) {
        // As the built-in methods do: t on df, the normal distribution when there is no df.
        let reference = df.unwrap_or(f64::INFINITY);
        if e.ci_lower.is_none() && e.ci_upper.is_none() {
            let half = student_t::upper_quantile((1.0 - level) / 2.0, reference) * se;
            e.ci_lower = Some(estimate - half);
            e.ci_upper = Some(estimate + half);
        }
        if e.p_value.is_none() {
            e.p_value = Some(student_t::two_sided_p(estimate / se, reference));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
