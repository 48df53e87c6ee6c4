//! Per-minute rollups: counters and quantile sketches keyed by agent, version, environment and
//! model / tool / guardrail, with hour buckets kept alongside so that any window is a merge of
//! at most a few hundred buckets, never a rescan of spans.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use super::prices::{Price, PriceTable, Tokens};
use super::sketch::Sketch;
use crate::model::Text;
use crate::model::{GuardrailStage, GuardrailVerdict, Outcome, SideEffect, ToolCallOutcome, ToolErrorClass};
use crate::semconv::{classify_error_type, intern};
use crate::store::settle::{CallKind, EventKind, Settled, SettledRun, Usage, Who};

/// Minutes since the epoch.
pub type Minute = i64;

/// The minute a timestamp falls in.
pub fn minute_of(ns: u64) -> Minute {
    (ns / 60_000_000_000) as Minute
}

/// Merging two cells of the same key.
pub trait Merge {
    /// Adds `other` into `self`.
    fn merge(&mut self, other: &Self);
    /// Packs sketches (closed minutes).
    fn pack(&mut self) {}
}

/// Run figures of one (agent, version, environment, scenario).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunCell {
    /// Runs.
    pub runs: u64,
    /// Runs by outcome.
    pub success: u64,
    #[allow(missing_docs)]
    pub failure: u64,
    #[allow(missing_docs)]
    pub abandoned: u64,
    #[allow(missing_docs)]
    pub escalated: u64,
    #[allow(missing_docs)]
    pub timeout: u64,
    /// Run duration, ms.
    pub duration: Sketch,
    /// Duration of successful runs, ms (time to resolution).
    pub resolution: Sketch,
    /// Tokens (input + output) per run.
    pub tokens: Sketch,
    /// LLM + tool calls, summed over runs.
    pub steps: u64,
    /// Calls that were retries.
    pub retries: u64,
    /// Handoffs.
    pub handoffs: u64,
    /// Runs that declared a step budget.
    pub budget_runs: u64,
    /// Σ steps / budget over those runs.
    pub budget_utilization_sum: f64,
    /// Cost of all runs, USD (priced calls only).
    pub cost_usd: f64,
    /// Cost of successful runs.
    pub cost_success_usd: f64,
    /// Cost of failed, abandoned and timed-out runs.
    pub cost_failure_usd: f64,
    /// Runs with at least one unpriced LLM call.
    pub unpriced_runs: u64,
    /// Guardrail decisions other than allow.
    pub guardrail_trips: u64,
    /// Red-team runs that said whether the attack succeeded.
    pub red_team_runs: u64,
    /// …and those where it did.
    pub attacks_succeeded: u64,
    /// Runs with an output-stage PII/secret detection that was not blocked or redacted.
    pub leak_runs: u64,
    /// Earliest and latest run end, ns (0 = none yet).
    pub first_ns: u64,
    #[allow(missing_docs)]
    pub last_ns: u64,
}

impl Merge for RunCell {
    fn merge(&mut self, o: &Self) {
        self.runs += o.runs;
        self.success += o.success;
        self.failure += o.failure;
        self.abandoned += o.abandoned;
        self.escalated += o.escalated;
        self.timeout += o.timeout;
        self.duration.merge(&o.duration);
        self.resolution.merge(&o.resolution);
        self.tokens.merge(&o.tokens);
        self.steps += o.steps;
        self.retries += o.retries;
        self.handoffs += o.handoffs;
        self.budget_runs += o.budget_runs;
        self.budget_utilization_sum += o.budget_utilization_sum;
        self.cost_usd += o.cost_usd;
        self.cost_success_usd += o.cost_success_usd;
        self.cost_failure_usd += o.cost_failure_usd;
        self.unpriced_runs += o.unpriced_runs;
        self.guardrail_trips += o.guardrail_trips;
        self.red_team_runs += o.red_team_runs;
        self.attacks_succeeded += o.attacks_succeeded;
        self.leak_runs += o.leak_runs;
        self.last_ns = self.last_ns.max(o.last_ns);
        self.first_ns = match (self.first_ns, o.first_ns) {
            (0, x) | (x, 0) => x,
            (a, b) => a.min(b),
        };
    }
    fn pack(&mut self) {
        self.duration.pack();
        self.resolution.pack();
        self.tokens.pack();
    }
}

