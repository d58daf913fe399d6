//! Drawing the data by hand: the edit and brush modes of the data plots (every plot that
//! shows p0 in data coordinates: Forward, Reverse in 2D, the Evidence tab's diffusion step
//! in 1D) and the side panel's list of components.
//!
//! ```text
//! DataEditor (one, shared by the plots and the side panel; owned by Views)
//!   draft: EditableMixture of the current data   -- rebuilt when the data change
//!   press on a handle -> drag (draft changes every frame, drawn live, nothing computes)
//!   release           -> Command::SetData(data.with_drawn(draft)) -> the views recompute
//!   click on nothing  -> a component there;  right click -> delete;  scroll -> weight
//!   brush: a stroke of points -> kernel mixture (bandwidth h) on release
//! ```
//!
//! Every edit goes through [`EditableMixture`], which refuses what would not be a mixture
//! (a non-positive variance, an empty mixture, too many components) and leaves the draft
//! as it was; the refusal is shown under the plots and in the side panel.

use std::sync::Arc;

use egui::{Color32, CursorIcon, PointerButton, Pos2, RichText, Ui};
use egui_plot::{
    Line, LineStyle, Plot, PlotPoint, PlotPoints, PlotResponse, PlotTransform, PlotUi, Points,
};

use super::ctx::ViewCtx;
use crate::app::command::Command;
use crate::app::palette::Palette;
use crate::app::plot_util::still;
use crate::app::settings::View;
use elbo_core::edit::{Axes, EditableMixture, Handle};
use elbo_core::mixture::{Component, GaussianMixture};

pub use super::super::command::EditMode;

/// Least screen distance (points) of a width or rotation handle from its centre: the
/// handles of a narrow component sit further out than 1 sd (see [`lever`]).
const MIN_HANDLE_REACH: f32 = 28.0;
/// Pixels within which a press takes a handle.
const GRAB_RADIUS: f32 = 12.0;
/// Least screen distance between two points of a brush stroke.
const BRUSH_SPACING: f32 = 5.0;
/// Most brush points one frame's pointer move adds.
const MAX_BRUSH_STEP: usize = 400;
/// Above this many components only the centres are drawn (and the selected one whole).
const FULL_DRAW_LIMIT: usize = 60;
/// Points of the live density curve of a 1D draft.
const CURVE_POINTS: usize = 400;
/// Weight factor of one scroll notch (a wheel line, or 50 points of a touchpad).
const WEIGHT_PER_NOTCH: f64 = 1.15;

/// A handle being dragged.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Grab {
    k: usize,
    handle: Handle,
    /// The lever of the handles at the press (see [`lever`]), kept through the drag so
    /// the handle stays under the pointer.
    lever: f64,
}

/// The points behind brushed data, and the drawing (its shared component list) they built.
type Painting = (Arc<Vec<Component>>, Vec<[f64; 2]>);

/// An edit of one component typed in the side panel's list.
type RowEdit = Box<dyn FnOnce(&mut EditableMixture) -> Result<(), elbo_core::edit::EditError>>;

/// The editor's state: the draft of the current data, the drag, the selection, the brush.
#[derive(Default)]
pub struct DataEditor {
    /// The data the draft was made from.
    base: Option<Arc<GaussianMixture>>,
    draft: Option<EditableMixture>,
    /// The draft differs from the data (a drag or a typed edit not yet applied).
    dirty: bool,
    grab: Option<Grab>,
    /// The plot a drag or stroke started on.
    owner: Option<egui::Id>,
    selected: Option<usize>,
    stroke: Vec<[f64; 2]>,
    /// The points behind brushed data, and the drawing they built (a new stroke on that
    /// drawing adds to them; on any other data a stroke starts a new drawing).
    painting: Option<Painting>,
    message: Option<String>,
    /// Frames left in which the data plots refit their axes to new data.
    refit: u8,
}

/// Frames the data plots refit their axes after the data change: the first draws the new
/// data, the next fits their bounds (a result of the new inputs may arrive a frame later).
const REFIT_FRAMES: u8 = 3;

impl DataEditor {
    /// Follow the current data: a new mixture (an edit applied, a preset, a file, undo)
    /// replaces the draft and ends any drag.
    pub fn sync(&mut self, ctx: &ViewCtx<'_>) {
        let data = &ctx.model.applied.inputs.data;
        if self.base.as_ref().is_some_and(|b| Arc::ptr_eq(b, data)) {
            self.refit = self.refit.saturating_sub(1);
            return;
        }
        // New data (an edit, a preset, a file, an undo) refit the axes of every data plot,
        // even where a drag had frozen them or the user had zoomed.
        self.refit = if self.base.is_some() { REFIT_FRAMES } else { 0 };
        self.base = Some(Arc::clone(data));
        self.draft = Some(EditableMixture::from_mixture(data));
        self.dirty = false;
        self.grab = None;
        self.owner = None;
        self.stroke.clear();
        self.message = None;
        if self.selected.is_some_and(|k| k >= data.len()) {
            self.selected = None;
        }
    }

