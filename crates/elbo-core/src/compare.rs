//! Several schedules side by side on the same data (issue 13): one row per schedule with
//! its log-SNR range, terminal abar, prior term, NELBO and the paired difference to the
//! first schedule. The CLI's `elbo-lab compare` prints this table; the app can export it.
//!
//! By default every NELBO is computed by quadrature ([`Method::Quadrature`], as `report`
//! and the app's ELBO tab do), so one schedule has one NELBO everywhere; a difference is
//! then exact up to the two quadrature error estimates. Paired Monte Carlo is there on
//! request ([`Method::MonteCarlo`]):
//!
//! Pairing (common random numbers): every schedule is evaluated on the same N pairs
//! `(x0_i, eps_i)` (one draw from the seed). The NELBO of a schedule is the mean of the
//! per-sample totals `n_i = L_0 + sum_{t>=2} L_{t-1} + L_T`, each evaluated at
//! `x_t = sqrt(abar_t) x0_i + sqrt(1 - abar_t) eps_i` for every t of that schedule, so
//! schedules of different T still share x0_i and eps_i sample by sample. The difference
//! to the first schedule is the mean of `n_i(B) - n_i(A)` and its standard error is that
//! of those N differences: much smaller than `sqrt(se_A^2 + se_B^2)` (the unpaired error,
//! also reported) because both totals move together with x0_i and eps_i.

use serde::Serialize;
use thiserror::Error;

use crate::denoiser::ModelKind;
use crate::elbo::{
    Control, ElboConfig, ElboError, ElboResult, Estimate, McSamples, Method, check_samples,
    compute_elbo, compute_elbo_per_sample, moments,
};
use crate::mixture::GaussianMixture;
use crate::schedule::{Finding, ScheduleError, ScheduleSpec, VarianceType, spec_findings};

/// One schedule to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareEntry {
    /// The name shown in the table (a preset's name, a config's file name).
    pub name: String,
    /// `_class_name` of a config, if any.
    pub class_name: Option<String>,
    /// The schedule.
    pub spec: ScheduleSpec,
    /// The reverse variance (a config's `variance_type`, or the default).
    pub variance: VarianceType,
    /// How the config was read (see `LoadedSchedule::notes`).
    pub notes: Vec<String>,
}

/// Settings of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareConfig {
    /// How each NELBO is computed: quadrature (the default, as everywhere else) or Monte
    /// Carlo on `(x0, eps)` pairs shared by every schedule.
    pub method: Method,
    /// N, the number of `(x0, eps)` pairs shared by every schedule (Monte Carlo only).
    pub samples: usize,
    /// Seed of the draw (Monte Carlo only).
    pub seed: u64,
    /// The model whose NELBO is computed under each schedule.
    pub model: ModelKind,
}

/// Why a comparison failed: which schedule, and what went wrong.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CompareError {
    /// No schedules.
    #[error("compare needs at least one schedule")]
    Empty,
    /// A schedule that does not build.
    #[error("schedule '{name}': {source}")]
    Schedule {
        /// Its name.
        name: String,
        /// The error.
        source: ScheduleError,
    },
    /// The ELBO of a schedule could not be computed.
    #[error("schedule '{name}': {source}")]
    Elbo {
        /// Its name.
        name: String,
        /// The error.
        source: ElboError,
    },
    /// Bad settings (sample count).
    #[error("{0}")]
    Settings(ElboError),
}

/// One row of the table. Undefined values are `None` (null in JSON, empty in CSV).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The schedule's name.
    pub name: String,
    /// `_class_name` of its config, if any.
    pub class: Option<String>,
    /// The schedule's label (formula and parameters).
    pub schedule: String,
    /// T.
    pub steps: usize,
    /// lambda_1, the largest log-SNR.
    pub log_snr_max: Option<f64>,
    /// lambda_T, the smallest log-SNR (`None` where abar_T = 0: it is -inf).
    pub log_snr_min: Option<f64>,
    /// abar_T.
    pub terminal_alpha_bar: f64,
    /// L_T (exact).
    pub prior_loss: f64,
    /// NELBO, nats.
    pub nelbo: f64,
    /// Its standard error.
    pub nelbo_stderr: f64,
    /// NELBO minus the first schedule's NELBO (on the same samples under Monte Carlo; 0 on
    /// the first row).
    pub nelbo_diff: f64,
    /// Standard error of the difference: of the paired differences under Monte Carlo, the
    /// two quadrature error estimates combined under quadrature (0 on the first row).
    pub nelbo_diff_stderr: f64,
    /// What the standard error of the difference would be without pairing,
    /// `sqrt(se^2 + se_first^2)` (0 on the first row).
    pub nelbo_diff_unpaired_stderr: f64,
    /// The sanity findings of the schedule on these data.
    pub findings: Vec<Finding>,
    /// How its config was read.
    pub notes: Vec<String>,
}

