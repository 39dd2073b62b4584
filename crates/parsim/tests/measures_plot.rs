//! The figures: every one is written in SVG and PNG; they scale with the design (pages, wrapped labels,
//! thinned ticks) so that no two texts overlap at 12 and at 48 conditions; a measure that does not exist
//! for a term draws nothing.

mod measures_support;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use measures_support::{create_single_condition_store, create_store, generate, study_toml};
use parsim::measures::{summarise, MeasureKind, Summary};
use parsim::plot::{plot_all, study_figures, FigureKind, ImageFormat, StudyFigure};
use parsim::run::{run, RunOptions};
use parsim::store::Store;
use parsim::study::Study;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn names(figures: &[StudyFigure]) -> Vec<String> {
    figures.iter().map(|f| f.name.clone()).collect()
}

#[test]
fn every_figure_is_written_in_both_formats() {
    let dir = temp_dir("figures");
    let connection = create_store(&dir, &generate(0, 150, 3), &study_toml(""));
    let summary = summarise(&connection, None).expect("summary");
    for format in [ImageFormat::Svg, ImageFormat::Png] {
        let out = dir.join(format!("plots-{format:?}"));
        let written = plot_all(&connection, &summary, &out, format).expect("figures");
        let names: Vec<String> = written
            .iter()
            .map(|p| {
                p.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        // Per term: estimates, the measures' forest plot, nested loops of the six key measures (the
        // convergence rate too: `biased` fails now and then), power curves over N, the zip plots.
        assert_eq!(written.len(), 2 * 10, "{names:?}");
        for expected in [
            "estimates_X",
            "measures_Intercept",
            "zip_X",
            "nested_loop_cover_X",
            "nested_loop_bias_Intercept",
            "nested_loop_empse_X",
            "nested_loop_relerror_X",
            "nested_loop_conv_X",
            "nested_loop_reject_X",
            "power_X",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        for path in &written {
            let bytes = std::fs::read(path).expect("figure written");
            match format {
                ImageFormat::Png => {
                    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display())
                }
                ImageFormat::Svg => {
                    let text = String::from_utf8(bytes).expect("svg is text");
                    assert!(
                        text.starts_with("<svg") && text.contains("<text"),
                        "{}",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn one_condition_gives_no_nested_loop_and_unpaged_figures() {
    let dir = temp_dir("single");
    let connection = create_single_condition_store(&dir, 120);
    let summary = summarise(&connection, None).expect("summary");
    assert!(summary.factors.is_empty());
    let written =
        plot_all(&connection, &summary, &dir.join("plots"), ImageFormat::Png).expect("figures");
    let mut names: Vec<String> = written
        .iter()
        .map(|p| {
            p.file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "estimates_Intercept.png",
            "estimates_X.png",
            "measures_Intercept.png",
            "measures_X.png",
            "zip_Intercept.png",
            "zip_X.png"
        ]
    );
}

#[test]
fn figures_render_in_memory_as_the_files_do() {
    let dir = temp_dir("in-memory");
    let connection = create_store(&dir, &generate(0, 60, 3), &study_toml(""));
    let summary = summarise(&connection, None).expect("summary");
    let figures = study_figures(&connection, &summary).expect("figures");
    let out = dir.join("plots");
    std::fs::create_dir_all(&out).expect("dir");
    for figure in &figures {
        let inline = figure.svg().expect("svg in memory");
        let written = figure.write(&out, ImageFormat::Svg).expect("svg file");
        let file = std::fs::read_to_string(&written).expect("read back");
        // The same drawing code serves both: an inline figure is the file's document exactly.
        assert_eq!(inline, file, "{}", figure.name);
        let (width, height) = figure.size();
        assert!(
            inline.contains(&format!("width=\"{width}\""))
                && inline.contains(&format!("height=\"{height}\"")),
            "{}",
            figure.name
        );
    }
}

/// A mixed-model study of `factors` (TOML lines of `[parameters]`), three methods (two mixed models and
/// OLS), run for `replications` replications.
fn run_study(name: &str, factors: &str, replications: u64) -> (Store, Summary) {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).expect("dir");
    let toml = format!(
        r#"[study]
name = "{name}"
replications = {replications}
seed = 7

[parameters]
{factors}
beta0 = 10
intercept_sd = 1

[data]
program = """
X = normal(0.0, 1.0, N)
group = integers(0, n_groups, N)
u = normal(0.0, intercept_sd, n_groups)
v = normal(0.0, slope_sd, n_groups)
response = beta0 + u[group] + (beta1 + v[group]) * X + normal(0.0, noise_sd, N)
"""

[methods.random_intercept]
model = "lmm"
formula = "response ~ X + (1 | group)"

[methods.random_slope]
model = "lmm"
formula = "response ~ X + (1 + X | group)"

[methods.ols]
model = "ols"
formula = "response ~ X"

[estimands]
X = "beta1"
"(Intercept)" = "beta0"
sigma = "noise_sd"
"#
    );
    let path = dir.join("study.toml");
    std::fs::write(&path, toml).expect("study file");
    let study = Study::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("results");
    let options = RunOptions {
        jobs: Some(2),
        out: out.clone(),
        replications: None,
        shard: None,
        fresh: true,
        stop: Arc::new(AtomicBool::new(false)),
    };
    run(&study, &options).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open_existing(&out).expect("store");
    let summary = summarise(&store, None).expect("summary");
    (store, summary)
}

const TWELVE: &str =
    "N = 120\nn_groups = [5, 10, 20]\nbeta1 = [0, -0.3]\nslope_sd = [0.1, 0.5]\nnoise_sd = 1";
const FORTY_EIGHT: &str =
    "N = [100, 400]\nn_groups = [5, 10, 20]\nbeta1 = [0, -0.3]\nslope_sd = [0.1, 0.5]\nnoise_sd = [1, 2]";

/// No two texts of a figure overlap and every text lies inside it: the labels the layout chose, as
/// the PNG backend would place them in the embedded font.
fn assert_readable(figure: &StudyFigure) {
    let boxes = figure.text_boxes().expect("layout");
    if std::env::var("DUMP").is_ok_and(|d| figure.name == d) {
        eprintln!("{:#?}", boxes);
    }
    let (width, height) = figure.size();
    assert!(!boxes.is_empty(), "{} draws no text", figure.name);
    for (i, a) in boxes.iter().enumerate() {
        // One pixel of slack: glyph boxes are rounded outwards.
        assert!(
            a.left >= -1
                && a.top >= -1
                && a.right <= width as i32 + 1
                && a.bottom <= height as i32 + 1,
            "{}: {a:?} leaves the {width}×{height} figure",
            figure.name
        );
        for b in &boxes[i + 1..] {
            assert!(!a.overlaps(b, 1), "{}: {a:?} overlaps {b:?}", figure.name);
        }
    }
    // Pages keep a figure readable on a screen: never a strip thousands of pixels wide.
    assert!(
        width <= 2000 && height <= 2600,
        "{}: {width}×{height}",
        figure.name
    );
}

/// 100 conditions: the nested-loop plot's condition ticks must thin out (15 pixels apart, `c99` is wider).
const HUNDRED: &str = "N = 120\nn_groups = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]\n\
    beta1 = [0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9]\nslope_sd = 0.3\nnoise_sd = 1";
/// One factor: its measures as lines over its levels.
const ONE_FACTOR: &str =
    "N = 120\nn_groups = [5, 10, 20, 40]\nbeta1 = -0.3\nslope_sd = 0.3\nnoise_sd = 1";

#[test]
fn labels_never_overlap_with_4_12_48_or_100_conditions() {
    for (name, factors, conditions, pages) in [
        ("one-factor", ONE_FACTOR, 4, 1),
        ("twelve", TWELVE, 12, 1),
        ("forty-eight", FORTY_EIGHT, 48, 2),
        ("hundred", HUNDRED, 100, 5),
    ] {
        let (store, summary) = run_study(name, factors, 12);
        assert_eq!(summary.conditions.len(), conditions);
        let figures = study_figures(&store, &summary).expect("figures");
        for figure in &figures {
            assert_readable(figure);
        }
        // The forest plot of the key measures pages its rows: 24 conditions a page at most.
        let measures: Vec<&StudyFigure> = figures
            .iter()
            .filter(|f| f.kind == FigureKind::Measures && f.term == "X")
            .collect();
        assert_eq!(measures.len(), pages, "{:?}", names(&figures));
        let shown: usize = measures.iter().map(|f| f.conditions.len()).sum();
        assert_eq!(shown, conditions);
        // One nested-loop plot spans every condition, whatever the design's size.
        let nested = figures
            .iter()
            .find(|f| f.name == "nested_loop_bias_X")
            .expect("nested loop of bias");
        assert_eq!(nested.conditions.len(), conditions);
        let ticks: Vec<String> = nested
            .text_boxes()
            .expect("layout")
            .into_iter()
            .map(|b| b.text)
            .filter(|t| t.starts_with('c') && t[1..].parse::<usize>().is_ok())
            .collect();
        match conditions {
            // With one factor its levels label the positions.
            4 => assert!(
                ticks.is_empty()
                    && nested
                        .text_boxes()
                        .expect("layout")
                        .iter()
                        .any(|b| b.text == "40")
            ),
            100 => assert!(ticks.len() < 100 && ticks.len() >= 20, "{ticks:?}"),
            n => assert_eq!(ticks.len(), n, "{ticks:?}"),
        }
    }
}

#[test]
fn a_measure_that_does_not_exist_for_a_term_draws_nothing() {
    let (store, summary) = run_study("exists", TWELVE, 8);
    let figures = study_figures(&store, &summary).expect("figures");
    let of =
        |term: &str| -> Vec<&StudyFigure> { figures.iter().filter(|f| f.term == term).collect() };
    // sigma has no standard error: no coverage, no test, no model SE; its bias and empirical SE remain.
    let sigma = of("sigma");
    assert!(!sigma.is_empty());
    for figure in &sigma {
        assert!(
            !matches!(figure.kind, FigureKind::Zip | FigureKind::PowerCurve),
            "{}",
            figure.name
        );
        for kind in [
            MeasureKind::Coverage,
            MeasureKind::Rejection,
            MeasureKind::RelativeErrorModelSe,
        ] {
            assert!(!figure.measures.contains(&kind), "{}: {kind}", figure.name);
        }
    }
    let forest = sigma
        .iter()
        .find(|f| f.kind == FigureKind::Measures)
        .expect("sigma's measures");
    assert_eq!(
        forest.measures,
        [
            MeasureKind::Bias,
            MeasureKind::EmpiricalSe,
            MeasureKind::Convergence
        ]
    );
    // X has every key measure, each with its nested-loop plot (the convergence rate only where a fit
    // was lost), and power curves over the factor with the most levels.
    let x = of("X");
    for kind in [
        MeasureKind::Bias,
        MeasureKind::EmpiricalSe,
        MeasureKind::RelativeErrorModelSe,
        MeasureKind::Coverage,
        MeasureKind::Rejection,
    ] {
        assert!(
            x.iter().any(|f| f.kind == FigureKind::NestedLoop(kind)),
            "no nested loop of {kind} in {:?}",
            names(&figures)
        );
    }
    let power = x
        .iter()
        .find(|f| f.kind == FigureKind::PowerCurve)
        .expect("power curves");
    assert_eq!(power.name, "power_X");
    assert!(power.title.contains("n_groups"), "{}", power.title);
    // The zip plots come as pages of conditions, a row each, not a file per condition.
    let zips: Vec<&&StudyFigure> = x.iter().filter(|f| f.kind == FigureKind::Zip).collect();
    assert_eq!(zips.len(), 2, "{:?}", names(&figures));
    assert_eq!(zips[0].conditions, (0..6).collect::<Vec<_>>());
    assert_eq!(zips[1].page, (2, 2));
}

#[test]
fn a_large_design_pages_its_first_conditions_and_loops_over_all() {
    // 25 × 10 = 250 conditions: the figures of a panel per condition stop at the first 240 (ten pages of
    // the forest plot), and say so; the nested-loop plots show all 250.
    let levels = (4..29)
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let factors = format!(
        "N = 60\nn_groups = [{levels}]\nbeta1 = [0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9]\nslope_sd = 0.3\nnoise_sd = 1"
    );
    let (store, summary) = run_study("large", &factors, 4);
    assert_eq!(summary.conditions.len(), 250);
    let figures = study_figures(&store, &summary).expect("figures");
    let x: Vec<&StudyFigure> = figures.iter().filter(|f| f.term == "X").collect();
    for kind in [FigureKind::Estimates, FigureKind::Measures, FigureKind::Zip] {
        let pages: Vec<&&StudyFigure> = x.iter().filter(|f| f.kind == kind).collect();
        let shown: Vec<usize> = pages.iter().flat_map(|f| f.conditions.clone()).collect();
        assert_eq!(shown, (0..240).collect::<Vec<_>>(), "{kind:?}");
        let first = pages[0];
        assert!(
            first
                .svg()
                .expect("svg")
                .contains("the first 240 of 250 conditions"),
            "{}",
            first.name
        );
    }
    assert_eq!(
        x.iter().filter(|f| f.kind == FigureKind::Measures).count(),
        10
    );
    let nested = x
        .iter()
        .find(|f| f.kind == FigureKind::NestedLoop(MeasureKind::Bias))
        .expect("nested loop");
    assert_eq!(nested.conditions.len(), 250);
    assert_readable(nested);
}
