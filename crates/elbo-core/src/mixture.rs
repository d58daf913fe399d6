//! Gaussian mixtures in 1D and 2D: the toy data of ELBO Lab (forward marginals: Luo eq. 70).
//!
//! ```text
//! p0(x) = sum_k pi_k N(x; m_k, S_k),  d in {1, 2},  S_k symmetric positive definite
//! q_t(x) = sum_k pi_k N(x; sqrt(abar_t) m_k, abar_t S_k + (1 - abar_t) I)
//! ```
//! The forward marginal is again a mixture, which is what keeps every density, score and
//! denoiser in ELBO Lab exact.

use std::path::Path;

use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal, weighted::WeightedAliasIndex};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::normal::LN_2PI;
use crate::normal::normal_log_pdf;

/// The largest `|mean|` of a component accepted, in data units.
///
/// Every quantity of the ELBO differences nearby points: `x_t - sqrt(abar_t) m_k` in the
/// kernel, `x0_hat - x0` in the errors, `x0 - m_k` in the data entropy. In f64 such a
/// difference carries an absolute rounding error of about `2.2e-16 |m|`; with `|m| <= 1e6`
/// that is at most `2.2e-10`, below `2.2e-4` of the smallest allowed standard deviation
/// ([`MIN_SD`]) and far below the noise of any schedule's first step. At `|m| = 1e15` it
/// is 0.2, larger than the structure being measured: the numbers are silently wrong.
pub const MAX_ABS_MEAN: f64 = 1e6;
/// Most components a mixture may have (a CSV becomes one component per point). Every
/// ELBO row costs K responsibilities per sample: at this cap the full report (T = 1000,
/// N = 4096) takes about a minute and a half instead of the 0.3 s of 64 components.
pub const MAX_COMPONENTS: usize = 20_000;
/// The smallest standard deviation of a component along any direction,
/// `sqrt(lambda_min(S_k))`. Below it the differences of [`MAX_ABS_MEAN`]'s note lose their
/// relative precision, and `1/S_k` and `log det S_k` leave the range where squares of
/// deviations stay representable (a variance of 1e-300 underflows their products).
pub const MIN_SD: f64 = 1e-6;
/// The largest standard deviation of a component along any direction,
/// `sqrt(lambda_max(S_k))`: variances up to 1e12 keep `E||x0||^2`, the prior term and
/// every squared error far from overflow (a variance of 1e300 overflows their sums).
pub const MAX_SD: f64 = 1e6;
/// The largest condition number `lambda_max / lambda_min` of a 2D component covariance.
/// Its inverse and log-determinant then carry a relative error of about
/// `2.2e-16 * 1e8 = 2.2e-8`, far below Monte Carlo error; beyond it the small eigenvalue
/// is mostly rounding.
pub const MAX_CONDITION: f64 = 1e8;

