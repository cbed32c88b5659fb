"""Hot-swap latency of the release wasm-worker: time from a plugin file renamed into the
folder to the new build being current on /status — with a cold compile cache (the new file
compiles) and a warm one (a revert to files compiled before). Also the cold start: process
start to /readyz 200 with a warm compile cache.

With `--edits DIR` (what `bench/build_edits.sh DIR` builds: NAME.wasm and NAME.edited.wasm, the
Python, JavaScript and Rust examples before and after a one-line edit), also the edit loop of
each, in a host of its own with an empty compile cache: the plugin renamed in (cold), the
edited build renamed over it (after the edit), the first build again (revert).

    ~/.cache/wasm-worker/venv-bench/bin/python bench/swap_latency.py [--rounds 5] [--edits DIR]

Prints a table; run by `make bench` after the throughput table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (the harness's process and server helpers)


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as r:
        return json.loads(r.read())


def current(port: int) -> str:
    try:
        for g in status(port)["generations"]:
            if g["state"] == "current":
                return str(g["build_id"])
    except OSError:
        pass
    return ""


def publish(src: Path, folder: Path, name: str) -> None:
    tmp = folder / f".{name}.partial"
    shutil.copyfile(src, tmp)
    tmp.rename(folder / name)


def wait_current_change(port: int, old: str, timeout: float = 120.0) -> tuple[str, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        now = current(port)
        if now and now != old:
            return now, time.monotonic() - started
        time.sleep(0.01)
    raise bench.BenchError(f"no new current build after {timeout}s")


def wait_propagated(port: int, build: str, timeout: float = 60.0) -> None:
    """Until the server reports the routing change to `build` in every partition: a swap
    measured right after another would otherwise wait for the previous one's propagation."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            routing = status(port).get("routing") or {}
        except OSError:
            routing = {}
        if routing.get("build_id") == build and routing.get("propagated"):
            return
        time.sleep(0.05)
    raise bench.BenchError(f"routing to {build} not propagated after {timeout}s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--edits", type=Path, help="NAME.wasm + NAME.edited.wasm pairs (bench/build_edits.sh)")
    args = p.parse_args()
    target = Path(
        os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "wasm-worker" / "target")
    )
    paths = bench.Paths(
        temporal=bench.find_temporal(None),
        wasm_worker=Path(os.environ.get("WASM_WORKER_BIN", target / "release" / "wasm-worker")),
        native_worker=Path("/nonexistent"),
        plugins=Path(os.environ.get("BENCH_PLUGINS", bench.REPO / "dist" / "bench-plugins")),
    )
    bench.check_prerequisites(paths, ["wasm"])
    assert paths.temporal is not None
    logs = Path(tempfile.mkdtemp(prefix="swap-latency-"))
    server, address = bench.start_dev_server(paths.temporal, logs)
    rows: list[tuple[str, float, float]] = []
    try:
        folder = Path(tempfile.mkdtemp(prefix="swap-plugins-")) / "plugins"
        folder.mkdir()
        for f in ("hello_activity.wasm", "greeting_workflow.wasm"):
            shutil.copyfile(paths.plugins / f, folder / f)
        shutil.copyfile(paths.plugins / "greeting_workflow.wasm", folder.parent / "greeting_workflow.keep")
        extra = paths.plugins / "bench_workflows.wasm"
        cache = Path(tempfile.mkdtemp(prefix="swap-cache-"))

        def start_host(queue: str) -> tuple[bench.subprocess.Popen[bytes], int, float]:
            port = bench.free_port()
            argv = [
                str(paths.wasm_worker), "run", "--address", address, "--task-queue", queue,
                "--deployment-name", queue, "--plugins", str(folder),
                "--metrics-port", str(port), "--metrics-bind", "127.0.0.1",
                "--log-level", os.environ.get("BENCH_HOST_LOG", "info"), "--log-format", "json", "--compile-cache", str(cache), "--drain-limit", "2s",
            ]  # fmt: skip
            started = time.monotonic()
            proc = bench.spawn(argv, logs / f"{queue}.log")
            bench.wait_until(lambda: bench.readyz_ok(port), proc, "wasm-worker", logs / f"{queue}.log")
            return proc, port, time.monotonic() - started

        # A first start fills the compile cache; the second is the warm cold-start figure.
        proc, _, first_start = start_host("swap-warmup")
        bench.stop(proc)
        proc, port, warm_start = start_host("swap")
        cold: list[float] = []
        warm: list[float] = []
        for i in range(args.rounds):
            # The first add compiles bench_workflows.wasm; later adds and every removal are
            # sets whose components are all compiled already (memory and disk cache).
            build = current(port)
            wait_propagated(port, build)
            publish(extra, folder, "bench_workflows.wasm")
            build, t = wait_current_change(port, build)
            (cold if i == 0 else warm).append(t)
            wait_propagated(port, build)
            (folder / "bench_workflows.wasm").unlink()
            build, t = wait_current_change(port, build)
            warm.append(t)
        bench.stop(proc)
        edit_rows = edit_loop(args.edits, start_host, folder, cache) if args.edits else []
        rows = [
            ("start to /readyz, empty compile cache", first_start, first_start),
            ("start to /readyz, warm compile cache", warm_start, warm_start),
            ("swap, new file compiled (file renamed in -> current)", cold[0], cold[0]),
            ("swap, files compiled before (revert / re-add)", statistics.median(warm), max(warm)),
        ] + edit_rows
    finally:
        bench.stop(server)
    print("| what | median s | max s |")
    print("|---|---|---|")
    for what, med, worst in rows:
        print(f"| {what} | {med:.2f} | {worst:.2f} |")
    print_phases(logs / "swap.log")
    return 0


