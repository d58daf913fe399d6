//! The first step of Luo's derivation (sections "Evidence Lower Bound" and "Variational
//! Autoencoders"), exactly: a latent model with a 1D latent,
//!
//! ```text
//! p(z) = N(0, 1),   p(x | z) = N(f(z), sigma^2),   encoder q(z | x) = N(mu, s^2),
//! log p(x) = ELBO + KL(q(z | x) || p(z | x))
//! ELBO     = E_q[log p(x | z)] - KL(q(z | x) || p(z))     (reconstruction - prior matching)
//! ```
//!
//! Everything is deterministic: log p(x) and the posterior p(z | x) by quadrature over z,
//! E_q[log p(x | z)] by quadrature over q, KL(q || p(z)) in closed form, and the gap as
//! their difference (and, as a check, directly). The trapezoid rule on a uniform grid is
//! spectrally accurate for these smooth, Gaussian-tailed integrands once the spacing is a
//! fraction of the narrowest feature (the prior's width 1, the decoder's own length scale,
//! and the likelihood's width sigma / |f'(z)|), so the spacing follows those.
//!
//! With the linear decoder everything is Gaussian: the posterior is
//! N(a (x - b) / (a^2 + sigma^2), sigma^2 / (a^2 + sigma^2)) and a fitted Gaussian encoder
//! closes the gap; with a nonlinear decoder the posterior is not Gaussian and the best
//! Gaussian encoder leaves a gap above zero.

use thiserror::Error;

use crate::normal::{normal_log_pdf, normal_pdf};

/// The decoder's mean f(z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoder {
    /// f(z) = slope z + offset: everything Gaussian, the posterior exact and Gaussian.
    Linear {
        /// a.
        slope: f64,
        /// b.
        offset: f64,
    },
    /// f(z) = scale tanh(sharpness z): most latents land near +-scale, so p(x) is bimodal
    /// and an x between the modes has a stretched, skewed posterior.
    Tanh {
        /// c.
        scale: f64,
        /// k.
        sharpness: f64,
    },
    /// f(z) = slope z + curve z^2: a skewed p(x); an x on the folded side has a bimodal
    /// posterior (two latents map to it).
    Quadratic {
        /// a.
        slope: f64,
        /// c.
        curve: f64,
    },
}

/// Why a latent model or encoder cannot be evaluated.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum VaeError {
    /// sigma must be positive and finite.
    #[error("the decoder noise sd sigma = {0} must be a positive finite number")]
    Sigma(f64),
    /// A decoder parameter is not finite.
    #[error("the decoder parameter {name} = {value} must be finite")]
    Parameter {
        /// Its name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// The encoder's parameters are not finite (or s is not positive).
    #[error("the encoder q(z | x) = N({mu}, {s}^2) needs a finite mean and a positive finite sd")]
    Encoder {
        /// Its mean.
        mu: f64,
        /// Its sd.
        s: f64,
    },
    /// The data point is not finite.
    #[error("x = {0} must be finite")]
    Point(f64),
}

/// Half-width of the band of a latent's likelihood, in sigmas: exp(-BAND^2 / 2) ~ 3e-18,
/// below double precision beside the peak.
const BAND: f64 = 9.0;

/// Half-width of the latent range integrated over, in prior sds: exp(-12^2 / 2) ~ 5e-32.
const Z_RANGE: f64 = 12.0;
/// Grid points per narrowest feature width (trapezoid error ~ exp(-2 pi^2 n^2)).
const POINTS_PER_FEATURE: f64 = 4.0;
/// How often a fitting step may be halved before it counts as converged.
const MAX_HALVINGS: usize = 40;
/// The most grid points one integral may take.
const MAX_POINTS: usize = 400_001;

