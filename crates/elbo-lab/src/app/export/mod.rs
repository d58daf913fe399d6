//! Export for slides: a PNG of one plot at 1x, 2x or 3x, or an animated GIF of a plot that
//! changes with t, over a range of t. Each is drawn off screen: the window keeps drawing
//! the app as it was (its zoom, size and t never change) while the dialog shows the
//! frames done and a Cancel button.
//!
//! ```text
//! start_export:  check the request; a copy of the model; its own jobs; the file opened
//!                beside its target; the GPU target started (once, on a thread)
//! poll_export:   once a frame: the next frame's results asked for; when they are in, the
//!                frame drawn off screen (ExportRun::step) and sent to the file's thread
//! done:          the file renamed over its target; the status line says so
//! ```
//!
//! `request.rs` is what an export is asked for and its checks, `frame.rs` one export drawn
//! off screen, `offscreen.rs` the headless wgpu target, `capture.rs` finds a plot and its
//! legend in a pass and crops it, `gif_writer.rs` writes the file on its own thread,
//! `window.rs` is the dialog.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use elbo_core::files::{AtomicFile, write_atomic};

use super::jobs::{AppOptions, Mode};
use super::model::{Model, StatusLine};
use super::training::Training;
use super::views::Tabs;

mod capture;
pub mod frame;
mod gif_writer;
pub mod offscreen;
pub mod request;
mod window;

pub use capture::{crop, legend_above, plot_rect, plots_on_screen};
pub use frame::{CANVAS, ExportRun, check_varies, copy_model, find_plot};
pub use gif_writer::{Encoder, EncoderMessage, Format, GifWriter};
pub use offscreen::Offscreen;
pub use request::{
    DELAY_RANGE, ExportRequest, GifRequest, MAX_FRAMES, PngRequest, SCALES, check_gif, check_scale,
    suggested_name, t_plan,
};

/// How often the window looks at a running export (the jobs and the GPU target wake it
/// too).
const POLL: Duration = Duration::from_millis(30);

/// The running export: what draws it and the thread writing its file.
struct Job {
    run: ExportRun,
    path: PathBuf,
    encoder: Encoder,
    /// Every frame was sent: waiting for the file to be in place.
    finishing: bool,
}

/// The off-screen GPU target: started on a thread at the first export, then kept.
enum Gpu {
    Idle,
    Starting(Receiver<Result<Offscreen, String>>),
    Ready(Box<Offscreen>),
}

/// What the export dialog shows about a running export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportProgress {
    /// Frames drawn.
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
    gpu: Gpu,
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
            gpu: Gpu::Idle,
        }
    }
}

impl ExportState {
    /// True while an export runs.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// The running export's progress.
    pub fn progress(&self) -> Option<ExportProgress> {
        let job = self.job.as_ref()?;
        let (done, total) = (job.run.done(), job.run.total());
        let stage = if job.finishing {
            "writing the file...".to_owned()
        } else if matches!(self.gpu, Gpu::Starting(_)) {
            "starting the off-screen renderer...".to_owned()
        } else if job.run.request().is_gif() {
            format!(
                "drawing frame {} of {total} (t = {})...",
                (done + 1).min(total),
                job.run.next_t().unwrap_or(0)
            )
        } else {
            format!("drawing \"{}\"...", job.run.label())
        };
        Some(ExportProgress { done, total, stage })
    }
}

/// Write `image` as a PNG file, atomically (see [`elbo_core::files::write_atomic`]).
///
/// # Errors
/// One line naming the file and what failed.
pub fn write_png(path: &std::path::Path, image: &image::RgbaImage) -> Result<(), String> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .and_then(|()| Ok(write_atomic(path, bytes.into_inner())?))
        .map_err(|e| format!("could not write {}: {e}", path.display()))
}

/// The GPU target, started on a named thread (a device takes a moment to open).
fn start_gpu(repaint: &egui::Context) -> Gpu {
    let (tx, rx) = channel();
    let repaint = repaint.clone();
    let spawned = std::thread::Builder::new()
        .name("elbo-lab-export-gpu".into())
        .spawn(move || {
            let _ = tx.send(Offscreen::new());
            repaint.request_repaint();
        });
    match spawned {
        Ok(_) => Gpu::Starting(rx),
        Err(e) => {
            let (tx, rx) = channel();
            let _ = tx.send(Err(format!("could not start the off-screen renderer: {e}")));
            Gpu::Starting(rx)
        }
    }
}

/// The export runs beside the model: it copies the model when it starts and leaves its
/// messages in the status line; the window's own state never changes.
impl ExportState {
    /// Start an export (the `Command::ExportPlot` arm): a copy of `model`, results computed
    /// as the app's `options` say (inline in tests), drawn in the window's style.
    pub(super) fn start_export(
        &mut self,
        ctx: &egui::Context,
        request: ExportRequest,
        model: &mut Model,
        options: AppOptions,
    ) {
        match self.try_start_export(ctx, request, model, options) {
            Ok(()) => {
                self.open = true;
                let text = self.progress().map_or_else(String::new, |p| p.stage);
                model.notes.status = Some(StatusLine::info(format!(
                    "exporting: {text} (the export dialog shows its progress)"
                )));
                ctx.request_repaint();
            }
            Err(e) => model.notes.status = Some(StatusLine::error(format!("export: {e}"))),
        }
    }

