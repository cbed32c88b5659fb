//! Builds the guest components the integration tests load — the example plugins in
//! `plugins/` and the test plugins in `tests/guests/` — for `wasm32-wasip2`, each workspace
//! with its own target dir (so the nested cargo never waits on the outer one's lock), and
//! writes their paths into `$OUT_DIR/guests.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let out = PathBuf::from(env("OUT_DIR"));
    let mut consts = String::new();
    for (workspace, artifacts) in [
        (
            root.join("plugins"),
            &[
                "hello_activity",
                "feed_ingest",
                "greeting_workflow",
                "example_workflows",
                "order_workflow",
            ][..],
        ),
        (
            root.join("tests/guests"),
            &[
                "test_activities",
                "test_workflows",
                "versioned_workflow_v1",
                "versioned_workflow_v2",
            ][..],
        ),
    ] {
        let target = out
            .join("guest-target")
            .join(workspace.file_name().expect("name"));
        // Clones share the outer target dir (and so OUT_DIR), and a cdylib's output has no
        // per-package hash: another checkout's build may have overwritten these files while
        // cargo still counts this checkout's build fresh. Without them it rebuilds the guests
        // themselves (seconds), not their dependencies.
        for name in artifacts {
            let release = target.join("wasm32-wasip2/release");
            for file in [
                release.join(format!("{name}.wasm")),
                release.join("deps").join(format!("{name}.wasm")),
            ] {
                let _ = std::fs::remove_file(file);
            }
        }
        build(&workspace, &target);
        for name in artifacts {
            let wasm = target
                .join("wasm32-wasip2/release")
                .join(format!("{name}.wasm"));
            assert!(wasm.is_file(), "{} was not built", wasm.display());
            consts.push_str(&format!(
                "/// `{name}.wasm`, built from `{}`.\npub const {}: &str = {:?};\n",
                workspace
                    .strip_prefix(&root)
                    .unwrap_or(&workspace)
                    .display(),
                name.to_uppercase(),
                wasm.display().to_string()
            ));
        }
        rerun_if_changed(&workspace);
    }
    rerun_if_changed(&root.join("wit"));
    // Another checkout sharing the target dir has another path: rebuild for this one.
    println!("cargo:rerun-if-env-changed=WASM_WORKER_CHECKOUT");
    std::fs::write(out.join("guests.rs"), consts).expect("writing guests.rs");
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set"))
}

fn build(workspace: &Path, target: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--quiet"])
        .env("CARGO_TARGET_DIR", target);
    // The outer build's settings are for the host, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo for the guests");
    assert!(
        status.success(),
        "building the guests in {} failed; are the wasm32-wasip2 target and protoc installed? \
         `rustup target add wasm32-wasip2`, `apt-get install protobuf-compiler` (make test does both)",
        workspace.display()
    );
}

fn rerun_if_changed(dir: &Path) {
    for entry in walk(dir) {
        println!("cargo:rerun-if-changed={}", entry.display());
    }
}

/// Source files under `dir`, skipping build output.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
