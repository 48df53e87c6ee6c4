//! Who may pull which lever, crash safety under SIGKILL, webhooks through outages and
//! restarts, incidents, and a tamper-evident audit log.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::*;
use parking_lot::Mutex;
use prost::Message;
use serde_json::{Value, json};

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as u64
}

async fn send_run(
    server: &Server,
    agent: &str,
    trace: u64,
    extra: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) {
    let mut attrs =
        vec![s("gen_ai.operation.name", "invoke_agent"), s("gen_ai.agent.name", agent), s("gen_ai.agent.version", "1")];
    attrs.extend(extra);
    let mut root = span(trace, 1, None, "invoke_agent", attrs, false);
    root.start_time_unix_nano = now_ns() - 1_000_000_000;
    root.end_time_unix_nano = now_ns();
    let r = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(agent, vec![root]).encode_to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
}

async fn status_of(server: &Server, method: &str, path: &str, token: Option<&str>, body: Value) -> u16 {
    let client = reqwest::Client::new();
    let url = format!("http://{}{path}", server.api);
    let mut req = if method == "GET" { client.get(url) } else { client.post(url).json(&body) };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request").status().as_u16()
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, secs: u64, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const TOKENS: [(&str, &str); 3] =
    [("COCKPIT_OPERATOR_TOKEN", "op-tok"), ("COCKPIT_VIEWER_TOKEN", "view-tok"), ("COCKPIT_AGENT_TOKEN", "agent-tok")];

#[tokio::test]
async fn authz_matrix_for_every_mutating_route() {
    let server = Server::start_with(&[], &TOKENS);
    send_run(&server, "triage", 1, vec![]).await;
    // A pending approval and an open incident to act on.
    let (_, apr) = {
        let r = server
            .post("/api/v1/approvals", Some("agent-tok"), json!({"agent": "triage", "tool": "t", "summary": "s"}))
            .await;
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    let apr = apr["id"].as_str().expect("approval id").to_owned();
    let inc = server
        .post("/api/v1/incidents", Some("op-tok"), json!({"sev": "SEV-2", "title": "drill", "reason": "matrix"}))
        .await;
    assert_eq!(inc.status(), 201);
    let inc: Value = inc.json().await.expect("json");
    let inc = inc["id"].as_i64().expect("incident id");
    wait_until("triage known", 15, || async {
        let r = server.get("/api/v1/policy").await.json::<Value>().await.expect("json");
        r["effective"].get("triage").is_some()
    })
    .await;

    let routes: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/api/v1/actions".into(),
            json!({"lever": "approval", "agent": "triage", "value": "writes", "reason": "matrix"}),
        ),
        ("POST", "/api/v1/actions/restore".into(), json!({"revision": 1, "reason": "matrix"})),
        ("POST", format!("/api/v1/approvals/{apr}/decision"), json!({"decision": "approve", "reason": "matrix"})),
        ("POST", "/api/v1/incidents".into(), json!({"sev": "SEV-2", "title": "t", "reason": "matrix"})),
        ("POST", format!("/api/v1/incidents/{inc}/updates"), json!({"kind": "note", "text": "matrix"})),
    ];
    for (method, path, body) in &routes {
        assert_eq!(status_of(&server, method, path, None, body.clone()).await, 401, "{path} without a token");
        assert_eq!(
            status_of(&server, method, path, Some("agent-tok"), body.clone()).await,
            403,
            "{path} with the agent token"
        );
        assert_eq!(
            status_of(&server, method, path, Some("view-tok"), body.clone()).await,
            403,
            "{path} with the viewer token"
        );
        let ok = status_of(&server, method, path, Some("op-tok"), body.clone()).await;
        assert!((200..300).contains(&ok), "{path} with the operator token: {ok}");
    }
    // Reads: viewer yes, agent no; the agent API takes the agent token.
    assert_eq!(status_of(&server, "GET", "/api/v1/audit", Some("view-tok"), Value::Null).await, 200);
    assert_eq!(status_of(&server, "GET", "/api/v1/audit", Some("agent-tok"), Value::Null).await, 403);
    let ofrep = json!({"context": {"targetingKey": "triage"}});
    assert_eq!(status_of(&server, "POST", "/ofrep/v1/evaluate/flags", None, ofrep.clone()).await, 401);
    assert_eq!(status_of(&server, "POST", "/ofrep/v1/evaluate/flags", Some("agent-tok"), ofrep.clone()).await, 200);
    assert_eq!(status_of(&server, "POST", "/ofrep/v1/evaluate/flags", Some("view-tok"), ofrep).await, 403);

    // Read-only mode refuses every lever, even to the operator.
    let ro = Server::start_with(&["--read-only"], &TOKENS);
    send_run(&ro, "triage", 1, vec![]).await;
    let r = ro.post("/api/v1/approvals", Some("agent-tok"), json!({"agent": "triage", "tool": "t"})).await;
    let apr: Value = r.json().await.expect("json");
    let ro_routes: Vec<(String, Value)> = vec![
        ("/api/v1/actions".into(), json!({"lever": "enabled", "agent": "*", "value": false, "reason": "ro"})),
        ("/api/v1/actions/restore".into(), json!({"revision": 1, "reason": "ro"})),
        (
            format!("/api/v1/approvals/{}/decision", apr["id"].as_str().expect("id")),
            json!({"decision": "deny", "reason": "ro"}),
        ),
        ("/api/v1/incidents".into(), json!({"sev": "SEV-2", "title": "t", "reason": "ro"})),
        ("/api/v1/incidents/1/updates".into(), json!({"kind": "note", "text": "ro"})),
    ];
    for (path, body) in ro_routes {
        assert_eq!(status_of(&ro, "POST", &path, Some("op-tok"), body).await, 403, "{path} in read-only mode");
    }
    assert_eq!(status_of(&ro, "GET", "/api/v1/policy", Some("op-tok"), Value::Null).await, 200);
}

