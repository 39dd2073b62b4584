//! `parsim power DIR --estimand X --method M --over N`: the power curve of a method for an estimand along a
//! numeric factor, and the factor's value where power reaches a target (interpolated, with a Monte Carlo
//! interval); `--refine` runs new levels of the factor inside the bracketing pair into `DIR/refine-K`
//! (a resumable results directory of its own: nothing stored is recomputed) and adds them to the curve.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use parsim::measures::power::{
    power_curves, refinement_points, refinement_study, Crossing, FactorScale, Interpolation,
    PowerCurve, PowerScale,
};
use parsim::measures::{self, Summary};
use parsim::report::format_number;
use parsim::run::{self, RunOptions};
use parsim::study::Study;

use super::progress::{Progress, ProgressMode};
use super::summary::{measures_failure, open_results, settings};
use super::{Failure, Outcome};

/// Arguments of `parsim power`.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory of a run (holds results.sqlite).
    pub dir: PathBuf,
    /// The estimand (term) whose test of term = 0 is counted.
    #[arg(long, value_name = "TERM")]
    pub estimand: String,
    /// The method.
    #[arg(long, value_name = "METHOD")]
    pub method: String,
    /// The numeric design factor to search along (e.g. the number of groups).
    #[arg(long, value_name = "FACTOR")]
    pub over: String,
    /// The target power.
    #[arg(long, default_value_t = 0.8, value_name = "P")]
    pub target: f64,
    /// Significance level of the tests (default: the study's [summary] alpha, else 0.05).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Scale of power for the interpolation: probit, logit or linear.
    #[arg(long, default_value = "probit", value_name = "SCALE")]
    pub power_scale: PowerScale,
    /// Scale of the factor for the interpolation: linear, sqrt or log.
    #[arg(long, default_value = "linear", value_name = "SCALE")]
    pub factor_scale: FactorScale,
    /// Level of the Monte Carlo interval of the crossing.
    #[arg(long, default_value_t = 0.95, value_name = "L")]
    pub level: f64,
    /// Run new levels of the factor between the bracketing points (into DIR/refine-K) and search again.
    #[arg(long)]
    pub refine: bool,
    /// New levels per refinement.
    #[arg(long, default_value_t = 4, value_name = "K")]
    pub points: usize,
    /// Replications per new level (default: the study's).
    #[arg(long, value_name = "R")]
    pub replications: Option<u64>,
    /// Worker threads for the refinement (default: every core).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Output: text (the curves as tables) or json (one document: settings, curves, crossings,
    /// refinement rounds).
    #[arg(long, default_value = "text", value_parser = ["text", "json"], value_name = "FORMAT")]
    pub format: String,
}

/// A refinement round read or run by this search: `DIR/refine-K` and the factor's levels it holds.
struct Round {
    round: usize,
    dir: PathBuf,
    values: Vec<f64>,
    run_now: bool,
}

/// Run `parsim power`.
pub fn execute(args: Args) -> Outcome {
    if !(args.level > 0.0 && args.level < 1.0) {
        return Err(Failure::invalid(format!(
            "--level must be strictly between 0 and 1, not {}",
            args.level
        )));
    }
    let how = Interpolation {
        power: args.power_scale,
        factor: args.factor_scale,
        level: args.level,
    };
    let (alpha, mut curves) = read_summary_curves(&args, &args.dir)?;
    let mut rounds = Vec::new();
    for (i, dir) in refinement_dirs(&args.dir).into_iter().enumerate() {
        let more = read_curves(&args, &dir)?;
        rounds.push(Round::of(i + 1, dir, &more, false));
        add_points(&mut curves, more);
    }
    if args.refine {
        let crossings = crossings(&curves, args.target, how)?;
        let present: Vec<f64> = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.value))
            .collect();
        let integer = present.iter().all(|v| v.fract() == 0.0);
        let mut values: Vec<f64> = crossings
            .iter()
            .flatten()
            .flat_map(|c| refinement_points(c, args.points, integer, how, &present))
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        if values.is_empty() {
            eprintln!("nothing to refine: no pair of levels brackets the target, or no new level fits between them");
        } else {
            let dir = refine(&args, &values)?;
            let more = read_curves(&args, &dir)?;
            // A resumed refinement directory is one already read: its points replace nothing twice.
            match rounds.iter().position(|r| r.dir == dir) {
                Some(k) => rounds[k].run_now = true,
                None => {
                    rounds.push(Round::of(rounds.len() + 1, dir, &more, true));
                    add_points(&mut curves, more);
                }
            }
        }
    }
    let crossings = crossings(&curves, args.target, how)?;
    if args.format == "json" {
        println!("{}", json(&args, alpha, how, &curves, &crossings, &rounds));
        return Ok(ExitCode::SUCCESS);
    }
    for (curve, crossing) in curves.iter().zip(&crossings) {
        print!("{}", describe(&args, alpha, curve, crossing.as_ref(), how));
    }
    Ok(ExitCode::SUCCESS)
}

