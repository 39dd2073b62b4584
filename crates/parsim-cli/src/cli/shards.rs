//! What the shards of a job array hold, as `parsim merge` and `parsim status` print it.

use std::path::PathBuf;

use parsim::merge::{MergeError, MergeOptions, Survey};
use parsim::slurm::{self, JOBS_FILE, SLURM_DIR};
use parsim::store::StoreError;

use super::Failure;

/// The arguments `parsim merge` and `parsim status` share: the directory and what to count in it.
#[derive(clap::Args)]
pub struct ArrayArgs {
    /// Results directory of a job array (holds shards/K/results.sqlite).
    pub dir: PathBuf,
    /// Number of array tasks, if DIR/slurm/array.json does not record it (default: highest shard + 1).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    pub tasks: Option<u64>,
    /// Replications per condition, if DIR/slurm/array.json does not record it (default: the study file's).
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..))]
    pub replications: Option<u64>,
}

impl ArrayArgs {
    /// The merge options these arguments ask for.
    pub fn options(&self) -> MergeOptions {
        MergeOptions {
            tasks: self.tasks,
            replications: self.replications,
        }
    }
}

/// The study line and one line per task: units stored of those owned (and copied by this merge).
pub fn shard_lines(survey: &Survey, copied: Option<&[(u64, u64)]>) -> String {
    let id = &survey.identity;
    let mut s = format!(
        "  study {} (hash {:.12}, parsim {}): {} condition{} × {} replications = {} units in {} tasks\n",
        id.name,
        id.hash,
        id.parsim_version,
        survey.conditions.len(),
        if survey.conditions.len() == 1 { "" } else { "s" },
        survey.replications,
        survey.units(),
        survey.tasks
    );
    for shard in &survey.shards {
        let head = format!(
            "  task {} (shard {}/{})",
            shard.task,
            shard.task + 1,
            survey.tasks
        );
        let line = match shard.stored {
            None => format!("{head}: no store"),
            Some(n) => {
                let new = copied
                    .and_then(|c| c.iter().find(|(k, _)| *k == shard.task))
                    .map(|(_, n)| format!(", {n} new"))
                    .unwrap_or_default();
                format!("{head}: {n} of {} units stored{new}", shard.owned)
            }
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// Turn a merge error into a message and exit code.
pub fn failure(e: MergeError) -> Failure {
    match e {
        MergeError::Mismatch { .. }
        | MergeError::Grow { .. }
        | MergeError::Store(StoreError::Busy { .. }) => Failure::invalid(e.to_string()),
        _ => Failure::failed(e.to_string()),
    }
}

/// The last job submitted by parsim for `dir` and its unfinished tasks, when Slurm can be asked.
pub fn live_job(dir: &std::path::Path) -> Option<(String, slurm::QueueCounts)> {
    let log = std::fs::read_to_string(dir.join(SLURM_DIR).join(JOBS_FILE)).ok()?;
    let job = log.lines().last()?.split_whitespace().nth(1)?.to_string();
    let counts = slurm::queue(&job).ok()?;
    Some((job, counts))
}