/// What can be wrong with a mixture. Each message names the field and the value.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MixtureError {
    /// No components.
    #[error("the mixture has no components")]
    Empty,
    /// More components than the app and the report can compute with in reasonable time.
    #[error(
        "{count} components (or CSV points) is more than the {max} ELBO Lab computes with (MAX_COMPONENTS); thin the points or fit fewer components"
    )]
    TooManyComponents {
        /// How many there were.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// Dimension other than 1 or 2.
    #[error("{field}: dimension {dim} is not supported (ELBO Lab shows 1D and 2D data)")]
    BadDimension {
        /// The field.
        field: String,
        /// The dimension found.
        dim: usize,
    },
    /// Components of different dimensions.
    #[error("{field}: has dimension {found}, but components[0] has dimension {expected}")]
    MixedDimensions {
        /// The field.
        field: String,
        /// Dimension of the first component.
        expected: usize,
        /// Dimension found here.
        found: usize,
    },
    /// A weight that is not a positive finite number.
    #[error("{field} = {value}: a weight must be a positive finite number")]
    BadWeight {
        /// The field.
        field: String,
        /// The value.
        value: f64,
    },
    /// A value that is not finite.
    #[error("{field} = {value}: not a finite number")]
    NotFinite {
        /// The field.
        field: String,
        /// The value.
        value: f64,
    },
    /// A covariance of the wrong shape, not symmetric, or not positive definite.
    #[error("{field}: {why}")]
    BadCovariance {
        /// The field.
        field: String,
        /// What is wrong.
        why: String,
    },
    /// A finite value outside the range where f64 computes the ELBO correctly.
    #[error(
        "{field} = {value:e} is out of range: {limit}; ELBO Lab computes in f64 and would lose the precision of the result, so rescale the data"
    )]
    OutOfRange {
        /// The field.
        field: String,
        /// The value.
        value: f64,
        /// The limit, with the named constant, for example `|mean| must be at most 1e6 (MAX_ABS_MEAN)`.
        limit: String,
    },
    /// A file problem (unreadable, malformed JSON or CSV).
    #[error("{path}: {why}")]
    File {
        /// The path.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// One mixture component as written in JSON (the report's `data.components[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Mixture weight (normalised over the components on construction).
    pub weight: f64,
    /// Mean, length d.
    pub mean: Vec<f64>,
    /// Covariance, d x d, symmetric positive definite.
    pub cov: Vec<Vec<f64>>,
}

/// A symmetric 2x2 (or, with `xy = yy = 0`, 1x1) matrix.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sym2 {
    /// Entry (0, 0).
    pub xx: f64,
    /// Entry (0, 1) = (1, 0); 0 in 1D.
    pub xy: f64,
    /// Entry (1, 1); 0 in 1D.
    pub yy: f64,
}

impl Sym2 {
    /// The eigenvalues, smallest first (in 1D both are `xx`).
    pub fn eigenvalues(&self, dim: usize) -> (f64, f64) {
        if dim == 1 {
            return (self.xx, self.xx);
        }
        let mean = 0.5 * (self.xx + self.yy);
        let half_diff = 0.5 * (self.xx - self.yy);
        let r = half_diff.hypot(self.xy);
        let hi = mean + r;
        // `mean - r` cancels for an ill-conditioned matrix; `det / hi` does not (exact for
        // a diagonal one), so use it whenever the determinant is positive.
        let det = self.xx * self.yy - self.xy * self.xy;
        let lo = if det > 0.0 && hi > 0.0 {
            det / hi
        } else {
            mean - r
        };
        (lo, hi)
    }

    /// The trace over the first `dim` dimensions.
    pub fn trace(&self, dim: usize) -> f64 {
        if dim == 1 { self.xx } else { self.xx + self.yy }
    }
}

/// A validated Gaussian mixture in 1D or 2D with normalised weights.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    dim: usize,
    weights: Vec<f64>,
    means: Vec<[f64; 2]>,
    covs: Vec<Sym2>,
}

/// The JSON file form: `{ "components": [...] }` (a whole report, with its `data` field,
/// is accepted too).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MixtureFile {
    /// The components.
    pub components: Vec<Component>,
}

