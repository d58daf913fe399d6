//! A seeded random walk over the real app (egui_kittest harness): every tab, every data
//! preset (1D and 2D back and forth), good and bad files (typed, dropped), schedule and T
//! extremes, every model including trained ones, play, step, zoom, training start / pause /
//! reset / load / save, reverse settings (spacing and offset from a config or overridden),
//! schedule files overlaid and removed (typed, dropped, the Schedule tab's switches), the
//! comparison table of the schedules (opened, saved, copied, closed), exports, and the data
//! editor of issue 11 (its keys E, B, Esc, Delete, Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y; the side
//! panel's mode toggles, Undo, Redo, the components list and its delete buttons, "Save data"
//! to good and bad paths; clicks, right clicks, the wheel and drags on the current view's
//! data plot, in both edit modes and in neither). Work runs in the deferred mode: jobs
//! finish only when the walk says so ("work finishes" is an action), so stale results meet
//! new inputs in every order, reproducibly.
//!
//! After each action the app runs one full frame (GPU-rendered every [`RENDER_EVERY`]th),
//! and every view must show a result of the current inputs, a computing state or the error
//! of the current inputs: never a result of other inputs, never nothing. The data in use
//! are always a valid mixture of the settings' data, and the undo history's current state
//! is the data applied.
//!
//! `ELBO_LAB_FUZZ_SEED` and `ELBO_LAB_FUZZ_STEPS` choose the walk (defaults below, as CI
//! runs it); a failure prints the seed and the last actions.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use elbo_core::compare::TableFormat;
use elbo_core::denoiser::ModelKind;
use elbo_core::edit::EditableMixture;
use elbo_core::mixture::{GaussianMixture, load_mixture_file};
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::sampler::{SamplerKind, Spacing};
use elbo_core::schedule::{BetaSchedule, VarianceType};
use elbo_lab::app::jobs::evidence::EvidenceDetail;
use elbo_lab::app::jobs::reverse::ReverseSizes;
use elbo_lab::app::plot_util::plot_id;
use elbo_lab::app::settings::{
    DataSettings, ElboForm, EvidenceStep, ResetScope, ReverseSettings, ScheduleSettings, Settings,
    TrainingSettings, View, ViewToggles,
};
use elbo_lab::app::views::editor::EditMode;
use elbo_lab::app::views::step::StepPart;
use elbo_lab::app::{
    App, AppOptions, Command, FileRequest, Freshness, Mode, ModelChoice, export, lessons,
};
use elbo_train::TrainLoss;

/// The walk CI runs.
const DEFAULT_SEED: u64 = 20_261_126;
/// Actions of the walk CI runs.
const DEFAULT_STEPS: usize = 2_000;
/// Every this many actions the frame is rendered on the GPU (lavapipe in CI).
const RENDER_EVERY: usize = 50;
/// Actions remembered for the failure message.
const HISTORY: usize = 25;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Files the walk loads: good and bad, data and schedules, and folders of weights.
struct Files {
    data: Vec<PathBuf>,
    schedules: Vec<PathBuf>,
    weights: Vec<PathBuf>,
    exports: PathBuf,
    _dir: tempfile::TempDir,
}

fn files() -> Files {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| dir.path().join(name);
    let write = |name: &str, text: &str| {
        std::fs::write(p(name), text).expect("write a fuzz file");
        p(name)
    };
    let data = vec![
        write(
            "one_d.json",
            r#"{"components": [{"weight": 1, "mean": [-1.5], "cov": [[0.1]]}, {"weight": 2, "mean": [2], "cov": [[0.3]]}]}"#,
        ),
        write(
            "two_d.json",
            r#"{"components": [{"weight": 1, "mean": [0, 1], "cov": [[0.2, 0.05], [0.05, 0.1]]}]}"#,
        ),
        write("points.csv", "x,y\n0,0\n1,1\n-1,0.5\n0.3,-2\n"),
        write("points_1d.csv", "x\n0\n1\n-1\n2.5\n"),
        write(
            "bad_weight.json",
            r#"{"components": [{"weight": -1, "mean": [0], "cov": [[1]]}]}"#,
        ),
        write(
            "not_pd.json",
            r#"{"components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 2], [2, 1]]}]}"#,
        ),
        write("garbage.json", "{ this is not json"),
        write("empty.csv", ""),
        p("missing.json"),
    ];
    let schedules = vec![
        write(
            "config.json",
            r#"{"_class_name": "DDPMScheduler", "num_train_timesteps": 50, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear"}"#,
        ),
        write("betas.txt", "0.01\n0.05\n0.2\n0.5\n"),
        write("betas.json", "[0.001, 0.01, 0.1, 0.999]"),
        write("bad_betas.txt", "0.1\n1.5\n"),
        write("zero_beta.txt", "0\n0.1\n"),
        write("garbage.txt", "hello\n"),
        p("missing_config.json"),
    ];
    // Real configs: a spacing and an offset (SDXL, Stable Diffusion 1.5), v-prediction
    // (zero123), an old class name (CIFAR-10 DDPM).
    let mut schedules = schedules;
    for name in [
        "sdxl-euler-ancestral.scheduler_config.json",
        "stable-diffusion-v1-5.scheduler_config.json",
        "zero123-v-prediction.scheduler_config.json",
        "ddpm-cifar10-32.scheduler_config.json",
    ] {
        schedules.push(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests")
                .join("data")
                .join(name),
        );
    }
    let weights = vec![
        p("weights_saved"),
        p("no_such_weights"),
        dir.path().to_path_buf(),
    ];
    Files {
        data,
        schedules,
        weights,
        exports: p("export"),
        _dir: dir,
    }
}

