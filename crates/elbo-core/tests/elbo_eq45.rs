//! Luo eq. 45 (the "consistency terms" form) against eq. 58: both estimate the
//! same NELBO; each eq. 45 term, an expectation over two more random variables, has a
//! much larger Monte Carlo variance than its eq. 58 counterpart.
//!
//! (The per-trajectory *total* of eq. 45 is not noisier: its log-ratios telescope along
//! the trajectory and their errors largely cancel, so only the terms are compared.)

use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec, VarianceType};

/// Two estimates of one quantity agree within this many combined standard errors.
const Z_SINGLE: f64 = 4.0;

#[test]
fn eq45_total_agrees_with_eq58_and_is_noisier() {
    for (preset, steps) in [(DataPreset::Gaussian, 100), (DataPreset::Bimodal, 100)] {
        let data = DataSpec::new(preset).build().expect("preset");
        let schedule = ScheduleSpec::preset(BetaSchedule::SquaredcosCapV2, steps)
            .build()
            .expect("schedule");
        let model = ModelKind::Optimal.build(&data);
        let config = ElboConfig {
            samples: 2048,
            seed: 4,
            variance: VarianceType::FixedSmall,
            consistency: true,
            method: Method::MonteCarlo,
        };
        let r = compute_elbo(
            &data,
            &schedule,
            model.as_ref(),
            &config,
            Control::default(),
        )
        .expect("valid inputs");
        let c = r.consistency.expect("asked for eq. 45");
        let combined = r.nelbo.stderr.hypot(c.nelbo.stderr);
        let z = (c.nelbo.mean - r.nelbo.mean) / combined;
        assert!(
            z.abs() < Z_SINGLE,
            "{preset}, T = {steps}: eq. 45 NELBO {} +/- {}, eq. 58 NELBO {} +/- {} (z = {z:.1})",
            c.nelbo.mean,
            c.nelbo.stderr,
            r.nelbo.mean,
            r.nelbo.stderr
        );
        for row in &r.timesteps[..steps - 1] {
            let (Some(se58), Some(se45)) = (row.stderr, row.consistency_stderr) else {
                panic!("{preset}, t = {}: both standard errors are defined", row.t);
            };
            assert!(
                se45 > se58,
                "{preset}, t = {}: eq. 45 term stderr {se45} is not above eq. 58's {se58}",
                row.t
            );
        }
    }
}
