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

use serde::{Deserialize, Serialize};

use crate::elbo::{Control, McConfig};
use crate::mixture::GaussianMixture;
use crate::param::Parameterisation;
use crate::schedule::{NoiseSchedule, VarianceType};
use crate::train::{
    Evaluation, StepLosses, TrainConfig, TrainLoss, TrainedDenoiser, Trainer, evaluate, load_all,
    save_all,
};

use super::worker::{JobContext, Worker};

/// Steps per frame in synchronous mode.
pub const SYNC_STEPS_PER_FRAME: usize = 2;
/// How long the thread trains before it sends a batch of losses.
const SEND_EVERY: Duration = Duration::from_millis(50);

/// The training settings the view edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingSettings {
    /// Loss weighting.
    pub loss: TrainLoss,
    /// Batch size.
    pub batch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed.
    pub seed: u64,
    /// Also train a v-prediction network.
    pub include_v: bool,
    /// Steps between evaluations.
    pub eval_every: usize,
    /// Monte Carlo samples of each evaluation.
    pub eval_samples: usize,
    /// Pause automatically after this many steps.
    pub max_steps: usize,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            loss: TrainLoss::Simple,
            batch: 256,
            lr: 1e-3,
            seed: 0,
            include_v: false,
            eval_every: 500,
            eval_samples: 256,
            max_steps: 20_000,
        }
    }
}

impl TrainingSettings {
    fn config(&self, variance: VarianceType) -> TrainConfig {
        let mut params = vec![
            Parameterisation::X0,
            Parameterisation::Eps,
            Parameterisation::Score,
        ];
        if self.include_v {
            params.push(Parameterisation::V);
        }
        TrainConfig {
            params,
            batch: self.batch,
            lr: self.lr,
            seed: self.seed,
            loss: self.loss,
            variance,
            ..TrainConfig::default()
        }
    }
}

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
    config: McConfig,
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
        Err(crate::train::TrainError::Elbo(crate::elbo::ElboError::Cancelled)) => {}
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
    /// What the view edits.
    pub settings: TrainingSettings,
    /// True while training runs.
    pub running: bool,
    /// Steps taken.
    pub steps_done: usize,
    /// The networks being trained (or loaded), in order.
    pub params: Vec<Parameterisation>,
    /// Loss per step, per network.
    pub history: Vec<Vec<f64>>,
    /// The latest snapshots as models (for the picker).
    pub models: Vec<Arc<TrainedDenoiser>>,
    /// Bumped whenever `models` change.
    pub generation: u64,
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
    pub status: Option<(String, bool)>,
    /// The weights directory typed in the path field.
    pub weights_path: String,
    backend: Backend,
    eval_worker: Worker<EvalJob, EvalResult>,
    /// Bumped on reset and load: evaluations of older networks are ignored.
    epoch: u64,
    dialog: Option<Receiver<Option<(bool, std::path::PathBuf)>>>,
    /// A folder picked in the load dialog, loaded by the view on the next frame.
    pub pending_load: Option<std::path::PathBuf>,
    /// The newest snapshot waiting for the running evaluation to finish (an evaluation is
    /// never superseded mid-way, or a slow one would never finish while training runs).
    pending_eval: Option<(usize, Vec<TrainedDenoiser>)>,
}

