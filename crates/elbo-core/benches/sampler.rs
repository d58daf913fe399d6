//! Speed of the reverse process (issue 4): 10,000 2D particles through 1000 DDPM ancestral
//! steps with the optimal denoiser of a 64-component mixture (two moons), target at most
//! 1 s. A 10-step DDIM run beside it for scale.
//!
//! Measured 2026-11-25 on the 2-core dev machine (load average about 2): median 835 ms
//! for the 1000 DDPM steps, 9.2 ms for the 10 DDIM steps.
//!
//! Run with `cargo bench --bench sampler`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use elbo_core::denoiser::ModelKind;
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::sampler::{SampleControl, SamplerConfig, SamplerKind, initial_noise, sample};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec};

fn bench(c: &mut Criterion) {
    let data = DataSpec {
        preset: DataPreset::TwoMoons,
        components: 64,
        width: 1.0,
    }
    .build()
    .expect("two moons builds");
    assert_eq!(data.len(), 64);
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, 1000)
        .build()
        .expect("valid schedule");
    let model = ModelKind::Optimal.build(&data);
    let x_t = initial_noise(10_000, 2, 0);
    let mut group = c.benchmark_group("sample");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for (name, kind, steps) in [
        ("ddpm-1000/two-moons-64/N10000", SamplerKind::Ddpm, 1000),
        ("ddim-10/two-moons-64/N10000", SamplerKind::Ddim, 10),
    ] {
        let config = SamplerConfig {
            kind,
            steps,
            ..SamplerConfig::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let run = sample(
                    model.as_ref(),
                    &schedule,
                    &config,
                    x_t.clone(),
                    1,
                    false,
                    SampleControl::default(),
                )
                .expect("valid sampler");
                black_box(run.samples)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
