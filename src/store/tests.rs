use std::sync::Arc;

use super::record::{Attrs, ResourceRecord, SpanRecord};
use super::*;
use crate::model::{Outcome, StatusCode};
use crate::semconv::{self, SpanInput, Value};

fn span(trace: u8, id: u8, parent: Option<u8>, attrs: &[(&str, Value)], error: bool) -> SpanRecord {
    let no_res: &[(&str, Value)] = &[("service.name", Value::Str("svc"))];
    let events: Vec<(&str, &[(&str, Value)])> = Vec::new();
    let facts = semconv::map_span(SpanInput { name: "s", is_error: error, attrs, resource: no_res }, events);
    SpanRecord {
        trace_id: [trace; 16],
        span_id: [id; 8],
        parent: parent.map(|p| [p; 8]),
        name: "s".into(),
        kind: 1,
        start_ns: u64::from(id) * 1000,
        end_ns: u64::from(id) * 1000 + 500,
        status: if error { StatusCode::Error } else { StatusCode::Unset },
        status_message: "".into(),
        attrs: Attrs::default(),
        events: Box::default(),
        resource: Arc::new(ResourceRecord::default()),
        role: facts.role,
        facts: Some(Box::new(facts)),
    }
}

fn agent(trace: u8, id: u8, parent: Option<u8>, name: &'static str) -> SpanRecord {
    span(
        trace,
        id,
        parent,
        &[
            ("gen_ai.operation.name", Value::Str("invoke_agent")),
            ("gen_ai.agent.name", Value::Str(name)),
            ("gen_ai.agent.version", Value::Str("1.0")),
        ],
        false,
    )
}

fn chat(trace: u8, id: u8, parent: u8) -> SpanRecord {
    span(trace, id, Some(parent), &[("gen_ai.operation.name", Value::Str("chat"))], false)
}

fn tool(trace: u8, id: u8, parent: u8, fail: bool) -> SpanRecord {
    span(
        trace,
        id,
        Some(parent),
        &[("gen_ai.operation.name", Value::Str("execute_tool")), ("gen_ai.tool.name", Value::Str("search"))],
        fail,
    )
}

fn one_run(trace: u8) -> Vec<SpanRecord> {
    vec![agent(trace, 1, None, "triage"), chat(trace, 2, 1), tool(trace, 3, 1, false), tool(trace, 4, 1, true)]
}

#[test]
fn a_run_with_children_is_counted() {
    let mut store = Store::new(usize::MAX);
    store.insert_spans(one_run(1), 0);
    let c = store.counters();
    assert_eq!((c.runs, c.llm_calls, c.tool_calls, c.spans_stored), (1, 1, 2, 4));
    assert_eq!(store.tools()["search"].calls, 2);
    assert_eq!(store.tools()["search"].errors, 1);
    assert_eq!(store.agents()["triage"].runs, 1);
    let runs = store.trace_runs(&[1; 16]).expect("trace kept");
    assert_eq!((runs[0].tool_calls, runs[0].tool_errors, runs[0].llm_calls, runs[0].spans), (2, 1, 1, 4));
    assert_eq!(runs[0].outcome, Outcome::Success);
}

#[test]
fn duplicates_count_once() {
    let mut store = Store::new(usize::MAX);
    store.insert_spans(one_run(1), 0);
    store.insert_spans(one_run(1), 0);
    let c = store.counters();
    assert_eq!((c.runs, c.tool_calls, c.spans_stored, c.spans_deduplicated), (1, 2, 4, 4));
}

/// A span of a wide trace: span ids past 255, so traces of hundreds of spans can be built.
fn wide(trace: u8, n: u16) -> SpanRecord {
    let mut s = span(trace, 2, Some(1), &[], false);
    s.span_id = [0, 0, 0, 0, 0, 0, (n >> 8) as u8, n as u8];
    s
}

