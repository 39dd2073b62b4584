//! Nested-loop plot (Rücker & Schwarzer 2014): every condition along x, ordered by the design factors
//! (the first factor outermost, each factor's levels in the order the study lists them, so position and
//! condition index agree for a full grid); each method's measure as a step line with its 95% Monte Carlo
//! intervals; below, one step line per factor showing its level. With one factor it is a line over it.

use std::collections::HashMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    anchored, condition_stride, draw_points_with_intervals, fail, numeric_ticks, step_runs, tick,
    Area, DrawResult, Figure, Heading, Legend, LABEL, TICK, Z95,
};
use crate::measures::{MeasureKind, Summary, SummarySettings};
use crate::plot::data::padded_range;
use crate::plot::layout::text_width;
use crate::plot::method_colour;
use crate::plot::series::{heading, measure_series, target, target_note, title, truths, Series};
use crate::report::format_number;

/// Height of the measure's chart.
const CHART_HEIGHT: u32 = 400;
/// Height of each factor's band.
const BAND: u32 = 48;
/// Left axis (tick labels and the measure's name).
const Y_AXIS: u32 = 90;

/// The nested-loop plot of one measure of one term.
pub struct NestedLoop {
    term: String,
    kind: MeasureKind,
    settings: SummarySettings,
    /// Each factor's name and levels, in the study's order.
    factors: Vec<(String, Vec<f64>)>,
    /// The condition at each position.
    order: Vec<usize>,
    /// The position of each condition.
    position: HashMap<usize, usize>,
    /// Each position's level rank of each factor.
    ranks: Vec<Vec<usize>>,
    series: Vec<Series>,
    targets: Vec<Option<f64>>,
}

impl NestedLoop {
    /// The nested-loop plot of `kind` for `term` (the caller checks the design has a factor).
    pub fn new(summary: &Summary, term: &str, kind: MeasureKind) -> Self {
        let factors: Vec<(String, Vec<f64>)> = summary
            .factors
            .iter()
            .map(|f| {
                let mut levels: Vec<f64> = Vec::new();
                for c in &summary.conditions {
                    let v = c.value(f).unwrap_or(f64::NAN);
                    if !levels.iter().any(|l| l.total_cmp(&v).is_eq()) {
                        levels.push(v);
                    }
                }
                (f.clone(), levels)
            })
            .collect();
        let mut positions: Vec<(usize, Vec<usize>)> = summary
            .conditions
            .iter()
            .map(|c| {
                let ranks = factors
                    .iter()
                    .map(|(f, levels)| {
                        let v = c.value(f).unwrap_or(f64::NAN);
                        levels
                            .iter()
                            .position(|l| l.total_cmp(&v).is_eq())
                            .unwrap_or(0)
                    })
                    .collect();
                (c.index, ranks)
            })
            .collect();
        positions.sort_by(|a, b| a.1.cmp(&b.1));
        let truths = truths(summary, term);
        let targets = positions
            .iter()
            .map(|(c, _)| target(kind, &summary.settings, truths.get(c).copied()))
            .collect();
        let (order, ranks): (Vec<usize>, _) = positions.into_iter().unzip();
        let position = order.iter().enumerate().map(|(p, c)| (*c, p)).collect();
        NestedLoop {
            term: term.to_string(),
            kind,
            settings: summary.settings.clone(),
            factors,
            order,
            position,
            ranks,
            series: measure_series(summary, term, kind),
            targets,
        }
    }

    fn position(&self, condition: usize) -> Option<usize> {
        self.position.get(&condition).copied()
    }

    fn plot_width(&self) -> u32 {
        (self.order.len() as u32 * 36).clamp(640, 1500)
    }

    fn width(&self) -> u32 {
        Y_AXIS + self.plot_width() + 40
    }

    /// One factor needs no band: its levels label the positions.
    fn bands(&self) -> usize {
        if self.factors.len() > 1 {
            self.factors.len()
        } else {
            0
        }
    }

    fn bands_height(&self) -> u32 {
        self.bands() as u32 * BAND + 64
    }

    /// The label of a position: its condition, or with one factor, the factor's level.
    fn tick_label(&self, position: usize) -> String {
        match (self.bands(), self.factors.first()) {
            (0, Some((_, levels))) => format_number(levels[self.ranks[position][0]]),
            _ => format!("c{}", self.order[position]),
        }
    }

    /// Every how many positions a condition tick is labelled.
    pub fn tick_stride(&self) -> usize {
        let widest = (0..self.order.len())
            .map(|p| self.tick_label(p))
            .max_by_key(|l| text_width(l, TICK))
            .unwrap_or_default();
        condition_stride(self.order.len(), self.plot_width(), &widest)
    }

    fn heading(&self) -> Heading {
        let note = target_note(self.kind, &self.settings);
        let sep = if note.is_empty() { "" } else { "; " };
        let subtitle = if self.bands() > 0 {
            format!("Nested-loop plot: with 95% Monte Carlo intervals{sep}{note}. Below: the design factors' levels")
        } else {
            format!("With 95% Monte Carlo intervals{sep}{note}")
        };
        Heading::new(
            &title(self.kind, &self.term, &self.settings),
            &subtitle,
            self.width(),
        )
    }

