//! Small builders shared by the views: every plot's id, axis ticks and legend row, the
//! current-t marker, log axes, error bands, clicks that move the timeline, and number
//! formatting where "undefined" and "exact" are values.
//!
//! Every plot is built with [`plot`] (or [`plane_plot`], [`plot_maybe_log`]), which gives
//! it a global id ([`plot_id`]), at least three labelled ticks per axis ([`linear_ticks`],
//! [`log_ticks`]) and no legend inside the plot: a view draws [`legend_row`] above it
//! instead, so a legend never covers a curve and can be hidden.

use std::ops::RangeInclusive;

use egui::{Color32, Id, Rangef, Sense, Stroke, Ui, Vec2, pos2, vec2};

use egui_plot::{
    AxisHints, FilledArea, GridInput, GridMark, HoverPosition, LineStyle, MarkerShape, Plot,
    PlotResponse, VLine,
};

/// egui_plot's smallest grid spacing, in points, set on every plot: a [`GridInput`]'s
/// `base_step_size` is this many points' worth of plot units.
const GRID_MIN_SPACING: f32 = 8.0;
/// Room wanted between two labelled ticks of an x axis, in points (a label like "1000" is
/// about 40 points wide at zoom 1).
pub const X_TICK_GAP: f64 = 90.0;
/// Room wanted between two labelled ticks of a y axis, in points (a label is about 20 high).
pub const Y_TICK_GAP: f64 = 44.0;
/// The least room between two labels, as a fraction of the gap wanted: a y label is
/// about 18 points high at zoom 1, an x label like "1000" about 36 wide.
pub const LABEL_ROOM: f64 = 0.42;
/// Fewest labelled ticks on an axis (fewer only when the axis is too short to hold them
/// without overlapping).
pub const MIN_TICKS: usize = 3;
/// Most labelled ticks on a linear axis.
pub const MAX_TICKS: usize = 8;

/// The id of the plot named `name` (as given to [`plot`]): global and the same in every
/// frame, so an export or a test can find the plot (its memory holds its transform).
/// `Id::unique` is egui 0.37's name of the deprecated `Id::new` (the same hash).
pub fn plot_id(name: &str) -> Id {
    Id::unique(("elbo-lab plot", name))
}

/// A plot with axis labels, ticks that stay readable at any size ([`linear_ticks`]), hover
/// coordinates, a global id ([`plot_id`]) and no legend inside it (draw a [`legend_row`]
/// above it).
pub fn plot(id: &str, x_label: &str, y_label: &str) -> Plot<'static> {
    Plot::new(id.to_owned())
        .id(plot_id(id))
        // Room at the ends for the outermost tick labels (a "1000" centred on the last
        // tick of a narrow plot would be cut by its frame).
        .set_margin_fraction(egui::vec2(0.07, 0.08))
        .grid_spacing(Rangef::new(GRID_MIN_SPACING, 300.0))
        .custom_x_axes(vec![axis(AxisHints::new_x(), x_label)])
        .custom_y_axes(vec![axis(AxisHints::new_y(), y_label)])
        .x_grid_spacer(linear_ticks_x)
        .y_grid_spacer(linear_ticks_y)
        // One convention everywhere: the wheel scrolls the page (a plot in a scrolling tab
        // never takes it to pan), Ctrl+wheel or a pinch zooms the plot, a drag pans it.
        .allow_scroll(false)
}

/// An axis labelled `label` whose every tick from the grid spacer is labelled (the spacers
/// space them so the labels fit; egui still drops a label wider than its spacing).
fn axis(hints: AxisHints<'static>, label: &str) -> AxisHints<'static> {
    hints
        .label(label.to_owned())
        .formatter(linear_label)
        .label_spacing(0.0..=1.0)
}

/// A plot of the data plane (x1, x2) at equal aspect, showing at least the box
/// `[[x_min, x_max], [y_min, y_max]]`.
pub fn plane_plot(id: &str, vb: [[f64; 2]; 2]) -> Plot<'static> {
    plot(id, "x1", "x2")
        .data_aspect(1.0)
        .include_x(vb[0][0])
        .include_x(vb[0][1])
        .include_y(vb[1][0])
        .include_y(vb[1][1])
}

/// As [`plot`], with a log10 y axis when `log` (values are drawn as log10, see
/// [`maybe_log`]; ticks at powers of ten, see [`log_ticks`]).
pub fn plot_maybe_log(id: &str, x_label: &str, y_label: &str, log: bool) -> Plot<'static> {
    let p = plot(id, x_label, y_label);
    if !log {
        return p;
    }
    let x_name = if x_label.is_empty() { "x" } else { x_label }.to_owned();
    p.y_grid_spacer(log_ticks_y)
        .y_axis_formatter(log_label)
        .label_formatter(move |hover| {
            let (name, p) = hovered(hover);
            Some(format!(
                "{name}\n{x_name} = {:.0}\ny = {}",
                p.x,
                sci(10f64.powf(p.y))
            ))
        })
}

/// The plot name (empty away from a curve) and position of a hover.
fn hovered<'h>(hover: &'h HoverPosition<'_>) -> (&'h str, &'h egui_plot::PlotPoint) {
    match hover {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => (plot_name, position),
        HoverPosition::Elsewhere { position } => ("", position),
    }
}

/// A plot with log10 axes on both x and y (values drawn as log10, see [`log_points`]);
/// hovering shows the values themselves.
pub fn log_log_plot(id: &str, x_label: &str, y_label: &str) -> Plot<'static> {
    let x_name = x_label.to_owned();
    with_log_x(plot(id, x_label, y_label))
        .y_grid_spacer(log_ticks_y)
        .y_axis_formatter(log_label)
        .label_formatter(move |hover| {
            let (name, p) = hovered(hover);
            Some(format!(
                "{name}\n{x_name} = {}\ny = {}",
                sci(10f64.powf(p.x)),
                sci(10f64.powf(p.y))
            ))
        })
}

/// `(x, y)` pairs as log10 of both, dropping those that a log axis cannot show (<= 0 or
/// not finite).
pub fn log_points(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<[f64; 2]> {
    points
        .into_iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0 && x.is_finite() && y.is_finite())
        .map(|(x, y)| [x.log10(), y.log10()])
        .collect()
}

