"""The benchmark's Python worker: the three bench workflows and `greet_activity` on the
`temporalio` SDK, with the same type names, inputs and results as the wasm and native workers.

    python bench/python/worker.py --address 127.0.0.1:7233 --task-queue Q [--namespace default]

Runs until SIGTERM or SIGINT, then shuts the worker down and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

# Same limits as the Rust workers (wasm-worker's defaults), so no worker wins on slot count.
MAX_CONCURRENT = 100
ACTIVITY_TIMEOUT = timedelta(seconds=30)


# An async activity runs on the worker's event loop: no thread pool hop per call, which is the
# faster and idiomatic choice for work that does not block.
@activity.defn(name="greet_activity")
async def greet_activity(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn(name="GreetingWorkflow")
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet_activity, name, start_to_close_timeout=ACTIVITY_TIMEOUT
        )


@workflow.defn(name="FanOutWorkflow")
class FanOutWorkflow:
    @workflow.run
    async def run(self, n: int = 50) -> int:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(
                    greet_activity, f"item-{i}", start_to_close_timeout=ACTIVITY_TIMEOUT
                )
                for i in range(n)
            )
        )
        return len(results)


@workflow.defn(name="SequentialWorkflow")
class SequentialWorkflow:
    @workflow.run
    async def run(self, n: int = 20) -> int:
        for i in range(n):
            await workflow.execute_activity(
                greet_activity, f"step-{i}", start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        return n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True, help="Temporal frontend, host:port")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()

    # Install the handlers before connecting, so a SIGTERM during start-up also exits cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    client = await Client.connect(args.address, namespace=args.namespace)
    # The default (sandboxed) workflow runner: what a Python user of the SDK gets.
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[GreetingWorkflow, FanOutWorkflow, SequentialWorkflow],
        activities=[greet_activity],
        max_concurrent_activities=MAX_CONCURRENT,
        max_concurrent_workflow_tasks=MAX_CONCURRENT,
    )
    # Leaving the block shuts the worker down (stops polling, waits for its tasks).
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
    # Skip interpreter teardown: the SDK's Rust threads can outlive it and abort the process
    # in finalization ("PyGILState_Release: thread state ... must be current", SIGABRT; known
    # upstream as temporalio/sdk-python#300). The worker has shut down by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
