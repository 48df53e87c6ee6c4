//! Read-side queries of the hot window: recent runs, one trace's spans, recent guardrail events.

use serde::{Deserialize, Serialize};

use super::Store;
use super::record::{AttrValue, SpanRecord};
use super::settle::Usage;
use crate::model::{GuardrailVerdict, Outcome, SpanRole, StatusCode, TraceId};

/// One run, as the Traces view lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// End, ns since the epoch.
    pub end_ns: u64,
    /// Trace id (hex).
    pub trace_id: String,
    /// Agent.
    pub agent: String,
    /// Version.
    pub version: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Duration, ms.
    pub duration_ms: f64,
    /// LLM + tool calls.
    pub steps: u32,
    /// Tool calls.
    pub tool_calls: u32,
    /// Failed tool calls.
    pub tool_errors: u32,
    /// LLM usage (for cost).
    #[serde(skip)]
    pub usage: Vec<Usage>,
    /// Cost, USD, when every call was priced.
    pub cost_usd: Option<f64>,
    /// A guardrail blocked something in it.
    pub blocked: bool,
}

/// One attribute for display.
pub type AttrView = (String, AttrValue);

/// A span event for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// Name.
    pub name: String,
    /// Time, ns.
    pub time_ns: u64,
    /// Attributes.
    pub attrs: Vec<AttrView>,
}

/// One span of a trace, in tree order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    /// Span id (hex).
    pub span_id: String,
    /// Depth in the tree (0 = root or orphan).
    pub depth: u16,
    /// Name.
    pub name: String,
    /// What it is.
    pub role: SpanRole,
    /// Start, ns.
    pub start_ns: u64,
    /// End, ns.
    pub end_ns: u64,
    /// Failed.
    pub error: bool,
    /// Status message.
    pub status_message: String,
    /// A guardrail blocked here.
    pub blocked: bool,
    /// Span attributes.
    pub attrs: Vec<AttrView>,
    /// Resource attributes.
    pub resource: Vec<AttrView>,
    /// Events.
    pub events: Vec<EventView>,
}

/// A trace: its spans as a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceView {
    /// Trace id (hex).
    pub trace_id: String,
    /// Spans in depth-first order, children by start time.
    pub spans: Vec<SpanView>,
}

/// A recent guardrail decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardEvent {
    /// When, ns.
    pub time_ns: u64,
    /// Agent.
    pub agent: String,
    /// Guardrail.
    pub name: String,
    /// Category.
    pub category: String,
    /// Stage.
    pub stage: String,
    /// Decision.
    pub verdict: GuardrailVerdict,
    /// Trace (hex).
    pub trace_id: String,
}

