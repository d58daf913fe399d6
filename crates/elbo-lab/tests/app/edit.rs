//! Issue 11 through the real UI (egui_kittest, jobs inline): the edit and brush modes of the
//! Forward tab's data plots ("density_at_t" in 1D, "density_2d" in 2D), the side panel's
//! toggles, undo/redo and list, the training pause, saving the data for the CLI, and bad
//! drawn mixtures restored from settings or scenes.

use std::sync::Arc;

use crate::common::{app, status_line};
use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_plot::{PlotMemory, PlotPoint, PlotTransform};
use elbo_core::edit::EditableMixture;
use elbo_core::mixture::{Component, GaussianMixture};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::App;
use elbo_lab::app::command::Command;
use elbo_lab::app::plot_util::plot_id;
use elbo_lab::app::settings::{DataSettings, DrawnData, Settings, View};
use elbo_lab::app::training::PAUSED_FOR_DATA;
use elbo_lab::app::views::editor::EditMode;

const PLOT_1D: &str = "density_at_t";
const PLOT_2D: &str = "density_2d";

/// Small 1D settings (bimodal, T = 100) on the Forward tab.
fn small_1d() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 128;
    s.view = View::Forward;
    s.data = DataSettings::default().with_preset(DataSpec::new(DataPreset::Bimodal));
    s
}

/// Small 2D settings: two moons of 4 components, widened (so their handles lie apart).
fn small_2d() -> Settings {
    let mut s = small_1d();
    s.data = s.data.with_preset(DataSpec {
        components: 4,
        width: 3.0,
        ..DataSpec::new(DataPreset::TwoMoons)
    });
    s
}

/// A tall window, so that the side panel's editor rows are on screen without scrolling.
fn harness(settings: Settings) -> Harness<'static, App> {
    app(settings).pixels(1280.0, 1300.0).steps(4).build()
}

fn apply(h: &mut Harness<'static, App>, command: Command) {
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, command);
    h.run_steps(3);
}

fn data(h: &Harness<'static, App>) -> Arc<GaussianMixture> {
    Arc::clone(&h.state().model.applied.inputs.data)
}

fn transform(h: &Harness<'static, App>, plot: &str) -> PlotTransform {
    PlotMemory::load(&h.ctx, plot_id(plot))
        .unwrap_or_else(|| panic!("plot {plot} was not drawn"))
        .transform()
}

/// The screen position of the plot point `p`.
fn screen(h: &Harness<'static, App>, plot: &str, p: [f64; 2]) -> Pos2 {
    transform(h, plot).position_from_point(&PlotPoint::new(p[0], p[1]))
}

/// Data units per screen point along x and y of `plot`.
fn per_pixel(h: &Harness<'static, App>, plot: &str) -> [f64; 2] {
    let tr = transform(h, plot);
    [tr.dvalue_dpos()[0].abs(), tr.dvalue_dpos()[1].abs()]
}

fn normal(x: f64, m: f64, sd: f64) -> f64 {
    let z = (x - m) / sd;
    (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
}

/// Where component `k`'s centre handle is drawn (1D: on its weighted density's peak).
fn centre_of(h: &Harness<'static, App>, plot: &str, k: usize) -> Pos2 {
    let d = data(h);
    let m = d.means()[k];
    if d.dim() == 1 {
        let sd = d.covs()[k].xx.sqrt();
        screen(h, plot, [m[0], d.weights()[k] * normal(m[0], m[0], sd)])
    } else {
        screen(h, plot, m)
    }
}

/// How many sds out the editor draws component `k`'s width and rotation handles: so that
/// the nearest is at least 28 screen points from the centre (the editor's lever).
fn lever(h: &Harness<'static, App>, plot: &str, e: &EditableMixture, k: usize) -> f64 {
    let hd = e.handles(k).expect("handles");
    let c = screen(h, plot, hd.centre);
    let axes: &[[f64; 2]] = if e.dim() == 1 {
        &[hd.axis1]
    } else {
        &[hd.axis1, hd.axis2]
    };
    let reach = axes
        .iter()
        .map(|o| screen(h, plot, [hd.centre[0] + o[0], hd.centre[1] + o[1]]).distance(c))
        .fold(f32::INFINITY, f32::min);
    f64::from(28.0 / reach).max(1.0)
}

/// The screen points a brush stroke through `moves` paints: the first move, then a point
/// every 5 screen points along the way to each next move (in 1D only x counts).
fn brushed(moves: &[Pos2], dim: usize) -> Vec<Pos2> {
    let mut out = vec![moves[0]];
    for m in &moves[1..] {
        let last = *out.last().expect("a point");
        let from = if dim == 1 {
            Pos2::new(last.x, m.y)
        } else {
            last
        };
        let d = from.distance(*m);
        let n = ((d + 1e-3) / 5.0).floor() as usize;
        out.extend((1..=n).map(|i| from + (*m - from) * (i as f32 * 5.0 / d)));
    }
    out
}

fn button(h: &mut Harness<'static, App>, pos: Pos2, button: PointerButton, pressed: bool) {
    h.event(Event::PointerButton {
        pos,
        button,
        pressed,
        modifiers: Modifiers::NONE,
    });
}

/// Move to `pos`, press and release `which` there.
fn click_with(h: &mut Harness<'static, App>, pos: Pos2, which: PointerButton) {
    h.event(Event::PointerMoved(pos));
    h.run_steps(1);
    button(h, pos, which, true);
    h.run_steps(1);
    button(h, pos, which, false);
    h.run_steps(3);
}

fn click_at(h: &mut Harness<'static, App>, pos: Pos2) {
    click_with(h, pos, PointerButton::Primary);
}

/// Press at `from`, move through `path` one frame each, and keep the button down.
fn drag_hold(h: &mut Harness<'static, App>, from: Pos2, path: &[Pos2]) {
    h.event(Event::PointerMoved(from));
    h.run_steps(1);
    button(h, from, PointerButton::Primary, true);
    h.run_steps(1);
    for p in path {
        h.event(Event::PointerMoved(*p));
        h.run_steps(1);
    }
}

fn release(h: &mut Harness<'static, App>, at: Pos2) {
    button(h, at, PointerButton::Primary, false);
    h.run_steps(3);
}

/// `n` evenly spaced positions from `from` (exclusive) to `to` (inclusive).
fn path(from: Pos2, to: Pos2, n: usize) -> Vec<Pos2> {
    (1..=n)
        .map(|i| from + (to - from) * (i as f32 / n as f32))
        .collect()
}

/// Drag from `from` to `to` in `steps` moves, then release.
fn drag(h: &mut Harness<'static, App>, from: Pos2, to: Pos2, steps: usize) {
    drag_hold(h, from, &path(from, to, steps));
    release(h, to);
}

fn assert_weights_normalised(d: &GaussianMixture) {
    let sum: f64 = d.weights().iter().sum();
    assert!((sum - 1.0).abs() < 1e-12, "weights sum to {sum}");
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

fn enter_edit(h: &mut Harness<'static, App>) {
    h.key_press(Key::E);
    h.run_steps(3);
    assert_eq!(h.state().window.edit_mode, EditMode::Components);
}

// ---------------------------------------------------------------------------------------

#[test]
fn edit_mode_turns_on_by_key_and_button_and_off_by_esc_and_e() {
    let mut h = harness(small_1d());
    assert_eq!(h.state().window.edit_mode, EditMode::Off);
    h.key_press(Key::E);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Components);
    h.key_press(Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Off);
    h.get_by_label("Edit components (E)").click();
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Components);
    h.key_press(Key::E);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Off);
    h.key_press(Key::B);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Brush);
    h.get_by_label("Brush (B)").click();
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Off);

    // From the ELBO tab (no data plot) the edit mode opens the Forward tab, by key and by
    // the button, in 1D and 2D.
    for s in [small_1d(), small_2d()] {
        let mut h = harness(Settings {
            view: View::Elbo,
            ..s.clone()
        });
        h.key_press(Key::E);
        h.run_steps(2);
        assert_eq!(h.state().window.edit_mode, EditMode::Components);
        assert_eq!(h.state().model.settings.view, View::Forward);
        let mut h = harness(Settings {
            view: View::Elbo,
            ..s
        });
        h.get_by_label("Edit components (E)").click();
        h.run_steps(2);
        assert_eq!(h.state().window.edit_mode, EditMode::Components);
        assert_eq!(h.state().model.settings.view, View::Forward);
    }
    // E with Ctrl held is not the edit mode.
    let mut h = harness(small_1d());
    h.key_press_modifiers(Modifiers::COMMAND, Key::E);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Off);
}

