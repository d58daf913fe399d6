//! `elbo-lab train`: writes one safetensors file per network and a JSON summary with the
//! final NELBO (and standard error) of each network and of the optimal model.

use assert_cmd::Command;
use elbo_core::param::Parameterisation;
use elbo_train::load_all;

#[test]
fn train_writes_weights_and_a_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("run");
    Command::cargo_bin("elbo-lab")
        .expect("binary")
        .args([
            "train",
            "--data",
            "bimodal",
            "--steps",
            "20",
            "--train-steps",
            "5",
            "--batch",
            "16",
            "--samples",
            "64",
            "--loss",
            "elbo",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    for name in ["x0", "eps", "score"] {
        assert!(out.join(format!("{name}.safetensors")).exists(), "{name}");
    }
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary written");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["settings"]["loss"], "elbo");
    assert_eq!(doc["settings"]["train_steps"], 5);
    assert!(doc["optimal"]["nelbo"].is_number());
    assert!(doc["optimal"]["nelbo_stderr"].is_number());
    let nets = doc["networks"].as_array().expect("networks array");
    assert_eq!(nets.len(), 3);
    for n in nets {
        assert!(
            n["nelbo"].is_number() && n["nelbo_stderr"].is_number(),
            "{n}"
        );
    }
    // The weights load back (as the app's "Load weights" does).
    let loaded = load_all(&out, 1).expect("loads");
    assert_eq!(
        loaded
            .iter()
            .map(|n| n.parameterisation())
            .collect::<Vec<_>>(),
        vec![
            Parameterisation::X0,
            Parameterisation::Eps,
            Parameterisation::Score
        ]
    );
}

#[test]
fn train_rejects_a_bad_batch_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let assert = Command::cargo_bin("elbo-lab")
        .expect("binary")
        .args(["train", "--batch", "0", "--quiet", "--out"])
        .arg(dir.path())
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("batch = 0"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
