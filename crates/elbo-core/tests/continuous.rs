//! The continuous-time limit (issue 10, section 3): L_inf = 1/2 * integral of mmse(SNR)
//! dSNR between the schedule's endpoints, exact for Gaussian data; the optimal model's
//! denoising sum (fixed_small) never below it at any T and converging to it for every
//! log-SNR shape with the same endpoints.

use elbo_core::continuous::{
    ConvergenceError, continuous_loss, convergence, log_snr_terms, loss_density, mmse_at_log_snr,
    shaped_spec,
};
use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, ElboResult, Method, compute_elbo};
use elbo_core::mixture::GaussianMixture;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{
    BetaSchedule, BetaSource, ScheduleSpec, SnrProcess, SnrShape, VarianceType,
};

fn shaped(shape: SnrShape, first: f64, last: f64, steps: usize) -> ScheduleSpec {
    ScheduleSpec {
        source: BetaSource::Snr {
            process: SnrProcess::Shape {
                shape,
                log_snr_first: first,
                log_snr_last: last,
            },
        },
        steps,
        rescale_zero_snr: false,
    }
}

fn elbo(data: &GaussianMixture, spec: &ScheduleSpec) -> ElboResult {
    let schedule = spec.build().expect("schedule builds");
    let model = ModelKind::Optimal.build(data);
    let config = ElboConfig {
        samples: 64,
        seed: 0,
        variance: VarianceType::FixedSmall,
        consistency: false,
        method: Method::Quadrature,
    };
    compute_elbo(data, &schedule, model.as_ref(), &config, Control::default())
        .expect("ELBO by quadrature")
}

#[test]
fn gaussian_data_have_the_closed_form() {
    // x0 ~ N(m, v): mmse(SNR) = v / (1 + SNR v), so
    // L_inf = 1/2 ln((1 + SNR_1 v) / (1 + SNR_T v)).
    for (m, v) in [(0.3, 0.25), (-1.0, 4.0)] {
        let data = GaussianMixture::gaussian(&[m], vec![vec![v]]).expect("valid");
        for lambda in [-6.0, 0.0, 3.5, 9.0] {
            let snr: f64 = f64::exp(lambda);
            let got = mmse_at_log_snr(&data, lambda).value;
            let exact = v / (1.0 + snr * v);
            assert!(
                (got - exact).abs() <= 1e-10 * exact,
                "mmse {got} vs {exact}"
            );
        }
        for (lo, hi) in [(-10.0, 10.0), (f64::NEG_INFINITY, 6.9), (-2.0, 2.0)] {
            let got = continuous_loss(&data, lo, hi);
            let exact = 0.5 * ((1.0 + hi.exp() * v) / (1.0 + f64::exp(lo) * v)).ln();
            assert!(
                (got.value - exact).abs() <= 1e-9 * exact,
                "L_inf on {lo}..{hi}: {} vs {exact}",
                got.value
            );
            assert!(got.error <= 1e-6 * exact, "error estimate {}", got.error);
        }
    }
}

#[test]
fn the_denoising_sum_is_never_below_the_limit_and_converges_to_it() {
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("bimodal");
    // The endpoints of the linear 1e-4..0.02 schedule at T = 1000.
    let (first, last) = (9.21, -10.12);
    let limit = continuous_loss(&data, last, first);
    for shape in SnrShape::ALL {
        let mut previous = f64::INFINITY;
        let mut ends: Option<(f64, f64)> = None;
        for steps in [2, 10, 100, 1000] {
            let r = elbo(&data, &shaped(shape, first, last, steps));
            let sum = r.denoising_loss.mean;
            // Every term evaluates mmse at its interval's low-SNR end: sum >= L_inf.
            assert!(
                sum >= limit.value - limit.error - r.denoising_loss.stderr,
                "{shape:?} T = {steps}: denoising sum {sum} below L_inf {}",
                limit.value
            );
            assert!(sum <= previous + 1e-9, "{shape:?}: the sum grew with T");
            previous = sum;
            // L_0 and L_T depend only on the endpoints: the same at every T and shape.
            let these = (r.reconstruction_loss.mean, r.prior_loss);
            match ends {
                None => ends = Some(these),
                Some((l0, lt)) => {
                    assert!((these.0 - l0).abs() < 1e-9 && (these.1 - lt).abs() < 1e-12);
                }
            }
        }
        // At T = 1000 the sum is within 2% of the limit for every shape.
        assert!(
            previous - limit.value < 0.02 * limit.value,
            "{shape:?}: {previous} vs L_inf {}",
            limit.value
        );
    }
}

