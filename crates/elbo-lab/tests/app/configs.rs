//! Real scheduler configs in the app (issue 13), driven through labelled widgets
//! (egui_kittest): configs overlaid by name in the Schedule tab, on the t axis and on the
//! normalised t / T axis; the config's `prediction_type` highlighted in the
//! Parameterisations tab; the Reverse process tab taking `timestep_spacing` and
//! `steps_offset` from a loaded config unless the user overrides them.

use std::path::{Path, PathBuf};

use crate::common::{app, status_line};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_plot::PlotMemory;
use elbo_core::param::Parameterisation;
use elbo_core::sampler::Spacing;
use elbo_lab::app::App;
use elbo_lab::app::plot_util::{LEGEND_CHARS, plot_id, shorten};
use elbo_lab::app::settings::{Settings, View};

/// A file of the repository's test data, `$CARGO_MANIFEST_DIR/tests/data/`.
fn test_data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join("data")
        .join(file)
}

const SDXL: &str = "sdxl-euler-ancestral.scheduler_config.json";
const CIFAR: &str = "ddpm-cifar10-32.scheduler_config.json";
const ZERO123: &str = "zero123-v-prediction.scheduler_config.json";
const SD15: &str = "stable-diffusion-v1-5.scheduler_config.json";

/// Small settings so every synchronous computation is quick: T = 100 (the overlaid
/// configs have T = 1000).
fn small(view: View) -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 100;
    s.samples = 64;
    s.view = view;
    s
}

fn harness(settings: Settings) -> Harness<'static, App> {
    app(settings).build()
}

/// Type `path` into the side panel's schedule path field, then click `button`.
fn through_path_field(h: &mut Harness<'static, App>, path: &Path, button: &str) {
    let text = path.display().to_string();
    h.get_by_role_and_label(Role::TextInput, "Schedule file path")
        .set_text_value_accesskit(&text);
    h.run_steps(1);
    let field = h.get_by_role_and_label(Role::TextInput, "Schedule file path");
    assert_eq!(field.value().as_deref(), Some(text.as_str()));
    h.get_by_label(button).click();
    h.run_steps(2);
}

/// The x range the plot `name` shows.
fn x_range(h: &Harness<'static, App>, name: &str) -> (f64, f64) {
    let mem = PlotMemory::load(&h.ctx, plot_id(name))
        .unwrap_or_else(|| panic!("plot {name} was not drawn"));
    let tr = mem.transform();
    let b = tr.bounds();
    (b.min()[0], b.max()[0])
}

#[test]
fn two_configs_are_overlaid_by_name_and_removed_one_by_one() {
    let mut h = harness(small(View::Schedule));
    h.run_steps(2);
    let sdxl = test_data(SDXL);
    through_path_field(&mut h, &sdxl, "Overlay in the Schedule tab");
    // The second through the same field, cleared first.
    through_path_field(&mut h, &test_data(CIFAR), "Overlay in the Schedule tab");
    {
        let app = h.state();
        let names: Vec<&str> = app.model.overlays.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, [SDXL, CIFAR], "{:?}", app.model.notes.overlay_error);
        assert_eq!(app.model.settings.overlays.len(), 2);
        // The current schedule stays (T = 100, linear); the overlays have their own T.
        assert_eq!(app.steps(), 100);
        assert!(app.model.settings.schedule.custom.is_none());
        assert_eq!(app.model.overlays[0].schedule.steps(), 1000);
        assert_eq!(app.model.overlays[1].schedule.steps(), 1000);
        assert_eq!(
            app.model.overlays[0].class_name.as_deref(),
            Some("EulerAncestralDiscreteScheduler")
        );
        // SDXL: scaled_linear 0.00085..0.012, so beta_1 = 0.00085 and log-SNR(1) =
        // log(abar_1 / (1 - abar_1)) = log((1 - 0.00085) / 0.00085).
        let s = &app.model.overlays[0].schedule;
        assert!((s.beta(1) - 0.00085).abs() < 1e-12);
        let expected = ((1.0 - 0.00085_f64) / 0.00085).ln();
        assert!((s.log_snr(1).expect("defined") - expected).abs() < 1e-9);
        // CIFAR-10 DDPM: linear 1e-4..0.02, T read from "timesteps".
        assert!((app.model.overlays[1].schedule.beta(1000) - 0.02).abs() < 1e-12);
        assert_eq!(app.model.settings.view, View::Schedule);
    }
    // Both are named in the legend (shortened to the legend's width) and in the list with
    // their class and T.
    for name in [SDXL, CIFAR] {
        let _ = h.get_by_label(&shorten(name, LEGEND_CHARS));
    }
    let _ = h.get_by_label(&format!(
        "{SDXL}: EulerAncestralDiscreteScheduler, T = 1000"
    ));
    let _ = h.get_by_label(&format!("{CIFAR}: GaussianDDPMScheduler, T = 1000"));

    // On the t axis the plots reach t = 1000 (the configs' T); normalised, they end at 1.
    let (_, max_t) = x_range(&h, "schedule_log_snr");
    assert!(max_t >= 1000.0, "t axis ends at {max_t}");
    h.get_by_label("Normalised axis t / T").click();
    h.run_steps(3);
    assert!(h.state().model.settings.toggles.normalised_t);
    let (min_x, max_x) = x_range(&h, "schedule_log_snr");
    assert!(
        min_x > -0.2 && (1.0..1.2).contains(&max_x),
        "normalised axis spans {min_x}..{max_x}"
    );

    // The same file again is refused with a message, not drawn twice.
    through_path_field(&mut h, &sdxl, "Overlay in the Schedule tab");
    assert_eq!(h.state().model.overlays.len(), 2);
    assert!(
        h.state()
            .model
            .notes
            .overlay_error
            .as_deref()
            .is_some_and(|e| e.contains("already overlaid"))
    );

    // Remove the first: the second stays, and the legend no longer names the first.
    h.get_by_label(&format!("Remove {SDXL}")).click();
    h.run_steps(2);
    let names: Vec<String> = h
        .state()
        .model
        .overlays
        .iter()
        .map(|o| o.name.clone())
        .collect();
    assert_eq!(names, [CIFAR]);
    assert!(h.query_by_label(&shorten(SDXL, LEGEND_CHARS)).is_none());
    h.get_by_label(&format!("Remove {CIFAR}")).click();
    h.run_steps(2);
    assert!(h.state().model.overlays.is_empty());
    assert!(h.state().model.settings.overlays.is_empty());
}

