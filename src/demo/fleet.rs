//! The live demo fleet: each agent emits OTLP over the real exporter paths (gRPC or HTTP),
//! reads its policy over OFREP with ETag polling, asks for approvals and waits for them, and
//! obeys kill switches, allowlists, approval modes and version pins — as real agents would.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use parking_lot::Mutex;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::profiles::{ASKS, Dialect, FLEET, Profile};
use super::runs::{RunSpec, generate};

/// The scripted incidents.
pub const INCIDENTS: &[(&str, &str)] = &[
    ("injection", "a prompt-injection wave through web.fetch on research-assistant, trying to exfiltrate by email"),
    ("runaway", "a tool loop on billing-ops that multiplies its spend rate"),
    ("regression", "support-triage 4.2 ships: success drops, tokens per run rise"),
    ("outage", "crm.lookup fails with authz and timeout errors"),
];

/// Where the fleet sends and reads.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// OTLP/gRPC, `http://host:port`.
    pub otlp_grpc: String,
    /// OTLP/HTTP, `http://host:port`.
    pub otlp_http: String,
    /// Agent API, `http://host:port`.
    pub api: String,
    /// Agent token, if the API wants one.
    pub agent_token: Option<String>,
}

/// Fleet settings.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Time compression: runs come `speed` times as often and incidents `speed` times sooner.
    pub speed: f64,
    /// Random seed.
    pub seed: u64,
    /// Run the scripted incident timeline (off: incidents only when triggered).
    pub timeline: bool,
}

/// What the operator (or the timeline) has switched on, shared with the TUI's `:demo`.
#[derive(Debug, Default)]
pub struct DemoControl {
    active: Mutex<BTreeSet<String>>,
}

impl DemoControl {
    /// Starts a scripted incident now.
    pub fn trigger(&self, name: &str) -> Result<String, String> {
        if !INCIDENTS.iter().any(|(n, _)| *n == name) {
            let names: Vec<&str> = INCIDENTS.iter().map(|(n, _)| *n).collect();
            return Err(format!("no demo incident {name:?}: {}", names.join(", ")));
        }
        self.active.lock().insert(name.to_owned());
        Ok(format!("demo incident {name} started"))
    }

    /// Whether an incident is on.
    pub fn active(&self, name: &str) -> bool {
        self.active.lock().contains(name)
    }
}

/// The policy an agent last read.
#[derive(Debug, Clone, PartialEq)]
struct Policy {
    enabled: bool,
    tools: Option<Vec<String>>,
    approval: String,
    pin: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self { enabled: true, tools: None, approval: "none".into(), pin: String::new() }
    }
}

impl Policy {
    fn allows(&self, tool: &str) -> bool {
        self.tools.as_ref().is_none_or(|list| list.iter().any(|p| wildmatch::WildMatch::new(p).matches(tool)))
    }
}

