//! `weft dashboards list` and `weft dashboards check`.

use std::process::Command;

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

const VALID: &str = r#"{"title": "Gateway", "panels": [{"id": "codes", "title": "Status codes",
    "query": {"sql": "SELECT http_status, count(*) AS n FROM events GROUP BY 1"},
    "visualization": {"type": "bar", "x": "http_status", "y": "n"}}]}"#;

#[test]
fn check_accepts_valid_files_and_names_the_mistake_in_others() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let valid = dir.path().join("gateway.json");
    std::fs::write(&valid, VALID)?;
    let invalid = dir.path().join("search.json");
    std::fs::write(
        &invalid,
        VALID.replace(
            r#"{"sql": "SELECT http_status, count(*) AS n FROM events GROUP BY 1"}"#,
            r#"{"search": "http_status:500"}"#,
        ),
    )?;

    let ok = weft().args(["dashboards", "check"]).arg(&valid).output()?;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("\"Gateway\", 1 panels"));

    let bad = weft()
        .args(["dashboards", "check"])
        .arg(&valid)
        .arg(&invalid)
        .output()?;
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.contains("invalid") && stdout.contains("reads column \"http_status\""),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn list_shows_the_overview_and_the_users_dashboards() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let dashboards = data.path().join("dashboards");
    std::fs::create_dir_all(&dashboards)?;
    std::fs::write(dashboards.join("gateway.json"), VALID)?;
    let output = weft()
        .args(["dashboards", "list", "--data-dir"])
        .arg(data.path())
        .output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("overview") && stdout.contains("built in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("gateway") && stdout.contains("gateway.json"),
        "{stdout}"
    );

    std::fs::write(dashboards.join("broken.json"), "{")?;
    let output = weft()
        .args(["dashboards", "list", "--data-dir"])
        .arg(data.path())
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.json: invalid JSON"));
    Ok(())
}
