//! `cockpit serve` and `cockpit replay` as an operator runs them.

mod common;

use std::process::{Command, Stdio};

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

fn cockpit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cockpit"));
    cmd.env_remove("COCKPIT_OPERATOR_TOKEN").env_remove("COCKPIT_VIEWER_TOKEN").env_remove("COCKPIT_INGEST_TOKEN");
    cmd
}

#[test]
fn a_port_in_use_is_a_one_line_error_naming_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    for flag in ["--otlp-grpc", "--otlp-http", "--api"] {
        let mut args =
            vec!["serve", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--api", "127.0.0.1:0"];
        let at = args.iter().position(|a| *a == flag).expect("flag") + 1;
        args[at] = &addr;
        let out = cockpit()
            .args(&args)
            .arg("--data-dir")
            .arg(dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(flag) && err.contains("already in use") && err.contains(&addr), "{err}");
        assert!(out.stdout.is_empty(), "no address record when not serving");
    }
}

#[tokio::test]
async fn sigterm_drains_the_queue_and_exits_zero() {
    let mut server = Server::start();
    let mut client = TraceServiceClient::connect(server.grpc_url()).await.expect("connect");
    client.export(request("triage", run_spans(1, "support-triage"))).await.expect("export");
    drop(client);
    assert_eq!(server.terminate(), Some(0));
    let log = std::fs::read_to_string(server.data_dir.path().join("cockpit.log")).expect("log file in the data dir");
    assert!(log.contains("stopped cleanly"), "{log}");
}

#[tokio::test]
async fn stats_need_a_token_when_one_is_set() {
    let server =
        Server::start_with(&[], &[("COCKPIT_OPERATOR_TOKEN", "op-secret"), ("COCKPIT_VIEWER_TOKEN", "view-secret")]);
    let url = format!("http://{}/api/v1/stats", server.api);
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.expect("get").status(), 401);
    assert_eq!(client.get(&url).bearer_auth("wrong").send().await.expect("get").status(), 401);
    assert_eq!(client.get(&url).bearer_auth("op-secret").send().await.expect("get").status(), 200);
    assert_eq!(client.get(&url).bearer_auth("view-secret").send().await.expect("get").status(), 200);
    assert!(server.healthz().await, "health needs no token");
}

#[tokio::test]
async fn ingest_token_guards_both_receivers() {
    let server = Server::start_with(&[], &[("COCKPIT_INGEST_TOKEN", "ingest-secret")]);
    let body = request("t", run_spans(1, "support-triage")).encode_to_vec();
    let client = reqwest::Client::new();
    let post = |token: Option<&'static str>| {
        let mut req = client
            .post(server.http_url("/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body.clone());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(post(None).await.expect("post").status(), 401);
    assert_eq!(post(Some("nope")).await.expect("post").status(), 401);
    assert_eq!(post(Some("ingest-secret")).await.expect("post").status(), 200);
    let mut grpc = TraceServiceClient::connect(server.grpc_url()).await.expect("connect");
    let err = grpc.export(request("t", run_spans(2, "a"))).await.expect_err("no token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut req = tonic::Request::new(request("t", run_spans(2, "a")));
    req.metadata_mut().insert("authorization", "Bearer ingest-secret".parse().expect("header"));
    grpc.export(req).await.expect("with token");
    let stats = server.settled().await;
    assert_eq!(stats["spans_accepted"], 8, "{stats}");
}

#[tokio::test]
async fn ingesting_past_the_memory_budget_evicts_oldest_first_and_counts() {
    let server = Server::start_with(&["--memory-budget", "256KiB"], &[]);
    let mut client = TraceServiceClient::connect(server.grpc_url()).await.expect("connect");
    for batch in 0..20u64 {
        let spans = (0..10).flat_map(|t| run_spans(batch * 10 + t + 1, "research")).collect();
        client.export(request("r", spans)).await.expect("export");
    }
    let stats = server.settled().await;
    let evicted = stats["spans_evicted"].as_u64().expect("evicted");
    assert!(evicted > 0, "{stats}");
    assert_eq!(evicted + stats["hot_spans"].as_u64().expect("hot"), 800, "{stats}");
    assert!(stats["hot_bytes"].as_u64().expect("bytes") <= 256 * 1024, "{stats}");
    assert_eq!(stats["runs"], 200, "evicted runs stay counted: {stats}");
    // The newest trace is still whole: resending it is deduplicated, resending the oldest is not.
    client.export(request("r", run_spans(200, "research"))).await.expect("newest again");
    client.export(request("r", run_spans(1, "research"))).await.expect("oldest again");
    let stats = server.wait_stats(|s| s["spans_accepted"] == 808).await;
    assert_eq!(stats["spans_deduplicated"], 4, "{stats}");
}

fn traces_line(trace: u64) -> String {
    serde_json::to_string(&request("triage", run_spans(trace, "support-triage"))).expect("json")
}

#[test]
fn replay_loads_good_lines_and_names_bad_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("export.jsonl");
    let metrics = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"gen_ai.client.token.usage","sum":{"dataPoints":[{"asInt":"5"}]}}]}]}]}"#;
    let logs = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"relevance"}}]}]}]}]}"#;
    let text = [traces_line(1), "{not json".into(), String::new(), metrics.into(), logs.into(), "{\"other\":1}".into()]
        .join("\n");
    std::fs::write(&file, text).expect("write");
    let out = cockpit()
        .args(["replay"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::piped())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    let name = file.display().to_string();
    assert!(err.contains(&format!("{name}:2: invalid JSON")), "{err}");
    assert!(err.contains(&format!("{name}:6: not an OTLP export request")), "{err}");
    assert_eq!(out.status.code(), Some(1), "bad lines make a non-zero exit");
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats json");
    assert_eq!(stats["runs"], 1, "{stats}");
    assert_eq!(stats["spans_accepted"], 4, "{stats}");
    assert_eq!(stats["metric_points"], 1, "{stats}");
    assert_eq!(stats["evaluations"], 1, "{stats}");
}

#[tokio::test]
async fn replay_with_serve_keeps_serving_the_replayed_data() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, format!("{}\n{}\n", traces_line(1), traces_line(2))).expect("write");
    let mut child = cockpit()
        .args(["replay", "--serve", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--api", "127.0.0.1:0"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().expect("stdout")), &mut line)
        .expect("line");
    let addrs: serde_json::Value = serde_json::from_str(&line).expect("address record");
    let token = std::fs::read_to_string(dir.path().join("operator.token")).expect("generated operator token");
    let stats: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}/api/v1/stats", addrs["api"].as_str().expect("api")))
        .bearer_auth(token.trim())
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(stats["runs"], 2, "{stats}");
}