impl RunCell {
    /// Failed, abandoned and timed-out runs.
    pub fn failures(&self) -> u64 {
        self.failure + self.abandoned + self.timeout
    }
}

/// LLM-call figures of one (agent, version, environment, model, provider).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LlmCell {
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Failed with a rate limit.
    pub rate_limited: u64,
    /// Failed with a timeout.
    pub timeouts: u64,
    /// Retries.
    pub retries: u64,
    /// Tokens.
    pub input_tokens: u64,
    #[allow(missing_docs)]
    pub output_tokens: u64,
    #[allow(missing_docs)]
    pub cache_read_tokens: u64,
    #[allow(missing_docs)]
    pub reasoning_tokens: u64,
    /// Cost the agents reported, USD, and how many calls reported it.
    pub reported_cost_usd: f64,
    #[allow(missing_docs)]
    pub reported_calls: u64,
    /// Cost computed from the price table, and how many calls.
    pub computed_cost_usd: f64,
    #[allow(missing_docs)]
    pub computed_calls: u64,
    /// Calls with neither.
    pub unpriced_calls: u64,
    /// Latency, ms.
    pub latency: Sketch,
}

impl Merge for LlmCell {
    fn merge(&mut self, o: &Self) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.rate_limited += o.rate_limited;
        self.timeouts += o.timeouts;
        self.retries += o.retries;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.reported_cost_usd += o.reported_cost_usd;
        self.reported_calls += o.reported_calls;
        self.computed_cost_usd += o.computed_cost_usd;
        self.computed_calls += o.computed_calls;
        self.unpriced_calls += o.unpriced_calls;
        self.latency.merge(&o.latency);
    }
    fn pack(&mut self) {
        self.latency.pack();
    }
}

/// Tool-call figures of one (agent, version, environment, tool).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ToolCell {
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Failures by class.
    pub authz: u64,
    #[allow(missing_docs)]
    pub schema: u64,
    #[allow(missing_docs)]
    pub policy: u64,
    #[allow(missing_docs)]
    pub timeout: u64,
    #[allow(missing_docs)]
    pub rate_limit: u64,
    #[allow(missing_docs)]
    pub other: u64,
    /// Retries.
    pub retries: u64,
    /// Calls of tools declared as writes.
    pub writes: u64,
    /// Calls of tools declared as reads.
    #[serde(default)]
    pub reads: u64,
    /// Latency, ms.
    pub latency: Sketch,
}

impl Merge for ToolCell {
    fn merge(&mut self, o: &Self) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.authz += o.authz;
        self.schema += o.schema;
        self.policy += o.policy;
        self.timeout += o.timeout;
        self.rate_limit += o.rate_limit;
        self.other += o.other;
        self.retries += o.retries;
        self.writes += o.writes;
        self.reads += o.reads;
        self.latency.merge(&o.latency);
    }
    fn pack(&mut self) {
        self.latency.pack();
    }
}

/// Guardrail decisions of one (agent, version, environment, guardrail, category, stage).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GuardCell {
    /// Decisions by verdict.
    pub allow: u64,
    #[allow(missing_docs)]
    pub block: u64,
    #[allow(missing_docs)]
    pub redact: u64,
    #[allow(missing_docs)]
    pub flag: u64,
}

impl GuardCell {
    /// Decisions other than allow.
    pub fn trips(&self) -> u64 {
        self.block + self.redact + self.flag
    }
    /// All decisions.
    pub fn total(&self) -> u64 {
        self.allow + self.trips()
    }
}

impl Merge for GuardCell {
    fn merge(&mut self, o: &Self) {
        self.allow += o.allow;
        self.block += o.block;
        self.redact += o.redact;
        self.flag += o.flag;
    }
}

/// Latency of a component that has no cell of its own (guardrail spans).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LatencyCell {
    /// Latency, ms.
    pub latency: Sketch,
}

impl Merge for LatencyCell {
    fn merge(&mut self, o: &Self) {
        self.latency.merge(&o.latency);
    }
    fn pack(&mut self) {
        self.latency.pack();
    }
}

/// Evaluations of one (agent, version, environment, evaluation name).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EvalCell {
    /// Results.
    pub count: u64,
    /// Results with a score, and their sum.
    pub scored: u64,
    #[allow(missing_docs)]
    pub score_sum: f64,
    /// Labels `accepted` / `rejected` (human feedback).
    pub accepted: u64,
    #[allow(missing_docs)]
    pub rejected: u64,
}

