//! One colour per concept, everywhere in the app, from the Okabe-Ito palette (safe for the
//! common colour-vision deficiencies), with a shade for each theme so a line reads as well
//! on the light theme as on the dark one.
//!
//! | concept | colour |
//! |---|---|
//! | x0-prediction | orange |
//! | eps-prediction | sky blue |
//! | score | bluish green |
//! | v-prediction | reddish purple |
//! | reconstruction L_0 | yellow |
//! | denoising matching L_{t-1} | blue |
//! | prior matching L_T | vermillion |
//! | totals (NELBO, running sum) | the text colour |
//! | data entropy H(p0), current t | neutral grey, dashed |
//! | the evidence: log p(x), -log p_theta(x0), p_theta, KL(p0 \|\| p_theta) | violet |
//! | the model's own steps: p_theta(x(t-1) \| x_t), the decoders of the hierarchical VAE, M_t | violet |
//! | the bound's gap: KL(q \|\| posterior), and G_t (no Gaussian step removes it) | brown |
//! | the forward process's own densities: q(x(t-1) \| x_t, x0), the true reverse step, R_t | the text colour |
//!
//! The schedule presets are told apart only in the Schedule tab, where no parameterisation
//! or ELBO term is drawn; each keeps its colour and dash whichever is selected. Configs
//! overlaid there take [`Palette::overlay`]: colours from outside the Okabe-Ito set (Paul
//! Tol's), so none is mistaken for a parameterisation, a term or a preset, each with a dash
//! (dense dashes, then loose dots, then long dashes as the colours repeat).
//! Messages keep the error / warning / information colours of [`ERROR`], [`WARNING`], [`INFO`].

use egui::Color32;
use egui_plot::LineStyle;

use elbo_core::param::{Parameterisation, PerParam};
use elbo_core::schedule::{BetaSchedule, Finding, Severity};

/// The Okabe-Ito colours (Okabe and Ito 2008), as published.
pub mod okabe_ito {
    use egui::Color32;
    /// Orange.
    pub const ORANGE: Color32 = Color32::from_rgb(230, 159, 0);
    /// Sky blue.
    pub const SKY_BLUE: Color32 = Color32::from_rgb(86, 180, 233);
    /// Bluish green.
    pub const BLUISH_GREEN: Color32 = Color32::from_rgb(0, 158, 115);
    /// Yellow.
    pub const YELLOW: Color32 = Color32::from_rgb(240, 228, 66);
    /// Blue.
    pub const BLUE: Color32 = Color32::from_rgb(0, 114, 178);
    /// Vermillion.
    pub const VERMILLION: Color32 = Color32::from_rgb(213, 94, 0);
    /// Reddish purple.
    pub const REDDISH_PURPLE: Color32 = Color32::from_rgb(204, 121, 167);
}

/// Error messages.
pub const ERROR: Color32 = Color32::from_rgb(230, 60, 60);
/// Warnings (a value clamped, a finding).
pub const WARNING: Color32 = Color32::from_rgb(235, 160, 40);
/// Information (a note, a hint).
pub const INFO: Color32 = Color32::from_rgb(90, 160, 230);

/// The current-t marker: a mid grey that reads on both themes (it is dashed, never a
/// data colour).
pub const NEUTRAL_MARKER: Color32 = Color32::from_gray(128);

/// The colours of one theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    /// Each parameterisation's colour.
    pub param: PerParam<Color32>,
    /// The reconstruction term L_0.
    pub reconstruction: Color32,
    /// The denoising matching terms L_{t-1} (and eq. 45's consistency terms).
    pub denoising: Color32,
    /// The prior matching term L_T.
    pub prior: Color32,
    /// Totals: NELBO and the running sum.
    pub total: Color32,
    /// Neutral references: the current-t marker, the data entropy.
    pub neutral: Color32,
    /// The evidence and the model's own density: log p(x), -log p_theta(x0), p_theta and
    /// KL(p0 || p_theta) (Evidence tab).
    pub evidence: Color32,
    /// The bound's gap: KL(q || true posterior), log p(x) - ELBO (Evidence tab).
    pub gap: Color32,
    /// Error messages.
    pub error: Color32,
    /// Warnings.
    pub warning: Color32,
    /// Information.
    pub info: Color32,
}

/// A colour darkened towards black by `f` (0: unchanged), keeping its hue.
const fn darken(c: Color32, f: f32) -> Color32 {
    let k = 1.0 - f;
    Color32::from_rgb(
        (c.r() as f32 * k) as u8,
        (c.g() as f32 * k) as u8,
        (c.b() as f32 * k) as u8,
    )
}