#[test]
fn a_click_on_empty_plot_space_adds_a_component_there() {
    for (s, plot) in [(small_1d(), PLOT_1D), (small_2d(), PLOT_2D)] {
        let mut h = harness(s);
        enter_edit(&mut h);
        let before = data(&h);
        let k0 = before.len();
        // A point far from every centre: the middle between the data's extremes, low in 1D.
        let target = if before.dim() == 1 {
            [0.0, 0.0]
        } else {
            let tr = transform(&h, plot);
            let v = tr.value_from_position(tr.frame().left_top() + egui::vec2(40.0, 40.0));
            [v.x, v.y]
        };
        let pos = if before.dim() == 1 {
            // Mid-height of the frame, clear of the curves' handles.
            let tr = transform(&h, plot);
            let y = tr.value_from_position(tr.frame().center()).y;
            screen(&h, plot, [target[0], y])
        } else {
            screen(&h, plot, target)
        };
        for k in 0..k0 {
            assert!(
                centre_of(&h, plot, k).distance(pos) > 20.0,
                "{plot}: the click must be on empty space"
            );
        }
        let px = per_pixel(&h, plot);
        click_at(&mut h, pos);
        let after = data(&h);
        assert_eq!(after.len(), k0 + 1, "{plot}: K + 1 components");
        assert_weights_normalised(&after);
        let m = after.means()[k0];
        assert!(
            (m[0] - target[0]).abs() <= px[0],
            "{plot}: x {} vs {}",
            m[0],
            target[0]
        );
        if after.dim() == 2 {
            assert!((m[1] - target[1]).abs() <= px[1], "{plot}: y {m:?}");
        }
        // The new weight is 1/(K+1); the old ones keep their ratios.
        assert!(close(after.weights()[k0], 1.0 / (k0 + 1) as f64, 1e-12));
        for k in 0..k0 {
            let want = before.weights()[k] * k0 as f64 / (k0 + 1) as f64;
            assert!(close(after.weights()[k], want, 1e-12), "{plot}: w{k}");
        }
        let drawn = h
            .state()
            .model
            .settings
            .data
            .drawn
            .clone()
            .expect("drawn data");
        assert_eq!(drawn.components.len(), k0 + 1);
        assert_eq!(
            h.state().model.applied.data_settings,
            h.state().model.settings.data,
            "{plot}: the data were rebuilt from the drawing"
        );
        assert_eq!(
            GaussianMixture::new(&drawn.components).as_ref(),
            Ok(&*after)
        );
        // In view mode the same click adds nothing.
        h.key_press(Key::Escape);
        h.run_steps(2);
        click_at(&mut h, pos);
        assert_eq!(data(&h).len(), k0 + 1, "{plot}: view mode does not edit");
    }
}

#[test]
fn dragging_a_centre_moves_it_on_release_and_computes_nothing_before() {
    for (s, plot) in [(small_1d(), PLOT_1D), (small_2d(), PLOT_2D)] {
        let mut h = harness(s);
        enter_edit(&mut h);
        let before = data(&h);
        let settings_before = h.state().model.settings.data.clone();
        let k = 0;
        let from = centre_of(&h, plot, k);
        let to = from + egui::vec2(60.0, if before.dim() == 2 { -40.0 } else { 0.0 });
        let tr = transform(&h, plot);
        let goal = tr.value_from_position(to);
        let px = per_pixel(&h, plot);
        drag_hold(&mut h, from, &path(from, to, 6));
        // Mid-drag: nothing applied, nothing recomputed.
        assert!(
            Arc::ptr_eq(&data(&h), &before),
            "{plot}: the data changed mid-drag"
        );
        assert_eq!(h.state().model.settings.data, settings_before);
        assert_eq!(h.state().model.data_history.undo_len(), 0);
        release(&mut h, to);
        let after = data(&h);
        assert!(!Arc::ptr_eq(&after, &before), "{plot}: applied on release");
        assert_eq!(after.len(), before.len());
        let m = after.means()[k];
        assert!((m[0] - goal.x).abs() <= px[0], "{plot}: {m:?} vs {goal:?}");
        if after.dim() == 2 {
            assert!((m[1] - goal.y).abs() <= px[1], "{plot}: {m:?} vs {goal:?}");
        } else {
            assert_eq!(m[1], 0.0);
        }
        // Only the centre moved.
        assert_eq!(after.weights(), before.weights());
        assert_eq!(after.covs(), before.covs());
        assert_eq!(&after.means()[1..], &before.means()[1..]);
        assert!(h.state().model.settings.data.drawn.is_some());
        assert_eq!(
            h.state().model.data_history.undo_len(),
            1,
            "one drag, one undo step"
        );
    }
}

