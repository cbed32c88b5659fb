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
//!
//! Entries are written *behind* the compile: [`DiskCacheStore::flush`], after the component
//! is ready, not one file per function while the swap waits. A plugin never seen before
//! stores thousands of entries, and creating a file costs ext4 the more the more entries
//! pruning deleted recently: `perf` on a release host showed 64% of a 2.1 s load of the
//! 0.9 MiB `bench_workflows.wasm` in inode creation, against 0.75 s for the compile alone.
//! Until an entry is flushed it is served from memory, so a compile still reuses what the
//! one before it (or an earlier function of its own) stored.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Names temporary files uniquely per writer.
    temp_files: AtomicU64,
    /// Entries inserted and not yet on disk, by path.
    pending: Mutex<HashMap<PathBuf, Arc<Vec<u8>>>>,
    /// Held for a whole flush: a flush that starts while another writes (plugins loaded one
    /// after another each start one) waits for it, then writes only what is still pending,
    /// instead of writing the same entries again.
    flushing: Mutex<()>,
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
            temp_files: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            flushing: Mutex::new(()),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Vec<u8>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the entries inserted since the last flush to disk; returns how many were
    /// written. Blocking file I/O: the host runs it on a thread of its own after a compile.
    pub fn flush(&self) -> usize {
        let _one_at_a_time = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let batch: Vec<(PathBuf, Arc<Vec<u8>>)> = self
            .pending()
            .iter()
            .map(|(p, v)| (p.clone(), v.clone()))
            .collect();
        let mut written = 0;
        for (path, value) in &batch {
            written += usize::from(self.write(path, value));
        }
        // Entries inserted again meanwhile (another value for the path) stay pending.
        let mut pending = self.pending();
        for (path, value) in batch {
            if pending.get(&path).is_some_and(|v| Arc::ptr_eq(v, &value)) {
                pending.remove(&path);
            }
        }
        written
    }

    fn write(&self, path: &Path, value: &[u8]) -> bool {
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
            self.temp_files.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::write(&tmp, value).is_ok() && std::fs::rename(&tmp, path).is_ok();
        if !written {
            let _ = std::fs::remove_file(&tmp);
        }
        written
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
        let path = self.path(key);
        if let Some(value) = self.pending().get(&path) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(Cow::Owned(value.to_vec()));
        }
        match std::fs::read(path) {
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

    /// Keeps the entry in memory until [`DiskCacheStore::flush`].
    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.pending().insert(self.path(key), Arc::new(value));
        true
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
        assert_eq!(
            store.get(b"k1").as_deref(),
            Some(&[1u8; 1000][..]),
            "before the flush"
        );
        assert_eq!(store.flush(), 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(store.insert(b"k2", vec![2; 1000]));
        assert_eq!(store.flush(), 1);
        assert_eq!(store.flush(), 0, "nothing left to write");
        assert_eq!(store.get(b"k1").as_deref(), Some(&[1u8; 1000][..]));
        assert_eq!(store.take_counts(), (2, 1, 2));
        // A new store on the folder (a restarted host) reads what was flushed.
        let reopened = DiskCacheStore::open(dir.path()).expect("reopen");
        assert_eq!(reopened.get(b"k2").as_deref(), Some(&[2u8; 1000][..]));
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
