//! The semantic mapping: attribute vocabularies of several dialects → [`SpanFacts`].
//!
//! Pure and table-driven (see [`table`]): one pass over a span's attributes fills a slot per
//! known key, then each concept takes the first filled source of its row.

pub mod table;

use std::borrow::Cow;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap;

use crate::model::{
    Evaluation, GuardrailDecision, GuardrailStage, GuardrailVerdict, LlmFacts, Outcome, RunMarker, SideEffect,
    SpanFacts, SpanRole, Text, ToolCallDecision, ToolCallOutcome, ToolErrorClass, ToolFacts,
};
use crate::store::byte_cache;

/// Something the cockpit reads from the attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Concept {
    OperationName,
    OiKind,
    TraceloopKind,
    LlmRequestType,
    McpMethod,
    AgentName,
    AgentVersion,
    PromptVersion,
    Environment,
    Session,
    Scenario,
    Outcome,
    Model,
    Provider,
    InputTokens,
    OutputTokens,
    CacheReadTokens,
    ReasoningTokens,
    ReportedCost,
    ToolName,
    SideEffect,
    ErrorClass,
    ErrorType,
    Retry,
    EvalSuite,
    AttackSucceeded,
    StepBudget,
    GuardrailName,
    GuardrailStage,
    GuardrailCategory,
    GuardrailDecision,
    EventName,
    EvalName,
    EvalScore,
    EvalLabel,
    DecisionOutcome,
}

const CONCEPTS: usize = Concept::DecisionOutcome as usize + 1;

/// A condition under which a source counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Always.
    Always,
    /// Only on OpenLLMetry agent/workflow spans.
    TraceloopAgent,
    /// Only on OpenLLMetry tool spans.
    TraceloopTool,
}

/// Where a concept may be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A span (or event/log) attribute, under a guard.
    Span(&'static str, Guard),
    /// A resource attribute.
    Resource(&'static str),
}

/// An attribute value as the mapping sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// Arrays, maps, bytes: present but not a scalar.
    Other,
}

impl<'a> Value<'a> {
    /// The value as text (numbers and booleans formatted); `None` for non-scalars.
    pub fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Double(d) => Some(Cow::Owned(d.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Value::Other => None,
        }
    }