impl Round {
    fn of(round: usize, dir: PathBuf, curves: &[PowerCurve], run_now: bool) -> Round {
        let mut values: Vec<f64> = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.value))
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        Round {
            round,
            dir,
            values,
            run_now,
        }
    }
}

/// `--format json`: the search's settings, each curve with its points and crossing (null when no pair of
/// levels brackets the target), and the refinement rounds read or run.
fn json(
    args: &Args,
    alpha: f64,
    how: Interpolation,
    curves: &[PowerCurve],
    crossings: &[Option<Crossing>],
    rounds: &[Round],
) -> String {
    use serde_json::{json, Map, Value};
    let curves: Vec<Value> = curves
        .iter()
        .zip(crossings)
        .map(|(curve, crossing)| {
            let fixed: Map<String, Value> = curve
                .fixed
                .iter()
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect();
            let points: Vec<Value> = curve
                .points
                .iter()
                .map(|p| {
                    json!({
                        "value": p.value,
                        "power": finite(p.power.estimate),
                        "mcse": finite(p.power.mcse),
                        "tests": p.tests,
                        "replications": p.replications,
                        "source": p.source,
                    })
                })
                .collect();
            let crossing = crossing.map(|c| {
                json!({
                    "value": c.value,
                    "se": c.se,
                    "lower": c.lower,
                    "upper": c.upper,
                    "bracket": [c.bracket.0, c.bracket.1],
                })
            });
            json!({ "fixed": fixed, "points": points, "crossing": crossing })
        })
        .collect();
    let rounds: Vec<Value> = rounds
        .iter()
        .map(|r| {
            json!({
                "round": r.round,
                "dir": r.dir.display().to_string(),
                "values": r.values,
                "run_now": r.run_now,
            })
        })
        .collect();
    let document = json!({
        "dir": args.dir.display().to_string(),
        "estimand": args.estimand,
        "method": args.method,
        "over": args.over,
        "target": args.target,
        "alpha": alpha,
        "power_scale": scale_name(how.power),
        "factor_scale": factor_scale_key(how.factor),
        "level": how.level,
        "curves": curves,
        "refinements": rounds,
    });
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// JSON has no NaN: a power that cannot be estimated (no test counted) is null.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The curves of a results directory's summary.
fn read_curves(args: &Args, dir: &Path) -> Result<Vec<PowerCurve>, Failure> {
    read_summary_curves(args, dir).map(|(_, curves)| curves)
}

/// The tests' alpha and the curves of a results directory's summary.
fn read_summary_curves(args: &Args, dir: &Path) -> Result<(f64, Vec<PowerCurve>), Failure> {
    let summary = summary_of(args, dir)?;
    let alpha = summary.settings.alpha;
    power_curves(
        &summary,
        &args.estimand,
        &args.method,
        &args.over,
        &dir.display().to_string(),
    )
    .map(|curves| (alpha, curves))
    .map_err(|e| Failure::invalid(format!("{}: {e}", dir.display())))
}

fn summary_of(args: &Args, dir: &Path) -> Result<Summary, Failure> {
    let store = open_results(dir)?;
    let settings = settings(&store, None, args.alpha, None)?;
    measures::summarise(&store, Some(settings)).map_err(measures_failure)
}

/// Add another directory's points to the curves with the same other factors.
fn add_points(curves: &mut Vec<PowerCurve>, more: Vec<PowerCurve>) {
    for curve in more {
        match curves.iter_mut().find(|c| c.fixed == curve.fixed) {
            Some(existing) => existing.extend(curve),
            None => curves.push(curve),
        }
    }
}

fn crossings(
    curves: &[PowerCurve],
    target: f64,
    how: Interpolation,
) -> Result<Vec<Option<Crossing>>, Failure> {
    curves
        .iter()
        .map(|c| c.crossing(target, how))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::invalid(e.to_string()))
}

/// The refinement directories `DIR/refine-1`, `DIR/refine-2`, ... that hold a store, in order.
fn refinement_dirs(dir: &Path) -> Vec<PathBuf> {
    (1..)
        .map(|k| dir.join(format!("refine-{k}")))
        .take_while(|d| d.join("results.sqlite").exists())
        .collect()
}

