//! The summary document: every dashboard's figures for one window, computed from a merged
//! bucket. Ratios and quantiles with nothing to measure are `null`, never 0 or NaN.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::prices::{CostSource, PriceTable};
use super::rollup::{Bucket, GuardCell, LlmCell, Merge, RunCell, ToolCell};
use super::sketch::Sketch;

/// `a / b`, or `None` when `b` is 0.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

fn r64(a: u64, b: u64) -> Option<f64> {
    ratio(a as f64, b as f64)
}

/// p50/p95/p99 of a sketch, ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
}

impl Percentiles {
    fn of(s: &Sketch) -> Self {
        Self { p50_ms: s.quantile(0.5), p95_ms: s.quantile(0.95), p99_ms: s.quantile(0.99) }
    }
}

/// Fleet totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Totals {
    pub runs: u64,
    pub successes: u64,
    pub failures: u64,
    pub abandoned: u64,
    pub escalated: u64,
    pub timeouts: u64,
    pub success_rate: Option<f64>,
    pub cost_usd: Option<f64>,
    pub cost_per_success_usd: Option<f64>,
    pub cost_per_failure_usd: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub reasoning_tokens: u64,
    pub llm_calls: u64,
    pub tool_calls: u64,
}

/// One agent's row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AgentRow {
    pub name: String,
    pub version: String,
    pub versions: Vec<String>,
    pub runs: u64,
    pub success_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cost_usd: Option<f64>,
    pub cost_per_hour_usd: Option<f64>,
    pub guardrail_trips: u64,
    pub steps_per_run: Option<f64>,
    pub retry_rate: Option<f64>,
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    /// What a rollback would pin: the newest earlier version that met the SLO over the
    /// retention period (set by the engine from its retained figures, not from this window's).
    #[serde(default)]
    pub last_known_good: Option<String>,
}

/// One tool's row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ToolRow {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub authz_failures: u64,
    pub schema_failures: u64,
    pub schema_conformance_rate: Option<f64>,
    pub policy_blocks: u64,
    pub timeouts: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub agents: Vec<String>,
    /// `write` if any call declared a write, `read` if calls declared reads only, else `unknown`.
    #[serde(default)]
    pub side_effect: String,
}

/// One model's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ModelRow {
    pub name: String,
    pub provider: String,
    pub calls: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_usd: Option<f64>,
    pub cost_source: CostSource,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Approval counts (from the control plane).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ApprovalCounts {
    pub approved: u64,
    pub denied: u64,
    pub expired: u64,
    pub pending: u64,
}

/// One guardrail's row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct GuardrailRow {
    pub name: String,
    pub category: String,
    pub stage: String,
    pub decisions: u64,
    pub trips: u64,
    pub blocks: u64,
    pub redacts: u64,
    pub flags: u64,
    pub trip_rate: Option<f64>,
}

/// Safety & security figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Safety {
    pub guardrail_decisions: u64,
    pub guardrail_trips: u64,
    pub trip_rate: Option<f64>,
    pub blocks: u64,
    pub allows: u64,
    pub redacts: u64,
    pub flags: u64,
    pub by_guardrail: Vec<GuardrailRow>,
    pub red_team_runs: u64,
    pub injection_asr: Option<f64>,
    pub leak_runs: u64,
    pub leakage_rate: Option<f64>,
    pub approvals: ApprovalCounts,
    pub tool_call_decisions: BTreeMap<String, u64>,
}

/// Runs of one scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ScenarioRow {
    pub scenario: String,
    pub runs: u64,
    pub success_rate: Option<f64>,
}

/// Outcome figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Outcomes {
    pub success_rate: Option<f64>,
    pub human_acceptance_rate: Option<f64>,
    pub feedback: u64,
    pub time_to_resolution_p50_ms: Option<f64>,
    pub time_to_resolution_p95_ms: Option<f64>,
    pub runs_per_minute: Option<f64>,
    pub by_scenario: Vec<ScenarioRow>,
}