fn small_settings() -> Settings {
    let mut s = Settings::default();
    s.schedule.steps = 50;
    s.samples = 64;
    s.training = TrainingSettings {
        batch: 16,
        eval_every: 50,
        eval_samples: 64,
        max_steps: 400,
        ..TrainingSettings::default()
    };
    s
}

/// One random action; returns its description for the failure message.
/// A save onto a file that exists asks first (a modal window over the app): answer it by
/// its buttons, "Replace" or "Keep the file" at random, and check the question went away.
fn answer_replace(h: &mut Harness<'static, App>, rng: &mut StdRng) -> Option<String> {
    let files = h.state().waiting_save()?.files.clone();
    // Laid out unseen on its first frame, then shown.
    h.run_steps(3);
    let label = if rng.random_bool(0.5) {
        "Replace"
    } else {
        "Keep the file"
    };
    h.get_by_role_and_label(Role::Button, label).click();
    h.run_steps(2);
    assert!(
        h.state().waiting_save().is_none(),
        "{label} left the question open"
    );
    Some(format!("answered {label} for {files:?}"))
}

fn act(h: &mut Harness<'static, App>, rng: &mut StdRng, files: &Files) -> String {
    if let Some(answered) = answer_replace(h, rng) {
        return answered;
    }
    let ctx = h.ctx.clone();
    let apply = |h: &mut Harness<'static, App>, c: Command| {
        let text = format!("{c:?}");
        h.state_mut().apply(&ctx, c);
        text
    };
    // 0..100: the actions of the walk before the data editor; 100..118 (about 15 %):
    // the data editor's keys, panel buttons and pointer on the data plots.
    let roll = rng.random_range(0..118);
    match roll {
        // Work finishes (all queued jobs run now).
        0..=24 => {
            h.state().run_pending_jobs();
            "run pending jobs".into()
        }
        25..=31 => {
            let view = *View::ALL.choose(rng).expect("views");
            h.get_by_role_and_label(Role::Button, view.label()).click();
            format!("click tab {}", view.label())
        }
        32..=39 => {
            let preset = *DataPreset::ALL.choose(rng).expect("presets");
            let mut spec = DataSpec::new(preset);
            if rng.random_bool(0.3) {
                spec.components = rng.random_range(4..=96);
            }
            if rng.random_bool(0.3) {
                spec.width = rng.random_range(0.2..=3.0);
            }
            let data = h.state().model.settings.data.with_preset(spec);
            apply(h, Command::SetData(data))
        }
        40..=43 => {
            let path = files.data.choose(rng).expect("data files").clone();
            if rng.random_bool(0.5) {
                apply(h, Command::LoadData(path))
            } else {
                drop_file(h, &path)
            }
        }
        44..=46 => {
            let path = files.schedules.choose(rng).expect("schedule files").clone();
            match rng.random_range(0..6) {
                0 | 1 => apply(h, Command::LoadSchedule(path)),
                2 => apply(h, Command::OverlaySchedule(path)),
                3 => {
                    let n = h.state().model.overlays.len();
                    apply(h, Command::RemoveOverlay(rng.random_range(0..=n + 1)))
                }
                4 => apply(
                    h,
                    if rng.random_bool(0.8) {
                        Command::PickFile(FileRequest::OverlaySchedule)
                    } else {
                        Command::ClearOverlays
                    },
                ),
                // Dropped: loaded or overlaid, as "Overlay dropped schedule files" says.
                _ => drop_file(h, &path),
            }
        }
        47..=52 => {
            let mut s = ScheduleSettings {
                preset: *BetaSchedule::ALL.choose(rng).expect("schedules"),
                steps: *[1, 2, 3, 10, 50, 100, 300, 1000, 4000]
                    .choose(rng)
                    .expect("T"),
                rescale_zero_snr: rng.random_bool(0.3),
                ..ScheduleSettings::default()
            };
            if rng.random_bool(0.3) {
                s.beta_start = 10f64.powf(rng.random_range(-6.0..-1.0));
                s.beta_end = rng.random_range(s.beta_start..=0.999);
            }
            apply(h, Command::SetSchedule(s))
        }
        53..=56 => {
            let choice = if rng.random_bool(0.5) {
                ModelChoice::Kind(*ModelKind::ALL.choose(rng).expect("models"))
            } else {
                ModelChoice::Trained(*Parameterisation::ALL.choose(rng).expect("params"))
            };
            apply(h, Command::SetModel(choice))
        }
        57 => apply(h, Command::UseNewerNetworks),
        58..=60 => {
            let c = match rng.random_range(0..3) {
                0 => Command::SetVariance(*VarianceType::ALL.choose(rng).expect("variances")),
                1 => Command::SetSamples(rng.random_range(64..=256)),
                _ => Command::SetSeed(rng.random_range(0..5)),
            };
            apply(h, c)
        }
        61..=68 => {
            let key = *[
                Key::Space,
                Key::ArrowLeft,
                Key::ArrowRight,
                Key::Home,
                Key::End,
                Key::Plus,
                Key::Minus,
                Key::F5,
                Key::F1,
                Key::Escape,
                Key::PageDown,
                Key::PageUp,
            ]
            .choose(rng)
            .expect("keys");
            h.key_press(key);
            format!("key {key:?}")
        }
        69..=71 => {
            let label = *[
                "Play",
                "Pause",
                "Step forward",
                "Step back",
                "First",
                "Last",
                "Normalised axis t / T",
                "Overlay dropped schedule files",
                "Overlay a schedule file...",
                "Overlay in the Schedule tab",
                "Remove all",
                "Spacing and offset from the config",
                "Compare these schedules...",
                "Save the table",
                "Copy the table",
                // The side panel's reverse variance (the ELBO tab has a label of that text).
                "analytic",
                // The Evidence tab.
                "1. The VAE",
                "3. The diffusion model",
                "4. In log-SNR",
                "The decomposition, and against T",
                "Fit q",
                "Stop fit",
                "Reset q",
                "tanh (bimodal x)",
                "quadratic (skewed x)",
                "VAE slider",
                "Use the bimodal (1D) preset",
                "2. The hierarchical VAE",
                "Open the Forward tab",
                "Open the Schedule tab",
                "Open the ELBO tab",
                "The three restrictions that make it a diffusion model",
                "Latents slider",
                // The Denoising step tab.
                "1. Tweedie's formula",
                "2. One step as a KL",
                "3. The true reverse step",
                "Draw x_t from q(x_t | x0)",
                "Draw x_t from q(x_t)",
                "Reset x0 and x_t",
                "Average over 10000 draws",
                "True step at x_t",
                "The two Gaussians",
                "Pick x0 and x_t",
                "R_t, G_t, M_t against t",
                "step plot pointer",
            ]
            .choose(rng)
            .expect("buttons");
            if label == "VAE slider" {
                return vae_slider(h, rng);
            }
            if label == "Latents slider" {
                return latents_slider(h, rng);
            }
            if label == "step plot pointer" {
                return step_plot_pointer(h, rng);
            }
            let node = if label == "analytic" {
                h.query_by_role_and_label(Role::RadioButton, label)
            } else {
                h.query_by_label(label)
            };
            match node {
                Some(node) => {
                    node.click();
                    format!("click {label}")
                }
                None => format!("no button {label}"),
            }
        }
        72..=73 => {
            let t = rng.random_range(0..=4100);
            apply(h, Command::SetT(t))
        }
        74..=75 => {
            let zoom = *[0.5_f32, 0.75, 1.0, 1.5, 2.0, 4.0, f32::NAN, 100.0]
                .choose(rng)
                .expect("zooms");
            apply(h, Command::SetZoom(zoom))
        }
        76..=77 => {
            let toggles = ViewToggles {
                log_y: rng.random_bool(0.5),
                elbo_form: if rng.random_bool(0.3) {
                    ElboForm::Consistency
                } else {
                    ElboForm::DenoisingMatching
                },
                show_v: rng.random_bool(0.5),
                overlay_presets: rng.random_bool(0.5),
                legends: rng.random_bool(0.7),
                normalised_t: rng.random_bool(0.5),
                drop_overlays: rng.random_bool(0.5),
                evidence_step: *EvidenceStep::ALL.choose(rng).expect("steps"),
                step_part: *StepPart::ALL.choose(rng).expect("parts"),
            };
            apply(h, Command::SetToggles(toggles))
        }
        78..=81 => {
            let mut r = ReverseSettings::default();
            for c in [&mut r.a, &mut r.b] {
                c.kind = *SamplerKind::ALL.choose(rng).expect("samplers");
                c.steps = rng.random_range(1..=1000);
                c.eta = rng.random_range(-0.5..=1.5);
                c.spacing = *Spacing::ALL.choose(rng).expect("spacings");
                c.steps_offset = *[0, 1, 5, 999, usize::MAX].choose(rng).expect("offsets");
                c.variance = *VarianceType::ALL.choose(rng).expect("variances");
            }
            r.show_trajectories = rng.random_bool(0.7);
            r.use_config = rng.random_bool(0.7);
            apply(h, Command::SetReverse(r))
        }
        82..=88 => {
            let c = match rng.random_range(0..6) {
                0 | 1 => Command::StartTraining,
                2 => Command::PauseTraining,
                3 => Command::ResetTraining,
                4 => Command::SetTraining(TrainingSettings {
                    loss: *TrainLoss::ALL.choose(rng).expect("losses"),
                    batch: rng.random_range(8..=64),
                    include_v: rng.random_bool(0.3),
                    ..small_settings().training
                }),
                _ => Command::SetDark(rng.random_bool(0.5)),
            };
            apply(h, c)
        }
        89..=91 => {
            let dir = files.weights.choose(rng).expect("folders").clone();
            if rng.random_bool(0.5) {
                apply(h, Command::SaveWeights(dir))
            } else {
                apply(h, Command::LoadWeights(dir))
            }
        }
        92..=93 => {
            let format = *TableFormat::ALL.choose(rng).expect("formats");
            let c = match rng.random_range(0..6) {
                0 => Command::ExportCsv(files.exports.with_extension("csv")),
                1 => Command::ExportJson(files.exports.with_extension("json")),
                // The Schedule tab's comparison table: open, closed, saved, copied (before
                // its table is in, too).
                2 | 3 => Command::ShowComparison(rng.random_bool(0.7)),
                4 => Command::SaveComparison(
                    files
                        .exports
                        .with_extension(format!("compare.{}", format.extension())),
                    format,
                ),
                _ => Command::CopyComparison(format),
            };
            apply(h, c)
        }
        94..=95 => {
            let c = match rng.random_range(0..16) {
                9 => Command::StartLesson(rng.random_range(0..lessons::lesson_count())),
                10 => Command::NextLesson,
                11 => Command::ExitLesson,
                12 => Command::SaveScene(files.exports.with_extension("scene.json")),
                13 => Command::OpenScene(files.exports.with_extension("scene.json")),
                14 => Command::ShowExportDialog(rng.random_bool(0.5)),
                15 => {
                    // A plot of the open tab as PNG, or its GIF over t (the capture waits
                    // for screenshots, which a headless frame may never send: it must give up
                    // cleanly).
                    let view = h.state().model.settings.view;
                    let plots = view.plots();
                    match plots.choose(rng) {
                        Some((plot, _)) if rng.random_bool(0.5) => {
                            Command::ExportPlot(export::ExportRequest::Png(export::PngRequest {
                                path: files.exports.with_extension("png"),
                                plot: plot.clone(),
                                scale: rng.random_range(0..=4),
                            }))
                        }
                        Some((plot, _)) => {
                            Command::ExportPlot(export::ExportRequest::Gif(export::GifRequest {
                                path: files.exports.with_extension("gif"),
                                plot: plot.clone(),
                                scale: 1,
                                from: rng.random_range(0..=60),
                                to: rng.random_range(0..=60),
                                frames: rng.random_range(0..=4),
                                delay_ms: 50,
                            }))
                        }
                        None => Command::CancelExport,
                    }
                }
                0 => Command::UsePresetData,
                1 => Command::UsePresetSchedule,
                2 => Command::DismissNotes,
                3 => Command::TogglePresenter,
                4 => Command::SetSidePanel(rng.random_bool(0.6)),
                5 => Command::ShowHelp(rng.random_bool(0.4)),
                6 => Command::Reset(*ResetScope::ALL.choose(rng).expect("scopes")),
                7 => Command::SetLegends(rng.random_bool(0.6)),
                _ => Command::ShowAbout(rng.random_bool(0.5)),
            };
            apply(h, c)
        }
        100..=117 => edit_action(h, rng, files),
        _ => {
            // A few frames pass (play advances t, training steps inline).
            let n = rng.random_range(1..=5);
            h.run_steps(n);
            format!("{n} frames")
        }
    }
}

