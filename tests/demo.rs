//! `cockpit demo --headless`, time-compressed: the fleet obeys every lever over the real
//! protocols, and a long compressed run stays within its memory budget without errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Demo {
    child: Child,
    api: String,
    token: String,
    dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo(extra: &[&str]) -> Demo {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["demo", "--headless", "--data-dir"])
        .arg(dir.path())
        .args(extra)
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("COCKPIT_OPERATOR_TOKEN")
        .env_remove("COCKPIT_AGENT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address line");
    let addrs: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("address record {line:?}: {e}"));
    let token = std::fs::read_to_string(dir.path().join("operator.token")).expect("operator token").trim().to_owned();
    Demo { api: addrs["api"].as_str().expect("api").to_owned(), token, child, dir }
}

impl Demo {
    async fn get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("http://{}{path}", self.api))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("http://{}{path}", self.api))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn lever(&self, lever: &str, agent: &str, value: Value) {
        let (status, r) = self
            .post("/api/v1/actions", json!({"lever": lever, "agent": agent, "value": value, "reason": "demo test"}))
            .await;
        assert_eq!(status, 200, "{r}");
    }

    /// Runs of an agent in the hot window (every run, as soon as it arrives).
    async fn runs(&self, agent: &str) -> u64 {
        let s = self.get("/api/v1/stats").await;
        s["agents"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == agent)
            .map_or(0, |a| a["runs"].as_u64().unwrap_or(0))
    }

    /// (calls, errors) of a tool.
    async fn tool(&self, name: &str) -> (u64, u64) {
        let s = self.get("/api/v1/stats").await;
        s["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == name)
            .map_or((0, 0), |t| (t["calls"].as_u64().unwrap_or(0), t["errors"].as_u64().unwrap_or(0)))
    }
}

