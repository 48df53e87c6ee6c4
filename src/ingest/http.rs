//! OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` in protobuf or JSON,
//! answering in the request's encoding (DESIGN §4).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};
use prost::Message;

use super::convert::{self, Converted};
use super::json::{self, Decoded};
use super::{RpcStatus, body, code, salvage, wire};
use crate::engine::{Engine, Throttled};

/// What the HTTP receiver needs.
#[derive(Clone)]
pub struct HttpIngest {
    /// The engine to feed.
    pub engine: Arc<Engine>,
    /// Bearer token required on ingest, if any.
    pub token: Option<String>,
    /// Largest body accepted, after decompression.
    pub max_request_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Proto,
    Json,
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

/// The router for the OTLP/HTTP port.
pub fn router(state: HttpIngest) -> Router {
    Router::new()
        .route("/v1/traces", post(|s, h, b| export(s, h, b, Signal::Traces)))
        .route("/v1/metrics", post(|s, h, b| export(s, h, b, Signal::Metrics)))
        .route("/v1/logs", post(|s, h, b| export(s, h, b, Signal::Logs)))
        .fallback(|| async {
            error(
                Encoding::Json,
                StatusCode::NOT_FOUND,
                code::NOT_FOUND,
                "no such path: OTLP/HTTP serves POST /v1/traces, /v1/metrics and /v1/logs".into(),
            )
        })
        .with_state(state)
}

fn error(enc: Encoding, status: StatusCode, code: i32, message: String) -> Response {
    let body = RpcStatus { code, message };
    encoded(enc, status, body.encode_to_vec(), || serde_json::to_vec(&body).unwrap_or_default())
}

fn encoded(enc: Encoding, status: StatusCode, proto: Vec<u8>, json: impl FnOnce() -> Vec<u8>) -> Response {
    let (ctype, bytes) = match enc {
        Encoding::Proto => ("application/x-protobuf", proto),
        Encoding::Json => ("application/json", json()),
    };
    (status, [(header::CONTENT_TYPE, ctype)], bytes).into_response()
}

fn throttled(enc: Encoding) -> Response {
    let mut r = error(
        enc,
        StatusCode::TOO_MANY_REQUESTS,
        code::UNAVAILABLE,
        "ingest queue is full; retry after the indicated delay".into(),
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

async fn export(State(st): State<HttpIngest>, headers: HeaderMap, raw: Body, signal: Signal) -> Response {
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let ctype = header_str(header::CONTENT_TYPE).unwrap_or("");
    let mime = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let enc = match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Proto,
        "application/json" => Encoding::Json,
        _ => {
            return error(
                Encoding::Json,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_ARGUMENT,
                format!("unsupported Content-Type {ctype:?}: use application/x-protobuf or application/json"),
            );
        }
    };
    if !super::bearer_ok(st.token.as_deref(), header_str(header::AUTHORIZATION)) {
        return error(enc, StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, "missing or wrong bearer token".into());
    }
    let limit = st.max_request_bytes;
    // Refused requests are still read to their end, without being kept: an HTTP/1.1 server that
    // answers first closes the connection under a client still sending, which then sees a broken
    // connection instead of the 429 and its Retry-After.
    // Past the door, a body with a length holds it in the bodies' share while it is read.
    let declared = header_str(header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<usize>().ok());
    let admitted = st.engine.admit().ok().and_then(|()| match declared.filter(|&n| n <= limit) {
        Some(n) => st.engine.bodies().hold(n).map(Some),
        None => Some(None),
    });
    let Some(_held) = admitted else {
        drain(raw, limit).await;
        return throttled(enc);
    };
    let raw = match axum::body::to_bytes(raw, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(enc, limit),
    };
    let bytes = match body::decode(&raw, header_str(header::CONTENT_ENCODING), limit) {
        Ok(b) => bytes::Bytes::from(b),
        Err(body::BodyError::TooLarge { limit }) => return too_large(enc, limit),
        Err(e @ body::BodyError::UnsupportedEncoding(_)) => {
            return error(enc, StatusCode::UNSUPPORTED_MEDIA_TYPE, code::INVALID_ARGUMENT, e.to_string());
        }
        Err(e) => return invalid(&st, enc, e.to_string()),
    };
    let limits = st.engine.config().limits;
    match signal {
        Signal::Traces => {
            let from_proto = |b| {
                let request = wire::TraceRequest::parse(b).map_err(|e| format!("invalid protobuf: {e}"))?;
                Ok(Decoded { request, rejected: 0, errors: Vec::new() })
            };
            let decoded = match decode_request(enc, bytes, from_proto, wire_traces_from_json) {
                Ok(d) => d,
                Err(e) => return invalid(&st, enc, e),
            };
            // Room first, so an overloaded receiver does not convert what it will refuse.
            let room = match st.engine.reserve_spans(decoded.request.span_count()) {
                Ok(room) => room,
                Err(Throttled) => return throttled(enc),
            };
            let c = match convert::wire_traces(&decoded.request, limits) {
                Ok(c) => merge(c, decoded),
                Err(e) => return invalid(&st, enc, format!("invalid protobuf: {e}")),
            };
            let partial = (c.rejected > 0)
                .then(|| ExportTracePartialSuccess { rejected_spans: c.rejected as i64, error_message: c.message() });
            let json = partial_json("rejectedSpans", &c);
            st.engine.submit_reserved_spans(room, c);
            answer(enc, Ok(()), ExportTraceServiceResponse { partial_success: partial }, json)
        }
        Signal::Metrics => {
            let decoded =
                match decode_request(enc, bytes, salvage::decode::<ExportMetricsServiceRequest>, json::metrics) {
                    Ok(d) => d,
                    Err(e) => return invalid(&st, enc, e),
                };
            let c = merge(convert::metrics(&decoded.request, limits), decoded);
            let partial = (c.rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: c.rejected as i64,
                error_message: c.message(),
            });
            let json = partial_json("rejectedDataPoints", &c);
            answer(enc, st.engine.submit_points(c), ExportMetricsServiceResponse { partial_success: partial }, json)
        }
        Signal::Logs => {
            let decoded = match decode_request(enc, bytes, salvage::decode::<ExportLogsServiceRequest>, json::logs) {
                Ok(d) => d,
                Err(e) => return invalid(&st, enc, e),
            };
            let c = merge(convert::logs(&decoded.request, limits), decoded);
            let partial = (c.rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: c.rejected as i64,
                error_message: c.message(),
            });
            let json = partial_json("rejectedLogRecords", &c);
            answer(enc, st.engine.submit_logs(c), ExportLogsServiceResponse { partial_success: partial }, json)
        }
    }
}

