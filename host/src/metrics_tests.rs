//! Unit tests of the host metrics.

use super::*;

#[test]
fn client_chosen_type_names_get_a_bounded_number_of_series() {
    let m = HostMetrics::new();
    for i in 0..2 * UNKNOWN_TYPE_SERIES {
        m.unknown_type("workflow", &format!("Random{i}"));
    }
    m.unknown_type("workflow", "Random0");
    let text = m.render();
    let series = text
        .lines()
        .filter(|l| l.starts_with("wasm_worker_unknown_type_tasks_total{"))
        .count();
    assert_eq!(
        series,
        UNKNOWN_TYPE_SERIES + 1,
        "the named ones and `other`"
    );
    assert!(text.contains(&format!(
        "wasm_worker_unknown_type_tasks_total{{kind=\"workflow\",type=\"other\"}} {UNKNOWN_TYPE_SERIES}"
    )));
    assert!(
        text.contains("wasm_worker_unknown_type_tasks_total{kind=\"workflow\",type=\"Random0\"} 2")
    );
}