impl Merge for EvalCell {
    fn merge(&mut self, o: &Self) {
        self.count += o.count;
        self.scored += o.scored;
        self.score_sum += o.score_sum;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
    }
}

/// Tool-call decisions of one (agent, version, environment, tool).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DecisionCell {
    /// By outcome.
    pub allow: u64,
    #[allow(missing_docs)]
    pub deny: u64,
    #[allow(missing_docs)]
    pub require_approval: u64,
}

impl Merge for DecisionCell {
    fn merge(&mut self, o: &Self) {
        self.allow += o.allow;
        self.deny += o.deny;
        self.require_approval += o.require_approval;
    }
}

/// A cell key: who, plus what (scenario, model, tool, guardrail…), as shared texts: a key is
/// made for every settled call.
///
/// The key's hash is computed once when it is made, from the texts' bytes: a call's key is
/// looked up in a minute's table and an hour's, and hashing six texts each time was most of the
/// lookups' cost. Comparison asks the pointers first (the texts are interned, so equal keys
/// almost always share them) and the bytes only when they differ.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "KeyTexts")]
pub struct Key {
    /// Agent.
    pub agent: Text,
    /// Agent version.
    pub version: Text,
    /// Environment.
    pub environment: Text,
    /// What: scenario, model, tool, guardrail or evaluation name.
    pub what: Text,
    /// More: provider, or guardrail category.
    pub more: Text,
    /// More still: guardrail stage.
    pub stage: Text,
    /// FxHash of the six texts' bytes (so equal texts hash the same whatever their pointers).
    #[serde(skip)]
    hash: u64,
}

/// A key as stored: its texts, without the hash (recomputed on load).
#[derive(Deserialize)]
struct KeyTexts {
    agent: Text,
    version: Text,
    environment: Text,
    what: Text,
    more: Text,
    stage: Text,
}

impl From<KeyTexts> for Key {
    fn from(k: KeyTexts) -> Self {
        Self::of([k.agent, k.version, k.environment, k.what, k.more, k.stage])
    }
}

impl Key {
    fn new(who: &Who, what: &str, more: &str, stage: &str) -> Self {
        Self::with(who, intern(what), intern(more), intern(stage))
    }

    /// A key from texts already shared (the settled call's own): no interning per call.
    fn with(who: &Who, what: Text, more: Text, stage: Text) -> Self {
        Self::of([Text::clone(&who.agent), Text::clone(&who.version), Text::clone(&who.environment), what, more, stage])
    }

    fn of([agent, version, environment, what, more, stage]: [Text; 6]) -> Self {
        let mut key = Self { agent, version, environment, what, more, stage, hash: 0 };
        key.hash = std::hash::BuildHasher::hash_one(&FxBuildHasher, key.texts());
        key
    }

    fn texts(&self) -> [&Text; 6] {
        [&self.agent, &self.version, &self.environment, &self.what, &self.more, &self.stage]
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.texts() == other.texts()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The texts keys use when a call does not say, shared once instead of interned per call.
#[derive(Debug, Clone)]
struct Words {
    unknown: Text,
    none: Text,
    unspecified: Text,
}

impl Default for Words {
    fn default() -> Self {
        Self { unknown: intern("unknown"), none: intern(""), unspecified: intern("unspecified") }
    }
}

/// A table of cells, serialized as a list of pairs.
///
/// Hashed, not ordered: every settled call looks up two cells, and ordered lookups compared
/// six strings at every step (a fifth of the store thread). Readers aggregate into their own
/// ordered maps.
#[derive(Debug, Clone)]
pub struct Table<C>(pub hashbrown::HashMap<Key, C, FxBuildHasher>);

impl<C> Default for Table<C> {
    fn default() -> Self {
        Self(hashbrown::HashMap::default())
    }
}

impl<C: Serialize> Serialize for Table<C> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, C: Deserialize<'de>> Deserialize<'de> for Table<C> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(Key, C)> = Vec::deserialize(d)?;
        Ok(Self(pairs.into_iter().collect()))
    }
}

impl<C: Merge + Default + Clone> Table<C> {
    /// The key's cell, made on first use (the key is cloned only then: cloning six strings for
    /// every settled call, twice, was a tenth of the store thread).
    fn cell(&mut self, key: &Key) -> &mut C {
        self.0.entry_ref(key).or_default()
    }