#[test]
fn duplicates_in_big_traces_count_once_and_evicted_spans_are_not_duplicates() {
    let one = span_bytes(&wide(1, 0));
    let mut store = Store::new(one * 350);
    // 300 spans of one trace in batches, past the scan limit, then all of them again.
    for chunk in (0..300u16).collect::<Vec<_>>().chunks(50) {
        store.insert_spans(chunk.iter().map(|&n| wide(1, n)).collect(), 0);
    }
    store.insert_spans((0..300u16).map(|n| wide(1, n)).collect(), 0);
    let c = store.counters();
    assert_eq!((c.spans_stored, c.spans_deduplicated, c.spans_evicted), (300, 300, 0));
    // More of the trace until the budget has evicted a hundred of its oldest spans.
    let mut n = 300;
    while store.counters().spans_evicted < 100 {
        store.insert_spans((n..n + 50).map(|n| wide(1, n)).collect(), 0);
        n += 50;
    }
    assert!(store.used_bytes() <= one * 350);
    let (stored, evicted) = (store.counters().spans_stored, store.counters().spans_evicted);
    assert_eq!(stored, u64::from(n));
    // Everything again: the evicted spans are stored anew, the hot ones are duplicates.
    store.insert_spans((0..n).map(|n| wide(1, n)).collect(), 0);
    let c = store.counters();
    assert_eq!(c.spans_stored, stored + evicted);
    assert_eq!(c.spans_deduplicated, 300 + u64::from(n) - evicted);
}

#[test]
fn a_trace_whose_spans_are_all_evicted_is_forgotten() {
    let one = span_bytes(&one_run(1)[0]);
    let mut store = Store::new(one * 12);
    store.insert_spans(one_run(1), 0);
    for t in 2..=6 {
        store.insert_spans(one_run(t), 0);
    }
    assert!(store.trace_runs(&[1; 16]).is_none());
    assert_eq!(store.hot_traces(), store.hot_spans().div_ceil(4));
}

#[test]
fn children_before_parent_and_split_traces_assemble_into_one_run() {
    let mut store = Store::new(usize::MAX);
    let mut spans = one_run(2);
    let root = spans.remove(0);
    // A nested agent arrives first and looks like a run until its parent shows up.
    store.insert_spans(vec![agent(2, 9, Some(1), "researcher")], 0);
    assert_eq!(store.counters().runs, 1);
    store.insert_spans(vec![spans.remove(0)], 0);
    store.insert_spans(spans, 0);
    store.insert_spans(vec![root], 0);
    let c = store.counters();
    assert_eq!(c.runs, 1, "one run once the root arrived");
    assert_eq!(store.agents()["triage"].runs, 1);
    assert_eq!(store.agents().get("researcher").map_or(0, |a| a.runs), 0);
    let runs = store.trace_runs(&[2; 16]).expect("trace");
    assert_eq!((&*runs[0].agent, runs[0].handoffs), ("triage", 1));
}

#[test]
fn a_big_trace_assembles_as_a_small_one_does() {
    // Past `assemble::SCAN_PARENTS_UP_TO` spans a trace's parents are found through a map, not a scan.
    for n in [8u8, 60] {
        let mut store = Store::new(usize::MAX);
        let mut spans = vec![agent(4, 1, None, "triage"), agent(4, 2, Some(1), "researcher")];
        spans.extend(
            (3..n).map(|id| if id % 3 == 0 { tool(4, id, 1 + id % 2, false) } else { chat(4, id, 1 + id % 2) }),
        );
        let chats = (3..n).filter(|id| id % 3 != 0).count() as u32;
        spans.reverse();
        store.insert_spans(spans, 0);
        let runs = store.trace_runs(&[4; 16]).unwrap_or_default();
        assert_eq!(runs.len(), 1, "{n} spans");
        let r = &runs[0];
        assert_eq!((&*r.agent, r.spans, r.handoffs), ("triage", u32::from(n) - 1, 1), "{n} spans");
        assert_eq!((r.llm_calls, r.tool_calls), (chats, u32::from(n) - 3 - chats), "{n} spans");
        assert_eq!((r.usage.len(), r.usage.capacity()), (chats as usize, chats as usize), "{n} spans");
    }
}

#[test]
fn root_span_is_the_run_when_no_agent_markers() {
    let mut store = Store::new(usize::MAX);
    store.insert_spans(vec![span(3, 2, Some(1), &[], false)], 0);
    assert_eq!(store.counters().runs, 0, "no root yet");
    store.insert_spans(vec![span(3, 1, None, &[], true)], 0);
    let runs = store.trace_runs(&[3; 16]).expect("trace");
    assert_eq!((runs.len(), runs[0].outcome, &*runs[0].agent), (1, Outcome::Failure, "svc"));
}