    /// True while a handle is dragged or a brush stroke is painted.
    pub fn is_dragging(&self) -> bool {
        self.grab.is_some() || !self.stroke.is_empty()
    }

    /// `plot` as a data plot: in an edit mode it does not pan, zoom or scroll (a press
    /// edits the data instead); for a few frames after the data change its axes refit.
    pub fn setup<'a>(&self, plot: Plot<'a>, ctx: &ViewCtx<'_>) -> Plot<'a> {
        let plot = if self.refit > 0 && !self.is_dragging() {
            plot.reset()
        } else {
            plot
        };
        if ctx.window.edit_mode == EditMode::Off {
            return plot;
        }
        still(plot)
    }

    /// Draw the draft inside a data plot's `show` closure: the components with their
    /// handles and, while it differs from the data, the draft's density (1D). Nothing in
    /// view mode.
    pub fn draw(&self, p: &mut PlotUi<'_>, ctx: &ViewCtx<'_>) {
        if ctx.window.edit_mode == EditMode::Off {
            return;
        }
        let Some(draft) = &self.draft else { return };
        if draft.dim() != ctx.dim() {
            return;
        }
        if self.is_dragging() {
            // The axes hold still under the pointer while the shape changes.
            p.set_auto_bounds(false);
        }
        let pal = Palette::of(ctx.model.settings.dark);
        let colour = pal.param.x0;
        match ctx.window.edit_mode {
            EditMode::Components => {
                if draft.dim() == 1 {
                    self.draw_1d(p, draft, colour);
                } else {
                    self.draw_2d(p, draft, colour);
                }
            }
            EditMode::Brush => self.draw_brush(p, draft, colour, ctx),
            EditMode::Off => {}
        }
    }

    fn draw_1d(&self, p: &mut PlotUi<'_>, draft: &EditableMixture, colour: Color32) {
        let bounds = p.plot_bounds();
        let (lo, hi) = (bounds.min()[0], bounds.max()[0]);
        if self.dirty {
            p.line(
                Line::new("p0 as edited", density_curve(draft, lo, hi))
                    .color(colour)
                    .width(3.0)
                    .style(LineStyle::dashed_loose()),
            );
        }
        let all = draft.len() <= FULL_DRAW_LIMIT;
        for k in 0..draft.len() {
            let selected = self.selected == Some(k);
            if all || selected {
                let (w, m, sd) = component_1d(draft, k);
                let bump: Vec<[f64; 2]> = (0..=120)
                    .map(|i| {
                        let x = m - 4.0 * sd + 8.0 * sd * i as f64 / 120.0;
                        [x, w * normal(x, m, sd)]
                    })
                    .collect();
                p.line(
                    Line::new("components", bump)
                        .color(colour.gamma_multiply(if selected { 0.9 } else { 0.5 }))
                        .width(if selected { 2.0 } else { 1.0 })
                        .style(LineStyle::dashed_dense())
                        .allow_hover(false),
                );
            }
        }
        let centres: Vec<[f64; 2]> = (0..draft.len())
            .map(|k| handle_points(draft, k, 1.0)[0])
            .collect();
        p.points(
            Points::new("component centres", centres)
                .radius(5.0)
                .color(colour)
                .allow_hover(false),
        );
        if let Some(k) = self.selected.filter(|&k| k < draft.len()) {
            self.draw_selected(p, draft, k, colour);
        }
    }

    /// The lever of component `k`'s handles as drawn now: the grab's while it is dragged.
    fn lever_of(&self, draft: &EditableMixture, k: usize, tr: &PlotTransform) -> f64 {
        match self.grab {
            Some(g) if g.k == k => g.lever,
            _ => lever(draft, k, tr),
        }
    }

    fn draw_2d(&self, p: &mut PlotUi<'_>, draft: &EditableMixture, colour: Color32) {
        let all = draft.len() <= FULL_DRAW_LIMIT;
        let centres: Vec<[f64; 2]> = (0..draft.len()).map(|k| draft.means()[k]).collect();
        p.points(
            Points::new("component centres", centres)
                .radius(if all { 3.5 } else { 2.5 })
                .color(colour)
                .allow_hover(false),
        );
        for k in 0..draft.len() {
            let selected = self.selected == Some(k);
            if all || selected {
                let Ok(h) = draft.handles(k) else { continue };
                let ring: Vec<[f64; 2]> = (0..=64)
                    .map(|i| {
                        let a = std::f64::consts::TAU * i as f64 / 64.0;
                        let (s, c) = a.sin_cos();
                        [
                            h.centre[0] + c * h.axis1[0] + s * h.axis2[0],
                            h.centre[1] + c * h.axis1[1] + s * h.axis2[1],
                        ]
                    })
                    .collect();
                p.line(
                    Line::new("components (1 sd)", ring)
                        .color(if selected {
                            colour
                        } else {
                            colour.gamma_multiply(0.7)
                        })
                        .width(if selected { 2.5 } else { 1.5 })
                        .allow_hover(false),
                );
            }
        }
        if let Some(k) = self.selected.filter(|&k| k < draft.len()) {
            self.draw_selected(p, draft, k, colour);
        }
    }

