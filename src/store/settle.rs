//! Settling: once a trace has been quiet for a while, its runs and calls are handed to the
//! rollups exactly once. Spans that arrive after their trace settled are handed over on their
//! own ("late"): they count in call figures but do not change their run's figures.

use serde::Serialize;

use super::Store;
use super::assemble::UNKNOWN;
use super::record::{LogRecord, SpanRecord};
use crate::model::Text;
use crate::model::{
    Evaluation, GuardrailDecision, Outcome, SideEffect, SpanFacts, SpanId, SpanRole, ToolCallDecision, ToolErrorClass,
    TraceId,
};
use crate::semconv::{EventFact, intern};

/// Who a fact counts for: shared texts, since every settled call and every rollup cell key
/// carries one (as owned strings their clones were an eighth of the store thread).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Who {
    /// Agent name.
    pub agent: Text,
    /// Agent version (`unknown` when not said).
    pub version: Text,
    /// Deployment environment (`unknown` when not said).
    pub environment: Text,
}

/// One LLM call's usage, as a run carries it for its cost and token figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Model id as sent (shared with the spans that said it).
    pub model: Option<Text>,
    /// Input tokens (cached included).
    pub input: u64,
    /// Output tokens (reasoning included).
    pub output: u64,
    /// Cached input tokens.
    pub cache_read: u64,
    /// Reasoning tokens.
    pub reasoning: u64,
    /// Reported cost, USD.
    pub reported_cost: Option<f64>,
}

/// A run, with everything its run-level figures need.
#[derive(Debug, Clone)]
pub struct SettledRun {
    /// When it ended (ns since the epoch; arrival time when the timestamp was absurd).
    pub time_ns: u64,
    /// Who ran it.
    pub who: Who,
    /// The trace.
    pub trace_id: TraceId,
    /// The run's span.
    pub span_id: SpanId,
    /// Scenario, when said.
    pub scenario: Option<Text>,
    /// Outcome.
    pub outcome: Outcome,
    /// Duration, ms.
    pub duration_ms: f64,
    /// LLM + tool calls.
    pub steps: u32,
    /// Calls that were retries.
    pub retries: u32,
    /// Other agents invoked inside it.
    pub handoffs: u32,
    /// Step budget, when declared.
    pub step_budget: Option<u64>,
    /// A red-team run.
    pub red_team: bool,
    /// For red-team runs: did the attack succeed.
    pub attack_succeeded: Option<bool>,
    /// Usage of every LLM call in the run.
    pub usage: Vec<Usage>,
    /// Guardrail decisions in the run that were not an allow.
    pub guardrail_trips: u32,
    /// A guardrail let personal data or a secret through (`GuardrailDecision::is_leak`).
    pub leak: bool,
}

/// What kind of call a settled span is.
#[derive(Debug, Clone)]
pub enum CallKind {
    /// An LLM call.
    Llm {
        /// Model id.
        model: Option<Text>,
        /// Provider.
        provider: Option<Text>,
        /// Usage.
        usage: Usage,
        /// `error.type` when it failed.
        error_type: Option<Text>,
    },
    /// A tool call.
    Tool {
        /// Tool name.
        name: Text,
        /// Why it failed, when it failed.
        error_class: Option<ToolErrorClass>,
        /// Read or write.
        side_effect: SideEffect,
    },
    /// A guardrail span (its decision is in `decisions`).
    Guardrail,
}

/// One call (LLM, tool or guardrail span).
#[derive(Debug, Clone)]
pub struct SettledCall {
    /// When it ended.
    pub time_ns: u64,
    /// Who it counts for.
    pub who: Who,
    /// What it was.
    pub kind: CallKind,
    /// Duration, ms.
    pub latency_ms: f64,
    /// Failed (ERROR status or an error class).
    pub failed: bool,
    /// A retry.
    pub retry: bool,
}

/// A decision or evaluation event (from a span, span event or log record).
#[derive(Debug, Clone)]
pub enum EventKind {
    /// Guardrail decision.
    Guardrail(GuardrailDecision),
    /// Evaluation.
    Evaluation(Evaluation),
    /// Tool-call decision.
    ToolDecision(ToolCallDecision),
}

