//! The side panel, the timeline and the Forward / Reverse tabs (issue 9): a tooltip on every
//! control, clamped input that says so, Reset per section, a click on a t plot moving the
//! timeline, and nothing cut at projector sizes.

use crate::common::app;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use elbo_core::presets::DataPreset;
use elbo_lab::app::App;
use elbo_lab::app::settings::{Settings, View};

/// Small settings so every synchronous computation is quick.
fn small() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 128;
    s
}

fn harness_sized(settings: Settings, size: [f32; 2]) -> Harness<'static, App> {
    app(settings).pixels(size[0], size[1]).build()
}

/// Roles of the widgets a user acts on.
const INTERACTIVE: [Role; 9] = [
    Role::Button,
    Role::CheckBox,
    Role::RadioButton,
    Role::ComboBox,
    Role::Slider,
    Role::SpinButton,
    Role::TextInput,
    Role::DisclosureTriangle,
    Role::Link,
];

/// The panes (egui panels) of the window.
fn panes<'t>(h: &'t Harness<'static, App>) -> Vec<egui_kittest::Node<'t>> {
    h.query_all(egui_kittest::kittest::By::new().role(Role::Pane))
        .collect()
}

/// Names and centres of the interactive widgets inside the pane holding a widget labelled
/// `marker`.
fn controls_in_pane_of(h: &Harness<'static, App>, marker: &str) -> Vec<(String, Role, egui::Pos2)> {
    let pane = panes(h)
        .into_iter()
        .find(|p| p.query_by_label(marker).is_some())
        .unwrap_or_else(|| panic!("no pane holds {marker}"));
    pane.children_recursive()
        .filter(|n| INTERACTIVE.contains(&n.accesskit_node().role()))
        .map(|n| {
            let name = n
                .accesskit_node()
                .label()
                .unwrap_or_else(|| format!("{:?}", n.accesskit_node().role()));
            (name, n.accesskit_node().role(), n.rect().center())
        })
        .collect()
}

/// Hover each control and collect those that show no tooltip.
fn without_tooltip(
    h: &mut Harness<'static, App>,
    controls: &[(String, Role, egui::Pos2)],
) -> Vec<String> {
    let mut missing = Vec::new();
    for (name, role, pos) in controls {
        h.hover_at(*pos);
        h.run_steps(4);
        let tip = h
            .query_all(egui_kittest::kittest::By::new().role(Role::Tooltip))
            .flat_map(|t| t.children_recursive().collect::<Vec<_>>())
            .filter_map(|n| n.accesskit_node().value())
            .any(|text| text.trim().len() > 10);
        if !tip {
            missing.push(format!("{role:?} '{name}' at {pos:?}"));
        }
    }
    missing
}

#[test]
fn every_side_panel_control_has_a_tooltip() {
    let mut s = small();
    s.view = View::Schedule;
    // Tall, so the whole panel is on screen without scrolling.
    let mut h = harness_sized(s, [1280.0, 2200.0]);
    h.run_steps(2);
    let controls = controls_in_pane_of(&h, "Hide controls");
    let names: Vec<&str> = controls.iter().map(|c| c.0.as_str()).collect();
    // The walk found the controls of all three sections.
    for expected in [
        "Data preset",
        "Width",
        "CSV bandwidth h",
        "T",
        "beta_start",
        "beta_end",
        "Rescale to zero terminal SNR",
        "Model",
        "Monte Carlo samples N",
        "Seed",
        "Reset",
        "Load data file",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not found in {names:?}"
        );
    }
    assert!(controls.len() >= 20, "{names:?}");
    let missing = without_tooltip(&mut h, &controls);
    assert!(missing.is_empty(), "no tooltip on: {missing:#?}");
}

#[test]
fn every_timeline_control_has_a_tooltip() {
    let mut s = small();
    s.view = View::Schedule;
    let mut h = harness_sized(s, [1280.0, 800.0]);
    h.run_steps(2);
    let controls = controls_in_pane_of(&h, "Step forward");
    let names: Vec<&str> = controls.iter().map(|c| c.0.as_str()).collect();
    for expected in [
        "First",
        "Step back",
        "Play",
        "Step forward",
        "Last",
        "t",
        "speed",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not found in {names:?}"
        );
    }
    let missing = without_tooltip(&mut h, &controls);
    assert!(missing.is_empty(), "no tooltip on: {missing:#?}");
}

/// Type `text` into the number field labelled `label` and press Enter.
fn type_into(h: &mut Harness<'static, App>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::SpinButton, label).click();
    h.run_steps(1);
    let field = h.get_by_role_and_label(Role::SpinButton, label);
    field.type_text(text);
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
}

