//! Finding a plot in a pass (the window's or an export's), its legend row, and cutting it
//! out of a drawing.

use egui::Rect;
use image::RgbaImage;

use super::super::plot_util::{LegendEntry, LegendRow, plot_id};
use super::super::settings::View;

/// Points of margin kept around a plot's rectangle (tick labels overhang its ends a little).
const MARGIN: f32 = 1.0;

/// The plots of `view` drawn in the last pass, as (id name, label).
pub fn plots_on_screen(ctx: &egui::Context, view: View) -> Vec<(String, String)> {
    view.plots()
        .into_iter()
        .filter(|(name, _)| plot_rect(ctx, name).is_some())
        .collect()
}

/// The rectangle (points) of the plot `name` as the last pass drew it: its frame, its axes
/// with their tick labels and axis titles, and a small margin, within the window. `None`
/// if the plot was not drawn then.
pub fn plot_rect(ctx: &egui::Context, name: &str) -> Option<Rect> {
    let frame = *egui_plot::PlotMemory::load(ctx, plot_id(name))?
        .transform()
        .frame();
    let screen = ctx.viewport_rect();
    let rect = ctx.viewport(|v| complete_rect(&v.prev_pass.widgets, frame))?;
    Some(rect.expand(MARGIN).intersect(screen))
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 0.5
}

/// The frame `frame` grown by the axis widgets egui_plot placed next to it (an x axis
/// spans the frame's width above or below it, a y axis its height left or right of it).
/// `None` unless a widget with exactly the frame's rectangle was drawn in that pass.
fn complete_rect(widgets: &egui::WidgetRects, frame: Rect) -> Option<Rect> {
    let (layer, _) = widgets.layers().find(|(_, rects)| {
        rects.iter().any(|w| {
            close(w.rect.min.x, frame.min.x)
                && close(w.rect.min.y, frame.min.y)
                && close(w.rect.max.x, frame.max.x)
                && close(w.rect.max.y, frame.max.y)
        })
    })?;
    let rects: Vec<Rect> = widgets.get_layer(*layer).map(|w| w.rect).collect();
    let mut union = frame;
    for _ in 0..8 {
        let before = union;
        for r in &rects {
            let x_axis = close(r.min.x, frame.min.x)
                && close(r.max.x, frame.max.x)
                && (close(r.min.y, union.max.y) || close(r.max.y, union.min.y));
            let y_axis = close(r.min.y, frame.min.y)
                && close(r.max.y, frame.max.y)
                && (close(r.min.x, union.max.x) || close(r.max.x, union.min.x));
            if x_axis || y_axis {
                union = union.union(*r);
            }
        }
        if union == before {
            break;
        }
    }
    Some(union)
}

/// The legend row drawn for a plot at `plot` (points): the nearest row above it that
/// overlaps it across (a row shared by a column of plots is theirs). `rows` are the rows
/// of one pass, as [`super::super::plot_util::LegendLog`] collected them.
pub fn legend_above(plot: Rect, rows: &[LegendRow]) -> Option<&[LegendEntry]> {
    rows.iter()
        .filter(|(r, _)| {
            r.bottom() <= plot.top() + 1.0 && r.left() < plot.right() && r.right() > plot.left()
        })
        .max_by(|a, b| a.0.bottom().total_cmp(&b.0.bottom()))
        .map(|(_, entries)| entries.as_slice())
}

/// Cut `rect` (points) out of an image drawn at `pixels_per_point`, kept inside the image.
///
/// # Errors
/// When nothing of `rect` lies in the image.
pub fn crop(image: &RgbaImage, rect: Rect, pixels_per_point: f32) -> Result<RgbaImage, String> {
    let (iw, ih) = image.dimensions();
    let px = |v: f32, max: u32| ((v * pixels_per_point).round().max(0.0) as u32).min(max);
    let (x0, y0) = (px(rect.min.x, iw), px(rect.min.y, ih));
    let (x1, y1) = (px(rect.max.x, iw), px(rect.max.y, ih));
    if x1 <= x0 || y1 <= y0 {
        return Err(format!(
            "the plot ({:.0} x {:.0} points) lies outside the drawing ({iw} x {ih} px)",
            rect.width(),
            rect.height()
        ));
    }
    Ok(image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image())
}
