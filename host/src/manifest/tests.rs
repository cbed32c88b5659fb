//! The manifest's parsing and validation, and its error messages.

use super::*;

#[test]
fn empty_manifest_is_the_default() {
    assert_eq!(
        Manifest::parse("", Path::new("/")).expect("parse"),
        Manifest::default()
    );
}

#[test]
fn fields_are_read_and_dirs_resolved_against_the_plugins_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let m = Manifest::parse(
        "memory_limit_mib = 128\nmax_call_time = \"2m\"\nenv = { A = \"b\" }\n[rename]\ngreet-activity = \"greet\"\n[[dir]]\nhost = \"data\"\nguest = \"/data\"\n",
        dir.path(),
    )
    .expect("parse");
    assert_eq!(m.memory_limit, 128 << 20);
    assert_eq!(m.max_call_time, Duration::from_secs(120));
    assert_eq!(m.env["A"], "b");
    assert_eq!(m.rename["greet-activity"], "greet");
    assert_eq!(m.dirs[0].host, dir.path().join("data"));
    assert!(!m.dirs[0].writable);
}

#[test]
fn versioning_is_read_per_plugin_and_per_type() {
    let m = Manifest::parse(
        "versioning = \"auto-upgrade\"\n[versioning_by_type]\nA = \"pinned\"\n",
        Path::new("/"),
    )
    .expect("parse");
    assert_eq!(m.versioning, Some(Versioning::AutoUpgrade));
    assert_eq!(m.versioning_by_type["A"], Versioning::Pinned);
    let e = Manifest::parse("[versioning_by_type]\nA = \"sticky\"", Path::new("/"))
        .expect_err("bad behaviour");
    assert!(
        e.to_string()
            .starts_with("versioning_by_type.A = \"sticky\": must be"),
        "{e}"
    );
}

#[test]
fn type_errors_name_the_line() {
    // A key after a table header belongs to that table: the message alone would not say
    // which line is wrong.
    let e = Manifest::parse("[rename]\nmemory_limit_mib = 8\n", Path::new("/"))
        .expect_err("an integer where a type name belongs");
    assert!(
        matches!(e, ManifestError::Syntax { line: Some(2), .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("invalid manifest, line 2: "),
        "{e}"
    );
}

#[test]
fn network_grants_limits_and_secret_names_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----").expect("ca");
    let m = Manifest::parse(
        "allowed_outbound_hosts = [\"https://api.example.com\", \"postgres://db:5432\"]\n\
         ca_files = [\"ca.pem\"]\nenv_from_host = [\"TOKEN\"]\n\
         [outbound]\nmax_concurrent_requests = 4\nconnect_timeout = \"2s\"\n\
         first_byte_timeout = \"5s\"\nmax_response_mib = 2\n",
        dir.path(),
    )
    .expect("parse");
    assert!(
        m.outbound
            .allow
            .find("https", "api.example.com", 443)
            .is_some()
    );
    assert!(m.outbound.allow.has_sockets());
    assert_eq!(m.outbound.ca_files, vec![dir.path().join("ca.pem")]);
    assert_eq!(m.outbound.limits.max_concurrent_requests, 4);
    assert_eq!(m.outbound.limits.connect_timeout, Duration::from_secs(2));
    assert_eq!(m.outbound.limits.first_byte_timeout, Duration::from_secs(5));
    assert_eq!(m.outbound.limits.max_response_bytes, 2 << 20);
    assert_eq!(m.env_from_host, vec!["TOKEN"]);
    // Nothing listed: nowhere, with the default limits.
    let none = Manifest::parse("", Path::new("/")).expect("parse");
    assert!(none.outbound.allow.is_empty());
    assert_eq!(none.outbound.limits, OutboundLimits::default());
}

#[test]
fn bad_grants_name_the_entry_and_the_reason() {
    let e = |text: &str| {
        Manifest::parse(text, Path::new("/"))
            .expect_err(text)
            .to_string()
    };
    assert_eq!(
        e("allowed_outbound_hosts = [\"https://*\"]"),
        "allowed_outbound_hosts entry \"https://*\": the host must be a DNS name, `*.` and a DNS name, or an IP address (`*` alone grants everything and is not allowed)"
    );
    assert!(
        e("ca_files = [\"nope.pem\"]").starts_with("ca_files entry \"nope.pem\": no such file")
    );
    assert!(e("[outbound]\nmax_concurrent_requests = 0").contains("between 1 and 256"));
    assert!(e("[outbound]\nconnect_timeout = \"5m\"").contains("at most 60s"));
    assert!(e("[outbound]\nmax_response_mib = 4096").contains("between 1 and 1024"));
    assert!(e("env_from_host = [\"A=B\"]").contains("without `=` or NUL"));
    assert!(e("env = { \"A=B\" = \"x\" }").contains("without `=` or NUL"));
    assert!(e("env = { T = \"x\" }\nenv_from_host = [\"T\"]").contains("also set in `env`"));
}

#[test]
fn the_hosts_kernel_folders_are_never_granted() {
    for folder in ["/proc", "/sys", "/dev", "/proc/self"] {
        let e = Manifest::parse(
            &format!("[[dir]]\nhost = \"{folder}\"\nguest = \"/x\""),
            Path::new("/"),
        )
        .expect_err(folder)
        .to_string();
        assert!(e.contains("never granted"), "{e}");
    }
}

#[test]
fn parse_errors_never_echo_a_value() {
    let e = Manifest::parse("env = \"TOKEN=sekret-123\"", Path::new("/"))
        .expect_err("a string where a table belongs")
        .to_string();
    assert!(!e.contains("sekret"), "{e}");
    assert!(e.contains("invalid type: string \"…\""), "{e}");
    assert!(e.starts_with("invalid manifest, line 1: "), "{e}");
}

#[test]
fn mistakes_name_the_field() {
    let e = Manifest::parse("memory_limit = 5", Path::new("/"))
        .expect_err("unknown")
        .to_string();
    assert!(e.contains("unknown field `memory_limit`"), "{e}");
    let e = Manifest::parse("memory_limit_mib = 0", Path::new("/"))
        .expect_err("zero")
        .to_string();
    assert!(
        e.starts_with("memory_limit_mib = 0: must be between 1"),
        "{e}"
    );
    let e = Manifest::parse("max_call_time = \"forever\"", Path::new("/"))
        .expect_err("bad")
        .to_string();
    assert!(e.starts_with("max_call_time = \"forever\""), "{e}");
    let e = Manifest::parse(
        "[[dir]]\nhost = \"nope\"\nguest = \"/x\"",
        Path::new("/nonexistent"),
    )
    .expect_err("dir")
    .to_string();
    assert!(e.contains("dir.host = \"nope\": no such folder"), "{e}");
    let e = Manifest::parse("[[dir]]\nhost = \"/\"\nguest = \"x\"", Path::new("/"))
        .expect_err("guest")
        .to_string();
    assert!(e.contains("must be an absolute path"), "{e}");
}

#[test]
fn isolation_is_fresh_unless_reuse_is_asked_for() {
    let at = Path::new("/");
    assert_eq!(
        Manifest::parse("", at).expect("parse").isolation,
        Isolation::Fresh
    );
    assert_eq!(
        Manifest::parse("isolation = \"fresh\"", at)
            .expect("parse")
            .isolation,
        Isolation::Fresh
    );
    assert_eq!(
        Manifest::parse("isolation = \"reuse\"", at)
            .expect("parse")
            .isolation,
        Isolation::Reuse
    );
    let err = Manifest::parse("isolation = \"shared\"", at)
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with("isolation = \"shared\": must be \"fresh\""),
        "{err}"
    );
}
