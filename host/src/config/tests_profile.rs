//! Unit tests of Temporal's client profile as a settings layer: what it fills, what beats it,
//! and the refusals (naming the file) for a profile or file that is not there.

use super::Pem;
use super::tests::{err, resolve};

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nsekret-key-body\n-----END PRIVATE KEY-----\n";

/// A `temporal.toml` in a temp folder; the folder lives as long as the returned guard.
fn profile_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("temporal.toml");
    std::fs::write(&path, text).expect("write");
    (dir, path.display().to_string())
}

const TWO_PROFILES: &str = r#"
[profile.default]
address = "default.example:7233"
namespace = "from-default"

[profile.prod]
address = "prod.example:7233"
namespace = "from-prod"
api_key = "prod-sekret"

[profile.prod.grpc_meta]
x-team = "payments"
x-drop-me = "file"
"#;

#[test]
fn the_profile_fills_what_nothing_else_sets_and_every_other_layer_beats_it() {
    let (_dir, file) = profile_file(TWO_PROFILES);
    let c = resolve(&[], &[("TEMPORAL_CONFIG_FILE", &file)], None).expect("default profile");
    assert_eq!(c.address.as_str(), "http://default.example:7233/");
    assert_eq!(c.namespace, "from-default");
    assert_eq!(
        c.temporal_config_file.as_deref(),
        Some(std::path::Path::new(&file))
    );

    let env = [
        ("TEMPORAL_CONFIG_FILE", file.as_str()),
        ("TEMPORAL_PROFILE", "prod"),
    ];
    let c = resolve(&[], &env, None).expect("prod");
    assert_eq!(c.namespace, "from-prod");
    assert_eq!(c.api_key.as_deref(), Some("prod-sekret"));
    // An API key implies TLS, from a profile as from anywhere else.
    assert_eq!(c.address.as_str(), "https://prod.example:7233/");
    assert!(!format!("{c:?}").contains("prod-sekret"));

    // Flag, variable and our own file each win over the profile.
    let c = resolve(&[("namespace", "flag-ns")], &env, None).expect("flag");
    assert_eq!(c.namespace, "flag-ns");
    let with_var = [env[0], env[1], ("TEMPORAL_NAMESPACE", "env-ns")];
    assert_eq!(
        resolve(&[], &with_var, None).expect("env").namespace,
        "env-ns"
    );
    let ours = resolve(&[], &env, Some("namespace = \"file-ns\"")).expect("file");
    assert_eq!(ours.namespace, "file-ns");
    // Our file may also choose the profile.
    let chosen = resolve(
        &[],
        &[("TEMPORAL_CONFIG_FILE", &file)],
        Some("profile = \"prod\""),
    )
    .expect("profile from our file");
    assert_eq!(chosen.namespace, "from-prod");
}

#[test]
fn grpc_metadata_comes_from_the_profile_with_the_environment_over_it() {
    let (_dir, file) = profile_file(TWO_PROFILES);
    let env = [
        ("TEMPORAL_CONFIG_FILE", file.as_str()),
        ("TEMPORAL_PROFILE", "prod"),
        ("TEMPORAL_GRPC_META_X_REGION", "eu"),
        ("TEMPORAL_GRPC_META_X_DROP_ME", ""),
    ];
    let c = resolve(&[], &env, None).expect("meta");
    let meta: Vec<(&str, &str)> = c
        .grpc_meta
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(meta, [("x-region", "eu"), ("x-team", "payments")]);
    assert!(
        !format!("{c:?}").contains("payments"),
        "values never logged"
    );
}

#[test]
fn the_default_file_is_found_under_the_home_folder() {
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join(".config/temporalio");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("temporal.toml"), TWO_PROFILES).expect("write");
    let home_s = home.path().display().to_string();
    let c = resolve(&[], &[("HOME", &home_s)], None).expect("home profile");
    assert_eq!(c.namespace, "from-default");
    // Without a file there, nothing is filled and nothing fails.
    let empty = tempfile::tempdir().expect("empty home");
    let empty_s = empty.path().display().to_string();
    let c = resolve(&[], &[("HOME", &empty_s)], None).expect("no file");
    assert_eq!(c.namespace, "default");
    assert_eq!(c.temporal_config_file, None);
}

#[test]
fn a_named_profile_or_file_that_is_not_there_is_refused_naming_it() {
    let (_dir, file) = profile_file(TWO_PROFILES);
    let e = err(
        &[],
        &[
            ("TEMPORAL_CONFIG_FILE", &file),
            ("TEMPORAL_PROFILE", "staging"),
        ],
        None,
    );
    assert!(e.contains("no profile `staging`"), "{e}");
    assert!(e.contains("default, prod"), "lists what is there: {e}");
    assert!(e.contains(&file), "names the file: {e}");

    let e = err(
        &[("temporal_config_file", "/nonexistent/temporal.toml")],
        &[],
        None,
    );
    assert!(e.contains("/nonexistent/temporal.toml"), "{e}");
    assert!(e.contains("does not exist"), "{e}");

    let (_bad, broken) = profile_file("[profile.default\naddress = 1");
    let e = err(&[], &[("TEMPORAL_CONFIG_FILE", &broken)], None);
    assert!(e.contains(&broken), "{e}");

    let (_odd, insecure) =
        profile_file("[profile.default.tls]\ndisable_host_verification = true\n");
    let e = err(&[], &[("TEMPORAL_CONFIG_FILE", &insecure)], None);
    assert!(e.contains("disable_host_verification"), "{e}");
}

