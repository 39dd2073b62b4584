//! The `parsim` command line: a thin layer over the `parsim` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Parallel Monte Carlo simulation studies of statistical methods.
#[derive(Parser)]
#[command(name = "parsim", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a study file and show its design: conditions, replications, units of work.
    Check(cli::check::Args),
    /// Write one replication's generated data set as CSV.
    Data(cli::data::Args),
    /// Fit one model (LMM, OLS, GLM or GLMM) to a CSV data file and print an lmer/glm-style summary (or JSON).
    Fit(cli::fit::Args),
    /// Run a study on every core into a durable store; resumes an interrupted run.
    Run(cli::run::Args),
    /// Performance measures with Monte Carlo standard errors, from a results directory.
    Summary(cli::summary::Args),
    /// Figures of the results: estimates, key measures, nested-loop plots, power curves, zip plots.
    Plot(cli::plot::Args),
    /// One self-contained HTML page of the results (DIR/report.html): study, failures, measures, figures.
    Report(cli::report::Args),
    /// Power along a numeric factor and the level that reaches a target power (optionally refined).
    Power(cli::power::Args),
    /// Merge shard stores into one; report missing or failed units.
    Merge(cli::merge::Args),
    /// Units done per shard, failures, what is missing.
    Status(cli::status::Args),
    /// Run a study as a Slurm job array.
    Slurm(cli::slurm::Args),
    /// From a pilot run, the replications each [stopping] target needs.
    Plan(cli::plan::Args),
}

fn main() -> ExitCode {
    quiet_panics_in_fits();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => cli::check::execute(args),
        Command::Data(args) => cli::data::execute(args),
        Command::Fit(args) => cli::fit::execute(args),
        Command::Run(args) => cli::run::execute(args),
        Command::Summary(args) => cli::summary::execute(args),
        Command::Plot(args) => cli::plot::execute(args),
        Command::Report(args) => cli::report::execute(args),
        Command::Power(args) => cli::power::execute(args),
        Command::Merge(args) => cli::merge::execute(args),
        Command::Status(args) => cli::status::execute(args),
        Command::Slurm(args) => cli::slurm::execute(args),
        Command::Plan(args) => cli::plan::execute(args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

/// A panic inside a method's fit is caught by the runner and stored as the fit's error message, so the
/// hook says nothing about it; any other panic is reported as usual. The process is the CLI's own: the
/// library never changes the hook.
fn quiet_panics_in_fits() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !parsim::run::in_method_fit() {
            default(info);
        }
    }));
}
