//! Progress on stderr: a bar on a terminal, plain periodic lines otherwise, nothing when quiet. An
//! observer of the library's runner.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parsim::run::Observer;

/// How a run reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, plain lines every few seconds when it is not.
    Auto,
    /// Nothing.
    Quiet,
}

/// Seconds between plain progress lines when stderr is not a terminal (a log file, CI, Slurm).
const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// How progress is shown, once the run has started.
pub enum Progress {
    /// Not started yet.
    Waiting(ProgressMode),
    /// A bar on a terminal.
    Bar(ProgressBar),
    /// Plain lines every few seconds.
    Lines {
        /// Replications this run computes.
        total: u64,
        /// When it started.
        started: Instant,
        /// When the last line was printed.
        last: Instant,
    },
    /// Nothing.
    Quiet,
}

impl Progress {
    /// Progress shown as `mode` says, once the run starts.
    pub fn new(mode: ProgressMode) -> Progress {
        Progress::Waiting(mode)
    }

    /// `total`: replications this run will compute; `stored`: already in the store (shown as context).
    fn start(mode: ProgressMode, total: u64, stored: u64) -> Progress {
        if mode == ProgressMode::Quiet {
            return Progress::Quiet;
        }
        if stored > 0 {
            eprintln!("resuming: {stored} replications already stored, {total} to run");
        }
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10));
            let style = ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} replications  {per_sec}  ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message("failures: 0");
            Progress::Bar(bar)
        } else {
            let now = Instant::now();
            Progress::Lines {
                total,
                started: now,
                last: now,
            }
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, pending: u64, stored: u64) {
        if let Progress::Waiting(mode) = *self {
            *self = Progress::start(mode, pending, stored);
        }
    }

    fn progress(&mut self, done: u64, failures: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(format!("failures: {failures}"));
            }
            Progress::Lines {
                total,
                started,
                last,
            } => {
                if last.elapsed() >= LINE_INTERVAL {
                    *last = Instant::now();
                    eprintln!("{}", line(done, *total, failures, started.elapsed()));
                }
            }
            Progress::Quiet | Progress::Waiting(_) => {}
        }
    }

    fn finished(&mut self, done: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.finish_and_clear();
            }
            Progress::Lines { .. } | Progress::Quiet | Progress::Waiting(_) => {}
        }
    }
}

fn line(done: u64, total: u64, failures: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = done as f64 / secs;
    let eta = if rate > 0.0 {
        (total.saturating_sub(done)) as f64 / rate
    } else {
        f64::NAN
    };
    let pct = if total > 0 {
        100.0 * done as f64 / total as f64
    } else {
        100.0
    };
    format!(
        "{done}/{total} replications ({pct:.0}%), {rate:.0}/s, ETA {eta:.0} s, failures {failures}"
    )
}
