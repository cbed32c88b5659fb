// The workflow both builds share; `VERSION` (1 or 2) is the difference, as an edit would be.

wit_bindgen::generate!({
    world: "versioned-workflow",
    path: "../versioned-workflow/wit",
    generate_all,
});

use example::hello_activity::greetings::greet_activity;
use exports::test::versioned_workflow::workflows::{Guest, Outcome, Request};
use wasm_worker::workflow::workflow as wf;

struct Workflows;

fn status(text: &str) {
    wf::set_query_result("status", &format!("\"{text}\""));
}

impl Guest for Workflows {
    fn greet_twice(request: Request) -> Outcome {
        // v2's change comes before a point runs of v1 may be waiting at: without the patch a
        // v1 run upgraded to v2 would replay a timer where its history has an activity.
        let path = if VERSION == 1 {
            "v1"
        } else if wf::patched("pause-first") {
            wf::sleep(10);
            "patched"
        } else {
            "unpatched"
        };
        status("greeting");
        let first = greet_activity(&request.name);
        if request.wait_for_go {
            status("waiting");
            wf::wait_signal("go");
        }
        let second = greet_activity(&format!("{} again", request.name));
        status("done");
        Outcome {
            path: path.to_string(),
            greetings: vec![first, second],
        }
    }
}

export!(Workflows);
