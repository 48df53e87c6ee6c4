//! The control plane end to end over the real API: every lever with its audit entry, OFREP,
//! policy checks, approvals under concurrency, incidents, authz, webhooks, crash safety.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use prost::Message;
use serde_json::{Value, json};

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as u64
}

/// `n` runs of `agent` at `version`, `ok` of them successful, ending around `at_ns`.
async fn send_runs(server: &Server, agent: &str, version: &str, n: u64, ok: u64, at_ns: u64, trace_base: u64) {
    let mut spans = Vec::new();
    for i in 0..n {
        let mut root = span(
            trace_base + i,
            1,
            None,
            "invoke_agent",
            vec![
                s("gen_ai.operation.name", "invoke_agent"),
                s("gen_ai.agent.name", agent),
                s("gen_ai.agent.version", version),
                s("cockpit.run.outcome", if i < ok { "success" } else { "failure" }),
            ],
            false,
        );
        root.start_time_unix_nano = at_ns + i * 1_000_000;
        root.end_time_unix_nano = at_ns + i * 1_000_000 + 500_000;
        spans.push(root);
    }
    let r = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request(agent, spans).encode_to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn action(server: &Server, body: Value) -> (u16, Value) {
    json_of(server.post("/api/v1/actions", server.op(), body).await).await
}

async fn ofrep(server: &Server, agent: &str, key: &str) -> Value {
    let (_, v) = json_of(
        server
            .post(&format!("/ofrep/v1/evaluate/flags/{key}"), None, json!({"context": {"targetingKey": agent}}))
            .await,
    )
    .await;
    v["value"].clone()
}

async fn audit(server: &Server) -> Vec<Value> {
    let (_, v) = json_of(server.get("/api/v1/audit?limit=1000").await).await;
    v["entries"].as_array().cloned().unwrap_or_default()
}

/// Waits until the engine knows `agent` (its runs have settled into the rollups).
async fn wait_known(server: &Server, agent: &str, runs: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, v) = json_of(server.get("/api/v1/summary?window=24h").await).await;
        let n = v["agents"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == agent))
            .map_or(0, |a| a["runs"].as_u64().unwrap_or(0));
        if n >= runs {
            return;
        }
        assert!(Instant::now() < deadline, "{agent} never settled: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_lever_through_the_api_with_its_audit_entry() {
    let server = Server::start();
    let now = now_ns();
    // 1.0 was good (15/15), then 2.0 regressed (3/15).
    send_runs(&server, "support", "1.0", 15, 15, now - 40 * 60 * 1_000_000_000, 100).await;
    send_runs(&server, "support", "2.0", 15, 3, now - 10 * 60 * 1_000_000_000, 200).await;
    wait_known(&server, "support", 30).await;
    assert_eq!(ofrep(&server, "support", "agent.enabled").await, json!(true));

    let levers = [
        (
            json!({"lever": "enabled", "agent": "support", "value": false, "reason": "exfiltration attempt"}),
            "agent.enabled",
            json!(false),
        ),
        (
            json!({"lever": "tools", "agent": "support", "value": {"mode": "allowlist", "tools": ["lookup_*"]}, "reason": "narrow"}),
            "agent.tools",
            json!({"mode": "allowlist", "tools": ["lookup_*"]}),
        ),
        (
            json!({"lever": "approval", "agent": "support", "value": "writes", "reason": "humans approve writes"}),
            "agent.approval",
            json!("writes"),
        ),
        (
            json!({"lever": "pin", "agent": "support", "value": "last_known_good", "reason": "2.0 regressed"}),
            "agent.pin",
            json!("1.0"),
        ),
        (json!({"lever": "pin", "agent": "support", "value": "", "reason": "unpin"}), "agent.pin", json!("")),
        (
            json!({"lever": "enabled", "agent": "support", "value": true, "reason": "contained"}),
            "agent.enabled",
            json!(true),
        ),
    ];
    let mut last_revision = 0;
    for (i, (body, flag, want)) in levers.iter().enumerate() {
        let (status, r) = action(&server, body.clone()).await;
        assert_eq!(status, 200, "{body}: {r}");
        let revision = r["revision"].as_u64().expect("revision");
        assert!(revision > last_revision, "revisions increase");
        last_revision = revision;
        assert_eq!(&ofrep(&server, "support", flag).await, want, "{flag} after {body}");
        let entries = audit(&server).await;
        let e = entries.iter().find(|e| e["id"] == r["audit_id"]).expect("audit entry");
        assert_eq!(e["action"], format!("policy.{}", body["lever"].as_str().expect("lever")), "entry {i}");
        assert_eq!((e["target"].as_str(), e["actor"].as_str()), (Some("support"), Some("api:operator")));
        assert_eq!(e["reason"], body["reason"]);
        assert_eq!(serde_json::from_str::<Value>(e["after"].as_str().expect("after")).expect("json"), r["after"]);
    }
    // The fleet-wide kill switch stops every agent, and is restorable by revision.
    let (status, r) =
        action(&server, json!({"lever": "enabled", "agent": "*", "value": false, "reason": "stop everything"})).await;
    assert_eq!(status, 200);
    assert_eq!(ofrep(&server, "support", "agent.enabled").await, json!(false));
    let (status, _) = json_of(
        server
            .post("/api/v1/actions/restore", server.op(), json!({"revision": r["revision"], "reason": "all clear"}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ofrep(&server, "support", "agent.enabled").await, json!(true));
    // Unknown levers, agents and values are 400 with a message; nothing changes.
    for bad in [
        json!({"lever": "volume", "agent": "support", "value": 11, "reason": "x"}),
        json!({"lever": "enabled", "agent": "nobody", "value": false, "reason": "x"}),
        json!({"lever": "enabled", "agent": "support", "value": "no", "reason": "x"}),
        json!({"lever": "approval", "agent": "support", "value": "some", "reason": "x"}),
        json!({"lever": "tools", "agent": "support", "value": {"mode": "most"}, "reason": "x"}),
        json!({"lever": "enabled", "agent": "support", "value": false, "reason": ""}),
    ] {
        let (status, r) = action(&server, bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(r["error"].as_str().is_some_and(|m| !m.is_empty()), "{r}");
    }
    let (_, p) = json_of(server.get("/api/v1/policy").await).await;
    assert_eq!(p["revision"].as_u64(), Some(last_revision + 2));
    let (_, versions) = json_of(server.get("/api/v1/agents/support/versions").await).await;
    assert_eq!(versions["last_known_good"], "1.0", "{versions}");
}

#[tokio::test]
async fn ofrep_etags_errors_and_policy_checks() {
    let server = Server::start();
    send_runs(&server, "billing", "3", 1, 1, now_ns(), 1).await;
    let bulk = |etag: Option<String>| {
        let mut req = reqwest::Client::new()
            .post(format!("http://{}/ofrep/v1/evaluate/flags", server.api))
            .json(&json!({"context": {"targetingKey": "billing"}}));
        if let Some(t) = etag {
            req = req.header("if-none-match", t);
        }
        req.send()
    };
    let first = bulk(None).await.expect("bulk");
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    let body: Value = first.json().await.expect("json");
    let keys: Vec<&str> = body["flags"].as_array().expect("flags").iter().filter_map(|f| f["key"].as_str()).collect();
    assert_eq!(keys, ["agent.enabled", "agent.tools", "agent.approval", "agent.pin"]);
    assert_eq!(bulk(Some(etag.clone())).await.expect("bulk").status(), 304, "nothing changed");
    wait_known(&server, "billing", 1).await;
    let (status, _) =
        action(&server, json!({"lever": "approval", "agent": "billing", "value": "all", "reason": "review"})).await;
    assert_eq!(status, 200);
    let changed = bulk(Some(etag.clone())).await.expect("bulk");
    assert_eq!(changed.status(), 200, "policy changed: a new body");
    assert_ne!(changed.headers()["etag"].to_str().expect("etag"), etag);

    // OFREP errors.
    let (status, v) =
        json_of(server.post("/ofrep/v1/evaluate/flags/agent.enabled", None, json!({"context": {}})).await).await;
    assert_eq!((status, v["errorCode"].as_str()), (400, Some("TARGETING_KEY_MISSING")));
    let (status, v) = json_of(
        server
            .post("/ofrep/v1/evaluate/flags/agent.colour", None, json!({"context": {"targetingKey": "billing"}}))
            .await,
    )
    .await;
    assert_eq!(
        (status, v["errorCode"].as_str(), v["key"].as_str()),
        (404, Some("FLAG_NOT_FOUND"), Some("agent.colour"))
    );
    let one = server
        .post("/ofrep/v1/evaluate/flags/agent.approval", None, json!({"context": {"targetingKey": "billing"}}))
        .await;
    let (_, v) = json_of(one).await;
    assert_eq!(
        (v["value"].as_str(), v["variant"].as_str(), v["reason"].as_str()),
        (Some("all"), Some("all"), Some("TARGETING_MATCH"))
    );

    // Policy checks for gateways.
    let check = |tool: &str, side: &str| {
        server.post("/api/v1/policy/billing/check", None, json!({"tool": tool, "side_effect": side}))
    };
    let (_, v) = json_of(check("refund", "write").await).await;
    assert_eq!(v["decision"], "require_approval");
    action(&server, json!({"lever": "approval", "agent": "billing", "value": "writes", "reason": "r"})).await;
    action(&server, json!({"lever": "tools", "agent": "billing", "value": {"mode": "allowlist", "tools": ["lookup_*", "refund"]}, "reason": "r"})).await;
    let (_, v) = json_of(check("lookup_invoice", "read").await).await;
    assert_eq!(v["decision"], "allow");
    let (_, v) = json_of(check("refund", "write").await).await;
    assert_eq!(v["decision"], "require_approval");
    let (_, v) = json_of(check("email.send", "write").await).await;
    assert_eq!(v["decision"], "deny");
    assert!(v["revision"].as_u64().is_some());
}

#[tokio::test]
async fn approvals_under_concurrency_are_decided_exactly_once() {
    let server = Arc::new(Server::start());
    let client = reqwest::Client::new();
    // 50 agents ask; 10 of them with a 2 s lifetime that nobody will meet.
    let mut ids = Vec::new();
    for i in 0..50 {
        let ttl = if i % 5 == 4 { 2 } else { 120 };
        let body = json!({"agent": format!("agent-{i}"), "tool": "refund", "arguments": {"amount": i}, "summary": "refund",
                          "risk": "high", "idempotency_key": format!("k-{i}"), "ttl_seconds": ttl});
        let (status, v) = json_of(server.post("/api/v1/approvals", None, body.clone()).await).await;
        assert_eq!(status, 201);
        assert_eq!(v["status"], "pending");
        // The same idempotency key answers the same approval.
        let (again, v2) = json_of(server.post("/api/v1/approvals", None, body).await).await;
        assert_eq!((again, &v2["id"]), (200, &v["id"]));
        ids.push((v["id"].as_str().expect("id").to_owned(), ttl));
    }
    // Every agent long-polls (up to 10 s).
    let mut waiters = Vec::new();
    for (id, _) in &ids {
        let (api, id, client) = (server.api.clone(), id.clone(), client.clone());
        waiters.push(tokio::spawn(async move {
            let started = Instant::now();
            let v: Value = client
                .get(format!("http://{api}/api/v1/approvals/{id}?wait=10"))
                .send()
                .await
                .expect("poll")
                .json()
                .await
                .expect("json");
            (id, v, started.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Two operators race over the decidable ones: one approves, one denies.
    let decidable: Vec<String> = ids.iter().filter(|(_, ttl)| *ttl > 2).map(|(id, _)| id.clone()).collect();
    let mut operators = Vec::new();
    for (name, decision) in [("alice", "approve"), ("bob", "deny")] {
        let (server, ids) = (Arc::clone(&server), decidable.clone());
        operators.push(tokio::spawn(async move {
            let mut outcomes = BTreeMap::new();
            for id in ids {
                let r = reqwest::Client::new()
                    .post(format!("http://{}/api/v1/approvals/{id}/decision", server.api))
                    .bearer_auth(server.op().expect("token"))
                    .header("x-cockpit-console", name)
                    .json(&json!({"decision": decision, "reason": name}))
                    .send()
                    .await
                    .expect("decide");
                outcomes.insert(id, r.status().as_u16());
            }
            outcomes
        }));
    }
    let mut wins: BTreeMap<String, u32> = BTreeMap::new();
    for op in operators {
        for (id, status) in op.await.expect("operator") {
            assert!(status == 200 || status == 409, "{id}: {status}");
            if status == 200 {
                *wins.entry(id).or_default() += 1;
            }
        }
    }
    // Exactly one operator's decision took effect for each.
    let entries = audit(&server).await;
    for id in &decidable {
        let decided: Vec<&Value> =
            entries.iter().filter(|e| e["action"] == "approval.decide" && e["target"] == id.as_str()).collect();
        assert_eq!(decided.len(), 1, "{id} decided once");
        assert_eq!(wins.get(id), Some(&1), "{id}: one 200, one 409");
    }
    for w in waiters {
        let (id, v, elapsed) = w.await.expect("waiter");
        assert!(elapsed < Duration::from_secs(11), "{id} waited {elapsed:?}");
        let status = v["status"].as_str().expect("status");
        if ids.iter().any(|(i, ttl)| *i == id && *ttl == 2) {
            assert_eq!(status, "expired", "{id}: nobody decided, so it expired (= denied)");
        } else {
            assert!(status == "approved" || status == "denied", "{id}: {v}");
            assert!(elapsed < Duration::from_secs(5), "{id}: the decision reached the waiter at once ({elapsed:?})");
        }
    }
    // The same decision again is a no-op; the other one conflicts.
    let id = &decidable[0];
    let (_, current) = json_of(server.get(&format!("/api/v1/approvals/{id}")).await).await;
    let same = if current["status"] == "approved" { "approve" } else { "deny" };
    let other = if same == "approve" { "deny" } else { "approve" };
    let (s1, v1) = json_of(
        server
            .post(
                &format!("/api/v1/approvals/{id}/decision"),
                server.op(),
                json!({"decision": same, "reason": "again"}),
            )
            .await,
    )
    .await;
    assert_eq!((s1, v1["changed"].as_bool()), (200, Some(false)));
    let (s2, _) = json_of(
        server
            .post(
                &format!("/api/v1/approvals/{id}/decision"),
                server.op(),
                json!({"decision": other, "reason": "flip"}),
            )
            .await,
    )
    .await;
    assert_eq!(s2, 409);
    let (_, pending) = json_of(server.get("/api/v1/approvals?status=pending").await).await;
    assert_eq!(pending["approvals"].as_array().map(Vec::len), Some(0));
    // Deciding an expired one conflicts: expired means denied.
    let expired = &ids.iter().find(|(_, ttl)| *ttl == 2).expect("expired one").0;
    let (s3, _) = json_of(
        server
            .post(
                &format!("/api/v1/approvals/{expired}/decision"),
                server.op(),
                json!({"decision": "approve", "reason": "late"}),
            )
            .await,
    )
    .await;
    assert_eq!(s3, 409);
    // Both consoles are named in the audit log.
    let actors: std::collections::BTreeSet<&str> =
        entries.iter().filter(|e| e["action"] == "approval.decide").filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.iter().all(|a| a.starts_with("api:operator via ")), "{actors:?}");
}
