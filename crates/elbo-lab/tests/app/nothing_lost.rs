//! Nothing lost, nothing hangs: the app's side of reading what a user never named (the
//! files a restored state or a scene points to), long texts in scenes and saved state, and
//! notes that say what actually happened. Each test failed before its fix.

use crate::common::{app, apply, builder, small, status_line};
use egui_kittest::Harness;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::command::Command;
use elbo_lab::app::scene::{Launch, Scene};
use elbo_lab::app::settings::{self, CustomBetas, DrawnData, MAX_OVERLAYS, Settings, View};
use elbo_lab::app::{App, AppOptions, Mode, classify_dropped};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An app restored from `settings` as the real window builds it (files after the first
/// frame), with no frame drawn yet.
fn restoring(settings: Settings, launch: Launch) -> Harness<'static, App> {
    builder([1280.0, 800.0], 1.0).build_eframe(move |cc| {
        App::restoring(
            &cc.egui_ctx,
            settings,
            launch,
            AppOptions::new(Mode::Inline),
        )
    })
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

fn notes(h: &Harness<'static, App>) -> String {
    h.state().model.notes.restored.join("\n")
}

#[test]
fn restored_files_are_read_after_the_first_frame() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("three.json");
    std::fs::write(
        &data,
        r#"{"components": [{"weight": 1, "mean": [-2], "cov": [[0.1]]},
                           {"weight": 1, "mean": [0], "cov": [[0.1]]},
                           {"weight": 1, "mean": [2], "cov": [[0.1]]}]}"#,
    )
    .expect("write");
    let overlay = dir.path().join("betas.txt");
    std::fs::write(&overlay, "0.01\n0.02\n0.5\n").expect("write");
    let mut s = small();
    s.data.file = Some(data.clone());
    s.overlays = vec![overlay.clone()];
    // Frame by frame, as the window runs it.
    let ctx = egui::Context::default();
    let mut app = App::restoring(&ctx, s, Launch::default(), AppOptions::new(Mode::Inline));
    let frame = |app: &mut App| {
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| app.frame(ui));
        out.textures_delta.clear();
    };
    // Nothing read before the window draws.
    assert!(app.files_pending());
    assert_eq!(app.model.settings.data.file, None);
    assert!(app.model.overlays.is_empty());
    frame(&mut app);
    assert!(app.files_pending(), "the first frame draws first");
    assert_eq!(app.model.settings.data.file, None);
    frame(&mut app);
    frame(&mut app);
    assert!(!app.files_pending());
    assert_eq!(app.model.settings.data.file, Some(data));
    assert_eq!(app.data().len(), 3);
    assert_eq!(app.model.settings.overlays, vec![overlay]);
    assert!(
        app.model.notes.restored.is_empty(),
        "{:?}",
        app.model.notes.restored
    );
}

#[cfg(unix)]
#[test]
fn restored_fifos_and_devices_are_refused_by_their_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("data.json");
    mkfifo(&fifo);
    let mut s = small();
    s.data.file = Some(fifo);
    // A thousand overlays of an endless device: the first 16 are tried, each refused.
    s.overlays = vec![PathBuf::from("/dev/zero"); 1000];
    let (s, fixed) = s.validated();
    assert!(
        fixed.iter().any(|n| n.contains("first 16 kept")),
        "{fixed:?}"
    );
    assert_eq!(s.overlays.len(), MAX_OVERLAYS);
    let mut h = restoring(s, Launch::default());
    // Before the fix the FIFO blocked the first frame forever.
    h.run_steps(3);
    assert_eq!(h.state().model.settings.data.file, None);
    assert!(h.state().model.settings.overlays.is_empty());
    let text = notes(&h);
    assert!(
        text.contains("not a regular file but a named pipe (FIFO)"),
        "{text}"
    );
    assert!(
        text.contains("not a regular file but a character device"),
        "{text}"
    );
    // A dropped FIFO is not opened to guess what it is: the loader names it.
    let fifo = dir.path().join("dropped");
    mkfifo(&fifo);
    assert_eq!(classify_dropped(&fifo), Command::LoadData(fifo.clone()));
    let mut h = app(small()).build();
    apply(&mut h, Command::LoadData(fifo));
    let error = h.state().model.notes.data_error.clone().expect("refused");
    assert!(error.contains("named pipe"), "{error}");
}

