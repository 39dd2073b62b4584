//! Talking to Slurm: sbatch, squeue, scontrol, and the job completion log.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{SlurmError, JOBS_FILE, SCRIPT_FILE, SLURM_DIR};

/// The states in which an array task still has to finish.
const ACTIVE_STATES: &str = "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED";

/// Consecutive failed `squeue` calls tolerated while waiting (slurmctld may be briefly unreachable).
const SQUEUE_RETRIES: u32 = 20;

/// Submit `DIR/slurm/parsim.sbatch` with `sbatch --parsable` (plus `extra` options, e.g. `--array=2`), record
/// the submission in `DIR/slurm/jobs.log`, and return the job id.
pub fn submit(out: &Path, extra: &[String]) -> Result<String, SlurmError> {
    let script = out.join(SLURM_DIR).join(SCRIPT_FILE);
    let mut args = vec!["--parsable".to_string()];
    args.extend(extra.iter().cloned());
    args.push(script.display().to_string());
    let stdout = run("sbatch", &args)?;
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SlurmError::Unexpected {
            command: command_line("sbatch", &args),
            output: stdout,
            expected: "a job id",
        });
    }
    let array = extra
        .iter()
        .find_map(|a| a.strip_prefix("--array="))
        .unwrap_or("all");
    let log = out.join(SLURM_DIR).join(JOBS_FILE);
    let line = format!("{} {id} {array}\n", crate::store::now_utc());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|source| SlurmError::Io { path: log, source })?;
    Ok(id)
}

/// How many tasks of a job are in each state, as `squeue` sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Tasks per state (PENDING, RUNNING, ...).
    pub states: BTreeMap<String, u64>,
}

impl QueueCounts {
    /// Tasks not yet finished.
    pub fn active(&self) -> u64 {
        self.states.values().sum()
    }
}

impl fmt::Display for QueueCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .states
            .iter()
            .map(|(s, n)| format!("{n} {}", s.to_lowercase()))
            .collect();
        if parts.is_empty() {
            f.write_str("no tasks left")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// The tasks of `job` not yet finished, by state (empty once every task has ended).
pub fn queue(job: &str) -> Result<QueueCounts, SlurmError> {
    match run("squeue", &squeue_args(job)) {
        Ok(text) => Ok(queue_counts(&text)),
        Err(SlurmError::Command { stderr, .. }) if stderr.contains("Invalid job id") => {
            Ok(QueueCounts::default())
        }
        Err(e) => Err(e),
    }
}

fn squeue_args(job: &str) -> Vec<String> {
    ["-h", "-j", job, "-t", ACTIVE_STATES, "-o", "%T|%K"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Poll `squeue` every `interval` until no task of `job` is pending, running, configuring, completing or
/// suspended. `on_change` sees the counts whenever they change. (`sbatch --wait` polls after 2, 8, 32, 32… s,
/// which is slow for short tasks.)
pub fn wait(
    job: &str,
    interval: Duration,
    mut on_change: impl FnMut(&QueueCounts),
) -> Result<(), SlurmError> {
    let mut last = None;
    let mut failures = 0;
    loop {
        match queue(job) {
            Ok(counts) => {
                failures = 0;
                if last.as_ref() != Some(&counts) {
                    on_change(&counts);
                }
                if counts.active() == 0 {
                    return Ok(());
                }
                last = Some(counts);
            }
            Err(e @ SlurmError::Spawn { .. }) => return Err(e),
            Err(e) => {
                failures += 1;
                if failures > SQUEUE_RETRIES {
                    return Err(e);
                }
            }
        }
        std::thread::sleep(interval);
    }
}

/// Count the tasks in `squeue -o '%T|%K'` output; a pending array prints one line for many tasks (`0-3%2`).
fn queue_counts(text: &str) -> QueueCounts {
    let mut counts = QueueCounts::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (state, tasks) = line.split_once('|').unwrap_or((line, ""));
        let n = parse_array_tasks(tasks).len().max(1) as u64;
        *counts.states.entry(state.trim().to_string()).or_default() += n;
    }
    counts
}

/// The task ids of a Slurm array expression: `3`, `0-3`, `[0-1,3]`, `1-7:2`, `0-9%2`. Unparsable parts are
/// skipped.
pub fn parse_array_tasks(spec: &str) -> Vec<u64> {
    let spec = spec.trim().trim_start_matches('[').trim_end_matches(']');
    let spec = spec.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (range, step) = match part.split_once(':') {
            Some((r, s)) => (r, s.trim().parse::<u64>().unwrap_or(1).max(1)),
            None => (part, 1),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
                    out.extend((a..=b).step_by(step as usize));
                }
            }
            None => {
                if let Ok(k) = range.trim().parse::<u64>() {
                    out.push(k);
                }
            }
        }
    }
    out
}

