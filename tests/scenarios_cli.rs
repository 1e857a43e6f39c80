//! `weft scenarios` at a small scale (a day of traffic at half the demo's rate, about 55,000
//! benign events): the five attack chains woven into the benign traffic each become
//! exactly one incident with their entities and services and nothing of the benign traffic,
//! and the benign traffic alone raises no incident. `scripts/scenarios` runs the same over a
//! million benign events.

use std::process::Command;

use serde_json::Value;

#[test]
fn every_chain_is_one_incident_and_benign_traffic_none() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "scenarios",
            "--json",
            "--seed",
            "7",
            "--hours",
            "24",
            "--scale",
            "0.5",
        ])
        .arg("--work-dir")
        .arg(dir.path())
        .output()
        .expect("weft scenarios runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let verdict: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"));
    let pretty = serde_json::to_string_pretty(&verdict).expect("JSON");

    let chains = verdict["chains"].as_array().expect("chains");
    assert_eq!(chains.len(), 5, "{pretty}");
    let names: Vec<&str> = chains
        .iter()
        .filter_map(|chain| chain["chain"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "bastion takeover",
            "session hijack",
            "account takeover",
            "mfa fatigue",
            "cloud key abuse"
        ]
    );
    for chain in chains {
        let name = &chain["chain"];
        assert_eq!(
            chain["incidents"].as_array().map(Vec::len),
            Some(1),
            "{name}: {pretty}"
        );
        assert_eq!(
            chain["missing_entities"],
            Value::Array(vec![]),
            "{name}: {pretty}"
        );
        assert_eq!(
            chain["foreign_entities"],
            Value::Array(vec![]),
            "{name}: {pretty}"
        );
        assert_eq!(
            chain["missing_services"],
            Value::Array(vec![]),
            "{name}: {pretty}"
        );
        let services = chain["incident_services"].as_array().expect("services");
        assert!(
            services.len() >= 3,
            "{name} spans fewer than 3 services: {pretty}"
        );
        assert!(chain["rules"].as_u64() >= Some(2), "{name}: {pretty}");
        assert_eq!(chain["passed"], true, "{name}: {pretty}");
    }
    // The chains' incidents are all the incidents, and the benign traffic alone raises none.
    assert_eq!(verdict["with_chains"]["incidents"], 5, "{pretty}");
    assert_eq!(
        verdict["unexplained_incidents"],
        Value::Array(vec![]),
        "{pretty}"
    );
    assert_eq!(verdict["benign_only"]["incidents"], 0, "{pretty}");
    assert_eq!(
        verdict["false_positive_incidents_per_million"], 0.0,
        "{pretty}"
    );
    // Nothing is lost on the way in.
    for run in ["with_chains", "benign_only"] {
        assert_eq!(verdict[run]["dead_lettered"], 0, "{pretty}");
        assert_eq!(verdict[run]["stored"], verdict[run]["events"], "{pretty}");
    }
    let benign = verdict["benign_events"].as_u64().expect("benign events");
    assert!(
        (40_000..150_000).contains(&benign),
        "{benign} benign events"
    );
    assert!(verdict["chain_events"].as_u64() > Some(100), "{pretty}");
    assert_eq!(verdict["passed"], true, "{pretty}");
    assert!(output.status.success(), "{stderr}");
}
