//! The figures. Each knows its size and draws itself on any plotters backend, so SVG and PNG share one code path.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::data::{padded_range, quantile};
use super::{method_colour, ImageFormat, FAMILY};
use crate::measures::{IntervalRule, MeasureKind, Replicate, Summary};
use crate::report::format_number;
use crate::store::{Store, StoreError};

const TITLE: u32 = 24;
const LABEL: u32 = 17;
const TICK: u32 = 14;
/// The most intervals a zip plot draws per method; more are thinned evenly across centiles.
const MAX_ZIP_INTERVALS: usize = 1000;
/// The most estimates drawn as points per method and condition.
const MAX_POINTS: usize = 2000;
/// Normal quantile of a two-sided 95% Monte Carlo interval.
const Z95: f64 = 1.959_963_984_540_054;

type DrawResult = Result<(), String>;
/// A method's points across conditions: (method index, name, [(position, estimate, MCSE)]).
type MethodSeries = (usize, String, Vec<(usize, f64, f64)>);
/// One interval of a zip plot: (centile, lower, upper, covers the truth).
type RankedInterval = (f64, f64, f64, bool);
/// A zip-plot panel: method, coverage (%), its MCSE, ranked intervals.
type ZipMethod = (String, f64, f64, Vec<RankedInterval>);

fn fail<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure that can be drawn to a file or to an SVG document in memory.
pub trait Render {
    /// Write the figure to `path`.
    fn render(&self, path: &Path, format: ImageFormat) -> DrawResult;
    /// The figure as an SVG document (for pages that inline their figures).
    fn svg(&self) -> Result<String, String>;
}

/// A figure drawn on a generic backend.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

impl<F: Figure> Render for F {
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
}

fn draw_on<DB: DrawingBackend, F: Figure>(root: &DrawingArea<DB, Shift>, figure: &F) -> DrawResult {
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

/// Title on top, an optional subtitle line, and the area below.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, String> {
    let area = root.titled(title, font(TITLE)).map_err(fail)?;
    if subtitle.is_empty() {
        return Ok(area);
    }
    let (line, rest) = area.split_vertically(26);
    line.draw_text(
        subtitle,
        &font(TICK)
            .color(&RGBColor(80, 80, 80))
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Center,
                text_anchor::VPos::Top,
            )),
        ((line.dim_in_pixel().0 / 2) as i32, 2),
    )
    .map_err(fail)?;
    Ok(rest)
}

/// Grid of `count` panels: up to `max_columns` per row.
fn grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    count: usize,
    max_columns: usize,
) -> Vec<DrawingArea<DB, Shift>> {
    let columns = count.clamp(1, max_columns);
    let rows = count.div_ceil(columns).max(1);
    area.split_evenly((rows, columns))
}

fn grid_size(count: usize, max_columns: usize, panel: (u32, u32), extra_height: u32) -> (u32, u32) {
    let columns = count.clamp(1, max_columns) as u32;
    let rows = count.div_ceil(columns as usize).max(1) as u32;
    (columns * panel.0, rows * panel.1 + extra_height)
}

/// (a) The distribution of each method's estimates in each condition: box (quartiles, median, whiskers to
/// the most extreme estimate within 1.5 IQR) over the jittered estimates, the true value as a dashed red line.
pub struct Estimates {
    term: String,
    panels: Vec<EstimatePanel>,
}

struct EstimatePanel {
    label: String,
    truth: f64,
    /// (method index in the summary, sorted estimates).
    methods: Vec<(usize, String, Vec<f64>)>,
}