/// The dark theme's colours.
pub const DARK: Palette = Palette {
    param: PerParam {
        x0: okabe_ito::ORANGE,
        eps: okabe_ito::SKY_BLUE,
        score: okabe_ito::BLUISH_GREEN,
        v: okabe_ito::REDDISH_PURPLE,
    },
    reconstruction: okabe_ito::YELLOW,
    denoising: Color32::from_rgb(40, 140, 215),
    prior: okabe_ito::VERMILLION,
    total: Color32::from_gray(235),
    neutral: Color32::from_gray(170),
    evidence: Color32::from_rgb(235, 110, 255),
    gap: Color32::from_rgb(170, 120, 60),
    error: ERROR,
    warning: WARNING,
    info: INFO,
};

/// The light theme's colours: the same hues, darker where the published shade is too pale
/// on white (orange, sky blue, yellow, purple).
pub const LIGHT: Palette = Palette {
    param: PerParam {
        x0: darken(okabe_ito::ORANGE, 0.25),
        eps: darken(okabe_ito::SKY_BLUE, 0.3),
        score: darken(okabe_ito::BLUISH_GREEN, 0.1),
        v: darken(okabe_ito::REDDISH_PURPLE, 0.25),
    },
    reconstruction: darken(okabe_ito::YELLOW, 0.45),
    denoising: okabe_ito::BLUE,
    prior: okabe_ito::VERMILLION,
    total: Color32::from_gray(20),
    neutral: Color32::from_gray(95),
    evidence: Color32::from_rgb(110, 0, 170),
    gap: Color32::from_rgb(90, 60, 0),
    error: Color32::from_rgb(190, 30, 30),
    warning: Color32::from_rgb(170, 100, 0),
    info: Color32::from_rgb(20, 100, 170),
};

impl Palette {
    /// The palette of a theme.
    pub fn of(dark: bool) -> &'static Palette {
        if dark { &DARK } else { &LIGHT }
    }

    /// The palette of the theme `ui` is drawn in.
    pub fn of_ui(ui: &egui::Ui) -> &'static Palette {
        Palette::of(ui.visuals().dark_mode)
    }

    /// A parameterisation's colour.
    pub fn param(&self, p: Parameterisation) -> Color32 {
        self.param[p]
    }

    /// A schedule preset's colour and dash, the same whichever preset is selected.
    pub fn preset(&self, preset: BetaSchedule) -> (Color32, LineStyle) {
        let dark = self.total.r() > 128;
        let pick = |d: Color32, l: Color32| if dark { d } else { l };
        match preset {
            BetaSchedule::Linear => (pick(okabe_ito::SKY_BLUE, okabe_ito::BLUE), LineStyle::Solid),
            BetaSchedule::ScaledLinear => (
                pick(okabe_ito::ORANGE, darken(okabe_ito::ORANGE, 0.25)),
                LineStyle::dashed_loose(),
            ),
            BetaSchedule::SquaredcosCapV2 => (
                pick(
                    okabe_ito::BLUISH_GREEN,
                    darken(okabe_ito::BLUISH_GREEN, 0.1),
                ),
                LineStyle::Solid,
            ),
            BetaSchedule::Sigmoid => (
                pick(
                    okabe_ito::REDDISH_PURPLE,
                    darken(okabe_ito::REDDISH_PURPLE, 0.25),
                ),
                LineStyle::dotted_dense(),
            ),
        }
    }
}

/// The overlaid configs' colours, dark theme (Paul Tol's pink and light cyan, a lavender,
/// a tan and a light green): light enough for a dark plot, away from every Okabe-Ito hue.
pub const OVERLAY_DARK: [Color32; 5] = [
    Color32::from_rgb(255, 170, 187),
    Color32::from_rgb(153, 221, 255),
    Color32::from_rgb(205, 165, 115),
    Color32::from_rgb(180, 160, 255),
    Color32::from_rgb(170, 230, 140),
];

/// The overlaid configs' colours, light theme (Paul Tol's wine and indigo, a dark green, a
/// brown and a magenta): dark enough for a white plot.
pub const OVERLAY_LIGHT: [Color32; 5] = [
    Color32::from_rgb(136, 34, 85),
    Color32::from_rgb(30, 100, 30),
    Color32::from_rgb(150, 60, 20),
    Color32::from_rgb(51, 34, 136),
    Color32::from_rgb(190, 0, 190),
];

impl Palette {
    /// The colour and dash of the `i`-th overlaid config (from 0): five colours, each
    /// round of them with its own dash, so the first fifteen overlays differ in colour or
    /// dash, and none shares a colour with a concept or a preset.
    pub fn overlay(&self, i: usize) -> (Color32, LineStyle) {
        let dark = self.total.r() > 128;
        let colours = if dark { &OVERLAY_DARK } else { &OVERLAY_LIGHT };
        let n = colours.len();
        let style = match (i / n) % 3 {
            0 => LineStyle::dashed_dense(),
            1 => LineStyle::dotted_loose(),
            _ => LineStyle::Dashed { length: 18.0 },
        };
        (colours[i % n], style)
    }
}

