//! `cockpit loadgen`: realistic agent traffic at a target rate or flat out, over OTLP gRPC or
//! HTTP (protobuf or JSON, optionally gzip). Requests are generated and encoded before the clock
//! starts; a send copies a body and stamps fresh trace ids into it, so the engine sees new data
//! every time. With `--ceiling` it first measures the decode-only ceiling in the same run.

pub mod ceiling;
pub mod traffic;
pub mod wire;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use parking_lot::Mutex;
use prost::Message;
use serde::Serialize;
use tonic::transport::Channel;

use crate::analytics::sketch::Sketch;
pub use traffic::{Batch, Shape, shift_trace_times, stamp_trace_ids, trace_ids, trace_times};
use wire::{PreEncoded, RawCodec};

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
    /// Agents, tools and models the traffic names.
    pub shape: Shape,
    /// Measure the decode-only ceiling for this long first (gRPC only).
    pub ceiling: Option<Duration>,
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
    /// Export requests throttled: what the engine counts in `requests_throttled` (it counts
    /// spans only of the requests it read before refusing, so its `spans_throttled` is lower).
    pub throttled_requests: u64,
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
    /// Log records (evaluation events) acknowledged.
    pub logs_accepted: u64,
    /// Metric points (token histograms) acknowledged.
    pub points_accepted: u64,
    /// Spans per second the in-process decode-only receiver took under the same load.
    pub ceiling_spans_per_sec: Option<f64>,
    /// `accepted_spans_per_sec` / `ceiling_spans_per_sec`.
    pub ceiling_ratio: Option<f64>,
}

#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    throttled: AtomicU64,
    throttled_requests: AtomicU64,
    errors: AtomicU64,
    logs: AtomicU64,
    points: AtomicU64,
}

/// A batch ready to send: encoded once, stamped per send.
struct Prepared {
    batch: Batch,
    traces: PreEncoded,
    logs: PreEncoded,
    metrics: PreEncoded,
    log_records: u64,
    points: u64,
}

fn prepare(batch: Batch) -> Prepared {
    let (ids, times) = (batch.trace_ids(), batch.times());
    Prepared {
        traces: PreEncoded::new(&batch.traces, &ids, &times),
        logs: PreEncoded::new(&batch.logs, &ids, &times),
        metrics: PreEncoded::new(&batch.metrics, &[], &times),
        log_records: batch.log_records(),
        points: batch.points(),
        batch,
    }
}

/// The loadgen's traffic as plain requests with their span counts, for benchmarks.
pub fn bench_requests(distinct: usize, runs_per_request: usize) -> Vec<(u64, ExportTraceServiceRequest)> {
    traffic::batches(distinct, runs_per_request, &Shape::default()).into_iter().map(|b| (b.spans, b.traces)).collect()
}

/// What a signal is sent as.
#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    fn grpc_path(self) -> &'static str {
        match self {
            Self::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Self::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            Self::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Logs => "/v1/logs",
            Self::Metrics => "/v1/metrics",
        }
    }
}

/// How an export went: rejected items, throttled, or failed.
enum Sent {
    Ok(u64),
    Throttled,
    Failed,
}

/// One connection to the receiver.
struct Conn {
    o: Options,
    grpc: Option<tonic::client::Grpc<Channel>>,
    http: reqwest::Client,
}

impl Conn {
    async fn open(o: &Options) -> Result<Self, String> {
        let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().map_err(|e| e.to_string())?;
        let grpc = if o.protocol == Protocol::Grpc {
            let channel = Channel::from_shared(o.endpoint.clone())
                .map_err(|e| format!("--endpoint {}: {e}", o.endpoint))?
                .tcp_nodelay(true)
                .initial_connection_window_size(8 << 20)
                .initial_stream_window_size(4 << 20)
                .connect()
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", o.endpoint))?;
            let g = tonic::client::Grpc::new(channel);
            Some(if o.gzip { g.send_compressed(tonic::codec::CompressionEncoding::Gzip) } else { g })
        } else {
            None
        };
        Ok(Self { o: o.clone(), grpc, http })
    }

