//! Plugins that reach the world through their grants (`allowed_outbound_hosts`), and nothing
//! else: HTTP and HTTPS (with a CA the test makes) to local servers the tests start on
//! loopback, TCP by socket grant, secrets from the host — and the hostile cases: unlisted
//! hosts, redirects, names versus literals, huge and endless responses, a server that never
//! answers, a thousand requests at once, an unlisted port.

use crate::common::guests::{self, FEED_INGEST, HELLO_ACTIVITY, TEST_ACTIVITIES};
use crate::common::workflows::{Call, Outcome, run};
use crate::common::{eventually, http_get, plugin_host, plugin_host_with};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(queue: &str, url: &str) -> Outcome {
    run(queue, Call::new("http_get", queue).json(json!(url))).await
}

/// What a test server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    closed: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A local HTTP/1.1 server (plain, or TLS with `tls`) with a few routes:
/// `/feed` a JSON document, `/redirect` a 302 to `redirect_to`, `/huge` a declared 1 GiB body,
/// `/chunked-big` 3 MiB without a length, `/hang` no answer at all, `/slow` a 200 after 20 ms.
async fn serve(
    tls: Option<Arc<rustls::ServerConfig>>,
    redirect_to: Option<SocketAddr>,
) -> (SocketAddr, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            state.connections.fetch_add(1, Ordering::SeqCst);
            let (tls, state) = (tls.clone(), state.clone());
            tokio::spawn(async move {
                match tls {
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(s) = acceptor.accept(stream).await {
                            answer(s, redirect_to, &state).await;
                        }
                    }
                    None => answer(stream, redirect_to, &state).await,
                }
                state.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, seen)
}

