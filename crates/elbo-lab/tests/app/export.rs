//! Export for slides, driven through the app as a user would (commands, frames, real
//! screenshots rendered by wgpu/lavapipe): a plot's PNG has the plot's pixel size at the
//! chosen scale, a GIF has exactly the frames asked for, each the plot's size, and bad
//! requests say why without panicking.

use crate::common::{app, status_line};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::App;
use elbo_lab::app::command::Command;
use elbo_lab::app::export::{self, ExportRequest, GifRequest, PngRequest};
use elbo_lab::app::settings::{Settings, View};

fn harness(view: View) -> Harness<'static, App> {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(DataPreset::Bimodal);
    s.schedule.steps = 100;
    s.samples = 64;
    s.t = 40;
    s.view = view;
    app(s).pixels(1024.0, 768.0).gpu(true).steps(3).build()
}

fn apply(h: &mut Harness<'static, App>, command: Command) {
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, command);
}

/// Step until the export is over (at most 400 frames); the final status.
fn finish(h: &mut Harness<'static, App>) -> (String, bool) {
    for _ in 0..400 {
        if !h.state().export.is_busy() {
            break;
        }
        h.step();
        // The GIF encoder runs on its own thread.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(!h.state().export.is_busy(), "the export never finished");
    status_line(h)
}

/// (width, height) of each frame of a GIF file.
fn gif_frames(path: &std::path::Path) -> Vec<(u16, u16, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("the GIF exists");
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(file).expect("a GIF");
    let mut frames = Vec::new();
    while let Some(f) = decoder.read_next_frame().expect("a frame") {
        frames.push((f.width, f.height, f.buffer.to_vec()));
    }
    frames
}

fn png_request(path: std::path::PathBuf, plot: &str, scale: u32) -> Command {
    Command::ExportPlot(ExportRequest::Png(PngRequest {
        path,
        plot: plot.into(),
        scale,
    }))
}

fn gif_request(path: std::path::PathBuf, from: usize, to: usize, frames: usize) -> GifRequest {
    GifRequest {
        path,
        plot: "river".into(),
        scale: 1,
        from,
        to,
        frames,
        delay_ms: 80,
    }
}

#[test]
fn png_of_one_plot_has_its_pixel_size_at_each_scale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let shown = export::plots_on_screen(&h.ctx, View::Forward);
    let names: Vec<&str> = shown.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"river") && names.contains(&"density_at_t"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"density_2d"),
        "a 1D preset draws no 2D density"
    );
    let rect = export::plot_rect(&h.ctx, "river").expect("the river is on screen");
    let window = h.ctx.content_rect();
    // The whole plot, axes included, and not the window.
    assert!(rect.width() > 200.0 && rect.height() > 100.0, "{rect:?}");
    assert!(
        rect.width() < window.width() - 50.0,
        "{rect:?} vs {window:?}"
    );
    for scale in [1u32, 2, 3] {
        let path = dir.path().join(format!("river-{scale}x"));
        apply(&mut h, png_request(path.clone(), "river", scale));
        let (status, is_error) = finish(&mut h);
        assert!(!is_error, "{status}");
        let png = path.with_extension("png");
        let image = image::open(&png).expect("a PNG").to_rgba8();
        let s = scale as f32;
        let expected = ((rect.width() * s).round(), (rect.height() * s).round());
        let got = (image.width() as f32, image.height() as f32);
        // Within one point: egui rounds the layout to whole pixels at each scale.
        assert!(
            (got.0 - expected.0).abs() <= s && (got.1 - expected.1).abs() <= s,
            "{scale}x: {got:?} px, expected {expected:?}"
        );
        assert!(status.contains(&png.display().to_string()), "{status}");
        // Not a blank crop: the plot has several colours (curves, text, background).
        let mut colours: Vec<[u8; 4]> = image.pixels().map(|p| p.0).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 20, "{scale}x: {} colours", colours.len());
        // Zoom and layout back as they were.
        assert!((h.ctx.zoom_factor() - 1.0).abs() < 1e-6);
        h.step();
        let after = export::plot_rect(&h.ctx, "river").expect("still there");
        assert!(
            (after.size() - rect.size()).length() < 0.5,
            "{after:?} vs {rect:?}"
        );
    }
}

#[test]
fn gif_has_exactly_the_frames_asked_for_each_the_plots_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let rect = export::plot_rect(&h.ctx, "river").expect("the river is on screen");
    let t_before = h.state().t();
    let path = dir.path().join("forward.gif");
    apply(
        &mut h,
        Command::ExportPlot(ExportRequest::Gif(gif_request(path.clone(), 1, 100, 7))),
    );
    assert!(h.state().export.is_busy());
    let mut seen_progress = false;
    for _ in 0..30 {
        h.step();
        if let Some(p) = h.state().export.progress()
            && p.total == 7
            && p.done > 0
        {
            seen_progress = true;
            break;
        }
    }
    assert!(seen_progress, "the progress never counted a frame");
    let (status, is_error) = finish(&mut h);
    assert!(!is_error, "{status}");
    assert!(status.contains("7 frames"), "{status}");
    let frames = gif_frames(&path);
    assert_eq!(frames.len(), 7);
    for (w, h, _) in &frames {
        assert!(
            (f32::from(*w) - rect.width()).abs() <= 1.0
                && (f32::from(*h) - rect.height()).abs() <= 1.0,
            "{w} x {h} vs {rect:?}"
        );
    }
    // t moved between frames (the current-t marker and the density), so frames differ.
    assert_ne!(frames[0].2, frames[6].2);
    assert_eq!(h.state().t(), t_before, "t goes back to where it was");

    // The Reverse view, t running down, one frame.
    let mut h = harness(View::Reverse);
    let names: Vec<String> = export::plots_on_screen(&h.ctx, View::Reverse)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.contains(&"reverse_river_A".to_owned()), "{names:?}");
    let path = dir.path().join("reverse");
    let request = GifRequest {
        plot: "reverse_river_A".into(),
        ..gif_request(path.clone(), 100, 1, 4)
    };
    apply(&mut h, Command::ExportPlot(ExportRequest::Gif(request)));
    let (status, is_error) = finish(&mut h);
    assert!(!is_error, "{status}");
    assert_eq!(gif_frames(&path.with_extension("gif")).len(), 4);
}

