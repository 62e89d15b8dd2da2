//! The figures of the experiments, as SVG files (`feasible reproduce
//! --plots DIR`).
//!
//! One function per experiment takes that experiment's rows and writes its
//! figures into a directory, returning their paths:
//!
//! - `rate`: `rate-penalty.svg` and `rate-lagrangian.svg`, the class-0 rate
//!   and the accuracy against the penalty coefficient and against the dual
//!   step size, beside the published values (position paper Fig. 2);
//! - `concave`: `concave-x.svg` and `concave-lambda.svg`, `x_t` and `λ_t`
//!   against the steps for each method at one `ε` ([`CONCAVE_EPS`]);
//! - `sparsity` and `sparsity-lenet`: `sparsity.svg` and
//!   `sparsity-lenet.svg`, the densities of the bisection's trainings
//!   against the one constrained training (position paper Fig. 1);
//! - `fairness`: `fairness-train.svg` and `fairness-test.svg`, the violation
//!   per group for each solution-selection method (mean over the seeds);
//! - `feasible-learning`: `feasible-learning-<dataset>.svg`, the
//!   distribution of the per-sample training losses, per method;
//! - `balancing-act`: `balancing-act.svg`, each class's excess accuracy drop
//!   on the test set per model.
//!
//! Every series has its own colour and a legend entry; the SVG names the
//! font family `sans-serif` and leaves the fonts to the viewer, so nothing
//! here needs system font libraries. A logarithmic axis is drawn as the
//! base-10 logarithm of the values with tick labels `1e<k>` at whole
//! powers.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::experiments::balancing_act::{self, BalancingRow};
use crate::experiments::concave::ConcaveRow;
use crate::experiments::fairness::{self, FairnessRow};
use crate::experiments::feasible_learning::FeasibleLearningRow;
use crate::experiments::rate::{RateConfig, RateRow};
use crate::experiments::sparsity::SparsityRow;

/// The figure size, pixels.
pub const SIZE: (u32, u32) = (800, 520);

/// The `ε` whose trajectories the concave figures show (x* = 0.524,
/// λ* = 0.577).
pub const CONCAVE_EPS: f64 = 0.5;

/// The series colours, one per series of a figure (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A solid line with a dot at each point.
    LinePoints,
    /// Hollow circles only.
    Points,
    /// A dashed black line (reference values: a target, an optimum); at
    /// most one per figure.
    Dashed,
}

/// One series of a line chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// The points, in data units (before any logarithm).
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: Style,
}

impl Series {
    /// A series.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Self {
        Self {
            label: label.into(),
            points,
            style,
        }
    }
}

/// The title and axes of a chart.
#[derive(Clone, Debug, Default)]
pub struct Axes {
    /// The caption.
    pub title: String,
    /// The x axis' description, with its unit.
    pub x_label: String,
    /// The y axis' description, with its unit.
    pub y_label: String,
    /// A logarithmic x axis (non-positive x values are left out).
    pub log_x: bool,
    /// The y range; from the data (padded by 5%) when absent.
    pub y_range: Option<(f64, f64)>,
    /// Where the legend goes, in the plotting area; upper right when absent.
    pub legend: Option<SeriesLabelPosition>,
}

fn drawing<E: std::fmt::Display>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the figure: {error}")
}

/// A tick label of a logarithmic axis: `1e-3` at whole powers, else the
/// value in compact scientific notation.
fn log_tick(v: f64) -> String {
    let value = 10f64.powf(v);
    if (v - v.round()).abs() < 1e-9 {
        format!("1e{}", v.round() as i64)
    } else if (1e-2..1e4).contains(&value) {
        // Three significant digits: 0.0316, 3.16, 316.
        let decimals = (2 - value.log10().floor() as i64).max(0) as usize;
        format!("{value:.decimals$}")
    } else {
        crate::table::sci(value)
    }
}

/// The range of some values padded by 5% (by 1 when they are all equal).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if high > low { 0.05 * (high - low) } else { 1.0 };
    (low - pad, high + pad)
}

/// A legend sample: a line 20 pixels long, dashed or solid, in `color`.
macro_rules! legend_line {
    ($color:expr, $dashed:expr) => {{
        let (color, gap) = ($color, if $dashed { 3 } else { 0 });
        move |(x, y): (i32, i32)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (10 - gap, 0)], color.stroke_width(2))
                + PathElement::new(vec![(10 + gap, 0), (20, 0)], color.stroke_width(2))
        }
    }};
}