    fn merge_from(&mut self, other: &Table<C>, keep: &impl Fn(&Key) -> bool) {
        for (k, c) in &other.0 {
            if keep(k) {
                match self.0.get_mut(k) {
                    Some(mine) => mine.merge(c),
                    None => {
                        self.0.insert(k.clone(), c.clone());
                    }
                }
            }
        }
    }

    fn pack(&mut self) {
        self.0.values_mut().for_each(Merge::pack);
    }
}

/// Everything recorded for one minute (or one hour, or a merged window).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Bucket {
    /// Runs by (who, scenario).
    pub runs: Table<RunCell>,
    /// LLM calls by (who, model, provider).
    pub llm: Table<LlmCell>,
    /// Tool calls by (who, tool).
    pub tools: Table<ToolCell>,
    /// Guardrail decisions by (who, guardrail, category, stage).
    pub guards: Table<GuardCell>,
    /// Guardrail span latency by who.
    pub guard_latency: Table<LatencyCell>,
    /// Evaluations by (who, name).
    pub evals: Table<EvalCell>,
    /// Tool-call decisions by (who, tool).
    pub decisions: Table<DecisionCell>,
}

impl Bucket {
    /// Adds another bucket's cells whose key passes `keep`.
    pub fn merge_from(&mut self, o: &Bucket, keep: &impl Fn(&Key) -> bool) {
        self.runs.merge_from(&o.runs, keep);
        self.llm.merge_from(&o.llm, keep);
        self.tools.merge_from(&o.tools, keep);
        self.guards.merge_from(&o.guards, keep);
        self.guard_latency.merge_from(&o.guard_latency, keep);
        self.evals.merge_from(&o.evals, keep);
        self.decisions.merge_from(&o.decisions, keep);
    }

    fn pack(&mut self) {
        self.runs.pack();
        self.llm.pack();
        self.tools.pack();
        self.guard_latency.pack();
    }
}

/// How one LLM call is costed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Costed {
    /// Reported by the agent.
    Reported(f64),
    /// From the price table.
    Computed(f64),
    /// No price known.
    Unpriced,
}

/// Costs one call: a reported cost wins over the price table.
pub fn cost_of(prices: &PriceTable, u: &Usage) -> Costed {
    priced(u, u.model.as_deref().and_then(|m| prices.lookup(m)).map(|(_, p)| p))
}

fn priced(u: &Usage, price: Option<&Price>) -> Costed {
    if let Some(c) = u.reported_cost {
        return Costed::Reported(c);
    }
    let tokens = Tokens { input: u.input, output: u.output, cache_read: u.cache_read, reasoning: u.reasoning };
    match price {
        Some(p) => Costed::Computed(p.cost(tokens)),
        None => Costed::Unpriced,
    }
}

/// Model ids remembered by the price cache before it starts over.
const PRICE_CACHE_MAX: usize = 4_096;

/// The price table's answer per model id as sent: the lookup lower-cases and normalizes the id
/// on every call (a twentieth of the store thread), while a fleet uses a handful of ids.
#[derive(Debug, Default)]
struct PriceCache(hashbrown::HashMap<String, Option<Price>, FxBuildHasher>);

impl PriceCache {
    fn cost(&mut self, prices: &PriceTable, u: &Usage) -> Costed {
        let Some(model) = u.model.as_deref().filter(|_| u.reported_cost.is_none()) else {
            return priced(u, None);
        };
        if self.0.len() >= PRICE_CACHE_MAX {
            self.0.clear();
        }
        let price = self.0.entry_ref(model).or_insert_with(|| prices.lookup(model).map(|(_, p)| p.clone()));
        priced(u, price.as_ref())
    }
}

fn stage_name(s: GuardrailStage) -> &'static str {
    match s {
        GuardrailStage::Input => "input",
        GuardrailStage::Output => "output",
        GuardrailStage::Tool => "tool",
        GuardrailStage::Unknown => "unknown",
    }
}

/// All rollups, by minute and by hour.
#[derive(Debug, Default)]
pub struct Rollups {
    minutes: BTreeMap<Minute, Bucket>,
    hours: BTreeMap<i64, Bucket>,
    dirty: BTreeSet<Minute>,
    latest_ns: u64,
    earliest_ns: Option<u64>,
    prices: PriceTable,
    price_cache: PriceCache,
    words: Words,
}