/// One record of `scontrol show job -o` or of the job completion log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The array's job id.
    pub array_job_id: String,
    /// The array task ids this record stands for (several for a pending array not yet split).
    pub tasks: Vec<u64>,
    /// `JobState`, e.g. COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, PENDING.
    pub state: String,
    /// `ExitCode` as `code:signal`.
    pub exit_code: String,
}

/// Parse `Key=Value` records, one a line, keeping those of array jobs. `ExitCode` is matched with its leading
/// space so that `DerivedExitCode` is not taken for it.
pub fn parse_job_records(text: &str) -> Vec<JobRecord> {
    text.lines()
        .filter_map(|line| {
            Some(JobRecord {
                array_job_id: field(line, "ArrayJobId")?.to_string(),
                tasks: parse_array_tasks(field(line, "ArrayTaskId")?),
                state: field(line, "JobState")?.to_string(),
                exit_code: field(line, "ExitCode").unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// The value of `key=` at the start of `line` or after a space, up to the next space.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("{key}=");
    let mut from = 0;
    while let Some(i) = line[from..].find(&pattern) {
        let at = from + i;
        if at == 0 || line.as_bytes()[at - 1] == b' ' {
            let value = &line[at + pattern.len()..];
            return Some(value.split(' ').next().unwrap_or(""));
        }
        from = at + pattern.len();
    }
    None
}

/// How one array task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    /// The array task id K (it ran shard K+1/M).
    pub task: u64,
    /// Slurm's `JobState`, or `None` when Slurm keeps no record of the task.
    pub state: Option<String>,
    /// `ExitCode` as `code:signal`.
    pub exit_code: Option<String>,
}

impl fmt::Display for TaskOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.state, &self.exit_code) {
            (Some(state), Some(code)) if !code.is_empty() => {
                write!(f, "task {}: {state}, exit code {code}", self.task)
            }
            (Some(state), _) => write!(f, "task {}: {state}", self.task),
            (None, _) => write!(
                f,
                "task {}: no record (cancelled before it started, or forgotten by Slurm)",
                self.task
            ),
        }
    }
}

/// The final state and exit code of tasks `0..tasks` of `job`: from `scontrol show job -o` (which keeps a
/// finished task for MinJobAge, 300 s by default), else from the job completion log when Slurm writes one
/// (`JobCompType=jobcomp/filetxt`). Accounting (`sacct`) is not assumed to exist.
pub fn task_outcomes(job: &str, tasks: u64) -> Result<Vec<TaskOutcome>, SlurmError> {
    let mut found: BTreeMap<u64, JobRecord> = BTreeMap::new();
    let live = match run(
        "scontrol",
        &["show".into(), "job".into(), "-o".into(), job.into()],
    ) {
        Ok(text) => parse_job_records(&text),
        Err(SlurmError::Command { stderr, .. }) if stderr.contains("Invalid job id") => Vec::new(),
        Err(e) => return Err(e),
    };
    absorb_records(&mut found, job, live);
    if (0..tasks).any(|k| !found.contains_key(&k)) {
        if let Some(text) = completion_log() {
            // Later lines are later attempts: read backwards so that the first record kept is the last one.
            let mut records = parse_job_records(&text);
            records.reverse();
            absorb_records(&mut found, job, records);
        }
    }
    Ok((0..tasks)
        .map(|k| match found.get(&k) {
            Some(r) => TaskOutcome {
                task: k,
                state: Some(r.state.clone()),
                exit_code: Some(r.exit_code.clone()),
            },
            None => TaskOutcome {
                task: k,
                state: None,
                exit_code: None,
            },
        })
        .collect())
}

