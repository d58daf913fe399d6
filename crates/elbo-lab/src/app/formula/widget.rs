//! The cache and the widgets: layouts cached in egui's memory, [`Formula`] and [`show`],
//! painting, and text with inline formulas ([`rich`]).

use std::collections::HashMap;
use std::sync::Arc;

use egui::{
    Color32, Id, Pos2, Rect, Response, Sense, Shape, Stroke, Ui, Vec2, Widget, WidgetInfo, pos2,
    vec2,
};

use super::layout::{Item, Laid, layout_uncached};
use super::plain_text::plain;

/// The formula size over the Body text size: Ubuntu Light math reads small beside text.
pub const SCALE_OVER_BODY: f32 = 1.1;
/// A formula too wide for its space is scaled down, but never below this fraction.
pub const MIN_FIT_SCALE: f32 = 0.6;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    src: String,
    size: u32,
    ppp: u32,
}

/// Laid-out formulas in egui's memory, with the pass each was last used in.
#[derive(Clone, Default)]
struct FormulaCache {
    entries: HashMap<Key, (Arc<Laid>, u64)>,
    /// The font atlas fill when last seen: it only drops when the atlas was cleared, which
    /// leaves cached galleys pointing at glyphs that are gone.
    fill: f32,
    options: Option<egui::epaint::text::TextOptions>,
}

/// Entries above this are dropped unless used in this pass or the last.
const CACHE_CAP: usize = 400;

fn cache_id() -> Id {
    Id::unique("elbo_lab::app::formula::cache")
}

/// The layout of `src` at font size `size` (points), from the cache when it is there.
pub fn layout(ctx: &egui::Context, src: &str, size: f32) -> Arc<Laid> {
    let ppp = ctx.pixels_per_point();
    let pass = ctx.cumulative_pass_nr();
    let key = Key {
        src: src.to_owned(),
        size: size.to_bits(),
        ppp: ppp.to_bits(),
    };
    let (fill, options) = ctx.fonts(|f| (f.font_atlas_fill_ratio(), *f.options()));
    let hit = ctx.data_mut(|d| {
        let cache = d.get_temp_mut_or_default::<FormulaCache>(cache_id());
        if fill < cache.fill || cache.options != Some(options) {
            cache.entries.clear();
        }
        cache.fill = fill;
        cache.options = Some(options);
        cache.entries.get_mut(&key).map(|(laid, used)| {
            *used = pass;
            laid.clone()
        })
    });
    if let Some(laid) = hit {
        return laid;
    }
    let laid = Arc::new(ctx.fonts_mut(|f| layout_uncached(f, src, size, ppp)));
    ctx.data_mut(|d| {
        let cache = d.get_temp_mut_or_default::<FormulaCache>(cache_id());
        if cache.entries.len() >= CACHE_CAP {
            cache.entries.retain(|_, (_, used)| *used + 1 >= pass);
        }
        cache.entries.insert(key, (laid.clone(), pass));
    });
    laid
}

/// How many formulas are in the cache (for tests).
pub fn cached_count(ctx: &egui::Context) -> usize {
    ctx.data_mut(|d| {
        d.get_temp_mut_or_default::<FormulaCache>(cache_id())
            .entries
            .len()
    })
}

/// The default formula size for a ui: the Body text size times [`SCALE_OVER_BODY`], at
/// least 14 points.
pub fn base_size(ui: &Ui) -> f32 {
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    (body * SCALE_OVER_BODY).max(14.0)
}

/// A typeset formula as a widget: `ui.add(Formula::new(src))`. See [`show`].
#[must_use = "add it with `ui.add(..)`"]
pub struct Formula<'a> {
    src: &'a str,
    size: Option<f32>,
    color: Option<Color32>,
    fit: bool,
}

impl<'a> Formula<'a> {
    /// A formula in the LaTeX subset of this module.
    pub fn new(src: &'a str) -> Self {
        Formula {
            src,
            size: None,
            color: None,
            fit: true,
        }
    }

    /// Keep the natural size even where the available width is less (a grid cell, whose
    /// width is last frame's column width, would otherwise shrink a wider entry).
    pub fn natural(mut self) -> Self {
        self.fit = false;
        self
    }

    /// Its font size in points (default [`base_size`]).
    pub fn size(mut self, size: f32) -> Self {
        self.size = Some(size);
        self
    }

    /// Its colour (default the ui's text colour).
    pub fn color(mut self, color: Color32) -> Self {
        self.color = Some(color);
        self
    }
}

