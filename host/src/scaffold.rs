//! `wasm-worker new --lang rust|python|js|c NAME`: a plugin folder that builds with one
//! command and loads on the first try.
//!
//! What trips a new author is never the function body but the frame around it: a world
//! without the contract's `include`, a contract copied from another version, a build that
//! publishes half a file. The templates (`host/templates/`) carry that frame, the contract is
//! the very text this binary speaks, and a test builds every language's template and calls it
//! on a real server, so the frame cannot rot unnoticed.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// componentize-py the Python template installs (the Python example's version; a test keeps
/// them equal).
pub(crate) const COMPONENTIZE_PY: &str = "0.25.1";
/// componentize-js the JavaScript template installs (the JavaScript example's version).
pub(crate) const COMPONENTIZE_JS: &str = "0.23.0";

/// A plugin language `new` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Rust,
    Python,
    Js,
    C,
}

impl Lang {
    /// The names `--lang` accepts.
    pub(crate) const NAMES: [&'static str; 4] = ["rust", "python", "js", "c"];

    /// The language `--lang` names.
    pub(crate) fn from_name(name: &str) -> Option<Lang> {
        match name {
            "rust" => Some(Lang::Rust),
            "python" => Some(Lang::Python),
            "js" => Some(Lang::Js),
            "c" => Some(Lang::C),
            _ => None,
        }
    }
}

/// One file of a template: path in the new folder, text with `{{…}}` placeholders, executable.
type Template = (&'static str, &'static str, bool);

const COMMON: &[Template] = &[
    (
        "wit/world.wit",
        include_str!("../templates/common/world.wit"),
        false,
    ),
    (
        "README.md",
        include_str!("../templates/common/README.md"),
        false,
    ),
];
const RUST: &[Template] = &[
    (
        "Cargo.toml",
        include_str!("../templates/rust/Cargo.toml"),
        false,
    ),
    (
        "src/lib.rs",
        include_str!("../templates/rust/lib.rs"),
        false,
    ),
    ("build.sh", include_str!("../templates/rust/build.sh"), true),
    (".gitignore", "target/\n*.wasm\n", false),
];
const PYTHON: &[Template] = &[
    ("app.py", include_str!("../templates/python/app.py"), false),
    (
        "build.sh",
        include_str!("../templates/python/build.sh"),
        true,
    ),
    (".gitignore", "*.wasm\n", false),
];
const JS: &[Template] = &[
    (
        "package.json",
        include_str!("../templates/js/package.json"),
        false,
    ),
    (
        "src/activities.js",
        include_str!("../templates/js/activities.js"),
        false,
    ),
    (
        "build.mjs",
        include_str!("../templates/js/build.mjs"),
        false,
    ),
    ("build.sh", include_str!("../templates/js/build.sh"), true),
    (".gitignore", "node_modules/\n*.wasm\n", false),
];
const C: &[Template] = &[
    (
        "src/plugin.c",
        include_str!("../templates/c/plugin.c"),
        false,
    ),
    ("build.sh", include_str!("../templates/c/build.sh"), true),
    (".gitignore", "*.wasm\n", false),
];

impl Lang {
    fn templates(self) -> &'static [Template] {
        match self {
            Lang::Rust => RUST,
            Lang::Python => PYTHON,
            Lang::Js => JS,
            Lang::C => C,
        }
    }

