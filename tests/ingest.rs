//! OTLP over real sockets: a tonic client and an HTTP client (protobuf, JSON, gzip) against a
//! running `cockpit serve`, checked through `/api/v1/stats`.

mod common;

use std::io::Write;

use common::*;
use flate2::{Compression, write::GzEncoder};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics, metric,
};
use prost::Message;
use tonic::codec::CompressionEncoding;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).expect("gzip write");
    enc.finish().expect("gzip finish")
}

#[tokio::test]
async fn grpc_run_is_counted_exactly() {
    let server = Server::start();
    let mut client = TraceServiceClient::connect(server.grpc_url()).await.expect("connect");
    let resp = client.export(request("triage", run_spans(1, "support-triage"))).await.expect("export").into_inner();
    assert_eq!(resp.partial_success, None);
    assert_one_run(&server.settled().await, "support-triage");
}

#[tokio::test]
async fn grpc_gzip_run_is_counted_exactly() {
    let server = Server::start();
    let mut client = TraceServiceClient::connect(server.grpc_url())
        .await
        .expect("connect")
        .send_compressed(CompressionEncoding::Gzip);
    client.export(request("triage", run_spans(1, "support-triage"))).await.expect("export");
    assert_one_run(&server.settled().await, "support-triage");
}

#[tokio::test]
async fn http_protobuf_run_is_counted_exactly() {
    let server = Server::start();
    let resp = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request("triage", run_spans(1, "support-triage")).encode_to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-protobuf", "answers in the request's encoding");
    let body = ExportTraceServiceResponse::decode(resp.bytes().await.expect("body")).expect("response decodes");
    assert_eq!(body.partial_success, None);
    assert_one_run(&server.settled().await, "support-triage");
}

#[tokio::test]
async fn http_json_run_is_counted_exactly() {
    let server = Server::start();
    let json = serde_json::to_vec(&request("triage", run_spans(1, "support-triage"))).expect("json");
    let resp = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.json::<serde_json::Value>().await.expect("json"), serde_json::json!({}));
    assert_one_run(&server.settled().await, "support-triage");
}

#[tokio::test]
async fn http_gzip_protobuf_and_json_are_accepted() {
    let server = Server::start();
    let client = reqwest::Client::new();
    let proto = gzip(&request("a", run_spans(1, "support-triage")).encode_to_vec());
    let resp = client
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(proto)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let json = gzip(&serde_json::to_vec(&request("a", run_spans(2, "support-triage"))).expect("json"));
    let resp = client
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(json)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let stats = server.settled().await;
    assert_eq!((stats["spans_accepted"].as_u64(), stats["runs"].as_u64()), (Some(8), Some(2)), "{stats}");
}