impl Widget for Formula<'_> {
    fn ui(self, ui: &mut Ui) -> Response {
        let base = self.size.unwrap_or_else(|| base_size(ui));
        let mut laid = layout(ui.ctx(), self.src, base);
        let available = ui.available_width();
        if self.fit && laid.width > available && available > 1.0 {
            // Quantised so a slowly resizing panel does not fill the cache.
            let scale = (available / laid.width).max(MIN_FIT_SCALE);
            let size = (base * scale * 4.0).floor() / 4.0;
            laid = layout(ui.ctx(), self.src, size);
        }
        let row = ui.text_style_height(&egui::TextStyle::Body);
        // Symmetric about the math axis, so text beside it (centred) sits on the axis.
        let half = (laid.ascent - laid.axis)
            .max(laid.descent + laid.axis)
            .max(row / 2.0)
            + 1.0;
        let (rect, response) =
            ui.allocate_exact_size(vec2(laid.width.ceil(), (2.0 * half).ceil()), Sense::hover());
        response
            .widget_info(|| WidgetInfo::labeled(egui::Role::Label, ui.is_enabled(), &laid.plain));
        if ui.is_rect_visible(rect) {
            let color = self.color.unwrap_or_else(|| ui.visuals().text_color());
            let origin = pos2(rect.left(), rect.center().y + laid.axis);
            paint(ui.painter(), &laid, origin, color);
        }
        response
    }
}

fn round_to_pixel(p: Pos2, ppp: f32) -> Pos2 {
    pos2((p.x * ppp).round() / ppp, (p.y * ppp).round() / ppp)
}

/// Paint a layout with its baseline's left end at `origin`.
pub fn paint(painter: &egui::Painter, laid: &Laid, origin: Pos2, color: Color32) {
    let ppp = painter.pixels_per_point();
    let origin = round_to_pixel(origin, ppp);
    for item in &laid.items {
        match item {
            Item::Text {
                pos,
                galley,
                bold,
                size,
                ..
            } => {
                let at = round_to_pixel(origin + pos.to_vec2(), ppp);
                painter.galley(at, galley.clone(), color);
                if *bold {
                    let dx = (size * 0.05).max(1.0 / ppp);
                    painter.galley(at + vec2(dx, 0.0), galley.clone(), color);
                }
            }
            Item::Rule(r) => {
                let r = r.translate(origin.to_vec2());
                // Whole pixels, at least one: a crisp bar at every zoom.
                let top = (r.min.y * ppp).round();
                let bottom = (r.max.y * ppp).round().max(top + 1.0);
                let rect = Rect::from_x_y_ranges(r.x_range(), top / ppp..=bottom / ppp);
                painter.rect_filled(rect, 0.0, color);
            }
            Item::Stroke { points, width } => {
                let pts: Vec<Pos2> = points.iter().map(|p| origin + p.to_vec2()).collect();
                painter.add(Shape::line(pts, Stroke::new(*width, color)));
            }
        }
    }
}

/// Add a typeset formula: one widget sized to its content, never wrapped (scaled down to
/// the available width if too wide), in the ui's text colour, its [`plain`] text as its
/// accessibility label.
///
/// Live values go beside it as text:
/// ```ignore
/// ui.horizontal(|ui| {
///     formula::show(ui, formula::catalogue::NELBO);
///     ui.label("= 2.04 ± 0.39 nats");
/// });
/// ```
pub fn show(ui: &mut Ui, src: &str) -> Response {
    ui.add(Formula::new(src))
}

/// Text with inline formulas between `$` signs, as one widget wrapped between words at the
/// available width: `"the weight $w_t$ of $\\bar\\alpha_t$"`. Words are at the Body
/// size, formulas at [`base_size`], all on a common baseline; a formula never breaks. Its
/// accessibility label is the [`plain`] text of the whole. A `$` without a partner is
/// drawn as text; text without `$` is ordinary wrapped text.
pub fn rich(ui: &mut Ui, src: &str) -> Response {
    let laid = layout_rich(ui, src, ui.available_width().max(1.0));
    let (rect, response) = ui.allocate_exact_size(laid.size, Sense::hover());
    response.widget_info(|| WidgetInfo::labeled(egui::Role::Label, ui.is_enabled(), &laid.plain));
    if ui.is_rect_visible(rect) {
        laid.paint(ui.painter(), rect.min, ui.visuals().text_color());
    }
    response
}

/// A piece of a [`RichLaid`] line: its left x and its layout.
type Placed = (f32, Arc<Laid>);

