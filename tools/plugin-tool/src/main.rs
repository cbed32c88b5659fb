//! `plugin-tool`: the two build steps a C plugin needs that no Debian or registry package
//! provides quickly here.
//!
//! - `plugin-tool c-bindings WIT_DIR WORLD OUT_DIR` writes the C bindings `wit-bindgen c`
//!   would (header, source, and the component-type object to link), so they can be committed
//!   and checked against the WIT.
//! - `plugin-tool component-new CORE.wasm OUT.wasm` wraps a `wasm32-wasi` reactor module into a
//!   component, with the WASI preview-1 adapter embedded in the adapter crate.

use anyhow::{Context as _, bail};
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["c-bindings", wit, world, out] => {
            let files = wasm_worker_plugin_tool::c_bindings(Path::new(wit), world)?;
            std::fs::create_dir_all(out).with_context(|| format!("creating {out}"))?;
            for (name, bytes) in files {
                let path = Path::new(out).join(&name);
                std::fs::write(&path, bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        ["component-new", module, out] => {
            let bytes = std::fs::read(module).with_context(|| format!("reading {module}"))?;
            let component = wasm_worker_plugin_tool::component_new(&bytes)
                .with_context(|| format!("making a component of {module}"))?;
            let tmp = format!("{out}.partial");
            std::fs::write(&tmp, component).with_context(|| format!("writing {tmp}"))?;
            // Renamed into place: a host watching the folder never sees half a file.
            std::fs::rename(&tmp, out).with_context(|| format!("renaming to {out}"))?;
            Ok(())
        }
        _ => bail!(
            "usage:\n  plugin-tool c-bindings WIT_DIR WORLD OUT_DIR\n  plugin-tool component-new CORE.wasm OUT.wasm"
        ),
    }
}