/// Run the study of DIR with the factor at `values` into a refinement directory: the existing one that
/// holds this very study (resumed: nothing stored is recomputed), else the next `refine-K`.
fn refine(args: &Args, values: &[f64]) -> Result<PathBuf, Failure> {
    let store = open_results(&args.dir)?;
    let source = store
        .study_toml()
        .map_err(|e| Failure::failed(e.to_string()))?;
    let existing = refinement_dirs(&args.dir);
    let text_of = |round: usize| {
        let round = u32::try_from(round).unwrap_or(u32::MAX);
        refinement_study(&source, &args.over, values, round, args.replications)
            .map_err(|e| Failure::invalid(e.to_string()))
    };
    let mut chosen = None;
    for (i, dir) in existing.iter().enumerate() {
        let text = text_of(i + 1)?;
        if std::fs::read_to_string(dir.join("study.toml")).is_ok_and(|t| t == text) {
            chosen = Some((dir.clone(), text));
        }
    }
    let (dir, text) = match chosen {
        Some(found) => found,
        None => {
            let round = existing.len() + 1;
            (args.dir.join(format!("refine-{round}")), text_of(round)?)
        }
    };
    let path = dir.join("study.toml");
    let study = Study::from_source(&path, text).map_err(|e| match e {
        parsim::study::StudyError::Invalid { rendered, .. } => Failure::invalid(rendered),
        other => Failure::failed(other.to_string()),
    })?;
    super::check_study(&study)?;
    let levels: Vec<String> = values.iter().map(|v| format_number(*v)).collect();
    eprintln!(
        "refining: {} = {} into {}",
        args.over,
        levels.join(", "),
        dir.display()
    );
    let mut options = RunOptions::new(&dir);
    options.jobs = args.jobs;
    let mut progress = Progress::new(ProgressMode::Auto);
    let report = run::run_observed(&study, &options, &mut progress)
        .map_err(|e| Failure::failed(e.to_string()))?;
    eprintln!(
        "{} replications run ({} already stored)",
        report.units_completed, report.units_already_stored
    );
    Ok(dir)
}

/// The curve as a table, and where it reaches the target.
fn describe(
    args: &Args,
    alpha: f64,
    curve: &PowerCurve,
    crossing: Option<&Crossing>,
    how: Interpolation,
) -> String {
    let mut out = format!(
        "Power of `{}` for `{}` at alpha = {} along {}",
        args.method,
        args.estimand,
        format_number(alpha),
        args.over
    );
    if !curve.fixed.is_empty() {
        let fixed: Vec<String> = curve
            .fixed
            .iter()
            .map(|(n, v)| format!("{n}={}", format_number(*v)))
            .collect();
        out.push_str(&format!(" ({})", fixed.join(", ")));
    }
    out.push_str("\n\n");
    let width = args.over.chars().count().max(8);
    out.push_str(&format!(
        "{:>width$}  {:>16}  {:>6}  source\n",
        args.over, "power % (MCSE)", "tests"
    ));
    for p in &curve.points {
        let power = parsim::measures::Value::new(100.0 * p.power.estimate, 100.0 * p.power.mcse);
        out.push_str(&format!(
            "{:>width$}  {:>16}  {:>6}  {}\n",
            format_number(p.value),
            parsim::report::format_value(power),
            p.tests,
            p.source
        ));
    }
    out.push('\n');
    match crossing {
        Some(c) => out.push_str(&format!(
            "power reaches {} at {} = {} ({}% Monte Carlo interval {} to {}; MCSE {}), between {} and {} \
             ({} of power, {} {})\n\n",
            format_number(args.target),
            args.over,
            round_to(c.value, c.se),
            format_number(100.0 * how.level),
            round_to(c.lower, c.se),
            round_to(c.upper, c.se),
            round_to(c.se, c.se),
            format_number(c.bracket.0),
            format_number(c.bracket.1),
            scale_name(how.power),
            factor_scale_name(how.factor),
            args.over
        )),
        None => out.push_str(&format!(
            "no pair of levels brackets power {}: add levels of {} where it crosses\n\n",
            format_number(args.target),
            args.over
        )),
    }
    out
}

/// `x` to the precision of its Monte Carlo SE (two significant digits of it).
fn round_to(x: f64, se: f64) -> String {
    if !(se.is_finite() && se > 0.0) {
        return format_number(x);
    }
    let decimals = (1 - se.log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.decimals$}")
}

fn scale_name(scale: PowerScale) -> &'static str {
    match scale {
        PowerScale::Linear => "linear",
        PowerScale::Logit => "logit",
        PowerScale::Probit => "probit",
    }
}

/// The `--factor-scale` value.
fn factor_scale_key(scale: FactorScale) -> &'static str {
    match scale {
        FactorScale::Linear => "linear",
        FactorScale::Sqrt => "sqrt",
        FactorScale::Log => "log",
    }
}

fn factor_scale_name(scale: FactorScale) -> &'static str {
    match scale {
        FactorScale::Linear => "linear in",
        FactorScale::Sqrt => "linear in the square root of",
        FactorScale::Log => "linear in the log of",
    }
}
