//! The reverse process in the app: its persisted settings, the worker job (two sampler
//! settings from the same x_T, then quality against the number of steps) and the state the
//! view draws. The view itself is `views/reverse.rs`.

use std::sync::Arc;

use egui::{ColorImage, TextureHandle, TextureOptions};
use serde::{Deserialize, Serialize};

use crate::denoiser::Denoiser;
use crate::mixture::GaussianMixture;
use crate::sampler::{
    QualityPoint, SampleControl, SampleRun, SamplerConfig, SamplerKind, Spacing, initial_noise,
    quality_step_counts, quality_vs_steps, sample,
};
use crate::schedule::NoiseSchedule;

use super::compute::{DENSITY_PIXELS, colour_image, pixel_centres};
use super::worker::{JobContext, Worker};

/// Particles moved by each of the two settings (every step is kept for the animation).
pub const REVERSE_PARTICLES: usize = 1000;
/// Particles of each point of the quality-vs-steps figure.
pub const QUALITY_PARTICLES: usize = 2000;
/// Particles whose trajectories are drawn.
pub const TRAJECTORIES: usize = 8;

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

/// What a reverse job computes from.
#[derive(Clone)]
pub struct ReverseJob {
    /// The data.
    pub data: Arc<GaussianMixture>,
    /// The schedule.
    pub schedule: Arc<NoiseSchedule>,
    /// The model.
    pub model: Arc<dyn Denoiser>,
    /// The two settings (already clamped).
    pub configs: [SamplerConfig; 2],
    /// Seed of x_T and of the noise.
    pub seed: u64,
    /// The plotting box.
    pub view_box: [[f64; 2]; 2],
}

impl ReverseJob {
    fn same_as(&self, other: &ReverseJob) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
            && Arc::ptr_eq(&self.schedule, &other.schedule)
            && Arc::ptr_eq(&self.model, &other.model)
            && self.configs == other.configs
            && self.seed == other.seed
            && self.view_box == other.view_box
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
    let dim = job.data.dim();
    let x_t = initial_noise(REVERSE_PARTICLES, dim, job.seed);
    let mut runs = Vec::with_capacity(2);
    for config in &job.configs {
        match sample(
            job.model.as_ref(),
            &job.schedule,
            config,
            x_t.clone(),
            job.seed.wrapping_add(1),
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
    let density = (dim == 2).then(|| density_image(&job.data, job.view_box));
    ctx.send(ReverseMessage::Runs {
        runs: Box::new(runs),
        density,
    });
    let counts = quality_step_counts(job.schedule.steps());
    let mut out = Vec::with_capacity(2);
    for (i, config) in job.configs.iter().enumerate() {
        let done_before = i * counts.len();
        let on_step = |k: usize| ctx.set_progress(done_before + k);
        let result = quality_vs_steps(
            job.model.as_ref(),
            &job.data,
            &job.schedule,
            config,
            &counts,
            QUALITY_PARTICLES,
            job.seed.wrapping_add(10),
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

/// The reverse view's computed state and its worker.
pub struct ReverseState {
    worker: Worker<ReverseJob, ReverseMessage>,
    last: Option<ReverseJob>,
    /// The two runs (None until the first arrives).
    pub runs: Option<Box<[SampleRun; 2]>>,
    /// The settings of the runs shown.
    pub configs: Option<[SamplerConfig; 2]>,
    /// Quality against K for each setting.
    pub quality: Option<Box<[Vec<QualityPoint>; 2]>>,
    /// The data density image (2D).
    pub density: Option<TextureHandle>,
    /// The last error.
    pub error: Option<String>,
}

impl ReverseState {
    /// A state with its worker (`synchronous` runs jobs inline, for tests).
    pub fn new(synchronous: bool, repaint: Option<egui::Context>) -> Self {
        ReverseState {
            worker: Worker::new("elbo-lab-reverse", synchronous, repaint, run_reverse_job),
            last: None,
            runs: None,
            configs: None,
            quality: None,
            density: None,
            error: None,
        }
    }

    /// Submit the job if it differs from the last one (a newer job supersedes an older).
    pub fn request(&mut self, job: ReverseJob) {
        if self.last.as_ref().is_some_and(|l| l.same_as(&job)) {
            return;
        }
        self.quality = None;
        self.error = None;
        self.last = Some(job.clone());
        self.worker.submit(job);
    }

    /// Take what the worker sent.
    pub fn poll(&mut self, ctx: &egui::Context) {
        for message in self.worker.poll() {
            match message {
                ReverseMessage::Runs { runs, density } => {
                    self.configs = self.last.as_ref().map(|l| l.configs);
                    self.runs = Some(runs);
                    self.density = density
                        .map(|image| ctx.load_texture("reverse_p0", image, TextureOptions::LINEAR));
                }
                ReverseMessage::Quality(q) => self.quality = Some(q),
                ReverseMessage::Failed(e) => self.error = Some(e),
            }
        }
    }

    /// True while a job is queued or running.
    pub fn is_busy(&self) -> bool {
        self.worker.is_busy()
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