/// Draws a line chart into `path` (an SVG file).
pub fn line_chart(path: &Path, axes: &Axes, series: &[Series]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    draw_lines(&root, axes, series)?;
    root.present().map_err(drawing)?;
    Ok(())
}

fn draw_lines(root: &DrawingArea<SVGBackend<'_>, Shift>, axes: &Axes, series: &[Series]) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(drawing)?;
    let x_of = |x: f64| if axes.log_x { x.log10() } else { x };
    let series: Vec<(&Series, Vec<(f64, f64)>)> = series
        .iter()
        .map(|s| {
            let points = s
                .points
                .iter()
                .filter(|(x, y)| (!axes.log_x || *x > 0.0) && x.is_finite() && y.is_finite())
                .map(|(x, y)| (x_of(*x), *y))
                .collect();
            (s, points)
        })
        .collect();
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let (x0, x1) = padded(all().map(|p| p.0));
    let (y0, y1) = axes.y_range.unwrap_or_else(|| padded(all().map(|p| p.1)));
    let mut chart = ChartBuilder::on(root)
        .caption(&axes.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(drawing)?;
    let log_x = axes.log_x;
    // Counts (trainings) get whole ticks only.
    let whole_x = !log_x && all().all(|p| p.0.fract() == 0.0);
    let x_format = move |v: &f64| match (log_x, whole_x) {
        (true, _) => log_tick(*v),
        (false, true) if v.fract() != 0.0 => String::new(),
        _ => format!("{v}"),
    };
    chart
        .configure_mesh()
        .x_desc(axes.x_label.as_str())
        .y_desc(axes.y_label.as_str())
        .x_label_formatter(&x_format)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(drawing)?;
    let mut palette = PALETTE.iter().cycle();
    for (s, points) in &series {
        let color = match s.style {
            Style::Dashed => BLACK,
            _ => *palette.next().expect("the palette cycles"),
        };
        let stroke = color.stroke_width(2);
        let drawn = match s.style {
            Style::Line => chart.draw_series(LineSeries::new(points.clone(), stroke)),
            Style::LinePoints => chart.draw_series(LineSeries::new(points.clone(), stroke).point_size(3)),
            Style::Points => chart.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 4, color.stroke_width(2)).into_dyn()),
            ),
            Style::Dashed => chart.draw_series(DashedLineSeries::new(points.clone(), 8, 5, stroke)),
        }
        .map_err(drawing)?;
        match s.style {
            Style::Points => drawn
                .label(s.label.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.stroke_width(2))),
            style => drawn
                .label(s.label.as_str())
                .legend(legend_line!(color, style == Style::Dashed)),
        };
    }
    chart
        .configure_series_labels()
        .position(axes.legend.clone().unwrap_or(SeriesLabelPosition::UpperRight))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(drawing)?;
    Ok(())
}

/// Draws grouped bars into `path`: for each category, one bar per series
/// (`values[s][c]`), and a dashed reference line at `reference`.
pub fn bar_chart(
    path: &Path,
    axes: &Axes,
    categories: &[&str],
    series: &[(String, Vec<f64>)],
    reference: Option<(&str, f64)>,
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(drawing)?;
    let n = categories.len().max(1);
    let values = series.iter().flat_map(|(_, v)| v.iter().copied());
    // Room above the bars for the legend.
    let (y0, y1) = axes.y_range.unwrap_or_else(|| {
        let (low, high) = padded(values.chain(std::iter::once(0.0)).chain(reference.map(|r| r.1)));
        (low, high + 0.6 * (high - low))
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(&axes.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n as f64, y0..y1)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_desc(axes.x_label.as_str())
        .y_desc(axes.y_label.as_str())
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(drawing)?;
    let width = 0.8 / series.len().max(1) as f64;
    for (s, (label, values)) in series.iter().enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let bars = values.iter().enumerate().map(move |(c, v)| {
            let left = c as f64 + 0.1 + s as f64 * width;
            Rectangle::new([(left, 0.0), (left + width * 0.9, *v)], color.filled())
        });
        chart
            .draw_series(bars)
            .map_err(drawing)?
            .label(label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (n as f64, 0.0)], BLACK))
        .map_err(drawing)?;
    if let Some((label, value)) = reference {
        let color = RGBColor(0, 0, 0);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, value), (n as f64, value)],
                8,
                5,
                color.stroke_width(2),
            ))
            .map_err(drawing)?
            .label(label)
            .legend(legend_line!(color, true));
    }
    let text = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (c, name) in categories.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(c as f64 + 0.5, y0));
        root.draw(&Text::new(name.to_string(), (px, py + 6), text.clone()))
            .map_err(drawing)?;
    }
    chart
        .configure_series_labels()
        .position(axes.legend.clone().unwrap_or(SeriesLabelPosition::UpperRight))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(drawing)?;
    root.present().map_err(drawing)?;
    Ok(())
}