    /// The value as a non-negative whole number, when it is one (strings are parsed).
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::Double(d) if d.is_finite() && d >= 0.0 && d.fract() == 0.0 && d < 1.8e19 => Some(d as u64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a finite float, when it is one.
    pub fn as_f64(self) -> Option<f64> {
        let v = match self {
            Value::Int(i) => i as f64,
            Value::Double(d) => d,
            Value::Str(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    /// The value as a boolean (`true`/`false`, 1/0).
    pub fn as_bool(self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(b),
            Value::Int(i) => Some(i != 0),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

thread_local! {
    /// Text the mapping has read on this thread; cleared when full, so ids cannot grow it.
    static INTERNED: std::cell::RefCell<Interner> =
        std::cell::RefCell::new(Interner::new(INTERNED_MAX, Some(&KEEP_LEFT)));
    /// Session ids, apart: one per conversation, they filled `INTERNED` to its limit over and
    /// over, and every name looked up in a table that size missed the cache. Never kept for good.
    static IDS: std::cell::RefCell<Interner> = std::cell::RefCell::new(Interner::new(IDS_MAX, None));
}

/// Bytes of text the interners may still keep for good, process-wide. A kept text is never
/// freed, so its copies are cloned and dropped without touching a shared counter: the counts
/// of a fleet's few names, bumped by the ingest threads and the store thread in turn, moved
/// their cache lines from core to core several times per span. When this is spent (by ids
/// in a name's place, or by interners starting over), new texts are counted as before.
static KEEP_LEFT: AtomicUsize = AtomicUsize::new(KEEP_BYTES);
/// The most the interners keep for good (about 30,000 names of 100 bytes).
const KEEP_BYTES: usize = 4 << 20;
/// Longer texts are not names: they are counted, not kept.
const KEEP_LONGEST: usize = 128;

/// Distinct texts an ingest thread keeps before starting over.
const INTERNED_MAX: usize = 16_384;
/// Distinct session ids an ingest thread keeps (the spans of a conversation arrive together).
const IDS_MAX: usize = 1_024;

/// One thread's shared copies of texts, with the recent ones in a direct-mapped table in front
/// of the set (`store::byte_cache`): the mapping interns ~8 texts per span, and hashing each
/// into the set was most of `Filled::shared`.
struct Interner {
    set: rustc_hash::FxHashSet<Text>,
    recent: Box<[Option<Text>]>,
    max: usize,
    /// What is left of the budget for keeping texts for good; `None`: keep none.
    keep: Option<&'static AtomicUsize>,
}

impl Interner {
    fn new(max: usize, keep: Option<&'static AtomicUsize>) -> Self {
        Self { set: Default::default(), recent: vec![None; byte_cache::SLOTS].into_boxed_slice(), max, keep }
    }

    /// A new copy of `s`, kept for good while the budget lasts.
    fn copy(&self, s: &str) -> Text {
        let t = Text::from(s);
        let take = |left: usize| left.checked_sub(crate::store::text_heap(s.len()));
        if let Some(left) = self.keep
            && s.len() <= KEEP_LONGEST
            && left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, take).is_ok()
        {
            t.leak();
        }
        t
    }

    fn intern(&mut self, s: &str) -> Text {
        let at = byte_cache::slot(s.as_bytes());
        if let Some(t) = &self.recent[at]
            && byte_cache::same(t.as_bytes(), s.as_bytes())
        {
            return Text::clone(t);
        }
        let t = match self.set.get(s) {
            Some(t) => Text::clone(t),
            None => {
                if self.set.len() >= self.max {
                    self.set.clear();
                    self.recent.fill(None);
                }
                let t = self.copy(s);
                self.set.insert(Text::clone(&t));
                t
            }
        };
        self.recent[at] = Some(Text::clone(&t));
        t
    }
}

/// One shared copy of `s` per thread (per cache generation).
pub fn intern(s: &str) -> Text {
    INTERNED.with_borrow_mut(|interner| interner.intern(s))
}

/// The same for ids, which have a table of their own.
fn intern_id(s: &str) -> Text {
    IDS.with_borrow_mut(|interner| interner.intern(s))
}

/// A list of attributes the mapping can walk without copying.
pub trait AttrList {
    /// Calls `f` for every attribute, in order.
    fn visit<'s>(&'s self, f: &mut dyn FnMut(&'s str, Value<'s>));

    /// The same, with each key's interned number when the list knows it
    /// (`store::attrs::key_index`), so the mapping can find the key's slot without hashing it.
    fn visit_indexed<'s>(&'s self, f: &mut dyn FnMut(Option<usize>, &'s str, Value<'s>)) {
        self.visit(&mut |k, v| f(None, k, v));
    }
}

impl AttrList for [(&str, Value<'_>)] {
    fn visit<'s>(&'s self, f: &mut dyn FnMut(&'s str, Value<'s>)) {
        for (k, v) in self {
            f(k, *v);
        }
    }
}

/// One resolved source: which slot array, which slot, under which guard.
#[derive(Debug, Clone, Copy)]
struct Slot {
    resource: bool,
    index: usize,
    guard: Guard,
}

/// The tables compiled into key → slot maps and per-concept slot lists.
struct Compiled {
    keys: FxHashMap<&'static str, usize>,
    /// The same by interned key number: slot + 1, 0 for a key no rule reads. A key that has a
    /// number and is past the end is not one of the rules' (they were numbered first).
    by_index: Vec<u16>,
    res_keys: FxHashMap<&'static str, usize>,
    rows: Vec<Vec<Slot>>,
    /// Per concept, the bits (`bit`) of the span and resource slots its row reads: a concept
    /// none of whose slots is filled is answered without walking its row (most are absent from
    /// any one span).
    masks: Vec<(u128, u128)>,
}

/// A slot's bit in a set of filled slots; slots past 127 share the last bit, which only makes
/// the set say "maybe" more often.
fn bit(slot: usize) -> u128 {
    1 << slot.min(127)
}

/// Key number → slot + 1 for the rules' keys.
fn slots_by_index(keys: &FxHashMap<&'static str, usize>) -> Vec<u16> {
    let mut table = Vec::new();
    for (key, &slot) in keys {
        if let (Some(i), Ok(slot)) = (crate::store::attrs::key_index(key), u16::try_from(slot + 1)) {
            if table.len() <= i {
                table.resize(i + 1, 0);
            }
            table[i] = slot;
        }
    }
    table
}

impl Compiled {
    /// The slot of a span or event attribute.
    fn slot(&self, index: Option<usize>, key: &str) -> Option<usize> {
        match index {
            Some(i) => self.by_index.get(i).and_then(|s| usize::from(*s).checked_sub(1)),
            None => self.keys.get(key).copied(),
        }
    }
}

impl Compiled {
    fn new(table: &[(Concept, &[Source])]) -> Self {
        let mut keys = FxHashMap::default();
        let mut res_keys = FxHashMap::default();
        let mut rows = vec![Vec::new(); CONCEPTS];
        let mut masks = vec![(0, 0); CONCEPTS];
        for (concept, sources) in table {
            for source in *sources {
                let slot = match *source {
                    Source::Span(key, guard) => {
                        let n = keys.len();
                        let index = *keys.entry(key).or_insert(n);
                        Slot { resource: false, index, guard }
                    }
                    Source::Resource(key) => {
                        let n = res_keys.len();
                        let index = *res_keys.entry(key).or_insert(n);
                        Slot { resource: true, index, guard: Guard::Always }
                    }
                };
                let (span, resource) = &mut masks[*concept as usize];
                let side = if slot.resource { resource } else { span };
                *side |= bit(slot.index);
                rows[*concept as usize].push(slot);
            }
        }
        Self { by_index: slots_by_index(&keys), keys, res_keys, rows, masks }
    }
}

static SPAN_RULES: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(table::SPAN_TABLE));
static EVENT_RULES: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(table::EVENT_TABLE));

/// Attribute values filed by slot, with the `bit`s of the slots filled.
#[derive(Debug, Clone, Default)]
struct Slots<'a> {
    values: Vec<Option<Value<'a>>>,
    filled: u128,
}