    /// The selected component's centre ring and its width (and in 2D rotation) handles.
    fn draw_selected(
        &self,
        p: &mut PlotUi<'_>,
        draft: &EditableMixture,
        k: usize,
        colour: Color32,
    ) {
        let lever = self.lever_of(draft, k, p.transform());
        let spots = handle_points(draft, k, lever);
        if lever > 1.0 {
            // Thin spokes from the centre out to the handles of a narrow component.
            for end in &spots[1..] {
                p.line(
                    Line::new("handle spokes", vec![spots[0], *end])
                        .color(colour.gamma_multiply(0.6))
                        .width(1.0)
                        .allow_hover(false),
                );
            }
        }
        p.points(
            Points::new("selected component", vec![spots[0]])
                .radius(9.0)
                .filled(false)
                .color(colour)
                .allow_hover(false),
        );
        let sizes: Vec<[f64; 2]> = spots[1..5].to_vec();
        p.points(
            Points::new("width handles", sizes)
                .radius(6.0)
                .shape(egui_plot::MarkerShape::Square)
                .color(colour)
                .allow_hover(false),
        );
        if draft.dim() == 2 {
            p.points(
                Points::new("rotation handles", spots[5..7].to_vec())
                    .radius(6.0)
                    .shape(egui_plot::MarkerShape::Diamond)
                    .filled(false)
                    .color(colour)
                    .allow_hover(false),
            );
        }
    }

    fn draw_brush(
        &self,
        p: &mut PlotUi<'_>,
        draft: &EditableMixture,
        colour: Color32,
        ctx: &ViewCtx<'_>,
    ) {
        let points = self.brush_points(ctx);
        if points.is_empty() {
            return;
        }
        let shown: Vec<[f64; 2]> = if draft.dim() == 1 {
            // On the x axis, under the density.
            points.iter().map(|q| [q[0], 0.0]).collect()
        } else {
            points.clone()
        };
        p.points(
            Points::new("brushed points", shown)
                .radius(2.5)
                .color(colour)
                .allow_hover(false),
        );
        if draft.dim() == 1 && !self.stroke.is_empty() {
            let h = ctx.model.settings.data.bandwidth;
            let n = points.len() as f64;
            let bounds = p.plot_bounds();
            let (lo, hi) = (bounds.min()[0], bounds.max()[0]);
            let curve = curve_on(lo, hi, points.len(), |x| {
                points.iter().map(|q| normal(x, q[0], h)).sum::<f64>() / n
            });
            p.line(
                Line::new("p0 as painted", curve)
                    .color(colour)
                    .width(3.0)
                    .style(LineStyle::dashed_loose()),
            );
        }
    }

    /// Every point of the drawing a stroke would build: the painting the current data came
    /// from (if they did) and the stroke in progress.
    fn brush_points(&self, ctx: &ViewCtx<'_>) -> Vec<[f64; 2]> {
        let mut points = match (&self.painting, &ctx.model.applied.data_settings.drawn) {
            (Some((made, pts)), Some(drawn)) if Arc::ptr_eq(made, &drawn.components) => pts.clone(),
            _ => Vec::new(),
        };
        points.extend_from_slice(&self.stroke);
        points
    }

    /// Handle the pointer on a data plot after its `show`: presses, drags, clicks and
    /// scrolling edit the draft; a release (or a click) applies it.
    pub fn respond(&mut self, ui: &Ui, resp: &PlotResponse<()>, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        if ctx.window.edit_mode == EditMode::Off
            || ctx.dim() != self.draft.as_ref().map_or(0, |d| d.dim())
            // A drag or stroke belongs to the plot it started on (the Reverse tab has two).
            || self.owner.is_some_and(|o| o != resp.response.id)
        {
            return commands;
        }
        match ctx.window.edit_mode {
            EditMode::Components => self.respond_components(ui, resp, ctx, &mut commands),
            EditMode::Brush => self.respond_brush(ui, resp, ctx, &mut commands),
            EditMode::Off => {}
        }
        commands
    }

