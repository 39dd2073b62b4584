//! Progress on stderr: a bar on a terminal, plain periodic lines otherwise, nothing when quiet.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

pub(super) enum Progress {
    Bar(ProgressBar),
    Lines {
        total: u64,
        started: Instant,
        last: Instant,
    },
    Quiet,
}

impl Progress {
    /// `total`: replications this run will compute; `stored`: already in the store (shown as context).
    pub(super) fn new(mode: ProgressMode, total: u64, stored: u64) -> Progress {
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

    pub(super) fn update(&mut self, done: u64, failures: u64) {
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
            Progress::Quiet => {}
        }
    }

    pub(super) fn finish(&mut self, done: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.finish_and_clear();
            }
            Progress::Lines { .. } | Progress::Quiet => {}
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
