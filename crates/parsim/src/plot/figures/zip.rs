//! Zip plots (Morris, White & Crowther 2019, Figure 3) of a term: one row of panels per condition (its
//! label above the row), one panel per method that reports intervals. Each panel ranks the intervals by
//! how far the estimate lies from the truth relative to the interval's half-width (|z| over the critical
//! value, so that with t intervals of varying df the covering intervals are exactly the lowest), plotted
//! at their fractional centile: blue intervals cover the true value, red ones miss it; gold lines bound
//! the 95% Monte Carlo interval of coverage, the dashed line is the nominal level. Conditions are paged.

use plotters::prelude::*;

use super::{
    draw_lines, fail, numeric_ticks, page_note, shown_note, tick, Area, DrawResult, Figure,
    Heading, LABEL, TICK, Z95,
};
use crate::measures::{IntervalRule, Replicate, Summary};
use crate::plot::data::padded_range;
use crate::plot::layout::{ellipsised, line_height, pages, wrap};
use crate::plot::series::{condition_label, rows_by_condition, MAX_CONDITIONS_SHOWN};
use crate::report::format_number;
use crate::store::{Store, StoreError};

/// Conditions per page.
pub const CONDITIONS_PER_PAGE: usize = 6;
/// The most intervals a zip panel draws; more are thinned evenly across centiles (its 200-pixel height
/// shows no more, and an inlined SVG stays small).
const MAX_ZIP_INTERVALS: usize = 250;
const PANEL_WIDTH: u32 = 330;
const PANEL_HEIGHT: u32 = 250;

/// One interval of a zip plot: (centile, lower, upper, covers the truth).
type RankedInterval = (f64, f64, f64, bool);

/// A method's panel as read: its index, coverage (%), MCSE and ranked intervals.
type MethodPanel = (usize, f64, f64, Vec<RankedInterval>);
/// A condition's panels as read: its index, the true value, each method's panel.
type ConditionPanels = (usize, f64, Vec<MethodPanel>);

/// One page of a term's zip plots.
pub struct Zip {
    term: String,
    level: f64,
    /// The methods with intervals, in summary order: (index, name); each is a column.
    methods: Vec<(usize, String)>,
    rows: Vec<ZipRow>,
    page: (usize, usize),
    /// Conditions looked at, of those with estimates (a condition without intervals has no row).
    shown: (usize, usize),
}

struct ZipRow {
    condition: usize,
    header: Vec<String>,
    truth: f64,
    /// Per method column: coverage (%), its MCSE, ranked intervals.
    panels: Vec<Option<(f64, f64, Vec<RankedInterval>)>>,
}

