//! The headless report: the ELBO table as JSON or CSV, and the schedule table (the report
//! format: docs/report-format.md). The CLI and the app's export share this code.

use serde::Serialize;

use crate::elbo::{
    ConsistencySummary, ElboResult, Estimate, Method, NelboByVariance, TimestepTerm,
};
use crate::mixture::{Component, GaussianMixture};
use crate::schedule::{Finding, NoiseSchedule, ScheduleSpec, VarianceType, spec_findings};

/// The default kernel bandwidth for CSV points.
pub const DEFAULT_BANDWIDTH: f64 = 0.1;

/// The report's JSON document (field names as in docs/report-format.md).
#[derive(Debug, Clone, Serialize)]
pub struct ReportJson<'a> {
    /// d.
    pub dim: usize,
    /// T.
    pub steps: usize,
    /// N.
    pub samples: usize,
    /// Seed.
    pub seed: u64,
    /// Model name.
    pub model: &'a str,
    /// Variance type.
    pub variance: VarianceType,
    /// `"quadrature"` or `"monte-carlo"`: how the rows, totals and H(p0) were computed.
    pub method: Method,
    /// Where the data came from.
    pub data_source: &'a str,
    /// The schedule's label.
    pub schedule: &'a str,
    /// The data mixture.
    pub data: DataJson,
    /// beta_1..beta_T.
    pub betas: &'a [f64],
    /// L_T.
    pub prior_loss: f64,
    /// L_0.
    pub reconstruction_loss: f64,
    /// Its standard error.
    pub reconstruction_stderr: f64,
    /// sum_{t>=2} L_{t-1}.
    pub denoising_loss: f64,
    /// Its standard error.
    pub denoising_stderr: f64,
    /// NELBO.
    pub nelbo: f64,
    /// Its standard error.
    pub nelbo_stderr: f64,
    /// NELBO / (d ln 2).
    pub bits_per_dim: f64,
    /// Its standard error.
    pub bits_per_dim_stderr: f64,
    /// H(p0).
    pub data_entropy: f64,
    /// Its standard error.
    pub data_entropy_stderr: f64,
    /// NELBO - H(p0).
    pub gap: f64,
    /// Its standard error (of per-sample differences).
    pub gap_stderr: f64,
    /// The NELBO of the same model under each reverse-variance choice
    /// (`{fixed_small, fixed_large, analytic}`; null where not computed: under Monte
    /// Carlo the analytic one only with `--variance analytic`).
    pub nelbo_by_variance: ByVariance,
    /// Their standard errors (quadrature: error estimates).
    pub nelbo_by_variance_stderr: ByVariance,
    /// Sanity findings on the schedule and data.
    pub findings: &'a [Finding],
    /// The eq. 45 estimate, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ConsistencySummary>,
    /// One row per t.
    pub timesteps: &'a [TimestepTerm],
}

/// One number per reverse-variance choice (null where undefined).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ByVariance {
    /// `fixed_small`.
    pub fixed_small: Option<f64>,
    /// `fixed_large`.
    pub fixed_large: Option<f64>,
    /// `analytic`.
    pub analytic: Option<f64>,
}

impl ByVariance {
    fn of(n: &NelboByVariance, f: impl Fn(&Estimate) -> f64) -> Self {
        let g = |e: Option<Estimate>| e.map(|e| f(&e)).filter(|v| v.is_finite());
        ByVariance {
            fixed_small: g(n.fixed_small),
            fixed_large: g(n.fixed_large),
            analytic: g(n.analytic),
        }
    }
}

/// `{ "components": [...] }`.
#[derive(Debug, Clone, Serialize)]
pub struct DataJson {
    /// The components.
    pub components: Vec<Component>,
}

/// Everything a report is made of.
pub struct Report<'a> {
    /// The result.
    pub result: &'a ElboResult,
    /// The data.
    pub data: &'a GaussianMixture,
    /// Where the data came from.
    pub data_source: &'a str,
    /// The schedule.
    pub schedule: &'a NoiseSchedule,
    /// The schedule's label.
    pub schedule_label: &'a str,
    /// What the schedule was built from, where known: a process read by its SNR (flow
    /// matching, EDM, Wuerstchen) is then not told that its derived betas decrease.
    pub spec: Option<&'a ScheduleSpec>,
}