/// Reads the policy over OFREP (bulk, with the ETag: 304 keeps the cached flags).
async fn poll_policy(
    client: &reqwest::Client,
    ep: &Endpoints,
    agent: &str,
    etag: &mut Option<String>,
    cached: &mut Policy,
) -> Result<(), String> {
    let mut req =
        client.post(format!("{}/ofrep/v1/evaluate/flags", ep.api)).json(&json!({"context": {"targetingKey": agent}}));
    if let Some(t) = etag.as_deref() {
        req = req.header("if-none-match", t);
    }
    if let Some(t) = &ep.agent_token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    if resp.status().as_u16() == 304 {
        return Ok(());
    }
    if !resp.status().is_success() {
        return Err(format!("OFREP answered {}", resp.status()));
    }
    *etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    let mut p = Policy::default();
    for f in body["flags"].as_array().into_iter().flatten() {
        match f["key"].as_str() {
            Some("agent.enabled") => p.enabled = f["value"].as_bool().unwrap_or(true),
            Some("agent.tools") => {
                p.tools = (f["value"]["mode"] == "allowlist").then(|| {
                    f["value"]["tools"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                });
            }
            Some("agent.approval") => p.approval = f["value"].as_str().unwrap_or("none").to_owned(),
            Some("agent.pin") => p.pin = f["value"].as_str().unwrap_or("").to_owned(),
            _ => {}
        }
    }
    *cached = p;
    Ok(())
}

/// One approval request, as the agent words it.
struct Asked {
    tool: &'static str,
    risk: &'static str,
    summary: String,
    arguments: Value,
}

/// What a call of `tool` asks a human, from the table in `profiles` (a read tool, asked about
/// under `approval = all`, says only what it would call); `injected` when a prompt injection
/// is steering the run.
fn ask_for(tool: &'static str, injected: bool, rng: &mut StdRng) -> Asked {
    let picked = ASKS.iter().find(|a| a.tool == tool).and_then(|a| {
        let example = a
            .injected
            .filter(|_| injected)
            .or_else(|| (!a.examples.is_empty()).then(|| a.examples[rng.random_range(0..a.examples.len())]));
        example.map(|(summary, arguments)| (a.risk, summary, arguments))
    });
    match picked {
        Some((risk, summary, arguments)) => Asked {
            tool,
            risk,
            summary: summary.to_owned(),
            arguments: serde_json::from_str(arguments).unwrap_or(Value::Null),
        },
        None => Asked { tool, risk: "low", summary: format!("Call {tool} (reads only)"), arguments: json!({}) },
    }
}

/// Asks for approval and waits; answers whether the call may go ahead (expired = denied).
async fn approval(client: &reqwest::Client, ep: &Endpoints, agent: &str, ask: &Asked, trace: &str, speed: f64) -> bool {
    let ttl = (120.0 / speed.max(1.0)).max(10.0) as u64;
    let tool = ask.tool;
    let mut req = client.post(format!("{}/api/v1/approvals", ep.api)).json(&json!({
        "agent": agent, "tool": tool, "arguments": ask.arguments,
        "summary": ask.summary, "risk": ask.risk,
        "trace_id": trace, "idempotency_key": format!("{agent}-{trace}-{tool}"), "ttl_seconds": ttl,
    }));
    if let Some(t) = &ep.agent_token {
        req = req.bearer_auth(t);
    }
    let Ok(resp) = req.send().await else { return false };
    let Ok(created) = resp.json::<Value>().await else { return false };
    let Some(id) = created["id"].as_str().map(str::to_owned) else { return false };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(ttl + 2);
    while tokio::time::Instant::now() < deadline {
        let mut req = client.get(format!("{}/api/v1/approvals/{id}?wait=30", ep.api));
        if let Some(t) = &ep.agent_token {
            req = req.bearer_auth(t);
        }
        let Ok(v) = req.send().await else { return false };
        let Ok(v) = v.json::<Value>().await else { return false };
        match v["status"].as_str() {
            Some("approved") => return true,
            Some("pending") => continue,
            _ => return false,
        }
    }
    false
}

fn trace_request(g: &super::runs::Generated) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(g.resource.clone()),
            scope_spans: vec![ScopeSpans { spans: g.spans.clone(), ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// One agent's life.
async fn agent_loop(
    p: &'static Profile,
    ep: Endpoints,
    opts: FleetOptions,
    control: Arc<DemoControl>,
    started: tokio::time::Instant,
) {
    let client = reqwest::Client::new();
    let mut grpc = None;
    // Each agent its own stream: the seed mixed with the agent's name.
    let name_hash =
        p.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = StdRng::seed_from_u64(opts.seed ^ name_hash);
    let mut etag = None;
    let mut policy = Policy::default();
    let mut last_poll = None::<tokio::time::Instant>;
    let interval = Duration::from_secs_f64((3.0 / opts.speed.max(0.01)).max(0.02));
    loop {
        // OFREP polling: once a second (a real agent's poll interval), ETag-aware.
        if last_poll.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            if let Err(e) = poll_policy(&client, &ep, p.name, &mut etag, &mut policy).await {
                tracing::warn!("demo {}: policy read failed: {e}", p.name);
            }
            last_poll = Some(tokio::time::Instant::now());
        }
        let jitter = rng.random_range(0.6..1.4);
        tokio::time::sleep(interval.mul_f64(jitter)).await;
        if !policy.enabled {
            continue; // killed: no new runs
        }
        // The scripted timeline, in compressed minutes.
        let minute = started.elapsed().as_secs_f64() * opts.speed / 60.0;
        let on = |name: &str, at: f64| control.active(name) || (opts.timeline && minute >= at);
        let mut spec = RunSpec::normal(p, 0);
        spec.blocked = p.tools.iter().filter(|t| !policy.allows(t.name)).map(|t| t.name.to_owned()).collect();
        match p.name {
            "research-assistant" if on("injection", 3.0) && policy.allows("web.fetch") => {
                spec.injection = rng.random_bool(0.5);
                spec.red_team = rng.random_bool(0.3);
                // When email is allowed and needs no approval, one in ten gets through.
                spec.injection_gets_through =
                    spec.injection && policy.allows("email.send") && policy.approval == "none" && rng.random_bool(0.1);
            }
            "billing-ops" if on("runaway", 6.0) && policy.allows("billing.issue_credit") => spec.loop_extra = 8,
            "support-triage" => {
                let deployed = if on("regression", 9.0) { "4.2" } else { p.version };
                spec.version = if policy.pin.is_empty() { deployed.into() } else { policy.pin.clone() };
                if spec.version == "4.2" {
                    spec.success_rate = 0.72;
                    spec.token_factor = 1.6;
                }
                if on("outage", 12.0) && policy.allows("crm.lookup") {
                    spec.outage = Some("crm.lookup");
                }
            }
            _ => {}
        }
        // Approval mode: a write tool (or every tool) waits for a human; denied = not called.
        let needs = |write: bool| policy.approval == "all" || (policy.approval == "writes" && write);
        let trace_hint = format!("{:032x}", rng.random::<u128>());
        for tool in p.tools.iter().filter(|t| needs(t.write) && policy.allows(t.name)) {
            let ask = ask_for(tool.name, spec.injection, &mut rng);
            if !approval(&client, &ep, p.name, &ask, &trace_hint, opts.speed).await {
                spec.blocked.push(tool.name.to_owned());
            }
        }
        if spec.injection_gets_through && spec.blocked.iter().any(|b| b == "email.send") {
            spec.injection_gets_through = false;
        }
        // A run ends now: its spans end at the wall clock.
        let duration_guess = 4_000_000_000u64;
        spec.start_ns = crate::control::now_ms().max(0) as u64 * 1_000_000 - duration_guess;
        let mut run = generate(&spec, &mut rng);
        let shift = run.end_ns.saturating_sub(crate::control::now_ms().max(0) as u64 * 1_000_000);
        for s in &mut run.spans {
            s.start_time_unix_nano = s.start_time_unix_nano.saturating_sub(shift);
            s.end_time_unix_nano = s.end_time_unix_nano.saturating_sub(shift);
        }
        // In flight when the kill switch tripped: the run stops at its next step.
        if let Err(e) = poll_policy(&client, &ep, p.name, &mut etag, &mut policy).await {
            tracing::warn!("demo {}: policy read failed: {e}", p.name);
        }
        last_poll = Some(tokio::time::Instant::now());
        if !policy.enabled {
            run.spans.truncate(2);
            if let Some(root) = run.spans.first_mut() {
                root.attributes.retain(|kv| kv.key != "cockpit.run.outcome");
                root.attributes.push(opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: "cockpit.run.outcome".into(),
                    value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                        value: Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                            "abandoned".into(),
                        )),
                    }),
                    ..Default::default()
                });
            }
        }
        let req = trace_request(&run);
        let sent = if p.dialect == Dialect::GenAi {
            if grpc.is_none() {
                grpc = TraceServiceClient::connect(ep.otlp_grpc.clone()).await.ok();
            }
            match grpc.as_mut() {
                Some(c) => c.export(req).await.map(|_| ()).map_err(|e| e.to_string()),
                None => Err("cannot connect to OTLP/gRPC".into()),
            }
        } else {
            client
                .post(format!("{}/v1/traces", ep.otlp_http))
                .header("content-type", "application/x-protobuf")
                .body(req.encode_to_vec())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        if let Err(e) = sent {
            tracing::warn!("demo {}: export failed: {e}", p.name);
            grpc = None;
        }
        if !run.logs.is_empty() {
            let logs = ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    resource: Some(run.resource.clone()),
                    scope_logs: vec![ScopeLogs { log_records: run.logs.clone(), ..Default::default() }],
                    ..Default::default()
                }],
            };
            let _ = client
                .post(format!("{}/v1/logs", ep.otlp_http))
                .header("content-type", "application/x-protobuf")
                .body(logs.encode_to_vec())
                .send()
                .await;
        }
    }
}

/// Starts every agent of the fleet; they run until the process ends.
pub fn spawn(ep: Endpoints, opts: FleetOptions, control: Arc<DemoControl>) -> Vec<tokio::task::JoinHandle<()>> {
    let started = tokio::time::Instant::now();
    FLEET.iter().map(|p| tokio::spawn(agent_loop(p, ep.clone(), opts.clone(), Arc::clone(&control), started))).collect()
}

/// The demo's incidents and their right containment, for `:demo` help and docs.
pub fn containment() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        (
            "injection",
            ":allow research-assistant -web.fetch  (or :approval research-assistant writes, then deny the email)",
        ),
        ("runaway", ":kill billing-ops  (or :allow billing-ops -billing.issue_credit)"),
        ("regression", ":rollback support-triage"),
        ("outage", ":allow support-triage -crm.lookup"),
    ])
}