#[test]
fn bad_requests_say_why_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let cases: Vec<(Command, &str)> = vec![
        (
            png_request(dir.path().join("no/such/folder/a.png"), "river", 1),
            "could not write",
        ),
        (
            png_request(dir.path().join("a.png"), "terms", 1),
            "not on screen",
        ),
        (
            png_request(dir.path().join("a.png"), "river", 4),
            "1x, 2x or 3x",
        ),
        (
            Command::ExportPlot(ExportRequest::Gif(gif_request(
                dir.path().join("a.gif"),
                1,
                100,
                0,
            ))),
            "0 asked",
        ),
        (
            Command::ExportPlot(ExportRequest::Gif(gif_request(
                dir.path().join("a.gif"),
                30,
                30,
                5,
            ))),
            "empty",
        ),
        (
            Command::ExportPlot(ExportRequest::Gif(gif_request(
                dir.path().join("a.gif"),
                1,
                101,
                5,
            ))),
            "outside 1..=100",
        ),
    ];
    for (command, expected) in cases {
        apply(&mut h, command.clone());
        assert!(!h.state().export.is_busy(), "{command:?} started");
        let (status, is_error) = status_line(&h);
        assert!(
            is_error && status.contains(expected),
            "{command:?}: {status}"
        );
        h.step();
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "no file was left behind"
    );
    // A GIF on a tab without t animation is refused.
    apply(&mut h, Command::SetView(View::Elbo));
    h.run_steps(3);
    apply(
        &mut h,
        Command::ExportPlot(ExportRequest::Gif(GifRequest {
            plot: "terms".into(),
            ..gif_request(dir.path().join("a.gif"), 1, 100, 5)
        })),
    );
    let (status, is_error) = status_line(&h);
    assert!(
        is_error && status.contains("Forward or the Reverse"),
        "{status}"
    );
}

/// Start a long GIF export to `path` at 2x, cancel it while it captures, wait for it to
/// restore the window.
fn start_and_cancel(h: &mut Harness<'static, App>, path: &std::path::Path) {
    let export = Command::ExportPlot(ExportRequest::Gif(GifRequest {
        scale: 2,
        ..gif_request(path.to_path_buf(), 1, 100, 60)
    }));
    // Agreed to replace (a file there would be asked about first).
    apply(h, Command::Confirmed(Box::new(export)));
    h.run_steps(5);
    assert!(h.state().export.is_busy());
    // While capturing at 2x the zoom is raised.
    assert!((h.ctx.zoom_factor() - 2.0).abs() < 1e-6);
    apply(h, Command::CancelExport);
    let (status, is_error) = finish(h);
    assert!(!is_error && status.contains("cancelled"), "{status}");
    h.step();
    // The encoder's thread drops its unfinished file.
    std::thread::sleep(std::time::Duration::from_millis(50));
}

#[test]
fn cancel_stops_the_gif_keeps_what_was_there_and_restores_t() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let t_before = h.state().t();
    let path = dir.path().join("long.gif");
    start_and_cancel(&mut h, &path);
    assert!((h.ctx.zoom_factor() - 1.0).abs() < 1e-6);
    assert_eq!(h.state().t(), t_before);
    assert!(!path.exists(), "no unfinished GIF is left");
    // A file that was there before stays byte for byte (it was deleted before the fix),
    // and no temporary file is left beside it.
    std::fs::write(&path, b"last week's GIF").expect("write");
    start_and_cancel(&mut h, &path);
    assert_eq!(std::fs::read(&path).expect("kept"), b"last week's GIF");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("long.gif")]);
}

#[test]
fn an_export_onto_an_existing_file_asks_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let path = dir.path().join("plot.png");
    std::fs::write(&path, b"a slide").expect("write");
    apply(&mut h, png_request(path.clone(), "river", 1));
    let waiting = h.state().waiting_save().expect("asks");
    assert_eq!(waiting.files, vec![path.clone()]);
    assert!(!h.state().export.is_busy());
    // The question is a modal window: laid out unseen on its first frame, then shown.
    h.run_steps(3);
    h.get_by_label("Replace").click();
    h.run_steps(2);
    let (status, is_error) = finish(&mut h);
    assert!(!is_error && status.starts_with("wrote"), "{status}");
    let png = image::open(&path).expect("a PNG now");
    assert!(png.width() > 100);
}

#[test]
fn the_dialog_exports_with_a_typed_path() {
    let mut h = harness(View::Forward);
    apply(&mut h, Command::ShowExportDialog(true));
    h.run_steps(2);
    // Its controls are there (a plot picker, scales, the path, Export and a dialog button).
    for label in [
        "PNG of one plot",
        "Animated GIF over t",
        "2x",
        "Export",
        "Choose file...",
    ] {
        assert!(
            h.query_by_label(label).is_some(),
            "no {label:?} in the export dialog"
        );
    }
    let image = h.render().expect("renders");
    image
        .save(std::env::temp_dir().join("elbo-lab-export-dialog.png"))
        .expect("saved");
}