/// Text with inline formulas laid out in lines (see [`rich`]).
pub struct RichLaid {
    /// Each line: its pieces (left x, layout) and its top y.
    lines: Vec<(f32, Vec<Placed>)>,
    /// The box it takes (points).
    pub size: Vec2,
    /// The whole as plain text (formulas by [`plain`]).
    pub plain: String,
}

impl RichLaid {
    /// Paint with the box's top-left corner at `origin`.
    pub fn paint(&self, painter: &egui::Painter, origin: Pos2, color: Color32) {
        for (baseline, pieces) in &self.lines {
            for (x, laid) in pieces {
                paint(painter, laid, origin + vec2(*x, *baseline), color);
            }
        }
    }
}

/// Lay out text with inline `$` formulas (see [`rich`]) in lines of at most `width` points.
pub fn layout_rich(ui: &Ui, src: &str, width: f32) -> RichLaid {
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    let math = base_size(ui);
    // Pieces (layout, whether a space precedes it): a line may break only at a space.
    let mut pieces: Vec<(Arc<Laid>, bool)> = Vec::new();
    let mut plain_text = String::new();
    let mut space = false;
    for (k, part) in split_dollars(src).into_iter().enumerate() {
        if k % 2 == 1 {
            let mut laid = layout(ui.ctx(), part, math);
            if laid.width > width && width > 1.0 {
                // Too wide for a line of its own: smaller, as the widget does.
                let scale = (width / laid.width).max(MIN_FIT_SCALE);
                laid = layout(ui.ctx(), part, (math * scale * 4.0).floor() / 4.0);
            }
            pieces.push((laid, space));
            plain_text.push_str(&plain(part));
            space = false;
            continue;
        }
        plain_text.push_str(part);
        let mut rest = part;
        while !rest.is_empty() {
            let trimmed = rest.trim_start();
            space |= trimmed.len() < rest.len();
            let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
            if end > 0 {
                // Braces and backslashes would end or start a command: not ours in text.
                let word: String = trimmed[..end]
                    .chars()
                    .filter(|c| !matches!(c, '{' | '}' | '\\'))
                    .collect();
                pieces.push((layout(ui.ctx(), &format!("\\text{{{word}}}"), body), space));
                space = false;
            }
            rest = &trimmed[end..];
        }
    }
    let gap = body * 0.28;
    let row = ui.text_style_height(&egui::TextStyle::Body);
    // Lines of (x, piece), with their ascent and descent.
    let mut lines: Vec<(Vec<Placed>, f32, f32)> = Vec::new();
    let mut x = 0.0_f32;
    let mut used = 0.0_f32;
    let mut k = 0;
    while k < pieces.len() {
        // A word: this piece and the ones glued to it (no space between).
        let mut end = k + 1;
        while end < pieces.len() && !pieces[end].1 {
            end += 1;
        }
        let w: f32 = pieces[k..end].iter().map(|p| p.0.width).sum();
        let lead = if x > 0.0 { gap } else { 0.0 };
        let line = match lines.last_mut() {
            Some(line) if x == 0.0 || x + lead + w <= width => {
                x += lead;
                line
            }
            _ => {
                x = 0.0;
                lines.push((Vec::new(), row * 0.75, row * 0.25));
                let last = lines.len() - 1;
                &mut lines[last]
            }
        };
        for (laid, _) in &pieces[k..end] {
            line.0.push((x, laid.clone()));
            line.1 = line.1.max(laid.ascent);
            line.2 = line.2.max(laid.descent);
            x += laid.width;
        }
        used = used.max(x);
        k = end;
    }
    let mut top = 0.0;
    let mut placed = Vec::with_capacity(lines.len());
    for (pieces, ascent, descent) in lines {
        placed.push((top + ascent, pieces));
        top += ascent + descent;
    }
    RichLaid {
        lines: placed,
        size: vec2(used.ceil(), top.max(row).ceil()),
        plain: plain_text,
    }
}

/// `src` split at `$` signs into text, formula, text, ...; a last `$` without its partner
/// stays in the text.
fn split_dollars(src: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = src.split('$').collect();
    if parts.len().is_multiple_of(2) {
        // An odd number of `$`: glue the unpaired tail back as text.
        let start = src.rfind('$').unwrap_or(src.len());
        parts.pop();
        parts.pop();
        let before = &src[..start];
        let from = before.rfind('$').map_or(0, |i| i + 1);
        parts.push(&src[from..]);
    }
    parts
}
