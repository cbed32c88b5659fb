"""Swaps to Rust plugins the host and the server have never seen: N builds of the Rust example
activity, each with a different greeting (so a different component and a new build ID), renamed
one after another into a running host's folder — or, with `--kind workflow`, N builds of the
Rust SDK example workflow (`plugins/greeting-workflow`, a different activity timeout each). Prints, per swap, the time from the rename to
the new build being current on /status and the host's own phases (load, route).

Why a script of its own: `swap_latency.py` times one never-seen build per run, and the
server's answer to the first SetWorkerDeploymentCurrentVersion of a new version is bimodal
(~0.1 s, or ~1.3 s when it meets the deployment's workflows settling an earlier change), so one
sample says little. Stdlib only; any host binary:

    python3 bench/never_seen_swaps.py [--builds 8] [--kind activity|workflow] [--host $CARGO_TARGET_DIR/debug/wasm-worker]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/wasm-worker/target"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What each kind varies: (plugin folder, crate, artifact, the source text, its variant I).
KINDS = {
    "activity": ("hello-activity", "hello_activity", 'format!("Hello, {name}!")',
                 lambda i: f'format!("Hello, {{name}} v{i}")'),
    "workflow": ("greeting-workflow", "greeting_workflow", "Duration::from_secs(30)",
                 lambda i: f"Duration::from_secs({31 + i})"),
}  # fmt: skip


def build_variants(kind: str, n: int, out: Path) -> list[Path]:
    """The Rust example `kind` n times, each with its source text varied, built as the example is."""
    crate, artifact, text, variant = KINDS[kind]
    work = out / "src"
    (work / "plugins").mkdir(parents=True)
    for link in ("scripts", "wit"):
        (work / link).symlink_to(REPO / link)
    shutil.copytree(REPO / "plugins" / crate, work / "plugins" / crate)
    shutil.copy(REPO / "plugins/Cargo.lock", work / "plugins")
    manifest = (REPO / "plugins/Cargo.toml").read_text()
    manifest = re.sub(r"(?m)^members = .*$", f'members = ["{crate}"]', manifest)
    (work / "plugins/Cargo.toml").write_text(manifest)
    lib = work / "plugins" / crate / "src/lib.rs"
    original = lib.read_text()
    if text not in original:
        sys.exit(f"never_seen_swaps.py: {crate}/src/lib.rs no longer has {text}; update the script")
    target = Path.home() / ".cache/wasm-worker/plugins-target-edits"
    built = []
    for i in range(n):
        lib.write_text(original.replace(text, variant(i)))
        subprocess.run(
            ["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip2", "-p", crate],
            cwd=work / "plugins", env={**os.environ, "CARGO_TARGET_DIR": str(target)}, check=True,
        )  # fmt: skip
        path = out / f"{artifact}.v{i}.wasm"
        shutil.copy(target / f"wasm32-wasip2/release/{artifact}.wasm", path)
        built.append(path)
    return built


def current(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as r:
            for g in json.loads(r.read())["generations"]:
                if g["state"] == "current":
                    return str(g["build_id"])
    except (OSError, ValueError, KeyError):
        pass
    return None


def wait_change(port: int, before: str | None, timeout: float) -> tuple[str, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        now = current(port)
        if now is not None and now != before:
            return now, time.monotonic() - started
        time.sleep(0.005)
    sys.exit(f"never_seen_swaps.py: no new current build within {timeout} s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--builds", type=int, default=8, help="swaps to time (one more build is the first set)")
    p.add_argument("--host", type=Path, default=Path(os.environ.get("WASM_WORKER_BIN", TARGET / "debug/wasm-worker")))
    p.add_argument("--temporal", default=os.environ.get("TEMPORAL_CLI", str(REPO / ".venv/bin/temporal")))
    p.add_argument("--kind", choices=sorted(KINDS), default="activity", help="which example is rebuilt")
    args = p.parse_args()
    # The other half of the hello world, as `make plugins` built it.
    other = REPO / "dist/plugins" / ("greeting_workflow.wasm" if args.kind == "activity" else "hello_activity.wasm")
    for need in (args.host, Path(args.temporal), other):
        if not need.exists():
            sys.exit(f"never_seen_swaps.py: {need} is missing (`make plugins` builds the host, the plugins and the CLI)")
    tmp = Path(tempfile.mkdtemp(prefix="never-seen-"))
    variants = build_variants(args.kind, args.builds + 1, tmp)
    name = KINDS[args.kind][1] + ".wasm"
    folder = tmp / "plugins"
    folder.mkdir()
    shutil.copy(other, folder)
    shutil.copy(variants[0], folder / name)
    grpc, port = free_port(), free_port()
    server = subprocess.Popen(
        [args.temporal, "server", "start-dev", "--port", str(grpc), "--ui-port", str(free_port()),
         "--headless", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    log = (tmp / "host.log").open("w")
    host = subprocess.Popen(
        [str(args.host), "run", "--address", f"127.0.0.1:{grpc}", "--task-queue", "never-seen",
         "--deployment-name", "never-seen", "--plugins", str(folder), "--metrics-port", str(port),
         "--metrics-bind", "127.0.0.1", "--compile-cache", str(tmp / "cache"), "--log-format", "json"],
        stdout=log, stderr=log,
    )  # fmt: skip
    times = []
    try:
        build, _ = wait_change(port, None, 120.0)
        for path in variants[1:]:
            time.sleep(3)  # the previous change's partitions settle, as between real edits
            staged = tmp / "staged.wasm"
            shutil.copy(path, staged)
            os.rename(staged, folder / name)
            build, t = wait_change(port, build, 60.0)
            times.append(t)
    finally:
        host.terminate()
        host.wait()
        server.terminate()
        server.wait()
    phases = []
    for line in (tmp / "host.log").read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") == "new plugin set is current":
            phases.append((event.get("load_ms"), event.get("route_ms"), event.get("swap_ms")))
    print("| swap | rename -> current s | load ms | route ms | host's swap ms |")
    print("|---|---|---|---|---|")
    for i, t in enumerate(times):
        load, route, swap = phases[i] if i < len(phases) else ("?", "?", "?")
        print(f"| {i + 1} | {t:.3f} | {load} | {route} | {swap} |")
    print(f"\nmedian {statistics.median(times):.3f} s, max {max(times):.3f} s over {len(times)} never-seen builds")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
