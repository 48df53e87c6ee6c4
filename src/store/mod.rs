//! The hot store: recent spans, logs and metric points in memory under a byte budget, traces
//! assembled into runs, and the cumulative counters behind `/api/v1/stats`.

pub mod assemble;
pub mod attrs;
pub mod byte_cache;
pub mod query;
pub mod record;
pub mod settle;

use std::collections::{BTreeMap, VecDeque};
use std::mem::size_of;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::model::{SpanId, SpanRole, Text, TraceId};
use crate::semconv::EventFact;
use assemble::RunRecord;
use record::{Attrs, EventRecord, LogRecord, PointRecord, SpanRecord};
use settle::Settled;

/// A stored item: spans, logs and points share one arrival sequence so the oldest evicts first.
#[derive(Debug)]
struct Stored<T> {
    /// Position in its own deque's sequence (contiguous per kind: index = seq − front's seq).
    seq: u64,
    /// Wall-clock arrival, ms since the epoch: across spans, logs and points the oldest evicts
    /// first.
    arrival_ms: u64,
    /// Bytes charged to the budget (u32 keeps a boxed span slot in mimalloc's 160-byte class).
    bytes: u32,
    /// Already handed to the rollups.
    rolled: bool,
    /// Spans: the index of the run it belongs to among its trace's runs, as last assembled (so
    /// settling needs no second assembly); `NO_RUN` for none. A u16 fits the slot's padding; a
    /// span of a trace with more runs than that counts for itself, as if it had no run.
    owner: u16,
    item: T,
}

impl<T> Stored<T> {
    /// The span's run among its trace's runs, as last assembled.
    fn run(&self) -> Option<usize> {
        (self.owner != NO_RUN).then_some(usize::from(self.owner))
    }

    fn set_run(&mut self, run: Option<usize>) {
        self.owner = run.and_then(|r| u16::try_from(r).ok()).unwrap_or(NO_RUN);
    }
}

/// Where the items numbered `seqs` sit in a ring whose front item is numbered `first` and which
/// holds `len` items (the evicted ones skipped).
fn positions(seqs: &[u64], first: u64, len: usize) -> Vec<usize> {
    seqs.iter().filter_map(|seq| seq.checked_sub(first).map(|i| i as usize)).filter(|&i| i < len).collect()
}

/// Per trace: which spans it has, and the runs its last assembly produced.
#[derive(Debug, Default)]
pub struct TraceEntry {
    /// Sequence numbers of the trace's spans, in arrival order. Evicted ones may linger (the
    /// oldest evict first, so they are a prefix) until the trace goes or they are half of it;
    /// readers skip seqs before the ring's front.
    pub span_seqs: Vec<u64>,
    /// The span ids of a big trace, for dedupe without a scan (built past `SCAN_LIMIT` spans).
    ids: Option<Box<FxHashSet<SpanId>>>,
    /// Runs as last assembled.
    pub runs: Vec<RunRecord>,
    /// Logs joined to this trace (sequence numbers).
    pub log_seqs: Vec<u64>,
    /// When a span or log of it last arrived (wall clock, ms).
    pub last_arrival_ms: u64,
    /// Runs already handed to the rollups.
    pub rolled_runs: Vec<SpanId>,
    /// Bytes this entry and its runs are charged in the budget.
    charged: usize,
}

/// Cumulative counts per agent.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AgentCounts {
    /// Runs seen.
    pub runs: u64,
    /// Runs per version.
    pub versions: BTreeMap<String, u64>,
}

impl AgentCounts {
    /// Counts a run of `version` (looked up by `&str`: a version seen before costs no allocation).
    fn add_run(&mut self, version: &str) {
        self.runs += 1;
        match self.versions.get_mut(version) {
            Some(n) => *n += 1,
            None => {
                self.versions.insert(version.to_owned(), 1);
            }
        }
    }
}

/// Cumulative counts per tool.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ToolCounts {
    /// Calls seen.
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
}