fn token_histogram(trace: u64) -> ExportMetricsServiceRequest {
    let point = HistogramDataPoint {
        time_unix_nano: 1_700_000_000_000_000_000,
        count: 2,
        sum: Some(1500.0),
        bucket_counts: vec![1, 1],
        explicit_bounds: vec![1000.0],
        attributes: vec![s("gen_ai.token.type", "input"), s("gen_ai.request.model", "gpt-4o")],
        exemplars: vec![opentelemetry_proto::tonic::metrics::v1::Exemplar {
            trace_id: trace_id(trace),
            span_id: span_id(2),
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "gen_ai.client.token.usage".into(),
                    unit: "{token}".into(),
                    data: Some(metric::Data::Histogram(Histogram {
                        data_points: vec![point.clone(), point],
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn evaluation_logs(trace: u64) -> ExportLogsServiceRequest {
    let eval = LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        event_name: "gen_ai.evaluation.result".into(),
        trace_id: trace_id(trace),
        span_id: span_id(1),
        attributes: vec![s("gen_ai.evaluation.name", "user_feedback"), s("gen_ai.evaluation.score.label", "accepted")],
        ..Default::default()
    };
    let guard = LogRecord {
        trace_id: trace_id(trace),
        attributes: vec![
            s("event.name", "gen_ai.guardrail.result"),
            s("gen_ai.guardrail.name", "pii"),
            s("cockpit.guardrail.decision", "block"),
        ],
        ..Default::default()
    };
    let plain = LogRecord { body: None, ..Default::default() };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs { log_records: vec![eval, guard, plain], ..Default::default() }],
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn metrics_and_logs_over_grpc_and_http() {
    let server = Server::start();
    let channel =
        tonic::transport::Endpoint::from_shared(server.grpc_url()).expect("url").connect().await.expect("connect");
    MetricsServiceClient::new(channel.clone()).export(token_histogram(1)).await.expect("metrics export");
    LogsServiceClient::new(channel).export(evaluation_logs(1)).await.expect("logs export");
    post_proto(&server, "/v1/metrics", token_histogram(2).encode_to_vec()).await;
    post_proto(&server, "/v1/logs", evaluation_logs(2).encode_to_vec()).await;
    let client = reqwest::Client::new();
    let json = serde_json::to_vec(&token_histogram(3)).expect("json");
    let resp = client
        .post(server.http_url("/v1/metrics"))
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let stats = server.wait_stats(|s| s["metric_points"] == 6 && s["log_records"] == 6).await;
    assert_eq!(stats["evaluations"], 2, "{stats}");
    assert_eq!(stats["guardrail_decisions"], 2, "{stats}");
}

/// The encoding with every `marker` made invalid UTF-8 (its last byte 0xff).
fn spoil(request: &impl Message, marker: &[u8]) -> Vec<u8> {
    let mut bytes = request.encode_to_vec();
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(marker.len()).position(|w| w == marker) {
        bytes[at + i + marker.len() - 1] = 0xff;
        at += i + marker.len();
    }
    bytes
}

/// Posts a protobuf body, checks the 200, answers the response's bytes.
async fn post_proto(server: &Server, path: &str, body: Vec<u8>) -> Vec<u8> {
    let resp = reqwest::Client::new()
        .post(server.http_url(path))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.expect("body").to_vec()
}

#[tokio::test]
async fn a_metrics_or_logs_batch_with_an_unreadable_record_keeps_the_rest() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};

    let server = Server::start();
    // Logs: the third record's body is not UTF-8; the evaluation and the guardrail decision stay.
    let mut logs = evaluation_logs(1);
    logs.resource_logs[0].scope_logs[0].log_records[2].body =
        Some(AnyValue { value: Some(any_value::Value::StringValue("BAD_".into())) });
    let logs = spoil(&logs, b"BAD_");
    // Metrics: a second histogram of two points whose name is not UTF-8.
    let mut metrics = token_histogram(2);
    let mut bad = metrics.resource_metrics[0].scope_metrics[0].metrics[0].clone();
    bad.name = "BAD_".into();
    metrics.resource_metrics[0].scope_metrics[0].metrics.push(bad);
    let metrics = spoil(&metrics, b"BAD_");

    let answers = [
        grpc_raw(&server, "logs.v1.LogsService", grpc_frame(&logs, None)).await.body,
        post_proto(&server, "/v1/logs", logs.clone()).await,
    ];
    for answer in answers {
        let partial = ExportLogsServiceResponse::decode(answer.as_slice()).expect("answer").partial_success;
        let partial = partial.expect("partial success");
        assert_eq!(partial.rejected_log_records, 1);
        assert!(partial.error_message.contains("log_records[2]"), "{}", partial.error_message);
    }
    let answers = [
        grpc_raw(&server, "metrics.v1.MetricsService", grpc_frame(&metrics, None)).await.body,
        post_proto(&server, "/v1/metrics", metrics.clone()).await,
    ];
    for answer in answers {
        let partial = ExportMetricsServiceResponse::decode(answer.as_slice()).expect("answer").partial_success;
        assert_eq!(partial.expect("partial success").rejected_data_points, 2);
    }
    // Two good records per logs request, two good points per metrics request.
    let stats = server.wait_stats(|s| s["metric_points"] == 4 && s["log_records"] == 4).await;
    assert_eq!(stats["evaluations"], 2, "{stats}");
    assert_eq!(stats["guardrail_decisions"], 2, "{stats}");
    // Broken above the records, a request is still refused whole.
    let cut = &logs[..logs.len() - 3];
    assert_eq!(grpc_raw(&server, "logs.v1.LogsService", grpc_frame(cut, None)).await.status, "3");
    let resp = reqwest::Client::new()
        .post(server.http_url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(cut.to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400);
    // Both refusals are counted, the gRPC one (refused in the codec) as well.
    assert_eq!(server.stats().await["requests_invalid"], 2);
}

#[tokio::test]
async fn the_same_batch_twice_counts_once() {
    let server = Server::start();
    let mut client = TraceServiceClient::connect(server.grpc_url()).await.expect("connect");
    client.export(request("triage", run_spans(1, "support-triage"))).await.expect("first");
    client.export(request("triage", run_spans(1, "support-triage"))).await.expect("retry");
    let stats = server.wait_stats(|s| s["spans_deduplicated"] == 4).await;
    assert_eq!((stats["spans_stored"].as_u64(), stats["runs"].as_u64()), (Some(4), Some(1)), "{stats}");
    assert_eq!(stats["tools"][1]["calls"], 1, "{stats}");
}

#[tokio::test]
async fn children_first_and_a_trace_split_over_three_requests_make_one_run() {
    let server = Server::start();
    let client = reqwest::Client::new();
    let mut spans = run_spans(7, "billing-ops");
    let root = spans.remove(0);
    let chat = spans.remove(0);
    for part in [spans, vec![chat], vec![root]] {
        let resp = client
            .post(server.http_url("/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(request("billing", part).encode_to_vec())
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 200);
    }
    assert_one_run(&server.settled().await, "billing-ops");
}

#[tokio::test]
async fn a_batch_mixing_good_and_unusable_spans_keeps_the_good_ones() {
    let server = Server::start();
    let mut spans = run_spans(3, "support-triage");
    let mut bad = span(3, 9, Some(1), "bad", vec![], false);
    bad.trace_id = vec![1, 2, 3];
    let mut zero = span(3, 10, Some(1), "zero", vec![], false);
    zero.span_id = vec![0; 8];
    spans.push(bad);
    spans.push(zero);
    let mut client = TraceServiceClient::connect(server.grpc_url()).await.expect("connect");
    let resp = client.export(request("t", spans.clone())).await.expect("export").into_inner();
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(partial.error_message.contains("trace id has 3 bytes"), "{}", partial.error_message);
    // Same over HTTP/JSON, answered as OTLP/JSON partial success.
    let json = serde_json::to_vec(&request("t", spans)).expect("json");
    let resp = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["partialSuccess"]["rejectedSpans"], "2", "{body}");
    let stats = server.settled().await;
    assert_eq!((stats["spans_accepted"].as_u64(), stats["spans_rejected"].as_u64()), (Some(8), Some(4)), "{stats}");
    assert_eq!(stats["runs"], 1);
}
