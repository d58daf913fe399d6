//! `elbo-lab train` (docs/report-format.md): train one network per parameterisation headless, write
//! `DIR/{x0,eps,score}.safetensors` and `DIR/summary.json`.
//!
//! A network that diverges (non-finite loss or parameters) is frozen, its weights are not
//! written (a stale file of an earlier run is removed), its scores are null in the
//! summary with a `diverged` field saying why, and the command exits with status 1 and one
//! line naming every diverged network.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use elbo_core::elbo::{Control, ElboConfig, ElboResult};
use elbo_core::param::Parameterisation;
use elbo_train::{
    TrainConfig, TrainError, TrainLoss, Trainer, evaluate, save_all, weights_file_name,
};

use super::args::{Common, check_samples};
use super::output::ensure_writable_dir;

/// `--loss` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LossArg {
    /// Each network's unweighted error (DDPM's L_simple for eps).
    Simple,
    /// The ELBO weighting w(t) (Luo eqs. 108, 130, 148), t uniform.
    Elbo,
    /// The ELBO weighting, t importance-sampled by the Gaussian fit's L_{t-1}.
    Importance,
}

impl From<LossArg> for TrainLoss {
    fn from(l: LossArg) -> Self {
        match l {
            LossArg::Simple => TrainLoss::Simple,
            LossArg::Elbo => TrainLoss::Elbo,
            LossArg::Importance => TrainLoss::Importance,
        }
    }
}

/// `--params` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ParamArg {
    /// x0-prediction.
    X0,
    /// Noise prediction.
    Eps,
    /// Score prediction.
    Score,
    /// v-prediction.
    V,
}

impl From<ParamArg> for Parameterisation {
    fn from(p: ParamArg) -> Self {
        match p {
            ParamArg::X0 => Parameterisation::X0,
            ParamArg::Eps => Parameterisation::Eps,
            ParamArg::Score => Parameterisation::Score,
            ParamArg::V => Parameterisation::V,
        }
    }
}

/// `elbo-lab train`.
#[derive(Debug, Args)]
pub struct TrainCmd {
    #[command(flatten)]
    common: Common,
    /// Training steps (each one AdamW step of every network on one shared batch).
    #[arg(long, default_value_t = 2000, allow_hyphen_values = true)]
    train_steps: usize,
    /// Batch size.
    #[arg(long, default_value_t = 256, allow_hyphen_values = true)]
    batch: usize,
    /// Loss weighting over t.
    #[arg(long, value_enum, default_value = "simple")]
    loss: LossArg,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-3, allow_hyphen_values = true)]
    lr: f64,
    /// The networks to train, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "x0,eps,score"
    )]
    params: Vec<ParamArg>,
    /// Seed of the initial weights, the batches and the evaluation samples.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    seed: u64,
    /// Monte Carlo samples of the final ELBO evaluation.
    #[arg(long, default_value_t = 1024, allow_hyphen_values = true)]
    samples: usize,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

fn estimate_json(r: &ElboResult) -> serde_json::Value {
    json!({
        "nelbo": r.nelbo.mean,
        "nelbo_stderr": r.nelbo.stderr,
        "bits_per_dim": r.bits_per_dim.mean,
        "reconstruction_loss": r.reconstruction_loss.mean,
        "denoising_loss": r.denoising_loss.mean,
        "denoising_stderr": r.denoising_loss.stderr,
        "prior_loss": r.prior_loss,
    })
}