impl<'a> Slots<'a> {
    fn new(slots: usize) -> Self {
        Self { values: vec![None; slots], filled: 0 }
    }

    /// Files `v` in slot `i`; the first occurrence of a duplicated key wins, as in most SDKs.
    fn file(&mut self, i: usize, v: Value<'a>) {
        self.values[i].get_or_insert(v);
        self.filled |= bit(i);
    }

    /// Whether any slot of `mask` may be filled.
    fn any(&self, mask: u128) -> bool {
        self.filled & mask != 0
    }
}

/// A resource's attributes filed by the span rules' resource slots: once per resource block, for
/// all the spans under it (filing them again for every span was a tenth of the mapping).
#[derive(Debug, Clone, Default)]
pub struct FiledResource<'a>(Slots<'a>);

impl<'a> FiledResource<'a> {
    /// Files `resource`.
    pub fn new<R: AttrList + ?Sized>(resource: &'a R) -> Self {
        let rules = &*SPAN_RULES;
        let mut slots = Slots::new(rules.res_keys.len());
        resource.visit(&mut |k, v| {
            if let Some(&i) = rules.res_keys.get(k) {
                slots.file(i, v);
            }
        });
        Self(slots)
    }
}

/// The attribute values of one span (and its resource) filed by slot.
struct Filled<'a, 'r> {
    rules: &'static Compiled,
    span: Slots<'a>,
    resource: &'r Slots<'a>,
    traceloop_kind: Option<&'a str>,
}

