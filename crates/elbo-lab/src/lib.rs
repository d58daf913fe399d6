//! ELBO Lab's front ends over the maths of `elbo-core` and the networks of `elbo-train`:
//! the desktop app (`app`, eframe/egui/egui_plot) and the command line (`cli`), which the
//! `elbo-lab` binary dispatches between.

pub mod app;
pub mod cli;
