//! Render every tab to PNG files to look at, headless (wgpu: a GPU, or Mesa lavapipe):
//! 1D (bimodal) and 2D (two moons) data, at the projector sizes the app is checked at
//! (1024x768 zoom 1.5 and 1280x720 zoom 1.75 in presenter mode) and at 1280x800 with the
//! side panel, dark and light.
//!
//! ```text
//! cargo run -p elbo-lab --example shots -- [DIR]     (default: target/shots)
//! ```
//! The tests keep reference snapshots of the main views; this writes every combination
//! for a person to look at, and asserts nothing.

use std::path::PathBuf;

use egui_kittest::Harness;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::App;
use elbo_lab::app::settings::{Settings, View};

/// (name, width px, height px, zoom, presenter mode).
const SIZES: [(&str, f32, f32, f32, bool); 3] = [
    ("1024x768_z1.5", 1024.0, 768.0, 1.5, true),
    ("1280x720_z1.75", 1280.0, 720.0, 1.75, true),
    ("1280x800_z1_panel", 1280.0, 800.0, 1.0, false),
];

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/shots"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let mut written = 0;
    for (tag, w, h, zoom, presenter) in SIZES {
        for (preset, dim) in [(DataPreset::Bimodal, "1d"), (DataPreset::TwoMoons, "2d")] {
            for view in View::ALL {
                for dark in [true, false] {
                    let mut s = Settings::default();
                    s.data.spec = DataSpec::new(preset);
                    s.schedule.steps = 200;
                    s.samples = 512;
                    s.t = 50;
                    s.view = view;
                    s.presenter = presenter;
                    s.zoom = zoom;
                    s.dark = dark;
                    let mut harness = Harness::builder()
                        .with_size([w / zoom, h / zoom])
                        .wgpu()
                        .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
                    harness.run_steps(4);
                    harness.state().run_pending_jobs();
                    harness.run_steps(4);
                    let image = harness
                        .render()
                        .map_err(|e| anyhow::anyhow!("could not render: {e}"))?;
                    let theme = if dark { "dark" } else { "light" };
                    let path = dir.join(format!("{tag}_{dim}_{}_{theme}.png", view.slug()));
                    image.save(&path)?;
                    written += 1;
                }
            }
        }
    }
    println!("{written} PNGs in {}", dir.display());
    Ok(())
}
