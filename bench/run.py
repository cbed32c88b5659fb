#!/usr/bin/env python3
"""Side-by-side benchmark of wasm-worker, a native Rust worker and a Python worker.

For each workload and worker it starts the worker alone on a fresh task queue, waits until it
polls, warms it up, then runs the starter (bench/python/starter.py) while sampling the worker's
CPU time and peak RSS. It prints a table, and writes results/results.json and results/chart.png.

Run it with the bench venv's python (bench/setup.sh makes it); `make bench` does both. It never
builds anything: a missing worker binary is an error that names `make bench`.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
STARTER = BENCH / "python" / "starter.py"
PYTHON_WORKER = BENCH / "python" / "worker.py"

WORKERS = ("wasm", "native", "python")
WORKLOADS = ("hello", "fanout", "sequential")
BASELINE = "native"
BUILD_HINT = "`make bench` builds it"

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 40.0  # wasm-worker's default --shutdown-grace is 30s
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A problem the user can fix (missing binary, server that does not start): no traceback."""


# ---------------------------------------------------------------------------------------------
# Processes


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: PR_SET_PDEATHSIG(SIGKILL), so the server and
    # workers go away even when the harness itself is killed and its `finally` never runs.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Starts `argv` with its output in `log`, tied to the harness's life."""
    with log.open("wb") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> int | None:
    """SIGTERM, then SIGKILL after `timeout`. Returns the exit code of the graceful stop, or
    None when it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def log_tail(log: Path, lines: int = 15) -> str:
    """The log's last lines, indented, without the colour codes tracing writes even to files."""
    try:
        text = ANSI_ESCAPE.sub("", log.read_text(errors="replace")).rstrip().splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])


