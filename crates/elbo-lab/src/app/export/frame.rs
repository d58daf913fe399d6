//! One export, drawn off screen: its own copy of the model (the window's settings, each
//! frame with its own t), its own results (the jobs' functions, on their own threads or
//! inline), the plot's tab drawn into the [`Offscreen`] context, and the plot cut out under
//! a title strip that carries its legend.
//!
//! ```text
//! ExportRun::step:  request the work the tab wants at the frame's t  ->  wait (Ok(None))
//!                   all in: pass 1 lays the tab out (where is the plot, its legend row)
//!                           pass 2 adds the title strip below the tab, then is rendered
//!                   crop the strip and the plot, stack them: the frame
//! ```

use std::sync::Arc;

use egui::{Pos2, Rect, RichText, Vec2, vec2};
use image::{Rgba, RgbaImage};

use super::super::inputs::Freshness;
use super::super::jobs::{AppOptions, Jobs, Want, worst};
use super::super::model::{Applied, Model, Overlay};
use super::super::plot_util::{LegendEntry, LegendLog, legend_row};
use super::super::settings::{EvidenceStep, Settings, View};
use super::super::training::Training;
use super::super::views::editor::DataEditor;
use super::super::views::step::part_of_plot;
use super::super::views::tab::{T_VARYING_PLOTS, varies_with_t};
use super::super::views::{Tabs, ViewCtx, WindowState};
use super::capture::{crop, legend_above, plot_rect};
use super::offscreen::Offscreen;
use super::request::{ExportRequest, check_gif, check_scale};

/// The size (points) a tab is laid out in for an export: the app's default window less its
/// side panel, so each plot has the proportions it has on screen.
pub const CANVAS: Vec2 = vec2(1000.0, 720.0);
/// Room (points) below the tab where the title strip is laid out.
const STRIP_ROOM: f32 = 320.0;
/// Margin (points) around the title strip's text.
const STRIP_MARGIN: f32 = 6.0;
/// How many layout passes a frame may take to settle.
const MAX_PASSES: usize = 4;

/// The tab that draws the plot `name` and the plot's label (the export dialog's name for it).
///
/// # Errors
/// An unknown name, with every valid one.
pub fn find_plot(name: &str) -> Result<(View, String), String> {
    View::ALL
        .into_iter()
        .find_map(|v| {
            v.plots()
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, label)| (v, label))
        })
        .ok_or_else(|| {
            let all: Vec<String> = View::ALL
                .into_iter()
                .flat_map(|v| v.plots().into_iter().map(|(n, _)| n))
                .collect();
            format!(
                "no plot is called \"{name}\"; the plots: {}",
                all.join(", ")
            )
        })
}

/// A GIF shows a plot that changes with t.
///
/// # Errors
/// The plot does not (it would repeat one picture): says so and names those that do.
pub fn check_varies(plot: &str) -> Result<(), String> {
    if varies_with_t(plot) {
        return Ok(());
    }
    let label = find_plot(plot).map_or_else(|_| String::new(), |(_, l)| format!(" ({l})"));
    Err(format!(
        "the plot \"{plot}\"{label} does not change with t, so a GIF would repeat one picture: export it as a PNG, or pick a plot drawn at t: {}",
        T_VARYING_PLOTS.join(", ")
    ))
}

/// A copy of `model` for an export: the same settings and inputs (shared, not rebuilt),
/// its own t and toggles from then on.
pub fn copy_model(model: &Model) -> Model {
    let mut copy = Model::new(Settings::default());
    copy.settings = model.settings.clone();
    let a = &model.applied;
    copy.applied = Applied {
        data_settings: a.data_settings.clone(),
        schedule_settings: a.schedule_settings.clone(),
        model: a.model.clone(),
        inputs: a.inputs.clone(),
        findings: a.findings.clone(),
        schedule_label: a.schedule_label.clone(),
    };
    copy.overlays = model
        .overlays
        .iter()
        .map(|o| Overlay {
            path: o.path.clone(),
            name: o.name.clone(),
            class_name: o.class_name.clone(),
            prediction_type: o.prediction_type.clone(),
            label: o.label.clone(),
            spec: o.spec.clone(),
            notes: o.notes.clone(),
            schedule: Arc::clone(&o.schedule),
        })
        .collect();
    copy.playing = false;
    copy
}

