//! Live training for the Training view: a [`Trainer`] on a named background thread
//! (`elbo-lab-train`), driven by start / pause / reset messages, sending loss batches and,
//! every few hundred steps, frozen snapshots of the networks. Each snapshot is evaluated
//! (per-t ELBO terms beside the optimal denoiser's) on a [`Worker`], and becomes the trained
//! models of the model picker.
//!
//! ```text
//! UI --Start/Pause/Reset--> train thread --Steps(losses), Snapshot(nets)--> UI
//! UI --EvalJob(nets)--> eval worker --Evaluation--> UI
//! ```
//! In synchronous mode (tests) there is no thread: the trainer takes a few steps per frame
//! while running, and evaluations run inline.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use elbo_core::elbo::{Control, ElboConfig};
use elbo_core::mixture::GaussianMixture;
use elbo_core::param::Parameterisation;
use elbo_core::schedule::{NoiseSchedule, VarianceType};
use elbo_train::{Evaluation, StepLosses, TrainedDenoiser, Trainer, evaluate, load_all, save_all};

use super::jobs::{JobContext, Mode, Worker};
use super::model::StatusLine;
use super::settings::TrainingSettings;

/// Steps per frame in synchronous mode.
pub const SYNC_STEPS_PER_FRAME: usize = 2;

/// What the training says when the data changed under it (see
/// [`Training::on_new_data`]).
pub const PAUSED_FOR_DATA: &str = "training paused: the data changed, and a network is tied to the data it was trained on. Reset the networks to train on the new data, or resume on the old data (Ctrl+Z brings them back)";
/// How long the thread trains before it sends a batch of losses.
const SEND_EVERY: Duration = Duration::from_millis(50);

enum ToTrainer {
    Start(Box<Trainer>, usize, usize),
    Resume,
    Pause,
    Reset,
}

enum FromTrainer {
    Steps(Vec<StepLosses>),
    Snapshot(usize, Vec<TrainedDenoiser>),
    Paused,
    Failed(String),
}

/// An evaluation request.
pub struct EvalJob {
    data: Arc<GaussianMixture>,
    schedule: Arc<NoiseSchedule>,
    nets: Vec<TrainedDenoiser>,
    config: ElboConfig,
    step: usize,
    epoch: u64,
}

/// An evaluation's result: `(epoch, step, evaluation)` or an error message.
type EvalResult = Result<(u64, usize, Evaluation), String>;

/// Run one evaluation job.
fn run_eval(job: EvalJob, ctx: &JobContext<EvalResult>) {
    let control = Control {
        on_step: None,
        cancel: Some(ctx.cancel_flag()),
    };
    match evaluate(&job.data, &job.schedule, &job.nets, &job.config, control) {
        Ok(e) => ctx.send(Ok((job.epoch, job.step, e))),
        Err(elbo_train::TrainError::Elbo(elbo_core::elbo::ElboError::Cancelled)) => {}
        Err(e) => ctx.send(Err(e.to_string())),
    }
}

/// The loop of the training thread (or, inline, of a few steps).
struct Loop {
    trainer: Option<Trainer>,
    running: bool,
    eval_every: usize,
    max_steps: usize,
}

impl Loop {
    fn handle(&mut self, m: ToTrainer, out: &mut Vec<FromTrainer>) {
        match m {
            ToTrainer::Start(t, every, max) => {
                self.trainer = Some(*t);
                self.eval_every = every.max(1);
                self.max_steps = max;
                self.running = true;
            }
            ToTrainer::Resume => self.running = self.trainer.is_some(),
            ToTrainer::Pause => {
                if self.running {
                    self.running = false;
                    self.snapshot(out);
                }
            }
            ToTrainer::Reset => {
                self.trainer = None;
                self.running = false;
            }
        }
    }

    fn snapshot(&self, out: &mut Vec<FromTrainer>) {
        if let Some(t) = &self.trainer {
            match t.snapshot() {
                Ok(nets) => out.push(FromTrainer::Snapshot(t.steps_done(), nets)),
                Err(e) => out.push(FromTrainer::Failed(e.to_string())),
            }
        }
    }

