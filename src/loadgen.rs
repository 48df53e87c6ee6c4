//! `cockpit loadgen`: realistic agent traffic at a target rate or flat out, over OTLP gRPC or
//! HTTP (protobuf or JSON, optionally gzip). Runs are generated before the clock starts; each send
//! only stamps fresh trace ids (and, for HTTP, encodes), so the engine sees new data every time.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use parking_lot::Mutex;
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::analytics::sketch::Sketch;
use crate::demo::profiles::FLEET;
use crate::demo::runs::{RunSpec, generate};

/// Wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProto,
    /// OTLP/HTTP with JSON bodies.
    HttpJson,
}

/// Loadgen settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// `http://host:port` of the receiver for the protocol.
    pub endpoint: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Compress bodies.
    pub gzip: bool,
    /// How long.
    pub duration: Duration,
    /// Target spans per second (None: flat out).
    pub rate: Option<f64>,
    /// Concurrent connections.
    pub connections: usize,
    /// Runs per export request.
    pub runs_per_request: usize,
    /// Distinct pre-encoded requests to cycle through.
    pub distinct: usize,
}

/// What happened.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Spans sent.
    pub sent: u64,
    /// Spans acknowledged.
    pub accepted: u64,
    /// Spans the receiver rejected (partial success).
    pub rejected: u64,
    /// Spans throttled (429/503, UNAVAILABLE).
    pub throttled: u64,
    /// Requests that failed otherwise.
    pub errors: u64,
    /// Accepted spans per second.
    pub accepted_spans_per_sec: f64,
    /// Export call latency, ms.
    pub p50_ms: Option<f64>,
    /// Export call latency, ms.
    pub p99_ms: Option<f64>,
    /// Seconds measured.
    pub seconds: f64,
}

struct Payload {
    spans: u64,
    proto: ExportTraceServiceRequest,
}

/// The HTTP body of a request in the chosen format.
fn encode(o: &Options, proto: &ExportTraceServiceRequest) -> Vec<u8> {
    let raw = match o.protocol {
        Protocol::HttpJson => serde_json::to_vec(proto).unwrap_or_default(),
        _ => proto.encode_to_vec(),
    };
    if o.gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = enc.write_all(&raw);
        enc.finish().unwrap_or(raw)
    } else {
        raw
    }
}

fn payloads(o: &Options) -> Vec<Payload> {
    sample_requests(o.distinct, o.runs_per_request)
}

/// `distinct` export requests of `runs_per_request` demo-fleet runs each (seeded, so benchmarks repeat).
fn sample_requests(distinct: usize, runs_per_request: usize) -> Vec<Payload> {
    let mut rng = StdRng::seed_from_u64(42);
    let now = crate::control::now_ms().max(0) as u64 * 1_000_000;
    (0..distinct.max(1))
        .map(|i| {
            let mut resource_spans = Vec::new();
            let mut spans = 0u64;
            for r in 0..runs_per_request.max(1) {
                let p = &FLEET[(i + r) % FLEET.len()];
                let g = generate(&RunSpec::normal(p, now - 5_000_000_000), &mut rng);
                spans += g.spans.len() as u64;
                resource_spans.push(ResourceSpans {
                    resource: Some(g.resource),
                    scope_spans: vec![ScopeSpans { spans: g.spans, ..Default::default() }],
                    ..Default::default()
                });
            }
            Payload { spans, proto: ExportTraceServiceRequest { resource_spans } }
        })
        .collect()
}

/// The loadgen's traffic as plain requests with their span counts, for benchmarks.
pub fn bench_requests(distinct: usize, runs_per_request: usize) -> Vec<(u64, ExportTraceServiceRequest)> {
    sample_requests(distinct, runs_per_request).into_iter().map(|p| (p.spans, p.proto)).collect()
}

/// Gives the request's traces ids of their own from `serial`, so a resent request is new data.
pub fn stamp_trace_ids(req: &mut ExportTraceServiceRequest, serial: u64) {
    for s in req.resource_spans.iter_mut().flat_map(|r| &mut r.scope_spans).flat_map(|s| &mut s.spans) {
        if s.trace_id.len() == 16 {
            s.trace_id[..8].copy_from_slice(&serial.to_be_bytes());
        }
    }
}

