//! The figures. Each knows its size and draws itself on any plotters backend, so SVG, PNG and the
//! layout check ([`record::Recorder`]) share one code path. Text is placed from the measurements of
//! [`super::layout`], never guessed: tick labels that would collide are thinned, long labels wrap.

mod estimates;
mod measures;
mod nested;
mod power;
pub mod record;
mod zip;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::layout::{line_height, text_width, wrap};
use super::{method_colour, ImageFormat, TextBox, FAMILY};
use crate::report::format_number;

pub use estimates::Estimates;
pub use measures::Measures;
pub use nested::NestedLoop;
pub use power::PowerCurves;
pub use zip::Zip;

const TITLE: u32 = 22;
const LABEL: u32 = 16;
const TICK: u32 = 14;
/// Normal quantile of a two-sided 95% Monte Carlo interval.
const Z95: f64 = 1.959_963_984_540_054;
/// Pixels between neighbouring texts.
const GAP: u32 = 6;

type DrawResult = Result<(), String>;
type Area<DB> = DrawingArea<DB, Shift>;
type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn fail<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure that can be drawn to a file, to an SVG document in memory, or to the layout recorder.
pub trait Render {
    /// Width and height in pixels.
    fn dimensions(&self) -> (u32, u32);
    /// Write the figure to `path`.
    fn render(&self, path: &Path, format: ImageFormat) -> DrawResult;
    /// The figure as an SVG document (for pages that inline their figures).
    fn svg(&self) -> Result<String, String>;
    /// Where the figure puts each text.
    fn text_boxes(&self) -> Result<Vec<TextBox>, String>;
}

/// A figure drawn on a generic backend.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult;
}

impl<F: Figure> Render for F {
    fn dimensions(&self) -> (u32, u32) {
        self.size()
    }

    fn render(&self, path: &Path, format: ImageFormat) -> DrawResult {
        match format {
            ImageFormat::Svg => draw_on(
                &SVGBackend::new(path, self.size()).into_drawing_area(),
                self,
            ),
            ImageFormat::Png => draw_on(
                &BitMapBackend::new(path, self.size()).into_drawing_area(),
                self,
            ),
        }
    }

    fn svg(&self) -> Result<String, String> {
        let mut text = String::new();
        draw_on(
            &SVGBackend::with_string(&mut text, self.size()).into_drawing_area(),
            self,
        )?;
        Ok(text)
    }

    fn text_boxes(&self) -> Result<Vec<TextBox>, String> {
        let recorder = record::Recorder::new(self.size());
        let boxes = recorder.boxes();
        draw_on(&recorder.into_drawing_area(), self)?;
        let boxes = boxes.borrow().clone();
        Ok(boxes)
    }
}

fn draw_on<DB: DrawingBackend, F: Figure>(root: &Area<DB>, figure: &F) -> DrawResult {
    root.fill(&WHITE).map_err(fail)?;
    figure.draw(root)?;
    root.present().map_err(fail)
}

/// Tick label: rounding noise around zero (e.g. -2.8e-17 from a padded range) shows as 0.
fn tick(value: f64, span: f64) -> String {
    format_number(if value.abs() < 1e-9 * span.abs() {
        0.0
    } else {
        value
    })
}

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

fn anchored(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    font(size).pos(Pos::new(h, v))
}

/// How many numeric tick labels an axis `pixels` long can hold without crowding (plotters picks round
/// values up to this many).
fn numeric_ticks(pixels: u32) -> usize {
    (pixels / 80).clamp(2, 10) as usize
}

