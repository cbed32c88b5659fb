"""What both workflow modules use: the query `status`, and options for a call whose error is
final."""

import json

from wit_world.imports import workflow
from wit_world.imports.types import ActivityOptions


def status(text: str) -> None:
    workflow.set_query_result("status", json.dumps(text))


def one_attempt() -> ActivityOptions:
    """Options for a call whose error is final: one attempt, 10 s to answer."""
    return ActivityOptions(
        task_queue=None,
        start_to_close_ms=10_000,
        schedule_to_close_ms=None,
        heartbeat_ms=None,
        max_attempts=1,
        initial_interval_ms=None,
        non_retryable_error_types=[],
    )