/// An export in progress: what it draws from and how far it is.
pub struct ExportRun {
    request: ExportRequest,
    view: View,
    label: String,
    model: Model,
    jobs: Jobs,
    plan: Vec<usize>,
    done: usize,
    scale: f32,
    style: Arc<egui::Style>,
    size: Option<(u32, u32)>,
    last: Option<Vec<u8>>,
    repeated: usize,
}

impl ExportRun {
    /// Check `request` and set up its drawing from `model` (a copy: see [`copy_model`]),
    /// with results computed as `options` say (`repaint` is woken when one arrives) and
    /// drawn in `style` (the window's text sizes and theme).
    ///
    /// # Errors
    /// One line naming what is wrong with the request.
    pub fn new(
        request: ExportRequest,
        mut model: Model,
        options: AppOptions,
        repaint: Option<egui::Context>,
        style: Arc<egui::Style>,
    ) -> Result<Self, String> {
        let scale = check_scale(request.scale())?;
        let (view, label) = find_plot(request.plot_name())?;
        let plan = match &request {
            ExportRequest::Gif(r) => {
                check_varies(&r.plot)?;
                check_gif(r, model.steps())?
            }
            ExportRequest::Png(_) => vec![model.t()],
        };
        if request.path().as_os_str().is_empty() {
            return Err("no file name: type a path".into());
        }
        // The Evidence tab draws one step at a time: the one with the plot.
        if view == View::Evidence {
            model.settings.toggles.evidence_step = match request.plot_name() {
                "vae_latent" | "vae_marginal" => EvidenceStep::Vae,
                "evidence_log_snr" | "evidence_convergence" => EvidenceStep::LogSnr,
                _ => EvidenceStep::Diffusion,
            };
        }
        if let Some(part) = part_of_plot(request.plot_name()) {
            model.settings.toggles.step_part = part;
        }
        if request.plot_name() == "field_v" {
            model.settings.toggles.show_v = true;
        }
        Ok(ExportRun {
            request,
            view,
            label,
            model,
            jobs: Jobs::new(options, repaint),
            plan,
            done: 0,
            scale,
            style,
            size: None,
            last: None,
            repeated: 0,
        })
    }

    /// What it was asked for.
    pub fn request(&self) -> &ExportRequest {
        &self.request
    }

    /// The plot's label (its title).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The tab that draws the plot.
    pub fn view(&self) -> View {
        self.view
    }

    /// Frames drawn.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Frames asked for.
    pub fn total(&self) -> usize {
        self.plan.len()
    }

    /// The t of the next frame (None once every frame is drawn).
    pub fn next_t(&self) -> Option<usize> {
        self.plan.get(self.done).copied()
    }

    /// The pixel size of the frames (once the first is drawn).
    pub fn size(&self) -> Option<(u32, u32)> {
        self.size
    }

    /// Frames that came out the same as the one before (0 for a plot that changes with t).
    pub fn repeated(&self) -> usize {
        self.repeated
    }