/// Lines of `text` wrapped to `width` at `size`, each drawn centred (or left-aligned) from the top of
/// `area`; returns the height used.
fn draw_lines<DB: DrawingBackend>(
    area: &Area<DB>,
    lines: &[String],
    size: u32,
    colour: &RGBColor,
    centred: bool,
) -> Result<u32, String> {
    let (width, _) = area.dim_in_pixel();
    let step = line_height(size);
    for (i, line) in lines.iter().enumerate() {
        let (h, x) = if centred {
            (HPos::Center, (width / 2) as i32)
        } else {
            (HPos::Left, 4)
        };
        area.draw_text(
            line,
            &anchored(size, h, VPos::Top).color(colour),
            (x, 2 + (i as u32 * step) as i32),
        )
        .map_err(fail)?;
    }
    Ok(lines.len() as u32 * step + 4)
}

/// ` (conditions c0–c11, page 1 of 4)` after the title of one page of several (the conditions first to
/// last, when the page shows conditions).
fn page_note((page, of): (usize, usize), conditions: &[usize]) -> String {
    match (of > 1, conditions.first(), conditions.last()) {
        (false, ..) => String::new(),
        (true, Some(first), Some(last)) => {
            format!(" (conditions c{first}–c{last}, page {page} of {of})")
        }
        (true, ..) => format!(" (page {page} of {of})"),
    }
}

/// `; the first 240 of 1000 conditions` when a figure shows only the design's first conditions.
fn shown_note((shown, total): (usize, usize)) -> String {
    if shown < total {
        format!("; the first {shown} of {total} conditions (the nested-loop plots show them all)")
    } else {
        String::new()
    }
}

/// Height of a row of panel captions, the longest `lines` long.
fn caption_height(lines: impl Iterator<Item = usize>) -> u32 {
    lines.max().unwrap_or(0) as u32 * line_height(LABEL) + 6
}

/// A figure's heading: its title and a grey subtitle, each wrapped to the figure's width.
struct Heading {
    title: Vec<String>,
    subtitle: Vec<String>,
}

impl Heading {
    fn new(title: &str, subtitle: &str, width: u32) -> Self {
        let room = width.saturating_sub(40).max(200);
        Heading {
            title: wrap(title, TITLE, room),
            subtitle: if subtitle.is_empty() {
                Vec::new()
            } else {
                wrap(subtitle, TICK, room)
            },
        }
    }

    fn height(&self) -> u32 {
        8 + self.title.len() as u32 * line_height(TITLE)
            + self.subtitle.len() as u32 * line_height(TICK)
            + 8
    }

    /// Draw the heading on top of `root`; returns the area below it.
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<Area<DB>, String> {
        let (top, rest) = root.split_vertically(self.height());
        let top = top.margin(8, 0, 0, 0);
        let used = draw_lines(&top, &self.title, TITLE, &BLACK, true)?;
        let (_, below) = top.split_vertically(used);
        draw_lines(&below, &self.subtitle, TICK, &RGBColor(80, 80, 80), true)?;
        Ok(rest)
    }
}

/// A row of method keys (a coloured dot and the name) across the figure, wrapped onto as many lines as
/// the width needs.
struct Legend {
    /// Lines of (method index, name, x offset).
    lines: Vec<Vec<(usize, String, u32)>>,
}

impl Legend {
    fn new(methods: &[(usize, String)], width: u32) -> Self {
        let mut lines: Vec<Vec<(usize, String, u32)>> = vec![Vec::new()];
        let mut x = 20;
        for (index, name) in methods {
            let item = 28 + text_width(name, TICK) + 3 * GAP;
            if x + item > width.saturating_sub(10) && x > 20 {
                lines.push(Vec::new());
                x = 20;
            }
            if let Some(line) = lines.last_mut() {
                line.push((*index, name.clone(), x));
            }
            x += item;
        }
        Legend { lines }
    }

    fn height(&self) -> u32 {
        self.lines.len() as u32 * 24 + 6
    }

