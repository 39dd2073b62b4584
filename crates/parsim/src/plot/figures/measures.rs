//! The key measures of a term in every condition, as a forest plot: one row per condition (its label on
//! the left, wrapped to the label column), one panel per measure that exists for the term, each method's
//! estimate with its 95% Monte Carlo interval, dodged within the row. Rows are paged, so a page stays
//! readable at any number of conditions; every panel keeps one scale across pages.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    anchored, fail, grid_cells, numeric_ticks, page_note, shown_note, tick, Area, Chart,
    DrawResult, Figure, Heading, Legend, GAP, LABEL, TICK, Z95,
};
use crate::measures::{MeasureKind, Summary, SummarySettings};
use crate::plot::data::padded_range;
use crate::plot::layout::{columns, line_height, pages, text_width, wrap};
use crate::plot::method_colour;
use crate::plot::series::{
    condition_label, exists, heading, measure_series, rows_by_condition, target, Series,
    KEY_MEASURES, MAX_CONDITIONS_SHOWN,
};

/// Conditions per page.
pub const ROWS_PER_PAGE: usize = 24;
/// Width of a measure's panel.
const PANEL_WIDTH: u32 = 290;
/// Panels side by side.
const PANELS_PER_ROW: usize = 3;
/// The widest a condition label may be before it wraps.
const LABEL_MAX: u32 = 420;

/// One page of the forest plot of a term's key measures.
pub struct Measures {
    term: String,
    settings: SummarySettings,
    methods: Vec<(usize, String)>,
    panels: Vec<Panel>,
    rows: Vec<Row>,
    label_width: u32,
    page: (usize, usize),
    /// Conditions shown of those with estimates.
    shown: (usize, usize),
}

#[derive(Clone)]
struct Panel {
    kind: MeasureKind,
    series: Vec<Series>,
    range: (f64, f64),
}

struct Row {
    condition: usize,
    lines: Vec<String>,
    truth: Option<f64>,
}

impl Measures {
    /// The pages of `term`'s forest plot (none when no key measure exists for it).
    pub fn pages(summary: &Summary, term: &str) -> Vec<Measures> {
        let groups = rows_by_condition(summary, term);
        let shown = (groups.len().min(MAX_CONDITIONS_SHOWN), groups.len());
        let truths: Vec<Option<f64>> = groups
            .iter()
            .take(MAX_CONDITIONS_SHOWN)
            .map(|(_, rows)| rows.first().map(|r| r.measures.truth))
            .collect();
        let conditions: Vec<usize> = groups
            .into_iter()
            .take(MAX_CONDITIONS_SHOWN)
            .map(|(c, _)| c)
            .collect();
        let panels: Vec<Panel> = KEY_MEASURES
            .into_iter()
            .filter(|kind| exists(summary, term, *kind))
            .map(|kind| Panel::new(summary, term, kind, &conditions, &truths))
            .collect();
        if panels.is_empty() || conditions.is_empty() {
            return Vec::new();
        }
        let labels: Vec<String> = conditions
            .iter()
            .map(|c| condition_label(summary, *c))
            .collect();
        let widest = labels
            .iter()
            .map(|l| text_width(l, TICK))
            .max()
            .unwrap_or(0);
        let label_width = widest.min(LABEL_MAX) + 2 * GAP;
        let mut methods: Vec<(usize, String)> = Vec::new();
        for series in panels.iter().flat_map(|p| &p.series) {
            if !methods.iter().any(|(i, _)| *i == series.method) {
                methods.push((series.method, series.name.clone()));
            }
        }
        methods.sort();
        let ranges = pages(conditions.len(), ROWS_PER_PAGE);
        let count = ranges.len();
        ranges
            .into_iter()
            .enumerate()
            .map(|(page, range)| Measures {
                term: term.to_string(),
                settings: summary.settings.clone(),
                methods: methods.clone(),
                panels: panels.clone(),
                rows: range
                    .map(|i| Row {
                        condition: conditions[i],
                        lines: wrap(&labels[i], TICK, label_width - 2 * GAP),
                        truth: truths[i],
                    })
                    .collect(),
                label_width,
                page: (page + 1, count),
                shown,
            })
            .collect()
    }

