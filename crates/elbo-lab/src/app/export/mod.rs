//! Export for slides: a PNG of one plot (its axes and labels included) at 1x, 2x or 3x, and
//! an animated GIF of the Forward or Reverse view over a range of t.
//!
//! Both work from screenshots of the window: egui draws the plot, the window's screenshot
//! is cropped to the plot's rectangle. A scale above 1x raises the zoom for the capture
//! frames and asks the window to keep its size in points (so its pixels grow and the
//! layout stays the same): the image is drawn at that resolution, never upsampled. Then
//! zoom and window size are put back. A GIF steps t over the range, waits for the view's
//! results of each t, captures one frame per t, and streams the frames to an encoder
//! thread. Every export takes a typed path; the native save dialog is optional.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use egui::{Rect, Vec2};
use image::RgbaImage;

use super::command::{Command, FileRequest};
use super::inputs::Freshness;
use super::model::{Model, StatusLine};
use super::plot_util::plot_id;
use super::settings::View;

mod gif_writer;
pub mod request;

pub use gif_writer::GifWriter;
use gif_writer::{Encoder, EncoderMessage};
use request::check_scale;
pub use request::{
    DELAY_RANGE, ExportRequest, GifRequest, MAX_FRAMES, PngRequest, SCALES, check_gif,
    suggested_name, t_plan,
};

/// How long the window may take to reach its capture size (or its old size) before the
/// export goes on without it.
const RESIZE_WAIT: Duration = Duration::from_millis(1500);
/// How long a screenshot may take before the export gives up.
const SHOT_WAIT: Duration = Duration::from_secs(10);
/// How many frames a screenshot may take (frames run back to back during an export).
const SHOT_FRAMES: u32 = 120;
/// How long the view's results of one t may take before a GIF export gives up.
const RESULTS_WAIT: Duration = Duration::from_secs(120);
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

/// A screenshot coming back, tagged with the request it answers.
struct Shot {
    seq: u64,
    image: Arc<egui::ColorImage>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Waiting for the capture zoom and window size.
    Scaling { resize_sent: bool },
    /// Taking frames; `awaiting` is the screenshot asked for.
    Capturing { awaiting: Option<u64> },
    /// Putting zoom and window size back.
    Restoring { resize_sent: bool },
    /// Waiting for the GIF encoder to finish the file.
    Encoding,
}

struct Job {
    request: ExportRequest,
    path: PathBuf,
    scale: f32,
    stage: Stage,
    since: Instant,
    /// Points of the window before the export.
    size: Vec2,
    /// The plot's rectangle (points) in the last frame, while the capture zoom settles.
    last_rect: Option<Rect>,
    /// For a GIF: the t of each frame, and the t to go back to.
    plan: Vec<usize>,
    t_before: usize,
    done: usize,
    crop_size: Option<[usize; 2]>,
    encoder: Option<Encoder>,
    /// Whether the layout of this frame shows the target t with current results.
    ready: bool,
    /// Frames since the stage began (a screenshot comes back within a frame or two).
    frames_in_stage: u32,
    /// The final message (text, is_error) once restoring ends.
    outcome: Option<StatusLine>,
    note: Option<String>,
}

impl Job {
    fn set_stage(&mut self, stage: Stage) {
        self.stage = stage;
        self.since = Instant::now();
        self.frames_in_stage = 0;
    }

    fn is_gif(&self) -> bool {
        matches!(self.request, ExportRequest::Gif(_))
    }
}

/// What the export dialog shows about a running export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportProgress {
    /// Frames captured.
    pub done: usize,
    /// Frames asked for.
    pub total: usize,
    /// What is happening.
    pub stage: String,
}

/// What the export dialog holds between frames (its fields) and the export in progress.
pub struct ExportState {
    /// The dialog is open.
    pub open: bool,
    gif: bool,
    plot: String,
    scale: u32,
    png_path: String,
    gif_path: String,
    from: usize,
    to: usize,
    frames: usize,
    delay_ms: u32,
    job: Option<Job>,
    seq: u64,
    shots: (Sender<Shot>, Receiver<Shot>),
}

