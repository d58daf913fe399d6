//! The Denoising step tab's part 1, Tweedie's formula (Luo eq. 133-135): its readout says
//! the two forms of E[x0 | x_t] agree to rounding (or that the score form is undefined at
//! abar_t = 0), its plot is drawn in 1D and 2D, and both fit a projector and a laptop.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::BetaSchedule;
use elbo_lab::app::export::plot_rect;
use elbo_lab::app::focus::{self, Target, key};
use elbo_lab::app::formula::{self, catalogue};
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::app::views::step::{StepPart, tweedie};
use elbo_lab::app::{App, Command};

use crate::common::app;

/// The data, schedule, T and t of a test; the Forward tab shown.
fn settings(preset: DataPreset, schedule: BetaSchedule, steps: usize, t: usize) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.preset = schedule;
    s.schedule.steps = steps;
    s.samples = 64;
    s.t = t;
    s.view = View::Forward;
    s
}

/// An app of `s` at 1280x800, with the Denoising step tab and its part 1 opened by their
/// labels.
fn open(s: Settings) -> Harness<'static, App> {
    let mut h = app(s).steps(3).build();
    h.get_by_label(View::Step.label()).click();
    h.run_steps(3);
    h.get_by_label(StepPart::Tweedie.label()).click();
    h.run_steps(3);
    let settings = &h.state().model.settings;
    assert_eq!(settings.view, View::Step);
    assert_eq!(settings.toggles.step_part, StepPart::Tweedie);
    h
}

/// The readout's text.
fn readout(h: &Harness<'static, App>) -> String {
    let node = h.get_by_label_contains("Tweedie at t = ");
    node.accesskit_node()
        .label()
        .or(node.value())
        .unwrap_or_default()
}

/// The number after "agree to " in the readout.
fn agreement(text: &str) -> f64 {
    let rest = text
        .split("agree to ")
        .nth(1)
        .unwrap_or_else(|| panic!("no agreement in {text:?}"));
    let number = rest.split_whitespace().next().unwrap_or_default();
    number
        .parse()
        .unwrap_or_else(|_| panic!("{number:?} in {text:?} is not a number"))
}

/// The plot was drawn, with its accessible name.
fn assert_plot(h: &Harness<'static, App>, name: &str, what: &str) {
    let rect = plot_rect(&h.ctx, tweedie::PLOT).unwrap_or_else(|| panic!("{what}: no plot"));
    assert!(
        rect.width() >= 100.0 && rect.height() >= 60.0,
        "{what}: {rect:?}"
    );
    assert!(
        h.query_by_label(name).is_some(),
        "{what}: no plot named {name:?}"
    );
}

#[test]
fn tweedie_readout_agrees_to_rounding_in_1d_and_2d() {
    for (preset, steps, t, plot_name) in [
        (
            DataPreset::Bimodal,
            1000,
            500,
            "Tweedie's formula: E[x0 | x_t] over x_t",
        ),
        (
            DataPreset::EightGaussians,
            100,
            30,
            "Tweedie's formula: arrows from x_t to E[x0 | x_t]",
        ),
    ] {
        let h = open(settings(preset, BetaSchedule::Linear, steps, t));
        let what = format!("{preset:?} t = {t}");
        let text = readout(&h);
        println!("{what}: {text}");
        assert!(text.starts_with(&format!("Tweedie at t = {t}: ")), "{text}");
        let r = agreement(&text);
        assert!((0.0..1e-12).contains(&r), "{what}: {r:e} in {text:?}");
        assert_plot(&h, plot_name, &what);
        let marks = focus::marks(&h.ctx);
        for target in [Target::Readout(key::TWEEDIE), Target::Plot(tweedie::PLOT)] {
            assert!(
                marks.iter().any(|m| m.target == target),
                "{what}: {target:?} is not marked"
            );
        }
        // The formulas are typeset beside it.
        let formula = formula::plain(catalogue::TWEEDIE_MEAN);
        assert!(h.query_by_label(&formula).is_some(), "{what}: no {formula}");
    }
}

#[test]
fn tweedie_is_undefined_at_zero_terminal_snr() {
    for preset in [DataPreset::Bimodal, DataPreset::EightGaussians] {
        let mut s = settings(preset, BetaSchedule::Linear, 100, 100);
        s.schedule.rescale_zero_snr = true;
        let mut h = open(s);
        assert_eq!(h.state().schedule().abar(100), 0.0);
        let text = readout(&h);
        assert!(
            text.contains("undefined at abar_t = 0")
                && text.contains("divides by sqrt(abar_t) = 0"),
            "{preset:?}: {text}"
        );
        assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
        // The plot is still drawn (the posterior's form is defined), and one step back the
        // two forms agree again.
        assert!(plot_rect(&h.ctx, tweedie::PLOT).is_some(), "{preset:?}");
        let ctx = h.ctx.clone();
        h.state_mut().apply(&ctx, Command::SetT(99));
        h.run_steps(3);
        let text = readout(&h);
        assert!(text.starts_with("Tweedie at t = 99: "), "{text}");
        assert!(agreement(&text) < 1e-9, "{preset:?}: {text}");
    }
}

#[test]
fn tweedie_fits_the_projector_and_the_laptop() {
    for preset in [DataPreset::Bimodal, DataPreset::TwoMoons] {
        for (pixels, zoom, presenter) in [
            ([1024.0, 768.0], 1.5, false),
            ([1024.0, 768.0], 1.5, true),
            ([1280.0, 800.0], 1.0, false),
        ] {
            let mut s = settings(preset, BetaSchedule::Linear, 100, 40);
            s.view = View::Step;
            s.presenter = presenter;
            let h = app(s)
                .pixels(pixels[0], pixels[1])
                .zoom(zoom)
                .steps(4)
                .build();
            let what = format!("{preset:?} {pixels:?} zoom {zoom} presenter {presenter}");
            let marks = focus::marks(&h.ctx);
            for target in [Target::Readout(key::TWEEDIE), Target::Plot(tweedie::PLOT)] {
                let mark = marks
                    .iter()
                    .find(|m| m.target == target)
                    .unwrap_or_else(|| panic!("{what}: {target:?} not drawn"));
                assert!(
                    mark.visible(),
                    "{what}: {target:?} {:?} cut by {:?}",
                    mark.rect,
                    mark.clip
                );
            }
            let plot = marks
                .iter()
                .find(|m| m.target == Target::Plot(tweedie::PLOT))
                .map(|m| m.rect)
                .unwrap_or(egui::Rect::NOTHING);
            // The laptop-sized window without presenter mode leaves the tab about 450 x 210
            // points: the plot gets what is left under the readout and the legend.
            println!("{what}: plot {plot:?}");
            assert!(
                plot.width() >= 100.0 && plot.height() >= 80.0,
                "{what}: the plot is {plot:?}"
            );
        }
    }
}

#[test]
fn tweedie_readout_says_what_it_is() {
    let mut s = settings(DataPreset::Bimodal, BetaSchedule::Linear, 100, 50);
    s.view = View::Step;
    let mut h = app(s).steps(3).build();
    h.ctx.all_styles_mut(|s| {
        s.interaction.tooltip_delay = 0.0;
        s.interaction.show_tooltips_only_when_still = false;
    });
    h.run_steps(1);
    h.get_by_label_contains("Tweedie at t = 50").hover();
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("through Tweedie's formula (Luo eq. 133-135)")
            .is_some(),
        "hovering the readout says what it compares"
    );
}
