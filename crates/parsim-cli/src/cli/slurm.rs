//! `parsim slurm STUDY.toml --tasks M`: write a job array script; optionally submit it, wait, and merge.

use std::path::PathBuf;
use std::time::Duration;

use parsim::merge::MergeOptions;
use parsim::slurm::{self, Resources, SlurmError, SlurmOptions};

use super::{Failure, Outcome};

/// How often `--wait` asks squeue about the job.
const POLL: Duration = Duration::from_millis(500);

/// Arguments of `parsim slurm`.
#[derive(clap::Args)]
pub struct Args {
    /// The study file.
    pub study: PathBuf,
    /// Number of array tasks M; task K runs shard K+1/M of the units.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    pub tasks: u64,
    /// Results directory (default: results/<study name>); shards go to DIR/shards/K.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replications per condition, overriding the study file.
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..))]
    pub replications: Option<u64>,
    /// Slurm partition.
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// Wall-clock limit per task, in Slurm's syntax (e.g. 30:00, 2:00:00, 1-00:00:00).
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// CPUs per task: each task runs that many workers.
    #[arg(long, value_name = "C", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_task: u32,
    /// Memory per task, in Slurm's syntax (e.g. 2G).
    #[arg(long, value_name = "X")]
    pub mem: Option<String>,
    /// Submit the script with sbatch and print the job id.
    #[arg(long)]
    pub submit: bool,
    /// Submit, wait for every task, report how each ended, then merge (implies --submit).
    #[arg(long)]
    pub wait: bool,
}

/// Run `parsim slurm`.
pub fn execute(args: Args) -> Outcome {
    let study = super::load_study(&args.study)?;
    // A broken study is refused here, not by every task of the array.
    super::check_study(&study)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&study.name));
    let binary = std::env::current_exe()
        .map_err(|e| Failure::failed(format!("cannot find the path of this parsim binary: {e}")))?;
    let options = SlurmOptions {
        tasks: args.tasks,
        out,
        replications: args.replications,
        resources: Resources {
            partition: args.partition.clone(),
            time: args.time.clone(),
            cpus_per_task: args.cpus_per_task,
            mem: args.mem.clone(),
        },
        binary,
    };
    let plan = slurm::prepare(&study, &options).map_err(slurm_failure)?;
    let script = plan.script_path();
    let per_task = plan.units.div_ceil(plan.tasks);
    eprintln!(
        "wrote {}: {} tasks of about {per_task} units each ({} units: {} condition{} × {} replications)",
        script.display(),
        plan.tasks,
        plan.units,
        study.conditions().len(),
        if study.conditions().len() == 1 { "" } else { "s" },
        plan.replications
    );
    if !(args.submit || args.wait) {
        eprintln!("submit it with: sbatch {}", script.display());
        eprintln!(
            "then: parsim status {0}   and when done: parsim merge {0}",
            plan.out.display()
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let job = slurm::submit(&plan.out, &[]).map_err(slurm_failure)?;
    println!("{job}");
    eprintln!("submitted job {job} ({} tasks)", plan.tasks);
    if !args.wait {
        eprintln!(
            "follow it with: parsim status {0}   and when done: parsim merge {0}",
            plan.out.display()
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    slurm::wait(&job, POLL, |counts| eprintln!("job {job}: {counts}")).map_err(slurm_failure)?;
    for outcome in slurm::task_outcomes(&job, plan.tasks).map_err(slurm_failure)? {
        eprintln!("  {outcome}");
    }
    super::merge::merge_and_report(&plan.out, &MergeOptions::default(), false)
}

fn slurm_failure(e: SlurmError) -> Failure {
    match e {
        SlurmError::Invalid(_) | SlurmError::PlanChanged { .. } => Failure::invalid(e.to_string()),
        _ => Failure::failed(e.to_string()),
    }
}
