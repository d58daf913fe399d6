//! The continuous-time limit (issue 10, section 3): L_inf = 1/2 * integral of mmse(SNR)
//! dSNR between the schedule's endpoints, exact for Gaussian data; the optimal model's
//! denoising sum (fixed_small) never below it at any T and converging to it for every
//! log-SNR shape with the same endpoints.

use elbo_lab::continuous::{continuous_loss, mmse_at_log_snr};
use elbo_lab::denoiser::ModelKind;
use elbo_lab::elbo::{Control, ElboResult, McConfig, Method, compute_elbo};
use elbo_lab::mixture::GaussianMixture;
use elbo_lab::presets::{DataPreset, DataSpec};
use elbo_lab::schedule::{BetaSource, ScheduleSpec, SnrProcess, SnrShape, VarianceType};

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
    let config = McConfig {
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
