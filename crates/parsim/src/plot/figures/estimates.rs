//! The distribution of each method's estimates of a term, one panel per condition (its label as the
//! panel's title, wrapped to the panel): a box (quartiles, median, whiskers to the most extreme estimate
//! within 1.5 IQR) over the jittered estimates, the true value as a dashed red line. Panels are paged.

use plotters::prelude::*;

use super::{
    caption_height, draw_lines, fail, grid_cells, numeric_ticks, page_note, shown_note, tick, Area,
    Chart, DrawResult, Figure, Heading, LABEL, TICK,
};
use crate::measures::Summary;
use crate::plot::data::{padded_range, quantile};
use crate::plot::layout::{columns, ellipsised, pages, wrap};
use crate::plot::method_colour;
use crate::plot::series::{condition_label, rows_by_condition, MAX_CONDITIONS_SHOWN};
use crate::store::{Store, StoreError};

/// Panels per page.
pub const PANELS_PER_PAGE: usize = 12;
/// Panels side by side.
const COLUMNS: usize = 3;
/// Width of a panel.
const PANEL_WIDTH: u32 = 420;
/// Height of each method's band.
const BAND: u32 = 52;
/// The most estimates drawn as points per method and condition (a band 400 pixels wide shows no more;
/// an inlined SVG stays small).
const MAX_POINTS: usize = 400;

/// One page of the distributions of a term's estimates.
pub struct Estimates {
    term: String,
    panels: Vec<EstimatePanel>,
    page: (usize, usize),
    /// Conditions shown of those with estimates.
    shown: (usize, usize),
}

struct EstimatePanel {
    condition: usize,
    caption: Vec<String>,
    truth: f64,
    /// (method index in the summary, name, sorted estimates).
    methods: Vec<(usize, String, Vec<f64>)>,
}

impl Estimates {
    /// The pages of `term`'s estimates, read from the store.
    pub fn pages(
        store: &Store,
        summary: &Summary,
        term: &str,
    ) -> Result<Vec<Estimates>, StoreError> {
        let mut panels = Vec::new();
        let groups = rows_by_condition(summary, term);
        let shown = (groups.len().min(MAX_CONDITIONS_SHOWN), groups.len());
        for (condition, rows) in groups.into_iter().take(MAX_CONDITIONS_SHOWN) {
            let mut methods = Vec::new();
            for row in &rows {
                let mut values: Vec<f64> = store
                    .usable_replicates(condition, &row.method, term)?
                    .iter()
                    .map(|r| r.estimate)
                    .collect();
                values.sort_by(f64::total_cmp);
                let index = summary
                    .methods
                    .iter()
                    .position(|m| *m == row.method)
                    .unwrap_or(0);
                methods.push((index, row.method.clone(), values));
            }
            let label = condition_label(summary, condition);
            panels.push(EstimatePanel {
                condition,
                caption: if label.is_empty() {
                    Vec::new()
                } else {
                    wrap(&label, LABEL, PANEL_WIDTH - 24)
                },
                truth: rows[0].measures.truth,
                methods,
            });
        }
        let ranges = pages(panels.len(), PANELS_PER_PAGE);
        let count = ranges.len();
        let mut panels = panels.into_iter();
        Ok(ranges
            .into_iter()
            .enumerate()
            .map(|(page, range)| Estimates {
                term: term.to_string(),
                panels: panels.by_ref().take(range.len()).collect(),
                page: (page + 1, count),
                shown,
            })
            .collect())
    }

    /// The conditions of this page.
    pub fn conditions(&self) -> Vec<usize> {
        self.panels.iter().map(|p| p.condition).collect()
    }

    fn columns(&self) -> usize {
        columns(self.panels.len(), COLUMNS)
    }

    fn caption_height(&self) -> u32 {
        caption_height(self.panels.iter().map(|p| p.caption.len()))
    }

    fn panel_height(&self) -> u32 {
        let methods = self
            .panels
            .iter()
            .map(|p| p.methods.len())
            .max()
            .unwrap_or(1) as u32;
        self.caption_height() + 24 + BAND * methods + 50
    }

    fn width(&self) -> u32 {
        (self.columns() as u32 * PANEL_WIDTH).max(720)
    }