#[test]
fn a_bad_value_from_the_profile_names_the_profile_and_file() {
    let (_dir, file) = profile_file("[profile.default]\naddress = \"ftp://x:1\"\n");
    let e = err(&[], &[("TEMPORAL_CONFIG_FILE", &file)], None);
    assert!(e.contains("profile `default`"), "{e}");
    assert!(e.contains(&file), "{e}");
}

#[test]
fn certificates_come_inline_or_from_files_and_inline_keys_are_never_shown() {
    let env = [
        ("TEMPORAL_TLS_CLIENT_CERT_DATA", CERT),
        ("TEMPORAL_TLS_CLIENT_KEY_DATA", KEY),
    ];
    let c = resolve(&[], &env, None).expect("inline mTLS");
    let tls = c.tls.clone().expect("mTLS implies TLS");
    assert_eq!(tls.client_cert, Some(Pem::Inline(CERT.into())));
    assert_eq!(tls.client_key, Some(Pem::Inline(KEY.into())));
    assert!(!format!("{c:?}").contains("sekret-key-body"));

    // A path pasted into a *_DATA variable fails naming the variable, key data redacted.
    let e = err(
        &[],
        &[
            ("TEMPORAL_TLS_CLIENT_CERT_DATA", CERT),
            ("TEMPORAL_TLS_CLIENT_KEY_DATA", "/etc/key.pem"),
        ],
        None,
    );
    assert!(e.contains("TEMPORAL_TLS_CLIENT_KEY_DATA"), "{e}");
    assert!(
        e.contains("not a path") && !e.contains("/etc/key.pem"),
        "{e}"
    );

    // Path and data for one certificate in one layer: which one was meant?
    let cert_file = tempfile::NamedTempFile::new().expect("file");
    let cert_path = cert_file.path().display().to_string();
    let e = err(
        &[],
        &[
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", &cert_path),
            ("TEMPORAL_TLS_SERVER_CA_CERT_DATA", CERT),
        ],
        None,
    );
    assert!(e.contains("not both"), "{e}");

    // Across layers the higher one wins: a flag's path over a profile's inline data.
    let (_dir, file) = profile_file(&format!(
        "[profile.default.tls]\nserver_ca_cert_data = \"\"\"{CERT}\"\"\"\nserver_name = \"temporal.internal\"\n"
    ));
    let from_profile = resolve(&[], &[("TEMPORAL_CONFIG_FILE", &file)], None).expect("profile ca");
    let tls = from_profile.tls.expect("a tls section turns TLS on");
    assert_eq!(tls.server_ca_cert, Some(Pem::Inline(CERT.into())));
    assert_eq!(tls.server_name.as_deref(), Some("temporal.internal"));
    let c = resolve(
        &[("tls_server_ca_cert_path", &cert_path)],
        &[("TEMPORAL_CONFIG_FILE", &file)],
        None,
    )
    .expect("flag path wins");
    assert_eq!(
        c.tls.expect("tls").server_ca_cert,
        Some(Pem::File(cert_path.into()))
    );
}

#[test]
fn tls_switched_off_drops_lower_layers_certificates_and_dev_mode_needs_a_named_profile() {
    // A profile that turns TLS off keeps its certificates listed: TLS is simply off.
    let (_dir, file) = profile_file(&format!(
        "[profile.default]\naddress = \"x:1\"\n[profile.default.tls]\ndisabled = true\nserver_ca_cert_data = \"\"\"{CERT}\"\"\"\n"
    ));
    let c = resolve(&[], &[("TEMPORAL_CONFIG_FILE", &file)], None).expect("disabled");
    assert!(c.tls.is_none());
    assert_eq!(c.address.scheme(), "http");
    // A variable switches a profile's TLS off without a conflict.
    let (_on, with_ca) = profile_file(&format!(
        "[profile.default.tls]\nserver_ca_cert_data = \"\"\"{CERT}\"\"\"\n"
    ));
    let c = resolve(
        &[],
        &[
            ("TEMPORAL_CONFIG_FILE", &with_ca),
            ("TEMPORAL_TLS", "false"),
        ],
        None,
    )
    .expect("off by variable");
    assert!(c.tls.is_none());

    // Dev mode ignores the default file's default profile unless a profile or file is named.
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join(".config/temporalio");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("temporal.toml"), TWO_PROFILES).expect("write");
    let env: std::collections::HashMap<String, String> =
        [("HOME".to_string(), home.path().display().to_string())].into();
    let lookup = env.clone();
    let src = super::sources::Sources::new(
        [("plugins_dir", home.path().display().to_string())].into(),
        move |k| lookup.get(k).cloned(),
        None,
    )
    .expect("sources")
    .with_temporal_profile(&env, true)
    .expect("dev");
    assert_eq!(
        super::Config::resolve(&src).expect("resolve").namespace,
        "default"
    );
}

#[test]
fn grpc_metadata_that_grpc_cannot_send_is_refused_without_echoing_it() {
    let e = err(
        &[],
        &[("TEMPORAL_GRPC_META_X_TOKEN", "line\nbreak-sekret")],
        None,
    );
    assert!(e.contains("x-token"), "{e}");
    assert!(!e.contains("sekret"), "{e}");
}
