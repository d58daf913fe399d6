//! Trained denoisers: one small MLP per parameterisation, trained side by side on the same
//! batches, then evaluated by the exact-data ELBO machinery of [`elbo_core::elbo`].
//!
//! ```text
//! batch:   x0_i ~ p0,  eps_i ~ N(0, I),  t_i ~ uniform{1..T} (or importance sampled),
//!          x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps      (the same batch for every net)
//! targets: x0 | eps | s = -eps / sqrt(1 - abar_t) | v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0
//! loss:    Simple     mean_i ||f(x_t, t) - target||^2                      (DDPM's L_simple for eps)
//!          Elbo       mean_i T w_p(t_i) ||f - target||^2                   (Luo eqs. 108/130/148)
//!          Importance mean_i w_p(t_i) / q(t_i) ||f - target||^2,  q(t) ∝ L_{t-1}(gaussian fit) (+10% uniform)
//! ```
//! Under `Elbo` and `Importance` each network's loss is an unbiased estimate of
//! `sum_t w_p(t) E||f - target||^2`, the NELBO minus the parts no network changes (the prior
//! term and the variance parts). The weights `w_p` are those of [`Weights::at`]; where a
//! weight is undefined (`w_eps`, `w_s` at abar_t = 0) it is taken as 0: those t carry no
//! gradient for that network.
//!
//! Networks compute in f32 (candle, CPU, autograd, AdamW); every ELBO figure is computed in
//! f64 by the core through the [`Denoiser`] implementation of [`TrainedDenoiser`].

pub mod net;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use ndarray::{Array2, ArrayView2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use elbo_core::denoiser::{Denoiser, MixtureDenoiser, linear_mmse};
use elbo_core::elbo::{
    Control, ElboConfig, ElboError, ElboResult, McSamples, check_samples, compute_elbo_with,
};
use elbo_core::mixture::GaussianMixture;
use elbo_core::param::{Coeffs, Parameterisation, Weights};
use elbo_core::schedule::{NoiseSchedule, VarianceType, number_text};

pub use net::{Architecture, EMBED_DIM, Mlp, Scaling};

/// The largest weights file [`TrainedDenoiser::load`] reads (64 MiB). ELBO Lab's MLPs
/// (3 hidden layers of 128, f32) take well under 1 MiB, so this is room for far larger
/// networks, and a file of gigabytes is refused by its size before it is read.
pub const MAX_WEIGHTS_BYTES: u64 = 64 * 1024 * 1024;

/// Share of the uniform distribution mixed into the importance-sampling distribution, so
/// every t keeps a chance of being drawn.
pub const IMPORTANCE_UNIFORM_MIX: f64 = 0.1;

/// How each network's squared error is weighted over t.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrainLoss {
    /// The unweighted error of each network's own target, t uniform.
    #[default]
    Simple,
    /// The true ELBO weight `w_p(t)` (Luo eqs. 108, 130, 148), t uniform.
    Elbo,
    /// The ELBO weight with t drawn in proportion to the Gaussian fit's `L_{t-1}`.
    Importance,
}

impl TrainLoss {
    /// All three, in UI order.
    pub const ALL: [TrainLoss; 3] = [TrainLoss::Simple, TrainLoss::Elbo, TrainLoss::Importance];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            TrainLoss::Simple => "simple",
            TrainLoss::Elbo => "elbo",
            TrainLoss::Importance => "importance",
        }
    }

    /// One line for the UI.
    pub fn description(self) -> &'static str {
        match self {
            TrainLoss::Simple => {
                "unweighted ||f - target||^2 of each network's own target (L_simple)"
            }
            TrainLoss::Elbo => "ELBO weighting T w(t) ||f - target||^2, t uniform",
            TrainLoss::Importance => {
                "ELBO weighting, t importance-sampled by the Gaussian fit's L_{t-1}"
            }
        }
    }
}

/// Why training or loading failed.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A setting out of range.
    #[error("{0}")]
    Config(String),
    /// An error inside candle.
    #[error("network: {0}")]
    Candle(#[from] candle_core::Error),
    /// A weights file that is not an ELBO Lab network.
    #[error("{path}: {why}")]
    BadWeights {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// Evaluation failed.
    #[error("{0}")]
    Elbo(#[from] ElboError),
    /// A weights file holding a value that is not finite (the weights of a diverged run).
    #[error(
        "{path}: tensor {tensor} holds {value} at index {index}: the weights are not finite (a diverged network), refusing them"
    )]
    NonFiniteWeights {
        /// The file.
        path: String,
        /// The tensor's name, for example `layers.2.weight`.
        tensor: String,
        /// The flat index of the first bad value.
        index: usize,
        /// The value (NaN or infinite).
        value: f64,
    },
    /// One or more networks diverged during training (see [`Divergence`]).
    #[error("{}", describe_divergences(.0))]
    Diverged(Vec<Divergence>),
}

/// What stopped being finite when a network diverged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DivergenceCause {
    /// The batch loss is NaN or infinite.
    NonFiniteLoss,
    /// After the AdamW update, a parameter tensor holds a NaN or infinite value.
    NonFiniteParameter {
        /// The tensor, for example `layers.2.weight`.
        tensor: String,
    },
}

impl fmt::Display for DivergenceCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DivergenceCause::NonFiniteLoss => f.write_str("non-finite batch loss"),
            DivergenceCause::NonFiniteParameter { tensor } => {
                write!(f, "non-finite {tensor} after the AdamW update")
            }
        }
    }
}