    /// The conditions of this page.
    pub fn conditions(&self) -> Vec<usize> {
        self.rows.iter().map(|r| r.condition).collect()
    }

    /// The measures drawn.
    pub fn kinds(&self) -> Vec<MeasureKind> {
        self.panels.iter().map(|p| p.kind).collect()
    }

    /// Pixels between rows: room for the longest wrapped label and for every method's dot.
    pub fn row_pitch(&self) -> u32 {
        let lines = self.rows.iter().map(|r| r.lines.len()).max().unwrap_or(1) as u32;
        (lines * line_height(TICK) + 6)
            .max(10 * self.methods.len() as u32 + 8)
            .max(24)
    }

    fn columns(&self) -> usize {
        columns(self.panels.len(), PANELS_PER_ROW)
    }

    fn block_height(&self) -> u32 {
        // caption, rows, tick labels and margins
        34 + self.rows.len() as u32 * self.row_pitch() + 44 + 8
    }

    fn width(&self) -> u32 {
        self.label_width + self.columns() as u32 * PANEL_WIDTH + 20
    }

    fn heading(&self) -> Heading {
        let page = page_note(self.page, &self.conditions());
        Heading::new(
            &format!("Performance for {}{page}", self.term),
            &format!(
                "each method's estimate with its 95% Monte Carlo interval (±1.96 MCSE); dashed: the target \
                 (no bias, no error in the model SE, nominal coverage, α where the true value is 0, every fit){}",
                shown_note(self.shown)
            ),
            self.width(),
        )
    }
}

impl Panel {
    /// The panel of `kind` for the `conditions` shown (sorted), whose true values are `truths`.
    fn new(
        summary: &Summary,
        term: &str,
        kind: MeasureKind,
        conditions: &[usize],
        truths: &[Option<f64>],
    ) -> Self {
        let mut series = measure_series(summary, term, kind);
        for s in &mut series {
            s.points
                .retain(|p| conditions.binary_search(&p.condition).is_ok());
        }
        let targets = truths
            .iter()
            .filter_map(|t| target(kind, &summary.settings, *t));
        let range = padded_range(
            series
                .iter()
                .flat_map(|s| s.points.iter())
                .flat_map(|p| [p.estimate - Z95 * p.mcse, p.estimate + Z95 * p.mcse])
                .chain(targets),
        );
        Panel {
            kind,
            series,
            range: percent_range(kind, range),
        }
    }
}

