//! Bad input against one live server: each gets a clear error, the server stays healthy and
//! keeps counting good data.

mod common;

use std::io::Write;

use common::*;
use flate2::{Compression, write::GzEncoder};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use reqwest::StatusCode;
use tonic::codec::CompressionEncoding;

const LIMIT: usize = 1 << 20;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(data).expect("gzip write");
    enc.finish().expect("gzip finish")
}

async fn post(server: &Server, path: &str, ctype: &str, encoding: Option<&str>, body: Vec<u8>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().post(server.http_url(path)).header("content-type", ctype).body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = String::from_utf8_lossy(&resp.bytes().await.expect("body")).into_owned();
    (status, text)
}

/// Sends a raw trace export frame and answers its grpc-status and grpc-message.
async fn raw_grpc(server: &Server, frame: Vec<u8>) -> (String, String) {
    let answer = grpc_raw(server, "trace.v1.TraceService", frame).await;
    (answer.status, answer.message)
}

#[tokio::test]
async fn bad_input_is_refused_and_good_data_still_counts() {
    let server = Server::start_with(&[], &[("COCKPIT_MAX_REQUEST_SIZE", "1MiB")]);
    let good = request("triage", run_spans(1, "support-triage")).encode_to_vec();
    let proto = "application/x-protobuf";
    let json = "application/json";

    // Truncated protobuf and random bytes.
    let (st, body) = post(&server, "/v1/traces", proto, None, good[..good.len() / 2].to_vec()).await;
    assert_eq!(st, 400, "{body}");
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let (st, _) = post(&server, "/v1/traces", proto, None, random.clone()).await;
    assert_eq!(st, 400);
    // A protobuf error body is a google.rpc.Status in protobuf.
    let resp = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", proto)
        .body(random.clone())
        .send()
        .await
        .expect("post");
    let status = agentops_cockpit::ingest::RpcStatus::decode(resp.bytes().await.expect("body")).expect("rpc status");
    assert_eq!(status.code, 3);
    assert!(status.message.contains("invalid protobuf"), "{}", status.message);

    // Malformed JSON, and valid JSON of the wrong shape.
    let (st, body) = post(&server, "/v1/traces", json, None, b"{\"resourceSpans\": [".to_vec()).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("invalid JSON"), "{body}");
    for wrong in [&b"[1,2,3]"[..], b"\"spans\"", br#"{"resourceSpans": {"a": 1}}"#] {
        let (st, body) = post(&server, "/v1/traces", json, None, wrong.to_vec()).await;
        assert_eq!(st, 400, "{body}");
    }
    let (st, body) = post(&server, "/v1/logs", json, None, br#"{"resourceLogs": 7}"#.to_vec()).await;
    assert_eq!(st, 400, "{body}");

    // Wrong content type, wrong path, wrong encoding.
    let (st, _) = post(&server, "/v1/traces", "text/plain", None, good.clone()).await;
    assert_eq!(st, 415);
    let (st, _) = post(&server, "/v2/traces", proto, None, good.clone()).await;
    assert_eq!(st, 404);
    let (st, _) = post(&server, "/v1/traces", proto, Some("br"), good.clone()).await;
    assert_eq!(st, 415);
    let (st, _) = post(&server, "/v1/traces", proto, Some("gzip"), b"not gzip".to_vec()).await;
    assert_eq!(st, 400);

    // Over the limit: plain, and a small gzip body that inflates past it.
    let (st, body) = post(&server, "/v1/traces", proto, None, vec![0u8; LIMIT + 1]).await;
    assert_eq!(st, 413, "{body}");
    let bomb = gzip(&vec![b'a'; 64 << 20]);
    assert!(bomb.len() < LIMIT);
    let (st, body) = post(&server, "/v1/traces", json, Some("gzip"), bomb.clone()).await;
    assert_eq!(st, 413, "{body}");

    // gRPC: garbage is INVALID_ARGUMENT, an oversized frame and a gzip bomb RESOURCE_EXHAUSTED.
    let (code, msg) = raw_grpc(&server, grpc_frame(&random, None)).await;
    assert_eq!(code, "3", "{msg}");
    let (code, msg) = raw_grpc(&server, grpc_frame(&[], Some(LIMIT as u32 + 10))).await;
    assert_eq!(code, "8", "{msg}");
    let mut big = run_spans(50, "support-triage");
    big[0].attributes.push(s("blob", &"z".repeat(2 * LIMIT)));
    let mut client = TraceServiceClient::connect(server.grpc_url())
        .await
        .expect("connect")
        .send_compressed(CompressionEncoding::Gzip);
    let err = client.export(request("t", big)).await.expect_err("bomb must fail");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err}");

    // Invalid UTF-8 in strings: over protobuf the span holding it is rejected and its neighbour
    // kept; JSON replaces the bytes and keeps the span.
    let both = vec![span(60, 1, None, "NAME_", vec![], false), span(65, 1, None, "fine", vec![], false)];
    let mut utf8 = request("triage", both).encode_to_vec();
    let at = utf8.windows(5).position(|w| w == b"NAME_").expect("name bytes");
    utf8[at + 4] = 0xff;
    let resp = reqwest::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", proto)
        .body(utf8)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let answer = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
        resp.bytes().await.expect("body"),
    )
    .expect("export response");
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("the name is not UTF-8"), "{}", partial.error_message);
    let mut j = serde_json::to_vec(&request("triage", vec![span(61, 1, None, "NAME_", vec![], false)])).expect("json");
    let at = j.windows(5).position(|w| w == b"NAME_").expect("name bytes");
    j[at + 4] = 0xff;
    let (st, body) = post(&server, "/v1/traces", json, None, j).await;
    assert_eq!(st, 200, "{body}");

    // Attribute values of 1 MiB (just under the request limit) and absurd timestamps are kept.
    let mut huge = span(62, 1, None, "huge", vec![s("gen_ai.operation.name", "invoke_agent")], false);
    huge.attributes.push(s("gen_ai.prompt", &"p".repeat(LIMIT - 4096)));
    let mut zero = span(63, 1, None, "zero", vec![], false);
    zero.start_time_unix_nano = 0;
    zero.end_time_unix_nano = 0;
    let mut max = span(64, 1, None, "max", vec![], false);
    max.start_time_unix_nano = u64::MAX;
    max.end_time_unix_nano = 5;
    let (st, body) = post(&server, "/v1/traces", proto, None, request("t", vec![huge]).encode_to_vec()).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = post(&server, "/v1/traces", proto, None, request("t", vec![zero, max]).encode_to_vec()).await;
    assert_eq!(st, 200, "{body}");

    // A span broken inside (a key's length runs past its attribute, the outer lengths intact)
    // refuses its whole request, its well-formed neighbour included, over HTTP and gRPC.
    let pair = vec![span(66, 1, None, "a", vec![s("BROKEN_KEY", "v")], false), span(67, 1, None, "b", vec![], false)];
    let mut broken = request("t", pair).encode_to_vec();
    let at = broken.windows(10).position(|w| w == b"BROKEN_KEY").expect("key bytes");
    broken[at - 1] = 0x7f;
    let (st, body) = post(&server, "/v1/traces", proto, None, broken.clone()).await;
    assert_eq!(st, 400, "{body}");
    let (code, msg) = raw_grpc(&server, grpc_frame(&broken, None)).await;
    assert_eq!(code, "3", "{msg}");

    // Still healthy, and good data still counts exactly.
    assert!(server.healthz().await);
    let (st, _) = post(&server, "/v1/traces", proto, None, good).await;
    assert_eq!(st, 200);
    let stats = server.settled().await;
    assert_eq!(stats["spans_accepted"], 1 + 1 + 1 + 2 + 4, "{stats}");
    assert_eq!(stats["runs"], 1 + 1 + 1 + 2 + 1, "{stats}");
    assert_eq!(stats["tool_calls"], 2, "{stats}");
    assert!(stats["requests_invalid"].as_u64().unwrap_or(0) >= 7, "{stats}");
}