    fn heading(&self) -> Heading {
        let page = page_note(self.page, &self.conditions());
        Heading::new(
            &format!("Estimates of {} by method{page}", self.term),
            &format!(
                "box: quartiles and median, whiskers to 1.5 IQR; points: replications; red dashed line: true value{}",
                shown_note(self.shown)
            ),
            self.width(),
        )
    }
}

impl Figure for Estimates {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.columns()).max(1) as u32;
        (
            self.width(),
            self.heading().height() + rows * self.panel_height(),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let area = self.heading().draw(root)?;
        let columns = self.columns();
        let grid = area.split_horizontally(self.width()).0;
        for (panel, cell) in self
            .panels
            .iter()
            .zip(grid_cells(&grid, self.panels.len(), columns))
        {
            let (caption, rest) = cell.split_vertically(self.caption_height());
            draw_lines(&caption, &panel.caption, LABEL, &BLACK, true)?;
            draw_panel(&rest, panel, &self.term)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    panel: &EstimatePanel,
    term: &str,
) -> DrawResult {
    let k = panel.methods.len();
    let (x0, x1) = padded_range(
        panel
            .methods
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .chain([panel.truth]),
    );
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(8)
        .build_cartesian_2d(x0..x1, -0.6..(k as f64 - 0.4))
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_labels(numeric_ticks(area.dim_in_pixel().0.saturating_sub(40)))
        .x_label_formatter(&|x| tick(*x, x1 - x0))
        .x_desc(format!("estimate of {term}"))
        .label_style(super::font(TICK))
        .axis_desc_style(super::font(LABEL))
        .draw()
        .map_err(fail)?;
    let room = area.dim_in_pixel().0.saturating_sub(40);
    for (row, (index, name, values)) in panel.methods.iter().enumerate() {
        // First method on top.
        let y = (k - 1 - row) as f64;
        let colour = method_colour(*index);
        // Deterministic jitter (golden-ratio sequence) so figures are reproducible.
        // Every estimate enters the box; at most MAX_POINTS are drawn (evenly over the sorted values).
        let stride = values.len().div_ceil(MAX_POINTS).max(1);
        let points = values.iter().enumerate().step_by(stride).map(|(i, x)| {
            let jitter = ((i as f64 * 0.618_033_988_75).fract() - 0.5) * 0.4;
            Circle::new((*x, y - 0.05 + jitter), 2, colour.mix(0.25).filled())
        });
        chart.draw_series(points).map_err(fail)?;
        if values.len() >= 2 {
            draw_box(&mut chart, values, y - 0.05, &colour)?;
        }
        chart
            .draw_series([Text::new(
                ellipsised(&format!("{name} (n = {})", values.len()), TICK, room),
                (x0 + 0.01 * (x1 - x0), y + 0.45),
                super::font(TICK).color(&colour),
            )])
            .map_err(fail)?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            [(panel.truth, -0.6), (panel.truth, k as f64 - 0.4)],
            8,
            5,
            RED.stroke_width(2),
        ))
        .map_err(fail)?;
    Ok(())
}

fn draw_box<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    sorted: &[f64],
    y: f64,
    colour: &RGBColor,
) -> DrawResult {
    let (q1, median, q3) = (
        quantile(sorted, 0.25),
        quantile(sorted, 0.5),
        quantile(sorted, 0.75),
    );
    let iqr = q3 - q1;
    let low = sorted
        .iter()
        .copied()
        .find(|x| *x >= q1 - 1.5 * iqr)
        .unwrap_or(q1);
    let high = sorted
        .iter()
        .rev()
        .copied()
        .find(|x| *x <= q3 + 1.5 * iqr)
        .unwrap_or(q3);
    let style = colour.stroke_width(2);
    let h = 0.2;
    chart
        .draw_series([Rectangle::new([(q1, y - h), (q3, y + h)], style)])
        .map_err(fail)?;
    let lines = [
        vec![(median, y - h), (median, y + h)],
        vec![(low, y), (q1, y)],
        vec![(q3, y), (high, y)],
        vec![(low, y - h / 2.0), (low, y + h / 2.0)],
        vec![(high, y - h / 2.0), (high, y + h / 2.0)],
    ];
    chart
        .draw_series(lines.into_iter().map(|l| PathElement::new(l, style)))
        .map_err(fail)?;
    Ok(())
}
