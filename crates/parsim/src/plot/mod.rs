//! Figures of a study's results (plotters; SVG or PNG):
//! (a) the distribution of estimates per method with the true value marked;
//! (b) bias with 95% Monte Carlo intervals per method across conditions;
//! (c) coverage with its 95% Monte Carlo interval and the nominal level;
//! (d) zip plots of the confidence intervals (Morris, White & Crowther 2019, Figure 3);
//! (e) nested-loop plots of bias and coverage when the design has two or more factors (Rücker & Schwarzer 2014).
//!
//! Text uses DejaVu Sans embedded in the binary (plotters is built without system fonts).

mod data;
mod figures;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::measures::{MeasureKind, MeasuresError, Summary};
use crate::store::{Store, StoreError};

/// DejaVu Sans (fonts-dejavu-core; its license, in `assets/DejaVu-LICENSE`, permits redistribution).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name figures ask for.
const FAMILY: &str = "sans-serif";

/// Errors while drawing figures.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The measures could not be computed.
    #[error(transparent)]
    Measures(#[from] MeasuresError),
    /// The store could not be read.
    #[error("cannot read the results store: {0}")]
    Store(#[from] StoreError),
    /// The output directory could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Drawing or writing a figure failed.
    #[error("cannot draw {path}: {message}")]
    Draw {
        /// The figure's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The embedded font could not be loaded (a build problem, not a user one).
    #[error("the embedded font could not be loaded")]
    Font,
}

/// Image format of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

impl ImageFormat {
    fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

impl FromStr for ImageFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "svg" => Ok(ImageFormat::Svg),
            "png" => Ok(ImageFormat::Png),
            other => Err(format!("unknown image format `{other}`; choose svg or png")),
        }
    }
}

/// What a figure shows, so that a page can group its figures and a caller can pick some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureKind {
    /// The distribution of estimates per method and condition.
    Estimates,
    /// One measure per method across conditions.
    Measure(MeasureKind),
    /// Zip plot of one condition's confidence intervals.
    Zip,
    /// Nested-loop plot of one measure across a design of two or more factors.
    NestedLoop(MeasureKind),
}

/// One figure of a study: its file stem, the term it describes, what it shows, and how to draw it.
pub struct StudyFigure {
    /// File stem, unique within the study (`bias_x`, `zip_x_c3`).
    pub name: String,
    /// The estimand (term) drawn.
    pub term: String,
    /// What the figure shows.
    pub kind: FigureKind,
    /// The condition, for figures of one condition.
    pub condition: Option<usize>,
    figure: Box<dyn figures::Render>,
}

impl StudyFigure {
    fn new(
        name: String,
        term: &str,
        kind: FigureKind,
        condition: Option<usize>,
        figure: Box<dyn figures::Render>,
    ) -> Self {
        StudyFigure {
            name,
            term: term.to_string(),
            kind,
            condition,
            figure,
        }
    }

    /// The figure as an SVG document.
    pub fn svg(&self) -> Result<String, PlotError> {
        register_font()?;
        self.figure.svg().map_err(|message| PlotError::Draw {
            path: PathBuf::from(format!("{}.svg", self.name)),
            message,
        })
    }

    /// Write the figure into `dir` as `<name>.<format>`; returns the file's path.
    pub fn write(&self, dir: &Path, format: ImageFormat) -> Result<PathBuf, PlotError> {
        register_font()?;
        let path = dir.join(format!("{}.{}", self.name, format.extension()));
        self.figure
            .render(&path, format)
            .map_err(|message| PlotError::Draw {
                path: path.clone(),
                message,
            })?;
        Ok(path)
    }
}

/// Every figure of `summary` (computed from `store`), in the order a reader meets them: per term, the
/// estimates, the measures across conditions, the nested-loop plots, then one zip plot per condition.
pub fn study_figures(store: &Store, summary: &Summary) -> Result<Vec<StudyFigure>, PlotError> {
    let mut all = Vec::new();
    for term in summary.terms() {
        let slug = slug(term);
        all.push(StudyFigure::new(
            format!("estimates_{slug}"),
            term,
            FigureKind::Estimates,
            None,
            Box::new(figures::Estimates::read(store, summary, term)?),
        ));
        for kind in [MeasureKind::Bias, MeasureKind::Coverage] {
            all.push(StudyFigure::new(
                format!("{}_{slug}", measure_stem(kind)),
                term,
                FigureKind::Measure(kind),
                None,
                Box::new(figures::AcrossConditions::new(summary, term, kind)),
            ));
        }
        if summary.factors.len() >= 2 {
            for kind in [MeasureKind::Bias, MeasureKind::Coverage] {
                all.push(StudyFigure::new(
                    format!("nested_loop_{}_{slug}", kind.key()),
                    term,
                    FigureKind::NestedLoop(kind),
                    None,
                    Box::new(figures::NestedLoop::new(summary, term, kind)),
                ));
            }
        }
        for condition in &summary.conditions {
            let zip = figures::Zip::read(store, summary, condition.index, term)?;
            if zip.is_empty() {
                continue;
            }
            let suffix = if summary.conditions.len() > 1 {
                format!("_c{}", condition.index)
            } else {
                String::new()
            };
            all.push(StudyFigure::new(
                format!("zip_{slug}{suffix}"),
                term,
                FigureKind::Zip,
                Some(condition.index),
                Box::new(zip),
            ));
        }
    }
    Ok(all)
}

/// The file stem of a measure's figure across conditions (`coverage_x`; the nested-loop plots keep the
/// measure's short key, `nested_loop_cover_x`, as their files always had).
fn measure_stem(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::Coverage => "coverage",
        other => other.key(),
    }
}

/// Draw every figure of `summary` (computed from `store`) into `out`; returns the files written.
pub fn plot_all(
    store: &Store,
    summary: &Summary,
    out: &Path,
    format: ImageFormat,
) -> Result<Vec<PathBuf>, PlotError> {
    register_font()?;
    std::fs::create_dir_all(out).map_err(|source| PlotError::CreateDir {
        path: out.to_path_buf(),
        source,
    })?;
    study_figures(store, summary)?
        .iter()
        .map(|figure| figure.write(out, format))
        .collect()
}

/// Register the embedded font once per process.
fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// A file-name-safe form of a term: `(Intercept)` → `Intercept`, `x:z` → `x_z`.
fn slug(term: &str) -> String {
    let s: String = term
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_string();
    if s.is_empty() {
        "term".to_string()
    } else {
        s
    }
}

/// Method colours (Tableau 10: distinguishable, colour-blind safe in the first few).
fn method_colour(index: usize) -> RGBColor {
    const PALETTE: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = PALETTE[index % PALETTE.len()];
    RGBColor(r, g, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("(Intercept)"), "Intercept");
        assert_eq!(slug("x:z"), "x_z");
        assert_eq!(slug("()"), "term");
    }

    #[test]
    fn the_embedded_font_loads() {
        assert!(register_font().is_ok());
    }
}
