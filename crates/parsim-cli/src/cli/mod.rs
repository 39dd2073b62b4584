//! One module per subcommand. Each parses its arguments (clap), calls the library, and turns
//! library errors into messages that tell the user what to do.

use std::process::ExitCode;

pub mod check;
pub mod data;
pub mod fit;
pub mod fit_glm;
pub mod fit_output;
pub mod merge;
pub mod plan;
pub mod plot;
pub mod power;
pub mod progress;
pub mod report;
pub mod run;
pub mod shards;
pub mod slurm;
pub mod status;
pub mod summary;

/// Exit code for invalid input (a study file, data file or formula the user must fix).
pub const EXIT_INVALID_INPUT: u8 = 2;
/// Exit code for any other failure (I/O, an interrupted run, failed checks).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a run (or merge) that stored everything but in which a method failed on every replication
/// of a condition: its results say nothing about that method there, and a script must notice.
pub const EXIT_METHOD_FAILED: u8 = 3;

/// A command that could not complete: what to print and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    /// Exit code: [`EXIT_INVALID_INPUT`] or [`EXIT_FAILURE`].
    pub code: u8,
    /// The message, already rendered (may span several lines, e.g. a diagnostic with a caret).
    /// Empty when the command has already printed its own diagnostics.
    pub message: String,
}

impl Failure {
    /// Invalid input: exit code 2.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_INVALID_INPUT,
            message: message.into(),
        }
    }

    /// Any other failure: exit code 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// Print the message to stderr and return the exit code.
    pub fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            let msg = self.message.trim_end();
            if msg.starts_with("error") {
                eprintln!("{msg}");
            } else {
                eprintln!("error: {msg}");
            }
        }
        ExitCode::from(self.code)
    }
}

/// Result of a subcommand.
pub type Outcome = Result<ExitCode, Failure>;

/// Check a loaded study as `parsim check` does, and as `parsim run` and `parsim slurm` do before any work:
/// replication 0 of every condition generates (finite columns, valid distribution parameters), and every
/// estimand is estimated by a method. A study that fails is the user's to fix: exit 2.
pub fn check_study(
    study: &parsim::study::Study,
) -> Result<parsim::study::CheckReport<'_>, Failure> {
    study.check().map_err(|e| match e {
        parsim::study::StudyError::Io { .. } => Failure::failed(e.to_string()),
        parsim::study::StudyError::Invalid { rendered, .. } => Failure::invalid(rendered),
    })
}

/// Say which methods failed on every replication of a condition, and return the exit code that says so
/// ([`EXIT_METHOD_FAILED`]); success when there are none.
pub fn failed_everywhere_code(summary: Option<&parsim::report::RunSummary>) -> ExitCode {
    let Some(summary) = summary.filter(|s| !s.failed_everywhere.is_empty()) else {
        return ExitCode::SUCCESS;
    };
    for (label, f) in &summary.failed_everywhere {
        eprintln!(
            "error: method `{}` failed on every replication of condition {} ({label}): {}",
            f.method,
            f.condition,
            f.reasons_text()
        );
    }
    ExitCode::from(EXIT_METHOD_FAILED)
}

/// Load a study file; a missing, unreadable or invalid one is the user's to fix: exit 2, with the
/// rendered diagnostics of an invalid one.
pub fn load_study(path: &std::path::Path) -> Result<parsim::study::Study, Failure> {
    parsim::study::Study::load(path).map_err(|e| match e {
        parsim::study::StudyError::Io { .. } => Failure::invalid(e.to_string()),
        parsim::study::StudyError::Invalid { rendered, .. } => Failure::invalid(rendered),
    })
}
