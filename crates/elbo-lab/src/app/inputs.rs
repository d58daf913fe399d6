//! What every background result is computed from, and how a view tells whether a result
//! still belongs to what is on screen.
//!
//! A result keeps the [`Inputs`] it was computed from (shared pointers, so the data,
//! schedule and model it used stay alive and cannot be mistaken for newer ones at the same
//! address). A view draws a result only through those inputs (its own data dimension, its
//! own T, its own plotting box), so a result of another shape is never indexed with the
//! current one; and it asks [`Inputs::covers`] whether the result is current, drawing it
//! dimmed with a "computing" note when it is not.

use std::sync::Arc;

use elbo_core::denoiser::{Denoiser, ModelKind};
use elbo_core::elbo::ElboConfig;
use elbo_core::mixture::GaussianMixture;
use elbo_core::schedule::NoiseSchedule;

/// Everything one computation needs; cheap to clone (shared pointers).
#[derive(Clone)]
pub struct Inputs {
    /// The data.
    pub data: Arc<GaussianMixture>,
    /// The schedule.
    pub schedule: Arc<NoiseSchedule>,
    /// The model.
    pub model: Arc<dyn Denoiser>,
    /// Monte Carlo settings of the full estimate.
    pub config: ElboConfig,
    /// The plotting box: per axis `[min, max]`.
    pub view_box: [[f64; 2]; 2],
}

/// Which parts of the inputs a result depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depends {
    /// Data, schedule and seed (the river, the particles).
    DataSchedule,
    /// Data, schedule and model (fields at t, reverse runs).
    Model,
    /// Everything, the Monte Carlo settings included (the ELBO table).
    All,
}

impl Inputs {
    /// Inputs of these data and schedule with a closed-form model (default Monte Carlo
    /// settings; the app sets its own before submitting work).
    pub fn new(data: GaussianMixture, schedule: NoiseSchedule, kind: ModelKind) -> Self {
        Inputs {
            view_box: view_box(&data),
            model: kind.build(&data),
            data: Arc::new(data),
            schedule: Arc::new(schedule),
            config: ElboConfig::default(),
        }
    }

    /// True when a result computed from `self` is current for `now`, as far as `what`
    /// depends on. Identity (not equality) of the shared data, schedule and model: a
    /// rebuilt object is new inputs even when it compares equal.
    pub fn covers(&self, now: &Inputs, what: Depends) -> bool {
        let base = Arc::ptr_eq(&self.data, &now.data)
            && Arc::ptr_eq(&self.schedule, &now.schedule)
            && self.view_box == now.view_box;
        match what {
            Depends::DataSchedule => base && self.config.seed == now.config.seed,
            Depends::Model => base && Arc::ptr_eq(&self.model, &now.model),
            Depends::All => {
                base && Arc::ptr_eq(&self.model, &now.model) && self.config == now.config
            }
        }
    }

    /// The data dimension.
    pub fn dim(&self) -> usize {
        self.data.dim()
    }

    /// T of the schedule.
    pub fn steps(&self) -> usize {
        self.schedule.steps()
    }
}

/// The plotting box of some data: the data's bounds joined with the N(0, I) box.
pub fn view_box(data: &GaussianMixture) -> [[f64; 2]; 2] {
    let b = data.bounds();
    let mut out: [[f64; 2]; 2] = [[-3.2, 3.2]; 2];
    for axis in 0..data.dim() {
        out[axis][0] = out[axis][0].min(b[axis][0]);
        out[axis][1] = out[axis][1].max(b[axis][1]);
    }
    out
}

/// How a view stands against the current inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// It shows results of the current inputs.
    Current,
    /// It shows older results (dimmed) or nothing while the current ones are computed.
    Computing,
    /// The computation for the current inputs failed; the view says why.
    Failed,
    /// Nothing current and nothing computing: a bug (the fuzz test asserts it never holds).
    Missing,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use elbo_core::presets::{DataPreset, DataSpec};
    use elbo_core::schedule::ScheduleSpec;

    /// Inputs of a preset and the default schedule with T steps (optimal model).
    pub(crate) fn preset_inputs(preset: DataPreset, steps: usize) -> Inputs {
        let data = DataSpec::new(preset).build().expect("preset builds");
        let schedule = ScheduleSpec::preset(Default::default(), steps)
            .build()
            .expect("schedule builds");
        Inputs::new(data, schedule, ModelKind::Optimal)
    }

    fn inputs(preset: DataPreset) -> Inputs {
        preset_inputs(preset, 10)
    }

    #[test]
    fn identity_not_equality_decides() {
        let a = inputs(DataPreset::Bimodal);
        let same = a.clone();
        assert!(same.covers(&a, Depends::All));
        // The same preset built again is a new object: results of the old one are stale.
        let rebuilt = inputs(DataPreset::Bimodal);
        assert!(!rebuilt.covers(&a, Depends::DataSchedule));
        // A new model leaves data-only results current.
        let mut new_model = a.clone();
        new_model.model = ModelKind::Gaussian.build(&a.data);
        assert!(new_model.covers(&a, Depends::DataSchedule));
        assert!(!new_model.covers(&a, Depends::Model));
        // New Monte Carlo settings leave fields current but not the ELBO table.
        let mut more = a.clone();
        more.config.samples += 1;
        assert!(more.covers(&a, Depends::Model));
        assert!(!more.covers(&a, Depends::All));
    }
}
