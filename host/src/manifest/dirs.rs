//! Which host folders a manifest may grant.
//!
//! Never the kernel's views of the host (`/proc` holds every process's environment, where
//! `TEMPORAL_API_KEY` lives; `/dev`, `/sys`), never a folder holding one of the host's own
//! secrets (its config file, secrets file, TLS key), and — unless the operator allows it — a
//! warning for any folder outside the plugins folder, which is rarely what a plugin author
//! meant and always worth a second look.

use super::{GrantedDir, ManifestError, invalid};
use std::path::{Path, PathBuf};

/// Folders that are the host's own kernel interfaces, refused as grants (and all below them).
const SYSTEM_FOLDERS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// What the operator decided about grants (from the host's configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantPolicy {
    /// Folders outside the plugins folder are granted without a warning
    /// (`--allow-absolute-grants`).
    pub allow_absolute: bool,
    /// The host's own files (config, secrets, TLS key and certificate): a granted folder that
    /// holds one is refused.
    pub protected: Vec<PathBuf>,
}

/// Resolves and checks one `[[dir]]` grant; returns it with its host path resolved, and a
/// warning when it reaches outside the plugins folder.
pub(super) fn check(
    d: GrantedDir,
    plugins_dir: &Path,
    policy: &GrantPolicy,
) -> Result<(GrantedDir, Option<String>), ManifestError> {
    let setting = || format!("dir.host = {:?}", d.host);
    if !d.guest.starts_with('/') {
        return Err(invalid(
            format!("dir.guest = {:?}", d.guest),
            "must be an absolute path",
        ));
    }
    let host = if d.host.is_absolute() {
        d.host.clone()
    } else {
        plugins_dir.join(&d.host)
    };
    if !host.is_dir() {
        return Err(invalid(
            setting(),
            format!("no such folder ({})", host.display()),
        ));
    }
    // Judged by where it really is: a symlink in the plugins folder may point anywhere.
    let real = host.canonicalize().unwrap_or_else(|_| host.clone());
    if let Some(system) = SYSTEM_FOLDERS.iter().find(|s| real.starts_with(s)) {
        return Err(invalid(
            setting(),
            format!("{} is the host's {system}: never granted", real.display()),
        ));
    }
    for file in &policy.protected {
        let file = file.canonicalize().unwrap_or_else(|_| file.clone());
        if file.starts_with(&real) {
            return Err(invalid(
                setting(),
                format!(
                    "{} holds the host's own {}: never granted",
                    real.display(),
                    file.file_name().map_or_else(
                        || file.display().to_string(),
                        |n| n.to_string_lossy().into_owned()
                    )
                ),
            ));
        }
    }
    let plugins = plugins_dir
        .canonicalize()
        .unwrap_or_else(|_| plugins_dir.to_path_buf());
    let warning = (!policy.allow_absolute && !real.starts_with(&plugins)).then(|| {
        format!(
            "dir.host = {:?} grants {}, outside the plugins folder; \
             start the host with --allow-absolute-grants if that is intended",
            d.host,
            real.display()
        )
    });
    Ok((GrantedDir { host, ..d }, warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(host: &Path) -> GrantedDir {
        GrantedDir {
            host: host.to_path_buf(),
            guest: "/data".into(),
            writable: false,
        }
    }

    #[test]
    fn folders_outside_the_plugins_folder_warn_unless_allowed() {
        let plugins = tempfile::tempdir().expect("plugins");
        let inside = plugins.path().join("data");
        std::fs::create_dir(&inside).expect("mkdir");
        let outside = tempfile::tempdir().expect("outside");
        let open = GrantPolicy::default();
        let (_, w) = check(grant(Path::new("data")), plugins.path(), &open).expect("inside");
        assert_eq!(w, None);
        let (g, w) = check(grant(outside.path()), plugins.path(), &open).expect("outside");
        assert_eq!(g.host, outside.path());
        let w = w.expect("a warning");
        assert!(w.contains("outside the plugins folder"), "{w}");
        assert!(w.contains("--allow-absolute-grants"), "{w}");
        let allowed = GrantPolicy {
            allow_absolute: true,
            ..GrantPolicy::default()
        };
        let (_, w) = check(grant(outside.path()), plugins.path(), &allowed).expect("allowed");
        assert_eq!(w, None);
    }

    #[test]
    fn a_folder_holding_the_hosts_own_files_is_refused() {
        let plugins = tempfile::tempdir().expect("plugins");
        let etc = tempfile::tempdir().expect("etc");
        let secrets = etc.path().join("secrets.env");
        std::fs::write(&secrets, "TOKEN=x\n").expect("write");
        let policy = GrantPolicy {
            allow_absolute: true,
            protected: vec![secrets],
        };
        let e = check(grant(etc.path()), plugins.path(), &policy)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("holds the host's own secrets.env"), "{e}");
        assert!(!e.contains("TOKEN"), "{e}");
        // Its parent too: granting `/` would hold everything.
        let parent = etc.path().parent().expect("parent");
        assert!(check(grant(parent), plugins.path(), &policy).is_err());
    }
}