/// A network whose training diverged: from that step on it is frozen, never snapshot,
/// saved or scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// The network.
    pub param: Parameterisation,
    /// The training step (1-based) at which it was detected.
    pub step: usize,
    /// The batch loss at that step (NaN or infinite when the loss is what diverged).
    pub loss: f64,
    /// The AdamW learning rate.
    pub lr: f64,
    /// What stopped being finite.
    pub cause: DivergenceCause,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} network diverged at step {} ({}) at learning rate {:e}: try a smaller one",
            self.param,
            self.step,
            self.detail(),
            self.lr
        )
    }
}

impl Divergence {
    /// What was not finite, with the batch loss: `batch loss NaN`, or
    /// `non-finite layers.1.weight after the AdamW update, batch loss 3.2e12`.
    fn detail(&self) -> String {
        match &self.cause {
            DivergenceCause::NonFiniteLoss => format!("batch loss {:e}", self.loss),
            cause => format!("{cause}, batch loss {:e}", self.loss),
        }
    }
}

/// One line for one or several divergences (the CLI's error line).
fn describe_divergences(list: &[Divergence]) -> String {
    let [first, ..] = list else {
        return "no network diverged".into();
    };
    if list.len() == 1 {
        return first.to_string();
    }
    let each: Vec<String> = list
        .iter()
        .map(|d| {
            format!(
                "the {} network at step {} ({})",
                d.param,
                d.step,
                d.detail()
            )
        })
        .collect();
    format!(
        "{} networks diverged at learning rate {:e}: {}; try a smaller one",
        list.len(),
        first.lr,
        each.join(", ")
    )
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// One network per entry.
    pub params: Vec<Parameterisation>,
    /// Batch size.
    pub batch: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Seed of the initial weights (the same for every network) and of the batches.
    pub seed: u64,
    /// Loss weighting.
    pub loss: TrainLoss,
    /// Reverse variance of the ELBO weights.
    pub variance: VarianceType,
    /// Hidden width.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            params: vec![
                Parameterisation::X0,
                Parameterisation::Eps,
                Parameterisation::Score,
            ],
            batch: 256,
            lr: 1e-3,
            weight_decay: 0.0,
            seed: 0,
            loss: TrainLoss::Simple,
            variance: VarianceType::FixedSmall,
            hidden: 128,
            layers: 3,
        }
    }
}

/// A trained network as a [`Denoiser`]: its native prediction converted to x0 in f64.
///
/// ```text
/// x0:    x0_hat = m + s f
/// eps:   x0_hat = (x_t - sqrt(1 - abar_t) f) / sqrt(abar_t)
/// score: x0_hat = (x_t + (1 - abar_t) f) / sqrt(abar_t)         (eps_hat = -sqrt(1 - abar_t) f)
/// v:     x0_hat = sqrt(abar_t) x_t - sqrt(1 - abar_t) f
/// ```
/// At abar_t = 0 (a zero-terminal-SNR schedule's last step) x0 from eps or score divides by
/// zero: there `x_t` is pure noise and carries no information about x0, so the eps and score
/// networks predict the data mean m, which is the optimal denoiser's prediction there too
/// (`E[x0 | x_t] = E[x0]` when x_t is independent of x0). Their ELBO weight is undefined at
/// that t anyway; the x0 and v networks need no fallback. The fallback applies only there
/// and only to a finite network output: a NaN or infinite output gives a NaN prediction
/// at every t, which the ELBO refuses to total ([`ElboError::NotFinite`]), so a broken
/// network is never scored as if it predicted the mean.
#[derive(Debug, Clone)]
pub struct TrainedDenoiser {
    param: Parameterisation,
    mlp: Mlp,
    scaling: Scaling,
    dim: usize,
    label: String,
}

impl TrainedDenoiser {
    /// What the network predicts.
    pub fn parameterisation(&self) -> Parameterisation {
        self.param
    }

    /// Set the legend label (default `trained <param>`).
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// The network's input scaling.
    pub fn scaling(&self) -> Scaling {
        self.scaling
    }

    /// The architecture.
    pub fn architecture(&self) -> Architecture {
        self.mlp.architecture()
    }

