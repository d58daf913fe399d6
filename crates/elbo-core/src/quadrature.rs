//! Deterministic quadrature of the ELBO's expectations over `x_t` (Luo eq. 58, issue 12).
//!
//! For any denoiser `x0_hat`, the squared error splits through the exact posterior of the
//! mixture data (law of total variance, at fixed `x_t`):
//! ```text
//! E||x0 - x0_hat(x_t)||^2 = integral q_t(x) [ tr Cov(x0 | x_t = x) + ||E[x0 | x_t = x] - x0_hat(x)||^2 ] dx
//! ```
//! and for the Gaussian-mixture data every piece is closed-form at a point: with
//! `C_k = abar S_k + (1 - abar) I`, responsibilities `r_k(x)`, the per-component posterior
//! mean `mu_k(x) = m_k + G_k (x - a_k)`, `G_k = sqrt(abar) S_k C_k^{-1}` and covariance
//! `V_k = (1 - abar) S_k C_k^{-1}`,
//! ```text
//! E[x0 | x]      = mu(x) = sum_k r_k mu_k(x)
//! tr Cov(x0 | x) = sum_k r_k (tr V_k + ||mu_k(x) - mu(x)||^2)
//! ```
//! The integral over `x` (1D or 2D) is a trapezoid rule on a lattice of spacing `h` that
//! follows the smallest component standard deviation of `q_t`, restricted to the union of
//! the components' ellipses `(x - a_k)^T C_k^{-1} (x - a_k) <= L^2` (outside them `q_t` is
//! negligible). On the whole line a trapezoid rule converges faster than any power of `h`
//! for such smooth, Gaussian-decaying integrands. Each level evaluates two lattices, one
//! shifted by `h/2` along every axis; their mean is the result and half their difference
//! the error estimate (an upper estimate: it is the error of either lattice alone, while
//! their mean is a finer rule). The spacing shrinks by sqrt 2 until the estimate meets
//! the tolerance. The data entropy `H(p0) = -integral p0 log p0` uses the same lattices at t = 0.

// Lane loops index several arrays by lane on purpose: that is the shape the compiler
// vectorises.
#![allow(clippy::needless_range_loop)]

use ndarray::Array2;

use crate::denoiser::Denoiser;
use crate::kernel::{LANES, exp_nonpositive_with, fmadd};
use crate::mixture::{GaussianMixture, LN_2PI};
use crate::param::Coeffs;
use crate::schedule::NoiseSchedule;

/// Half-width of the integration region, in component standard deviations (Mahalanobis
/// radius), per dimension: the mass of a component outside it is below 2e-16 in 1D (held to
/// 1e-9 of every row) and `exp(-6.5^2 / 2)` = 7e-10 in 2D (held to 1e-4 nats of the whole
/// NELBO; the radius sets the width of the band of lattice points along a chain of narrow
/// components, so it is most of the 2D cost).
pub const REGION_SDS: [f64; 2] = [8.6, 6.5];
/// A component whose log-density at a point is this far below the largest one adds less
/// than rounding to every sum there: it is skipped.
const PRUNE_LOG: f64 = 40.0;
/// The mass of a `d`-dimensional Gaussian beyond the Mahalanobis radius [`REGION_SDS`]:
/// `erfc(L / sqrt 2)` in 1D, `exp(-L^2 / 2)` in 2D. The region leaves it out, so each
/// result's error estimate includes it, relative to the value (an estimate of the part left
/// out: it takes the integrand over the tails to be of its size over the region).
pub const TAIL_MASS: [f64; 2] = [7.98e-18, 6.70e-10];
/// In 2D, a lattice row takes only the components within this many standard deviations
/// (along y) of it: any other one is at least `exp(-CULL_SDS^2 / 2 + REGION_SDS^2 / 2)`
/// (about 1e-15 for equal weights and widths) below the component whose region holds the point.
const CULL_SDS: f64 = 10.5;
/// Initial lattice spacing, as a fraction of the smallest component sd of `q_t`: `h =
/// sd_min / START_POINTS_PER_SD[d - 1]`.
const START_POINTS_PER_SD: [f64; 2] = [2.0, 1.0];
/// Relative tolerance of a row's error estimate, per dimension (1D is held to 1e-9 of
/// every row, 2D to 1e-4 nats of the whole NELBO: rows of two moons sum to about 1.5 nats, so
/// the summed estimates stay near 5e-5, and the estimate is the error of one lattice, far
/// above the error of the two lattices' mean that is reported).
pub const REL_TOL: [f64; 2] = [1e-11, 2e-5];
/// Each refinement divides the spacing by sqrt 2: the trapezoid error of a smooth,
/// Gaussian-decaying integrand falls like `exp(-c / h^2)`, so this squares it, which is as
/// much as a row that just missed the tolerance needs, at twice the points (halving would
/// cost four times).
const REFINE: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// A model's relative rounding times this is the least relative tolerance of its rows (see
/// [`Denoiser::precision`]): about 1e-5 for a network in f32.
const NOISE_FLOOR: f64 = 100.0;
/// Most refinements of the spacing (each by [`REFINE`]).
const MAX_LEVELS: usize = 12;
/// Most lattice points per lattice: beyond it the spacing is not refined further (the
/// error estimate then says how far from converged the value is).
pub const MAX_POINTS: usize = 1 << 21;

