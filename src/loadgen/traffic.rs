//! What the loadgen sends: demo-fleet runs reshaped to a chosen number of agents, tools and
//! models, filled out to ~15 attributes per span, with their evaluation log events and a
//! `gen_ai.client.token.usage` histogram per batch.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics, metric,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::demo::profiles::FLEET;
use crate::demo::runs::{RunSpec, generate};

/// Attributes per span the traffic is filled out to (DESIGN §10's "realistic GenAI spans").
pub const ATTRS_PER_SPAN: usize = 15;

/// How many distinct agents, tools and models the traffic names (`None`: the demo fleet's own).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    /// Distinct agents.
    pub agents: Option<usize>,
    /// Distinct tools.
    pub tools: Option<usize>,
    /// Distinct models.
    pub models: Option<usize>,
}

/// One export's worth of traffic: spans, the runs' evaluation events, token histograms.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Spans in `traces`.
    pub spans: u64,
    /// The spans.
    pub traces: ExportTraceServiceRequest,
    /// Log records (evaluation events), joined to the spans by trace id.
    pub logs: ExportLogsServiceRequest,
    /// Token-usage histogram points.
    pub metrics: ExportMetricsServiceRequest,
    /// The wall clock its times were made against (`wall_ns`): a send moves them on by the time
    /// since (`PreEncoded::stamped`, `shift_trace_times` and the like), so every send is recent.
    pub made_ns: u64,
}

/// The trace id of every span of a request, in order (repeats included).
pub fn trace_ids(req: &ExportTraceServiceRequest) -> Vec<[u8; 16]> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter_map(|s| s.trace_id.as_slice().try_into().ok())
        .collect()
}

impl Batch {
    /// The trace id of every span, in order (repeats included).
    pub fn trace_ids(&self) -> Vec<[u8; 16]> {
        trace_ids(&self.traces)
    }

    /// Every timestamp of the batch (spans, their events, log records, metric points): the
    /// values a send moves on.
    pub fn times(&self) -> Vec<u64> {
        let mut all = trace_times(&self.traces);
        each_log_time(&mut self.logs.clone(), &mut collect_into(&mut all));
        each_point_time(&mut self.metrics.clone(), &mut collect_into(&mut all));
        all
    }

    /// Log records in `logs`.
    pub fn log_records(&self) -> u64 {
        self.logs.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len() as u64).sum()
    }

    /// Data points in `metrics`.
    pub fn points(&self) -> u64 {
        let per_metric = |m: &Metric| match &m.data {
            Some(metric::Data::Histogram(h)) => h.data_points.len() as u64,
            _ => 0,
        };
        self.metrics
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .map(per_metric)
            .sum()
    }
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}