/// Counters the store keeps (cumulative since start; evicted data stays counted).
#[derive(Debug, Default, Clone, Serialize)]
pub struct StoreCounters {
    /// Spans kept (after dedupe).
    pub spans_stored: u64,
    /// Spans dropped as duplicates of a span still in the hot window.
    pub spans_deduplicated: u64,
    /// Spans evicted by the memory budget.
    pub spans_evicted: u64,
    /// Log records evicted.
    pub logs_evicted: u64,
    /// Metric points evicted.
    pub points_evicted: u64,
    /// Runs (assembled; a run re-assembled when late spans arrive counts once).
    pub runs: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Guardrail decisions (spans, span events, logs).
    pub guardrail_decisions: u64,
    /// Evaluations (span events, logs).
    pub evaluations: u64,
    /// Tool-call decisions (span events, logs).
    pub tool_decisions: u64,
    /// Metric data points.
    pub metric_points: u64,
    /// Log records.
    pub log_records: u64,
}

/// The hot store. Single writer (the ingest worker), readers under a lock.
#[derive(Debug)]
pub struct Store {
    budget_bytes: usize,
    used_bytes: usize,
    next_span_seq: u64,
    next_log_seq: u64,
    next_point_seq: u64,
    /// Boxed so the ring's unused room (up to half of it after a doubling) costs a pointer per
    /// slot, not a whole record.
    spans: VecDeque<Box<Stored<SpanRecord>>>,
    logs: VecDeque<Stored<LogRecord>>,
    points: VecDeque<Stored<PointRecord>>,
    traces: FxHashMap<TraceId, TraceEntry>,
    counters: StoreCounters,
    agents: BTreeMap<String, AgentCounts>,
    tools: BTreeMap<String, ToolCounts>,
    /// Traces with items not yet handed to the rollups.
    pending: FxHashSet<TraceId>,
    /// Settled items waiting to be taken by the rollups.
    outbox: Settled,
    /// Current runs by (end, trace, span), newest last: the Traces view reads from the end.
    run_index: std::collections::BTreeSet<(u64, TraceId, SpanId)>,
    /// The newest guardrail decisions, newest last.
    guard_events: VecDeque<query::GuardSeen>,
}