    /// Draw the legend on top of `area`; returns the area below it.
    fn draw<DB: DrawingBackend>(&self, area: &Area<DB>) -> Result<Area<DB>, String> {
        let (top, rest) = area.split_vertically(self.height());
        for (row, line) in self.lines.iter().enumerate() {
            let y = 12 + 24 * row as i32;
            for (index, name, x) in line {
                let colour = method_colour(*index);
                let x = *x as i32;
                top.draw(&PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    colour.stroke_width(2),
                ))
                .map_err(fail)?;
                top.draw(&Circle::new((x + 10, y), 5, colour.filled()))
                    .map_err(fail)?;
                top.draw_text(name, &anchored(TICK, HPos::Left, VPos::Center), (x + 28, y))
                    .map_err(fail)?;
            }
        }
        Ok(rest)
    }
}

/// Panels of a grid page: `count` panels in at most `max_columns` columns, each `panel` pixels.
fn grid_cells<DB: DrawingBackend>(area: &Area<DB>, count: usize, columns: usize) -> Vec<Area<DB>> {
    let columns = columns.max(1);
    let rows = count.div_ceil(columns).max(1);
    area.split_evenly((rows, columns))
}

/// Vertical error bars (±1.96 MCSE) and dots.
fn draw_points_with_intervals<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: impl Iterator<Item = (f64, f64, f64)> + Clone,
    colour: &RGBColor,
    radius: u32,
) -> DrawResult {
    let style = colour.stroke_width(2);
    chart
        .draw_series(
            points
                .clone()
                .map(|(x, e, s)| PathElement::new(vec![(x, e - Z95 * s), (x, e + Z95 * s)], style)),
        )
        .map_err(fail)?;
    chart
        .draw_series(points.map(|(x, e, _)| Circle::new((x, e), radius, colour.filled())))
        .map_err(fail)?;
    Ok(())
}

/// A step function through (position, value) over runs of consecutive positions: flat across each
/// position's width, vertical between neighbours; a gap (a condition without a value) starts a new run.
fn step_runs(points: &[(usize, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|(p, _)| *p);
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<usize> = None;
    for (p, v) in sorted {
        if last.is_none_or(|l| l + 1 != p) {
            runs.push(Vec::new());
        }
        if let Some(run) = runs.last_mut() {
            run.push((p as f64 - 0.5, v));
            run.push((p as f64 + 0.5, v));
        }
        last = Some(p);
    }
    runs
}

/// Condition tick labels `c0`, `c1`, ... under positions `0..n` of an axis `pixels` wide: every
/// `stride`-th so neighbours never touch.
fn condition_stride(n: usize, pixels: u32, widest: &str) -> usize {
    super::layout::label_stride(
        f64::from(pixels) / n.max(1) as f64,
        text_width(widest, TICK),
        GAP,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorder sees the texts as drawn: two labels at one place overlap, side by side they do not.
    #[test]
    fn the_recorder_finds_overlapping_text() {
        crate::plot::register_font().expect("font");
        let recorder = record::Recorder::new((400, 100));
        let boxes = recorder.boxes();
        let area = recorder.into_drawing_area();
        let style = anchored(TICK, HPos::Left, VPos::Top);
        for (text, x) in [("c10", 10), ("c11", 20), ("c12", 80)] {
            area.draw_text(text, &style, (x, 10)).expect("drawn");
        }
        let boxes = boxes.borrow();
        assert_eq!(boxes.len(), 3);
        assert!(boxes[0].overlaps(&boxes[1], 1), "{boxes:?}");
        assert!(!boxes[1].overlaps(&boxes[2], 1), "{boxes:?}");
        assert_eq!((boxes[0].left, boxes[0].top), (10, 10));
        assert!(boxes[0].right - boxes[0].left > 15, "{boxes:?}");
    }

    #[test]
    fn step_runs_break_at_gaps_and_sort() {
        let runs = step_runs(&[(3, 1.0), (0, 2.0), (1, 3.0)]);
        assert_eq!(
            runs,
            vec![
                vec![(-0.5, 2.0), (0.5, 2.0), (0.5, 3.0), (1.5, 3.0)],
                vec![(2.5, 1.0), (3.5, 1.0)]
            ]
        );
    }
}
