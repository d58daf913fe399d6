//! The help overlay (F1 or ?): every key, and "what am I looking at" for each tab.

use egui::{RichText, Ui};

use super::command::Command;
use super::settings::View;

/// Every key the app answers, with what it does (the same commands as the buttons).
pub const KEYS: [(&str, &str); 18] = [
    ("Space", "play / pause the timeline"),
    ("Left / Right", "step t back / forward"),
    ("Home / End", "first / last timestep"),
    ("Page Down / Page Up", "next / previous scene of a lesson"),
    ("+ / -", "zoom in / out (projector)"),
    ("F5", "presenter mode: hide the side panel"),
    ("F11", "fullscreen"),
    ("F1 or ?", "this help"),
    ("Escape", "close this help"),
    ("Click on a plot over t", "move the timeline to that t"),
    ("Drag on a plot", "pan it; scroll or pinch to zoom it"),
    ("Double-click on a plot", "reset its zoom"),
    (
        "Drop a file on the window",
        "mixture JSON or CSV: data; scheduler config or betas: schedule",
    ),
    (
        "E / B",
        "edit the data on the plots (add, drag, resize, delete) / paint them with a brush",
    ),
    ("Escape", "leave the edit mode"),
    ("Delete", "remove the selected component (edit mode)"),
    (
        "Ctrl+Z / Ctrl+Shift+Z",
        "undo / redo a change of the data (in a text field: of its text)",
    ),
    ("Ctrl+Y", "redo a change of the data"),
];

/// One sentence on a tab, for its tooltip.
pub fn tab_summary(view: View) -> &'static str {
    match view {
        View::Forward => {
            "The forward process q(x_t | x_0): how noise destroys the data, step by step"
        }
        View::Reverse => {
            "The reverse (generative) process: samplers run from pure noise back to data"
        }
        View::Elbo => {
            "The ELBO term by term: reconstruction, denoising matching per t, prior matching"
        }
        View::Params => {
            "The x0-, noise-, score- (and v-) parameterisations of the same denoiser, side by side"
        }
        View::Schedule => "The noise schedule: beta_t, abar_t and the signal-to-noise ratio over t",
        View::Training => {
            "Train small networks live and compare their ELBO with the optimal denoiser's"
        }
        View::Evidence => {
            "What the ELBO bounds: log p(x) = ELBO + gap, from a one-latent VAE to the diffusion model"
        }
    }
}

/// What a tab shows and what to look at: a few lines for a student.
pub fn tab_help(view: View) -> &'static str {
    match view {
        View::Forward => {
            "Left: the data p(x_0), a Gaussian mixture, and where it is at the current t. \
             Each step adds a little Gaussian noise: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) \
             (Luo eq. 70), so the exact marginal q(x_t) is again a mixture. \
             Watch the structure blur away as t grows: at t = T only N(0, I) is left. \
             In 1D the river shows the whole density over t at once."
        }
        View::Reverse => {
            "Two samplers, A and B, start from N(0, I) at t = T and step back to data with the chosen \
             denoiser (the Bayes-optimal one, a Gaussian fit, or a trained network). \
             Compare their samples with p(x_0): fewer steps (DDIM) or a poor model show up as \
             blurred or missing modes, and in the quality numbers under each panel."
        }
        View::Elbo => {
            "The negative ELBO (Luo eq. 58) is a sum of nats: a reconstruction term L_0, one \
             denoising matching term L_{t-1} per timestep (a KL between Gaussians), and the prior \
             matching term L_T. The top plot shows each term over t, the lower one their running sum. \
             NELBO is never below the data entropy H(p0); the gap between them is what the model \
             and the bound lose. Monte Carlo figures carry their standard error; exact ones say so."
        }
        View::Params => {
            "One optimal denoiser written four ways: predicting x_0, the noise eps, the score \
             (Tweedie) or v. Their mean squared errors differ by orders of magnitude, yet each \
             weighted by its own w(t) gives the same denoising matching term (Luo eqs. 99, 130, 148): \
             the parameterisation changes the loss weighting, not the ELBO."
        }
        View::Schedule => {
            "The schedule sets how fast the signal fades: beta_t per step, abar_t = prod(1 - beta_s) \
             (Luo eq. 33) and SNR(t) = abar_t / (1 - abar_t). In log-SNR the presets are easy to \
             compare. The findings list flags schedules that keep signal at t = T (a prior term \
             that is not zero) or destroy it too early. Overlay a real model's scheduler config \
             and \"Compare these schedules...\" puts their NELBOs side by side, paired on the same \
             samples, as a table to save."
        }
        View::Training => {
            "Small networks learn to predict x_0, eps or the score from noisy samples, live. \
             The loss curves fall; the per-t plot compares each network's ELBO terms with the \
             optimal denoiser's, so you see where (which t) a network is still worse. \
             Trained networks can then be picked as the model in every other tab."
        }
        View::Evidence => {
            "The ELBO is a lower bound on the evidence log p(x); the gap is KL(q || true posterior). \
             The VAE part shows this for one latent: move q(z|x) or press \"Fit q\" and watch the \
             gap; it closes only when the true posterior is Gaussian (the linear decoder). \
             The diffusion part computes the model's own density p_theta(x_0) exactly and splits \
             NELBO - H(p0) into what the model gets wrong, KL(p0 || p_theta), and how loose the \
             bound is, the mean gap. The log-SNR part shows every schedule's denoising terms \
             approaching one curve, 1/2 SNR mmse(SNR): in the limit of many steps the loss depends \
             on the schedule only through its two endpoints (1D data only for these two parts)."
        }
    }
}

/// The help window: keys, and every tab with the open one first.
pub fn show(ctx: &egui::Context, open_view: View) -> Vec<Command> {
    let mut open = true;
    let escape = ctx.input(|i| i.key_pressed(egui::Key::Escape));
    egui::Window::new("Help")
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        .default_width(560.0)
        .max_height(ctx.content_rect().height() * 0.85)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| contents(ui, open_view));
        });
    if open && !escape {
        Vec::new()
    } else {
        vec![Command::ShowHelp(false)]
    }
}

fn contents(ui: &mut Ui, open_view: View) {
    ui.heading(format!("This tab: {}", open_view.label()));
    ui.label(tab_help(open_view));
    ui.separator();
    ui.heading("Keys");
    egui::Grid::new("help keys")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            for (key, what) in KEYS {
                ui.label(RichText::new(key).strong());
                ui.label(what);
                ui.end_row();
            }
        });
    ui.separator();
    ui.heading("The other tabs");
    for view in View::ALL.into_iter().filter(|v| *v != open_view) {
        egui::CollapsingHeader::new(view.label())
            .id_salt(("help tab", view))
            .show(ui, |ui| {
                ui.label(tab_help(view));
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_has_help_that_names_its_subject() {
        for view in View::ALL {
            assert!(tab_help(view).len() > 150, "{view:?}");
            assert!(!tab_summary(view).is_empty());
        }
        assert!(tab_help(View::Elbo).contains("eq. 58"));
        assert!(tab_help(View::Schedule).contains("eq. 33"));
    }
}