impl Estimates {
    /// Read the estimates of `term` for every condition and method of the summary.
    pub fn read(store: &Store, summary: &Summary, term: &str) -> Result<Self, StoreError> {
        let mut panels = Vec::new();
        for condition in &summary.conditions {
            let rows: Vec<_> = summary
                .rows
                .iter()
                .filter(|r| r.condition == condition.index && r.term == term)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let mut methods = Vec::new();
            for row in &rows {
                let mut values: Vec<f64> = store
                    .usable_replicates(condition.index, &row.method, term)?
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
            panels.push(EstimatePanel {
                // One condition needs no caption (its label is just "all" or the fixed parameters).
                label: if summary.conditions.len() > 1 {
                    condition.label.clone()
                } else {
                    String::new()
                },
                truth: rows[0].measures.truth,
                methods,
            });
        }
        Ok(Estimates {
            term: term.to_string(),
            panels,
        })
    }
}

impl Figure for Estimates {
    fn size(&self) -> (u32, u32) {
        let methods = self
            .panels
            .iter()
            .map(|p| p.methods.len())
            .max()
            .unwrap_or(1) as u32;
        let (width, height) = grid_size(self.panels.len(), 2, (620, 130 + 90 * methods), 70);
        // One panel still needs room for the subtitle.
        (width.max(900), height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = titled(
            root,
            &format!("Estimates of {} by method", self.term),
            "box: quartiles and median, whiskers to 1.5 IQR; points: replications; red dashed line: true value",
        )?;
        for (panel, cell) in self.panels.iter().zip(grid(&area, self.panels.len(), 2)) {
            draw_estimate_panel(&cell, panel, &self.term)?;
        }
        Ok(())
    }
}

fn draw_estimate_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
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
        .caption(&panel.label, font(LABEL))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(8)
        .build_cartesian_2d(x0..x1, -0.6..(k as f64 - 0.4))
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_label_formatter(&|x| tick(*x, x1 - x0))
        .x_desc(format!("estimate of {term}"))
        .label_style(font(TICK))
        .axis_desc_style(font(LABEL))
        .draw()
        .map_err(fail)?;
    for (row, (index, name, values)) in panel.methods.iter().enumerate() {
        // First method on top.
        let y = (k - 1 - row) as f64;
        let colour = method_colour(*index);
        // Deterministic jitter (golden-ratio sequence) so figures are reproducible.
        // Every estimate enters the box; at most MAX_POINTS are drawn (evenly over the sorted values).
        let stride = values.len().div_ceil(MAX_POINTS).max(1);
        let points = values.iter().enumerate().step_by(stride).map(|(i, x)| {
            let jitter = ((i as f64 * 0.618_033_988_75).fract() - 0.5) * 0.5;
            Circle::new((*x, y + jitter), 2, colour.mix(0.25).filled())
        });
        chart.draw_series(points).map_err(fail)?;
        if values.len() >= 2 {
            draw_box(&mut chart, values, y, &colour)?;
        }
        chart
            .draw_series([Text::new(
                format!("{name} (n = {})", values.len()),
                (x0, y + 0.45),
                font(TICK).color(&colour),
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

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

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
    let h = 0.22;
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

/// (b), (c) A measure per method across conditions, with 95% Monte Carlo intervals (±1.96 MCSE) and the
/// target: 0 for bias, the nominal level for coverage.
pub struct AcrossConditions {
    term: String,
    kind: MeasureKind,
    level: f64,
    conditions: Vec<String>,
    /// Per method (index, name): per condition position, (estimate, mcse).
    series: Vec<MethodSeries>,
}

impl AcrossConditions {
    /// The figure of `kind` for `term`.
    pub fn new(summary: &Summary, term: &str, kind: MeasureKind) -> Self {
        let conditions: Vec<_> = summary
            .conditions
            .iter()
            .map(|c| (c.index, c.label.clone()))
            .collect();
        let series = methods_series(summary, term, kind, |index| {
            conditions.iter().position(|(c, _)| *c == index)
        });
        AcrossConditions {
            term: term.to_string(),
            kind,
            level: summary.settings.level,
            conditions: conditions.into_iter().map(|(_, l)| l).collect(),
            series,
        }
    }

    fn target(&self) -> f64 {
        match self.kind {
            MeasureKind::Coverage | MeasureKind::BiasEliminatedCoverage => 100.0 * self.level,
            _ => 0.0,
        }
    }
}

/// Per method: (position, estimate, mcse) of `kind` for `term`, positions given by `position_of(condition)`.
fn methods_series(
    summary: &Summary,
    term: &str,
    kind: MeasureKind,
    position_of: impl Fn(usize) -> Option<usize>,
) -> Vec<MethodSeries> {
    summary
        .methods
        .iter()
        .enumerate()
        .filter_map(|(index, method)| {
            let points: Vec<_> = summary
                .rows
                .iter()
                .filter(|r| r.term == term && r.method == *method)
                .filter_map(|r| {
                    let v = r.measures.get(kind);
                    Some((
                        position_of(r.condition)?,
                        v.estimate()?,
                        v.mcse().unwrap_or(0.0),
                    ))
                })
                .collect();
            (!points.is_empty()).then(|| (index, method.clone(), points))
        })
        .collect()
}

fn measure_title(kind: MeasureKind, term: &str, level: f64) -> (String, String) {
    match kind {
        MeasureKind::Coverage => (
            format!(
                "Coverage of {}% intervals for {term}",
                format_number(100.0 * level)
            ),
            format!(
                "with 95% Monte Carlo intervals; dashed line: nominal {}%",
                format_number(100.0 * level)
            ),
        ),
        MeasureKind::Bias => (
            format!("Bias of {term}"),
            "with 95% Monte Carlo intervals; dashed line: no bias".into(),
        ),
        other => (
            format!("{} of {term}", other.heading()),
            "with 95% Monte Carlo intervals".into(),
        ),
    }
}

impl Figure for AcrossConditions {
    fn size(&self) -> (u32, u32) {
        ((200 + 170 * self.conditions.len() as u32).max(820), 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (title, subtitle) = measure_title(self.kind, &self.term, self.level);
        let area = titled(root, &title, &subtitle)?;
        let area = with_legend(&area, &self.series)?;
        let target = self.target();
        let (y0, y1) = padded_range(
            self.series
                .iter()
                .flat_map(|(_, _, p)| p.iter().flat_map(|(_, e, m)| [e - Z95 * m, e + Z95 * m]))
                .chain([target]),
        );
        let c = self.conditions.len();
        let labels = &self.conditions;
        let x_label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..(c as f64 - 0.5), y0..y1)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(c + 1)
            .x_label_formatter(&x_label)
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .light_line_style(TRANSPARENT)
            .y_desc(self.kind.heading())
            .x_desc("condition")
            .label_style(font(TICK))
            .axis_desc_style(font(LABEL))
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(-0.5, target), (c as f64 - 0.5, target)],
                8,
                5,
                BLACK.stroke_width(1),
            ))
            .map_err(fail)?;
        let m = self.series.len().max(1) as f64;
        for (j, (index, _, points)) in self.series.iter().enumerate() {
            let colour = method_colour(*index);
            let dx = (j as f64 - (m - 1.0) / 2.0) * 0.6 / m;
            draw_points_with_intervals(
                &mut chart,
                points.iter().map(|(p, e, s)| (*p as f64 + dx, *e, *s)),
                &colour,
            )?;
        }
        Ok(())
    }
}

fn draw_points_with_intervals<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    points: impl Iterator<Item = (f64, f64, f64)> + Clone,
    colour: &RGBColor,
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
        .draw_series(points.map(|(x, e, _)| Circle::new((x, e), 5, colour.filled())))
        .map_err(fail)?;
    Ok(())
}

/// (d) Zip plot (Morris et al. 2019, Figure 3): each method's intervals, ranked by how far the estimate lies
/// from the truth relative to the interval's half-width (|z| over the critical value, so that with t
/// intervals of varying df the covering intervals are exactly the lowest), plotted at their fractional
/// centile. Blue intervals cover the true value, red ones miss it; gold lines bound the 95% Monte Carlo
/// interval of coverage, the dashed line is the nominal level.
pub struct Zip {
    term: String,
    condition: String,
    level: f64,
    truth: f64,
    /// Per method: name, coverage (%), MCSE, ranked intervals (centile, lower, upper, covers).
    methods: Vec<ZipMethod>,
}

impl Zip {
    /// Read the intervals of `term` in one condition for every method.
    pub fn read(
        store: &Store,
        summary: &Summary,
        condition: usize,
        term: &str,
    ) -> Result<Self, StoreError> {
        let mut rule = IntervalRule::new(summary.settings.level, summary.settings.alpha)
            .unwrap_or_else(|_| IntervalRule::new(0.95, 0.05).expect("0.95 and 0.05 are valid"));
        let mut methods = Vec::new();
        let mut truth = f64::NAN;
        for row in summary
            .rows
            .iter()
            .filter(|r| r.condition == condition && r.term == term)
        {
            truth = row.measures.truth;
            let replicates = store.usable_replicates(condition, &row.method, term)?;
            let ranked = rank_intervals(&replicates, &mut rule);
            if ranked.is_empty() {
                continue;
            }
            let cover = row.measures.coverage;
            methods.push((row.method.clone(), cover.estimate, cover.mcse, ranked));
        }
        let label = summary
            .condition(condition)
            .filter(|_| summary.conditions.len() > 1)
            .map(|c| c.label.clone())
            .unwrap_or_default();
        Ok(Zip {
            term: term.to_string(),
            condition: label,
            level: summary.settings.level,
            truth,
            methods,
        })
    }

