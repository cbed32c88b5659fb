//! Compiled components on disk, so a restart or a revert loads a plugin in milliseconds instead
//! of recompiling it (a Python or JavaScript component takes ~10 s to compile here).
//!
//! An entry is named by the SHA-256 of the component's bytes and a hash of everything in the
//! engine that affects code generation (`Engine::precompile_compatibility_hash`, which covers
//! the wasmtime version, target and settings), so another engine never reads an artifact it
//! cannot run; wasmtime checks the header again when loading. Entries are written to a
//! temporary file and renamed into place, so a crash mid-write leaves no torn entry. The folder
//! is pruned, least recently used first, to [`MAX_BYTES`].
//!
//! Trust: loading an entry maps native code into the host (`Component::deserialize_file` is
//! `unsafe` for that reason). The folder is created private to the host's user (0700) and
//! must be writable by no one the host does not trust — the same trust as the plugins folder.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The folder is pruned to this many bytes after each write.
pub const MAX_BYTES: u64 = 2 << 30;

/// Where a component came from; reported in the `wasm_worker_compile_cache_total` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Already compiled in this process.
    Memory,
    /// Read from the on-disk cache.
    Disk,
    /// Compiled now.
    Compiled,
}

impl Source {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Source::Memory => "memory",
            Source::Disk => "disk",
            Source::Compiled => "compiled",
        }
    }
}

/// The on-disk cache of one engine.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

impl CompileCache {
    /// A cache in `dir` for artifacts of `engine`, creating the folder (0700) if needed.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(CompileCache {
            dir: dir.to_path_buf(),
            engine_key: engine_key(engine),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The cached component for `digest`, if there is a usable entry. An entry that does not
    /// load (wrong engine, damaged) is removed and reported as a miss: the caller recompiles.
    #[allow(
        unsafe_code,
        reason = "loading precompiled code is unsafe by nature; the cache's trust is documented above"
    )]
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.entry(digest);
        if !path.is_file() {
            return None;
        }
        // SAFETY: the entry was written by `store` from `Component::serialize` of an engine
        // with the same compatibility hash, renamed into place whole, in a folder only this
        // host's user can write (see the module docs for the trust this relies on).
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => {
                touch(&path);
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "dropping an unusable compile-cache entry");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `component` under `digest`, then prunes. Failures are logged, never fatal: the
    /// cache only saves time.
    pub fn store(&self, digest: &str, component: &Component) {
        if let Err(e) = self.try_store(digest, component) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not write the compile cache");
        }
        self.prune(MAX_BYTES);
    }

    fn try_store(&self, digest: &str, component: &Component) -> anyhow::Result<()> {
        let bytes = component.serialize()?;
        let path = self.entry(digest);
        let tmp = self
            .dir
            .join(format!(".{digest}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(())
    }

    /// Removes the least recently used entries until the folder holds at most `max` bytes.
    pub fn prune(&self, max: u64) {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let entries: Vec<(SystemTime, u64, PathBuf)> = read
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        delete_oldest(entries, max);
    }
}

/// Deletes the oldest of `entries` (modified time, size, path) until the rest total at most
/// `max` bytes: the pruning of both on-disk caches.
pub(crate) fn delete_oldest(mut entries: Vec<(SystemTime, u64, PathBuf)>, max: u64) {
    let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
    if total <= max {
        return;
    }
    entries.sort();
    for (_, len, path) in entries {
        if total <= max {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// Marks an entry as used now, for least-recently-used pruning.
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// A short, stable name for everything in `engine` that decides whether an artifact runs on it.
fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}

/// `Hasher` over SHA-256: stable across processes, unlike `DefaultHasher`'s contract.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    fn component(engine: &Engine) -> (String, Component) {
        let wat = r#"(component (core module (func (export "f"))))"#;
        let bytes = wat::parse_str(wat).expect("wat");
        let digest = hex::encode(Sha256::digest(&bytes));
        (digest, Component::new(engine, &bytes).expect("compile"))
    }

    #[test]
    fn a_stored_component_loads_back_and_a_missing_one_is_a_miss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let cache = CompileCache::open(dir.path(), &engine).expect("open");
        let (digest, c) = component(&engine);
        assert!(cache.load(&engine, &digest).is_none());
        cache.store(&digest, &c);
        assert!(cache.load(&engine, &digest).is_some());
        assert!(cache.load(&engine, "0000").is_none());
    }

    #[test]
    fn a_damaged_entry_is_dropped_not_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let cache = CompileCache::open(dir.path(), &engine).expect("open");
        let (digest, c) = component(&engine);
        cache.store(&digest, &c);
        let path = cache.entry(&digest);
        std::fs::write(&path, b"not an artifact").expect("damage");
        assert!(cache.load(&engine, &digest).is_none());
        assert!(!path.exists(), "the damaged entry is removed");
    }

    #[test]
    fn an_engine_with_other_settings_uses_other_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let other = Engine::new(&config).expect("engine");
        let (digest, c) = component(&engine);
        CompileCache::open(dir.path(), &engine)
            .expect("open")
            .store(&digest, &c);
        let cache = CompileCache::open(dir.path(), &other).expect("open");
        assert!(cache.load(&other, &digest).is_none());
    }

    #[test]
    fn pruning_removes_the_least_recently_used_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let cache = CompileCache::open(dir.path(), &engine).expect("open");
        let (_, c) = component(&engine);
        cache.store("old", &c);
        let old = cache.entry("old");
        let f = std::fs::File::options()
            .append(true)
            .open(&old)
            .expect("open");
        f.set_modified(SystemTime::UNIX_EPOCH).expect("age it");
        cache.store("new", &c);
        let size = std::fs::metadata(cache.entry("new")).expect("new").len();
        cache.prune(size);
        assert!(!old.exists(), "the older entry goes first");
        assert!(cache.entry("new").exists());
    }
}