impl Decoder {
    /// The three kinds with their default parameters, in the order the app offers them.
    pub const DEFAULTS: [Decoder; 3] = [
        Decoder::Linear {
            slope: 1.0,
            offset: 0.0,
        },
        Decoder::Tanh {
            scale: 2.0,
            sharpness: 2.0,
        },
        Decoder::Quadratic {
            slope: 1.0,
            curve: 0.5,
        },
    ];

    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Decoder::Linear { .. } => "linear",
            Decoder::Tanh { .. } => "tanh (bimodal x)",
            Decoder::Quadratic { .. } => "quadratic (skewed x)",
        }
    }

    /// Its formula.
    pub fn formula(&self) -> String {
        match *self {
            Decoder::Linear { slope, offset } => format!("f(z) = {slope} z + {offset}"),
            Decoder::Tanh { scale, sharpness } => format!("f(z) = {scale} tanh({sharpness} z)"),
            Decoder::Quadratic { slope, curve } => format!("f(z) = {slope} z + {curve} z^2"),
        }
    }

    /// True for the linear decoder (Gaussian posterior: a Gaussian encoder can be exact).
    pub fn is_linear(&self) -> bool {
        matches!(self, Decoder::Linear { .. })
    }

    /// The parameters, named, for the sliders.
    pub fn parameters(&self) -> [(&'static str, f64); 2] {
        match *self {
            Decoder::Linear { slope, offset } => [("slope a", slope), ("offset b", offset)],
            Decoder::Tanh { scale, sharpness } => [("scale c", scale), ("sharpness k", sharpness)],
            Decoder::Quadratic { slope, curve } => [("slope a", slope), ("curve c", curve)],
        }
    }

    /// The same decoder with parameter `i` (of [`Decoder::parameters`]) set to `value`.
    pub fn with_parameter(self, i: usize, value: f64) -> Decoder {
        match (self, i) {
            (Decoder::Linear { offset, .. }, 0) => Decoder::Linear {
                slope: value,
                offset,
            },
            (Decoder::Linear { slope, .. }, _) => Decoder::Linear {
                slope,
                offset: value,
            },
            (Decoder::Tanh { sharpness, .. }, 0) => Decoder::Tanh {
                scale: value,
                sharpness,
            },
            (Decoder::Tanh { scale, .. }, _) => Decoder::Tanh {
                scale,
                sharpness: value,
            },
            (Decoder::Quadratic { curve, .. }, 0) => Decoder::Quadratic {
                slope: value,
                curve,
            },
            (Decoder::Quadratic { slope, .. }, _) => Decoder::Quadratic {
                slope,
                curve: value,
            },
        }
    }

    /// f(z).
    pub fn f(&self, z: f64) -> f64 {
        match *self {
            Decoder::Linear { slope, offset } => slope * z + offset,
            Decoder::Tanh { scale, sharpness } => scale * (sharpness * z).tanh(),
            Decoder::Quadratic { slope, curve } => slope * z + curve * z * z,
        }
    }

    /// f'(z).
    pub fn df(&self, z: f64) -> f64 {
        match *self {
            Decoder::Linear { slope, .. } => slope,
            Decoder::Tanh { scale, sharpness } => {
                let c = (sharpness * z).cosh();
                scale * sharpness / (c * c)
            }
            Decoder::Quadratic { slope, curve } => slope + 2.0 * curve * z,
        }
    }

    /// The length in z over which f bends (infinite for a line or a parabola, whose
    /// smoothness the grid resolves at any spacing below the prior's width).
    fn bend_length(&self) -> f64 {
        match *self {
            Decoder::Tanh { sharpness, .. } if sharpness != 0.0 => 1.0 / sharpness.abs(),
            _ => f64::INFINITY,
        }
    }

    /// The largest |f'(z)| over |z| <= `half_width`.
    fn max_slope(&self, half_width: f64) -> f64 {
        match *self {
            Decoder::Linear { slope, .. } => slope.abs(),
            Decoder::Tanh { scale, sharpness } => (scale * sharpness).abs(),
            Decoder::Quadratic { slope, curve } => slope.abs() + 2.0 * curve.abs() * half_width,
        }
    }

    fn check(&self) -> Result<(), VaeError> {
        for (name, value) in self.parameters() {
            if !value.is_finite() {
                return Err(VaeError::Parameter { name, value });
            }
        }
        Ok(())
    }
}

/// A latent model: p(z) = N(0, 1), p(x | z) = N(f(z), sigma^2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatentModel {
    /// f.
    pub decoder: Decoder,
    /// The decoder's noise sd.
    pub sigma: f64,
}

