//! `elbo-lab presets` (docs/report-format.md): every data and schedule preset, model and
//! variance type, one line each.

use anyhow::Result;

use elbo_core::denoiser::ModelKind;
use elbo_core::presets::DataPreset;
use elbo_core::schedule::BetaSchedule;

use super::output::write_out;

/// The text of `elbo-lab presets`.
pub fn presets_text() -> String {
    let mut s = String::from("data presets:\n");
    for p in DataPreset::ALL {
        s += &format!("  {:<16} {}D  {}\n", p.name(), p.dim(), p.description());
    }
    s += "schedule presets:\n";
    for b in BetaSchedule::ALL {
        s += &format!("  {:<18} {}\n", b.name(), b.formula());
    }
    s += "models:\n";
    for m in ModelKind::ALL {
        s += &format!("  {:<10} {}\n", m.name(), m.description());
    }
    s += "variance types:\n  fixed_small  sigma_t^2 = posterior variance sigma~2_t\n  fixed_large  sigma_t^2 = beta_t\n  analytic     sigma_t^2 = sigma~2_t + E||mu~_t - mu_theta||^2 / d, the model's ELBO-optimal variance (Bao et al. 2022)\n";
    s
}

/// Run `elbo-lab presets`.
pub fn run() -> Result<()> {
    write_out(None, &presets_text())
}
