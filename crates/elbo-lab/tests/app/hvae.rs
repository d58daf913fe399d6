//! The hierarchical VAE step of the Evidence tab ("2. The hierarchical VAE"), driven by its
//! labels: the terms on screen are elbo_core's for the T of its slider, the NELBO is never
//! below H(p0), it is computed only when its inputs change, the three restriction buttons
//! open their tabs, 2D data get the 1D-only message, and the step fits the projector sizes.

use crate::common::{app, apply};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, compute_elbo};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::VarianceType;
use elbo_lab::app::focus::{self, Target};
use elbo_lab::app::settings::{EvidenceStep, ScheduleSettings, Settings, View};
use elbo_lab::app::views::hvae::{
    CHAIN, DEFAULT_LATENTS, HvaeTerms, HvaeView, LATENTS_LABEL, MAX_LATENTS, RESTRICTION_BUTTONS,
    RESTRICTION_VIEWS, hvae_elbo,
};
use elbo_lab::app::views::vae_panel::nats;
use elbo_lab::app::{App, Command, Freshness};

fn settings(preset: DataPreset, step: EvidenceStep) -> Settings {
    let mut s = Settings::default();
    s.data.spec = DataSpec::new(preset);
    s.schedule.steps = 50;
    s.samples = 64;
    s.view = View::Evidence;
    s.toggles.evidence_step = step;
    s
}

fn hvae<'a>(h: &'a Harness<'static, App>) -> &'a HvaeView {
    h.state().tabs().evidence.hvae()
}

/// Set the step's T by its slider.
fn set_latents(h: &mut Harness<'static, App>, t: usize) {
    h.get_by_role_and_label(Role::Slider, LATENTS_LABEL)
        .set_value_accesskit(t as f64);
    h.run_steps(2);
    assert_eq!(hvae(h).steps(), t, "the slider did not set T = {t}");
}

/// elbo_core's ELBO of the current data with the optimal model and the current schedule's
/// preset at T = `t`, computed here from scratch.
fn library_terms(h: &Harness<'static, App>, t: usize, variance: VarianceType) -> HvaeTerms {
    let app = h.state();
    let data = app.data().clone();
    let settings = ScheduleSettings {
        steps: t,
        ..app.model.applied.schedule_settings.clone()
    };
    let schedule = settings.spec().build().expect("the preset at T");
    let model = ModelKind::Optimal.build(&data);
    let config = ElboConfig {
        variance,
        ..ElboConfig::default()
    };
    let r = compute_elbo(
        &data,
        &schedule,
        model.as_ref(),
        &config,
        Control::default(),
    )
    .expect("the ELBO");
    assert_eq!(r.steps, t);
    HvaeTerms::of(&r, schedule.terminal_abar())
}

/// Every term, the NELBO, H(p0) and NELBO - H(p0) of `t` are on screen.
fn assert_shown(h: &Harness<'static, App>, t: &HvaeTerms) {
    let mut values: Vec<f64> = t.named().into_iter().map(|(_, v)| v).collect();
    values.extend([t.nelbo, t.data_entropy, t.nelbo - t.data_entropy]);
    for v in values {
        assert!(
            h.query_all_by_label(&nats(v)).next().is_some(),
            "{} (T = {}) is not on screen",
            nats(v),
            t.steps
        );
    }
    assert!(
        h.query_by_label(&format!("NELBO at T = {} (nats) =", t.steps))
            .is_some()
    );
}

#[test]
fn the_step_shows_elbo_cores_terms_for_the_t_of_its_slider() {
    let mut h = app(settings(DataPreset::Bimodal, EvidenceStep::Vae))
        .steps(3)
        .build();
    h.get_by_label(EvidenceStep::Hierarchical.label()).click();
    h.run_steps(3);
    assert_eq!(
        h.state().model.settings.toggles.evidence_step,
        EvidenceStep::Hierarchical
    );
    // Computed on the UI thread: the Evidence job is not asked for anything.
    assert_eq!(h.state().freshness(View::Evidence), Freshness::Current);
    assert!(h.state().jobs.evidence.latest().is_none());
    assert_eq!(hvae(&h).steps(), DEFAULT_LATENTS);

    for t in [DEFAULT_LATENTS, 1, MAX_LATENTS, 2] {
        if t != hvae(&h).steps() {
            set_latents(&mut h, t);
        }
        let shown = hvae(&h).terms().expect("the terms").clone();
        let lib = library_terms(&h, t, VarianceType::FixedSmall);
        // The same numbers as the library's, to the last bit, and on screen.
        assert_eq!(shown, lib, "T = {t}");
        assert_eq!(shown.denoising.len(), t - 1);
        assert_shown(&h, &shown);
        let sum = shown.reconstruction + shown.denoising.iter().sum::<f64>() + shown.prior;
        assert!((sum - shown.nelbo).abs() < 1e-9 * shown.nelbo.abs().max(1.0));
    }

    // Idle frames compute nothing; a new variance recomputes once.
    let before = hvae(&h).computations();
    h.run_steps(5);
    assert_eq!(hvae(&h).computations(), before);
    apply(&mut h, Command::SetVariance(VarianceType::Analytic));
    assert_eq!(hvae(&h).computations(), before + 1);
    let shown = hvae(&h).terms().expect("the terms").clone();
    assert_eq!(shown, library_terms(&h, 2, VarianceType::Analytic));
    assert_shown(&h, &shown);
    let took = hvae(&h).elapsed().expect("timed");
    eprintln!("hierarchical VAE ELBO at T = 2 (optimal, analytic): {took:?}");
}

