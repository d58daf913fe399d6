//! Speed of the evidence (issue 10 §2): p_theta(x0) propagated down the reverse chain, the
//! per-point NELBO and the decomposition, with their error estimates.
//!
//! - `evidence/bimodal/linear/T1000`: bimodal preset, linear schedule, optimal model,
//!   T = 1000, default settings: target at most 1 s.
//! - `evidence/bimodal/cosine/T1000`: the same under the cosine schedule.
//! - `evidence/bimodal/linear/T1000/gaussian-fit`: the Gaussian-fit (linear) model.
//! - `evidence/bimodal/linear/T1000/preview`: the app's coarse preview settings.
//! - `evidence/bimodal/linear/T1000/trained-eps`: the eps-prediction MLP shipped in
//!   `assets/lesson_weights` (a trained model: every node is a network call).
//! - `evidence/reverse-steps/bimodal/linear/T1000`: the split of the same excess along the
//!   reverse chain (`elbo_core::reverse_step::reverse_steps`: every R_t = G_t + M_t), optimal
//!   model, fixed_small, default settings: target at most 2 s.
//!
//! Run with `cargo bench --bench evidence`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use elbo_core::denoiser::{Denoiser, ModelKind};
use elbo_core::elbo::Control;
use elbo_core::evidence::{EvidenceConfig, compute_evidence, reverse_variances};
use elbo_core::param::Parameterisation;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::reverse_step::{ReverseStepConfig, reverse_steps};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec, VarianceType};
use elbo_train::TrainedDenoiser;

fn run(schedule: BetaSchedule, model: ModelKind, config: &EvidenceConfig) -> f64 {
    let data = DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("bimodal builds");
    let model = model.build(&data);
    run_model(schedule, model.as_ref(), config)
}

fn run_model(schedule: BetaSchedule, model: &dyn Denoiser, config: &EvidenceConfig) -> f64 {
    let data = DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("bimodal builds");
    let schedule = ScheduleSpec::preset(schedule, 1000)
        .build()
        .expect("valid schedule");
    let sigma2 = reverse_variances(&schedule, VarianceType::FixedSmall);
    compute_evidence(&data, &schedule, model, &sigma2, config, Control::default())
        .expect("evidence")
        .nelbo
        .value
}

/// The reverse-step split on the bimodal preset, linear schedule, T = 1000, fixed_small.
fn run_reverse(model: ModelKind, config: &ReverseStepConfig) -> f64 {
    let data = DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("bimodal builds");
    let model = model.build(&data);
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, 1000)
        .build()
        .expect("valid schedule");
    let sigma2 = reverse_variances(&schedule, VarianceType::FixedSmall);
    reverse_steps(
        &data,
        &schedule,
        model.as_ref(),
        &sigma2,
        config,
        Control::default(),
    )
    .expect("reverse steps")
    .total
    .value
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("evidence");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let full = EvidenceConfig::default();
    group.bench_function("bimodal/linear/T1000", |b| {
        b.iter(|| black_box(run(BetaSchedule::Linear, ModelKind::Optimal, &full)))
    });
    group.bench_function("bimodal/cosine/T1000", |b| {
        b.iter(|| {
            black_box(run(
                BetaSchedule::SquaredcosCapV2,
                ModelKind::Optimal,
                &full,
            ))
        })
    });
    group.bench_function("bimodal/linear/T1000/gaussian-fit", |b| {
        b.iter(|| black_box(run(BetaSchedule::Linear, ModelKind::Gaussian, &full)))
    });
    let preview = EvidenceConfig::preview();
    group.bench_function("bimodal/linear/T1000/preview", |b| {
        b.iter(|| black_box(run(BetaSchedule::Linear, ModelKind::Optimal, &preview)))
    });
    // The eps-prediction MLP shipped for the lessons (bimodal, linear, T = 1000).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/lesson_weights/eps.safetensors");
    let trained = TrainedDenoiser::load(&path, Parameterisation::Eps, 1).expect("shipped weights");
    group.bench_function("bimodal/linear/T1000/trained-eps", |b| {
        b.iter(|| black_box(run_model(BetaSchedule::Linear, &trained, &full)))
    });
    let reverse = ReverseStepConfig::default();
    group.bench_function("reverse-steps/bimodal/linear/T1000", |b| {
        b.iter(|| black_box(run_reverse(ModelKind::Optimal, &reverse)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
