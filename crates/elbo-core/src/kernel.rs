//! The hot loop of the Bayes-optimal denoiser: responsibilities, `E[x0 | x_t]` and the
//! score of a Gaussian mixture's forward marginal, for blocks of [`LANES`] points at once.
//!
//! The per-point maths is that of [`crate::denoiser`]; this file only arranges it so the
//! compiler vectorises it: points are processed in fixed-size lanes (one SIMD lane per
//! point), components are visited in two passes (logits and their maximum, then
//! `exp(logit - max)` and the weighted sums), and `exp` is a branch-free polynomial
//! (`exp_nonpositive_with`) instead of a libm call.
//!
//! With `r_k` the responsibilities, `G_k = sqrt(abar) S_k C_k^{-1}` and `b_k = m_k - G_k a_k`:
//! ```text
//! E[x0 | x] = sum_k r_k (m_k + G_k (x - a_k)) = (sum_k r_k G_k) x + sum_k r_k b_k
//! score(x)  = -sum_k r_k C_k^{-1} (x - a_k)   = -(sum_k r_k C_k^{-1}) x + sum_k r_k C_k^{-1} a_k
//! ```

// Lane loops index several arrays by lane on purpose: that is the shape the compiler
// vectorises.
#![allow(clippy::needless_range_loop)]

use crate::mixture::GaussianMixture;
use crate::param::Coeffs;

/// Points processed together; one SIMD lane each.
pub const LANES: usize = 8;

/// `exp(x)` for `x <= 0`, accurate to a few ulp, branch-free so that loops over it
/// vectorise. Inputs below -700 return `exp(-700)` (about 1e-304): responsibilities that
/// small are far below rounding of the sum they join.
///
/// ```text
/// x = n ln2 + r, |r| <= ln2/2  (Cody-Waite, ln2 split in two parts)
/// exp(x) = 2^n * sum_{i=0}^{12} r^i / i!   (truncation < 2e-16 relative)
/// ```
#[inline(always)]
pub(crate) fn exp_nonpositive_with<const FMA: bool>(x: f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding 1.5 * 2^52 rounds to an integer in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-700.0, 0.0);
    let shifted = x * LOG2_E + SHIFT;
    let n = shifted - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor coefficients 1/i!, Horner form.
    const C: [f64; 13] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
    ];
    let mut p = C[12];
    let mut i = 12;
    while i > 0 {
        i -= 1;
        p = fmadd::<FMA>(p, r, C[i]);
    }
    // 2^n from the integer held in `shifted`'s low bits.
    let n_int = shifted.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
    let scale = f64::from_bits(((n_int + 1023) as u64) << 52);
    p * scale
}

/// A component whose responsibility is below `exp(-PRUNE_LOG)` (about 1e-19) of the
/// largest for every point of a block adds less than rounding to every sum: skip it.
const PRUNE_LOG: f64 = 44.0;

/// True when the component's logits are negligible for every lane; then they are set to
/// responsibility 0 for the later passes.
#[inline(always)]
fn negligible(chunk: &mut [f64], best: &[f64; LANES]) -> bool {
    let mut top = f64::NEG_INFINITY;
    for l in 0..LANES {
        top = top.max(chunk[l] - best[l]);
    }
    if top < -PRUNE_LOG {
        chunk.fill(0.0);
        true
    } else {
        false
    }
}

/// `a * b + c`: fused (one instruction, one rounding) in the code paths compiled for CPUs
/// with FMA, plain elsewhere (a software `fma` call would be far slower than two operations).
#[inline(always)]
pub(crate) fn fmadd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Per-timestep constants, struct-of-arrays.
pub struct Kernel {
    dim: usize,
    /// Every component isotropic (`S_k = s_k^2 I`), as all shape presets are.
    isotropic: bool,
    /// `log pi_k - 0.5 log det C_k`.
    log_c: Vec<f64>,
    /// `a_k = sqrt(abar) m_k`.
    ax: Vec<f64>,
    ay: Vec<f64>,
    /// `C_k^{-1}` (symmetric).
    ixx: Vec<f64>,
    ixy: Vec<f64>,
    iyy: Vec<f64>,
    /// `C_k^{-1} a_k`.
    cax: Vec<f64>,
    cay: Vec<f64>,
    /// `G_k` (symmetric: S_k and C_k commute).
    gxx: Vec<f64>,
    gxy: Vec<f64>,
    gyy: Vec<f64>,
    /// `b_k = m_k - G_k a_k`.
    bx: Vec<f64>,
    by: Vec<f64>,
}