impl Report<'_> {
    /// The schedule's sanity findings on these data.
    pub fn findings(&self) -> Vec<Finding> {
        match self.spec {
            Some(spec) => spec_findings(spec, self.schedule, Some(self.data)),
            None => crate::schedule::sanity_findings(self.schedule, Some(self.data)),
        }
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        let r = self.result;
        let findings = self.findings();
        let doc = ReportJson {
            dim: r.dim,
            steps: r.steps,
            samples: r.samples,
            seed: r.seed,
            model: &r.model,
            variance: r.variance,
            method: r.method,
            data_source: self.data_source,
            schedule: self.schedule_label,
            data: DataJson {
                components: self.data.components(),
            },
            betas: self.schedule.betas(),
            prior_loss: r.prior_loss,
            reconstruction_loss: r.reconstruction_loss.mean,
            reconstruction_stderr: r.reconstruction_loss.stderr,
            denoising_loss: r.denoising_loss.mean,
            denoising_stderr: r.denoising_loss.stderr,
            nelbo: r.nelbo.mean,
            nelbo_stderr: r.nelbo.stderr,
            bits_per_dim: r.bits_per_dim.mean,
            bits_per_dim_stderr: r.bits_per_dim.stderr,
            data_entropy: r.data_entropy.mean,
            data_entropy_stderr: r.data_entropy.stderr,
            gap: r.gap.mean,
            gap_stderr: r.gap.stderr,
            nelbo_by_variance: ByVariance::of(&r.nelbo_by_variance, |e| e.mean),
            nelbo_by_variance_stderr: ByVariance::of(&r.nelbo_by_variance, |e| e.stderr),
            findings: &findings,
            consistency: r.consistency,
            timesteps: &r.timesteps,
        };
        // Every float is finite or an Option (null), so serialisation cannot fail; fall
        // back to an error object rather than panic if it ever did.
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The per-timestep table as CSV (empty cell = undefined).
    pub fn to_csv(&self) -> String {
        timesteps_csv(&self.result.timesteps)
    }
}

/// The CSV column names, in order.
pub const CSV_COLUMNS: [&str; 25] = [
    "t",
    "term",
    "beta",
    "alpha_bar",
    "log_snr",
    "loss",
    "stderr",
    "mse_x0",
    "mse_x0_stderr",
    "mse_eps",
    "mse_eps_stderr",
    "mse_score",
    "mse_score_stderr",
    "mse_v",
    "mse_v_stderr",
    "weight_x0",
    "weight_eps",
    "weight_score",
    "weight_v",
    "kurtosis",
    "reliable",
    "exact",
    "consistency_loss",
    "consistency_stderr",
    "method",
];

/// Write per-timestep rows as CSV.
pub fn timesteps_csv(rows: &[TimestepTerm]) -> String {
    let cell = |v: Option<f64>| v.map(|x| format!("{x:e}")).unwrap_or_default();
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        let cells = [
            r.t.to_string(),
            match r.term {
                crate::elbo::TermKind::Reconstruction => "reconstruction".into(),
                crate::elbo::TermKind::Denoising => "denoising".into(),
            },
            cell(Some(r.beta)),
            cell(Some(r.alpha_bar)),
            cell(r.log_snr),
            cell(r.loss),
            cell(r.stderr),
            cell(r.mse_x0),
            cell(r.mse_x0_stderr),
            cell(r.mse_eps),
            cell(r.mse_eps_stderr),
            cell(r.mse_score),
            cell(r.mse_score_stderr),
            cell(r.mse_v),
            cell(r.mse_v_stderr),
            cell(r.weight_x0),
            cell(r.weight_eps),
            cell(r.weight_score),
            cell(r.weight_v),
            cell(r.kurtosis),
            r.reliable.map(|b| b.to_string()).unwrap_or_default(),
            r.exact.to_string(),
            cell(r.consistency_loss),
            cell(r.consistency_stderr),
            r.method.name().to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// One row of the schedule table.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleRow {
    /// t.
    pub t: usize,
    /// beta_t.
    pub beta: f64,
    /// abar_t.
    pub alpha_bar: f64,
    /// 1 - abar_t (precise).
    pub one_minus_alpha_bar: f64,
    /// log-SNR (null where abar_t = 0).
    pub log_snr: Option<f64>,
    /// sigma~2_t.
    pub posterior_variance: f64,
}

/// The schedule table.
pub fn schedule_rows(schedule: &NoiseSchedule) -> Vec<ScheduleRow> {
    (1..=schedule.steps())
        .map(|t| ScheduleRow {
            t,
            beta: schedule.beta(t),
            alpha_bar: schedule.abar(t),
            one_minus_alpha_bar: schedule.one_minus_abar(t),
            log_snr: schedule.log_snr(t),
            posterior_variance: schedule.posterior_variance(t),
        })
        .collect()
}
