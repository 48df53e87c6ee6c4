//! Run assembly: which spans of a trace are runs (DESIGN §5, first row) and what they hold.
//!
//! Order-independent: the same spans give the same runs whatever order they arrived in, so a
//! trace is simply re-assembled whenever a span of it arrives.

use rustc_hash::FxHashMap;
use serde::Serialize;

use std::borrow::Cow;

use crate::model::{Outcome, SpanFacts, SpanId, SpanRole, StatusCode, Text};
use crate::semconv::intern;

use super::record::SpanRecord;

/// A run as assembled from the spans of its trace present in the hot window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run's own span.
    #[serde(serialize_with = "crate::store::assemble::hex_id")]
    pub span_id: SpanId,
    /// Agent name (shared with the spans that said it).
    pub agent: Text,
    /// Agent version, when known.
    pub version: Option<Text>,
    /// Outcome: explicit attribute, else ERROR status ⇒ failure, else success.
    pub outcome: Outcome,
    /// Start, ns since the epoch.
    pub start_ns: u64,
    /// End, ns since the epoch.
    pub end_ns: u64,
    /// Spans in the run (itself included).
    pub spans: u32,
    /// LLM calls in the run.
    pub llm_calls: u32,
    /// Tool calls in the run.
    pub tool_calls: u32,
    /// Failed tool calls in the run.
    pub tool_errors: u32,
    /// Other agents invoked inside this run.
    pub handoffs: u32,
    /// LLM and tool calls in the run that were retries.
    pub retries: u32,
    /// A guardrail blocked something in the run.
    pub blocked: bool,
    /// The usage of the run's LLM calls (kept here so the Runs view needs no re-mapping once
    /// the spans' facts are let go).
    #[serde(skip)]
    pub usage: Vec<super::settle::Usage>,
}

/// The runs of a trace and which run each span belongs to.
#[derive(Debug, Clone, Default)]
pub struct Assembly {
    /// The runs.
    pub runs: Vec<RunRecord>,
    /// For each span (same order as given), the index of its run.
    pub owner: Vec<Option<usize>>,
}

/// What the store calls an agent, version or environment nobody named.
pub const UNKNOWN: &str = "unknown";

impl RunRecord {
    /// The version, or `unknown`.
    pub fn version_label(&self) -> &str {
        self.version.as_deref().unwrap_or(UNKNOWN)
    }
}

/// Serializes an id as lower-case hex.
pub fn hex_id<S: serde::Serializer>(id: &SpanId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(id))
}

/// Finds the runs among the spans of one trace, and the run each span belongs to.
pub fn assemble_with_owners(spans: &[&SpanRecord]) -> Assembly {
    let facts: Vec<Cow<'_, SpanFacts>> = spans.iter().map(|s| s.facts()).collect();
    assemble_with_facts(spans, &facts)
}

/// Spans a trace may have before its parents are found through a map rather than by a scan (a
/// trace has a handful; the map was most of the allocations of assembling one).
const SCAN_PARENTS_UP_TO: usize = 16;

/// Each span's parent among `spans` (by position), `None` for a root or a parent not present.
fn parents(spans: &[&SpanRecord]) -> Vec<Option<usize>> {
    let not_itself = |i: usize, p: Option<usize>| p.filter(|&p| p != i);
    if spans.len() <= SCAN_PARENTS_UP_TO {
        let find = |id: SpanId| spans.iter().position(|s| s.span_id == id);
        return spans.iter().enumerate().map(|(i, s)| not_itself(i, s.parent.and_then(find))).collect();
    }
    let index: FxHashMap<SpanId, usize> = spans.iter().enumerate().map(|(i, s)| (s.span_id, i)).collect();
    spans.iter().enumerate().map(|(i, s)| not_itself(i, s.parent.and_then(|p| index.get(&p).copied()))).collect()
}

/// The same, with each span's facts at hand (`facts[i]` for `spans[i]`).
fn assemble_with_facts(spans: &[&SpanRecord], facts: &[Cow<'_, SpanFacts>]) -> Assembly {
    let parent = parents(spans);

    let best = facts.iter().filter_map(|f| f.run_marker).min();
    let is_candidate = |i: usize| match best {
        Some(tier) => facts[i].run_marker == Some(tier),
        None => spans[i].parent.is_none(),
    };
    // A candidate with a candidate above it is nested (a handoff), not a run.
    let is_run: Vec<bool> = (0..spans.len())
        .map(|i| {
            if !is_candidate(i) {
                return false;
            }
            let mut cur = parent[i];
            let mut steps = 0;
            while let Some(p) = cur {
                if is_candidate(p) {
                    return false;
                }
                steps += 1;
                if steps > spans.len() {
                    break; // a parent cycle in bad data
                }
                cur = parent[p];
            }
            true
        })
        .collect();

    // Each run's slot among the runs, by span position (`owners` doubles as that map).
    let mut owners = vec![None; spans.len()];
    let mut runs: Vec<RunRecord> = Vec::with_capacity(is_run.iter().filter(|r| **r).count());
    for (i, span) in spans.iter().enumerate().filter(|(i, _)| is_run[*i]) {
        let f = &facts[i];
        let outcome =
            f.outcome.unwrap_or(if span.status == StatusCode::Error { Outcome::Failure } else { Outcome::Success });
        owners[i] = Some(runs.len());
        runs.push(RunRecord {
            span_id: span.span_id,
            agent: f.agent_name.clone().unwrap_or_else(|| intern(UNKNOWN)),
            version: f.agent_version.clone(),
            outcome,
            start_ns: span.start_ns,
            end_ns: span.end_ns,
            spans: 0,
            llm_calls: 0,
            tool_calls: 0,
            tool_errors: 0,
            handoffs: 0,
            retries: 0,
            blocked: false,
            usage: Vec::new(),
        });
    }
    if runs.is_empty() {
        return Assembly { runs, owner: owners };
    }
    // Each span belongs to the nearest run at or above it.
    for i in 0..spans.len() {
        let mut cur = Some(i);
        let mut steps = 0;
        let owner = loop {
            match cur {
                Some(c) if is_run[c] => break owners[c],
                Some(c) if steps <= spans.len() => {
                    steps += 1;
                    cur = parent[c];
                }
                _ => break None,
            }
        };
        let Some(slot) = owner else { continue };
        owners[i] = Some(slot);
        let run = &mut runs[slot];
        run.spans += 1;
        let f = &facts[i];
        run.blocked |= f.guardrails.iter().any(|g| g.verdict == crate::model::GuardrailVerdict::Block);
        if f.retry && matches!(f.role, SpanRole::Llm | SpanRole::Tool) {
            run.retries += 1;
        }
        match f.role {
            SpanRole::Llm => run.llm_calls += 1,
            SpanRole::Tool => {
                run.tool_calls += 1;
                run.tool_errors += u32::from(f.tool.as_ref().is_some_and(|t| t.error_class.is_some()));
            }
            SpanRole::Agent if !is_run[i] && f.agent_name.as_deref() != Some(&*run.agent) => {
                run.handoffs += 1;
            }
            _ => {}
        }
    }
    // The usage lists at their exact size: a trace is assembled once or twice and then kept.
    for run in &mut runs {
        run.usage.reserve_exact(run.llm_calls as usize);
    }
    for (f, owner) in facts.iter().zip(&owners) {
        if let (Some(slot), SpanRole::Llm) = (owner, f.role) {
            runs[*slot].usage.extend(super::settle::usage_of(f));
        }
    }
    Assembly { runs, owner: owners }
}
