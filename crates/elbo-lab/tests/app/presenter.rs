//! Presenter mode, help, reset, and the projector sizes: every tab at 1024x768 (zoom 1 and
//! 1.5) and 1280x720 (zoom 1.75) keeps every widget and every plot inside the window (and
//! no plot too small to read), and snapshots of
//! every tab in presenter mode at 1024x768 zoom 1.5 (light and dark for two of them).
//! `UPDATE_SNAPSHOTS=1 cargo test -p elbo-lab --test app presenter` rewrites the references.

use crate::common::{app, builder};
use egui::Key;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::{Harness, SnapshotResults};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::lessons::lessons;
use elbo_lab::app::plot_util::plot_id;
use elbo_lab::app::settings::{EvidenceStep, ResetScope, Settings, View, ViewToggles};
use elbo_lab::app::views::step::StepPart;
use elbo_lab::app::{App, Command, TEXT_SIZES};

fn settings(preset: DataPreset, view: View) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 1000;
    s.samples = 512;
    s.t = 250;
    s.view = view;
    s
}

/// An app in a window of `size` pixels at `zoom` (a lecturer's zoom on a 1-pixel-per-point
/// screen): egui lays out `size / zoom` points at `zoom` pixels per point.
fn harness(s: Settings, size: [f32; 2], zoom: f32) -> Harness<'static, App> {
    let h = app(s).pixels(size[0], size[1]).zoom(zoom).steps(4).build();
    assert!((h.ctx.pixels_per_point() - zoom).abs() < 1e-6);
    h
}

fn rendered(s: Settings, size: [f32; 2], zoom: f32) -> Harness<'static, App> {
    let mut h = builder(size, zoom)
        .wgpu()
        .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
    h.run_steps(6);
    h
}

#[test]
fn text_is_never_below_14_px_at_zoom_1() {
    let h = harness(Settings::default(), [1024.0, 768.0], 1.0);
    for theme in [egui::Theme::Dark, egui::Theme::Light] {
        let style = h.ctx.style_of(theme);
        assert_eq!(style.text_styles.len(), TEXT_SIZES.len());
        for (text_style, font) in &style.text_styles {
            assert!(font.size >= 14.0, "{text_style:?} is {} px", font.size);
        }
    }
}

#[test]
fn f5_hides_the_side_panel_and_the_controls_button_brings_it_back() {
    let mut h = harness(
        settings(DataPreset::Bimodal, View::Elbo),
        [1280.0, 800.0],
        1.0,
    );
    assert!(h.query_by_label("Hide controls").is_some());
    h.key_press(Key::F5);
    h.run_steps(4);
    assert!(h.state().model.settings.presenter);
    assert!(
        h.query_by_label("Data preset").is_none(),
        "side panel still shown"
    );
    h.get_by_label("Controls").click();
    h.run_steps(4);
    assert!(!h.state().model.settings.presenter);
    assert!(h.state().model.settings.side_panel);
    assert!(h.query_by_label("Data preset").is_some());
    h.get_by_label("Hide controls").click();
    h.run_steps(4);
    assert!(!h.state().model.settings.side_panel);
    assert!(h.query_by_label("Data preset").is_none());
}

#[test]
fn f1_opens_help_on_the_open_tab_and_escape_closes_it() {
    let mut h = harness(
        settings(DataPreset::Bimodal, View::Schedule),
        [1280.0, 800.0],
        1.0,
    );
    h.key_press(Key::F1);
    h.run_steps(2);
    assert!(h.state().window.help_open);
    assert!(h.query_by_label_contains("This tab: Schedule").is_some());
    assert!(h.query_by_label_contains("eq. 33").is_some());
    h.key_press(Key::Escape);
    h.run_steps(2);
    assert!(!h.state().window.help_open);
    h.get_by_label("?").click();
    h.run_steps(2);
    assert!(h.state().window.help_open);
}

#[test]
fn reset_puts_one_section_back_and_keeps_the_rest() {
    let mut s = settings(DataPreset::TwoMoons, View::Elbo);
    s.schedule.steps = 200;
    s.seed = 7;
    s.dark = false;
    let mut h = harness(s, [1280.0, 800.0], 1.0);
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Command::Reset(ResetScope::Data));
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.model.settings.data, Settings::default().data);
    assert_eq!(app.data().dim(), 1);
    assert_eq!(
        app.model.settings.schedule.steps, 200,
        "the schedule is not reset"
    );
    assert_eq!(app.model.settings.seed, 7);
    h.state_mut().apply(&ctx, Command::Reset(ResetScope::All));
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.model.settings.schedule.steps, 1000);
    assert_eq!(app.model.settings.seed, 0);
    assert!(
        !app.model.settings.dark,
        "the theme is the lecturer's, not reset"
    );
    assert_eq!(app.model.settings.view, View::Elbo, "the open tab stays");
}

/// The controls a user operates.
fn is_control(role: Role) -> bool {
    matches!(
        role,
        Role::Button
            | Role::CheckBox
            | Role::RadioButton
            | Role::ComboBox
            | Role::Slider
            | Role::SpinButton
            | Role::TextInput
            | Role::DisclosureTriangle
            | Role::Tab
    )
}

