//! The one way the app's tests build an app in a kittest harness: a window of a size in
//! pixels at a zoom, rendered or not, with the app's jobs inline (or as `options` say), run
//! for a few frames.

use egui_kittest::{Harness, HarnessBuilder};
use elbo_lab::app::settings::Settings;
use elbo_lab::app::{App, AppOptions, Mode};

/// The app's status line as (text, is_error); panics when there is none.
pub fn status_line(h: &Harness<'_, App>) -> (String, bool) {
    let line = h.state().model.notes.status.clone().expect("a status");
    (line.text, line.error)
}

/// Quick settings for tests of the shell: T = 50, N = 64, the rest default.
pub fn small() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 50;
    s.samples = 64;
    s
}

/// Carry out `command` as the shell does, then run three frames (a modal window takes one
/// to lay itself out unseen).
pub fn apply(h: &mut Harness<'static, App>, command: elbo_lab::app::command::Command) {
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, command);
    h.run_steps(3);
}

/// A harness of the app being set up: 1280x800 pixels at zoom 1, not rendered, jobs
/// inline, no frame run.
pub struct AppHarness {
    settings: Settings,
    pixels: [f32; 2],
    zoom: f32,
    gpu: bool,
    steps: usize,
    options: AppOptions,
}

/// An app of `settings` to set up (see [`AppHarness`]).
pub fn app(settings: Settings) -> AppHarness {
    AppHarness {
        settings,
        pixels: [1280.0, 800.0],
        zoom: 1.0,
        gpu: false,
        steps: 0,
        options: AppOptions::new(Mode::Inline),
    }
}

/// The builder of a window `pixels` wide and tall at `zoom` (points are pixels / zoom).
pub fn builder(pixels: [f32; 2], zoom: f32) -> HarnessBuilder<App> {
    Harness::builder()
        .with_size([pixels[0] / zoom, pixels[1] / zoom])
        .with_pixels_per_point(zoom)
}

impl AppHarness {
    /// The window's size in pixels.
    pub fn pixels(mut self, w: f32, h: f32) -> Self {
        self.pixels = [w, h];
        self
    }

    /// The zoom: pixels per point (the settings' zoom is the caller's).
    pub fn zoom(mut self, zoom: f32) -> Self {
        self.zoom = zoom;
        self
    }

    /// Render with the GPU renderer (for snapshots).
    pub fn gpu(mut self, gpu: bool) -> Self {
        self.gpu = gpu;
        self
    }

    /// Frames to run once built.
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }

    /// How the app runs its jobs.
    pub fn options(mut self, options: AppOptions) -> Self {
        self.options = options;
        self
    }

    /// The harness, after its frames.
    pub fn build(self) -> Harness<'static, App> {
        let AppHarness {
            settings,
            pixels,
            zoom,
            gpu,
            steps,
            options,
        } = self;
        let b = builder(pixels, zoom);
        let b = if gpu { b.wgpu() } else { b };
        let mut h = b.build_eframe(move |cc| App::with_options(&cc.egui_ctx, settings, options));
        h.run_steps(steps);
        h
    }
}
