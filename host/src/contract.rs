//! `wasm-worker wit [DIR]`: the WIT contracts this host speaks, written out for plugin authors
//! who do not have a clone of the repository — the same bytes the host was built against.

use std::path::Path;

/// `(folder under DIR, file name, text)` of every contract file.
pub(crate) const FILES: &[(&str, &str, &str)] = &[
    (
        "wasm-worker-plugin",
        "plugin.wit",
        include_str!("../../wit/plugin.wit"),
    ),
    (
        "wasm-worker-workflow",
        "workflow.wit",
        include_str!("../../wit/workflow/workflow.wit"),
    ),
    (
        "workflow-runtime",
        "guest.wit",
        include_str!("../../wit/deps/workflow-runtime/guest.wit"),
    ),
    (
        "workflow-runtime",
        "host.wit",
        include_str!("../../wit/deps/workflow-runtime/host.wit"),
    ),
    (
        "workflow-runtime",
        "types.wit",
        include_str!("../../wit/deps/workflow-runtime/types.wit"),
    ),
    (
        "workflow-runtime",
        "world.wit",
        include_str!("../../wit/deps/workflow-runtime/world.wit"),
    ),
];

/// The `package` line of a WIT text (`wasm-worker:plugin@0.1.0`).
pub(crate) fn package(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map(|p| p.trim_end_matches(';').trim())
}

/// Writes every contract under `dir` (`dir/wasm-worker-plugin/plugin.wit`, …), as a
/// plugin's `wit/deps` folder wants them; returns what it wrote, one line per package.
pub(crate) fn write(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut written: Vec<String> = Vec::new();
    for (folder, file, text) in FILES {
        let target = dir.join(folder);
        std::fs::create_dir_all(&target)?;
        std::fs::write(target.join(file), text)?;
        let line = format!("{} in {}", package(text).unwrap_or("?"), target.display());
        if !written.contains(&line) {
            written.push(line);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_is_written_with_its_version() {
        let dir = tempfile::tempdir().expect("dir");
        let written = write(dir.path()).expect("write");
        assert_eq!(written.len(), 3, "{written:?}");
        assert!(
            written[0].starts_with("wasm-worker:plugin@0.1.0 in "),
            "{written:?}"
        );
        assert!(
            written[1].starts_with("wasm-worker:workflow@0.1.0 in "),
            "{written:?}"
        );
        assert!(
            written[2].starts_with("temporal:workflow-runtime@0.1.0 in "),
            "{written:?}"
        );
        let plugin = std::fs::read_to_string(dir.path().join("wasm-worker-plugin/plugin.wit"))
            .expect("read");
        assert!(
            plugin.contains("world activity-plugin"),
            "the world plugins include"
        );
        // Written again, the same bytes (an update overwrites).
        write(dir.path()).expect("again");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("wasm-worker-plugin/plugin.wit"))
                .expect("read"),
            plugin
        );
    }
}