/// Orchestration health figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Orchestration {
    pub steps_per_run: Option<f64>,
    pub retry_rate: Option<f64>,
    pub loop_timeouts: u64,
    pub handoffs: u64,
    pub handoffs_per_run: Option<f64>,
    pub step_budget_utilization: Option<f64>,
}

/// Latency by component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Latency {
    pub agent_run: Percentiles,
    pub llm_call: Percentiles,
    pub tool_call: Percentiles,
    pub guardrail: Percentiles,
}

/// Cost figures beyond the totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct CostFigures {
    pub spend_rate_usd_per_hour: Option<f64>,
    pub budget_usd_per_hour: Option<f64>,
    pub over_budget: Option<bool>,
    pub cost_complete: bool,
    pub unpriced_models: Vec<String>,
    pub rate_limit_events: u64,
    pub vendor_errors: u64,
    pub timeouts: u64,
}

/// Mean evaluation score of one agent version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct EvalRow {
    pub agent: String,
    pub version: String,
    pub name: String,
    pub count: u64,
    pub mean_score: Option<f64>,
}

/// A model with a retirement date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Deprecation {
    pub model: String,
    pub date: String,
    pub days_left: Option<i64>,
}

/// One drift comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct DriftRow {
    pub agent: String,
    pub version: String,
    pub baseline_version: String,
    pub metric: String,
    pub current: Option<f64>,
    pub baseline: Option<f64>,
    pub effect: Option<f64>,
    pub p_value: Option<f64>,
    pub flagged: bool,
    pub current_n: u64,
    pub baseline_n: u64,
    pub detail: String,
}

/// Success rate, runs, cost and tool errors over the window, in slices (sparklines).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Runs per slice (fleet).
    pub runs: Vec<u64>,
    /// Success rate per slice (fleet).
    pub success: Vec<Option<f64>>,
    /// Cost per slice, USD (fleet).
    pub cost: Vec<f64>,
    /// Success rate per slice, by agent.
    pub agent_success: BTreeMap<String, Vec<Option<f64>>>,
    /// Error rate per slice, by tool.
    pub tool_errors: BTreeMap<String, Vec<Option<f64>>>,
}

/// One firing alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AlertRow {
    pub rule: String,
    pub severity: String,
    pub agent: Option<String>,
    pub message: String,
    pub since: String,
}

/// The document `/api/v1/summary` and `cockpit report --format json` return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Summary {
    pub window_seconds: u64,
    pub as_of: String,
    pub agent: Option<String>,
    pub totals: Totals,
    pub agents: Vec<AgentRow>,
    pub tools: Vec<ToolRow>,
    pub models: Vec<ModelRow>,
    pub safety: Safety,
    pub outcomes: Outcomes,
    pub orchestration: Orchestration,
    pub latency: Latency,
    pub cost: CostFigures,
    pub drift: Vec<DriftRow>,
    pub evaluations: Vec<EvalRow>,
    pub deprecations: Vec<Deprecation>,
    pub alerts: Vec<AlertRow>,
}

fn merged<C: Merge + Default + Clone>(cells: impl Iterator<Item = C>) -> C {
    let mut out = C::default();
    for c in cells {
        out.merge(&c);
    }
    out
}

fn llm_cost(c: &LlmCell) -> f64 {
    c.reported_cost_usd + c.computed_cost_usd
}

/// Cost of the priced calls; `None` when no call had a price.
fn priced(c: &LlmCell) -> Option<f64> {
    (c.reported_calls + c.computed_calls > 0).then(|| llm_cost(c))
}

fn cost_source(c: &LlmCell) -> CostSource {
    match (c.reported_calls > 0, c.computed_calls > 0, c.unpriced_calls > 0) {
        (true, false, false) => CostSource::Reported,
        (false, true, false) => CostSource::Computed,
        (false, false, _) => CostSource::Unpriced,
        _ => CostSource::Mixed,
    }
}

/// Inputs beyond the bucket.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Window length, seconds.
    pub window_seconds: u64,
    /// The end of the window (RFC 3339).
    pub as_of: String,
    /// Today, for deprecation countdowns.
    pub today: Option<chrono::NaiveDate>,
    /// Agent filter, if any.
    pub agent: Option<String>,
    /// Spend budget, USD/h.
    pub budget_usd_per_hour: Option<f64>,
    /// Approval counts.
    pub approvals: ApprovalCounts,
}

