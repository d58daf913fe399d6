//! The plots of the ELBO, Parameterisations, Schedule and Training tabs: a click on a plot
//! over t moves the timeline (a drag does not), controls have tooltips, and each tab fits
//! a projector-sized window.

use egui::{Event, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use egui_plot::{PlotMemory, PlotPoint};
use elbo_lab::app::App;
use elbo_lab::app::formula::{self, catalogue::label};
use elbo_lab::app::plot_util::plot_id;
use elbo_lab::app::settings::{Settings, View};

/// Small settings so every synchronous computation is quick.
fn small(view: View) -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 128;
    s.view = view;
    s
}

/// A window of `w` x `h` pixels at `zoom` (the layout gets `w / zoom` x `h / zoom` points).
fn harness(settings: Settings, w: f32, h: f32, zoom: f32, gpu: bool) -> Harness<'static, App> {
    let mut s = settings;
    s.zoom = zoom;
    let b = Harness::builder().with_size([w / zoom, h / zoom]);
    let b = if gpu { b.wgpu() } else { b };
    b.build_eframe(move |cc| App::for_test(&cc.egui_ctx, s))
}

/// The window sizes of issue 9: (width px, height px, zoom, presenter mode).
const SIZES: [(f32, f32, f32, bool); 3] = [
    (1024.0, 768.0, 1.5, true),
    (1280.0, 720.0, 1.75, true),
    (1280.0, 800.0, 1.0, false),
];

/// Where on screen the plot `name` draws the point (x, middle of its y range).
fn screen_pos(h: &Harness<'static, App>, name: &str, x: f64) -> Pos2 {
    let mem = PlotMemory::load(&h.ctx, plot_id(name))
        .unwrap_or_else(|| panic!("plot {name} was not drawn"));
    let tr = mem.transform();
    let y = tr.value_from_position(tr.frame().center()).y;
    tr.position_from_point(&PlotPoint::new(x, y))
}

fn press(h: &mut Harness<'static, App>, pos: Pos2, pressed: bool) {
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    });
}

/// Click at `pos`: move there, press, release.
fn click_at(h: &mut Harness<'static, App>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.run_steps(1);
    press(h, pos, true);
    h.run_steps(1);
    press(h, pos, false);
    h.run_steps(2);
}

#[test]
fn a_click_on_a_plot_over_t_moves_the_timeline_there() {
    for (view, plot, x) in [
        (View::Elbo, "terms", 37.0),
        (View::Elbo, "running", 64.2),
        (View::Params, "over_t_eps", 81.0),
        (View::Schedule, "schedule_beta", 23.0),
        (View::Schedule, "schedule_log_snr", 90.0),
    ] {
        let mut h = harness(small(view), 1280.0, 800.0, 1.0, false);
        h.run_steps(3);
        assert_eq!(h.state().t(), 1);
        let pos = screen_pos(&h, plot, x);
        click_at(&mut h, pos);
        let t = h.state().t() as f64;
        assert!(
            (t - x).abs() <= 1.0,
            "{view:?} {plot}: clicked at t = {x}, the timeline says {t}"
        );
        // On a projector too.
        let mut s = small(view);
        s.presenter = true;
        let mut h = harness(s, 1024.0, 768.0, 1.5, false);
        h.run_steps(3);
        let pos = screen_pos(&h, plot, x);
        click_at(&mut h, pos);
        let t = h.state().t() as f64;
        assert!((t - x).abs() <= 1.0, "{view:?} {plot} at zoom 1.5: {t}");
    }
}

#[test]
fn a_drag_on_a_plot_pans_it_and_leaves_t_alone() {
    let mut h = harness(small(View::Elbo), 1280.0, 800.0, 1.0, false);
    h.run_steps(3);
    let from = screen_pos(&h, "terms", 30.0);
    let to = from + egui::vec2(120.0, 0.0);
    h.event(Event::PointerMoved(from));
    h.run_steps(1);
    press(&mut h, from, true);
    h.run_steps(1);
    for k in 1..=6 {
        h.event(Event::PointerMoved(from + (to - from) * (k as f32 / 6.0)));
        h.run_steps(1);
    }
    press(&mut h, to, false);
    h.run_steps(2);
    assert_eq!(h.state().t(), 1, "a drag is a pan, not a click");
}

#[test]
fn clicks_beyond_the_data_clamp_to_the_first_and_last_step() {
    let mut h = harness(small(View::Schedule), 1280.0, 800.0, 1.0, false);
    h.run_steps(3);
    // egui_plot's margins put x = -2 and x = 102 inside the frame of a 1..=100 plot.
    let pos = screen_pos(&h, "schedule_abar", 102.0);
    click_at(&mut h, pos);
    assert_eq!(h.state().t(), 100);
    let pos = screen_pos(&h, "schedule_abar", -2.0);
    click_at(&mut h, pos);
    assert_eq!(h.state().t(), 1);
}