#[test]
fn dragging_a_width_square_in_1d_sets_the_sd() {
    let mut h = harness(small_1d());
    enter_edit(&mut h);
    let d = data(&h);
    let k = 1;
    let (w, m, sd) = (d.weights()[k], d.means()[k][0], d.covs()[k].xx.sqrt());
    // Select it (a click on its centre changes no data).
    {
        let p = centre_of(&h, PLOT_1D, k);
        click_at(&mut h, p);
    }
    assert!(Arc::ptr_eq(&data(&h), &d), "selecting is not an edit");
    // The square sits `l` sds out on the component's curve; dragged twice as far out.
    let l = lever(&h, PLOT_1D, &EditableMixture::from_mixture(&d), k);
    let y = w * normal(m + l * sd, m, sd);
    let from = screen(&h, PLOT_1D, [m + l * sd, y]);
    let to = screen(&h, PLOT_1D, [m + 2.0 * l * sd, y]);
    let px = per_pixel(&h, PLOT_1D)[0];
    drag(&mut h, from, to, 6);
    let after = data(&h);
    let sd2 = after.covs()[k].xx.sqrt();
    assert!(
        (sd2 - 2.0 * sd).abs() <= px / l,
        "sd {sd} -> {sd2}, want {}",
        2.0 * sd
    );
    assert_eq!(after.means()[k][0], m, "a resize keeps the centre");
    assert_eq!(
        after.covs()[0],
        d.covs()[0],
        "the other component keeps its width"
    );
}

#[test]
fn in_2d_an_axis_end_resizes_one_axis_and_a_diamond_turns_it() {
    let mut h = harness(small_2d());
    enter_edit(&mut h);
    let d = data(&h);
    let k = 0;
    let e = EditableMixture::from_mixture(&d);
    let axes = e.axes(k).expect("axes");
    let hd = e.handles(k).expect("handles");
    {
        let p = centre_of(&h, PLOT_2D, k);
        click_at(&mut h, p);
    }
    assert!(Arc::ptr_eq(&data(&h), &d));
    // Axis 1's end (drawn `l` sds out), dragged out to 1.5 times as far.
    let c = hd.centre;
    let l = lever(&h, PLOT_2D, &e, k);
    let end = [c[0] + l * hd.axis1[0], c[1] + l * hd.axis1[1]];
    let out = [c[0] + 1.5 * l * hd.axis1[0], c[1] + 1.5 * l * hd.axis1[1]];
    let from = screen(&h, PLOT_2D, end);
    let to = screen(&h, PLOT_2D, out);
    assert!(
        from.distance(to) > 8.0,
        "the component is big enough on screen"
    );
    let px = per_pixel(&h, PLOT_2D);
    drag(&mut h, from, to, 5);
    let after = data(&h);
    let e2 = EditableMixture::from_mixture(&after);
    let a2 = e2.axes(k).expect("axes");
    let tol = 1.5 * px[0].max(px[1]);
    assert!(
        (a2.sd1 - 1.5 * axes.sd1).abs() <= tol,
        "sd1 {} -> {}",
        axes.sd1,
        a2.sd1
    );
    assert!(
        close(a2.sd2, axes.sd2, 1e-9),
        "sd2 {} -> {}",
        axes.sd2,
        a2.sd2
    );
    assert_eq!(after.means()[k], d.means()[k]);

    // The rotation diamond at m + l (sd1 u1 + sd2 u2), turned by 30 degrees about the
    // centre.
    let hd = e2.handles(k).expect("handles");
    let l = lever(&h, PLOT_2D, &e2, k);
    let r = [l * hd.rotation[0], l * hd.rotation[1]];
    let corner = [c[0] + r[0], c[1] + r[1]];
    let turn = 30f64.to_radians();
    let (s, co) = turn.sin_cos();
    let turned = [c[0] + co * r[0] - s * r[1], c[1] + s * r[0] + co * r[1]];
    let from = screen(&h, PLOT_2D, corner);
    let to = screen(&h, PLOT_2D, turned);
    drag(&mut h, from, to, 5);
    let e3 = EditableMixture::from_mixture(&data(&h));
    let a3 = e3.axes(k).expect("axes");
    let dangle = a3.angle - a2.angle;
    assert!(
        (dangle - turn).abs() < 0.05,
        "angle {} -> {} (turned by {dangle}, want {turn})",
        a2.angle,
        a3.angle
    );
    assert!(close(a3.sd1, a2.sd1, 1e-9) && close(a3.sd2, a2.sd2, 1e-9));
    assert_eq!(h.state().model.data_history.undo_len(), 2);
}

#[test]
fn the_mouse_wheel_over_a_centre_scales_its_weight() {
    for (s, plot) in [(small_1d(), PLOT_1D), (small_2d(), PLOT_2D)] {
        let mut h = harness(s);
        enter_edit(&mut h);
        let before = data(&h);
        let k = 1;
        let pos = centre_of(&h, plot, k);
        h.event(Event::PointerMoved(pos));
        h.run_steps(1);
        for notches in [1.0f32, 2.0] {
            let prev = data(&h);
            h.event(Event::MouseWheel {
                unit: egui::MouseWheelUnit::Line,
                delta: egui::vec2(0.0, notches),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: Modifiers::NONE,
            });
            h.run_steps(3);
            let after = data(&h);
            assert_weights_normalised(&after);
            let want = prev.weights()[k] * 1.15f64.powf(f64::from(notches));
            assert!(
                close(after.weights()[k], want, 1e-12),
                "{plot}: {notches} notch(es): w = {} want {want}",
                after.weights()[k]
            );
            // The others keep their ratios.
            let scale = (1.0 - want) / (1.0 - prev.weights()[k]);
            for j in (0..after.len()).filter(|&j| j != k) {
                assert!(close(after.weights()[j], prev.weights()[j] * scale, 1e-12));
            }
            assert_eq!(after.means(), before.means());
        }
        assert_eq!(h.state().model.data_history.undo_len(), 2);
    }
}