/// One action of the data editor (issue 11): its keys, the side panel's buttons, the path
/// row that saves the data, the components list, or the pointer on the current view's data
/// plot (a click, a right click, the wheel, a drag that may end outside the plot).
fn edit_action(h: &mut Harness<'static, App>, rng: &mut StdRng, files: &Files) -> String {
    match rng.random_range(0..20) {
        0..=3 => edit_key(h, rng),
        4..=6 => {
            let label = *["Edit components (E)", "Brush (B)", "Undo", "Redo"]
                .choose(rng)
                .expect("editor buttons");
            match h.query_all_by_label(label).next() {
                Some(node) => {
                    node.click();
                    format!("edit click {label}")
                }
                None => format!("edit no button {label}"),
            }
        }
        7 => save_data(h, rng, files),
        8 => match components_header(h) {
            Some(node) => {
                node.click();
                "edit toggle the components list".into()
            }
            None => "edit no components list".into(),
        },
        9 => {
            let mut opened = "";
            if h.query_all_by_role_and_label(Role::Button, "x")
                .next()
                .is_none()
                && let Some(header) = components_header(h)
            {
                // The list is closed: open it first.
                header.click();
                h.run_steps(1);
                opened = "open the components list, ";
            }
            let buttons: Vec<_> = h.query_all_by_role_and_label(Role::Button, "x").collect();
            if buttons.is_empty() {
                format!("edit {opened}no delete button")
            } else {
                let i = rng.random_range(0..buttons.len());
                buttons[i].click();
                format!("edit {opened}click x of row {} of {}", i + 1, buttons.len())
            }
        }
        _ => plot_pointer(h, rng),
    }
}

