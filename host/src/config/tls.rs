//! TLS towards the Temporal server: certificates from files or inline PEM (the `*_DATA`
//! variables and profile fields Temporal's tools accept), the API key, and when TLS is on.

use super::ConfigError;
use super::parse;
use super::sources::{Raw, Sources};
use std::path::{Path, PathBuf};

/// PEM text, from a file or given inline.
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// Read when connecting.
    File(PathBuf),
    /// The PEM itself (`TEMPORAL_TLS_*_DATA`, a profile's `*_data`).
    Inline(String),
}

impl Pem {
    /// The file, when it comes from one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Pem::File(p) => Some(p),
            Pem::Inline(_) => None,
        }
    }

    /// The PEM bytes.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Pem::File(p) => std::fs::read(p),
            Pem::Inline(text) => Ok(text.clone().into_bytes()),
        }
    }
}

/// Inline PEM (a private key, possibly) is never printed, only its size.
impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pem::File(p) => write!(f, "{}", p.display()),
            Pem::Inline(text) => write!(f, "<inline PEM, {} bytes>", text.len()),
        }
    }
}

/// TLS towards the Temporal server (Temporal Cloud or a secured cluster).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM client certificate for mTLS.
    pub client_cert: Option<Pem>,
    /// PEM client key for mTLS.
    pub client_key: Option<Pem>,
    /// PEM CA that signed the server certificate.
    pub server_ca_cert: Option<Pem>,
    /// Name to verify the server certificate against (`TEMPORAL_TLS_SERVER_NAME`).
    pub server_name: Option<String>,
}

/// Every setting that configures TLS beyond switching it on.
const TLS_KEYS: &[&str] = &[
    "tls_client_cert_path",
    "tls_client_cert_data",
    "tls_client_key_path",
    "tls_client_key_data",
    "tls_server_ca_cert_path",
    "tls_server_ca_cert_data",
    "tls_server_name",
];

/// Resolves TLS and the API key: `(tls, api_key)`, `tls` `None` for plain text.
pub(super) fn resolve(src: &Sources) -> Result<(Option<TlsConfig>, Option<String>), ConfigError> {
    let opt = |key: &str| src.get(key);
    let api_key = opt("api_key").map(|r| parse::name(&r)).transpose()?;
    let switch = opt("tls");
    let tls_on = switch.as_ref().map(parse::boolean).transpose()?;
    if let (Some(false), Some(off)) = (tls_on, switch) {
        // TLS switched off in a layer no lower than a certificate's: which one was meant? A
        // certificate from a lower layer (a profile) is simply not used.
        if let Some(cert) = TLS_KEYS
            .iter()
            .filter_map(|k| src.get(k))
            .find(|r| r.origin.rank() <= off.origin.rank())
        {
            return Err(ConfigError::Conflict(format!(
                "{}=false conflicts with {}, which is also set",
                off.origin, cert.origin
            )));
        }
        return Ok((None, api_key));
    }
    let files = TlsConfig {
        client_cert: pem(src, "tls_client_cert")?,
        client_key: pem(src, "tls_client_key")?,
        server_ca_cert: pem(src, "tls_server_ca_cert")?,
        server_name: opt("tls_server_name")
            .map(|r| parse::name(&r))
            .transpose()?,
    };
    if files.client_cert.is_some() != files.client_key.is_some() {
        return Err(ConfigError::Conflict(
            "the TLS client certificate and key must be set together for mTLS \
             (TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA and TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA)"
                .into(),
        ));
    }
    let implied = files != TlsConfig::default() || api_key.is_some();
    let tls = match tls_on {
        Some(_) => Some(files),
        None if implied => Some(files),
        None => None,
    };
    Ok((tls, api_key))
}

/// One certificate or key from `<base>_path` or `<base>_data`: both in one layer is a
/// conflict (which did the user mean?); across layers the higher one wins, so a flag's path
/// replaces a profile's inline data.
fn pem(src: &Sources, base: &str) -> Result<Option<Pem>, ConfigError> {
    let path = src.get(&format!("{base}_path"));
    let data = src.get(&format!("{base}_data"));
    let from_path = |r: &Raw| parse::readable_file(r).map(Pem::File);
    match (path, data) {
        (None, None) => Ok(None),
        (Some(p), None) => from_path(&p).map(Some),
        (None, Some(d)) => inline(&d).map(Some),
        (Some(p), Some(d)) if p.origin.rank() == d.origin.rank() => {
            Err(ConfigError::Conflict(format!(
                "{} and {} both set the same certificate; give the path or the data, not both",
                p.origin, d.origin
            )))
        }
        (Some(p), Some(d)) if p.origin.rank() < d.origin.rank() => from_path(&p).map(Some),
        (Some(_), Some(d)) => inline(&d).map(Some),
    }
}

/// Inline PEM must at least look like PEM: a path pasted into a `*_DATA` variable by mistake
/// should fail here, naming the variable, not as a handshake error later.
fn inline(raw: &Raw) -> Result<Pem, ConfigError> {
    if raw.value.contains("-----BEGIN ") {
        Ok(Pem::Inline(raw.value.clone()))
    } else {
        Err(raw.invalid("must be PEM text (-----BEGIN …-----), not a path"))
    }
}
