//! Reading, validating and compiling one plugin file, and telling its kind by its exports.

use super::error::Refusal;
use crate::manifest::Manifest;
use crate::metrics::HostMetrics;
use crate::plugin_file::PluginFile;
use crate::runtime::Runtime;
use crate::wasm_activity::ActivityPlugin;
use crate::wasm_activity::exports::{self, Exports};
use crate::wasm_workflow::{WorkflowPlugin, imports_workflow_contract};
use sha2::{Digest, Sha256};
use std::path::Path;

/// What a plugin file turned out to be.
pub(super) enum Loaded {
    /// Activity functions.
    Activities(ActivityPlugin),
    /// Workflow types.
    Workflows(WorkflowPlugin),
}

/// Component-model binary header: `\0asm`, then layer 1 version 0x0d.
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Loads `path`; the error is the reason, for a message that also names the file.
pub(super) fn load(
    runtime: &Runtime,
    path: &Path,
    plugins_dir: &Path,
    metrics: &HostMetrics,
) -> Result<Loaded, Refusal> {
    // Checked before reading: a FIFO would block the loader (and every later swap) forever.
    let meta = std::fs::metadata(path).map_err(Refusal::Unreadable)?;
    if !meta.is_file() {
        return Err(Refusal::NotAFile);
    }
    let bytes = std::fs::read(path).map_err(Refusal::Unreadable)?;
    check_header(&bytes)?;
    let manifest_path = path.with_extension("toml");
    let manifest = Manifest::load(&manifest_path, plugins_dir, runtime.grants())
        .map_err(|error| Refusal::Manifest {
            file: file_name(&manifest_path),
            error,
        })?
        .unwrap_or_default();
    for warning in &manifest.warnings {
        tracing::warn!(manifest = %file_name(&manifest_path), "{warning}");
    }
    let digest = hex::encode(Sha256::digest(&bytes));
    let component = runtime
        .component(&digest, &bytes)
        .map_err(Refusal::InvalidComponent)?;
    let exports = exports::read(runtime.engine(), &component, &manifest.rename)?;
    let source = PluginFile {
        file: file_name(path),
        digest,
        manifest,
    };
    Ok(match exports {
        // Exported functions and an import of the workflow contract: each function is a
        // workflow type, not an activity.
        Exports::Activities(functions)
            if imports_workflow_contract(runtime.engine(), &component) =>
        {
            Loaded::Workflows(WorkflowPlugin::new_wit(
                runtime, source, &component, functions,
            )?)
        }
        Exports::Activities(functions) => Loaded::Activities(ActivityPlugin::new(
            runtime, source, &component, functions, metrics,
        )?),
        Exports::Workflow => Loaded::Workflows(WorkflowPlugin::new(runtime, source, &component)?),
    })
}

/// Refuses what is not a component before the compiler sees it, with a reason a user can act on.
fn check_header(bytes: &[u8]) -> Result<(), Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(Refusal::NotWasm);
    }
    match <[u8; 4]>::try_from(&bytes[4..8]) {
        Ok(COMPONENT_VERSION) => Ok(()),
        Ok(CORE_VERSION) => Err(Refusal::CoreModule),
        Ok(other) => Err(Refusal::UnsupportedVersion(other)),
        Err(_) => Err(Refusal::NotWasm),
    }
}

/// The file name for messages.
pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked_with_actionable_reasons() {
        assert!(matches!(check_header(b""), Err(Refusal::Empty)));
        assert!(matches!(
            check_header(b"hello world"),
            Err(Refusal::NotWasm)
        ));
        let core = check_header(b"\0asm\x01\0\0\0").expect_err("core");
        assert!(matches!(core, Refusal::CoreModule));
        assert!(
            core.to_string()
                .contains("core WebAssembly module, not a component")
        );
        assert!(matches!(
            check_header(b"\0asm\x02\0\0\0"),
            Err(Refusal::UnsupportedVersion([2, 0, 0, 0]))
        ));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