impl GaussianMixture {
    /// Validate components and build the mixture.
    pub fn new(components: &[Component]) -> Result<Self, MixtureError> {
        if components.len() > MAX_COMPONENTS {
            return Err(MixtureError::TooManyComponents {
                count: components.len(),
                max: MAX_COMPONENTS,
            });
        }
        let first = components.first().ok_or(MixtureError::Empty)?;
        let dim = first.mean.len();
        if !(dim == 1 || dim == 2) {
            return Err(MixtureError::BadDimension {
                field: "components[0].mean".into(),
                dim,
            });
        }
        let mut weights = Vec::with_capacity(components.len());
        let mut means = Vec::with_capacity(components.len());
        let mut covs = Vec::with_capacity(components.len());
        for (k, c) in components.iter().enumerate() {
            let field = |f: &str| format!("components[{k}].{f}");
            if !(c.weight.is_finite() && c.weight > 0.0) {
                return Err(MixtureError::BadWeight {
                    field: field("weight"),
                    value: c.weight,
                });
            }
            if c.mean.len() != dim {
                return Err(MixtureError::MixedDimensions {
                    field: field("mean"),
                    expected: dim,
                    found: c.mean.len(),
                });
            }
            for (i, &v) in c.mean.iter().enumerate() {
                if !v.is_finite() {
                    return Err(MixtureError::NotFinite {
                        field: format!("components[{k}].mean[{i}]"),
                        value: v,
                    });
                }
                if v.abs() > MAX_ABS_MEAN {
                    return Err(MixtureError::OutOfRange {
                        field: format!("components[{k}].mean[{i}]"),
                        value: v,
                        limit: format!("|mean| must be at most {MAX_ABS_MEAN:e} (MAX_ABS_MEAN)"),
                    });
                }
            }
            let cov = parse_cov(&c.cov, dim, &field("cov"))?;
            check_scale(&cov, dim, &field("cov"))?;
            weights.push(c.weight);
            means.push([c.mean[0], if dim == 2 { c.mean[1] } else { 0.0 }]);
            covs.push(cov);
        }
        let total: f64 = weights.iter().sum();
        if !total.is_finite() {
            return Err(MixtureError::BadWeight {
                field: "components[*].weight (sum)".into(),
                value: total,
            });
        }
        weights.iter_mut().for_each(|w| *w /= total);
        Ok(GaussianMixture {
            dim,
            weights,
            means,
            covs,
        })
    }

    /// A single Gaussian `N(mean, cov)`.
    pub fn gaussian(mean: &[f64], cov: Vec<Vec<f64>>) -> Result<Self, MixtureError> {
        Self::new(&[Component {
            weight: 1.0,
            mean: mean.to_vec(),
            cov,
        }])
    }

    /// Dimension d (1 or 2).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components K.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Always false: a mixture has at least one component.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Normalised weights pi_k.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Means m_k (second entry 0 in 1D).
    pub fn means(&self) -> &[[f64; 2]] {
        &self.means
    }

    /// Covariances S_k.
    pub fn covs(&self) -> &[Sym2] {
        &self.covs
    }

    /// The components in file form (weights normalised).
    pub fn components(&self) -> Vec<Component> {
        (0..self.len())
            .map(|k| {
                let (m, c) = (self.means[k], self.covs[k]);
                if self.dim == 1 {
                    Component {
                        weight: self.weights[k],
                        mean: vec![m[0]],
                        cov: vec![vec![c.xx]],
                    }
                } else {
                    Component {
                        weight: self.weights[k],
                        mean: m.to_vec(),
                        cov: vec![vec![c.xx, c.xy], vec![c.xy, c.yy]],
                    }
                }
            })
            .collect()
    }

    /// The forward marginal q_t as a mixture, given `sqrt(abar_t)` and `1 - abar_t`:
    /// `a_k = sqrt(abar) m_k`, `C_k = abar S_k + (1 - abar) I`.
    pub fn forward(&self, sqrt_abar: f64, one_minus_abar: f64) -> GaussianMixture {
        let abar = sqrt_abar * sqrt_abar;
        GaussianMixture {
            dim: self.dim,
            weights: self.weights.clone(),
            means: self
                .means
                .iter()
                .map(|m| [sqrt_abar * m[0], sqrt_abar * m[1]])
                .collect(),
            covs: self
                .covs
                .iter()
                .map(|c| Sym2 {
                    xx: abar * c.xx + one_minus_abar,
                    xy: abar * c.xy,
                    yy: if self.dim == 2 {
                        abar * c.yy + one_minus_abar
                    } else {
                        0.0
                    },
                })
                .collect(),
        }
    }

    /// Exact `log p(x)` at one point (`x.len() == d`), by logsumexp over components.
    pub fn log_density(&self, x: &[f64]) -> f64 {
        let mut best = f64::NEG_INFINITY;
        let logs: Vec<f64> = (0..self.len())
            .map(|k| {
                let l = self.weights[k].ln() + self.log_normal(k, x);
                best = best.max(l);
                l
            })
            .collect();
        if best == f64::NEG_INFINITY {
            return best;
        }
        best + logs.iter().map(|l| (l - best).exp()).sum::<f64>().ln()
    }