/// A value from quadrature with its error estimate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QuadValue {
    /// The integral.
    pub value: f64,
    /// Its error estimate (half the difference of the two shifted lattices).
    pub error: f64,
    /// Lattice points evaluated in all.
    pub points: usize,
}

/// Per-component constants of the posterior of mixture data given `x_t` at one t.
struct Comp {
    /// `log pi_k - 0.5 log det(2 pi C_k)`.
    log_c: f64,
    /// `a_k - shift`: the component's centre in the shifted coordinates.
    a: [f64; 2],
    /// `C_k^{-1}` as (xx, xy, yy).
    inv: [f64; 3],
    /// `C_k` as (xx, xy, yy).
    cov: [f64; 3],
    /// `G_k` as (xx, xy, yy) (symmetric).
    g: [f64; 3],
    /// `m_k - a_k = (1 - sqrt(abar)) m_k`, so `mu_k(x) - x = (m_k - a_k) - (I - G_k)(x - a_k)`.
    m_minus_a: [f64; 2],
    /// `tr V_k`.
    tr_v: f64,
}

/// The exact posterior of `x0` given `x_t` for Gaussian-mixture data at one t.
pub struct Posterior {
    dim: usize,
    /// The mean of `q_t`, `sqrt(abar) E[x0]`: lattices live in coordinates `x - shift`, so
    /// that a point's offset from a component is exact in f64 even for data far from 0
    /// (an absolute coordinate of 1e6 carries only 1e-10 of resolution).
    shift: [f64; 2],
    comps: Vec<Comp>,
}

/// The posterior at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointPosterior {
    /// `log q_t(x)`.
    pub log_q: f64,
    /// `E[x0 | x_t = x]` (second entry 0 in 1D).
    pub mean: [f64; 2],
    /// `tr Cov(x0 | x_t = x)`.
    pub tr_cov: f64,
}

impl Posterior {
    /// The posterior of `data` under forward coefficients `c` (t = 0 is `sqrt_abar = 1`,
    /// `sqrt_one_minus_abar = 0`: then `q_0 = p0`).
    pub fn new(data: &GaussianMixture, c: Coeffs) -> Self {
        let dim = data.dim();
        let sa = c.sqrt_abar;
        let abar = sa * sa;
        let om = c.sqrt_one_minus_abar * c.sqrt_one_minus_abar;
        let mean = data.mean();
        let shift = [sa * mean[0], sa * mean[1]];
        let comps = data
            .weights()
            .iter()
            .zip(data.means())
            .zip(data.covs())
            .map(|((w, m), s)| {
                let (sxx, sxy, syy) = if dim == 2 {
                    (s.xx, s.xy, s.yy)
                } else {
                    (s.xx, 0.0, 0.0)
                };
                let cxx = abar * sxx + om;
                let (cxy, cyy) = if dim == 2 {
                    (abar * sxy, abar * syy + om)
                } else {
                    (0.0, 1.0)
                };
                let det = cxx * cyy - cxy * cxy;
                let (ixx, ixy, iyy) = (cyy / det, -cxy / det, cxx / det);
                // S C^{-1} (symmetric: S and C commute).
                let scxx = sxx * ixx + sxy * ixy;
                let scxy = sxx * ixy + sxy * iyy;
                let scyy = sxy * ixy + syy * iyy;
                let g = [sa * scxx, sa * scxy, sa * scyy];
                // (1 - sa) m, with 1 - sa = (1 - abar) / (1 + sa) computed without cancellation.
                let one_m_sa = om / (1.0 + sa);
                let m_minus_a = [one_m_sa * m[0], one_m_sa * m[1]];
                let a = [sa * (m[0] - mean[0]), sa * (m[1] - mean[1])];
                let tr_sc = if dim == 2 { scxx + scyy } else { scxx };
                Comp {
                    log_c: w.ln() - 0.5 * (dim as f64 * LN_2PI + det.ln()),
                    a,
                    inv: [ixx, ixy, iyy],
                    cov: [cxx, cxy, cyy],
                    g,
                    m_minus_a,
                    tr_v: (om * tr_sc).max(0.0),
                }
            })
            .collect();
        Posterior { dim, shift, comps }
    }