#[test]
fn delete_by_right_click_delete_key_and_list_button_but_never_the_last() {
    let mut h = harness(small_2d());
    enter_edit(&mut h);
    let d0 = data(&h);
    assert_eq!(d0.len(), 4);
    // Right-click on component 3's centre.
    let gone = d0.means()[3];
    {
        let p = centre_of(&h, PLOT_2D, 3);
        click_with(&mut h, p, PointerButton::Secondary);
    }
    let d1 = data(&h);
    assert_eq!(d1.len(), 3);
    assert!(!d1.means().contains(&gone));
    assert_weights_normalised(&d1);
    // Select component 0 and press Delete.
    let gone = d1.means()[0];
    {
        let p = centre_of(&h, PLOT_2D, 0);
        click_at(&mut h, p);
    }
    assert_eq!(data(&h).len(), 3, "a click on a centre selects");
    h.key_press(Key::Delete);
    h.run_steps(3);
    let d2 = data(&h);
    assert_eq!(d2.len(), 2);
    assert!(!d2.means().contains(&gone));
    // The list's first "x".
    h.get_by_label("Components (2)").click();
    h.run_steps(2);
    let gone = d2.means()[0];
    h.get_all_by_role_and_label(Role::Button, "x")
        .next()
        .expect("a delete button")
        .click();
    h.run_steps(3);
    let d3 = data(&h);
    assert_eq!(d3.len(), 1);
    assert!(!d3.means().contains(&gone));
    assert_eq!(d3.weights(), &[1.0]);
    // The last one stays, with a message naming it.
    let history = h.state().model.data_history.undo_len();
    {
        let p = centre_of(&h, PLOT_2D, 0);
        click_with(&mut h, p, PointerButton::Secondary);
    }
    assert!(Arc::ptr_eq(&data(&h), &d3), "the last component stays");
    // Under the plots and in the side panel: "Refused: component 1 is the only one left".
    let shown: Vec<String> = h
        .query_all_by_label_contains("only one left")
        .filter_map(|n| n.accesskit_node().label().or(n.value()))
        .collect();
    assert_eq!(shown.len(), 2, "the refusal is shown twice: {shown:?}");
    assert!(
        shown.iter().all(|m| m.starts_with("Refused: component 1 ")),
        "{shown:?}"
    );
    h.get_by_role_and_label(Role::Button, "x").click();
    h.run_steps(3);
    assert!(Arc::ptr_eq(&data(&h), &d3));
    assert_eq!(h.state().model.data_history.undo_len(), history);
}

fn ctrl_z(h: &mut Harness<'static, App>) {
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(3);
}

fn ctrl_shift_z(h: &mut Harness<'static, App>) {
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run_steps(3);
}

/// The applied data and their settings, to compare states exactly.
fn snapshot(h: &Harness<'static, App>) -> (DataSettings, GaussianMixture) {
    (
        h.state().model.applied.data_settings.clone(),
        (*h.state().model.applied.inputs.data).clone(),
    )
}

#[test]
fn undo_and_redo_walk_through_edits_presets_files_and_scenes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scene = dir.path().join("scene.json");
    let iris =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/iris-petals.csv");
    let mut h = harness(small_1d());
    let mut states = vec![snapshot(&h)];
    // An edit.
    enter_edit(&mut h);
    let tr = transform(&h, PLOT_1D);
    let y = tr.value_from_position(tr.frame().center()).y;
    {
        let p = screen(&h, PLOT_1D, [0.0, y]);
        click_at(&mut h, p);
    }
    states.push(snapshot(&h));
    // A preset.
    let preset = h
        .state()
        .model
        .settings
        .data
        .with_preset(DataSpec::new(DataPreset::Skewed));
    apply(&mut h, Command::SetData(preset));
    states.push(snapshot(&h));
    // A data file.
    apply(&mut h, Command::LoadData(iris));
    assert_eq!(data(&h).dim(), 2, "iris petals are 2D");
    states.push(snapshot(&h));
    // A scene: saved here, the data changed, the scene opened again.
    apply(&mut h, Command::SaveScene(scene.clone()));
    let gaussian = h
        .state()
        .model
        .settings
        .data
        .with_preset(DataSpec::new(DataPreset::Gaussian));
    apply(&mut h, Command::SetData(gaussian));
    states.push(snapshot(&h));
    apply(&mut h, Command::OpenScene(scene));
    states.push(snapshot(&h));
    assert_eq!(
        states[5], states[3],
        "the scene brought the file's data back"
    );
    for w in states.windows(2) {
        assert_ne!(w[0], w[1], "every step changed the data");
    }
    assert_eq!(h.state().model.data_history.undo_len(), states.len() - 1);

    // Back by Ctrl+Z and by the Undo button, alternately.
    for i in (0..states.len() - 1).rev() {
        if i % 2 == 0 {
            ctrl_z(&mut h);
        } else {
            h.get_by_label("Undo").click();
            h.run_steps(3);
        }
        assert_eq!(snapshot(&h), states[i], "undo to state {i}");
        assert_eq!(h.state().model.settings.data, states[i].0);
    }
    assert!(!h.state().model.data_history.can_undo());
    // Forward by Ctrl+Shift+Z and by the Redo button.
    for (i, state) in states.iter().enumerate().skip(1) {
        if i % 2 == 0 {
            ctrl_shift_z(&mut h);
        } else {
            h.get_by_label("Redo").click();
            h.run_steps(3);
        }
        assert_eq!(snapshot(&h), *state, "redo to state {i}");
    }
    assert!(!h.state().model.data_history.can_redo());
    // Ctrl+Y redoes too.
    ctrl_z(&mut h);
    assert_eq!(snapshot(&h), states[4]);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run_steps(3);
    assert_eq!(snapshot(&h), states[5]);
}

