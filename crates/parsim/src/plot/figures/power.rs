//! Power curves: the rejection rate of H0: term = 0 against a numeric design factor, one line per
//! method with 95% Monte Carlo intervals, one panel per combination of the other factors (paged). The
//! factor is the one with the most levels (the first listed among equals): usually the sample size or
//! the effect size a power study varies. Where the true value is 0 the rate is the type I error, and the
//! dashed line at α is its target.

use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, VPos};

use super::{
    anchored, caption_height, draw_lines, draw_points_with_intervals, fail, grid_cells, page_note,
    tick, Area, Chart, DrawResult, Figure, Heading, Legend, GAP, LABEL, TICK,
};
use crate::measures::power::power_curves;
use crate::measures::{MeasureKind, Summary, SummarySettings};
use crate::plot::data::padded_range;
use crate::plot::layout::{columns, pages, text_width, wrap};
use crate::plot::method_colour;
use crate::plot::series::exists;
use crate::report::format_number;

/// Panels per page.
pub const PANELS_PER_PAGE: usize = 12;
/// The most pages of power curves.
const MAX_PAGES: usize = 10;
const COLUMNS: usize = 3;
const PANEL_WIDTH: u32 = 400;
const PANEL_HEIGHT: u32 = 300;

/// One page of a term's power curves.
pub struct PowerCurves {
    term: String,
    factor: String,
    settings: SummarySettings,
    methods: Vec<(usize, String)>,
    facets: Vec<Facet>,
    x_range: (f64, f64),
    page: (usize, usize),
}

/// A method's curve: its index, and (factor value, rejection %, MCSE %) per design point.
type Curve = (usize, Vec<(f64, f64, f64)>);

#[derive(Clone)]
struct Facet {
    caption: Vec<String>,
    /// Per method: (index, points (factor value, rejection %, MCSE %)).
    curves: Vec<Curve>,
}

