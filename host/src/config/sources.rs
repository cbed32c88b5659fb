//! The layers a setting's raw text comes from: flags over environment over the TOML file over
//! defaults. Each value remembers where it came from, so an error can name the flag, variable or
//! file key the user has to fix.

use super::ConfigError;
use super::profile::Profile;
use super::spec::{SPECS, Spec};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a raw value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--flag` on the command line.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A key in the TOML file.
    File { path: PathBuf, key: &'static str },
    /// A field of Temporal's client profile (`temporal.toml`).
    Profile { label: String, key: &'static str },
    /// The built-in default.
    Default(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "--{flag}"),
            Origin::Env(var) => write!(f, "{var}"),
            Origin::File { path, key } => write!(f, "{} key `{key}`", path.display()),
            Origin::Profile { label, key } => write!(f, "{label}, field for `{key}`"),
            Origin::Default(key) => write!(f, "default for `{key}`"),
        }
    }
}

impl Origin {
    /// Layer precedence, 0 winning: two values for one thing (a certificate's path and its
    /// inline data) are a conflict only within one layer; otherwise the higher layer wins.
    pub fn rank(&self) -> u8 {
        match self {
            Origin::Flag(_) => 0,
            Origin::Env(_) => 1,
            Origin::File { .. } => 2,
            Origin::Profile { .. } => 3,
            Origin::Default(_) => 4,
        }
    }
}

/// A raw value and its origin.
#[derive(Debug, Clone)]
pub struct Raw {
    pub value: String,
    pub origin: Origin,
    pub secret: bool,
}

impl Raw {
    /// Builds the error for a value that did not parse; secrets are not echoed.
    pub fn invalid(&self, reason: impl fmt::Display) -> ConfigError {
        let value = if self.secret {
            "<redacted>".to_string()
        } else {
            self.value.clone()
        };
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            value,
            reason: reason.to_string(),
        }
    }
}

/// Looks an environment variable up.
type EnvLookup = Box<dyn Fn(&str) -> Option<String>>;

/// All layers, ready to be queried setting by setting.
pub struct Sources {
    flags: HashMap<&'static str, String>,
    env: EnvLookup,
    file: Option<(PathBuf, HashMap<String, String>)>,
    profile: Option<Profile>,
}

impl Sources {
    /// `flags` maps setting keys to flag values; `env` looks variables up (the process
    /// environment in production, a map in tests); `file` is the `--config` path, if any.
    pub fn new(
        flags: HashMap<&'static str, String>,
        env: impl Fn(&str) -> Option<String> + 'static,
        file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let file = file.map(read_file).transpose()?;
        Ok(Self {
            flags,
            env: Box::new(env),
            file,
            profile: None,
        })
    }

    /// Adds Temporal's client profile (named by `profile` / `TEMPORAL_PROFILE`, read from
    /// `temporal_config_file` / `TEMPORAL_CONFIG_FILE` or the default path) under the other
    /// layers. `env` is the whole environment (the default path and the gRPC headers need it).
    /// With `only_if_named` (dev mode) the default file's default profile is not used: a
    /// developer's `default` may well be production, and dev mode must not quietly run local
    /// plugins against it.
    pub fn with_temporal_profile(
        mut self,
        env: &HashMap<String, String>,
        only_if_named: bool,
    ) -> Result<Self, ConfigError> {
        let name = self.get("profile").map(|r| r.value.trim().to_string());
        let file = self
            .get("temporal_config_file")
            .map(|r| PathBuf::from(r.value.trim()));
        if only_if_named && name.is_none() && file.is_none() {
            return Ok(self);
        }
        self.profile = Some(super::profile::load(env, name.as_deref(), file.as_deref())?);
        Ok(self)
    }

    /// The Temporal profile layer, when [`Sources::with_temporal_profile`] added one.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// The `--config` file, if one was given.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_ref().map(|(path, _)| path.as_path())
    }

    /// The winning raw value for `key`, or `None` when no layer sets it.
    pub fn get(&self, key: &str) -> Option<Raw> {
        let spec = super::spec::find(key)?;
        let raw = |value: String, origin| Raw {
            value,
            origin,
            secret: spec.secret,
        };
        if let Some(v) = self.flags.get(spec.key) {
            return Some(raw(v.clone(), Origin::Flag(spec.flag)));
        }
        for var in spec.env {
            if let Some(v) = (self.env)(var).filter(|v| !v.is_empty()) {
                return Some(raw(v, Origin::Env(var)));
            }
        }
        if let Some((path, table)) = &self.file
            && let Some(v) = table.get(spec.key)
        {
            let origin = Origin::File {
                path: path.clone(),
                key: spec.key,
            };
            return Some(raw(v.clone(), origin));
        }
        if let Some(p) = &self.profile
            && let Some(v) = p.values.get(spec.key)
        {
            let origin = Origin::Profile {
                label: p.label.clone(),
                key: spec.key,
            };
            return Some(raw(v.clone(), origin));
        }
        spec.default
            .map(|d| raw(d.to_string(), Origin::Default(spec.key)))
    }
}

/// Reads the TOML file into key → text, refusing unknown keys and non-scalar values.
fn read_file(path: &Path) -> Result<(PathBuf, HashMap<String, String>), ConfigError> {
    let file_err = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
    let mut out = HashMap::new();
    for (key, value) in table {
        let Some(spec) = SPECS.iter().find(|s: &&Spec| s.key == key) else {
            return Err(file_err(format!(
                "unknown key `{key}`; known keys: {}",
                SPECS.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
            )));
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(file_err(format!(
                    "key `{}` must be a string, number or boolean, found {}",
                    spec.key,
                    other.type_str()
                )));
            }
        };
        out.insert(key, text);
    }
    Ok((path.to_path_buf(), out))
}