fn hour_of(m: Minute) -> i64 {
    m.div_euclid(60)
}

impl Rollups {
    /// Empty rollups costing calls with `prices`.
    pub fn new(prices: PriceTable) -> Self {
        Self { prices, ..Self::default() }
    }

    /// The price table in use.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// The newest timestamp recorded (the data clock).
    pub fn latest_ns(&self) -> u64 {
        self.latest_ns
    }

    /// The oldest timestamp recorded.
    pub fn earliest_ns(&self) -> Option<u64> {
        self.earliest_ns
    }

    fn touch(&mut self, ns: u64) -> Minute {
        self.latest_ns = self.latest_ns.max(ns);
        self.earliest_ns = Some(self.earliest_ns.map_or(ns, |e| e.min(ns)));
        let m = minute_of(ns);
        self.dirty.insert(m);
        m
    }

    /// Applies `f` to the minute's bucket and to its hour's.
    fn both(&mut self, ns: u64, f: impl Fn(&mut Bucket)) {
        let m = self.touch(ns);
        f(self.minutes.entry(m).or_default());
        f(self.hours.entry(hour_of(m)).or_default());
    }

    /// Records everything settled.
    pub fn record(&mut self, settled: Settled) {
        for run in &settled.runs {
            self.record_run(run);
        }
        for call in settled.calls {
            let lat = call.latency_ms;
            match call.kind {
                CallKind::Llm { model, provider, usage, error_type } => {
                    let costed = self.price_cache.cost(&self.prices, &usage);
                    let class = error_type.as_deref().map(classify_error_type);
                    let w = &self.words;
                    let key = Key::with(
                        &call.who,
                        model.unwrap_or_else(|| Text::clone(&w.unknown)),
                        provider.unwrap_or_else(|| Text::clone(&w.unknown)),
                        Text::clone(&w.none),
                    );
                    let failed = call.failed;
                    let retry = call.retry;
                    self.both(call.time_ns, |b| {
                        let c = b.llm.cell(&key);
                        c.calls += 1;
                        c.errors += u64::from(failed);
                        c.rate_limited += u64::from(failed && class == Some(ToolErrorClass::RateLimit));
                        c.timeouts += u64::from(failed && class == Some(ToolErrorClass::Timeout));
                        c.retries += u64::from(retry);
                        c.input_tokens += usage.input;
                        c.output_tokens += usage.output;
                        c.cache_read_tokens += usage.cache_read;
                        c.reasoning_tokens += usage.reasoning;
                        match costed {
                            Costed::Reported(v) => {
                                c.reported_cost_usd += v;
                                c.reported_calls += 1;
                            }
                            Costed::Computed(v) => {
                                c.computed_cost_usd += v;
                                c.computed_calls += 1;
                            }
                            Costed::Unpriced => c.unpriced_calls += 1,
                        }
                        c.latency.add(lat);
                    });
                }
                CallKind::Tool { name, error_class, side_effect } => {
                    let none = &self.words.none;
                    let key = Key::with(&call.who, name, Text::clone(none), Text::clone(none));
                    let failed = call.failed;
                    let retry = call.retry;
                    self.both(call.time_ns, |b| {
                        let c = b.tools.cell(&key);
                        c.calls += 1;
                        c.errors += u64::from(failed);
                        match error_class {
                            Some(ToolErrorClass::Authz) => c.authz += 1,
                            Some(ToolErrorClass::Schema) => c.schema += 1,
                            Some(ToolErrorClass::Policy) => c.policy += 1,
                            Some(ToolErrorClass::Timeout) => c.timeout += 1,
                            Some(ToolErrorClass::RateLimit) => c.rate_limit += 1,
                            Some(ToolErrorClass::Other) => c.other += 1,
                            None => {}
                        }
                        c.retries += u64::from(retry);
                        c.writes += u64::from(side_effect == SideEffect::Write);
                        c.reads += u64::from(side_effect == SideEffect::Read);
                        c.latency.add(lat);
                    });
                }
                CallKind::Guardrail => {
                    let none = &self.words.none;
                    let key = Key::with(&call.who, Text::clone(none), Text::clone(none), Text::clone(none));
                    self.both(call.time_ns, |b| b.guard_latency.cell(&key).latency.add(lat));
                }
            }
        }
        for ev in settled.events {
            match ev.kind {
                EventKind::Guardrail(g) => {
                    let key =
                        Key::new(&ev.who, &g.name, g.category.as_deref().unwrap_or("unknown"), stage_name(g.stage));
                    self.both(ev.time_ns, |b| {
                        let c = b.guards.cell(&key);
                        match g.verdict {
                            GuardrailVerdict::Allow => c.allow += 1,
                            GuardrailVerdict::Block => c.block += 1,
                            GuardrailVerdict::Redact => c.redact += 1,
                            GuardrailVerdict::Flag => c.flag += 1,
                        }
                    });
                }
                EventKind::Evaluation(e) => {
                    let key = Key::new(&ev.who, &e.name, "", "");
                    let label = e.label.as_deref().map(str::to_ascii_lowercase);
                    self.both(ev.time_ns, |b| {
                        let c = b.evals.cell(&key);
                        c.count += 1;
                        if let Some(s) = e.score {
                            c.scored += 1;
                            c.score_sum += s;
                        }
                        c.accepted += u64::from(label.as_deref() == Some("accepted"));
                        c.rejected += u64::from(label.as_deref() == Some("rejected"));
                    });
                }
                EventKind::ToolDecision(d) => {
                    let key = Key::new(&ev.who, d.tool.as_deref().unwrap_or("unknown"), "", "");
                    self.both(ev.time_ns, |b| {
                        let c = b.decisions.cell(&key);
                        match d.outcome {
                            ToolCallOutcome::Allow => c.allow += 1,
                            ToolCallOutcome::Deny => c.deny += 1,
                            ToolCallOutcome::RequireApproval => c.require_approval += 1,
                        }
                    });
                }
            }
        }
    }

