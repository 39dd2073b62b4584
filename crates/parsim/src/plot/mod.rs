//! Figures of a study's results (plotters; SVG or PNG), per term (estimand), that scale with the design:
//! - the distribution of the estimates per method, one panel per condition (box over the replications,
//!   the true value marked), paged;
//! - the key measures (bias, empirical SE, relative error in model SE, coverage, power / type I error,
//!   convergence rate) of every condition as a forest plot with 95% Monte Carlo intervals, paged;
//! - a nested-loop plot (Rücker & Schwarzer 2014) of each key measure across all conditions, when the
//!   design has a factor (with one factor, a line over it);
//! - power curves over the numeric factor with the most levels, one panel per level of the others;
//! - zip plots of the intervals (Morris, White & Crowther 2019, Figure 3), a row per condition, paged.
//!
//! A measure that does not exist for a term (coverage without standard errors, power without a test)
//! draws nothing. Text is measured in the embedded font and laid out so that it never overlaps
//! ([`StudyFigure::text_boxes`] lets tests check it). Text uses DejaVu Sans embedded in the binary
//! (plotters is built without system fonts).
mod data;
mod figures;
pub mod layout;
mod series;

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
    /// Zip plots of the confidence intervals: of one condition, or a page of conditions (a row each).
    Zip,
    /// Nested-loop plot of one measure across all conditions (with one factor, a line over it).
    NestedLoop(MeasureKind),
    /// The key measures of every condition (or a page of conditions), one panel per measure that
    /// exists for the term (listed in [`StudyFigure::measures`]).
    Measures,
    /// The rejection rate over a numeric design factor, a line per method.
    PowerCurve,
}

/// One figure of a study: its file stem, the term it describes, what it shows, and how to draw it.
pub struct StudyFigure {
    /// File stem, unique within the study (`measures_x`, `zip_x_p2`).
    pub name: String,
    /// The estimand (term) drawn.
    pub term: String,
    /// What the figure shows.
    pub kind: FigureKind,
    /// The condition, for figures of one condition.
    pub condition: Option<usize>,
    /// A caption for a page that shows the figure (`Zip plots of x, conditions c6–c11 (page 2 of 2)`).
    pub title: String,
    /// The conditions the figure shows.
    pub conditions: Vec<usize>,
    /// The measures drawn ([`FigureKind::Measures`] draws several; empty for the estimates).
    pub measures: Vec<MeasureKind>,
    /// Page `.0` of `.1` of a figure split to stay readable (`(1, 1)` when whole).
    pub page: (usize, usize),
    figure: Box<dyn figures::Render>,
}

/// Where a figure draws one text: its box in pixels (for layout checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextBox {
    /// The text.
    pub text: String,
    /// Left edge.
    pub left: i32,
    /// Top edge.
    pub top: i32,
    /// Right edge.
    pub right: i32,
    /// Bottom edge.
    pub bottom: i32,
}

impl TextBox {
    /// Whether two boxes share more than `slack` pixels both across and down.
    pub fn overlaps(&self, other: &TextBox, slack: i32) -> bool {
        let across = self.right.min(other.right) - self.left.max(other.left);
        let down = self.bottom.min(other.bottom) - self.top.max(other.top);
        across > slack && down > slack
    }
}