impl<'a, 'r> Filled<'a, 'r> {
    fn new<A>(rules: &'static Compiled, attrs: &'a A, resource: &'r FiledResource<'a>) -> Self
    where
        A: AttrList + ?Sized,
    {
        let mut span = Slots::new(rules.keys.len());
        attrs.visit_indexed(&mut |index, k, v| {
            if let Some(i) = rules.slot(index, k) {
                span.file(i, v);
            }
        });
        let mut filled = Self { rules, span, resource: &resource.0, traceloop_kind: None };
        if let Some(Value::Str(kind)) = filled.get(Concept::TraceloopKind) {
            filled.traceloop_kind = Some(kind);
        }
        filled
    }

    fn guard_holds(&self, guard: Guard) -> bool {
        match guard {
            Guard::Always => true,
            Guard::TraceloopAgent => self
                .traceloop_kind
                .is_some_and(|k| table::TRACELOOP_AGENT_KINDS.iter().any(|a| a.eq_ignore_ascii_case(k))),
            Guard::TraceloopTool => self.traceloop_kind.is_some_and(|k| k.eq_ignore_ascii_case("tool")),
        }
    }

    /// The first present source of a concept.
    fn get(&self, concept: Concept) -> Option<Value<'a>> {
        let (span, resource) = self.rules.masks[concept as usize];
        if !self.span.any(span) && !self.resource.any(resource) {
            return None;
        }
        self.rules.rows[concept as usize].iter().find_map(|slot| {
            if !self.guard_holds(slot.guard) {
                return None;
            }
            let slots = if slot.resource { self.resource } else { &self.span };
            slots.values.get(slot.index).copied().flatten().filter(|v| !matches!(v, Value::Str("")))
        })
    }

    fn text(&self, concept: Concept) -> Option<String> {
        self.get(concept).and_then(Value::text).map(Cow::into_owned)
    }

    /// The concept's text read as `T` (without copying it out first).
    fn parsed<T>(&self, concept: Concept, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        self.get(concept).and_then(Value::text).and_then(|t| parse(&t))
    }

    /// The concept's text, interned.
    fn shared(&self, concept: Concept) -> Option<Text> {
        self.get(concept).and_then(Value::text).map(|t| intern(&t))
    }

    /// The concept's text, interned among ids.
    fn shared_id(&self, concept: Concept) -> Option<Text> {
        self.get(concept).and_then(Value::text).map(|t| intern_id(&t))
    }

    fn str_is(&self, concept: Concept, options: &[&str]) -> bool {
        matches!(self.get(concept), Some(Value::Str(s)) if options.iter().any(|o| o.eq_ignore_ascii_case(s)))
    }

    fn u64(&self, concept: Concept) -> Option<u64> {
        self.get(concept).and_then(Value::as_u64)
    }
}

/// What one span event or log record means, if anything the cockpit reads.
#[derive(Debug, Clone, PartialEq)]
pub enum EventFact {
    /// A guardrail decision.
    Guardrail(GuardrailDecision),
    /// An evaluation result.
    Evaluation(Evaluation),
    /// A tool-call decision.
    ToolDecision(ToolCallDecision),
}

/// Maps one span event or log record (its name, else its `event.name` attribute).
pub fn map_event<A: AttrList + ?Sized>(name: &str, attrs: &A) -> Option<EventFact> {
    let no_resource = FiledResource::default();
    let f = Filled::new(&EVENT_RULES, attrs, &no_resource);
    let attr_name = f.text(Concept::EventName);
    let name = if name.is_empty() { attr_name.as_deref().unwrap_or("") } else { name };
    if table::EVALUATION_EVENTS.contains(&name) || (name.is_empty() && f.get(Concept::EvalName).is_some()) {
        let eval_name = f.text(Concept::EvalName)?;
        return Some(EventFact::Evaluation(Evaluation {
            name: eval_name,
            score: f.get(Concept::EvalScore).and_then(Value::as_f64),
            label: f.text(Concept::EvalLabel),
        }));
    }
    if table::TOOL_DECISION_EVENTS.contains(&name) {
        let outcome = f.get(Concept::DecisionOutcome).and_then(Value::text)?;
        return Some(EventFact::ToolDecision(ToolCallDecision {
            tool: f.text(Concept::ToolName),
            outcome: ToolCallOutcome::parse(&outcome)?,
        }));
    }
    if table::GUARDRAIL_EVENTS.contains(&name) || f.get(Concept::GuardrailDecision).is_some() {
        let decision = f.get(Concept::GuardrailDecision).and_then(Value::text)?;
        return Some(EventFact::Guardrail(GuardrailDecision {
            name: f.text(Concept::GuardrailName).unwrap_or_else(|| "guardrail".to_owned()),
            stage: f.parsed(Concept::GuardrailStage, |s| Some(GuardrailStage::parse(s))).unwrap_or_default(),
            category: f.text(Concept::GuardrailCategory),
            verdict: GuardrailVerdict::parse(&decision).unwrap_or(GuardrailVerdict::Flag),
        }));
    }
    None
}

