//! The app's integration tests: one binary (each binary links egui, wgpu and candle), one
//! module per concern. Snapshots are in tests/snapshots/.

mod analytic_variance;
mod common;
mod configs;
mod edit;
mod evidence;
mod export;
mod formula;
mod fuzz;
mod hvae;
mod lesson_focus;
mod nothing_lost;
mod panel;
mod playback;
mod plots;
mod presenter;
mod reverse;
mod robust;
mod scenes;
mod snapshots;
mod snr_settings;
mod step;
mod tabs;
mod training;
mod tweedie;
mod ui;
mod vae;
mod windows;
