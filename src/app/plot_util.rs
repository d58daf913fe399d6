//! Small builders shared by the views: the current-t marker, log axes, error bands, colours
//! and number formatting where "undefined" is a value.

use egui::Color32;

use crate::param::PerParam;
use egui_plot::{FilledArea, GridMark, HoverPosition, Legend, LineStyle, Plot, VLine};

/// Colour of each parameterisation, the same in every view.
pub const PARAM_COLOURS: PerParam<Color32> = PerParam {
    x0: Color32::from_rgb(230, 140, 40),
    eps: Color32::from_rgb(70, 140, 230),
    score: Color32::from_rgb(60, 180, 90),
    v: Color32::from_rgb(170, 100, 220),
};
/// Colour of "computing" notes (kept for the views that still use it; the plots' current-t
/// marker is the palette's neutral grey, see [`t_marker`]).
pub const T_COLOUR: Color32 = super::palette::INFO;

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

/// The vertical marker of the current t: neutral grey, dashed, in every plot.
pub fn t_marker(t: usize) -> VLine {
    VLine::new(format!("current t = {t}"), t as f64)
        .color(super::palette::NEUTRAL_MARKER)
        .style(LineStyle::dashed_loose())
        .width(1.5)
}

/// A plot with a legend in the top-left, axis labels and hover coordinates.
pub fn plot(id: &str, x_label: &str, y_label: &str) -> Plot<'static> {
    Plot::new(id.to_owned())
        .id(super::export::plot_id(id))
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label(x_label.to_owned())
        .y_axis_label(y_label.to_owned())
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

/// As [`plot`], with a log10 y axis (values are drawn as log10 and the ticks say 1e-3).
pub fn plot_maybe_log(id: &str, x_label: &str, y_label: &str, log: bool) -> Plot<'static> {
    let p = plot(id, x_label, y_label);
    if log {
        p.y_axis_formatter(log_tick).label_formatter(|hover| {
            let (name, p) = match hover {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => (*plot_name, position),
                HoverPosition::Elsewhere { position } => ("", position),
            };
            Some(format!(
                "{name}\nt = {:.0}\ny = {}",
                p.x,
                sci(10f64.powf(p.y))
            ))
        })
    } else {
        p
    }
}

/// Tick labels of a log10 axis: whole decades as `1e-3`; within a narrow range (under
/// two decades) every tick, as its value.
fn log_tick(mark: GridMark, range: &std::ops::RangeInclusive<f64>) -> String {
    if (mark.value - mark.value.round()).abs() < 1e-9 {
        format!("1e{}", mark.value.round())
    } else if range.end() - range.start() < 2.0 {
        let v = 10f64.powf(mark.value);
        if (1e-2..1e3).contains(&v) {
            format!("{v:.3}")
        } else {
            format!("{v:.1e}")
        }
    } else {
        String::new()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