fn text(key: &str, v: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

fn string_of(v: &Option<AnyValue>) -> Option<&str> {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// Attributes that carry an agent's, a tool's or a model's name, by what they name.
const AGENT_KEYS: &[&str] = &["service.name", "gen_ai.agent.name", "agent.name"];
const TOOL_KEYS: &[&str] = &["gen_ai.tool.name", "tool.name"];
const MODEL_KEYS: &[&str] = &["gen_ai.request.model", "gen_ai.response.model", "llm.model_name"];

/// The `n`-th name of a list, suffixed once the list runs out (`web.fetch`, …, `web.fetch-2`).
fn nth_name(names: &[&str], n: usize) -> String {
    let base = names[n % names.len()];
    match n / names.len() {
        0 => base.to_owned(),
        k => format!("{base}-{}", k + 1),
    }
}

fn fleet_tools() -> Vec<&'static str> {
    let mut v: Vec<&str> = FLEET.iter().flat_map(|p| p.tools.iter().map(|t| t.name)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn fleet_models() -> Vec<&'static str> {
    let mut v: Vec<&str> = FLEET.iter().flat_map(|p| p.models.iter().map(|m| m.1)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Renames one value of the named keys, in place.
fn rename(attrs: &mut [KeyValue], keys: &[&str], to: &str) {
    for a in attrs.iter_mut().filter(|a| keys.contains(&a.key.as_str())) {
        a.value = Some(AnyValue { value: Some(any_value::Value::StringValue(to.to_owned())) });
    }
}

/// Fills a span out to `ATTRS_PER_SPAN` with what real instrumentations add beside the GenAI
/// keys: ids, request parameters, endpoints, code locations.
fn fill<R: Rng>(span: &mut Span, conversation: &str, rng: &mut R) {
    let is_llm = span.attributes.iter().any(|a| MODEL_KEYS.contains(&a.key.as_str()));
    let is_tool = span.attributes.iter().any(|a| TOOL_KEYS.contains(&a.key.as_str()));
    let mut extra = vec![
        text("gen_ai.conversation.id", conversation),
        text("session.id", conversation),
        text("user.id", format!("user-{:05}", rng.random_range(0..50_000))),
    ];
    if is_llm {
        extra.extend([
            text("gen_ai.response.id", format!("chatcmpl-{:016x}", rng.random::<u64>())),
            kv("gen_ai.request.temperature", any_value::Value::DoubleValue(0.2)),
            kv("gen_ai.request.max_tokens", any_value::Value::IntValue(4096)),
            text("gen_ai.response.finish_reasons", "stop"),
            text("server.address", "api.provider.example"),
            kv("server.port", any_value::Value::IntValue(443)),
        ]);
    }
    if is_tool {
        extra.extend([
            text("gen_ai.tool.call.id", format!("call_{:012x}", rng.random::<u64>() >> 16)),
            text("gen_ai.tool.type", "function"),
            kv("gen_ai.tool.call.arguments.size", any_value::Value::IntValue(rng.random_range(40..900))),
        ]);
    }
    extra.extend([
        text("code.function.name", format!("agent.step.{}", span.name.replace(' ', "_"))),
        text("code.file.path", "agents/runtime/loop.py"),
        kv("code.line.number", any_value::Value::IntValue(rng.random_range(20..900))),
        kv("thread.id", any_value::Value::IntValue(rng.random_range(1..64))),
        text("process.runtime.name", "cpython"),
        text("telemetry.sdk.language", "python"),
        text("net.transport", "ip_tcp"),
    ]);
    let room = ATTRS_PER_SPAN.saturating_sub(span.attributes.len());
    span.attributes.extend(extra.into_iter().take(room));
}

/// The agent, tool and model names a run is renamed to.
struct Names {
    tools: Vec<&'static str>,
    models: Vec<&'static str>,
}

fn reshape<R: Rng>(rs: &mut ResourceSpans, agent: Option<String>, shape: &Shape, names: &Names, rng: &mut R) {
    let base_agent = rs
        .resource
        .as_ref()
        .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
        .and_then(|a| string_of(&a.value))
        .map(str::to_owned);
    if let (Some(to), Some(r)) = (&agent, rs.resource.as_mut()) {
        rename(&mut r.attributes, AGENT_KEYS, to);
    }
    for span in rs.scope_spans.iter_mut().flat_map(|s| &mut s.spans) {
        if let Some(to) = &agent {
            rename(&mut span.attributes, AGENT_KEYS, to);
            // OpenLLMetry names the workflow after the agent.
            for a in span.attributes.iter_mut().filter(|a| a.key == "traceloop.entity.name") {
                if string_of(&a.value) == base_agent.as_deref() {
                    a.value = Some(AnyValue { value: Some(any_value::Value::StringValue(to.clone())) });
                }
            }
        }
        let is_tool = span.attributes.iter().any(|a| TOOL_KEYS.contains(&a.key.as_str()))
            || span.attributes.iter().any(|a| a.key == "traceloop.span.kind" && string_of(&a.value) == Some("tool"));
        if let (true, Some(n)) = (is_tool, shape.tools) {
            let name = nth_name(&names.tools, rng.random_range(0..n.max(1)));
            rename(&mut span.attributes, TOOL_KEYS, &name);
            for a in span.attributes.iter_mut().filter(|a| a.key == "traceloop.entity.name") {
                a.value = Some(AnyValue { value: Some(any_value::Value::StringValue(name.clone())) });
            }
        }
        if let Some(n) = shape.models {
            let has_model = span.attributes.iter().any(|a| MODEL_KEYS.contains(&a.key.as_str()));
            if has_model {
                rename(&mut span.attributes, MODEL_KEYS, &nth_name(&names.models, rng.random_range(0..n.max(1))));
            }
        }
    }
}

/// The token-usage histogram of a batch's LLM spans, one point per (agent, token type).
fn token_histograms(traces: &ExportTraceServiceRequest, now_ns: u64) -> ExportMetricsServiceRequest {
    let bounds = vec![64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0];
    let mut resource_metrics = Vec::new();
    for rs in &traces.resource_spans {
        let mut input = Vec::new();
        let mut output = Vec::new();
        for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
            for a in &span.attributes {
                let v = match a.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::IntValue(v)) => *v as f64,
                    _ => continue,
                };
                match a.key.as_str() {
                    "gen_ai.usage.input_tokens" | "gen_ai.usage.prompt_tokens" | "llm.token_count.prompt" => {
                        input.push(v)
                    }
                    "gen_ai.usage.output_tokens" | "gen_ai.usage.completion_tokens" | "llm.token_count.completion" => {
                        output.push(v)
                    }
                    _ => {}
                }
            }
        }
        let point = |kind: &str, values: &[f64]| {
            let mut counts = vec![0u64; bounds.len() + 1];
            for v in values {
                counts[bounds.iter().take_while(|b| *b < v).count()] += 1;
            }
            HistogramDataPoint {
                attributes: vec![text("gen_ai.token.type", kind), text("gen_ai.operation.name", "chat")],
                start_time_unix_nano: now_ns.saturating_sub(60_000_000_000),
                time_unix_nano: now_ns,
                count: values.len() as u64,
                sum: Some(values.iter().sum()),
                bucket_counts: counts,
                explicit_bounds: bounds.clone(),
                ..Default::default()
            }
        };
        let data_points: Vec<_> = [("input", &input), ("output", &output)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| point(k, v))
            .collect();
        if data_points.is_empty() {
            continue;
        }
        resource_metrics.push(ResourceMetrics {
            resource: rs.resource.clone(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "gen_ai.client.token.usage".into(),
                    unit: "{token}".into(),
                    data: Some(metric::Data::Histogram(Histogram {
                        data_points,
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    ExportMetricsServiceRequest { resource_metrics }
}

/// The wall clock, ns since the epoch.
pub(super) fn wall_ns() -> u64 {
    crate::control::now_ms().max(0) as u64 * 1_000_000
}

/// `distinct` batches of `runs_per_request` runs each (seeded, so benchmarks repeat).
pub fn batches(distinct: usize, runs_per_request: usize, shape: &Shape) -> Vec<Batch> {
    let mut rng = StdRng::seed_from_u64(42);
    let now = wall_ns();
    let names = Names { tools: fleet_tools(), models: fleet_models() };
    let agents = shape.agents.unwrap_or(FLEET.len()).max(1);
    let mut run_no = 0usize;
    (0..distinct.max(1))
        .map(|_| {
            let mut resource_spans = Vec::new();
            let mut resource_logs = Vec::new();
            let mut spans = 0u64;
            for _ in 0..runs_per_request.max(1) {
                let a = run_no % agents;
                run_no += 1;
                let p = &FLEET[a % FLEET.len()];
                let g = generate(&RunSpec::normal(p, now - 5_000_000_000), &mut rng);
                spans += g.spans.len() as u64;
                let conversation = format!("conv-{}", hex::encode(&g.trace_id[8..]));
                let mut rs = ResourceSpans {
                    resource: Some(g.resource.clone()),
                    scope_spans: vec![ScopeSpans { spans: g.spans, ..Default::default() }],
                    ..Default::default()
                };
                let agent =
                    (shape.agents.is_some() && agents != FLEET.len()).then(|| nth_name(&[p.name], a / FLEET.len()));
                reshape(&mut rs, agent, shape, &names, &mut rng);
                for span in rs.scope_spans.iter_mut().flat_map(|s| &mut s.spans) {
                    fill(span, &conversation, &mut rng);
                }
                if !g.logs.is_empty() {
                    resource_logs.push(ResourceLogs {
                        resource: rs.resource.clone(),
                        scope_logs: vec![ScopeLogs { log_records: g.logs, ..Default::default() }],
                        ..Default::default()
                    });
                }
                resource_spans.push(rs);
            }
            let traces = ExportTraceServiceRequest { resource_spans };
            let metrics = token_histograms(&traces, now);
            Batch { spans, traces, logs: ExportLogsServiceRequest { resource_logs }, metrics, made_ns: now }
        })
        .collect()
}

/// Gives the request's traces ids of their own from `serial`, so a resent request is new data.
pub fn stamp_trace_ids(req: &mut ExportTraceServiceRequest, serial: u64) {
    for s in req.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
        if s.trace_id.len() == 16 {
            s.trace_id[..8].copy_from_slice(&serial.to_be_bytes());
        }
    }
}

/// Calls `f` on every timestamp of a request's spans and their events: the one list of the
/// fields a send moves, for collecting them and for moving them.
fn each_trace_time(req: &mut ExportTraceServiceRequest, f: &mut impl FnMut(&mut u64)) {
    for s in req.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
        f(&mut s.start_time_unix_nano);
        f(&mut s.end_time_unix_nano);
        s.events.iter_mut().for_each(|e| f(&mut e.time_unix_nano));
    }
}

/// The same for log records.
fn each_log_time(req: &mut ExportLogsServiceRequest, f: &mut impl FnMut(&mut u64)) {
    for l in req.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).flat_map(|s| &mut s.log_records) {
        f(&mut l.time_unix_nano);
        f(&mut l.observed_time_unix_nano);
    }
}

/// The same for the token histograms' points.
fn each_point_time(req: &mut ExportMetricsServiceRequest, f: &mut impl FnMut(&mut u64)) {
    let metrics = req.resource_metrics.iter_mut().flat_map(|r| &mut r.scope_metrics).flat_map(|s| &mut s.metrics);
    for m in metrics {
        if let Some(metric::Data::Histogram(h)) = &mut m.data {
            for p in &mut h.data_points {
                f(&mut p.start_time_unix_nano);
                f(&mut p.time_unix_nano);
            }
        }
    }
}

/// Appends each set timestamp (an unset one, 0, is not a time to move).
fn collect_into(all: &mut Vec<u64>) -> impl FnMut(&mut u64) + '_ {
    |t| {
        if *t != 0 {
            all.push(*t);
        }
    }
}

/// Moves each set timestamp on by `by` ns (an unset one, 0, stays unset).
fn move_on(by: u64) -> impl FnMut(&mut u64) {
    move |t| {
        if *t != 0 {
            *t = t.wrapping_add(by);
        }
    }
}

/// Every timestamp of a request's spans and their events (read once, when requests are made).
pub fn trace_times(req: &ExportTraceServiceRequest) -> Vec<u64> {
    let mut all = Vec::new();
    each_trace_time(&mut req.clone(), &mut collect_into(&mut all));
    all
}

/// Moves a request's span and event times on by `by` ns, as `PreEncoded::stamped` does to the
/// encoded bytes (for the JSON bodies, built from the messages).
pub fn shift_trace_times(req: &mut ExportTraceServiceRequest, by: u64) {
    each_trace_time(req, &mut move_on(by));
}

/// The same for log records.
pub fn shift_log_times(req: &mut ExportLogsServiceRequest, by: u64) {
    each_log_time(req, &mut move_on(by));
}

/// The same for the token histograms' points.
pub fn shift_point_times(req: &mut ExportMetricsServiceRequest, by: u64) {
    each_point_time(req, &mut move_on(by));
}

/// The same stamp on log records, so they still join their spans.
pub fn stamp_log_trace_ids(req: &mut ExportLogsServiceRequest, serial: u64) {
    for l in req.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).flat_map(|s| &mut s.log_records) {
        if l.trace_id.len() == 16 {
            l.trace_id[..8].copy_from_slice(&serial.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(b: &[Batch], keys: &[&str]) -> std::collections::BTreeSet<String> {
        b.iter()
            .flat_map(|b| &b.traces.resource_spans)
            .flat_map(|r| r.scope_spans.iter().flat_map(|s| &s.spans))
            .flat_map(|s| &s.attributes)
            .filter(|a| keys.contains(&a.key.as_str()))
            .filter_map(|a| string_of(&a.value).map(str::to_owned))
            .collect()
    }

    #[test]
    fn spans_carry_fifteen_attributes_and_the_shape_is_honoured() {
        let shape = Shape { agents: Some(12), tools: Some(30), models: Some(3) };
        let b = batches(8, 16, &shape);
        let spans: Vec<&Span> = b
            .iter()
            .flat_map(|b| &b.traces.resource_spans)
            .flat_map(|r| r.scope_spans.iter().flat_map(|s| &s.spans))
            .collect();
        assert_eq!(spans.len() as u64, b.iter().map(|b| b.spans).sum::<u64>());
        let mean = spans.iter().map(|s| s.attributes.len()).sum::<usize>() as f64 / spans.len() as f64;
        assert!((14.0..=16.0).contains(&mean), "mean attributes per span {mean}");
        let services: std::collections::BTreeSet<String> = b
            .iter()
            .flat_map(|b| &b.traces.resource_spans)
            .filter_map(|r| r.resource.as_ref())
            .flat_map(|r| &r.attributes)
            .filter(|a| a.key == "service.name")
            .filter_map(|a| string_of(&a.value).map(str::to_owned))
            .collect();
        assert_eq!(services.len(), 12, "{services:?}");
        let tools = values(&b, TOOL_KEYS);
        assert!(tools.len() > 12 && tools.len() <= 30, "{} tools", tools.len());
        assert!(values(&b, MODEL_KEYS).len() <= 3);
        assert!(b.iter().map(Batch::points).sum::<u64>() > 0);
        assert!(b.iter().map(Batch::log_records).sum::<u64>() > 0);
    }
}