/// Classifies an `error.type` value into a tool error class.
pub fn classify_error_type(error_type: &str) -> ToolErrorClass {
    let lower = error_type.trim().to_ascii_lowercase();
    if let Some((_, class)) = table::ERROR_TYPE_EXACT.iter().find(|(k, _)| *k == lower) {
        return *class;
    }
    table::ERROR_TYPE_CONTAINS
        .iter()
        .find(|(k, _)| lower.contains(k))
        .map_or(ToolErrorClass::Other, |(_, class)| *class)
}

/// The parts of a span the mapping needs.
pub struct SpanInput<'a, A: AttrList + ?Sized, R: AttrList + ?Sized> {
    /// The span name.
    pub name: &'a str,
    /// Whether the span status is ERROR.
    pub is_error: bool,
    /// The span's attributes.
    pub attrs: &'a A,
    /// The resource's attributes.
    pub resource: &'a R,
}

/// Maps one span (and its events, given as name + attributes) to what it means.
pub fn map_span<'a, A, R, E>(input: SpanInput<'a, A, R>, events: E) -> SpanFacts
where
    A: AttrList + ?Sized + 'a,
    R: AttrList + ?Sized,
    E: IntoIterator<Item = (&'a str, &'a A)>,
{
    let resource = FiledResource::new(input.resource);
    map_span_under(&resource, input.name, input.is_error, input.attrs, events)
}