/// One settled event.
#[derive(Debug, Clone)]
pub struct SettledEvent {
    /// When.
    pub time_ns: u64,
    /// Who it counts for.
    pub who: Who,
    /// What.
    pub kind: EventKind,
}

/// Everything settled since the last hand-over.
#[derive(Debug, Default)]
pub struct Settled {
    /// Runs.
    pub runs: Vec<SettledRun>,
    /// Calls.
    pub calls: Vec<SettledCall>,
    /// Events.
    pub events: Vec<SettledEvent>,
}

impl Settled {
    /// Nothing to hand over.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.calls.is_empty() && self.events.is_empty()
    }
}

/// How long traces wait before settling.
#[derive(Debug, Clone, Copy)]
pub struct SettlePolicy {
    /// Quiet time for a trace whose run has arrived, ms.
    pub with_run_ms: u64,
    /// Quiet time for a trace with no run yet (its root may still come), ms.
    pub without_run_ms: u64,
}

impl Default for SettlePolicy {
    fn default() -> Self {
        Self { with_run_ms: 2_000, without_run_ms: 30_000 }
    }
}

/// A timestamp fit for a minute bucket: absurd ones (0, far future) become the arrival time.
pub fn sane_time(ns: u64, arrival_ms: u64) -> u64 {
    let arrival_ns = arrival_ms.saturating_mul(1_000_000);
    const DAY_NS: u64 = 86_400 * 1_000_000_000;
    if ns == 0 || ns > arrival_ns.saturating_add(DAY_NS) { arrival_ns } else { ns }
}

fn who_of_span(span: &SpanRecord, f: &SpanFacts) -> Who {
    Who {
        agent: f.agent_name.clone().unwrap_or_else(|| intern(span.resource.service.as_deref().unwrap_or(UNKNOWN))),
        version: f.agent_version.clone().unwrap_or_else(|| intern(UNKNOWN)),
        environment: f.environment.clone().unwrap_or_else(|| intern(UNKNOWN)),
    }
}

fn who_of_log(log: &LogRecord) -> Who {
    Who {
        agent: intern(log.resource.service.as_deref().unwrap_or(UNKNOWN)),
        version: intern(UNKNOWN),
        environment: intern(UNKNOWN),
    }
}

/// The usage an LLM span reports.
pub(crate) fn usage_of(f: &SpanFacts) -> Option<Usage> {
    let l = f.llm.as_ref()?;
    Some(Usage {
        model: l.model.clone(),
        input: l.input_tokens.unwrap_or(0),
        output: l.output_tokens.unwrap_or(0),
        cache_read: l.cache_read_tokens.unwrap_or(0),
        reasoning: l.reasoning_tokens.unwrap_or(0),
        reported_cost: l.reported_cost_usd,
    })
}

fn event_of(fact: &EventFact) -> EventKind {
    match fact {
        EventFact::Guardrail(g) => EventKind::Guardrail(g.clone()),
        EventFact::Evaluation(e) => EventKind::Evaluation(e.clone()),
        EventFact::ToolDecision(d) => EventKind::ToolDecision(d.clone()),
    }
}

impl Store {
    /// Settles the traces that have been quiet long enough (all of them when `force`).
    pub fn settle(&mut self, now_ms: u64, policy: SettlePolicy, force: bool) {
        let ready: Vec<TraceId> = self
            .pending
            .iter()
            .filter(|t| {
                self.traces.get(*t).is_none_or(|e| {
                    let quiet = if e.runs.is_empty() { policy.without_run_ms } else { policy.with_run_ms };
                    force || now_ms.saturating_sub(e.last_arrival_ms) >= quiet
                })
            })
            .copied()
            .collect();
        for trace in ready {
            self.settle_trace(trace);
        }
    }