    /// Whether there is nothing to draw (no method reported intervals).
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }
}

/// (centile, lower, upper, covers) of each interval, ranked; thinned evenly to at most `MAX_ZIP_INTERVALS`.
fn rank_intervals(replicates: &[Replicate], rule: &mut IntervalRule) -> Vec<RankedInterval> {
    let mut ranked: Vec<RankedInterval> = replicates
        .iter()
        .filter_map(|r| {
            let (lower, upper) = rule.interval(r)?;
            // Distance from the truth in units of the half-width on the truth's side: ≤ 1 exactly when covering.
            let key = if r.truth < r.estimate {
                (r.estimate - r.truth) / (r.estimate - lower)
            } else {
                (r.truth - r.estimate) / (upper - r.estimate)
            };
            let key = if key.is_nan() { 0.0 } else { key };
            Some((key, lower, upper, lower <= r.truth && r.truth <= upper))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = ranked.len();
    let step = n.div_ceil(MAX_ZIP_INTERVALS).max(1);
    ranked
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0)
        .map(|(i, (_, l, u, covers))| (100.0 * (i as f64 + 0.5) / n as f64, l, u, covers))
        .collect()
}

impl Figure for Zip {
    fn size(&self) -> (u32, u32) {
        ((420 * self.methods.len() as u32).max(1000), 720)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let title = if self.condition.is_empty() {
            format!(
                "Zip plot of {}% intervals for {}",
                format_number(100.0 * self.level),
                self.term
            )
        } else {
            format!(
                "Zip plot of {}% intervals for {}, {}",
                format_number(100.0 * self.level),
                self.term,
                self.condition
            )
        };
        let area = titled(
            root,
            &title,
            &format!(
                "ranked by |z|; blue: covers the true value {}, red: misses it; gold: 95% MC interval of coverage; dashed: nominal",
                format_number(self.truth)
            ),
        )?;
        let panels = area.split_evenly((1, self.methods.len().max(1)));
        for ((name, cover, mcse, ranked), panel) in self.methods.iter().zip(panels) {
            let (x0, x1) = padded_range(
                ranked
                    .iter()
                    .flat_map(|(_, l, u, _)| [*l, *u])
                    .chain([self.truth]),
            );
            let mut chart = ChartBuilder::on(&panel)
                .caption(
                    format!(
                        "{name}: coverage {}",
                        format_number((cover * 10.0).round() / 10.0)
                    ) + "%",
                    font(LABEL),
                )
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, 0.0..100.0)
                .map_err(fail)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(5)
                .x_label_formatter(&|x| tick(*x, x1 - x0))
                .y_label_formatter(&|y| tick(*y, 100.0))
                .x_desc(format!("{}% interval", format_number(100.0 * self.level)))
                .y_desc("centile of |z|")
                .label_style(font(TICK))
                .axis_desc_style(font(LABEL))
                .draw()
                .map_err(fail)?;
            let blue = RGBColor(31, 119, 180);
            let red = RGBColor(214, 39, 40);
            chart
                .draw_series(ranked.iter().map(|(y, l, u, covers)| {
                    PathElement::new(
                        vec![(*l, *y), (*u, *y)],
                        if *covers { blue.mix(0.6) } else { red.mix(0.8) },
                    )
                }))
                .map_err(fail)?;
            chart
                .draw_series([PathElement::new(
                    vec![(self.truth, 0.0), (self.truth, 100.0)],
                    BLACK.stroke_width(2),
                )])
                .map_err(fail)?;
            let nominal = 100.0 * self.level;
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, nominal), (x1, nominal)],
                    8,
                    5,
                    BLACK.stroke_width(2),
                ))
                .map_err(fail)?;
            let gold = RGBColor(230, 171, 2);
            for y in [cover - Z95 * mcse, cover + Z95 * mcse] {
                if y.is_finite() {
                    let y = y.clamp(0.0, 100.0);
                    chart
                        .draw_series([PathElement::new(
                            vec![(x0, y), (x1, y)],
                            gold.stroke_width(3),
                        )])
                        .map_err(fail)?;
                }
            }
        }
        Ok(())
    }
}