/// Computes every figure of the window.
pub fn summarize(b: &Bucket, ctx: &Context, prices: &PriceTable) -> Summary {
    let hours = ctx.window_seconds as f64 / 3600.0;
    let all_runs: RunCell = merged(b.runs.0.values().cloned());
    let all_llm: LlmCell = merged(b.llm.0.values().cloned());
    let all_tools: ToolCell = merged(b.tools.0.values().cloned());
    let all_guards: GuardCell = merged(b.guards.0.values().cloned());
    let guard_latency = merged::<super::rollup::LatencyCell>(b.guard_latency.0.values().cloned());

    let total_cost = priced(&all_llm);
    let failures = all_runs.failures();
    let totals = Totals {
        runs: all_runs.runs,
        successes: all_runs.success,
        failures,
        abandoned: all_runs.abandoned,
        escalated: all_runs.escalated,
        timeouts: all_runs.timeout,
        success_rate: r64(all_runs.success, all_runs.runs),
        cost_usd: total_cost,
        cost_per_success_usd: ratio(all_runs.cost_success_usd, all_runs.success as f64),
        cost_per_failure_usd: ratio(all_runs.cost_failure_usd, failures as f64),
        input_tokens: all_llm.input_tokens,
        output_tokens: all_llm.output_tokens,
        cache_read_tokens: all_llm.cache_read_tokens,
        reasoning_tokens: all_llm.reasoning_tokens,
        llm_calls: all_llm.calls,
        tool_calls: all_tools.calls,
    };

    // Per agent.
    let mut names: BTreeSet<&str> = BTreeSet::new();
    names.extend(b.runs.0.keys().map(|k| &*k.agent));
    names.extend(b.llm.0.keys().map(|k| &*k.agent));
    names.extend(b.tools.0.keys().map(|k| &*k.agent));
    let agents = names
        .into_iter()
        .map(|name| {
            let runs: RunCell = merged(b.runs.0.iter().filter(|(k, _)| *k.agent == *name).map(|(_, c)| c.clone()));
            let llm: LlmCell = merged(b.llm.0.iter().filter(|(k, _)| *k.agent == *name).map(|(_, c)| c.clone()));
            let tools: ToolCell = merged(b.tools.0.iter().filter(|(k, _)| *k.agent == *name).map(|(_, c)| c.clone()));
            let trips: u64 = b.guards.0.iter().filter(|(k, _)| *k.agent == *name).map(|(_, c)| c.trips()).sum();
            let mut versions: Vec<(u64, String)> = Vec::new();
            for (k, c) in b.runs.0.iter().filter(|(k, _)| *k.agent == *name) {
                match versions.iter_mut().find(|(_, v)| **v == *k.version) {
                    Some(entry) => entry.0 = entry.0.max(c.last_ns),
                    None => versions.push((c.last_ns, k.version.to_string())),
                }
            }
            versions.sort();
            let p = Percentiles::of(&runs.duration);
            let cost = priced(&llm);
            AgentRow {
                name: name.to_owned(),
                version: versions.last().map(|(_, v)| v.clone()).unwrap_or_else(|| "unknown".into()),
                versions: versions.into_iter().map(|(_, v)| v).collect(),
                runs: runs.runs,
                success_rate: r64(runs.success, runs.runs),
                p50_ms: p.p50_ms,
                p95_ms: p.p95_ms,
                p99_ms: p.p99_ms,
                cost_usd: cost,
                cost_per_hour_usd: cost.and_then(|c| ratio(c, hours)),
                guardrail_trips: trips,
                steps_per_run: r64(runs.steps, runs.runs),
                retry_rate: r64(llm.retries + tools.retries, llm.calls + tools.calls),
                llm_calls: llm.calls,
                tool_calls: tools.calls,
                tool_errors: tools.errors,
                last_known_good: None,
            }
        })
        .collect();

    // Per tool.
    let mut tool_names: BTreeMap<&str, (ToolCell, BTreeSet<String>)> = BTreeMap::new();
    for (k, c) in &b.tools.0 {
        let entry = tool_names.entry(&*k.what).or_default();
        entry.0.merge(c);
        entry.1.insert(k.agent.to_string());
    }
    let denied: BTreeMap<&str, u64> = b.decisions.0.iter().fold(BTreeMap::new(), |mut m, (k, c)| {
        *m.entry(&*k.what).or_default() += c.deny;
        m
    });
    let tools = tool_names
        .into_iter()
        .map(|(name, (c, agents))| {
            let p = Percentiles::of(&c.latency);
            ToolRow {
                name: name.to_owned(),
                calls: c.calls,
                errors: c.errors,
                error_rate: r64(c.errors, c.calls),
                p50_ms: p.p50_ms,
                p95_ms: p.p95_ms,
                p99_ms: p.p99_ms,
                authz_failures: c.authz,
                schema_failures: c.schema,
                schema_conformance_rate: r64(c.calls - c.schema.min(c.calls), c.calls),
                policy_blocks: c.policy + denied.get(name).copied().unwrap_or(0),
                timeouts: c.timeout,
                rate_limited: c.rate_limit,
                retries: c.retries,
                agents: agents.into_iter().collect(),
                side_effect: match (c.writes, c.reads) {
                    (w, _) if w > 0 => "write",
                    (0, r) if r > 0 => "read",
                    _ => "unknown",
                }
                .to_owned(),
            }
        })
        .collect();

    // Per model.
    let mut by_model: BTreeMap<(&str, &str), LlmCell> = BTreeMap::new();
    for (k, c) in &b.llm.0 {
        by_model.entry((&*k.what, &*k.more)).or_default().merge(c);
    }
    let unpriced_models: Vec<String> =
        by_model.iter().filter(|(_, c)| c.unpriced_calls > 0).map(|((m, _), _)| (*m).to_owned()).collect();
    let models = by_model
        .into_iter()
        .map(|((name, provider), c)| {
            let p = Percentiles::of(&c.latency);
            ModelRow {
                name: name.to_owned(),
                provider: provider.to_owned(),
                calls: c.calls,
                errors: c.errors,
                input_tokens: c.input_tokens,
                output_tokens: c.output_tokens,
                cache_read_tokens: c.cache_read_tokens,
                reasoning_tokens: c.reasoning_tokens,
                cost_usd: priced(&c),
                cost_source: cost_source(&c),
                p50_ms: p.p50_ms,
                p95_ms: p.p95_ms,
                p99_ms: p.p99_ms,
            }
        })
        .collect();

    // Safety.
    let mut decisions: BTreeMap<String, u64> = BTreeMap::new();
    for c in b.decisions.0.values() {
        *decisions.entry("allow".into()).or_default() += c.allow;
        *decisions.entry("deny".into()).or_default() += c.deny;
        *decisions.entry("require_approval".into()).or_default() += c.require_approval;
    }
    let mut by_guard: BTreeMap<(&str, &str, &str), GuardCell> = BTreeMap::new();
    for (k, c) in &b.guards.0 {
        by_guard.entry((&*k.what, &*k.more, &*k.stage)).or_default().merge(c);
    }
    let safety = Safety {
        guardrail_decisions: all_guards.total(),
        guardrail_trips: all_guards.trips(),
        trip_rate: r64(all_guards.trips(), all_guards.total()),
        blocks: all_guards.block,
        allows: all_guards.allow,
        redacts: all_guards.redact,
        flags: all_guards.flag,
        by_guardrail: by_guard
            .into_iter()
            .map(|((name, category, stage), c)| GuardrailRow {
                name: name.to_owned(),
                category: category.to_owned(),
                stage: stage.to_owned(),
                decisions: c.total(),
                trips: c.trips(),
                blocks: c.block,
                redacts: c.redact,
                flags: c.flag,
                trip_rate: r64(c.trips(), c.total()),
            })
            .collect(),
        red_team_runs: all_runs.red_team_runs,
        injection_asr: r64(all_runs.attacks_succeeded, all_runs.red_team_runs),
        leak_runs: all_runs.leak_runs,
        leakage_rate: r64(all_runs.leak_runs, all_runs.runs),
        approvals: ctx.approvals.clone(),
        tool_call_decisions: decisions,
    };

    // Outcomes.
    let (accepted, rejected) = b
        .evals
        .0
        .iter()
        .filter(|(k, _)| &*k.what == "user_feedback")
        .fold((0, 0), |(a, r), (_, c)| (a + c.accepted, r + c.rejected));
    let mut scenarios: BTreeMap<&str, RunCell> = BTreeMap::new();
    for (k, c) in &b.runs.0 {
        scenarios.entry(&*k.what).or_default().merge(c);
    }
    let outcomes = Outcomes {
        success_rate: r64(all_runs.success, all_runs.runs),
        human_acceptance_rate: r64(accepted, accepted + rejected),
        feedback: accepted + rejected,
        time_to_resolution_p50_ms: all_runs.resolution.quantile(0.5),
        time_to_resolution_p95_ms: all_runs.resolution.quantile(0.95),
        runs_per_minute: ratio(all_runs.runs as f64, ctx.window_seconds as f64 / 60.0),
        by_scenario: scenarios
            .into_iter()
            .map(|(s, c)| ScenarioRow { scenario: s.to_owned(), runs: c.runs, success_rate: r64(c.success, c.runs) })
            .collect(),
    };

    let orchestration = Orchestration {
        steps_per_run: r64(all_runs.steps, all_runs.runs),
        retry_rate: r64(all_llm.retries + all_tools.retries, all_llm.calls + all_tools.calls),
        loop_timeouts: all_runs.timeout,
        handoffs: all_runs.handoffs,
        handoffs_per_run: r64(all_runs.handoffs, all_runs.runs),
        step_budget_utilization: ratio(all_runs.budget_utilization_sum, all_runs.budget_runs as f64),
    };

    let latency = Latency {
        agent_run: Percentiles::of(&all_runs.duration),
        llm_call: Percentiles::of(&all_llm.latency),
        tool_call: Percentiles::of(&all_tools.latency),
        guardrail: Percentiles::of(&guard_latency.latency),
    };

    let spend = total_cost.and_then(|c| ratio(c, hours));
    let cost = CostFigures {
        spend_rate_usd_per_hour: spend,
        budget_usd_per_hour: ctx.budget_usd_per_hour,
        over_budget: spend.zip(ctx.budget_usd_per_hour).map(|(s, b)| s > b),
        cost_complete: all_llm.unpriced_calls == 0,
        unpriced_models,
        rate_limit_events: all_llm.rate_limited + all_tools.rate_limit,
        vendor_errors: all_llm.errors,
        timeouts: all_llm.timeouts + all_tools.timeout,
    };

    let evaluations = b
        .evals
        .0
        .iter()
        .fold(BTreeMap::<(&str, &str, &str), super::rollup::EvalCell>::new(), |mut m, (k, c)| {
            m.entry((&*k.agent, &*k.version, &*k.what)).or_default().merge(c);
            m
        })
        .into_iter()
        .map(|((agent, version, name), c)| EvalRow {
            agent: agent.to_owned(),
            version: version.to_owned(),
            name: name.to_owned(),
            count: c.count,
            mean_score: ratio(c.score_sum, c.scored as f64),
        })
        .collect();

    let seen_models: BTreeSet<&str> = b.llm.0.keys().map(|k| &*k.what).collect();
    let deprecations = seen_models
        .into_iter()
        .filter_map(|m| {
            let date = prices.lookup(m)?.1.deprecation_date.clone()?;
            let days_left = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .ok()
                .zip(ctx.today)
                .map(|(d, today)| (d - today).num_days());
            Some(Deprecation { model: m.to_owned(), date, days_left })
        })
        .collect();

    Summary {
        window_seconds: ctx.window_seconds,
        as_of: ctx.as_of.clone(),
        agent: ctx.agent.clone(),
        totals,
        agents,
        tools,
        models,
        safety,
        outcomes,
        orchestration,
        latency,
        cost,
        drift: Vec::new(),
        evaluations,
        deprecations,
        alerts: Vec::new(),
    }
}
