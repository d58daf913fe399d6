//! `elbo-lab evidence` (issue 10, docs/report-format.md): the model's own marginal
//! p_theta(x0), the ELBO of each point and `NELBO - H(p0) = KL(p0 || p_theta) + mean bound
//! gap`, as JSON. 1D only.
//!
//! Beside it, the same excess split along the reverse chain
//! ([`elbo_core::reverse_step`]): `NELBO - H(p0) = KL(q(x_T) || N(0, 1)) + sum_t R_t`, each
//! `R_t = G_t + M_t` (the true step's non-Gaussianity and the model's moment mismatch),
//! with the same model, schedule and variances.
//!
//! The model is a closed form (`--model optimal|gaussian`) or a network written by
//! `elbo-lab train` (`--weights DIR/eps.safetensors`, see [`WeightsArgs`]); its JSON `model`
//! then reads `trained eps network (PATH)`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use elbo_core::elbo::Control;
use elbo_core::evidence::{
    DEFAULT_TABLE_POINTS, EvidenceConfig, EvidenceError, EvidencePoint, EvidenceResult,
    compute_evidence, model_variances, progress_total,
};
use elbo_core::reverse_step::{self, ReverseStepConfig, ReverseSteps, reverse_steps};

use super::args::{Common, ModelArg, WeightsArgs};
use super::output::{StepProgress, write_out};

/// `elbo-lab evidence`.
#[derive(Debug, Args)]
pub struct EvidenceCmd {
    #[command(flatten)]
    common: Common,
    /// The model whose evidence is computed (a closed form; --weights for a trained network).
    #[arg(long, value_enum, default_value = "optimal")]
    model: ModelArg,
    #[command(flatten)]
    weights: WeightsArgs,
    /// Points of the per-x0 table (`points`), uniform over the data's range.
    #[arg(long, default_value_t = DEFAULT_TABLE_POINTS, allow_hyphen_values = true)]
    grid: usize,
    /// Propagation grid nodes per reverse-step sd (finer is slower and more exact).
    #[arg(long, allow_hyphen_values = true)]
    points_per_sd: Option<f64>,
    /// The coarse settings of the app's preview (faster, larger error estimates).
    #[arg(long)]
    preview: bool,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// The JSON document (field names as in docs/report-format.md).
#[derive(Serialize)]
struct EvidenceJson<'a> {
    dim: usize,
    steps: usize,
    model: &'a str,
    variance: &'a str,
    data_source: &'a str,
    schedule: &'a str,
    model_nll: f64,
    model_nll_error: f64,
    data_entropy: f64,
    data_entropy_error: f64,
    kl_data_model: f64,
    kl_data_model_error: f64,
    mean_bound_gap: f64,
    mean_bound_gap_error: f64,
    nelbo: f64,
    nelbo_error: f64,
    mass: f64,
    coarse_mass: Option<f64>,
    min_point_gap: f64,
    points_per_sd: f64,
    coarse_points_per_sd: f64,
    xt_points_per_sd: f64,
    max_grid_points: usize,
    prior_kl: f64,
    prior_kl_error: f64,
    reverse_kl_sum: f64,
    reverse_kl_sum_error: f64,
    non_gaussianity: f64,
    non_gaussianity_error: f64,
    moment_mismatch: f64,
    moment_mismatch_error: f64,
    points: &'a [EvidencePoint],
    reverse_steps: Vec<ReverseStepJson>,
}

/// One row of `reverse_steps`: `R_t = G_t + M_t` at one t, each with its error estimate.
#[derive(Serialize)]
struct ReverseStepJson {
    t: usize,
    reverse_kl: f64,
    reverse_kl_error: f64,
    non_gaussianity: f64,
    non_gaussianity_error: f64,
    moment_mismatch: f64,
    moment_mismatch_error: f64,
}

