//! The decode-only ceiling: an OTLP/gRPC receiver inside the loadgen that decodes every request
//! (the same tonic + prost path as `cockpit serve`), counts its spans and drops them. Driving it
//! with the same load gives the rate the machine reaches when ingest does nothing but decode.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// Counts decoded spans.
#[derive(Debug, Default, Clone)]
struct DecodeOnly {
    spans: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for DecodeOnly {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let n: usize =
            request.get_ref().resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        self.spans.fetch_add(n as u64, Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// A running decode-only receiver; stops when dropped.
#[derive(Debug)]
pub struct Ceiling {
    /// Where it listens.
    pub addr: SocketAddr,
    spans: Arc<AtomicU64>,
    _stop: oneshot::Sender<()>,
}

impl Ceiling {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let svc = DecodeOnly::default();
        let spans = Arc::clone(&svc.spans);
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = crate::ingest::grpc::incoming(listener);
        tokio::spawn(
            crate::ingest::grpc::server_builder()
                .add_service(TraceServiceServer::new(svc).max_decoding_message_size(64 << 20))
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                }),
        );
        Ok(Self { addr, spans, _stop: stop })
    }

    /// Spans decoded so far.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}