/// The comparison table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareTable {
    /// Where the data came from.
    pub data_source: String,
    /// d.
    pub dim: usize,
    /// How the NELBOs were computed.
    pub method: Method,
    /// N (Monte Carlo).
    pub samples: usize,
    /// Seed.
    pub seed: u64,
    /// The model's name.
    pub model: String,
    /// One row per schedule, in the order given; differences are to the first.
    pub rows: Vec<CompareRow>,
    /// What the table as a whole needs said: where the ranking by NELBO and the findings
    /// disagree, and why.
    pub notes: Vec<String>,
}

/// Compare `entries` on `data` with one shared Monte Carlo draw (see the module docs).
///
/// # Errors
/// No entries, a bad sample count, a schedule that does not build (named), or an ELBO
/// that cannot be computed (named).
pub fn compare(
    data: &GaussianMixture,
    data_source: &str,
    entries: &[CompareEntry],
    config: &CompareConfig,
    control: Control<'_>,
) -> Result<CompareTable, CompareError> {
    if entries.is_empty() {
        return Err(CompareError::Empty);
    }
    check_samples(config.samples).map_err(CompareError::Settings)?;
    let schedules = entries
        .iter()
        .map(|e| {
            e.spec.build().map_err(|source| CompareError::Schedule {
                name: e.name.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let model = config.model.build(data);
    let samples = (config.method == Method::MonteCarlo)
        .then(|| McSamples::draw(data, config.samples, config.seed));
    let mut rows = Vec::with_capacity(entries.len());
    // The first row's per-sample totals (Monte Carlo), NELBO and standard error.
    let mut first: Option<(Vec<f64>, Estimate)> = None;
    // Progress counts timesteps over every schedule: this one's count follows the earlier ones'.
    let mut steps_before = 0;
    for (entry, schedule) in entries.iter().zip(&schedules) {
        let on_step = |done: usize| {
            if let Some(f) = control.on_step {
                f(steps_before + done);
            }
        };
        let row_control = Control {
            on_step: Some(&on_step),
            cancel: control.cancel,
        };
        let elbo_config = ElboConfig {
            samples: config.samples,
            seed: config.seed,
            variance: entry.variance,
            consistency: false,
            method: config.method,
        };
        let named = |source| CompareError::Elbo {
            name: entry.name.clone(),
            source,
        };
        let (result, totals): (ElboResult, Vec<f64>) = match &samples {
            // Paired differences need per-sample totals: Monte Carlo on shared draws.
            Some(samples) => compute_elbo_per_sample(
                data,
                schedule,
                model.as_ref(),
                &elbo_config,
                samples,
                row_control,
            )
            .map_err(named)?,
            None => (
                compute_elbo(data, schedule, model.as_ref(), &elbo_config, row_control)
                    .map_err(named)?,
                Vec::new(),
            ),
        };
        let (diff, paired, unpaired) = match &first {
            None => (Estimate::default(), 0.0, 0.0),
            Some((base, base_nelbo)) => {
                let unpaired = result.nelbo.stderr.hypot(base_nelbo.stderr);
                if samples.is_some() {
                    let d: Vec<f64> = totals.iter().zip(base).map(|(a, b)| a - b).collect();
                    let m = moments(&d);
                    (
                        Estimate {
                            mean: m.mean,
                            stderr: m.stderr,
                        },
                        m.stderr,
                        unpaired,
                    )
                } else {
                    let mean = result.nelbo.mean - base_nelbo.mean;
                    (
                        Estimate {
                            mean,
                            stderr: unpaired,
                        },
                        unpaired,
                        unpaired,
                    )
                }
            }
        };
        let t_max = schedule.steps();
        rows.push(CompareRow {
            name: entry.name.clone(),
            class: entry.class_name.clone(),
            schedule: entry.spec.label(),
            steps: t_max,
            log_snr_max: schedule.log_snr(1),
            log_snr_min: schedule.log_snr(t_max),
            terminal_alpha_bar: schedule.terminal_abar(),
            prior_loss: result.prior_loss,
            nelbo: result.nelbo.mean,
            nelbo_stderr: result.nelbo.stderr,
            nelbo_diff: diff.mean,
            nelbo_diff_stderr: paired,
            nelbo_diff_unpaired_stderr: unpaired,
            findings: spec_findings(&entry.spec, schedule, Some(data)),
            notes: entry.notes.clone(),
        });
        if first.is_none() {
            first = Some((totals, result.nelbo));
        }
        steps_before += t_max;
    }
    let notes = ranking_notes(&rows);
    Ok(CompareTable {
        data_source: data_source.to_string(),
        dim: data.dim(),
        method: config.method,
        samples: config.samples,
        seed: config.seed,
        model: model.name(),
        rows,
        notes,
    })
}

/// Where the schedule with the lowest NELBO carries a warning that a schedule ranked
/// below it does not, say why the two disagree: the NELBO scores the model's denoising and
/// the prior term, not how the schedule samples.
fn ranking_notes(rows: &[CompareRow]) -> Vec<String> {
    let warned = |r: &CompareRow| {
        r.findings
            .iter()
            .any(|f| f.severity == crate::schedule::Severity::Warning)
    };
    let Some(best) = rows.iter().min_by(|a, b| a.nelbo.total_cmp(&b.nelbo)) else {
        return Vec::new();
    };
    if !warned(best) || rows.iter().all(warned) {
        return Vec::new();
    }
    let codes: Vec<&str> = best
        .findings
        .iter()
        .filter(|f| f.severity == crate::schedule::Severity::Warning)
        .map(|f| f.code.as_str())
        .collect();
    let why = if codes.iter().any(|c| {
        matches!(
            *c,
            "terminal_snr_not_zero" | "terminal_signal_not_negligible"
        )
    }) {
        "its terminal SNR is not zero, which the optimal denoiser pays for only in the prior term L_T (small); the cost is in sampling, which starts from N(0, I) while q(x_T) still holds signal, and the NELBO does not see it"
    } else {
        "the NELBO scores how well the model denoises under the schedule, not how the schedule samples; its warnings are about the latter"
    };
    vec![format!(
        "{} has the lowest NELBO but a warning ({}): {why}",
        best.name,
        codes.join(", ")
    )]
}

/// The CSV columns of [`CompareTable::to_csv`], in order.
pub const COMPARE_CSV_COLUMNS: [&str; 14] = [
    "name",
    "class",
    "schedule",
    "steps",
    "log_snr_max",
    "log_snr_min",
    "terminal_alpha_bar",
    "prior_loss",
    "nelbo",
    "nelbo_stderr",
    "nelbo_diff",
    "nelbo_diff_stderr",
    "nelbo_diff_unpaired_stderr",
    "findings",
];

/// The formats a [`CompareTable`] can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// Aligned columns for people, then each schedule's notes and findings.
    #[default]
    Text,
    /// One line per schedule ([`COMPARE_CSV_COLUMNS`]).
    Csv,
    /// One JSON document.
    Json,
}

impl TableFormat {
    /// Every format, in the order the app offers them.
    pub const ALL: [TableFormat; 3] = [TableFormat::Text, TableFormat::Csv, TableFormat::Json];

    /// Its name in the app.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Text => "Text",
            TableFormat::Csv => "CSV",
            TableFormat::Json => "JSON",
        }
    }

    /// The file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Text => "txt",
            TableFormat::Csv => "csv",
            TableFormat::Json => "json",
        }
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl CompareTable {
    /// The table in `format`, ending with a line break.
    pub fn render(&self, format: TableFormat) -> String {
        match format {
            TableFormat::Text => self.to_text(),
            TableFormat::Csv => self.to_csv(),
            TableFormat::Json => self.to_json() + "\n",
        }
    }

    /// The JSON document (pretty-printed; undefined values are null).
    pub fn to_json(&self) -> String {
        // Every float is finite or an Option, so this cannot fail; never panic if it did.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// One CSV line per schedule ([`COMPARE_CSV_COLUMNS`]; empty cell = undefined;
    /// findings as their codes joined by `;`).
    pub fn to_csv(&self) -> String {
        let num = |v: f64| format!("{v:e}");
        let opt = |v: Option<f64>| v.map(num).unwrap_or_default();
        let mut out = COMPARE_CSV_COLUMNS.join(",");
        out.push('\n');
        for r in &self.rows {
            let codes: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
            let cells = [
                csv_cell(&r.name),
                csv_cell(r.class.as_deref().unwrap_or("")),
                csv_cell(&r.schedule),
                r.steps.to_string(),
                opt(r.log_snr_max),
                opt(r.log_snr_min),
                num(r.terminal_alpha_bar),
                num(r.prior_loss),
                num(r.nelbo),
                num(r.nelbo_stderr),
                num(r.nelbo_diff),
                num(r.nelbo_diff_stderr),
                num(r.nelbo_diff_unpaired_stderr),
                csv_cell(&codes.join(";")),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Aligned columns for people, then each schedule's notes and findings.
    pub fn to_text(&self) -> String {
        let lam = |v: Option<f64>| v.map_or("-inf".to_string(), |x| format!("{x:.2}"));
        let how = match self.method {
            Method::Quadrature => "NELBO by quadrature".to_owned(),
            Method::MonteCarlo => format!(
                "NELBO by Monte Carlo on N = {} shared (x0, eps) pairs, seed {}",
                self.samples, self.seed
            ),
        };
        let mut s = format!(
            "data: {} (d = {}), model {}, {how}\n\n",
            self.data_source, self.dim, self.model
        );
        let name_w = self
            .rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(8);
        let class_w = self
            .rows
            .iter()
            .map(|r| r.class.as_deref().unwrap_or("-").chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        s += &format!(
            "{:<name_w$}  {:<class_w$}  {:>6}  {:>17}  {:>10}  {:>10}  {:>21}  {:>29}\n",
            "schedule",
            "class",
            "T",
            "log-SNR range",
            "abar_T",
            "prior L_T",
            "NELBO +- se",
            match self.method {
                Method::Quadrature => "vs first +- se",
                Method::MonteCarlo => "vs first +- paired se (unp.)",
            }
        );
        for (i, r) in self.rows.iter().enumerate() {
            let diff = if i == 0 {
                "(reference)".to_string()
            } else if self.method == Method::Quadrature {
                format!("{:+.4} +- {:.4}", r.nelbo_diff, r.nelbo_diff_stderr)
            } else {
                format!(
                    "{:+.4} +- {:.4} ({:.4})",
                    r.nelbo_diff, r.nelbo_diff_stderr, r.nelbo_diff_unpaired_stderr
                )
            };
            s += &format!(
                "{:<name_w$}  {:<class_w$}  {:>6}  {:>17}  {:>10.3e}  {:>10.3e}  {:>21}  {:>29}\n",
                r.name,
                r.class.as_deref().unwrap_or("-"),
                r.steps,
                format!("{} .. {}", lam(r.log_snr_max), lam(r.log_snr_min)),
                r.terminal_alpha_bar,
                r.prior_loss,
                format!("{:.4} +- {:.4}", r.nelbo, r.nelbo_stderr),
                diff
            );
        }
        s += match self.method {
            Method::Quadrature => {
                "\nNELBO in nats, by quadrature: se is the quadrature's error estimate.\n"
            }
            Method::MonteCarlo => {
                "\nNELBO in nats; the differences are paired: every schedule sees the same (x0, eps) pairs.\n"
            }
        };
        for n in &self.notes {
            s += &format!("note: {n}\n");
        }
        for r in &self.rows {
            s += &format!("\n{} ({}):\n", r.name, r.schedule);
            for n in &r.notes {
                s += &format!("  note: {n}\n");
            }
            if r.findings.is_empty() {
                s += "  no findings: the schedule looks sane for these data\n";
            }
            for f in &r.findings {
                let tag = match f.severity {
                    crate::schedule::Severity::Info => "info",
                    crate::schedule::Severity::Warning => "warning",
                };
                s += &format!("  [{tag}] {}\n", f.message);
            }
        }
        s
    }
}