#[test]
fn ctrl_z_in_a_text_field_undoes_the_text_not_the_data() {
    let mut h = harness(small_1d());
    enter_edit(&mut h);
    let tr = transform(&h, PLOT_1D);
    let y = tr.value_from_position(tr.frame().center()).y;
    {
        let p = screen(&h, PLOT_1D, [0.0, y]);
        click_at(&mut h, p);
    }
    let edited = snapshot(&h);
    assert!(h.state().model.data_history.can_undo());
    h.get_by_role_and_label(Role::TextInput, "Data file path")
        .click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, "Data file path")
        .type_text("abc");
    h.run_steps(2);
    ctrl_z(&mut h);
    assert_eq!(snapshot(&h), edited, "Ctrl+Z in a text field kept the data");
    assert_eq!(h.state().model.data_history.undo_len(), 1);
    // Away from the field, Ctrl+Z undoes the data.
    h.key_press(Key::Escape);
    h.run_steps(2);
    click_at(&mut h, Pos2::new(5.0, 1290.0));
    ctrl_z(&mut h);
    assert_eq!(h.state().model.data_history.undo_len(), 0);
    assert_ne!(snapshot(&h), edited);
}

/// One brush stroke on the 1D plot: press at `x0`, `n` moves 20 points apart, release.
/// Returns the data x of the points it paints (every 5 screen points from the first move).
fn stroke_1d(h: &mut Harness<'static, App>, x0: f64, n: usize) -> Vec<f64> {
    let tr = transform(h, PLOT_1D);
    let y = tr.value_from_position(tr.frame().center()).y;
    let from = screen(h, PLOT_1D, [x0, y]);
    let moves: Vec<Pos2> = (1..=n)
        .map(|i| from + egui::vec2(20.0 * i as f32, 3.0 * (i % 2) as f32))
        .collect();
    let xs = brushed(&moves, 1)
        .iter()
        .map(|p| tr.value_from_position(*p).x)
        .collect();
    drag_hold(h, from, &moves);
    release(h, *moves.last().expect("moves"));
    xs
}

#[test]
fn a_brush_stroke_becomes_a_kernel_mixture_and_a_second_one_adds_to_it() {
    let mut h = harness(small_1d());
    let bandwidth = h.state().model.settings.data.bandwidth;
    h.key_press(Key::B);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Brush);
    // Before the first stroke the hint says it replaces the data (it used to say nothing).
    assert!(
        h.query_by_label_contains("your first stroke replaces the current data")
            .is_some(),
        "no warning before the first stroke"
    );
    let px = per_pixel(&h, PLOT_1D)[0];
    let xs1 = stroke_1d(&mut h, -2.0, 6);
    let d1 = data(&h);
    assert!(h.query_by_label_contains("your first stroke").is_none());
    assert_eq!(d1.len(), xs1.len(), "one component per brushed point");
    for (k, x) in xs1.iter().enumerate() {
        assert!((d1.means()[k][0] - x).abs() <= px, "point {k}");
        assert!(close(d1.covs()[k].xx, bandwidth * bandwidth, 1e-12));
        assert!(close(d1.weights()[k], 1.0 / xs1.len() as f64, 1e-12));
    }
    // A second stroke adds to the same drawing.
    let px = per_pixel(&h, PLOT_1D)[0];
    let xs2 = stroke_1d(&mut h, 1.0, 4);
    let d2 = data(&h);
    assert_eq!(d2.len(), xs1.len() + xs2.len());
    for (k, x) in xs1.iter().chain(&xs2).enumerate() {
        assert!((d2.means()[k][0] - x).abs() <= px, "point {k}");
        assert!(close(d2.weights()[k], 1.0 / d2.len() as f64, 1e-12));
    }
    // After an undo a stroke starts a new drawing.
    ctrl_z(&mut h);
    assert_eq!(*data(&h), *d1);
    let xs3 = stroke_1d(&mut h, 0.0, 3);
    let d3 = data(&h);
    assert_eq!(d3.len(), xs3.len(), "a new drawing after an undo");
    // A bandwidth change shows in the next stroke's widths.
    let mut s = h.state().model.settings.data.clone();
    s.bandwidth = 0.25;
    apply(&mut h, Command::SetData(s));
    let xs4 = stroke_1d(&mut h, -1.0, 2);
    let d4 = data(&h);
    assert!(d4.len() >= xs4.len());
    assert!(d4.covs().iter().any(|c| close(c.xx, 0.0625, 1e-12)));
}

#[test]
fn a_brush_stroke_in_2d_paints_points_at_the_pointer() {
    let mut h = harness(small_2d());
    let bandwidth = h.state().model.settings.data.bandwidth;
    h.key_press(Key::B);
    h.run_steps(2);
    let tr = transform(&h, PLOT_2D);
    let from = tr.frame().center();
    let moves: Vec<Pos2> = (1..=5)
        .map(|i| from + egui::vec2(15.0 * i as f32, -10.0 * i as f32))
        .collect();
    let want: Vec<egui_plot::PlotPoint> = brushed(&moves, 2)
        .iter()
        .map(|p| tr.value_from_position(*p))
        .collect();
    let px = per_pixel(&h, PLOT_2D);
    drag_hold(&mut h, from, &moves);
    release(&mut h, moves[4]);
    let d = data(&h);
    assert_eq!(d.len(), want.len());
    for (k, p) in want.iter().enumerate() {
        let m = d.means()[k];
        assert!((m[0] - p.x).abs() <= px[0] && (m[1] - p.y).abs() <= px[1]);
        let c = d.covs()[k];
        assert!(close(c.xx, bandwidth * bandwidth, 1e-12) && c.xy == 0.0);
    }
}

#[test]
fn an_edit_pauses_training_and_reset_trains_on_the_new_data() {
    let mut s = small_1d();
    s.schedule.steps = 50;
    s.training.batch = 32;
    s.training.eval_every = 4;
    s.training.eval_samples = 64;
    let mut h = harness(s);
    apply(&mut h, Command::StartTraining);
    h.run_steps(2);
    assert!(h.state().training.running);
    let old = data(&h);
    // Edit mode from the Training tab opens the Forward tab; an added component.
    apply(&mut h, Command::SetView(View::Training));
    enter_edit(&mut h);
    assert_eq!(h.state().model.settings.view, View::Forward);
    let tr = transform(&h, PLOT_1D);
    let y = tr.value_from_position(tr.frame().center()).y;
    {
        let p = screen(&h, PLOT_1D, [0.0, y]);
        click_at(&mut h, p);
    }
    let new = data(&h);
    assert_eq!(new.len(), old.len() + 1);
    let app = h.state();
    assert!(!app.training.running, "the edit paused training");
    assert!(app.training.paused_for_data);
    assert_eq!(
        app.model.notes.status.as_ref().map(|s| s.text.as_str()),
        Some(PAUSED_FOR_DATA)
    );
    let trained_on = app
        .training
        .trained_on
        .as_ref()
        .expect("trained on")
        .0
        .clone();
    assert!(Arc::ptr_eq(&trained_on, &old));
    let steps = app.training.steps_done;
    h.run_steps(3);
    assert_eq!(
        h.state().training.steps_done,
        steps,
        "paused training does not step"
    );
    // The Training tab offers to train on these data.
    h.key_press(Key::Escape);
    apply(&mut h, Command::SetView(View::Training));
    h.get_by_label("Reset and train on these data").click();
    h.run_steps(4);
    let app = h.state();
    assert!(app.training.running);
    assert!(!app.training.paused_for_data);
    let trained_on = &app.training.trained_on.as_ref().expect("trained on").0;
    assert!(Arc::ptr_eq(trained_on, &new), "trains on the edited data");
    assert!(h.query_by_label("Reset and train on these data").is_none());
}

