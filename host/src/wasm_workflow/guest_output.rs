//! A workflow guest's stdout and stderr after an activation: log records the first time the
//! code runs, nothing on replay (the lines were logged when it first ran).

use crate::runtime::output::{Captured, STDERR_TAIL_LINES, last_lines};

/// Logs what the guest wrote (unless `replaying`); returns the last stderr lines, for a
/// failure message, either way.
pub(super) fn drain(
    stdout: &Captured,
    stderr: &Captured,
    replaying: bool,
    plugin: &str,
    workflow_type: &str,
) -> String {
    let (out, _) = stdout.take();
    let (err, _) = stderr.take();
    let err = String::from_utf8_lossy(&err).into_owned();
    if !replaying {
        for (stream, text) in [
            ("stdout", String::from_utf8_lossy(&out).into_owned()),
            ("stderr", err.clone()),
        ] {
            for line in text.lines().filter(|l| !l.is_empty()) {
                tracing::info!(target: "plugin", %plugin, %workflow_type, stream, "{line}");
            }
        }
    }
    last_lines(&err, STDERR_TAIL_LINES)
}
