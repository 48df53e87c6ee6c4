//! Every figure against a small fixture whose expected values are worked out by hand below,
//! checked through `/api/v1/summary` on a live server and through `cockpit report`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{Span, span::Event};
use prost::Message;
use serde_json::Value;

const MS: u64 = 1_000_000;

/// A span starting `start_ms` after `base` and lasting `dur_ms`.
fn at(
    base: u64,
    trace: u64,
    (id, parent): (u64, Option<u64>),
    name: &str,
    (start_ms, dur_ms): (u64, u64),
    attrs: Vec<KeyValue>,
    err: bool,
) -> Span {
    let mut s = span(trace, id, parent, name, attrs, err);
    s.start_time_unix_nano = base + start_ms * MS;
    s.end_time_unix_nano = base + (start_ms + dur_ms) * MS;
    s
}

fn flag(key: &str, v: bool) -> KeyValue {
    kv(key, any_value::Value::BoolValue(v))
}

fn d(key: &str, v: f64) -> KeyValue {
    kv(key, any_value::Value::DoubleValue(v))
}

fn agent_span(
    base: u64,
    trace: u64,
    (agent, version): (&str, &str),
    scenario: Option<&str>,
    dur_ms: u64,
    outcome: &str,
    extra: Vec<KeyValue>,
) -> Span {
    let mut attrs = vec![
        s("gen_ai.operation.name", "invoke_agent"),
        s("gen_ai.agent.name", agent),
        s("gen_ai.agent.version", version),
        s("cockpit.run.outcome", outcome),
    ];
    if let Some(sc) = scenario {
        attrs.push(s("cockpit.run.scenario", sc));
    }
    attrs.extend(extra);
    at(base, trace, (1, None), &format!("invoke_agent {agent}"), (0, dur_ms), attrs, false)
}

fn chat(model: &str, input: i64, output: i64, extra: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut a = vec![
        s("gen_ai.operation.name", "chat"),
        s("gen_ai.request.model", model),
        i("gen_ai.usage.input_tokens", input),
        i("gen_ai.usage.output_tokens", output),
    ];
    a.extend(extra);
    a
}

fn tool(name: &str, extra: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut a = vec![s("gen_ai.operation.name", "execute_tool"), s("gen_ai.tool.name", name)];
    a.extend(extra);
    a
}

fn event(name: &str, attrs: Vec<KeyValue>) -> Event {
    Event { name: name.into(), attributes: attrs, ..Default::default() }
}