    async fn grpc_export<R: Message + Default + Send + Sync + 'static>(
        grpc: &mut tonic::client::Grpc<Channel>,
        path: &'static str,
        body: Bytes,
    ) -> Result<R, tonic::Status> {
        grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let path = http::uri::PathAndQuery::from_static(path);
        grpc.unary(tonic::Request::new(body), path, RawCodec::<R>::default()).await.map(tonic::Response::into_inner)
    }

    /// Sends one export; `body` is protobuf, `json` builds the JSON body when that is the format.
    async fn send(&mut self, signal: Signal, body: Bytes, json: impl FnOnce() -> Vec<u8>) -> Sent {
        if let Some(grpc) = self.grpc.as_mut() {
            let path = signal.grpc_path();
            let rejected = match signal {
                Signal::Traces => Self::grpc_export::<ExportTraceServiceResponse>(grpc, path, body)
                    .await
                    .map(|r| r.partial_success.map_or(0, |p| p.rejected_spans)),
                Signal::Logs => Self::grpc_export::<ExportLogsServiceResponse>(grpc, path, body)
                    .await
                    .map(|r| r.partial_success.map_or(0, |p| p.rejected_log_records)),
                Signal::Metrics => Self::grpc_export::<ExportMetricsServiceResponse>(grpc, path, body)
                    .await
                    .map(|r| r.partial_success.map_or(0, |p| p.rejected_data_points)),
            };
            return match rejected {
                Ok(n) => Sent::Ok(n.max(0) as u64),
                Err(s) if matches!(s.code(), tonic::Code::Unavailable | tonic::Code::ResourceExhausted) => {
                    Sent::Throttled
                }
                Err(_) => Sent::Failed,
            };
        }
        let (raw, ctype) = match self.o.protocol {
            Protocol::HttpJson => (json(), "application/json"),
            _ => (body.to_vec(), "application/x-protobuf"),
        };
        let body = if self.o.gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = enc.write_all(&raw);
            enc.finish().unwrap_or(raw)
        } else {
            raw
        };
        let mut req = self
            .http
            .post(format!("{}{}", self.o.endpoint, signal.http_path()))
            .header("content-type", ctype)
            .body(body);
        if self.o.gzip {
            req = req.header("content-encoding", "gzip");
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => Sent::Ok(0),
            Ok(r) if matches!(r.status().as_u16(), 429 | 503) => Sent::Throttled,
            _ => Sent::Failed,
        }
    }
}

/// Every how many span exports a connection also sends its batch's logs and token histograms.
const SIDE_SIGNALS_EVERY: u64 = 8;

/// Runs the load (after measuring the decode-only ceiling, when asked); answers the report.
pub async fn run(o: Options) -> Result<Report, String> {
    let batches = traffic::batches(o.distinct, o.runs_per_request, &o.shape);
    let prepared: Arc<Vec<Prepared>> = Arc::new(batches.into_iter().map(prepare).collect());
    let ceiling = match o.ceiling {
        None => None,
        Some(_) if o.protocol != Protocol::Grpc => return Err("--ceiling measures over gRPC only".into()),
        Some(d) => {
            let receiver = ceiling::Ceiling::start().await?;
            let probe = Options {
                endpoint: format!("http://{}", receiver.addr),
                duration: d,
                ceiling: None,
                rate: None,
                ..o.clone()
            };
            let before = receiver.spans();
            let r = drive(&probe, &prepared, false).await?;
            Some((receiver.spans() - before) as f64 / r.seconds.max(1e-9))
        }
    };
    let mut report = drive(&o, &prepared, true).await?;
    report.ceiling_spans_per_sec = ceiling;
    report.ceiling_ratio = ceiling.filter(|c| *c > 0.0).map(|c| report.accepted_spans_per_sec / c);
    Ok(report)
}

/// Connections a run may open: each numbers its sends in its own range of trace ids.
pub const MAX_CONNECTIONS: usize = 1 << CONNECTION_BITS;

/// Bits of a send's serial that say its connection (above the 32 bits of its count).
const CONNECTION_BITS: u32 = 12;

/// Where connection `c`'s serials start: the run's prefix, the connection, then 32 bits of count.
fn serial_base(run_prefix: u32, c: usize) -> u64 {
    let prefix = u64::from(run_prefix) & ((1 << (32 - CONNECTION_BITS)) - 1);
    let c = (c % MAX_CONNECTIONS) as u64;
    (prefix << (32 + CONNECTION_BITS)) | (c << 32)
}