#[test]
fn a_typed_beta_start_below_its_range_is_clamped_and_says_so() {
    let mut h = harness_sized(small(), [1280.0, 1400.0]);
    h.run_steps(2);
    type_into(&mut h, "beta_start", "-1");
    assert_eq!(h.state().model.settings.schedule.beta_start, 1e-6);
    let message = "beta_start -1 is below 1e-6: clamped to 1e-6";
    let _ = h.get_by_label(message);
    // Kept over frames, until the next edit of that field.
    h.run_steps(3);
    let _ = h.get_by_label(message);
    type_into(&mut h, "beta_start", "0.0002");
    assert_eq!(h.state().model.settings.schedule.beta_start, 2e-4);
    assert!(h.query_by_label(message).is_none());
    // Above the range, and not a number.
    type_into(&mut h, "beta_end", "5");
    assert_eq!(h.state().model.settings.schedule.beta_end, 0.999);
    let _ = h.get_by_label("beta_end 5 is above 0.999: clamped to 0.999");
    type_into(&mut h, "beta_end", "abc");
    assert_eq!(h.state().model.settings.schedule.beta_end, 0.999);
    let _ = h.get_by_label_contains("\"abc\" is not a number: kept 0.999");
}

#[test]
fn a_typed_t_beyond_big_t_is_clamped_and_says_so() {
    let mut h = harness_sized(small(), [1280.0, 800.0]);
    h.run_steps(2);
    type_into(&mut h, "t", "5000");
    assert_eq!(h.state().t(), 100);
    let _ = h.get_by_label_contains("t 5000 is above 100: clamped to 100");
    type_into(&mut h, "speed", "0");
    assert_eq!(h.state().model.settings.speed, 1.0);
    let _ = h.get_by_label_contains("speed 0 is below 1: clamped to 1");
}

#[test]
fn reset_puts_one_section_back() {
    let mut s = small();
    s.seed = 7;
    s.data.spec.width = 2.0;
    let mut h = harness_sized(s, [1280.0, 1400.0]);
    h.run_steps(2);
    let resets: Vec<_> = h.get_all_by_role_and_label(Role::Button, "Reset").collect();
    assert_eq!(resets.len(), 3, "one Reset per section");
    // Sections in order: Data, Schedule, Model. Reset the schedule only.
    resets[1].click();
    h.run_steps(2);
    let st = &h.state().model.settings;
    assert_eq!(st.schedule.steps, 1000);
    assert_eq!(st.seed, 7);
    assert_eq!(st.data.spec.width, 2.0);
    let resets: Vec<_> = h.get_all_by_role_and_label(Role::Button, "Reset").collect();
    resets[2].click();
    h.run_steps(2);
    assert_eq!(h.state().model.settings.seed, 0);
    assert_eq!(h.state().model.settings.data.spec.width, 2.0);
    let resets: Vec<_> = h.get_all_by_role_and_label(Role::Button, "Reset").collect();
    resets[0].click();
    h.run_steps(2);
    assert_eq!(
        h.state().model.settings.data.spec.width,
        Settings::default().data.spec.width
    );
}

#[test]
fn a_section_folds() {
    let mut h = harness_sized(small(), [1280.0, 1400.0]);
    h.run_steps(2);
    assert!(h.query_by_label("beta_start").is_some());
    h.get_by_role_and_label(Role::DisclosureTriangle, "Schedule")
        .click();
    h.run_steps(3);
    assert!(h.query_by_label("beta_start").is_none());
    assert!(h.query_by_label("Seed").is_some());
}

/// Press and release the primary button at `pos`.
fn click_at(h: &mut Harness<'static, App>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.run_steps(1);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.run_steps(1);
    }
    h.run_steps(1);
}

#[test]
fn clicking_a_river_plot_moves_the_timeline() {
    for view in [View::Forward, View::Reverse] {
        let mut s = small();
        s.data.spec = elbo_core::presets::DataSpec::new(DataPreset::Bimodal);
        s.view = view;
        s.t = 1;
        let mut h = harness_sized(s, [1280.0, 800.0]);
        h.run_steps(3);
        let plot = h
            .query_all(egui_kittest::kittest::By::new().role(Role::Image))
            .find(|n| {
                n.accesskit_node()
                    .label()
                    .is_some_and(|l| l.contains("click to set t"))
            })
            .unwrap_or_else(|| panic!("no river plot in {view:?}"))
            .rect();
        // Three quarters of the way along the x axis (0..=T = 100, with margins).
        click_at(
            &mut h,
            egui::pos2(plot.left() + 0.75 * plot.width(), plot.center().y),
        );
        let t = h.state().t();
        assert!((60..=90).contains(&t), "{view:?}: t = {t}");
        // Near the left edge: t is clamped to 1, never 0.
        click_at(&mut h, egui::pos2(plot.left() + 2.0, plot.center().y));
        assert_eq!(h.state().t(), 1, "{view:?}");
    }
}