/// `plot` with a log10 x axis (x values drawn as log10): ticks at powers of ten.
pub fn with_log_x(plot: Plot<'static>) -> Plot<'static> {
    plot.x_grid_spacer(log_ticks_x).x_axis_formatter(log_label)
}

fn points_per_unit(input: &GridInput) -> f64 {
    GRID_MIN_SPACING as f64 / input.base_step_size
}

/// [`linear_ticks`] for an x axis.
pub fn linear_ticks_x(input: GridInput) -> Vec<GridMark> {
    linear_ticks(input.bounds, points_per_unit(&input), X_TICK_GAP)
}

/// [`linear_ticks`] for a y axis.
pub fn linear_ticks_y(input: GridInput) -> Vec<GridMark> {
    linear_ticks(input.bounds, points_per_unit(&input), Y_TICK_GAP)
}

/// [`log_ticks`] for an x axis.
pub fn log_ticks_x(input: GridInput) -> Vec<GridMark> {
    log_ticks(input.bounds, points_per_unit(&input), X_TICK_GAP)
}

/// [`log_ticks`] for a y axis.
pub fn log_ticks_y(input: GridInput) -> Vec<GridMark> {
    log_ticks(input.bounds, points_per_unit(&input), Y_TICK_GAP)
}

/// The steps of a linear axis: 1, 2, 2.5 and 5 times a power of ten.
const LINEAR_SERIES: &[f64] = &[1.0, 2.0, 2.5, 5.0];
/// The strides of whole decades on a log axis: 1, 2 and 5 times a power of ten.
const DECADE_SERIES: &[f64] = &[1.0, 2.0, 5.0];

/// A step of a series: `series[m] * 10^e`.
#[derive(Debug, Clone, Copy)]
struct Nice {
    series: &'static [f64],
    m: usize,
    e: i32,
}

impl Nice {
    fn value(self) -> f64 {
        self.series[self.m] * 10f64.powi(self.e)
    }

    /// The smallest step of `series` at least `x` (> 0).
    fn at_least(series: &'static [f64], x: f64) -> Nice {
        let mut n = Nice {
            series,
            m: 0,
            e: x.log10().floor() as i32,
        };
        while n.value() < x * (1.0 - 1e-12) {
            n = n.up();
        }
        n
    }

    fn up(self) -> Nice {
        if self.m + 1 == self.series.len() {
            Nice {
                m: 0,
                e: self.e + 1,
                ..self
            }
        } else {
            Nice {
                m: self.m + 1,
                ..self
            }
        }
    }

    fn down(self) -> Nice {
        if self.m == 0 {
            Nice {
                m: self.series.len() - 1,
                e: self.e - 1,
                ..self
            }
        } else {
            Nice {
                m: self.m - 1,
                ..self
            }
        }
    }
}

/// How many multiples of `step` lie in `[lo, hi]`.
fn multiples_in(lo: f64, hi: f64, step: f64) -> f64 {
    ((hi / step + 1e-9).floor() - (lo / step - 1e-9).ceil() + 1.0).max(0.0)
}

/// Valid bounds: finite, increasing, with a finite positive scale.
fn usable(bounds: (f64, f64), points_per_unit: f64) -> bool {
    bounds.0.is_finite()
        && bounds.1.is_finite()
        && bounds.1 > bounds.0
        && points_per_unit.is_finite()
        && points_per_unit > 0.0
}

/// The step of [`LINEAR_SERIES`] whose multiples are the labelled ticks of `[lo, hi]`:
/// at least `gap` points apart where that still leaves [`MIN_TICKS`] ticks, never more
/// than [`MAX_TICKS`], never fewer than [`MIN_TICKS`].
fn nice_step(lo: f64, hi: f64, points_per_unit: f64, gap: f64) -> Nice {
    let span = hi - lo;
    let want = (gap / points_per_unit).clamp(span * 1e-6, span * 10.0);
    let mut s = Nice::at_least(LINEAR_SERIES, want);
    for _ in 0..64 {
        if multiples_in(lo, hi, s.value()) <= MAX_TICKS as f64 {
            break;
        }
        s = s.up();
    }
    for _ in 0..64 {
        if multiples_in(lo, hi, s.value()) >= MIN_TICKS as f64 {
            break;
        }
        s = s.down();
    }
    s
}

/// Ticks of a linear axis showing `bounds` at `points_per_unit`: the multiples of one
/// step of 1, 2, 2.5 or 5 times a power of ten, [`MIN_TICKS`] to [`MAX_TICKS`] of them, at
/// least `gap` points apart where the axis is long enough (on an axis too short for three
/// ticks [`LABEL_ROOM`] x `gap` apart, two). Each mark's `step_size` is that step, so every tick is labelled and the
/// grid has one line per label.
pub fn linear_ticks(bounds: (f64, f64), points_per_unit: f64, gap: f64) -> Vec<GridMark> {
    if !usable(bounds, points_per_unit) {
        return Vec::new();
    }
    let (lo, hi) = bounds;
    let mut s = nice_step(lo, hi, points_per_unit, gap);
    // An axis too short for three labels that fit gets two rather than none (egui drops
    // a label wider than its spacing).
    while s.value() * points_per_unit < LABEL_ROOM * gap
        && multiples_in(lo, hi, s.up().value()) >= 2.0
    {
        s = s.up();
    }
    linear_ticks_with_step(lo, hi, s.value())
}

/// The marks `log10(m 10^e)` for each multiplier `m` (ascending, the first 1) within
/// `[lo, hi]`, each with the distance to the next mark as its step.
fn decade_multiples(lo: f64, hi: f64, ms: &[f64]) -> Vec<GridMark> {
    let mut out = Vec::new();
    for e in (lo.floor() as i64 - 1)..=(hi.ceil() as i64) {
        for (i, m) in ms.iter().enumerate() {
            let v = m.log10() + e as f64;
            let next = ms
                .get(i + 1)
                .map_or(e as f64 + 1.0, |n| n.log10() + e as f64);
            if v >= lo - 1e-12 && v <= hi + 1e-12 {
                out.push(GridMark {
                    value: v,
                    step_size: next - v,
                });
            }
        }
    }
    out
}

/// Ticks of a log10 axis showing `bounds` (in decades) at `points_per_decade`, labelled
/// with [`log_label`]: powers of ten (every decade, or every 2nd, 5th, 10th... so they are
/// `gap` points apart); where fewer than [`MIN_TICKS`] powers of ten are in view, the
/// 1-2-5 multiples of the powers, then every multiple 1..9, then evenly spaced values.
pub fn log_ticks(bounds: (f64, f64), points_per_decade: f64, gap: f64) -> Vec<GridMark> {
    if !usable(bounds, points_per_decade) {
        return Vec::new();
    }
    let (lo, hi) = bounds;
    // Powers of ten, every k-th decade (k of the 1-2-5 series, at least 1).
    let mut k = Nice::at_least(DECADE_SERIES, (gap / points_per_decade).max(1.0));
    for _ in 0..64 {
        if multiples_in(lo, hi, k.value()) <= MAX_TICKS as f64 {
            break;
        }
        k = k.up();
    }
    // Down to three marks, unless they would be too close for their labels (a very short
    // plot): then two labelled marks rather than three that egui leaves unlabelled.
    let mut cramped = false;
    while k.value() > 1.5 && multiples_in(lo, hi, k.value()) < MIN_TICKS as f64 {
        let down = k.down();
        if down.value() * points_per_decade < LABEL_ROOM * gap
            && multiples_in(lo, hi, k.value()) >= 2.0
        {
            cramped = true;
            break;
        }
        k = down;
    }
    if cramped || multiples_in(lo, hi, k.value()) >= MIN_TICKS as f64 {
        return linear_ticks_with_step(lo, hi, k.value());
    }
    // Under three decades: 1-2-5, then 1..9 multiples of the powers of ten.
    for ms in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0][..],
    ] {
        let marks = decade_multiples(lo, hi, ms);
        if marks.len() >= MIN_TICKS {
            return marks;
        }
    }
    // A fraction of a decade: evenly spaced values.
    let (vlo, vhi) = (10f64.powf(lo), 10f64.powf(hi));
    let length = (hi - lo) * points_per_decade;
    let s = nice_step(vlo, vhi, length / (vhi - vlo), gap).value();
    linear_ticks_with_step(vlo, vhi, s)
        .into_iter()
        .filter(|m| m.value > 0.0)
        .map(|m| GridMark {
            value: m.value.log10(),
            step_size: ((m.value + s) / m.value).log10(),
        })
        .collect()
}

