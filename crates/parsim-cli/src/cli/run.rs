//! `parsim run STUDY.toml`: run a study on every core into a durable store; resume an interrupted run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parsim::run::{self, RunError, RunOptions, RunReport, Shard};
use parsim::store::StoreError;
use parsim::study::Study;
use signal_hook::consts::{SIGINT, SIGTERM};

use super::progress::{Progress, ProgressMode};
use super::{Failure, Outcome};

/// Arguments of `parsim run`.
#[derive(clap::Args)]
pub struct Args {
    /// The study file.
    study: PathBuf,
    /// Worker threads (default: every core).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Results directory (default: results/<study name>).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replications per condition, overriding the study file.
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u64).range(1..=MAX_REPLICATIONS))]
    replications: Option<u64>,
    /// Run only shard K of M (a balanced, deterministic 1/M of the units), e.g. 2/4.
    #[arg(long, value_name = "K/M")]
    shard: Option<Shard>,
    /// If DIR holds a different study, set its store aside (renamed, never deleted) and start afresh.
    #[arg(long)]
    fresh: bool,
    /// No progress and no summary table.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// The most replications per condition a run may ask for (2⁴⁰, a trillion): beyond any study, and far
/// from the counts where conditions × replications would overflow.
const MAX_REPLICATIONS: u64 = 1 << 40;

/// Run `parsim run`.
pub fn execute(args: Args) -> Outcome {
    let study = super::load_study(&args.study)?;
    // What `parsim check` checks, before anything is written.
    let checked = super::check_study(&study)?;
    if !args.quiet {
        for warning in &checked.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&study.name));
    let (stop, signal) = stop_on_signals();
    let options = RunOptions {
        jobs: args.jobs.map(usize::from),
        out: out.clone(),
        replications: args.replications,
        shard: args.shard,
        fresh: args.fresh,
        stop,
    };
    let mut progress = Progress::new(if args.quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    });
    let report = run::run_observed(&study, &options, &mut progress).map_err(|e| match e {
        // Another writer holds the directory: the user's choice of --out, not a failure of the run.
        RunError::Store(StoreError::Busy { .. })
        | RunError::TooLarge { .. }
        | RunError::DataTooLarge(_)
        | RunError::StudyChanged { .. } => Failure::invalid(e.to_string()),
        _ => Failure::failed(e.to_string()),
    })?;
    if report.interrupted {
        let (name, code) = signal.received();
        eprintln!(
            "interrupted ({name}): {} of {} replications stored in {}.\nResume with: {}",
            report.units_already_stored + report.units_completed,
            report.units_total,
            out.display(),
            resume_command(&args, &out)
        );
        return Ok(ExitCode::from(code));
    }
    if !args.quiet {
        print_report(&study, &report, &out);
    }
    Ok(super::failed_everywhere_code(report.summary.as_ref()))
}

/// The signal that stopped a run, as its exit code (128 + the signal's number, the shell's convention).
struct Received(Arc<AtomicUsize>);

impl Received {
    /// The signal's name and the exit code; a run stopped otherwise counts as Ctrl-C.
    fn received(&self) -> (&'static str, u8) {
        match self.0.load(Ordering::SeqCst) {
            code if code == 128 + SIGTERM as usize => ("SIGTERM", 128 + SIGTERM as u8),
            _ => ("SIGINT", 128 + SIGINT as u8),
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM (what Slurm and service managers send to stop a job) set the run's stop
/// flag: the workers finish the units in flight, they are stored, and the run exits with 130 or 143.
fn stop_on_signals() -> (Arc<AtomicBool>, Received) {
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicUsize::new(0));
    for signal in [SIGINT, SIGTERM] {
        // Registering fails only for signals that cannot be caught; these two can.
        let _ = signal_hook::flag::register(signal, stop.clone());
        let _ = signal_hook::flag::register_usize(signal, received.clone(), 128 + signal as usize);
    }
    (stop, Received(received))
}

fn print_report(study: &Study, report: &RunReport, out: &std::path::Path) {
    let secs = report.elapsed.as_secs_f64();
    eprintln!(
        "{}: {} replications run ({} already stored) on {} workers in {:.3} s; results in {}",
        study.name,
        report.units_completed,
        report.units_already_stored,
        report.jobs,
        secs,
        out.display()
    );
    for (method, status, n) in &report.failures {
        let example = report
            .failure_examples
            .iter()
            .find(|(m, s, _)| m == method && s == status)
            .map(|(_, _, msg)| format!(" (e.g. {})", first_line(msg)))
            .unwrap_or_default();
        eprintln!("  {method}: {n} fits {}{example}", status.as_str());
    }
    if let Some(summary) = &report.summary {
        println!("{}", summary.table);
        // Only named, not written: the page draws figures from every replication, work a run of many
        // conditions should not do unasked at its end (`parsim report` does it when wanted).
        println!(
            "One page with the design, failures, sortable tables and figures: parsim report {}",
            shell_quote(&out.display().to_string())
        );
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The command line that resumes this run.
fn resume_command(args: &Args, out: &std::path::Path) -> String {
    let exe = std::env::args().next().unwrap_or_else(|| "parsim".into());
    let mut cmd = format!(
        "{exe} run {} --out {}",
        shell_quote(&args.study.display().to_string()),
        shell_quote(&out.display().to_string())
    );
    if let Some(j) = args.jobs {
        cmd.push_str(&format!(" --jobs {j}"));
    }
    if let Some(r) = args.replications {
        cmd.push_str(&format!(" --replications {r}"));
    }
    if let Some(s) = args.shard {
        cmd.push_str(&format!(" --shard {s}"));
    }
    cmd
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