/// An item's charge as stored (an item over 4 GiB cannot arrive: requests are capped far lower).
fn charge(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// `Stored::owner` of a span with no run.
const NO_RUN: u16 = u16::MAX;

/// Guardrail decisions remembered for the Safety view's feed.
const GUARD_EVENTS: usize = 256;

/// Spans a trace may have before its dedupe keeps a set of their ids instead of comparing
/// against each (most traces have a handful, and a scan of spans just stored is cheaper than a
/// probe into a set of every hot span).
const SCAN_LIMIT: usize = 32;

/// What an allocation of `n` bytes takes from the allocator: mimalloc rounds to 8 bytes up to
/// 64, then to a quarter of the power of two below (so the budget sees the slack RSS sees).
pub fn heap(n: usize) -> usize {
    match n {
        0 => 0,
        1..=64 => n.next_multiple_of(8),
        _ => {
            let step = (1usize << (usize::BITS - 1 - (n - 1).leading_zeros())) / 4;
            n.next_multiple_of(step)
        }
    }
}

/// What the allocation of a `Text` of `len` bytes takes: its length and counter, then the bytes.
pub fn text_heap(len: usize) -> usize {
    heap(2 * size_of::<usize>() + len)
}

/// Heap bytes of a run record's strings and usage list.
fn run_bytes(r: &RunRecord) -> usize {
    text_bytes(&r.agent)
        + r.version.as_ref().map_or(0, text_bytes)
        + heap(r.usage.capacity() * size_of::<settle::Usage>())
        + r.usage.iter().map(|u| u.model.as_ref().map_or(0, text_bytes)).sum::<usize>()
        + 48
}

/// Bytes a trace entry costs beside its spans: the map slot (at hashbrown's typical load) and
/// its runs.
fn trace_bytes(entry: &TraceEntry) -> usize {
    let slot = (size_of::<(TraceId, TraceEntry)>() + 1) * 8 / 7;
    let runs: usize = entry.runs.iter().map(run_bytes).sum();
    slot + heap(entry.runs.capacity() * size_of::<RunRecord>())
        + runs
        + heap(entry.span_seqs.capacity() * 8)
        + heap(entry.log_seqs.capacity() * 8)
        + heap(entry.rolled_runs.capacity() * size_of::<SpanId>())
        + entry.ids.as_ref().map_or(0, |ids| heap((ids.capacity() + 1) * 8 / 7 * (size_of::<SpanId>() + 1)))
}

/// Whether a span with `id` is already hot in this trace; a big trace's id set learns `id`.
fn is_duplicate(entry: &mut TraceEntry, spans: &VecDeque<Box<Stored<SpanRecord>>>, first: u64, id: &SpanId) -> bool {
    if let Some(ids) = &mut entry.ids {
        return !ids.insert(*id);
    }
    let live = || entry.span_seqs.iter().filter_map(|seq| seq.checked_sub(first).and_then(|i| spans.get(i as usize)));
    if live().any(|s| s.item.span_id == *id) {
        return true;
    }
    if entry.span_seqs.len() >= SCAN_LIMIT {
        let mut ids: FxHashSet<SpanId> = live().map(|s| s.item.span_id).collect();
        ids.insert(*id);
        entry.ids = Some(Box::new(ids));
    }
    false
}

/// Whether the entry still has a span in the ring (whose front is `first`).
fn has_live_spans(entry: &TraceEntry, first: u64) -> bool {
    entry.span_seqs.last().is_some_and(|&seq| seq >= first)
}

fn attrs_bytes(attrs: &Attrs) -> usize {
    heap(attrs.heap_bytes())
}

fn events_bytes(events: &[EventRecord]) -> usize {
    heap(std::mem::size_of_val(events))
        + events.iter().map(|e| text_bytes(&e.name) + attrs_bytes(&e.attrs)).sum::<usize>()
}

/// A shared name's cost: nothing while other spans share it or it is kept for good; its
/// allocation (length, counter and bytes) when only this span and the interner hold it, as a
/// name that is really an id does.
fn text_bytes(t: &Text) -> usize {
    match Text::strong_count(t) {
        Some(n) if n <= 2 => text_heap(t.len()),
        _ => 0,
    }
}

/// Bytes a span holds: its slot, strings, attributes, events, and facts until settled.
fn span_bytes(s: &SpanRecord) -> usize {
    heap(size_of::<Stored<SpanRecord>>())
        + size_of::<Box<Stored<SpanRecord>>>()
        + text_bytes(&s.name)
        + heap(s.status_message.len())
        + attrs_bytes(&s.attrs)
        + events_bytes(&s.events)
        + s.facts_bytes()
}

impl Store {
    /// An empty store that keeps at most about `budget_bytes` of data.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget_bytes,
            used_bytes: 0,
            next_span_seq: 0,
            next_log_seq: 0,
            next_point_seq: 0,
            spans: VecDeque::new(),
            logs: VecDeque::new(),
            points: VecDeque::new(),
            traces: FxHashMap::default(),
            counters: StoreCounters::default(),
            agents: BTreeMap::new(),
            tools: BTreeMap::new(),
            pending: FxHashSet::default(),
            outbox: Settled::default(),
            run_index: std::collections::BTreeSet::new(),
            guard_events: VecDeque::new(),
        }
    }

    /// Adds spans arriving at `now_ms`: dedupes, indexes, counts, re-assembles the touched
    /// traces, evicts.
    pub fn insert_spans(&mut self, spans: Vec<SpanRecord>, now_ms: u64) {
        let mut touched: Vec<TraceId> = Vec::new();
        for span in spans {
            let seq = self.next_span_seq;
            let first = self.span_front();
            let entry = self.traces.entry(span.trace_id).or_default();
            if is_duplicate(entry, &self.spans, first, &span.span_id) {
                self.counters.spans_deduplicated += 1;
                continue;
            }
            entry.span_seqs.push(seq);
            entry.last_arrival_ms = now_ms;
            self.next_span_seq += 1;
            self.count_span(&span);
            let bytes = span_bytes(&span);
            self.used_bytes += bytes;
            self.pending.insert(span.trace_id);
            if touched.last() != Some(&span.trace_id) {
                touched.push(span.trace_id);
            }
            self.spans.push_back(Box::new(Stored {
                seq,
                bytes: charge(bytes),
                arrival_ms: now_ms,
                rolled: false,
                owner: NO_RUN,
                item: span,
            }));
            self.counters.spans_stored += 1;
        }
        touched.sort_unstable();
        touched.dedup();
        for trace in touched {
            self.reassemble(trace);
        }
        self.evict();
    }

    fn count_span(&mut self, span: &SpanRecord) {
        let f = span.facts();
        match f.role {
            SpanRole::Llm => self.counters.llm_calls += 1,
            SpanRole::Tool => {
                self.counters.tool_calls += 1;
                let name = f.tool.as_ref().and_then(|t| t.name.as_deref()).unwrap_or(&span.name);
                let failed = f.tool.as_ref().is_some_and(|t| t.error_class.is_some());
                // Look up by &str first: a tool seen before costs no allocation.
                match self.tools.get_mut(name) {
                    Some(counts) => {
                        counts.calls += 1;
                        counts.errors += u64::from(failed);
                    }
                    None => {
                        self.tools.insert(name.to_owned(), ToolCounts { calls: 1, errors: u64::from(failed) });
                    }
                }
            }
            _ => {}
        }
        self.counters.guardrail_decisions += f.guardrails.len() as u64;
        for g in &f.guardrails {
            if self.guard_events.len() == GUARD_EVENTS {
                self.guard_events.pop_front();
            }
            self.guard_events.push_back(query::GuardSeen {
                time_ns: span.end_ns,
                trace_id: span.trace_id,
                agent: f.agent_name.as_deref().or(span.resource.service.as_deref()).unwrap_or_default().to_owned(),
                decision: g.clone(),
            });
        }
        self.counters.evaluations += f.evaluations.len() as u64;
        self.counters.tool_decisions += f.tool_decisions.len() as u64;
    }

    /// Re-assembles one trace's runs and moves the agent counts from the old runs to the new.
    fn reassemble(&mut self, trace: TraceId) {
        let Some(entry) = self.traces.get(&trace) else {
            return;
        };
        let pos = self.span_positions(entry);
        let spans: Vec<&SpanRecord> = pos.iter().map(|&i| &self.spans[i].item).collect();
        let assembly = assemble::assemble_with_owners(&spans);
        for (&i, &run) in pos.iter().zip(&assembly.owner) {
            self.spans[i].set_run(run);
        }
        let runs = assembly.runs;
        let old = match self.traces.get_mut(&trace) {
            Some(entry) => std::mem::take(&mut entry.runs),
            None => return,
        };
        for run in &old {
            self.run_index.remove(&(run.end_ns, trace, run.span_id));
            self.counters.runs = self.counters.runs.saturating_sub(1);
            if let Some(a) = self.agents.get_mut(&*run.agent) {
                a.runs = a.runs.saturating_sub(1);
                if let Some(v) = a.versions.get_mut(run.version_label()) {
                    *v = v.saturating_sub(1);
                }
            }
        }
        for run in &runs {
            self.run_index.insert((run.end_ns, trace, run.span_id));
            self.counters.runs += 1;
            // Looked up by &str first: an agent seen before costs no allocation.
            match self.agents.get_mut(&*run.agent) {
                Some(a) => a.add_run(run.version_label()),
                None => {
                    let mut a = AgentCounts::default();
                    a.add_run(run.version_label());
                    self.agents.insert(run.agent.to_string(), a);
                }
            }
        }
        if let Some(entry) = self.traces.get_mut(&trace) {
            // Assembly sizes its lists exactly (a usage list only has room to spare for an LLM
            // span that reported none, which the shrink returns): the trace keeps them for life.
            entry.runs = runs;
            entry.runs.iter_mut().for_each(|r| r.usage.shrink_to_fit());
        }
        self.recharge(trace);
    }

    /// Brings the budget's charge for a trace entry up to date.
    fn recharge(&mut self, trace: TraceId) {
        if let Some(entry) = self.traces.get_mut(&trace) {
            let now = trace_bytes(entry);
            self.used_bytes = self.used_bytes + now - entry.charged;
            entry.charged = now;
        }
    }

    /// Adds log records, joined to their traces.
    pub fn insert_logs(&mut self, logs: Vec<LogRecord>, now_ms: u64) {
        for log in logs {
            self.counters.log_records += 1;
            match &log.fact {
                Some(EventFact::Guardrail(_)) => self.counters.guardrail_decisions += 1,
                Some(EventFact::Evaluation(_)) => self.counters.evaluations += 1,
                Some(EventFact::ToolDecision(_)) => self.counters.tool_decisions += 1,
                None => {}
            }
            let seq = self.next_log_seq;
            self.next_log_seq += 1;
            let rolled = match log.trace_id {
                Some(trace) => {
                    let entry = self.traces.entry(trace).or_default();
                    entry.log_seqs.push(seq);
                    entry.last_arrival_ms = now_ms;
                    self.pending.insert(trace);
                    self.recharge(trace);
                    false
                }
                None => {
                    self.settle_orphan_log(&log, now_ms);
                    true
                }
            };
            let bytes =
                size_of::<Stored<LogRecord>>() + log.event_name.len() + log.body.heap_bytes() + attrs_bytes(&log.attrs);
            self.used_bytes += bytes;
            self.logs.push_back(Stored {
                seq,
                bytes: charge(bytes),
                arrival_ms: now_ms,
                rolled,
                owner: NO_RUN,
                item: log,
            });
        }
        self.evict();
    }

    /// Adds metric points.
    pub fn insert_points(&mut self, points: Vec<PointRecord>, now_ms: u64) {
        for point in points {
            self.counters.metric_points += 1;
            let seq = self.next_point_seq;
            self.next_point_seq += 1;
            let bytes =
                size_of::<Stored<PointRecord>>() + point.metric.len() + point.unit.len() + attrs_bytes(&point.attrs);
            self.used_bytes += bytes;
            self.points.push_back(Stored {
                seq,
                bytes: charge(bytes),
                arrival_ms: now_ms,
                rolled: true,
                owner: NO_RUN,
                item: point,
            });
        }
        self.evict();
    }

    /// Evicts the oldest items (of any kind) until the store fits its budget.
    fn evict(&mut self) {
        while self.used_bytes() > self.budget_bytes {
            let span_seq = self.spans.front().map_or(u64::MAX, |s| s.arrival_ms);
            let log_seq = self.logs.front().map_or(u64::MAX, |s| s.arrival_ms);
            let point_seq = self.points.front().map_or(u64::MAX, |s| s.arrival_ms);
            let oldest = span_seq.min(log_seq).min(point_seq);
            if oldest == u64::MAX {
                break;
            }
            if oldest == span_seq {
                self.evict_span();
            } else if oldest == log_seq {
                if let Some(trace) = self.logs.front().filter(|l| !l.rolled).and_then(|l| l.item.trace_id) {
                    self.settle_trace(trace);
                }
                if let Some(log) = self.logs.pop_front() {
                    self.used_bytes -= log.bytes as usize;
                    self.counters.logs_evicted += 1;
                    if let Some(trace) = log.item.trace_id {
                        self.forget_log(trace, log.seq);
                    }
                }
            } else if let Some(point) = self.points.pop_front() {
                self.used_bytes -= point.bytes as usize;
                self.counters.points_evicted += 1;
            }
        }
    }

    fn evict_span(&mut self) {
        // Nothing leaves memory before the rollups have it.
        if let Some(trace) = self.spans.front().filter(|s| !s.rolled).map(|s| s.item.trace_id) {
            self.settle_trace(trace);
        }
        let Some(span) = self.spans.pop_front() else {
            return;
        };
        self.used_bytes -= span.bytes as usize;
        self.counters.spans_evicted += 1;
        let trace = span.item.trace_id;
        let first = self.span_front();
        if let Some(entry) = self.traces.get_mut(&trace) {
            if let Some(ids) = &mut entry.ids {
                ids.remove(&span.item.span_id);
            }
            // The trace's runs stay counted: figures over evicted data are frozen, not undone.
            if !has_live_spans(entry, first) && entry.log_seqs.is_empty() {
                self.forget_trace(trace);
            } else if entry.span_seqs.len() >= 16 && entry.span_seqs[entry.span_seqs.len() / 2] < first {
                entry.span_seqs.retain(|&s| s >= first);
            }
        }
    }

    fn forget_trace(&mut self, trace: TraceId) {
        if let Some(entry) = self.traces.remove(&trace) {
            self.used_bytes -= entry.charged;
            for run in &entry.runs {
                self.run_index.remove(&(run.end_ns, trace, run.span_id));
            }
        }
    }

    fn forget_log(&mut self, trace: TraceId, seq: u64) {
        let first = self.span_front();
        if let Some(entry) = self.traces.get_mut(&trace) {
            entry.log_seqs.retain(|s| *s != seq);
            if !has_live_spans(entry, first) && entry.log_seqs.is_empty() {
                self.forget_trace(trace);
            }
        }
    }

    /// The number of the oldest hot span (of the next span when none is hot).
    fn span_front(&self) -> u64 {
        self.spans.front().map_or(self.next_span_seq, |s| s.seq)
    }

    /// Where a trace's hot spans sit in the ring.
    fn span_positions(&self, entry: &TraceEntry) -> Vec<usize> {
        positions(&entry.span_seqs, self.span_front(), self.spans.len())
    }

    /// Where a trace's hot logs sit in their ring.
    fn log_positions(&self, entry: &TraceEntry) -> Vec<usize> {
        positions(&entry.log_seqs, self.logs.front().map_or(self.next_log_seq, |s| s.seq), self.logs.len())
    }

    /// The cumulative counters.
    pub fn counters(&self) -> &StoreCounters {
        &self.counters
    }

    /// Runs per agent, with their versions.
    pub fn agents(&self) -> &BTreeMap<String, AgentCounts> {
        &self.agents
    }

    /// Calls and errors per tool.
    pub fn tools(&self) -> &BTreeMap<String, ToolCounts> {
        &self.tools
    }

    /// Bytes the hot window holds now, by the store's own accounting (items, and the room its
    /// containers have grown into: a ring that has wrapped has touched all of it).
    pub fn used_bytes(&self) -> usize {
        self.used_bytes + self.slack_bytes()
    }

    /// Allocated but unused room in the big containers.
    fn slack_bytes(&self) -> usize {
        (self.spans.capacity() - self.spans.len()) * size_of::<Box<Stored<SpanRecord>>>()
            + (self.logs.capacity() - self.logs.len()) * size_of::<Stored<LogRecord>>()
            + (self.points.capacity() - self.points.len()) * size_of::<Stored<PointRecord>>()
            + (self.traces.capacity() - self.traces.len()) * (size_of::<(TraceId, TraceEntry)>() + 1)
    }

    /// Spans in the hot window now.
    pub fn hot_spans(&self) -> usize {
        self.spans.len()
    }

    /// Traces in the hot window now.
    pub fn hot_traces(&self) -> usize {
        self.traces.len()
    }

    /// The runs of a trace still in the hot window.
    pub fn trace_runs(&self, trace: &TraceId) -> Option<&[RunRecord]> {
        self.traces.get(trace).map(|e| e.runs.as_slice())
    }
}

#[cfg(test)]
mod tests;