#[test]
fn a_bad_overlay_is_an_error_and_a_missing_saved_one_is_dropped_with_a_note() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("wiggly.json");
    std::fs::write(&bad, r#"{"beta_schedule": "wiggly"}"#).expect("write");
    let mut h = harness(small(View::Schedule));
    through_path_field(&mut h, &bad, "Overlay in the Schedule tab");
    assert!(h.state().model.overlays.is_empty());
    let e = h
        .state()
        .model
        .notes
        .overlay_error
        .clone()
        .expect("an error");
    assert!(e.contains("wiggly"), "{e}");
    let _ = h.get_by_label_contains("Error:");

    // Restored settings naming a file that is gone: dropped with a note, never a panic.
    let mut s = small(View::Schedule);
    s.overlays = vec![dir.path().join("gone.json"), test_data(CIFAR)];
    let h = harness(s);
    let app = h.state();
    assert_eq!(app.model.overlays.len(), 1);
    assert_eq!(app.model.settings.overlays, vec![test_data(CIFAR)]);
    assert!(
        app.model
            .notes
            .restored
            .iter()
            .any(|n| n.contains("gone.json")),
        "{:?}",
        app.model.notes.restored
    );
}

#[test]
fn a_dropped_config_is_overlaid_when_the_switch_says_so() {
    #[derive(Debug)]
    struct Dropped(PathBuf);
    impl egui::DroppedFile for Dropped {
        fn path(&self) -> &Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            std::fs::read(&self.0).map_err(|e| e.to_string())
        }
    }
    let mut h = harness(small(View::Schedule));
    h.run_steps(1);
    h.get_by_label("Overlay dropped schedule files").click();
    h.run_steps(1);
    assert!(h.state().model.settings.toggles.drop_overlays);
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(test_data(SDXL))));
    h.run_steps(2);
    assert_eq!(h.state().model.overlays.len(), 1);
    assert_eq!(h.state().steps(), 100, "the current schedule stays");
}

#[test]
fn the_configs_prediction_type_is_highlighted_without_claiming_a_loss() {
    let mut h = harness(small(View::Params));
    h.run_steps(1);
    assert!(h.query_by_label_contains("network predicts").is_none());
    through_path_field(&mut h, &test_data(ZERO123), "Load schedule file");
    h.get_by_label("Parameterisations").click();
    h.run_steps(2);
    let app = h.state();
    let config = app
        .model
        .settings
        .config_of(&app.model.applied.schedule_settings)
        .expect("the loaded schedule has its config");
    assert_eq!(config.predicts(), Some(Parameterisation::V));
    assert_eq!(app.steps(), 1000);
    // Said in words, and the v column is shown (framed) although the v toggle is off.
    let said = h.get_by_label_contains("This config's network predicts v");
    let text = format!("{:?}", said.accesskit_node().label());
    assert!(!text.to_lowercase().contains("loss"), "{text}");
    assert!(!h.state().model.settings.toggles.show_v);
    let _ = h.get_by_label("v-prediction: the config's network");
    assert!(
        h.query_by_label("eps-prediction: the config's network")
            .is_none()
    );

    // An edit of the schedule (T) makes the config stale: no highlight any more.
    let ctx = h.ctx.clone();
    let mut edited = h.state().model.settings.schedule.clone();
    edited.steps = 500;
    h.state_mut()
        .apply(&ctx, elbo_lab::app::Command::SetSchedule(edited));
    h.run_steps(2);
    assert!(h.query_by_label_contains("network predicts").is_none());
}