def edit_loop(edits: Path, start_host, folder: Path, cache: Path) -> list[tuple[str, float, float]]:
    """Time to current of each plugin in `edits`: cold, after its one-line edit, reverted."""
    rows: list[tuple[str, float, float]] = []
    for edited in sorted(edits.glob("*.edited.wasm")):
        name = edited.name.replace(".edited.wasm", ".wasm")
        # A folder with the greeting workflow alone (the example plugins' activity types would
        # clash with the Rust example's) and an empty compile cache: a first load is cold.
        for f in folder.iterdir():
            f.unlink()
        for f in cache.iterdir():
            shutil.rmtree(f) if f.is_dir() else f.unlink()
        shutil.copyfile(folder.parent / "greeting_workflow.keep", folder / "greeting_workflow.wasm")
        proc, port, _ = start_host(f"edit-{name.removesuffix('.wasm').replace('_', '-')}")
        try:
            times = []
            for src in (edits / name, edited, edits / name):
                build = current(port)
                wait_propagated(port, build)
                publish(src, folder, name)
                build, t = wait_current_change(port, build, timeout=300.0)
                times.append(t)
        finally:
            bench.stop(proc)
        for what, t in zip(("empty caches", "after a one-line edit", "revert"), times):
            rows.append((f"edit loop: {name}, {what}", t, t))
    return rows


# The host's own account of each swap (JSON log lines): where the time after the watcher's
# request went. `wait` is the watcher's debounce and settle time, before the request.
PHASES = [
    ("load_ms", "load: read, validate, compile or cache hit"),
    ("start_ms", "start the generation's core worker"),
    ("registered_ms", "server: version registered (both task-queue types)"),
    ("routed_ms", "server: registered + SetCurrentVersion accepted"),
    ("propagated_ms", "server: routing reached every partition (after current)"),
    ("swap_ms", "request -> current (host's own figure)"),
]


def print_phases(log: Path) -> None:
    swaps: list[dict[str, float]] = []
    routed: list[dict[str, float]] = []
    propagated: list[dict[str, float]] = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") == "new plugin set is current":
            swaps.append(event)
        elif event.get("message") == "deployment version is current" and "registered_ms" in event:
            routed.append(event)
        elif event.get("message") == "routing change reached every task-queue partition":
            propagated.append(event)
    # The first of each is the start-up, not a swap.
    routed, propagated = routed[1:], propagated[1:]
    if not swaps:
        return
    print()
    print(f"Swap phases, median over {len(swaps)} swaps (ms; from the host's log):")
    print("| phase | median ms | max ms |")
    print("|---|---|---|")
    for key, what in PHASES:
        source = {"registered_ms": routed, "routed_ms": routed, "propagated_ms": propagated}.get(
            key, swaps
        )
        values = [float(e[key]) for e in source if key in e]
        if values:
            print(f"| {what} | {statistics.median(values):.0f} | {max(values):.0f} |")


if __name__ == "__main__":
    sys.exit(main())