/// Sums over components for one block of points.
#[derive(Default)]
struct Sums {
    z: [f64; LANES],
    bx: [f64; LANES],
    by: [f64; LANES],
    gxx: [f64; LANES],
    gxy: [f64; LANES],
    gyy: [f64; LANES],
    ixx: [f64; LANES],
    ixy: [f64; LANES],
    iyy: [f64; LANES],
    cax: [f64; LANES],
    cay: [f64; LANES],
}

impl Kernel {
    /// Precompute the constants of q_t for these forward coefficients.
    pub fn new(mixture: &GaussianMixture, c: Coeffs) -> Self {
        let dim = mixture.dim();
        let abar = c.sqrt_abar * c.sqrt_abar;
        let one_m = c.sqrt_one_minus_abar * c.sqrt_one_minus_abar;
        let k = mixture.len();
        let isotropic = dim == 2 && mixture.covs().iter().all(|c| c.xy == 0.0 && c.xx == c.yy);
        let mut kern = Kernel {
            dim,
            isotropic,
            log_c: Vec::with_capacity(k),
            ax: Vec::with_capacity(k),
            ay: Vec::with_capacity(k),
            ixx: Vec::with_capacity(k),
            ixy: Vec::with_capacity(k),
            iyy: Vec::with_capacity(k),
            cax: Vec::with_capacity(k),
            cay: Vec::with_capacity(k),
            gxx: Vec::with_capacity(k),
            gxy: Vec::with_capacity(k),
            gyy: Vec::with_capacity(k),
            bx: Vec::with_capacity(k),
            by: Vec::with_capacity(k),
        };
        for ((w, m), s) in mixture
            .weights()
            .iter()
            .zip(mixture.means())
            .zip(mixture.covs())
        {
            let cxx = abar * s.xx + one_m;
            let (cxy, cyy) = if dim == 2 {
                (abar * s.xy, abar * s.yy + one_m)
            } else {
                (0.0, 1.0)
            };
            let det = cxx * cyy - cxy * cxy;
            let (ixx, ixy, iyy) = (cyy / det, -cxy / det, cxx / det);
            let (sxy, syy) = if dim == 2 { (s.xy, s.yy) } else { (0.0, 0.0) };
            let gxx = c.sqrt_abar * (s.xx * ixx + sxy * ixy);
            let gxy = c.sqrt_abar * (s.xx * ixy + sxy * iyy);
            let gyy = c.sqrt_abar * (sxy * ixy + syy * iyy);
            let (ax, ay) = (c.sqrt_abar * m[0], c.sqrt_abar * m[1]);
            kern.log_c.push(w.ln() - 0.5 * det.ln());
            kern.ax.push(ax);
            kern.ay.push(ay);
            kern.ixx.push(ixx);
            kern.ixy.push(ixy);
            kern.iyy.push(iyy);
            kern.cax.push(ixx * ax + ixy * ay);
            kern.cay.push(ixy * ax + iyy * ay);
            kern.gxx.push(gxx);
            kern.gxy.push(gxy);
            kern.gyy.push(gyy);
            kern.bx.push(m[0] - (gxx * ax + gxy * ay));
            kern.by.push(m[1] - (gxy * ax + gyy * ay));
        }
        kern
    }

