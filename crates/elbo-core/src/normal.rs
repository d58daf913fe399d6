//! The 1D normal density `N(x; mean, var)`, parameterised by its variance, in one place.
//!
//! Hot loops that factor the normalising constant out of a sum of kernels (the mixture
//! kernel in `kernel.rs`, the lattices of `quadrature.rs` and `evidence.rs`) keep their own
//! vectorised forms; everything that evaluates one normal density at one point uses these.

/// `ln(2 pi)`.
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The log-density of the normal distribution with mean `mean` and variance `var` at `x`:
///
/// ```text
/// ln N(x; mean, var) = -(ln(2 pi) + ln(var) + (x - mean)^2 / var) / 2
/// ```
///
/// `var` must be positive (not checked: at `var = 0` the result is NaN or infinite, as
/// the formula gives).
///
/// # Examples
///
/// ```
/// use elbo_core::normal::normal_log_pdf;
///
/// // ln N(2.5; 1, 4) = -(ln(2 pi) + ln 4 + 1.5^2 / 4) / 2
/// let expected = -1.893_335_713_764_618;
/// assert!((normal_log_pdf(2.5, 1.0, 4.0) - expected).abs() < 1e-15);
/// ```
#[inline]
pub fn normal_log_pdf(x: f64, mean: f64, var: f64) -> f64 {
    let d = x - mean;
    -0.5 * (LN_2PI + var.ln() + d * d / var)
}

/// The density of the normal distribution with mean `mean` and variance `var` at `x`:
///
/// ```text
/// N(x; mean, var) = exp(-(x - mean)^2 / (2 var)) / sqrt(2 pi var)
/// ```
///
/// Computed directly, not as `exp(normal_log_pdf(..))`, so that it keeps full relative
/// precision far in the tails. `var` must be positive (not checked).
///
/// # Examples
///
/// ```
/// use elbo_core::normal::normal_pdf;
///
/// // N(1; 0, 1) = exp(-1/2) / sqrt(2 pi)
/// let expected = 0.241_970_724_519_143_37;
/// assert!((normal_pdf(1.0, 0.0, 1.0) - expected).abs() < 1e-16);
/// ```
#[inline]
pub fn normal_pdf(x: f64, mean: f64, var: f64) -> f64 {
    let d = x - mean;
    (-0.5 * d * d / var).exp() / (std::f64::consts::TAU * var).sqrt()
}

/// The KL divergence between two normal distributions,
///
/// ```text
/// KL(N(m1, v1) || N(m2, v2)) = (e - log1p(e) + (m1 - m2)^2 / v2) / 2,   e = (v1 - v2) / v2
/// ```
///
/// written so that nothing cancels as `v1 -> v2` (the variance part is then `e^2 / 4`, not
/// a difference of logs). Both variances must be positive (not checked).
///
/// # Examples
///
/// ```
/// use elbo_core::normal::normal_kl;
///
/// // KL(N(0, 1) || N(1, 2)) = (ln 2 + (1 + 1) / 2 - 1) / 2
/// let expected = 0.5 * 2f64.ln();
/// assert!((normal_kl(0.0, 1.0, 1.0, 2.0) - expected).abs() < 1e-15);
/// ```
#[inline]
pub fn normal_kl(m1: f64, v1: f64, m2: f64, v2: f64) -> f64 {
    let e = (v1 - v2) / v2;
    let d = m1 - m2;
    0.5 * (e - e.ln_1p() + d * d / v2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_2pi_is_ln_of_two_pi() {
        // LN_2PI is ln(2 pi) correctly rounded; TAU.ln() rounds twice, one ulp off.
        assert!((LN_2PI - std::f64::consts::TAU.ln()).abs() <= f64::EPSILON * LN_2PI);
    }

    #[test]
    fn closed_form_values() {
        // The standard normal's peak, 1 / sqrt(2 pi).
        let peak = 0.398_942_280_401_432_7;
        assert!((normal_pdf(0.0, 0.0, 1.0) - peak).abs() < 1e-16);
        assert!((normal_log_pdf(0.0, 0.0, 1.0) + 0.5 * LN_2PI).abs() < 1e-16);
        // N(2.5; 1, 4) = exp(-2.25 / 8) / sqrt(8 pi).
        let p = 0.150_568_716_077_402_21;
        assert!((normal_pdf(2.5, 1.0, 4.0) - p).abs() < 1e-16);
        assert!((normal_log_pdf(2.5, 1.0, 4.0) - p.ln()).abs() < 1e-15);
    }

    #[test]
    fn pdf_is_exp_of_log_pdf_and_symmetric() {
        for &(x, m, v) in &[(0.3, -1.2, 0.01), (-4.0, 0.5, 2.5), (1e3, 1e3 + 0.02, 1e-4)] {
            let (p, lp) = (normal_pdf(x, m, v), normal_log_pdf(x, m, v));
            assert!(
                (p.ln() - lp).abs() < 1e-13 * lp.abs().max(1.0),
                "{x} {m} {v}"
            );
            let mirrored = normal_pdf(2.0 * m - x, m, v);
            assert!((p - mirrored).abs() <= 1e-12 * p, "{p} vs {mirrored}");
        }
    }

    #[test]
    fn integrates_to_one() {
        // Trapezoid rule on +-12 sd: exact to rounding for a Gaussian.
        let (m, v): (f64, f64) = (0.7, 0.09);
        let sd = v.sqrt();
        let n = 4000;
        let h = 24.0 * sd / n as f64;
        let sum: f64 = (0..=n)
            .map(|i| normal_pdf(m - 12.0 * sd + i as f64 * h, m, v))
            .sum();
        assert!((sum * h - 1.0).abs() < 1e-12, "{}", sum * h);
    }
}
