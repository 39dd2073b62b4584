//! `report.html`: one self-contained page per study (inline CSS, SVG and a little plain JavaScript; no
//! network access needed to open it, printable): the study, the fits that could not be used, the
//! performance measures as tables a reader can sort and filter, and the figures, with a table of contents.
//!
//! The page reads the summary and the store (the figures draw every replication) and never writes the
//! store; it sits above `report` and `plot`, which know nothing of it.

mod figures;
mod html;
mod results;
mod study;

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

use crate::measures::Summary;
use crate::plot::{self, PlotError};
use crate::store::{Store, StoreError};

pub use html::escape;

/// The page's file name in a results directory.
pub const PAGE_FILE: &str = "report.html";

/// Errors while writing the page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The store could not be read.
    #[error("cannot read the results store: {0}")]
    Store(#[from] StoreError),
    /// A figure could not be drawn (boxed: a plot error is large, and errors travel by value).
    #[error(transparent)]
    Plot(Box<PlotError>),
    /// The page could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl From<PlotError> for PageError {
    fn from(error: PlotError) -> Self {
        PageError::Plot(Box::new(error))
    }
}

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Write `dir/report.html` of `summary` (computed from `store`, the store of `dir`): written whole to a
/// scratch file and renamed into place, so a reader never sees half a page and an old page stays until
/// the new one is complete. Returns the page's path.
pub fn write_report(dir: &Path, store: &Store, summary: &Summary) -> Result<PathBuf, PageError> {
    let page = render(store, summary, &dir.display().to_string())?;
    let path = dir.join(PAGE_FILE);
    let scratch = dir.join(format!("{PAGE_FILE}.partial"));
    let written = fs::write(&scratch, page).and_then(|()| fs::rename(&scratch, &path));
    if let Err(source) = written {
        // A page that could not be finished (a full disk) must not stay behind.
        let _ = fs::remove_file(&scratch);
        return Err(PageError::Write { path, source });
    }
    Ok(path)
}

/// The page of `summary` (computed from `store`) as HTML; `dir` names the results directory in the
/// commands it shows.
pub fn render(store: &Store, summary: &Summary, dir: &str) -> Result<String, PageError> {
    let toml = store.study_toml()?;
    let stored = stored_per_condition(store)?;
    let facts = study::StudyFacts {
        toml: &toml,
        stored: &stored,
        asked: store.replications_asked()?,
        finished: store.is_finished()?,
        dir,
    };
    let figures = plot::study_figures(store, summary)?;

    let mut body = String::new();
    study::render(&mut body, summary, &facts);
    results::failures(&mut body, summary);
    results::measures(&mut body, summary);
    let figure_terms = figures::render(&mut body, summary, &figures)?;

    let title = format!("{} — parsim report", summary.study);
    let mut out = String::with_capacity(body.len() + STYLE.len() + SCRIPT.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"parsim {}\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n\
         </head>\n<body>\n<header><h1>{}</h1><p class=\"subtitle\">A simulation study run by parsim: \
         {} condition{}, {} method{}, {} estimand{}.</p></header>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&title),
        escape(&summary.study),
        summary.conditions.len(),
        study::plural(summary.conditions.len() as u64),
        summary.methods.len(),
        study::plural(summary.methods.len() as u64),
        summary.terms().len(),
        study::plural(summary.terms().len() as u64),
    );
    contents(&mut out, summary, &figure_terms);
    out.push_str("<main>\n");
    out.push_str(&body);
    let _ = write!(
        out,
        "</main>\n<footer>Written by parsim {} from the results store; <code>parsim report DIR</code> \
         writes it again.</footer>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(out)
}

/// The table of contents: the sections, with an entry per estimand under the measures and the figures.
fn contents(out: &mut String, summary: &Summary, figure_terms: &[(String, String)]) {
    out.push_str(
        "<nav id=\"contents\" aria-label=\"Contents\"><h2>Contents</h2><ol>\n\
         <li><a href=\"#study\">Study</a><ol><li><a href=\"#design\">Design</a></li>\
         <li><a href=\"#methods\">Methods</a></li><li><a href=\"#estimands\">Estimands</a></li>\
         <li><a href=\"#replay\">Seeds and replaying a replication</a></li></ol></li>\n\
         <li><a href=\"#failures\">Fits that could not be used</a></li>\n\
         <li><a href=\"#measures\">Performance measures</a><ol>",
    );
    for (i, term) in summary.terms().into_iter().enumerate() {
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            results::measures_anchor(i, term),
            escape(term)
        );
    }
    out.push_str("</ol></li>\n<li><a href=\"#figures\">Figures</a><ol>");
    for (id, term) in figure_terms {
        let _ = write!(out, "<li><a href=\"#{id}\">{}</a></li>", escape(term));
    }
    out.push_str("</ol></li>\n</ol></nav>\n");
}

/// Replications stored per condition, by condition index.
fn stored_per_condition(store: &Store) -> Result<Vec<u64>, StoreError> {
    let mut stored: Vec<u64> = Vec::new();
    for unit in store.completed_units()?.iter() {
        if stored.len() <= unit.condition {
            stored.resize(unit.condition + 1, 0);
        }
        stored[unit.condition] += 1;
    }
    Ok(stored)
}