/// Reads a body to its end (or past `limit`) without keeping it.
async fn drain(body: Body, limit: usize) {
    let mut chunks = body.into_data_stream();
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = chunks.next().await {
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            break;
        }
    }
}

/// OTLP/JSON traces read like a protobuf request (JSON is decoded through opentelemetry-proto's
/// types).
fn wire_traces_from_json(
    obj: serde_json::Map<String, serde_json::Value>,
) -> Result<Decoded<wire::TraceRequest>, String> {
    let d = json::traces(obj)?;
    let request =
        wire::TraceRequest::from_otlp(&d.request).map_err(|e| format!("cannot read the decoded request: {e}"))?;
    Ok(Decoded { request, rejected: d.rejected, errors: d.errors })
}

fn too_large(enc: Encoding, limit: usize) -> Response {
    error(enc, StatusCode::PAYLOAD_TOO_LARGE, code::RESOURCE_EXHAUSTED, body::BodyError::TooLarge { limit }.to_string())
}

fn invalid(st: &HttpIngest, enc: Encoding, message: String) -> Response {
    st.engine.count_invalid_request();
    error(enc, StatusCode::BAD_REQUEST, code::INVALID_ARGUMENT, message)
}

/// Decodes a body with the signal's protobuf or JSON reader.
fn decode_request<T>(
    enc: Encoding,
    bytes: bytes::Bytes,
    from_proto: fn(bytes::Bytes) -> Result<Decoded<T>, String>,
    from_json: fn(serde_json::Map<String, serde_json::Value>) -> Result<Decoded<T>, String>,
) -> Result<Decoded<T>, String> {
    match enc {
        Encoding::Proto => from_proto(bytes),
        Encoding::Json => from_json(json::parse_object(&bytes)?),
    }
}

/// Adds the items the JSON decoder already dropped to the conversion's rejections.
fn merge<T, R>(c: Converted<T>, decoded: Decoded<R>) -> Converted<T> {
    c.with_decoder_rejections(decoded.rejected, decoded.errors)
}

/// The OTLP/JSON response body; int64 counts as strings, as proto3 JSON writes them.
fn partial_json<T>(field: &str, c: &Converted<T>) -> Vec<u8> {
    let doc = if c.rejected > 0 {
        serde_json::json!({"partialSuccess": {field: c.rejected.to_string(), "errorMessage": c.message()}})
    } else {
        serde_json::json!({})
    };
    doc.to_string().into_bytes()
}

fn answer<M: Message>(enc: Encoding, submitted: Result<(), Throttled>, response: M, json: Vec<u8>) -> Response {
    match submitted {
        Ok(()) => encoded(enc, StatusCode::OK, response.encode_to_vec(), || json),
        Err(Throttled) => throttled(enc),
    }
}
