//! The evidence of a trained network (the eps-prediction MLP shipped for the lessons).

use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::evidence::{EvidenceConfig, compute_evidence, reverse_variances};
use elbo_core::mixture::GaussianMixture;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, NoiseSchedule, ScheduleSpec, VarianceType};

fn schedule(kind: BetaSchedule, steps: usize) -> NoiseSchedule {
    ScheduleSpec::preset(kind, steps)
        .build()
        .expect("schedule builds")
}

fn preset(p: DataPreset) -> GaussianMixture {
    DataSpec::new(p).build().expect("preset builds")
}

/// A trained network (the eps-prediction MLP shipped for the lessons: bimodal, linear,
/// T = 1000): the propagation conserves mass, KL and the gap are >= 0, and the mean NELBO
/// matches the report's quadrature NELBO of the same network.
#[test]
fn a_trained_network_obeys_the_identities() {
    use elbo_core::param::Parameterisation;
    use elbo_train::TrainedDenoiser;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/lesson_weights/eps.safetensors");
    let model = TrainedDenoiser::load(&path, Parameterisation::Eps, 1).expect("shipped weights");
    let data = preset(DataPreset::Bimodal);
    let s = schedule(BetaSchedule::Linear, 1000);
    let ev = compute_evidence(
        &data,
        &s,
        &model,
        &reverse_variances(&s, VarianceType::FixedSmall),
        &EvidenceConfig::preview(),
        Control::default(),
    )
    .expect("evidence");
    assert!((ev.mass - 1.0).abs() < 1e-9, "mass {}", ev.mass);
    assert!(ev.kl_data_model.value >= -ev.kl_data_model.error);
    assert!(ev.mean_bound_gap.value >= -ev.mean_bound_gap.error);
    // A trained network is a worse model than the optimal one.
    let optimal = ModelKind::Optimal.build(&data);
    let best = compute_evidence(
        &data,
        &s,
        optimal.as_ref(),
        &reverse_variances(&s, VarianceType::FixedSmall),
        &EvidenceConfig::preview(),
        Control::default(),
    )
    .expect("evidence");
    assert!(ev.nelbo.value > best.nelbo.value);
    let rep = compute_elbo(
        &data,
        &s,
        &model,
        &ElboConfig {
            method: Method::Quadrature,
            ..ElboConfig::default()
        },
        Control::default(),
    )
    .expect("report");
    assert!(
        (ev.nelbo.value - rep.nelbo.mean).abs() <= ev.nelbo.error + rep.nelbo.stderr,
        "{:?} vs report {:?}",
        ev.nelbo,
        rep.nelbo
    );
    eprintln!(
        "trained eps: nll {:?} KL {:?} gap {:?} nelbo {:?} report {:?}",
        ev.model_nll, ev.kl_data_model, ev.mean_bound_gap, ev.nelbo, rep.nelbo
    );
}