/// Sends for `o.duration` over `o.connections` connections.
async fn drive(o: &Options, prepared: &Arc<Vec<Prepared>>, side_signals: bool) -> Result<Report, String> {
    let totals = Arc::new(Totals::default());
    let latency = Arc::new(Mutex::new(Sketch::default()));
    let started = Instant::now();
    let deadline = started + o.duration;
    let connections = o.connections.clamp(1, MAX_CONNECTIONS);
    let per_conn_rate = o.rate.map(|r| r / connections as f64);
    let run_prefix = rand::random::<u32>();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (prepared, totals, latency) = (Arc::clone(prepared), Arc::clone(&totals), Arc::clone(&latency));
        let mut conn = Conn::open(o).await?;
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            let mut sent_here = 0u64;
            // Every send carries fresh trace ids (else the engine would rightly deduplicate), also
            // across runs against the same engine: a random run prefix, the connection, a count.
            let mut serial = serial_base(run_prefix, c);
            let conn_start = Instant::now();
            while Instant::now() < deadline {
                let p = &prepared[i % prepared.len()];
                i += 1;
                serial += 1;
                if let Some(rate) = per_conn_rate {
                    // Pace: don't get ahead of the target.
                    let due = Duration::from_secs_f64(sent_here as f64 / rate);
                    let elapsed = conn_start.elapsed();
                    if due > elapsed {
                        tokio::time::sleep(due - elapsed).await;
                    }
                }
                let spans = p.batch.spans;
                totals.sent.fetch_add(spans, Ordering::Relaxed);
                sent_here += spans;
                let t0 = Instant::now();
                // Sent as a live fleet would: its runs ended just now.
                let shift = traffic::wall_ns().saturating_sub(p.batch.made_ns);
                let json = || {
                    let mut proto = p.batch.traces.clone();
                    stamp_trace_ids(&mut proto, serial);
                    shift_trace_times(&mut proto, shift);
                    serde_json::to_vec(&proto).unwrap_or_default()
                };
                let outcome = conn.send(Signal::Traces, p.traces.stamped(serial, shift), json).await;
                latency.lock().add(t0.elapsed().as_secs_f64() * 1000.0);
                match outcome {
                    Sent::Ok(rejected) => {
                        totals.accepted.fetch_add(spans - rejected.min(spans), Ordering::Relaxed);
                        totals.rejected.fetch_add(rejected, Ordering::Relaxed);
                    }
                    Sent::Throttled => {
                        totals.throttled.fetch_add(spans, Ordering::Relaxed);
                        totals.throttled_requests.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    Sent::Failed => {
                        totals.errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
                if !side_signals || serial % SIDE_SIGNALS_EVERY != 0 {
                    continue;
                }
                if p.log_records > 0 {
                    let json = || {
                        let mut proto = p.batch.logs.clone();
                        traffic::stamp_log_trace_ids(&mut proto, serial);
                        traffic::shift_log_times(&mut proto, shift);
                        serde_json::to_vec(&proto).unwrap_or_default()
                    };
                    if let Sent::Ok(rejected) = conn.send(Signal::Logs, p.logs.stamped(serial, shift), json).await {
                        totals.logs.fetch_add(p.log_records - rejected.min(p.log_records), Ordering::Relaxed);
                    }
                }
                if p.points > 0 {
                    let json = || {
                        let mut proto = p.batch.metrics.clone();
                        traffic::shift_point_times(&mut proto, shift);
                        serde_json::to_vec(&proto).unwrap_or_default()
                    };
                    if let Sent::Ok(rejected) = conn.send(Signal::Metrics, p.metrics.stamped(serial, shift), json).await
                    {
                        totals.points.fetch_add(p.points - rejected.min(p.points), Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let l = latency.lock();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(Report {
        sent: load(&totals.sent),
        accepted: load(&totals.accepted),
        rejected: load(&totals.rejected),
        throttled: load(&totals.throttled),
        throttled_requests: load(&totals.throttled_requests),
        errors: load(&totals.errors),
        accepted_spans_per_sec: load(&totals.accepted) as f64 / seconds.max(1e-9),
        p50_ms: l.quantile(0.5),
        p99_ms: l.quantile(0.99),
        seconds,
        logs_accepted: load(&totals.logs),
        points_accepted: load(&totals.points),
        ceiling_spans_per_sec: None,
        ceiling_ratio: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_numbers_its_sends_in_its_own_range() {
        // Two prefixes differing only in bits a connection number could reach (the old layout
        // put connection 256 on top of the prefix's lowest bit).
        let mut bases: Vec<u64> = [0x0000_0001, 0x0000_0000]
            .iter()
            .flat_map(|&p| (0..MAX_CONNECTIONS).map(move |c| serial_base(p, c)))
            .collect();
        bases.sort_unstable();
        let before = bases.len();
        bases.dedup();
        assert_eq!(bases.len(), before, "two connections share a range of serials");
        // Ranges are 2^32 sends apart, so no connection's count reaches the next one's start.
        assert!(bases.windows(2).all(|w| w[1] - w[0] >= 1 << 32));
    }
}
