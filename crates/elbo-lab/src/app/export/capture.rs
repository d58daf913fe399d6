//! Finding a plot on screen and cutting it out of a screenshot of the window.

use egui::Rect;
use image::RgbaImage;

use super::super::plot_util::plot_id;
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

/// Crop a screenshot to `rect` (points) at `pixels_per_point`. With `size`, the crop has
/// exactly that many pixels (anchored at the rect's top left, kept inside the image): the
/// frames of a GIF all have the first frame's size.
pub fn crop(
    image: &egui::ColorImage,
    rect: Rect,
    pixels_per_point: f32,
    size: Option<[usize; 2]>,
) -> Result<RgbaImage, String> {
    let [iw, ih] = image.size;
    let px = |v: f32| (v * pixels_per_point).round().max(0.0) as usize;
    let (mut x0, mut y0) = (px(rect.min.x).min(iw), px(rect.min.y).min(ih));
    let [w, h] = size.unwrap_or([
        px(rect.max.x).min(iw).saturating_sub(x0),
        px(rect.max.y).min(ih).saturating_sub(y0),
    ]);
    if w == 0 || h == 0 || w > iw || h > ih {
        return Err(format!(
            "the plot ({w} x {h} px) does not fit the screenshot ({iw} x {ih} px)"
        ));
    }
    x0 = x0.min(iw - w);
    y0 = y0.min(ih - h);
    let mut out = RgbaImage::new(w as u32, h as u32);
    for (y, row) in out.rows_mut().enumerate() {
        let start = (y0 + y) * iw + x0;
        for (pixel, c) in row.zip(&image.pixels[start..start + w]) {
            // Screenshots are opaque; drop any alpha so slides show no holes.
            let [r, g, b, _] = c.to_srgba_unmultiplied();
            *pixel = image::Rgba([r, g, b, 255]);
        }
    }
    Ok(out)
}
