//! The library behind `plugin-tool`, so the committed C bindings can be checked in a test.

use anyhow::Context as _;
use std::path::Path;
use wit_bindgen_core::wit_parser::Resolve;

/// The files `wit-bindgen c` generates for `world` of the WIT package in `wit_dir` (its
/// `deps/` resolved), by name.
pub fn c_bindings(wit_dir: &Path, world: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(wit_dir)
        .with_context(|| format!("reading the WIT in {}", wit_dir.display()))?;
    let world = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("finding world `{world}`"))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&resolve, world, &mut files)?;
    Ok(files
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect())
}

/// `module` (a `wasm32-wasi` reactor with the component-type section the bindings embed) as
/// a component, adapted from WASI preview 1 to preview 2.
pub fn component_new(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .module(module)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true)
        .encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C plugin's committed bindings are exactly what its WIT generates: a changed WIT
    /// (its own or the contract) must come with regenerated bindings
    /// (`make c-bindings`).
    #[test]
    fn committed_c_bindings_match_the_wit() {
        let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/c-activity");
        let files = c_bindings(&plugin.join("wit"), "c-activity").expect("generate");
        assert!(!files.is_empty());
        for (name, bytes) in files {
            let committed = std::fs::read(plugin.join("bindings").join(&name))
                .unwrap_or_else(|e| panic!("bindings/{name}: {e}; run `make c-bindings`"));
            assert!(
                committed == bytes,
                "plugins/c-activity/bindings/{name} is stale; run `make c-bindings`"
            );
        }
    }
}
