//! The VAE step of the derivation (issue 10, section 1), exactly: log p(x) = ELBO + KL(q ||
//! p(z | x)) for every decoder and encoder, the fitted encoder closing the gap for the
//! linear decoder and not for a nonlinear one.

use elbo_core::vae::{Decoder, Encoder, LatentModel};

fn models() -> Vec<LatentModel> {
    let mut out = Vec::new();
    for decoder in Decoder::DEFAULTS {
        for sigma in [0.05, 0.3, 1.0] {
            out.push(LatentModel { decoder, sigma });
        }
    }
    out.push(LatentModel {
        decoder: Decoder::Tanh {
            scale: 2.0,
            sharpness: 8.0,
        },
        sigma: 0.1,
    });
    out
}

/// Trapezoid integral of samples `ys` on the uniform grid `xs`.
fn integral(xs: &[f64], ys: &[f64]) -> f64 {
    let h = xs[1] - xs[0];
    h * (ys.iter().sum::<f64>() - 0.5 * (ys[0] + ys[ys.len() - 1]))
}

#[test]
fn the_identity_holds_and_every_gap_is_nonnegative() {
    let encoders = [(0.0, 0.0), (0.7, -1.0), (-1.3, 0.4), (0.2, -3.0)];
    for m in models() {
        for x in [-2.5, -0.4, 0.0, 1.1, 2.0] {
            for (mu, log_s) in encoders {
                let q = Encoder { mu, log_s };
                let t = m.terms(x, &q).expect("terms");
                assert!(
                    (t.elbo - (t.reconstruction - t.prior_matching)).abs() < 1e-12,
                    "ELBO = reconstruction - prior matching"
                );
                let direct = m.posterior_kl(x, &q).expect("kl");
                assert!(
                    (t.gap - direct).abs() <= 1e-8 * (1.0 + direct.abs()),
                    "{:?} x = {x} q = {q:?}: log p(x) - ELBO = {} but KL(q || p(z|x)) = {direct}",
                    m.decoder,
                    t.gap
                );
                assert!(t.gap >= -1e-9, "negative gap {}", t.gap);
                assert!(t.prior_matching >= 0.0);
            }
        }
    }
}

#[test]
fn the_posterior_and_the_marginal_are_densities() {
    for m in models() {
        let (zs, _) = m.latent_grid();
        let post = m.posterior(0.7, &zs);
        let mass = integral(&zs, &post);
        assert!(
            (mass - 1.0).abs() < 1e-9,
            "{:?}: posterior mass {mass}",
            m.decoder
        );
        if m.sigma < 0.3 {
            continue;
        }
        // p(x) is at least sigma wide: 5 points per sigma, over every x the latents reach.
        let n = (40.0 / (m.sigma / 5.0)) as usize;
        let xs: Vec<f64> = (0..=n)
            .map(|i| -20.0 + 40.0 * i as f64 / n as f64)
            .collect();
        let px = m.marginal(&xs);
        let mass = integral(&xs, &px);
        assert!(
            (mass - 1.0).abs() < 1e-6,
            "{:?} sigma {}: p(x) mass {mass}",
            m.decoder,
            m.sigma
        );
    }
}

#[test]
fn fitting_closes_the_gap_for_the_linear_decoder_only() {
    let start = Encoder {
        mu: -1.0,
        log_s: 0.5,
    };
    // Linear: the posterior is Gaussian; the fitted encoder is it, the gap below 1e-6 nats.
    for sigma in [0.05, 0.3, 1.0] {
        let m = LatentModel {
            decoder: Decoder::Linear {
                slope: 1.5,
                offset: 0.2,
            },
            sigma,
        };
        let x = 0.9;
        let (q, steps) = m.fit(x, &start, 0.5, 1e-10, 5_000).expect("fit");
        let t = m.terms(x, &q).expect("terms");
        assert!(
            t.gap < 1e-6,
            "sigma {sigma}: fitted gap {} after {steps} steps",
            t.gap
        );
        let (mean, var) = m.exact_posterior(x).expect("linear");
        assert!((q.mu - mean).abs() < 1e-5 && (q.s() - var.sqrt()).abs() < 1e-5);
    }
    // Tanh with x between the modes, quadratic on its folded side: the posterior is not
    // Gaussian, and the best Gaussian leaves a clear gap; every step raises the ELBO.
    for (decoder, x) in [
        (
            Decoder::Tanh {
                scale: 2.0,
                sharpness: 2.0,
            },
            1.95,
        ),
        (
            Decoder::Quadratic {
                slope: 1.0,
                curve: 0.5,
            },
            1.0,
        ),
    ] {
        let m = LatentModel {
            decoder,
            sigma: 0.2,
        };
        // From the prior N(0, 1), as the app's sliders start.
        let mut q = Encoder {
            mu: 0.0,
            log_s: 0.0,
        };
        let mut elbo = m.terms(x, &q).expect("terms").elbo;
        for _ in 0..400 {
            q = m.fit_step(x, &q, 0.5).expect("step");
            let next = m.terms(x, &q).expect("terms").elbo;
            assert!(
                next >= elbo - 1e-9,
                "{decoder:?}: ELBO fell from {elbo} to {next}"
            );
            elbo = next;
        }
        let (g_mu, g_ls) = m.elbo_gradient(x, &q).expect("gradient");
        assert!(
            g_mu.abs() < 1e-5 && g_ls.abs() < 1e-5,
            "not converged: {g_mu} {g_ls}"
        );
        let gap = m.terms(x, &q).expect("terms").gap;
        assert!(
            gap > 1e-2,
            "{decoder:?}: the best Gaussian's gap is only {gap}"
        );
    }
}
