//! The order-fulfilment workflow of `plugins/fulfilment`, in Rust. Python
//! (`plugins/python-workflow/app.py`) and JavaScript (`plugins/js-workflow/src/workflow.js`)
//! have the same workflow, step for step, and give the same result.

use crate::example::c_activity::checksums::checksum;
use crate::example::fulfilment::records::{Approval, Fulfilment, FulfilmentRequest};
use crate::example::fulfilment::signals::approve;
use crate::example::python_activity::documents::validate_document;
use crate::wasm_worker::workflow::workflow as wf;
use crate::{json_string, one_attempt, status};

/// What every customer is told (js-activity's template syntax).
const NOTICE: &str = "Dear {{name}}, order {{crc}} is confirmed.";

pub fn run(request: FulfilmentRequest) -> Result<Fulfilment, String> {
    // Python: is the order a JSON object with the fields it needs?
    status("validating");
    wf::next_call_options(&one_attempt());
    let required = ["id".to_string(), "lines".to_string()];
    let report = validate_document(&request.order, &required)
        .map_err(|e| format!("the order is refused: {e}"))?;
    if !report.valid {
        return Err(format!("the order lacks {}", report.missing.join(", ")));
    }

    // C: its checksum, a typed call with a `list<u8>` argument.
    status("checksumming");
    let digest = checksum(request.order.as_bytes());
    let crc = format!("{:08x}", digest.crc32);

    // JavaScript, fanned out: every notice is scheduled before any is awaited.
    status("notifying");
    let handles: Vec<u32> = request
        .customers
        .iter()
        .map(|name| {
            let values = serde_json::json!([["name", name], ["crc", crc]]);
            wf::start_activity(
                "render_template",
                &[json_string(NOTICE), values.to_string()],
                Some(&one_attempt()),
            )
        })
        .collect();
    wf::await_all(&handles);
    let mut notices = Vec::with_capacity(handles.len());
    for h in handles {
        let json = wf::activity_result(h).map_err(|f| format!("render_template: {}", f.message))?;
        let rendered: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| format!("render_template: {e}"))?;
        notices.push(rendered["text"].as_str().unwrap_or_default().to_string());
    }

    // The loyalty count runs as a child (it continues as new each round) while this waits.
    let loyalty = wf::start_child(
        "count_rounds",
        &[format!(r#"{{"left":{},"sum":0}}"#, request.loyalty_rounds)],
        None,
    );

    let approval = match request.approver {
        Some(by) => Approval { by, note: None },
        None => {
            // Approval or cancellation, whichever comes first; the signal is typed.
            status("awaiting approval");
            let signal = wf::signal_handle("approve");
            let cancel = wf::cancellation();
            if wf::await_any(&[signal, cancel]) == cancel {
                wf::cancel(loyalty);
                status("cancelled");
                wf::cancelled();
            }
            approve()
        }
    };
    wf::log(
        crate::wasm_worker::workflow::types::Level::Info,
        &format!("order {crc} approved by {}", approval.by),
    );

    status("cooling off");
    wf::sleep(request.cool_off_ms);
    let total = wf::activity_result(loyalty).map_err(|f| format!("loyalty: {}", f.message))?;
    status("done");
    Ok(Fulfilment {
        fields: report.fields,
        crc32: digest.crc32,
        notices,
        loyalty: total.parse().map_err(|e| format!("loyalty {total}: {e}"))?,
        approval,
        decided_at_ms: wf::now_ms(),
    })
}
