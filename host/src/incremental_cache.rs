//! Cranelift's function-level cache, on disk: a plugin rebuilt after a one-line edit
//! recompiles only the functions that changed.
//!
//! An interpreter-embedding plugin (componentize-py, StarlingMonkey) is ~18 MB of code of which
//! an edit to the plugin's own source changes a handful of functions; the whole-component
//! compile cache (`compile_cache.rs`) misses on any change, this one hits on every function
//! whose body, signature and compiler settings are the same (Cranelift's key covers all
//! three, so an entry can never be used for different code or another machine's ISA).
//!
//! One file per entry, named by the SHA-256 of Cranelift's key, under
//! `<compile cache>/incremental/`; written by rename, so a crash leaves no half entry;
//! pruned least-recently-written to [`MAX_BYTES`] after each compile that used it.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest size the folder is pruned to.
pub const MAX_BYTES: u64 = 1 << 30;

/// A [`wasmtime::CacheStore`] in a folder.
#[derive(Debug)]
pub struct DiskCacheStore {
    dir: PathBuf,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries in use (written) since the last [`DiskCacheStore::take_counts`].
    writes: AtomicU64,
}

impl DiskCacheStore {
    /// Opens (creating) `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(DiskCacheStore {
            dir: dir.to_path_buf(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        let name = hex::encode(Sha256::digest(key));
        self.dir.join(&name[..2]).join(&name[2..])
    }

    /// (hits, misses, writes) since the last call: what the last compile reused.
    pub fn take_counts(&self) -> (u64, u64, u64) {
        (
            self.hits.swap(0, Ordering::Relaxed),
            self.misses.swap(0, Ordering::Relaxed),
            self.writes.swap(0, Ordering::Relaxed),
        )
    }

    /// Deletes the oldest entries until the folder holds at most `max` bytes.
    pub fn prune(&self, max: u64) {
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
        for sub in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            for e in std::fs::read_dir(sub.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(m) = e.metadata() {
                    let when = m.modified().unwrap_or(std::time::UNIX_EPOCH);
                    entries.push((when, m.len(), e.path()));
                }
            }
        }
        crate::compile_cache::delete_oldest(entries, max);
    }
}

impl wasmtime::CacheStore for DiskCacheStore {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        match std::fs::read(self.path(key)) {
            Ok(bytes) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(Cow::Owned(bytes))
            }
            Err(_) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let path = self.path(key);
        let Some(parent) = path.parent() else {
            return false;
        };
        if std::fs::create_dir_all(parent).is_err() {
            return false;
        }
        // Unique per writer: two hosts sharing the folder never write the same temp file.
        let tmp = parent.join(format!(
            ".{}.{}.tmp",
            std::process::id(),
            self.writes.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::write(&tmp, &value).is_ok() && std::fs::rename(&tmp, &path).is_ok();
        if !written {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::CacheStore as _;

    #[test]
    fn entries_round_trip_and_the_folder_is_pruned_oldest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let store = DiskCacheStore::open(dir.path()).expect("open");
        assert!(store.get(b"k1").is_none());
        assert!(store.insert(b"k1", vec![1; 1000]));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(store.insert(b"k2", vec![2; 1000]));
        assert_eq!(store.get(b"k1").as_deref(), Some(&[1u8; 1000][..]));
        assert_eq!(store.take_counts(), (1, 1, 2));
        store.prune(1500);
        assert!(store.get(b"k1").is_none(), "the older entry goes first");
        assert!(store.get(b"k2").is_some());
    }

    #[test]
    fn a_changed_module_reuses_the_functions_that_did_not_change() {
        let dir = tempfile::tempdir().expect("dir");
        let store = std::sync::Arc::new(DiskCacheStore::open(dir.path()).expect("open"));
        let pool = crate::engine::PoolSize {
            activities: 2,
            workflow_runs: 2,
        };
        let engine = crate::engine::plugin_engine(pool, Some(store.clone())).expect("engine");
        let module = |answer: i32| {
            format!(
                r#"(module
                    (func (export "same") (param i32) (result i32)
                        local.get 0 i32.const 7 i32.mul i32.const 3 i32.add)
                    (func (export "edited") (result i32) i32.const {answer}))"#
            )
        };
        wasmtime::Module::new(&engine, module(1)).expect("first build");
        let (hits, _, written) = store.take_counts();
        assert_eq!(hits, 0, "nothing to reuse on an empty cache");
        assert!(written >= 2, "both functions stored, got {written}");
        wasmtime::Module::new(&engine, module(2)).expect("edited build");
        let (hits, misses, _) = store.take_counts();
        assert!(hits >= 1, "the unchanged function comes from the cache");
        assert!(misses >= 1, "the edited one is compiled");
    }
}