    fn legend(&self) -> Legend {
        let methods: Vec<(usize, String)> = self
            .series
            .iter()
            .map(|s| (s.method, s.name.clone()))
            .collect();
        Legend::new(&methods, self.width())
    }
}

impl Figure for NestedLoop {
    fn size(&self) -> (u32, u32) {
        (
            self.width(),
            self.heading().height() + self.legend().height() + CHART_HEIGHT + self.bands_height(),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let area = self.heading().draw(root)?;
        let area = self.legend().draw(&area)?;
        let (top, bottom) = area.split_vertically(CHART_HEIGHT);
        self.draw_measure(&top)?;
        self.draw_factors(&bottom)
    }
}

impl NestedLoop {
    fn x_range(&self) -> std::ops::Range<f64> {
        -0.5..(self.order.len() as f64 - 0.5)
    }

    fn draw_measure<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult {
        let (lo, hi) = padded_range(
            self.series
                .iter()
                .flat_map(|s| s.points.iter())
                .flat_map(|p| [p.estimate - Z95 * p.mcse, p.estimate + Z95 * p.mcse])
                .chain(self.targets.iter().flatten().copied()),
        );
        let mut chart = ChartBuilder::on(area)
            .margin_left(10)
            .margin_right(30)
            .margin_top(10)
            .y_label_area_size(Y_AXIS)
            .x_label_area_size(0)
            .build_cartesian_2d(self.x_range(), lo..hi)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(numeric_ticks(CHART_HEIGHT))
            .y_label_formatter(&|y| tick(*y, hi - lo))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .y_desc(heading(self.kind))
            .label_style(super::font(TICK))
            .axis_desc_style(super::font(LABEL))
            .draw()
            .map_err(fail)?;
        let (left, right) = (self.x_range().start, self.x_range().end);
        chart
            .draw_series([PathElement::new(vec![(left, lo), (right, lo)], BLACK)])
            .map_err(fail)?;
        let targets: Vec<(usize, f64)> = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(p, t)| t.map(|t| (p, t)))
            .collect();
        for run in step_runs(&targets) {
            chart
                .draw_series(DashedLineSeries::new(run, 8, 5, BLACK.stroke_width(1)))
                .map_err(fail)?;
        }
        let m = self.series.len().max(1) as f64;
        let spread = (0.6_f64 / m).min(0.2);
        for (j, series) in self.series.iter().enumerate() {
            let colour = method_colour(series.method);
            let points: Vec<(usize, f64, f64)> = series
                .points
                .iter()
                .filter_map(|p| Some((self.position(p.condition)?, p.estimate, p.mcse)))
                .collect();
            let line: Vec<(usize, f64)> = points.iter().map(|(p, e, _)| (*p, *e)).collect();
            for run in step_runs(&line) {
                chart
                    .draw_series(LineSeries::new(run, colour.stroke_width(2)))
                    .map_err(fail)?;
            }
            let dx = (j as f64 - (m - 1.0) / 2.0) * spread;
            draw_points_with_intervals(
                &mut chart,
                points.iter().map(|(p, e, s)| (*p as f64 + dx, *e, *s)),
                &colour,
                3,
            )?;
        }
        Ok(())
    }

    /// The factors' step lines, their names and levels, and the condition ticks.
    fn draw_factors<DB: DrawingBackend>(&self, area: &Area<DB>) -> DrawResult {
        let f = self.bands() as f64;
        let mut chart = ChartBuilder::on(area)
            .margin_left(10)
            .margin_right(30)
            .y_label_area_size(Y_AXIS)
            .x_label_area_size(50)
            .build_cartesian_2d(self.x_range(), 0.0..f.max(1.0))
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .x_desc(match (self.bands(), self.factors.first()) {
                (0, Some((name, _))) => name.clone(),
                _ => "condition (factors nested: the first listed outermost)".to_string(),
            })
            .axis_desc_style(super::font(LABEL))
            .draw()
            .map_err(fail)?;
        for (j, (name, levels)) in self.factors.iter().enumerate().take(self.bands()) {
            let band = f - 1.0 - j as f64;
            let span = (levels.len().max(2) - 1) as f64;
            let steps: Vec<(usize, f64)> = self
                .ranks
                .iter()
                .enumerate()
                .map(|(p, r)| (p, band + 0.08 + 0.37 * r[j] as f64 / span))
                .collect();
            for run in step_runs(&steps) {
                chart
                    .draw_series(LineSeries::new(run, RGBColor(90, 90, 90).stroke_width(2)))
                    .map_err(fail)?;
            }
            let text = format!(
                "{name}: {}",
                levels
                    .iter()
                    .map(|l| format_number(*l))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            chart
                .draw_series([Text::new(
                    text,
                    (-0.4, band + 0.96),
                    anchored(TICK, HPos::Left, VPos::Top),
                )])
                .map_err(fail)?;
        }
        let base = area.get_base_pixel();
        let stride = self.tick_stride();
        for p in (0..self.order.len()).step_by(stride) {
            let (x, y) = chart.backend_coord(&(p as f64, 0.0));
            area.draw_text(
                &self.tick_label(p),
                &anchored(TICK, HPos::Center, VPos::Top),
                (x - base.0, y - base.1 + 6),
            )
            .map_err(fail)?;
        }
        Ok(())
    }
}
