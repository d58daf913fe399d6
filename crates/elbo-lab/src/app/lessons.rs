//! The built-in lesson: guided scenes, each setting the whole state (data, schedule, model,
//! tab, t, toggles) with a title and a two-line caption saying what to look at. Stepped
//! with PageDown / PageUp (what presentation clickers send) or the lesson bar's arrows;
//! started from the Lessons menu.
//!
//! Every number a caption states is checked against what the app computes for that scene
//! (tests/app/scenes.rs and the tests below).

use std::path::{Path, PathBuf};

use super::scene::Scene;
use super::settings::{DataSettings, EvidenceStep, ScheduleSettings, Settings, View, ViewToggles};
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::BetaSchedule;

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
    };
    let plain = ViewToggles::default();
    let mut out = vec![
        step(
            "The forward process destroys structure",
            [
                r"$q(x_t \mid x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I)$: each step shrinks the data towards 0 and adds noise.",
                r"The modes at −1 and +1 merge into one bump near $t = 250$ ($\bar\alpha_t = 0.52$); at $t = T = 1000$, $q(x_T)$ is $\mathcal{N}(0, 1)$ up to $\bar\alpha_T = 4 \cdot 10^{-5}$.",
            ],
            &bimodal,
            &linear,
            View::Forward,
            250,
            plain.clone(),
        ),
        step(
            "Where the nats of the ELBO are",
            [
                r"The denoising terms $L_{t-1}$ (log axis) add up to about 4.4 nats, and four fifths of them sit at $t \le 100$.",
                "The half $t > 500$ adds less than 0.05 nats: the bound is won or lost where the noise is small.",
            ],
            &bimodal,
            &linear,
            View::Elbo,
            100,
            plain.clone(),
        ),
        step(
            "Three parameterisations, one weighted error",
            [
                r"At $t = 1$ the weighted errors $w \times \mathrm{MSE}$ of $x_0$, $\epsilon$ and score are the same number in every column,",
                r"while their raw MSEs differ $10^4$-fold ($\epsilon$ / $x_0$) and $10^8$-fold (score / $x_0$): $\bar\alpha_1 / (1 - \bar\alpha_1)^2 = 10^8$ for $\beta_1 = 10^{-4}$.",
            ],
            &bimodal,
            &linear,
            View::Params,
            1,
            plain.clone(),
        ),
        step(
            "Stable Diffusion v1.5: the terminal SNR is not zero",
            [
                r"scaled_linear 0.00085..0.012, $T = 1000$ ends at $\bar\alpha_T = 0.0047$ (log-SNR −5.4), not at 0:",
                r"$x_T$ keeps $\sqrt{\bar\alpha_T} = 7\%$ of $x_0$, so sampling from pure $\mathcal{N}(0, I)$ starts off the training distribution.",
            ],
            &bimodal,
            &sd15,
            View::Schedule,
            1000,
            plain.clone(),
        ),
        step(
            "The fix: rescale to zero terminal SNR",
            [
                r"Lin et al. (2023) rescale the same betas so that $\bar\alpha_T = 0$ exactly ($\beta_T = 1$): $x_T$ is pure noise, the prior term is 0,",
                r"and the last log-SNR is $-\infty$; $\epsilon$- and score-prediction are undefined at $t = T$ ($x_0$ from $\epsilon$ divides by $\sqrt{\bar\alpha_T}$).",
            ],
            &bimodal,
            &ScheduleSettings {
                rescale_zero_snr: true,
                ..sd15.clone()
            },
            View::Schedule,
            1000,
            plain.clone(),
        ),
        step(
            "Cosine against linear, in log-SNR",
            [
                "Linear (DDPM) crosses log-SNR 0 at $t = 260$ and is at −5.7 by $t = 750$: its last quarter is almost pure noise.",
                "Cosine (squaredcos_cap_v2) crosses 0 at $t = 500$ and falls steadily, spreading its steps over the noise levels.",
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
        ),
        step(
            "Ten DDIM steps against a thousand DDPM steps",
            [
                r"From the same $x_T$, A takes 1000 ancestral DDPM steps and B 10 deterministic DDIM steps ($\eta = 0$).",
                r"B finds the two moons but blurs them: its $\log p_0$ gap is about 2 nats, A's about 0; the lower plots show the gap against $K$.",
            ],
            &DataSettings {
                spec: DataSpec::new(DataPreset::TwoMoons),
                ..DataSettings::default()
            },
            &linear,
            View::Reverse,
            1,
            plain.clone(),
        ),
    ];
    out.push(step(
        "What the ELBO bounds: the model, or the bound?",
        [
            r"The optimal denoiser's own density $p_\theta(x_0)$, carried down the reverse chain, matches $p_0$: $\mathrm{KL}(p_0 \| p_\theta) = 0.0002$ nats.",
            r"Yet its NELBO is 0.445 nats above $H(p_0)$: that is the bound's gap, with fixed_small's too narrow steps; the analytic variance leaves 0.003.",
        ],
        &bimodal,
        &linear,
        View::Evidence,
        1,
        ViewToggles {
            evidence_step: EvidenceStep::Diffusion,
            ..plain.clone()
        },
    ));
    let mut x0 = step(
        "The x0 network's poor likelihood",
        [
            r"Two networks trained alike ($L_\mathrm{simple}$, 3000 steps, shipped in assets/): $\epsilon$'s NELBO is within a few tenths of a nat of the optimum,",
            r"the $x_0$ network's is over 100 nats worse: its small $x_0$ errors are multiplied by $w_{x_0}(t)$ (5000 at $t = 1$), most of the excess at $t \le 10$.",
        ],
        &bimodal,
        &linear,
        View::Training,
        1,
        plain,
    );
    x0.trained = Some(Parameterisation::X0);
    out.push(x0);
    out
}

/// The number of steps of the lesson.
pub fn lesson_count() -> usize {
    lessons().len()
}

/// The shipped weights written to a folder (once per content: the folder's name carries a
/// hash of the bytes, and each file is written whole by a rename), for
/// [`Command::LoadWeights`].
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
