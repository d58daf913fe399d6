//! The reverse process in the app: its persisted settings, the worker job (two sampler
//! settings from the same x_T, then quality against the number of steps) and the state the
//! view draws. The view itself is `views/reverse.rs`.

use egui::{ColorImage, TextureHandle, TextureOptions};
use serde::{Deserialize, Serialize};

use super::compute::{DENSITY_PIXELS, colour_image, pixel_centres};
use super::inputs::{Depends, Inputs};
use super::worker::{JobContext, Mode, Worker};
use crate::mixture::GaussianMixture;
use crate::sampler::{
    QualityPoint, SampleControl, SampleRun, SamplerConfig, SamplerKind, Spacing, initial_noise,
    quality_step_counts, quality_vs_steps, sample,
};

/// Particles moved by each of the two settings (every step is kept for the animation).
pub const REVERSE_PARTICLES: usize = 1000;
/// Particles of each point of the quality-vs-steps figure.
pub const QUALITY_PARTICLES: usize = 2000;
/// Particles whose trajectories are drawn.
pub const TRAJECTORIES: usize = 8;

/// How many particles a reverse job moves: the app's sizes, or small ones for the UI fuzz
/// test (whose jobs run inline hundreds of times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReverseSizes {
    /// Particles of the two runs.
    pub particles: usize,
    /// Particles of each quality point.
    pub quality_particles: usize,
}

impl Default for ReverseSizes {
    fn default() -> Self {
        ReverseSizes {
            particles: REVERSE_PARTICLES,
            quality_particles: QUALITY_PARTICLES,
        }
    }
}

impl ReverseSizes {
    /// Small sizes: enough to draw, cheap to compute.
    pub const LIGHT: ReverseSizes = ReverseSizes {
        particles: 64,
        quality_particles: 64,
    };
}

/// The reverse view's settings (persisted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReverseSettings {
    /// The left setting.
    pub a: SamplerConfig,
    /// The right setting.
    pub b: SamplerConfig,
    /// Draw the trajectories of a few particles.
    pub show_trajectories: bool,
}

impl Default for ReverseSettings {
    fn default() -> Self {
        ReverseSettings {
            a: SamplerConfig {
                kind: SamplerKind::Ddpm,
                steps: 1000,
                spacing: Spacing::Trailing,
                ..SamplerConfig::default()
            },
            b: SamplerConfig {
                kind: SamplerKind::Ddim,
                steps: 10,
                eta: 0.0,
                spacing: Spacing::Trailing,
                ..SamplerConfig::default()
            },
            show_trajectories: true,
        }
    }
}

impl ReverseSettings {
    /// The settings with K clamped to 1..=T and eta to [0, 1].
    pub fn clamped(&self, steps: usize) -> [SamplerConfig; 2] {
        [self.a, self.b].map(|mut c| {
            c.steps = c.steps.clamp(1, steps.max(1));
            c.eta = if c.eta.is_finite() {
                c.eta.clamp(0.0, 1.0)
            } else {
                0.0
            };
            c.steps_offset = 0;
            c
        })
    }
}

/// What a reverse job computes from: the inputs (data, schedule, model, seed, plotting box)
/// and the two sampler settings.
#[derive(Clone)]
pub struct ReverseJob {
    /// The inputs.
    pub inputs: Inputs,
    /// The two settings (already clamped to the inputs' T).
    pub configs: [SamplerConfig; 2],
    /// How many particles.
    pub sizes: ReverseSizes,
}

impl ReverseJob {
    /// True when a result of `self` is current for the job `now` asks for.
    pub fn same_as(&self, now: &ReverseJob) -> bool {
        self.inputs.covers(&now.inputs, Depends::Model)
            && self.inputs.config.seed == now.inputs.config.seed
            && self.configs == now.configs
            && self.sizes == now.sizes
    }
}

/// Messages of a reverse job.
pub enum ReverseMessage {
    /// The two runs from the same x_T, every step kept; and the 2D data density image.
    Runs {
        /// One run per setting.
        runs: Box<[SampleRun; 2]>,
        /// The data density p0 over the view box (2D only).
        density: Option<ColorImage>,
    },
    /// Quality against K for each setting's sampler.
    Quality(Box<[Vec<QualityPoint>; 2]>),
    /// Something failed.
    Failed(String),
}

/// The data density p0 as an image over the view box (log scale, as the forward view's).
fn density_image(data: &GaussianMixture, vb: [[f64; 2]; 2]) -> ColorImage {
    let n = DENSITY_PIXELS;
    let pts = pixel_centres(vb, n);
    let logs = data.log_density_batch(pts.view());
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Show about 8 nats of dynamic range below the peak.
    let values: Vec<f32> = logs
        .iter()
        .map(|l| (((l - max) / 8.0 + 1.0).clamp(0.0, 1.0)) as f32)
        .collect();
    colour_image(n, n, &values)
}