/// Keep the first record of each task of `job`.
fn absorb_records(found: &mut BTreeMap<u64, JobRecord>, job: &str, records: Vec<JobRecord>) {
    for r in records.into_iter().filter(|r| r.array_job_id == job) {
        for &k in &r.tasks {
            found.entry(k).or_insert_with(|| r.clone());
        }
    }
}

/// The text of the job completion log, if Slurm is configured to write one to a file we can read.
fn completion_log() -> Option<String> {
    let config = run("scontrol", &["show".into(), "config".into()]).ok()?;
    let setting = |key: &str| {
        config.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    if setting("JobCompType")? != "jobcomp/filetxt" {
        return None;
    }
    std::fs::read_to_string(setting("JobCompLoc")?).ok()
}

/// Run a Slurm command and return its stdout.
fn run(program: &str, args: &[String]) -> Result<String, SlurmError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| SlurmError::Spawn {
            command: program.to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(SlurmError::Command {
            command: command_line(program, args),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn command_line(program: &str, args: &[String]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        s.push_str(&super::script::quote_str(a));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_expressions() {
        assert_eq!(parse_array_tasks("3"), vec![3]);
        assert_eq!(parse_array_tasks("0-3"), vec![0, 1, 2, 3]);
        assert_eq!(parse_array_tasks("[0-1,3]"), vec![0, 1, 3]);
        assert_eq!(parse_array_tasks("1-7:3"), vec![1, 4, 7]);
        assert_eq!(parse_array_tasks("0-2%1"), vec![0, 1, 2]);
        assert_eq!(parse_array_tasks("N/A"), Vec::<u64>::new());
    }

    // Lines as Slurm 22.05 prints them (shortened): a pending array not yet split, a finished task, and a
    // job completion log line with DerivedExitCode before ExitCode.
    #[test]
    fn job_records() {
        let text = "JobId=1 ArrayJobId=1 ArrayTaskId=0-1,3 JobName=t JobState=PENDING Reason=JobHeldUser ExitCode=0:0 RunTime=00:00:00\n\
                    JobId=3 ArrayJobId=1 ArrayTaskId=2 JobName=t JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0\n\
                    JobId=4 UserId=root(0) Name=t JobState=COMPLETED ArrayJobId=9 ArrayTaskId=1 DerivedExitCode=0:0 ExitCode=0:9\n\
                    JobId=5 JobName=plain JobState=COMPLETED ExitCode=0:0\n";
        let records = parse_job_records(text);
        assert_eq!(records.len(), 3, "the plain job is not an array task");
        assert_eq!(records[0].tasks, vec![0, 1, 3]);
        assert_eq!(records[0].state, "PENDING");
        assert_eq!(
            (records[1].tasks.as_slice(), records[1].exit_code.as_str()),
            (&[2][..], "3:0")
        );
        assert_eq!(
            (
                records[2].array_job_id.as_str(),
                records[2].exit_code.as_str()
            ),
            ("9", "0:9")
        );
    }

    #[test]
    fn counts_tasks_of_pending_arrays() {
        let counts = queue_counts("PENDING|2-3\nRUNNING|0\nRUNNING|1\n");
        assert_eq!(counts.active(), 4);
        assert_eq!(counts.to_string(), "2 pending, 2 running");
        assert_eq!(queue_counts("").active(), 0);
    }
}
