//! SIGINT/SIGTERM handling: the first signal starts a graceful shutdown, a second one exits at
//! once with a non-zero code (for an operator who does not want to wait out the grace period).

use tokio::signal::unix::{SignalKind, signal};

/// Exit code after a second signal: 128 + SIGINT, as shells report an interrupted program.
pub(crate) const FORCED_EXIT_CODE: i32 = 130;

/// Resolves on the first SIGINT or SIGTERM, and arms the second-signal exit.
pub(crate) async fn first_signal() -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(
        signal = name,
        "shutdown requested; finishing in-flight tasks (send again to exit at once)"
    );
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!(
            signal = name,
            "second signal: exiting without waiting for in-flight tasks"
        );
        std::process::exit(FORCED_EXIT_CODE);
    });
    Ok(())
}