    /// The posterior at every point `(x, y)` of one lattice row, appended to `out` (`y`
    /// ignored in 1D). In 2D only components within [`CULL_SDS`] standard deviations of
    /// the row along y take part (the others are below rounding of every sum there).
    fn row(&self, y: f64, xs: &[f64], out: &mut Vec<PointPosterior>) {
        let mut rc = RowComps::default();
        for c in &self.comps {
            let dy = if self.dim == 2 { y - c.a[1] } else { 0.0 };
            if self.dim == 2 && dy * dy > CULL_SDS * CULL_SDS * c.cov[2] {
                continue;
            }
            // Along the row: logit(x) = c0 - u (0.5 ixx u + ixy dy) with u = x - a_x, and
            // mu_k(x) - (x, y) = (m_k - a_k) + (G_k - I)(x - a_k) = ((gxx - 1) x + ox, gxy x + oy).
            let (ox, oy, gxy) = if self.dim == 2 {
                (
                    c.m_minus_a[0] - (c.g[0] - 1.0) * c.a[0] + c.g[1] * dy,
                    c.m_minus_a[1] - c.g[1] * c.a[0] + (c.g[2] - 1.0) * dy,
                    c.g[1],
                )
            } else {
                (c.m_minus_a[0] - (c.g[0] - 1.0) * c.a[0], 0.0, 0.0)
            };
            rc.c0.push(c.log_c - 0.5 * c.inv[2] * dy * dy);
            rc.ax.push(c.a[0]);
            rc.half_ixx.push(0.5 * c.inv[0]);
            rc.ixy_dy.push(c.inv[1] * dy);
            rc.gxx_m1.push(c.g[0] - 1.0);
            rc.gxy.push(gxy);
            rc.ox.push(ox);
            rc.oy.push(oy);
            rc.tr_v.push(c.tr_v);
        }
        let start = out.len();
        rc.run(y, xs, out);
        for p in &mut out[start..] {
            p.mean[0] += self.shift[0];
            p.mean[1] += self.shift[1];
        }
    }

