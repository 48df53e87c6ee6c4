//! OTLP/gRPC receiver: TraceService, MetricsService and LogsService, gzip accepted.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
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

use super::inflight::Charged;
use super::json::Decoded;
use super::{convert, salvage, wire};
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

impl GrpcIngest {
    /// One metrics export: the points of the records that decoded, and the others counted.
    fn export_metrics(
        &self,
        req: Request<Decoded<ExportMetricsServiceRequest>>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.authorize(&req)?;
        let d = req.into_inner();
        let c = convert::metrics(&d.request, self.engine.config().limits).with_decoder_rejections(d.rejected, d.errors);
        let partial = (c.rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: c.rejected as i64,
            error_message: c.message(),
        });
        done(self.engine.submit_points(c), ExportMetricsServiceResponse { partial_success: partial })
    }

    /// One logs export: the records that decoded, and the others counted.
    fn export_logs(
        &self,
        req: Request<Decoded<ExportLogsServiceRequest>>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.authorize(&req)?;
        let d = req.into_inner();
        let c = convert::logs(&d.request, self.engine.config().limits).with_decoder_rejections(d.rejected, d.errors);
        let partial = (c.rejected > 0)
            .then(|| ExportLogsPartialSuccess { rejected_log_records: c.rejected as i64, error_message: c.message() });
        done(self.engine.submit_logs(c), ExportLogsServiceResponse { partial_success: partial })
    }
}

/// An export request the receiver decodes itself instead of through tonic's prost codec (traces
/// are read in place; metrics and logs keep their good records when some are unreadable).
pub trait Incoming: Sized + Send + 'static {
    /// The answer.
    type Answer: Message + Send + 'static;
    /// The gRPC service's full name (its one method is `/{SERVICE}/Export`).
    const SERVICE: &'static str;
    /// Reads a request body; a refusal is `INVALID_ARGUMENT`.
    fn decode(body: Bytes) -> Result<Self, Status>;
}

impl Incoming for wire::TraceRequest {
    type Answer = ExportTraceServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";

    fn decode(body: Bytes) -> Result<Self, Status> {
        wire::TraceRequest::parse(body).map_err(|e| Status::invalid_argument(e.to_string()))
    }
}

impl Incoming for Decoded<ExportMetricsServiceRequest> {
    type Answer = ExportMetricsServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";

    fn decode(body: Bytes) -> Result<Self, Status> {
        salvage::decode(body).map_err(Status::invalid_argument)
    }
}

impl Incoming for Decoded<ExportLogsServiceRequest> {
    type Answer = ExportLogsServiceResponse;
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";

    fn decode(body: Bytes) -> Result<Self, Status> {
        salvage::decode(body).map_err(Status::invalid_argument)
    }
}

/// What a service does with a request.
type ExportFn<R> = dyn Fn(Request<R>) -> Result<Response<<R as Incoming>::Answer>, Status> + Send + Sync;

/// One OTLP service (its one method, Export) over requests decoded by [`Incoming`]. Gzip
/// accepted.
pub struct ExportService<R: Incoming> {
    export: Arc<ExportFn<R>>,
    /// The engine that guards the door, when there is one (see [`ExportService::guarded_by`]).
    engine: Option<Arc<Engine>>,
    max_request_bytes: usize,
}

impl<R: Incoming> Clone for ExportService<R> {
    fn clone(&self) -> Self {
        Self {
            export: Arc::clone(&self.export),
            engine: self.engine.clone(),
            max_request_bytes: self.max_request_bytes,
        }
    }
}

impl<R: Incoming> ExportService<R> {
    /// A service answering every export with `export`.
    pub fn new(
        export: impl Fn(Request<R>) -> Result<Response<R::Answer>, Status> + Send + Sync + 'static,
        max_request_bytes: usize,
    ) -> Self {
        Self { export: Arc::new(export), engine: None, max_request_bytes }
    }

    /// Guards the service with `engine`: a request is refused at its door while the queue is
    /// nearly full ([`Engine::admit`]), its body is charged to the bodies' share of the memory
    /// budget ([`Engine::bodies`]), and a body that cannot be decoded is counted.
    pub fn guarded_by(mut self, engine: Arc<Engine>) -> Self {
        self.engine = Some(engine);
        self
    }
}