fn linear_ticks_with_step(lo: f64, hi: f64, s: f64) -> Vec<GridMark> {
    let first = (lo / s - 1e-9).ceil();
    let n = multiples_in(lo, hi, s) as usize;
    (0..n.min(4 * MAX_TICKS))
        .map(|i| GridMark {
            value: (first + i as f64) * s,
            step_size: s,
        })
        .collect()
}

/// The label of a linear tick: as many decimals as its step needs ("0.25" steps never
/// print "0.250000"), and the same "2e-5" form across an axis whose values are all tiny
/// (under 1e-3) or reach 1e5.
pub fn linear_label(mark: GridMark, range: &RangeInclusive<f64>) -> String {
    let (v, s) = (mark.value, mark.step_size);
    if !v.is_finite() || !s.is_finite() || s <= 0.0 {
        return String::new();
    }
    if v.abs() < s * 1e-6 {
        return "0".into();
    }
    let big = range.start().abs().max(range.end().abs());
    if !(1e-3..1e5).contains(&big) {
        let mut e = v.abs().log10().floor();
        let mut decimals = decimals_for(s / 10f64.powf(e));
        let mut m = v / 10f64.powf(e);
        if format!("{:.*}", decimals, m.abs()).starts_with("10") {
            e += 1.0;
            m /= 10.0;
            decimals = decimals_for(s / 10f64.powf(e));
        }
        format!("{m:.decimals$}e{}", e as i64)
    } else {
        let decimals = decimals_for(s);
        format!("{v:.decimals$}")
    }
}

/// The fewest decimals (up to 10) that write every multiple of `step` exactly.
fn decimals_for(step: f64) -> usize {
    (0..10)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            scaled.round() != 0.0 && (scaled - scaled.round()).abs() < 1e-6 * scaled.abs()
        })
        .unwrap_or(10)
}

/// The label of a log10 tick at `mark.value` = log10(x): x as `1e-3`, `2e-3`, `2.5e0`
/// (mantissa digits as the step between ticks needs).
pub fn log_label(mark: GridMark, _range: &RangeInclusive<f64>) -> String {
    let v = mark.value;
    if !v.is_finite() {
        return String::new();
    }
    // The step as a fraction of the value: how many mantissa digits tell ticks apart.
    let rel = 10f64.powf(mark.step_size.abs()) - 1.0;
    let decimals = if rel.is_finite() && rel > 0.0 {
        (-rel.log10()).ceil().clamp(2.0, 8.0) as usize
    } else {
        2
    };
    let mut e = (v + 1e-9).floor();
    let mut m = 10f64.powf(v - e);
    let scale = 10f64.powi(decimals as i32);
    m = (m * scale).round() / scale;
    if m >= 10.0 {
        m /= 10.0;
        e += 1.0;
    }
    let mut digits = format!("{m:.decimals$}");
    if digits.contains('.') {
        digits = digits
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned();
    }
    format!("{digits}e{}", e as i64)
}

/// The timestep a click on a plot whose x axis is t asks for: a primary click (not a drag
/// or pan) at x gives `round(x)` clamped to `1..=steps`. `None` without such a click.
pub fn clicked_t<R>(resp: &PlotResponse<R>, steps: usize) -> Option<usize> {
    if !resp.response.clicked() {
        return None;
    }
    let pos = resp.response.interact_pointer_pos()?;
    t_at(resp.transform.value_from_position(pos).x, steps)
}