/// A Gaussian encoder q(z | x) = N(mu, s^2), parameterised by mu and log s (as it is fitted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoder {
    /// Its mean.
    pub mu: f64,
    /// log of its sd.
    pub log_s: f64,
}

impl Encoder {
    /// Its sd s.
    pub fn s(&self) -> f64 {
        self.log_s.exp()
    }

    /// q(z | x) at z.
    pub fn density(&self, z: f64) -> f64 {
        let s = self.s();
        normal_pdf(z, self.mu, s * s)
    }
}

/// The evidence of one x under one encoder, every term in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvidenceTerms {
    /// log p(x), by quadrature over z.
    pub log_evidence: f64,
    /// E_q[log p(x | z)], the reconstruction term.
    pub reconstruction: f64,
    /// KL(q(z | x) || p(z)), the prior matching term (closed form).
    pub prior_matching: f64,
    /// ELBO = reconstruction - prior matching.
    pub elbo: f64,
    /// KL(q(z | x) || p(z | x)) = log p(x) - ELBO >= 0.
    pub gap: f64,
}

/// A uniform grid of `n` points from `lo` to `hi` with its spacing.
fn grid(lo: f64, hi: f64, spacing: f64) -> (Vec<f64>, f64) {
    let n = (((hi - lo) / spacing).ceil() as usize + 1).clamp(3, MAX_POINTS);
    let h = (hi - lo) / (n - 1) as f64;
    ((0..n).map(|i| lo + h * i as f64).collect(), h)
}

/// log(sum exp(v)) without overflow; -inf for an empty or all -inf input.
fn log_sum_exp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.map(|x| (x - m).exp()).sum::<f64>().ln()
}