    /// Data dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Predict x0 (and, if `score` is given, the score) for points given as separate
    /// coordinate slices (`ys` ignored in 1D). Outputs are written per coordinate.
    pub fn run(
        &self,
        xs: &[f64],
        ys: &[f64],
        x0: (&mut [f64], &mut [f64]),
        score: Option<(&mut [f64], &mut [f64])>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            #[allow(unsafe_code)]
            unsafe {
                self.run_avx512(xs, ys, x0, score)
            };
            return;
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            #[allow(unsafe_code)]
            unsafe {
                self.run_avx2(xs, ys, x0, score)
            };
            return;
        }
        self.run_impl::<false>(xs, ys, x0, score);
    }

    /// [`Kernel::run`] compiled for AVX-512 (8 f64 lanes per instruction).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn run_avx512(
        &self,
        xs: &[f64],
        ys: &[f64],
        x0: (&mut [f64], &mut [f64]),
        score: Option<(&mut [f64], &mut [f64])>,
    ) {
        self.run_impl::<true>(xs, ys, x0, score);
    }

    /// [`Kernel::run`] compiled for AVX2 with FMA (4 f64 lanes per instruction).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_avx2(
        &self,
        xs: &[f64],
        ys: &[f64],
        x0: (&mut [f64], &mut [f64]),
        score: Option<(&mut [f64], &mut [f64])>,
    ) {
        self.run_impl::<true>(xs, ys, x0, score);
    }

    #[inline(always)]
    fn run_impl<const FMA: bool>(
        &self,
        xs: &[f64],
        ys: &[f64],
        x0: (&mut [f64], &mut [f64]),
        mut score: Option<(&mut [f64], &mut [f64])>,
    ) {
        let n = xs.len();
        let mut logits = vec![0.0; self.log_c.len() * LANES];
        let (out_x, out_y) = x0;
        let mut start = 0;
        while start < n {
            let len = LANES.min(n - start);
            // Pad a short final block with its last point.
            let mut px = [0.0; LANES];
            let mut py = [0.0; LANES];
            for l in 0..LANES {
                let i = start + l.min(len - 1);
                px[l] = xs[i];
                py[l] = if self.dim == 2 { ys[i] } else { 0.0 };
            }
            let sums = if self.dim == 1 {
                self.block_1d::<FMA>(&px, &mut logits, score.is_some())
            } else {
                if self.isotropic {
                    self.block_2d::<FMA, true>(&px, &py, &mut logits, score.is_some())
                } else {
                    self.block_2d::<FMA, false>(&px, &py, &mut logits, score.is_some())
                }
            };
            for l in 0..len {
                let inv_z = 1.0 / sums.z[l];
                let (x, y) = (px[l], py[l]);
                out_x[start + l] = (sums.gxx[l] * x + sums.gxy[l] * y + sums.bx[l]) * inv_z;
                if self.dim == 2 {
                    out_y[start + l] = (sums.gxy[l] * x + sums.gyy[l] * y + sums.by[l]) * inv_z;
                }
                if let Some((sx, sy)) = score.as_mut() {
                    sx[start + l] = (sums.cax[l] - (sums.ixx[l] * x + sums.ixy[l] * y)) * inv_z;
                    if self.dim == 2 {
                        sy[start + l] = (sums.cay[l] - (sums.ixy[l] * x + sums.iyy[l] * y)) * inv_z;
                    }
                }
            }
            start += len;
        }
    }

    #[inline(always)]
    fn block_1d<const FMA: bool>(
        &self,
        px: &[f64; LANES],
        logits: &mut [f64],
        want_score: bool,
    ) -> Sums {
        let mut best = [f64::NEG_INFINITY; LANES];
        for (k, chunk) in logits.chunks_exact_mut(LANES).enumerate() {
            let (lc, ax, ixx) = (self.log_c[k], self.ax[k], self.ixx[k]);
            for l in 0..LANES {
                let dx = px[l] - ax;
                let lg = lc - 0.5 * ixx * dx * dx;
                chunk[l] = lg;
                best[l] = best[l].max(lg);
            }
        }
        let mut s = Sums::default();
        for (k, chunk) in logits.chunks_exact_mut(LANES).enumerate() {
            if negligible(chunk, &best) {
                continue;
            }
            let (bx, gxx) = (self.bx[k], self.gxx[k]);
            for l in 0..LANES {
                let r = exp_nonpositive_with::<FMA>(chunk[l] - best[l]);
                chunk[l] = r;
                s.z[l] += r;
                s.bx[l] = fmadd::<FMA>(r, bx, s.bx[l]);
                s.gxx[l] = fmadd::<FMA>(r, gxx, s.gxx[l]);
            }
        }
        if want_score {
            for (k, chunk) in logits.chunks_exact(LANES).enumerate() {
                let (ixx, cax) = (self.ixx[k], self.cax[k]);
                for l in 0..LANES {
                    s.ixx[l] = fmadd::<FMA>(chunk[l], ixx, s.ixx[l]);
                    s.cax[l] = fmadd::<FMA>(chunk[l], cax, s.cax[l]);
                }
            }
        }
        s
    }

    /// One block of 2D points. With `ISO` (every component isotropic, so `C_k^{-1}` and
    /// `G_k` are multiples of I) the quadratic form and the sums take half the work.
    #[inline(always)]
    fn block_2d<const FMA: bool, const ISO: bool>(
        &self,
        px: &[f64; LANES],
        py: &[f64; LANES],
        logits: &mut [f64],
        want_score: bool,
    ) -> Sums {
        let mut best = [f64::NEG_INFINITY; LANES];
        for (k, chunk) in logits.chunks_exact_mut(LANES).enumerate() {
            let (lc, ax, ay) = (self.log_c[k], self.ax[k], self.ay[k]);
            let (ixx, ixy, iyy) = (self.ixx[k], self.ixy[k], self.iyy[k]);
            for l in 0..LANES {
                let dx = px[l] - ax;
                let dy = py[l] - ay;
                let q = if ISO {
                    ixx * fmadd::<FMA>(dx, dx, dy * dy)
                } else {
                    ixx * dx * dx + 2.0 * ixy * dx * dy + iyy * dy * dy
                };
                let lg = lc - 0.5 * q;
                chunk[l] = lg;
                best[l] = best[l].max(lg);
            }
        }
        let mut s = Sums::default();
        for (k, chunk) in logits.chunks_exact_mut(LANES).enumerate() {
            if negligible(chunk, &best) {
                continue;
            }
            let (bx, by) = (self.bx[k], self.by[k]);
            let (gxx, gxy, gyy) = (self.gxx[k], self.gxy[k], self.gyy[k]);
            for l in 0..LANES {
                let r = exp_nonpositive_with::<FMA>(chunk[l] - best[l]);
                chunk[l] = r;
                s.z[l] += r;
                s.bx[l] = fmadd::<FMA>(r, bx, s.bx[l]);
                s.by[l] = fmadd::<FMA>(r, by, s.by[l]);
                s.gxx[l] = fmadd::<FMA>(r, gxx, s.gxx[l]);
                if !ISO {
                    s.gxy[l] = fmadd::<FMA>(r, gxy, s.gxy[l]);
                    s.gyy[l] = fmadd::<FMA>(r, gyy, s.gyy[l]);
                }
            }
        }
        if ISO {
            s.gyy = s.gxx;
        }
        if want_score {
            for (k, chunk) in logits.chunks_exact(LANES).enumerate() {
                let (ixx, ixy, iyy) = (self.ixx[k], self.ixy[k], self.iyy[k]);
                let (cax, cay) = (self.cax[k], self.cay[k]);
                for l in 0..LANES {
                    let r = chunk[l];
                    s.ixx[l] = fmadd::<FMA>(r, ixx, s.ixx[l]);
                    s.ixy[l] = fmadd::<FMA>(r, ixy, s.ixy[l]);
                    s.iyy[l] = fmadd::<FMA>(r, iyy, s.iyy[l]);
                    s.cax[l] = fmadd::<FMA>(r, cax, s.cax[l]);
                    s.cay[l] = fmadd::<FMA>(r, cay, s.cay[l]);
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        for i in 0..=200_000 {
            let x = -700.0 * i as f64 / 200_000.0;
            let b = x.exp();
            for a in [
                exp_nonpositive_with::<false>(x),
                exp_nonpositive_with::<true>(x),
            ] {
                worst = worst.max(((a - b) / b).abs());
            }
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp_nonpositive_with::<false>(0.0), 1.0);
    }
}