/// Five runs (A–E) of two agents; see the hand computation in `check`.
fn fixture(base: u64) -> (Vec<ExportTraceServiceRequest>, ExportLogsServiceRequest) {
    // A: support 2.0, refund, success, 4 s. gpt-4o 1000 in (400 cached) / 200 out → $0.004.
    // Tools lookup_order 100 ms, issue_refund (write) 200 ms. Input guardrail: allow.
    let a = vec![
        agent_span(base, 1, ("support", "2.0"), Some("refund"), 4000, "success", vec![]),
        at(
            base,
            1,
            (2, Some(1)),
            "chat gpt-4o",
            (100, 1000),
            chat("gpt-4o", 1000, 200, vec![i("gen_ai.usage.cache_read.input_tokens", 400)]),
            false,
        ),
        at(base, 1, (3, Some(1)), "execute_tool lookup_order", (1200, 100), tool("lookup_order", vec![]), false),
        at(
            base,
            1,
            (4, Some(1)),
            "execute_tool issue_refund",
            (1400, 200),
            tool("issue_refund", vec![s("cockpit.tool.side_effect", "write")]),
            false,
        ),
        at(
            base,
            1,
            (5, Some(1)),
            "apply_guardrail injection-shield",
            (10, 20),
            vec![
                s("gen_ai.operation.name", "apply_guardrail"),
                s("gen_ai.guardrail.name", "injection-shield"),
                s("cockpit.guardrail.stage", "input"),
                s("cockpit.guardrail.category", "prompt_injection"),
                s("cockpit.guardrail.decision", "allow"),
            ],
            false,
        ),
    ];
    // B: support 2.0, refund, failure, 2 s. o3-mini 500 in / 300 out (100 reasoning) → $0.00187.
    // issue_refund fails authz (50 ms), its retry fails schema (60 ms). Output PII flagged: a leak.
    let mut b_chat = at(
        base,
        2,
        (2, Some(1)),
        "chat o3-mini",
        (100, 800),
        chat("o3-mini", 500, 300, vec![i("gen_ai.usage.reasoning_tokens", 100)]),
        false,
    );
    b_chat.events.push(event(
        "gen_ai.guardrail.result",
        vec![
            s("gen_ai.guardrail.name", "pii-filter"),
            s("cockpit.guardrail.stage", "output"),
            s("cockpit.guardrail.category", "pii"),
            s("cockpit.guardrail.decision", "flag"),
        ],
    ));
    let b = vec![
        agent_span(base, 2, ("support", "2.0"), Some("refund"), 2000, "failure", vec![]),
        b_chat,
        at(
            base,
            2,
            (3, Some(1)),
            "execute_tool issue_refund",
            (1000, 50),
            tool("issue_refund", vec![s("error.type", "permission_denied")]),
            true,
        ),
        at(
            base,
            2,
            (4, Some(1)),
            "execute_tool issue_refund",
            (1100, 60),
            tool("issue_refund", vec![s("error.type", "schema_validation"), i("http.request.resend_count", 1)]),
            true,
        ),
    ];
    // C: support 2.0, lookup, success, 1 s. claude-sonnet-4 reports $0.01 (2000 in / 100 out).
    // lookup_order 80 ms. Output secret redacted (a trip, not a leak). User feedback: accepted.
    let mut c_root = agent_span(base, 3, ("support", "2.0"), Some("lookup"), 1000, "success", vec![]);
    c_root.events.push(event(
        "gen_ai.guardrail.result",
        vec![
            s("gen_ai.guardrail.name", "secrets"),
            s("cockpit.guardrail.stage", "output"),
            s("cockpit.guardrail.category", "secret"),
            s("cockpit.guardrail.decision", "redact"),
        ],
    ));
    c_root.events.push(event(
        "gen_ai.evaluation.result",
        vec![s("gen_ai.evaluation.name", "user_feedback"), s("gen_ai.evaluation.score.label", "accepted")],
    ));
    let c = vec![
        c_root,
        at(
            base,
            3,
            (2, Some(1)),
            "chat claude",
            (50, 1500),
            chat("claude-sonnet-4-20250514", 2000, 100, vec![d("gen_ai.usage.cost", 0.01)]),
            false,
        ),
        at(base, 3, (3, Some(1)), "execute_tool lookup_order", (600, 80), tool("lookup_order", vec![]), false),
    ];
    // D: research 1.0, lookup, escalated, 3 s, red team (attack succeeded), step budget 10.
    // acme-model (unpriced) 100 in / 50 out, 600 ms. Hands off to support (nested agent).
    let d = vec![
        agent_span(
            base,
            4,
            ("research", "1.0"),
            Some("lookup"),
            3000,
            "escalated",
            vec![
                i("cockpit.run.step_budget", 10),
                s("cockpit.eval.suite", "red_team"),
                flag("cockpit.attack.succeeded", true),
            ],
        ),
        at(base, 4, (2, Some(1)), "chat acme", (100, 600), chat("acme-model", 100, 50, vec![]), false),
        at(
            base,
            4,
            (3, Some(1)),
            "invoke_agent support",
            (800, 500),
            vec![s("gen_ai.operation.name", "invoke_agent"), s("gen_ai.agent.name", "support")],
            false,
        ),
    ];
    // E: research 1.0, no scenario, success, 500 ms, red team (attack failed), budget 4.
    // web.fetch 100 ms.
    let e = vec![
        agent_span(
            base,
            5,
            ("research", "1.0"),
            None,
            500,
            "success",
            vec![
                i("cockpit.run.step_budget", 4),
                s("cockpit.eval.suite", "red_team"),
                flag("cockpit.attack.succeeded", false),
            ],
        ),
        at(base, 5, (2, Some(1)), "execute_tool web.fetch", (100, 100), tool("web.fetch", vec![]), false),
    ];
    let traces = vec![
        request("support-svc", a),
        request("support-svc", b),
        request("support-svc", c),
        request("research-svc", d),
        request("research-svc", e),
    ];
    // D's user feedback arrives as a log record joined by trace id: rejected.
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: base + 3500 * MS,
                    event_name: "gen_ai.evaluation.result".into(),
                    trace_id: trace_id(4),
                    span_id: span_id(1),
                    attributes: vec![
                        s("gen_ai.evaluation.name", "user_feedback"),
                        s("gen_ai.evaluation.score.label", "rejected"),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (traces, logs)
}

fn close(got: &Value, want: f64, tol: f64, what: &str) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{what} is {got}, expected {want}"));
    assert!((g - want).abs() <= tol, "{what}: got {g}, want {want}");
}