impl PowerCurves {
    /// The pages of `term`'s power curves: none when the term has no test or the design no factor.
    pub fn pages(summary: &Summary, term: &str) -> Vec<PowerCurves> {
        if !exists(summary, term, MeasureKind::Rejection) {
            return Vec::new();
        }
        let Some((factor, levels)) = curve_factor(summary) else {
            return Vec::new();
        };
        // One panel per combination of the other factors: past a few pages of them, none is read.
        if summary.conditions.len() / levels > MAX_PAGES * PANELS_PER_PAGE {
            return Vec::new();
        }
        let mut keys: Vec<Vec<(String, f64)>> = Vec::new();
        let mut facets: Vec<Facet> = Vec::new();
        let mut methods = Vec::new();
        for (index, method) in summary.methods.iter().enumerate() {
            let Ok(curves) = power_curves(summary, term, method, &factor, "") else {
                continue;
            };
            for curve in curves {
                let points: Vec<(f64, f64, f64)> = curve
                    .points
                    .iter()
                    .filter_map(|p| {
                        let e = p.power.estimate()?;
                        Some((p.value, 100.0 * e, 100.0 * p.power.mcse().unwrap_or(0.0)))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                if !methods.iter().any(|(i, _)| *i == index) {
                    methods.push((index, method.clone()));
                }
                let slot = match keys.iter().position(|k| *k == curve.fixed) {
                    Some(slot) => slot,
                    None => {
                        let caption = curve
                            .fixed
                            .iter()
                            .map(|(f, v)| format!("{f}={}", format_number(*v)))
                            .collect::<Vec<_>>()
                            .join(", ");
                        keys.push(curve.fixed.clone());
                        facets.push(Facet {
                            caption: if caption.is_empty() {
                                Vec::new()
                            } else {
                                wrap(&caption, LABEL, PANEL_WIDTH - 24)
                            },
                            curves: Vec::new(),
                        });
                        facets.len() - 1
                    }
                };
                facets[slot].curves.push((index, points));
            }
        }
        if facets.is_empty() {
            return Vec::new();
        }
        let x_range = padded_range(
            facets
                .iter()
                .flat_map(|f| f.curves.iter().flat_map(|(_, p)| p.iter().map(|q| q.0))),
        );
        let ranges = pages(facets.len(), PANELS_PER_PAGE);
        let count = ranges.len();
        ranges
            .into_iter()
            .enumerate()
            .map(|(page, range)| PowerCurves {
                term: term.to_string(),
                factor: factor.clone(),
                settings: summary.settings.clone(),
                methods: methods.clone(),
                facets: facets[range].to_vec(),
                x_range,
                page: (page + 1, count),
            })
            .collect()
    }

    /// The factor along x.
    pub fn factor(&self) -> &str {
        &self.factor
    }

    fn columns(&self) -> usize {
        columns(self.facets.len(), COLUMNS)
    }

    fn width(&self) -> u32 {
        (self.columns() as u32 * PANEL_WIDTH).max(720)
    }

    fn caption_height(&self) -> u32 {
        caption_height(self.facets.iter().map(|f| f.caption.len()))
    }

    fn heading(&self) -> Heading {
        let page = page_note(self.page, &[]);
        Heading::new(
            &format!("Power curves for {} over {}{page}", self.term, self.factor),
            &format!(
                "rejection rate of H0: {} = 0 at α = {} with 95% Monte Carlo intervals (power where the true value is not 0, type I error where it is; dashed: α); panels: the other factors",
                self.term,
                format_number(self.settings.alpha)
            ),
            self.width(),
        )
    }

    fn legend(&self) -> Legend {
        Legend::new(&self.methods, self.width())
    }
}

/// The numeric factor with the most levels (at least two), the first listed among equals, and its
/// number of levels.
fn curve_factor(summary: &Summary) -> Option<(String, usize)> {
    let mut best: Option<(usize, &String)> = None;
    for factor in &summary.factors {
        let mut levels: Vec<f64> = summary
            .conditions
            .iter()
            .filter_map(|c| c.value(factor))
            .collect();
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        if levels.len() >= 2 && best.is_none_or(|(n, _)| levels.len() > n) {
            best = Some((levels.len(), factor));
        }
    }
    best.map(|(n, f)| (f.clone(), n))
}

impl Figure for PowerCurves {
    fn size(&self) -> (u32, u32) {
        let rows = self.facets.len().div_ceil(self.columns()).max(1) as u32;
        (
            self.width(),
            self.heading().height()
                + self.legend().height()
                + rows * (self.caption_height() + PANEL_HEIGHT),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let area = self.heading().draw(root)?;
        let area = self.legend().draw(&area)?;
        let columns = self.columns();
        let grid = area.split_horizontally(self.width()).0;
        for (facet, cell) in self
            .facets
            .iter()
            .zip(grid_cells(&grid, self.facets.len(), columns))
        {
            let (caption, rest) = cell.split_vertically(self.caption_height());
            draw_lines(&caption, &facet.caption, LABEL, &BLACK, true)?;
            self.draw_panel(&rest, facet)?;
        }
        Ok(())
    }
}

impl PowerCurves {
    fn draw_panel<DB: DrawingBackend>(&self, area: &Area<DB>, facet: &Facet) -> DrawResult {
        let (x0, x1) = self.x_range;
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, -2.0..102.0)
            .map_err(fail)?;
        let levels: Vec<f64> = {
            let mut v: Vec<f64> = facet
                .curves
                .iter()
                .flat_map(|(_, p)| p.iter().map(|q| q.0))
                .collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_labels(0)
            .y_labels(6)
            .y_label_formatter(&|y| tick(*y, 100.0))
            .x_desc(self.factor.clone())
            .y_desc("rejection %")
            .label_style(super::font(TICK))
            .axis_desc_style(super::font(TICK))
            .draw()
            .map_err(fail)?;
        draw_level_ticks(area, &chart, &levels, x1 - x0)?;
        let alpha = 100.0 * self.settings.alpha;
        chart
            .draw_series(DashedLineSeries::new(
                [(x0, alpha), (x1, alpha)],
                8,
                5,
                BLACK.stroke_width(1),
            ))
            .map_err(fail)?;
        for (index, points) in &facet.curves {
            let colour = method_colour(*index);
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(x, y, _)| (*x, *y)),
                    colour.stroke_width(2),
                ))
                .map_err(fail)?;
            draw_points_with_intervals(&mut chart, points.iter().copied(), &colour, 4)?;
        }
        Ok(())
    }
}

/// The factor's levels as the x tick labels (the design points, not round numbers), each skipped that
/// would come closer than `GAP` to the one before.
fn draw_level_ticks<DB: DrawingBackend>(
    area: &Area<DB>,
    chart: &Chart<'_, DB>,
    levels: &[f64],
    span: f64,
) -> DrawResult {
    let base = area.get_base_pixel();
    let mut right = i32::MIN;
    for level in levels {
        let label = tick(*level, span);
        let width = text_width(&label, TICK) as i32;
        let (x, y) = chart.backend_coord(&(*level, -2.0));
        if x - width / 2 < right + GAP as i32 {
            continue;
        }
        area.draw(&PathElement::new(
            vec![(x - base.0, y - base.1), (x - base.0, y - base.1 + 5)],
            BLACK,
        ))
        .map_err(fail)?;
        area.draw_text(
            &label,
            &anchored(TICK, HPos::Center, VPos::Top),
            (x - base.0, y - base.1 + 8),
        )
        .map_err(fail)?;
        right = x + width - width / 2;
    }
    Ok(())
}