    /// The raw network output (the parameterisation's own target) at t, in f64.
    ///
    /// # Errors
    /// A candle error (none expected on CPU).
    pub fn predict_native(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Result<Array2<f64>, TrainError> {
        let n = xt.nrows();
        let d = self.dim;
        let c = Coeffs::at(schedule, t);
        let c_in = self
            .scaling
            .c_in(schedule.abar(t), schedule.one_minus_abar(t));
        let mut emb = [0f32; EMBED_DIM];
        net::embed(net::noise_level(schedule, t), &mut emb);
        let width = d + EMBED_DIM;
        let mut input = vec![0f32; n * width];
        for (i, row) in input.chunks_exact_mut(width).enumerate() {
            for j in 0..d {
                row[j] = ((xt[[i, j]] - c.sqrt_abar * self.scaling.mean[j]) * c_in) as f32;
            }
            row[d..].copy_from_slice(&emb);
        }
        let input = Tensor::from_vec(input, (n, width), &Device::Cpu)?;
        let out: Vec<f32> = self.mlp.forward(&input)?.flatten_all()?.to_vec1()?;
        let mut native = Array2::from_shape_fn((n, d), |(i, j)| f64::from(out[i * d + j]));
        if self.param == Parameterisation::X0 {
            for mut row in native.rows_mut() {
                for j in 0..d {
                    row[j] = self.scaling.mean[j] + self.scaling.std * row[j];
                }
            }
        }
        Ok(native)
    }

    /// Save the weights (safetensors), with the scaling as two f64 tensors
    /// (`scaling.mean`, `scaling.std`).
    ///
    /// # Errors
    /// The file cannot be written, or a weight is not finite
    /// ([`TrainError::NonFiniteWeights`]: a diverged network is never written).
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        if let Some((tensor, index, value)) = self.mlp.first_non_finite()? {
            return Err(TrainError::NonFiniteWeights {
                path: path.display().to_string(),
                tensor,
                index,
                value,
            });
        }
        let mut tensors = self.mlp.named_tensors();
        tensors.insert(
            "scaling.mean".into(),
            Tensor::from_vec(self.scaling.mean.to_vec(), 2, &Device::Cpu)?,
        );
        tensors.insert(
            "scaling.std".into(),
            Tensor::from_vec(vec![self.scaling.std], 1, &Device::Cpu)?,
        );
        let bad = |why: String| TrainError::BadWeights {
            path: path.display().to_string(),
            why,
        };
        let bytes = safetensors::serialize(&tensors, None).map_err(|e| bad(e.to_string()))?;
        // A temporary file beside the target, renamed over it: a crash leaves the old
        // weights or the new ones, never a torn file.
        elbo_core::files::write_atomic(path, bytes).map_err(|e| bad(format!("cannot write: {e}")))
    }

    /// Load a network saved by [`TrainedDenoiser::save`] for `dim`-dimensional data.
    ///
    /// Only a regular file of at most [`MAX_WEIGHTS_BYTES`] is read (a FIFO, a device or a
    /// folder is refused by its kind without blocking, a larger file by its size before a
    /// byte is read). Every tensor must hold floating-point numbers (an integer tensor is
    /// not silently converted), and the input normalisation must be usable: `scaling.std`
    /// positive with a normal square, `scaling.mean` finite and not subnormal.
    ///
    /// # Errors
    /// The file is missing, unreadable, too large, not a regular file or not a network for
    /// these data, or a tensor has a non-float dtype or an unusable normalisation constant
    /// ([`TrainError::BadWeights`], naming the file and the tensor), or one of its tensors
    /// holds a NaN or infinite value ([`TrainError::NonFiniteWeights`], naming the file and
    /// the tensor).
    pub fn load(path: &Path, param: Parameterisation, dim: usize) -> Result<Self, TrainError> {
        let bad = |why: String| TrainError::BadWeights {
            path: path.display().to_string(),
            why,
        };
        let bytes = elbo_core::files::read_bytes_capped(path, MAX_WEIGHTS_BYTES)
            .map_err(|e| bad(e.to_string()))?;
        let file = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        // Every tensor, in name order (so the error names the same one each time).
        let mut views = file.tensors();
        views.sort_by(|a, b| a.0.cmp(&b.0));
        let mut tensors = std::collections::HashMap::new();
        for (name, view) in views {
            use candle_core::safetensors::Load;
            use safetensors::Dtype;
            if !matches!(
                view.dtype(),
                Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64
            ) {
                return Err(bad(format!(
                    "tensor {name} holds {:?} values: network weights are floating-point numbers (F16, BF16, F32 or F64)",
                    view.dtype()
                )));
            }
            let tensor = view.load(&Device::Cpu).map_err(|e| bad(e.to_string()))?;
            let found = net::first_non_finite(&tensor).map_err(|e| bad(e.to_string()))?;
            if let Some((index, value)) = found {
                return Err(TrainError::NonFiniteWeights {
                    path: path.display().to_string(),
                    tensor: name,
                    index,
                    value,
                });
            }
            tensors.insert(name, tensor);
        }
        let mlp = Mlp::from_named(&tensors, dim).map_err(bad)?;
        let read = |name: &str, len: usize| -> Result<Vec<f64>, TrainError> {
            let t = tensors
                .get(name)
                .ok_or_else(|| bad(format!("{name} is missing")))?;
            let v: Vec<f64> = t
                .to_dtype(DType::F64)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1())
                .map_err(|e| bad(e.to_string()))?;
            if v.len() != len || v.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("{name} must hold {len} finite numbers")));
            }
            Ok(v)
        };
        let mean = read("scaling.mean", 2)?;
        let std = read("scaling.std", 1)?;
        // The network's inputs are (x - m) / sqrt(abar s^2 + 1 - abar): a zero, subnormal
        // or huge s (or a subnormal m) validates as a number but scores nonsense.
        if !(std[0] > 0.0 && (std[0] * std[0]).is_normal()) {
            return Err(bad(format!(
                "tensor scaling.std = {} is not a usable scale: it must be positive with a normal square (about 1.5e-154 to 1.3e154)",
                number_text(std[0])
            )));
        }
        if let Some((j, m)) = mean.iter().enumerate().find(|(_, m)| m.is_subnormal()) {
            return Err(bad(format!(
                "tensor scaling.mean[{j}] = {} is subnormal: not a data mean",
                number_text(*m)
            )));
        }
        Ok(TrainedDenoiser {
            param,
            mlp,
            scaling: Scaling {
                mean: [mean[0], mean[1]],
                std: std[0],
            },
            dim,
            label: format!("trained {param}"),
        })
    }
}

