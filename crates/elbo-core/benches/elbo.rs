//! Speed of the full ELBO report (issue: "The exact ELBO core and the headless report").
//!
//! - `report/two-moons-64/T1000/N4096`: the full Monte Carlo report, target at most 300 ms
//!   on 2 cores.
//! - `report/two-moons-64/T1000/N256`: the app's Monte Carlo preview, target at most 30 ms.
//! - `quadrature/two-moons-64/T1000`: the full report by quadrature (issue 12), target at
//!   most 300 ms, with the NELBO within 1e-4 nats of a dense-grid reference (crates/elbo-train/tests/train/numerics.rs).
//! - `quadrature/bimodal/T1000`: 1D bimodal, linear schedule, optimal model, T = 1000 by
//!   quadrature, target at most 30 ms, every row within 1e-9 relative of a brute-force
//!   reference (tests/elbo_exact.rs).
//! - `sweep/*`: cost against T, N and the number of components K, each varied alone from
//!   (T = 250, N = 1024, K = 64), to show the cost is linear in each.
//!
//! Run with `cargo bench --bench elbo`; `cargo bench --bench elbo -- report` for the targets only.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use elbo_core::denoiser::ModelKind;
use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec};

fn two_moons(components: usize) -> elbo_core::mixture::GaussianMixture {
    DataSpec {
        preset: DataPreset::TwoMoons,
        components,
        width: 1.0,
    }
    .build()
    .expect("two moons builds")
}

fn run(components: usize, steps: usize, samples: usize) -> f64 {
    run_with(two_moons(components), steps, samples, Method::MonteCarlo)
}

fn run_with(
    data: elbo_core::mixture::GaussianMixture,
    steps: usize,
    samples: usize,
    method: Method,
) -> f64 {
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, steps)
        .build()
        .expect("valid schedule");
    let model = ModelKind::Optimal.build(&data);
    let config = ElboConfig {
        samples,
        method,
        ..ElboConfig::default()
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

fn quadrature(c: &mut Criterion) {
    let mut group = c.benchmark_group("quadrature");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("two-moons-64/T1000", |b| {
        b.iter(|| black_box(run_with(two_moons(64), 1000, 4096, Method::Quadrature)))
    });
    let bimodal = DataSpec::new(DataPreset::Bimodal)
        .build()
        .expect("bimodal builds");
    group.bench_function("bimodal/T1000", |b| {
        b.iter(|| black_box(run_with(bimodal.clone(), 1000, 4096, Method::Quadrature)))
    });
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

criterion_group!(benches, report, quadrature, sweep);
criterion_main!(benches);
