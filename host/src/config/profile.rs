//! Temporal's client profiles (`temporal.toml`), the connection settings every Temporal SDK and
//! the `temporal` CLI share, as the lowest layer above our defaults.
//!
//! An operator who already runs `temporal workflow list --profile prod` should not have to
//! restate the address, namespace, API key and certificates for the worker. The file is parsed
//! by `temporalio-common`'s own envconfig (so the format is exactly the SDKs'), but the layering
//! is ours: the profile fills only what our flags, variables and `--config` file leave unset,
//! and each value remembers "profile `prod` in FILE" as its origin, so an error names the file
//! to fix. Our own variables already carry the same `TEMPORAL_*` names envconfig reads, so the
//! file is loaded without the environment; only the `TEMPORAL_GRPC_META_*` headers (a family
//! of names no single setting can list) are taken from the environment here.

use super::ConfigError;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use temporalio_common::envconfig::{
    ClientConfig, ClientConfigProfile, ClientConfigTLS, DataSource, LoadClientConfigOptions,
    load_client_config,
};

/// The profile used when none is named, as in every Temporal SDK.
const DEFAULT_PROFILE: &str = "default";

/// Connection settings taken from a profile, keyed like our own settings.
#[derive(Default)]
pub struct Profile {
    /// "profile `NAME` in FILE", the origin errors name.
    pub label: String,
    /// The file the profile came from (never granted to plugins: it may hold an API key).
    pub file: Option<PathBuf>,
    /// Setting key (as in `spec.rs`) → raw text.
    pub values: HashMap<&'static str, String>,
    /// gRPC metadata sent on every call: the profile's `grpc_meta`, then
    /// `TEMPORAL_GRPC_META_*` variables over it (an empty variable removes a header).
    pub grpc_meta: BTreeMap<String, String>,
}

/// Names only: the values include API keys, inline private keys and header values.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.values.keys().collect();
        keys.sort_unstable();
        f.debug_struct("Profile")
            .field("label", &self.label)
            .field("file", &self.file)
            .field("settings", &keys)
            .field("grpc_meta", &self.grpc_meta.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where Temporal's tools look for the file when neither `--temporal-config-file` nor
/// `TEMPORAL_CONFIG_FILE` names one: `$XDG_CONFIG_HOME/temporalio/temporal.toml`, else
/// `~/.config/temporalio/temporal.toml`.
pub fn default_file(env: &HashMap<String, String>) -> Option<PathBuf> {
    let non_empty = |k: &str| env.get(k).filter(|v| !v.is_empty());
    let config = match non_empty("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(non_empty("HOME")?).join(".config"),
    };
    Some(config.join("temporalio").join("temporal.toml"))
}

/// Loads profile `name` (default `default`) from `file` (default [`default_file`]).
///
/// A profile or file the user named must exist; the default file and profile may be absent
/// (then the layer is empty), as in the SDKs.
pub fn load(
    env: &HashMap<String, String>,
    name: Option<&str>,
    file: Option<&Path>,
) -> Result<Profile, ConfigError> {
    let mut out = Profile {
        grpc_meta: grpc_meta(HashMap::new(), env)?,
        ..Profile::default()
    };
    let (path, named_file) = match file {
        Some(p) => (p.to_path_buf(), true),
        None => match default_file(env) {
            Some(p) => (p, false),
            None => return Ok(out),
        },
    };
    let file_err = |reason: String| ConfigError::File {
        path: path.clone(),
        reason,
    };
    if !path.exists() {
        return match (named_file, name) {
            (true, _) => Err(file_err(
                "Temporal's client config file does not exist".into(),
            )),
            (false, Some(n)) => Err(file_err(format!(
                "profile `{n}` was asked for, but Temporal's client config file does not exist"
            ))),
            (false, None) => Ok(out),
        };
    }
    // Protected from plugin grants whatever profile is used: it may hold other profiles' keys.
    out.file = Some(path.clone());
    let config: ClientConfig = load_client_config(
        LoadClientConfigOptions::builder()
            .config_source(DataSource::Path(path.display().to_string()))
            .build(),
        Some(&HashMap::new()),
    )
    .map_err(|e| file_err(without_source_lines(&e.to_string())))?;
    let profile_name = name.unwrap_or(DEFAULT_PROFILE);
    let Some(profile) = config.profiles.get(profile_name) else {
        if name.is_none() {
            return Ok(out);
        }
        let mut known: Vec<_> = config.profiles.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Err(file_err(format!(
            "no profile `{profile_name}`; profiles in the file: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    out.label = format!("profile `{profile_name}` in {}", path.display());
    out.values = values(profile).map_err(file_err)?;
    out.grpc_meta = grpc_meta(profile.grpc_meta.clone(), env)?;
    Ok(out)
}

/// A TOML parser message without the source lines it quotes (`1 | api_key = sk-…`): the file
/// holds secrets, and the message goes to logs.
fn without_source_lines(message: &str) -> String {
    message
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with('|')
                || t.split_once('|')
                    .is_some_and(|(n, _)| n.trim().parse::<u32>().is_ok()))
        })
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join(": ")
}

/// The profile's fields under our setting keys.
fn values(p: &ClientConfigProfile) -> Result<HashMap<&'static str, String>, String> {
    let mut v = HashMap::new();
    let mut put = |key: &'static str, value: Option<&String>| {
        if let Some(value) = value.filter(|s| !s.is_empty()) {
            v.insert(key, value.clone());
        }
    };
    put("address", p.address.as_ref());
    put("namespace", p.namespace.as_ref());
    put("api_key", p.api_key.as_ref());
    if let Some(tls) = &p.tls {
        tls_values(tls, &mut v)?;
    }
    Ok(v)
}