    fn record_run(&mut self, run: &SettledRun) {
        let mut cost = 0.0;
        let mut unpriced = false;
        for u in &run.usage {
            match self.price_cache.cost(&self.prices, u) {
                Costed::Reported(c) | Costed::Computed(c) => cost += c,
                Costed::Unpriced => unpriced = true,
            }
        }
        let tokens: u64 = run.usage.iter().map(|u| u.input + u.output).sum();
        let trips = u64::from(run.guardrail_trips);
        let leak = run.leak;
        let w = &self.words;
        let scenario = run.scenario.clone().unwrap_or_else(|| Text::clone(&w.unspecified));
        let key = Key::with(&run.who, scenario, Text::clone(&w.none), Text::clone(&w.none));
        self.both(run.time_ns, |b| {
            let c = b.runs.cell(&key);
            c.runs += 1;
            match run.outcome {
                Outcome::Success => {
                    c.success += 1;
                    c.cost_success_usd += cost;
                    c.resolution.add(run.duration_ms);
                }
                Outcome::Failure => c.failure += 1,
                Outcome::Abandoned => c.abandoned += 1,
                Outcome::Escalated => c.escalated += 1,
                Outcome::Timeout => c.timeout += 1,
            }
            if matches!(run.outcome, Outcome::Failure | Outcome::Abandoned | Outcome::Timeout) {
                c.cost_failure_usd += cost;
            }
            c.duration.add(run.duration_ms);
            c.tokens.add(tokens as f64);
            c.steps += u64::from(run.steps);
            c.retries += u64::from(run.retries);
            c.handoffs += u64::from(run.handoffs);
            if let Some(budget) = run.step_budget.filter(|b| *b > 0) {
                c.budget_runs += 1;
                c.budget_utilization_sum += f64::from(run.steps) / budget as f64;
            }
            c.cost_usd += cost;
            c.unpriced_runs += u64::from(unpriced);
            c.guardrail_trips += trips;
            if run.red_team {
                if let Some(hit) = run.attack_succeeded {
                    c.red_team_runs += 1;
                    c.attacks_succeeded += u64::from(hit);
                }
            }
            c.leak_runs += u64::from(leak);
            c.last_ns = c.last_ns.max(run.time_ns);
            c.first_ns = if c.first_ns == 0 { run.time_ns } else { c.first_ns.min(run.time_ns) };
        });
    }

