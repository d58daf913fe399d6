//! The network: a small MLP in candle (f32, CPU) with a sinusoidal noise-level embedding.
//!
//! ```text
//! input  = [ (x_t - sqrt(abar_t) m) / sqrt(abar_t s^2 + 1 - abar_t) ,  emb(tau_t) ]   (d + EMBED_DIM)
//! hidden = SiLU(W_i h + b_i), i = 1..layers (width `hidden`)
//! output = W_out h + b_out                                                            (d)
//! tau_t  = 1000 (LOG_SNR_MAX - clamp(lambda_t)) / (LOG_SNR_MAX - LOG_SNR_MIN)
//! emb(tau)_k = sin(tau f_k), emb(tau)_{k + EMBED_DIM/2} = cos(tau f_k),  f_k = 10000^(-k / (EMBED_DIM/2))
//! ```
//! `m` and `s^2` are the data mean and the mean per-dimension variance, so the first block
//! of the input has about unit variance at every t (networks on standardised inputs train
//! faster). The embedding is the Transformer/DDPM sinusoid, applied to the timestep's noise
//! level `tau_t` (log-SNR mapped onto DDPM's 0..1000 range, increasing with t) instead of the
//! index t: a network trained under one schedule is then a denoiser under any schedule,
//! which the app needs when the user changes T after training.
//!
//! Weights are initialised from a seeded RNG (PyTorch's default for linear layers,
//! `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`), never from candle's unseeded generator, so a run
//! is reproducible from its seed.

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::Linear;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use elbo_core::schedule::NoiseSchedule;

/// Width of the sinusoidal embedding.
pub const EMBED_DIM: usize = 32;
/// Log-SNR mapped to tau = 0 (clamped above).
pub const LOG_SNR_MAX: f64 = 20.0;
/// Log-SNR mapped to tau = 1000 (clamped below; abar_t = 0 maps here too).
pub const LOG_SNR_MIN: f64 = -20.0;

/// The architecture of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Architecture {
    /// Data dimension d (input and output).
    pub dim: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Number of hidden layers.
    pub layers: usize,
}

impl Architecture {
    /// The issue's example: 3 hidden layers of 128.
    pub fn standard(dim: usize) -> Self {
        Architecture {
            dim,
            hidden: 128,
            layers: 3,
        }
    }

    /// (fan_in, fan_out) of every linear layer.
    fn shapes(&self) -> Vec<(usize, usize)> {
        let mut shapes = vec![(self.dim + EMBED_DIM, self.hidden)];
        for _ in 1..self.layers {
            shapes.push((self.hidden, self.hidden));
        }
        shapes.push((self.hidden, self.dim));
        shapes
    }
}

/// The noise level `tau_t` in 0..1000 fed to the embedding (see the module docs).
pub fn noise_level(schedule: &NoiseSchedule, t: usize) -> f64 {
    let lambda = schedule
        .log_snr(t)
        .unwrap_or(LOG_SNR_MIN)
        .clamp(LOG_SNR_MIN, LOG_SNR_MAX);
    1000.0 * (LOG_SNR_MAX - lambda) / (LOG_SNR_MAX - LOG_SNR_MIN)
}

/// Write the sinusoidal embedding of `tau` into `out` (length [`EMBED_DIM`]).
pub fn embed(tau: f64, out: &mut [f32]) {
    let half = EMBED_DIM / 2;
    for k in 0..half {
        let f = (-(10_000f64.ln()) * k as f64 / half as f64).exp();
        out[k] = (tau * f).sin() as f32;
        out[k + half] = (tau * f).cos() as f32;
    }
}

/// Input normalisation: data mean `m` and scale `s` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaling {
    /// Data mean (the second entry is 0 in 1D).
    pub mean: [f64; 2],
    /// Root of the mean per-dimension data variance.
    pub std: f64,
}

impl Scaling {
    /// The input scale `1 / sqrt(abar s^2 + 1 - abar)`.
    pub fn c_in(&self, abar: f64, one_minus_abar: f64) -> f64 {
        1.0 / (abar * self.std * self.std + one_minus_abar).sqrt()
    }
}

/// An MLP: linear layers with SiLU between them. Cloning shares the weights.
#[derive(Debug, Clone)]
pub struct Mlp {
    arch: Architecture,
    layers: Vec<Linear>,
}

/// The trainable variables of an [`Mlp`] (weight, bias per layer).
pub struct MlpVars {
    /// `(weight, bias)` of each layer, input first.
    pub vars: Vec<(Var, Var)>,
}