impl StudyFigure {
    /// The figure's width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        self.figure.dimensions()
    }

    /// Every text the figure draws and its box, measured in the embedded font as the PNG backend
    /// places it.
    pub fn text_boxes(&self) -> Result<Vec<TextBox>, PlotError> {
        register_font()?;
        self.figure.text_boxes().map_err(|message| PlotError::Draw {
            path: PathBuf::from(&self.name),
            message,
        })
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
/// distributions of the estimates, the key measures of every condition, a nested-loop plot of each key
/// measure, the power curves, then the zip plots. Figures too large to read are split into pages.
pub fn study_figures(store: &Store, summary: &Summary) -> Result<Vec<StudyFigure>, PlotError> {
    let mut all = Vec::new();
    let every: Vec<usize> = summary.conditions.iter().map(|c| c.index).collect();
    let one = |conditions: &[usize]| match conditions {
        [only] if summary.conditions.len() > 1 => Some(*only),
        _ => None,
    };
    for term in summary.terms() {
        let slug = slug(term);
        let mut add = |stem: &str,
                       kind: FigureKind,
                       title: &str,
                       conditions: Vec<usize>,
                       measures: Vec<MeasureKind>,
                       page: (usize, usize),
                       figure: Box<dyn figures::Render>| {
            all.push(StudyFigure {
                name: format!("{stem}_{slug}{}", page_suffix(page)),
                term: term.to_string(),
                kind,
                condition: one(&conditions),
                title: format!("{title}{}", page_caption(page, &conditions, &every)),
                conditions,
                measures,
                page,
                figure,
            });
        };
        for (page, f) in paged(figures::Estimates::pages(store, summary, term)?) {
            let title = format!("Estimates of {term}");
            add(
                "estimates",
                FigureKind::Estimates,
                &title,
                f.conditions(),
                vec![],
                page,
                Box::new(f),
            );
        }
        for (page, f) in paged(figures::Measures::pages(summary, term)) {
            let title = format!("Performance for {term}");
            let (conditions, kinds) = (f.conditions(), f.kinds());
            add(
                "measures",
                FigureKind::Measures,
                &title,
                conditions,
                kinds,
                page,
                Box::new(f),
            );
        }
        // Past a pixel a condition a nested-loop plot shows nothing more (and would take its time).
        if !summary.factors.is_empty() && summary.conditions.len() <= series::MAX_NESTED_LOOP {
            for kind in series::KEY_MEASURES {
                if !series::worth_drawing(summary, term, kind) {
                    continue;
                }
                let title = format!(
                    "{} (nested-loop plot)",
                    series::title(kind, term, &summary.settings)
                );
                let f = figures::NestedLoop::new(summary, term, kind);
                let stem = format!("nested_loop_{}", kind.key());
                let kind_of = FigureKind::NestedLoop(kind);
                add(
                    &stem,
                    kind_of,
                    &title,
                    every.clone(),
                    vec![kind],
                    (1, 1),
                    Box::new(f),
                );
            }
        }
        for (page, f) in paged(figures::PowerCurves::pages(summary, term)) {
            let title = format!("Power curves for {term} over {}", f.factor());
            let kinds = vec![MeasureKind::Rejection];
            add(
                "power",
                FigureKind::PowerCurve,
                &title,
                every.clone(),
                kinds,
                page,
                Box::new(f),
            );
        }
        for (page, f) in paged(figures::Zip::pages(store, summary, term)?) {
            let title = format!("Zip plots of {term}");
            let kinds = vec![MeasureKind::Coverage];
            add(
                "zip",
                FigureKind::Zip,
                &title,
                f.conditions(),
                kinds,
                page,
                Box::new(f),
            );
        }
    }
    Ok(all)
}

/// Pages numbered `(page, of)`.
fn paged<T>(pages: Vec<T>) -> impl Iterator<Item = ((usize, usize), T)> {
    let count = pages.len();
    pages
        .into_iter()
        .enumerate()
        .map(move |(i, p)| ((i + 1, count), p))
}

/// `_p2` for the second of several pages; nothing for a figure of one page.
fn page_suffix((page, of): (usize, usize)) -> String {
    if of > 1 {
        format!("_p{page}")
    } else {
        String::new()
    }
}

/// `, conditions c0–c11 (page 1 of 4)` for a page of several; `, c3: n=50` for a figure of one
/// condition of several.
fn page_caption((page, of): (usize, usize), conditions: &[usize], every: &[usize]) -> String {
    let pages = if of > 1 {
        format!(" (page {page} of {of})")
    } else {
        String::new()
    };
    match conditions {
        [first, .., last] if conditions.len() < every.len() => {
            format!(", conditions c{first}–c{last}{pages}")
        }
        [only] if every.len() > 1 => format!(", condition c{only}{pages}"),
        _ => pages,
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