    fn respond_components(
        &mut self,
        ui: &Ui,
        resp: &PlotResponse<()>,
        ctx: &ViewCtx<'_>,
        commands: &mut Vec<Command>,
    ) {
        let r = &resp.response;
        let tr = &resp.transform;
        let (hover, press) = {
            let Some(draft) = &self.draft else { return };
            let hover = r.hover_pos().and_then(|pos| self.hit(draft, tr, pos));
            let press = if r.drag_started_by(PointerButton::Primary) {
                let origin = ui
                    .input(|i| i.pointer.press_origin())
                    .or(r.interact_pointer_pos());
                origin.and_then(|pos| self.hit(draft, tr, pos))
            } else {
                None
            };
            (hover, press)
        };
        if let Some(grab) = press {
            self.grab = Some(grab);
            self.owner = Some(r.id);
            self.selected = Some(grab.k);
        }
        if let Some(grab) = self.grab {
            if let Some(pos) = r.interact_pointer_pos() {
                let mut point = data_point(tr, pos, ctx.dim());
                if let Some(draft) = &mut self.draft {
                    if grab.handle != Handle::Centre {
                        // The handle sits `lever` times further out than the sd it sets.
                        let c = draft.means()[grab.k];
                        point = [
                            c[0] + (point[0] - c[0]) / grab.lever,
                            c[1] + (point[1] - c[1]) / grab.lever,
                        ];
                    }
                    // A drag changes its own component only: compare that one.
                    let of = |d: &EditableMixture| {
                        (
                            d.means().get(grab.k).copied(),
                            d.covs().get(grab.k).copied(),
                        )
                    };
                    let before = of(draft);
                    match draft.drag(grab.k, grab.handle, point) {
                        Ok(()) => {
                            self.dirty |= of(draft) != before;
                            self.message = None;
                        }
                        Err(e) => self.message = Some(e.to_string()),
                    }
                }
            }
            ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
            if !r.dragged() || r.drag_stopped() {
                self.grab = None;
                self.owner = None;
                self.commit(ctx, commands);
            }
            return;
        }
        match hover {
            Some(g) => ui.ctx().set_cursor_icon(match g.handle {
                Handle::Centre => CursorIcon::Grab,
                Handle::Axis1 | Handle::Axis2 => CursorIcon::ResizeHorizontal,
                Handle::Rotation => CursorIcon::Alias,
            }),
            None if r.hovered() => ui.ctx().set_cursor_icon(CursorIcon::Crosshair),
            None => {}
        }
        if r.clicked_by(PointerButton::Primary)
            && let Some(pos) = r.interact_pointer_pos()
        {
            match hover {
                Some(g) => self.selected = Some(g.k),
                None => {
                    let point = data_point(tr, pos, ctx.dim());
                    self.edit(ctx, commands, |d| d.add_at(point).map(Some));
                }
            }
        }
        if r.clicked_by(PointerButton::Secondary)
            && let Some(g) = hover
        {
            self.delete(ctx, commands, g.k);
        }
        let notches = wheel_notches(ui);
        if r.hovered() && notches != 0.0 {
            let target = hover.map(|g| g.k).or(self.selected);
            if let Some(k) = target {
                let factor = WEIGHT_PER_NOTCH.powf(notches);
                self.selected = Some(k);
                self.edit(ctx, commands, |d| {
                    let w = (d.weights()[k] * factor).clamp(1e-6, 1.0);
                    d.set_weight(k, w).map(|()| Some(k))
                });
            }
        }
    }

    fn respond_brush(
        &mut self,
        ui: &Ui,
        resp: &PlotResponse<()>,
        ctx: &ViewCtx<'_>,
        commands: &mut Vec<Command>,
    ) {
        let r = &resp.response;
        let tr = &resp.transform;
        if r.hovered() {
            ui.ctx().set_cursor_icon(CursorIcon::Crosshair);
        }
        let painting = r.dragged_by(PointerButton::Primary) || r.clicked_by(PointerButton::Primary);
        if painting && let Some(pos) = r.interact_pointer_pos() {
            let dim = ctx.dim();
            match self.stroke.last() {
                None => self.stroke.push(data_point(tr, pos, dim)),
                Some(last) => {
                    // Points every BRUSH_SPACING along the way from the last one, however
                    // far the pointer went in one frame (in 1D only x counts).
                    let at = tr.position_from_point(&PlotPoint::new(last[0], last[1]));
                    let from = if dim == 1 { Pos2::new(at.x, pos.y) } else { at };
                    let d = from.distance(pos);
                    // (A hair over the spacing counts, so that a move of exactly k spacings
                    // paints k points whatever the rounding of the screen transform.)
                    let n = (((d + 1e-3) / BRUSH_SPACING).floor() as usize).min(MAX_BRUSH_STEP);
                    for i in 1..=n {
                        let q = from + (pos - from) * (i as f32 * BRUSH_SPACING / d);
                        self.stroke.push(data_point(tr, q, dim));
                    }
                }
            }
        }
        if !self.stroke.is_empty() {
            self.owner = Some(r.id);
        }
        if !self.stroke.is_empty() && (r.clicked() || r.drag_stopped() || !r.dragged()) {
            self.end_stroke(ctx, commands);
        }
    }

