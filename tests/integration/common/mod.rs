//! Shared helpers: one Temporal dev server for the whole test binary (started on a free port,
//! killed when the binary exits), per-test task queues, the host binary, HTTP probes.
//!
//! A missing `temporal` CLI is a failure that says how to install it — never a skip.

pub mod server;
pub mod tls;
pub mod workflows;

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use wasm_worker::Config;

pub use server::{DevServer, shared_server};

/// The workspace root (where `.venv/` and `Cargo.toml` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The host program (`wasm_worker::entry::main`) as a binary cargo built for this test run.
pub fn host_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wasm-worker-under-test"))
}

/// Removes the variables cargo sets for a test process (`CARGO_PKG_NAME`, `OUT_DIR`, …) from
/// a command that runs cargo: build scripts (ring's) rerun when they change, which would
/// rebuild half the dependency tree on every run.
pub fn without_cargo_test_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if (name.starts_with("CARGO_") && name != "CARGO_HOME" && name != "CARGO_TARGET_DIR")
            || name == "OUT_DIR"
        {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding an ephemeral port")
        .port()
}

/// A name unique within this test run: `{prefix}-{pid}-{n}`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A host configuration on `address` with its own task queue and deployment name, so tests
/// never route work to each other; metrics on a free loopback port; an empty plugins folder.
pub fn config(address: &str, name: &str) -> (Config, tempfile::TempDir) {
    init_test_logging();
    let plugins = tempfile::tempdir().expect("plugins tempdir");
    let mut c = Config::for_server(address, &unique(name), plugins.path()).expect("test config");
    c.deployment_name = unique("dep");
    c.status_interval = Duration::from_millis(500);
    c.shutdown_grace = Duration::from_secs(10);
    (c, plugins)
}

/// With `WASM_WORKER_TEST_LOG` set (a filter such as `wasm_worker=debug`), the embedded hosts
/// log to stderr: what to read when a test that runs a host in-process fails.
fn init_test_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("WASM_WORKER_TEST_LOG") {
            wasm_worker::logging::init(&filter, wasm_worker::config::LogFormat::Text)
                .expect("WASM_WORKER_TEST_LOG is a valid tracing filter");
        }
    });
}

/// GET `http://{addr}{path}` → (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let resp = reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path} on {addr} failed: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("reading the body"))
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `limit` with `what`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `/readyz` answers 200; a port that is not open yet counts as not ready.
pub async fn wait_ready(addr: std::net::SocketAddr) {
    eventually(
        Duration::from_secs(60),
        "/readyz to answer 200",
        || async move {
            let resp = reqwest::get(format!("http://{addr}/readyz")).await.ok()?;
            (resp.status() == 200).then_some(())
        },
    )
    .await;
}

/// Sends SIGTERM to a child process.
pub fn sigterm(child: &tokio::process::Child) {
    let pid =
        nix::unistd::Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid fits"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
}

/// Spawns the host binary with a clean environment plus `envs`, the given arguments, metrics
/// on a free loopback port and `plugins` as its folder; returns it and its metrics address.
pub fn spawn_host(
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
    plugins: &std::path::Path,
    stdout: std::process::Stdio,
) -> (tokio::process::Child, std::net::SocketAddr) {
    spawn(
        tokio::process::Command::new(host_binary()),
        args,
        envs,
        plugins,
        stdout,
    )
}

/// The compile cache of the hosts [`spawn_host_on`] starts, shared by the whole suite.
fn spawned_host_cache() -> PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("spawned-host-compile-cache")
}

/// Compiles `plugins` into the cache of [`spawn_host_on`]'s hosts (`wasm-worker check`), so
/// that a host started next is ready in seconds: a takeover test is about the takeover, and a
/// host compiling four interpreter plugins on 2 busy cores takes longer than [`wait_ready`]
/// waits.
pub async fn precompile(plugins: &std::path::Path) {
    let out = tokio::process::Command::new(host_binary())
        .arg("check")
        .arg(plugins)
        .arg("--compile-cache")
        .arg(spawned_host_cache())
        .env_clear()
        .output()
        .await
        .expect("running wasm-worker check");
    assert!(out.status.success(), "check {}: {out:?}", plugins.display());
}

/// [`spawn_host`] on the shared dev server polling `queue` as deployment `deployment`, output
/// discarded: a second call is another host process of the same deployment (a takeover).
/// These hosts share one compile cache for the whole suite, as hosts redeployed on one
/// machine do (the clean environment has no `HOME`, so no default cache).
pub fn spawn_host_on(
    queue: &str,
    deployment: &str,
    plugins: &std::path::Path,
) -> (tokio::process::Child, std::net::SocketAddr) {
    let cache = spawned_host_cache();
    let cache = cache.to_string_lossy();
    let args = [
        "--address",
        shared_server(),
        "--task-queue",
        queue,
        "--deployment-name",
        deployment,
        "--compile-cache",
        &cache,
    ];
    spawn_host(&args, &[], plugins, std::process::Stdio::null())
}

/// [`spawn_host`] with at most `nofile` file descriptors (soft and hard limit).
pub fn spawn_host_with_fd_limit(
    nofile: u32,
    args: &[&str],
    plugins: &std::path::Path,
) -> (tokio::process::Child, std::net::SocketAddr) {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
        .arg(host_binary());
    spawn(cmd, args, &[], plugins, std::process::Stdio::null())
}

fn spawn(
    mut cmd: tokio::process::Command,
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
    plugins: &std::path::Path,
    stdout: std::process::Stdio,
) -> (tokio::process::Child, std::net::SocketAddr) {
    let port = free_port();
    cmd.env_clear();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd
        .args(args)
        .args([
            "--metrics-bind",
            "127.0.0.1",
            "--metrics-port",
            &port.to_string(),
        ])
        .arg("--plugins")
        .arg(plugins)
        .stdout(stdout)
        .kill_on_drop(true)
        .spawn()
        .expect("spawning wasm-worker");
    (child, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Paths of the guest components built by `tests/build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));

    /// The bytes of a built guest.
    pub fn bytes(path: &str) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }
}

/// A started host whose plugins folder holds `files` (name → bytes) and `manifests`
/// (`NAME.toml` → text); returns it with its task queue and the folder (keep it alive).
pub async fn plugin_host(
    files: &[(&str, Vec<u8>)],
    manifests: &[(&str, &str)],
) -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
    plugin_host_with(files, manifests, |_| {}).await
}

/// [`plugin_host`] with a configuration tweak.
pub async fn plugin_host_with(
    files: &[(&str, Vec<u8>)],
    manifests: &[(&str, &str)],
    tweak: impl FnOnce(&mut Config),
) -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
    let (mut config, plugins) = config(shared_server(), "plugins");
    tweak(&mut config);
    for (name, bytes) in files {
        std::fs::write(plugins.path().join(name), bytes).expect("writing a plugin");
    }
    for (name, text) in manifests {
        std::fs::write(plugins.path().join(name), text).expect("writing a manifest");
    }
    let queue = config.task_queue.clone();
    let host = wasm_worker::Host::new(config)
        .start()
        .await
        .expect("host starts");
    wait_ready(host.metrics_addr()).await;
    (host, queue, plugins)
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`: resident memory now, `VmHWM`: its peak).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