impl<R: Incoming> NamedService for ExportService<R> {
    const NAME: &'static str = R::SERVICE;
}

/// The one method, as tonic's unary plumbing wants it.
struct Export<R: Incoming>(Arc<ExportFn<R>>);

impl<R: Incoming> UnaryService<R> for Export<R> {
    type Response = R::Answer;
    type Future = std::future::Ready<Result<Response<R::Answer>, Status>>;

    fn call(&mut self, request: Request<R>) -> Self::Future {
        std::future::ready((self.0)(request))
    }
}

impl<R: Incoming, B> Service<http::Request<B>> for ExportService<R>
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
        let method = req.uri().path().strip_prefix('/').and_then(|p| p.strip_suffix("/Export"));
        if method != Some(R::SERVICE) {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        if self.engine.as_ref().is_some_and(|e| e.admit().is_err()) {
            return Box::pin(async { Ok(throttled().into_http()) });
        }
        let max = self.max_request_bytes;
        let bodies = self.engine.as_ref().map(|e| Arc::clone(e.bodies()));
        let req = req.map(|body| Charged::new(body, bodies, max, throttled));
        let export = Export(Arc::clone(&self.export));
        let engine = self.engine.clone();
        Box::pin(async move {
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            let mut grpc = tonic::server::Grpc::new(ExportCodec::<R>(engine, PhantomData))
                .apply_compression_config(accept, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(export, req).await)
        })
    }
}

/// The services' codec: the request is taken as one `Bytes` and read by [`Incoming::decode`].
struct ExportCodec<R>(Option<Arc<Engine>>, PhantomData<fn() -> R>);

/// Encodes the answer.
struct AnswerEncoder<R>(PhantomData<fn() -> R>);

/// Decodes the request, counting it with the engine when it cannot.
struct RequestDecoder<R>(Option<Arc<Engine>>, PhantomData<fn() -> R>);

impl<R: Incoming> Codec for ExportCodec<R> {
    type Encode = R::Answer;
    type Decode = R;
    type Encoder = AnswerEncoder<R>;
    type Decoder = RequestDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        AnswerEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(self.0.clone(), PhantomData)
    }
}

impl<R: Incoming> Encoder for AnswerEncoder<R> {
    type Item = R::Answer;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(buf).map_err(|e| Status::internal(e.to_string()))
    }
}

impl<R: Incoming> Decoder for RequestDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        R::decode(buf.copy_to_bytes(buf.remaining())).map(Some).inspect_err(|_| {
            if let Some(engine) = &self.0 {
                engine.count_invalid_request();
            }
        })
    }
}

/// Serves the three services on a bound listener until `shutdown` resolves.
pub async fn serve(
    ingest: GrpcIngest,
    listener: tokio::net::TcpListener,
    max_request_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (for_traces, for_metrics) = (ingest.clone(), ingest.clone());
    let engine = Arc::clone(&ingest.engine);
    let traces =
        ExportService::new(move |req| for_traces.export_traces(req), max_request_bytes).guarded_by(Arc::clone(&engine));
    let metrics = ExportService::new(move |req| for_metrics.export_metrics(req), max_request_bytes)
        .guarded_by(Arc::clone(&engine));
    let logs = ExportService::new(move |req| ingest.export_logs(req), max_request_bytes).guarded_by(engine);
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

/// tonic reports an oversized message as OUT_OF_RANGE; the OTLP contract says
/// RESOURCE_EXHAUSTED (non-retryable). This layer rewrites that trailers-only answer.
/// (Undecodable bodies need no rewrite: the services' own codec answers INVALID_ARGUMENT.)
fn tower_layer_status_fix()
-> tower::util::MapResponseLayer<fn(http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body>> {
    tower::util::MapResponseLayer::new(fix_status as fn(_) -> _)
}

fn fix_status(mut res: http::Response<tonic::body::Body>) -> http::Response<tonic::body::Body> {
    let headers = res.headers_mut();
    let out_of_range = headers.get("grpc-status").is_some_and(|v| v.as_bytes() == b"11");
    let message = headers.get("grpc-message").and_then(|v| v.to_str().ok()).unwrap_or("");
    if out_of_range && (message.contains("too large") || message.contains("too%20large")) {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    res
}