    /// The smallest standard deviation of any component of `q_t` along any direction.
    pub fn min_sd(&self) -> f64 {
        self.comps
            .iter()
            .map(|c| {
                if self.dim == 1 {
                    c.cov[0].sqrt()
                } else {
                    crate::mixture::Sym2 {
                        xx: c.cov[0],
                        xy: c.cov[1],
                        yy: c.cov[2],
                    }
                    .eigenvalues(2)
                    .0
                    .sqrt()
                }
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// The points of the lattice `offset + h Z^d` (in coordinates `x - shift`) inside the
    /// union of the components' ellipses of radius [`REGION_SDS`], as rows `(y, xs)` (one
    /// row in 1D; deterministic order); `None` when there would be more than `cap` points.
    pub fn lattice(&self, h: f64, offset: f64, cap: usize) -> Option<Vec<(f64, Vec<f64>)>> {
        let region = REGION_SDS[self.dim - 1];
        let l2 = region * region;
        let mut out: Vec<(f64, Vec<f64>)> = Vec::new();
        let mut count = 0;
        let mut push_intervals =
            |mut iv: Vec<(f64, f64)>, y: f64, out: &mut Vec<(f64, Vec<f64>)>| {
                iv.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut merged: Vec<(f64, f64)> = Vec::with_capacity(iv.len());
                for (lo, hi) in iv {
                    match merged.last_mut() {
                        Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                        _ => merged.push((lo, hi)),
                    }
                }
                let mut xs = Vec::new();
                for (lo, hi) in merged {
                    let i0 = ((lo - offset) / h).ceil() as i64;
                    let i1 = ((hi - offset) / h).floor() as i64;
                    if i1 >= i0 {
                        count += (i1 - i0 + 1) as usize;
                        if count > cap {
                            return false;
                        }
                        xs.extend((i0..=i1).map(|i| offset + i as f64 * h));
                    }
                }
                if !xs.is_empty() {
                    out.push((y, xs));
                }
                true
            };
        if self.dim == 1 {
            let iv: Vec<(f64, f64)> = self
                .comps
                .iter()
                .map(|c| {
                    let r = region * c.cov[0].sqrt();
                    (c.a[0] - r, c.a[0] + r)
                })
                .collect();
            return push_intervals(iv, 0.0, &mut out).then_some(out);
        }
        let (mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in &self.comps {
            let r = region * c.cov[2].sqrt();
            ylo = ylo.min(c.a[1] - r);
            yhi = yhi.max(c.a[1] + r);
        }
        let j0 = ((ylo - offset) / h).ceil() as i64;
        let j1 = ((yhi - offset) / h).floor() as i64;
        for j in j0..=j1 {
            let y = offset + j as f64 * h;
            let iv: Vec<(f64, f64)> = self
                .comps
                .iter()
                .filter_map(|c| {
                    let [cxx, cxy, cyy] = c.cov;
                    let dy = y - c.a[1];
                    let rest = l2 - dy * dy / cyy;
                    if rest < 0.0 {
                        return None;
                    }
                    // The chord of the ellipse at this y: centre a_x + cxy/cyy dy,
                    // half-width sqrt(det/cyy * rest).
                    let centre = c.a[0] + cxy / cyy * dy;
                    let half = ((cxx * cyy - cxy * cxy) / cyy * rest).sqrt();
                    Some((centre - half, centre + half))
                })
                .collect();
            if !push_intervals(iv, y, &mut out) {
                return None;
            }
        }
        Some(out)
    }
}

/// The components of one lattice row, struct-of-arrays (see [`Posterior::row`]).
#[derive(Default)]
struct RowComps {
    c0: Vec<f64>,
    ax: Vec<f64>,
    half_ixx: Vec<f64>,
    ixy_dy: Vec<f64>,
    gxx_m1: Vec<f64>,
    gxy: Vec<f64>,
    ox: Vec<f64>,
    oy: Vec<f64>,
    tr_v: Vec<f64>,
}

impl RowComps {
    /// Evaluate the posterior at `(x, y)` for every x, in blocks of [`LANES`] points (one
    /// SIMD lane each), as [`crate::kernel`] does: logits and their maximum first, then
    /// `exp(logit - max)` and the weighted sums, skipping a component negligible for the
    /// whole block. Moments are taken about the point itself (`mu_k(x) - x`), which stays
    /// small where the posterior is narrow, so `tr Cov` suffers no cancellation there.
    fn run(&self, y: f64, xs: &[f64], out: &mut Vec<PointPosterior>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            #[allow(unsafe_code)]
            unsafe {
                self.run_avx512(y, xs, out)
            };
            return;
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            #[allow(unsafe_code)]
            unsafe {
                self.run_avx2(y, xs, out)
            };
            return;
        }
        self.run_impl::<false>(y, xs, out);
    }

    /// [`RowComps::run`] compiled for AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn run_avx512(&self, y: f64, xs: &[f64], out: &mut Vec<PointPosterior>) {
        self.run_impl::<true>(y, xs, out);
    }

    /// [`RowComps::run`] compiled for AVX2 with FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_avx2(&self, y: f64, xs: &[f64], out: &mut Vec<PointPosterior>) {
        self.run_impl::<true>(y, xs, out);
    }

    #[inline(always)]
    fn run_impl<const FMA: bool>(&self, y: f64, xs: &[f64], out: &mut Vec<PointPosterior>) {
        let k_len = self.c0.len();
        let mut logits = vec![0.0; k_len * LANES];
        let mut start = 0;
        while start < xs.len() {
            let len = LANES.min(xs.len() - start);
            let mut px = [0.0; LANES];
            for (l, p) in px.iter_mut().enumerate() {
                *p = xs[start + l.min(len - 1)];
            }
            let mut best = [f64::NEG_INFINITY; LANES];
            for (k, chunk) in logits.chunks_exact_mut(LANES).enumerate() {
                let (c0, ax, hi, ixy) = (self.c0[k], self.ax[k], self.half_ixx[k], self.ixy_dy[k]);
                for l in 0..LANES {
                    let u = px[l] - ax;
                    let lg = c0 - u * fmadd::<FMA>(hi, u, ixy);
                    chunk[l] = lg;
                    best[l] = best[l].max(lg);
                }
            }
            let mut z = [0.0; LANES];
            let mut s1x = [0.0; LANES];
            let mut s1y = [0.0; LANES];
            let mut s2 = [0.0; LANES];
            for (k, chunk) in logits.chunks_exact(LANES).enumerate() {
                let mut top = f64::NEG_INFINITY;
                for l in 0..LANES {
                    top = top.max(chunk[l] - best[l]);
                }
                if top < -PRUNE_LOG {
                    continue;
                }
                let (g1, gxy, ox, oy, tv) = (
                    self.gxx_m1[k],
                    self.gxy[k],
                    self.ox[k],
                    self.oy[k],
                    self.tr_v[k],
                );
                for l in 0..LANES {
                    let r = exp_nonpositive_with::<FMA>(chunk[l] - best[l]);
                    let dx = fmadd::<FMA>(g1, px[l], ox);
                    let dy = fmadd::<FMA>(gxy, px[l], oy);
                    z[l] += r;
                    s1x[l] = fmadd::<FMA>(r, dx, s1x[l]);
                    s1y[l] = fmadd::<FMA>(r, dy, s1y[l]);
                    s2[l] = fmadd::<FMA>(r, tv + dx * dx + dy * dy, s2[l]);
                }
            }
            for l in 0..len {
                if k_len == 0 || z[l].is_nan() || z[l] <= 0.0 {
                    out.push(PointPosterior {
                        log_q: f64::NEG_INFINITY,
                        mean: [px[l], y],
                        tr_cov: 0.0,
                    });
                    continue;
                }
                let (ex, ey) = (s1x[l] / z[l], s1y[l] / z[l]);
                out.push(PointPosterior {
                    log_q: best[l] + z[l].ln(),
                    mean: [px[l] + ex, y + ey],
                    tr_cov: (s2[l] / z[l] - (ex * ex + ey * ey)).max(0.0),
                });
            }
            start += len;
        }
    }
}

/// What is integrated against `q_t`.
enum Integrand<'a> {
    /// `tr Cov(x0 | x) + ||E[x0 | x] - x0_hat(x)||^2` for a model (`None`: the optimal
    /// denoiser, `x0_hat = E[x0 | x]`).
    SquaredError(Option<(&'a dyn Denoiser, &'a NoiseSchedule, usize)>),
    /// `-log q(x)`.
    NegLogDensity,
}