impl Zip {
    /// The pages of `term`'s zip plots (none when no method reports intervals for it).
    pub fn pages(store: &Store, summary: &Summary, term: &str) -> Result<Vec<Zip>, StoreError> {
        let mut rule = IntervalRule::new(summary.settings.level, summary.settings.alpha)
            .unwrap_or_else(|_| IntervalRule::new(0.95, 0.05).expect("0.95 and 0.05 are valid"));
        let mut read: Vec<ConditionPanels> = Vec::new();
        let groups = rows_by_condition(summary, term);
        let total = groups.len();
        let mut examined = 0;
        for (condition, rows) in groups {
            if read.len() == MAX_CONDITIONS_SHOWN {
                break;
            }
            examined += 1;
            let mut panels = Vec::new();
            let mut truth = f64::NAN;
            for row in rows {
                truth = row.measures.truth;
                let replicates = store.usable_replicates(condition, &row.method, term)?;
                let ranked = rank_intervals(&replicates, &mut rule);
                if ranked.is_empty() {
                    continue;
                }
                let method = summary
                    .methods
                    .iter()
                    .position(|m| *m == row.method)
                    .unwrap_or(0);
                let cover = row.measures.coverage;
                panels.push((method, cover.estimate, cover.mcse, ranked));
            }
            if !panels.is_empty() {
                read.push((condition, truth, panels));
            }
        }
        let mut methods: Vec<usize> = read
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|m| m.0))
            .collect();
        methods.sort_unstable();
        methods.dedup();
        let header_width = (methods.len().max(2) as u32) * PANEL_WIDTH - 20;
        let rows: Vec<ZipRow> = read
            .into_iter()
            .map(|(condition, truth, found)| {
                let label = condition_label(summary, condition);
                let header = if label.is_empty() {
                    Vec::new()
                } else {
                    wrap(
                        &format!("{label} (true value {})", format_number(truth)),
                        LABEL,
                        header_width,
                    )
                };
                let panels = methods
                    .iter()
                    .map(|m| {
                        found
                            .iter()
                            .find(|p| p.0 == *m)
                            .map(|(_, c, s, r)| (*c, *s, r.clone()))
                    })
                    .collect();
                ZipRow {
                    condition,
                    header,
                    truth,
                    panels,
                }
            })
            .collect();
        let ranges = pages(rows.len(), CONDITIONS_PER_PAGE);
        let count = ranges.len();
        let methods: Vec<(usize, String)> = methods
            .into_iter()
            .map(|m| (m, summary.methods.get(m).cloned().unwrap_or_default()))
            .collect();
        let mut rows = rows.into_iter();
        Ok(ranges
            .into_iter()
            .enumerate()
            .map(|(page, range)| Zip {
                term: term.to_string(),
                level: summary.settings.level,
                methods: methods.clone(),
                rows: rows.by_ref().take(range.len()).collect(),
                page: (page + 1, count),
                shown: (examined, total),
            })
            .collect())
    }

    /// The conditions of this page.
    pub fn conditions(&self) -> Vec<usize> {
        self.rows.iter().map(|r| r.condition).collect()
    }

    fn width(&self) -> u32 {
        (self.methods.len().max(1) as u32 * PANEL_WIDTH).max(720)
    }

    fn header_height(&self) -> u32 {
        let lines = self.rows.iter().map(|r| r.header.len()).max().unwrap_or(0) as u32;
        if lines == 0 {
            0
        } else {
            lines * line_height(LABEL) + 8
        }
    }

    fn heading(&self) -> Heading {
        let page = page_note(self.page, &self.conditions());
        let truth = match self.rows.as_slice() {
            [only] if only.header.is_empty() => format!(" {}", format_number(only.truth)),
            _ => String::new(),
        };
        Heading::new(
            &format!(
                "Zip plots of {}% intervals for {}{page}",
                format_number(100.0 * self.level),
                self.term
            ),
            &format!(
                "ranked by |z|; blue: covers the true value{truth}, red: misses it; gold: 95% MC interval of coverage; dashed: nominal{}",
                shown_note(self.shown)
            ),
            self.width(),
        )
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
        (
            self.width(),
            self.heading().height()
                + self.rows.len() as u32 * (self.header_height() + PANEL_HEIGHT),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DrawResult {
        let mut area = self.heading().draw(root)?;
        for row in &self.rows {
            let (block, rest) = area.split_vertically(self.header_height() + PANEL_HEIGHT);
            area = rest;
            let (header, panels) = block.split_vertically(self.header_height());
            if self.header_height() > 0 {
                header
                    .draw(&PathElement::new(
                        vec![(0, 1), (self.width() as i32, 1)],
                        RGBColor(200, 200, 200),
                    ))
                    .map_err(fail)?;
            }
            draw_lines(
                &header.margin(4, 0, 0, 0),
                &row.header,
                LABEL,
                &BLACK,
                false,
            )?;
            let mut cells = panels;
            for ((_, name), panel) in self.methods.iter().zip(&row.panels) {
                let (cell, rest) = cells.split_horizontally(PANEL_WIDTH);
                cells = rest;
                if let Some((cover, mcse, ranked)) = panel {
                    self.draw_panel(&cell, name, *cover, *mcse, ranked, row.truth)?;
                }
            }
        }
        Ok(())
    }
}

impl Zip {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        cell: &Area<DB>,
        name: &str,
        cover: f64,
        mcse: f64,
        ranked: &[RankedInterval],
        truth: f64,
    ) -> DrawResult {
        let caption = ellipsised(
            &format!(
                "{name}: coverage {}%",
                format_number((cover * 10.0).round() / 10.0)
            ),
            TICK + 1,
            PANEL_WIDTH - 20,
        );
        let (top, rest) = cell.split_vertically(line_height(TICK + 1) + 4);
        draw_lines(&top, &[caption], TICK + 1, &BLACK, true)?;
        let (x0, x1) = padded_range(
            ranked
                .iter()
                .flat_map(|(_, l, u, _)| [*l, *u])
                .chain([truth]),
        );
        let mut chart = ChartBuilder::on(&rest)
            .margin(8)
            .margin_right(18)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0.0..100.0)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(numeric_ticks(PANEL_WIDTH - 80))
            .y_labels(5)
            .x_label_formatter(&|x| tick(*x, x1 - x0))
            .y_label_formatter(&|y| tick(*y, 100.0))
            .x_desc(format!("{}% interval", format_number(100.0 * self.level)))
            .y_desc("centile of |z|")
            .label_style(super::font(TICK))
            .axis_desc_style(super::font(TICK))
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
                vec![(truth, 0.0), (truth, 100.0)],
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
        Ok(())
    }
}
