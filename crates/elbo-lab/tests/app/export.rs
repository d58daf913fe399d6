//! Export for slides, driven through the app as a user would (commands, frames): exports are
//! drawn off screen by wgpu (lavapipe in CI) while the window stays as it is; a plot's PNG
//! is drawn at each scale (never upsampled) with a title strip over it, a GIF has exactly
//! the frames asked for, each different, a typed name gets its extension, and bad requests
//! say why without panicking.

use std::time::{Duration, Instant};

use crate::common::{app, status_line};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::App;
use elbo_lab::app::command::Command;
use elbo_lab::app::export::{self, ExportRequest, GifRequest, PngRequest};
use elbo_lab::app::settings::{Settings, View};

/// How long an export may take in a test (lavapipe on 2 cores, a debug build).
const EXPORT_WAIT: Duration = Duration::from_secs(120);

fn settings(view: View) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(DataPreset::Bimodal);
    s.schedule.steps = 100;
    s.samples = 64;
    s.t = 40;
    s.view = view;
    s
}

fn harness(view: View) -> Harness<'static, App> {
    app(settings(view)).pixels(1024.0, 768.0).steps(3).build()
}

fn apply(h: &mut Harness<'static, App>, command: Command) {
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, command);
}

/// Step until the export is over; the final status.
fn finish(h: &mut Harness<'static, App>) -> (String, bool) {
    let start = Instant::now();
    while h.state().export.is_busy() && start.elapsed() < EXPORT_WAIT {
        h.step();
        // The GPU target starts and the file is written on threads of their own.
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!h.state().export.is_busy(), "the export never finished");
    status_line(h)
}

/// (width, height, RGBA pixels) of each frame of a GIF file.
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
        plot: "density_at_t".into(),
        scale: 1,
        from,
        to,
        frames,
        delay_ms: 80,
    }
}

/// Pixels of `image`'s top `rows` rows that stand out from its top-left corner (the
/// background): the title's text.
fn title_pixels(image: &image::RgbaImage, rows: u32) -> usize {
    let bg = image.get_pixel(0, 0).0;
    let lum = |p: [u8; 4]| 0.3 * f32::from(p[0]) + 0.59 * f32::from(p[1]) + 0.11 * f32::from(p[2]);
    (0..rows.min(image.height()))
        .flat_map(|y| (0..image.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| (lum(image.get_pixel(x, y).0) - lum(bg)).abs() > 120.0)
        .count()
}

#[test]
fn png_of_one_plot_is_drawn_at_each_scale_with_its_title() {
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
    let mut sizes = Vec::new();
    for scale in [1u32, 2, 3] {
        // A typed name without an extension gets ".png".
        let path = dir.path().join(format!("river-{scale}x"));
        apply(&mut h, png_request(path.clone(), "river", scale));
        let (status, is_error) = finish(&mut h);
        assert!(!is_error, "{status}");
        let png = path.with_extension("png");
        assert!(status.contains(&png.display().to_string()), "{status}");
        let image = image::open(&png).expect("a PNG").to_rgba8();
        sizes.push(image.dimensions());
        // Not a blank crop: the plot has several colours (curves, text, background).
        let mut colours: Vec<[u8; 4]> = image.pixels().map(|p| p.0).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 20, "{scale}x: {} colours", colours.len());
        // The title strip over the plot.
        assert!(
            title_pixels(&image, 28 * scale) > 100 * scale as usize,
            "{scale}x: no title"
        );
        // The window's zoom never changed.
        assert!((h.ctx.zoom_factor() - 1.0).abs() < 1e-6);
    }
    // Drawn at each scale, not upsampled: the sizes scale, within a pixel per point.
    let (w1, h1) = sizes[0];
    assert!(w1 > 300 && h1 > 200, "{:?}", sizes[0]);
    for (i, (w, h)) in sizes.iter().enumerate() {
        let s = (i + 1) as i64;
        assert!(
            (i64::from(*w) - s * i64::from(w1)).abs() <= s
                && (i64::from(*h) - s * i64::from(h1)).abs() <= 2 * s,
            "{s}x: {w} x {h} vs 1x {w1} x {h1}"
        );
    }
}

#[test]
fn gif_has_exactly_the_frames_asked_for_each_different() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let t_before = h.state().t();
    let path = dir.path().join("forward.gif");
    apply(
        &mut h,
        Command::ExportPlot(ExportRequest::Gif(gif_request(path.clone(), 1, 100, 3))),
    );
    assert!(h.state().export.is_busy());
    let (status, is_error) = finish(&mut h);
    assert!(!is_error, "{status}");
    assert!(status.contains("3 frames"), "{status}");
    let frames = gif_frames(&path);
    assert_eq!(frames.len(), 3);
    let (w, hh) = (frames[0].0, frames[0].1);
    assert!(w > 300 && hh > 150, "{w} x {hh}");
    for (fw, fh, _) in &frames {
        assert_eq!((*fw, *fh), (w, hh), "every frame has the first one's size");
    }
    // t moved between frames (the density and the t in the title), so each differs from
    // the one before.
    for pair in frames.windows(2) {
        assert_ne!(pair[0].2, pair[1].2);
    }
    assert_eq!(h.state().t(), t_before, "the window's t never moved");

    // The Reverse view's river, t running down.
    let mut h = harness(View::Reverse);
    let path = dir.path().join("reverse");
    let request = GifRequest {
        plot: "reverse_river_A".into(),
        ..gif_request(path.clone(), 100, 1, 3)
    };
    apply(&mut h, Command::ExportPlot(ExportRequest::Gif(request)));
    let (status, is_error) = finish(&mut h);
    assert!(!is_error, "{status}");
    assert_eq!(gif_frames(&path.with_extension("gif")).len(), 3);
}