/// Run `elbo-lab train`.
pub fn run(cmd: TrainCmd) -> Result<()> {
    check_samples(cmd.samples)?;
    let (data, data_label) = cmd.common.resolve_data()?;
    let resolved = cmd.common.resolve_schedule()?;
    let mut params: Vec<Parameterisation> = Vec::new();
    for p in &cmd.params {
        let p = Parameterisation::from(*p);
        if !params.contains(&p) {
            params.push(p);
        }
    }
    let config = TrainConfig {
        params,
        batch: cmd.batch,
        lr: cmd.lr,
        seed: cmd.seed,
        loss: cmd.loss.into(),
        variance: resolved.variance,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&data, &resolved.schedule, config.clone())?;
    ensure_writable_dir(&cmd.out)?;
    let bar = (!cmd.quiet).then(|| {
        let bar = ProgressBar::new(cmd.train_steps as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} training [{bar:40}] {pos}/{len} ({eta}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    for _ in 0..cmd.train_steps {
        // A diverged network is frozen and reported at the end; the others train on.
        let s = match trainer.step() {
            Ok(s) => s,
            Err(TrainError::Diverged(_)) if trainer.all_diverged() => break,
            Err(TrainError::Diverged(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(bar) = &bar {
            bar.inc(1);
            if s.step % 50 == 0 {
                let text: Vec<String> = config
                    .params
                    .iter()
                    .zip(&s.losses)
                    .map(|(p, l)| format!("{p} {l:.3e}"))
                    .collect();
                bar.set_message(text.join("  "));
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Only networks that did not diverge are saved and scored; a stale weights file of a
    // diverged one (from an earlier run in the same directory) is removed, so the folder
    // never mixes runs.
    let nets = trainer.snapshot()?;
    let diverged = trainer.divergences();
    save_all(&cmd.out, &nets)?;
    for d in &diverged {
        let stale = cmd.out.join(weights_file_name(d.param));
        if stale.exists() {
            std::fs::remove_file(&stale)
                .with_context(|| format!("cannot remove stale {}", stale.display()))?;
        }
    }

    let mc = ElboConfig {
        samples: cmd.samples,
        seed: cmd.seed,
        variance: resolved.variance,
        consistency: false,
        method: elbo_core::elbo::Method::Quadrature,
    };
    let eval = evaluate(&data, &resolved.schedule, &nets, &mc, Control::default())?;
    // The mean training loss over the last tenth of the run (at least one step).
    let tail = (cmd.train_steps / 10).max(1);
    let networks: Vec<serde_json::Value> = config
        .params
        .iter()
        .zip(trainer.history())
        .map(|(p, h)| {
            // A diverged network has no weights file and no score: null, and why.
            if let Some(d) = diverged.iter().find(|d| d.param == *p) {
                return json!({
                    "parameterisation": p.label(),
                    "weights": null,
                    "nelbo": null,
                    "nelbo_stderr": null,
                    "bits_per_dim": null,
                    "reconstruction_loss": null,
                    "denoising_loss": null,
                    "denoising_stderr": null,
                    "prior_loss": null,
                    "final_train_loss": null,
                    "excess_nelbo": null,
                    "diverged": d.to_string(),
                    "diverged_at_step": d.step,
                });
            }
            let last = &h[h.len().saturating_sub(tail)..];
            let final_loss = if last.is_empty() {
                None
            } else {
                Some(last.iter().sum::<f64>() / last.len() as f64)
            };
            let r = eval.nets.iter().find(|(q, _)| q == p).map(|(_, r)| r);
            let mut v = r.map_or_else(|| json!({}), |r| estimate_json(r));
            v["parameterisation"] = json!(p.label());
            v["weights"] = json!(weights_file_name(*p));
            v["final_train_loss"] = json!(final_loss);
            v["excess_nelbo"] = json!(r.map(|r| r.nelbo.mean - eval.optimal.nelbo.mean));
            v["diverged"] = serde_json::Value::Null;
            v
        })
        .collect();
    let summary = json!({
        "settings": {
            "data": data_label,
            "dim": data.dim(),
            "schedule": resolved.spec.label(),
            "steps": resolved.schedule.steps(),
            "variance": resolved.variance,
            "train_steps": cmd.train_steps,
            "batch": cmd.batch,
            "loss": config.loss.name(),
            "lr": cmd.lr,
            "seed": cmd.seed,
            "hidden": config.hidden,
            "layers": config.layers,
            "eval_samples": cmd.samples,
        },
        "optimal": estimate_json(&eval.optimal),
        "data_entropy": eval.optimal.data_entropy.mean,
        "data_entropy_stderr": eval.optimal.data_entropy.stderr,
        "networks": networks,
    });
    let path = cmd.out.join("summary.json");
    elbo_core::files::write_atomic(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    if !cmd.quiet {
        eprintln!(
            "optimal NELBO {:.4} ± {:.4}",
            eval.optimal.nelbo.mean, eval.optimal.nelbo.stderr
        );
        for (p, r) in &eval.nets {
            eprintln!(
                "{:<6} NELBO {:.4} ± {:.4}",
                p.label(),
                r.nelbo.mean,
                r.nelbo.stderr
            );
        }
        eprintln!("wrote {}", cmd.out.display());
    }
    if !diverged.is_empty() {
        // Exit status 1 with one line naming every diverged network.
        anyhow::bail!(
            "{} (not saved; null in {})",
            TrainError::Diverged(diverged),
            path.display()
        );
    }
    Ok(())
}