fn create(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))
}

/// Rate (position paper Fig. 2): `rate-penalty.svg` (against the penalty
/// coefficient) and `rate-lagrangian.svg` (against the dual step size).
/// Each has the class-0 rate and the accuracy, in %, the published values
/// as hollow circles, and the target; `c = 0` is left out of the log axis.
pub fn rate(rows: &[RateRow], config: &RateConfig, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let mut written = Vec::new();
    for (method, x_label, title) in [
        (
            "penalty",
            "penalty coefficient c",
            "Rate constraint, penalty: class-0 rate and accuracy against c",
        ),
        (
            "lagrangian",
            "dual step size η_λ",
            "Rate constraint, Lagrangian: class-0 rate and accuracy against η_λ",
        ),
    ] {
        let rows: Vec<&RateRow> = rows.iter().filter(|r| r.method == method && r.coef > 0.0).collect();
        if rows.is_empty() {
            continue;
        }
        let mut rows = rows;
        rows.sort_by(|a, b| a.coef.total_cmp(&b.coef));
        let ours = |f: fn(&RateRow) -> f64| rows.iter().map(|r| (r.coef, 100.0 * f(r))).collect::<Vec<_>>();
        let published = |f: fn(&RateRow) -> Option<f64>| {
            rows.iter()
                .filter_map(|r| f(r).map(|v| (r.coef, 100.0 * v)))
                .collect::<Vec<_>>()
        };
        let (low, high) = (rows[0].coef, rows[rows.len() - 1].coef);
        let series = vec![
            Series::new("class-0 rate", ours(|r| r.class0_rate), Style::LinePoints),
            Series::new("accuracy", ours(|r| r.accuracy), Style::LinePoints),
            Series::new(
                "published class-0 rate",
                published(|r| r.published_class0_rate),
                Style::Points,
            ),
            Series::new("published accuracy", published(|r| r.published_accuracy), Style::Points),
            Series::new(
                format!("target {:.0}%", 100.0 * config.target),
                vec![(low, 100.0 * config.target), (high, 100.0 * config.target)],
                Style::Dashed,
            ),
        ];
        let axes = Axes {
            title: title.to_string(),
            x_label: format!("{x_label} (log scale)"),
            y_label: "%".to_string(),
            log_x: true,
            y_range: Some((0.0, 105.0)),
            legend: Some(SeriesLabelPosition::LowerLeft),
        };
        let path = dir.join(format!("rate-{method}.svg"));
        line_chart(&path, &axes, &series)?;
        written.push(path);
    }
    Ok(written)
}

/// Concave (position paper Example 1): `concave-x.svg` and
/// `concave-lambda.svg`, `x_t` and `λ_t` against the steps (log scale,
/// from step 1), one line per method, at `ε` = [`CONCAVE_EPS`] (or the first `ε` of the rows), with
/// `x*` and `λ*` dashed.
pub fn concave(rows: &[ConcaveRow], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let eps = rows
        .iter()
        .map(|r| r.eps)
        .find(|e| (e - CONCAVE_EPS).abs() < 1e-12)
        .or_else(|| rows.first().map(|r| r.eps));
    let Some(eps) = eps else {
        return Ok(Vec::new());
    };
    let rows: Vec<&ConcaveRow> = rows.iter().filter(|r| r.eps == eps).collect();
    let last = rows
        .iter()
        .filter_map(|r| r.trajectory.last().map(|p| p.0))
        .max()
        .unwrap_or(1) as f64;
    let mut written = Vec::new();
    let (x_star, lambda_star) = (rows[0].x_star, rows[0].lambda_star);
    for (file, quantity, star_label, star, pick, legend) in [
        (
            "concave-x.svg",
            "x_t",
            "x* = arcsin ε",
            x_star,
            (|p: &(usize, f64, f64)| p.1) as fn(&(usize, f64, f64)) -> f64,
            SeriesLabelPosition::LowerLeft,
        ),
        (
            "concave-lambda.svg",
            "λ_t",
            "λ* = ε/√(1-ε²)",
            lambda_star,
            |p: &(usize, f64, f64)| p.2,
            SeriesLabelPosition::UpperLeft,
        ),
    ] {
        let mut series: Vec<Series> = rows
            .iter()
            .map(|r| {
                let label = match r.method {
                    "penalty" => format!("penalty (c = {})", crate::table::sci(r.lambda_final)),
                    m => m.to_string(),
                };
                let points = r.trajectory.iter().map(|p| (p.0 as f64, pick(p))).collect();
                Series::new(label, points, Style::Line)
            })
            .collect();
        series.push(Series::new(
            format!("{star_label} = {star:.3}"),
            vec![(1.0, star), (last, star)],
            Style::Dashed,
        ));
        let axes = Axes {
            title: format!("min cos x s.t. sin x ≤ {eps}: {quantity} against the steps"),
            x_label: "step t (log scale)".to_string(),
            y_label: quantity.to_string(),
            log_x: true,
            y_range: None,
            legend: Some(legend),
        };
        let path = dir.join(file);
        line_chart(&path, &axes, &series)?;
        written.push(path);
    }
    Ok(written)
}