    /// One step; pushes messages (a snapshot every `eval_every` steps, a pause at the cap).
    fn step(&mut self, steps: &mut Vec<StepLosses>, out: &mut Vec<FromTrainer>) {
        let Some(t) = &mut self.trainer else {
            self.running = false;
            return;
        };
        match t.step() {
            Ok(s) => {
                let n = s.step;
                steps.push(s);
                if n % self.eval_every == 0 {
                    self.snapshot(out);
                }
                if n >= self.max_steps {
                    self.running = false;
                    out.push(FromTrainer::Paused);
                    if n % self.eval_every != 0 {
                        self.snapshot(out);
                    }
                }
            }
            Err(e) => {
                self.running = false;
                out.push(FromTrainer::Failed(e.to_string()));
            }
        }
    }
}

fn thread_main(rx: &Receiver<ToTrainer>, tx: &Sender<FromTrainer>, repaint: &egui::Context) {
    let mut lp = Loop {
        trainer: None,
        running: false,
        eval_every: 500,
        max_steps: usize::MAX,
    };
    loop {
        let mut out = Vec::new();
        // Paused: block until told something; running: take what is there.
        if !lp.running {
            match rx.recv() {
                Ok(m) => lp.handle(m, &mut out),
                Err(_) => return,
            }
        }
        loop {
            match rx.try_recv() {
                Ok(m) => lp.handle(m, &mut out),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let mut steps = Vec::new();
        let start = Instant::now();
        while lp.running && start.elapsed() < SEND_EVERY && out.is_empty() {
            lp.step(&mut steps, &mut out);
        }
        let mut any = false;
        if !steps.is_empty() {
            any = true;
            if tx.send(FromTrainer::Steps(steps)).is_err() {
                return;
            }
        }
        for m in out {
            any = true;
            if tx.send(m).is_err() {
                return;
            }
        }
        if any {
            repaint.request_repaint();
        }
    }
}

enum Backend {
    Thread {
        tx: Sender<ToTrainer>,
        rx: Receiver<FromTrainer>,
    },
    Inline(Box<Loop>),
}

/// The training state the app owns.
pub struct Training {
    /// True while training runs.
    pub running: bool,
    /// Steps taken.
    pub steps_done: usize,
    /// The networks being trained (or loaded), in order.
    pub params: Vec<Parameterisation>,
    /// Loss per step, per network.
    pub history: Vec<Vec<f64>>,
    /// The latest snapshots as models (for the picker); each is frozen: a newer snapshot
    /// replaces the `Arc`, never changes what a view already holds.
    pub models: Vec<Arc<TrainedDenoiser>>,
    /// The training step of `models`.
    pub models_step: usize,
    /// Bumped whenever `models` change.
    pub generation: u64,
    /// Settings of the run (fixed from its start to its reset).
    pub run_settings: TrainingSettings,
    /// The latest evaluation and the step it belongs to.
    pub evaluation: Option<(usize, Evaluation)>,
    /// True while an evaluation runs.
    pub evaluating: bool,
    /// The data and schedule the networks were trained on (or evaluated against, when loaded).
    pub trained_on: Option<(
        Arc<GaussianMixture>,
        Arc<NoiseSchedule>,
        VarianceType,
        String,
    )>,
    /// Loaded from a file rather than trained here.
    pub loaded_from: Option<String>,
    /// The last error or status (text, is_error).
    pub status: Option<StatusLine>,
    /// The run was paused because the data changed under it (the networks stay tied to
    /// the data they were trained on until they are reset).
    pub paused_for_data: bool,
    backend: Backend,
    eval_worker: Worker<EvalJob, EvalResult>,
    /// Bumped on reset and load: evaluations of older networks are ignored.
    epoch: u64,
    /// The newest snapshot waiting for the running evaluation to finish (an evaluation is
    /// never superseded mid-way, or a slow one would never finish while training runs).
    pending_eval: Option<(usize, Vec<TrainedDenoiser>)>,
}

impl Training {
    /// Idle training state; [`Mode::Thread`] trains on a thread, the other modes inline, a
    /// few steps per frame (tests).
    pub fn new(ctx: &egui::Context, mode: Mode) -> Self {
        let synchronous = mode != Mode::Thread;
        let inline = || {
            Backend::Inline(Box::new(Loop {
                trainer: None,
                running: false,
                eval_every: 500,
                max_steps: usize::MAX,
            }))
        };
        let backend = if synchronous {
            inline()
        } else {
            let (to_tx, to_rx) = channel();
            let (from_tx, from_rx) = channel();
            let repaint = ctx.clone();
            let spawned = std::thread::Builder::new()
                .name("elbo-lab-train".into())
                .spawn(move || thread_main(&to_rx, &from_tx, &repaint));
            match spawned {
                Ok(_) => Backend::Thread {
                    tx: to_tx,
                    rx: from_rx,
                },
                Err(_) => inline(),
            }
        };
        let repaint = (!synchronous).then(|| ctx.clone());
        Training {
            running: false,
            steps_done: 0,
            params: Vec::new(),
            history: Vec::new(),
            models: Vec::new(),
            models_step: 0,
            generation: 0,
            run_settings: TrainingSettings::default(),
            evaluation: None,
            evaluating: false,
            trained_on: None,
            loaded_from: None,
            status: None,
            paused_for_data: false,
            backend,
            eval_worker: Worker::new("elbo-lab-train-eval", mode, repaint, run_eval),
            pending_eval: None,
            epoch: 0,
        }
    }

    fn send(&mut self, m: ToTrainer) {
        match &mut self.backend {
            Backend::Thread { tx, .. } => {
                if tx.send(m).is_err() {
                    self.status = Some(StatusLine::error("the training thread has stopped"));
                }
            }
            Backend::Inline(lp) => {
                let mut out = Vec::new();
                lp.handle(m, &mut out);
                self.receive(out);
            }
        }
    }

    /// Start training from scratch on these data with `settings`, or resume a paused run.
    pub fn start(
        &mut self,
        settings: &TrainingSettings,
        data: &Arc<GaussianMixture>,
        schedule: &Arc<NoiseSchedule>,
        variance: VarianceType,
        label: &str,
    ) {
        if self.running {
            return;
        }
        self.paused_for_data = false;
        if self.steps_done > 0 && self.loaded_from.is_none() {
            self.running = true;
            self.send(ToTrainer::Resume);
            return;
        }
        let config = settings.config(variance);
        match Trainer::new(data, schedule, config.clone()) {
            Ok(t) => {
                self.adopt(config.params, data, schedule, variance, label);
                self.run_settings = settings.clone();
                self.running = true;
                self.send(ToTrainer::Start(
                    Box::new(t),
                    settings.eval_every,
                    settings.max_steps,
                ));
            }
            Err(e) => self.status = Some(StatusLine::error(e.to_string())),
        }
    }

    /// Pause (the thread sends a snapshot, which is evaluated).
    pub fn pause(&mut self) {
        if self.running {
            self.running = false;
            self.send(ToTrainer::Pause);
        }
    }

    /// The rule for new data: a running training pauses (its networks are tied to the
    /// data they were trained on). Returns the message for the status line when it paused.
    pub fn on_new_data(&mut self) -> Option<StatusLine> {
        if !self.running {
            return None;
        }
        self.pause_for_new_data();
        Some(StatusLine::info(PAUSED_FOR_DATA.to_owned()))
    }

    /// Pause because the data changed under a running training: the networks are tied to
    /// the data they are trained on, so the status says why it stopped and what to do.
    fn pause_for_new_data(&mut self) {
        self.pause();
        self.paused_for_data = true;
        self.status = Some(StatusLine::info(PAUSED_FOR_DATA.to_owned()));
    }

    /// Drop the networks and their history.
    pub fn reset(&mut self) {
        self.running = false;
        self.send(ToTrainer::Reset);
        self.clear();
        self.generation += 1;
    }

    /// Forget the previous networks and take on a new set trained (or to be trained) on
    /// these data and schedule.
    fn adopt(
        &mut self,
        params: Vec<Parameterisation>,
        data: &Arc<GaussianMixture>,
        schedule: &Arc<NoiseSchedule>,
        variance: VarianceType,
        label: &str,
    ) {
        self.clear();
        self.history = vec![Vec::new(); params.len()];
        self.params = params;
        self.trained_on = Some((
            Arc::clone(data),
            Arc::clone(schedule),
            variance,
            label.to_owned(),
        ));
    }

    fn clear(&mut self) {
        self.epoch += 1;
        self.steps_done = 0;
        self.history.clear();
        self.params.clear();
        self.models.clear();
        self.models_step = 0;
        self.evaluation = None;
        self.pending_eval = None;
        self.evaluating = false;
        self.trained_on = None;
        self.loaded_from = None;
        self.status = None;
        self.paused_for_data = false;
    }

    /// The trained model of a parameterisation for `dim`-dimensional data, if any.
    pub fn model(&self, p: Parameterisation, dim: usize) -> Option<Arc<TrainedDenoiser>> {
        self.models
            .iter()
            .find(|m| m.parameterisation() == p && elbo_core::denoiser::Denoiser::dim(&***m) == dim)
            .cloned()
    }

    /// The parameterisations with a model for `dim`-dimensional data.
    pub fn available(&self, dim: usize) -> Vec<Parameterisation> {
        self.models
            .iter()
            .filter(|m| elbo_core::denoiser::Denoiser::dim(&***m) == dim)
            .map(|m| m.parameterisation())
            .collect()
    }

    fn receive(&mut self, messages: Vec<FromTrainer>) {
        for m in messages {
            match m {
                FromTrainer::Steps(steps) => {
                    for s in steps {
                        self.steps_done = s.step;
                        for (h, l) in self.history.iter_mut().zip(&s.losses) {
                            h.push(*l);
                        }
                    }
                }
                FromTrainer::Snapshot(step, nets) => self.take_snapshot(step, nets),
                FromTrainer::Paused => self.running = false,
                FromTrainer::Failed(e) => {
                    self.running = false;
                    self.status = Some(StatusLine::error(e));
                }
            }
        }
    }

    fn take_snapshot(&mut self, step: usize, nets: Vec<TrainedDenoiser>) {
        self.models = nets.iter().cloned().map(Arc::new).collect();
        self.models_step = step;
        self.generation += 1;
        self.submit_eval(step, nets);
    }

    fn submit_eval(&mut self, step: usize, nets: Vec<TrainedDenoiser>) {
        if self.evaluating && self.eval_worker.mode() != Mode::Inline {
            self.pending_eval = Some((step, nets));
            return;
        }
        let Some((data, schedule, variance, _)) = &self.trained_on else {
            return;
        };
        self.evaluating = true;
        self.eval_worker.submit(EvalJob {
            data: Arc::clone(data),
            schedule: Arc::clone(schedule),
            nets,
            config: ElboConfig {
                samples: self.run_settings.eval_samples.max(2),
                seed: self.run_settings.seed,
                variance: eval_variance(*variance),
                consistency: false,
                // The progress readout recurs at every evaluation, with the N its control
                // sets: Monte Carlo keeps it cheap (quadrature runs the network at every
                // lattice point, about 1e6 per 2D evaluation). Networks loaded from files
                // are evaluated once: in 1D by quadrature, so their small terms at large t
                // carry no sampling noise (Monte Carlo's would reorder them). The ELBO tab
                // gives any trained model's ELBO by quadrature.
                method: if self.loaded_from.is_some() && data.dim() == 1 {
                    elbo_core::elbo::Method::Quadrature
                } else {
                    elbo_core::elbo::Method::MonteCarlo
                },
            },
            step,
            epoch: self.epoch,
        });
    }

    /// Take what the thread and the evaluator sent; in synchronous mode, train a few steps.
    pub fn poll(&mut self, ctx: &egui::Context) {
        let messages: Vec<FromTrainer> = match &mut self.backend {
            Backend::Thread { rx, .. } => rx.try_iter().collect(),
            Backend::Inline(lp) => {
                let mut out = Vec::new();
                let mut steps = Vec::new();
                for _ in 0..SYNC_STEPS_PER_FRAME {
                    if lp.running {
                        lp.step(&mut steps, &mut out);
                    }
                }
                if !steps.is_empty() {
                    out.insert(0, FromTrainer::Steps(steps));
                }
                out
            }
        };
        self.receive(messages);
        for r in self.eval_worker.poll() {
            self.evaluating = false;
            match r {
                Ok((epoch, step, e)) => {
                    if epoch == self.epoch {
                        self.evaluation = Some((step, e));
                    }
                }
                Err(e) => self.status = Some(StatusLine::error(format!("evaluation: {e}"))),
            }
        }
        if self.evaluating && !self.eval_worker.is_busy() && self.eval_worker.mode() == Mode::Thread
        {
            self.evaluating = false;
        }
        if !self.evaluating
            && let Some((step, nets)) = self.pending_eval.take()
        {
            self.submit_eval(step, nets);
        }
        if self.running && matches!(self.backend, Backend::Inline(_)) {
            ctx.request_repaint();
        }
    }

    /// In [`Mode::Deferred`], run the queued evaluation now; returns whether one ran.
    pub fn run_pending(&self) -> bool {
        self.eval_worker.run_pending()
    }

    /// Save the current networks to `DIR/{x0,eps,score,...}.safetensors`.
    pub fn save(&mut self, dir: &Path) {
        if self.models.is_empty() {
            self.status = Some(StatusLine::error(
                "nothing to save: train or load networks first",
            ));
            return;
        }
        let nets: Vec<TrainedDenoiser> = self.models.iter().map(|m| (**m).clone()).collect();
        self.status = Some(match save_all(dir, &nets) {
            Ok(()) => StatusLine::info(format!(
                "saved {} networks to {}",
                nets.len(),
                dir.display()
            )),
            Err(e) => StatusLine::error(e.to_string()),
        });
    }

    /// Load networks from `DIR` and evaluate them on the given data and schedule (with the
    /// evaluation settings of `settings`).
    pub fn load(
        &mut self,
        settings: &TrainingSettings,
        dir: &Path,
        data: &Arc<GaussianMixture>,
        schedule: &Arc<NoiseSchedule>,
        variance: VarianceType,
        label: &str,
    ) {
        match load_all(dir, data.dim()) {
            Ok(nets) => {
                self.pause();
                self.send(ToTrainer::Reset);
                let params = nets.iter().map(TrainedDenoiser::parameterisation).collect();
                self.adopt(params, data, schedule, variance, label);
                self.run_settings = settings.clone();
                self.loaded_from = Some(dir.display().to_string());
                self.status = Some(StatusLine::info(format!(
                    "loaded {} networks from {}",
                    nets.len(),
                    dir.display()
                )));
                self.take_snapshot(0, nets);
            }
            Err(e) => self.status = Some(StatusLine::error(e.to_string())),
        }
    }
}

/// The reverse variance of the recurring evaluations during training: the side panel's,
/// except analytic, which needs each network's error at every t by quadrature (about 1e6
/// network runs per 2D evaluation) before its Monte Carlo pass; those use fixed_small, the
/// variance the training loss is weighted with. The ELBO tab gives a network's analytic
/// NELBO.
pub fn eval_variance(variance: VarianceType) -> VarianceType {
    match variance {
        VarianceType::Analytic => VarianceType::FixedSmall,
        other => other,
    }
}