/// A colour for a status line.
pub fn status_colour(ui: &egui::Ui, is_error: bool) -> Color32 {
    if is_error {
        ERROR
    } else {
        ui.visuals().text_color()
    }
}

/// A schedule finding as one line of text: "Warning: ..." in the warning colour, "Note:
/// ..." in the info colour (the side panel and the Schedule tab say it the same way).
pub fn finding_text(pal: &Palette, finding: &Finding) -> egui::RichText {
    let (colour, tag) = match finding.severity {
        Severity::Warning => (pal.warning, "Warning"),
        Severity::Info => (pal.info, "Note"),
    };
    egui::RichText::new(format!("{tag}: {}", finding.message)).color(colour)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG relative luminance.
    fn luminance(c: Color32) -> f64 {
        let ch = |v: u8| {
            let s = v as f64 / 255.0;
            if s <= 0.03928 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c.r()) + 0.7152 * ch(c.g()) + 0.0722 * ch(c.b())
    }

    fn contrast(a: Color32, b: Color32) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// Every concept's colour but the parameterisations'.
    fn concepts(p: &Palette) -> [Color32; 7] {
        [
            p.reconstruction,
            p.denoising,
            p.prior,
            p.total,
            p.neutral,
            p.evidence,
            p.gap,
        ]
    }

    fn lines(p: &Palette) -> Vec<Color32> {
        let mut v: Vec<Color32> = p.param.iter().map(|(_, c)| *c).collect();
        v.extend(concepts(p));
        v.extend(BetaSchedule::ALL.iter().map(|s| p.preset(*s).0));
        v.extend((0..5).map(|i| p.overlay(i).0));
        v
    }

    #[test]
    fn overlays_are_apart_from_every_concept_and_preset_and_each_other() {
        // Red-green-blue distance: far enough that a line is not read as another concept.
        let dist = |a: Color32, b: Color32| {
            let d = |x: u8, y: u8| (x as f64 - y as f64).powi(2);
            (d(a.r(), b.r()) + d(a.g(), b.g()) + d(a.b(), b.b())).sqrt()
        };
        for p in [&DARK, &LIGHT] {
            let mut taken: Vec<Color32> = p.param.iter().map(|(_, c)| *c).collect();
            taken.extend(concepts(p));
            taken.extend(BetaSchedule::ALL.iter().map(|s| p.preset(*s).0));
            let overlays: Vec<Color32> = (0..5).map(|i| p.overlay(i).0).collect();
            for (i, o) in overlays.iter().enumerate() {
                for c in &taken {
                    assert!(dist(*o, *c) > 60.0, "overlay {o:?} is near {c:?}");
                }
                for q in &overlays[i + 1..] {
                    assert!(dist(*o, *q) > 60.0, "overlays {o:?} and {q:?}");
                }
            }
            // Colour and dash together tell the first fifteen overlays apart.
            for i in 0..15 {
                for j in i + 1..15 {
                    assert_ne!(p.overlay(i), p.overlay(j), "overlays {i} and {j}");
                }
            }
        }
    }

    #[test]
    fn every_line_colour_stands_out_from_its_plot_background() {
        // egui's plot backgrounds: the dark theme's extreme_bg_color and the light one's.
        let dark_bg = egui::Visuals::dark().extreme_bg_color;
        let light_bg = egui::Visuals::light().extreme_bg_color;
        for c in lines(&DARK) {
            assert!(
                contrast(c, dark_bg) >= 3.0,
                "{c:?} on dark: {}",
                contrast(c, dark_bg)
            );
        }
        for c in lines(&LIGHT) {
            assert!(
                contrast(c, light_bg) >= 3.0,
                "{c:?} on light: {}",
                contrast(c, light_bg)
            );
        }
    }

    #[test]
    fn concepts_have_distinct_colours() {
        for p in [&DARK, &LIGHT] {
            let mut all: Vec<Color32> = p.param.iter().map(|(_, c)| *c).collect();
            all.extend(concepts(p));
            for (i, a) in all.iter().enumerate() {
                for b in &all[i + 1..] {
                    assert_ne!(a, b);
                }
            }
        }
    }

    #[test]
    fn a_preset_keeps_its_colour() {
        let colours: Vec<_> = BetaSchedule::ALL
            .iter()
            .map(|s| DARK.preset(*s).0)
            .collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
