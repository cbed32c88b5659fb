//! Loading the plugins folder (no server needed): each kind of bad file is refused with its
//! name and a specific reason while the good plugins load; the converter checked against
//! types read from a real component.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_ACTIVITIES};
use serde_json::json;
use wasm_worker::convert::{describe, json_to_val, val_to_json};
use wasm_worker::metrics::HostMetrics;
use wasm_worker::plugins::PluginSet;
use wasm_worker::runtime::Runtime;

pub fn load(files: &[(&str, Vec<u8>)], manifests: &[(&str, &str)]) -> (PluginSet, HostMetrics) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    for (name, text) in manifests {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let pool = wasm_worker::engine::PoolSize {
        activities: 4,
        workflow_runs: 4,
    };
    let metrics = HostMetrics::new();
    let runtime = Runtime::new(pool, &metrics, None).expect("runtime");
    (PluginSet::load(&runtime, dir.path(), &metrics), metrics)
}

fn reason(set: &PluginSet, file: &str) -> String {
    set.errors
        .iter()
        .find(|e| e.file == file)
        .map(|e| e.reason.to_string())
        .unwrap_or_else(|| panic!("{file} was not refused; errors: {:?}", set.errors))
}

#[test]
fn bad_files_are_refused_one_by_one_and_the_good_ones_load() {
    let hello = guests::bytes(HELLO_ACTIVITY);
    let truncated = hello[..hello.len() / 2].to_vec();
    let core = wat::parse_str("(module (func (export \"f\")))").expect("wat");
    let empty_component = wat::parse_str("(component)").expect("wat");
    let unsatisfied = wat::parse_str(
        r#"(component
            (import "acme:missing/api" (instance (export "f" (func))))
            (core module $m (func (export "g")))
            (core instance $mi (instantiate $m))
            (func $g (canon lift (core func $mi "g")))
            (export "g" (func $g)))"#,
    )
    .expect("wat");
    let files = vec![
        ("a_hello.wasm", hello.clone()),
        ("b_empty.wasm", Vec::new()),
        ("c_text.wasm", b"definitely not wasm".to_vec()),
        ("d_core.wasm", core),
        ("e_truncated.wasm", truncated),
        ("f_nothing.wasm", empty_component),
        ("g_unsatisfied.wasm", unsatisfied),
        ("h_clash.wasm", guests::bytes(TEST_ACTIVITIES)),
        ("i_bad_manifest.wasm", guests::bytes(TEST_ACTIVITIES)),
        ("j_clash.wasm", guests::bytes(TEST_ACTIVITIES)),
        ("notes.txt", b"ignored".to_vec()),
    ];
    let (set, metrics) = load(&files, &[("i_bad_manifest.toml", "memory_limit = 3\n")]);

    let loaded: Vec<&str> = set.plugins.iter().map(|p| p.source.file.as_str()).collect();
    assert_eq!(loaded, ["a_hello.wasm"]);
    let types: Vec<&str> = set.plugins[0]
        .functions
        .iter()
        .map(|f| f.activity_type.as_str())
        .collect();
    assert_eq!(types, ["greet_activity", "summarize_order"]);
    assert_eq!(
        set.plugins[0].functions[0].signature(),
        "greet-activity(name: string) -> string"
    );
    // Nested records are spelled out to the last field (this is what `/status` shows).
    let order = set.plugins[0].functions[1].signature();
    assert!(
        order.contains("lines: list<record { sku: string"),
        "{order}"
    );
    assert!(!order.contains('…'), "{order}");
    assert_eq!(set.plugins[0].source.digest.len(), 64);

    assert!(reason(&set, "b_empty.wasm").starts_with("the file is empty"));
    assert!(reason(&set, "c_text.wasm").contains("not a WebAssembly file"));
    assert!(reason(&set, "d_core.wasm").contains("a core WebAssembly module, not a component"));
    assert!(reason(&set, "e_truncated.wasm").starts_with("not a valid component"));
    assert!(reason(&set, "f_nothing.wasm").starts_with("exports no functions"));
    let r = reason(&set, "g_unsatisfied.wasm");
    assert!(
        r.starts_with("imports something the host does not provide"),
        "{r}"
    );
    assert!(r.contains("acme:missing/api"), "{r}");
    // Two files exporting the same type are both refused, each naming the other: which file
    // is newer or sorts first decides nothing, so a restart and a reload agree.
    assert_eq!(
        reason(&set, "h_clash.wasm"),
        "activity type `echo_bool` is also exported by j_clash.wasm; rename one in its manifest"
    );
    assert_eq!(
        reason(&set, "j_clash.wasm"),
        "activity type `echo_bool` is also exported by h_clash.wasm; rename one in its manifest"
    );
    let r = reason(&set, "i_bad_manifest.wasm");
    assert!(
        r.starts_with(
            "manifest i_bad_manifest.toml: invalid manifest, line 1: unknown field `memory_limit`"
        ),
        "{r}"
    );
    assert_eq!(set.errors.len(), 9, "{:?}", set.errors);
    assert!(
        set.errors
            .iter()
            .all(|e| e.to_string().starts_with(&format!("plugin {}: ", e.file))),
        "every error names its file"
    );

    let text = metrics.render();
    assert!(text.contains("wasm_worker_plugins_loaded 1"), "{text}");
    assert!(
        text.contains("wasm_worker_plugin_load_failures_total{file=\"d_core.wasm\"} 1"),
        "{text}"
    );
}

