//! `parsim status DIR`: units done per shard, failures per method, what is missing.

use std::process::ExitCode;

use parsim::merge;

use parsim::merge::Survey;
use parsim::slurm::{SHARDS_DIR, SLURM_DIR};

use super::shards::{failure, live_job, shard_lines, ArrayArgs};
use super::Outcome;

/// Arguments of `parsim status`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub array: ArrayArgs,
}

/// Run `parsim status`: reads the stores, changes nothing.
pub fn execute(args: Args) -> Outcome {
    let dir = &args.array.dir;
    let survey = merge::survey(dir, &args.array.options()).map_err(failure)?;
    let array = [SHARDS_DIR, SLURM_DIR].iter().any(|d| dir.join(d).is_dir());
    if !array {
        return plain_status(dir, &survey);
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
            parsim::store::Store::path_in(dir).display()
        ),
        None => println!("merged store: none yet (parsim merge {})", dir.display()),
    }
    if let Some((job, counts)) = live_job(dir) {
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