#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    throttled: AtomicU64,
    errors: AtomicU64,
}

/// Runs the load; answers the report.
pub async fn run(o: Options) -> Result<Report, String> {
    let payloads = Arc::new(payloads(&o));
    let totals = Arc::new(Totals::default());
    let latency = Arc::new(Mutex::new(Sketch::default()));
    let started = Instant::now();
    let deadline = started + o.duration;
    let per_conn_rate = o.rate.map(|r| r / o.connections.max(1) as f64);
    let mut tasks = Vec::new();
    for c in 0..o.connections.max(1) {
        let (o, payloads, totals, latency) =
            (o.clone(), Arc::clone(&payloads), Arc::clone(&totals), Arc::clone(&latency));
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().map_err(|e| e.to_string())?;
            let mut grpc = if o.protocol == Protocol::Grpc {
                let client = TraceServiceClient::connect(o.endpoint.clone())
                    .await
                    .map_err(|e| format!("cannot connect to {}: {e}", o.endpoint))?;
                Some(if o.gzip { client.send_compressed(tonic::codec::CompressionEncoding::Gzip) } else { client })
            } else {
                None
            };
            let ctype = if o.protocol == Protocol::HttpJson { "application/json" } else { "application/x-protobuf" };
            let mut i = c;
            let mut sent_here = 0u64;
            // Every send carries fresh trace ids (else the engine would rightly deduplicate).
            let mut serial = (c as u64) << 40;
            let fresh = |proto: &ExportTraceServiceRequest, serial: u64| {
                let mut p = proto.clone();
                stamp_trace_ids(&mut p, serial);
                p
            };
            let conn_start = Instant::now();
            while Instant::now() < deadline {
                let p = &payloads[i % payloads.len()];
                i += 1;
                serial += 1;
                let proto = fresh(&p.proto, serial);
                if let Some(rate) = per_conn_rate {
                    // Pace: don't get ahead of the target.
                    let due = Duration::from_secs_f64(sent_here as f64 / rate);
                    let elapsed = conn_start.elapsed();
                    if due > elapsed {
                        tokio::time::sleep(due - elapsed).await;
                    }
                }
                totals.sent.fetch_add(p.spans, Ordering::Relaxed);
                sent_here += p.spans;
                let t0 = Instant::now();
                let outcome: Result<u64, bool> = match grpc.as_mut() {
                    Some(client) => match client.export(proto).await {
                        Ok(r) => Ok(r.into_inner().partial_success.map_or(0, |ps| ps.rejected_spans.max(0) as u64)),
                        Err(s)
                            if s.code() == tonic::Code::Unavailable || s.code() == tonic::Code::ResourceExhausted =>
                        {
                            Err(true)
                        }
                        Err(_) => Err(false),
                    },
                    None => {
                        let body = encode(&o, &proto);
                        let mut req =
                            http.post(format!("{}/v1/traces", o.endpoint)).header("content-type", ctype).body(body);
                        if o.gzip {
                            req = req.header("content-encoding", "gzip");
                        }
                        match req.send().await {
                            Ok(r) if r.status().is_success() => Ok(0),
                            Ok(r) if r.status().as_u16() == 429 || r.status().as_u16() == 503 => Err(true),
                            _ => Err(false),
                        }
                    }
                };
                latency.lock().add(t0.elapsed().as_secs_f64() * 1000.0);
                match outcome {
                    Ok(rejected) => {
                        totals.accepted.fetch_add(p.spans - rejected.min(p.spans), Ordering::Relaxed);
                        totals.rejected.fetch_add(rejected, Ordering::Relaxed);
                    }
                    Err(true) => {
                        totals.throttled.fetch_add(p.spans, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(false) => {
                        totals.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let l = latency.lock();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(Report {
        sent: load(&totals.sent),
        accepted: load(&totals.accepted),
        rejected: load(&totals.rejected),
        throttled: load(&totals.throttled),
        errors: load(&totals.errors),
        accepted_spans_per_sec: load(&totals.accepted) as f64 / seconds.max(1e-9),
        p50_ms: l.quantile(0.5),
        p99_ms: l.quantile(0.99),
        seconds,
    })
}
