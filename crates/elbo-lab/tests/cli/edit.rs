//! A drawn mixture saved as JSON reports, through `elbo-lab report --data`, the NELBO the
//! library computes for it.

use super::common::elbo_lab;

use elbo_core::denoiser::ModelKind;
use elbo_core::edit::{Axes, EditableMixture, Handle};
use elbo_core::elbo::{Control, ElboConfig, Method, compute_elbo};
use elbo_core::mixture::{GaussianMixture, parse_mixture_json};
use elbo_core::presets::{DataPreset, DataSpec};
use elbo_core::schedule::{BetaSchedule, ScheduleSpec};

fn preset(p: DataPreset) -> EditableMixture {
    EditableMixture::from_mixture(&DataSpec::new(p).build().expect("preset"))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

fn one_2d(axes: Axes) -> EditableMixture {
    let c = axes.covariance();
    let m = GaussianMixture::gaussian(&[1.0, -2.0], vec![vec![c.xx, c.xy], vec![c.xy, c.yy]])
        .expect("valid");
    EditableMixture::from_mixture(&m)
}

/// Save the edited mixture, report on it through the CLI, compare to the library.
fn report_matches_library(e: &EditableMixture) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drawn.json");
    let json = e.to_json();
    std::fs::write(&path, &json).expect("writes");
    let data = e.to_mixture();
    // The file reads back as the same mixture to the last bit (numbers are written in their
    // shortest round-trip form and serde_json parses them exactly: `float_roundtrip`).
    let back = parse_mixture_json(&json).expect("parses");
    assert_eq!(back.len(), data.len());
    for k in 0..data.len() {
        assert_eq!(back.covs()[k], data.covs()[k], "component {k}'s covariance");
        assert_eq!(back.means()[k], data.means()[k], "component {k}'s mean");
        // Weights are normalised again on reading: equal up to that division's rounding.
        let (a, b) = (back.weights()[k], data.weights()[k]);
        assert!((a - b).abs() <= 2.0 * f64::EPSILON * b, "{k}: {a} vs {b}");
    }
    let out = elbo_lab()
        .args(["report", "--quiet", "--steps", "50", "--data"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cli = j["nelbo"].as_f64().expect("nelbo");
    let schedule = ScheduleSpec::preset(BetaSchedule::Linear, 50)
        .build()
        .expect("schedule");
    let model = ModelKind::Optimal.build(&data);
    let lib = compute_elbo(
        &data,
        &schedule,
        model.as_ref(),
        &ElboConfig {
            method: Method::Quadrature,
            ..ElboConfig::default()
        },
        Control::default(),
    )
    .expect("ELBO");
    assert!(
        close(cli, lib.nelbo.mean, 1e-12),
        "report {cli} vs library {}",
        lib.nelbo.mean
    );
}

#[test]
fn a_drawn_1d_mixture_saved_as_json_reports_the_libraries_nelbo() {
    let mut e = preset(DataPreset::Bimodal);
    let k = e.add_at([0.3, 0.0]).expect("adds");
    e.set_sd(k, 0.17).expect("width");
    e.set_weight(0, 0.1).expect("weight");
    e.move_to(1, [1.7, 0.0]).expect("moves");
    report_matches_library(&e);
}

#[test]
fn a_drawn_2d_mixture_saved_as_json_reports_the_libraries_nelbo() {
    let mut e = one_2d(Axes {
        sd1: 0.6,
        sd2: 0.2,
        angle: 0.4,
    });
    let k = e.add_at([-1.0, 1.0]).expect("adds");
    e.set_axes(
        k,
        Axes {
            sd1: 0.3,
            sd2: 0.5,
            angle: -1.1,
        },
    )
    .expect("axes");
    e.add_at([1.5, 1.5]).expect("adds");
    e.set_weight(2, 0.2).expect("weight");
    e.drag(0, Handle::Rotation, [2.0, 0.0]).expect("rotates");
    report_matches_library(&e);
}