    /// Exact `log p(x)` for every row of `xs` (shape `(n, d)`), in parallel.
    pub fn log_density_batch(&self, xs: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
        use rayon::prelude::*;
        xs.axis_iter(ndarray::Axis(0))
            .into_par_iter()
            .map(|row| {
                let p = [row[0], if self.dim == 2 { row[1] } else { 0.0 }];
                self.log_density(&p[..self.dim])
            })
            .collect()
    }

    /// `log N(x; m_k, S_k)`.
    fn log_normal(&self, k: usize, x: &[f64]) -> f64 {
        let (m, c) = (self.means[k], self.covs[k]);
        if self.dim == 1 {
            normal_log_pdf(x[0], m[0], c.xx)
        } else {
            let (dx, dy) = (x[0] - m[0], x[1] - m[1]);
            let det = c.xx * c.yy - c.xy * c.xy;
            let q = (c.yy * dx * dx - 2.0 * c.xy * dx * dy + c.xx * dy * dy) / det;
            -0.5 * (2.0 * LN_2PI + det.ln() + q)
        }
    }

    /// Draw `n` samples; returns the points `(n, d)` and the component each came from.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Array2<f64>, Vec<usize>) {
        let mut out = Array2::zeros((n, self.dim));
        let mut labels = Vec::with_capacity(n);
        // Weights were validated positive and finite, so the alias table always builds;
        // fall back to the first component rather than panic if it ever did not.
        let alias = WeightedAliasIndex::new(self.weights.clone()).ok();
        for i in 0..n {
            let k = alias.as_ref().map_or(0, |a| a.sample(rng));
            let (m, c) = (self.means[k], self.covs[k]);
            let z0: f64 = StandardNormal.sample(rng);
            if self.dim == 1 {
                out[[i, 0]] = m[0] + c.xx.sqrt() * z0;
            } else {
                let z1: f64 = StandardNormal.sample(rng);
                // Cholesky of [[xx, xy], [xy, yy]].
                let l00 = c.xx.sqrt();
                let l10 = c.xy / l00;
                let l11 = (c.yy - l10 * l10).max(0.0).sqrt();
                out[[i, 0]] = m[0] + l00 * z0;
                out[[i, 1]] = m[1] + l10 * z0 + l11 * z1;
            }
            labels.push(k);
        }
        (out, labels)
    }

    /// Overall mean `E[x0] = sum_k pi_k m_k`.
    pub fn mean(&self) -> [f64; 2] {
        let mut m = [0.0; 2];
        for (w, mk) in self.weights.iter().zip(&self.means) {
            m[0] += w * mk[0];
            m[1] += w * mk[1];
        }
        m
    }

    /// Overall covariance `sum_k pi_k (S_k + m_k m_k^T) - m m^T`.
    pub fn covariance(&self) -> Sym2 {
        let m = self.mean();
        let mut c = Sym2::default();
        for ((w, mk), s) in self.weights.iter().zip(&self.means).zip(&self.covs) {
            let (dx, dy) = (mk[0] - m[0], mk[1] - m[1]);
            c.xx += w * (s.xx + dx * dx);
            if self.dim == 2 {
                c.xy += w * (s.xy + dx * dy);
                c.yy += w * (s.yy + dy * dy);
            }
        }
        c
    }

    /// The moment-matched Gaussian `N(mean, covariance)` of these data, as a one-component
    /// mixture. Not checked against the scale limits ([`MAX_CONDITION`] and friends bound
    /// user input, not derived data: the fit of well-separated narrow components is
    /// legitimately ill-conditioned); its covariance is SPD whenever the data are valid.
    pub fn moment_fit(&self) -> GaussianMixture {
        GaussianMixture {
            dim: self.dim,
            weights: vec![1.0],
            means: vec![self.mean()],
            covs: vec![self.covariance()],
        }
    }

    /// `E||x0||^2 = sum_k pi_k (||m_k||^2 + tr S_k)`.
    pub fn second_moment(&self) -> f64 {
        self.weights
            .iter()
            .zip(&self.means)
            .zip(&self.covs)
            .map(|((w, m), s)| w * (m[0] * m[0] + m[1] * m[1] + s.trace(self.dim)))
            .sum()
    }

    /// The finest scale in the data: the smallest component standard deviation along any
    /// direction, `min_k sqrt(lambda_min(S_k))`.
    pub fn finest_scale(&self) -> f64 {
        self.covs
            .iter()
            .map(|c| c.eigenvalues(self.dim).0.sqrt())
            .fold(f64::INFINITY, f64::min)
    }

    /// A box that holds almost all the mass: per axis, `[min, max]` over components of
    /// `m_k -/+ 3.5 sd_k`.
    pub fn bounds(&self) -> [[f64; 2]; 2] {
        let mut b = [[f64::INFINITY, f64::NEG_INFINITY]; 2];
        for (m, c) in self.means.iter().zip(&self.covs) {
            let sds = [c.xx.sqrt(), c.yy.sqrt()];
            for axis in 0..self.dim {
                b[axis][0] = b[axis][0].min(m[axis] - 3.5 * sds[axis]);
                b[axis][1] = b[axis][1].max(m[axis] + 3.5 * sds[axis]);
            }
        }
        b
    }

    /// The mixture as the JSON that `--data FILE` reads ([`parse_mixture_json`]):
    /// `{ "components": [{ "weight", "mean", "cov" }, ...] }`, weights normalised. f64 values
    /// are written in their shortest round-trip form, so reading the file back gives the
    /// same numbers (to the last bit, up to the parser's rounding).
    pub fn to_json(&self) -> String {
        let file = MixtureFile {
            components: self.components(),
        };
        // Plain numbers and strings only: serialising cannot fail.
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    /// Build a mixture from points: each point becomes a component `N(x_i, h^2 I)` with
    /// equal weight (a kernel density estimate with bandwidth `h`).
    pub fn from_points(points: &[Vec<f64>], bandwidth: f64) -> Result<Self, MixtureError> {
        if !(bandwidth.is_finite() && bandwidth > 0.0) {
            return Err(MixtureError::BadCovariance {
                field: "bandwidth".into(),
                why: format!("{bandwidth} must be a positive finite number"),
            });
        }
        if !(MIN_SD..=MAX_SD).contains(&bandwidth) {
            return Err(MixtureError::OutOfRange {
                field: "bandwidth".into(),
                value: bandwidth,
                limit: format!(
                    "the bandwidth is each point's standard deviation and must lie in [{MIN_SD:e}, {MAX_SD:e}] (MIN_SD, MAX_SD)"
                ),
            });
        }
        let h2 = bandwidth * bandwidth;
        let comps: Vec<Component> = points
            .iter()
            .map(|p| Component {
                weight: 1.0,
                mean: p.clone(),
                cov: if p.len() == 1 {
                    vec![vec![h2]]
                } else {
                    vec![vec![h2, 0.0], vec![0.0, h2]]
                },
            })
            .collect();
        Self::new(&comps)
    }
}