/// One lattice's trapezoid sum, `h^d sum_i q(x_i) f(x_i)`; `None` over the cap.
fn lattice_sum(
    post: &Posterior,
    integrand: &Integrand<'_>,
    h: f64,
    offset: f64,
    cap: usize,
) -> Option<(f64, usize)> {
    let rows = post.lattice(h, offset, cap)?;
    let n = rows.iter().map(|r| r.1.len()).sum();
    let mut posts: Vec<PointPosterior> = Vec::with_capacity(n);
    for (y, xs) in &rows {
        post.row(*y, xs, &mut posts);
    }
    let preds = match integrand {
        Integrand::SquaredError(Some((model, schedule, t))) => {
            let mut xt = Array2::zeros((n, post.dim));
            let mut i = 0;
            for (y, xs) in &rows {
                for &x in xs {
                    xt[[i, 0]] = x + post.shift[0];
                    if post.dim == 2 {
                        xt[[i, 1]] = *y + post.shift[1];
                    }
                    i += 1;
                }
            }
            Some(model.predict_x0(schedule, *t, xt.view()))
        }
        _ => None,
    };
    let mut sum = 0.0;
    for (i, p) in posts.iter().enumerate() {
        let f = match integrand {
            Integrand::NegLogDensity => -p.log_q,
            Integrand::SquaredError(_) => {
                let mut e = p.tr_cov;
                if let Some(pred) = &preds {
                    for j in 0..post.dim {
                        let d = pred[[i, j]] - p.mean[j];
                        e += d * d;
                    }
                }
                e
            }
        };
        if p.log_q > f64::NEG_INFINITY {
            sum += p.log_q.exp() * f;
        }
    }
    Some((sum * h.powi(post.dim as i32), n))
}