# ---------------------------------------------------------------------------------------------
# /proc sampling


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat fields after the `(comm)` one, which may itself hold spaces or parens:
    index 0 is field 3 (state) of proc(5)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` (all threads), of its live descendants, and of the children
    it has already reaped (cutime/cstime), in seconds."""
    f = _stat_fields(pid)
    ticks = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])  # utime stime cutime cstime
    for child in _descendants(pid):
        try:
            cf = _stat_fields(child)
            ticks += int(cf[11]) + int(cf[12])
        except OSError:
            pass
    return ticks / CLK_TCK


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of `pid` plus that of its live descendants, in MiB. For a
    single process, as all three workers are, this is exactly its peak RSS."""
    total_kib = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
        except OSError:
            pass
    return total_kib / 1024


# ---------------------------------------------------------------------------------------------
# Paths and commands


@dataclass
class Paths:
    temporal: Path | None
    wasm_worker: Path
    native_worker: Path
    plugins: Path


def find_temporal(explicit: str | None) -> Path | None:
    for candidate in (explicit, os.environ.get("TEMPORAL_CLI"), str(REPO / ".venv/bin/temporal")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    found = shutil.which("temporal")
    return Path(found) if found else None


def check_prerequisites(paths: Paths, workers: list[str]) -> None:
    """Fails before anything starts when a worker or the CLI is missing."""
    problems: list[str] = []
    if paths.temporal is None:
        problems.append(
            "the `temporal` CLI was not found (TEMPORAL_CLI, .venv/bin/temporal, PATH); "
            "`make setup` installs it"
        )
    for name, binary, env in (
        ("wasm", paths.wasm_worker, "WASM_WORKER_BIN"),
        ("native", paths.native_worker, "NATIVE_WORKER_BIN"),
    ):
        if name in workers and not os.access(binary, os.X_OK):
            problems.append(f"the {name} worker binary {binary} is missing ({env}); {BUILD_HINT}")
    if "wasm" in workers and not any(paths.plugins.glob("*.wasm")):
        problems.append(
            f"no bench plugins (*.wasm) in {paths.plugins} (BENCH_PLUGINS); {BUILD_HINT}"
        )
    if problems:
        raise BenchError("\n  ".join(["cannot run the benchmark:", *problems]))


def worker_command(
    worker: str, paths: Paths, address: str, namespace: str, queue: str, metrics_port: int
) -> list[str]:
    # Only a non-default namespace is passed, so the workers need not all accept the flag.
    ns = [] if namespace == "default" else ["--namespace", namespace]
    if worker == "wasm":
        return [
            str(paths.wasm_worker), "run",
            "--address", address, "--task-queue", queue, *ns,
            # A deployment per run: no version or routing state carries over between runs.
            "--deployment-name", queue,
            "--plugins", str(paths.plugins),
            "--metrics-port", str(metrics_port), "--metrics-bind", "127.0.0.1",
            "--log-level", "warn",
        ]  # fmt: skip
    if worker == "native":
        return [str(paths.native_worker), "--address", address, "--task-queue", queue, *ns]
    return [sys.executable, str(PYTHON_WORKER), "--address", address, "--task-queue", queue, *ns]


# ---------------------------------------------------------------------------------------------
# Dev server and readiness


def wait_until(
    check: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise BenchError(
                f"{what} exited ({proc.returncode}) before it was ready:\n{log_tail(log)}"
            )
        if check():
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not ready after {READY_TIMEOUT_S:.0f}s:\n{log_tail(log)}")
        time.sleep(0.2)


def cli_ok(temporal: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    done = subprocess.run(
        [str(temporal), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    return done if done.returncode == 0 else None


def start_dev_server(temporal: Path, logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = logs / "dev-server.log"
    # Headless and in memory (no --db-filename), as the integration tests run it
    # (tests/integration/common/server.rs, which passes no dynamic config: the dev server's
    # defaults already serve worker deployments).
    proc = spawn(
        [
            str(temporal), "server", "start-dev", "--headless",
            "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error",
        ],
        log,
    )  # fmt: skip
    # Listening is not enough: wait until the default namespace answers.
    wait_until(
        lambda: cli_ok(temporal, "operator", "namespace", "describe", "--namespace", "default",
                       "--address", address) is not None,
        proc, f"the dev server on {address}", log,
    )  # fmt: skip
    return proc, address


def has_pollers(temporal: Path, address: str, namespace: str, queue: str) -> bool:
    done = cli_ok(
        temporal, "task-queue", "describe", "--task-queue", queue,
        "--address", address, "--namespace", namespace, "-o", "json",
    )  # fmt: skip
    if done is None:
        return False
    pollers = json.loads(done.stdout).get("pollers") or []
    kinds = {p.get("taskQueueType") for p in pollers}
    return {"workflow", "activity"} <= kinds


def readyz_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# ---------------------------------------------------------------------------------------------
# One worker x workload


@dataclass
class Settings:
    address: str
    namespace: str
    concurrency: int
    warmup: int
    logs: Path
    server_pid: int | None  # the dev server's, when the harness started it


def run_starter(
    s: Settings, queue: str, workload: str, count: int, workflow_timeout_s: int = 300
) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable, str(STARTER),
            "--address", s.address, "--namespace", s.namespace, "--task-queue", queue,
            "--workload", workload, "--count", str(count), "--concurrency", str(s.concurrency),
            "--workflow-timeout", str(workflow_timeout_s),
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
        preexec_fn=_die_with_parent,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BenchError(f"the starter printed no result (exit {done.returncode})")
    return dict(json.loads(lines[-1]))


def run_one(worker: str, workload: str, count: int, paths: Paths, s: Settings) -> dict[str, Any]:
    queue = f"bench-{worker}-{workload}-{secrets.token_hex(3)}"
    metrics_port = free_port()
    log = s.logs / f"{worker}-{workload}.log"
    row: dict[str, Any] = {"worker": worker, "workload": workload, "task_queue": queue}
    row["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    proc = spawn(worker_command(worker, paths, s.address, s.namespace, queue, metrics_port), log)
    try:
        if worker == "wasm":
            wait_until(lambda: readyz_ok(metrics_port), proc, "wasm-worker", log)
        else:
            assert paths.temporal is not None
            temporal = paths.temporal
            wait_until(
                lambda: has_pollers(temporal, s.address, s.namespace, queue),
                proc, f"the {worker} worker", log,
            )  # fmt: skip
        # Warm-up, not measured: first-use costs (connections, the Python sandbox's imports,
        # plugin instantiation, caches) should not count against a worker's steady state. A
        # short workflow timeout makes a worker that never finishes one fail here, fast.
        warm = run_starter(s, queue, workload, s.warmup, workflow_timeout_s=60)
        if warm["failed"] or warm["completed"] != s.warmup:
            raise BenchError(f"warm-up failed ({warm['failed']} of {s.warmup}):\n{log_tail(log)}")

        cpu_before = cpu_seconds(proc.pid)
        # The server's share too: on a small machine it, not the worker, may set the pace.
        server_before = cpu_seconds(s.server_pid) if s.server_pid else None
        result = run_starter(s, queue, workload, count)
        row["cpu_s"] = round(cpu_seconds(proc.pid) - cpu_before, 3)
        if s.server_pid and server_before is not None:
            row["server_cpu_s"] = round(cpu_seconds(s.server_pid) - server_before, 3)
        # VmHWM is the peak over the worker's life, warm-up included: read it before the stop.
        row["peak_rss_mib"] = round(peak_rss_mib(proc.pid), 1)
    finally:
        row["exit_code"] = stop(proc)
    row.update(result)
    completed = result["completed"]
    row["workflows_per_s"] = round(completed / result["wall_s"], 2) if result["wall_s"] else None
    row["cpu_s_per_1k"] = round(row["cpu_s"] * 1000 / completed, 3) if completed else None
    if row["exit_code"] != 0:
        print(
            f"  note: the {worker} worker exited with {row['exit_code']} after SIGTERM "
            f"(None = killed after {STOP_TIMEOUT_S:.0f}s); see {log}",
            file=sys.stderr,
        )
    return row


# ---------------------------------------------------------------------------------------------
# Figures, table, chart

# (key in a result row, column heading, number format)
METRICS: list[tuple[str, str, str]] = [
    ("workflows_per_s", "workflows/s", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.0f}"),
    ("p99_ms", "p99 ms", "{:.0f}"),
    ("cpu_s_per_1k", "CPU s/1k wf", "{:.2f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.1f}"),
]


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each figure divided by the baseline worker's figure for the same workload."""
    for row in rows:
        if "latency_ms" in row:
            row["p50_ms"] = row["latency_ms"]["p50"]
            row["p99_ms"] = row["latency_ms"]["p99"]
    base = {r["workload"]: r for r in rows if r["worker"] == BASELINE and "error" not in r}
    for row in rows:
        ref = base.get(row["workload"])
        ratios: dict[str, float | None] = {}
        for key, _, _ in METRICS:
            v, b = row.get(key), (ref or {}).get(key)
            ratios[key] = round(v / b, 3) if v is not None and b else None
        row["vs_" + BASELINE] = ratios


def format_table(rows: list[dict[str, Any]]) -> str:
    head = ["workload", "worker", "done", *(title for _, title, _ in METRICS)]
    body: list[list[str]] = []
    for row in rows:
        if "error" in row:
            body.append([row["workload"], row["worker"], "error", *([""] * len(METRICS))])
            continue
        cells = [row["workload"], row["worker"], f"{row['completed']}/{row['count']}"]
        for key, _, fmt in METRICS:
            v, ratio = row.get(key), row["vs_" + BASELINE][key]
            text = "-" if v is None else fmt.format(v)
            text += f" ×{ratio:.2f}" if ratio is not None else ""
            cells.append(text)
        body.append(cells)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        # Text columns left-aligned, figures right-aligned so the ratios line up.
        padded = (
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, body)])


def write_chart(rows: list[dict[str, Any]], path: Path, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in rows)]
    workers = [w for w in WORKERS if any(r["worker"] == w for r in rows)]
    colors = {"wasm": "#654ff0", "native": "#dea584", "python": "#3776ab"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = [
        ("cpu_s_per_1k", "worker CPU s per 1,000 workflows (lower is better)"),
        ("workflows_per_s", "workflows/s (higher is better)"),
    ]
    width = 0.8 / max(1, len(workers))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for j, worker in enumerate(workers):
            xs, ys = [], []
            for i, workload in enumerate(workloads):
                row = next(
                    (r for r in rows if r["worker"] == worker and r["workload"] == workload), None
                )
                if row and row.get(key) is not None:
                    xs.append(i + (j - (len(workers) - 1) / 2) * width)
                    ys.append(row[key])
            bars = ax.bar(xs, ys, width, label=worker, color=colors.get(worker))
            ax.bar_label(bars, fmt="%.3g", fontsize=8, padding=2)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(workloads)), workloads)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"wasm-worker benchmark — {subtitle}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine_info(temporal: Path | None) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import temporalio

        sdk: str | None = temporalio.__version__
    except ImportError:
        sdk = None
    server = cli_ok(temporal, "--version") if temporal else None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "temporalio": sdk,
        "temporal_cli": server.stdout.strip() if server else None,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    cache = Path.home() / ".cache" / "wasm-worker"
    target = Path(os.environ.get("CARGO_TARGET_DIR", cache / "target"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--address", help="use this Temporal server (host:port) instead of starting a dev server"
    )
    p.add_argument("--namespace", default="default", help="(default: default)")
    p.add_argument(
        "--workers",
        default=",".join(WORKERS),
        help=f"comma-separated (default: {','.join(WORKERS)})",
    )
    p.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated (default: {','.join(WORKLOADS)})",
    )
    p.add_argument(
        "--count",
        type=int,
        default=2000,
        help="hello workflows; fanout runs count/10 and sequential count/4 (default: 2000)",
    )
    p.add_argument("--count-hello", type=int, metavar="N", help="overrides --count for hello")
    p.add_argument("--count-fanout", type=int, metavar="N", help="overrides count/10 for fanout")
    p.add_argument(
        "--count-sequential", type=int, metavar="N", help="overrides count/4 for sequential"
    )
    p.add_argument(
        "--concurrency", type=int, default=50, help="workflows in flight at once (default: 50)"
    )
    p.add_argument(
        "--warmup", type=int, default=20, help="unmeasured workflows before each run (default: 20)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=BENCH / "results",
        help="results folder (default: bench/results)",
    )
    p.add_argument(
        "--temporal",
        metavar="PATH",
        help="temporal CLI (default: $TEMPORAL_CLI, else .venv/bin/temporal, else PATH)",
    )
    p.add_argument(
        "--wasm-worker-bin",
        type=Path,
        metavar="PATH",
        default=Path(os.environ.get("WASM_WORKER_BIN", target / "release" / "wasm-worker")),
        help="(default: $WASM_WORKER_BIN, else $CARGO_TARGET_DIR/release/wasm-worker)",
    )
    p.add_argument(
        "--native-worker-bin",
        type=Path,
        metavar="PATH",
        default=Path(
            os.environ.get("NATIVE_WORKER_BIN", target / "release" / "bench-native-worker")
        ),
        help="(default: $NATIVE_WORKER_BIN, else $CARGO_TARGET_DIR/release/bench-native-worker)",
    )
    p.add_argument(
        "--plugins",
        type=Path,
        metavar="DIR",
        default=Path(os.environ.get("BENCH_PLUGINS", REPO / "dist" / "bench-plugins")),
        help="wasm-worker's bench plugins (default: $BENCH_PLUGINS, else dist/bench-plugins)",
    )
    args = p.parse_args()

    def subset(value: str, allowed: tuple[str, ...], flag: str) -> list[str]:
        chosen = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in chosen if v not in allowed]
        if unknown or not chosen:
            p.error(f"{flag}: choose from {','.join(allowed)} (got {value!r})")
        return [v for v in allowed if v in chosen]  # canonical order

    args.workers = subset(args.workers, WORKERS, "--workers")
    args.workloads = subset(args.workloads, WORKLOADS, "--workloads")
    args.counts = {
        "hello": args.count_hello or args.count,
        "fanout": args.count_fanout or max(1, args.count // 10),
        "sequential": args.count_sequential or max(1, args.count // 4),
    }
    if min(args.counts.values()) < 1 or args.concurrency < 1 or args.warmup < 1:
        p.error("counts, --concurrency and --warmup must be at least 1")
    return args


def cells(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    # Workload-major: the workers compared on one workload run back to back, on a server in
    # about the same state (its in-memory store grows with every run).
    for workload in args.workloads:
        for worker in args.workers:
            yield worker, workload


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    paths = Paths(
        temporal=find_temporal(args.temporal),
        wasm_worker=args.wasm_worker_bin,
        native_worker=args.native_worker_bin,
        plugins=args.plugins,
    )
    check_prerequisites(paths, args.workers)
    assert paths.temporal is not None
    args.out.mkdir(parents=True, exist_ok=True)
    logs = args.out / "logs"
    logs.mkdir(exist_ok=True)

    # SIGTERM (e.g. from make or CI) unwinds like Ctrl-C, so every `finally` stops its process.
    signal.signal(signal.SIGTERM, _interrupt)

    server: subprocess.Popen[bytes] | None = None
    rows: list[dict[str, Any]] = []
    try:
        if args.address:
            address = args.address
        else:
            server, address = start_dev_server(paths.temporal, logs)
            print(f"dev server on {address}", file=sys.stderr)
        settings = Settings(
            address, args.namespace, args.concurrency, args.warmup, logs,
            server.pid if server else None,
        )  # fmt: skip
        for worker, workload in cells(args):
            count = args.counts[workload]
            print(f"{workload:<10} {worker:<6} {count} workflows ...", file=sys.stderr, flush=True)
            try:
                row = run_one(worker, workload, count, paths, settings)
            except BenchError as e:
                # One broken worker should not cost the other figures: record it, go on.
                print(f"  error: {e}", file=sys.stderr)
                row = {"worker": worker, "workload": workload, "count": count, "error": str(e)}
            rows.append(row)
    finally:
        if server is not None:
            stop(server, timeout=15)

    add_ratios(rows)
    info = machine_info(paths.temporal)
    config = {
        "address": args.address or "dev server (started by run.py)",
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "counts": {w: args.counts[w] for w in args.workloads},
        "baseline": BASELINE,
        "commands": {
            w: " ".join(worker_command(w, paths, "ADDRESS", args.namespace, "QUEUE", 0))
            for w in args.workers
        },
    }
    (args.out / "results.json").write_text(
        json.dumps({"machine": info, "config": config, "results": rows}, indent=2) + "\n"
    )
    written = [args.out / "results.json"]
    measured = [r for r in rows if "error" not in r]
    if measured:
        subtitle = f"{info['nproc']} CPUs, {info['cpu_model']}, {info['date'][:10]}"
        write_chart(measured, args.out / "chart.png", subtitle)
        written.append(args.out / "chart.png")

    print()
    print(format_table(rows))
    print(f"\n×N = this worker's figure / the {BASELINE} worker's, same workload.")
    print("wrote " + " and ".join(map(str, written)))
    bad = [r for r in rows if "error" in r or r.get("failed")]
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        sys.exit(130)
