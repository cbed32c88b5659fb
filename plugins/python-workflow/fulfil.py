"""The order-fulfilment workflow of plugins/fulfilment, in Python. Rust
(plugins/order-workflow/src/fulfil.rs) and JavaScript (plugins/js-workflow/src/workflow.js)
have the same workflow, step for step, and give the same result."""

import json

from componentize_py_types import Err
from wit_world.imports import checksums, documents, signals, workflow
from wit_world.imports.records import Approval, Fulfilment, FulfilmentRequest
from wit_world.imports.types import Level

from calls import one_attempt, status

# What every customer is told (js-activity's template syntax).
NOTICE = "Dear {{name}}, order {{crc}} is confirmed."


def fulfil(request: FulfilmentRequest) -> Fulfilment:
    # Python: is the order a JSON object with the fields it needs?
    status("validating")
    workflow.next_call_options(one_attempt())
    try:
        report = documents.validate_document(request.order, ["id", "lines"])
    except Err as e:
        raise Err(f"the order is refused: {e.value}")
    if not report.valid:
        raise Err(f"the order lacks {', '.join(report.missing)}")

    # C: its checksum, a typed call with a `list<u8>` argument.
    status("checksumming")
    digest = checksums.checksum(request.order.encode())
    crc = f"{digest.crc32:08x}"

    # JavaScript, fanned out: every notice is scheduled before any is awaited.
    status("notifying")
    handles = [
        workflow.start_activity(
            "render_template",
            [json.dumps(NOTICE), json.dumps([["name", name], ["crc", crc]])],
            one_attempt(),
        )
        for name in request.customers
    ]
    workflow.await_all(handles)
    notices = []
    for h in handles:
        try:
            notices.append(json.loads(workflow.activity_result(h))["text"])
        except Err as e:
            raise Err(f"render_template: {e.value.message}")

    # The loyalty count runs as a child (it continues as new each round) while this waits.
    loyalty = workflow.start_child(
        "sum_rounds", [json.dumps({"left": request.loyalty_rounds, "sum": 0})], None
    )

    if request.approver is not None:
        approval = Approval(by=request.approver, note=None)
    else:
        # Approval or cancellation, whichever comes first; the signal is typed.
        status("awaiting approval")
        signal = workflow.signal_handle("approve")
        cancel = workflow.cancellation()
        if workflow.await_any([signal, cancel]) == cancel:
            workflow.cancel(loyalty)
            status("cancelled")
            workflow.cancelled()
        approval = signals.approve()
    workflow.log(Level.INFO, f"order {crc} approved by {approval.by}")

    status("cooling off")
    workflow.sleep(request.cool_off_ms)
    try:
        total = json.loads(workflow.activity_result(loyalty))
    except Err as e:
        raise Err(f"loyalty: {e.value.message}")
    status("done")
    return Fulfilment(
        fields=report.fields,
        crc32=digest.crc32,
        notices=notices,
        loyalty=total,
        approval=approval,
        decided_at_ms=workflow.now_ms(),
    )
