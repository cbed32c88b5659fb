"""Soak: the release wasm-worker under steady load for `--minutes` (default 10), with
`--swaps` (default 100) hot swaps during it (a plugin added, then removed, and so on), while
its RSS and open file descriptors are sampled every second.

    ~/.cache/wasm-worker/venv-bench/bin/python bench/soak.py [--minutes 10] [--swaps 100]

Pass/fail: every started workflow completes (zero failed), every swap reaches a new current
build. Writes bench/results/soak.json and soak.png (RSS and FDs over time, swaps marked) and
prints the figures (started/completed/failed, RSS and FDs at start, after the swaps and at the
end).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402
import swap_latency  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--swaps", type=int, default=100)
    p.add_argument("--batch", type=int, default=200, help="workflows per starter run")
    p.add_argument("--concurrency", type=int, default=10)
    args = p.parse_args()
    target = Path(
        os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "wasm-worker" / "target")
    )
    wasm = Path(os.environ.get("WASM_WORKER_BIN", target / "release" / "wasm-worker"))
    plugins = Path(os.environ.get("BENCH_PLUGINS", bench.REPO / "dist" / "bench-plugins"))
    temporal = bench.find_temporal(None)
    bench.check_prerequisites(bench.Paths(temporal, wasm, Path("/nonexistent"), plugins), ["wasm"])
    assert temporal is not None
    out = bench.BENCH / "results"
    out.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="soak-"))
    server, address = bench.start_dev_server(temporal, logs)
    folder = Path(tempfile.mkdtemp(prefix="soak-plugins-"))
    for f in ("hello_activity.wasm", "greeting_workflow.wasm"):
        shutil.copyfile(plugins / f, folder / f)
    queue = "soak"
    port = bench.free_port()
    host = bench.spawn(
        [
            str(wasm), "run", "--address", address, "--task-queue", queue,
            "--deployment-name", queue, "--plugins", str(folder),
            "--metrics-port", str(port), "--metrics-bind", "127.0.0.1",
            "--log-level", "warn", "--drain-limit", "5s",
        ],
        logs / "host.log",
    )  # fmt: skip
    samples: list[tuple[float, float, int]] = []
    swap_times: list[float] = []
    totals = {"started": 0, "completed": 0, "failed": 0}
    stop = threading.Event()
    t0 = time.monotonic()
    try:
        bench.wait_until(lambda: bench.readyz_ok(port), host, "wasm-worker", logs / "host.log")

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.monotonic() - t0, rss_mib(host.pid), fds(host.pid)))
                time.sleep(1.0)

        def load() -> None:
            while not stop.is_set():
                done = subprocess.run(
                    [sys.executable, str(bench.STARTER), "--address", address,
                     "--task-queue", queue, "--workload", "hello",
                     "--count", str(args.batch), "--concurrency", str(args.concurrency)],
                    capture_output=True, text=True,
                )  # fmt: skip
                try:
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                except (IndexError, json.JSONDecodeError):
                    totals["failed"] += args.batch
                    print(f"starter failed: {done.stderr[-2000:]}", file=sys.stderr)
                    continue
                totals["started"] += r["count"]
                totals["completed"] += r["completed"]
                totals["failed"] += r["failed"]

        threads = [threading.Thread(target=sample), threading.Thread(target=load)]
        for t in threads:
            t.start()
        extra = plugins / "bench_workflows.wasm"
        build = swap_latency.current(port)
        for i in range(args.swaps):
            if i % 2 == 0:
                swap_latency.publish(extra, folder, "bench_workflows.wasm")
            else:
                (folder / "bench_workflows.wasm").unlink()
            build, _ = swap_latency.wait_current_change(port, build)
            swap_times.append(time.monotonic() - t0)
        after_swaps = samples[-1] if samples else (0.0, 0.0, 0)
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
    finally:
        stop.set()
        bench.stop(host)
        bench.stop(server)
    first, last = samples[min(5, len(samples) - 1)], samples[-1]
    result = {
        "minutes": args.minutes,
        "swaps": len(swap_times),
        "workflows": totals,
        "rss_mib": {"start": first[1], "after_swaps": after_swaps[1], "end": last[1]},
        "fds": {"start": first[2], "after_swaps": after_swaps[2], "end": last[2]},
        "samples": samples,
        "swap_times_s": swap_times,
    }
    (out / "soak.json").write_text(json.dumps(result, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    ts = [s[0] for s in samples]
    ax.plot(ts, [s[1] for s in samples], label="RSS (MiB)")
    ax2 = ax.twinx()
    ax2.plot(ts, [s[2] for s in samples], color="tab:orange", label="open FDs")
    for t in swap_times:
        ax.axvline(t, color="grey", alpha=0.15, linewidth=0.5)
    ax.set_xlabel("seconds (grey lines: swaps)")
    ax.set_ylabel("RSS MiB")
    ax2.set_ylabel("open file descriptors")
    ax.set_title(
        f"wasm-worker soak: {len(swap_times)} swaps, {totals['completed']}/{totals['started']} "
        f"workflows completed, {totals['failed']} failed"
    )
    fig.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "soak.png", dpi=110)
    print(json.dumps({k: v for k, v in result.items() if k not in ("samples", "swap_times_s")}))
    ok = totals["failed"] == 0 and len(swap_times) == args.swaps
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