impl Figure for Measures {
    fn size(&self) -> (u32, u32) {
        let heading = self.heading();
        let legend = Legend::new(&self.methods, self.width());
        let blocks = self.panels.len().div_ceil(self.columns()) as u32;
        (
            self.width(),
            heading.height() + legend.height() + blocks * self.block_height(),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let area = self.heading().draw(root)?;
        let mut area = Legend::new(&self.methods, self.width()).draw(&area)?;
        for panels in self.panels.chunks(self.columns()) {
            let (block, rest) = area.split_vertically(self.block_height());
            area = rest;
            let (labels, charts) = block.split_horizontally(self.label_width);
            let cells = grid_cells(
                &charts
                    .split_horizontally(self.columns() as u32 * PANEL_WIDTH)
                    .0,
                self.columns(),
                self.columns(),
            );
            let mut row_centres = Vec::new();
            for (panel, cell) in panels.iter().zip(&cells) {
                row_centres = self.draw_panel(cell, panel)?;
            }
            self.draw_labels(&labels, &row_centres)?;
        }
        Ok(())
    }
}

impl Measures {
    /// Draw one measure's panel; returns the pixel height (absolute) of each row's centre.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        cell: &Area<DB>,
        panel: &Panel,
    ) -> Result<Vec<i32>, String> {
        let n = self.rows.len();
        let (x0, x1) = panel.range;
        let mut chart = ChartBuilder::on(cell)
            .caption(heading(panel.kind), super::font(LABEL))
            .margin_top(6)
            .margin_left(8)
            .margin_right(16)
            .margin_bottom(8)
            .x_label_area_size(44)
            .y_label_area_size(0)
            .build_cartesian_2d(x0..x1, -0.5..(n as f64 - 0.5))
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(numeric_ticks(PANEL_WIDTH - 24))
            .x_label_formatter(&|x| tick(*x, x1 - x0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .label_style(super::font(TICK))
            .draw()
            .map_err(fail)?;
        let y_of = |i: usize| (n - 1 - i) as f64;
        // Light rules between rows guide the eye from a label to its points.
        chart
            .draw_series((1..n).map(|i| {
                let y = y_of(i) + 0.5;
                PathElement::new(vec![(x0, y), (x1, y)], RGBColor(225, 225, 225))
            }))
            .map_err(fail)?;
        self.draw_targets(&mut chart, panel)?;
        let m = panel.series.len().max(1) as f64;
        let spread = (0.7_f64 / m).min(0.25);
        for (j, series) in panel.series.iter().enumerate() {
            let colour = method_colour(series.method);
            let dy = (j as f64 - (m - 1.0) / 2.0) * spread;
            let points: Vec<(f64, f64, f64)> = self
                .rows
                .iter()
                .enumerate()
                .filter_map(|(i, row)| {
                    let p = series.at(row.condition)?;
                    Some((p.estimate, y_of(i) - dy, p.mcse))
                })
                .collect();
            draw_horizontal_intervals(&mut chart, &points, &colour)?;
        }
        Ok((0..n)
            .map(|i| chart.backend_coord(&(x0, y_of(i))).1)
            .collect())
    }

    /// The target of each row, dashed; neighbouring rows with one target share one line.
    fn draw_targets<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        panel: &Panel,
    ) -> DrawResult {
        let n = self.rows.len();
        let mut runs: Vec<(f64, usize, usize)> = Vec::new();
        for (i, row) in self.rows.iter().enumerate() {
            let Some(t) = target(panel.kind, &self.settings, row.truth) else {
                continue;
            };
            match runs.last_mut() {
                Some((value, _, end)) if *value == t && *end + 1 == i => *end = i,
                _ => runs.push((t, i, i)),
            }
        }
        for (t, start, end) in runs {
            let top = (n - 1 - start) as f64 + 0.5;
            let bottom = (n - 1 - end) as f64 - 0.5;
            chart
                .draw_series(DashedLineSeries::new(
                    [(t, bottom), (t, top)],
                    6,
                    4,
                    RGBColor(60, 60, 60).stroke_width(1),
                ))
                .map_err(fail)?;
        }
        Ok(())
    }

    /// Each row's label, its lines centred on the row.
    fn draw_labels<DB: DrawingBackend>(&self, area: &Area<DB>, centres: &[i32]) -> DrawResult {
        let base = area.get_base_pixel().1;
        let step = line_height(TICK) as i32;
        for (row, centre) in self.rows.iter().zip(centres) {
            let top = centre - base - step * row.lines.len() as i32 / 2;
            for (k, line) in row.lines.iter().enumerate() {
                area.draw_text(
                    line,
                    &anchored(TICK, HPos::Left, VPos::Top),
                    (GAP as i32, top + k as i32 * step + 2),
                )
                .map_err(fail)?;
            }
        }
        Ok(())
    }
}

/// Dots with horizontal 95% Monte Carlo intervals.
fn draw_horizontal_intervals<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: &[(f64, f64, f64)],
    colour: &RGBColor,
) -> DrawResult {
    chart
        .draw_series(points.iter().map(|(e, y, s)| {
            PathElement::new(
                vec![(e - Z95 * s, *y), (e + Z95 * s, *y)],
                colour.stroke_width(2),
            )
        }))
        .map_err(fail)?;
    chart
        .draw_series(
            points
                .iter()
                .map(|(e, y, _)| Circle::new((*e, *y), 4, colour.filled())),
        )
        .map_err(fail)?;
    Ok(())
}

/// A percentage's axis stops just past 0 and 100 (a padded range around 100% alone would run to 110%).
fn percent_range(kind: MeasureKind, (lo, hi): (f64, f64)) -> (f64, f64) {
    match kind {
        MeasureKind::Coverage | MeasureKind::Rejection | MeasureKind::Convergence => {
            let (lo, hi) = (lo.max(-2.0), hi.min(102.0));
            if hi - lo < 4.0 {
                (hi - 10.0, hi)
            } else {
                (lo, hi)
            }
        }
        _ => (lo, hi),
    }
}
