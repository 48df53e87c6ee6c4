//! `cockpit loadgen` against a real `cockpit serve`: what it reports accepted is what the engine
//! counted, over gRPC and HTTP, and `--ceiling` measures a decode-only rate in the same run.

use std::process::Command;

use serde_json::Value;

mod common;
use common::*;

fn loadgen(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .arg("loadgen")
        .args(args)
        .arg("--json")
        .output()
        .expect("run loadgen");
    assert!(out.status.success(), "loadgen failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[tokio::test]
async fn every_span_the_loadgen_saw_accepted_is_counted() {
    let server = Server::start();
    let grpc = loadgen(&[
        "--endpoint",
        &server.grpc_url(),
        "--duration",
        "2s",
        "--rate",
        "20000",
        "--connections",
        "2",
        "--agents",
        "12",
        "--tools",
        "30",
        "--models",
        "3",
    ]);
    let http_base = format!("http://{}", server.http);
    let http =
        loadgen(&["--endpoint", &http_base, "--protocol", "http-json", "--gzip", "--duration", "1s", "--rate", "5000"]);
    let accepted = grpc["accepted"].as_u64().unwrap_or(0) + http["accepted"].as_u64().unwrap_or(0);
    assert!(grpc["accepted"].as_u64().unwrap_or(0) > 10_000, "{grpc}");
    assert!(http["accepted"].as_u64().unwrap_or(0) > 1_000, "{http}");
    assert_eq!(grpc["errors"], 0, "{grpc}");
    let s = server.wait_stats(|s| s["spans_accepted"].as_u64() == Some(accepted)).await;
    assert_eq!(s["spans_stored"].as_u64(), Some(accepted), "{s}");
    let logs = grpc["logs_accepted"].as_u64().unwrap_or(0) + http["logs_accepted"].as_u64().unwrap_or(0);
    let points = grpc["points_accepted"].as_u64().unwrap_or(0) + http["points_accepted"].as_u64().unwrap_or(0);
    assert!(logs > 0 && points > 0, "{grpc} {http}");
    assert_eq!(s["log_records"].as_u64(), Some(logs), "{s}");
    assert_eq!(s["metric_points"].as_u64(), Some(points), "{s}");
    let agents = s["agents"].as_array().map_or(0, Vec::len);
    assert_eq!(agents, 12, "{s}");
}

#[tokio::test]
async fn the_ceiling_is_measured_in_the_same_run() {
    let server = Server::start();
    let r = loadgen(&["--endpoint", &server.grpc_url(), "--duration", "1s", "--ceiling", "1s"]);
    let ceiling = r["ceiling_spans_per_sec"].as_f64().unwrap_or(0.0);
    let ratio = r["ceiling_ratio"].as_f64().unwrap_or(0.0);
    assert!(ceiling > 1_000.0, "{r}");
    let expected = r["accepted_spans_per_sec"].as_f64().unwrap_or(0.0) / ceiling;
    assert!((ratio - expected).abs() < 1e-9, "{r}");
}

/// Past what the engine takes, the loadgen shows the throttling, and counts it as the engine
/// does: by request (the engine counts the spans only of requests it read before refusing).
#[tokio::test]
async fn throttling_is_shown_and_counted_by_request() {
    // A queue of 200 items, in the config file the server reads (its XDG config dir is its data dir).
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("agentops-cockpit")).expect("config dir");
    std::fs::write(dir.path().join("agentops-cockpit/config.toml"), "queue_capacity = 200\n").expect("config");
    let server = Server::start_in(dir, &[], &[]);
    let r = loadgen(&["--endpoint", &server.grpc_url(), "--duration", "2s", "--connections", "8"]);
    let throttled = r["throttled_requests"].as_u64().unwrap_or(0);
    assert!(throttled > 0 && r["throttled"].as_u64().unwrap_or(0) > throttled, "{r}");
    let accepted = r["accepted"].as_u64().unwrap_or(0);
    let s = server.wait_stats(|s| s["spans_stored"].as_u64() == Some(accepted)).await;
    // The engine's count also has the loadgen's throttled log and metric exports.
    let engine = s["requests_throttled"].as_u64().unwrap_or(0);
    assert!(throttled <= engine, "loadgen {throttled} throttled requests, engine {engine}: {s}");
    assert_eq!(s["spans_accepted"].as_u64(), Some(accepted), "{s}");
}
