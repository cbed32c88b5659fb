//! Content-derived build IDs: the configured prefix plus a short hash of the sorted
//! (plugin file name, component digest) pairs. The same files give the same build ID on every
//! machine and after every restart, so a revert returns to a version the server already knows.

use sha2::{Digest, Sha256};

/// Hex digits of the hash kept in the build ID: 48 bits, collision-free for any realistic
/// number of plugin sets, short enough to read in the UI.
const HASH_CHARS: usize = 12;

/// `{prefix}-{hash}` for the plugins `(file name, sha-256 hex)`, in any order.
pub(crate) fn build_id(prefix: &str, plugins: &[(&str, &str)]) -> String {
    let mut sorted: Vec<(&str, &str)> = plugins.to_vec();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for (name, digest) in sorted {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(digest.as_bytes());
        h.update([0]);
    }
    let hex = hex::encode(h.finalize());
    format!("{prefix}-{}", &hex[..HASH_CHARS])
}

#[cfg(test)]
mod tests {
    use super::build_id;

    #[test]
    fn same_files_same_id_in_any_order() {
        let a = build_id("v1.0.0", &[("a.wasm", "11"), ("b.wasm", "22")]);
        let b = build_id("v1.0.0", &[("b.wasm", "22"), ("a.wasm", "11")]);
        assert_eq!(a, b);
        assert!(a.starts_with("v1.0.0-"), "{a}");
        assert_eq!(a.len(), "v1.0.0-".len() + 12);
    }

    #[test]
    fn any_change_changes_the_id() {
        let base = build_id("v1", &[("a.wasm", "11")]);
        assert_ne!(base, build_id("v1", &[("a.wasm", "12")]), "content");
        assert_ne!(base, build_id("v1", &[("b.wasm", "11")]), "name");
        assert_ne!(base, build_id("v2", &[("a.wasm", "11")]), "prefix");
        assert_ne!(
            base,
            build_id("v1", &[("a.wasm", "11"), ("b.wasm", "22")]),
            "added"
        );
        assert_ne!(
            build_id("v1", &[("ab", "c")]),
            build_id("v1", &[("a", "bc")]),
            "no ambiguity"
        );
    }
}