/// Integrate adaptively: refine the spacing until the two shifted lattices agree to
/// `REL_TOL` (or the levels or the point cap run out).
///
/// A model's predictions carry its own rounding (a network's are f32): the tolerance is
/// never below [`NOISE_FLOOR`] times [`Denoiser::precision`], and a refinement that does not
/// at least halve the estimate ends the refinement (the two lattices then differ by the
/// model's rounding, which no finer lattice removes).
fn integrate(post: &Posterior, integrand: &Integrand<'_>) -> QuadValue {
    let d = post.dim;
    let model_precision = match integrand {
        Integrand::SquaredError(Some((model, _, _))) => Some(model.precision()),
        _ => None,
    };
    let tol = REL_TOL[d - 1].max(NOISE_FLOOR * model_precision.unwrap_or(0.0));
    let mut h = post.min_sd() / START_POINTS_PER_SD[d - 1];
    let mut best: Option<QuadValue> = None;
    let mut points = 0;
    for _ in 0..=MAX_LEVELS {
        let (Some((a, na)), Some((b, nb))) = (
            lattice_sum(post, integrand, h, 0.0, MAX_POINTS),
            lattice_sum(post, integrand, h, 0.5 * h, MAX_POINTS),
        ) else {
            break;
        };
        points += na + nb;
        let value = 0.5 * (a + b);
        let error = 0.5 * (a - b).abs() + TAIL_MASS[d - 1] * value.abs();
        let stalled = model_precision.is_some() && best.is_some_and(|b| error > 0.5 * b.error);
        best = Some(QuadValue {
            value,
            error,
            points,
        });
        if error <= tol * value.abs() || !value.is_finite() || stalled {
            break;
        }
        h *= REFINE;
    }
    best.unwrap_or_else(|| {
        // Even the first lattice was over the cap (a component far narrower than the
        // region): take the finest spacing that fits, and let the estimate say how good it is.
        let mut h = h;
        loop {
            h *= 2.0;
            if let (Some((a, na)), Some((b, nb))) = (
                lattice_sum(post, integrand, h, 0.0, MAX_POINTS),
                lattice_sum(post, integrand, h, 0.5 * h, MAX_POINTS),
            ) {
                let value = 0.5 * (a + b);
                return QuadValue {
                    value,
                    error: 0.5 * (a - b).abs() + TAIL_MASS[d - 1] * value.abs(),
                    points: na + nb,
                };
            }
        }
    })
}

/// `E||x0 - x0_hat(x_t)||^2` at t by quadrature; `model = None` is the Bayes-optimal
/// denoiser of `data` (then only `tr Cov(x0 | x_t)` is integrated).
pub fn mse_x0(
    data: &GaussianMixture,
    schedule: &NoiseSchedule,
    t: usize,
    model: Option<&dyn Denoiser>,
) -> QuadValue {
    let post = Posterior::new(data, Coeffs::at(schedule, t));
    let integrand = Integrand::SquaredError(model.map(|m| (m, schedule, t)));
    integrate(&post, &integrand)
}

/// The MMSE `E||x0 - E[x0 | x]||^2` of the data seen through
/// `x = sqrt_abar x0 + sqrt_one_minus_abar eps` with any coefficients (not only a
/// schedule's: the continuous-time limit integrates it over the SNR).
pub fn mmse(data: &GaussianMixture, c: Coeffs) -> QuadValue {
    let post = Posterior::new(data, c);
    integrate(&post, &Integrand::SquaredError(None))
}

/// The data entropy `H(p0) = -integral p0(x) log p0(x) dx` by quadrature.
pub fn data_entropy(data: &GaussianMixture) -> QuadValue {
    let post = Posterior::new(
        data,
        Coeffs {
            sqrt_abar: 1.0,
            sqrt_one_minus_abar: 0.0,
        },
    );
    integrate(&post, &Integrand::NegLogDensity)
}
