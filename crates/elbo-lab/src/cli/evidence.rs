//! `elbo-lab evidence` (issue 10, docs/report-format.md): the model's own marginal
//! p_theta(x0), the ELBO of each point and `NELBO - H(p0) = KL(p0 || p_theta) + mean bound
//! gap`, as JSON. 1D only.
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
    points: &'a [EvidencePoint],
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
    let total = progress_total(schedule.steps(), &config) as u64;
    let progress = StepProgress::new(
        !cmd.quiet && schedule.steps() >= 2000,
        total,
        "evidence",
        "",
    );
    let on_step = |done: usize| progress.step(done);
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
    progress.finish();
    let label = resolved.spec.label();
    let text = to_json(&result, resolved.variance.name(), &data_label, &label)?;
    write_out(cmd.out.as_deref(), &(text + "\n"))
}

fn to_json(r: &EvidenceResult, variance: &str, data: &str, schedule: &str) -> Result<String> {
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
        points: &r.points,
    };
    Ok(serde_json::to_string_pretty(&doc)?)
}
