//! OTLP/gRPC receiver: TraceService, MetricsService and LogsService, gzip accepted.

use std::sync::Arc;
use std::time::Duration;

use bytes::Buf;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings, EncodeBuf, Encoder};
use tonic::codegen::{Body, BoxFuture, Service, StdError};
use tonic::server::{NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{convert, wire};
use crate::engine::{Engine, Throttled};

/// The three OTLP services over one engine.
#[derive(Clone)]
pub struct GrpcIngest {
    /// The engine to feed.
    pub engine: Arc<Engine>,
    /// Bearer token required on ingest, if any.
    pub token: Option<String>,
}

impl GrpcIngest {
    fn authorize<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        if super::bearer_ok(self.token.as_deref(), header) {
            Ok(())
        } else {
            Err(Status::unauthenticated("missing or wrong bearer token"))
        }
    }
}

fn throttled() -> Status {
    Status::with_error_details(
        Code::Unavailable,
        "ingest queue is full; retry after the indicated delay",
        ErrorDetails::with_retry_info(Some(Duration::from_secs(1))),
    )
}

fn done<M>(submitted: Result<(), Throttled>, response: M) -> Result<Response<M>, Status> {
    submitted.map(|()| Response::new(response)).map_err(|Throttled| throttled())
}

impl GrpcIngest {
    /// One trace export: convert, submit, answer.
    fn export_traces(&self, req: Request<wire::TraceRequest>) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.authorize(&req)?;
        let room = self.engine.reserve_spans(req.get_ref().span_count()).map_err(|Throttled| throttled())?;
        let c = match convert::wire_traces(req.get_ref(), self.engine.config().limits) {
            Ok(c) => c,
            Err(e) => {
                self.engine.count_invalid_request();
                return Err(Status::invalid_argument(e.to_string()));
            }
        };
        let partial = (c.rejected > 0)
            .then(|| ExportTracePartialSuccess { rejected_spans: c.rejected as i64, error_message: c.message() });
        self.engine.submit_reserved_spans(room, c);
        Ok(Response::new(ExportTraceServiceResponse { partial_success: partial }))
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcIngest {
    async fn export(
        &self,
        req: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.authorize(&req)?;
        let c = convert::metrics(req.get_ref(), self.engine.config().limits);
        let partial = (c.rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: c.rejected as i64,
            error_message: c.message(),
        });
        done(self.engine.submit_points(c), ExportMetricsServiceResponse { partial_success: partial })
    }
}

#[tonic::async_trait]
impl LogsService for GrpcIngest {
    async fn export(
        &self,
        req: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.authorize(&req)?;
        let c = convert::logs(req.get_ref(), self.engine.config().limits);
        let partial = (c.rejected > 0)
            .then(|| ExportLogsPartialSuccess { rejected_log_records: c.rejected as i64, error_message: c.message() });
        done(self.engine.submit_logs(c), ExportLogsServiceResponse { partial_success: partial })
    }
}

/// What the trace service does with a request.
type ExportFn =
    dyn Fn(Request<wire::TraceRequest>) -> Result<Response<ExportTraceServiceResponse>, Status> + Send + Sync;

/// The OTLP trace service, reading requests in place (`wire`; the generated server of
/// opentelemetry-proto decodes into owned strings). Gzip accepted.
#[derive(Clone)]
pub struct WireTraceServer {
    export: Arc<ExportFn>,
    max_request_bytes: usize,
}

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

impl WireTraceServer {
    /// A service answering every export with `export`.
    pub fn new(
        export: impl Fn(Request<wire::TraceRequest>) -> Result<Response<ExportTraceServiceResponse>, Status>
        + Send
        + Sync
        + 'static,
        max_request_bytes: usize,
    ) -> Self {
        Self { export: Arc::new(export), max_request_bytes }
    }
}

impl NamedService for WireTraceServer {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

/// The one method, as tonic's unary plumbing wants it.
struct Export(Arc<ExportFn>);

impl UnaryService<wire::TraceRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = std::future::Ready<Result<Response<ExportTraceServiceResponse>, Status>>;

    fn call(&mut self, request: Request<wire::TraceRequest>) -> Self::Future {
        std::future::ready((self.0)(request))
    }
}

impl<B> Service<http::Request<B>> for WireTraceServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != EXPORT_PATH {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        let export = Export(Arc::clone(&self.export));
        let max = self.max_request_bytes;
        Box::pin(async move {
            let codec = WireCodec;
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            let mut grpc = tonic::server::Grpc::new(codec)
                .apply_compression_config(accept, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(export, req).await)
        })
    }
}

/// The trace service's codec: the request is taken as one `Bytes` and checked in place
/// (`wire::TraceRequest`); conversion reads its fields as slices of it.
#[derive(Debug, Clone, Copy, Default)]
struct WireCodec;

/// Encodes the response.
#[derive(Debug, Clone, Copy, Default)]
struct ResponseEncoder;

/// Decodes the request.
#[derive(Debug, Clone, Copy, Default)]
struct RequestDecoder;

impl Codec for WireCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = wire::TraceRequest;
    type Encoder = ResponseEncoder;
    type Decoder = RequestDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder
    }
}

impl Encoder for ResponseEncoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(buf).map_err(|e| Status::internal(e.to_string()))
    }
}

impl Decoder for RequestDecoder {
    type Item = wire::TraceRequest;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        let body = buf.copy_to_bytes(buf.remaining());
        wire::TraceRequest::parse(body).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

/// Serves the three services on a bound listener until `shutdown` resolves.
pub async fn serve(
    ingest: GrpcIngest,
    listener: tokio::net::TcpListener,
    max_request_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let trace_ingest = ingest.clone();
    let traces = WireTraceServer::new(move |req| trace_ingest.export_traces(req), max_request_bytes);
    let metrics = MetricsServiceServer::new(ingest.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_request_bytes);
    let logs = LogsServiceServer::new(ingest)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_request_bytes);
    server_builder()
        .layer(tower_layer_status_fix())
        .add_service(traces)
        .add_service(metrics)
        .add_service(logs)
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await
}

/// The transport settings of the receiver: HTTP/2 windows sized for large export batches, so a
/// sender of 100s of KB per request is not stalled waiting for window updates.
pub fn server_builder() -> tonic::transport::Server {
    tonic::transport::Server::builder().initial_connection_window_size(8 << 20).initial_stream_window_size(4 << 20)
}

/// Accepted connections without Nagle's delay: small answers (headers, trailers) go out at once
/// instead of waiting on the sender's delayed ACK.
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// tonic reports undecodable messages as INTERNAL and oversized ones as OUT_OF_RANGE; the
/// OTLP contract says INVALID_ARGUMENT and RESOURCE_EXHAUSTED (both non-retryable). This
/// layer rewrites those two trailers-only answers.
fn tower_layer_status_fix()
-> tower::util::MapResponseLayer<fn(http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body>> {
    tower::util::MapResponseLayer::new(fix_status as fn(_) -> _)
}

fn fix_status(mut res: http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body> {
    let headers = res.headers_mut();
    let status = headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|s| s.parse::<i32>().ok());
    let message = headers.get("grpc-message").and_then(|v| v.to_str().ok()).unwrap_or("");
    let fixed = match status {
        Some(13) if message.contains("decode") => Some("3"),
        Some(11) if message.contains("too large") || message.contains("too%20large") => Some("8"),
        _ => None,
    };
    if let Some(code) = fixed {
        headers.insert("grpc-status", http::HeaderValue::from_static(code));
    }
    res
}