async fn until(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_killed_agent_starts_no_run_after_its_poll_interval() {
    let d = demo(&["--speed", "20", "--no-timeline"]);
    until("code-review runs", 20, async || d.runs("code-review").await > 10).await;
    d.lever("enabled", "code-review", json!(false)).await;
    // Poll interval (1 s) + 1 s: in-flight runs may still land; after that, nothing new.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = d.runs("code-review").await;
    let other = d.runs("data-export").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(d.runs("code-review").await, settled, "no run started after the kill switch");
    assert!(d.runs("data-export").await > other, "the rest of the fleet goes on");
    let p = d.get("/api/v1/policy").await;
    assert_eq!(p["effective"]["code-review"]["enabled"], false, "the Overview shows it killed");
}

#[tokio::test]
async fn a_removed_tool_is_never_called_again_and_attempts_are_policy_blocks() {
    let d = demo(&["--speed", "20", "--no-timeline"]);
    until("web.search calls", 20, async || d.tool("web.search").await.0 > 10).await;
    d.lever("tools", "research-assistant", json!({"mode": "allowlist", "tools": ["web.fetch", "email.send"]})).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (calls, errors) = d.tool("web.search").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (calls2, errors2) = d.tool("web.search").await;
    assert_eq!(calls2 - errors2, calls - errors, "no successful web.search call after the narrowing");
    assert!(errors2 > errors, "the attempts are recorded (as refused calls)");
    until("policy blocks in the tool figures", 20, async || {
        let s = d.get("/api/v1/summary?window=15m").await;
        s["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["name"] == "web.search" && t["policy_blocks"].as_u64().unwrap_or(0) > 0)
    })
    .await;
}

#[tokio::test]
async fn approval_mode_writes_holds_write_tools_for_a_decision() {
    let d = demo(&["--speed", "20", "--no-timeline"]);
    until("billing runs", 20, async || d.runs("billing-ops").await > 5).await;
    d.lever("approval", "billing-ops", json!("writes")).await;
    // Deny everything that asks: the write tool never runs.
    let mut denied = 0;
    until("requests to deny", 20, async || {
        let p = d.get("/api/v1/approvals?status=pending").await;
        for a in p["approvals"].as_array().into_iter().flatten().filter(|a| a["agent"] == "billing-ops") {
            assert_eq!(a["tool"], "billing.issue_credit", "only the write tool asks");
            // The request says what the call would do, so a human can decide on it.
            assert!(a["summary"].as_str().is_some_and(|s| s.starts_with("Credit $")), "{a}");
            assert!(a["arguments"]["account"].is_string() && a["arguments"]["amount_usd"].is_number(), "{a}");
            assert_eq!(a["risk"], "high");
            let (s, _) = d
                .post(
                    &format!("/api/v1/approvals/{}/decision", a["id"].as_str().expect("id")),
                    json!({"decision": "deny", "reason": "test"}),
                )
                .await;
            if s == 200 {
                denied += 1;
            }
        }
        denied >= 3
    })
    .await;
    let (calls, errors) = d.tool("billing.issue_credit").await;
    // While operators keep denying, no successful credit goes out.
    for _ in 0..10 {
        let p = d.get("/api/v1/approvals?status=pending").await;
        for a in p["approvals"].as_array().into_iter().flatten() {
            d.post(
                &format!("/api/v1/approvals/{}/decision", a["id"].as_str().expect("id")),
                json!({"decision": "deny", "reason": "test"}),
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (calls2, errors2) = d.tool("billing.issue_credit").await;
    assert_eq!(calls2 - errors2, calls - errors, "denied calls do not run");
    // Approve from now on: credits run again.
    until("an approved credit runs", 30, async || {
        let p = d.get("/api/v1/approvals?status=pending").await;
        for a in p["approvals"].as_array().into_iter().flatten() {
            d.post(
                &format!("/api/v1/approvals/{}/decision", a["id"].as_str().expect("id")),
                json!({"decision": "approve", "reason": "ok"}),
            )
            .await;
        }
        let (c, e) = d.tool("billing.issue_credit").await;
        c - e > calls2 - errors2
    })
    .await;
    // Nobody decides: requests expire (10 s at this speed) and read as denied.
    until("an expired request", 30, async || {
        let p = d.get("/api/v1/approvals?status=expired").await;
        p["approvals"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
}

#[tokio::test]
async fn rolling_back_the_regressed_agent_clears_its_drift() {
    // At speed 20 the regression ships 9 compressed minutes in (27 s) and the crm.lookup outage,
    // which would pull 4.1 under its SLO again, 3 minutes later (9 s): time enough for the
    // real-time parts (2 s settling, polling) even on a loaded machine, unlike at speed 60.
    let d = demo(&["--speed", "20"]);
    until("drift flagged on support-triage", 90, async || {
        let s = d.get("/api/v1/summary?window=1h").await;
        s["drift"].as_array().into_iter().flatten().any(|r| r["agent"] == "support-triage" && r["flagged"] == true)
    })
    .await;
    let (status, r) = d
        .post(
            "/api/v1/actions",
            json!({"lever": "pin", "agent": "support-triage", "value": "last_known_good", "reason": "4.2 regressed"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["after"], "4.1");
    until("4.1 running again, above the SLO, drift cleared", 30, async || {
        let v = d.get("/api/v1/agents/support-triage/versions").await;
        let current = v["versions"]
            .as_array()
            .and_then(|vs| vs.iter().max_by_key(|x| x["last_seen"].as_str().map(str::to_owned)).cloned());
        let s = d.get("/api/v1/summary?window=1h").await;
        let flagged =
            s["drift"].as_array().into_iter().flatten().any(|r| r["agent"] == "support-triage" && r["flagged"] == true);
        current.is_some_and(|c| c["version"] == "4.1" && c["success_rate"].as_f64().unwrap_or(0.0) >= 0.9) && !flagged
    })
    .await;
}

#[tokio::test]
async fn ten_compressed_minutes_stay_within_the_memory_budget_without_errors() {
    let d = demo(&["--speed", "60", "--memory-budget", "2MiB"]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let s = d.get("/api/v1/stats").await;
    assert!(s["runs"].as_u64().unwrap_or(0) > 400, "{s}");
    assert!(s["spans_evicted"].as_u64().unwrap_or(0) > 0, "the budget was reached: {s}");
    assert!(s["hot_bytes"].as_u64().unwrap_or(u64::MAX) <= 2 << 20, "{s}");
    assert_eq!(s["spans_rejected"], 0);
    let log = std::fs::read_to_string(d.dir.path().join("cockpit.log")).unwrap_or_default();
    let errors: Vec<&str> =
        log.lines().filter(|l| l.contains(" ERROR ") || l.contains(" WARN ") && l.contains("demo")).collect();
    assert!(errors.is_empty(), "errors in the log: {errors:?}");
}