#[test]
fn the_elbo_totals_are_never_cut_by_the_window() {
    for (w, hgt, zoom, presenter) in SIZES {
        let mut s = small(View::Elbo);
        s.presenter = presenter;
        let mut h = harness(s, w, hgt, zoom, false);
        h.run_steps(3);
        let right = w / zoom;
        for symbol in [
            label::L0,
            label::LT,
            label::NELBO,
            r"\text{bits/dim}",
            label::ENTROPY,
            r"\text{gap}",
        ] {
            // The typeset cell (labelled by its plain text) and its value (the first "±" or
            // "exact" to its right).
            let name = formula::plain(symbol);
            let cells = h.get_all_by_label(&name).collect::<Vec<_>>();
            // The legend and the per-t heading may name the same symbol: the totals cell
            // is the one with a value on its row, to its right.
            let values: Vec<egui::Rect> = h
                .get_all_by(|n| {
                    n.value()
                        .is_some_and(|l| l.contains('±') || l.contains("exact"))
                })
                .map(|n| n.rect())
                .collect();
            let (row, value) = cells
                .iter()
                .map(|c| c.rect())
                .find_map(|row| {
                    values
                        .iter()
                        .find(|r| {
                            (r.center().y - row.center().y).abs() < 4.0 && r.left() > row.left()
                        })
                        .map(|v| (row, *v))
                })
                .unwrap_or_else(|| panic!("{w}x{hgt} x{zoom}: no value beside {name}"));
            assert!(
                value.right() <= right + 0.5 && row.left() >= 0.0,
                "{w}x{hgt} x{zoom}: {name} {row:?} / value {value:?} past the window's {right}"
            );
        }
        assert!(
            h.query_all_by_label_contains("± ").next().is_some(),
            "standard errors use ±"
        );
        assert!(
            h.query_all_by_label_contains("+/-").next().is_none(),
            "no +/- left"
        );
        assert!(
            h.query_all_by_label_contains("+ -").next().is_none(),
            "no + - left"
        );
    }
}

#[test]
fn every_plot_of_these_tabs_is_inside_the_window() {
    for view in [View::Elbo, View::Params, View::Schedule, View::Training] {
        for (w, hgt, zoom, presenter) in SIZES {
            let mut s = small(view);
            s.presenter = presenter;
            let mut h = harness(s, w, hgt, zoom, false);
            h.run_steps(3);
            let right = w / zoom;
            let names: &[&str] = match view {
                View::Elbo => &["terms", "running"],
                View::Params => &["field_x0", "over_t_x0", "field_score", "over_t_score"],
                View::Schedule => &["schedule_beta", "schedule_abar", "schedule_log_snr"],
                _ => &["train_loss"],
            };
            for name in names {
                let mem = PlotMemory::load(&h.ctx, plot_id(name))
                    .unwrap_or_else(|| panic!("{view:?}: plot {name} was not drawn"));
                let frame = mem.transform().frame().to_owned();
                assert!(
                    frame.left() >= 0.0 && frame.right() <= right + 0.5,
                    "{view:?} {w}x{hgt} x{zoom}: {name} {frame:?} past {right}"
                );
                assert!(
                    frame.width() >= 100.0 && frame.height() >= 60.0,
                    "{view:?} {w}x{hgt} x{zoom}: {name} is {frame:?}"
                );
            }
        }
    }
}

#[test]
fn controls_say_what_they_do() {
    for (view, control, tip) in [
        (View::Elbo, "Log y axis", "log10 axis"),
        (View::Elbo, "eq. 58 denoising matching", "Luo 2022 eq. 58"),
        (View::Elbo, "eq. 45 consistency terms", "Luo 2022 eq. 45"),
        (
            View::Params,
            "Show v-prediction column",
            "w_v = w_x0 (1 - abar_t)",
        ),
        (
            View::Schedule,
            "Overlay the other presets (same T and beta range)",
            "own colour and dash",
        ),
        (
            View::Training,
            "Start training",
            "one small network per parameterisation",
        ),
        (View::Training, "Also train v", "predicts v"),
    ] {
        let mut h = harness(small(view), 1280.0, 800.0, 1.0, false);
        h.ctx.all_styles_mut(|s| {
            s.interaction.tooltip_delay = 0.0;
            s.interaction.show_tooltips_only_when_still = false;
        });
        h.run_steps(3);
        h.get_by_label(control).hover();
        h.run_steps(3);
        assert!(
            h.query_by_label_contains(tip).is_some(),
            "{view:?}: hovering {control} shows no tooltip with {tip:?}"
        );
    }
}
