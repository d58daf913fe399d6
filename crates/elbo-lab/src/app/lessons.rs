//! The built-in lesson: guided scenes, each setting the whole state (data, schedule, model,
//! tab, t, toggles) with a title and a two-line caption saying what to look at. Stepped
//! with PageDown / PageUp (what presentation clickers send) or the lesson bar's arrows;
//! started from the Lessons menu.
//!
//! Every number a caption states is checked against what the app computes for that scene
//! (tests/app/scenes.rs and the tests below).

use std::path::{Path, PathBuf};

use super::focus::{Target, key};
use super::scene::Scene;
use super::settings::{
    DataSettings, EvidenceStep, ScheduleSettings, Settings, StepPart, View, ViewToggles,
};
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::BetaSchedule;
use elbo_core::schedule::VarianceType;

/// Weights of networks trained with `elbo-lab train --data bimodal --train-steps 3000
/// --params x0,eps --seed 0` (L_simple, linear schedule, T = 1000), shipped for the last
/// lesson step.
const LESSON_WEIGHTS: [(&str, &[u8]); 2] = [
    (
        "x0.safetensors",
        include_bytes!("../../../../assets/lesson_weights/x0.safetensors"),
    ),
    (
        "eps.safetensors",
        include_bytes!("../../../../assets/lesson_weights/eps.safetensors"),
    ),
];

/// One step of the lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// The state it sets, with its title and caption.
    pub scene: Scene,
    /// It loads the shipped trained networks and uses this one.
    pub trained: Option<Parameterisation>,
    /// What its caption refers to: the step brings each into view (see [`focus`]).
    ///
    /// [`focus`]: super::focus
    pub shows: Vec<Target>,
    /// The results its caption quotes, each shown on screen with the same digits.
    pub quotes: Vec<Quote>,
    /// The other numbers of its caption: settings and givens, not results (each as it is
    /// written in the caption).
    pub given: Vec<&'static str>,
}

/// A number a caption quotes and how the screen writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// As the caption writes it (its TeX included).
    pub caption: &'static str,
    /// The digits the screen shows: a number on screen starts with them.
    pub screen: &'static str,
}

