//! A non-beta (SNR) schedule spec round-trips through serde and the app's settings.

use std::path::PathBuf;

use elbo_core::schedule::{LoadedSchedule, NoiseSchedule, ScheduleSpec, load_schedule_file};

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn load(name: &str) -> LoadedSchedule {
    load_schedule_file(&data_file(name)).expect("loads")
}

fn build(spec: &ScheduleSpec) -> NoiseSchedule {
    spec.build().expect("builds")
}

#[test]
fn an_snr_spec_round_trips_through_serde_and_the_app_settings() {
    use elbo_lab::app::settings::ScheduleSettings;
    for file in [
        "flux-flow-match.scheduler_config.json",
        "edm-dpmsolver.scheduler_config.json",
        "stable-cascade-wuerstchen.scheduler_config.json",
    ] {
        let spec = load(file).spec;
        let json = serde_json::to_string(&spec).expect("serialises");
        let back: ScheduleSpec = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, spec, "{file}: {json}");
        // The app keeps the process as the betas it builds to; they rebuild to the same
        // abar (to rounding: a sum of log1p against the log-SNR formula).
        let s = build(&spec);
        let settings = ScheduleSettings::from_spec(&spec, file);
        let again = build(&settings.spec());
        assert_eq!(again.steps(), s.steps(), "{file}");
        for t in 1..=s.steps() {
            let (a, b) = (again.abar(t), s.abar(t));
            assert!(
                (a - b).abs() <= 1e-12 + 1e-9 * b,
                "{file}: abar_{t} {a} vs {b}"
            );
        }
    }
    // A malformed process in a saved spec is refused when built, naming the key.
    let bad: ScheduleSpec = serde_json::from_str(
        r#"{"source": {"kind": "snr", "process": {"type": "flow_match", "shift": -2.0, "dynamic_shifting": false}}, "steps": 10, "rescale_zero_snr": false}"#,
    )
    .expect("well-formed JSON");
    assert!(
        bad.build()
            .expect_err("negative shift")
            .to_string()
            .contains("shift")
    );
}