    /// Ask for the next frame's results and draw the frame once they are all in: `Ok(None)`
    /// while they are computed (or when every frame is drawn). `tabs` draw the plot
    /// (their own state: the window's, or fresh ones), `training` is what the Training tab
    /// shows.
    ///
    /// # Errors
    /// When the results failed, the plot is not drawn for these settings, or the GPU
    /// failed.
    pub fn step(
        &mut self,
        off: &mut Offscreen,
        tabs: &mut Tabs,
        training: &Training,
    ) -> Result<Option<RgbaImage>, String> {
        let Some(t) = self.next_t() else {
            return Ok(None);
        };
        self.model.settings.t = t;
        let window = WindowState::default();
        self.jobs.poll();
        let wants = {
            let ctx = self.view_ctx(training, &window);
            let mut wants = tabs.wants(self.view, &ctx);
            wants.push(Want::Elbo(ctx.elbo_key()));
            wants
        };
        for want in &wants {
            self.jobs.request(want.clone());
        }
        self.jobs.poll();
        match worst(wants.iter().map(|w| self.jobs.freshness(w))) {
            Freshness::Failed => {
                let why = self
                    .jobs
                    .reverse
                    .error()
                    .map_or_else(String::new, |e| format!(": {e}"));
                return Err(format!("the results for t = {t} failed{why}"));
            }
            // Every message in (the full ELBO after its preview, the Reverse tab's quality
            // figure after its runs).
            Freshness::Current if !self.jobs.is_busy() => {}
            _ => return Ok(None),
        }
        let image = self.draw(off, tabs, training, &window, t)?;
        let bytes = image.as_raw();
        if self.last.as_deref() == Some(bytes.as_slice()) {
            self.repeated += 1;
        }
        self.last = Some(bytes.clone());
        self.size.get_or_insert(image.dimensions());
        self.done += 1;
        Ok(Some(image))
    }

