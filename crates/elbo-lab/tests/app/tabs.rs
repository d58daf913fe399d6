//! Every tab built from its context alone: a Model, the Jobs, training, t and the window's
//! state, no App. What the tab wants is requested and computed inline, and the tab draws
//! current results and its own plots, in 1D and 2D.

use egui_kittest::Harness;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_lab::app::export::plot_rect;
use elbo_lab::app::jobs::Jobs;
use elbo_lab::app::settings::{Settings, View};
use elbo_lab::app::training::Training;
use elbo_lab::app::views::editor::DataEditor;
use elbo_lab::app::views::{Tabs, ViewCtx, WindowState};
use elbo_lab::app::{AppOptions, Command, Freshness, Mode, Model};

/// One tab and everything its context is made of.
struct Bench {
    model: Model,
    jobs: Jobs,
    training: Training,
    window: WindowState,
    tabs: Tabs,
    editor: DataEditor,
    view: View,
    commands: Vec<Command>,
}

impl Bench {
    fn ctx(&self) -> ViewCtx<'_> {
        ViewCtx {
            model: &self.model,
            jobs: &self.jobs,
            training: &self.training,
            t: self.model.t(),
            window: &self.window,
        }
    }
}

fn tab(preset: DataPreset, view: View) -> Harness<'static, Bench> {
    let mut settings = Settings::default();
    settings.data.spec = DataSpec::new(preset);
    settings.schedule.steps = 100;
    settings.samples = 64;
    settings.t = 30;
    let bench = Bench {
        model: Model::new(settings),
        jobs: Jobs::new(AppOptions::new(Mode::Inline), None),
        training: Training::new(&egui::Context::default(), Mode::Inline),
        window: WindowState::default(),
        tabs: Tabs::default(),
        editor: DataEditor::default(),
        view,
        commands: Vec::new(),
    };
    let mut h = Harness::builder()
        .with_size([1100.0, 760.0])
        .build_ui_state(
            |ui, b: &mut Bench| {
                let ctx = ViewCtx {
                    model: &b.model,
                    jobs: &b.jobs,
                    training: &b.training,
                    t: b.model.t(),
                    window: &b.window,
                };
                let wants = b.tabs.wants(b.view, &ctx);
                b.editor.sync(&ctx);
                let commands = b.tabs.ui(b.view, ui, &ctx, &mut b.editor);
                b.commands.extend(commands);
                for want in wants {
                    b.jobs.request(want);
                }
                b.jobs.poll();
            },
            bench,
        );
    h.run_steps(3);
    h
}

#[test]
fn every_tab_draws_from_its_context_alone() {
    for preset in [DataPreset::Bimodal, DataPreset::TwoMoons] {
        for view in View::ALL {
            let what = format!("{view:?} on {preset:?}");
            let h = tab(preset, view);
            let b = h.state();
            assert_eq!(
                b.tabs.freshness(view, &b.ctx()),
                Freshness::Current,
                "{what}: the work it wants is in"
            );
            for want in b.tabs.wants(view, &b.ctx()) {
                assert_eq!(b.jobs.freshness(&want), Freshness::Current, "{what}");
            }
            let drawn: Vec<String> = view
                .plots()
                .into_iter()
                .filter(|(name, _)| plot_rect(&h.ctx, name).is_some())
                .map(|(name, _)| name)
                .collect();
            assert!(!drawn.is_empty(), "{what} drew none of its plots");
            assert!(
                b.commands.is_empty(),
                "{what} asked for something untouched: {} commands",
                b.commands.len()
            );
        }
    }
}

#[test]
fn a_tab_wants_only_what_it_draws() {
    let h = tab(DataPreset::Bimodal, View::Training);
    assert!(
        h.state()
            .tabs
            .wants(View::Training, &h.state().ctx())
            .is_empty()
    );
    // The comparison is wanted only while its window is open.
    let mut h = tab(DataPreset::Bimodal, View::Schedule);
    assert!(
        h.state()
            .tabs
            .wants(View::Schedule, &h.state().ctx())
            .is_empty()
    );
    h.state_mut().tabs.schedule.compare_open = true;
    h.run_steps(2);
    let b = h.state();
    assert_eq!(b.tabs.wants(View::Schedule, &b.ctx()).len(), 1);
    assert_eq!(
        b.tabs.freshness(View::Schedule, &b.ctx()),
        Freshness::Current
    );
    // The Evidence tab's VAE step needs no job; its diffusion step does.
    let h = tab(DataPreset::Bimodal, View::Evidence);
    assert!(
        h.state()
            .tabs
            .wants(View::Evidence, &h.state().ctx())
            .is_empty()
    );
}