/// A covariance within the scales f64 handles (see [`MIN_SD`], [`MAX_SD`],
/// [`MAX_CONDITION`]); called after [`parse_cov`] established it is SPD.
pub(crate) fn check_scale(s: &Sym2, dim: usize, field: &str) -> Result<(), MixtureError> {
    let (lo, hi) = s.eigenvalues(dim);
    let what = if dim == 1 { "variance" } else { "eigenvalue" };
    if lo < MIN_SD * MIN_SD {
        return Err(MixtureError::OutOfRange {
            field: format!("{field} (smallest {what})"),
            value: lo,
            limit: format!(
                "a component's standard deviation must be at least {MIN_SD:e} (MIN_SD), a variance at least {:e}",
                MIN_SD * MIN_SD
            ),
        });
    }
    if hi > MAX_SD * MAX_SD {
        return Err(MixtureError::OutOfRange {
            field: format!("{field} (largest {what})"),
            value: hi,
            limit: format!(
                "a component's standard deviation must be at most {MAX_SD:e} (MAX_SD), a variance at most {:e}",
                MAX_SD * MAX_SD
            ),
        });
    }
    if dim == 2 && hi > MAX_CONDITION * lo {
        return Err(MixtureError::OutOfRange {
            field: format!("{field} (condition number)"),
            value: hi / lo,
            limit: format!(
                "the covariance must be well conditioned: largest / smallest eigenvalue at most {MAX_CONDITION:e} (MAX_CONDITION)"
            ),
        });
    }
    Ok(())
}