/// The timestep nearest `x`, clamped to `1..=steps` (`None` for no steps or an undefined x).
pub fn t_at(x: f64, steps: usize) -> Option<usize> {
    if steps == 0 || !x.is_finite() {
        return None;
    }
    Some(x.round().clamp(1.0, steps as f64) as usize)
}

/// How a legend entry's swatch is drawn: like its item in the plot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Swatch {
    /// A line of this style.
    Line(LineStyle),
    /// A filled band (an error band) with its centre line.
    Band,
    /// A marker of this shape.
    Marker(MarkerShape),
}

/// One entry of a [`legend_row`]: a swatch, a short name and a tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// The name shown (shortened with "…" beyond [`LEGEND_CHARS`] characters); formulas
    /// between `$` signs are typeset (see [`super::formula::rich`]).
    pub name: String,
    /// Its colour.
    pub colour: Color32,
    /// Its swatch.
    pub swatch: Swatch,
    /// Shown on hover (the formula, the long name); may be empty.
    pub tip: String,
}

/// Longest legend name shown in full.
pub const LEGEND_CHARS: usize = 28;

impl LegendEntry {
    /// A solid line.
    pub fn line(name: impl Into<String>, colour: Color32) -> Self {
        Self::styled(name, colour, LineStyle::Solid)
    }

    /// A line of style `style` (dashed, dotted).
    pub fn styled(name: impl Into<String>, colour: Color32, style: LineStyle) -> Self {
        LegendEntry {
            name: name.into(),
            colour,
            swatch: Swatch::Line(style),
            tip: String::new(),
        }
    }

    /// An error band.
    pub fn band(name: impl Into<String>, colour: Color32) -> Self {
        LegendEntry {
            name: name.into(),
            colour,
            swatch: Swatch::Band,
            tip: String::new(),
        }
    }

    /// A marker.
    pub fn marker(name: impl Into<String>, colour: Color32, shape: MarkerShape) -> Self {
        LegendEntry {
            name: name.into(),
            colour,
            swatch: Swatch::Marker(shape),
            tip: String::new(),
        }
    }

    /// The current-t marker of [`t_marker`].
    pub fn t_marker() -> Self {
        Self::styled(
            "current t",
            super::palette::NEUTRAL_MARKER,
            LineStyle::dashed_loose(),
        )
        .tip("The current timestep (the timeline below); click a plot over t to move it.")
    }

    /// With this tooltip (the formula, what the entry means).
    pub fn tip(mut self, tip: impl Into<String>) -> Self {
        self.tip = tip.into();
        self
    }

    /// The name as shown: at most [`LEGEND_CHARS`] characters.
    pub fn short_name(&self) -> String {
        if self.name.contains('$') {
            // A formula is never cut.
            return self.name.clone();
        }
        shorten(&self.name, LEGEND_CHARS)
    }

    /// The tooltip: the full name when it is shortened, then the tip.
    pub fn tooltip(&self) -> String {
        let full = self.short_name() != self.name;
        match (full, self.tip.is_empty()) {
            (true, true) => self.name.clone(),
            (true, false) => format!("{}\n{}", self.name, self.tip),
            (false, _) => self.tip.clone(),
        }
    }
}

/// `text` cut to `max` characters with a trailing "…".
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A [`legend_row`] that takes its height out of `share`, the height planned for the plot
/// under it: returns the plot's height (at least 60), so the pair never leaves the window.
pub fn legend_row_within(ui: &mut Ui, visible: bool, entries: &[LegendEntry], share: f32) -> f32 {
    let top = ui.cursor().min.y;
    legend_row(ui, visible, entries);
    (share - (ui.cursor().min.y - top)).max(60.0)
}

/// The legend of a plot as a row of swatch + short name above (or below) the plot, wrapped
/// to the width, so it never covers a curve; nothing when `visible` is false (the
/// `legends` toggle). Each entry's tooltip says what it is.
pub fn legend_row(ui: &mut Ui, visible: bool, entries: &[LegendEntry]) {
    if !visible || entries.is_empty() {
        let at = egui::Rect::from_min_size(ui.cursor().min, vec2(ui.available_width(), 0.0));
        LegendLog::record(ui, at, entries);
        return;
    }
    let row = ui.horizontal_wrapped(|ui| {
        for e in entries {
            // One widget per entry, so the row wraps between entries, never inside one.
            // Names may carry formulas between `$` signs, typeset like the text around.
            let colour = ui.visuals().text_color();
            let laid = super::formula::layout_rich(ui, &e.short_name(), f32::INFINITY);
            let h = laid
                .size
                .y
                .max(ui.text_style_height(&egui::TextStyle::Body));
            let size = vec2(SWATCH_WIDTH + 4.0 + laid.size.x + 8.0, h);
            let (rect, r) = ui.allocate_exact_size(size, Sense::hover());
            let swatch_rect = egui::Rect::from_min_size(rect.min, vec2(SWATCH_WIDTH, h));
            swatch(ui.painter(), swatch_rect, e);
            let text_pos = pos2(
                swatch_rect.right() + 4.0,
                rect.center().y - laid.size.y / 2.0,
            );
            laid.paint(ui.painter(), text_pos, colour);
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &laid.plain));
            let tip = e.tooltip();
            if !tip.is_empty() {
                r.on_hover_text(tip);
            }
        }
    });
    LegendLog::record(ui, row.response.rect, entries);
}

/// The legend rows a pass drew (shown or hidden) with where they were, collected only where
/// an export asked for them (`app::export` puts a log in its own context's memory under
/// [`LegendLog::id`]; the window has none and collects nothing). The export sets the
/// legend of the plot it draws above it, whatever the window's legends toggle says.
#[derive(Clone, Default)]
pub struct LegendLog(pub std::sync::Arc<std::sync::Mutex<Vec<LegendRow>>>);

/// A legend row as drawn: where, and its entries.
pub type LegendRow = (egui::Rect, Vec<LegendEntry>);

impl LegendLog {
    /// Where the log is kept in a context's temporary memory.
    pub fn id() -> Id {
        Id::unique("elbo-lab legend log")
    }

