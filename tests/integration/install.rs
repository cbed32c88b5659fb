//! Installing as the README says: `cargo install --path host --locked`, and the systemd unit
//! in `deploy/systemd/` (checked by systemd's own verifier, its variables against the
//! settings table).

use crate::common::{host_binary, without_cargo_test_env, workspace_root};
use std::process::Command;
use wasm_worker::config::spec::SPECS;

/// The README's install command into a fresh root. `--debug` so it reuses the build the test
/// suite has just made: a release build of wasmtime and core costs ~20 minutes on the CI
/// machine; what the command can break (a stale lockfile, a package that does not build on
/// its own, a missing binary target) breaks the same way in either profile.
#[test]
fn cargo_install_locked_installs_a_working_binary() {
    let root = tempfile::tempdir().expect("root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = without_cargo_test_env(&mut Command::new(cargo))
        .current_dir(workspace_root())
        .args(["install", "--path", "host", "--locked", "--debug", "--root"])
        .arg(root.path())
        .output()
        .expect("running cargo install");
    assert!(
        out.status.success(),
        "cargo install --path host --locked failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = root.path().join("bin/wasm-worker");
    let version = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("running the installed binary");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("wasm-worker {}", env!("CARGO_PKG_VERSION"))
    );
    // It carries its contracts (a plugin author needs no clone).
    let wit = root.path().join("wit");
    let status = Command::new(&installed)
        .arg("wit")
        .arg(&wit)
        .status()
        .expect("wasm-worker wit");
    assert!(status.success());
    let contract = std::fs::read_to_string(wit.join("wasm-worker-plugin/plugin.wit"))
        .expect("plugin.wit written");
    assert!(
        contract.contains("package wasm-worker:plugin@"),
        "{contract}"
    );
}

fn unit_text() -> String {
    let path = workspace_root().join("deploy/systemd/wasm-worker.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `Environment=` line sets a variable the host reads, and systemd waits longer than
/// the host's own shutdown grace before it kills.
#[test]
fn the_service_unit_sets_only_real_settings_and_outwaits_the_shutdown_grace() {
    let text = unit_text();
    let mut grace = None;
    for line in text.lines() {
        let Some(assignment) = line.strip_prefix("Environment=") else {
            continue;
        };
        let (name, value) = assignment.split_once('=').expect("NAME=VALUE");
        let spec = SPECS
            .iter()
            .find(|s| s.env.contains(&name))
            .unwrap_or_else(|| panic!("the unit sets {name}, which no setting reads"));
        if spec.key == "shutdown_grace" {
            grace = Some(
                value
                    .trim_end_matches('s')
                    .parse::<u64>()
                    .expect("grace in s"),
            );
        }
    }
    let grace = grace.expect("the unit states the shutdown grace it is sized for");
    let stop = text
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .expect("TimeoutStopSec")
        .trim_end_matches('s')
        .parse::<u64>()
        .expect("TimeoutStopSec in s");
    // The host waits the grace, then up to 5 s for its pollers to finish.
    assert!(
        stop > grace + 5,
        "TimeoutStopSec={stop}s cuts a {grace}s grace short"
    );
}

/// `systemd-analyze verify` accepts the unit (with `ExecStart` pointed at the binary under
/// test, since `/usr/local/bin/wasm-worker` is not installed here).
#[test]
fn systemd_analyze_verifies_the_service_unit() {
    let dir = tempfile::tempdir().expect("dir");
    let unit = dir.path().join("wasm-worker.service");
    let text = unit_text().replace(
        "ExecStart=/usr/local/bin/wasm-worker",
        &format!("ExecStart={}", host_binary().display()),
    );
    std::fs::write(&unit, text).expect("unit");
    let out = match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run systemd-analyze ({e}): install Debian's `systemd` package (`make setup` does)"
        ),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Only complaints about this unit count (the verifier also reads the host's own units).
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("wasm-worker.service"))
        .collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}
