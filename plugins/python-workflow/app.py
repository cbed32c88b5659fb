"""wasm-worker's example WIT-typed workflow in Python (componentize-py).

A workflow is a plain exported function. Calling `documents.word_stats(...)` (imported from
python-activity's WIT) schedules that activity and returns its typed result; the host
suspends this code while the server works and, on replay, runs it again from the start,
answering each call from history. So: no clocks, randomness, threads or I/O of its own —
`workflow.now_ms()`, `workflow.random()` and activities are the deterministic ways out.

Build with `./build.sh`; the `wit_world` package is generated from `wit/` while building.
"""

import json
from typing import List

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.workflows import Review, ReviewRequest, Rounds
from wit_world.imports import documents, workflow
from wit_world.imports.types import Level

import fulfil
from calls import one_attempt, status


class Workflows(exports.Workflows):
    def review_documents(self, request: ReviewRequest) -> Review:
        # Fan-out: every validation is scheduled before any is awaited.
        status("validating")
        required = json.dumps(request.required)
        handles = [
            workflow.start_activity(
                "validate_document", [json.dumps(doc), required], one_attempt()
            )
            for doc in request.documents
        ]
        workflow.await_all(handles)
        titles = []
        for h in handles:
            try:
                report = json.loads(workflow.activity_result(h))
            except Err as e:
                raise Err(f"validate_document failed: {e.value.message}")
            if report["valid"]:
                titles.append(report.get("title") or "")

        # A typed import: the arguments and the result are WIT values, not JSON.
        status("counting words")
        text = " ".join(
            str(json.loads(doc).get("body", "")) for doc in request.documents
        )
        workflow.next_call_options(one_attempt())
        stats = documents.word_stats(text, 3)

        approved_by = request.approver
        if approved_by is None:
            # Approval or cancellation, whichever comes first.
            status("awaiting approval")
            approval = workflow.signal_handle("approve")
            cancel = workflow.cancellation()
            if workflow.await_any([approval, cancel]) == cancel:
                status("cancelled")
                workflow.cancelled()
            approved_by = json.loads(workflow.wait_signal("approve"))
        workflow.log(Level.INFO, f"review approved by {approved_by}")

        status("cooling off")
        workflow.sleep(request.cool_off_ms)
        status("done")
        return Review(
            valid=len(titles),
            titles=titles,
            stats=stats,
            approved_by=str(approved_by),
            decided_at_ms=workflow.now_ms(),
        )

    def python_fulfil_order(self, request):
        return fulfil.fulfil(request)

    def review_batches(self, requests: List[ReviewRequest]) -> List[int]:
        children = [
            workflow.start_child(
                "review_documents",
                [
                    json.dumps(
                        {
                            "documents": r.documents,
                            "required": r.required,
                            "cool-off-ms": r.cool_off_ms,
                            "approver": "batch",
                        }
                    )
                ],
                None,
            )
            for r in requests
        ]
        workflow.await_all(children)
        valid = []
        for h in children:
            try:
                valid.append(json.loads(workflow.activity_result(h))["valid"])
            except Err as e:
                raise Err(f"a child review failed: {e.value.message}")
        return valid

    def sum_rounds(self, progress: Rounds) -> int:
        if progress.left == 0:
            return progress.sum
        workflow.continue_as_new(
            [json.dumps({"left": progress.left - 1, "sum": progress.sum + progress.left})]
        )
        raise AssertionError("continue-as-new does not return")
