//! The `{{name}}` activity plugin. Build and publish: see README.md.

wit_bindgen::generate!({
    world: "{{name}}",
    path: "wit",
    generate_all,
});

use exports::local::{{name_snake}}::activities::Guest;
use wasm_worker::plugin::log::{Level, log};

struct Plugin;

impl Guest for Plugin {
    fn hello(name: String) -> String {
        log(Level::Info, &format!("saying hello to {name}"));
        format!("Hello, {name}!")
    }
}

export!(Plugin);