/// The app's quadrature NELBO of the current data, once computed.
fn app_nelbo(h: &mut Harness<'static, App>) -> f64 {
    for _ in 0..50 {
        h.state().run_pending_jobs();
        h.run_steps(1);
        let app = h.state();
        if let Some(e) = app.elbo()
            && !e.preview
            && Arc::ptr_eq(&e.inputs.data, &app.model.applied.inputs.data)
        {
            return e.result.nelbo.mean;
        }
    }
    panic!("the ELBO of the edited data never came in");
}

/// `elbo-lab report --data FILE` with the app's schedule, model and variance.
fn cli_nelbo(path: &std::path::Path, s: &Settings) -> f64 {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_elbo-lab"))
        .args([
            "report",
            "--quiet",
            "--method",
            "quadrature",
            "--model",
            "optimal",
        ])
        .args(["--schedule", "linear", "--variance", "fixed_small"])
        .args(["--steps", &s.schedule.steps.to_string()])
        .args(["--beta-start", &s.schedule.beta_start.to_string()])
        .args(["--beta-end", &s.schedule.beta_end.to_string()])
        .args([
            "--samples",
            &s.samples.to_string(),
            "--seed",
            &s.seed.to_string(),
        ])
        .arg("--data")
        .arg(path)
        .output()
        .expect("runs elbo-lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    j["nelbo"].as_f64().expect("nelbo")
}

#[test]
fn saved_drawn_data_report_the_apps_nelbo_through_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(small_1d());
    enter_edit(&mut h);
    let tr = transform(&h, PLOT_1D);
    let y = tr.value_from_position(tr.frame().center()).y;
    {
        let p = screen(&h, PLOT_1D, [0.5, y]);
        click_at(&mut h, p);
    }
    // And a wider component 0.
    let pos = centre_of(&h, PLOT_1D, 0);
    h.event(Event::PointerMoved(pos));
    h.run_steps(1);
    h.event(Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, 3.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: Modifiers::NONE,
    });
    h.run_steps(3);
    assert_eq!(data(&h).len(), 3);
    assert!(h.state().model.settings.data.drawn.is_some());
    let app_value = app_nelbo(&mut h);
    assert!(app_value.is_finite());
    // By the command.
    let path = dir.path().join("drawn.json");
    apply(&mut h, Command::SaveMixture(path.clone()));
    let settings = h.state().model.settings.clone();
    let text = std::fs::read_to_string(&path).expect("written");
    let back = elbo_core::mixture::parse_mixture_json(&text).expect("mixture JSON");
    assert_eq!(back.len(), 3);
    let cli = cli_nelbo(&path, &settings);
    assert!(close(cli, app_value, 1e-9), "CLI {cli} vs app {app_value}");
    // By the button, with the path typed into the field.
    let typed = dir.path().join("typed.json");
    let field = h.get_by_role_and_label(Role::TextInput, "Save data as (JSON)");
    field.click();
    h.run_steps(1);
    h.get_by_role_and_label(Role::TextInput, "Save data as (JSON)")
        .type_text(&typed.display().to_string());
    h.run_steps(1);
    h.get_by_label("Save data").click();
    h.run_steps(3);
    assert_eq!(
        std::fs::read_to_string(&typed).expect("written by the button"),
        text
    );
    let status = status_line(&h);
    assert!(!status.1 && status.0.contains("3 components"), "{status:?}");
    // Onto a file that exists: the app asks first; "Keep the file" writes nothing,
    // "Replace" replaces it whole.
    std::fs::write(&typed, "the user's own notes").expect("write");
    h.get_by_label("Save data").click();
    // The question is a modal window: laid out unseen on its first frame, then shown.
    h.run_steps(4);
    let waiting = h.state().waiting_save().expect("asks before replacing");
    assert_eq!(waiting.files, vec![typed.clone()]);
    h.get_by_label("Keep the file").click();
    h.run_steps(2);
    assert!(h.state().waiting_save().is_none());
    assert_eq!(
        std::fs::read_to_string(&typed).expect("kept"),
        "the user's own notes"
    );
    let status = status_line(&h);
    assert!(!status.1 && status.0.starts_with("kept "), "{status:?}");
    h.get_by_label("Save data").click();
    h.run_steps(4);
    h.get_by_label("Replace").click();
    h.run_steps(2);
    assert_eq!(std::fs::read_to_string(&typed).expect("replaced"), text);
    // A path that cannot be written says so.
    apply(
        &mut h,
        Command::SaveMixture(dir.path().join("no/such/dir/x.json")),
    );
    let status = status_line(&h);
    assert!(
        status.1 && status.0.contains("could not write"),
        "{status:?}"
    );
}

fn bad_drawn(components: Vec<Component>) -> DrawnData {
    DrawnData {
        components: Arc::new(components),
        from: "a test".into(),
    }
}

