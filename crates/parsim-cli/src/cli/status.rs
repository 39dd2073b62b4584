//! `parsim status DIR`: units done per shard, failures per method, what is missing.

use std::path::PathBuf;
use std::process::ExitCode;

use parsim::merge::{self, MergeOptions};

use parsim::merge::Survey;
use parsim::slurm::{SHARDS_DIR, SLURM_DIR};

use super::shards::{failure, live_job, shard_lines};
use super::Outcome;

/// Arguments of `parsim status`.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of a job array (holds shards/K/results.sqlite).
    pub dir: PathBuf,
    /// Number of array tasks, if DIR/slurm/array.json does not record it (default: highest shard + 1).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    pub tasks: Option<u64>,
    /// Replications per condition, if DIR/slurm/array.json does not record it (default: the study file's).
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..))]
    pub replications: Option<u64>,
}

/// Run `parsim status`: reads the stores, changes nothing.
pub fn execute(args: Args) -> Outcome {
    let options = MergeOptions {
        tasks: args.tasks,
        replications: args.replications,
    };
    let survey = merge::survey(&args.dir, &options).map_err(failure)?;
    let array = [SHARDS_DIR, SLURM_DIR]
        .iter()
        .any(|d| args.dir.join(d).is_dir());
    if !array {
        return plain_status(&args.dir, &survey);
    }
    print!("{}", shard_lines(&survey, None));
    println!(
        "stored: {} of {} units ({:.1}%)",
        survey.units_done(),
        survey.units(),
        100.0 * survey.units_done() as f64 / survey.units().max(1) as f64
    );
    match survey.merged {
        Some(n) => println!(
            "merged store: {n} units in {}",
            parsim::store::Store::path_in(&args.dir).display()
        ),
        None => println!(
            "merged store: none yet (parsim merge {})",
            args.dir.display()
        ),
    }
    if let Some((job, counts)) = live_job(&args.dir) {
        println!("job {job} (last submitted): {counts}");
    }
    print!("{}", survey.describe_failures());
    print!("{}", survey.describe_missing());
    Ok(ExitCode::SUCCESS)
}

/// The status of a plain run's directory (no job array): what the store holds against what the runs
/// asked for, the failures, and the command that completes it.
fn plain_status(dir: &std::path::Path, survey: &Survey) -> Outcome {
    let id = &survey.identity;
    println!(
        "study {} (hash {:.12}, parsim {}): {} condition{} × {} replications = {} units",
        id.name,
        id.hash,
        id.parsim_version,
        survey.conditions.len(),
        if survey.conditions.len() == 1 {
            ""
        } else {
            "s"
        },
        survey.replications,
        survey.units()
    );
    println!(
        "stored: {} of {} units ({:.1}%)",
        survey.units_done(),
        survey.units(),
        100.0 * survey.units_done() as f64 / survey.units().max(1) as f64
    );
    print!("{}", survey.describe_failures());
    if !survey.is_complete() {
        println!(
            "resume with: parsim run {} --out {} --replications {}",
            dir.join("study.toml").display(),
            dir.display(),
            survey.replications
        );
    }
    Ok(ExitCode::SUCCESS)
}