fn attrs_view(attrs: &super::record::Attrs) -> Vec<AttrView> {
    attrs.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn span_view(s: &SpanRecord, depth: u16) -> SpanView {
    SpanView {
        span_id: hex::encode(s.span_id),
        depth,
        name: s.name.to_string(),
        role: s.role,
        start_ns: s.start_ns,
        end_ns: s.end_ns,
        error: s.status == StatusCode::Error,
        status_message: s.status_message.to_string(),
        blocked: blocked(s),
        attrs: attrs_view(&s.attrs),
        resource: attrs_view(&s.resource.attrs),
        events: s
            .events
            .iter()
            .map(|e| EventView { name: e.name.to_string(), time_ns: e.time_ns, attrs: attrs_view(&e.attrs) })
            .collect(),
    }
}

fn blocked(s: &SpanRecord) -> bool {
    s.facts().guardrails.iter().any(|g| g.verdict == GuardrailVerdict::Block)
}

/// A guardrail decision as the store remembers it for the feed.
#[derive(Debug, Clone)]
pub struct GuardSeen {
    /// When (the span's end).
    pub time_ns: u64,
    /// Its trace.
    pub trace_id: TraceId,
    /// The agent.
    pub agent: String,
    /// The decision.
    pub decision: crate::model::GuardrailDecision,
}

impl Store {
    fn spans_of(&self, trace: &TraceId) -> Vec<&SpanRecord> {
        let Some(entry) = self.traces.get(trace) else { return Vec::new() };
        self.span_positions(entry).into_iter().map(|i| &self.spans[i].item).collect()
    }

    /// The newest runs (newest first) that pass `keep`, at most `limit`.
    pub fn recent_runs(&self, limit: usize, keep: &dyn Fn(&RunRow) -> bool) -> Vec<RunRow> {
        let mut out = Vec::new();
        for (_, trace, span_id) in self.run_index.iter().rev() {
            if out.len() >= limit {
                break;
            }
            let Some(entry) = self.traces.get(trace) else { continue };
            let Some(run) = entry.runs.iter().find(|r| r.span_id == *span_id) else { continue };
            let row = RunRow {
                end_ns: run.end_ns,
                trace_id: hex::encode(trace),
                agent: run.agent.to_string(),
                version: run.version_label().to_owned(),
                outcome: run.outcome,
                duration_ms: run.end_ns.saturating_sub(run.start_ns) as f64 / 1e6,
                steps: run.llm_calls + run.tool_calls,
                tool_calls: run.tool_calls,
                tool_errors: run.tool_errors,
                usage: run.usage.clone(),
                cost_usd: None,
                blocked: run.blocked,
            };
            if keep(&row) {
                out.push(row);
            }
        }
        out
    }

    /// One trace's spans as a tree (depth-first, children by start time).
    pub fn trace(&self, trace: &TraceId) -> Option<TraceView> {
        let spans = self.spans_of(trace);
        if spans.is_empty() {
            return None;
        }
        let ids: rustc_hash::FxHashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
        let mut roots: Vec<&SpanRecord> =
            spans.iter().copied().filter(|s| s.parent.is_none_or(|p| !ids.contains(&p))).collect();
        roots.sort_by_key(|s| s.start_ns);
        let mut out = Vec::with_capacity(spans.len());
        let mut stack: Vec<(&SpanRecord, u16)> = roots.into_iter().rev().map(|s| (s, 0)).collect();
        let mut seen = rustc_hash::FxHashSet::default();
        while let Some((s, depth)) = stack.pop() {
            if !seen.insert(s.span_id) {
                continue; // a parent cycle in bad data
            }
            out.push(span_view(s, depth));
            let mut children: Vec<&SpanRecord> =
                spans.iter().copied().filter(|c| c.parent == Some(s.span_id)).collect();
            children.sort_by_key(|c| std::cmp::Reverse(c.start_ns));
            stack.extend(children.into_iter().map(|c| (c, depth.saturating_add(1))));
        }
        // Spans only reachable through a cycle still show, at the top level.
        for s in spans.iter().filter(|s| !seen.contains(&s.span_id)) {
            out.push(span_view(s, 0));
        }
        Some(TraceView { trace_id: hex::encode(trace), spans: out })
    }

    /// The newest guardrail decisions (newest first, by when they were made), at most `limit`.
    pub fn recent_guardrail_events(&self, limit: usize) -> Vec<GuardEvent> {
        // Kept in the order their spans arrived, which is not the order they were made in (an
        // export's spans come in any order): sorted, so the Safety view's ages read downwards.
        let mut newest: Vec<&GuardSeen> = self.guard_events.iter().collect();
        newest.sort_by_key(|g| std::cmp::Reverse(g.time_ns));
        newest
            .into_iter()
            .take(limit)
            .map(|g| GuardEvent {
                time_ns: g.time_ns,
                agent: g.agent.clone(),
                name: g.decision.name.clone(),
                category: g.decision.category.clone().unwrap_or_default(),
                stage: format!("{:?}", g.decision.stage).to_ascii_lowercase(),
                verdict: g.decision.verdict,
                trace_id: hex::encode(g.trace_id),
            })
            .collect()
    }
}

/// Whether a run row matches a filter.
pub fn run_matches(row: &RunRow, filter: &Filter) -> bool {
    let text = format!("{} {} {} {}", row.agent, row.version, row.outcome.as_str(), row.trace_id);
    filter.matches(&text)
}

/// A `/` filter: a case-insensitive regular expression (`billing|research`, `^support`, `4\.2`);
/// text that is not a valid expression matches as a plain substring.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Matches everything.
    All,
    /// A regular expression.
    Regex(regex::Regex),
    /// A lower-cased substring.
    Substring(String),
}

impl Filter {
    /// Parses a filter line.
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        if s.is_empty() {
            return Self::All;
        }
        match regex::RegexBuilder::new(s).case_insensitive(true).size_limit(1 << 20).build() {
            Ok(re) => Self::Regex(re),
            Err(_) => Self::Substring(s.to_lowercase()),
        }
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Self::All => true,
            Self::Regex(re) => re.is_match(text),
            Self::Substring(sub) => text.to_lowercase().contains(sub.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn filters_are_regexes_or_substrings() {
        assert!(Filter::parse("").matches("anything"));
        assert!(Filter::parse("BILLING").matches("billing-ops 1.8"));
        assert!(Filter::parse("billing|research").matches("research-assistant"));
        assert!(Filter::parse("^support").matches("support-triage"));
        assert!(!Filter::parse("^triage").matches("support-triage"));
        assert!(Filter::parse("4\\.2").matches("support-triage 4.2"));
        // Not a valid expression: a plain substring.
        assert!(Filter::parse("(open").matches("x (open) y"));
        assert!(!Filter::parse("(open").matches("closed"));
    }
}