/// Run a reverse job: the two trajectories first, then the quality figure.
pub fn run_reverse_job(job: ReverseJob, ctx: &JobContext<ReverseMessage>) {
    let cancel = ctx.cancel_flag();
    let control = SampleControl {
        on_step: None,
        cancel: Some(cancel),
    };
    let inputs = &job.inputs;
    let seed = inputs.config.seed;
    let dim = inputs.dim();
    let x_t = initial_noise(job.sizes.particles, dim, seed);
    let mut runs = Vec::with_capacity(2);
    for config in &job.configs {
        match sample(
            inputs.model.as_ref(),
            &inputs.schedule,
            config,
            x_t.clone(),
            seed.wrapping_add(1),
            true,
            control,
        ) {
            Ok(run) => runs.push(run),
            Err(e) => {
                if !ctx.cancelled() {
                    ctx.send(ReverseMessage::Failed(e.to_string()));
                }
                return;
            }
        }
    }
    let Ok(runs) = <[SampleRun; 2]>::try_from(runs) else {
        return;
    };
    let density = (dim == 2).then(|| density_image(&inputs.data, inputs.view_box));
    ctx.send(ReverseMessage::Runs {
        runs: Box::new(runs),
        density,
    });
    let counts = quality_step_counts(inputs.steps());
    let mut out = Vec::with_capacity(2);
    for (i, config) in job.configs.iter().enumerate() {
        let done_before = i * counts.len();
        let on_step = |k: usize| ctx.set_progress(done_before + k);
        let result = quality_vs_steps(
            inputs.model.as_ref(),
            &inputs.data,
            &inputs.schedule,
            config,
            &counts,
            job.sizes.quality_particles,
            seed.wrapping_add(10),
            SampleControl {
                on_step: Some(&on_step),
                cancel: Some(cancel),
            },
        );
        match result {
            Ok(points) => out.push(points),
            Err(e) => {
                if !ctx.cancelled() {
                    ctx.send(ReverseMessage::Failed(e.to_string()));
                }
                return;
            }
        }
    }
    if let Ok(q) = <[Vec<QualityPoint>; 2]>::try_from(out) {
        ctx.send(ReverseMessage::Quality(Box::new(q)));
    }
}

/// Two runs and their quality figure, with the job they were computed for.
pub struct ReverseResult {
    /// What they were computed from.
    pub job: ReverseJob,
    /// The two runs.
    pub runs: Box<[SampleRun; 2]>,
    /// The data density image (2D).
    pub density: Option<TextureHandle>,
    /// Quality against K for each setting (None until it arrives).
    pub quality: Option<Box<[Vec<QualityPoint>; 2]>>,
}

/// The reverse view's computed state and its worker. The app polls it every frame, whatever
/// tab is open; it asks for work only while the Reverse process tab is open.
pub struct ReverseState {
    worker: Worker<ReverseJob, ReverseMessage>,
    requested: Option<ReverseJob>,
    /// The latest runs (of the current job or, dimmed, an older one).
    pub shown: Option<ReverseResult>,
    /// The error of the requested job.
    pub error: Option<String>,
}

impl ReverseState {
    /// A state with its worker.
    pub fn new(mode: Mode, repaint: Option<egui::Context>) -> Self {
        ReverseState {
            worker: Worker::new("elbo-lab-reverse", mode, repaint, run_reverse_job),
            requested: None,
            shown: None,
            error: None,
        }
    }

    /// Submit the job unless it is the one already asked for (a newer job supersedes an
    /// older one).
    pub fn request(&mut self, job: ReverseJob) {
        if self.requested.as_ref().is_some_and(|l| l.same_as(&job)) {
            return;
        }
        self.error = None;
        self.requested = Some(job.clone());
        self.worker.submit(job);
    }

    /// Take what the worker sent (messages of superseded jobs never arrive).
    pub fn poll(&mut self, ctx: &egui::Context) {
        for message in self.worker.poll() {
            let Some(job) = &self.requested else {
                continue;
            };
            match message {
                ReverseMessage::Runs { runs, density } => {
                    self.shown = Some(ReverseResult {
                        job: job.clone(),
                        runs,
                        density: density.map(|image| {
                            ctx.load_texture("reverse_p0", image, TextureOptions::LINEAR)
                        }),
                        quality: None,
                    });
                }
                ReverseMessage::Quality(q) => {
                    if let Some(shown) = &mut self.shown
                        && shown.job.same_as(job)
                    {
                        shown.quality = Some(q);
                    }
                }
                ReverseMessage::Failed(e) => self.error = Some(e),
            }
        }
    }

    /// The shown result if it is current for `now`.
    pub fn current(&self, now: &ReverseJob) -> Option<&ReverseResult> {
        self.shown.as_ref().filter(|r| r.job.same_as(now))
    }

    /// True when the last request is `now` and it failed.
    pub fn failed(&self, now: &ReverseJob) -> bool {
        self.error.is_some() && self.requested.as_ref().is_some_and(|r| r.same_as(now))
    }

    /// True while a job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.worker.is_busy()
    }

    /// In [`Mode::Deferred`], run the queued job now; returns whether one ran.
    pub fn run_pending(&self) -> bool {
        self.worker.run_pending()
    }

    /// Step counts of the quality figure done so far (over both settings).
    pub fn progress(&self) -> usize {
        self.worker.progress()
    }
}

/// The index of the state to show at timeline t: the sampled step at or above t (the first
/// state, x_T, when t is above every sampled step). `timesteps` is decreasing and ends in 0.
pub fn state_index(timesteps: &[usize], t: usize) -> usize {
    let sampled = timesteps.len().saturating_sub(1);
    (0..sampled).rev().find(|&i| timesteps[i] >= t).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_maps_to_the_sampled_step_at_or_above() {
        let ts = [1000, 900, 500, 1, 0];
        assert_eq!(state_index(&ts, 1000), 0);
        assert_eq!(state_index(&ts, 901), 0);
        assert_eq!(state_index(&ts, 900), 1);
        assert_eq!(state_index(&ts, 600), 1);
        assert_eq!(state_index(&ts, 500), 2);
        assert_eq!(state_index(&ts, 2), 2);
        assert_eq!(state_index(&ts, 1), 3);
        // A leading spacing whose top step is below T shows x_T above it.
        assert_eq!(state_index(&[901, 801, 0], 950), 0);
    }
}
