//! `parsim data STUDY.toml --replication R [--condition C] [--out FILE]`: write one generated data set.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{load_study, Failure, Outcome};

/// Arguments of `parsim data`.
#[derive(clap::Args)]
pub struct Args {
    /// The study file (TOML).
    pub study: PathBuf,
    /// Which replication (0-based), drawn from the same stream as in `parsim run`.
    #[arg(long, short = 'r')]
    pub replication: u64,
    /// Which condition (0-based, as numbered by `parsim check`).
    #[arg(long, short = 'c', default_value_t = 0)]
    pub condition: usize,
    /// Write the CSV here instead of standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// Run `parsim data`: every variable with the data set's length, as CSV (floats in shortest round-trip form).
pub fn execute(args: Args) -> Outcome {
    let study = load_study(&args.study)?;
    let n = study.conditions().len();
    if args.condition >= n {
        return Err(Failure::invalid(format!(
            "--condition {} does not exist: {} has {n} condition{} (0 to {}); `parsim check` lists them",
            args.condition,
            args.study.display(),
            if n == 1 { "" } else { "s" },
            n - 1
        )));
    }
    if args.replication >= study.replications {
        eprintln!(
            "note: replication {} is beyond the study's {} replications (its stream is still well defined)",
            args.replication, study.replications
        );
    }
    let mut ws = study.program.workspace();
    study
        .generate(&mut ws, args.condition, args.replication)
        .map_err(Failure::invalid)?;
    let data = ws.data();
    let written = match &args.out {
        Some(path) => std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            data.write_csv(&mut w)?;
            w.flush()
        }),
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            data.write_csv(&mut w).and_then(|()| w.flush())
        }
    };
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => {
            let target = args
                .out
                .map_or("standard output".to_string(), |p| p.display().to_string());
            Err(Failure::failed(format!("cannot write {target}: {e}")))
        }
    }
}
