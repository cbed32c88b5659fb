//! The host's secrets that plugins name in `env_from_host`: read from the host's environment,
//! else from `--secrets-file` (`KEY=VALUE` lines, `#` comments). Values are looked up at every
//! activity attempt, so re-reading the file (SIGHUP) rotates them without a new build; they
//! are never logged, never on `/status` and never part of a build ID.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Where secret values come from.
#[derive(Default)]
pub struct Secrets {
    file: Option<PathBuf>,
    values: RwLock<HashMap<String, String>>,
}

/// A secrets file that cannot be read or parsed; the message never quotes a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Unreadable.
    #[error("secrets file {path}: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A line that is not `KEY=VALUE`.
    #[error("secrets file {path}, line {line}: expected KEY=VALUE")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
    },
}

impl Secrets {
    /// Secrets from the environment and, when given, `file` (read now).
    pub fn new(file: Option<&Path>) -> Result<Self, SecretsError> {
        let secrets = Secrets {
            file: file.map(Path::to_path_buf),
            values: RwLock::default(),
        };
        secrets.reload()?;
        Ok(secrets)
    }

    /// Re-reads the file; on an error the values read before stay.
    pub fn reload(&self) -> Result<(), SecretsError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path).map_err(|error| SecretsError::Unreadable {
            path: path.clone(),
            error,
        })?;
        let parsed = parse(&text).map_err(|line| SecretsError::Malformed {
            path: path.clone(),
            line,
        })?;
        *self.values.write().unwrap_or_else(|p| p.into_inner()) = parsed;
        Ok(())
    }

    /// The value of `name`: the environment first, then the file.
    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| {
            self.values
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(name)
                .cloned()
        })
    }
}

/// `KEY=VALUE` lines; blank lines and `#` comments skipped; the error is the bad line.
fn parse(text: &str) -> Result<HashMap<String, String>, usize> {
    let mut values = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(i + 1)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(i + 1);
        }
        values.insert(key.to_string(), value.trim().to_string());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_read_and_reloaded_and_errors_never_quote_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets");
        std::fs::write(
            &path,
            "# tokens\nWW_TEST_TOKEN_A = one\n\nWW_TEST_TOKEN_B=two=2\n",
        )
        .expect("write");
        let s = Secrets::new(Some(&path)).expect("read");
        assert_eq!(s.get("WW_TEST_TOKEN_A").as_deref(), Some("one"));
        assert_eq!(s.get("WW_TEST_TOKEN_B").as_deref(), Some("two=2"));
        assert_eq!(s.get("WW_TEST_TOKEN_C"), None);
        std::fs::write(&path, "WW_TEST_TOKEN_A=rotated\n").expect("write");
        s.reload().expect("reload");
        assert_eq!(s.get("WW_TEST_TOKEN_A").as_deref(), Some("rotated"));
        assert_eq!(s.get("WW_TEST_TOKEN_B"), None);
        std::fs::write(&path, "WW_TEST_TOKEN_A=kept\nsekret-without-key\n").expect("write");
        let e = s.reload().expect_err("malformed").to_string();
        assert!(e.ends_with("line 2: expected KEY=VALUE"), "{e}");
        assert!(!e.contains("sekret") && !e.contains("kept"), "{e}");
        assert_eq!(
            s.get("WW_TEST_TOKEN_A").as_deref(),
            Some("rotated"),
            "old values stay"
        );
    }

    #[test]
    fn the_environment_wins() {
        // PATH is set in every test environment.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets");
        std::fs::write(&path, "PATH=from-file\n").expect("write");
        let s = Secrets::new(Some(&path)).expect("read");
        assert_ne!(s.get("PATH").as_deref(), Some("from-file"));
    }
}