impl LatentModel {
    /// Check sigma and the decoder's parameters.
    ///
    /// # Errors
    /// A non-positive or non-finite sigma, or a non-finite parameter.
    pub fn validate(&self) -> Result<(), VaeError> {
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            return Err(VaeError::Sigma(self.sigma));
        }
        self.decoder.check()
    }

    /// The latent grid of the posterior at this model: [-12, 12] at a spacing that
    /// resolves the prior, the decoder's bends and the likelihood's width.
    pub fn latent_grid(&self) -> (Vec<f64>, f64) {
        let width = 1.0_f64
            .min(self.decoder.bend_length())
            .min(self.sigma / self.decoder.max_slope(Z_RANGE).max(1e-300));
        grid(-Z_RANGE, Z_RANGE, width / POINTS_PER_FEATURE)
    }

    /// log p(x | z).
    pub fn log_likelihood(&self, x: f64, z: f64) -> f64 {
        normal_log_pdf(x, self.decoder.f(z), self.sigma * self.sigma)
    }

    /// log p(x) = log of the integral of p(z) p(x | z) over z (finite even where p(x)
    /// underflows: summed in the log domain).
    pub fn log_evidence(&self, x: f64) -> f64 {
        let (zs, h) = self.latent_grid();
        self.log_evidence_on(x, &zs, h)
    }

    fn log_evidence_on(&self, x: f64, zs: &[f64], h: f64) -> f64 {
        let terms = zs
            .iter()
            .map(|&z| normal_log_pdf(z, 0.0, 1.0) + self.log_likelihood(x, z));
        log_sum_exp(terms) + h.ln()
    }

    /// The posterior density p(z | x) at each z of `zs`.
    pub fn posterior(&self, x: f64, zs: &[f64]) -> Vec<f64> {
        let log_px = self.log_evidence(x);
        zs.iter()
            .map(|&z| (normal_log_pdf(z, 0.0, 1.0) + self.log_likelihood(x, z) - log_px).exp())
            .collect()
    }

    /// The marginal density p(x) at each x of `xs`.
    pub fn marginal(&self, xs: &[f64]) -> Vec<f64> {
        let (zs, h) = self.latent_grid();
        xs.iter()
            .map(|&x| self.log_evidence_on(x, &zs, h).exp())
            .collect()
    }

    /// p(x) at each x of the uniform, ascending grid `xs`: the sum [`LatentModel::marginal`]
    /// takes over the latent grid, h sum_i p(z_i) N(x; f(z_i), sigma^2), with each latent
    /// adding only to the x within [`BAND`] sigmas of f(z_i) (the rest is below 3e-18 of its
    /// peak). Far cheaper than a full sum per x at small sigma (the latent grid then has
    /// ~5e4 points): what a plot of p(x) needs while a slider moves.
    pub fn marginal_uniform(&self, xs: &[f64]) -> Vec<f64> {
        let mut px = vec![0.0; xs.len()];
        if xs.len() < 2 {
            return self.marginal(xs);
        }
        let (lo, dx) = (xs[0], xs[1] - xs[0]);
        let sigma = self.sigma;
        let (zs, h) = self.latent_grid();
        let norm = h / (sigma * (2.0 * std::f64::consts::PI).sqrt());
        let last = (xs.len() - 1) as f64;
        for &z in &zs {
            let w = normal_pdf(z, 0.0, 1.0) * norm;
            let c = self.decoder.f(z);
            if w < 1e-300 || !c.is_finite() {
                continue;
            }
            let j0 = ((c - BAND * sigma - lo) / dx).ceil().clamp(0.0, last) as usize;
            let j1 = ((c + BAND * sigma - lo) / dx).floor().clamp(-1.0, last);
            if j1 < j0 as f64 {
                continue;
            }
            for (j, p) in px.iter_mut().enumerate().take(j1 as usize + 1).skip(j0) {
                let u = (xs[j] - c) / sigma;
                *p += w * (-0.5 * u * u).exp();
            }
        }
        px
    }

    /// The posterior N(mean, var) of the linear decoder; `None` for the others.
    pub fn exact_posterior(&self, x: f64) -> Option<(f64, f64)> {
        match self.decoder {
            Decoder::Linear { slope, offset } => {
                let d = slope * slope + self.sigma * self.sigma;
                Some((slope * (x - offset) / d, self.sigma * self.sigma / d))
            }
            _ => None,
        }
    }

    /// The grid over q: z = mu + s u, u in [-12, 12], at a spacing that resolves the
    /// decoder's bends seen through s.
    fn encoder_grid(&self, q: &Encoder) -> (Vec<f64>, f64) {
        let s = q.s();
        let width = 1.0_f64.min(self.decoder.bend_length() / s);
        grid(-Z_RANGE, Z_RANGE, width / POINTS_PER_FEATURE)
    }

    /// E_q[g(z)] by the trapezoid rule over u = (z - mu) / s.
    fn expect(&self, q: &Encoder, g: impl Fn(f64, f64) -> f64) -> f64 {
        let (us, h) = self.encoder_grid(q);
        let s = q.s();
        let norm = h / (2.0 * std::f64::consts::PI).sqrt();
        us.iter()
            .map(|&u| (-0.5 * u * u).exp() * g(q.mu + s * u, u))
            .sum::<f64>()
            * norm
    }

    /// Every term of the evidence of `x` under the encoder `q`.
    ///
    /// # Errors
    /// A bad model, encoder or x.
    pub fn terms(&self, x: f64, q: &Encoder) -> Result<EvidenceTerms, VaeError> {
        self.check_inputs(x, q)?;
        let (reconstruction, prior_matching) = self.elbo_parts(x, q);
        let elbo = reconstruction - prior_matching;
        let log_evidence = self.log_evidence(x);
        Ok(EvidenceTerms {
            log_evidence,
            reconstruction,
            prior_matching,
            elbo,
            gap: log_evidence - elbo,
        })
    }

    /// The reconstruction term E_q[log p(x | z)] and the prior matching term
    /// KL(q || p(z)) (inputs already checked). No log p(x): fitting compares ELBOs only.
    fn elbo_parts(&self, x: f64, q: &Encoder) -> (f64, f64) {
        let s = q.s();
        let sq_err = self.expect(q, |z, _| {
            let r = x - self.decoder.f(z);
            r * r
        });
        let reconstruction = -0.5 * sq_err / (self.sigma * self.sigma)
            - self.sigma.ln()
            - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let prior_matching = 0.5 * (q.mu * q.mu + s * s - 1.0) - q.log_s;
        (reconstruction, prior_matching)
    }

    /// The ELBO alone (inputs already checked).
    fn elbo(&self, x: f64, q: &Encoder) -> f64 {
        let (reconstruction, prior_matching) = self.elbo_parts(x, q);
        reconstruction - prior_matching
    }

    /// KL(q(z | x) || p(z | x)) computed directly (E_q[log q - log p(z | x)]), as a check
    /// of the identity gap = log p(x) - ELBO.
    ///
    /// # Errors
    /// A bad model, encoder or x.
    pub fn posterior_kl(&self, x: f64, q: &Encoder) -> Result<f64, VaeError> {
        self.check_inputs(x, q)?;
        let log_px = self.log_evidence(x);
        let s = q.s();
        Ok(self.expect(q, |z, u| {
            // log N(z; mu, s^2) = log N(u; 0, 1) - ln s, in u (z - mu loses digits when |mu| >> s).
            let log_q = normal_log_pdf(u, 0.0, 1.0) - s.ln();
            let log_post = normal_log_pdf(z, 0.0, 1.0) + self.log_likelihood(x, z) - log_px;
            log_q - log_post
        }))
    }

    /// The gradient of the ELBO in (mu, log s), by the reparameterisation z = mu + s u
    /// under the same quadrature: d/dmu = E_q[h'(z)] - mu and
    /// d/dlog s = s E_q[h'(z) u] - (s^2 - 1), with h(z) = log p(x | z).
    ///
    /// # Errors
    /// A bad model, encoder or x.
    pub fn elbo_gradient(&self, x: f64, q: &Encoder) -> Result<(f64, f64), VaeError> {
        self.check_inputs(x, q)?;
        let s = q.s();
        let var = self.sigma * self.sigma;
        let dh = |z: f64| (x - self.decoder.f(z)) * self.decoder.df(z) / var;
        let d_mu = self.expect(q, |z, _| dh(z)) - q.mu;
        let d_log_s = s * self.expect(q, |z, u| dh(z) * u) - (s * s - 1.0);
        Ok((d_mu, d_log_s))
    }

    /// One step of natural-gradient ascent on the ELBO from `q`: the gradient scaled by
    /// the inverse Fisher information of the encoder (s^2 for mu, 1/2 for log s), times
    /// `rate`, halved until the ELBO does not fall (the likelihood can be far sharper
    /// than q, where a full step would overshoot). At a maximum it returns `q`.
    ///
    /// # Errors
    /// A bad model, encoder or x.
    pub fn fit_step(&self, x: f64, q: &Encoder, rate: f64) -> Result<Encoder, VaeError> {
        let (d_mu, d_log_s) = self.elbo_gradient(x, q)?;
        // Only ELBOs are compared: log p(x) (the costly integral over z) is not needed.
        let start = self.elbo(x, q);
        let s = q.s();
        let mut r = rate;
        for _ in 0..MAX_HALVINGS {
            let next = Encoder {
                mu: q.mu + r * s * s * d_mu,
                log_s: q.log_s + (r * 0.5 * d_log_s).clamp(-0.5, 0.5),
            };
            let valid = self.check_inputs(x, &next).is_ok();
            if valid && self.elbo(x, &next) >= start {
                return Ok(next);
            }
            r *= 0.5;
        }
        Ok(*q)
    }

    /// Fit q by [`LatentModel::fit_step`] until a step moves it less than `tol` (in mu / s
    /// and in log s) or after `max_steps`; returns the encoder and the steps taken.
    ///
    /// # Errors
    /// A bad model, encoder or x.
    pub fn fit(
        &self,
        x: f64,
        start: &Encoder,
        rate: f64,
        tol: f64,
        max_steps: usize,
    ) -> Result<(Encoder, usize), VaeError> {
        let mut q = *start;
        for step in 1..=max_steps {
            let next = self.fit_step(x, &q, rate)?;
            let moved = ((next.mu - q.mu) / q.s())
                .abs()
                .max((next.log_s - q.log_s).abs());
            q = next;
            if moved < tol {
                return Ok((q, step));
            }
        }
        Ok((q, max_steps))
    }

    fn check_inputs(&self, x: f64, q: &Encoder) -> Result<(), VaeError> {
        self.validate()?;
        if !x.is_finite() {
            return Err(VaeError::Point(x));
        }
        let s = q.s();
        if !(q.mu.is_finite() && s.is_finite() && s > 0.0) {
            return Err(VaeError::Encoder { mu: q.mu, s });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banded_marginal_is_the_full_one() {
        for decoder in Decoder::DEFAULTS {
            for sigma in [0.05, 0.3, 2.0] {
                let m = LatentModel { decoder, sigma };
                let xs: Vec<f64> = (0..=300).map(|i| -6.0 + 0.04 * i as f64).collect();
                let full = m.marginal(&xs);
                let banded = m.marginal_uniform(&xs);
                for ((x, a), b) in xs.iter().zip(&full).zip(&banded) {
                    assert!(
                        (a - b).abs() <= 1e-12 * a.max(1e-6),
                        "{decoder:?} sigma {sigma} x {x}: {a} vs {b}"
                    );
                }
            }
        }
    }

    fn linear(slope: f64, offset: f64, sigma: f64) -> LatentModel {
        LatentModel {
            decoder: Decoder::Linear { slope, offset },
            sigma,
        }
    }

    #[test]
    fn linear_evidence_is_the_gaussian_marginal() {
        // p(x) = N(x; b, a^2 + sigma^2), written out.
        for (a, b, sigma, x) in [
            (1.0, 0.0, 0.5, 0.3),
            (2.5, -1.0, 0.05, 3.0),
            (0.3, 0.2, 1.5, -4.0),
        ] {
            let m = linear(a, b, sigma);
            let var: f64 = a * a + sigma * sigma;
            let exact =
                -0.5 * (x - b) * (x - b) / var - 0.5 * (2.0 * std::f64::consts::PI * var).ln();
            let got = m.log_evidence(x);
            assert!((got - exact).abs() < 1e-10, "{got} vs {exact}");
        }
    }

    #[test]
    fn the_exact_posterior_as_encoder_closes_the_gap_and_a_wrong_one_opens_it() {
        let m = linear(1.5, 0.5, 0.3);
        let x = 1.2;
        let (mean, var) = m.exact_posterior(x).expect("linear");
        let q = Encoder {
            mu: mean,
            log_s: 0.5 * var.ln(),
        };
        let t = m.terms(x, &q).expect("terms");
        assert!(t.gap.abs() < 1e-10, "gap {}", t.gap);
        // A wrong encoder: the gap is KL between two Gaussians, written out.
        let w = Encoder {
            mu: mean + 0.4,
            log_s: 0.5 * var.ln() + 0.3,
        };
        let s2 = (2.0 * w.log_s).exp();
        let kl = 0.5 * (s2 / var + (w.mu - mean).powi(2) / var - 1.0 + (var / s2).ln());
        let t = m.terms(x, &w).expect("terms");
        assert!((t.gap - kl).abs() < 1e-10, "{} vs {kl}", t.gap);
        let direct = m.posterior_kl(x, &w).expect("kl");
        assert!((direct - kl).abs() < 1e-10, "{direct} vs {kl}");
    }

    #[test]
    fn bad_inputs_are_errors_not_nans() {
        let m = linear(1.0, 0.0, 0.0);
        let q = Encoder {
            mu: 0.0,
            log_s: 0.0,
        };
        assert_eq!(m.terms(0.0, &q), Err(VaeError::Sigma(0.0)));
        let m = linear(f64::NAN, 0.0, 1.0);
        assert!(matches!(m.terms(0.0, &q), Err(VaeError::Parameter { .. })));
        let m = linear(1.0, 0.0, 1.0);
        assert_eq!(
            m.terms(f64::INFINITY, &q),
            Err(VaeError::Point(f64::INFINITY))
        );
        let bad = Encoder {
            mu: 0.0,
            log_s: f64::NEG_INFINITY,
        };
        assert!(matches!(m.terms(0.0, &bad), Err(VaeError::Encoder { .. })));
    }
}