impl Mlp {
    /// A fresh network with weights drawn from `seed`; also returns its variables.
    ///
    /// # Errors
    /// A candle error (none expected on CPU).
    pub fn init(arch: Architecture, seed: u64) -> candle_core::Result<(Mlp, MlpVars)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut layers = Vec::new();
        let mut vars = Vec::new();
        for (fan_in, fan_out) in arch.shapes() {
            let bound = 1.0 / (fan_in as f64).sqrt();
            let mut draw = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| rng.random_range(-bound..bound) as f32)
                    .collect()
            };
            let w = Var::from_tensor(&Tensor::from_vec(
                draw(fan_in * fan_out),
                (fan_out, fan_in),
                &Device::Cpu,
            )?)?;
            let b = Var::from_tensor(&Tensor::from_vec(draw(fan_out), fan_out, &Device::Cpu)?)?;
            layers.push(Linear::new(
                w.as_tensor().clone(),
                Some(b.as_tensor().clone()),
            ));
            vars.push((w, b));
        }
        Ok((Mlp { arch, layers }, MlpVars { vars }))
    }

    /// The architecture.
    pub fn architecture(&self) -> Architecture {
        self.arch
    }

    /// A copy whose weights no longer follow training (a frozen snapshot).
    ///
    /// # Errors
    /// A candle error (none expected on CPU).
    pub fn snapshot(&self) -> candle_core::Result<Mlp> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let b = l.bias().map(Tensor::copy).transpose()?;
                Ok(Linear::new(l.weight().copy()?, b))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Mlp {
            arch: self.arch,
            layers,
        })
    }

    /// Forward pass on `(n, d + EMBED_DIM)` inputs; `(n, d)` outputs.
    ///
    /// # Errors
    /// A candle error (a shape mismatch).
    pub fn forward(&self, input: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = input.clone();
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i < last {
                h = candle_nn::ops::silu(&h)?;
            }
        }
        Ok(h)
    }

    /// The weights by name (`layers.{i}.weight`, `layers.{i}.bias`), for safetensors.
    pub fn named_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            out.insert(format!("layers.{i}.weight"), l.weight().clone());
            if let Some(b) = l.bias() {
                out.insert(format!("layers.{i}.bias"), b.clone());
            }
        }
        out
    }

    /// The first parameter (in layer order, weight before bias) holding a value that is
    /// not finite: `(tensor name, flat index, value)`, or `None` when all are finite.
    ///
    /// # Errors
    /// A candle error (none expected on CPU).
    pub fn first_non_finite(&self) -> candle_core::Result<Option<(String, usize, f64)>> {
        for (i, l) in self.layers.iter().enumerate() {
            let named =
                std::iter::once(("weight", l.weight())).chain(l.bias().map(|b| ("bias", b)));
            for (kind, t) in named {
                if let Some((at, v)) = first_non_finite(t)? {
                    return Ok(Some((format!("layers.{i}.{kind}"), at, v)));
                }
            }
        }
        Ok(None)
    }

    /// Rebuild a network from named tensors as [`Mlp::named_tensors`] writes them.
    ///
    /// # Errors
    /// A message naming the missing or misshapen tensor.
    pub fn from_named(tensors: &HashMap<String, Tensor>, dim: usize) -> Result<Mlp, String> {
        let mut layers = Vec::new();
        let mut i = 0;
        while let Some(w) = tensors.get(&format!("layers.{i}.weight")) {
            let b = tensors
                .get(&format!("layers.{i}.bias"))
                .ok_or_else(|| format!("layers.{i}.bias is missing"))?;
            let w = w.to_dtype(DType::F32).map_err(|e| e.to_string())?;
            let b = b.to_dtype(DType::F32).map_err(|e| e.to_string())?;
            layers.push(Linear::new(w, Some(b)));
            i += 1;
        }
        if layers.len() < 2 {
            return Err("no layers.{i}.weight tensors: not an ELBO Lab network".into());
        }
        let dims = |l: &Linear| l.weight().dims2().map_err(|e| e.to_string());
        let (hidden, fan_in) = dims(&layers[0])?;
        let (out, _) = dims(&layers[layers.len() - 1])?;
        if fan_in != dim + EMBED_DIM || out != dim {
            return Err(format!(
                "the network maps {fan_in} inputs to {out} outputs, but {dim}D data need {} inputs and {dim} outputs",
                dim + EMBED_DIM
            ));
        }
        for (k, l) in layers.iter().enumerate() {
            let (o, i) = dims(l)?;
            let want_in = if k == 0 { dim + EMBED_DIM } else { hidden };
            let want_out = if k + 1 == layers.len() { dim } else { hidden };
            if (o, i) != (want_out, want_in) {
                return Err(format!(
                    "layers.{k}.weight has shape ({o}, {i}), expected ({want_out}, {want_in})"
                ));
            }
            let b = l.bias().map(|b| b.dims1().unwrap_or(0)).unwrap_or(0);
            if b != o {
                return Err(format!("layers.{k}.bias has length {b}, expected {o}"));
            }
        }
        let arch = Architecture {
            dim,
            hidden,
            layers: layers.len() - 1,
        };
        Ok(Mlp { arch, layers })
    }
}

/// The first value of a tensor (flattened, any float dtype) that is not finite, with its
/// index.
///
/// # Errors
/// A candle error (a dtype that cannot convert to f64).
pub fn first_non_finite(t: &Tensor) -> candle_core::Result<Option<(usize, f64)>> {
    let values: Vec<f64> = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    Ok(values.into_iter().enumerate().find(|(_, v)| !v.is_finite()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_weights_and_round_trip_by_name() {
        let arch = Architecture::standard(2);
        let (a, _) = Mlp::init(arch, 7).expect("init");
        let (b, _) = Mlp::init(arch, 7).expect("init");
        let x = Tensor::ones((3, 2 + EMBED_DIM), DType::F32, &Device::Cpu).expect("ones");
        let ya: Vec<Vec<f32>> = a.forward(&x).and_then(|y| y.to_vec2()).expect("fwd");
        let yb: Vec<Vec<f32>> = b.forward(&x).and_then(|y| y.to_vec2()).expect("fwd");
        assert_eq!(ya, yb);
        let c = Mlp::from_named(&a.named_tensors(), 2).expect("rebuild");
        assert_eq!(c.architecture(), arch);
        assert!(Mlp::from_named(&a.named_tensors(), 1).is_err());
    }

    #[test]
    fn embedding_is_bounded_and_noise_level_monotone() {
        let mut e = [0f32; EMBED_DIM];
        embed(500.0, &mut e);
        assert!(e.iter().all(|v| v.abs() <= 1.0));
        let s = elbo_core::schedule::ScheduleSpec::preset(
            elbo_core::schedule::BetaSchedule::Linear,
            100,
        )
        .build()
        .expect("valid");
        assert!((2..=100).all(|t| noise_level(&s, t) >= noise_level(&s, t - 1)));
    }
}
