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

/// A cockpit served in this process (so the test can reach its engine) on ephemeral ports.
struct InProcess {
    engine: Arc<agentops_cockpit::engine::Engine>,
    addrs: serde_json::Value,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), String>>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    async fn start(engine: EngineConfig) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = Config {
            otlp_grpc: "127.0.0.1:0".into(),
            otlp_http: "127.0.0.1:0".into(),
            api: "127.0.0.1:0".into(),
            data_dir: Some(dir.path().to_path_buf()),
            ..Config::default()
        };
        let cockpit = serve::Cockpit::start(&cfg, EngineConfig { data_dir: None, ..engine }).expect("cockpit");
        let engine = Arc::clone(&cockpit.engine);
        let listeners = serve::bind(&cfg).await.expect("bind");
        let addrs = serde_json::from_str(&listeners.address_record()).expect("record");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve::run(&cfg, cockpit, listeners, async {
                let _ = stopped.await;
            })
            .await
        });
        Self { engine, addrs, stop, server, _dir: dir }
    }

    fn addr(&self, name: &str) -> String {
        self.addrs[name].as_str().expect("address").to_owned()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.expect("join").expect("clean stop");
    }
}

#[tokio::test]
async fn a_full_queue_throttles_with_retry_hints() {
    let cockpit = InProcess::start(EngineConfig { queue_capacity: 4, ..EngineConfig::default() }).await;
    let engine = Arc::clone(&cockpit.engine);
    let http = format!("http://{}/v1/traces", cockpit.addr("otlp_http"));
    let client = reqwest::Client::new();
    let post = |spans: Vec<opentelemetry_proto::tonic::trace::v1::Span>| {
        let body = request("t", spans).encode_to_vec();
        client.post(&http).header("content-type", "application/x-protobuf").body(body).send()
    };
    let mut first = run_spans(1, "support-triage");
    assert_eq!(first.len(), 4, "a run of four spans fills the queue");
    let last = first.split_off(3);

    // Stall the store (a thread holds its write lock) so what is queued stays queued.
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
    assert_eq!(post(first.clone()).await.expect("post").status(), 200);

    // One item of room left: requests are read, and refused for want of room for their spans.
    let resp = post(run_spans(3, "support-triage")).await.expect("post");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let mut grpc = TraceServiceClient::connect(format!("http://{}", cockpit.addr("otlp_grpc"))).await.expect("connect");
    let err = grpc.export(request("t", run_spans(2, "a"))).await.expect_err("throttled");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let retry = err.get_details_retry_info().expect("RetryInfo detail");
    assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(1)));

    // No room at all: refused at the door, with the same answers, before the body is parsed (over
    // gRPC before it is even received; an HTTP/1.1 body is read to its end and thrown away, so
    // that the connection survives). The spans of a request never parsed are not known, so only
    // the request is counted.
    assert_eq!(post(last.clone()).await.expect("post").status(), 200);
    let resp = post(run_spans(3, "support-triage")).await.expect("post");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let err = grpc.export(request("t", run_spans(2, "a"))).await.expect_err("throttled at the door");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let retry = err.get_details_retry_info().expect("RetryInfo detail at the door");
    assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(1)));
    release.send(()).expect("release");
    staller.join().expect("staller");

    // Once the store catches up, the retries are accepted and everything accepted is counted.
    engine.flush().await;
    assert_eq!(post(run_spans(3, "support-triage")).await.expect("post").status(), 200);
    // That batch holds the whole (4-item) queue until the store has it.
    engine.flush().await;
    grpc.export(request("t", run_spans(2, "a"))).await.expect("accepted after the stall");
    engine.flush().await;
    // (The counts are read only now: reading them takes the store's lock, which the stall holds.)
    // Four requests throttled; the spans of the two read before refusal, not of the two at the
    // door.
    let stats = engine.stats();
    assert_eq!((stats.spans_accepted, stats.spans_throttled, stats.requests_throttled), (3 + 1 + 4 + 4, 4 + 4, 4));
    assert_eq!(stats.spans_stored + stats.spans_deduplicated, 12);
    cockpit.stop().await;
}

#[tokio::test]
async fn a_grpc_body_that_does_not_fit_the_bodies_share_is_refused_before_it_is_read() {
    // 4 MiB of budget: the bodies in flight may hold 5% of it, ~210 KB.
    let budget = 4 << 20;
    let share = budget / 100 * agentops_cockpit::engine::BODIES_SHARE_PERCENT;
    let declared = share - 100;
    let cockpit = InProcess::start(EngineConfig { memory_budget: budget, ..EngineConfig::default() }).await;
    let engine = Arc::clone(&cockpit.engine);
    let grpc_addr = cockpit.addr("otlp_grpc");

    // A sender starts an export of nearly the whole share and stalls after its first kilobyte.
    let tcp = tokio::net::TcpStream::connect(&grpc_addr).await.expect("tcp");
    let (h2, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(connection);
    let mut h2 = h2.ready().await.expect("h2 ready");
    let head =
        http::Request::post(format!("http://{grpc_addr}/opentelemetry.proto.collector.trace.v1.TraceService/Export"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("request");
    let (_answer, mut stalled) = h2.send_request(head, false).expect("send");
    stalled.send_data(bytes::Bytes::from(grpc_frame(&[0u8; 1000], Some(declared as u32))), false).expect("first frame");
    let waited = std::time::Instant::now();
    while engine.bodies().used() < declared + 5 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(10), "the stalled body was never charged");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(engine.bodies().used(), declared + 5, "charged its declared size, not the kilobyte received");

    // Another export does not fit beside it, over either receiver: throttled, with the retry hint.
    let http = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", cockpit.addr("otlp_http")))
        .header("content-type", "application/x-protobuf")
        .body(request("t", run_spans(2, "a")).encode_to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(http.status().as_u16(), 429);
    assert_eq!(http.headers()["retry-after"], "1");
    let mut grpc = TraceServiceClient::connect(format!("http://{grpc_addr}")).await.expect("connect");
    let err = grpc.export(request("t", run_spans(1, "a"))).await.expect_err("no room for its body");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let retry = err.get_details_retry_info().expect("RetryInfo detail");
    assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(1)));

    // The stalled sender gives up: its charge is given back, and the retry goes through.
    stalled.send_reset(h2::Reason::CANCEL);
    let waited = std::time::Instant::now();
    while engine.bodies().used() > 0 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(10), "the charge was never given back");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    grpc.export(request("t", run_spans(1, "a"))).await.expect("accepted once the body is gone");
    engine.flush().await;
    let stats = engine.stats();
    assert_eq!((stats.spans_accepted, stats.requests_throttled), (4, 2));
    cockpit.stop().await;
}