impl Denoiser for TrainedDenoiser {
    fn name(&self) -> String {
        self.label.clone()
    }

    /// The network computes in f32.
    fn precision(&self) -> f64 {
        f64::from(f32::EPSILON)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    /// See the type's docs for the conversions and the abar_t = 0 fallback. A candle error
    /// (none is expected on CPU) yields NaN rows, which the ELBO reports as undefined.
    fn predict_x0(
        &self,
        schedule: &NoiseSchedule,
        t: usize,
        xt: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        let Ok(mut out) = self.predict_native(schedule, t, xt) else {
            return Array2::from_elem(xt.raw_dim(), f64::NAN);
        };
        let c = Coeffs::at(schedule, t);
        let d = self.dim;
        // x0 from a finite eps; the data mean only where abar_t = 0 (see the type's docs).
        let from_eps = |x: f64, eps: f64, mean: f64| -> f64 {
            if !eps.is_finite() {
                f64::NAN
            } else if c.sqrt_abar == 0.0 {
                mean
            } else {
                (x - c.sqrt_one_minus_abar * eps) / c.sqrt_abar
            }
        };
        for (i, mut row) in out.rows_mut().into_iter().enumerate() {
            for j in 0..d {
                let x = xt[[i, j]];
                let f = row[j];
                let mean = self.scaling.mean[j];
                row[j] = match self.param {
                    Parameterisation::X0 => f,
                    Parameterisation::V => c.x0_from_v(x, f),
                    Parameterisation::Eps => from_eps(x, f, mean),
                    Parameterisation::Score => from_eps(x, c.eps_from_score(f), mean),
                };
            }
        }
        out
    }
}

/// The distribution of training timesteps.
#[derive(Debug, Clone)]
struct TimestepSampler {
    /// Cumulative probabilities of t = 1..=T (empty: uniform).
    cdf: Vec<f64>,
    /// q(t) of t = 1..=T (empty: uniform).
    prob: Vec<f64>,
}

impl TimestepSampler {
    fn uniform() -> Self {
        TimestepSampler {
            cdf: Vec::new(),
            prob: Vec::new(),
        }
    }

    /// q(t) ∝ L_{t-1} of the Gaussian fit (`w_x0(t) mse_x0(t)`, closed form), mixed with
    /// [`IMPORTANCE_UNIFORM_MIX`] of the uniform distribution.
    fn importance(data: &GaussianMixture, schedule: &NoiseSchedule, v: VarianceType) -> Self {
        let steps = schedule.steps();
        let cov = data.covariance();
        let (lo, hi) = cov.eigenvalues(data.dim());
        let eig = if data.dim() == 1 {
            vec![lo]
        } else {
            vec![lo, hi]
        };
        let raw: Vec<f64> = (1..=steps)
            .map(|t| {
                let w = Weights::at(schedule, t, v).x0.unwrap_or(0.0);
                let m = linear_mmse(&eig, schedule.abar(t), schedule.one_minus_abar(t));
                let l = w * m;
                if l.is_finite() && l > 0.0 { l } else { 0.0 }
            })
            .collect();
        let total: f64 = raw.iter().sum();
        if !(total.is_finite() && total > 0.0) {
            return TimestepSampler::uniform();
        }
        let u = IMPORTANCE_UNIFORM_MIX / steps as f64;
        let prob: Vec<f64> = raw
            .iter()
            .map(|l| (1.0 - IMPORTANCE_UNIFORM_MIX) * l / total + u)
            .collect();
        let mut acc = 0.0;
        let cdf = prob
            .iter()
            .map(|p| {
                acc += p;
                acc
            })
            .collect();
        TimestepSampler { cdf, prob }
    }

    /// Draw t in 1..=T.
    fn draw(&self, steps: usize, rng: &mut StdRng) -> usize {
        if self.cdf.is_empty() {
            return rng.random_range(1..=steps);
        }
        let u: f64 = rng.random::<f64>() * self.cdf[self.cdf.len() - 1];
        let i = self.cdf.partition_point(|&c| c < u);
        i.min(steps - 1) + 1
    }

    /// `T q(t)` (1 for uniform).
    fn t_q(&self, t: usize, steps: usize) -> f64 {
        if self.prob.is_empty() {
            1.0
        } else {
            steps as f64 * self.prob[t - 1]
        }
    }
}

/// One network with its optimiser.
struct NetState {
    param: Parameterisation,
    mlp: Mlp,
    opt: AdamW,
    /// Set when the network diverged; it is not stepped again.
    diverged: Option<Divergence>,
}

/// One training step's losses, one per network (in the order of [`TrainConfig::params`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepLosses {
    /// The step number (1-based).
    pub step: usize,
    /// The batch loss of each network.
    pub losses: Vec<f64>,
}

/// The networks, their optimisers and a seeded RNG: training step by step.
pub struct Trainer {
    data: GaussianMixture,
    schedule: NoiseSchedule,
    config: TrainConfig,
    scaling: Scaling,
    nets: Vec<NetState>,
    rng: StdRng,
    sampler: TimestepSampler,
    steps_done: usize,
    history: Vec<Vec<f64>>,
}

/// A fixed offset so the batch stream differs from the weight stream of the same seed.
const BATCH_SEED_OFFSET: u64 = 0x5EED_BA7C_0000_0001;