/// The side panel's header of the components list, "Components (K)", if shown.
fn components_header<'a>(h: &'a Harness<'static, App>) -> Option<egui_kittest::Node<'a>> {
    h.query_all_by(|n| {
        n.label().is_some_and(|l| {
            l.strip_prefix("Components (")
                .and_then(|rest| rest.strip_suffix(')'))
                .is_some_and(|k| k.parse::<usize>().is_ok())
        })
    })
    .next()
}

/// A key of the edit mode: E, B, Esc, Delete, Backspace, Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y.
fn edit_key(h: &mut Harness<'static, App>, rng: &mut StdRng) -> String {
    match rng.random_range(0..8) {
        0 => {
            h.key_press(Key::E);
            "edit key E".into()
        }
        1 => {
            h.key_press(Key::B);
            "edit key B".into()
        }
        2 => {
            h.key_press(Key::Escape);
            "edit key Escape".into()
        }
        3 => {
            h.key_press(Key::Delete);
            "edit key Delete".into()
        }
        4 => {
            h.key_press(Key::Backspace);
            "edit key Backspace".into()
        }
        5 => {
            h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
            "edit key Ctrl+Z".into()
        }
        6 => {
            h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
            "edit key Ctrl+Shift+Z".into()
        }
        _ => {
            h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
            "edit key Ctrl+Y".into()
        }
    }
}