#[test]
fn a_bad_drawn_mixture_in_settings_or_a_scene_falls_back_with_a_note() {
    let negative = vec![Component {
        weight: 1.0,
        mean: vec![0.0],
        cov: vec![vec![-0.5]],
    }];
    for (components, what) in [
        (negative, "negative variance"),
        (Vec::new(), "no components"),
    ] {
        let mut s = small_1d();
        s.data.drawn = Some(bad_drawn(components));
        // Through the saved text, as the app restores it.
        let text = ron::to_string(&s).expect("RON");
        let (restored, notes) = elbo_lab::app::settings::restore(Some(&text));
        assert!(notes.is_empty(), "{notes:?}");
        assert!(
            restored.data.drawn.is_some(),
            "{what}: kept for the app to check"
        );
        let h = harness(restored);
        let app = h.state();
        assert_eq!(app.model.settings.data, DataSettings::default(), "{what}");
        assert_eq!(
            *app.model.applied.inputs.data,
            DataSpec::default().build().expect("default preset"),
            "{what}"
        );
        assert!(
            app.model
                .notes
                .restored
                .iter()
                .any(|n| n.contains("hand-drawn") && n.contains("default preset")),
            "{what}: {:?}",
            app.model.notes.restored
        );
    }

    // A scene whose drawing has a negative variance: the data stay, with a message.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scene.json");
    let mut h = harness(small_1d());
    enter_edit(&mut h);
    let tr = transform(&h, PLOT_1D);
    let y = tr.value_from_position(tr.frame().center()).y;
    {
        let p = screen(&h, PLOT_1D, [0.0, y]);
        click_at(&mut h, p);
    }
    apply(&mut h, Command::SaveScene(path.clone()));
    let mut scene: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("saved")).expect("JSON");
    let drawn = find_key(&mut scene, "drawn").expect("the scene carries the drawing");
    drawn["components"][0]["cov"][0][0] = serde_json::json!(-1.0);
    std::fs::write(&path, serde_json::to_string(&scene).expect("JSON")).expect("writes");
    apply(&mut h, Command::UndoData);
    let before = snapshot(&h);
    apply(&mut h, Command::OpenScene(path));
    assert_eq!(snapshot(&h), before, "the bad drawing was not taken");
    let app = h.state();
    // The scene's note names the drawing and what is wrong with it, and that the current
    // data stay (shown under the menu).
    let error = app.model.notes.restored.join("\n");
    assert!(error.contains("the current data stay"), "{error:?}");
    assert!(
        error.contains("hand-drawn")
            && error.contains("cov")
            && error.contains("not positive definite"),
        "{error:?}"
    );
}

fn find_key<'v>(v: &'v mut serde_json::Value, key: &str) -> Option<&'v mut serde_json::Value> {
    match v {
        serde_json::Value::Object(map) => {
            if map.get(key).is_some_and(|d| !d.is_null()) {
                return map.get_mut(key);
            }
            map.values_mut().find_map(|x| find_key(x, key))
        }
        serde_json::Value::Array(a) => a.iter_mut().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

#[test]
fn on_a_projector_the_editor_controls_are_inside_the_window() {
    for s in [small_1d(), small_2d()] {
        let mut s = s;
        s.zoom = 1.5;
        s.presenter = false;
        s.side_panel = true;
        let (w, hgt) = (1024.0 / 1.5, 768.0 / 1.5);
        let mut h = Harness::builder()
            .with_size([w, hgt])
            .with_pixels_per_point(1.5)
            .build_eframe(move |cc| App::for_test(&cc.egui_ctx, s));
        h.run_steps(4);
        enter_edit(&mut h);
        let k = data(&h).len();
        for label in [
            "Edit components (E)".to_owned(),
            "Brush (B)".to_owned(),
            "Undo".to_owned(),
            "Redo".to_owned(),
            format!("Components ({k})"),
        ] {
            let node = h.get_by_label(&label);
            node.scroll_to_me();
            h.run_steps(2);
            let r = h.get_by_label(&label).rect();
            assert!(
                r.left() >= 0.0
                    && r.right() <= w + 0.5
                    && r.top() >= 0.0
                    && r.bottom() <= hgt + 0.5,
                "{label} at {r:?} is outside the {w} x {hgt} window"
            );
        }
    }
}

#[test]
fn every_data_plot_edits_and_a_drag_on_one_is_not_ended_by_another() {
    let mut evidence = small_1d();
    evidence.view = View::Evidence;
    evidence.toggles.evidence_step = elbo_lab::app::settings::EvidenceStep::Diffusion;
    let mut reverse = small_2d();
    reverse.view = View::Reverse;
    for (s, plot) in [
        (evidence, "evidence_density"),
        (reverse.clone(), "reverse_cloud_A"),
        (reverse, "reverse_cloud_B"),
    ] {
        let view = s.view;
        let mut h = harness(s);
        enter_edit(&mut h);
        assert_eq!(h.state().model.settings.view, view, "{plot}: its tab stays");
        let before = data(&h);
        let from = centre_of(&h, plot, 0);
        let to = from + egui::vec2(50.0, if before.dim() == 2 { 30.0 } else { 0.0 });
        let goal = transform(&h, plot).value_from_position(to);
        let px = per_pixel(&h, plot);
        drag_hold(&mut h, from, &path(from, to, 5));
        assert!(
            Arc::ptr_eq(&data(&h), &before),
            "{plot}: the data changed mid-drag"
        );
        release(&mut h, to);
        let m = data(&h).means()[0];
        assert!(
            (m[0] - goal.x).abs() <= px[0],
            "{plot}: the centre is at {m:?}, released at {goal:?}"
        );
        if before.dim() == 2 {
            assert!((m[1] - goal.y).abs() <= px[1], "{plot}: {m:?} vs {goal:?}");
        }
        assert_eq!(
            h.state().model.data_history.undo_len(),
            1,
            "{plot}: one step"
        );
        // A brush stroke there: nothing applied before the release, then one step.
        h.key_press(Key::B);
        h.run_steps(2);
        let before = data(&h);
        let tr = transform(&h, plot);
        let from = tr.frame().center();
        let moves: Vec<Pos2> = (1..=4)
            .map(|i| from + egui::vec2(12.0 * i as f32, -8.0 * i as f32))
            .collect();
        drag_hold(&mut h, from, &moves);
        assert!(
            Arc::ptr_eq(&data(&h), &before),
            "{plot}: the stroke was applied before its release"
        );
        release(&mut h, moves[3]);
        assert_eq!(
            data(&h).len(),
            brushed(&moves, before.dim()).len(),
            "{plot}: a point every 5 screen points"
        );
        assert_eq!(
            h.state().model.data_history.undo_len(),
            2,
            "{plot}: one step"
        );
    }
}

/// Type `text` into the `row`th number field labelled `label` (the components list) and
/// press Enter.
fn type_into_row(h: &mut Harness<'static, App>, label: &str, row: usize, text: &str) {
    let field = |h: &Harness<'static, App>| {
        h.get_all_by_role_and_label(Role::SpinButton, label)
            .nth(row)
            .unwrap_or_else(|| panic!("no field {label} in row {row}"))
            .rect()
            .center()
    };
    let at = field(h);
    click_at(h, at);
    h.key_combination_modifiers(Modifiers::COMMAND, &[Key::A]);
    h.run_steps(1);
    h.get_all_by_role_and_label(Role::SpinButton, label)
        .nth(row)
        .expect("the field")
        .type_text(text);
    h.run_steps(1);
    h.key_press(Key::Enter);
    h.run_steps(3);
}

