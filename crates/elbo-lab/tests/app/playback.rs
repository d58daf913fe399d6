//! The playing timeline keeps its stated speed (issue 24): t moves by speed x elapsed time
//! whatever the frame rate, keeps the fraction of a step between frames, and a stall
//! moves it by at most `MAX_FRAME_ADVANCE` seconds' worth. Time is given explicitly (the
//! model's own `advance_time`, or the harness's simulated clock); nothing reads the wall
//! clock.

use elbo_lab::app::model::MAX_FRAME_ADVANCE;
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::app::{Command, Model};

use crate::common;

/// How far the achieved speed may be from the stated one.
const SPEED_TOLERANCE: f64 = 0.05;

/// A model at the defaults (T = 1000, 100 steps/s, the Forward tab) at t = 1, playing.
fn playing() -> Model {
    let mut model = Model::new(Settings::default());
    assert_eq!(model.settings.speed, 100.0, "the default speed");
    assert_eq!(model.steps(), 1000);
    model.settings.t = 1;
    model
        .apply(Command::TogglePlay)
        .unwrap_or_else(|_| panic!("the model plays and pauses the timeline"));
    assert!(model.playing);
    model
}

/// Play frames of `dts` seconds; the steps t moved by (no wrap at these lengths).
fn play(model: &mut Model, dts: &[f32]) -> usize {
    let before = model.t();
    for &dt in dts {
        assert!(model.advance_time(dt), "it plays");
    }
    model.t() - before
}

fn assert_speed(steps: usize, seconds: f64, speed: f64, what: &str) {
    let expected = speed * seconds;
    let error = (steps as f64 - expected).abs() / expected;
    assert!(
        error <= SPEED_TOLERANCE,
        "{what}: t moved {steps} steps in {seconds} s at {speed} steps/s (expected {expected}, off by {:.1}%)",
        100.0 * error
    );
}

#[test]
fn slow_frames_play_at_the_stated_speed() {
    // 150 ms frames (a software-rendered window): each moves t by 15 steps, none is cut.
    let mut model = playing();
    let steps = play(&mut model, &[0.15; 40]);
    assert_speed(steps, 6.0, 100.0, "150 ms frames");
    assert_eq!(steps, 600);
}

#[test]
fn fast_frames_keep_the_fraction_of_a_step() {
    // 16 ms frames move t by 1.6 steps each: the fractions add up, none is lost.
    let mut model = playing();
    let steps = play(&mut model, &[0.016; 250]);
    assert_speed(steps, 4.0, 100.0, "16 ms frames");
    // At 1 step/s, a frame of 16 ms never moves t alone; 63 of them do, once.
    let mut model = playing();
    model.settings.speed = 1.0;
    assert_eq!(play(&mut model, &[0.016; 62]), 0);
    assert_eq!(play(&mut model, &[0.016; 2]), 1);
}

#[test]
fn irregular_frames_play_at_the_stated_speed() {
    let dts: Vec<f32> = [
        0.003, 0.041, 0.016, 0.2, 0.0, 0.09, 0.033, 0.007, 0.12, 0.017,
    ]
    .into_iter()
    .cycle()
    .take(150)
    .collect();
    let seconds: f64 = dts.iter().map(|&d| f64::from(d)).sum();
    let mut model = playing();
    let steps = play(&mut model, &dts);
    assert_speed(steps, seconds, 100.0, "irregular frames");
    // The fraction kept, the error is under one step however many frames there are.
    assert!((steps as f64 - 100.0 * seconds).abs() < 1.0);
}

#[test]
fn a_stall_moves_t_by_the_cap_at_most() {
    let mut model = playing();
    // The window dragged for 5 s: a quarter of a second of playback, 25 steps.
    assert_eq!(play(&mut model, &[5.0]), 25);
    assert_eq!(MAX_FRAME_ADVANCE, 0.25);
    // Time that is not a time moves nothing.
    assert_eq!(play(&mut model, &[f32::NAN, f32::INFINITY, -1.0]), 0);
    // And playing on afterwards keeps the speed.
    let steps = play(&mut model, &[0.05; 20]);
    assert_speed(steps, 1.0, 100.0, "after a stall");
}

#[test]
fn paused_and_reverse_timelines() {
    let mut model = playing();
    model
        .apply(Command::TogglePlay)
        .unwrap_or_else(|_| panic!("pause"));
    assert!(!model.advance_time(1.0), "paused");
    assert_eq!(model.t(), 1);
    assert_eq!(model.next_step_in(), None);
    // The Reverse tab plays from T down, at the same speed.
    let mut model = playing();
    model.settings.view = View::Reverse;
    model.settings.t = 1000;
    for _ in 0..10 {
        model.advance_time(0.15);
    }
    assert_eq!(model.t(), 850);
    // Half a step in, the next step is 5 ms away at 100 steps/s.
    model.advance_time(0.005);
    let next = model.next_step_in().unwrap_or(f32::NAN);
    assert!((next - 0.005).abs() < 1e-4, "next step in {next} s");
}

#[test]
fn the_app_plays_at_its_speed_on_slow_frames() {
    // The whole app in a harness whose simulated frames come every 150 ms: the frame that
    // starts playing counts no time (before it the timeline was paused), each later one
    // 15 steps.
    let mut h = common::builder([1280.0, 800.0], 1.0)
        .with_step_dt(0.15)
        .build_eframe(|cc| elbo_lab::app::App::for_test(&cc.egui_ctx, Settings::default()));
    h.run_steps(3);
    let t0 = h.state().t();
    common::apply(&mut h, Command::TogglePlay);
    let t1 = h.state().t();
    // common::apply runs three frames: the first started playing, two moved t.
    assert_eq!(t1 - t0, 30, "the first playing frame counts no paused time");
    h.run_steps(20);
    let steps = h.state().t() - t1;
    assert_speed(steps, 3.0, 100.0, "the app at 150 ms a frame");
}