impl Default for ExportState {
    fn default() -> Self {
        let dir = std::env::temp_dir();
        ExportState {
            open: false,
            gif: false,
            plot: String::new(),
            scale: 2,
            png_path: dir.join("elbo-lab-plot.png").display().to_string(),
            gif_path: dir.join("elbo-lab.gif").display().to_string(),
            from: 0,
            to: 0,
            frames: 40,
            delay_ms: 100,
            job: None,
            seq: 0,
            shots: channel(),
        }
    }
}

impl ExportState {
    /// The factor the app multiplies its zoom by (above 1 while capturing at 2x or 3x).
    pub fn zoom_scale(&self) -> f32 {
        match &self.job {
            Some(job) if !matches!(job.stage, Stage::Restoring { .. } | Stage::Encoding) => {
                job.scale
            }
            _ => 1.0,
        }
    }

    /// True while an export runs.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// The running export's progress.
    pub fn progress(&self) -> Option<ExportProgress> {
        let job = self.job.as_ref()?;
        let total = if job.is_gif() { job.plan.len() } else { 1 };
        let stage = match job.stage {
            Stage::Scaling { .. } => format!("setting up the {}x capture...", job.scale),
            Stage::Capturing { .. } if job.is_gif() => format!(
                "capturing frame {} of {total} (t = {})...",
                (job.done + 1).min(total),
                job.plan.get(job.done).copied().unwrap_or(0)
            ),
            Stage::Capturing { .. } => "capturing...".into(),
            Stage::Restoring { .. } => "restoring the window...".into(),
            Stage::Encoding => "writing the GIF...".into(),
        };
        Some(ExportProgress {
            done: job.done,
            total,
            stage,
        })
    }
}

/// The export runs beside the model: it reads the zoom and t, pauses the timeline and
/// leaves its messages in the notes; `freshness` says how a tab of a model stands.
impl ExportState {
    /// Start an export (the [`Command::ExportPlot`] arm).
    pub(super) fn start_export(
        &mut self,
        ctx: &egui::Context,
        request: ExportRequest,
        model: &mut Model,
    ) {
        match self.try_start_export(ctx, request, model) {
            Ok(()) => {
                let text = self.progress().map_or_else(String::new, |p| p.stage);
                model.notes.status = Some(StatusLine::info(text));
                ctx.request_repaint();
            }
            Err(e) => model.notes.status = Some(StatusLine::error(format!("export: {e}"))),
        }
    }

    fn try_start_export(
        &mut self,
        ctx: &egui::Context,
        request: ExportRequest,
        model: &mut Model,
    ) -> Result<(), String> {
        if self.job.is_some() {
            return Err("an export is already running (cancel it first)".into());
        }
        let scale = check_scale(request.scale())?;
        let plan = match &request {
            ExportRequest::Gif(r) => check_gif(r, model.steps(), model.settings.view)?,
            ExportRequest::Png(_) => Vec::new(),
        };
        let plot = request.plot();
        if plot_rect(ctx, plot).is_none() {
            return Err(format!(
                "the plot \"{plot}\" is not on screen: pick one of the open tab's plots"
            ));
        }
        let path = request.path();
        if path.as_os_str().is_empty() {
            return Err("no file name: type a path".into());
        }
        // Fail now, not after the capture, when the file cannot be written.
        let file =
            File::create(&path).map_err(|e| format!("could not write {}: {e}", path.display()))?;
        let encoder = match &request {
            ExportRequest::Gif(r) => match Encoder::spawn(file, r.delay_ms) {
                Ok(e) => Some(e),
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            },
            ExportRequest::Png(_) => None,
        };
        model.playing = false;
        self.job = Some(Job {
            request,
            path,
            scale,
            stage: Stage::Scaling { resize_sent: false },
            since: Instant::now(),
            size: ctx.content_rect().size(),
            last_rect: None,
            plan,
            t_before: model.t(),
            done: 0,
            crop_size: None,
            encoder,
            ready: false,
            frames_in_stage: 0,
            outcome: None,
            note: None,
        });
        Ok(())
    }

