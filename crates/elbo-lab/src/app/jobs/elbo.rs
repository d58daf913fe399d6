//! The ELBO table of the current inputs, and the curves every plot of it draws.
//!
//! ```text
//! key:      ElboKey (every input, the method, N and seed: `Inputs::covers(.., All)`)
//! job:      a Monte Carlo preview (few samples) where the method is Monte Carlo, then the
//!           full table (quadrature by default: one message)
//! result:   ElboShown { inputs, result, preview, curves }, or why it failed
//! ```

use std::sync::Arc;

use elbo_core::elbo::{
    Control, ElboConfig, ElboError, ElboResult, McSamples, Method, TimestepTerm, compute_elbo_with,
};
use elbo_core::param::{Parameterisation, PerParam};

use super::super::compute::PREVIEW_SAMPLES;
use super::super::inputs::{Depends, Inputs};
use super::job::{Job, JobKey, JobResult, Status};
use super::worker::{JobContext, Mode};

/// What an ELBO table is computed from: every input (data, schedule, model, method, N,
/// seed, variance).
#[derive(Clone)]
pub struct ElboKey(pub Inputs);

impl JobKey for ElboKey {
    fn covers(&self, now: &Self) -> bool {
        self.0.covers(&now.0, Depends::All)
    }

    /// Timesteps of one pass over the schedule.
    fn total(&self) -> usize {
        self.0.steps()
    }
}

/// Messages of an ELBO job.
pub enum ElboMessage {
    /// An ELBO table; `preview` is the quick one with few samples.
    Elbo {
        /// True for the quick estimate.
        preview: bool,
        /// The table.
        result: Arc<ElboResult>,
    },
    /// The computation failed (the message names why).
    Failed(String),
}

/// The ELBO result as the views draw it.
pub struct ElboShown {
    /// What it was computed from.
    pub inputs: Inputs,
    /// The table.
    pub result: Arc<ElboResult>,
    /// True while only the quick estimate is in.
    pub preview: bool,
    /// Precomputed curves.
    pub curves: Curves,
}

/// What an ELBO job has sent: the latest table (a preview, then the full one), or why it
/// failed.
#[derive(Default)]
pub struct ElboOutcome {
    /// The latest table.
    pub shown: Option<ElboShown>,
    /// Why the computation failed.
    pub error: Option<String>,
}

/// A message of an ELBO job with the inputs it was computed from (the job knows them; the
/// result keeps them so a view draws it only through them).
pub struct ElboUpdate {
    /// What it was computed from.
    pub inputs: Inputs,
    /// What arrived.
    pub message: ElboMessage,
}

impl JobResult for ElboOutcome {
    type Message = ElboUpdate;

    fn absorb(&mut self, update: ElboUpdate) {
        match update.message {
            ElboMessage::Elbo { preview, result } => {
                self.error = None;
                self.shown = Some(ElboShown {
                    curves: Curves::new(&result),
                    inputs: update.inputs,
                    result,
                    preview,
                });
            }
            ElboMessage::Failed(message) => self.error = Some(message),
        }
    }

    /// A table (the preview too) is drawn as current; a failure without one is failed.
    fn status(&self) -> Status {
        match (&self.shown, &self.error) {
            (Some(_), _) => Status::Complete,
            (None, Some(_)) => Status::Failed,
            (None, None) => Status::Partial,
        }
    }
}

/// The ELBO table's job.
pub type ElboJob = Job<ElboKey, ElboOutcome>;

/// The ELBO table's job, on a thread of its own (or inline, or deferred).
pub fn job(mode: Mode, repaint: Option<egui::Context>) -> ElboJob {
    Job::new("elbo-lab-elbo", mode, repaint, run_elbo_job)
}

impl Job<ElboKey, ElboOutcome> {
    /// The latest table (of the current inputs or, dimmed, of older ones).
    pub fn table(&self) -> Option<&ElboShown> {
        self.latest().and_then(|s| s.value.shown.as_ref())
    }

    /// The error of the latest job and the inputs it was of, if it failed.
    pub fn error(&self) -> Option<(&Inputs, &str)> {
        self.latest()
            .and_then(|s| s.value.error.as_deref().map(|e| (&s.key.0, e)))
    }
}