fn tls_values(tls: &ClientConfigTLS, v: &mut HashMap<&'static str, String>) -> Result<(), String> {
    if tls.disable_host_verification {
        return Err(
            "`disable_host_verification` is not supported by the Rust client; give the \
             server's CA certificate (`server_ca_cert_path`) or its name (`server_name`) instead"
                .into(),
        );
    }
    if tls.disabled == Some(true) {
        // Switched off, as Temporal's tools read it: the certificates stay unused.
        v.insert("tls", "false".to_string());
        return Ok(());
    }
    v.insert("tls", "true".to_string());
    let sources = [
        (
            &tls.client_cert,
            "tls_client_cert_path",
            "tls_client_cert_data",
        ),
        (
            &tls.client_key,
            "tls_client_key_path",
            "tls_client_key_data",
        ),
        (
            &tls.server_ca_cert,
            "tls_server_ca_cert_path",
            "tls_server_ca_cert_data",
        ),
    ];
    for (source, path_key, data_key) in sources {
        match source {
            Some(DataSource::Path(p)) => {
                v.insert(path_key, p.clone());
            }
            Some(DataSource::Data(d)) => {
                let text = String::from_utf8(d.clone())
                    .map_err(|_| format!("`{data_key}` is not text (PEM expected)"))?;
                v.insert(data_key, text);
            }
            _ => {}
        }
    }
    if let Some(name) = tls.server_name.as_ref().filter(|n| !n.is_empty()) {
        v.insert("tls_server_name", name.clone());
    }
    Ok(())
}

/// The file's headers with the `TEMPORAL_GRPC_META_*` variables applied over them, named and
/// checked exactly as envconfig does.
fn grpc_meta(
    file: HashMap<String, String>,
    env: &HashMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let only_meta: HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("TEMPORAL_GRPC_META_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut p = ClientConfigProfile::default();
    p.grpc_meta = file;
    p.load_from_env(Some(&only_meta))
        .map_err(|e| ConfigError::Conflict(format!("TEMPORAL_GRPC_META_*: {e}")))?;
    // Checked here: a header gRPC cannot send would otherwise fail every connection attempt,
    // reported as an unreachable server for ever. The value is not echoed (it may be a token).
    for (key, value) in &p.grpc_meta {
        use temporalio_client::tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
        if AsciiMetadataKey::from_bytes(key.as_bytes()).is_err() || key.ends_with("-bin") {
            return Err(ConfigError::Conflict(format!(
                "gRPC metadata `{key}` (grpc_meta / TEMPORAL_GRPC_META_*): not a valid ASCII header name"
            )));
        }
        if AsciiMetadataValue::try_from(value.as_str()).is_err() {
            return Err(ConfigError::Conflict(format!(
                "gRPC metadata `{key}` (grpc_meta / TEMPORAL_GRPC_META_*): the value is not a valid header value (visible ASCII)"
            )));
        }
    }
    Ok(p.grpc_meta.into_iter().collect())
}