/// The lesson's steps, in order.
pub fn lessons() -> Vec<Lesson> {
    let bimodal = DataSettings::default();
    let linear = ScheduleSettings::default();
    let sd15 = ScheduleSettings {
        preset: BetaSchedule::ScaledLinear,
        steps: 1000,
        beta_start: 0.00085,
        beta_end: 0.012,
        rescale_zero_snr: false,
        custom: None,
    };
    let step = |title: &str,
                caption: [&str; 2],
                data: &DataSettings,
                schedule: &ScheduleSettings,
                view: View,
                t: usize,
                toggles: ViewToggles| Lesson {
        scene: Scene {
            settings: Settings {
                data: data.clone(),
                schedule: schedule.clone(),
                view,
                t,
                toggles,
                ..Settings::default()
            },
            title: Some(title.to_owned()),
            caption: caption.iter().map(|c| (*c).to_owned()).collect(),
        },
        trained: None,
        shows: Vec::new(),
        quotes: Vec::new(),
        given: Vec::new(),
    };
    let plain = ViewToggles::default();
    let two_moons = DataSettings {
        spec: DataSpec::new(DataPreset::TwoMoons),
        ..DataSettings::default()
    };
    let evidence = ViewToggles {
        evidence_step: EvidenceStep::Diffusion,
        ..plain.clone()
    };
    let hierarchical = ViewToggles {
        evidence_step: EvidenceStep::Hierarchical,
        ..plain.clone()
    };
    let cosine = ScheduleSettings {
        preset: BetaSchedule::SquaredcosCapV2,
        ..linear.clone()
    };
    let timeline = Target::Readout(key::TIMELINE);
    let schedule_numbers = Target::Readout(key::SCHEDULE);
    let log_snr_plot = Target::Plot(key::LOG_SNR_PLOT);
    let mut out = vec![
        step(
            "The forward process destroys structure",
            [
                r"$q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I)$: each step shrinks the data and adds noise.",
                r"The modes at −1 and +1 merge near $t = 250$ ($\bar\alpha_t = 0.52$); by $t = T = 1000$, $q(x_T) \approx \mathcal{N}(0, 1)$.",
            ],
            &bimodal,
            &linear,
            View::Forward,
            250,
            plain.clone(),
        )
        .showing(&[Target::Plot("river"), Target::Plot("density_at_t"), timeline])
        .quoting(&[("0.52", "0.52")])
        .given(&["(1 - \\bar\\alpha_t)", "−1 and +1", "t = 250", "T = 1000", r"\mathcal{N}(0, 1)"]),
        step(
            "The diffusion model is a hierarchical VAE",
            [
                r"A Markovian hierarchical VAE $x \to z_1 \to \dots \to z_T$ with a fixed encoder; each decoder arrow has its term.",
                r"With $T = 3$ latents the NELBO is 1.7614 nats, 1.0357 above $H(p_0)$: so few steps make a loose bound.",
            ],
            &bimodal,
            &cosine,
            View::Evidence,
            1,
            hierarchical.clone(),
        )
        .showing(&[Target::Readout(key::HVAE_CHAIN), Target::Readout(key::HVAE_TERMS)])
        .quoting(&[("1.7614", "1.7614"), ("1.0357", "1.0357")])
        .given(&["T = 3"]),
        step(
            "Where the nats of the ELBO are",
            [
                r"The denoising terms $L_{t-1}$ add up to 4.358 nats; 80% of them sit at $t \le 100$,",
                "the half $t > 500$ adds only 0.04 nats: the bound is won or lost where the noise is small.",
            ],
            &bimodal,
            &linear,
            View::Elbo,
            100,
            plain.clone(),
        )
        .showing(&[Target::Plot("terms"), Target::Readout(key::ELBO_SHARE)])
        .quoting(&[("4.358", "4.358"), ("80%", "80%"), ("0.04 nats", "0.04")])
        .given(&[r"t \le 100", "t > 500"]),
        step(
            "One denoising term is a KL between two Gaussians",
            [
                r"$L_{t-1}$ compares $q(x_{t-1} \mid x_t, x_0)$, where $x_{t-1}$ was given both ends, with the model's step.",
                r"Here their KL is 0.0044 nats; averaged over $x_0 \sim p_0$ and $x_t$ it is the ELBO's $L_{t-1}$ = 0.0020 nats.",
            ],
            &bimodal,
            &linear,
            View::Step,
            300,
            ViewToggles {
                step_part: StepPart::Kl,
                ..plain.clone()
            },
        )
        .showing(&[Target::Plot(key::STEP_KL_PLOT), Target::Readout(key::STEP_KL)])
        .quoting(&[("0.0044 nats;", "0.0044"), ("= 0.0020 nats", "0.0020")]),
        step(
            "Tweedie's formula: the denoiser is the score",
            [
                r"$E[x_0 \mid x_t] = (x_t + (1 - \bar\alpha_t)\, \nabla \log q_t(x_t)) / \sqrt{\bar\alpha_t}$: at $t = 250$ it is flat beyond the modes,",
                "so each x_t is pulled toward -1 or +1. From the posterior or through the score: equal to rounding.",
            ],
            &bimodal,
            &linear,
            View::Step,
            250,
            plain.clone(),
        )
        .showing(&[Target::Plot(key::TWEEDIE_PLOT), Target::Readout(key::TWEEDIE)])
        .given(&["(1 - \\bar\\alpha_t)", "t = 250", "-1 or +1"]),
        step(
            "Three parameterisations, one weighted error",
            [
                r"At $t = 1$ the weighted errors $w \times \mathrm{MSE}$ of $x_0$, $\epsilon$ and score are one number,",
                r"while their raw MSEs differ 9999-fold ($\epsilon$ / $x_0$) and $9.999 \cdot 10^7$-fold (score / $x_0$).",
            ],
            &bimodal,
            &linear,
            View::Params,
            1,
            plain.clone(),
        )
        .showing(&[Target::Readout(key::PARAMS_WEIGHTED)])
        .quoting(&[("9999-fold", "9999"), (r"9.999 \cdot 10^7", "9.999e7")])
        .given(&["t = 1"]),
        step(
            "Stable Diffusion v1.5: the terminal SNR is not zero",
            [
                r"scaled_linear 0.00085..0.012, $T = 1000$ ends at $\bar\alpha_T = 0.0047$ (log-SNR −5.36), not at 0:",
                r"$x_T$ keeps $\sqrt{\bar\alpha_T} = 6.8\%$ of $x_0$, so sampling from pure $\mathcal{N}(0, I)$ starts off the training distribution.",
            ],
            &bimodal,
            &sd15,
            View::Schedule,
            1000,
            plain.clone(),
        )
        .showing(&[log_snr_plot, schedule_numbers, timeline])
        .quoting(&[("0.0047", "0.0047"), ("−5.36", "-5.36"), (r"6.8\%", "6.8%")])
        .given(&["0.00085..0.012", "T = 1000", "not at 0", r"\mathcal{N}(0, I)"]),
        step(
            "The fix: rescale to zero terminal SNR",
            [
                r"Lin et al. (2023) rescale the betas (dotted: before) so that $\bar\alpha_T = 0$ and $\beta_T = 1$: the prior term is 0,",
                r"the last log-SNR is $-\infty$, and $\epsilon$- and score-prediction are undefined at $t = T$.",
            ],
            &bimodal,
            &ScheduleSettings {
                rescale_zero_snr: true,
                ..sd15.clone()
            },
            View::Schedule,
            1000,
            plain.clone(),
        )
        .showing(&[log_snr_plot, schedule_numbers, timeline])
        .quoting(&[
            (r"\bar\alpha_T = 0", "abar_t = 0"),
            (r"\beta_T = 1", "beta_t = 1"),
            ("prior term is 0", "L_T = 0"),
            (r"-\infty", "-inf"),
        ])
        .given(&["(2023)"]),
        step(
            "Cosine against linear, in log-SNR",
            [
                "Linear (DDPM) reaches log-SNR 0 at $t = 260$ and −5.7 at $t = 750$: its last quarter is almost noise.",
                "Cosine (squaredcos_cap_v2) reaches 0 only at $t = 497$ and spreads its steps over the noise levels.",
            ],
            &bimodal,
            &ScheduleSettings {
                preset: BetaSchedule::SquaredcosCapV2,
                ..linear.clone()
            },
            View::Schedule,
            500,
            ViewToggles {
                overlay_presets: true,
                ..plain.clone()
            },
        )
        .showing(&[log_snr_plot, schedule_numbers])
        .quoting(&[
            ("$t = 260$", "linear t = 260"),
            ("−5.7", "linear -5.7"),
            ("$t = 497$", "squaredcos_cap_v2 t = 497"),
        ])
        .given(&["log-SNR 0", "$t = 750$", "squaredcos_cap_v2", "reaches 0"]),
        step(
            "Ten DDIM steps against a thousand DDPM steps",
            [
                r"From the same $x_T$: A takes 1000 ancestral DDPM steps, B 10 deterministic DDIM steps ($\eta = 0$).",
                r"B finds the two moons but blurs them: its $\log p_0$ gap is 2.1 nats, A's −0.05 (0: as good as data).",
            ],
            &two_moons,
            &linear,
            View::Reverse,
            1,
            plain.clone(),
        )
        .showing(&[
            Target::Plot(key::REVERSE_PARTICLES),
            Target::Readout(key::REVERSE_GAPS),
        ])
        .quoting(&[("2.1 nats", "(K = 10) 2.1"), ("−0.05", "(K = 1000) -0.05")])
        .given(&["1000 ancestral", "10 deterministic", r"\eta = 0", "0: as good"]),
        step(
            "Sample quality against the number of steps",
            [
                "Against the number of steps K, the log-likelihood gap (left) and the energy distance (right) of both",
                "samplers fall to 0 (as good as data) within about 20 steps: here DDPM (A) and DDIM (B) are alike.",
            ],
            &two_moons,
            &linear,
            View::Reverse,
            1,
            plain.clone(),
        )
        .showing(&[Target::Plot(key::REVERSE_QUALITY)])
        .given(&["0 (as good", "20 steps"]),
        step(
            "Two drawbacks: many steps, and latents as big as the data",
            [
                "Sampling calls the network once per step, T times (1000 for DDPM), where a VAE decodes once;",
                "and every latent has the data's own dimension (restriction 1 below): nothing is compressed.",
            ],
            &bimodal,
            &cosine,
            View::Evidence,
            1,
            hierarchical,
        )
        .showing(&[Target::Section(key::HVAE_RESTRICTIONS)])
        .given(&["T times", "1000", "restriction 1"]),
        step(
            "What the ELBO bounds: the model, or the bound?",
            [
                r"The optimal denoiser's own density $p_\theta(x_0)$ matches $p_0$: $\mathrm{KL}(p_0 \| p_\theta) =$ $1.6 \cdot 10^{-4}$ nats.",
                r"Yet its NELBO is 0.445 nats above $H(p_0)$: the bound's gap, from fixed_small's too narrow steps.",
            ],
            &bimodal,
            &linear,
            View::Evidence,
            1,
            evidence.clone(),
        )
        .showing(&[
            Target::Plot("evidence_density"),
            Target::Plot("evidence_nll"),
            Target::Readout(key::EVIDENCE_SUMMARY),
        ])
        .quoting(&[(r"$1.6 \cdot 10^{-4}$", "1.6"), ("0.445", "0.445")]),
    ];
    let mut analytic = step(
        "The analytic variance closes the bound's gap",
        [
            r"The same denoiser with the analytic variance (Bao et al. 2022), fitted to the true reverse step:",
            r"NELBO is now only 0.003 nats above $H(p_0)$: the gap was the variance's.",
        ],
        &bimodal,
        &linear,
        View::Evidence,
        1,
        evidence,
    )
    .showing(&[
        Target::Plot("evidence_density"),
        Target::Readout(key::EVIDENCE_SUMMARY),
    ])
    .quoting(&[("0.003", "0.003")])
    .given(&["2022"]);
    analytic.scene.settings.variance = VarianceType::Analytic;
    out.push(analytic);
    let truth = ViewToggles {
        step_part: StepPart::Truth,
        ..plain.clone()
    };
    out.push(
        step(
            "Where the bound's gap lives, step by step",
            [
                r"$\mathrm{NELBO} - H(p_0)$ = prior KL + the steps' $R_t = G_t + M_t$. With the optimal model, $M_t$ (the variance's",
                "error) sums to 0.4452 nats under fixed_small, 0.0055 under fixed_large, 0.0027 under analytic.",
            ],
            &bimodal,
            &linear,
            View::Step,
            100,
            truth.clone(),
        )
        .showing(&[Target::Plot(key::STEP_TERMS_PLOT), Target::Readout(key::STEP_VARIANCES)])
        .quoting(&[("0.4452", "0.4452"), ("0.0055", "0.0055"), ("0.0027", "0.0027")]),
    );
    out.push(
        step(
            "Small steps make the true reverse step Gaussian",
            [
                r"$G_t$: how far the true step $q(x_{t-1} \mid x_t)$ is from any Gaussian; at $T = 1000$ it is invisible here.",
                "The same noise path has a sum of G_t of 0.1294 nats in 10 steps, 0.0036 in 100, 4.789e-5 in 1000.",
            ],
            &bimodal,
            &linear,
            View::Step,
            100,
            truth,
        )
        .showing(&[Target::Plot(key::STEP_TRUTH_PLOT), Target::Readout(key::STEP_FAMILY)])
        .quoting(&[("0.1294", "0.1294"), ("0.0036", "0.0036"), ("4.789e-5", "4.789e-5")])
        .given(&["T = 1000", "10 steps", "in 100", "in 1000"]),
    );
    let mut x0 = step(
        "The x0 network's poor likelihood",
        [
            r"Two networks trained alike ($L_\mathrm{simple}$, 3000 steps): $\epsilon$'s NELBO is 1.27, the optimum's 1.17,",
            r"the $x_0$ network's 176: its errors are weighted by $w_{x_0}(t)$, 5000 at $t = 1$, where most of its excess is.",
        ],
        &bimodal,
        &linear,
        View::Training,
        1,
        plain,
    )
    .showing(&[
        Target::Readout(key::TRAINING_STATUS),
        Target::Plot("train_terms"),
        Target::Plot("train_excess"),
        Target::Readout(key::TRAINING_AT_T),
    ])
    .quoting(&[("is 1.27", "eps 1.27"), ("1.17", "optimal 1.17"), ("network's 176", "x0 176"), ("5000", "w_x0(t) = 5000")])
    .given(&["3000 steps", "t = 1"]);
    x0.trained = Some(Parameterisation::X0);
    out.push(x0);
    out
}

