//! One run of a simulated agent as OTLP spans (and log records), in the agent's dialect.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::Event, status::StatusCode};
use rand::Rng;

use super::profiles::{Dialect, Profile, Tool};
use crate::model::Outcome;

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..Default::default() }
}
fn s(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}
fn i(key: &str, v: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(v))
}
fn b(key: &str, v: bool) -> KeyValue {
    kv(key, any_value::Value::BoolValue(v))
}

/// What shapes one run.
#[derive(Debug, Clone)]
pub struct RunSpec<'a> {
    /// The agent.
    pub profile: &'a Profile,
    /// Version it runs.
    pub version: String,
    /// Start, ns.
    pub start_ns: u64,
    /// Success probability.
    pub success_rate: f64,
    /// Multiplies tokens per call (a regression raises it).
    pub token_factor: f64,
    /// A prompt-injection attempt arrives through web content.
    pub injection: bool,
    /// …and the guardrail misses it (the agent tries to exfiltrate by email).
    pub injection_gets_through: bool,
    /// A tool that is down (authz and timeout errors).
    pub outage: Option<&'a str>,
    /// Extra tool-loop iterations (a cost runaway).
    pub loop_extra: u32,
    /// Part of a red-team suite.
    pub red_team: bool,
    /// Tools the policy refuses (attempts are recorded as policy blocks).
    pub blocked: Vec<String>,
}

impl<'a> RunSpec<'a> {
    /// A normal run of the agent at its own version: no incident.
    pub fn normal(profile: &'a Profile, start_ns: u64) -> Self {
        Self {
            profile,
            version: profile.version.into(),
            start_ns,
            success_rate: profile.success,
            token_factor: 1.0,
            injection: false,
            injection_gets_through: false,
            outage: None,
            loop_extra: 0,
            red_team: false,
            blocked: Vec::new(),
        }
    }
}

/// A generated run.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Resource of the agent process.
    pub resource: Resource,
    /// Spans, root first.
    pub spans: Vec<Span>,
    /// Log records (evaluation events).
    pub logs: Vec<LogRecord>,
    /// Outcome.
    pub outcome: Outcome,
    /// End, ns.
    pub end_ns: u64,
    /// Trace id.
    pub trace_id: [u8; 16],
}

struct Builder<'a, R: Rng> {
    rng: &'a mut R,
    trace: [u8; 16],
    spans: Vec<Span>,
    next_id: u64,
}

impl<R: Rng> Builder<'_, R> {
    fn span(
        &mut self,
        parent: Option<[u8; 8]>,
        name: &str,
        start: u64,
        dur_ms: u64,
        attrs: Vec<KeyValue>,
        error: Option<&str>,
    ) -> [u8; 8] {
        self.next_id += 1;
        let id = (self.next_id | (u64::from(self.rng.random::<u32>()) << 32)).to_be_bytes();
        self.spans.push(Span {
            trace_id: self.trace.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            name: name.into(),
            kind: 1,
            start_time_unix_nano: start,
            end_time_unix_nano: start + dur_ms * 1_000_000,
            attributes: attrs,
            status: error.map(|m| Status { code: StatusCode::Error as i32, message: m.into() }),
            ..Default::default()
        });
        id
    }
}

fn llm_attrs(d: Dialect, provider: &str, model: &str, input: u64, cached: u64, output: u64) -> Vec<KeyValue> {
    match d {
        Dialect::GenAi => vec![
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.provider.name", provider),
            s("gen_ai.request.model", model),
            s("gen_ai.response.model", model),
            i("gen_ai.usage.input_tokens", input as i64),
            i("gen_ai.usage.output_tokens", output as i64),
            i("gen_ai.usage.cache_read.input_tokens", cached as i64),
        ],
        Dialect::OpenInference => vec![
            s("openinference.span.kind", "LLM"),
            s("llm.provider", provider),
            s("llm.model_name", model),
            i("llm.token_count.prompt", input as i64),
            i("llm.token_count.completion", output as i64),
            i("llm.token_count.prompt_details.cache_read", cached as i64),
        ],
        Dialect::OpenLlmetry => vec![
            s("llm.request.type", "chat"),
            s("gen_ai.system", provider),
            s("gen_ai.request.model", model),
            i("gen_ai.usage.prompt_tokens", input as i64),
            i("gen_ai.usage.completion_tokens", output as i64),
            i("gen_ai.usage.reasoning_tokens", (output / 3) as i64),
        ],
    }
}

