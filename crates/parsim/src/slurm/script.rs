//! The batch script of a job array.

use std::fmt::Write as _;
use std::path::Path;

use super::{ArrayPlan, SCRIPT_FILE, SHARDS_DIR, SLURM_DIR};

/// The sbatch script of `plan`: a job array 0..M-1 in which task K runs shard K+1/M of the study into
/// `DIR/shards/K`, with the binary that wrote the script, logging to `DIR/slurm/task-K.out`.
///
/// The number of shards M is written into the script rather than read from `SLURM_ARRAY_TASK_COUNT`, so that
/// resubmitting some tasks (`sbatch --array=2,5 parsim.sbatch`) still runs shards of the same split.
pub fn sbatch_script(plan: &ArrayPlan) -> String {
    let m = plan.tasks;
    let slurm_dir = plan.out.join(SLURM_DIR);
    let shards = plan.out.join(SHARDS_DIR);
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# Written by parsim {} (`parsim slurm`).",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        s,
        "# Study {} (hash {:.12}) as a job array of {m} tasks:",
        plan.study_name, plan.study_hash
    );
    let _ = writeln!(
        s,
        "# task K runs shard K+1/{m} of the units into {}/K.",
        shards.display()
    );
    let _ = writeln!(
        s,
        "# Rerun some tasks: sbatch --array=2,5 {}",
        quote(&slurm_dir.join(SCRIPT_FILE))
    );
    let _ = writeln!(
        s,
        "# Then merge: {} merge {}",
        quote(&plan.binary),
        quote(&plan.out)
    );
    let _ = writeln!(
        s,
        "#SBATCH --job-name={}",
        quote_str(&job_name(&plan.study_name))
    );
    let _ = writeln!(s, "#SBATCH --array=0-{}", m - 1);
    let _ = writeln!(s, "#SBATCH --ntasks=1");
    let _ = writeln!(
        s,
        "#SBATCH --cpus-per-task={}",
        plan.resources.cpus_per_task
    );
    if let Some(p) = &plan.resources.partition {
        let _ = writeln!(s, "#SBATCH --partition={}", quote_str(p));
    }
    if let Some(t) = &plan.resources.time {
        let _ = writeln!(s, "#SBATCH --time={}", quote_str(t));
    }
    if let Some(mem) = &plan.resources.mem {
        let _ = writeln!(s, "#SBATCH --mem={}", quote_str(mem));
    }
    let _ = writeln!(
        s,
        "#SBATCH --output={}",
        quote(&slurm_dir.join("task-%a.out"))
    );
    // A rerun appends to the log of the earlier attempt instead of erasing it.
    let _ = writeln!(s, "#SBATCH --open-mode=append");
    let _ = writeln!(s);
    let _ = writeln!(s, "set -euo pipefail");
    let _ = writeln!(
        s,
        "task=${{SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}}"
    );
    let _ = writeln!(
        s,
        "echo \"parsim task $task (shard $((task + 1))/{m}) on $(hostname) at $(date -u +%FT%TZ)\""
    );
    // The tasks read the frozen copy of the study; the methods' files stay beside the original.
    let _ = writeln!(
        s,
        "export {}={}",
        crate::study::STUDY_DIR_VARIABLE,
        quote(&plan.study_directory)
    );
    let mut run = format!(
        "exec {} run {} --shard \"$((task + 1))/{m}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --out {}/\"$task\" --quiet",
        quote(&plan.binary),
        quote(&plan.study),
        quote(&shards),
    );
    let _ = write!(run, " --replications {}", plan.replications);
    let _ = writeln!(s, "{run}");
    s
}

/// A Slurm job name from the study name: letters, digits, `-`, `_` and `.` kept, the rest replaced.
fn job_name(study: &str) -> String {
    let cleaned: String = study
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("parsim-{cleaned}")
}

/// A path as one shell word.
pub(crate) fn quote(path: &Path) -> String {
    quote_str(&path.display().to_string())
}

/// A string as one shell word (sbatch reads `#SBATCH` lines with the same quoting).
pub(crate) fn quote_str(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,%@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
