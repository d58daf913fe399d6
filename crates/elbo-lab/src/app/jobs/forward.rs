//! The forward process's plots: what depends on the data and schedule alone (the 1D density
//! river, the particles) and what depends on the model and t (densities and predictions at
//! t). Their data come from `compute`; here they become jobs.
//!
//! ```text
//! StaticsKey (data, schedule, view box, seed)  ->  StaticShown { river, particles }
//! FieldKey   (data, schedule, model, t)        ->  FieldView { field, 2D density image }
//! ```

use super::super::compute::{self, Field, Particles, River};
use super::super::inputs::{Depends, Inputs};
use super::job::{Job, JobKey, JobResult, Status};
use super::texture::LazyTexture;
use super::worker::{JobContext, Mode};

/// What the river and the particles are computed from: the data, the schedule, the view
/// box and the seed (not the model).
#[derive(Clone)]
pub struct StaticsKey(pub Inputs);

impl JobKey for StaticsKey {
    fn covers(&self, now: &Self) -> bool {
        self.0.covers(&now.0, Depends::DataSchedule)
    }
}

/// The plots of the inputs that do not depend on t, as computed.
pub struct Statics {
    /// What they were computed from.
    pub inputs: Inputs,
    /// The 1D river (None in 2D).
    pub river: Option<River>,
    /// Particles (and 1D target scatter pairs).
    pub particles: Particles,
}

/// Plots of the inputs that do not depend on t, as the views draw them.
pub struct StaticShown {
    /// What they were computed from.
    pub inputs: Inputs,
    /// The 1D river (None in 2D).
    pub river: Option<RiverView>,
    /// Particles and target pairs.
    pub particles: Particles,
}

/// The 1D river as the views draw it.
pub struct RiverView {
    /// Forward sample paths `(t, x_t)`, one per path.
    pub paths: Vec<Vec<[f64; 2]>>,
    /// The image (one column per shown t), uploaded when first drawn.
    pub texture: LazyTexture,
}

impl RiverView {
    /// The density river as a plot image over t = 1..=T and x in [lo, hi]: each image
    /// column is centred on its t, and the image spans the first column's t to T.
    pub fn plot_image(
        &self,
        ctx: &egui::Context,
        t_max: usize,
        lo: f64,
        hi: f64,
    ) -> egui_plot::PlotImage {
        let cols = self.texture.image().size[0];
        let (t0, t1) = (compute::column_t(0, cols, t_max) as f64, t_max as f64);
        let span = if cols > 1 {
            (t1 - t0) * cols as f64 / (cols - 1) as f64
        } else {
            1.0
        };
        egui_plot::PlotImage::new(
            "q_t(x), each t scaled to its peak",
            self.texture.texture(ctx).id(),
            egui_plot::PlotPoint::new((t0 + t1) / 2.0, (lo + hi) / 2.0),
            [span as f32, (hi - lo) as f32],
        )
        .allow_hover(false)
    }
}

/// What the statics job has sent.
#[derive(Default)]
pub struct StaticsOutcome {
    /// The river and particles, once they are in.
    pub shown: Option<StaticShown>,
}

impl JobResult for StaticsOutcome {
    type Message = Statics;

    fn absorb(&mut self, s: Statics) {
        let river = s.river.map(|River { image, paths }| RiverView {
            paths,
            texture: LazyTexture::new("river", image),
        });
        self.shown = Some(StaticShown {
            inputs: s.inputs,
            river,
            particles: s.particles,
        });
    }

    fn status(&self) -> Status {
        if self.shown.is_some() {
            Status::Complete
        } else {
            Status::Partial
        }
    }
}

/// The river's and particles' job.
pub type StaticsJob = Job<StaticsKey, StaticsOutcome>;

/// The river's and particles' job, on a thread of its own (or inline, or deferred).
pub fn statics_job(mode: Mode, repaint: Option<egui::Context>) -> StaticsJob {
    Job::new("elbo-lab-statics", mode, repaint, run_statics_job)
}

impl Job<StaticsKey, StaticsOutcome> {
    /// The latest river and particles (of the current inputs or of older ones).
    pub fn shown_any(&self) -> Option<&StaticShown> {
        self.latest().and_then(|s| s.value.shown.as_ref())
    }
}

/// Compute the river (1D) and the particles.
pub fn run_statics_job(key: StaticsKey, ctx: &JobContext<Statics>) {
    let inputs = key.0;
    let data = &*inputs.data;
    let seed = inputs.config.seed;
    let river =
        (data.dim() == 1).then(|| compute::river(data, &inputs.schedule, seed, inputs.view_box));
    let particles = compute::particles(data, seed);
    ctx.send(Statics {
        inputs,
        river,
        particles,
    });
}

/// A request for the fields at t: the data, schedule and model, and t.
#[derive(Clone)]
pub struct FieldKey {
    /// The inputs.
    pub inputs: Inputs,
    /// The timestep.
    pub t: usize,
}

impl JobKey for FieldKey {
    fn covers(&self, now: &Self) -> bool {
        self.t == now.t && self.inputs.covers(&now.inputs, Depends::Model)
    }
}

/// The fields at t as the views draw them.
pub struct FieldView {
    /// The fields (with their inputs and t); the 2D density image is moved from it into
    /// `texture`.
    pub field: Field,
    /// The 2D density image, uploaded when first drawn.
    pub texture: Option<LazyTexture>,
}

impl FieldView {
    /// Draw the 2D density of q_t under the plot's other items (nothing in 1D), over the
    /// box it was computed for.
    pub fn draw_density(&self, p: &mut egui_plot::PlotUi<'_>) {
        if let Some(tex) = &self.texture {
            p.image(super::super::plot_util::box_image(
                format!("density of q_t, t = {}", self.field.t),
                tex.texture(p.ctx()).id(),
                self.field.inputs.view_box,
            ));
        }
    }
}

/// What the fields job has sent.
#[derive(Default)]
pub struct FieldOutcome {
    /// The fields, once they are in.
    pub shown: Option<FieldView>,
}

impl JobResult for FieldOutcome {
    type Message = Field;

    fn absorb(&mut self, mut field: Field) {
        let texture = field
            .density_2d
            .take()
            .map(|image| LazyTexture::new("density_t", image));
        self.shown = Some(FieldView { field, texture });
    }

    fn status(&self) -> Status {
        if self.shown.is_some() {
            Status::Complete
        } else {
            Status::Partial
        }
    }
}

/// The fields' job.
pub type FieldsJob = Job<FieldKey, FieldOutcome>;

/// The fields' job, on a thread of its own (or inline, or deferred).
pub fn fields_job(mode: Mode, repaint: Option<egui::Context>) -> FieldsJob {
    Job::new("elbo-lab-fields", mode, repaint, |key: FieldKey, ctx| {
        ctx.send(compute::field(&key.inputs, key.t));
    })
}

impl Job<FieldKey, FieldOutcome> {
    /// The latest fields (of the current inputs and t, or of older ones).
    pub fn shown_any(&self) -> Option<&FieldView> {
        self.latest().and_then(|s| s.value.shown.as_ref())
    }
}