/// Sparsity (position paper Fig. 1): `EXPERIMENT.svg` (the rows'
/// experiment: `sparsity.svg`, `sparsity-lenet.svg`), the density of each
/// training of the penalty's bisection against the number of trainings so
/// far, the one constrained training at the bisection's target, and the
/// target.
pub fn sparsity(rows: &[SparsityRow], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let bisection: Vec<&SparsityRow> = rows.iter().filter(|r| r.method == "penalty").collect();
    let Some((target, experiment)) = rows.first().map(|r| (r.target_density, r.experiment)) else {
        return Ok(Vec::new());
    };
    let constrained: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.method == "constrained" && (r.target_density - target).abs() < 1e-9)
        .map(|r| (r.trainings as f64, 100.0 * r.density))
        .collect();
    let runs = bisection.len() as f64;
    let series = vec![
        Series::new(
            "penalty bisection (one training each)",
            bisection
                .iter()
                .map(|r| (r.trainings as f64, 100.0 * r.density))
                .collect(),
            Style::LinePoints,
        ),
        Series::new("constrained (one training)", constrained, Style::Points),
        Series::new(
            format!("target {:.0}%", 100.0 * target),
            vec![(1.0, 100.0 * target), (runs.max(2.0), 100.0 * target)],
            Style::Dashed,
        ),
    ];
    let axes = Axes {
        title: "Controlled sparsity: the bisection's densities against one constrained training".to_string(),
        x_label: "trainings".to_string(),
        y_label: "density of the weights (%)".to_string(),
        log_x: false,
        y_range: Some((0.0, 105.0)),
        legend: Some(SeriesLabelPosition::LowerRight),
    };
    let path = dir.join(format!("{experiment}.svg"));
    line_chart(&path, &axes, &series)?;
    Ok(vec![path])
}

/// The mean of `values(row)` over the rows of each method, in `methods`'
/// order (methods without rows are left out).
fn means_per_method<R>(
    rows: &[R],
    methods: &[&str],
    method: impl Fn(&R) -> &str,
    values: impl Fn(&R) -> &[f64],
) -> Vec<(String, Vec<f64>)> {
    methods
        .iter()
        .filter_map(|m| {
            let of: Vec<&[f64]> = rows.iter().filter(|r| method(r) == *m).map(&values).collect();
            let width = of.first()?.len();
            let mean = (0..width)
                .map(|j| of.iter().map(|v| v.get(j).copied().unwrap_or(f64::NAN)).sum::<f64>() / of.len() as f64)
                .collect();
            Some((m.to_string(), mean))
        })
        .collect()
}

/// Fairness: `fairness-train.svg` and `fairness-test.svg`, the violation of
/// equal opportunity per group (the group's true-positive rate below the
/// overall one, minus the tolerance) for each solution-selection method,
/// the mean over the seeds.
pub fn fairness(rows: &[FairnessRow], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let groups: Vec<&str> = fairness::GROUPS.iter().map(|g| g.0).collect();
    let mut written = Vec::new();
    for (split, values) in [
        (
            "train",
            (|r: &FairnessRow| r.train_violations.as_slice()) as fn(&FairnessRow) -> &[f64],
        ),
        ("test", |r: &FairnessRow| r.test_violations.as_slice()),
    ] {
        let series = means_per_method(rows, &fairness::METHODS, |r| r.method, values);
        if series.is_empty() {
            continue;
        }
        let axes = Axes {
            title: format!("Equal opportunity on Adult ({split} set): violation per group"),
            x_label: "protected group".to_string(),
            y_label: "constraint violation (TPR gap - tolerance)".to_string(),
            ..Axes::default()
        };
        let path = dir.join(format!("fairness-{split}.svg"));
        bar_chart(&path, &axes, &groups, &series, Some(("feasible (0)", 0.0)))?;
        written.push(path);
    }
    Ok(written)
}