    /// Cancel the running export (the [`Command::CancelExport`] arm).
    pub(super) fn cancel_export(&mut self) {
        if let Some(job) = &mut self.job {
            if let Some(encoder) = job.encoder.take() {
                drop(encoder);
            }
            let _ = std::fs::remove_file(&job.path);
            job.outcome = Some(StatusLine::info("export cancelled"));
            if !matches!(job.stage, Stage::Restoring { .. }) {
                job.set_stage(Stage::Restoring { resize_sent: false });
            }
        }
    }

    fn fail_export(&mut self, message: String) {
        self.cancel_export();
        if let Some(job) = &mut self.job {
            job.outcome = Some(StatusLine::error(format!("export failed: {message}")));
        }
    }

    /// Advance the export before layout (from `poll_side_channels`): take the screenshot
    /// that came back, set the next t, wait for zoom and window size.
    pub(super) fn poll_export(
        &mut self,
        ctx: &egui::Context,
        model: &mut Model,
        freshness: &dyn Fn(&Model, View) -> Freshness,
    ) {
        let Some(job) = &mut self.job else {
            // Drop screenshots of a cancelled export.
            while self.shots.1.try_recv().is_ok() {}
            return;
        };
        ctx.request_repaint();
        job.ready = false;
        let waited = job.since.elapsed();
        job.frames_in_stage += 1;
        match job.stage {
            Stage::Scaling { resize_sent } => {
                let zoom_ok = (ctx.zoom_factor() - model.settings.zoom * job.scale).abs() < 1e-3;
                let size_ok = (ctx.content_rect().size() - job.size).length() < 1.0;
                // The layout settled: the last two frames put the plot at the same place
                // (a resize takes a frame to settle; text may be a point wider at 2x).
                let now = plot_rect(ctx, job.request.plot());
                let layout_ok = now.is_some_and(|r| {
                    job.last_rect.is_some_and(|l| {
                        (r.min - l.min).length() < 0.5 && (r.size() - l.size()).length() < 0.5
                    })
                });
                job.last_rect = now;
                if zoom_ok && size_ok && layout_ok {
                    job.set_stage(Stage::Capturing { awaiting: None });
                } else if zoom_ok && !resize_sent {
                    // Keep the window's size in points: its pixels grow by the scale.
                    ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(job.size));
                    job.stage = Stage::Scaling { resize_sent: true };
                } else if waited > RESIZE_WAIT {
                    job.note = Some(format!(
                        "at {}x the window could not keep its size, so the plot was laid out smaller than on screen",
                        job.scale
                    ));
                    job.set_stage(Stage::Capturing { awaiting: None });
                }
            }
            Stage::Capturing { awaiting } => {
                if let Some(seq) = awaiting {
                    let mut shot = None;
                    while let Ok(s) = self.shots.1.try_recv() {
                        if s.seq == seq {
                            shot = Some(s);
                        }
                    }
                    match shot {
                        Some(shot) => self.take_shot(ctx, &shot.image),
                        None if waited > SHOT_WAIT || job.frames_in_stage > SHOT_FRAMES => self
                            .fail_export(
                                "no screenshot came back (this renderer may not support them)"
                                    .into(),
                            ),
                        None => {}
                    }
                }
            }
            Stage::Restoring { resize_sent } => {
                let zoom_ok = (ctx.zoom_factor() - model.settings.zoom).abs() < 1e-3;
                let size_ok = (ctx.content_rect().size() - job.size).length() < 1.0;
                if zoom_ok && !size_ok && !resize_sent {
                    ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(job.size));
                    job.stage = Stage::Restoring { resize_sent: true };
                } else if zoom_ok && (size_ok || waited > RESIZE_WAIT) {
                    if job.is_gif() {
                        model.settings.t = job.t_before;
                    }
                    if job.encoder.is_some() {
                        job.set_stage(Stage::Encoding);
                    } else {
                        self.finish_export(model);
                    }
                }
            }
            Stage::Encoding => {
                let result = match &job.encoder {
                    Some(encoder) => match encoder.done.try_recv() {
                        Ok(r) => Some(r),
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Disconnected) => {
                            Some(Err("the GIF encoder stopped".to_owned()))
                        }
                    },
                    None => Some(Err("no encoder".to_owned())),
                };
                match result {
                    Some(Ok(frames)) => {
                        let size = job.crop_size.unwrap_or_default();
                        job.outcome = Some(StatusLine::info(format!(
                            "wrote {} ({frames} frames, {} x {} px)",
                            job.path.display(),
                            size[0],
                            size[1]
                        )));
                        job.encoder = None;
                        self.finish_export(model);
                    }
                    Some(Err(e)) => {
                        let _ = std::fs::remove_file(&job.path);
                        job.outcome = Some(StatusLine::error(format!(
                            "could not write {}: {e}",
                            job.path.display()
                        )));
                        job.encoder = None;
                        self.finish_export(model);
                    }
                    None => {}
                }
            }
        }
        // A GIF: show the frame's t, and note whether this frame's layout will draw it
        // with current results.
        let view = model.settings.view;
        let target = match &self.job {
            Some(job) if job.stage == (Stage::Capturing { awaiting: None }) => {
                Some((job.plan.get(job.done).copied(), job.since.elapsed()))
            }
            _ => None,
        };
        match target {
            Some((Some(t), waited)) => {
                model.settings.t = t;
                model.playing = false;
                let ready = model.t() == t;
                match freshness(model, view) {
                    Freshness::Current => {
                        if let Some(job) = &mut self.job {
                            job.ready = ready;
                        }
                    }
                    Freshness::Failed => {
                        self.fail_export(format!("the results for t = {t} failed"))
                    }
                    _ if waited > RESULTS_WAIT => {
                        self.fail_export(format!("the results for t = {t} never came"))
                    }
                    _ => {}
                }
            }
            Some((None, _)) => {
                if let Some(job) = &mut self.job {
                    job.ready = true;
                }
            }
            None => {}
        }
        if let Some(job) = &self.job {
            let text = self.progress().map_or_else(String::new, |p| p.stage);
            if job.outcome.is_none() {
                model.notes.status = Some(StatusLine::info(text));
            }
        }
    }

    fn take_shot(&mut self, ctx: &egui::Context, image: &egui::ColorImage) {
        let Some(job) = &mut self.job else {
            return;
        };
        let plot = job.request.plot().to_owned();
        let Some(rect) = plot_rect(ctx, &plot) else {
            self.fail_export(format!("the plot \"{plot}\" left the screen"));
            return;
        };
        let cropped = match crop(image, rect, ctx.pixels_per_point(), job.crop_size) {
            Ok(c) => c,
            Err(e) => {
                self.fail_export(e);
                return;
            }
        };
        job.crop_size = Some([cropped.width() as usize, cropped.height() as usize]);
        let size = job.crop_size.unwrap_or_default();
        match (&job.request, &job.encoder) {
            (ExportRequest::Png(_), _) => {
                let result = cropped
                    .save_with_format(&job.path, image::ImageFormat::Png)
                    .map_err(|e| format!("could not write {}: {e}", job.path.display()));
                match result {
                    Ok(()) => {
                        job.done = 1;
                        let note = job
                            .note
                            .as_deref()
                            .map_or(String::new(), |n| format!("; {n}"));
                        job.outcome = Some(StatusLine::info(format!(
                            "wrote {} ({} x {} px){note}",
                            job.path.display(),
                            size[0],
                            size[1]
                        )));
                        job.set_stage(Stage::Restoring { resize_sent: false });
                    }
                    Err(e) => self.fail_export(e),
                }
            }
            (ExportRequest::Gif(_), Some(encoder)) => {
                if encoder.frames.send(EncoderMessage::Frame(cropped)).is_err() {
                    self.fail_export("the GIF encoder stopped".into());
                    return;
                }
                job.done += 1;
                if job.done >= job.plan.len() {
                    let _ = encoder.frames.send(EncoderMessage::Finish);
                    job.set_stage(Stage::Restoring { resize_sent: false });
                } else {
                    job.set_stage(Stage::Capturing { awaiting: None });
                }
            }
            (ExportRequest::Gif(_), None) => self.fail_export("no encoder".into()),
        }
    }

    fn finish_export(&mut self, model: &mut Model) {
        if let Some(job) = self.job.take() {
            model.notes.status = Some(
                job.outcome
                    .unwrap_or_else(|| StatusLine::info("export finished")),
            );
        }
    }

    /// After layout (end of `frame`): when this frame drew what the export waits for, ask
    /// for its screenshot.
    pub(super) fn export_after_layout(&mut self, ctx: &egui::Context) {
        let Some(job) = &mut self.job else {
            return;
        };
        if !(job.ready && job.stage == (Stage::Capturing { awaiting: None })) {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let tx = self.shots.0.clone();
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let _ = tx.send(Shot { seq, image });
            repaint.request_repaint();
        });
        job.set_stage(Stage::Capturing {
            awaiting: Some(seq),
        });
    }

    /// The export dialog (File > Export plot for slides...).
    pub(super) fn export_window(&mut self, ctx: &egui::Context, model: &mut Model) -> Vec<Command> {
        let mut commands = Vec::new();
        if !self.open {
            return commands;
        }
        let view = model.settings.view;
        let steps = model.steps();
        let progress = self.progress();
        let status = model.notes.status.clone();
        let on_screen = plots_on_screen(ctx, view);
        let s = &mut *self;
        if s.from == 0 || s.from > steps || s.to == 0 || s.to > steps {
            // First use or a new T: the whole process, in its own direction.
            (s.from, s.to) = if view == View::Reverse {
                (steps, 1)
            } else {
                (1, steps)
            };
        }
        if !on_screen.iter().any(|(n, _)| *n == s.plot)
            && let Some((first, _)) = on_screen.first()
        {
            s.plot = first.clone();
        }
        if s.job
            .as_ref()
            .is_some_and(|j| matches!(j.stage, Stage::Scaling { .. } | Stage::Capturing { .. }))
        {
            // While frames are laid out and captured the dialog must not cover the plot
            // (nor fade in or out over it): the progress shows in a strip over the
            // timeline, which is never part of a plot, and not in the captured frame.
            let captured = s
                .job
                .as_ref()
                .is_some_and(|j| j.ready && j.stage == (Stage::Capturing { awaiting: None }));
            if let Some(p) = &progress
                && !captured
            {
                egui::Area::new(egui::Id::unique("elbo-lab export progress"))
                    .anchor(egui::Align2::LEFT_BOTTOM, egui::vec2(8.0, -8.0))
                    .order(egui::Order::Foreground)
                    .fade_in(false)
                    .show(ctx, |ui| {
                        egui::Frame::popup(ui.style()).show(ui, |ui| {
                            ui.horizontal(|ui| progress_row(ui, p, &mut commands));
                        });
                    });
            }
            return commands;
        }
        let mut open = true;
        egui::Window::new("Export for slides")
            .open(&mut open)
            .pivot(egui::Align2::RIGHT_BOTTOM)
            .default_pos(ctx.content_rect().right_bottom() - egui::vec2(16.0, 48.0))
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                s.form(
                    ui,
                    view,
                    steps,
                    &on_screen,
                    progress.as_ref(),
                    status,
                    &mut commands,
                )
            });
        if !open {
            commands.push(Command::ShowExportDialog(false));
        }
        commands
    }
}