/// A path typed into "Save data as (JSON)" (in the temp dir, or a folder, or in a folder
/// that does not exist), then "Save data": the status names the path and says whether it
/// failed, and a written file reads back as the data in use.
fn save_data(h: &mut Harness<'static, App>, rng: &mut StdRng, files: &Files) -> String {
    let dir = files.exports.parent().expect("the temp dir").to_path_buf();
    let (path, good) = match rng.random_range(0..4) {
        0 => (dir.clone(), false),
        1 => (dir.join("no_such_folder").join("data.json"), false),
        _ => (files.exports.with_extension("mixture.json"), true),
    };
    let Some(field) = h
        .query_all_by_role_and_label(Role::TextInput, "Save data as (JSON)")
        .next()
    else {
        return "edit no save field".into();
    };
    field.set_text_value_accesskit(&path.display().to_string());
    h.run_steps(1);
    let Some(button) = h
        .query_all_by_role_and_label(Role::Button, "Save data")
        .next()
    else {
        return "edit no save button".into();
    };
    // Half the time onto the file of an earlier save (the app then asks first).
    if rng.random_bool(0.5) {
        let _ = std::fs::remove_file(files.exports.with_extension("mixture.json"));
    }
    // Through AccessKit: the button may be scrolled out of the side panel's view.
    button.click_accesskit();
    h.run_steps(1);
    let shown = path.display().to_string();
    // Onto a file that exists: the app asks first.
    if let Some(waiting) = h.state().waiting_save() {
        assert_eq!(
            waiting.files,
            vec![path.clone()],
            "asked about another file"
        );
        // The question is a modal window: laid out unseen on its first frame, then shown.
        h.run_steps(3);
        if rng.random_bool(0.5) {
            h.get_by_label("Keep the file").click();
            h.run_steps(2);
            let (status, error) = crate::common::status_line(h);
            assert!(
                !error && status.starts_with("kept ") && status.contains(&shown),
                "keeping {shown}: {status:?}"
            );
            return format!("edit save {shown}: asked, kept");
        }
        h.get_by_label("Replace").click();
        h.run_steps(2);
    }
    let app = h.state();
    let Some((status, error)) = app
        .model
        .notes
        .status
        .clone()
        .map(|s| (s.text, s.error))
        .filter(|(s, _)| s.contains(&shown))
    else {
        return format!("edit save {shown}: no status about it");
    };
    assert_eq!(
        error, !good,
        "saving the data to {shown}: the status says {status:?}"
    );
    if good {
        let saved = load_mixture_file(&path, 0.1).expect("the saved data read back");
        let data = app.data();
        assert_eq!(
            (saved.dim(), saved.len()),
            (data.dim(), data.len()),
            "the saved data are not the data in use"
        );
        for (a, b) in saved.means().iter().zip(data.means()) {
            assert!(
                (a[0] - b[0]).abs() <= 1e-9 * (1.0 + b[0].abs())
                    && (a[1] - b[1]).abs() <= 1e-9 * (1.0 + b[1].abs()),
                "saved mean {a:?} is not {b:?}"
            );
        }
    }
    format!(
        "edit save {shown} ({})",
        if good { "written" } else { "refused" }
    )
}

/// The data plot of the current view and its transform (as last drawn), if the view has
/// one: Forward ("density_at_t" in 1D, "density_2d"), Reverse 2D (either cloud), Evidence's
/// diffusion step in 1D ("evidence_density").
fn data_plot(
    h: &Harness<'static, App>,
    rng: &mut StdRng,
) -> Option<(&'static str, egui_plot::PlotTransform)> {
    let app = h.state();
    let view = app.model.settings.view;
    let dim = app.data().dim();
    if !view.shows_data(&app.view_ctx()) {
        return None;
    }
    let names: &[&'static str] = match (view, dim) {
        (View::Forward, 1) => &["density_at_t"],
        (View::Forward, _) => &["density_2d"],
        (View::Reverse, _) => &["reverse_cloud_A", "reverse_cloud_B"],
        (View::Evidence, _) => &["evidence_density"],
        _ => &[],
    };
    let name = *names.choose(rng)?;
    let memory = egui_plot::PlotMemory::load(&h.ctx, plot_id(name))?;
    Some((name, memory.transform()))
}

/// A random place of a plot: anywhere in it, on a handle of a component (its centre, a
/// width square or a rotation diamond, give or take a few points), or outside it.
fn plot_target(app: &App, tr: &egui_plot::PlotTransform, rng: &mut StdRng) -> Pos2 {
    let frame = *tr.frame();
    let r = rng.random_range(0..10);
    if (5..=8).contains(&r) {
        let draft = EditableMixture::from_mixture(app.data());
        let k = rng.random_range(0..draft.len());
        if let Ok(hd) = draft.handles(k) {
            let c = hd.centre;
            let s = *[1.0, -1.0].choose(rng).expect("sides");
            let spot = if draft.dim() == 1 {
                let sd = hd.axis1[0];
                let w = draft.weights()[k];
                let x = if rng.random_bool(0.6) {
                    c[0]
                } else {
                    c[0] + s * sd
                };
                let z = (x - c[0]) / sd;
                [
                    x,
                    w * (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt()),
                ]
            } else {
                let o = *[[0.0, 0.0], hd.axis1, hd.axis2, hd.rotation]
                    .choose(rng)
                    .expect("handles");
                [c[0] + s * o[0], c[1] + s * o[1]]
            };
            let jitter = egui::vec2(rng.random_range(-4.0..=4.0), rng.random_range(-4.0..=4.0));
            return tr.position_from_point(&egui_plot::PlotPoint::new(spot[0], spot[1])) + jitter;
        }
    }
    if r == 9 {
        // Outside the plot: beside it, above or below (the side panel, another plot, or off
        // the window).
        let dx = rng.random_range(5.0..=300.0);
        let dy = rng.random_range(5.0..=300.0);
        return match rng.random_range(0..4) {
            0 => Pos2::new(frame.left() - dx, frame.center().y),
            1 => Pos2::new(frame.right() + dx, frame.center().y),
            2 => Pos2::new(frame.center().x, frame.top() - dy),
            _ => Pos2::new(frame.center().x, frame.bottom() + dy),
        };
    }
    Pos2::new(
        rng.random_range(frame.left()..=frame.right()),
        rng.random_range(frame.top()..=frame.bottom()),
    )
}

