//! Records as ingest hands them to the store: validated, mapped, owned.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

pub use super::attrs::{AttrRef, Attrs, AttrsBuilder, KeyRef};
use crate::model::{SpanFacts, SpanId, SpanRole, StatusCode, Text, TraceId};
use crate::semconv::{self, EventFact, SpanInput};

/// An attribute value as the store keeps it; huge strings are cut at a limit.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A string (possibly cut; see `Truncated`).
    Str(Box<str>),
    /// A string longer than the limit: its first bytes and its full size.
    Truncated {
        /// The kept prefix.
        prefix: Box<str>,
        /// The size of the whole value, bytes.
        original_bytes: usize,
    },
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// Arrays and maps, as JSON text (cut like strings).
    Json(Box<str>),
    /// Bytes: only their size is kept.
    Bytes {
        /// How many.
        bytes: usize,
    },
}

impl AttrValue {
    /// A string value cut to at most `limit` bytes on a character boundary.
    pub fn text(s: &str, limit: usize) -> Self {
        if s.len() <= limit {
            return Self::Str(s.into());
        }
        let mut end = limit;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Self::Truncated { prefix: s[..end].into(), original_bytes: s.len() }
    }

    /// Heap bytes this value holds (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Self::Str(s) | Self::Json(s) => s.len(),
            Self::Truncated { prefix, .. } => prefix.len(),
            _ => 0,
        }
    }
}

/// The resource a batch of spans, logs or points came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceRecord {
    /// `service.name`, when set.
    pub service: Option<String>,
    /// All resource attributes.
    pub attrs: Attrs,
}

/// A span event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Event name, shared like span names.
    pub name: Text,
    /// Time, ns since the epoch.
    pub time_ns: u64,
    /// Event attributes.
    pub attrs: Attrs,
}

/// A validated span with what the mapping read from it.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
    /// Parent span id, `None` for a root.
    pub parent: Option<SpanId>,
    /// Span name, shared with the other spans of that name (names are few; see
    /// `ingest::convert::shared`).
    pub name: Text,
    /// OTLP span kind number.
    pub kind: i32,
    /// Start, ns since the epoch (as sent).
    pub start_ns: u64,
    /// End, ns since the epoch (as sent).
    pub end_ns: u64,
    /// Status code.
    pub status: StatusCode,
    /// Status message.
    pub status_message: Box<str>,
    /// Attributes, values cut at the limit.
    pub attrs: Attrs,
    /// Events.
    pub events: Box<[EventRecord]>,
    /// The resource, shared by the spans of one resource block.
    pub resource: Arc<ResourceRecord>,
    /// What the span is (kept when the facts are let go).
    pub role: SpanRole,
    /// What the mapping read, until the trace is settled; then read again from the attributes
    /// on the rare occasions it is needed (a late span, a drill-down), so a hot span costs its
    /// attributes once rather than twice.
    pub(crate) facts: Option<Box<SpanFacts>>,
}

impl SpanRecord {
    /// Duration in ns; 0 when the end is before the start.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// What the span means: kept, or mapped again from the stored attributes.
    pub fn facts(&self) -> Cow<'_, SpanFacts> {
        match &self.facts {
            Some(f) => Cow::Borrowed(f),
            None => Cow::Owned(self.map()),
        }
    }

    /// Maps the stored span (the ingest path maps the wire message instead).
    pub fn map(&self) -> SpanFacts {
        semconv::map_span(
            SpanInput {
                name: &self.name,
                is_error: self.status == StatusCode::Error,
                attrs: &self.attrs,
                resource: &self.resource.attrs,
            },
            self.events.iter().map(|e| (&*e.name, &e.attrs)),
        )
    }

    /// Lets the kept facts go; returns the bytes that frees.
    pub fn drop_facts(&mut self) -> usize {
        self.facts.take().map_or(0, |f| facts_heap_bytes(&f))
    }

    /// Heap bytes of the kept facts (0 once let go).
    pub fn facts_bytes(&self) -> usize {
        self.facts.as_deref().map_or(0, facts_heap_bytes)
    }
}

/// Approximate heap bytes of a boxed `SpanFacts`. Its texts are interned: shared with every
/// other span that says the same, and bounded by the ingest threads' caches, so not charged.
fn facts_heap_bytes(f: &SpanFacts) -> usize {
    super::heap(std::mem::size_of::<SpanFacts>())
        + f.guardrails.len() * 96
        + f.evaluations.len() * 64
        + f.tool_decisions.len() * 48
}

/// A log record, joined to its span by trace and span id when it has them.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// Time (or observed time), ns since the epoch.
    pub time_ns: u64,
    /// Trace id, when the log was emitted inside a span.
    pub trace_id: Option<TraceId>,
    /// Span id, when the log was emitted inside a span.
    pub span_id: Option<SpanId>,
    /// Severity number (0 = unset).
    pub severity: i32,
    /// Event name (`event_name` field, else `event.name` attribute).
    pub event_name: Box<str>,
    /// Body as text.
    pub body: AttrValue,
    /// Attributes.
    pub attrs: Attrs,
    /// The resource.
    pub resource: Arc<ResourceRecord>,
    /// What the log means to the cockpit, if anything.
    pub fact: Option<EventFact>,
}

/// One metric data point, reduced to what the cockpit reads.
#[derive(Debug, Clone)]
pub struct PointRecord {
    /// Metric name.
    pub metric: Box<str>,
    /// Unit.
    pub unit: Box<str>,
    /// Time, ns since the epoch.
    pub time_ns: u64,
    /// Gauge/sum value, or a histogram's sum.
    pub value: f64,
    /// Histogram count (1 for gauges and sums).
    pub count: u64,
    /// Point attributes.
    pub attrs: Attrs,
    /// Exemplar trace id, when one is attached.
    pub trace_id: Option<TraceId>,
    /// Exemplar span id.
    pub span_id: Option<SpanId>,
    /// The resource.
    pub resource: Arc<ResourceRecord>,
}