/// The same, for a span under a resource already filed (the ingest path files each once).
pub fn map_span_under<'a, A, E>(
    resource: &FiledResource<'a>,
    name: &str,
    is_error: bool,
    attrs: &'a A,
    events: E,
) -> SpanFacts
where
    A: AttrList + ?Sized + 'a,
    E: IntoIterator<Item = (&'a str, &'a A)>,
{
    let f = Filled::new(&SPAN_RULES, attrs, resource);
    let op = f.get(Concept::OperationName);
    let op_is = |options: &[&str]| matches!(op, Some(Value::Str(s)) if options.contains(&s));

    let run_marker = if op_is(table::AGENT_OPERATIONS) {
        Some(RunMarker::GenAi)
    } else if f.str_is(Concept::OiKind, table::OI_AGENT_KINDS) {
        Some(RunMarker::OpenInference)
    } else if f.str_is(Concept::TraceloopKind, table::TRACELOOP_AGENT_KINDS) {
        Some(RunMarker::Traceloop)
    } else {
        None
    };

    let is_guardrail_name = name.starts_with("apply_guardrail");
    let role = if op_is(table::AGENT_OPERATIONS) {
        SpanRole::Agent
    } else if op_is(&["execute_tool"]) {
        SpanRole::Tool
    } else if op_is(table::LLM_OPERATIONS) {
        SpanRole::Llm
    } else if op_is(&["apply_guardrail"]) {
        SpanRole::Guardrail
    } else if f.str_is(Concept::OiKind, &["TOOL"]) || f.str_is(Concept::TraceloopKind, &["tool"]) {
        SpanRole::Tool
    } else if f.str_is(Concept::OiKind, table::OI_LLM_KINDS) || f.get(Concept::LlmRequestType).is_some() {
        SpanRole::Llm
    } else if f.str_is(Concept::OiKind, &["GUARDRAIL"]) || is_guardrail_name {
        SpanRole::Guardrail
    } else if f.str_is(Concept::McpMethod, &["tools/call"]) {
        SpanRole::Tool
    } else if run_marker.is_some() {
        SpanRole::Agent
    } else if f.get(Concept::GuardrailDecision).is_some() && f.get(Concept::GuardrailName).is_some() {
        SpanRole::Guardrail
    } else {
        SpanRole::Other
    };

    let error_type = f.shared(Concept::ErrorType);
    let mut facts = SpanFacts {
        role,
        run_marker,
        agent_name: f.shared(Concept::AgentName),
        agent_version: f.shared(Concept::AgentVersion),
        prompt_version: f.shared(Concept::PromptVersion),
        environment: f.shared(Concept::Environment),
        session: f.shared_id(Concept::Session),
        scenario: f.shared(Concept::Scenario),
        outcome: f.parsed(Concept::Outcome, Outcome::parse),
        retry: f.get(Concept::Retry).and_then(Value::as_f64).is_some_and(|n| n > 0.0),
        red_team: f.str_is(Concept::EvalSuite, &["red_team", "redteam", "red-team"]),
        attack_succeeded: f.get(Concept::AttackSucceeded).and_then(Value::as_bool),
        step_budget: f.u64(Concept::StepBudget),
        is_error,
        error_type,
        ..SpanFacts::default()
    };

    if role == SpanRole::Llm {
        facts.llm = Some(LlmFacts {
            model: f.shared(Concept::Model),
            provider: f.shared(Concept::Provider),
            input_tokens: f.u64(Concept::InputTokens),
            output_tokens: f.u64(Concept::OutputTokens),
            cache_read_tokens: f.u64(Concept::CacheReadTokens),
            reasoning_tokens: f.u64(Concept::ReasoningTokens),
            reported_cost_usd: f.get(Concept::ReportedCost).and_then(Value::as_f64).filter(|c| *c >= 0.0),
        });
    }

    if role == SpanRole::Tool {
        let name = f.shared(Concept::ToolName).or_else(|| tool_name_from_span_name(name).map(|n| intern(&n)));
        let error_class = f
            .parsed(Concept::ErrorClass, ToolErrorClass::parse)
            .or_else(|| facts.error_type.as_deref().map(classify_error_type))
            .or(is_error.then_some(ToolErrorClass::Other));
        facts.tool = Some(ToolFacts {
            name,
            side_effect: f.parsed(Concept::SideEffect, SideEffect::parse).unwrap_or_default(),
            error_class,
        });
    }

    let decision = f.get(Concept::GuardrailDecision).and_then(Value::text);
    if role == SpanRole::Guardrail || decision.is_some() {
        let verdict = match decision {
            Some(d) => GuardrailVerdict::parse(&d).unwrap_or(GuardrailVerdict::Flag),
            None if is_error => GuardrailVerdict::Block,
            None => GuardrailVerdict::Allow,
        };
        let guardrail = f.text(Concept::GuardrailName).unwrap_or_else(|| {
            name.strip_prefix("apply_guardrail").map(str::trim).filter(|s| !s.is_empty()).unwrap_or(name).to_owned()
        });
        facts.guardrails.push(GuardrailDecision {
            name: guardrail,
            stage: f.parsed(Concept::GuardrailStage, |s| Some(GuardrailStage::parse(s))).unwrap_or_default(),
            category: f.text(Concept::GuardrailCategory),
            verdict,
        });
    }

    for (name, attrs) in events {
        match map_event(name, attrs) {
            Some(EventFact::Guardrail(g)) => facts.guardrails.push(g),
            Some(EventFact::Evaluation(e)) => facts.evaluations.push(e),
            Some(EventFact::ToolDecision(d)) => facts.tool_decisions.push(d),
            None => {}
        }
    }
    facts
}

/// `execute_tool get_weather` → `get_weather`; MCP `tools/call get_weather` → `get_weather`.
fn tool_name_from_span_name(name: &str) -> Option<String> {
    let target =
        name.strip_prefix("tools/call").or_else(|| name.strip_prefix("execute_tool")).map(str::trim).unwrap_or(name);
    (!target.is_empty()).then(|| target.to_owned())
}

#[cfg(test)]
mod tests;