impl Trainer {
    /// Fresh networks (identical initial weights, from `config.seed`) for these data.
    ///
    /// # Errors
    /// Bad settings (no networks, batch 0, non-positive learning rate).
    pub fn new(
        data: &GaussianMixture,
        schedule: &NoiseSchedule,
        config: TrainConfig,
    ) -> Result<Self, TrainError> {
        if config.params.is_empty() {
            return Err(TrainError::Config("no networks to train".into()));
        }
        if config.batch < 1 || config.batch > 1 << 16 {
            return Err(TrainError::Config(format!(
                "batch = {} must be between 1 and 65536",
                config.batch
            )));
        }
        if !(config.lr.is_finite() && config.lr > 0.0) {
            return Err(TrainError::Config(format!(
                "learning rate = {} must be positive",
                config.lr
            )));
        }
        if config.hidden < 1 || config.layers < 1 {
            return Err(TrainError::Config(
                "the network needs at least one hidden layer of width >= 1".into(),
            ));
        }
        let dim = data.dim();
        let m = data.mean();
        let cov = data.covariance();
        let var = if dim == 1 {
            cov.xx
        } else {
            0.5 * (cov.xx + cov.yy)
        };
        let scaling = Scaling {
            mean: m,
            std: var.max(1e-12).sqrt(),
        };
        let arch = Architecture {
            dim,
            hidden: config.hidden,
            layers: config.layers,
        };
        let mut nets = Vec::new();
        for &param in &config.params {
            let (mlp, vars) = Mlp::init(arch, config.seed)?;
            let all: Vec<_> = vars.vars.into_iter().flat_map(|(w, b)| [w, b]).collect();
            let opt = AdamW::new(
                all,
                ParamsAdamW {
                    lr: config.lr,
                    weight_decay: config.weight_decay,
                    ..ParamsAdamW::default()
                },
            )?;
            nets.push(NetState {
                param,
                mlp,
                opt,
                diverged: None,
            });
        }
        let sampler = match config.loss {
            TrainLoss::Importance => TimestepSampler::importance(data, schedule, config.variance),
            TrainLoss::Simple | TrainLoss::Elbo => TimestepSampler::uniform(),
        };
        Ok(Trainer {
            data: data.clone(),
            schedule: schedule.clone(),
            rng: StdRng::seed_from_u64(config.seed ^ BATCH_SEED_OFFSET),
            history: vec![Vec::new(); nets.len()],
            config,
            scaling,
            nets,
            sampler,
            steps_done: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The data trained on.
    pub fn data(&self) -> &GaussianMixture {
        &self.data
    }

    /// The schedule trained under.
    pub fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }

    /// Every step's loss, per network (outer index as in [`TrainConfig::params`]).
    pub fn history(&self) -> &[Vec<f64>] {
        &self.history
    }

    /// The networks that diverged so far, in the order of [`TrainConfig::params`].
    pub fn divergences(&self) -> Vec<Divergence> {
        self.nets
            .iter()
            .filter_map(|s| s.diverged.clone())
            .collect()
    }

    /// True when every network diverged (further steps change nothing).
    pub fn all_diverged(&self) -> bool {
        self.nets.iter().all(|s| s.diverged.is_some())
    }

    /// One AdamW step of every network on one shared batch `(x0, eps, t)`.
    ///
    /// Divergence is checked on every step: a network whose batch loss is not finite (it
    /// is then not updated), or whose parameters are not finite after the update, is
    /// frozen. From then on its loss is recorded as NaN, it is not stepped, and
    /// [`Trainer::snapshot`] leaves it out. The batch stream is the same whether or not a
    /// network diverged, so the others train exactly as they would have.
    ///
    /// # Errors
    /// [`TrainError::Diverged`] at the step where one or more networks diverge (that step
    /// is counted and every other network took it; call `step` again to go on training
    /// them); a candle error (none expected on CPU).
    pub fn step(&mut self) -> Result<StepLosses, TrainError> {
        let n = self.config.batch;
        let d = self.data.dim();
        let steps = self.schedule.steps();
        let (x0, _) = self.data.sample(n, &mut self.rng);
        let eps =
            Array2::<f64>::from_shape_simple_fn((n, d), || StandardNormal.sample(&mut self.rng));
        let ts: Vec<usize> = (0..n)
            .map(|_| self.sampler.draw(steps, &mut self.rng))
            .collect();

        // Inputs (shared by every network) and per-t coefficients.
        let width = d + EMBED_DIM;
        let mut input = vec![0f32; n * width];
        let mut coeffs = Vec::with_capacity(n);
        for (i, row) in input.chunks_exact_mut(width).enumerate() {
            let t = ts[i];
            let c = Coeffs::at(&self.schedule, t);
            let c_in = self
                .scaling
                .c_in(self.schedule.abar(t), self.schedule.one_minus_abar(t));
            for j in 0..d {
                let xt = c.noise(x0[[i, j]], eps[[i, j]]);
                row[j] = ((xt - c.sqrt_abar * self.scaling.mean[j]) * c_in) as f32;
            }
            net::embed(net::noise_level(&self.schedule, t), &mut row[d..]);
            coeffs.push(c);
        }
        let input = Tensor::from_vec(input, (n, width), &Device::Cpu)?;

        // The networks are independent given the batch: step them in parallel (each one's
        // arithmetic is unchanged, so results do not depend on the thread count).
        let (scaling, config, schedule, sampler) =
            (&self.scaling, &self.config, &self.schedule, &self.sampler);
        let step_no = self.steps_done + 1;
        let one = |state: &mut NetState| -> Result<f64, TrainError> {
            if state.diverged.is_some() {
                return Ok(f64::NAN);
            }
            let param = state.param;
            let mut target = vec![0f32; n * d];
            let mut weight = vec![0f32; n];
            for i in 0..n {
                let c = coeffs[i];
                for j in 0..d {
                    let (x, e) = (x0[[i, j]], eps[[i, j]]);
                    target[i * d + j] = match param {
                        Parameterisation::X0 => (x - scaling.mean[j]) / scaling.std,
                        Parameterisation::Eps => e,
                        Parameterisation::Score => c.score_from_eps(e),
                        Parameterisation::V => c.v(x, e),
                    } as f32;
                }
                weight[i] = match config.loss {
                    TrainLoss::Simple => 1.0,
                    TrainLoss::Elbo | TrainLoss::Importance => {
                        let t = ts[i];
                        let w = Weights::at(schedule, t, config.variance)
                            .of(param)
                            .unwrap_or(0.0);
                        // The x0 network's output is standardised: its error is s^2 times
                        // the standardised one.
                        let w = if param == Parameterisation::X0 {
                            w * scaling.std * scaling.std
                        } else {
                            w
                        };
                        (steps as f64 * w / sampler.t_q(t, steps)) as f32
                    }
                };
            }
            let target = Tensor::from_vec(target, (n, d), &Device::Cpu)?;
            let weight = Tensor::from_vec(weight, n, &Device::Cpu)?;
            let pred = state.mlp.forward(&input)?;
            let err = (pred - target)?.sqr()?.sum(1)?;
            let loss = (err * weight)?.mean_all()?;
            let value = f64::from(loss.to_scalar::<f32>()?);
            let diverged = |cause| Divergence {
                param,
                step: step_no,
                loss: value,
                lr: config.lr,
                cause,
            };
            if !value.is_finite() {
                state.diverged = Some(diverged(DivergenceCause::NonFiniteLoss));
                return Ok(f64::NAN);
            }
            state.opt.backward_step(&loss)?;
            if let Some((tensor, _, _)) = state.mlp.first_non_finite()? {
                state.diverged = Some(diverged(DivergenceCause::NonFiniteParameter { tensor }));
                return Ok(f64::NAN);
            }
            // The Simple loss of the x0 network is reported in data units, like the others'.
            Ok(
                if param == Parameterisation::X0 && config.loss == TrainLoss::Simple {
                    value * scaling.std * scaling.std
                } else {
                    value
                },
            )
        };
        let before: Vec<bool> = self.nets.iter().map(|s| s.diverged.is_some()).collect();
        let losses = self
            .nets
            .par_iter_mut()
            .map(one)
            .collect::<Result<Vec<f64>, TrainError>>()?;
        for (h, l) in self.history.iter_mut().zip(&losses) {
            h.push(*l);
        }
        self.steps_done += 1;
        let newly: Vec<Divergence> = self
            .nets
            .iter()
            .zip(before)
            .filter(|(_, was)| !was)
            .filter_map(|(s, _)| s.diverged.clone())
            .collect();
        if !newly.is_empty() {
            return Err(TrainError::Diverged(newly));
        }
        Ok(StepLosses {
            step: self.steps_done,
            losses,
        })
    }

    /// Frozen copies of the networks as denoisers (training may go on). Networks that
    /// diverged ([`Trainer::divergences`]) are left out: they are never scored or saved.
    ///
    /// # Errors
    /// A candle error (none expected on CPU).
    pub fn snapshot(&self) -> Result<Vec<TrainedDenoiser>, TrainError> {
        self.nets
            .iter()
            .filter(|s| s.diverged.is_none())
            .map(|s| {
                Ok(TrainedDenoiser {
                    param: s.param,
                    mlp: s.mlp.snapshot()?,
                    scaling: self.scaling,
                    dim: self.data.dim(),
                    label: format!("trained {}", s.param),
                })
            })
            .collect()
    }
}

/// The file name of a network's weights in an output directory: `x0.safetensors`, ...
pub fn weights_file_name(param: Parameterisation) -> String {
    format!("{}.safetensors", param.label())
}

/// Save networks as `DIR/{x0,eps,score,v}.safetensors`.
///
/// # Errors
/// A file cannot be written.
pub fn save_all(dir: &Path, nets: &[TrainedDenoiser]) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::BadWeights {
        path: dir.display().to_string(),
        why: e.to_string(),
    })?;
    for n in nets {
        n.save(&dir.join(weights_file_name(n.parameterisation())))?;
    }
    Ok(())
}

