//! Temporal's connection profiles: the host binary pointed at a TLS-secured server by nothing
//! but a `temporal.toml` profile, as an operator points every Temporal tool at one cluster.

use crate::common::guests::{self, HELLO_ACTIVITY};
use crate::common::workflows::{Call, run};
use crate::common::{self, eventually, shared_server, spawn_host, unique, wait_ready};
use serde_json::json;
use std::ffi::OsStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_connects_the_host_to_a_tls_server_and_its_ca_is_checked() {
    // The dev server speaks plain gRPC; a TLS front with a certificate from a CA made here
    // stands in for a secured cluster.
    let (ca_pem, server_config) = common::tls::test_ca();
    let (front, handshakes) = common::tls::front(server_config, shared_server().to_string()).await;
    let (other_ca, _) = common::tls::test_ca();
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).expect("ca");
    let profiles = dir.path().join("temporal.toml");
    std::fs::write(
        &profiles,
        format!(
            r#"
[profile.secure]
address = "localhost:{port}"
namespace = "default"
[profile.secure.tls]
server_ca_cert_path = "{ca}"

[profile.wrong-ca]
address = "localhost:{port}"
[profile.wrong-ca.tls]
server_ca_cert_data = """{other_ca}"""
"#,
            port = front.port(),
            ca = ca.display(),
        ),
    )
    .expect("profiles");
    let plugins = tempfile::tempdir().expect("plugins");
    std::fs::write(
        plugins.path().join("hello_activity.wasm"),
        guests::bytes(HELLO_ACTIVITY),
    )
    .expect("plugin");
    let queue = unique("profile");
    let spawn = |profile: &str| {
        spawn_host(
            &["--task-queue", &queue, "--deployment-name", &queue],
            &[
                ("TEMPORAL_CONFIG_FILE", profiles.as_os_str()),
                ("TEMPORAL_PROFILE", OsStr::new(profile)),
            ],
            plugins.path(),
            std::process::Stdio::null(),
        )
    };

    // A certificate from another CA: the host refuses the server and says it cannot reach it.
    let (mut untrusted, addr) = spawn("wrong-ca");
    let reason = eventually(
        Duration::from_secs(30),
        "a refused TLS connection",
        || async move {
            // Not listening yet is not an answer.
            let resp = reqwest::get(format!("http://{addr}/readyz")).await.ok()?;
            let status = resp.status();
            let body = resp.text().await.ok()?;
            (status == 503 && body.contains("cannot reach")).then_some(body)
        },
    )
    .await;
    assert!(
        reason.contains(&format!("localhost:{}", front.port())),
        "{reason}"
    );
    assert_eq!(
        handshakes.load(Ordering::SeqCst),
        0,
        "no handshake completes with a CA that did not sign the server's certificate"
    );
    common::sigterm(&untrusted);
    let _ = untrusted.wait().await;

    // The profile's CA: connected through TLS, serving the plugin's activity.
    let (mut host, addr) = spawn("secure");
    wait_ready(addr).await;
    assert!(
        handshakes.load(Ordering::SeqCst) > 0,
        "the host went through the TLS front"
    );
    let out = run(
        &queue,
        Call::new("greet_activity", &queue).json(json!("Profile")),
    )
    .await;
    assert_eq!(out.json(), json!("Hello, Profile!"));
    common::sigterm(&host);
    let status = host.wait().await.expect("host exits");
    assert!(status.success(), "clean stop: {status}");
}
