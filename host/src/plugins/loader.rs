//! Reading, validating and compiling one plugin file.

use super::exports::{self, ExportedFunction, Exports};
use super::manifest::Manifest;
use crate::wasm_activity::PluginRuntime;
use crate::wasm_activity::state::ActivityState;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::InstancePre;

/// A compiled, linked activity plugin.
pub struct LoadedPlugin {
    /// File name (`hello_activity.wasm`).
    pub file: String,
    /// Full path.
    pub path: PathBuf,
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// The manifest, or the defaults.
    pub manifest: Manifest,
    /// Its activity functions.
    pub functions: Vec<ExportedFunction>,
    /// Linked once; every attempt instantiates from it.
    pub pre: InstancePre<ActivityState>,
}

/// What a plugin file turned out to be.
pub enum Loaded {
    /// Activity functions.
    Activities(LoadedPlugin),
    /// Workflow types.
    Workflows(crate::wasm_workflow::WorkflowPlugin),
}

/// Component-model binary header: `\0asm`, then layer 1 version 0x0d.
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Loads `path`; the error is the reason, for a message that also names the file.
pub fn load(runtime: &PluginRuntime, path: &Path, plugins_dir: &Path) -> Result<Loaded, String> {
    // Checked before reading: a FIFO would block the loader (and every later swap) forever.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (a folder, FIFO or device)".to_string());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    check_header(&bytes)?;
    let manifest_path = path.with_extension("toml");
    let manifest = Manifest::load(&manifest_path, plugins_dir)
        .map_err(|e| format!("manifest {}: {e}", file_name(&manifest_path)))?
        .unwrap_or_default();
    let digest = hex::encode(Sha256::digest(&bytes));
    let component = runtime
        .component(&digest, &bytes)
        .map_err(|e| format!("not a valid component: {e:#}"))?;
    let functions = match exports::read(runtime.engine(), &component, &manifest.rename)? {
        Exports::Activities(f) => f,
        Exports::Workflow => {
            let pre = runtime
                .workflow_linker()
                .instantiate_pre(&component)
                .map_err(|e| format!("a workflow component that imports something the host does not provide: {e:#}"))?;
            return crate::wasm_workflow::WorkflowPlugin::new(
                file_name(path),
                digest,
                manifest,
                pre,
            )
            .map(Loaded::Workflows);
        }
    };
    let pre = runtime
        .linker()
        .instantiate_pre(&component)
        .map_err(|e| format!("imports something the host does not provide: {e:#}"))?;
    Ok(Loaded::Activities(LoadedPlugin {
        file: file_name(path),
        path: path.to_path_buf(),
        digest,
        manifest,
        functions,
        pre,
    }))
}

/// Refuses what is not a component before the compiler sees it, with a reason a user can act on.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err(
            "the file is empty (still being copied? publish by writing elsewhere, then renaming)"
                .into(),
        );
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("not a WebAssembly file (it lacks the \\0asm header)".into());
    }
    match <[u8; 4]>::try_from(&bytes[4..8]) {
        Ok(COMPONENT_VERSION) => Ok(()),
        Ok(CORE_VERSION) => Err("a core WebAssembly module, not a component; build with \
                                 `cargo build --target wasm32-wasip2` (Rust), or wrap a wasm32-wasi module with \
                                 `plugin-tool component-new` (C; see plugins/c-activity)"
            .into()),
        _ => Err(format!("an unsupported WebAssembly version {:02x?}", &bytes[4..8])),
    }
}

/// The file name for messages.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Shared handle.
pub type Plugin = Arc<LoadedPlugin>;

#[cfg(test)]
mod tests {
    use super::check_header;

    #[test]
    fn headers_are_checked_with_actionable_reasons() {
        assert!(check_header(b"").expect_err("empty").contains("empty"));
        assert!(
            check_header(b"hello world")
                .expect_err("text")
                .contains("lacks the \\0asm header")
        );
        let core = b"\0asm\x01\0\0\0";
        assert!(
            check_header(core)
                .expect_err("core")
                .contains("core WebAssembly module, not a component")
        );
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