/// (e) Nested-loop plot (Rücker & Schwarzer 2014): conditions in lexicographic order of the design factors
/// (first factor outermost) along x; each method's measure as a step line; below it, one step line per
/// factor showing its level.
pub struct NestedLoop {
    term: String,
    kind: MeasureKind,
    level: f64,
    factors: Vec<(String, Vec<f64>)>,
    /// Factor values of each position.
    positions: Vec<Vec<f64>>,
    series: Vec<MethodSeries>,
}

impl NestedLoop {
    /// The nested-loop plot of `kind` for `term`.
    pub fn new(summary: &Summary, term: &str, kind: MeasureKind) -> Self {
        let mut order: Vec<(usize, Vec<f64>)> = summary
            .conditions
            .iter()
            .map(|c| {
                (
                    c.index,
                    summary
                        .factors
                        .iter()
                        .map(|f| c.value(f).unwrap_or(f64::NAN))
                        .collect(),
                )
            })
            .collect();
        order.sort_by(|a, b| {
            a.1.iter()
                .zip(&b.1)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let factors = summary
            .factors
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let mut levels: Vec<f64> = order.iter().map(|(_, v)| v[j]).collect();
                levels.sort_by(f64::total_cmp);
                levels.dedup();
                (f.clone(), levels)
            })
            .collect();
        let series = methods_series(summary, term, kind, |index| {
            order.iter().position(|(c, _)| *c == index)
        });
        NestedLoop {
            term: term.to_string(),
            kind,
            level: summary.settings.level,
            factors,
            positions: order.into_iter().map(|(_, v)| v).collect(),
            series,
        }
    }
}

