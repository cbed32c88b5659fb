//! Unit tests of [`super`]: the shared state of a WIT-typed run, without a server.

use super::*;
use crate::manifest::ActivityOptions;

#[test]
fn the_random_sequence_depends_only_on_the_seed() {
    let mut a = Shared::new(RunInfo::default(), 7);
    let mut b = Shared::new(RunInfo::default(), 7);
    let mut c = Shared::new(RunInfo::default(), 8);
    let sa: Vec<u64> = (0..4).map(|_| a.random()).collect();
    let sb: Vec<u64> = (0..4).map(|_| b.random()).collect();
    let sc: Vec<u64> = (0..4).map(|_| c.random()).collect();
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
    assert_ne!(sa[0], sa[1]);
}

#[test]
fn waiting_on_what_has_not_ended_marks_the_run_blocked() {
    let mut s = Shared::new(RunInfo::default(), 1);
    let h = s.start_timer(Duration::from_secs(1));
    assert!(s.is_known(h) && !s.is_known(h + 1));
    assert!(!s.is_done(h));
    assert!(s.blocked);
    s.blocked = false;
    s.resolve(h, Done::Value(None));
    assert_eq!(s.outcome(h), Some(Done::Value(None)));
    assert!(!s.blocked);
    assert_eq!(s.take_signal("go"), None);
    assert!(s.blocked);
    s.signal("go", None);
    s.signal("go", Some(Payload::default()));
    assert_eq!(s.take_signal("go"), Some(None));
    assert_eq!(s.take_signal("go"), Some(Some(Payload::default())));
}

#[test]
fn cancelling_a_timer_resolves_it_and_a_handled_cancellation_wakes_its_handle() {
    let mut s = Shared::new(RunInfo::default(), 1);
    let timer = s.start_timer(Duration::from_secs(60));
    let activity = s.schedule_activity("a", vec![], ActivityOptions::default());
    s.commands.clear();
    s.cancel(timer);
    s.cancel(activity);
    assert!(matches!(s.outcome(timer), Some(Done::Failed { .. })));
    assert_eq!(
        s.outcome(activity),
        None,
        "an activity waits for the server's word"
    );
    assert_eq!(s.commands.len(), 2, "{:?}", s.commands);
    s.cancel(timer);
    assert_eq!(s.commands.len(), 2, "a done handle is not cancelled twice");

    // Without a cancellation handle, a request ends the run; with one, it wakes it.
    assert!(!Shared::new(RunInfo::default(), 1).request_cancel());
    let h = s.cancellation();
    assert_eq!(s.cancellation(), h);
    assert!(!s.is_done(h));
    assert!(s.request_cancel());
    assert!(s.is_done(h));
    // Asked for after the request: done at once.
    let mut late = Shared::new(RunInfo::default(), 1);
    assert!(!late.request_cancel());
    let h = late.cancellation();
    assert!(late.is_done(h));
}

#[test]
fn a_calls_own_options_win_over_the_manifest_field_by_field() {
    let defaults = ActivityOptions {
        task_queue: Some("orders".into()),
        start_to_close: Some(Duration::from_secs(30)),
        max_attempts: Some(3),
        non_retryable_error_types: vec!["PluginError".into()],
        ..Default::default()
    };
    let own = ActivityOptions {
        max_attempts: Some(1),
        ..Default::default()
    };
    let merged = own.over(&defaults);
    assert_eq!(merged.max_attempts, Some(1));
    assert_eq!(merged.task_queue.as_deref(), Some("orders"));
    assert_eq!(merged.start_to_close, Some(Duration::from_secs(30)));
    assert_eq!(merged.non_retryable_error_types, ["PluginError"]);
    assert_eq!(
        ActivityOptions::default().over(&ActivityOptions::default()),
        ActivityOptions::default()
    );
}

#[test]
fn an_activity_without_timeouts_gets_the_default_start_to_close() {
    let mut s = Shared::new(
        RunInfo {
            task_queue: "q".into(),
            ..Default::default()
        },
        1,
    );
    let h = s.schedule_activity("greet", vec![], ActivityOptions::default());
    let Some(temporalio_common::protos::coresdk::workflow_commands::workflow_command::Variant::ScheduleActivity(a)) =
        &s.commands[0].variant
    else {
        panic!("not an activity: {:?}", s.commands[0]);
    };
    assert_eq!(a.seq, h);
    assert_eq!(a.task_queue, "q");
    assert_eq!(
        a.start_to_close_timeout,
        Some(duration(DEFAULT_START_TO_CLOSE))
    );
    assert!(a.retry_policy.is_none());
}

#[test]
fn a_signal_handle_is_done_once_a_signal_of_its_name_is_queued() {
    let mut s = Shared::new(RunInfo::default(), 1);
    let h = s.signal_handle("approve");
    let timer = s.start_timer(Duration::from_secs(60));
    assert!(!s.is_done(h));
    s.signal("other", None);
    assert!(!s.is_done(h));
    s.signal("approve", None);
    assert!(s.is_done(h));
    assert!(!s.is_done(timer));
    // Queued already: done at once, and taking the signal does not wait.
    let again = s.signal_handle("approve");
    assert!(s.is_done(again));
    s.blocked = false;
    assert_eq!(s.take_signal("approve"), Some(None));
    assert!(!s.blocked);
}

#[test]
fn a_patch_is_taken_on_first_execution_or_when_history_has_its_marker() {
    let marker = |s: &Shared| {
        s.commands
            .iter()
            .filter_map(|c| match &c.variant {
                Some(workflow_command::Variant::SetPatchMarker(m)) => {
                    Some((m.patch_id.clone(), m.deprecated))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Executing for the first time: the new path, and one marker however often it is asked.
    let mut fresh = Shared::new(RunInfo::default(), 1);
    assert!(fresh.patched("p", false));
    assert!(fresh.patched("p", false));
    assert_eq!(marker(&fresh), vec![("p".to_string(), false)]);

    // Replaying a history from before the patch: the old path, no marker, and the same
    // answer after replay caught up (the run took the old path once).
    let mut old = Shared::new(RunInfo::default(), 1);
    old.replaying = true;
    assert!(!old.patched("p", false));
    old.replaying = false;
    assert!(!old.patched("p", false));
    assert!(marker(&old).is_empty());

    // Replaying a history with the marker: the new path.
    let mut new = Shared::new(RunInfo::default(), 1);
    new.replaying = true;
    new.notify_patch("p");
    assert!(new.patched("p", true));
    assert!(!new.patched("q", false));
    assert_eq!(marker(&new), vec![("p".to_string(), true)]);
}
