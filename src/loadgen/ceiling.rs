//! The decode-only ceiling: an OTLP/gRPC receiver inside the loadgen that decodes every request
//! (the same tonic service, codec and protobuf reader as `cockpit serve`: every field the
//! conversion reads is read and checked), counts its spans and drops them. Driving it with the
//! same load gives the rate the machine reaches when ingest does nothing but decode.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tokio::sync::oneshot;
use tonic::Response;

use crate::ingest::grpc::ExportService;
use crate::ingest::wire::TraceRequest;

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
        let spans = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&spans);
        let svc = ExportService::<TraceRequest>::new(
            move |request| {
                request.get_ref().check().map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
                counted.fetch_add(request.get_ref().span_count() as u64, Ordering::Relaxed);
                Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
            },
            64 << 20,
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = crate::ingest::grpc::incoming(listener);
        tokio::spawn(crate::ingest::grpc::server_builder().add_service(svc).serve_with_incoming_shutdown(
            incoming,
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Self { addr, spans, _stop: stop })
    }

    /// Spans decoded so far.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}
