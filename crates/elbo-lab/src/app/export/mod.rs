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
//!
//! This file runs an export frame by frame (its stages); `request.rs` is what an export is
//! asked for and its checks, `capture.rs` finds a plot on screen and crops it,
//! `gif_writer.rs` encodes a GIF on its own thread, `window.rs` is the dialog.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use egui::{Rect, Vec2};
use elbo_core::files::{AtomicFile, write_atomic};

use super::inputs::Freshness;
use super::model::{Model, StatusLine};
use super::settings::View;

mod capture;
mod gif_writer;
pub mod request;
mod window;

pub use capture::{crop, plot_rect, plots_on_screen};
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

/// Write `image` as a PNG file, atomically (see [`elbo_core::files::write_atomic`]).
///
/// # Errors
/// One line naming the file and what failed.
pub fn write_png(path: &Path, image: &image::RgbaImage) -> Result<(), String> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .and_then(|()| Ok(write_atomic(path, bytes.into_inner())?))
        .map_err(|e| format!("could not write {}: {e}", path.display()))
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
        // Fail now, not after the capture, when the file cannot be written. The export
        // writes beside its target and replaces it only when complete.
        let file = AtomicFile::create(&path)
            .map_err(|e| format!("could not write {}: {e}", path.display()))?;
        let encoder = match &request {
            ExportRequest::Gif(r) => Some(Encoder::spawn(file, r.delay_ms)?),
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
            // The encoder's thread sees the channel close and drops its unfinished file:
            // whatever was at the path before stays.
            job.encoder = None;
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
                let result = write_png(&job.path, &cropped);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbaImage;

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