    fn view_ctx<'a>(&'a self, training: &'a Training, window: &'a WindowState) -> ViewCtx<'a> {
        ViewCtx {
            model: &self.model,
            jobs: &self.jobs,
            training,
            t: self.model.t(),
            window,
        }
    }

    /// The title strip's lines: the plot (with its t when it changes with t) and what it
    /// is of.
    fn title(&self, t: usize) -> (String, String) {
        let title = if varies_with_t(self.request.plot_name()) {
            format!("{}  \u{2014}  t = {t}", self.label)
        } else {
            self.label.clone()
        };
        let a = &self.model.applied;
        let of = format!("{}; {}", a.data_settings.label(), a.schedule_label);
        (title, of)
    }

    fn draw(
        &self,
        off: &mut Offscreen,
        tabs: &mut Tabs,
        training: &Training,
        window: &WindowState,
        t: usize,
    ) -> Result<RgbaImage, String> {
        let style = Arc::clone(&self.style);
        off.ctx.set_theme(if style.visuals.dark_mode {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        off.ctx.options_mut(|o| {
            o.dark_style = Arc::clone(&style);
            o.light_style = Arc::clone(&style);
        });
        off.ctx.all_styles_mut(|s| {
            s.animation_time = 0.0;
            s.scroll_animation = egui::style::ScrollAnimation::none();
        });
        let ctx = self.view_ctx(training, window);
        let name = self.request.plot_name().to_owned();
        let (title, of) = self.title(t);
        let fill = style.visuals.panel_fill;
        // The comparison window is the window's, never drawn over an export.
        let compare = std::mem::replace(&mut tabs.schedule.compare_open, false);
        let mut editor = DataEditor::default();
        let mut laid: Option<(Rect, Vec<LegendEntry>)> = None;
        let mut outcome = Err(format!(
            "the plot \"{name}\" did not settle in {MAX_PASSES} layout passes"
        ));
        for _ in 0..MAX_PASSES {
            let log = LegendLog::default();
            off.ctx
                .data_mut(|d| d.insert_temp(LegendLog::id(), log.clone()));
            let mut strip_h = 0.0;
            let strip_for = laid.clone();
            let output = off.pass(CANVAS + vec2(0.0, STRIP_ROOM), self.scale, |ui| {
                ui.painter().rect_filled(ui.max_rect(), 0.0, fill);
                let tab_rect = Rect::from_min_size(Pos2::ZERO, CANVAS);
                let mut tab_ui = ui.new_child(egui::UiBuilder::new().max_rect(tab_rect));
                tab_ui.set_clip_rect(tab_rect);
                editor.sync(&ctx);
                egui::Frame::central_panel(&style).show(&mut tab_ui, |ui| {
                    ui.set_min_size(ui.available_size());
                    // Commands of an export frame are not the user's: dropped.
                    let _ = tabs.ui(self.view, ui, &ctx, &mut editor);
                });
                // The strip's own legend is not one of the tab's.
                ui.ctx()
                    .data_mut(|d| d.remove::<LegendLog>(LegendLog::id()));
                if let Some((plot, entries)) = &strip_for {
                    strip_h = strip(ui, plot.width(), (&title, &of), entries);
                }
            });
            let plot = plot_rect(&off.ctx, &name).ok_or_else(|| {
                format!(
                    "the plot \"{name}\" is not drawn for these settings (the {} tab draws {} here)",
                    self.view.label(),
                    drawn_plots(&off.ctx, self.view)
                )
            });
            let plot = match plot {
                Ok(p) => p,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let rows = log.0.lock().map(|r| r.clone()).unwrap_or_default();
            let entries = legend_above(plot, &rows).unwrap_or_default().to_vec();
            let settled = strip_for.as_ref().is_some_and(|(r, e)| {
                (r.min - plot.min).length() < 0.5
                    && (r.size() - plot.size()).length() < 0.5
                    && *e == entries
            });
            if settled {
                outcome = off.render(output).and_then(|image| {
                    let strip_rect =
                        Rect::from_min_size(Pos2::new(0.0, CANVAS.y), vec2(plot.width(), strip_h));
                    let strip = crop(&image, strip_rect, self.scale)?;
                    let body = crop(&image, plot, self.scale)?;
                    Ok(self.compose(&strip, &body, fill))
                });
                break;
            }
            laid = Some((plot, entries));
        }
        off.ctx.data_mut(|d| d.remove::<LegendLog>(LegendLog::id()));
        tabs.schedule.compare_open = compare;
        outcome
    }

    /// The strip over the plot; every frame of a GIF has the first frame's size.
    fn compose(&self, strip: &RgbaImage, body: &RgbaImage, fill: egui::Color32) -> RgbaImage {
        let natural = (body.width(), strip.height() + body.height());
        let (w, h) = self.size.unwrap_or(natural);
        let [r, g, b, _] = fill.to_srgba_unmultiplied();
        let mut out = RgbaImage::from_pixel(w, h, Rgba([r, g, b, 255]));
        image::imageops::replace(&mut out, strip, 0, 0);
        image::imageops::replace(&mut out, body, 0, i64::from(strip.height()));
        // Opaque everywhere: a slide shows no holes.
        for p in out.pixels_mut() {
            p.0[3] = 255;
        }
        out
    }
}

/// The title strip: the title, what the plot is of, and the plot's legend wrapped to its
/// width, laid out below the tab (`width` points wide); its height in points.
fn strip(ui: &mut egui::Ui, width: f32, (title, of): (&str, &str), legend: &[LegendEntry]) -> f32 {
    let top = CANVAS.y;
    let rect = Rect::from_min_size(
        Pos2::new(STRIP_MARGIN, top + STRIP_MARGIN),
        vec2((width - 2.0 * STRIP_MARGIN).max(40.0), STRIP_ROOM),
    );
    let mut s = ui.new_child(
        egui::UiBuilder::new()
            .max_rect(rect)
            .layout(egui::Layout::top_down(egui::Align::Min)),
    );
    s.add(egui::Label::new(RichText::new(title).heading().strong()).wrap());
    s.add(egui::Label::new(RichText::new(of).small().weak()).wrap());
    legend_row(&mut s, true, legend);
    s.min_rect().bottom() - top + STRIP_MARGIN
}

/// The plots of `view` the last pass drew, for a message.
fn drawn_plots(ctx: &egui::Context, view: View) -> String {
    let drawn: Vec<String> = view
        .plots()
        .into_iter()
        .filter(|(n, _)| plot_rect(ctx, n).is_some())
        .map(|(n, _)| n)
        .collect();
    if drawn.is_empty() {
        "none of its plots".to_owned()
    } else {
        drawn.join(", ")
    }
}
