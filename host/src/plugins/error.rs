//! Why a plugin file was refused: one variant per cause, each carrying what the author needs to
//! fix it. The file itself is named by [`LoadError`], the message users see.

use crate::manifest::ManifestError;
use crate::wasm_activity::ActivityPluginError;
use crate::wasm_activity::exports::ExportsError;
use crate::wasm_workflow::WorkflowPluginError;

/// A file the host refused, and why.
#[derive(Debug, thiserror::Error)]
#[error("plugin {file}: {reason}")]
pub struct LoadError {
    /// The file's name (the folder's path when the folder itself cannot be listed).
    pub file: String,
    /// Why it was refused.
    pub reason: Refusal,
}

/// The reason a plugin file (or the folder) was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The plugins folder cannot be listed (deleted, unreadable, out of file descriptors).
    #[error("cannot list the plugins folder: {0}")]
    Unlistable(std::io::Error),
    /// The file cannot be read.
    #[error("cannot read the file: {0}")]
    Unreadable(std::io::Error),
    /// A folder, FIFO or device named `*.wasm`: reading a FIFO would block the loader.
    #[error("not a regular file (a folder, FIFO or device)")]
    NotAFile,
    /// Zero bytes: usually a copy still in progress.
    #[error("the file is empty (still being copied? publish by writing elsewhere, then renaming)")]
    Empty,
    /// No `\0asm` header.
    #[error("not a WebAssembly file (it lacks the \\0asm header)")]
    NotWasm,
    /// A core module where a component belongs.
    #[error(
        "a core WebAssembly module, not a component; build with \
         `cargo build --target wasm32-wasip2` (Rust), or wrap a wasm32-wasi module with \
         `plugin-tool component-new` (C; see plugins/c-activity)"
    )]
    CoreModule,
    /// A WebAssembly version/layer this host does not know.
    #[error("an unsupported WebAssembly version {0:02x?}")]
    UnsupportedVersion([u8; 4]),
    /// The manifest beside the file is refused.
    #[error("manifest {file}: {error}")]
    Manifest {
        /// The manifest's file name.
        file: String,
        /// Why.
        error: ManifestError,
    },
    /// wasmtime could not compile or validate it (truncated, corrupt).
    #[error("not a valid component: {0:#}")]
    InvalidComponent(wasmtime::Error),
    /// An activity component whose exports do not fit.
    #[error(transparent)]
    Exports(#[from] ExportsError),
    /// An activity component that does not link, or whose grants or secrets cannot be met.
    #[error(transparent)]
    Activity(#[from] ActivityPluginError),
    /// A workflow component that does not load.
    #[error(transparent)]
    Workflow(#[from] WorkflowPluginError),
    /// An activity type another file of the folder provides too (both are refused).
    #[error(
        "activity type `{activity_type}` is also exported by {other}; rename one in its manifest"
    )]
    DuplicateActivity {
        /// The activity type.
        activity_type: String,
        /// The other files that provide it.
        other: String,
    },
    /// A workflow type another file provides too (both are refused).
    #[error("workflow type `{workflow_type}` is also exported by {other}")]
    DuplicateWorkflow {
        /// The workflow type.
        workflow_type: String,
        /// The other files that provide it.
        other: String,
    },
}

impl Refusal {
    /// True when the refusal says nothing about the file: the host ran out of descriptors or
    /// memory, or the folder could not be listed for a moment. The reload is tried again.
    /// (A deleted folder is not transient: the host watches for its return instead.)
    pub fn is_transient(&self) -> bool {
        match self {
            Refusal::Unlistable(e) => e.kind() != std::io::ErrorKind::NotFound,
            Refusal::Unreadable(e) => transient_io(e),
            _ => false,
        }
    }
}

/// Out of descriptors or memory, interrupted, or would block: worth trying again.
fn transient_io(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::Interrupted
            | ErrorKind::WouldBlock
            | ErrorKind::TimedOut
            | ErrorKind::OutOfMemory
    ) || e.raw_os_error().is_some_and(|code| {
        [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOMEM,
            libc::ENOBUFS,
            libc::EAGAIN,
        ]
        .contains(&code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn running_out_of_descriptors_is_transient_and_a_bad_file_is_not() {
        let emfile = || Error::from_raw_os_error(libc::EMFILE);
        assert!(Refusal::Unlistable(emfile()).is_transient());
        assert!(Refusal::Unreadable(emfile()).is_transient());
        assert!(Refusal::Unreadable(Error::from_raw_os_error(libc::ENFILE)).is_transient());
        assert!(Refusal::Unlistable(Error::from(ErrorKind::PermissionDenied)).is_transient());
        assert!(!Refusal::Unlistable(Error::from(ErrorKind::NotFound)).is_transient());
        assert!(!Refusal::Unreadable(Error::from(ErrorKind::PermissionDenied)).is_transient());
        assert!(!Refusal::Empty.is_transient());
        assert!(!Refusal::NotWasm.is_transient());
    }
}