fn button_event(h: &Harness<'static, App>, pos: Pos2, button: PointerButton, pressed: bool) {
    h.event(Event::PointerButton {
        pos,
        button,
        pressed,
        modifiers: Modifiers::NONE,
    });
}

/// A click or a drag on a plot of the Denoising step tab where x0 or x_t can be moved
/// (anywhere in its frame, or beyond it).
fn step_plot_pointer(h: &mut Harness<'static, App>, rng: &mut StdRng) -> String {
    let name = *[
        "step_pick",
        "step_truth",
        "step_terms",
        "step_kl",
        "tweedie",
    ]
    .choose(rng)
    .expect("plots");
    let Some(memory) = egui_plot::PlotMemory::load(&h.ctx, plot_id(name)) else {
        return format!("no plot {name}");
    };
    let frame = memory.transform().frame().expand(20.0);
    let at = |rng: &mut StdRng| {
        Pos2::new(
            rng.random_range(frame.left()..=frame.right()),
            rng.random_range(frame.top()..=frame.bottom()),
        )
    };
    let from = at(rng);
    h.event(Event::PointerMoved(from));
    h.run_steps(1);
    button_event(h, from, PointerButton::Primary, true);
    h.run_steps(1);
    let to = if rng.random_bool(0.5) { at(rng) } else { from };
    h.event(Event::PointerMoved(to));
    h.run_steps(1);
    button_event(h, to, PointerButton::Primary, false);
    format!("pointer on {name} from {from:?} to {to:?}")
}

/// The pointer on the current view's data plot (a key of the edit mode if the view has
/// none). In view mode an edit mode is sometimes switched on first. The last event's frame
/// is the walk's own step; the data invariants are checked after every frame of a drag.
fn plot_pointer(h: &mut Harness<'static, App>, rng: &mut StdRng) -> String {
    let Some((name, _)) = data_plot(h, rng) else {
        return edit_key(h, rng);
    };
    let mut prefix = String::new();
    if h.state().window.edit_mode == EditMode::Off && rng.random_bool(0.8) {
        let key = if rng.random_bool(0.7) { Key::E } else { Key::B };
        h.key_press(key);
        h.run_steps(1);
        prefix = format!("key {key:?}, ");
    }
    // The transform as drawn in the last frame.
    let Some(memory) = egui_plot::PlotMemory::load(&h.ctx, plot_id(name)) else {
        return format!("edit {prefix}no plot {name}");
    };
    let tr = memory.transform();
    let from = plot_target(h.state(), &tr, rng);
    let mode = format!("{:?}", h.state().window.edit_mode);
    h.event(Event::PointerMoved(from));
    h.run_steps(1);
    let what = match rng.random_range(0..10) {
        0..=2 => {
            button_event(h, from, PointerButton::Primary, true);
            h.run_steps(1);
            button_event(h, from, PointerButton::Primary, false);
            "click"
        }
        3 => {
            button_event(h, from, PointerButton::Secondary, true);
            h.run_steps(1);
            button_event(h, from, PointerButton::Secondary, false);
            "right click"
        }
        4..=5 => {
            let (unit, delta) = if rng.random_bool(0.7) {
                (
                    egui::MouseWheelUnit::Line,
                    *[-3.0_f32, -1.0, 1.0, 2.0, 5.0]
                        .choose(rng)
                        .expect("notches"),
                )
            } else {
                (
                    egui::MouseWheelUnit::Point,
                    rng.random_range(-150.0..=150.0),
                )
            };
            h.event(Event::MouseWheel {
                unit,
                delta: egui::vec2(0.0, delta),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: Modifiers::NONE,
            });
            "wheel"
        }
        _ => {
            button_event(h, from, PointerButton::Primary, true);
            h.run_steps(1);
            let moves = rng.random_range(2..=6);
            let mut at = from;
            for i in 0..moves {
                at = if i + 1 == moves && rng.random_bool(0.5) {
                    // The last move lands anywhere: in the plot, on a handle or outside.
                    plot_target(h.state(), &tr, rng)
                } else {
                    at + egui::vec2(
                        rng.random_range(-60.0..=60.0),
                        rng.random_range(-40.0..=40.0),
                    )
                };
                h.event(Event::PointerMoved(at));
                h.run_steps(1);
                check_data(h.state(), "a frame of a drag on a data plot");
            }
            button_event(h, at, PointerButton::Primary, false);
            return format!(
                "edit {prefix}drag on {name} ({mode}) from {from:?} to {at:?} in {moves} moves"
            );
        }
    };
    format!("edit {prefix}{what} on {name} ({mode}) at {from:?}")
}

/// The hand-drawn components in use, if the data are a drawing (a new drawing is a new
/// pointer).
fn drawn_ptr(app: &App) -> Option<*const Vec<elbo_core::mixture::Component>> {
    app.model
        .applied
        .data_settings
        .drawn
        .as_ref()
        .map(|d| std::sync::Arc::as_ptr(&d.components))
}

/// Builds the data of `s` as the app does (a drawing first, then a file, then the preset).
fn build_data(s: &DataSettings) -> Result<GaussianMixture, String> {
    if let Some(d) = &s.drawn {
        return d.build().map_err(|e| e.to_string());
    }
    match &s.file {
        Some(path) => load_mixture_file(path, s.bandwidth).map_err(|e| e.to_string()),
        None => s.spec.build().map_err(|e| e.to_string()),
    }
}