impl Lesson {
    /// The step refers to `targets`.
    fn showing(mut self, targets: &[Target]) -> Self {
        self.shows = targets.to_vec();
        self
    }

    /// The step's caption quotes these results: (as the caption writes it, the digits on
    /// screen).
    fn quoting(mut self, quotes: &[(&'static str, &'static str)]) -> Self {
        self.quotes = quotes
            .iter()
            .map(|&(caption, screen)| Quote { caption, screen })
            .collect();
        self
    }

    /// The other numbers of the step's caption, as written there.
    fn given(mut self, given: &[&'static str]) -> Self {
        self.given = given.to_vec();
        self
    }
}

/// The number of steps of the lesson.
pub fn lesson_count() -> usize {
    lessons().len()
}

/// The shipped weights written to a folder (once per content: the folder's name carries a
/// hash of the bytes, and each file is written whole by a rename), for
/// [`Command::LoadWeights`](super::command::Command::LoadWeights).
pub fn lesson_weights_dir() -> Result<PathBuf, String> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, bytes) in LESSON_WEIGHTS {
        for b in name.bytes().chain(bytes.iter().copied()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let dir = std::env::temp_dir().join(format!("elbo-lab-lesson-weights-{hash:016x}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, bytes) in LESSON_WEIGHTS {
        write_once(&dir.join(name), bytes)?;
    }
    Ok(dir)
}

fn write_once(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|b| b == bytes) {
        return Ok(());
    }
    elbo_core::files::write_atomic(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_a_title_and_two_lines() {
        let all = lessons();
        assert!(all.len() >= 6);
        for l in &all {
            assert!(l.scene.title.as_deref().is_some_and(|t| !t.is_empty()));
            assert_eq!(l.scene.caption.len(), 2);
            let (back, notes) = Scene::parse(&l.scene.to_json()).expect("a scene");
            assert!(notes.is_empty(), "{notes:?}");
            assert_eq!(back.settings, l.scene.settings);
        }
    }

    #[test]
    fn the_weights_are_written_once_and_whole() {
        let dir = lesson_weights_dir().expect("a temp folder");
        for (name, bytes) in LESSON_WEIGHTS {
            assert_eq!(std::fs::read(dir.join(name)).expect("written"), bytes);
        }
        assert_eq!(lesson_weights_dir().expect("again"), dir);
    }
}