#[test]
fn explicit_outcome_beats_status() {
    let mut store = Store::new(usize::MAX);
    store.insert_spans(
        vec![span(
            4,
            1,
            None,
            &[("gen_ai.operation.name", Value::Str("invoke_agent")), ("cockpit.run.outcome", Value::Str("escalated"))],
            true,
        )],
        0,
    );
    assert_eq!(store.trace_runs(&[4; 16]).expect("trace")[0].outcome, Outcome::Escalated);
}

#[test]
fn parent_cycles_do_not_hang() {
    let mut store = Store::new(usize::MAX);
    store.insert_spans(vec![span(5, 1, Some(2), &[], false), span(5, 2, Some(1), &[], false)], 0);
    assert_eq!(store.counters().runs, 0);
}

#[test]
fn budget_evicts_oldest_first_and_counts() {
    let one = span_bytes(&one_run(1)[0]);
    let mut store = Store::new(one * 20);
    for t in 1..=10 {
        store.insert_spans(one_run(t), 0);
    }
    let c = store.counters().clone();
    assert!(c.spans_evicted > 0);
    assert_eq!(c.spans_evicted + store.hot_spans() as u64, 40);
    assert!(store.used_bytes() <= one * 20);
    // The oldest trace went first; the newest is whole.
    assert!(store.trace_runs(&[1; 16]).is_none());
    assert_eq!(store.trace_runs(&[10; 16]).map(<[_]>::len), Some(1));
    // Evicted runs stay counted.
    assert_eq!(c.runs, 10);
    // An evicted span is no longer a duplicate: it is stored again.
    store.insert_spans(one_run(1), 0);
    assert_eq!(store.counters().spans_deduplicated, 0);
}

#[test]
fn logs_between_spans_do_not_break_run_assembly() {
    use super::record::{AttrValue, LogRecord};
    let mut store = Store::new(usize::MAX);
    let log = |trace: u8| LogRecord {
        time_ns: 1,
        trace_id: Some([trace; 16]),
        span_id: None,
        severity: 9,
        event_name: "".into(),
        body: AttrValue::Str("note".into()),
        attrs: Attrs::default(),
        resource: Arc::new(ResourceRecord::default()),
        fact: None,
    };
    for t in 1..=20 {
        store.insert_logs(vec![log(t), log(t)], 0);
        store.insert_spans(one_run(t), 0);
    }
    assert_eq!(store.counters().runs, 20);
    assert_eq!(store.trace_runs(&[20; 16]).map(|r| r[0].tool_calls), Some(2));
    assert_eq!(store.recent_runs(100, &|_| true).len(), 20);
}

#[test]
fn facts_mapped_again_from_the_stored_span_equal_those_from_the_wire() {
    let limits = crate::ingest::convert::Limits::default();
    let mut spans = 0;
    for (_, req) in crate::loadgen::bench_requests(4, 16) {
        for s in crate::ingest::convert::traces(&req, limits).items {
            assert_eq!(s.map(), *s.facts(), "span {}", s.name);
            spans += 1;
        }
    }
    assert!(spans > 200);
}

#[test]
fn a_boxed_span_slot_fits_mimallocs_160_byte_class() {
    // The memory budget per span (DESIGN §10) counts on it; a new field must pay for itself.
    assert!(size_of::<Stored<SpanRecord>>() <= 160, "{}", size_of::<Stored<SpanRecord>>());
    assert_eq!(heap(size_of::<Stored<SpanRecord>>()), 160);
}

#[test]
fn recent_guardrail_decisions_are_newest_first_by_when_they_were_made() {
    let mut store = Store::new(usize::MAX);
    let decided = |id: u8| span(7, id, None, &[("cockpit.guardrail.decision", Value::Str("block"))], false);
    // Arrival order is not time order: the span that ended last (id 9) arrives second.
    store.insert_spans(vec![decided(5), decided(9), decided(2)], 0);
    let times: Vec<u64> = store.recent_guardrail_events(2).iter().map(|g| g.time_ns).collect();
    assert_eq!(times, [9_500, 5_500]);
}
