//! Speed of the full ELBO report (issue: "The exact ELBO core and the headless report").
//!
//! - `report/two-moons-64/T1000/N4096`: the full report, target at most 300 ms on 2 cores.
//! - `report/two-moons-64/T1000/N256`: the app's preview, target at most 30 ms.
//! - `sweep/*`: cost against T, N and the number of components K, each varied alone from
//!   (T = 250, N = 1024, K = 64), to show the cost is linear in each.
//!
//! Run with `cargo bench --bench elbo`; `cargo bench --bench elbo -- report` for the targets only.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use elbo_lab::denoiser::ModelKind;
use elbo_lab::elbo::{Control, McConfig, compute_elbo};
use elbo_lab::presets::{DataPreset, DataSpec};
use elbo_lab::schedule::{BetaSchedule, ScheduleSpec};

fn two_moons(components: usize) -> elbo_lab::mixture::GaussianMixture {
    DataSpec {
        preset: DataPreset::TwoMoons,
        components,
        width: 1.0,
    }
    .build()
    .expect("two moons builds")
}

fn run(components: usize, steps: usize, samples: usize) -> f64 {
    let data = two_moons(components);
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, steps)
        .build()
        .expect("valid schedule");
    let model = ModelKind::Optimal.build(&data);
    let config = McConfig {
        samples,
        ..McConfig::default()
    };
    compute_elbo(
        &data,
        &schedule,
        model.as_ref(),
        &config,
        Control::default(),
    )
    .expect("computes")
    .nelbo
    .mean
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for samples in [4096, 256] {
        group.bench_function(format!("two-moons-64/T1000/N{samples}"), |b| {
            b.iter(|| black_box(run(64, 1000, samples)))
        });
    }
    group.finish();
}

fn sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for steps in [125, 250, 500, 1000] {
        group.bench_with_input(BenchmarkId::new("T", steps), &steps, |b, &t| {
            b.iter(|| black_box(run(64, t, 1024)))
        });
    }
    for samples in [512, 1024, 2048, 4096] {
        group.bench_with_input(BenchmarkId::new("N", samples), &samples, |b, &n| {
            b.iter(|| black_box(run(64, 250, n)))
        });
    }
    for components in [32, 64, 128, 256] {
        group.bench_with_input(BenchmarkId::new("K", components), &components, |b, &k| {
            b.iter(|| black_box(run(k, 250, 1024)))
        });
    }
    group.finish();
}

criterion_group!(benches, report, sweep);
criterion_main!(benches);
