//! Every figure is written, in SVG and PNG, for a 2 × 2 design (so the nested-loop plot is drawn too).

mod measures_support;

use measures_support::{create_single_condition_store, create_store, generate, study_toml};
use parsim::measures::summarise;
use parsim::plot::{plot_all, ImageFormat};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("parsim-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
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
        // Per term: estimates, bias, coverage, one zip plot per condition (4), nested loops of bias and coverage.
        assert_eq!(written.len(), 2 * 9, "{names:?}");
        for expected in [
            "estimates_X",
            "bias_Intercept",
            "coverage_X",
            "zip_X_c3",
            "nested_loop_cover_X",
            "nested_loop_bias_Intercept",
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
fn one_condition_gives_no_nested_loop_and_unsuffixed_zip_plots() {
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
            "bias_Intercept.png",
            "bias_X.png",
            "coverage_Intercept.png",
            "coverage_X.png",
            "estimates_Intercept.png",
            "estimates_X.png",
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
    let figures = parsim::plot::study_figures(&connection, &summary).expect("figures");
    let out = dir.join("plots");
    std::fs::create_dir_all(&out).expect("dir");
    for figure in &figures {
        let inline = figure.svg().expect("svg in memory");
        let written = figure.write(&out, ImageFormat::Svg).expect("svg file");
        let file = std::fs::read_to_string(&written).expect("read back");
        // The same drawing code serves both: an inline figure is the file's document exactly.
        assert_eq!(inline, file, "{}", figure.name);
        assert_eq!(
            figure.kind == parsim::plot::FigureKind::Zip,
            figure.condition.is_some()
        );
    }
}