#[test]
fn the_nelbo_is_never_below_the_data_entropy() {
    let mut h = app(settings(DataPreset::Skewed, EvidenceStep::Hierarchical))
        .steps(3)
        .build();
    for t in 1..=MAX_LATENTS {
        set_latents(&mut h, t);
        let terms = hvae(&h).terms().expect("the terms");
        assert!(
            terms.nelbo >= terms.data_entropy - terms.nelbo_error,
            "T = {t}: NELBO {} < H(p0) {}",
            terms.nelbo,
            terms.data_entropy
        );
        assert!(terms.prior >= 0.0 && terms.denoising.iter().all(|l| *l >= 0.0));
        assert!(
            h.query_all_by_label(&nats(terms.nelbo - terms.data_entropy))
                .next()
                .is_some()
        );
    }
}

#[test]
fn the_restriction_buttons_open_their_tabs() {
    let mut h = app(settings(DataPreset::Bimodal, EvidenceStep::Hierarchical))
        .steps(3)
        .build();
    for (label, view) in RESTRICTION_BUTTONS.into_iter().zip(RESTRICTION_VIEWS) {
        h.get_by_label(label).click();
        h.run_steps(2);
        assert_eq!(h.state().model.settings.view, view, "{label}");
        apply(&mut h, Command::SetView(View::Evidence));
        assert_eq!(
            h.state().model.settings.toggles.evidence_step,
            EvidenceStep::Hierarchical
        );
    }
    assert_eq!(
        RESTRICTION_VIEWS,
        [View::Forward, View::Schedule, View::Elbo]
    );
}

#[test]
fn on_2d_data_the_step_says_why_and_one_click_brings_1d_data() {
    let mut h = app(settings(DataPreset::TwoMoons, EvidenceStep::Hierarchical))
        .steps(3)
        .build();
    assert!(
        h.query_by_label_contains("This part needs 1D data: the current data are 2D")
            .is_some()
    );
    assert!(
        h.query_by_label_contains("in 2D each step needs a lattice")
            .is_some()
    );
    assert!(hvae(&h).terms().is_none() && hvae(&h).computations() == 0);
    assert!(h.state().jobs.evidence.latest().is_none());
    h.get_by_label("Use the bimodal (1D) preset").click();
    h.run_steps(3);
    assert_eq!(h.state().data().dim(), 1);
    let shown = hvae(&h).terms().expect("the terms").clone();
    assert_eq!(
        shown,
        library_terms(&h, DEFAULT_LATENTS, VarianceType::FixedSmall)
    );
}

/// The controls of the open tab whose rect leaves the window, described.
/// The side panel (left of the step selector) scrolls and is not checked.
fn controls_outside(h: &Harness<'_, App>, what: &str) -> Vec<String> {
    let screen = h.ctx.content_rect().expand(1.0);
    let side_edge = h.get_by_label(EvidenceStep::Vae.label()).rect().min.x - 4.0;
    let mut out = Vec::new();
    for node in h.root().children_recursive() {
        let ak = node.accesskit_node();
        if ak.bounding_box().is_none()
            || !matches!(
                ak.role(),
                Role::Button | Role::Slider | Role::Tab | Role::DisclosureTriangle
            )
        {
            continue;
        }
        let r = node.rect();
        if r.max.x > side_edge && r.width() > 0.0 && r.height() > 0.0 && !screen.contains_rect(r) {
            out.push(format!("{what}: {:?} {:?} at {r:?}", ak.role(), ak.label()));
        }
    }
    out
}