    /// Make the painting and the stroke in progress the data (on release).
    fn end_stroke(&mut self, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        {
            let points = self.brush_points(ctx);
            self.stroke.clear();
            self.owner = None;
            let rows: Vec<Vec<f64>> = points.iter().map(|q| q[..ctx.dim()].to_vec()).collect();
            match EditableMixture::from_points(&rows, ctx.model.settings.data.bandwidth) {
                Ok(m) => {
                    let data = ctx.model.applied.data_settings.with_drawn(&m.to_mixture());
                    if let Some(drawn) = &data.drawn {
                        self.painting = Some((Arc::clone(&drawn.components), points));
                    }
                    self.message = None;
                    commands.push(Command::SetData(data));
                }
                Err(e) => self.message = Some(format!("the brush stroke: {e}")),
            }
        }
    }

    /// The handle under the screen position `pos`: the selected component's handles
    /// first, then the nearest centre.
    fn hit(&self, draft: &EditableMixture, tr: &PlotTransform, pos: Pos2) -> Option<Grab> {
        let near = |q: [f64; 2]| {
            tr.position_from_point(&PlotPoint::new(q[0], q[1]))
                .distance(pos)
        };
        if let Some(k) = self.selected.filter(|&k| k < draft.len()) {
            let lever = self.lever_of(draft, k, tr);
            let spots = handle_points(draft, k, lever);
            let kinds = [
                Handle::Centre,
                Handle::Axis1,
                Handle::Axis1,
                Handle::Axis2,
                Handle::Axis2,
                Handle::Rotation,
                Handle::Rotation,
            ];
            let count = if draft.dim() == 1 { 3 } else { 7 };
            let best = spots[..count]
                .iter()
                .zip(kinds)
                .map(|(q, h)| (near(*q), h))
                .filter(|(d, _)| *d <= GRAB_RADIUS)
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, handle)) = best {
                return Some(Grab { k, handle, lever });
            }
        }
        (0..draft.len())
            .map(|k| (near(handle_points(draft, k, 1.0)[0]), k))
            .filter(|(d, _)| *d <= GRAB_RADIUS)
            // The later component is drawn on top: it wins a tie.
            .min_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, k)| Grab {
                k,
                handle: Handle::Centre,
                lever: 1.0,
            })
    }

    /// Apply `change` to the draft and then to the data; the change returns the component
    /// to select. On a refusal the draft stays and the message says why.
    fn edit(
        &mut self,
        ctx: &ViewCtx<'_>,
        commands: &mut Vec<Command>,
        change: impl FnOnce(&mut EditableMixture) -> Result<Option<usize>, elbo_core::edit::EditError>,
    ) {
        let Some(draft) = &mut self.draft else { return };
        match change(draft) {
            Ok(select) => {
                self.selected = select;
                self.dirty = true;
                self.message = None;
                self.commit(ctx, commands);
            }
            Err(e) => self.message = Some(e.to_string()),
        }
    }

    fn delete(&mut self, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>, k: usize) {
        self.edit(ctx, commands, |d| d.delete(k).map(|()| None));
    }

    /// Apply the draft as the data (when it differs from them).
    fn commit(&mut self, ctx: &ViewCtx<'_>, commands: &mut Vec<Command>) {
        if !self.dirty {
            return;
        }
        if let Some(draft) = &self.draft {
            commands.push(Command::SetData(
                ctx.model
                    .applied
                    .data_settings
                    .with_drawn(&draft.to_mixture()),
            ));
        }
    }

    /// Keys of the edit mode (Delete removes the selected component); run once a frame.
    pub fn keys(&mut self, ui: &Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        // Esc cancels a drag or a stroke: back to the data (the same Esc leaves the mode).
        if self.is_dragging() && ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            self.grab = None;
            self.owner = None;
            self.stroke.clear();
            self.draft = Some(EditableMixture::from_mixture(
                &ctx.model.applied.inputs.data,
            ));
            self.dirty = false;
        }
        // A drag or stroke whose button is up is over, wherever the pointer is (its plot may
        // even be gone: a tab changed by a key mid-drag).
        if self.is_dragging() && !ui.input(|i| i.pointer.any_down()) {
            if self.grab.take().is_some() {
                self.commit(ctx, &mut commands);
            }
            if !self.stroke.is_empty() {
                self.end_stroke(ctx, &mut commands);
            }
            self.owner = None;
        }
        if ctx.window.edit_mode != EditMode::Components || ui.ctx().egui_wants_keyboard_input() {
            return commands;
        }
        let delete =
            ui.input(|i| i.key_pressed(egui::Key::Delete) || i.key_pressed(egui::Key::Backspace));
        if delete && let Some(k) = self.selected {
            self.delete(ctx, &mut commands, k);
        }
        commands
    }

    /// The one-line hint above the plots in an edit mode (the whole text on hover), or the
    /// refusal of the last edit in its place.
    pub fn hint(&self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let pal = Palette::of_ui(ui);
        let view = ctx.model.settings.view;
        if ctx.window.edit_mode != EditMode::Off && !view.shows_data(ctx) {
            // A tab without a plot of p0: say where the data can be drawn.
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new("This tab has no plot of the data to edit.")
                        .color(pal.param.x0),
                );
                if ui
                    .button("Edit on the Forward tab")
                    .on_hover_text("Open the Forward tab, whose data plot takes the edits (so do the Reverse tab's clouds in 2D and the Evidence tab's density in 1D)")
                    .clicked()
                {
                    commands.push(Command::SetView(View::Forward));
                }
            });
            return commands;
        }
        let (short, long) = match ctx.window.edit_mode {
            EditMode::Off => return commands,
            EditMode::Components => (
                "Editing p0: click adds a component, drag moves or resizes it, the wheel sets its weight, right-click deletes. Ctrl+Z undoes, Esc leaves.",
                "Editing the data p0. Click on an empty spot to add a component there. Drag a centre (dot) to move a component; click it to select it and show its handles: drag a square to change its width (2D: each axis), drag a diamond to turn it. The mouse wheel over a centre (or anywhere, for the selected one) sets its weight; the others keep their ratios. Right-click a centre, or press Delete, to remove it. The views recompute when the mouse is released. Ctrl+Z undoes, Ctrl+Shift+Z redoes; E or Esc leaves the edit mode.",
            ),
            EditMode::Brush => (
                "Brush: paint points; on release they become a kernel mixture (bandwidth h). Ctrl+Z undoes, Esc leaves.",
                "Brush: press and drag on the plot to paint points (in 1D only x counts). On release every painted point becomes a component N(x_i, h^2 I) of equal weight, with the CSV bandwidth h of the side panel: a kernel density estimate, as a CSV of points gives. A new stroke adds to the painting; Ctrl+Z undoes a stroke; B or Esc leaves.",
            ),
        };
        // Before the first stroke, say that it replaces the data (one Ctrl+Z brings them
        // back); later strokes add to the painting.
        let short = if ctx.window.edit_mode == EditMode::Brush && self.painting.is_none() {
            "Brush: your first stroke replaces the current data by the painted points (one Ctrl+Z brings them back); later strokes add to it. Esc leaves."
        } else {
            short
        };
        let line = match &self.message {
            Some(m) => RichText::new(format!("Refused: {m}")).color(pal.error),
            None => RichText::new(short).color(pal.param.x0),
        };
        ui.add(egui::Label::new(line).truncate())
            .on_hover_text(long);
        commands
    }

    /// The side panel's part: the mode toggles, undo and redo, and the list of components
    /// with editable numbers (applied when a field is released or typed).
    pub fn panel(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> Vec<Command> {
        let mut commands = Vec::new();
        let pal = Palette::of_ui(ui);
        ui.horizontal_wrapped(|ui| {
            for (mode, key, tip) in [
                (EditMode::Components, "E", "Edit the data on the plots: add, move, resize, rotate, reweight and delete components (key E)"),
                (EditMode::Brush, "B", "Paint points on the plots; each stroke becomes a kernel density mixture with the bandwidth h below (key B)"),
            ] {
                let on = ctx.window.edit_mode == mode;
                if ui
                    .selectable_label(on, format!("{} ({key})", mode.label()))
                    .on_hover_text(tip)
                    .clicked()
                {
                    commands.push(Command::ToggleEditMode(mode));
                }
            }
            if ui
                .add_enabled(ctx.model.data_history.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Undo the last change of the data: an edit, a preset, a file or a scene (Ctrl+Z)")
                .on_disabled_hover_text("Nothing to undo")
                .clicked()
            {
                commands.push(Command::UndoData);
            }
            if ui
                .add_enabled(ctx.model.data_history.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Redo the last undone change of the data (Ctrl+Shift+Z)")
                .on_disabled_hover_text("Nothing to redo")
                .clicked()
            {
                commands.push(Command::RedoData);
            }
        });
        if let Some(m) = &self.message {
            ui.label(RichText::new(format!("Refused: {m}")).color(pal.error));
        }
        let Some(n) = self.draft.as_ref().map(EditableMixture::len) else {
            return commands;
        };
        egui::CollapsingHeader::new(format!("Components ({n})"))
            .id_salt("data_components")
            .show(ui, |ui| {
                // A copy to draw from while a row edits the draft (only while it is open).
                let Some(draft) = self.draft.clone() else {
                    return;
                };
                let rows = if draft.dim() == 1 { 1 } else { 2 };
                let row_h = rows as f32 * ui.spacing().interact_size.y
                    + (rows - 1) as f32 * ui.spacing().item_spacing.y;
                egui::ScrollArea::vertical()
                    .id_salt("data_components_list")
                    .max_height(260.0)
                    .show_rows(ui, row_h, n, |ui, range| {
                        for k in range {
                            self.component_row(ui, ctx, &draft, k, &mut commands);
                        }
                    });
            })
            .header_response
            .on_hover_text("Every component of p0: weight w (the others keep their ratios), centre, and width (1D: sd; 2D: the two axis sds and the angle of axis 1). Drag a number or click and type; it applies on release.");
        commands
    }

    fn component_row(
        &mut self,
        ui: &mut Ui,
        ctx: &ViewCtx<'_>,
        draft: &EditableMixture,
        k: usize,
        commands: &mut Vec<Command>,
    ) {
        let selected = self.selected == Some(k);
        let mut w = draft.weights()[k];
        let [mut x, mut y] = draft.means()[k];
        let mut released = false;
        let mut changed: Option<RowEdit> = None;
        let mut field =
            |ui: &mut Ui, value: &mut f64, prefix: &str, speed: f64, tip: &str| -> bool {
                let r = ui
                    .add(
                        egui::DragValue::new(value)
                            .prefix(prefix)
                            .speed(speed)
                            .max_decimals(3)
                            .update_while_editing(false),
                    )
                    .on_hover_text(tip);
                released |= r.drag_stopped() || (r.changed() && !r.dragged());
                r.changed()
            };
        ui.horizontal(|ui| {
            if ui
                .selectable_label(selected, format!("{}", k + 1))
                .on_hover_text("Select this component (its handles show on the plots)")
                .clicked()
            {
                self.selected = Some(k);
            }
            if field(
                ui,
                &mut w,
                "w ",
                0.002,
                "Weight in [0, 1]; the others are rescaled to share the rest",
            ) {
                changed = Some(Box::new(move |d| d.set_weight(k, w)));
            }
            if field(
                ui,
                &mut x,
                if draft.dim() == 1 { "m " } else { "x " },
                0.01,
                "Centre",
            ) {
                changed = Some(Box::new(move |d| d.move_to(k, [x, y])));
            }
            if draft.dim() == 2 && field(ui, &mut y, "y ", 0.01, "Centre, second coordinate") {
                changed = Some(Box::new(move |d| d.move_to(k, [x, y])));
            }
            if draft.dim() == 1 {
                let mut sd = draft.sd(k).unwrap_or(f64::NAN);
                if field(ui, &mut sd, "sd ", 0.005, "Standard deviation (> 0)") {
                    changed = Some(Box::new(move |d| d.set_sd(k, sd)));
                }
            }
            if ui
                .small_button("x")
                .on_hover_text(format!(
                    "Delete component {} (a mixture keeps at least one)",
                    k + 1
                ))
                .clicked()
            {
                self.delete(ctx, commands, k);
            }
        });
        if draft.dim() == 2
            && let Ok(axes) = draft.axes(k)
        {
            ui.horizontal(|ui| {
                ui.add_space(24.0);
                let (mut sd1, mut sd2, mut deg) = (axes.sd1, axes.sd2, axes.angle.to_degrees());
                let mut set = false;
                set |= field(
                    ui,
                    &mut sd1,
                    "sd1 ",
                    0.005,
                    "Standard deviation along axis 1 (> 0)",
                );
                set |= field(
                    ui,
                    &mut sd2,
                    "sd2 ",
                    0.005,
                    "Standard deviation along axis 2 (> 0)",
                );
                set |= field(
                    ui,
                    &mut deg,
                    "",
                    0.5,
                    "Angle of axis 1 from the x1 axis, degrees",
                );
                ui.label("°");
                if set {
                    changed = Some(Box::new(move |d| {
                        d.set_axes(
                            k,
                            Axes {
                                sd1,
                                sd2,
                                angle: deg.to_radians(),
                            },
                        )
                    }));
                }
            });
        }
        if let Some(change) = changed
            && let Some(d) = &mut self.draft
        {
            match change(d) {
                Ok(()) => {
                    self.dirty = true;
                    self.selected = Some(k);
                    self.message = None;
                }
                Err(e) => self.message = Some(e.to_string()),
            }
        }
        if released {
            self.commit(ctx, commands);
        }
    }
}

/// Mouse wheel notches up (positive) or down this frame: a line is a notch, as are 50
/// points of a touchpad's scroll.
fn wheel_notches(ui: &Ui) -> f64 {
    ui.input(|i| {
        i.raw
            .events
            .iter()
            .map(|e| match e {
                egui::Event::MouseWheel { unit, delta, .. } => {
                    let y = f64::from(delta.y);
                    match unit {
                        egui::MouseWheelUnit::Line => y,
                        egui::MouseWheelUnit::Point => y / 50.0,
                        egui::MouseWheelUnit::Page => y * 10.0,
                    }
                }
                _ => 0.0,
            })
            .sum()
    })
}

/// The data point under the screen position `pos` (1D: y is 0).
fn data_point(tr: &PlotTransform, pos: Pos2, dim: usize) -> [f64; 2] {
    let v = tr.value_from_position(pos);
    if dim == 1 { [v.x, 0.0] } else { [v.x, v.y] }
}

/// Weight, mean and sd of a 1D component.
fn component_1d(d: &EditableMixture, k: usize) -> (f64, f64, f64) {
    (d.weights()[k], d.means()[k][0], d.covs()[k].xx.sqrt())
}

fn normal(x: f64, m: f64, sd: f64) -> f64 {
    elbo_core::normal::normal_pdf(x, m, sd * sd)
}

/// The density of a 1D draft on `[lo, hi]`.
fn density_curve(d: &EditableMixture, lo: f64, hi: f64) -> PlotPoints<'static> {
    curve_on(lo, hi, d.len(), |x| {
        (0..d.len())
            .map(|k| {
                let (w, m, sd) = component_1d(d, k);
                w * normal(x, m, sd)
            })
            .sum()
    })
}

/// `density` on `[lo, hi]`, a sum of `terms` Gaussians: fewer points for many terms, so a
/// drag or a stroke stays smooth (about 200k terms a frame).
fn curve_on(lo: f64, hi: f64, terms: usize, density: impl Fn(f64) -> f64) -> PlotPoints<'static> {
    let n = (200_000 / terms.max(1)).clamp(60, CURVE_POINTS);
    (0..=n)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / n as f64;
            [x, density(x)]
        })
        .collect::<Vec<_>>()
        .into()
}