impl Figure for NestedLoop {
    fn size(&self) -> (u32, u32) {
        ((300 + 40 * self.positions.len() as u32).max(900), 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (title, subtitle) = measure_title(self.kind, &self.term, self.level);
        let subtitle = format!("Nested-loop plot: {subtitle}; below: the design factors' levels");
        let area = titled(root, &title, &subtitle)?;
        let area = with_legend(&area, &self.series)?;
        let target = match self.kind {
            MeasureKind::Coverage => 100.0 * self.level,
            _ => 0.0,
        };
        let (lo, hi) = padded_range(
            self.series
                .iter()
                .flat_map(|(_, _, p)| p.iter().flat_map(|(_, e, m)| [e - Z95 * m, e + Z95 * m]))
                .chain([target]),
        );
        // Each factor gets a band below the measure, 18% of the measure's range high.
        let band = 0.18 * (hi - lo);
        let bottom = lo - band * self.factors.len() as f64;
        let n = self.positions.len();
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), bottom..hi)
            .map_err(fail)?;
        let y_label = |y: &f64| {
            if *y >= lo {
                tick(*y, hi - lo)
            } else {
                String::new()
            }
        };
        let x_label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                format!("{}", i as usize + 1)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_label_formatter(&y_label)
            .x_labels(n + 1)
            .x_label_formatter(&x_label)
            .light_line_style(TRANSPARENT)
            .x_desc("condition (factors nested in the order listed below)")
            .y_desc(self.kind.heading())
            .label_style(font(TICK))
            .axis_desc_style(font(LABEL))
            .draw()
            .map_err(fail)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(-0.5, target), (n as f64 - 0.5, target)],
                8,
                5,
                BLACK.stroke_width(1),
            ))
            .map_err(fail)?;
        for (j, (name, levels)) in self.factors.iter().enumerate() {
            let top = lo - band * j as f64 - 0.25 * band;
            let height = 0.55 * band;
            let span = (levels.len().max(2) - 1) as f64;
            let steps = step_points(self.positions.iter().enumerate().map(|(i, v)| {
                let level = levels.iter().position(|l| *l == v[j]).unwrap_or(0) as f64;
                (i, top - height + height * level / span)
            }));
            chart
                .draw_series(LineSeries::new(steps, RGBColor(90, 90, 90).stroke_width(2)))
                .map_err(fail)?;
            let text = format!(
                "{name}: {}",
                levels
                    .iter()
                    .map(|l| format_number(*l))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            chart
                .draw_series([Text::new(text, (-0.45, top + 0.2 * band), font(TICK))])
                .map_err(fail)?;
        }
        for (index, _, points) in &self.series {
            let colour = method_colour(*index);
            let steps = step_points(points.iter().map(|(p, e, _)| (*p, *e)));
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))
                .map_err(fail)?;
            let dim = colour.mix(0.25);
            chart
                .draw_series(points.iter().map(|(p, e, m)| {
                    Rectangle::new(
                        [
                            (*p as f64 - 0.3, e - Z95 * m),
                            (*p as f64 + 0.3, e + Z95 * m),
                        ],
                        dim.filled(),
                    )
                }))
                .map_err(fail)?;
        }
        Ok(())
    }
}

