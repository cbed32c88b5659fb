//! `wasm-worker new`: each language's template, built with its own `build.sh` exactly as an
//! author would run it, loads in a host and answers on a real server.

use crate::common::workflows::{Call, run};
use crate::common::{host_binary, plugin_host, without_cargo_test_env};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// `build.sh OUT` in a plugin folder, with cargo's per-test variables removed (they would make
/// build scripts of the Rust template's dependencies rerun) and the Rust template building in
/// the shared plugins target dir (warm across runs).
fn build(dir: &Path, out: &Path) {
    let home = std::env::var("HOME").expect("HOME");
    let output = without_cargo_test_env(&mut Command::new(dir.join("build.sh")))
        .arg(out)
        .env(
            "CARGO_TARGET_DIR",
            format!("{home}/.cache/wasm-worker/plugins-target"),
        )
        .env("WASM_WORKER", host_binary())
        .output()
        .expect("running build.sh");
    assert!(
        output.status.success(),
        "{}/build.sh failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_plugin_in_every_language_builds_loads_and_answers() {
    let work = tempfile::tempdir().expect("work");
    let mut plugins = Vec::new();
    let mut manifests = Vec::new();
    for lang in ["rust", "python", "js", "c"] {
        let name = format!("hello-{lang}");
        let dir = work.path().join(&name);
        let made = Command::new(host_binary())
            .args(["new", "--lang", lang, &name, "--dir"])
            .arg(&dir)
            .output()
            .expect("wasm-worker new");
        assert!(
            made.status.success(),
            "new --lang {lang}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let file = format!("hello_{lang}.wasm");
        let out = work.path().join("out").join(&file);
        build(&dir, &out);
        plugins.push((file, std::fs::read(&out).expect("built plugin")));
        // Every template exports `hello`: a manifest gives each its own type.
        manifests.push((
            format!("hello_{lang}.toml"),
            format!("[rename]\nhello = \"hello_{lang}\"\n"),
        ));
    }
    let files: Vec<(&str, Vec<u8>)> = plugins
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let texts: Vec<(&str, &str)> = manifests
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (host, queue, _dir) = plugin_host(&files, &texts).await;
    for lang in ["rust", "python", "js", "c"] {
        let out = run(
            &queue,
            Call::new(&format!("hello_{lang}"), &queue).json(json!(lang)),
        )
        .await;
        assert_eq!(out.json(), json!(format!("Hello, {lang}!")), "{lang}");
    }
    host.stop().await.expect("stop");
}