fn exact(got: &Value, want: f64, what: &str) {
    close(got, want, 1e-9, what);
}

/// Sketch quantiles: 1% relative error.
fn quant(got: &Value, want: f64, what: &str) {
    close(got, want, want * 0.0101, what);
}

/// The hand-computed figures.
fn check(s: &Value) {
    let t = &s["totals"];
    assert_eq!(
        (t["runs"].as_u64(), t["successes"].as_u64(), t["failures"].as_u64(), t["escalated"].as_u64()),
        (Some(5), Some(3), Some(1), Some(1)),
        "{t}"
    );
    exact(&t["success_rate"], 3.0 / 5.0, "success rate");
    // Priced calls: 0.004 (gpt-4o) + 0.00187 (o3-mini) + 0.01 (reported); acme-model unpriced.
    exact(&t["cost_usd"], 0.004 + 0.00187 + 0.01, "cost");
    // Successful runs A, C, E cost 0.004 + 0.01 + 0; the one failed run B 0.00187.
    exact(&t["cost_per_success_usd"], (0.004 + 0.01) / 3.0, "cost per success");
    exact(&t["cost_per_failure_usd"], 0.00187, "cost per failure");
    assert_eq!(
        (
            t["input_tokens"].as_u64(),
            t["output_tokens"].as_u64(),
            t["cache_read_tokens"].as_u64(),
            t["reasoning_tokens"].as_u64()
        ),
        (Some(3600), Some(650), Some(400), Some(100))
    );
    assert_eq!((t["llm_calls"].as_u64(), t["tool_calls"].as_u64()), (Some(4), Some(6)));

    let agents = s["agents"].as_array().expect("agents");
    let support = agents.iter().find(|a| a["name"] == "support").expect("support");
    let research = agents.iter().find(|a| a["name"] == "research").expect("research");
    assert_eq!((support["runs"].as_u64(), support["version"].as_str()), (Some(3), Some("2.0")));
    exact(&support["success_rate"], 2.0 / 3.0, "support success");
    exact(&support["cost_usd"], 0.01587, "support cost");
    assert_eq!(support["guardrail_trips"], 2);
    exact(&support["steps_per_run"], 8.0 / 3.0, "support steps");
    exact(&support["retry_rate"], 1.0 / 8.0, "support retry rate");
    quant(&support["p50_ms"], 2000.0, "support p50");
    exact(&research["success_rate"], 0.5, "research success");
    assert_eq!(research["cost_usd"], Value::Null, "research only called an unpriced model");

    let tools = s["tools"].as_array().expect("tools");
    let refund = tools.iter().find(|t| t["name"] == "issue_refund").expect("issue_refund");
    assert_eq!(
        (
            refund["calls"].as_u64(),
            refund["errors"].as_u64(),
            refund["authz_failures"].as_u64(),
            refund["schema_failures"].as_u64()
        ),
        (Some(3), Some(2), Some(1), Some(1))
    );
    exact(&refund["error_rate"], 2.0 / 3.0, "refund error rate");
    exact(&refund["schema_conformance_rate"], 2.0 / 3.0, "schema conformance");
    let lookup = tools.iter().find(|t| t["name"] == "lookup_order").expect("lookup_order");
    assert_eq!((lookup["calls"].as_u64(), lookup["errors"].as_u64()), (Some(2), Some(0)));
    exact(&lookup["error_rate"], 0.0, "lookup error rate");

    let models = s["models"].as_array().expect("models");
    let model = |n: &str| models.iter().find(|m| m["name"] == n).unwrap_or_else(|| panic!("model {n}"));
    exact(&model("gpt-4o")["cost_usd"], 0.004, "gpt-4o cost");
    assert_eq!(model("gpt-4o")["cost_source"], "computed");
    exact(&model("o3-mini")["cost_usd"], 0.00187, "o3-mini cost");
    assert_eq!(model("claude-sonnet-4-20250514")["cost_source"], "reported");
    assert_eq!(model("acme-model")["cost_source"], "unpriced");
    assert_eq!(model("acme-model")["cost_usd"], Value::Null);
    assert_eq!(s["cost"]["unpriced_models"], serde_json::json!(["acme-model"]));
    assert_eq!(s["cost"]["cost_complete"], false);

    let sa = &s["safety"];
    assert_eq!(
        (
            sa["guardrail_decisions"].as_u64(),
            sa["guardrail_trips"].as_u64(),
            sa["blocks"].as_u64(),
            sa["allows"].as_u64()
        ),
        (Some(3), Some(2), Some(0), Some(1))
    );
    exact(&sa["trip_rate"], 2.0 / 3.0, "trip rate");
    exact(&sa["injection_asr"], 0.5, "injection ASR");
    exact(&sa["leakage_rate"], 1.0 / 5.0, "leakage rate");
    assert_eq!(sa["approvals"], serde_json::json!({"approved": 0, "denied": 0, "expired": 0, "pending": 0}));

    let o = &s["outcomes"];
    exact(&o["human_acceptance_rate"], 0.5, "human acceptance");
    // Successful run durations 500, 1000, 4000 ms: the median is 1000.
    quant(&o["time_to_resolution_p50_ms"], 1000.0, "TTR p50");
    let scenarios = o["by_scenario"].as_array().expect("scenarios");
    let refund_s = scenarios.iter().find(|r| r["scenario"] == "refund").expect("refund scenario");
    assert_eq!(refund_s["runs"], 2);
    exact(&refund_s["success_rate"], 0.5, "refund scenario");

    let or = &s["orchestration"];
    exact(&or["steps_per_run"], 10.0 / 5.0, "steps per run");
    exact(&or["retry_rate"], 1.0 / 10.0, "retry rate");
    assert_eq!((or["handoffs"].as_u64(), or["loop_timeouts"].as_u64()), (Some(1), Some(0)));
    exact(&or["step_budget_utilization"], (1.0 / 10.0 + 1.0 / 4.0) / 2.0, "budget utilization");

    // Run durations 500, 1000, 2000, 3000, 4000 ms; LLM 600, 800, 1000, 1500; tools 50, 60, 80,
    // 100, 100, 200. DDSketch takes the value at rank floor(q·(n−1)).
    let l = &s["latency"];
    quant(&l["agent_run"]["p50_ms"], 2000.0, "run p50");
    quant(&l["agent_run"]["p95_ms"], 3000.0, "run p95");
    quant(&l["llm_call"]["p50_ms"], 800.0, "llm p50");
    quant(&l["tool_call"]["p50_ms"], 80.0, "tool p50");
    quant(&l["tool_call"]["p99_ms"], 100.0, "tool p99");
    quant(&l["guardrail"]["p50_ms"], 20.0, "guardrail p50");
}