#[test]
fn the_reverse_tab_takes_spacing_and_offset_from_the_config_unless_overridden() {
    let mut s = small(View::Reverse);
    s.reverse.b.steps = 10;
    let mut h = harness(s);
    h.run_steps(1);
    // Before a config: the tab's own trailing spacing, offset 0.
    let job = h.state().reverse_job();
    assert_eq!(job.configs[1].spacing, Spacing::Trailing);
    // Stable Diffusion 1.5: no timestep_spacing (diffusers' default, leading), offset 1.
    through_path_field(&mut h, &test_data(SD15), "Load schedule file");
    h.run_steps(2);
    let job = h.state().reverse_job();
    assert_eq!(job.configs[1].spacing, Spacing::Leading);
    assert_eq!(job.configs[1].steps_offset, 1);
    // A: K = 1000 = T leaves no room for the offset (timestep 1000 > T - 1): lowered to 0,
    // with a warning on screen.
    assert_eq!(job.configs[0].steps, 1000);
    assert_eq!(job.configs[0].steps_offset, 0);
    let _ = h.get_by_label_contains("A: steps_offset 1 lowered to 0: with K = 1000");
    // Where they came from is shown; the runs use them (diffusers' 901, ..., 1 + 1).
    let _ = h.get_by_label_contains("no timestep_spacing: diffusers' default, leading");
    h.run_steps(3);
    let shown = h.state().jobs.reverse.runs().expect("runs arrived");
    assert_eq!(shown.job.configs[1].steps_offset, 1);
    assert_eq!(shown.runs[1].timesteps[0], 902);
    // The quality figure runs every K of T = 1000 with the offset lowered where K leaves
    // no room for it (K = 1000), so nothing fails.
    assert_eq!(h.state().jobs.reverse.error(), None);
    let q = shown.quality.as_ref().expect("quality arrived");
    assert_eq!(q[1].last().map(|p| p.steps), Some(1000));
    // The user overrides: each setting's own spacing again.
    h.get_by_label("Spacing and offset from the config").click();
    h.run_steps(2);
    assert!(!h.state().model.settings.reverse.use_config);
    let job = h.state().reverse_job();
    assert_eq!(job.configs[1].spacing, Spacing::Trailing);
    assert_eq!(job.configs[1].steps_offset, 0);
    let _ = h.get_by_label_contains("overridden: the config says");

    // SDXL: timestep_spacing linspace (its offset is not read by linspace).
    h.get_by_label("Spacing and offset from the config").click();
    through_path_field(&mut h, &test_data(SDXL), "Load schedule file");
    let job = h.state().reverse_job();
    assert!(h.state().model.settings.reverse.use_config);
    assert_eq!(job.configs[0].spacing, Spacing::Linspace);
    assert_eq!(job.configs[1].spacing, Spacing::Linspace);
    let _ = h.get_by_label_contains("timestep_spacing = linspace");
}