    fn try_start_export(
        &mut self,
        ctx: &egui::Context,
        request: ExportRequest,
        model: &Model,
        options: AppOptions,
    ) -> Result<(), String> {
        if self.job.is_some() {
            return Err("an export is already running (cancel it first)".into());
        }
        let threads = options.mode == Mode::Thread;
        let options = AppOptions {
            // Its own work runs on threads of its own in the app, and inline in tests
            // (the fuzz walk's deferred work would never run).
            mode: if threads { Mode::Thread } else { Mode::Inline },
            ..options
        };
        let theme = if model.settings.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        };
        let run = ExportRun::new(
            request,
            copy_model(model),
            options,
            threads.then(|| ctx.clone()),
            ctx.style_of(theme),
        )?;
        let path = run.request().path();
        let format = match run.request() {
            ExportRequest::Gif(r) => Format::Gif {
                delay_ms: r.delay_ms,
            },
            ExportRequest::Png(_) => Format::Png,
        };
        // Fail now, not after the drawing, when the file cannot be written. The export
        // writes beside its target and replaces it only when complete.
        let file = AtomicFile::create(&path)
            .map_err(|e| format!("could not write {}: {e}", path.display()))?;
        let encoder = Encoder::spawn(file, format)?;
        if matches!(self.gpu, Gpu::Idle) {
            self.gpu = start_gpu(ctx);
        }
        self.job = Some(Job {
            run,
            path,
            encoder,
            finishing: false,
        });
        Ok(())
    }

    /// Cancel the running export (the `Command::CancelExport` arm): its file's thread sees
    /// the frames stop and drops the unfinished file; whatever was at the path stays.
    pub(super) fn cancel_export(&mut self, model: &mut Model) {
        if let Some(job) = self.job.take() {
            job.encoder.abandon();
            model.notes.status = Some(StatusLine::info("export cancelled: nothing was written"));
        }
    }

    /// End the running export with `message`; its unfinished file is gone when the
    /// message shows.
    fn fail(&mut self, model: &mut Model, message: &str) {
        if let Some(job) = self.job.take() {
            job.encoder.abandon();
        }
        model.notes.status = Some(StatusLine::error(format!("export failed: {message}")));
    }

    /// Advance the running export by at most one frame (from `poll_side_channels`): its
    /// results, its drawing with `tabs` and `training` (the window's), its file.
    pub(super) fn poll_export(
        &mut self,
        ctx: &egui::Context,
        model: &mut Model,
        tabs: &mut Tabs,
        training: &Training,
    ) {
        let Some(job) = &mut self.job else {
            return;
        };
        ctx.request_repaint_after(POLL);
        if job.finishing {
            match job.encoder.done.try_recv() {
                Ok(Ok(frames)) => {
                    let (w, h) = job.run.size().unwrap_or_default();
                    let what = if job.run.request().is_gif() {
                        format!("{frames} frames, {w} x {h} px")
                    } else {
                        format!("{w} x {h} px")
                    };
                    let repeated = match job.run.repeated() {
                        0 => String::new(),
                        n => format!("; {n} frame(s) the same as the one before"),
                    };
                    model.notes.status = Some(StatusLine::info(format!(
                        "wrote {} ({what}){repeated}",
                        job.path.display()
                    )));
                    self.job = None;
                }
                Ok(Err(e)) => {
                    let message = format!("could not write {}: {e}", job.path.display());
                    self.fail(model, &message);
                }
                Err(TryRecvError::Disconnected) => self.fail(model, "the file writer stopped"),
                Err(TryRecvError::Empty) => {}
            }
            return;
        }
        if let Gpu::Starting(rx) = &self.gpu {
            match rx.try_recv() {
                Ok(Ok(off)) => self.gpu = Gpu::Ready(Box::new(off)),
                Ok(Err(e)) => {
                    self.gpu = Gpu::Idle;
                    return self.fail(model, &e);
                }
                Err(TryRecvError::Disconnected) => {
                    self.gpu = Gpu::Idle;
                    return self.fail(model, "the off-screen renderer did not start");
                }
                Err(TryRecvError::Empty) => return,
            }
        }
        let (Gpu::Ready(off), Some(job)) = (&mut self.gpu, &mut self.job) else {
            return;
        };
        match job.run.step(off, tabs, training) {
            Ok(Some(frame)) => {
                if job
                    .encoder
                    .frames
                    .send(EncoderMessage::Frame(frame))
                    .is_err()
                {
                    return self.fail(model, "the file writer stopped");
                }
                if job.run.next_t().is_none() {
                    let _ = job.encoder.frames.send(EncoderMessage::Finish);
                    job.finishing = true;
                }
                ctx.request_repaint();
            }
            Ok(None) => {}
            Err(e) => self.fail(model, &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::settings::View;
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
            plot: "density_at_t".into(),
            scale: 1,
            from: 1,
            to: 100,
            frames: 10,
            delay_ms: 100,
        };
        assert_eq!(check_gif(&ok, 100).map(|p| p.len()), Ok(10));
        let refused = |r: GifRequest| check_gif(&r, 100).expect_err("refused");
        assert!(
            refused(GifRequest {
                frames: 0,
                ..ok.clone()
            })
            .contains("0 asked")
        );
        assert!(
            refused(GifRequest {
                from: 5,
                to: 5,
                ..ok.clone()
            })
            .contains("empty")
        );
        assert!(
            refused(GifRequest {
                to: 101,
                ..ok.clone()
            })
            .contains("outside")
        );
        // A plot that does not change with t is refused, saying why and naming those that do.
        let schedule = check_varies("schedule_beta").expect_err("refused");
        assert!(
            schedule.contains("does not change with t") && schedule.contains("density_at_t"),
            "{schedule}"
        );
        assert!(check_varies("density_at_t").is_ok());
        assert!(check_scale(4).is_err());
    }

    #[test]
    fn every_plot_that_changes_with_t_is_a_plot_of_a_tab() {
        for name in super::super::views::tab::T_VARYING_PLOTS {
            let (view, _) = find_plot(name).expect("a tab draws it");
            assert!(
                matches!(
                    view,
                    View::Forward | View::Reverse | View::Params | View::Step
                ),
                "{name}: {view:?}"
            );
        }
        let unknown = find_plot("nonsense").expect_err("unknown");
        assert!(
            unknown.contains("river") && unknown.contains("terms"),
            "{unknown}"
        );
    }

    #[test]
    fn a_typed_name_gets_the_formats_extension() {
        let png = |p: &str| {
            ExportRequest::Png(PngRequest {
                path: p.into(),
                plot: "river".into(),
                scale: 1,
            })
            .path()
        };
        let gif = |p: &str| {
            ExportRequest::Gif(GifRequest {
                path: p.into(),
                plot: "density_at_t".into(),
                scale: 1,
                from: 1,
                to: 2,
                frames: 2,
                delay_ms: 100,
            })
            .path()
        };
        assert_eq!(png("slide"), std::path::PathBuf::from("slide.png"));
        assert_eq!(png("slide.PNG"), std::path::PathBuf::from("slide.PNG"));
        assert_eq!(png("slide.v2"), std::path::PathBuf::from("slide.v2.png"));
        assert_eq!(png("slide.gif"), std::path::PathBuf::from("slide.png"));
        assert_eq!(gif("dir/anim"), std::path::PathBuf::from("dir/anim.gif"));
        assert_eq!(gif("anim.png"), std::path::PathBuf::from("anim.gif"));
    }

    #[test]
    fn crop_takes_the_rect_at_the_pixel_scale() {
        let image = RgbaImage::from_fn(40, 30, |x, y| image::Rgba([x as u8, y as u8, 0, 255]));
        let rect = egui::Rect::from_min_size(egui::pos2(2.0, 3.0), egui::vec2(10.0, 5.0));
        let c = crop(&image, rect, 2.0).expect("crop");
        assert_eq!(c.dimensions(), (20, 10));
        // Pixel (0, 0) of the crop is pixel (4, 6) of the image.
        assert_eq!(c.get_pixel(0, 0).0, [4, 6, 0, 255]);
        // Cut at the image's edge; nothing of it inside is refused.
        let edge = egui::Rect::from_min_size(egui::pos2(18.0, 14.0), egui::vec2(4.0, 4.0));
        assert_eq!(crop(&image, edge, 2.0).expect("crop").dimensions(), (4, 2));
        let outside = egui::Rect::from_min_size(egui::pos2(50.0, 0.0), egui::vec2(4.0, 4.0));
        assert!(crop(&image, outside, 2.0).is_err());
    }

    #[test]
    fn a_plots_legend_is_the_nearest_row_above_it() {
        let rect = |x: f32, y: f32, w: f32, h: f32| {
            egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(w, h))
        };
        let entry = |n: &str| super::super::plot_util::LegendEntry::line(n, egui::Color32::RED);
        let rows = vec![
            (rect(0.0, 0.0, 400.0, 20.0), vec![entry("top")]),
            (rect(0.0, 300.0, 400.0, 20.0), vec![entry("lower")]),
            (rect(500.0, 300.0, 400.0, 20.0), vec![entry("beside")]),
        ];
        let name = |plot| legend_above(plot, &rows).map(|e| e[0].name.clone());
        assert_eq!(name(rect(0.0, 30.0, 400.0, 200.0)), Some("top".into()));
        // A plot under another one without a row of its own takes the shared row above.
        assert_eq!(name(rect(0.0, 240.0, 400.0, 50.0)), Some("top".into()));
        assert_eq!(name(rect(0.0, 330.0, 400.0, 100.0)), Some("lower".into()));
        assert_eq!(
            name(rect(500.0, 330.0, 400.0, 100.0)),
            Some("beside".into())
        );
        assert_eq!(name(rect(1000.0, 330.0, 400.0, 100.0)), None);
    }
}
