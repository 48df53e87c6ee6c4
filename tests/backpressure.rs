//! A full ingest queue answers "retry later" on both receivers, and nothing accepted is lost.

use std::sync::Arc;

use agentops_cockpit::config::Config;
use agentops_cockpit::engine::EngineConfig;
use agentops_cockpit::serve;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic_types::StatusExt;

mod common;
use common::*;

#[tokio::test]
async fn a_full_queue_throttles_with_retry_hints() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = Config {
        otlp_grpc: "127.0.0.1:0".into(),
        otlp_http: "127.0.0.1:0".into(),
        api: "127.0.0.1:0".into(),
        data_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let cockpit =
        serve::Cockpit::start(&cfg, EngineConfig { queue_capacity: 4, data_dir: None, ..EngineConfig::default() })
            .expect("cockpit");
    let engine = Arc::clone(&cockpit.engine);
    let listeners = serve::bind(&cfg).await.expect("bind");
    let addrs: serde_json::Value = serde_json::from_str(&listeners.address_record()).expect("record");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        async move {
            serve::run(&cfg, cockpit, listeners, async {
                let _ = stop_rx.await;
            })
            .await
        }
    });
    let http = format!("http://{}/v1/traces", addrs["otlp_http"].as_str().expect("http"));
    let body = request("t", run_spans(1, "support-triage")).encode_to_vec();
    let client = reqwest::Client::new();
    let post = || client.post(&http).header("content-type", "application/x-protobuf").body(body.clone()).send();

    // Stall the store (a thread holds its write lock) so the first batch holds the whole queue.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (stalled, is_stalled) = std::sync::mpsc::channel::<()>();
    let staller = std::thread::spawn({
        let engine = Arc::clone(&engine);
        move || {
            let _guard = engine.store().write();
            let _ = stalled.send(());
            let _ = released.recv();
        }
    });
    is_stalled.recv().expect("store stalled");
    assert_eq!(post().await.expect("post").status(), 200);
    let resp = post().await.expect("post");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let mut grpc = TraceServiceClient::connect(format!("http://{}", addrs["otlp_grpc"].as_str().expect("grpc")))
        .await
        .expect("connect");
    let err = grpc.export(request("t", run_spans(2, "a"))).await.expect_err("throttled");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let retry = err.get_details_retry_info().expect("RetryInfo detail");
    assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(1)));
    release.send(()).expect("release");
    staller.join().expect("staller");

    // Once the store catches up, the retries are accepted and everything accepted is counted.
    engine.flush().await;
    assert_eq!(post().await.expect("post").status(), 200);
    // That batch holds the whole (4-item) queue until the store has it.
    engine.flush().await;
    grpc.export(request("t", run_spans(2, "a"))).await.expect("accepted after the stall");
    engine.flush().await;
    let stats = engine.stats();
    assert_eq!((stats.spans_accepted, stats.spans_throttled, stats.requests_throttled), (12, 8, 2));
    assert_eq!(stats.spans_stored + stats.spans_deduplicated, 12);
    let _ = stop_tx.send(());
    server.await.expect("join").expect("clean stop");
}