    /// The merge of every minute in `[from, to]` (inclusive) whose cells pass `keep`; whole
    /// hours come from the hour buckets.
    pub fn window(&self, from: Minute, to: Minute, keep: &impl Fn(&Key) -> bool) -> Bucket {
        let mut out = Bucket::default();
        if from > to {
            return out;
        }
        // Whole hours [h0, h1] from the hour buckets, the ragged edges from the minutes.
        let h0 = from.div_euclid(60) + i64::from(from.rem_euclid(60) != 0);
        let h1 = (to + 1).div_euclid(60) - 1;
        let mut add = |map: &BTreeMap<i64, Bucket>, lo: i64, hi: i64| {
            if lo <= hi {
                map.range(lo..=hi).for_each(|(_, b)| out.merge_from(b, keep));
            }
        };
        if h0 <= h1 {
            add(&self.minutes, from, h0 * 60 - 1);
            add(&self.hours, h0, h1);
            add(&self.minutes, (h1 + 1) * 60, to);
        } else {
            add(&self.minutes, from, to);
        }
        out
    }

    /// Packs the sketches of minutes before `open_from` (they will rarely change again).
    pub fn pack_before(&mut self, open_from: Minute) {
        for (_, b) in self.minutes.range_mut(..open_from) {
            b.pack();
        }
        let open_hour = hour_of(open_from);
        for (_, b) in self.hours.range_mut(..open_hour) {
            b.pack();
        }
    }

    /// Forgets minutes before `keep_from`.
    pub fn prune_before(&mut self, keep_from: Minute) {
        self.minutes = self.minutes.split_off(&keep_from);
        self.hours = self.hours.split_off(&hour_of(keep_from));
        self.dirty = self.dirty.split_off(&keep_from);
    }

