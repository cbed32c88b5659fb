//! Folding core's per-type series into a bounded set before they reach `/metrics`.
//!
//! Core labels several of its `temporal_*` series with the `workflow_type` or
//! `activity_type` of each task, and those names come from whoever starts workflows: 2,000
//! random type names grew the page to 10 MB. Core's registry is private (it keeps those
//! series in memory — a bound we cannot set, documented in `docs/security.md`), but what we
//! serve is ours: a type name no plugin of this host has provided becomes `other`, and the
//! samples that then share a series are summed (counters, histogram buckets, sums and counts
//! all add up correctly).

use std::collections::HashMap;

/// Labels whose values are task type names.
const TYPE_LABELS: [&str; 2] = ["workflow_type", "activity_type"];
/// The value unknown type names are folded into (the host's own series use the same).
pub(super) const OTHER: &str = "other";

/// `text` (Prometheus exposition format) with every type label value for which `known` is
/// false replaced by [`OTHER`], and samples that became the same series summed.
pub(super) fn fold_unknown_types(text: &str, known: impl Fn(&str) -> bool) -> String {
    enum Line<'a> {
        Raw(&'a str),
        Folded(String, f64),
    }
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut folded_at: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let Some((series, value)) = fold_line(line, &known) else {
            lines.push(Line::Raw(line));
            continue;
        };
        match folded_at.get(&series) {
            Some(&i) => {
                if let Line::Folded(_, sum) = &mut lines[i] {
                    *sum += value;
                }
            }
            None => {
                folded_at.insert(series.clone(), lines.len());
                lines.push(Line::Folded(series, value));
            }
        }
    }
    let mut out = String::with_capacity(text.len().min(1 << 20));
    for line in lines {
        match line {
            Line::Raw(l) => out.push_str(l),
            Line::Folded(series, value) => {
                out.push_str(&series);
                out.push(' ');
                out.push_str(&value.to_string());
            }
        }
        out.push('\n');
    }
    out
}

/// For a sample line carrying an unknown type name: the series with that name replaced, and
/// the value. `None` for comments, other samples and anything that does not parse (passed
/// through untouched).
fn fold_line(line: &str, known: &impl Fn(&str) -> bool) -> Option<(String, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let open = line.find('{')?;
    let close = label_block_end(line, open)?;
    let labels = parse_labels(&line[open + 1..close])?;
    if !labels
        .iter()
        .any(|(k, v)| TYPE_LABELS.contains(k) && !known(&unescape(v)))
    {
        return None;
    }
    // The value; a timestamp after it (core writes none) is dropped with the fold.
    let value: f64 = line[close + 1..].split_whitespace().next()?.parse().ok()?;
    let mut series = String::with_capacity(close + 8);
    series.push_str(&line[..=open]);
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            series.push(',');
        }
        let v = if TYPE_LABELS.contains(k) && !known(&unescape(v)) {
            OTHER
        } else {
            v
        };
        series.push_str(k);
        series.push_str("=\"");
        series.push_str(v);
        series.push('"');
    }
    series.push('}');
    Some((series, value))
}

/// The index of the `}` closing the label block opened at `open`, skipping quoted values.
fn label_block_end(line: &str, open: usize) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '}' if !in_quotes => return Some(open + i),
            _ => {}
        }
    }
    None
}

/// `k="v",k2="v2"` → pairs, values still escaped.
fn parse_labels(block: &str) -> Option<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    let mut rest = block.trim_start_matches(',');
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        let after = rest[eq + 1..].strip_prefix('"')?;
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end?;
        out.push((key, &after[..end]));
        rest = after[end + 1..].trim_start_matches(',').trim_start();
    }
    Some(out)
}

/// A label value as written (`\\`, `\"`, `\n` escaped) → the name.
fn unescape(v: &str) -> String {
    if !v.contains('\\') {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORE: &str = "\
# HELP temporal_workflow_completed Count of successfully completed workflows
# TYPE temporal_workflow_completed counter
temporal_workflow_completed{namespace=\"default\",workflow_type=\"Greeting\"} 3
temporal_workflow_completed{namespace=\"default\",workflow_type=\"rnd-1\"} 1
temporal_workflow_completed{namespace=\"default\",workflow_type=\"rnd-2\"} 2
# TYPE temporal_activity_execution_latency histogram
temporal_activity_execution_latency_bucket{activity_type=\"x\\\"y\",le=\"0.1\"} 4
temporal_activity_execution_latency_bucket{activity_type=\"z,}\",le=\"0.1\"} 5
temporal_activity_execution_latency_bucket{activity_type=\"greet\",le=\"0.1\"} 7
temporal_request{operation=\"Poll\"} 9
";

    #[test]
    fn unknown_type_names_fold_into_other_and_their_samples_add_up() {
        let out = fold_unknown_types(CORE, |name| name == "Greeting" || name == "greet");
        let expected = "\
# HELP temporal_workflow_completed Count of successfully completed workflows
# TYPE temporal_workflow_completed counter
temporal_workflow_completed{namespace=\"default\",workflow_type=\"Greeting\"} 3
temporal_workflow_completed{namespace=\"default\",workflow_type=\"other\"} 3
# TYPE temporal_activity_execution_latency histogram
temporal_activity_execution_latency_bucket{activity_type=\"other\",le=\"0.1\"} 9
temporal_activity_execution_latency_bucket{activity_type=\"greet\",le=\"0.1\"} 7
temporal_request{operation=\"Poll\"} 9
";
        assert_eq!(out, expected);
    }

    #[test]
    fn thousands_of_client_chosen_names_leave_one_series() {
        let text: String = (0..5000)
            .map(|i| format!("temporal_workflow_failed{{workflow_type=\"t{i}\"}} 1\n"))
            .collect();
        let out = fold_unknown_types(&text, |_| false);
        assert_eq!(
            out,
            "temporal_workflow_failed{workflow_type=\"other\"} 5000\n"
        );
    }

    #[test]
    fn escaped_names_are_compared_unescaped() {
        let out = fold_unknown_types("m{workflow_type=\"a\\\\b\"} 1\n", |n| n == "a\\b");
        assert_eq!(out, "m{workflow_type=\"a\\\\b\"} 1\n");
    }
}