/// The data invariants of issue 11, after every frame: the data in use are a valid mixture
/// of the settings' dimension, a drawing in the settings builds, the undo history's current
/// state is the data applied (unless it cannot be built: the last build failed), and the
/// settings are the applied ones.
fn check_data(app: &App, action: &str) {
    let data = &app.model.applied.inputs.data;
    assert!(
        matches!(data.dim(), 1 | 2) && !data.is_empty(),
        "the data in use have dimension {} and {} components (after {action})",
        data.dim(),
        data.len()
    );
    let again = GaussianMixture::new(&data.components()).unwrap_or_else(|e| {
        panic!("the data in use are not a valid mixture: {e} (after {action})")
    });
    assert_eq!(again.len(), data.len(), "the data rebuild to another size");
    let sum: f64 = data.weights().iter().sum();
    assert!(
        (sum - 1.0).abs() < 1e-9 && data.weights().iter().all(|w| w.is_finite() && *w >= 0.0),
        "the weights of the data in use sum to {sum} (after {action})"
    );
    let s = &app.model.settings.data;
    assert_eq!(
        s, &app.model.applied.data_settings,
        "the data settings are not the applied ones after the frame (after {action})"
    );
    if let Some(d) = &s.drawn
        && let Err(e) = d.build()
    {
        panic!("the drawn data in the settings do not build: {e} (after {action})");
    }
    let built = build_data(s)
        .unwrap_or_else(|e| panic!("the settings' data do not build: {e} (after {action})"));
    assert_eq!(
        (built.dim(), built.len()),
        (data.dim(), data.len()),
        "the data in use are not those of the settings (after {action})"
    );
    let current = app.model.data_history.current();
    if current != &app.model.applied.data_settings {
        assert!(
            build_data(current).is_err(),
            "the undo history's current state is not the applied data, and it builds (after {action}): history {}, applied {}",
            current.label(),
            app.model.applied.data_settings.label()
        );
    }
}

/// A file dropped onto the window.
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

fn drop_file(h: &mut Harness<'static, App>, path: &Path) -> String {
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.to_path_buf())));
    format!("drop {}", path.display())
}

/// Prints the seed and the last actions if the walk panics.
struct OnFailure {
    seed: u64,
    steps: usize,
    done: usize,
    last: VecDeque<String>,
}

impl Drop for OnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "app_fuzz failed at action {} of {} with ELBO_LAB_FUZZ_SEED={} (rerun: ELBO_LAB_FUZZ_SEED={} ELBO_LAB_FUZZ_STEPS={} cargo test -p elbo-lab --test app fuzz)",
                self.done, self.steps, self.seed, self.seed, self.steps
            );
            eprintln!("last actions:");
            for a in &self.last {
                eprintln!("  {a}");
            }
        }
    }
}

/// One of the VAE panel's sliders (when the Evidence tab shows it) set to a random value,
/// its ends and beyond included.
fn vae_slider(h: &mut Harness<'static, App>, rng: &mut StdRng) -> String {
    let label = *[
        "slope a",
        "offset b",
        "scale c",
        "sharpness k",
        "curve c",
        "sigma",
        "x",
        "mu",
        "log s",
    ]
    .choose(rng)
    .expect("sliders");
    let value = *[-100.0, -6.0, -1.0, 0.0, 0.05, 0.3, 1.0, 1.95, 8.0, 100.0]
        .choose(rng)
        .expect("values");
    match h.query_by_role_and_label(Role::Slider, label) {
        Some(node) => {
            node.set_value_accesskit(value);
            format!("set VAE slider {label} to {value}")
        }
        None => format!("no VAE slider {label}"),
    }
}

/// The open tab and the ELBO (which the status line reads whatever tab is open) must
/// always show current results or a computing state: a tab's work is asked for while it is
/// open (see `Tab::wants`), so a closed tab has none of its own to check.
fn check(app: &App, action: &str) {
    let mut views = vec![app.model.settings.view];
    if app.model.settings.view != View::Elbo {
        views.push(View::Elbo);
    }
    for view in views {
        let f = app.freshness(view);
        assert_ne!(
            f,
            Freshness::Missing,
            "{view:?} shows no result of the current inputs and nothing is computing (after {action})"
        );
    }
    let s = &app.model.settings;
    assert!(
        (1..=app.steps()).contains(&s.t),
        "t = {} outside 1..={}",
        s.t,
        app.steps()
    );
    assert!(
        s.zoom.is_finite() && (0.5..=4.0).contains(&s.zoom),
        "zoom {}",
        s.zoom
    );
    assert_eq!(
        app.model.applied.inputs.model.dim(),
        app.data().dim(),
        "the model in use is of another dimension than the data"
    );
    if let Some(f) = app.comparison_freshness() {
        assert_ne!(
            f,
            Freshness::Missing,
            "the comparison window shows no table of the current schedules and none is computing (after {action})"
        );
    }
    // Evidence results taken as current are of the current T and data.
    let key = app.evidence_key();
    if let Some(shown) = app.jobs.evidence.of(&key) {
        if let Some((r, _)) = &shown.evidence {
            assert_eq!(
                r.steps,
                app.steps(),
                "evidence of another T shown as current"
            );
        }
        assert_eq!(app.data().dim(), 1, "evidence results on 2D data");
    }
    let drawn: Vec<&PathBuf> = app.model.overlays.iter().map(|o| &o.path).collect();
    let listed: Vec<&PathBuf> = s.overlays.iter().collect();
    assert_eq!(drawn, listed, "the overlays drawn are not the ones listed");
    for o in &app.model.overlays {
        assert!(o.schedule.steps() >= 1, "overlay {} has no steps", o.name);
    }
}