/// Run `elbo-lab evidence`.
pub fn run(cmd: EvidenceCmd) -> Result<()> {
    let (data, data_label) = cmd.common.resolve_data()?;
    let resolved = cmd.common.resolve_schedule()?;
    resolved.say_notes();
    // 2D data are refused before a --weights network is loaded (or noted about).
    if data.dim() != 1 {
        return Err(EvidenceError::NotOneDimensional(data.dim()).into());
    }
    let model = cmd
        .weights
        .model(cmd.model, &data, &data_label, &resolved)?;
    let mut config = if cmd.preview {
        EvidenceConfig::preview()
    } else {
        EvidenceConfig::default()
    };
    config.table_points = cmd.grid;
    if let Some(r) = cmd.points_per_sd {
        config.points_per_sd = r;
        config.coarse_points_per_sd = (r * 0.64).max(0.5).min(r * 0.99);
    }
    let schedule = &resolved.schedule;
    let sigma2 = model_variances(
        &data,
        schedule,
        model.as_ref(),
        resolved.variance,
        Control::default(),
    )?;
    let evidence_total = progress_total(schedule.steps(), &config);
    let total = (evidence_total + reverse_step::progress_total(schedule.steps())) as u64;
    let progress = StepProgress::new(
        !cmd.quiet && schedule.steps() >= 2000,
        total,
        "evidence",
        "",
    );
    let on_step = |done: usize| progress.step(done);
    let on_reverse_step = |done: usize| progress.step(evidence_total + done);
    let result = compute_evidence(
        &data,
        schedule,
        model.as_ref(),
        &sigma2,
        &config,
        Control {
            on_step: Some(&on_step),
            cancel: None,
        },
    )?;
    let reverse_config = if cmd.preview {
        ReverseStepConfig::preview()
    } else {
        ReverseStepConfig::default()
    };
    let steps = reverse_steps(
        &data,
        schedule,
        model.as_ref(),
        &sigma2,
        &reverse_config,
        Control {
            on_step: Some(&on_reverse_step),
            cancel: None,
        },
    )?;
    progress.finish();
    let label = resolved.spec.label();
    let text = to_json(
        &result,
        &steps,
        resolved.variance.name(),
        &data_label,
        &label,
    )?;
    write_out(cmd.out.as_deref(), &(text + "\n"))
}

fn to_json(
    r: &EvidenceResult,
    steps: &ReverseSteps,
    variance: &str,
    data: &str,
    schedule: &str,
) -> Result<String> {
    let reverse_kl_sum = steps.terms.iter().fold((0.0, 0.0), |(v, e), x| {
        (v + x.reverse_kl.value, e + x.reverse_kl.error)
    });
    let doc = EvidenceJson {
        dim: 1,
        steps: r.steps,
        model: &r.model,
        variance,
        data_source: data,
        schedule,
        model_nll: r.model_nll.value,
        model_nll_error: r.model_nll.error,
        data_entropy: r.data_entropy.value,
        data_entropy_error: r.data_entropy.error,
        kl_data_model: r.kl_data_model.value,
        kl_data_model_error: r.kl_data_model.error,
        mean_bound_gap: r.mean_bound_gap.value,
        mean_bound_gap_error: r.mean_bound_gap.error,
        nelbo: r.nelbo.value,
        nelbo_error: r.nelbo.error,
        mass: r.mass,
        coarse_mass: r.coarse_mass,
        min_point_gap: r.min_point_gap,
        points_per_sd: r.config.points_per_sd,
        coarse_points_per_sd: r.config.coarse_points_per_sd,
        xt_points_per_sd: r.config.xt_points_per_sd,
        max_grid_points: r.max_grid_points,
        prior_kl: steps.prior_kl.value,
        prior_kl_error: steps.prior_kl.error,
        reverse_kl_sum: reverse_kl_sum.0,
        reverse_kl_sum_error: reverse_kl_sum.1,
        non_gaussianity: steps.non_gaussianity.value,
        non_gaussianity_error: steps.non_gaussianity.error,
        moment_mismatch: steps.moment_mismatch.value,
        moment_mismatch_error: steps.moment_mismatch.error,
        points: &r.points,
        reverse_steps: steps
            .terms
            .iter()
            .map(|x| ReverseStepJson {
                t: x.t,
                reverse_kl: x.reverse_kl.value,
                reverse_kl_error: x.reverse_kl.error,
                non_gaussianity: x.non_gaussianity.value,
                non_gaussianity_error: x.non_gaussianity.error,
                moment_mismatch: x.moment_mismatch.value,
                moment_mismatch_error: x.moment_mismatch.error,
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&doc)?)
}