#[test]
fn manifest_renames_activity_types() {
    let (set, _) = load(
        &[("hello.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[("hello.toml", "[rename]\ngreet-activity = \"SayHello\"\n")],
    );
    let types: Vec<&str> = set.plugins[0]
        .functions
        .iter()
        .map(|f| f.activity_type.as_str())
        .collect();
    assert_eq!(types, ["SayHello", "summarize_order"]);

    let (set, _) = load(
        &[("hello.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[("hello.toml", "[rename]\nno-such = \"x\"\n")],
    );
    assert_eq!(
        reason(&set, "hello.wasm"),
        "manifest rename.no-such: the component exports no function `no-such`"
    );
}

/// The converter against the types of the test plugin's `echo-point` and friends.
#[test]
fn converter_checks_values_against_component_types() {
    let (set, _) = load(&[("t.wasm", guests::bytes(TEST_ACTIVITIES))], &[]);
    let f = |name: &str| {
        set.plugins[0]
            .functions
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let point = f("echo-point").params[0].1.clone();
    assert_eq!(
        describe(&point),
        "record { x: s32, y: s32, label: option<string>, unit-name: string }"
    );
    let v = json_to_val(
        &json!({"x": 1, "y": 2, "unitName": "cm", "extra": true}),
        &point,
    )
    .expect("camelCase + unknown key");
    assert_eq!(
        val_to_json(&v).expect("back"),
        json!({"x": 1, "y": 2, "label": null, "unit_name": "cm"})
    );
    let e = json_to_val(&json!({"x": 1.5, "y": 2, "unit-name": "cm"}), &point)
        .expect_err("float for s32");
    assert_eq!(
        e.to_string(),
        "at `x`: expected s32, found the number 1.5, which is not an integer"
    );

    let shape = f("echo-shape").params[0].1.clone();
    assert_eq!(
        describe(&shape),
        "variant { circle(f64), square(u32), empty }"
    );
    assert!(json_to_val(&json!({"square": -1}), &shape).is_err());
    assert!(json_to_val(&json!({"circle": 1, "square": 2}), &shape).is_err());
    assert!(
        json_to_val(&json!("circle"), &shape).is_err(),
        "a case with a payload needs it"
    );

    let tuple = f("echo-tuple").params[0].1.clone();
    assert_eq!(
        json_to_val(&json!(["a", 1]), &tuple)
            .expect_err("short")
            .to_string(),
        "expected tuple<string, u8, bool>, found an array of 2 elements"
    );
    let ch = f("echo-char").params[0].1.clone();
    assert!(json_to_val(&json!("ab"), &ch).is_err());

    let raw = f("raw-echo");
    assert!(raw.raw, "payload records switch on raw mode");
    assert!(!f("echo-bytes").raw);

    let nan = wasmtime::component::Val::Float64(f64::NAN);
    assert!(val_to_json(&nan).is_err(), "JSON cannot carry NaN");
}