#[test]
fn random_walk_over_the_app() {
    let seed = env_or("ELBO_LAB_FUZZ_SEED", DEFAULT_SEED);
    let steps = env_or("ELBO_LAB_FUZZ_STEPS", DEFAULT_STEPS);
    eprintln!("app_fuzz: ELBO_LAB_FUZZ_SEED={seed} ELBO_LAB_FUZZ_STEPS={steps}");
    let files = files();
    let options = AppOptions {
        mode: Mode::Deferred,
        reverse_sizes: ReverseSizes::LIGHT,
        evidence_detail: EvidenceDetail::Light,
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu()
        .build_eframe(move |cc| App::with_options(&cc.egui_ctx, small_settings(), options));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut guard = OnFailure {
        seed,
        steps,
        done: 0,
        last: VecDeque::new(),
    };
    let mut rendered = 0;
    let mut dims = [false; 2];
    let mut views_seen = std::collections::HashSet::new();
    let mut cost: std::collections::HashMap<String, (usize, f64)> = Default::default();
    // The data editor's actions (count, seconds) and the drawings they applied.
    let mut editor = (0usize, 0.0f64);
    let mut drawings = 0usize;
    for i in 0..steps {
        let started = std::time::Instant::now();
        let drawn_before = drawn_ptr(h.state());
        let action = act(&mut h, &mut rng, &files);
        guard.last.push_back(action.clone());
        if guard.last.len() > HISTORY {
            guard.last.pop_front();
        }
        h.step();
        if i % RENDER_EVERY == 0 {
            h.render()
                .expect("the frame renders on the GPU (lavapipe in CI)");
            rendered += 1;
        }
        let kind: String = action
            .chars()
            .take_while(|c| c.is_alphabetic() || *c == ' ')
            .take(16)
            .collect();
        let e = cost.entry(kind).or_default();
        e.0 += 1;
        e.1 += started.elapsed().as_secs_f64();
        check(h.state(), &action);
        check_data(h.state(), &action);
        if action.starts_with("edit ") {
            editor.0 += 1;
            editor.1 += started.elapsed().as_secs_f64();
            let now = drawn_ptr(h.state());
            if now.is_some() && now != drawn_before {
                drawings += 1;
            }
        }
        dims[h.state().data().dim() - 1] = true;
        views_seen.insert(h.state().model.settings.view);
        guard.done = i + 1;
    }
    // Pause (a playing timeline asks for new fields every frame), let every queued job
    // finish: then every view is current (or shows its error).
    if h.state().model.playing {
        let ctx = h.ctx.clone();
        h.state_mut().apply(&ctx, Command::TogglePlay);
    }
    // A tab asks for its work while it is open: open each in turn, let the work finish.
    let settle = |h: &mut Harness<'static, App>| {
        h.step();
        h.state().run_pending_jobs();
        h.step();
        h.state().run_pending_jobs();
        h.step();
    };
    let last_view = h.state().model.settings.view;
    for view in [View::Forward, View::Elbo, View::Params, last_view] {
        let ctx = h.ctx.clone();
        h.state_mut().apply(&ctx, Command::SetView(view));
        settle(&mut h);
        let f = h.state().freshness(view);
        assert!(
            matches!(f, Freshness::Current | Freshness::Failed),
            "{view:?} is {f:?} after all work finished"
        );
    }
    let app = h.state();
    if let Some(f) = app.comparison_freshness() {
        assert!(
            matches!(f, Freshness::Current | Freshness::Failed),
            "the comparison is {f:?} after all work finished"
        );
    }
    let mut by_cost: Vec<_> = cost.into_iter().collect();
    by_cost.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    for (kind, (n, secs)) in by_cost.iter().take(8) {
        eprintln!("app_fuzz: {kind:16} x{n:5}  {secs:7.2} s");
    }
    for (kind, (n, secs)) in by_cost.iter().filter(|(k, _)| k.starts_with("edit ")) {
        eprintln!("app_fuzz:   {kind:16} x{n:5}  {secs:7.2} s");
    }
    eprintln!(
        "app_fuzz: {} data editor actions ({:.1} % of the actions, {:.2} s), {drawings} of them applied a drawing",
        editor.0,
        100.0 * editor.0 as f64 / steps.max(1) as f64,
        editor.1
    );
    eprintln!(
        "app_fuzz: {steps} actions, {rendered} rendered frames, views seen {}, 1D {} 2D {}",
        views_seen.len(),
        dims[0],
        dims[1]
    );
    if steps >= 500 {
        assert!(dims[0] && dims[1], "the walk visits 1D and 2D data");
        assert_eq!(
            views_seen.len(),
            View::ALL.len(),
            "the walk visits every tab"
        );
        assert!(
            drawings > 0,
            "the walk's data editor actions never applied a drawing"
        );
    }
}

/// The hierarchical VAE's "Latents T" slider set to any value, in range or not.
fn latents_slider(h: &mut Harness<'static, App>, rng: &mut StdRng) -> String {
    let value = *[-3.0, 0.0, 1.0, 2.5, 3.0, 5.0, 6.0, 1000.0]
        .choose(rng)
        .expect("values");
    match h.query_by_role_and_label(Role::Slider, "Latents T") {
        Some(node) => {
            node.set_value_accesskit(value);
            format!("set Latents T to {value}")
        }
        None => "no slider Latents T".into(),
    }
}
