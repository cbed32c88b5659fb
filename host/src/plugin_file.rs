//! What every loaded plugin is, whatever its kind: a file, the digest of its bytes, and its
//! manifest — and so its identity in the build ID.

use crate::manifest::Manifest;

/// A plugin file as loaded.
#[derive(Debug, Clone)]
pub struct PluginFile {
    /// File name (`hello_activity.wasm`).
    pub file: String,
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// The manifest beside it, or the defaults.
    pub manifest: Manifest,
}

impl PluginFile {
    /// Its part of the build ID: the code and the manifest (which grants and limits it), so a
    /// changed manifest is a new version like changed code.
    pub fn identity(&self) -> String {
        match &self.manifest.sha256 {
            Some(m) => format!("{}+{m}", self.digest),
            None => self.digest.clone(),
        }
    }

    /// The first 12 hex digits of the digest, for log lines.
    pub fn short_digest(&self) -> &str {
        &self.digest[..self.digest.len().min(12)]
    }
}
