//! The reverse process in the app: its persisted settings, the worker job (two sampler
//! settings from the same x_T, then quality against the number of steps) and the state the
//! view draws. The view itself is `views/reverse.rs`.

use egui::ColorImage;

use super::super::compute::{DENSITY_PIXELS, colour_image, pixel_centres};
use super::super::inputs::{Depends, Inputs};
use super::super::settings::max_leading_offset;
use super::job::{Job, JobKey, JobResult, Status};
use super::texture::LazyTexture;
use super::worker::{JobContext, Mode};
use elbo_core::mixture::GaussianMixture;
use elbo_core::sampler::{
    QualityPoint, SampleControl, SampleRun, SamplerConfig, Spacing, initial_noise,
    quality_step_counts, quality_vs_steps, sample_with_data,
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
        /// What they were computed from.
        job: ReverseJob,
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
        match sample_with_data(
            inputs.model.as_ref(),
            &inputs.schedule,
            config,
            Some(&inputs.data),
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
        job: job.clone(),
        runs: Box::new(runs),
        density,
    });
    let counts = quality_step_counts(inputs.steps());
    let mut out = Vec::with_capacity(2);
    for (i, config) in job.configs.iter().enumerate() {
        // One count at a time (each is independent given the seed): a leading spacing's
        // offset is lowered for a K too large for it, as for the runs (see
        // `ReverseSettings::resolve`), instead of failing the whole figure.
        let mut points = Vec::with_capacity(counts.len());
        for (j, &k) in counts.iter().enumerate() {
            let mut c = *config;
            if c.spacing == Spacing::Leading {
                c.steps_offset = c.steps_offset.min(max_leading_offset(inputs.steps(), k));
            }
            let done = i * counts.len() + j + 1;
            let on_step = |_: usize| ctx.set_progress(done);
            let result = quality_vs_steps(
                inputs.model.as_ref(),
                &inputs.data,
                &inputs.schedule,
                &c,
                &[k],
                job.sizes.quality_particles,
                seed.wrapping_add(10),
                SampleControl {
                    on_step: Some(&on_step),
                    cancel: Some(cancel),
                },
            );
            match result {
                Ok(p) => points.extend(p),
                Err(e) => {
                    if !ctx.cancelled() {
                        ctx.send(ReverseMessage::Failed(e.to_string()));
                    }
                    return;
                }
            }
        }
        out.push(points);
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
    pub density: Option<LazyTexture>,
    /// Quality against K for each setting (None until it arrives).
    pub quality: Option<Box<[Vec<QualityPoint>; 2]>>,
}

impl JobKey for ReverseJob {
    fn covers(&self, now: &Self) -> bool {
        self.same_as(now)
    }
}

/// What a reverse job has sent: the runs (then their quality figure), or why it failed.
#[derive(Default)]
pub struct ReverseOutcome {
    /// The runs, once they are in.
    pub result: Option<ReverseResult>,
    /// Why the runs or their quality figure could not be computed.
    pub error: Option<String>,
}

impl JobResult for ReverseOutcome {
    type Message = ReverseMessage;

    fn absorb(&mut self, message: ReverseMessage) {
        match message {
            ReverseMessage::Runs { job, runs, density } => {
                self.result = Some(ReverseResult {
                    job,
                    runs,
                    density: density.map(|image| LazyTexture::new("reverse_p0", image)),
                    quality: None,
                });
            }
            ReverseMessage::Quality(q) => {
                if let Some(result) = &mut self.result {
                    result.quality = Some(q);
                }
            }
            ReverseMessage::Failed(e) => self.error = Some(e),
        }
    }

    /// The view is complete once the runs are in (the quality figure follows).
    fn status(&self) -> Status {
        match (&self.result, &self.error) {
            (Some(_), _) => Status::Complete,
            (None, Some(_)) => Status::Failed,
            (None, None) => Status::Partial,
        }
    }
}

/// The Reverse tab's job (its runs are asked for only while the tab is open).
pub type ReverseState = Job<ReverseJob, ReverseOutcome>;

/// The Reverse tab's job, on a thread of its own (or inline, or deferred).
pub fn job(mode: Mode, repaint: Option<egui::Context>) -> ReverseState {
    Job::new("elbo-lab-reverse", mode, repaint, run_reverse_job)
}

impl Job<ReverseJob, ReverseOutcome> {
    /// The latest runs (of the current job or, dimmed, an older one).
    pub fn runs(&self) -> Option<&ReverseResult> {
        self.latest().and_then(|s| s.value.result.as_ref())
    }

    /// The error of the latest job, if it failed.
    pub fn error(&self) -> Option<&str> {
        self.latest().and_then(|s| s.value.error.as_deref())
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
    use crate::app::settings::ScheduleSettings;
    use crate::app::settings::{ConfigSampling, ReverseSettings, ScheduleConfig};

    fn config(spacing: Option<&str>, offset: Option<usize>) -> ScheduleConfig {
        ScheduleConfig {
            name: "c.json".into(),
            class_name: None,
            prediction_type: None,
            timestep_spacing: spacing.map(str::to_owned),
            steps_offset: offset,
            schedule: ScheduleSettings::default(),
        }
    }

    #[test]
    fn a_config_sets_spacing_and_offset_unless_overridden() {
        let mut r = ReverseSettings::default();
        r.b.steps = 10;
        // Stable Diffusion 1.5: no timestep_spacing (leading by default), offset 1.
        let sd = config(None, Some(1));
        let [a, b] = r.resolve(1000, Some(&sd));
        assert_eq!(b.config.spacing, Spacing::Leading);
        assert_eq!(b.config.steps_offset, 1);
        assert!(b.spacing_from_config && b.offset_from_config);
        // K = T = 1000 leaves no room for offset 1: (K - 1) (T div K) + 1 = 1000 > 999.
        assert_eq!(a.config.steps_offset, 0);
        assert_eq!(a.offset_lowered_from, Some(1));
        assert_eq!(max_leading_offset(1000, 10), 99);
        // linspace: the offset is not read, and is 0 in the job.
        let [_, b] = r.resolve(1000, Some(&config(Some("linspace"), Some(1))));
        assert_eq!(b.config.spacing, Spacing::Linspace);
        assert_eq!(b.config.steps_offset, 0);
        // The user overrides: the tab's own trailing spacing.
        r.use_config = false;
        let [_, b] = r.resolve(1000, Some(&sd));
        assert_eq!(b.config.spacing, Spacing::Trailing);
        assert!(!b.spacing_from_config);
        // An unknown spacing keeps each setting's own, with the offset still the config's.
        r.use_config = true;
        let odd = config(Some("sideways"), Some(3));
        let s = ConfigSampling::of(&odd).expect("sets an offset");
        assert_eq!(s.spacing, None);
        assert!(s.spacing_source.contains("sideways"));
        // A config that sets neither changes nothing.
        assert_eq!(ConfigSampling::of(&config(None, None)), None);
        assert_eq!(
            r.clamped(1000, Some(&config(None, None))),
            r.clamped(1000, None)
        );
    }

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
