//! The page's figures: the study's catalogue ([`crate::plot::study_figures`]) inlined as SVG, grouped by
//! estimand and by what they show. A figure paged over many conditions (zip plots of a large design) is
//! folded away, so the page opens on the figures of every condition.

use std::fmt::Write;

use crate::measures::Summary;
use crate::plot::{FigureKind, PlotError, StudyFigure};

use super::html::{anchor, escape};
use super::results::label;

/// Figures taller than this (pixels) scroll in a box of a screen's height.
const TALL: f64 = 1400.0;
/// Figures wider than this (pixels) keep their size and scroll sideways.
const WIDE: f64 = 2000.0;

/// Above this many pages (or figures of one condition each) in a group, the group starts folded.
const OPEN_PARTS: usize = 4;

/// The figures section; returns the estimands it has figures of (for the table of contents), with their
/// fragment ids.
pub fn render(
    out: &mut String,
    summary: &Summary,
    figures: &[StudyFigure],
) -> Result<Vec<(String, String)>, PlotError> {
    out.push_str("<section id=\"figures\"><h2>Figures</h2>\n");
    let mut terms: Vec<&str> = Vec::new();
    for figure in figures {
        if !terms.contains(&figure.term.as_str()) {
            terms.push(&figure.term);
        }
    }
    if terms.is_empty() {
        out.push_str("<p>No figures: no method has a usable estimate of an estimand.</p>\n");
    }
    let mut toc = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let id = anchor(&["figures", &i.to_string(), term]);
        let _ = writeln!(out, "<section id=\"{id}\"><h3>{}</h3>", escape(term));
        let of_term: Vec<&StudyFigure> = figures.iter().filter(|f| f.term == *term).collect();
        for group in groups(&of_term) {
            render_group(out, summary, &group)?;
        }
        out.push_str("</section>\n");
        toc.push((id, term.to_string()));
    }
    out.push_str("</section>\n");
    Ok(toc)
}

/// Consecutive figures under the same heading, in the catalogue's order.
fn groups<'a>(figures: &[&'a StudyFigure]) -> Vec<Vec<&'a StudyFigure>> {
    let mut groups: Vec<Vec<&StudyFigure>> = Vec::new();
    for figure in figures {
        match groups.last_mut() {
            Some(last) if heading(last[0].kind) == heading(figure.kind) => last.push(figure),
            _ => groups.push(vec![figure]),
        }
    }
    groups
}

/// A group: its heading, then its figures in a wrapping grid; a group of many pages (or figures of one
/// condition each) starts folded. (The catalogue bounds the pages of a large design itself.)
fn render_group(
    out: &mut String,
    summary: &Summary,
    group: &[&StudyFigure],
) -> Result<(), PlotError> {
    let title = heading(group[0].kind);
    let parts = group
        .iter()
        .filter(|f| f.condition.is_some() || f.page.1 > 1)
        .count();
    let folded = parts > OPEN_PARTS;
    if folded {
        let _ = writeln!(
            out,
            "<details class=\"figures-group\"><summary>{} ({} figures)</summary>",
            escape(title),
            group.len()
        );
    } else {
        let _ = writeln!(out, "<h4>{}</h4>", escape(title));
    }
    out.push_str("<div class=\"figures\">\n");
    for figure in group {
        let svg = figure.svg()?;
        // A figure taller than a screen scrolls in its own box, so the page stays navigable; one far
        // wider keeps its size and scrolls sideways (shrunk to fit, its labels would be too small to
        // read). Printing shows both whole.
        let mut classes = Vec::new();
        if svg_size(&svg, "height").is_some_and(|h| h > TALL) {
            classes.push("tall");
        }
        if svg_size(&svg, "width").is_some_and(|w| w > WIDE) {
            classes.push("wide");
        }
        let class = match classes.is_empty() {
            true => String::new(),
            false => format!(" class=\"{}\"", classes.join(" ")),
        };
        let _ = writeln!(
            out,
            "<figure id=\"{}\"{class}>{}<figcaption>{}</figcaption></figure>",
            anchor(&["figure", &figure.name]),
            inline_svg(&svg),
            escape(&caption(summary, figure))
        );
    }
    out.push_str("</div>\n");
    if folded {
        out.push_str("</details>\n");
    }
    Ok(())
}

/// The heading of a figure's group.
fn heading(kind: FigureKind) -> &'static str {
    #[allow(unreachable_patterns)] // kinds added to the catalogue later land under "Other figures"
    match kind {
        FigureKind::Estimates => "Distribution of the estimates",
        FigureKind::Measures => "Key measures per condition",
        FigureKind::Measure(_) => "Measures across conditions",
        FigureKind::NestedLoop(_) => "Nested-loop plots",
        FigureKind::PowerCurve => "Power curves",
        FigureKind::Zip => "Zip plots of the confidence intervals",
        _ => "Other figures",
    }
}

/// The figure's own caption (its title, page and conditions), else its file stem, with the condition of
/// a figure of one condition.
fn caption(summary: &Summary, figure: &StudyFigure) -> String {
    let what = if figure.title.is_empty() {
        &figure.name
    } else {
        &figure.title
    };
    match figure.condition {
        Some(c) if !what.contains(&format!("c{c}")) => format!("{what}, {}", label(summary, c)),
        _ => what.clone(),
    }
}

/// The `<svg>` element of an SVG document (any XML declaration before it dropped: it is not allowed
/// inside HTML), with a role so screen readers announce it as an image.
fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..].replacen("<svg", "<svg role=\"img\"", 1)
}

/// An attribute (`width`, `height`) of an SVG document's root element, in pixels.
fn svg_size(svg: &str, attribute: &str) -> Option<f64> {
    let start = svg.find("<svg")?;
    let tag = &svg[start..start + svg[start..].find('>')?];
    let key = format!(" {attribute}=\"");
    let at = tag.find(&key)? + key.len();
    let value = &tag[at..at + tag[at..].find('"')?];
    value.trim_end_matches("px").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_height_of_an_svg_is_read_from_its_root() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"800\" height=\"2400\" viewBox=\"0 0 800 2400\"><rect height=\"5\"/></svg>";
        assert_eq!(svg_size(svg, "height"), Some(2400.0));
        assert_eq!(svg_size(svg, "width"), Some(800.0));
        assert_eq!(svg_size("<svg width=\"1\">", "height"), None);
        assert!(inline_svg(svg).starts_with("<svg role=\"img\" width=\"800\""));
    }
}