    fn record(ui: &Ui, rect: egui::Rect, entries: &[LegendEntry]) {
        if entries.is_empty() {
            return;
        }
        let log = ui.ctx().data(|d| d.get_temp::<LegendLog>(Self::id()));
        if let Some(log) = log
            && let Ok(mut rows) = log.0.lock()
        {
            rows.push((rect, entries.to_vec()));
        }
    }
}

/// Width of a legend swatch, in points.
const SWATCH_WIDTH: f32 = 24.0;

fn swatch(painter: &egui::Painter, rect: egui::Rect, e: &LegendEntry) {
    let h = rect.height();
    let c = rect.center();
    let (l, r) = (pos2(rect.left() + 1.0, c.y), pos2(rect.right() - 1.0, c.y));
    let stroke = Stroke::new(2.5, e.colour);
    match e.swatch {
        Swatch::Line(LineStyle::Solid) => {
            painter.line_segment([l, r], stroke);
        }
        Swatch::Line(LineStyle::Dashed { length }) => {
            let dash = length.clamp(3.0, 7.0);
            painter.extend(egui::Shape::dashed_line(&[l, r], stroke, dash, dash * 0.6));
        }
        Swatch::Line(LineStyle::Dotted { spacing }) => {
            painter.extend(egui::Shape::dotted_line(
                &[l, r],
                e.colour,
                spacing.clamp(3.0, 6.0),
                1.5,
            ));
        }
        Swatch::Band => {
            let band = egui::Rect::from_center_size(c, vec2(rect.width() - 2.0, h * 0.6));
            painter.rect_filled(band, 2.0, e.colour.gamma_multiply(0.35));
            painter.line_segment([l, r], Stroke::new(1.5, e.colour));
        }
        Swatch::Marker(shape) => marker(painter, c, h * 0.3, shape, e.colour),
    }
}

fn marker(painter: &egui::Painter, c: egui::Pos2, r: f32, shape: MarkerShape, colour: Color32) {
    let stroke = Stroke::new(2.0, colour);
    let poly = |pts: Vec<egui::Pos2>| egui::Shape::convex_polygon(pts, colour, Stroke::NONE);
    match shape {
        MarkerShape::Circle => {
            painter.circle_filled(c, r, colour);
        }
        MarkerShape::Square => {
            painter.rect_filled(
                egui::Rect::from_center_size(c, Vec2::splat(2.0 * r)),
                0.0,
                colour,
            );
        }
        MarkerShape::Diamond => {
            painter.add(poly(vec![
                c + vec2(0.0, -r * 1.2),
                c + vec2(r * 1.2, 0.0),
                c + vec2(0.0, r * 1.2),
                c + vec2(-r * 1.2, 0.0),
            ]));
        }
        MarkerShape::Cross => {
            painter.line_segment([c + vec2(-r, -r), c + vec2(r, r)], stroke);
            painter.line_segment([c + vec2(-r, r), c + vec2(r, -r)], stroke);
        }
        MarkerShape::Plus => {
            painter.line_segment([c + vec2(-r, 0.0), c + vec2(r, 0.0)], stroke);
            painter.line_segment([c + vec2(0.0, -r), c + vec2(0.0, r)], stroke);
        }
        MarkerShape::Up | MarkerShape::Down | MarkerShape::Left | MarkerShape::Right => {
            let s = match shape {
                MarkerShape::Down => -1.0,
                _ => 1.0,
            };
            painter.add(poly(vec![
                c + vec2(0.0, -r * s),
                c + vec2(r, r * s),
                c + vec2(-r, r * s),
            ]));
        }
        MarkerShape::Asterisk => {
            painter.line_segment([c + vec2(-r, 0.0), c + vec2(r, 0.0)], stroke);
            painter.line_segment([c + vec2(-r * 0.5, -r), c + vec2(r * 0.5, r)], stroke);
            painter.line_segment([c + vec2(-r * 0.5, r), c + vec2(r * 0.5, -r)], stroke);
        }
    }
}

/// The width a view may lay out in: the room left in `ui`, never past its visible (clip)
/// edge less a margin, so a row wider than the window above a view (the tab row) cannot
/// widen it.
pub fn visible_width(ui: &Ui) -> f32 {
    let right = (ui.clip_rect().right() - ui.spacing().item_spacing.x).min(ui.max_rect().right());
    (right - ui.cursor().left()).max(0.0)
}

/// Lay out `add` in the rest of `ui` cut to its [`visible_width`]: a view drawn this way
/// wraps its rows and sizes its plots to what can be seen.
pub fn within_visible<R>(ui: &mut Ui, add: impl FnOnce(&mut Ui) -> R) -> R {
    let width = visible_width(ui);
    let min = ui.cursor().min;
    let rect = egui::Rect::from_min_max(min, pos2(min.x + width, ui.max_rect().bottom()));
    ui.scope_builder(egui::UiBuilder::new().max_rect(rect), add)
        .inner
}

/// A texture spread over a plotting box `[[x_min, x_max], [y_min, y_max]]` (the 2D
/// density images), not hoverable.
pub fn box_image(
    name: impl Into<String>,
    texture: egui::TextureId,
    vb: [[f64; 2]; 2],
) -> egui_plot::PlotImage {
    egui_plot::PlotImage::new(
        name.into(),
        texture,
        egui_plot::PlotPoint::new((vb[0][0] + vb[0][1]) / 2.0, (vb[1][0] + vb[1][1]) / 2.0),
        [(vb[0][1] - vb[0][0]) as f32, (vb[1][1] - vb[1][0]) as f32],
    )
    .allow_hover(false)
}

/// The vertical marker of the current t: neutral grey, dashed, in every plot (its legend
/// entry is [`LegendEntry::t_marker`]).
pub fn t_marker(t: usize) -> VLine {
    VLine::new(format!("current t = {t}"), t as f64)
        .color(super::palette::NEUTRAL_MARKER)
        .style(LineStyle::dashed_loose())
        .width(1.5)
}

/// `plot` without its own pan, zoom, scroll and reset gestures: a press on it sets a value
/// (a marker, a point of the data) instead, and its view never moves under the pointer.
pub fn still<'a>(plot: Plot<'a>) -> Plot<'a> {
    plot.allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
}