#[test]
fn a_launched_scene_opens_after_the_first_frame_with_the_tab_asked_for() {
    let scene = Scene::of(&Settings {
        seed: 5,
        view: View::Elbo,
        ..small()
    });
    let launch = Launch {
        scene: Some(("s.json".into(), scene, Vec::new())),
        view: Some(View::Schedule),
        zoom: Some(1.5),
        presenter: false,
    };
    let mut h = restoring(small(), launch);
    // The tab and zoom from the first frame; the scene once it is drawn.
    assert_eq!(h.state().model.settings.view, View::Schedule);
    assert_eq!(h.state().model.settings.zoom, 1.5);
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.model.settings.seed, 5);
    assert_eq!(app.model.settings.view, View::Schedule);
    assert_eq!(app.model.settings.zoom, 1.5);
}

#[test]
fn a_scene_whose_data_are_refused_keeps_the_current_data_as_its_note_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = app(small()).build();
    let before = h.state().model.settings.data.clone();
    let len = h.state().data().len();
    let mut s = small();
    s.data.spec = DataSpec {
        preset: DataPreset::TwoMoons,
        components: 1_000_000_000,
        width: 1.0,
    };
    let path = dir.path().join("huge.json");
    Scene::of(&s).save(&path).expect("saved");
    apply(&mut h, Command::OpenScene(path));
    h.run_steps(3);
    let app = h.state();
    assert!(
        notes(&h).contains("the scene's data were refused"),
        "{}",
        notes(&h)
    );
    // Before the fix: "the current data stay", then two moons with 512 components.
    assert_eq!(app.model.settings.data, before);
    assert_eq!(app.data().len(), len);
}

#[test]
fn a_scene_beyond_t_or_with_a_refused_schedule_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = app(small()).build();
    let mut s = small();
    s.t = 5000;
    let path = dir.path().join("late.json");
    Scene::of(&s).save(&path).expect("saved");
    apply(&mut h, Command::OpenScene(path));
    assert!(
        notes(&h).contains("t = 5000 is beyond T = 50; t = 50 is shown"),
        "{}",
        notes(&h)
    );
    assert_eq!(h.state().model.settings.t, 50);
    let mut s = small();
    s.schedule.custom = Some(CustomBetas {
        label: "broken".into(),
        betas: vec![0.1, 1.5, 0.2],
    });
    let path = dir.path().join("betas.json");
    Scene::of(&s).save(&path).expect("saved");
    let schedule = h.state().model.settings.schedule.clone();
    apply(&mut h, Command::OpenScene(path));
    assert!(
        notes(&h).contains("the scene's schedule was refused"),
        "{}",
        notes(&h)
    );
    assert_eq!(h.state().model.settings.schedule, schedule);
    assert_eq!(h.state().steps(), 50);
}

#[test]
fn long_texts_in_scenes_and_saved_state_are_capped_with_a_note() {
    let long = "x".repeat(10 * 1024 * 1024);
    let mut s = small();
    s.data.drawn = Some(DrawnData {
        components: Arc::new(
            DataSpec::new(DataPreset::Bimodal)
                .build()
                .expect("a preset")
                .components(),
        ),
        from: long.clone(),
    });
    let mut scene = Scene::of(&s);
    scene.title = Some(long.clone());
    let (back, notes) = Scene::parse(&scene.to_json()).expect("a scene");
    let d = back.settings.data.drawn.expect("the drawing stays");
    assert!(
        d.from.len() <= settings::MAX_LABEL_BYTES,
        "{}",
        d.from.len()
    );
    assert!(back.title.expect("a title").len() <= settings::MAX_LABEL_BYTES);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("'from'") && n.contains("10485760 bytes")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("'title'")), "{notes:?}");
    // A path of 8 MB in the saved state is dropped, the rest restored.
    let mut s = small();
    s.seed = 7;
    s.data.file = Some(PathBuf::from(format!("/tmp/{}", "p".repeat(8 << 20))));
    let text = ron::to_string(&s).expect("ron");
    let (restored, notes) = settings::restore(Some(&text));
    assert_eq!(restored.data.file, None);
    assert_eq!(restored.seed, 7);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("data file path") && n.contains("4096-byte")),
        "{notes:?}"
    );
}

#[test]
fn a_scene_with_a_byte_order_mark_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bom.json");
    let s = Settings {
        seed: 11,
        ..small()
    };
    std::fs::write(&path, format!("\u{feff}{}", Scene::of(&s).to_json())).expect("write");
    let mut h = app(small()).build();
    apply(&mut h, Command::OpenScene(path.clone()));
    assert_eq!(h.state().model.settings.seed, 11, "{:?}", status_line(&h));
    assert_eq!(classify_dropped(&path), Command::OpenScene(path));
}