/// The controls whose rect leaves the window (1 px of slack for rounding), described. Text
/// in a scrolling column may run below the fold, and so may the side panel, which scrolls:
/// controls left of `scrolling_left_of` are not checked.
fn outside_the_window(h: &Harness<'_, App>, what: &str) -> Vec<String> {
    let screen = h.ctx.content_rect().expand(1.0);
    let side_edge = h
        .query_by_label("Forward process")
        .map_or(0.0, |tab| tab.rect().min.x - 4.0);
    let mut outside = Vec::new();
    for node in h.root().children_recursive() {
        let ak = node.accesskit_node();
        if ak.bounding_box().is_none() || !is_control(ak.role()) {
            continue;
        }
        let r = node.rect();
        if r.max.x <= side_edge {
            continue;
        }
        if r.width() <= 0.0 || r.height() <= 0.0 {
            continue;
        }
        if !screen.contains_rect(r) {
            outside.push(format!(
                "{what}: {:?} {:?} at {r:?} (window {screen:?})",
                ak.role(),
                ak.label()
            ));
        }
    }
    outside
}

/// The plots of the open tab whose frame leaves the window or is too short to read (less
/// than `min_h` points), described. Plots are not accessibility nodes: their frames come
/// from egui_plot's memory under each plot's id (the export dialog's list of plots).
fn plots_cut(h: &Harness<'_, App>, view: View, min_h: f32, what: &str) -> Vec<String> {
    let screen = h.ctx.content_rect().expand(1.0);
    let mut cut = Vec::new();
    let mut seen = 0;
    for (name, _) in view.plots() {
        let Some(memory) = egui_plot::PlotMemory::load(&h.ctx, plot_id(&name)) else {
            continue;
        };
        seen += 1;
        let frame = *memory.transform().frame();
        if !screen.contains_rect(frame) || frame.height() < min_h || frame.width() < min_h {
            cut.push(format!(
                "{what}: plot {name} at {frame:?} (window {screen:?})"
            ));
        }
    }
    // Parts that draw no plot: the Evidence tab's hierarchical VAE (a painted chain), and
    // the grid parts of the Evidence and Denoising step tabs on 2D data (they say why).
    let toggles = &h.state().model.settings.toggles;
    let two_d = h.state().data().dim() == 2;
    let plot_free = (view == View::Evidence
        && (toggles.evidence_step == EvidenceStep::Hierarchical
            || (toggles.evidence_step != EvidenceStep::Vae && two_d)))
        || (view == View::Step && toggles.step_part.one_d_only() && two_d);
    if seen == 0 && !plot_free {
        cut.push(format!("{what}: no plot of the tab was drawn"));
    }
    cut
}

fn assert_none(outside: Vec<String>) {
    assert!(
        outside.is_empty(),
        "{} widgets leave the window:\n{}",
        outside.len(),
        outside.join("\n")
    );
}

/// The least height and width (points) of a plot's frame (without its axes) in presenter
/// mode at the projector sizes: readable from the back of a room.
const MIN_PLOT_FRAME: f32 = 60.0;

#[test]
fn every_tab_fits_the_projector_sizes_in_presenter_mode() {
    let mut outside = Vec::new();
    for (size, zoom) in [
        ([1024.0, 768.0], 1.0),
        ([1024.0, 768.0], 1.5),
        ([1280.0, 720.0], 1.75),
    ] {
        for preset in [DataPreset::Bimodal, DataPreset::TwoMoons] {
            for (view, toggles) in every_tab_and_step() {
                let mut s = settings(preset, view);
                let step = (toggles.evidence_step, toggles.step_part);
                s.toggles = toggles;
                s.presenter = true;
                let h = harness(s, size, zoom);
                let what = format!("{view:?} ({step:?}) {preset:?} {size:?} zoom {zoom}");
                outside.extend(outside_the_window(&h, &what));
                outside.extend(plots_cut(&h, view, MIN_PLOT_FRAME, &what));
            }
        }
    }
    assert_none(outside);
}

/// Every tab, each step of the Evidence tab and each part of the Denoising step tab.
fn every_tab_and_step() -> Vec<(View, ViewToggles)> {
    let plain = ViewToggles::default();
    let mut out: Vec<(View, ViewToggles)> =
        View::ALL.into_iter().map(|v| (v, plain.clone())).collect();
    out.extend(EvidenceStep::ALL[1..].iter().map(|s| {
        let toggles = ViewToggles {
            evidence_step: *s,
            ..plain.clone()
        };
        (View::Evidence, toggles)
    }));
    out.extend(StepPart::ALL[1..].iter().map(|p| {
        let toggles = ViewToggles {
            step_part: *p,
            ..plain.clone()
        };
        (View::Step, toggles)
    }));
    out
}