/// Points `(x, y)` with y mapped to log10 where `log` (non-positive values dropped).
pub fn maybe_log(points: &[[f64; 2]], log: bool) -> Vec<[f64; 2]> {
    if !log {
        return points.to_vec();
    }
    points
        .iter()
        .filter(|p| p[1] > 0.0 && p[1].is_finite())
        .map(|p| [p[0], p[1].log10()])
        .collect()
}

/// An error band `mean -/+ stderr` (on a log axis the lower edge is kept above zero).
pub fn band(
    name: &str,
    points: &[[f64; 2]],
    stderr: &[f64],
    log: bool,
    colour: Color32,
) -> FilledArea {
    let mut xs = Vec::with_capacity(points.len());
    let mut lo = Vec::with_capacity(points.len());
    let mut hi = Vec::with_capacity(points.len());
    for (p, se) in points.iter().zip(stderr) {
        let (l, h) = (p[1] - se, p[1] + se);
        if log {
            if p[1] <= 0.0 || !p[1].is_finite() {
                continue;
            }
            lo.push(l.max(p[1] * 1e-3).log10());
            hi.push(h.log10());
        } else {
            lo.push(l);
            hi.push(h);
        }
        xs.push(p[0]);
    }
    FilledArea::new(name.to_owned(), &xs, &lo, &hi).fill_color(colour.gamma_multiply(0.3))
}

/// Half the width of `widest`, an x axis's widest tick label, in egui_plot's tick font:
/// the label of a tick at the plot's right edge overhangs the frame by this much. A plot
/// in a narrow column is made this much narrower so the label is not cut.
pub fn x_tick_overhang(ui: &Ui, widest: &str) -> f32 {
    text_width(ui, widest, &egui::TextStyle::Body) / 2.0
}

/// The width (points) of `text` on one line in `style`.
pub fn text_width(ui: &Ui, text: &str, style: &egui::TextStyle) -> f32 {
    let font = style.resolve(ui.style());
    ui.painter()
        .layout_no_wrap(text.to_owned(), font, egui::Color32::WHITE)
        .size()
        .x
}

/// A number in short scientific form.
pub fn sci(v: f64) -> String {
    if !v.is_finite() {
        return "undefined".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

/// An optional number: "undefined" when the maths leaves it undefined.
pub fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), sci)
}

/// log-SNR at `t` written by `write`: "-inf" where abar_t = 0 (log(0 / 1)), "undefined"
/// where it has no value otherwise. The timeline, the Schedule tab's numbers and its table
/// say it alike.
pub fn log_snr_text(
    s: &elbo_core::schedule::NoiseSchedule,
    t: usize,
    write: impl Fn(f64) -> String,
) -> String {
    match s.log_snr(t) {
        Some(l) => write(l),
        None if s.abar(t) == 0.0 => "-inf".to_owned(),
        None => "undefined".to_owned(),
    }
}

/// A standard error this small against its mean is rounding, not sampling: the value is
/// exact (a sum of closed-form terms).
const EXACT_RELATIVE_STDERR: f64 = 1e-12;

/// True when `stderr` says `mean` is exact: 0, or rounding-sized against the mean.
pub fn is_exact(mean: f64, stderr: f64) -> bool {
    stderr == 0.0 || (stderr.is_finite() && stderr.abs() <= EXACT_RELATIVE_STDERR * mean.abs())
}

/// A mean with its standard error: "2.2813 ± 0.7614", or "0.2373 (exact)" when the error
/// is 0 or rounding-sized ([`is_exact`]).
pub fn pm(mean: f64, stderr: f64) -> String {
    pm_exact(mean, stderr, false)
}

/// A value computed by quadrature or on a grid with its error estimate: "value ± error"
/// (never "exact", however small the estimate), "value (quadrature)" when the estimate is 0.
pub fn quadrature_pm(value: f64, error: f64) -> String {
    if error > 0.0 {
        format!("{} ± {}", sci(value), sci(error))
    } else {
        format!("{} (quadrature)", sci(value))
    }
}

/// As [`pm`], also "exact" when `exact` (a closed-form value).
pub fn pm_exact(mean: f64, stderr: f64, exact: bool) -> String {
    if !mean.is_finite() {
        "undefined".into()
    } else if exact || is_exact(mean, stderr) {
        format!("{} (exact)", sci(mean))
    } else if !stderr.is_finite() {
        format!("{} ± undefined", sci(mean))
    } else {
        format!("{} ± {}", sci(mean), sci(stderr.abs()))
    }
}

/// As [`pm_exact`] for optional values ("undefined" without a mean; "exact" without an
/// error only when `exact`).
pub fn opt_pm(mean: Option<f64>, stderr: Option<f64>, exact: bool) -> String {
    match (mean, stderr) {
        (None, _) => "undefined".into(),
        (Some(m), Some(s)) => pm_exact(m, s, exact),
        (Some(m), None) if exact => pm_exact(m, 0.0, true),
        (Some(m), None) => format!("{} ± undefined", sci(m)),
    }
}