#[test]
fn log_snr_terms_are_the_quadrature_elbo_rows() {
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("bimodal");
    for (preset, rescale) in [
        (BetaSchedule::Linear, false),
        (BetaSchedule::SquaredcosCapV2, false),
        (BetaSchedule::Linear, true),
    ] {
        let spec = ScheduleSpec {
            rescale_zero_snr: rescale,
            ..ScheduleSpec::preset(preset, 200)
        };
        let schedule = spec.build().expect("schedule builds");
        let r = elbo(&data, &spec);
        let terms = log_snr_terms(&data, &schedule, Control::default()).expect("not cancelled");
        assert_eq!(terms.len(), 199);
        for term in &terms {
            let row = r.timesteps.iter().find(|row| row.t == term.t).expect("row");
            let loss = row.loss.expect("quadrature row");
            assert!(
                (term.loss - loss).abs() <= 1e-7 * loss.abs().max(1e-12),
                "{preset:?} t = {}: {} vs the ELBO row {loss}",
                term.t,
                term.loss
            );
        }
        // Zero terminal SNR: the last interval is unbounded, its density undefined.
        let last = terms.last().expect("terms");
        assert_eq!(last.per_log_snr.is_none(), rescale, "{preset:?}");
        assert_eq!(last.lambda_low == f64::NEG_INFINITY, rescale);
    }
}

#[test]
fn fine_steps_approach_the_continuous_loss_density() {
    // Linear 1e-4..0.02 at T = 1000: the steps in log-SNR are small, so each term per unit
    // of log-SNR is close to 1/2 SNR mmse(SNR) at its interval.
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("bimodal");
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, 1000)
        .build()
        .expect("schedule");
    let terms = log_snr_terms(&data, &schedule, Control::default()).expect("not cancelled");
    // The term is (SNR_{t-1} - SNR_t) / 2 times mmse at the low end: against the curve at
    // the midpoint it differs to first order in the interval's width w in log-SNR (about
    // w/2 where mmse ~ 1/SNR, more where mmse falls faster, between the modes).
    let mut worst: f64 = 0.0;
    for term in &terms {
        let width = term.lambda_high - term.lambda_low;
        let density = term.per_log_snr.expect("finite interval");
        let curve = loss_density(&data, term.lambda_mid().expect("finite")).value;
        let rel = (density - curve).abs() / curve;
        assert!(
            rel <= width,
            "t = {}: width {width}, relative difference {rel}",
            term.t
        );
        if term.t >= 100 {
            worst = worst.max(rel);
        }
    }
    // From t = 100 on the steps are under 0.02 in log-SNR: within 1% of the curve.
    assert!(
        worst < 0.01,
        "largest relative difference from t = 100: {worst}"
    );
    // And the whole sum is above the integral of the curve between the endpoints, L_inf
    // (each term evaluates mmse at its interval's low end).
    let sum: f64 = terms.iter().map(|t| t.loss).sum();
    let limit = continuous_loss(
        &data,
        schedule.log_snr(1000).expect("finite"),
        schedule.log_snr(1).expect("finite"),
    );
    assert!(sum >= limit.value - limit.error, "{sum} < {}", limit.value);
}

#[test]
fn convergence_matches_the_elbo_and_falls_to_the_limit() {
    let data = DataSpec::new(DataPreset::Bimodal).build().expect("bimodal");
    let (first, last) = (9.21, -10.12);
    let steps = [1, 2, 10, 100, 1000];
    let done = std::sync::atomic::AtomicUsize::new(0);
    let on_step = |d: usize| done.store(d, std::sync::atomic::Ordering::Relaxed);
    let c = convergence(
        &data,
        first,
        last,
        &steps,
        Control {
            on_step: Some(&on_step),
            cancel: None,
        },
    )
    .expect("converges");
    // T = 1 is skipped; progress counts every shape's timesteps.
    assert_eq!(done.into_inner(), 4 * (2 + 10 + 100 + 1000));
    let limit = c.limit_nelbo();
    for s in &c.shapes {
        assert_eq!(
            s.nelbo.iter().map(|p| p.0).collect::<Vec<_>>(),
            [2, 10, 100, 1000]
        );
        // NELBO(10) is the report's quadrature NELBO of that shaped schedule.
        let r = elbo(&data, &shaped_spec(s.shape, first, last, 10));
        assert!((s.nelbo[1].1 - r.nelbo.mean).abs() < 1e-7, "{:?}", s.shape);
        for w in s.nelbo.windows(2) {
            assert!(w[1].1 <= w[0].1 + 1e-9, "{:?} grew with T", s.shape);
        }
        for (t, n) in &s.nelbo {
            assert!(
                *n >= limit - c.limit.error,
                "{:?} T = {t}: {n} < {limit}",
                s.shape
            );
        }
        assert!(s.nelbo[3].1 - limit < 0.02 * c.limit.value, "{:?}", s.shape);
    }
    // Cancelled before it starts: says so.
    let cancel = std::sync::atomic::AtomicBool::new(true);
    assert!(matches!(
        convergence(
            &data,
            first,
            last,
            &steps,
            Control {
                on_step: None,
                cancel: Some(&cancel),
            }
        ),
        Err(ConvergenceError::Cancelled | ConvergenceError::Elbo(_))
    ));
}