#[test]
fn typed_numbers_in_the_components_list_edit_the_data() {
    let mut h = harness(small_1d());
    h.get_by_label("Components (2)").click();
    h.run_steps(2);
    let d0 = data(&h);
    type_into_row(&mut h, "w", 0, "0.7");
    let d1 = data(&h);
    assert!(close(d1.weights()[0], 0.7, 1e-12), "{:?}", d1.weights());
    assert!(close(d1.weights()[1], 0.3, 1e-12), "{:?}", d1.weights());
    assert_eq!(d1.means(), d0.means());
    assert!(h.state().model.settings.data.drawn.is_some());
    assert_eq!(h.state().model.data_history.undo_len(), 1);
    type_into_row(&mut h, "sd", 1, "0.5");
    let d2 = data(&h);
    assert!(close(d2.covs()[1].xx, 0.25, 1e-12), "{:?}", d2.covs());
    assert_eq!(d2.weights(), d1.weights());
    type_into_row(&mut h, "m", 0, "-1.5");
    assert_eq!(data(&h).means()[0][0], -1.5);
    assert_eq!(h.state().model.data_history.undo_len(), 3);
    // A negative sd is refused: the data stay, the message says why.
    let d3 = data(&h);
    type_into_row(&mut h, "sd", 0, "-1");
    assert!(Arc::ptr_eq(&data(&h), &d3), "a negative sd was applied");
    assert!(
        h.query_all_by_label_contains("must be positive")
            .next()
            .is_some(),
        "the refusal is shown"
    );
    assert_eq!(h.state().model.data_history.undo_len(), 3);
}

#[test]
fn esc_during_a_drag_or_a_stroke_cancels_it() {
    let mut h = harness(small_1d());
    enter_edit(&mut h);
    let before = data(&h);
    let from = centre_of(&h, PLOT_1D, 0);
    let to = from + egui::vec2(80.0, 0.0);
    drag_hold(&mut h, from, &path(from, to, 4));
    h.key_press(Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().window.edit_mode, EditMode::Off);
    release(&mut h, to);
    assert!(Arc::ptr_eq(&data(&h), &before), "Esc applied the drag");
    // Back in the edit mode nothing stale is applied.
    h.event(Event::PointerMoved(to + egui::vec2(0.0, 300.0)));
    h.run_steps(1);
    enter_edit(&mut h);
    h.run_steps(2);
    assert!(
        Arc::ptr_eq(&data(&h), &before),
        "the cancelled drag came back"
    );
    // The same for a brush stroke.
    h.key_press(Key::B);
    h.run_steps(2);
    let tr = transform(&h, PLOT_1D);
    let from = tr.frame().center();
    drag_hold(&mut h, from, &path(from, from + egui::vec2(80.0, 0.0), 4));
    h.key_press(Key::Escape);
    h.run_steps(2);
    release(&mut h, from + egui::vec2(80.0, 0.0));
    assert!(Arc::ptr_eq(&data(&h), &before), "Esc applied the stroke");
    assert_eq!(h.state().model.data_history.undo_len(), 0);
}

#[test]
fn a_drawing_survives_the_saved_settings_and_a_scene_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drawn-scene.json");
    let mut h = harness(small_2d());
    enter_edit(&mut h);
    let p = centre_of(&h, PLOT_2D, 1);
    drag(&mut h, p, p + egui::vec2(37.0, 23.0), 4);
    let drawn = snapshot(&h);
    assert!(drawn.0.drawn.is_some());
    // The settings as eframe saves them, restored into a new app.
    let text = ron::to_string(&h.state().model.settings).expect("RON");
    let (restored, notes) = elbo_lab::app::settings::restore(Some(&text));
    assert!(notes.is_empty(), "{notes:?}");
    let other = harness(restored);
    assert_eq!(snapshot(&other), drawn);
    assert!(other.state().model.notes.restored.is_empty());
    // A scene, opened by another app on other data.
    apply(&mut h, Command::SaveScene(path.clone()));
    let mut other = harness(small_1d());
    apply(&mut other, Command::OpenScene(path));
    assert_eq!(snapshot(&other), drawn);
    assert_eq!(other.state().model.notes.data_error, None);
    // And one undo takes that app back to its own data.
    ctrl_z(&mut other);
    assert_eq!(data(&other).dim(), 1);
}

/// The defect: after a drag froze the density plot's axes (or the user zoomed), new data
/// (an edit, an undo) kept the old y range and cut the new peaks. New data refit the axes.
#[test]
fn new_data_refit_the_density_plots_axes() {
    let mut h = harness(small_1d());
    apply(&mut h, Command::SetEditMode(EditMode::Components));
    let y_max = |h: &Harness<'static, App>| {
        PlotMemory::load(&h.ctx, plot_id(PLOT_1D))
            .expect("the density plot")
            .bounds()
            .max()[1]
    };
    let before = y_max(&h);
    // What a drag leaves behind: bounds frozen, here around the bimodal peaks.
    let mut mem = PlotMemory::load(&h.ctx, plot_id(PLOT_1D)).expect("the density plot");
    mem.auto_bounds = egui::Vec2b::FALSE;
    mem.store(&h.ctx, plot_id(PLOT_1D));
    h.run_steps(2);
    assert!((y_max(&h) - before).abs() < 1e-9, "the frozen bounds hold");
    // Narrow data: a peak of about 4, far above the frozen range.
    let narrow = DataSettings::default().with_preset(DataSpec {
        width: 0.1,
        ..DataSpec::new(DataPreset::Bimodal)
    });
    apply(&mut h, Command::SetData(narrow));
    let peak = data(&h).log_density(&[1.0]).exp();
    assert!(peak > 2.0 * before, "peak {peak} against {before}");
    assert!(
        y_max(&h) >= peak,
        "y max {} cuts the peak {peak}",
        y_max(&h)
    );
    // And back by Ctrl+Z: the range follows the wide data down again.
    apply(&mut h, Command::UndoData);
    assert!(y_max(&h) < 0.5 * peak, "y max {} after undo", y_max(&h));
}