/// Load every `{x0,eps,score,v}.safetensors` present in `dir`.
///
/// # Errors
/// None found, or one that is present is not a network for `dim`-dimensional data.
pub fn load_all(dir: &Path, dim: usize) -> Result<Vec<TrainedDenoiser>, TrainError> {
    let mut out = Vec::new();
    for p in Parameterisation::ALL {
        let path = dir.join(weights_file_name(p));
        if path.exists() {
            out.push(TrainedDenoiser::load(&path, p, dim)?);
        }
    }
    if out.is_empty() {
        return Err(TrainError::BadWeights {
            path: dir.display().to_string(),
            why: "no x0/eps/score/v.safetensors here".into(),
        });
    }
    Ok(out)
}

/// The ELBO of the optimal denoiser and of each trained network on the same samples.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The optimal denoiser's result.
    pub optimal: Arc<ElboResult>,
    /// Each network's result, in order.
    pub nets: Vec<(Parameterisation, Arc<ElboResult>)>,
}

impl Evaluation {
    /// `L_{t-1}(net) - L_{t-1}(optimal)` per t (index t - 1), `None` where either is undefined.
    pub fn excess(&self, k: usize) -> Vec<Option<f64>> {
        let Some((_, r)) = self.nets.get(k) else {
            return Vec::new();
        };
        r.timesteps
            .iter()
            .zip(&self.optimal.timesteps)
            .map(|(a, b)| Some(a.loss? - b.loss?))
            .collect()
    }
}