/// A term after the first of a sum, with its sign typeset: "+ 3.69", "- 3.69" (never
/// "+ -3.69").
pub fn signed(v: f64) -> String {
    if v.is_finite() && v.is_sign_negative() && v != 0.0 {
        format!("- {}", sci(-v))
    } else {
        format!("+ {}", sci(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(marks: &[GridMark], range: (f64, f64), log: bool) -> Vec<String> {
        let r = range.0..=range.1;
        marks
            .iter()
            .map(|m| {
                if log {
                    log_label(*m, &r)
                } else {
                    linear_label(*m, &r)
                }
            })
            .collect()
    }

    #[test]
    fn numbers_format_and_undefined_is_said() {
        assert_eq!(opt(None), "undefined");
        assert_eq!(sci(f64::NAN), "undefined");
        assert_eq!(sci(0.5), "0.5000");
        assert_eq!(sci(2.5e-7), "2.500e-7");
    }

    #[test]
    fn log_points_drop_non_positive() {
        let pts = [[1.0, 100.0], [2.0, 0.0], [3.0, -1.0]];
        assert_eq!(maybe_log(&pts, true), vec![[1.0, 2.0]]);
        assert_eq!(maybe_log(&pts, false).len(), 3);
    }

    #[test]
    fn a_t_axis_has_three_labels_however_narrow() {
        // T = 1000 with egui's 5 % margins, from a narrow column to a wide window.
        let bounds = (-50.0, 1050.0);
        for length in [100.0, 120.0, 160.0, 250.0, 400.0, 700.0, 1200.0, 2500.0] {
            let marks = linear_ticks(bounds, length / 1100.0, X_TICK_GAP);
            let l = labels(&marks, bounds, false);
            assert!(
                (MIN_TICKS..=MAX_TICKS).contains(&marks.len()),
                "{length} points: {l:?}"
            );
            // Every mark is labelled, on the axis, and the labels are evenly spaced.
            assert!(l.iter().all(|s| !s.is_empty()), "{l:?}");
            assert!(
                marks
                    .iter()
                    .all(|m| m.value >= bounds.0 && m.value <= bounds.1)
            );
            for w in marks.windows(2) {
                assert!((w[1].value - w[0].value - w[0].step_size).abs() < 1e-9);
            }
            // Never closer than a "1000" label (about 40 points) from 120 points on.
            if length >= 120.0 {
                let gap = marks[0].step_size * length / 1100.0;
                assert!(gap >= 40.0, "{length} points: {gap} apart");
            }
        }
        let narrow = linear_ticks(bounds, 120.0 / 1100.0, X_TICK_GAP);
        assert_eq!(labels(&narrow, bounds, false), ["0", "500", "1000"]);
        let wide = linear_ticks(bounds, 900.0 / 1100.0, X_TICK_GAP);
        assert_eq!(
            labels(&wide, bounds, false),
            ["0", "200", "400", "600", "800", "1000"]
        );
    }

    #[test]
    fn linear_ticks_cover_any_range_with_three_to_eight_labels() {
        let mut seed = 12345_u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..2000 {
            let centre = (next() - 0.5) * 10f64.powf(next() * 12.0 - 6.0);
            // Down to a millionth of the values' size (finer is below f64's labels).
            let span = 10f64.powf(next() * 14.0 - 7.0).max(centre.abs() * 1e-6);
            let bounds = (centre - span / 2.0, centre + span / 2.0);
            let length = 40.0 + next() * 1500.0;
            let marks = linear_ticks(bounds, length / span, Y_TICK_GAP);
            // Three ticks from 120 points up (three label heights with room to align
            // on round values), two on shorter axes; never closer than a label.
            let fewest = if length >= 120.0 { MIN_TICKS } else { 2 };
            assert!(
                (fewest..=MAX_TICKS).contains(&marks.len()),
                "{bounds:?} {length}: {}",
                marks.len()
            );
            let apart = marks[0].step_size * length / span;
            assert!(
                apart >= LABEL_ROOM * Y_TICK_GAP - 1e-9 || length < 120.0,
                "{bounds:?} {length}: {apart}"
            );
            let l = labels(&marks, bounds, false);
            let mut distinct = l.clone();
            distinct.dedup();
            assert_eq!(distinct.len(), l.len(), "{bounds:?}: {l:?}");
        }
    }

    #[test]
    fn an_axis_too_short_for_three_labels_gets_two() {
        // log-SNR from -0.5 to 9.5 on 40 points: three labels would be 10 points apart.
        let b = (-0.5, 9.5);
        let marks = linear_ticks(b, 40.0 / 10.0, Y_TICK_GAP);
        assert_eq!(labels(&marks, b, false), ["0", "5"]);
        // On 90 points three fit.
        let marks = linear_ticks(b, 90.0 / 10.0, Y_TICK_GAP);
        assert_eq!(labels(&marks, b, false), ["0", "2.5", "5.0", "7.5"]);
    }

    #[test]
    fn linear_labels_have_the_decimals_their_step_needs() {
        let mark = |value, step_size| GridMark { value, step_size };
        let r = 0.0..=1.0;
        assert_eq!(linear_label(mark(0.4, 0.2), &r), "0.4");
        assert_eq!(linear_label(mark(0.25, 0.05), &r), "0.25");
        assert_eq!(linear_label(mark(3.0 * 0.1, 0.1), &r), "0.3");
        assert_eq!(linear_label(mark(1e-17, 0.1), &r), "0");
        assert_eq!(linear_label(mark(500.0, 500.0), &(0.0..=1000.0)), "500");
        assert_eq!(linear_label(mark(-2.0, 1.0), &(-3.0..=3.0)), "-2");
        // Tiny and huge values in the same short scientific form.
        assert_eq!(linear_label(mark(3e-5, 1e-5), &(0.0..=5e-5)), "3e-5");
        assert_eq!(linear_label(mark(1.2e-4, 2e-5), &(0.0..=2e-4)), "1.2e-4");
        assert_eq!(linear_label(mark(2e5, 5e4), &(0.0..=3e5)), "2.0e5");
        assert_eq!(linear_label(mark(7.5, 2.5), &(0.0..=10.0)), "7.5");
        assert_eq!(linear_label(mark(0.75, 0.25), &(0.0..=1.0)), "0.75");
        assert_eq!(linear_label(mark(7.5e-5, 2.5e-5), &(0.0..=1e-4)), "7.5e-5");
        assert_eq!(
            linear_label(mark(48.23172, 1e-5), &(48.23171..=48.23175)),
            "48.23172"
        );
    }

    #[test]
    fn log_axes_are_labelled_at_powers_of_ten() {
        // Seven decades on a tall axis: every decade.
        let b = (-5.3, 1.2);
        let marks = log_ticks(b, 600.0 / 6.5, Y_TICK_GAP);
        assert_eq!(
            labels(&marks, b, true),
            ["1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e0", "1e1"]
        );
        // Nine decades: every second one (at most eight labels).
        let b = (-6.3, 2.2);
        let marks = log_ticks(b, 600.0 / 8.5, Y_TICK_GAP);
        assert_eq!(
            labels(&marks, b, true),
            ["1e-6", "1e-4", "1e-2", "1e0", "1e2"]
        );
        // The same decades on a short axis: every second one, still at least three.
        let short = log_ticks(b, 150.0 / 8.5, Y_TICK_GAP);
        let l = labels(&short, b, true);
        assert!(short.len() >= MIN_TICKS, "{l:?}");
        assert!(l.iter().all(|s| s.starts_with("1e")), "{l:?}");
        // Never the old 2.512, 1.995, 1.585 of egui's default spacer on a log axis.
        for b in [
            (-0.5, 0.45),
            (-0.1, 0.41),
            (0.0, 1.0),
            (-3.2, -1.7),
            (-20.0, 3.0),
        ] {
            for length in [80.0, 200.0, 500.0] {
                let marks = log_ticks(b, length / (b.1 - b.0), Y_TICK_GAP);
                let l = labels(&marks, b, true);
                assert!(marks.len() >= MIN_TICKS, "{b:?} {length}: {l:?}");
                for bad in ["2.512", "1.995", "1.585", "1.259"] {
                    assert!(!l.iter().any(|s| s.contains(bad)), "{b:?}: {l:?}");
                }
                assert!(l.iter().all(|s| s.contains('e')), "{l:?}");
            }
        }
    }

    #[test]
    fn a_narrow_log_range_gets_one_two_five_labels() {
        let b = (-3.2, -1.6);
        let marks = log_ticks(b, 300.0 / 1.6, Y_TICK_GAP);
        assert_eq!(
            labels(&marks, b, true),
            ["1e-3", "2e-3", "5e-3", "1e-2", "2e-2"]
        );
        // Under half a decade: every multiple.
        let b = (0.25, 0.65);
        let marks = log_ticks(b, 300.0 / 0.4, Y_TICK_GAP);
        assert_eq!(labels(&marks, b, true), ["2e0", "3e0", "4e0"]);
        // A sliver of a decade: evenly spaced values, told apart.
        let b = (2f64.log10(), 2.5f64.log10());
        let marks = log_ticks(b, 300.0 / (b.1 - b.0), Y_TICK_GAP);
        let l = labels(&marks, b, true);
        assert!(marks.len() >= MIN_TICKS, "{l:?}");
        assert_eq!(l[0], "2e0");
        assert_eq!(l[1], "2.1e0", "{l:?}");
    }

    #[test]
    fn degenerate_ranges_give_no_ticks() {
        assert!(linear_ticks((1.0, 1.0), 10.0, X_TICK_GAP).is_empty());
        assert!(linear_ticks((f64::NAN, 1.0), 10.0, X_TICK_GAP).is_empty());
        assert!(linear_ticks((0.0, f64::INFINITY), 10.0, X_TICK_GAP).is_empty());
        assert!(log_ticks((0.0, 1.0), 0.0, Y_TICK_GAP).is_empty());
        assert!(log_ticks((2.0, 1.0), 10.0, Y_TICK_GAP).is_empty());
    }

    #[test]
    fn a_click_at_x_asks_for_the_nearest_t_in_range() {
        assert_eq!(t_at(41.4, 100), Some(41));
        assert_eq!(t_at(41.6, 100), Some(42));
        assert_eq!(t_at(-7.0, 100), Some(1));
        assert_eq!(t_at(0.4, 100), Some(1));
        assert_eq!(t_at(250.0, 100), Some(100));
        assert_eq!(t_at(f64::NAN, 100), None);
        assert_eq!(t_at(3.0, 0), None);
    }

    #[test]
    fn exact_values_say_exact_and_errors_use_plus_minus() {
        assert_eq!(pm(2.2813, 0.7614), "2.2813 ± 0.7614");
        assert_eq!(pm(0.2373, 0.0), "0.2373 (exact)");
        // Rounding in a sum of closed-form terms is not a standard error.
        assert_eq!(pm(5.2278, 2.6e-15), "5.2278 (exact)");
        assert_eq!(pm_exact(5.2278, 0.01, true), "5.2278 (exact)");
        assert_eq!(pm(1e-20, 1e-21), "1.000e-20 ± 1.000e-21");
        assert_eq!(pm(f64::NAN, 0.1), "undefined");
        assert_eq!(pm(1.0, f64::NAN), "1.0000 ± undefined");
        assert_eq!(opt_pm(None, Some(0.1), false), "undefined");
        assert_eq!(opt_pm(Some(3.0), None, true), "3.0000 (exact)");
        assert_eq!(opt_pm(Some(3.0), Some(0.5), false), "3.0000 ± 0.5000");
    }

    #[test]
    fn signs_are_typeset() {
        assert_eq!(signed(-3.69), "- 3.6900");
        assert_eq!(signed(3.69), "+ 3.6900");
        assert_eq!(signed(0.0), "+ 0");
        assert_eq!(signed(f64::NAN), "+ undefined");
        assert!(!signed(-1e-7).contains("+"));
    }

    #[test]
    fn long_legend_names_are_shortened_and_kept_in_the_tooltip() {
        let long = LegendEntry::line("running sum L_0 + ... + L_{t-1} (+ L_T at T)", Color32::RED)
            .tip("eq. 58");
        // A name with formulas is typeset whole, never cut.
        let typeset = LegendEntry::line(
            "running sum $L_0 + \\dots + L_{t-1}$ (+ $L_T$ at $T$)",
            Color32::RED,
        );
        assert_eq!(typeset.short_name(), typeset.name);
        assert!(typeset.tooltip().is_empty());
        assert_eq!(long.short_name().chars().count(), LEGEND_CHARS);
        assert!(long.short_name().ends_with('…'));
        assert!(
            long.tooltip()
                .starts_with("running sum L_0 + ... + L_{t-1} (+ L_T at T)")
        );
        assert!(long.tooltip().ends_with("eq. 58"));
        let short = LegendEntry::line("NELBO", Color32::RED).tip("the total");
        assert_eq!(short.short_name(), "NELBO");
        assert_eq!(short.tooltip(), "the total");
    }

    #[test]
    fn plot_ids_are_global() {
        assert_eq!(plot_id("terms"), Id::unique(("elbo-lab plot", "terms")));
        assert_ne!(plot_id("terms"), plot_id("running"));
    }
}
