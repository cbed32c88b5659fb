//! Watching the plugins folder: a burst of file events becomes one reload request, sent only
//! once the folder's `*.wasm` and `*.toml` files have stopped changing (a copy in progress
//! never loads half-written; the loader refuses what is still invalid).
//!
//! The safe way to publish is to write the file elsewhere and `mv` it into the folder: a rename
//! is atomic, so the host only ever sees the old or the new file.

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// Quiet time after the last event before a reload is considered: long enough to take the
/// files of one `mv a.wasm a.toml plugins/` (microseconds apart) as one change, short enough
/// not to dominate a swap of a compiled-before build (~100 ms, most of it the server).
const DEBOUNCE: Duration = Duration::from_millis(25);
/// How long the folder's files must stay unchanged before the reload is requested.
const SETTLE: Duration = Duration::from_millis(50);

/// Keeps the watch alive; dropping it stops watching.
pub(crate) struct Watcher {
    _debouncer: Box<dyn std::any::Any + Send>,
}

/// Watches `dir`; sends `()` on `tx` whenever the plugin files changed and settled.
pub(crate) fn watch(dir: &Path, tx: mpsc::Sender<()>) -> notify::Result<Watcher> {
    // `true` when the burst may have left a file half-written (it must settle first).
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<bool>();
    let root = dir.to_path_buf();
    let mut debouncer =
        new_debouncer(
            DEBOUNCE,
            None,
            move |result: DebounceEventResult| match result {
                Ok(events) => {
                    let mut relevant = events.iter().filter(|e| {
                        // The folder itself going away (or being replaced) counts too.
                        changes_content(&e.event.kind)
                            && e.paths.iter().any(|p| is_plugin_file(p) || p == &root)
                    });
                    if let Some(first) = relevant.next() {
                        let unsettled = std::iter::once(first)
                            .chain(relevant)
                            .any(|e| !complete_on_arrival(&e.event.kind));
                        let _ = raw_tx.send(unsettled);
                    }
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!(error = %e, "watching the plugins folder");
                    }
                }
            },
        )?;
    debouncer.watch(dir, RecursiveMode::NonRecursive)?;
    let dir = dir.to_path_buf();
    tokio::spawn(async move {
        while let Some(mut unsettled) = raw_rx.recv().await {
            while let Ok(more) = raw_rx.try_recv() {
                unsettled |= more;
            }
            if unsettled {
                settle(&dir).await;
            }
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
    Ok(Watcher {
        _debouncer: Box::new(debouncer),
    })
}

/// Creations, writes, renames and removals; not reads (the loader's own reads would otherwise
/// trigger reloads forever) nor metadata changes.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(m) => !matches!(m, ModifyKind::Metadata(_)),
        _ => false,
    }
}

/// Renames and removals: a file renamed into the folder (the documented way to publish) is
/// whole the moment it appears, so waiting for it to settle would only delay the swap. A
/// creation or a write may be the start of a copy still in progress.
fn complete_on_arrival(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Modify(ModifyKind::Name(_)) | EventKind::Remove(_)
    )
}

/// Plugins and their manifests; everything else in the folder is ignored.
fn is_plugin_file(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "wasm" || e == "toml")
}

/// What the folder's plugin files look like: names, sizes, modification times.
pub(crate) type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// The folder's [`Fingerprint`] now.
pub(crate) fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| is_plugin_file(&e.path()))
        .filter_map(|e| {
            e.metadata()
                .ok()
                .map(|m| (e.path(), m.len(), m.modified().ok()))
        })
        .collect();
    out.sort();
    out
}

/// Waits until two fingerprints `SETTLE` apart agree (bounded, so a file written forever
/// still gets a verdict).
async fn settle(dir: &Path) {
    let mut last = fingerprint(dir);
    for _ in 0..50 {
        tokio::time::sleep(SETTLE).await;
        let now = fingerprint(dir);
        if now == last {
            return;
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    #[test]
    fn only_renames_and_removals_skip_the_settle_wait() {
        assert!(complete_on_arrival(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(complete_on_arrival(&EventKind::Modify(ModifyKind::Name(
            RenameMode::Both
        ))));
        assert!(complete_on_arrival(&EventKind::Remove(RemoveKind::File)));
        assert!(!complete_on_arrival(&EventKind::Create(CreateKind::File)));
        assert!(!complete_on_arrival(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(!complete_on_arrival(&EventKind::Modify(ModifyKind::Any)));
        assert!(!changes_content(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
    }
}
