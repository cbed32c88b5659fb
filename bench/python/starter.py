"""Starts `--count` bench workflows on a task queue, at most `--concurrency` in flight, waits for
and checks every result, and prints one JSON line:

    {"workload": ..., "count": ..., "completed": ..., "failed": ..., "wall_s": ...,
     "latency_ms": {"p50": ..., "p99": ..., "mean": ...}}

Latency is per workflow, from the start call to its result; percentiles are over the completed
(correct) ones. Errors go to stderr (the first few in full, then a count).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client

# workload -> (workflow type, default n for the count-taking workflows)
WORKFLOWS: dict[str, tuple[str, int | None]] = {
    "hello": ("GreetingWorkflow", None),
    "fanout": ("FanOutWorkflow", 50),
    "sequential": ("SequentialWorkflow", 20),
}
ERRORS_SHOWN = 5


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0

    def fail(self, workflow_id: str, why: str) -> None:
        self.failed += 1
        if self.failed <= ERRORS_SHOWN:
            print(f"starter: {workflow_id}: {why}", file=sys.stderr)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of an ascending list; None when it is empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def input_and_expected(workload: str, i: int, n: int | None) -> tuple[Any, Any]:
    if workload == "hello":
        name = f"w-{i}"
        return name, f"Hello, {name}!"
    assert n is not None
    return n, n


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workflow_type, default_n = WORKFLOWS[args.workload]
    n = args.n if args.n is not None else default_n
    client = await Client.connect(args.address, namespace=args.namespace)
    # A fresh token per run keeps workflow IDs unique even against a long-lived server.
    prefix = f"bench-{args.workload}-{secrets.token_hex(4)}"
    tally = Tally()
    next_index = 0

    async def one(i: int) -> None:
        workflow_id = f"{prefix}-{i}"
        arg, expected = input_and_expected(args.workload, i, n)
        started = time.perf_counter()
        try:
            handle = await client.start_workflow(
                workflow_type,
                arg,
                id=workflow_id,
                task_queue=args.task_queue,
                # Bounds a run against a stuck or broken worker: the server fails the
                # workflow instead of the starter waiting forever.
                execution_timeout=timedelta(seconds=args.workflow_timeout),
            )
            result = await handle.result()
        except Exception as e:  # every failure is counted, whatever its kind
            tally.fail(workflow_id, f"{type(e).__name__}: {e}")
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        if result != expected:
            tally.fail(workflow_id, f"result {result!r}, expected {expected!r}")
            return
        tally.latencies_ms.append(elapsed_ms)

    # `concurrency` lanes pull the next index until none is left: at most that many workflows
    # are in flight, and a new one starts as soon as one finishes.
    async def lane() -> None:
        nonlocal next_index
        while next_index < args.count:
            i = next_index
            next_index += 1
            await one(i)

    wall_started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(args.concurrency, args.count))))
    wall_s = time.perf_counter() - wall_started

    if tally.failed > ERRORS_SHOWN:
        print(f"starter: {tally.failed} workflows failed in all", file=sys.stderr)
    lat = sorted(tally.latencies_ms)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {
        "workload": args.workload,
        "count": args.count,
        "completed": len(lat),
        "failed": tally.failed,
        "wall_s": round(wall_s, 3),
        "latency_ms": {
            "p50": ms(percentile(lat, 0.50)),
            "p99": ms(percentile(lat, 0.99)),
            "mean": ms(sum(lat) / len(lat) if lat else None),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True, help="Temporal frontend, host:port")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--workload", required=True, choices=sorted(WORKFLOWS))
    parser.add_argument("--count", type=int, required=True, help="workflows to run")
    parser.add_argument("--concurrency", type=int, default=50, help="most in flight at once")
    parser.add_argument(
        "--n", type=int, help="activities per fanout/sequential workflow (default 50 / 20)"
    )
    parser.add_argument(
        "--workflow-timeout",
        type=float,
        default=300,
        help="execution timeout of each workflow, seconds (default 300)",
    )
    args = parser.parse_args()
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")

    summary = asyncio.run(run(args))
    print(json.dumps(summary), flush=True)
    # Non-zero when anything failed, so a shell or the harness notices without parsing.
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    code = main()
    # Skip interpreter teardown, which the SDK's Rust threads can abort with SIGABRT
    # ("PyGILState_Release ...", temporalio/sdk-python#300) after the result is printed.
    sys.stderr.flush()
    os._exit(code)