#[test]
fn the_comparison_table_of_the_overlays_is_the_librarys_and_is_saved_in_each_format() {
    use elbo_core::compare::{CompareConfig, CompareEntry, TableFormat, compare};
    use elbo_core::denoiser::ModelKind;
    use elbo_core::elbo::Control;
    use elbo_core::schedule::{VarianceType, load_schedule_file};
    use elbo_lab::app::Freshness;

    let mut h = harness(small(View::Schedule));
    h.run_steps(2);
    through_path_field(&mut h, &test_data(SDXL), "Overlay in the Schedule tab");
    through_path_field(&mut h, &test_data(CIFAR), "Overlay in the Schedule tab");
    assert_eq!(h.state().model.overlays.len(), 2);
    assert_eq!(
        h.state().comparison_freshness(),
        None,
        "closed: nothing asked"
    );
    h.get_by_label("Compare these schedules...").click();
    h.run_steps(3);
    let app = h.state();
    assert!(app.tabs().schedule.compare_open);
    assert_eq!(app.comparison_freshness(), Some(Freshness::Current));
    let table = app
        .jobs
        .compare
        .table(&app.compare_key())
        .expect("the table of the current schedules")
        .clone();
    let names: Vec<&str> = table.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["linear", "sdxl-euler-ancestral", "ddpm-cifar10-32"],
        "the names elbo-lab compare gives the files"
    );
    assert_eq!(
        table.rows.iter().map(|r| r.steps).collect::<Vec<_>>(),
        [100, 1000, 1000]
    );

    // The same table as the library's on entries built here from the files: the current
    // schedule (linear, T = 100) first, the side panel's N, seed and variance for all.
    let entry = |name: &str, file: Option<&str>| {
        let (spec, class_name, notes) = match file {
            Some(f) => {
                let l = load_schedule_file(&test_data(f)).expect("config loads");
                (l.spec, l.class_name, l.notes)
            }
            None => (small(View::Schedule).schedule.spec(), None, Vec::new()),
        };
        CompareEntry {
            name: name.to_owned(),
            class_name,
            spec,
            variance: VarianceType::FixedSmall,
            notes,
        }
    };
    let entries = [
        entry("linear", None),
        entry("sdxl-euler-ancestral", Some(SDXL)),
        entry("ddpm-cifar10-32", Some(CIFAR)),
    ];
    let config = CompareConfig {
        // The app compares by the ELBO tab's method: quadrature.
        method: elbo_core::elbo::Method::Quadrature,
        samples: 64,
        seed: app.model.settings.seed,
        model: ModelKind::Optimal,
    };
    let expected = compare(app.data(), "bimodal", &entries, &config, Control::default())
        .expect("library comparison");
    assert_eq!(table.rows, expected.rows);
    // By quadrature, as the ELBO tab: each NELBO is the tab's number to its error estimate,
    // and a difference is exact up to the two estimates.
    let first = &table.rows[0];
    for r in &table.rows[1..] {
        assert_eq!(r.nelbo_diff, r.nelbo - first.nelbo, "{}", r.name);
        assert!(
            r.nelbo_diff_stderr < 1e-6,
            "{}: {}",
            r.name,
            r.nelbo_diff_stderr
        );
    }
    // The window shows the table: its headings and the reference row.
    let _ = h.get_by_label("NELBO");
    let _ = h.get_by_label("abar_T");
    let _ = h.get_by_label("(reference)");

    // Saved in each format through the path field, byte for byte the library's rendering.
    let dir = tempfile::tempdir().expect("temp dir");
    for format in TableFormat::ALL {
        h.get_by_label(format.name()).click();
        h.run_steps(1);
        let path = dir.path().join(format!("table.{}", format.extension()));
        let text = path.display().to_string();
        h.get_by_role_and_label(Role::TextInput, "Path:")
            .set_text_value_accesskit(&text);
        h.run_steps(1);
        h.get_by_label("Save the table").click();
        h.run_steps(2);
        let written = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{format:?} not written ({e}): {:?}",
                h.state().model.notes.status
            )
        });
        assert_eq!(written, expected.render(format), "{format:?}");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("table.json")).expect("json"),
    )
    .expect("valid JSON");
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(3));
    let csv = std::fs::read_to_string(dir.path().join("table.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 4, "a header and three rows");

    // Removing an overlay makes the table stale: the next frame shows the new one (two
    // rows), never the old.
    h.get_by_label(&format!("Remove {CIFAR}")).click();
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.comparison_freshness(), Some(Freshness::Current));
    let table = app
        .jobs
        .compare
        .table(&app.compare_key())
        .expect("new table");
    assert_eq!(table.rows.len(), 2);
    assert_eq!(table.rows[..2], expected.rows[..2]);

    // Closed, it asks for nothing; an unwritable path is an error that names it.
    let ctx = h.ctx.clone();
    let bad = dir.path().join("no-such-folder").join("t.csv");
    h.state_mut().apply(
        &ctx,
        elbo_lab::app::Command::SaveComparison(bad.clone(), TableFormat::Csv),
    );
    let (message, error) = status_line(&h);
    assert!(error && message.contains("could not write"), "{message}");
    h.state_mut()
        .apply(&ctx, elbo_lab::app::Command::ShowComparison(false));
    h.run_steps(1);
    assert_eq!(h.state().comparison_freshness(), None);
}

/// The defect: the current schedule, loaded from a config, was named by its file name
/// ("….scheduler_config.json") while the overlaid files below it had their short names.
#[test]
fn every_row_of_the_comparison_is_named_alike() {
    let mut h = harness(small(View::Schedule));
    h.run_steps(2);
    through_path_field(&mut h, &test_data(SDXL), "Load schedule file");
    through_path_field(&mut h, &test_data(CIFAR), "Overlay in the Schedule tab");
    h.get_by_label("Compare these schedules...").click();
    h.run_steps(3);
    let app = h.state();
    let table = app
        .jobs
        .compare
        .table(&app.compare_key())
        .expect("the table of the current schedules");
    let names: Vec<&str> = table.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["sdxl-euler-ancestral", "ddpm-cifar10-32"]);
}