/// The bins of the per-sample loss histogram: 40 on `log10(loss)`, losses
/// below `1e-6` counted in the first.
const LOSS_BINS: usize = 40;

/// The fraction of the losses in each bin of `log10(loss)` over
/// `[low, high]`, as a step line (two points per bin).
pub fn log_histogram(losses: &[f64], low: f64, high: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = (high - low) / bins as f64;
    let mut counts = vec![0usize; bins];
    for l in losses {
        let b = ((l.max(1e-300).log10() - low) / width).floor();
        counts[(b.max(0.0) as usize).min(bins - 1)] += 1;
    }
    let n = losses.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .flat_map(|(b, c)| {
            let left = 10f64.powf(low + b as f64 * width);
            let right = 10f64.powf(low + (b + 1) as f64 * width);
            [(left, *c as f64 / n), (right, *c as f64 / n)]
        })
        .collect()
}

/// Feasible Learning: `feasible-learning-<dataset>.svg` per data set, the
/// distribution of the per-sample training losses of each method (a
/// histogram on a log axis) and the bound ε.
pub fn feasible_learning(rows: &[FeasibleLearningRow], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let mut datasets: Vec<&str> = rows.iter().map(|r| r.dataset).collect();
    datasets.dedup();
    let mut written = Vec::new();
    for dataset in datasets {
        let rows: Vec<&FeasibleLearningRow> = rows
            .iter()
            .filter(|r| r.dataset == dataset && !r.train_losses.is_empty())
            .collect();
        let Some(eps) = rows.first().map(|r| r.epsilon) else {
            continue;
        };
        let largest = rows
            .iter()
            .flat_map(|r| r.train_losses.iter().copied())
            .fold(eps, f64::max);
        let (low, high) = (-6.0, largest.log10().ceil().max(eps.log10() + 0.5));
        let mut series: Vec<Series> = rows
            .iter()
            .map(|r| {
                let label = match r.method {
                    "erm" => "ERM".to_string(),
                    "feasible" => "Feasible Learning".to_string(),
                    "feasible-slack" => "Feasible Learning with slack".to_string(),
                    "feasible-implicit" => "Feasible Learning, multiplier model".to_string(),
                    m => m.to_string(),
                };
                Series::new(label, log_histogram(&r.train_losses, low, high, LOSS_BINS), Style::Line)
            })
            .collect();
        let top = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        series.push(Series::new(
            format!("ε = {eps:.3}"),
            vec![(eps, 0.0), (eps, top)],
            Style::Dashed,
        ));
        let axes = Axes {
            title: format!("Feasible Learning ({dataset}): per-sample training losses"),
            x_label: "cross-entropy of a training sample (log scale; < 1e-6 in the first bin)".to_string(),
            y_label: "fraction of the training samples".to_string(),
            log_x: true,
            y_range: Some((0.0, top * 1.05 + 1e-12)),
            legend: Some(SeriesLabelPosition::UpperLeft),
        };
        let path = dir.join(format!("feasible-learning-{dataset}.svg"));
        line_chart(&path, &axes, &series)?;
        written.push(path);
    }
    Ok(written)
}

/// Balancing act: `balancing-act.svg`, each class's excess accuracy drop
/// `ψ_g` on the test set for each pruned model, with the tolerance ε.
pub fn balancing_act(rows: &[BalancingRow], dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let methods: Vec<&str> = {
        let mut m: Vec<&str> = rows.iter().map(|r| r.method).filter(|m| *m != "dense").collect();
        m.dedup();
        m
    };
    let series = means_per_method(rows, &methods, |r| r.method, |r| r.test_gaps.as_slice());
    let Some(tolerance) = rows.first().map(|r| r.tolerance) else {
        return Ok(Vec::new());
    };
    let axes = Axes {
        title: "Balancing act: excess accuracy drop per class (test set)".to_string(),
        x_label: "class".to_string(),
        y_label: "excess accuracy drop ψ_g".to_string(),
        ..Axes::default()
    };
    let path = dir.join("balancing-act.svg");
    let tolerance_label = format!("tolerance ε = {tolerance}");
    bar_chart(
        &path,
        &axes,
        &balancing_act::CLASSES,
        &series,
        Some((&tolerance_label, tolerance)),
    )?;
    Ok(vec![path])
}