fn tool_attrs(d: Dialect, tool: &Tool) -> Vec<KeyValue> {
    let effect = s("cockpit.tool.side_effect", if tool.write { "write" } else { "read" });
    match d {
        Dialect::GenAi if tool.name.starts_with("mcp:") => {
            vec![s("mcp.method.name", "tools/call"), s("gen_ai.tool.name", tool.name), effect]
        }
        Dialect::GenAi => vec![s("gen_ai.operation.name", "execute_tool"), s("gen_ai.tool.name", tool.name), effect],
        Dialect::OpenInference => vec![s("openinference.span.kind", "TOOL"), s("tool.name", tool.name), effect],
        Dialect::OpenLlmetry => vec![s("traceloop.span.kind", "tool"), s("traceloop.entity.name", tool.name), effect],
    }
}

fn guardrail(name: &str, stage: &str, category: &str, decision: &str) -> Vec<KeyValue> {
    vec![
        s("gen_ai.operation.name", "apply_guardrail"),
        s("gen_ai.guardrail.name", name),
        s("cockpit.guardrail.stage", stage),
        s("cockpit.guardrail.category", category),
        s("cockpit.guardrail.decision", decision),
    ]
}

/// Generates one run.
pub fn generate<R: Rng>(spec: &RunSpec<'_>, rng: &mut R) -> Generated {
    let p = spec.profile;
    let trace: [u8; 16] = rng.random();
    let mut bld = Builder { rng, trace, spans: Vec::new(), next_id: 0 };
    let scenario = p.scenarios[bld.rng.random_range(0..p.scenarios.len())];
    let mut t = spec.start_ns + 5_000_000;
    // Children first; the root is added last with the run's total duration.
    let root_id = {
        bld.next_id += 1;
        (bld.next_id | (1u64 << 62)).to_be_bytes()
    };
    let mut outcome =
        if bld.rng.random_bool(spec.success_rate.clamp(0.0, 1.0)) { Outcome::Success } else { Outcome::Failure };
    let guard = |bld: &mut Builder<'_, R>, t: &mut u64, stage: &str, category: &str, decision: &str| {
        bld.span(
            Some(root_id),
            &format!("apply_guardrail {category}"),
            *t,
            15,
            guardrail(&format!("{category}-shield"), stage, category, decision),
            None,
        );
        *t += 20_000_000;
    };
    guard(&mut bld, &mut t, "input", "prompt_injection", "allow");
    let llm_n = bld.rng.random_range(p.llm_calls.0..=p.llm_calls.1);
    for n in 0..llm_n + spec.loop_extra {
        let (provider, model) = p.models[(n as usize) % p.models.len()];
        let input = ((p.input_tokens as f64) * spec.token_factor * bld.rng.random_range(0.7..1.3)) as u64;
        let cached = if n > 0 { input / 3 } else { 0 };
        let output = (input / 6).max(40);
        let dur = 400 + bld.rng.random_range(0..900);
        let mut attrs = llm_attrs(p.dialect, provider, model, input, cached, output);
        // Now and then the provider throttles: a 429, then the retry.
        if bld.rng.random_bool(0.04) {
            let mut throttled = llm_attrs(p.dialect, provider, model, input, 0, 0);
            throttled.push(s("error.type", "429"));
            bld.span(Some(root_id), &format!("chat {model}"), t, 120, throttled, Some("rate limited"));
            t += 400_000_000;
            attrs.push(i("http.request.resend_count", 1));
        }
        bld.span(Some(root_id), &format!("chat {model}"), t, dur, attrs, None);
        t += dur * 1_000_000 + 5_000_000;
        let tool = &p.tools[bld.rng.random_range(0..p.tools.len())];
        if spec.blocked.iter().any(|b| b == tool.name) {
            let mut attrs = tool_attrs(p.dialect, tool);
            attrs.push(s("error.type", "tool_not_allowed"));
            attrs.push(s("cockpit.tool.error_class", "policy"));
            bld.span(Some(root_id), &format!("execute_tool {}", tool.name), t, 1, attrs, Some("refused by policy"));
            t += 2_000_000;
            continue;
        }
        let failing = spec.outage == Some(tool.name);
        let mut attrs = tool_attrs(p.dialect, tool);
        let mut err = None;
        let mut dur = tool.ms / 2 + bld.rng.random_range(0..tool.ms.max(1));
        if failing {
            let timeout = bld.rng.random_bool(0.4);
            attrs.push(s("error.type", if timeout { "timeout" } else { "permission_denied" }));
            err = Some(if timeout { "upstream timed out" } else { "403 forbidden" });
            if timeout {
                dur = 5000;
            }
            outcome = Outcome::Failure;
        }
        // A transient tool timeout, retried once.
        if err.is_none() && bld.rng.random_bool(0.03) {
            let mut first = tool_attrs(p.dialect, tool);
            first.push(s("error.type", "timeout"));
            bld.span(Some(root_id), &format!("execute_tool {}", tool.name), t, tool.ms * 2, first, Some("timed out"));
            t += tool.ms * 2 * 1_000_000 + 5_000_000;
            attrs.push(i("cockpit.retry.attempt", 1));
        }
        bld.span(Some(root_id), &format!("execute_tool {}", tool.name), t, dur, attrs, err);
        t += dur * 1_000_000 + 5_000_000;
    }
    // Refund requests hand off to billing-ops inside the same trace.
    if p.name == "support-triage" && scenario == "refund_request" {
        let handoff = vec![
            s("gen_ai.operation.name", "invoke_agent"),
            s("gen_ai.agent.name", "billing-ops"),
            s("gen_ai.agent.version", "1.8"),
        ];
        let h = bld.span(Some(root_id), "invoke_agent billing-ops", t, 900, handoff, None);
        bld.span(
            Some(h),
            "chat o3-mini",
            t + 50_000_000,
            700,
            llm_attrs(Dialect::GenAi, "openai", "o3-mini", 800, 0, 150),
            None,
        );
        t += 910_000_000;
    }
    if spec.injection {
        // Poisoned web content comes back from a fetch; the guardrail usually blocks it.
        let fetch = Tool { name: "web.fetch", write: false, ms: 500 };
        bld.span(Some(root_id), "execute_tool web.fetch", t, 500, tool_attrs(p.dialect, &fetch), None);
        t += 510_000_000;
        if spec.injection_gets_through {
            guard(&mut bld, &mut t, "tool", "prompt_injection", "allow");
            let email = Tool { name: "email.send", write: true, ms: 300 };
            let mut attrs = tool_attrs(p.dialect, &email);
            attrs.push(s("cockpit.risk", "exfiltration"));
            bld.span(Some(root_id), "execute_tool email.send", t, 300, attrs, None);
            t += 310_000_000;
            guard(&mut bld, &mut t, "output", "pii", "flag");
        } else {
            guard(&mut bld, &mut t, "tool", "prompt_injection", "block");
            outcome = Outcome::Abandoned;
        }
    } else if bld.rng.random_bool(0.05) {
        guard(&mut bld, &mut t, "output", "pii", "redact");
    }
    let end = t + 10_000_000;
    let mut root_attrs = match p.dialect {
        Dialect::GenAi => vec![
            s("gen_ai.operation.name", "invoke_agent"),
            s("gen_ai.agent.name", p.name),
            s("gen_ai.agent.version", &spec.version),
        ],
        Dialect::OpenInference => vec![
            s("openinference.span.kind", "AGENT"),
            s("agent.name", p.name),
            s("gen_ai.agent.version", &spec.version),
        ],
        Dialect::OpenLlmetry => vec![
            s("traceloop.span.kind", "workflow"),
            s("traceloop.entity.name", p.name),
            s("traceloop.entity.version", &spec.version),
        ],
    };
    root_attrs.push(s("cockpit.run.scenario", scenario));
    root_attrs.push(s("cockpit.run.outcome", outcome.as_str()));
    root_attrs.push(i("cockpit.run.step_budget", 12));
    if spec.red_team {
        root_attrs.push(s("cockpit.eval.suite", "red_team"));
        root_attrs.push(b("cockpit.attack.succeeded", spec.injection_gets_through));
    }
    let root = Span {
        trace_id: trace.to_vec(),
        span_id: root_id.to_vec(),
        name: format!("invoke_agent {}", p.name),
        kind: 2,
        start_time_unix_nano: spec.start_ns,
        end_time_unix_nano: end,
        attributes: root_attrs,
        status: (outcome != Outcome::Success)
            .then(|| Status { code: StatusCode::Error as i32, message: outcome.as_str().into() }),
        events: vec![Event {
            time_unix_nano: end,
            name: "gen_ai.evaluation.result".into(),
            attributes: vec![
                s("gen_ai.evaluation.name", "groundedness"),
                kv(
                    "gen_ai.evaluation.score.value",
                    any_value::Value::DoubleValue(if outcome == Outcome::Success { 0.9 } else { 0.55 }),
                ),
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut spans = vec![root];
    spans.append(&mut bld.spans);
    let mut logs = Vec::new();
    if bld.rng.random_bool(0.3) {
        let accepted = outcome == Outcome::Success && bld.rng.random_bool(0.9);
        logs.push(LogRecord {
            time_unix_nano: end + 1_000_000_000,
            event_name: "gen_ai.evaluation.result".into(),
            trace_id: trace.to_vec(),
            span_id: root_id.to_vec(),
            attributes: vec![
                s("gen_ai.evaluation.name", "user_feedback"),
                s("gen_ai.evaluation.score.label", if accepted { "accepted" } else { "rejected" }),
            ],
            ..Default::default()
        });
    }
    let resource = Resource {
        attributes: vec![
            s("service.name", p.name),
            s("service.version", &spec.version),
            s("deployment.environment.name", "prod"),
        ],
        ..Default::default()
    };
    Generated { resource, spans, logs, outcome, end_ns: end, trace_id: trace }
}