/// Every lesson step in presenter mode at 1024x768 zoom 1.5, its caption bar above the tab:
/// every control and plot inside the window, no plot too small to read.
#[test]
fn every_lesson_step_fits_the_projector() {
    let mut outside = Vec::new();
    for (i, lesson) in lessons().iter().enumerate() {
        let s = Settings {
            presenter: true,
            ..Settings::default()
        };
        let mut h = harness(s, [1024.0, 768.0], 1.5);
        let ctx = h.ctx.clone();
        h.state_mut().apply(&ctx, Command::StartLesson(i));
        h.run_steps(4);
        let view = lesson.scene.settings.view;
        assert_eq!(h.state().model.settings.view, view);
        let what = format!("lesson step {} ({view:?})", i + 1);
        outside.extend(outside_the_window(&h, &what));
        outside.extend(plots_cut(&h, view, MIN_PLOT_FRAME, &what));
    }
    assert_none(outside);
}

#[test]
fn every_tab_fits_1024x768_with_the_side_panel_shown() {
    let mut outside = Vec::new();
    for zoom in [1.0, 1.5] {
        for preset in [DataPreset::Bimodal, DataPreset::TwoMoons] {
            for (view, toggles) in every_tab_and_step() {
                let mut s = settings(preset, view);
                let step = (toggles.evidence_step, toggles.step_part);
                s.toggles = toggles;
                let h = harness(s, [1024.0, 768.0], zoom);
                outside.extend(outside_the_window(
                    &h,
                    &format!("{view:?} ({step:?}) {preset:?} with the side panel at zoom {zoom}"),
                ));
            }
        }
    }
    assert_none(outside);
}

#[test]
fn presenter_snapshots_at_1024x768_zoom_1_5() {
    let mut results = SnapshotResults::new();
    for view in View::ALL {
        let mut s = settings(DataPreset::TwoMoons, view);
        s.presenter = true;
        let mut h = rendered(s, [1024.0, 768.0], 1.5);
        assert!(h.state().has_full_elbo());
        results.add(h.try_snapshot(format!("presenter_{}", view.slug())));
    }
    for view in [View::Elbo, View::Schedule] {
        let mut s = settings(DataPreset::Bimodal, view);
        s.presenter = true;
        s.dark = false;
        let mut h = rendered(s, [1024.0, 768.0], 1.5);
        results.add(h.try_snapshot(format!("presenter_light_{}", view.slug())));
    }
    // The Evidence tab's 1D steps (the VAE step is above) and the Denoising step tab's 1D
    // parts (Tweedie's formula is above).
    for (step, name) in [
        (EvidenceStep::Hierarchical, "hierarchical"),
        (EvidenceStep::Diffusion, "diffusion"),
        (EvidenceStep::LogSnr, "log_snr"),
    ] {
        let mut s = settings(DataPreset::Bimodal, View::Evidence);
        s.toggles.evidence_step = step;
        s.presenter = true;
        let mut h = rendered(s, [1024.0, 768.0], 1.5);
        results.add(h.try_snapshot(format!("presenter_evidence_{name}")));
    }
    for (part, name) in [(StepPart::Kl, "kl"), (StepPart::Truth, "truth")] {
        let mut s = settings(DataPreset::Bimodal, View::Step);
        s.toggles.step_part = part;
        s.presenter = true;
        let mut h = rendered(s, [1024.0, 768.0], 1.5);
        results.add(h.try_snapshot(format!("presenter_step_{name}")));
    }
    results.unwrap();
}

/// The Schedule tab with two real configs overlaid and the comparison window open.
fn comparing(size: [f32; 2], zoom: f32, presenter: bool, gpu: bool) -> Harness<'static, App> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let mut s = settings(DataPreset::Bimodal, View::Schedule);
    s.samples = 256;
    s.presenter = presenter;
    s.overlays = vec![
        data.join("sdxl-euler-ancestral.scheduler_config.json"),
        data.join("flux-flow-match.scheduler_config.json"),
    ];
    let b = builder(size, zoom);
    let b = if gpu { b.wgpu() } else { b };
    let mut h = b.build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
    h.run_steps(2);
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Command::ShowComparison(true));
    h.run_steps(4);
    assert_eq!(
        h.state().model.overlays.len(),
        2,
        "{:?}",
        h.state().model.notes.overlay_error
    );
    assert_eq!(
        h.state().comparison_freshness(),
        Some(elbo_lab::app::Freshness::Current)
    );
    h
}

#[test]
fn the_comparison_window_fits_the_projector_sizes() {
    let mut outside = Vec::new();
    for (size, zoom) in [
        ([1024.0, 768.0], 1.0),
        ([1024.0, 768.0], 1.5),
        ([1280.0, 720.0], 1.75),
    ] {
        for presenter in [false, true] {
            let h = comparing(size, zoom, presenter, false);
            let what = format!("comparison at {size:?} zoom {zoom} presenter {presenter}");
            outside.extend(outside_the_window(&h, &what));
        }
    }
    assert_none(outside);
}

#[test]
fn comparison_snapshots() {
    let mut results = SnapshotResults::new();
    let mut h = comparing([1280.0, 800.0], 1.0, false, true);
    results.add(h.try_snapshot("compare"));
    let mut h = comparing([1024.0, 768.0], 1.5, true, true);
    results.add(h.try_snapshot("presenter_compare"));
    results.unwrap();
}