async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    redirect_to: Option<SocketAddr>,
    seen: &Seen,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let ok = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    if path == "/slow" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A short answer is as good as sent from here on: the client may start another request
    // before this task runs again, so in-flight ends before the write, not after it.
    let long = matches!(path.as_str(), "/hang" | "/huge" | "/chunked-big");
    if !long {
        seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    let _ = match path.as_str() {
        "/feed" => s.write_all(ok(r#"{"items":[1,2,3]}"#).as_bytes()).await,
        "/titles.json" => {
            s.write_all(ok(r#"{"items":[{"title":"first"},{"title":"second"}]}"#).as_bytes())
                .await
        }
        "/items.json"
            if text
                .to_ascii_lowercase()
                .contains("authorization: bearer tok-123\r\n") =>
        {
            s.write_all(ok(ITEMS).as_bytes()).await
        }
        "/items.json" => {
            s.write_all(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await
        }
        "/slow" => s.write_all(ok("slow").as_bytes()).await,
        "/redirect" => {
            let to = redirect_to.map_or_else(String::new, |a| format!("http://{a}/feed"));
            s.write_all(
                format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
        }
        "/huge" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\nconnection: close\r\n\r\n";
            let _ = s.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0usize;
            while sent < 1 << 30 && s.write_all(&chunk).await.is_ok() {
                sent += chunk.len();
            }
            Ok(())
        }
        "/chunked-big" => {
            let _ = s
                .write_all(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
                )
                .await;
            let chunk = vec![b'y'; 64 * 1024];
            for _ in 0..48 {
                let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                frame.extend_from_slice(&chunk);
                frame.extend_from_slice(b"\r\n");
                if s.write_all(&frame).await.is_err() {
                    break;
                }
            }
            s.write_all(b"0\r\n\r\n").await
        }
        "/hang" => {
            // Holds the connection open without a byte until the client goes away.
            let _ = s.read(&mut buf).await;
            Ok(())
        }
        _ => {
            s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await
        }
    };
    let _ = s.shutdown().await;
    if long {
        seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The feed `/items.json` serves: four items, one without an id, one id repeated.
const ITEMS: &str = r#"{"items":[{"id":1,"title":"a"},{"id":2,"title":"b"},{"id":2,"title":"b again"},{"title":"no id"}]}"#;

pub fn metric_line(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix('{')?;
        let (set, value) = rest.split_once("} ")?;
        labels
            .iter()
            .all(|(k, v)| set.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse().ok())?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_http_and_https_reach_their_hosts_and_nothing_else() {
    let (bystander, bystander_seen) = serve(None, None).await;
    let (plain, plain_seen) = serve(None, Some(bystander)).await;
    let (ca_pem, tls_config) = crate::common::tls::test_ca();
    let (secure, _) = serve(Some(tls_config), None).await;
    let manifest = format!(
        "allowed_outbound_hosts = [\"http://127.0.0.1:{}\", \"https://localhost:{}\"]\nca_files = [\"test-ca.pem\"]\n",
        plain.port(),
        secure.port()
    );
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[
            ("test_activities.toml", &manifest),
            ("test-ca.pem", &ca_pem),
        ],
    )
    .await;

    let out = get(&queue, &format!("http://{plain}/feed")).await;
    assert_eq!(out.json(), json!("status 200\n{\"items\":[1,2,3]}"));
    let out = get(&queue, &format!("https://localhost:{}/feed", secure.port())).await;
    assert_eq!(
        out.json(),
        json!("status 200\n{\"items\":[1,2,3]}"),
        "HTTPS with the plugin's CA"
    );

    // Redirects reach the guest as they are: the host does not follow them.
    let out = get(&queue, &format!("http://{plain}/redirect")).await;
    assert_eq!(out.json(), json!("status 302\n"));

    // An IP literal grants the literal, not a name that resolves to it.
    let out = get(&queue, &format!("http://localhost:{}/feed", plain.port())).await;
    assert!(
        out.error().contains(&format!(
            "wasm-worker denied http://localhost:{}/feed for plugin test_activities.wasm: no entry in allowed_outbound_hosts covers http://localhost:{}",
            plain.port(),
            plain.port()
        )),
        "{}",
        out.error()
    );
    // An unlisted port of a listed address.
    let out = get(&queue, &format!("http://{bystander}/feed")).await;
    assert!(
        out.error().contains("wasm-worker denied"),
        "{}",
        out.error()
    );
    assert_eq!(
        bystander_seen.connections.load(Ordering::SeqCst),
        0,
        "neither the denied request nor the redirect reached the unlisted server"
    );
    assert_eq!(plain_seen.connections.load(Ordering::SeqCst), 2);

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    let rule = format!("http://127.0.0.1:{}", plain.port());
    assert_eq!(
        metric_line(
            &metrics,
            "wasm_worker_outbound_requests_total",
            &[
                ("plugin", "test_activities.wasm"),
                ("host", &rule),
                ("result", "ok")
            ]
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        metric_line(
            &metrics,
            "wasm_worker_sandbox_denials_total",
            &[("plugin", "test_activities.wasm"), ("kind", "http")]
        ),
        Some(2.0)
    );
    assert!(
        metrics.contains("wasm_worker_outbound_request_seconds_count"),
        "latency histogram"
    );

    // A call that outlives its deadline ends, and so does its connection.
    let out = run(
        &queue,
        Call::new("http_get", &queue)
            .json(json!(format!("http://{plain}/hang")))
            .timeout(Duration::from_secs(2))
            .attempts(1),
    )
    .await;
    // Whichever fires first — the host's deadline or the server's start-to-close timeout —
    // the attempt ends, and its request with it.
    assert!(out.result.is_none(), "{:?}", out.result);
    eventually(
        Duration::from_secs(10),
        "the hung connection closed",
        || {
            let seen = plain_seen.clone();
            async move { (seen.closed.load(Ordering::SeqCst) == 3).then_some(()) }
        },
    )
    .await;
    assert_eq!(http_get(host.metrics_addr(), "/readyz").await.0, 200);
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_bound_size_time_and_concurrency_and_trust_is_per_plugin() {
    let (plain, plain_seen) = serve(None, None).await;
    let (_, tls_config) = crate::common::tls::test_ca();
    let (secure, _) = serve(Some(tls_config), None).await;
    let manifest = format!(
        "allowed_outbound_hosts = [\"http://127.0.0.1:{}\", \"https://localhost:{}\"]\n\
         [outbound]\nmax_concurrent_requests = 4\nfirst_byte_timeout = \"1s\"\nmax_response_mib = 1\n",
        plain.port(),
        secure.port()
    );
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[("test_activities.toml", &manifest)],
    )
    .await;
    // No ca_files: the test CA is not trusted.
    let out = get(&queue, &format!("https://localhost:{}/feed", secure.port())).await;
    assert!(
        out.error().contains("TlsCertificateError"),
        "{}",
        out.error()
    );

    let out = get(&queue, &format!("http://{plain}/huge")).await;
    assert!(
        out.error().contains("HttpResponseBodySize"),
        "declared 1 GiB: {}",
        out.error()
    );
    // Streamed past the limit: the body read fails mid-way (counted as too_large below).
    let out = get(&queue, &format!("http://{plain}/chunked-big")).await;
    assert!(
        out.error().contains("reading the body failed"),
        "3 MiB streamed: {}",
        out.error()
    );
    let out = get(&queue, &format!("http://{plain}/hang")).await;
    assert!(
        out.error().contains("ConnectionReadTimeout"),
        "{}",
        out.error()
    );

    // The refused and timed-out connections are gone before the burst is measured.
    eventually(
        Duration::from_secs(10),
        "earlier connections closed",
        || {
            let seen = plain_seen.clone();
            async move { (seen.in_flight.load(Ordering::SeqCst) == 0).then_some(()) }
        },
    )
    .await;
    let out = run(
        &queue,
        Call::new("http_get_many", &queue)
            .json(json!(format!("http://{plain}/slow")))
            .json(json!(1000))
            .timeout(Duration::from_secs(120)),
    )
    .await;
    assert_eq!(out.json(), json!(1000), "every request answered");
    let max = plain_seen.max_in_flight.load(Ordering::SeqCst);
    assert!(max <= 4, "at most 4 requests in flight, saw {max}");

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    let rule = format!("http://127.0.0.1:{}", plain.port());
    let count = |result| {
        metric_line(
            &metrics,
            "wasm_worker_outbound_requests_total",
            &[("host", rule.as_str()), ("result", result)],
        )
    };
    assert_eq!(count("too_large"), Some(2.0), "{metrics}");
    assert_eq!(count("timeout"), Some(1.0), "{metrics}");
    // The streamed body was answered (`ok`) before it was cut off (`too_large`).
    assert_eq!(count("ok"), Some(1001.0), "{metrics}");
    assert_eq!(http_get(host.metrics_addr(), "/readyz").await.0, 200);
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_reach_only_granted_addresses() {
    let granted = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let by_name = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let unlisted = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    unlisted.set_nonblocking(true).expect("nonblocking");
    let (granted_addr, by_name_port, unlisted_addr) = (
        granted.local_addr().expect("addr"),
        by_name.local_addr().expect("addr").port(),
        unlisted.local_addr().expect("addr"),
    );
    let manifest = format!(
        "allowed_outbound_hosts = [\"postgres://{granted_addr}\", \"redis://localhost:{by_name_port}\"]\n"
    );
    let (host, queue, _dir) = plugin_host(
        &[("test_activities.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[("test_activities.toml", &manifest)],
    )
    .await;
    let connect = |target: String| {
        let queue = queue.clone();
        async move { run(&queue, Call::new("connect", &queue).json(json!(target))).await }
    };
    assert_eq!(
        connect(granted_addr.to_string()).await.json(),
        json!("connected")
    );
    // A granted name: the guest may resolve it, and connect to what it resolves to.
    assert_eq!(
        connect(format!("localhost:{by_name_port}")).await.json(),
        json!("connected")
    );
    let out = connect(unlisted_addr.to_string()).await;
    assert_eq!(out.failure().error_type, "PluginError", "{:?}", out.result);
    assert!(
        matches!(unlisted.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to {unlisted_addr}"
    );
    // A name no grant lists is not even looked up.
    let out = connect("example.com:5432".to_string()).await;
    assert_eq!(out.failure().error_type, "PluginError", "{:?}", out.result);
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    for kind in ["tcp", "dns"] {
        assert_eq!(
            metric_line(
                &metrics,
                "wasm_worker_sandbox_denials_total",
                &[("plugin", "test_activities.wasm"), ("kind", kind)]
            ),
            Some(1.0),
            "{kind}: {metrics}"
        );
    }
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_the_host_and_a_missing_one_refuses_its_plugin() {
    let secrets = tempfile::NamedTempFile::new().expect("secrets file");
    std::fs::write(secrets.path(), "WW_TEST_API_TOKEN=s3cr3t-value\n").expect("write");
    let path = secrets.path().to_path_buf();
    let (host, queue, _dir) = plugin_host_with(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[
            (
                "test_activities.toml",
                "env_from_host = [\"WW_TEST_API_TOKEN\"]\n",
            ),
            (
                "hello_activity.toml",
                "env_from_host = [\"WW_TEST_NOT_SET\"]\n",
            ),
        ],
        |c| c.secrets_file = Some(path),
    )
    .await;
    let out = run(
        &queue,
        Call::new("env_var", &queue).json(json!("WW_TEST_API_TOKEN")),
    )
    .await;
    assert_eq!(out.json(), json!("s3cr3t-value"));

    let (_, status) = http_get(host.metrics_addr(), "/status").await;
    assert!(
        status.contains("plugin hello_activity.wasm: manifest env_from_host: the host has no secret WW_TEST_NOT_SET"),
        "{status}"
    );
    assert!(
        !status.contains("s3cr3t"),
        "secret values never reach /status"
    );

    // Rotation: the next attempt sees the file's new value after a re-read.
    std::fs::write(secrets.path(), "WW_TEST_API_TOKEN=rotated\n").expect("write");
    nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGHUP)
        .expect("SIGHUP");
    eventually(Duration::from_secs(10), "the rotated secret", || {
        let queue = queue.clone();
        async move {
            let out = run(
                &queue,
                Call::new("env_var", &queue).json(json!("WW_TEST_API_TOKEN")),
            )
            .await;
            (out.json() == json!("rotated")).then_some(())
        }
    })
    .await;
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingestion_example_fetches_validates_and_digests_a_feed_over_https() {
    let (ca_pem, tls_config) = crate::common::tls::test_ca();
    let (secure, _) = serve(Some(tls_config), None).await;
    let secrets = tempfile::NamedTempFile::new().expect("secrets file");
    std::fs::write(secrets.path(), "FEED_TOKEN=tok-123\n").expect("write");
    let path = secrets.path().to_path_buf();
    let manifest = format!(
        "allowed_outbound_hosts = [\"https://localhost:{}\"]\nca_files = [\"ca.pem\"]\nenv_from_host = [\"FEED_TOKEN\"]\n",
        secure.port()
    );
    let (host, queue, _dir) = plugin_host_with(
        &[("feed_ingest.wasm", guests::bytes(FEED_INGEST))],
        &[("feed_ingest.toml", &manifest), ("ca.pem", &ca_pem)],
        |c| c.secrets_file = Some(path),
    )
    .await;
    let url = format!("https://localhost:{}/items.json", secure.port());
    let out = run(&queue, Call::new("ingest_feed", &queue).json(json!(url))).await;
    let digest: String = <sha2::Sha256 as sha2::Digest>::digest(ITEMS.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        out.json(),
        json!({
            "url": url,
            "status": 200,
            "items": 4,
            "invalid_items": 2,
            "bytes": ITEMS.len(),
            "sha256": digest,
        })
    );
    // Elsewhere: the plugin's own error, naming the URL and the reason.
    let out = run(
        &queue,
        Call::new("ingest_feed", &queue).json(json!("https://example.com/feed.json")),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError");
    assert!(
        out.error()
            .contains("no entry in allowed_outbound_hosts covers https://example.com:443"),
        "{}",
        out.error()
    );
    host.stop().await.expect("stop");
}

/// A host running the `make plugins` build of `plugin` (`js_activity`, `python_activity`),
/// granted a plain server and a TLS one (the test CA in `ca_files`); their addresses with it.
async fn feed_host(
    plugin: &str,
) -> (
    wasm_worker::RunningHost,
    String,
    tempfile::TempDir,
    SocketAddr,
    SocketAddr,
) {
    let (plain, _) = serve(None, None).await;
    let (ca_pem, tls_config) = crate::common::tls::test_ca();
    let (secure, _) = serve(Some(tls_config), None).await;
    let manifest = format!(
        "allowed_outbound_hosts = [\"http://127.0.0.1:{}\", \"https://localhost:{}\"]\nca_files = [\"ca.pem\"]\n",
        plain.port(),
        secure.port()
    );
    let (host, queue, dir) = plugin_host(
        &[(
            &format!("{plugin}.wasm"),
            crate::polyglot::built(&format!("{plugin}.wasm")),
        )],
        &[(&format!("{plugin}.toml"), &manifest), ("ca.pem", &ca_pem)],
    )
    .await;
    (host, queue, dir, plain, secure)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_example_reads_a_feed_with_fetch() {
    let (host, queue, _dir, plain, secure) = feed_host("js_activity").await;
    let https = format!("https://localhost:{}/titles.json", secure.port());
    let out = run(
        &queue,
        Call::new("fetch_feed_titles", &queue).json(json!(https)),
    )
    .await;
    assert_eq!(out.json(), json!(["first", "second"]), "over HTTPS");
    let out = run(
        &queue,
        Call::new("fetch_feed_titles", &queue).json(json!(format!("http://{plain}/titles.json"))),
    )
    .await;
    assert_eq!(out.json(), json!(["first", "second"]));
    let out = run(
        &queue,
        Call::new("fetch_feed_titles", &queue).json(json!(format!("http://{plain}/items.json"))),
    )
    .await;
    assert!(out.error().contains("answered HTTP 401"), "{}", out.error());
    let out = run(
        &queue,
        Call::new("fetch_feed_titles", &queue).json(json!("http://example.com/items.json")),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError", "{:?}", out.result);
    // StarlingMonkey's fetch() reports every wasi:http error as a NetworkError: the reason is
    // in the host's log and the denial counter.
    assert!(
        out.error()
            .contains("fetching http://example.com/items.json failed: NetworkError"),
        "{}",
        out.error()
    );
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert_eq!(
        metric_line(
            &metrics,
            "wasm_worker_sandbox_denials_total",
            &[("plugin", "js_activity.wasm"), ("kind", "http")]
        ),
        Some(1.0)
    );
    let rule = format!("http://127.0.0.1:{}", plain.port());
    assert_eq!(
        metric_line(
            &metrics,
            "wasm_worker_outbound_requests_total",
            &[
                ("plugin", "js_activity.wasm"),
                ("host", rule.as_str()),
                ("result", "ok")
            ]
        ),
        Some(2.0),
        "the titles and the 401, over plain HTTP"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_reads_a_feed_over_wasi_http() {
    let (host, queue, _dir, plain, secure) = feed_host("python_activity").await;
    let https = format!("https://localhost:{}/titles.json", secure.port());
    let out = run(
        &queue,
        Call::new("count_feed_items", &queue).json(json!(https)),
    )
    .await;
    assert_eq!(
        out.json()["items"],
        json!(2),
        "over HTTPS: {:?}",
        out.result
    );
    let out = run(
        &queue,
        Call::new("count_feed_items", &queue).json(json!(format!("http://{plain}/titles.json"))),
    )
    .await;
    let body = r#"{"items":[{"title":"first"},{"title":"second"}]}"#;
    assert_eq!(
        out.json(),
        json!({"status": 200, "items": 2, "bytes": body.len()})
    );
    // The host's reason reaches Python code in the error code.
    let out = run(
        &queue,
        Call::new("count_feed_items", &queue).json(json!("http://example.com/feed.json")),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError", "{:?}", out.result);
    assert!(
        out.error().contains(
            "ErrorCode_InternalError: wasm-worker denied http://example.com:80/feed.json for plugin python_activity.wasm: no entry in allowed_outbound_hosts covers http://example.com:80"
        ),
        "{}",
        out.error()
    );
    host.stop().await.expect("stop");
}