/// Draw the methods' legend in a column on the right (outside the data, so it never hides a point) and
/// return the area left for the chart.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[MethodSeries],
) -> Result<DrawingArea<DB, Shift>, String> {
    let longest = series
        .iter()
        .map(|(_, name, _)| name.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let width = (60 + 9 * longest).min(area.dim_in_pixel().0 / 3);
    let (chart, legend) = area.split_horizontally(area.dim_in_pixel().0 - width);
    for (row, (index, name, _)) in series.iter().enumerate() {
        let y = 40 + 26 * row as i32;
        let colour = method_colour(*index);
        legend
            .draw(&Circle::new((14, y), 6, colour.filled()))
            .map_err(fail)?;
        legend
            .draw(&PathElement::new(
                vec![(4, y), (24, y)],
                colour.stroke_width(2),
            ))
            .map_err(fail)?;
        legend
            .draw_text(
                name,
                &font(TICK).pos(text_anchor::Pos::new(
                    text_anchor::HPos::Left,
                    text_anchor::VPos::Center,
                )),
                (32, y),
            )
            .map_err(fail)?;
    }
    Ok(chart)
}

/// A step function through (position, value): flat across each position's width, vertical between them.
fn step_points(points: impl Iterator<Item = (usize, f64)>) -> Vec<(f64, f64)> {
    let mut steps = Vec::new();
    for (p, v) in points {
        steps.push((p as f64 - 0.5, v));
        steps.push((p as f64 + 0.5, v));
    }
    steps
}