/// How many sds out component `k`'s width and rotation handles are drawn: 1, or more for
/// a component so narrow on screen that its handles would sit on its centre (at least
/// [`MIN_HANDLE_REACH`] points out).
fn lever(d: &EditableMixture, k: usize, tr: &PlotTransform) -> f64 {
    let Ok(h) = d.handles(k) else { return 1.0 };
    let screen = |q: [f64; 2]| tr.position_from_point(&PlotPoint::new(q[0], q[1]));
    let c = screen(h.centre);
    let offsets: &[[f64; 2]] = if d.dim() == 1 {
        &[h.axis1]
    } else {
        &[h.axis1, h.axis2]
    };
    let reach = offsets
        .iter()
        .map(|o| screen([h.centre[0] + o[0], h.centre[1] + o[1]]).distance(c))
        .fold(f32::INFINITY, f32::min);
    if reach.is_finite() && reach > 0.0 {
        f64::from(MIN_HANDLE_REACH / reach).max(1.0)
    } else {
        1.0
    }
}

/// Where component `k`'s handles are drawn, in plot coordinates: the centre, the two
/// axis-1 ends, the two axis-2 ends and the two rotation corners, `lever` sds out (see
/// [`lever`]). In 1D the handles sit on the component's own weighted density (the centre
/// at its peak, the width handles at m +/- lever sd); the 2D-only ones repeat the centre.
fn handle_points(d: &EditableMixture, k: usize, lever: f64) -> [[f64; 2]; 7] {
    let Ok(h) = d.handles(k) else {
        return [[0.0; 2]; 7];
    };
    let c = h.centre;
    if d.dim() == 1 {
        let (w, m, sd) = component_1d(d, k);
        let at = |x: f64| [x, w * normal(x, m, sd)];
        let centre = at(m);
        let (right, left) = (at(m + lever * sd), at(m - lever * sd));
        return [centre, right, left, centre, centre, centre, centre];
    }
    let at = |o: [f64; 2], s: f64| [c[0] + lever * s * o[0], c[1] + lever * s * o[1]];
    [
        c,
        at(h.axis1, 1.0),
        at(h.axis1, -1.0),
        at(h.axis2, 1.0),
        at(h.axis2, -1.0),
        at(h.rotation, 1.0),
        at(h.rotation, -1.0),
    ]
}