fn parse_cov(cov: &[Vec<f64>], dim: usize, field: &str) -> Result<Sym2, MixtureError> {
    let bad = |why: String| MixtureError::BadCovariance {
        field: field.to_string(),
        why,
    };
    if cov.len() != dim || cov.iter().any(|row| row.len() != dim) {
        return Err(bad(format!(
            "expected a {dim}x{dim} matrix, got {} rows of lengths {:?}",
            cov.len(),
            cov.iter().map(Vec::len).collect::<Vec<_>>()
        )));
    }
    for (i, row) in cov.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                return Err(MixtureError::NotFinite {
                    field: format!("{field}[{i}][{j}]"),
                    value: v,
                });
            }
        }
    }
    let s = if dim == 1 {
        Sym2 {
            xx: cov[0][0],
            xy: 0.0,
            yy: 0.0,
        }
    } else {
        let (a, b) = (cov[0][1], cov[1][0]);
        let scale = a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
        if (a - b).abs() > 1e-12 * scale {
            return Err(bad(format!(
                "not symmetric ({a} above, {b} below the diagonal)"
            )));
        }
        Sym2 {
            xx: cov[0][0],
            xy: a,
            yy: cov[1][1],
        }
    };
    let (lo, hi) = s.eigenvalues(dim);
    if lo <= 0.0 || lo <= hi * 1e-14 {
        return Err(bad(format!(
            "not positive definite (eigenvalues {lo:.4e} and {hi:.4e})"
        )));
    }
    Ok(s)
}

/// Parse a mixture from JSON text: `{ "components": [...] }`, or a report with a `data` field.
pub fn parse_mixture_json(text: &str) -> Result<GaussianMixture, MixtureError> {
    let text = crate::files::strip_bom(text);
    let file_err = |why: String| MixtureError::File {
        path: "mixture".into(),
        why,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| file_err(format!("invalid JSON: {e}")))?;
    let inner = value
        .get("data")
        .filter(|d| d.get("components").is_some())
        .unwrap_or(&value);
    let Some(list) = inner.get("components") else {
        return Err(file_err(
            "expected an object with a \"components\" array".into(),
        ));
    };
    let list = list
        .as_array()
        .ok_or_else(|| file_err("\"components\" must be an array".into()))?;
    let mut comps = Vec::with_capacity(list.len());
    for (k, item) in list.iter().enumerate() {
        let c: Component = serde_json::from_value(item.clone()).map_err(|e| {
            file_err(format!(
                "components[{k}]: {e} (each needs weight, mean and cov)"
            ))
        })?;
        comps.push(c);
    }
    GaussianMixture::new(&comps)
}

