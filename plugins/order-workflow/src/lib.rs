//! wasm-worker's example WIT-typed workflow, in Rust (wit-bindgen).
//!
//! A workflow here is a plain exported function. Calling `summarize_order` (imported from
//! hello-activity's WIT) schedules that activity and returns its typed result; the host
//! suspends this code while the server works, and on replay runs it again from the start,
//! answering each call from history. So: no clocks, randomness, threads or I/O of its own —
//! `now_ms`, `random` and activities are the deterministic ways out.
//!
//! Build: `cargo build --release --target wasm32-wasip2` (or `make plugins` at the top level).

wit_bindgen::generate!({
    world: "order-workflow",
    path: "wit",
    generate_all,
});

mod fulfil;

use example::fulfilment::records::{Fulfilment, FulfilmentRequest};
use example::hello_activity::orders::summarize_order;
use exports::example::order_workflow::workflows::{Guest, OrderRequest, Receipt, Rounds};
use wasm_worker::workflow::types::{ActivityOptions, Level};
use wasm_worker::workflow::workflow as wf;

struct Workflows;

fn status(text: &str) {
    wf::set_query_result("status", &json_string(text));
}

/// Options for a call whose error is final: one attempt, 10 s to answer.
fn one_attempt() -> ActivityOptions {
    ActivityOptions {
        task_queue: None,
        start_to_close_ms: Some(10_000),
        schedule_to_close_ms: None,
        heartbeat_ms: None,
        max_attempts: Some(1),
        initial_interval_ms: None,
        non_retryable_error_types: Vec::new(),
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

impl Guest for Workflows {
    fn process_order(request: OrderRequest) -> Result<Receipt, String> {
        status("summarizing");
        // An order the activity refuses stays refused: one attempt, not the server's default
        // of retrying for ever.
        wf::next_call_options(&one_attempt());
        let summary = summarize_order(&request.order)?;

        // Fan-out: every greeting scheduled before any is awaited.
        status("greeting customers");
        let handles: Vec<u32> = request
            .customers
            .iter()
            .map(|c| wf::start_activity("greet_activity", &[json_string(c)], None))
            .collect();
        wf::await_all(&handles);
        let mut greetings = Vec::with_capacity(handles.len());
        for h in handles {
            let json = wf::activity_result(h).map_err(|f| f.message)?;
            greetings.push(serde_json::from_str(&json).map_err(|e| e.to_string())?);
        }

        status("awaiting approval");
        let approval = wf::wait_signal("approve");
        let approved_by: String = serde_json::from_str(&approval)
            .map_err(|e| format!("signal approve: expected a JSON string, got {approval}: {e}"))?;
        wf::log(
            Level::Info,
            &format!("order {} approved by {approved_by}", summary.id),
        );

        status("cooling off");
        wf::sleep(request.cool_off_ms);
        status("done");
        Ok(Receipt {
            summary,
            greetings,
            approved_by,
            decided_at_ms: wf::now_ms(),
        })
    }

    fn rust_fulfil_order(request: FulfilmentRequest) -> Result<Fulfilment, String> {
        fulfil::run(request)
    }

    fn count_rounds(progress: Rounds) -> u32 {
        if progress.left == 0 {
            return progress.sum;
        }
        let next = format!(
            r#"{{"left":{},"sum":{}}}"#,
            progress.left - 1,
            progress.sum + progress.left
        );
        wf::continue_as_new(&[next]);
        unreachable!("continue-as-new does not return")
    }

    fn sum_children(rounds: Vec<u32>) -> Result<Vec<u32>, String> {
        let children: Vec<u32> = rounds
            .iter()
            .map(|n| {
                wf::start_child(
                    "count_rounds",
                    &[format!(r#"{{"left":{n},"sum":0}}"#)],
                    None,
                )
            })
            .collect();
        wf::await_all(&children);
        children
            .into_iter()
            .map(|h| {
                let json = wf::activity_result(h).map_err(|f| f.message)?;
                json.parse()
                    .map_err(|e| format!("child result {json}: {e}"))
            })
            .collect()
    }

    fn wait_or_cancel(ms: u64) -> String {
        // Asking for the cancellation handle means this code decides what a cancel does.
        let cancel = wf::cancellation();
        let timer = wf::start_timer(ms);
        status("waiting");
        if wf::await_any(&[timer, cancel]) == cancel {
            wf::cancel(timer);
            status("cancelled");
            wf::cancelled();
        }
        status("waited");
        "waited".to_string()
    }
}

export!(Workflows);