    /// Minutes changed since the last call, with their buckets (for persistence).
    pub fn take_dirty(&mut self) -> Vec<(Minute, Bucket)> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty.into_iter().filter_map(|m| self.minutes.get(&m).map(|b| (m, b.clone()))).collect()
    }

    /// `[from, to]` cut into `n` equal slices, each the merge of its minutes (hours for long
    /// windows), for sparklines.
    pub fn slices(&self, from: Minute, to: Minute, n: usize, keep: &impl Fn(&Key) -> bool) -> Vec<Bucket> {
        let n = n.max(1);
        let mut out = vec![Bucket::default(); n];
        if from > to {
            return out;
        }
        let span = (to - from + 1) as f64;
        let slot = |m: Minute| (((m - from) as f64 / span * n as f64) as usize).min(n - 1);
        if span / n as f64 >= 60.0 {
            for (h, b) in self.hours.range(from.div_euclid(60)..=to.div_euclid(60)) {
                out[slot((h * 60).max(from))].merge_from(b, keep);
            }
        } else {
            for (m, b) in self.minutes.range(from..=to) {
                out[slot(*m)].merge_from(b, keep);
            }
        }
        out
    }

    /// Every agent with anything recorded.
    pub fn agents(&self) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for b in self.hours.values() {
            out.extend(b.runs.0.keys().map(|k| k.agent.to_string()));
            out.extend(b.llm.0.keys().map(|k| k.agent.to_string()));
            out.extend(b.tools.0.keys().map(|k| k.agent.to_string()));
        }
        out
    }

    /// Restores a persisted minute (and adds it to its hour).
    pub fn restore(&mut self, minute: Minute, bucket: Bucket) {
        let ns = (minute.max(0) as u64).saturating_mul(60_000_000_000);
        self.latest_ns = self.latest_ns.max(ns + 59_999_999_999);
        self.earliest_ns = Some(self.earliest_ns.map_or(ns, |e| e.min(ns)));
        self.hours.entry(hour_of(minute)).or_default().merge_from(&bucket, &|_| true);
        self.minutes.insert(minute, bucket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::settle::{SettledCall, Who};

    fn usage(model: Option<&str>, reported_cost: Option<f64>) -> Usage {
        Usage { model: model.map(Text::from), input: 1_000, output: 500, cache_read: 0, reasoning: 0, reported_cost }
    }

    #[test]
    fn the_price_cache_answers_what_the_price_table_does() {
        let prices = PriceTable::builtin();
        let mut cache = PriceCache::default();
        let cases = [
            usage(Some("gpt-4o-2024-08-06"), None),
            usage(Some("GPT-4o"), None),
            usage(Some("no-such-model"), None),
            usage(Some("gpt-4o"), Some(0.5)),
            usage(None, None),
        ];
        for _ in 0..2 {
            for u in &cases {
                assert_eq!(cache.cost(&prices, u), cost_of(&prices, u), "{u:?}");
            }
        }
        assert!(matches!(cache.cost(&prices, &cases[0]), Costed::Computed(c) if c > 0.0));
        assert!(matches!(cache.cost(&prices, &cases[2]), Costed::Unpriced));
        assert!(matches!(cache.cost(&prices, &cases[3]), Costed::Reported(c) if c == 0.5));
        assert_eq!(cache.0.len(), 3, "one entry per model id asked about");
    }

    fn call_at(minute: i64) -> SettledCall {
        SettledCall {
            time_ns: minute as u64 * 60_000_000_000 + 1,
            who: Who { agent: "a".into(), version: "1".into(), environment: "prod".into() },
            kind: CallKind::Tool { name: "t".into(), error_class: None, side_effect: SideEffect::Read },
            latency_ms: 5.0,
            failed: false,
            retry: false,
        }
    }

    #[test]
    fn any_window_equals_the_sum_of_its_minutes() {
        let mut r = Rollups::new(PriceTable::builtin());
        let minutes: Vec<i64> = vec![0, 1, 59, 60, 61, 119, 120, 150, 179, 180, 181, 600, 601];
        r.record(Settled { calls: minutes.iter().map(|m| call_at(*m)).collect(), ..Settled::default() });
        let count = |from: i64, to: i64| r.window(from, to, &|_| true).tools.0.values().map(|c| c.calls).sum::<u64>();
        for (from, to) in
            [(0, 0), (0, 59), (0, 60), (1, 180), (59, 181), (60, 179), (61, 600), (-100, 10_000), (200, 100)]
        {
            let want = minutes.iter().filter(|m| (from..=to).contains(*m)).count() as u64;
            assert_eq!(count(from, to), want, "window {from}..={to}");
        }
        // Huge windows cost no more than the buckets that exist.
        assert_eq!(count(i64::MIN / 2, i64::MAX / 2), minutes.len() as u64);
    }

    #[test]
    fn keys_are_equal_by_their_texts_not_their_pointers() -> Result<(), serde_json::Error> {
        let who = |agent: &str| Who { agent: agent.into(), version: "1".into(), environment: "prod".into() };
        let key = |agent: &str, tool: &str| Key::with(&who(agent), tool.into(), "".into(), "".into());
        let mut t: Table<ToolCell> = Table::default();
        t.cell(&key("a", "t")).calls += 1;
        t.cell(&key("a", "t")).calls += 1;
        t.cell(&key("a", "u")).calls += 1;
        t.cell(&key("b", "t")).calls += 1;
        let calls = |agent: &str, tool: &str| t.0.get(&key(agent, tool)).map(|c| c.calls);
        assert_eq!(t.0.len(), 3, "texts equal in separate allocations make one key");
        assert_eq!(
            (calls("a", "t"), calls("a", "u"), calls("b", "t"), calls("b", "u")),
            (Some(2), Some(1), Some(1), None)
        );
        // A key read back from its JSON (hash recomputed) finds the cell a fresh key made.
        let back: Key = serde_json::from_str(&serde_json::to_string(&key("a", "t"))?)?;
        assert_eq!(t.0.get(&back).map(|c| c.calls), Some(2));
        Ok(())
    }

    #[test]
    fn persisted_minutes_restore_into_hours() {
        let mut r = Rollups::new(PriceTable::builtin());
        r.record(Settled { calls: vec![call_at(61), call_at(62)], ..Settled::default() });
        let dirty = r.take_dirty();
        assert_eq!(dirty.len(), 2);
        let json = serde_json::to_string(&dirty).expect("serialize");
        let back: Vec<(Minute, Bucket)> = serde_json::from_str(&json).expect("deserialize");
        let mut restored = Rollups::new(PriceTable::builtin());
        for (m, b) in back {
            restored.restore(m, b);
        }
        let b = restored.window(60, 119, &|_| true);
        let cell = b.tools.0.values().next().expect("tool cell");
        assert_eq!((cell.calls, cell.latency.count()), (2, 2));
        assert_eq!(cell.latency.quantile(0.5).map(|v| (v - 5.0).abs() < 0.06), Some(true));
    }
}