async fn post_fixture(server: &Server, base: u64) {
    let (traces, logs) = fixture(base);
    let client = reqwest::Client::new();
    for t in traces {
        let r = client
            .post(server.http_url("/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(t.encode_to_vec())
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
    }
    let r = client
        .post(server.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(logs.encode_to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
}

async fn summary(server: &Server, window: &str) -> Value {
    server.get(&format!("/api/v1/summary?window={window}")).await.json().await.expect("json")
}

/// Waits for the fixture's traces to settle into the rollups.
async fn settled_summary(server: &Server, window: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = summary(server, window).await;
        if s["totals"]["runs"] == 5 && s["outcomes"]["human_acceptance_rate"].is_number() {
            return s;
        }
        assert!(Instant::now() < deadline, "never settled: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as u64
}

#[tokio::test]
async fn summary_api_matches_the_hand_computed_figures() {
    let server = Server::start();
    let empty = summary(&server, "1h").await;
    assert_eq!(empty["totals"]["runs"], 0);
    assert_eq!(empty["totals"]["success_rate"], Value::Null, "no data is null, not 0");
    assert_eq!(empty["totals"]["cost_usd"], Value::Null);
    assert_eq!(empty["latency"]["agent_run"]["p50_ms"], Value::Null);
    post_fixture(&server, now_ns() - 10 * 60 * 1_000_000_000).await;
    check(&settled_summary(&server, "1h").await);
    // A window that ends before the data holds none of it; an agent filter keeps one agent.
    assert_eq!(summary(&server, "5m").await["totals"]["runs"], 0);
    let support = server.get("/api/v1/summary?window=1h&agent=support").await.json::<Value>().await.expect("json");
    assert_eq!(support["totals"]["runs"], 3);
    let bad = server.get("/api/v1/summary?window=soon").await;
    assert_eq!(bad.status(), 400);
}

fn write_fixture(dir: &std::path::Path, base: u64) -> std::path::PathBuf {
    let (traces, logs) = fixture(base);
    let mut lines: Vec<String> = traces.iter().map(|t| serde_json::to_string(t).expect("json")).collect();
    lines.push(serde_json::to_string(&logs).expect("json"));
    let path = dir.join("fixture.jsonl");
    std::fs::write(&path, lines.join("\n")).expect("write fixture");
    path
}

fn report(args: &[&str]) -> (String, String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .arg("report")
        .args(args)
        .env_remove("COCKPIT_OPERATOR_TOKEN")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("cockpit-no-config"))
        .output()
        .expect("run report");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn report_over_replayed_files_matches_and_leaves_no_state() {
    let dir = tempfile::tempdir().expect("dir");
    // Replayed data keeps its own clock: a fixture from 2023 still fills "the last 24h".
    let file = write_fixture(dir.path(), 1_700_000_000_000_000_000);
    let before: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    let (json, err, code) = report(&["--replay", file.to_str().expect("path"), "--format", "json", "--window", "24h"]);
    assert_eq!(code, Some(0), "{err}");
    let s: Value = serde_json::from_str(&json).expect("summary json");
    check(&s);
    assert_eq!(s["window_seconds"], 86_400);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), before.len(), "no state left behind");

    let (md, err, code) = report(&["--replay", file.to_str().expect("path"), "--format", "md"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(md.starts_with("# AgentOps review — last 24h"), "{md}");
    for heading in [
        "## Alerts",
        "## 1. Outcomes",
        "## 2. Orchestration",
        "## 3. Tools",
        "## 4. Safety",
        "## 5. Cost",
        "## 6. Drift",
    ] {
        assert!(md.contains(heading), "missing {heading}");
    }
    assert!(md.find("## Alerts") < md.find("## 1. Outcomes"), "alerts first");
    assert!(md.contains("acme-model"), "unpriced model called out");
    for line in md.lines() {
        assert!(line.chars().count() <= 80 || !line.starts_with('|'), "table line over 80 columns: {line}");
    }
}

#[test]
fn report_with_a_litellm_price_file_uses_its_prices() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write_fixture(dir.path(), 1_700_000_000_000_000_000);
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, r#"{"acme-model": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}}"#)
        .expect("write");
    let (json, err, code) = report(&[
        "--replay",
        file.to_str().expect("path"),
        "--format",
        "json",
        "--prices",
        prices.to_str().expect("path"),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let s: Value = serde_json::from_str(&json).expect("json");
    // 100 × 0.001 + 50 × 0.002 = 0.2 more than the built-in priced calls.
    exact(&s["totals"]["cost_usd"], 0.01587 + 0.2, "cost with the imported price");
    assert_eq!(s["cost"]["cost_complete"], true);
}

#[tokio::test]
async fn figures_survive_a_restart_on_the_same_data_dir() {
    let mut server = Server::start();
    post_fixture(&server, now_ns() - 10 * 60 * 1_000_000_000).await;
    // Two approvals asked, one denied.
    for key in ["a", "b"] {
        let body =
            serde_json::json!({"agent": "support", "tool": "refund", "summary": "refund $40", "idempotency_key": key});
        assert_eq!(server.post("/api/v1/approvals", None, body).await.status(), 201);
    }
    let pending = server.get("/api/v1/approvals?status=pending").await.json::<Value>().await.expect("json");
    let id = pending["approvals"][0]["id"].as_str().expect("an approval").to_owned();
    let deny = serde_json::json!({"decision": "deny", "reason": "test"});
    let denied = server.post(&format!("/api/v1/approvals/{id}/decision"), server.op(), deny).await;
    assert_eq!(denied.status(), 200);
    let before = settled_summary(&server, "24h").await;
    assert_eq!(
        (&before["safety"]["approvals"]["pending"], &before["safety"]["approvals"]["denied"]),
        (&1.into(), &1.into())
    );
    // Another agent's figures count none of them.
    let other = server.get("/api/v1/summary?window=24h&agent=billing").await.json::<Value>().await.expect("json");
    assert_eq!(
        other["safety"]["approvals"],
        serde_json::json!({"approved": 0, "denied": 0, "expired": 0, "pending": 0})
    );
    assert_eq!(server.terminate(), Some(0));
    let again = Server::start_in(server.take_data_dir(), &[], &[]);
    let after = summary(&again, "24h").await;
    assert_eq!(after["totals"], before["totals"], "totals survive");
    assert_eq!(after["tools"], before["tools"]);
    assert_eq!(after["latency"], before["latency"]);
    // And a report reads the same data dir offline.
    let mut again = again;
    assert_eq!(again.terminate(), Some(0));
    let (json, err, code) = report(&["--data-dir", again.data_dir.path().to_str().expect("path"), "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let offline: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(offline["totals"], before["totals"]);
    // With the data dir's approvals, not zeros.
    assert_eq!(offline["safety"]["approvals"], before["safety"]["approvals"]);
}