/// Evaluate networks beside the optimal denoiser on common random numbers.
///
/// # Errors
/// A sample count N outside `2..=MAX_SAMPLES` ([`ElboError::BadSamples`]: N < 2 has no
/// standard error), a dimension mismatch, or cancellation.
pub fn evaluate(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    nets: &[TrainedDenoiser],
    config: &ElboConfig,
    control: Control<'_>,
) -> Result<Evaluation, TrainError> {
    // Refuse N < 2 before drawing anything: with one sample there is no standard error.
    check_samples(config.samples)?;
    let samples = McSamples::draw(data, config.samples, config.seed);
    let optimal = MixtureDenoiser::new(data.clone());
    let opt = compute_elbo_with(data, schedule, &optimal, config, &samples, control)?;
    let mut out = Vec::new();
    for n in nets {
        if n.dim() != data.dim() {
            return Err(ElboError::DimensionMismatch {
                model: n.dim(),
                data: data.dim(),
            }
            .into());
        }
        let r = compute_elbo_with(data, schedule, n, config, &samples, control)?;
        out.push((n.parameterisation(), Arc::new(r)));
    }
    Ok(Evaluation {
        optimal: Arc::new(opt),
        nets: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use elbo_core::schedule::{BetaSchedule, ScheduleSpec};

    /// A network of `param` whose last bias is NaN: every output is NaN.
    fn broken(param: Parameterisation) -> TrainedDenoiser {
        let (mlp, _) = Mlp::init(Architecture::standard(1), 0).expect("init");
        let mut tensors = mlp.named_tensors();
        let last = format!("layers.{}.bias", Architecture::standard(1).layers);
        tensors.insert(
            last,
            Tensor::from_vec(vec![f32::NAN], 1, &Device::Cpu).expect("tensor"),
        );
        TrainedDenoiser {
            param,
            mlp: Mlp::from_named(&tensors, 1).expect("rebuild"),
            scaling: Scaling {
                mean: [0.5, 0.0],
                std: 0.5,
            },
            dim: 1,
            label: format!("trained {param}"),
        }
    }

    /// The defect: NaN outputs of an eps or score network were replaced by the data mean,
    /// so a diverged network got a finite NELBO. Now they stay NaN at every t (also where
    /// abar_t = 0, the one place the mean stands in for a finite output), evaluation says
    /// the NELBO is not finite, and saving refuses the weights.
    #[test]
    fn non_finite_outputs_are_never_replaced_by_the_data_mean() {
        let data = GaussianMixture::gaussian(&[0.5], vec![vec![0.25]]).expect("valid");
        let schedule = ScheduleSpec {
            rescale_zero_snr: true,
            ..ScheduleSpec::preset(BetaSchedule::Linear, 20)
        }
        .build()
        .expect("valid schedule");
        assert_eq!(schedule.abar(20), 0.0);
        let xt = Array2::from_shape_fn((4, 1), |(i, _)| i as f64 - 1.5);
        for p in Parameterisation::ALL {
            let net = broken(p);
            for t in [1, 10, 20] {
                let x0 = net.predict_x0(&schedule, t, xt.view());
                assert!(x0.iter().all(|v| v.is_nan()), "{p} at t = {t}: {x0:?}");
            }
            let mc = ElboConfig {
                samples: 64,
                ..ElboConfig::default()
            };
            let err = evaluate(
                &data,
                &schedule,
                std::slice::from_ref(&net),
                &mc,
                Control::default(),
            )
            .expect_err("a NaN network is not scored");
            assert!(
                matches!(
                    &err,
                    TrainError::Elbo(ElboError::NotFinite { model, quantity: "NELBO", .. })
                        if *model == format!("trained {p}")
                ),
                "{p}: {err}"
            );
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("w.safetensors");
            let err = net.save(&path).expect_err("NaN weights are not written");
            assert!(
                matches!(&err, TrainError::NonFiniteWeights { tensor, .. } if tensor == "layers.3.bias"),
                "{err}"
            );
            assert!(!path.exists());
        }
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;
    use std::collections::HashMap;

    /// A valid eps network for 1D data, saved in a fresh folder: (folder, path, tensors).
    fn saved() -> (
        tempfile::TempDir,
        std::path::PathBuf,
        HashMap<String, Tensor>,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("eps.safetensors");
        let (mlp, _) = Mlp::init(Architecture::standard(1), 0).expect("init");
        let net = TrainedDenoiser {
            param: Parameterisation::Eps,
            mlp,
            scaling: Scaling {
                mean: [0.5, 0.0],
                std: 0.5,
            },
            dim: 1,
            label: "trained eps".into(),
        };
        net.save(&path).expect("saves");
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu).expect("reads");
        (dir, path, tensors)
    }

    /// Replace one tensor of the file at `path` and load it.
    fn load_with(
        path: &Path,
        tensors: &HashMap<String, Tensor>,
        name: &str,
        tensor: Tensor,
    ) -> Result<TrainedDenoiser, TrainError> {
        let mut tensors = tensors.clone();
        tensors.insert(name.into(), tensor);
        candle_core::safetensors::save(&tensors, path).expect("writes");
        TrainedDenoiser::load(path, Parameterisation::Eps, 1)
    }

    #[test]
    fn a_saved_network_loads_back() {
        let (_dir, path, tensors) = saved();
        let net = TrainedDenoiser::load(&path, Parameterisation::Eps, 1).expect("loads");
        assert_eq!(net.scaling().std, 0.5);
        assert_eq!(tensors["layers.0.weight"].dtype(), DType::F32);
        assert_eq!(tensors["scaling.std"].dtype(), DType::F64);
    }

    /// The defect: integer tensors were silently converted to floats and scored.
    #[test]
    fn integer_tensors_are_refused_naming_the_tensor() {
        let (_dir, path, tensors) = saved();
        let weight = tensors["layers.1.weight"]
            .to_dtype(DType::I64)
            .expect("as integers");
        let e = load_with(&path, &tensors, "layers.1.weight", weight).expect_err("I64 weights");
        let text = e.to_string();
        assert!(
            text.contains("eps.safetensors")
                && text.contains("tensor layers.1.weight holds I64 values")
                && text.contains("floating-point"),
            "{text}"
        );
        let std = Tensor::from_vec(vec![1u8], 1, &Device::Cpu).expect("tensor");
        let e = load_with(&path, &tensors, "scaling.std", std).expect_err("U8 scale");
        assert!(
            e.to_string().contains("tensor scaling.std holds U8 values"),
            "{e}"
        );
    }

    /// The defect: a `scaling.std` of 5e-324 (or 0) loaded and scored NELBO 1966.
    #[test]
    fn unusable_normalisation_constants_are_refused_naming_the_tensor() {
        let (_dir, path, tensors) = saved();
        let f64s = |v: Vec<f64>| {
            let n = v.len();
            Tensor::from_vec(v, n, &Device::Cpu).expect("tensor")
        };
        for (std, shown) in [
            (5e-324, "5e-324"),
            (0.0, "0"),
            (1e-200, "1e-200"),
            (1e200, "1e200"),
        ] {
            let e = load_with(&path, &tensors, "scaling.std", f64s(vec![std]))
                .expect_err("unusable scale");
            assert!(
                e.to_string().contains(&format!(
                    "tensor scaling.std = {shown} is not a usable scale"
                )),
                "{e}"
            );
        }
        let e = load_with(&path, &tensors, "scaling.mean", f64s(vec![1e-310, 0.0]))
            .expect_err("subnormal mean");
        assert!(
            e.to_string()
                .contains("tensor scaling.mean[0] = 1e-310 is subnormal"),
            "{e}"
        );
        let e = load_with(&path, &tensors, "scaling.std", f64s(vec![f64::INFINITY]))
            .expect_err("infinite scale");
        assert!(
            matches!(&e, TrainError::NonFiniteWeights { tensor, .. } if tensor == "scaling.std"),
            "{e}"
        );
    }

    /// The defect: a file of gigabytes was read whole before it was refused, and a FIFO
    /// blocked the load forever.
    #[test]
    fn only_a_regular_file_within_the_cap_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big = dir.path().join("eps.safetensors");
        let file = std::fs::File::create(&big).expect("create");
        // Sparse: no disk space and no memory, only the length.
        file.set_len(MAX_WEIGHTS_BYTES + 1).expect("set length");
        let e = TrainedDenoiser::load(&big, Parameterisation::Eps, 1).expect_err("too large");
        assert!(
            e.to_string()
                .ends_with("eps.safetensors: larger than the 64 MiB limit for this file"),
            "{e}"
        );
        #[cfg(unix)]
        {
            let fifo = dir.path().join("x0.safetensors");
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("mkfifo runs");
            assert!(status.success());
            let e = TrainedDenoiser::load(&fifo, Parameterisation::X0, 1).expect_err("a FIFO");
            assert!(
                e.to_string()
                    .ends_with("x0.safetensors: not a regular file but a named pipe (FIFO)"),
                "{e}"
            );
            let e = TrainedDenoiser::load(Path::new("/dev/zero"), Parameterisation::X0, 1)
                .expect_err("a device");
            assert!(
                e.to_string()
                    .ends_with("not a regular file but a character device"),
                "{e}"
            );
        }
    }

    #[test]
    fn saving_replaces_the_file_whole() {
        let (dir, path, _) = saved();
        // A second name for the old file keeps the old contents: the new weights are a
        // new file renamed over the name, not the old one rewritten in place.
        let old = dir.path().join("old.safetensors");
        std::fs::hard_link(&path, &old).expect("hard link");
        let before = std::fs::read(&old).expect("read");
        let (mlp, _) = Mlp::init(Architecture::standard(1), 1).expect("init");
        let other = TrainedDenoiser {
            param: Parameterisation::Eps,
            mlp,
            scaling: Scaling {
                mean: [0.25, 0.0],
                std: 2.0,
            },
            dim: 1,
            label: "trained eps".into(),
        };
        other.save(&path).expect("saves");
        assert_eq!(std::fs::read(&old).expect("read"), before);
        let back = TrainedDenoiser::load(&path, Parameterisation::Eps, 1).expect("loads");
        assert_eq!(back.scaling().std, 2.0);
        let names = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(names, 2, "no temporary file is left");
    }
}