/// An export's stage, its progress bar and a Cancel button.
fn progress_row(ui: &mut egui::Ui, p: &ExportProgress, commands: &mut Vec<Command>) {
    ui.label(&p.stage);
    ui.add(
        egui::ProgressBar::new(p.done as f32 / p.total.max(1) as f32)
            .desired_width(160.0)
            .text(format!("{} / {} frames", p.done, p.total)),
    )
    .on_hover_text("Frames captured so far");
    if ui
        .button("Cancel")
        .on_hover_text("Stop the export; the unfinished file is removed")
        .clicked()
    {
        commands.push(Command::CancelExport);
    }
}

impl ExportState {
    #[allow(clippy::too_many_arguments)]
    fn form(
        &mut self,
        ui: &mut egui::Ui,
        view: View,
        steps: usize,
        on_screen: &[(String, String)],
        progress: Option<&ExportProgress>,
        status: Option<StatusLine>,
        commands: &mut Vec<Command>,
    ) {
        if let Some(p) = progress {
            progress_row(ui, p, commands);
            return;
        }
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.gif, false, "PNG of one plot")
                .on_hover_text("One plot with its axes and labels, as a PNG image");
            ui.radio_value(&mut self.gif, true, "Animated GIF over t")
                .on_hover_text(
                    "The Forward or Reverse tab stepped over a range of t, one frame per t, looping",
                );
        });
        if on_screen.is_empty() {
            ui.label("No plot of this tab is on screen.");
            return;
        }
        let selected = on_screen
            .iter()
            .find(|(n, _)| *n == self.plot)
            .map_or("", |(_, l)| l.as_str());
        egui::ComboBox::from_label("Plot")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for (name, label) in on_screen {
                    ui.selectable_value(&mut self.plot, name.clone(), label);
                }
            })
            .response
            .on_hover_text("Which plot of the open tab to export (only those on screen)");
        ui.horizontal(|ui| {
            ui.label("Scale:");
            for s in SCALES {
                ui.radio_value(&mut self.scale, s, format!("{s}x")).on_hover_text(
                    "Pixels per point times this: the window is redrawn at that zoom for the capture, so text and lines stay sharp",
                );
            }
        });
        if self.gif {
            if !matches!(view, View::Forward | View::Reverse) {
                ui.label("A GIF shows the Forward or the Reverse tab:");
                ui.horizontal(|ui| {
                    for v in [View::Forward, View::Reverse] {
                        // Not the tab's own name: the tab row has that button.
                        if ui
                            .button(format!("Go to {}", v.label()))
                            .on_hover_text("Open this tab")
                            .clicked()
                        {
                            commands.push(Command::SetView(v));
                        }
                    }
                });
                return;
            }
            ui.horizontal(|ui| {
                ui.label("t from");
                ui.add(egui::DragValue::new(&mut self.from).range(1..=steps))
                    .on_hover_text(format!("The first frame's t, 1..={steps}"));
                ui.label("to");
                ui.add(egui::DragValue::new(&mut self.to).range(1..=steps))
                    .on_hover_text(format!(
                        "The last frame's t, 1..={steps}; below 'from' the GIF runs t down, as the reverse process does"
                    ));
            });
            ui.horizontal(|ui| {
                ui.label("Frames");
                ui.add(egui::DragValue::new(&mut self.frames).range(1..=MAX_FRAMES))
                    .on_hover_text(format!(
                        "How many frames, 1..={MAX_FRAMES}; t is spread evenly over the range"
                    ));
                ui.label("Delay (ms)");
                ui.add(egui::DragValue::new(&mut self.delay_ms).range(DELAY_RANGE))
                    .on_hover_text(format!(
                        "Time each frame stays, {}..={} ms (100 ms = 10 frames a second)",
                        DELAY_RANGE.start(),
                        DELAY_RANGE.end()
                    ));
            });
        }
        let path = if self.gif {
            &mut self.gif_path
        } else {
            &mut self.png_path
        };
        let label = ui.label("File:");
        ui.add(egui::TextEdit::singleline(path).desired_width(320.0))
            .labelled_by(label.id)
            .on_hover_text("Where to write; no dialog needed. The extension is added if missing");
        let request = if self.gif {
            ExportRequest::Gif(GifRequest {
                path: PathBuf::from(self.gif_path.trim()),
                plot: self.plot.clone(),
                scale: self.scale,
                from: self.from,
                to: self.to,
                frames: self.frames,
                delay_ms: self.delay_ms,
            })
        } else {
            ExportRequest::Png(PngRequest {
                path: PathBuf::from(self.png_path.trim()),
                plot: self.plot.clone(),
                scale: self.scale,
            })
        };
        ui.horizontal(|ui| {
            if ui
                .button("Export")
                .on_hover_text("Capture and write the file; the window redraws while it captures")
                .clicked()
            {
                commands.push(Command::ExportPlot(request.clone()));
            }
            if ui
                .button("Choose file...")
                .on_hover_text("Pick the file in a native save dialog, then export (the typed path works without one)")
                .clicked()
            {
                commands.push(Command::PickFile(FileRequest::ExportPlot(request)));
            }
        });
        if let Some(StatusLine { text, error }) = status {
            let colour = super::palette::status_colour(ui, error);
            ui.label(egui::RichText::new(text).color(colour));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, shade: u8) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([shade, (x % 256) as u8, (y % 256) as u8, 255])
        })
    }

    #[test]
    fn gif_writer_writes_every_frame_with_its_delay() {
        let mut gif = GifWriter::new(Vec::new(), 150);
        for shade in [0, 120, 250] {
            gif.add(frame(37, 21, shade)).expect("frame");
        }
        assert_eq!(gif.frames(), 3);
        // A frame of another size is refused with a message.
        assert!(
            gif.add(frame(36, 21, 0))
                .expect_err("refused")
                .contains("36 x 21")
        );
        let bytes = gif.finish().expect("finish");
        let frames = decode(&bytes);
        assert_eq!(frames.len(), 3);
        for (w, h, delay, _) in &frames {
            assert_eq!((*w, *h, *delay), (37, 21, 15));
        }
        // The frames differ (not one frame repeated): the red channel follows the shade.
        assert!(
            frames[0].3[0] < 20 && frames[2].3[0] > 230,
            "{:?}",
            (frames[0].3[0], frames[2].3[0])
        );
        assert!(GifWriter::new(Vec::new(), 100).finish().is_err());
    }

    /// (width, height, delay in 1/100 s, RGBA pixels) of each frame of a GIF.
    fn decode(bytes: &[u8]) -> Vec<(u16, u16, u16, Vec<u8>)> {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(bytes).expect("a GIF");
        let mut out = Vec::new();
        while let Some(f) = decoder.read_next_frame().expect("a frame") {
            out.push((f.width, f.height, f.delay, f.buffer.to_vec()));
        }
        out
    }

    #[test]
    fn t_plan_has_exactly_the_frames_asked_for() {
        assert_eq!(t_plan(1, 1000, 5), vec![1, 251, 501, 750, 1000]);
        assert_eq!(t_plan(1000, 1, 3), vec![1000, 501, 1]);
        assert_eq!(t_plan(7, 9, 1), vec![7]);
        assert_eq!(t_plan(1, 3, 7).len(), 7);
    }

    #[test]
    fn bad_gif_requests_say_why() {
        let ok = GifRequest {
            path: "x.gif".into(),
            plot: "river".into(),
            scale: 1,
            from: 1,
            to: 100,
            frames: 10,
            delay_ms: 100,
        };
        assert_eq!(check_gif(&ok, 100, View::Forward).map(|p| p.len()), Ok(10));
        let zero = GifRequest {
            frames: 0,
            ..ok.clone()
        };
        assert!(
            check_gif(&zero, 100, View::Forward)
                .expect_err("refused")
                .contains("0 asked")
        );
        let empty = GifRequest {
            from: 5,
            to: 5,
            ..ok.clone()
        };
        assert!(
            check_gif(&empty, 100, View::Forward)
                .expect_err("refused")
                .contains("empty")
        );
        let outside = GifRequest {
            to: 101,
            ..ok.clone()
        };
        assert!(
            check_gif(&outside, 100, View::Forward)
                .expect_err("refused")
                .contains("outside")
        );
        assert!(
            check_gif(&ok, 100, View::Elbo)
                .expect_err("refused")
                .contains("Forward")
        );
        assert!(check_scale(4).is_err());
    }

    #[test]
    fn crop_takes_the_rect_at_the_pixel_scale() {
        let size = [40, 30];
        let pixels = (0..size[0] * size[1])
            .map(|i| egui::Color32::from_gray((i % 251) as u8))
            .collect();
        let image = egui::ColorImage::new(size, pixels);
        let rect = Rect::from_min_size(egui::pos2(2.0, 3.0), egui::vec2(10.0, 5.0));
        let c = crop(&image, rect, 2.0, None).expect("crop");
        assert_eq!(c.dimensions(), (20, 10));
        // Pixel (0, 0) of the crop is pixel (4, 6) of the image.
        let expected = 6 * 40 + 4; // index 244, below the modulus 251
        assert_eq!(c.get_pixel(0, 0).0, [expected, expected, expected, 255]);
        // A fixed size near the edge stays inside the image.
        let edge = Rect::from_min_size(egui::pos2(18.0, 14.0), egui::vec2(2.0, 1.0));
        assert_eq!(
            crop(&image, edge, 2.0, Some([8, 8]))
                .expect("crop")
                .dimensions(),
            (8, 8)
        );
        assert!(crop(&image, rect, 2.0, Some([50, 8])).is_err());
    }
}