    /// Settles one trace now (also used before its spans are evicted).
    pub(super) fn settle_trace(&mut self, trace: TraceId) {
        self.pending.remove(&trace);
        let Some(entry) = self.traces.get(&trace) else { return };
        let span_pos = self.span_positions(entry);
        // Settling lets the facts go (the rollups get what they said; the attributes still say
        // it), so take them: what they hold moves into the settled items instead of being copied.
        let mut facts: Vec<Box<SpanFacts>> = Vec::with_capacity(span_pos.len());
        for &pos in &span_pos {
            let stored = &mut self.spans[pos];
            let freed = stored.item.facts_bytes().min(stored.bytes as usize);
            stored.bytes -= freed as u32;
            self.used_bytes -= freed;
            facts.push(stored.item.facts.take().unwrap_or_else(|| Box::new(stored.item.map())));
        }
        let spans: Vec<&SpanRecord> = span_pos.iter().map(|i| &self.spans[*i].item).collect();
        // The runs and owners as assembled when the spans arrived (every arrival re-assembles
        // its trace; eviction settles a trace before any of its spans go).
        let runs = &entry.runs;
        let owner: Vec<Option<usize>> = span_pos.iter().map(|&p| self.spans[p].run()).collect();
        let run_who: Vec<Who> = runs
            .iter()
            .map(|r| {
                let own = spans.iter().position(|s| s.span_id == r.span_id).and_then(|i| facts[i].environment.clone());
                Who {
                    agent: Text::clone(&r.agent),
                    version: r.version.clone().unwrap_or_else(|| intern(UNKNOWN)),
                    environment: own.unwrap_or_else(|| intern(UNKNOWN)),
                }
            })
            .collect();
        let who: Vec<Who> = (0..spans.len())
            .map(|i| owner[i].map_or_else(|| who_of_span(spans[i], &facts[i]), |r| run_who[r].clone()))
            .collect();
        let log_pos = self.log_positions(entry);

        // Pushed straight into the outbox: a vector per trace appended to it was a tenth of
        // settling (allocations, and the outbox re-grown by appends).
        let mut out = std::mem::take(&mut self.outbox);
        let mut newly_rolled_runs = Vec::new();
        for (r, run) in runs.iter().enumerate() {
            // A trace has a run or two: a scan beats building a set per settled trace.
            if entry.rolled_runs.contains(&run.span_id) {
                continue;
            }
            newly_rolled_runs.push(run.span_id);
            let Some(ri) = spans.iter().position(|s| s.span_id == run.span_id) else { continue };
            let root = spans[ri];
            let arrival = self.spans[span_pos[ri]].arrival_ms;
            let owned: Vec<usize> = (0..spans.len()).filter(|i| owner[*i] == Some(r)).collect();
            // The run's figures need only how many guardrails tripped and whether one leaked;
            // the decisions themselves move into the events below.
            let mut trips = 0u32;
            let mut leak = false;
            let mut tally = |g: &GuardrailDecision| {
                trips += u32::from(g.verdict.is_trip());
                leak |= g.is_leak();
            };
            owned.iter().flat_map(|&i| &facts[i].guardrails).for_each(&mut tally);
            for &li in &log_pos {
                let log = &self.logs[li].item;
                let belongs = match log.span_id {
                    Some(s) => spans.iter().position(|sp| sp.span_id == s).is_some_and(|i| owner[i] == Some(r)),
                    None => r == 0,
                };
                if let (Some(EventFact::Guardrail(g)), true) = (&log.fact, belongs) {
                    tally(g);
                }
            }
            let rf = &facts[ri];
            out.runs.push(SettledRun {
                time_ns: sane_time(root.end_ns, arrival),
                who: run_who[r].clone(),
                trace_id: trace,
                span_id: run.span_id,
                scenario: rf.scenario.clone(),
                outcome: run.outcome,
                duration_ms: root.duration_ns() as f64 / 1e6,
                steps: run.llm_calls + run.tool_calls,
                retries: run.retries,
                handoffs: run.handoffs,
                step_budget: rf.step_budget,
                red_team: rf.red_team || owned.iter().any(|&i| facts[i].red_team),
                attack_succeeded: rf.attack_succeeded.or_else(|| owned.iter().find_map(|&i| facts[i].attack_succeeded)),
                usage: owned.iter().filter_map(|&i| usage_of(&facts[i])).collect(),
                guardrail_trips: trips,
                leak,
            });
        }

        for (i, &pos) in span_pos.iter().enumerate() {
            if self.spans[pos].rolled {
                continue;
            }
            let span = spans[i];
            let who = &who[i];
            let time_ns = sane_time(span.end_ns, self.spans[pos].arrival_ms);
            let f = &mut facts[i];
            let kind = match f.role {
                SpanRole::Llm => usage_of(f).map(|usage| CallKind::Llm {
                    model: f.llm.as_ref().and_then(|l| l.model.clone()),
                    provider: f.llm.as_ref().and_then(|l| l.provider.clone()),
                    usage,
                    error_type: f.error_type.clone(),
                }),
                SpanRole::Tool => f.tool.as_ref().map(|t| CallKind::Tool {
                    name: t.name.clone().unwrap_or_else(|| Text::clone(&span.name)),
                    error_class: t.error_class,
                    side_effect: t.side_effect,
                }),
                SpanRole::Guardrail => Some(CallKind::Guardrail),
                _ => None,
            };
            if let Some(kind) = kind {
                let failed = f.is_error || f.tool.as_ref().is_some_and(|t| t.error_class.is_some());
                out.calls.push(SettledCall {
                    time_ns,
                    who: who.clone(),
                    kind,
                    latency_ms: span.duration_ns() as f64 / 1e6,
                    failed,
                    retry: f.retry,
                });
            }
            for g in std::mem::take(&mut f.guardrails) {
                out.events.push(SettledEvent { time_ns, who: who.clone(), kind: EventKind::Guardrail(g) });
            }
            for e in std::mem::take(&mut f.evaluations) {
                out.events.push(SettledEvent { time_ns, who: who.clone(), kind: EventKind::Evaluation(e) });
            }
            for d in std::mem::take(&mut f.tool_decisions) {
                out.events.push(SettledEvent { time_ns, who: who.clone(), kind: EventKind::ToolDecision(d) });
            }
        }
        for &li in &log_pos {
            if self.logs[li].rolled {
                continue;
            }
            let log = &self.logs[li].item;
            if let Some(fact) = &log.fact {
                let owner = log
                    .span_id
                    .and_then(|s| spans.iter().position(|sp| sp.span_id == s))
                    .map(|i| who[i].clone())
                    .or_else(|| run_who.first().cloned())
                    .unwrap_or_else(|| who_of_log(log));
                out.events.push(SettledEvent {
                    time_ns: sane_time(log.time_ns, self.logs[li].arrival_ms),
                    who: owner,
                    kind: event_of(fact),
                });
            }
        }

        for &pos in &span_pos {
            self.spans[pos].rolled = true;
        }
        for &li in &log_pos {
            self.logs[li].rolled = true;
        }
        if let Some(entry) = self.traces.get_mut(&trace) {
            entry.rolled_runs.extend(newly_rolled_runs);
        }
        self.outbox = out;
    }

    /// Settles a log record with no trace at once.
    pub(super) fn settle_orphan_log(&mut self, log: &LogRecord, arrival_ms: u64) {
        if let Some(fact) = &log.fact {
            self.outbox.events.push(SettledEvent {
                time_ns: sane_time(log.time_ns, arrival_ms),
                who: who_of_log(log),
                kind: event_of(fact),
            });
        }
    }

    /// Takes everything settled so far, leaving room for as much again (an outbox regrown by
    /// doubling from empty every time was copied a dozen times per hand-over).
    pub fn take_settled(&mut self) -> Settled {
        let room = Settled {
            runs: Vec::with_capacity(self.outbox.runs.len()),
            calls: Vec::with_capacity(self.outbox.calls.len()),
            events: Vec::with_capacity(self.outbox.events.len()),
        };
        std::mem::replace(&mut self.outbox, room)
    }
}