#[test]
fn the_agent_api_off_loopback_needs_an_agent_token() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["serve", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--api", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("COCKPIT_AGENT_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agent token") && err.contains("COCKPIT_AGENT_TOKEN"), "{err}");
}

#[test]
fn the_operator_token_is_generated_once_with_mode_0600() {
    let dir = tempfile::tempdir().expect("dir");
    let first = agentops_cockpit::api::auth::operator_token(None, dir.path()).expect("token");
    let again = agentops_cockpit::api::auth::operator_token(None, dir.path()).expect("token");
    assert_eq!(first, again);
    assert!(first.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("operator.token")).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(agentops_cockpit::api::auth::operator_token(Some("mine"), dir.path()).expect("token"), "mine");
}

fn audit_verify(dir: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .output()
        .expect("run");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_to_kill_dash_nine() {
    let mut server = Server::start();
    send_run(&server, "billing", 1, vec![]).await;
    wait_until("billing known", 15, || async {
        server.get("/api/v1/policy").await.json::<Value>().await.expect("json")["effective"].get("billing").is_some()
    })
    .await;
    let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for worker in 0..4 {
        let (api, token, acked, stop) =
            (server.api.clone(), server.token.clone().expect("token"), Arc::clone(&acked), Arc::clone(&stop));
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let body = json!({"lever": "approval", "agent": "billing", "value": if i % 2 == 0 { "writes" } else { "none" },
                                  "reason": format!("worker {worker} #{i}")});
                let sent = client.post(format!("http://{api}/api/v1/actions")).bearer_auth(&token).json(&body).send().await;
                match sent {
                    Ok(r) if r.status() == 200 => {
                        if let Ok(v) = r.json::<Value>().await {
                            if let Some(id) = v["audit_id"].as_i64() {
                                acked.lock().push(id);
                            }
                        }
                    }
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    let acked = acked.lock().clone();
    assert!(acked.len() > 10, "the test must actually race: {} acknowledged", acked.len());
    let dir = server.take_data_dir();
    let (code, out) = audit_verify(dir.path());
    assert_eq!(code, Some(0), "{out}");
    let again = Server::start_in(dir, &[], &[]);
    let entries: Value = again.get("/api/v1/audit?limit=10000").await.json().await.expect("json");
    let ids: std::collections::BTreeSet<i64> =
        entries["entries"].as_array().expect("entries").iter().filter_map(|e| e["id"].as_i64()).collect();
    for id in &acked {
        assert!(ids.contains(id), "acknowledged action {id} survived");
    }
    let policy: Value = again.get("/api/v1/policy").await.json().await.expect("json");
    assert!(policy["revision"].as_u64().unwrap_or(0) >= acked.len() as u64);
}

#[test]
fn a_tampered_audit_log_is_caught() {
    let dir = tempfile::tempdir().expect("dir");
    let control = agentops_cockpit::control::ControlPlane::open(dir.path(), Default::default()).expect("open");
    for i in 0..3 {
        control.open_incident("SEV-2", &format!("incident {i}"), None, "tester", "drill").expect("open incident");
    }
    drop(control);
    assert_eq!(audit_verify(dir.path()).0, Some(0));
    let conn = rusqlite::Connection::open(dir.path().join("control.db")).expect("db");
    conn.execute("UPDATE audit SET reason = 'nothing to see' WHERE id = 2", []).expect("tamper");
    drop(conn);
    let (code, out) = audit_verify(dir.path());
    assert_eq!(code, Some(1));
    assert!(out.contains("entry 2"), "{out}");
}

/// A local webhook receiver that can be switched off (answers 503).
#[derive(Default)]
struct Receiver {
    up: AtomicBool,
    got: Mutex<Vec<(Value, Option<String>)>>,
}

async fn start_receiver(recv: Arc<Receiver>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let recv = Arc::clone(&recv);
            async move {
                if !recv.up.load(Ordering::Relaxed) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let sig = headers.get("x-cockpit-signature").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let expected = agentops_cockpit::control::webhooks::signature("hook-secret", &body);
                assert_eq!(sig.as_deref(), Some(expected.as_str()), "signed with HMAC-SHA256");
                recv.got.lock().push((serde_json::from_slice(&body).unwrap_or(Value::Null), sig));
                StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn webhooks_survive_an_outage_and_a_restart() {
    let recv = Arc::new(Receiver::default());
    let url = start_receiver(Arc::clone(&recv)).await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[[webhooks]]\nurl = \"{url}\"\nsecret = \"hook-secret\"\n")).expect("config");
    let cfg_arg = config.to_str().expect("path").to_owned();
    let mut server = Server::start_with(&["--config", &cfg_arg], &[]);
    send_run(&server, "research", 1, vec![]).await;
    wait_until("research known", 15, || async {
        server.get("/api/v1/policy").await.json::<Value>().await.expect("json")["effective"].get("research").is_some()
    })
    .await;
    // The receiver is down: the event waits in the outbox, retried.
    let r = server
        .post(
            "/api/v1/actions",
            server.op(),
            json!({"lever": "enabled", "agent": "research", "value": false, "reason": "down"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    wait_until("a failed attempt", 10, || async {
        let v: Value = server.get("/api/v1/webhooks").await.json().await.expect("json");
        v["webhooks"][0]["attempts"].as_u64().unwrap_or(0) >= 1 && v["webhooks"][0]["last_error"].is_string()
    })
    .await;
    recv.up.store(true, Ordering::Relaxed);
    wait_until("delivery after the outage", 15, || async { !recv.got.lock().is_empty() }).await;
    let (event, _) = recv.got.lock()[0].clone();
    assert_eq!(
        (event["specversion"].as_str(), event["type"].as_str()),
        (Some("1.0"), Some("dev.agentops.cockpit.policy.changed"))
    );
    assert_eq!(event["data"]["after"], json!(false));
    // Down again, another event, then the cockpit restarts: the outbox still delivers it.
    recv.up.store(false, Ordering::Relaxed);
    let r = server
        .post("/api/v1/incidents", server.op(), json!({"sev": "SEV-1", "title": "injection wave", "reason": "r"}))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(server.terminate(), Some(0));
    let dir2 = server.take_data_dir();
    let again = Server::start_in(dir2, &["--config", &cfg_arg], &[]);
    recv.up.store(true, Ordering::Relaxed);
    wait_until("delivery after the restart", 15, || async {
        recv.got.lock().iter().any(|(e, _)| e["type"] == "dev.agentops.cockpit.incident.opened")
    })
    .await;
    let v: Value = again.get("/api/v1/webhooks").await.json().await.expect("json");
    assert_eq!(v["webhooks"][0]["pending"], 0, "{v}");
}

#[tokio::test]
async fn incidents_open_by_alert_and_by_hand_and_export_for_the_postmortem() {
    let server = Server::start();
    // A successful red-team injection fires a SEV-1 alert, which opens an incident.
    send_run(
        &server,
        "research",
        7,
        vec![
            s("cockpit.eval.suite", "red_team"),
            kv("cockpit.attack.succeeded", opentelemetry_proto::tonic::common::v1::any_value::Value::BoolValue(true)),
        ],
    )
    .await;
    wait_until("an incident from the alert", 20, || async {
        let v: Value = server.get("/api/v1/incidents").await.json().await.expect("json");
        v["incidents"].as_array().is_some_and(|l| {
            l.iter().any(|i| i["sev"] == "SEV-1" && i["opened_by"] == "alert:red_team_injection_success")
        })
    })
    .await;
    let v: Value = server.get("/api/v1/incidents").await.json().await.expect("json");
    let id = v["incidents"][0]["id"].as_i64().expect("id");
    let trace = "abababababababab0000000000000007";
    for body in [
        json!({"kind": "note", "text": "attacker used a poisoned web page"}),
        json!({"kind": "run", "text": "the successful attempt", "trace_id": trace}),
    ] {
        let r = server.post(&format!("/api/v1/incidents/{id}/updates"), server.op(), body).await;
        assert_eq!(r.status(), 200);
    }
    // An action on the agent joins the open incident's timeline.
    let r = server.post("/api/v1/actions", server.op(), json!({"lever": "tools", "agent": "research", "value": {"mode": "allowlist", "tools": ["search"]}, "reason": "strip web.fetch"})).await;
    assert_eq!(r.status(), 200);
    let md = server.get(&format!("/api/v1/incidents/{id}/export")).await.text().await.expect("text");
    for needle in
        ["SEV-1", "## Timeline", "alert", "poisoned web page", trace, "## Investigation checklist", "strip web.fetch"]
    {
        assert!(md.contains(needle), "export lacks {needle:?}:\n{md}");
    }
    let r = server
        .post(&format!("/api/v1/incidents/{id}/updates"), server.op(), json!({"kind": "resolved", "text": "contained"}))
        .await;
    assert_eq!(r.status(), 200);
    let r = server
        .post(&format!("/api/v1/incidents/{id}/updates"), server.op(), json!({"kind": "note", "text": "late"}))
        .await;
    assert_eq!(r.status(), 409, "a resolved incident takes no more updates");
    // By hand, and the CLI export of the same data dir.
    let r = server
        .post(
            "/api/v1/incidents",
            server.op(),
            json!({"sev": "SEV-0", "title": "confirmed exfiltration", "agent": "research", "reason": "r"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let bad = server.post("/api/v1/incidents", server.op(), json!({"sev": "SEV-9", "title": "x", "reason": "r"})).await;
    assert_eq!(bad.status(), 400);
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["incident", "export", &id.to_string(), "--data-dir"])
        .arg(server.data_dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Resolved:"));
}

#[test]
fn approval_counts_keep_the_window_and_every_request_still_waiting() {
    use agentops_cockpit::control::ControlPlane;
    use agentops_cockpit::control::model::NewApproval;
    let dir = tempfile::tempdir().expect("dir");
    let control = ControlPlane::open(dir.path(), Default::default()).expect("open");
    let ask = |agent: &str| NewApproval {
        agent: agent.into(),
        tool: "refund".into(),
        summary: "refund $40".into(),
        ttl_seconds: Some(86_400),
        ..Default::default()
    };
    let (denied, _) = control.create_approval(ask("support")).expect("ask");
    control.create_approval(ask("support")).expect("ask");
    control.create_approval(ask("billing")).expect("ask");
    control.decide(&denied.id, false, "no", "tester").expect("decide");
    drop(control);
    // All three were asked two hours ago.
    let conn = rusqlite::Connection::open(dir.path().join("control.db")).expect("db");
    conn.execute("UPDATE approvals SET created_at = created_at - 7200000", []).expect("backdate");
    drop(conn);
    let control = ControlPlane::open(dir.path(), Default::default()).expect("reopen");
    let hour = control.approval_counts(3600, None);
    assert_eq!((hour.denied, hour.pending), (0, 2), "the old decision is outside the hour; the waiting ones are not");
    let day = control.approval_counts(86_400, Some("support"));
    assert_eq!((day.denied, day.pending), (1, 1), "one agent's");
}

#[test]
fn an_alert_joins_its_agents_incident_and_raises_its_severity() {
    use agentops_cockpit::control::ControlPlane;
    let dir = tempfile::tempdir().expect("dir");
    let control = ControlPlane::open(dir.path(), Default::default()).expect("open");
    let research = control.on_alert("SEV-2", "success_rate_low", Some("research"), "success 60%").expect("alert");
    // A fleet-wide incident opened after it, as a tool outage's is.
    let fleet = control.on_alert("SEV-2", "tool_error_spike", None, "crm.lookup failing").expect("alert");
    assert_ne!(research, fleet);
    // The agent's SEV-1 joins the agent's own incident, not the newer fleet one, and raises it.
    let joined = control.on_alert("SEV-1", "guardrail_trip_spike", Some("research"), "189 trips").expect("alert");
    assert_eq!(joined, research);
    // A milder alert joins without lowering it; an agent with no incident of its own joins the fleet's.
    assert_eq!(control.on_alert("SEV-2", "latency_high", Some("research"), "p95 9s").expect("alert"), research);
    assert_eq!(control.on_alert("SEV-2", "latency_high", Some("billing"), "p95 9s").expect("alert"), fleet);
    let incidents = control.incidents().expect("incidents");
    let of = |id: i64| incidents.iter().find(|i| i.id == id).expect("incident");
    assert_eq!((of(research).sev.as_str(), of(fleet).sev.as_str()), ("SEV-1", "SEV-2"));
    let kinds: Vec<&str> = of(research).timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["opened", "alert", "escalated", "alert", "alert"], "{:?}", of(research).timeline);
    assert!(of(research).timeline.iter().any(|e| e.text == "SEV-2 → SEV-1: guardrail_trip_spike"));
    let audit = control.audit(50).expect("audit");
    let raised = audit.iter().find(|e| e.action == "incident.escalate").expect("escalation audited");
    assert_eq!(
        (raised.actor.as_str(), raised.target.as_str()),
        ("alert:guardrail_trip_spike", research.to_string().as_str())
    );
    assert!(raised.before.contains("SEV-2") && raised.after.contains("SEV-1"), "{raised:?}");
    assert_eq!(audit.iter().filter(|e| e.action == "incident.escalate").count(), 1);
}

#[test]
fn alerts_arriving_together_open_one_incident() {
    use agentops_cockpit::control::ControlPlane;
    use std::sync::{Arc, Barrier};
    let dir = tempfile::tempdir().expect("dir");
    let control = Arc::new(ControlPlane::open(dir.path(), Default::default()).expect("open"));
    let rules = ["success_rate_low", "latency_high", "tool_error_spike", "cost_runaway"];
    let senders = 16;
    let start = Arc::new(Barrier::new(senders));
    let threads: Vec<_> = (0..senders)
        .map(|i| {
            let (control, start) = (control.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                control.on_alert("SEV-2", rules[i % rules.len()], Some("triage"), "firing").expect("alert")
            })
        })
        .collect();
    let ids: Vec<i64> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    assert!(ids.iter().all(|&id| id == ids[0]), "every alert joined one incident: {ids:?}");
    let incidents = control.incidents().expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let kinds = incidents[0].timeline.iter().map(|e| e.kind.as_str());
    assert_eq!(kinds.clone().filter(|k| *k == "opened").count(), 1);
    assert_eq!(kinds.filter(|k| *k == "alert").count(), senders);
}

#[test]
fn a_lever_reads_in_the_incident_timeline_as_the_operator_said_it() {
    use agentops_cockpit::control::ControlPlane;
    use agentops_cockpit::control::model::ActionRequest;
    let dir = tempfile::tempdir().expect("dir");
    let control = ControlPlane::open(dir.path(), Default::default()).expect("open");
    let id = control.on_alert("SEV-2", "cost_runaway", Some("billing"), "spend 9× baseline").expect("alert");
    let pull = |lever: &str, value: serde_json::Value| {
        let req = ActionRequest {
            lever: lever.into(),
            agent: "billing".into(),
            value,
            reason: "runaway loop".into(),
            environment: None,
            incident: None,
        };
        control.apply(&req, "tui:oncall", &|_| true, &|_| Some("1.7".into())).expect("applied");
    };
    pull("enabled", json!(false));
    pull("tools", json!({"mode": "allowlist", "tools": ["billing.invoice_lookup"]}));
    pull("pin", json!("last_known_good"));
    let incidents = control.incidents().expect("incidents");
    let timeline = &incidents.iter().find(|i| i.id == id).expect("incident").timeline;
    let actions: Vec<&str> = timeline.iter().filter(|e| e.kind == "action").map(|e| e.text.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tui:oncall: billing killed (runaway loop)",
            "tui:oncall: billing may call 1 tool · now billing.invoice_lookup (runaway loop)",
            "tui:oncall: billing pinned to 1.7 (runaway loop)",
        ]
    );
    // A decision names the agent and the tool, as the request before it does.
    let (asked, _) = control
        .create_approval(agentops_cockpit::control::model::NewApproval {
            agent: "billing".into(),
            tool: "billing.issue_credit".into(),
            ..Default::default()
        })
        .expect("approval");
    control.decide(&asked.id, false, "credit looks wrong", "tui:oncall").expect("denied");
    let incidents = control.incidents().expect("incidents");
    let timeline = &incidents.iter().find(|i| i.id == id).expect("incident").timeline;
    let decision = timeline.iter().find(|e| e.kind == "decision").expect("decision on the timeline");
    assert_eq!(
        decision.text,
        format!("tui:oncall: denied billing → billing.issue_credit (credit looks wrong) · {}", asked.id)
    );
}
