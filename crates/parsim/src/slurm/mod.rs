//! Running a study as a Slurm job array: the batch script, submission, and waiting for the tasks.
//!
//! A results directory run on Slurm looks like this:
//! ```text
//! DIR/slurm/parsim.sbatch    the job array: task K runs `parsim run --shard K+1/M --out DIR/shards/K`
//! DIR/slurm/study.toml       the study as submitted (every task, and every rerun, reads this copy)
//! DIR/slurm/array.json       what was planned: tasks, replications, study hash, parsim version
//! DIR/slurm/jobs.log         one line per submission: time, job id, array
//! DIR/slurm/task-K.out       each task's output (appended to by reruns)
//! DIR/shards/K/results.sqlite  task K's store
//! DIR/results.sqlite         the merged store (`parsim merge DIR`)
//! ```
//! Each task runs a shard of the units (see [`crate::run::Shard`]); since a unit's results depend only on its
//! (condition, replication), the merged store holds exactly the rows a single machine would have written.

mod array;
mod queue;
mod script;

pub use array::{prepare, read_manifest, shard_dir, ArrayPlan, Manifest, Resources, SlurmOptions};
pub use queue::{
    parse_array_tasks, parse_job_records, queue, submit, task_outcomes, wait, JobRecord,
    QueueCounts, TaskOutcome,
};
pub(crate) use script::quote as quote_path;
pub(crate) use script::quote_str;
pub use script::sbatch_script;

use std::path::PathBuf;

/// The directory of Slurm files inside a results directory.
pub const SLURM_DIR: &str = "slurm";
/// The directory of shard stores inside a results directory.
pub const SHARDS_DIR: &str = "shards";
/// The batch script's file name inside [`SLURM_DIR`].
pub const SCRIPT_FILE: &str = "parsim.sbatch";
/// The plan's file name inside [`SLURM_DIR`].
pub const MANIFEST_FILE: &str = "array.json";
/// The submissions log inside [`SLURM_DIR`].
pub const JOBS_FILE: &str = "jobs.log";
/// The frozen copy of the study inside [`SLURM_DIR`].
pub const STUDY_FILE: &str = "study.toml";

/// Errors of planning, submitting and waiting for a job array.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A Slurm command could not be started (not installed, not on PATH).
    #[error("could not run `{command}`: {source}; is this a Slurm login node (is Slurm on PATH)?")]
    Spawn {
        /// The command.
        command: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A Slurm command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A Slurm command printed something this module does not understand.
    #[error("`{command}` printed {output:?}, expected {expected}")]
    Unexpected {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The results directory was planned for a different study or a different split.
    #[error(
        "{dir} already holds a job array for {what}; use another --out directory (its shard stores would not merge)"
    )]
    PlanChanged {
        /// The results directory.
        dir: PathBuf,
        /// How the existing plan differs.
        what: String,
    },
    /// The plan file is unreadable.
    #[error("{path}: not a parsim job array plan: {reason}")]
    BadManifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An invalid option.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests;