    /// `(language, requirements, source file)` for the README.
    fn readme(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Lang::Rust => (
                "Rust",
                "Needs Rust; `build.sh` adds the `wasm32-wasip2` target when it is missing.",
                "`src/lib.rs`",
            ),
            Lang::Python => (
                "Python",
                "Needs `python3` with `venv` (Debian: `apt install python3-venv`); the first build \
                 installs componentize-py into `~/.cache/wasm-worker/venv-componentize-py`.",
                "`app.py` (a method of `Activities` per function)",
            ),
            Lang::Js => (
                "JavaScript",
                "Needs Node.js 20 or later with npm; the first build installs componentize-js \
                 into `node_modules/`.",
                "`src/activities.js` (WIT names are camelCase there)",
            ),
            Lang::C => (
                "C",
                "Needs clang, lld and wasi-libc (Debian: `apt install clang lld wasi-libc \
                 libclang-rt-dev-wasm32`) and `wasm-worker` on PATH (or `WASM_WORKER=/path/to/\
                 wasm-worker`), which makes the component. After changing the WIT, regenerate \
                 the bindings: `wasm-worker c-bindings wit NAME bindings`.",
                "`src/plugin.c` (the functions `bindings/*.h` declares)",
            ),
        }
    }
}

/// Checks `name` can be a WIT package, world and file name: lower-case kebab-case.
pub(crate) fn check_name(name: &str) -> anyhow::Result<()> {
    let words_ok = name.split('-').all(|w| {
        w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    if !words_ok {
        bail!(
            "`{name}` is not a plugin name: use lower-case words of letters and digits joined by \
             `-`, each starting with a letter (e.g. `order-tools`)"
        );
    }
    // WIT keywords cannot name a package or world without escaping; Rust keywords cannot name
    // the Rust template's crate (and wit-bindgen renames its module); `activities` is the
    // template's own interface.
    const WIT: &[&str] = &[
        "as",
        "async",
        "bool",
        "borrow",
        "char",
        "constructor",
        "enum",
        "error-context",
        "export",
        "f32",
        "f64",
        "flags",
        "from",
        "func",
        "future",
        "import",
        "include",
        "interface",
        "list",
        "map",
        "option",
        "own",
        "package",
        "record",
        "resource",
        "result",
        "s16",
        "s32",
        "s64",
        "s8",
        "static",
        "stream",
        "string",
        "tuple",
        "type",
        "u16",
        "u32",
        "u64",
        "u8",
        "use",
        "variant",
        "with",
        "world",
    ];
    const RUST: &[&str] = &[
        "abstract", "become", "box", "break", "const", "continue", "core", "crate", "do", "dyn",
        "else", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
        "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self",
        "std", "struct", "super", "test", "trait", "true", "try", "typeof", "unsafe", "unsized",
        "virtual", "where", "while", "yield",
    ];
    if WIT.contains(&name) || RUST.contains(&name) || name == "activities" {
        bail!(
            "`{name}` is a reserved word in WIT, Rust or the template; choose another plugin name"
        );
    }
    Ok(())
}

/// Writes a `lang` plugin called `name` into `dir` (created; refused when it exists and is
/// not empty); returns the files written.
pub(crate) fn create(lang: Lang, name: &str, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    check_name(name)?;
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        bail!(
            "{} already exists and is not empty; choose another folder with --dir",
            dir.display()
        );
    }
    let existed = dir.exists();
    let result = write_all(lang, name, dir);
    if result.is_err() && !existed {
        // Nothing half-made is left behind to make the next attempt fail as "not empty".
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

fn write_all(lang: Lang, name: &str, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let snake = name.replace('-', "_");
    let (language, requirements, source) = lang.readme();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{name_snake}}", &snake)
            .replace("{{language}}", language)
            .replace("{{requirements}}", requirements)
            .replace("{{source}}", source)
            .replace("{{componentize_py}}", COMPONENTIZE_PY)
            .replace("{{componentize_js}}", COMPONENTIZE_JS)
    };
    let mut written = Vec::new();
    for (path, text, executable) in COMMON.iter().chain(lang.templates()) {
        written.push(write(dir, path, fill(text).as_bytes(), *executable)?);
    }
    // The contract, as `wasm-worker wit` writes it (activity plugins need only this package).
    for (folder, file, text) in crate::contract::FILES {
        if *folder == "wasm-worker-plugin" {
            let path = format!("wit/deps/{folder}/{file}");
            written.push(write(dir, &path, text.as_bytes(), false)?);
        }
    }
    if lang == Lang::C {
        let files = wasm_worker_plugin_tool::c_bindings(&dir.join("wit"), name)
            .context("generating the C bindings")?;
        for (file, bytes) in files {
            written.push(write(dir, &format!("bindings/{file}"), &bytes, false)?);
        }
    }
    Ok(written)
}

/// `wasm-worker new`: exit 0 and the next steps, or 1 with the reason.
pub(crate) fn new_command(lang: Lang, name: &str, dir: Option<PathBuf>) -> ExitCode {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    match create(lang, name, &dir) {
        Ok(files) => {
            for f in &files {
                println!("wrote {}", f.display());
            }
            println!(
                "\nnext: cd {} && ./build.sh   (then see README.md to publish it)",
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `wasm-worker c-bindings WIT_DIR WORLD OUT_DIR`.
pub(crate) fn c_bindings_command(wit: &Path, world: &str, out: &Path) -> ExitCode {
    let result = wasm_worker_plugin_tool::c_bindings(wit, world).and_then(|files| {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        for (name, bytes) in files {
            println!("wrote {}", write(out, &name, &bytes, false)?.display());
        }
        Ok(())
    });
    exit(result)
}

/// `wasm-worker component-new CORE.wasm OUT.wasm`: written as `OUT.partial` and renamed, so a
/// host watching the folder never loads half a component.
pub(crate) fn component_new_command(module: &Path, out: &Path) -> ExitCode {
    let result = std::fs::read(module)
        .with_context(|| format!("reading {}", module.display()))
        .and_then(|bytes| {
            wasm_worker_plugin_tool::component_new(&bytes)
                .with_context(|| format!("making a component of {}", module.display()))
        })
        .and_then(|component| {
            let partial = out.with_extension("partial");
            std::fs::write(&partial, component)
                .with_context(|| format!("writing {}", partial.display()))?;
            std::fs::rename(&partial, out).with_context(|| format!("renaming to {}", out.display()))
        });
    exit(result)
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: &Path, path: &str, bytes: &[u8], executable: bool) -> anyhow::Result<PathBuf> {
    let target = dir.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
    if executable {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", target.display()))?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_lower_case_kebab_words_and_not_keywords() {
        for good in ["orders", "order-tools", "v2-api"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Orders",
            "order_tools",
            "2fa",
            "a--b",
            "-a",
            "a-",
            "get-URL",
            "world",
            "u32",
            "match",
            "activities",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_is_filled_and_the_folder_is_not_overwritten() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js, Lang::C] {
            let dir = tempfile::tempdir().expect("dir");
            let target = dir.path().join("order-tools");
            let files = create(lang, "order-tools", &target).expect("create");
            for f in &files {
                let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).to_string();
                assert!(!text.contains("{{"), "{} keeps a placeholder", f.display());
            }
            let world = std::fs::read_to_string(target.join("wit/world.wit")).expect("world");
            assert!(world.contains("include wasm-worker:plugin/activity-plugin@0.1.0;"));
            let again = create(lang, "order-tools", &target).expect_err("not empty");
            assert!(again.to_string().contains("not empty"), "{again}");
        }
    }

    /// The templates install the toolchain versions the examples are built and tested with.
    #[test]
    fn toolchain_versions_match_the_examples() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let py = std::fs::read_to_string(root.join("scripts/componentize-py.sh"))
            .expect("scripts/componentize-py.sh");
        assert!(py.contains(&format!("COMPONENTIZE_PY_VERSION={COMPONENTIZE_PY}")));
        let js = std::fs::read_to_string(root.join("plugins/js-activity/package.json"))
            .expect("package.json");
        assert!(js.contains(&format!(
            "\"@bytecodealliance/componentize-js\": \"{COMPONENTIZE_JS}\""
        )));
    }
}