impl Training {
    /// Idle training state; `synchronous` trains inline (tests) instead of on a thread.
    pub fn new(ctx: &egui::Context, synchronous: bool) -> Self {
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
            settings: TrainingSettings::default(),
            running: false,
            steps_done: 0,
            params: Vec::new(),
            history: Vec::new(),
            models: Vec::new(),
            generation: 0,
            evaluation: None,
            evaluating: false,
            trained_on: None,
            loaded_from: None,
            status: None,
            weights_path: std::env::temp_dir()
                .join("elbo-lab-weights")
                .display()
                .to_string(),
            backend,
            eval_worker: Worker::new("elbo-lab-train-eval", synchronous, repaint, run_eval),
            dialog: None,
            pending_load: None,
            pending_eval: None,
            epoch: 0,
        }
    }

    fn send(&mut self, m: ToTrainer) {
        match &mut self.backend {
            Backend::Thread { tx, .. } => {
                if tx.send(m).is_err() {
                    self.status = Some(("the training thread has stopped".into(), true));
                }
            }
            Backend::Inline(lp) => {
                let mut out = Vec::new();
                lp.handle(m, &mut out);
                self.receive(out);
            }
        }
    }

    /// Start training from scratch on these data, or resume a paused run.
    pub fn start(
        &mut self,
        data: &Arc<GaussianMixture>,
        schedule: &Arc<NoiseSchedule>,
        variance: VarianceType,
        label: &str,
    ) {
        if self.running {
            return;
        }
        if self.steps_done > 0 && self.loaded_from.is_none() {
            self.running = true;
            self.send(ToTrainer::Resume);
            return;
        }
        let config = self.settings.config(variance);
        match Trainer::new(data, schedule, config.clone()) {
            Ok(t) => {
                self.adopt(config.params, data, schedule, variance, label);
                self.running = true;
                self.send(ToTrainer::Start(
                    Box::new(t),
                    self.settings.eval_every,
                    self.settings.max_steps,
                ));
            }
            Err(e) => self.status = Some((e.to_string(), true)),
        }
    }

    /// Pause (the thread sends a snapshot, which is evaluated).
    pub fn pause(&mut self) {
        if self.running {
            self.running = false;
            self.send(ToTrainer::Pause);
        }
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
        self.evaluation = None;
        self.pending_eval = None;
        self.evaluating = false;
        self.trained_on = None;
        self.loaded_from = None;
        self.status = None;
    }

    /// The trained model of a parameterisation for `dim`-dimensional data, if any.
    pub fn model(&self, p: Parameterisation, dim: usize) -> Option<Arc<TrainedDenoiser>> {
        self.models
            .iter()
            .find(|m| m.parameterisation() == p && crate::denoiser::Denoiser::dim(&***m) == dim)
            .cloned()
    }

    /// The parameterisations with a model for `dim`-dimensional data.
    pub fn available(&self, dim: usize) -> Vec<Parameterisation> {
        self.models
            .iter()
            .filter(|m| crate::denoiser::Denoiser::dim(&***m) == dim)
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
                    self.status = Some((e, true));
                }
            }
        }
    }

    fn take_snapshot(&mut self, step: usize, nets: Vec<TrainedDenoiser>) {
        self.models = nets.iter().cloned().map(Arc::new).collect();
        self.generation += 1;
        self.submit_eval(step, nets);
    }

    fn submit_eval(&mut self, step: usize, nets: Vec<TrainedDenoiser>) {
        if self.evaluating && !self.eval_worker.is_synchronous() {
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
            config: McConfig {
                samples: self.settings.eval_samples.max(2),
                seed: self.settings.seed,
                variance: *variance,
                consistency: false,
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
                Err(e) => self.status = Some((format!("evaluation: {e}"), true)),
            }
        }
        if self.evaluating && !self.eval_worker.is_busy() && !self.eval_worker.is_synchronous() {
            self.evaluating = false;
        }
        if !self.evaluating
            && let Some((step, nets)) = self.pending_eval.take()
        {
            self.submit_eval(step, nets);
        }
        self.poll_dialog();
        if self.running && matches!(self.backend, Backend::Inline(_)) {
            ctx.request_repaint();
        }
    }

    /// Save the current networks to `DIR/{x0,eps,score,...}.safetensors`.
    pub fn save(&mut self, dir: &Path) {
        if self.models.is_empty() {
            self.status = Some(("nothing to save: train or load networks first".into(), true));
            return;
        }
        let nets: Vec<TrainedDenoiser> = self.models.iter().map(|m| (**m).clone()).collect();
        self.status = Some(match save_all(dir, &nets) {
            Ok(()) => (
                format!("saved {} networks to {}", nets.len(), dir.display()),
                false,
            ),
            Err(e) => (e.to_string(), true),
        });
    }

    /// Load networks from `DIR` and evaluate them on the given data and schedule.
    pub fn load(
        &mut self,
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
                self.loaded_from = Some(dir.display().to_string());
                self.status = Some((
                    format!("loaded {} networks from {}", nets.len(), dir.display()),
                    false,
                ));
                self.take_snapshot(0, nets);
            }
            Err(e) => self.status = Some((e.to_string(), true)),
        }
    }

    /// Open a folder dialog off the UI thread (`load`: for loading, else for saving).
    pub fn pick_dir(&mut self, load: bool) {
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("elbo-lab-weights-dialog".into())
            .spawn(move || {
                let dir = rfd::FileDialog::new()
                    .set_title(if load {
                        "Load weights: a folder with x0/eps/score.safetensors"
                    } else {
                        "Save weights into a folder"
                    })
                    .pick_folder();
                let _ = tx.send(dir.map(|d| (load, d)));
            });
        match spawned {
            Ok(_) => self.dialog = Some(rx),
            Err(e) => self.status = Some((format!("no file dialog ({e}): type a path"), true)),
        }
    }

    fn poll_dialog(&mut self) {
        let Some(rx) = &self.dialog else { return };
        match rx.try_recv() {
            Ok(Some((load, dir))) => {
                self.dialog = None;
                self.weights_path = dir.display().to_string();
                if !load {
                    self.save(&dir);
                } else {
                    self.pending_load = Some(dir);
                }
            }
            Ok(None) | Err(TryRecvError::Disconnected) => self.dialog = None,
            Err(TryRecvError::Empty) => {}
        }
    }
}