/// Run an ELBO job: a quick Monte Carlo preview where the method is Monte Carlo, then the
/// full table.
pub fn run_elbo_job(key: ElboKey, ctx: &JobContext<ElboUpdate>) {
    let inputs = key.0;
    let data = &*inputs.data;
    let schedule = &*inputs.schedule;
    let full = inputs.config.samples;
    let mut sizes = vec![full];
    // Quadrature gives the final numbers at once: a Monte Carlo preview would only flash noise.
    if full > PREVIEW_SAMPLES && inputs.config.method == Method::MonteCarlo {
        sizes.insert(0, PREVIEW_SAMPLES);
    }
    let send = |message| {
        ctx.send(ElboUpdate {
            inputs: inputs.clone(),
            message,
        })
    };
    for n in sizes {
        let config = ElboConfig {
            samples: n,
            ..inputs.config
        };
        let samples = McSamples::draw(data, n, config.seed);
        let on_step = |done: usize| ctx.set_progress(done);
        let control = Control {
            on_step: Some(&on_step),
            cancel: Some(ctx.cancel_flag()),
        };
        match compute_elbo_with(data, schedule, &*inputs.model, &config, &samples, control) {
            Ok(result) => send(ElboMessage::Elbo {
                preview: n < full,
                result: Arc::new(result),
            }),
            Err(ElboError::Cancelled) => return,
            Err(e) => {
                send(ElboMessage::Failed(e.to_string()));
                return;
            }
        }
    }
}

/// Curves of one parameterisation over t.
#[derive(Default)]
pub struct ParamCurves {
    /// `(t, w(t))`.
    pub weight: Vec<[f64; 2]>,
    /// `(t, MSE(t))`.
    pub mse: Vec<[f64; 2]>,
    /// Standard error of each MSE point.
    pub mse_stderr: Vec<f64>,
    /// `(t, w(t) MSE(t))`.
    pub weighted: Vec<[f64; 2]>,
}

/// The result as curves, computed once when it arrives.
pub struct Curves {
    /// `(t, L_{t-1})` for t >= 2 (eq. 58).
    pub terms: Vec<[f64; 2]>,
    /// Their standard errors.
    pub stderr: Vec<f64>,
    /// `(t, consistency term)` (eq. 45) where computed.
    pub consistency: Vec<[f64; 2]>,
    /// Their standard errors.
    pub consistency_stderr: Vec<f64>,
    /// Rows whose estimate is unreliable (heavy tails).
    pub unreliable: Vec<[f64; 2]>,
    /// `(t, L_0 + sum_{s=2}^t L_{s-1})`, with L_T added at T.
    pub running: Vec<[f64; 2]>,
    /// Per parameterisation.
    pub params: PerParam<ParamCurves>,
}

impl Curves {
    /// Build the curves of a result.
    pub fn new(r: &ElboResult) -> Self {
        let mut terms = Vec::new();
        let mut stderr = Vec::new();
        let mut consistency = Vec::new();
        let mut consistency_stderr = Vec::new();
        let mut unreliable = Vec::new();
        let mut running = Vec::new();
        let mut params: PerParam<ParamCurves> = PerParam::default();
        let mut sum = 0.0;
        for row in &r.timesteps {
            let t = row.t as f64;
            if let Some(l) = row.loss {
                sum += l;
                if row.t >= 2 {
                    terms.push([t, l]);
                    stderr.push(row.stderr.unwrap_or(0.0));
                    if row.reliable == Some(false) {
                        unreliable.push([t, l]);
                    }
                }
            }
            let total = if row.t == r.steps {
                sum + r.prior_loss
            } else {
                sum
            };
            running.push([t, total]);
            if let (Some(c), true) = (row.consistency_loss, row.t >= 2) {
                consistency.push([t, c]);
                consistency_stderr.push(row.consistency_stderr.unwrap_or(0.0));
            }
            for p in Parameterisation::ALL {
                let pc = &mut params[p];
                let (w, m, se) = param_row(row, p);
                if let Some(w) = w {
                    pc.weight.push([t, w]);
                }
                if let Some(m) = m {
                    pc.mse.push([t, m]);
                    pc.mse_stderr.push(se.unwrap_or(0.0));
                }
                if let (Some(w), Some(m)) = (w, m) {
                    pc.weighted.push([t, w * m]);
                }
            }
        }
        Curves {
            terms,
            stderr,
            consistency,
            consistency_stderr,
            unreliable,
            running,
            params,
        }
    }
}

/// Weight, MSE and its standard error of parameterisation `p` in a row.
pub fn param_row(
    row: &TimestepTerm,
    p: Parameterisation,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    match p {
        Parameterisation::X0 => (row.weight_x0, row.mse_x0, row.mse_x0_stderr),
        Parameterisation::Eps => (row.weight_eps, row.mse_eps, row.mse_eps_stderr),
        Parameterisation::Score => (row.weight_score, row.mse_score, row.mse_score_stderr),
        Parameterisation::V => (row.weight_v, row.mse_v, row.mse_v_stderr),
    }
}