#[test]
fn bad_requests_say_why_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let gif = |r: GifRequest| Command::ExportPlot(ExportRequest::Gif(r));
    let path = dir.path().join("a.gif");
    let cases: Vec<(Command, &str)> = vec![
        (
            png_request(dir.path().join("no/such/folder/a.png"), "river", 1),
            "could not write",
        ),
        (
            png_request(dir.path().join("a.png"), "nonsense", 1),
            "no plot is called",
        ),
        (
            png_request(dir.path().join("a.png"), "river", 4),
            "1x, 2x or 3x",
        ),
        (gif(gif_request(path.clone(), 1, 100, 0)), "0 asked"),
        (gif(gif_request(path.clone(), 30, 30, 5)), "empty"),
        (gif(gif_request(path.clone(), 1, 101, 5)), "outside 1..=100"),
        // A plot that does not change with t would repeat one picture.
        (
            gif(GifRequest {
                plot: "river".into(),
                ..gif_request(path.clone(), 1, 100, 5)
            }),
            "does not change with t",
        ),
        (
            gif(GifRequest {
                plot: "schedule_beta".into(),
                ..gif_request(path.clone(), 1, 100, 5)
            }),
            "does not change with t",
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
    // A plot not drawn for these settings says which are.
    apply(
        &mut h,
        png_request(dir.path().join("b.png"), "density_2d", 1),
    );
    let (status, is_error) = finish(&mut h);
    assert!(
        is_error && status.contains("not drawn") && status.contains("density_at_t"),
        "{status}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

/// Start a long GIF export to `path`, cancel it while it draws.
fn start_and_cancel(h: &mut Harness<'static, App>, path: &std::path::Path) {
    let export = Command::ExportPlot(ExportRequest::Gif(gif_request(
        path.to_path_buf(),
        1,
        100,
        60,
    )));
    // Agreed to replace (a file there would be asked about first).
    apply(h, Command::Confirmed(Box::new(export)));
    h.run_steps(3);
    assert!(h.state().export.is_busy());
    assert!((h.ctx.zoom_factor() - 1.0).abs() < 1e-6);
    apply(h, Command::CancelExport);
    assert!(!h.state().export.is_busy());
    let (status, is_error) = status_line(h);
    assert!(!is_error && status.contains("cancelled"), "{status}");
    h.step();
    // The file's thread drops its unfinished file.
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn cancel_stops_the_gif_and_keeps_what_was_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(View::Forward);
    let t_before = h.state().t();
    let path = dir.path().join("long.gif");
    start_and_cancel(&mut h, &path);
    assert_eq!(h.state().t(), t_before);
    assert!(!path.exists(), "no unfinished GIF is left");
    // A file that was there before stays byte for byte, and no temporary file is left
    // beside it.
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
    // A typed name without ".png" is asked about under the name that is written.
    let typed = dir.path().join("typed");
    std::fs::write(typed.with_extension("png"), b"a slide").expect("write");
    apply(&mut h, png_request(typed, "river", 1));
    let waiting = h.state().waiting_save().expect("asks");
    assert_eq!(waiting.files, vec![dir.path().join("typed.png")]);
}

#[test]
fn the_dialog_offers_for_a_gif_only_plots_that_change_with_t() {
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
    // The ELBO tab has no plot that changes with t: the GIF form says so and leads to
    // the tabs that have one.
    apply(&mut h, Command::SetView(View::Elbo));
    h.run_steps(2);
    h.get_by_label("Animated GIF over t").click_accesskit();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("No plot of this tab changes with t")
            .is_some()
    );
    assert!(h.query_by_label("Go to Forward").is_some());
    assert!(h.query_by_label("Export").is_none());
}

/// The window's own frame while an export runs: its zoom, size, t and plots stay, the
/// pixels of a plot do not change, and the dialog shows the progress and Cancel.
#[test]
fn the_window_is_unchanged_while_an_export_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = app(settings(View::Forward))
        .pixels(1024.0, 768.0)
        .gpu(true)
        .steps(3)
        .build();
    let plot = |h: &Harness<'static, App>| export::plot_rect(&h.ctx, "river").expect("the river");
    let rect = plot(&h);
    let (zoom, size, t) = (h.ctx.zoom_factor(), h.ctx.content_rect(), h.state().t());
    let ppp = h.ctx.pixels_per_point();
    let crop =
        |image: &image::RgbaImage| export::crop(image, rect, ppp).expect("the river's pixels");
    let before = crop(&h.render().expect("renders"));
    let path = dir.path().join("while.gif");
    apply(
        &mut h,
        Command::ExportPlot(ExportRequest::Gif(GifRequest {
            scale: 2,
            ..gif_request(path.clone(), 1, 100, 3)
        })),
    );
    let mut progress_seen = false;
    let start = Instant::now();
    while h.state().export.is_busy() && start.elapsed() < EXPORT_WAIT {
        h.step();
        if let Some(p) = h.state().export.progress() {
            assert_eq!(p.total, 3);
            if h.query_by_label("Cancel").is_some()
                && h.query_by_label_contains("/ 3 frames").is_some()
            {
                progress_seen = true;
            }
        }
        assert_eq!(h.ctx.zoom_factor(), zoom);
        assert_eq!(h.ctx.content_rect(), size);
        assert_eq!(h.state().t(), t);
        assert_eq!(plot(&h), rect, "the river moved");
        let now = crop(&h.render().expect("renders"));
        assert!(
            now == before,
            "the window's river changed during the export"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        progress_seen,
        "the dialog never showed the progress and Cancel"
    );
    let (status, is_error) = status_line(&h);
    assert!(!is_error && status.contains("3 frames"), "{status}");
    assert_eq!(gif_frames(&path).len(), 3);
}