#[test]
fn the_step_fits_the_projector_and_the_laptop() {
    let mut found = Vec::new();
    for (pixels, zoom, presenter) in [
        ([1024.0, 768.0], 1.5, false),
        ([1024.0, 768.0], 1.5, true),
        ([1280.0, 720.0], 1.75, true),
        ([1280.0, 800.0], 1.0, false),
    ] {
        let mut s = settings(DataPreset::Bimodal, EvidenceStep::Hierarchical);
        s.presenter = presenter;
        let mut h = app(s)
            .pixels(pixels[0], pixels[1])
            .zoom(zoom)
            .steps(3)
            .build();
        for t in [1, MAX_LATENTS] {
            set_latents(&mut h, t);
            h.run_steps(1);
            let what = format!("{pixels:?} zoom {zoom} presenter {presenter} T = {t}");
            found.extend(controls_outside(&h, &what));
            let chain = focus::marks(&h.ctx)
                .into_iter()
                .find(|m| m.target == Target::Readout(CHAIN))
                .expect("the chain is drawn");
            if !chain.visible() {
                found.push(format!(
                    "{what}: the chain {:?} is cut by {:?}",
                    chain.rect, chain.clip
                ));
            }
            assert!(chain.rect.height() >= 100.0, "{what}: {:?}", chain.rect);
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The ELBO at T = 5 on every 1D preset with a network (untrained: any weights) and with
/// the optimal model, under fixed_small and the analytic variance: finite, and never below
/// H(p0). (Its cost is measured by `cargo bench --bench frame -- evidence_hierarchical`.)
#[test]
fn a_network_or_the_optimum_gives_terms_on_every_1d_preset() {
    let schedule = ScheduleSettings::default();
    let built = ScheduleSettings {
        steps: MAX_LATENTS,
        ..schedule.clone()
    }
    .spec()
    .build()
    .expect("schedule");
    for preset in DataPreset::ALL {
        let data = DataSpec::new(preset).build().expect("data");
        if data.dim() != 1 {
            continue;
        }
        let config = elbo_train::TrainConfig {
            params: vec![elbo_core::param::Parameterisation::Eps],
            ..elbo_train::TrainConfig::default()
        };
        let trainer = elbo_train::Trainer::new(&data, &built, config).expect("trainer");
        let net = trainer.snapshot().expect("network").remove(0);
        let optimal = ModelKind::Optimal.build(&data);
        for (name, model) in [
            ("optimal", optimal.as_ref()),
            ("network", &net as &dyn elbo_core::denoiser::Denoiser),
        ] {
            for variance in [VarianceType::FixedSmall, VarianceType::Analytic] {
                let t = hvae_elbo(&data, &schedule, MAX_LATENTS, model, variance)
                    .unwrap_or_else(|e| panic!("{preset:?}, {name}: {e}"));
                assert!(
                    t.nelbo.is_finite() && t.nelbo >= t.data_entropy - t.nelbo_error,
                    "{preset:?}, {name}, {}: {t:?}",
                    variance.name()
                );
            }
        }
    }
}

/// Every preset, with and without zero terminal SNR, at every T of the slider: finite
/// terms whose NELBO is at least H(p0), or a reason; betas from a file: a reason.
#[test]
fn every_schedule_at_every_t_gives_terms_or_says_why() {
    let data = DataSpec::new(DataPreset::Skewed).build().expect("data");
    let model = ModelKind::Optimal.build(&data);
    for preset in elbo_core::schedule::BetaSchedule::ALL {
        for rescale in [false, true] {
            let schedule = ScheduleSettings {
                preset,
                rescale_zero_snr: rescale,
                ..ScheduleSettings::default()
            };
            for t in 1..=MAX_LATENTS {
                for variance in VarianceType::ALL {
                    let what = format!("{preset:?} zero SNR {rescale} T = {t} {variance:?}");
                    match hvae_elbo(&data, &schedule, t, model.as_ref(), variance) {
                        Ok(terms) => {
                            assert_eq!(terms.steps, t, "{what}");
                            assert_eq!(terms.denoising.len(), t - 1, "{what}");
                            assert!(terms.nelbo.is_finite(), "{what}: {terms:?}");
                            assert!(
                                terms.nelbo >= terms.data_entropy - terms.nelbo_error - 1e-9,
                                "{what}: {terms:?}"
                            );
                        }
                        Err(e) => assert!(e.contains(&format!("T = {t}")), "{what}: {e}"),
                    }
                }
            }
        }
    }
    let custom = ScheduleSettings {
        custom: Some(elbo_lab::app::settings::CustomBetas {
            label: "file".into(),
            betas: vec![0.1, 0.2],
        }),
        ..ScheduleSettings::default()
    };
    let e = hvae_elbo(&data, &custom, 2, model.as_ref(), VarianceType::FixedSmall)
        .expect_err("betas from a file have no T of their own");
    assert!(e.contains("pick a preset"), "{e}");
}