/// Parse points from CSV text (an optional header row; one point per row, 1 or 2 numeric
/// columns).
pub fn parse_points_csv(text: &str) -> Result<Vec<Vec<f64>>, MixtureError> {
    let text = crate::files::strip_bom(text);
    let file_err = |why: String| MixtureError::File {
        path: "points".into(),
        why,
    };
    let mut points = Vec::new();
    let mut dim = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split([',', ';', '\t']).map(str::trim).collect();
        let parsed: Result<Vec<f64>, _> = cells.iter().map(|c| c.parse::<f64>()).collect();
        let Ok(values) = parsed else {
            if points.is_empty() && dim.is_none() {
                // A header row.
                dim = Some(cells.len());
                continue;
            }
            return Err(file_err(format!(
                "line {}: '{line}' is not a row of numbers",
                i + 1
            )));
        };
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(file_err(format!("line {}: {bad} is not finite", i + 1)));
        }
        let d = *dim.get_or_insert(values.len());
        if values.len() != d {
            return Err(file_err(format!(
                "line {}: {} columns, expected {d}",
                i + 1,
                values.len()
            )));
        }
        if !(d == 1 || d == 2) {
            return Err(file_err(format!(
                "{d} columns: points must have 1 or 2 coordinates"
            )));
        }
        points.push(values);
    }
    if points.is_empty() {
        return Err(file_err("no points in file".into()));
    }
    Ok(points)
}

/// Load a mixture from a file: `.csv` as points with the given bandwidth, anything else
/// as mixture JSON.
pub fn load_mixture_file(path: &Path, bandwidth: f64) -> Result<GaussianMixture, MixtureError> {
    let shown = path.display().to_string();
    let text =
        crate::files::read_text_capped(path, crate::files::MAX_INPUT_FILE_BYTES).map_err(|e| {
            MixtureError::File {
                path: shown.clone(),
                why: e.to_string(),
            }
        })?;
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("txt"));
    let with_path = |e: MixtureError| match e {
        MixtureError::File { why, .. } => MixtureError::File {
            path: shown.clone(),
            why,
        },
        other => other,
    };
    if is_csv {
        let points = parse_points_csv(&text).map_err(with_path)?;
        GaussianMixture::from_points(&points, bandwidth).map_err(with_path)
    } else {
        parse_mixture_json(&text).map_err(with_path)
    }
}

#[cfg(test)]
mod tests {
    /// The defect: a mixture JSON saved with a byte order mark (as Windows editors write
    /// it) was refused, with a message that did not mention it; a CSV was read.
    #[test]
    fn a_byte_order_mark_is_read_in_mixture_json_and_csv() {
        let json = "\u{feff}{\"components\": [{\"weight\": 1, \"mean\": [0.5], \"cov\": [[0.2]]}]}";
        let m = super::parse_mixture_json(json).expect("read with a BOM");
        assert_eq!((m.len(), m.means()[0][0]), (1, 0.5));
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in [("bom.json", json), ("bom.csv", "\u{feff}0.5\n1.5\n")] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            super::load_mixture_file(&path, 0.1).expect(name);
        }
        assert_eq!(
            super::parse_points_csv("\u{feff}1,2\n").expect("csv").len(),
            1
        );
    }

    #[test]
    fn more_components_than_the_cap_are_refused_naming_both_counts() {
        let points = vec![vec![0.5]; MAX_COMPONENTS + 1];
        let err = GaussianMixture::from_points(&points, 0.1).expect_err("over the cap");
        let text = err.to_string();
        assert!(text.contains(&(MAX_COMPONENTS + 1).to_string()), "{text}");
        assert!(text.contains(&MAX_COMPONENTS.to_string()), "{text}");
        let at_cap = vec![vec![0.5]; MAX_COMPONENTS];
        assert_eq!(
            GaussianMixture::from_points(&at_cap, 0.1)
                .expect("at the cap")
                .len(),
            MAX_COMPONENTS
        );
    }

    use super::*;

    #[test]
    fn single_gaussian_log_density_is_closed_form() {
        let g = GaussianMixture::gaussian(&[1.0], vec![vec![4.0]]).expect("valid");
        let x = 2.5;
        let exact = -0.5 * (LN_2PI + 4f64.ln() + (x - 1.0) * (x - 1.0) / 4.0);
        assert!((g.log_density(&[x]) - exact).abs() < 1e-14);
    }

    #[test]
    fn rejects_non_spd_covariance() {
        let e = GaussianMixture::gaussian(&[0.0, 0.0], vec![vec![1.0, 2.0], vec![2.0, 1.0]])
            .expect_err("indefinite");
        assert!(e.to_string().contains("components[0].cov"), "{e}");
    }
}
