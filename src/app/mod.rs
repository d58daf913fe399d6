//! The desktop app (eframe/egui/egui_plot) over the core.

/// Open the desktop app.
pub fn run_native() -> anyhow::Result<()> {
    anyhow::bail!("the desktop app is not built yet: use `elbo-lab report`")
}
