//! The ingest path stage by stage, and summary reads over a million ingested spans (DESIGN §10).
//! Run: `cargo bench --bench ingest`. Throughput is reported in spans.

use std::time::Duration;

use agentops_cockpit::analytics::figures::ApprovalCounts;
use agentops_cockpit::analytics::prices::PriceTable;
use agentops_cockpit::analytics::rollup::Rollups;
use agentops_cockpit::engine::{Engine, EngineConfig};
use agentops_cockpit::ingest::convert::{self, Limits};
use agentops_cockpit::ingest::wire::TraceRequest;
use agentops_cockpit::loadgen::wire::PreEncoded;
use agentops_cockpit::loadgen::{bench_requests, trace_ids, trace_times};
use agentops_cockpit::store::Store;
use agentops_cockpit::store::settle::SettlePolicy;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

/// Requests as the loadgen sends them (20 runs each), pre-encoded with their trace ids' places.
fn encoded() -> (u64, Vec<PreEncoded>) {
    let reqs = bench_requests(8, 20);
    let spans = reqs.iter().map(|(n, _)| n).sum::<u64>() / reqs.len() as u64;
    let pre = reqs.iter().map(|(_, r)| PreEncoded::new(r, &trace_ids(r), &trace_times(r))).collect();
    (spans, pre)
}

/// Decodes as the receivers do: the request's structure checked in place, its spans counted.
fn decode(body: Bytes) -> TraceRequest {
    TraceRequest::parse(body).unwrap_or_default()
}

fn stages(c: &mut Criterion) {
    let (spans, pre) = encoded();
    let bodies: Vec<Bytes> = pre.iter().map(|p| p.stamped(0, 0)).collect();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(spans));
    let mut i = 0usize;
    g.bench_function("decode", |b| {
        b.iter(|| {
            i += 1;
            let req = decode(bodies[i % bodies.len()].clone());
            req.check().map(|()| req)
        })
    });
    g.bench_function("decode+normalize", |b| {
        b.iter(|| {
            i += 1;
            convert::wire_traces(&decode(bodies[i % bodies.len()].clone()), Limits::default()).unwrap_or_default()
        })
    });
    let mut store = Store::new(256 << 20);
    let mut rollups = Rollups::new(PriceTable::builtin());
    let mut serial = 0u64;
    let made_ms = agentops_cockpit::engine::worker::now_ms();
    // Fresh trace ids every request, so the store keeps inserting rather than deduplicating, and
    // times moved on with the clock, as the loadgen's are.
    g.bench_function("decode+normalize+store+rollups", |b| {
        b.iter(|| {
            serial += 1;
            let now = agentops_cockpit::engine::worker::now_ms();
            let shift = now.saturating_sub(made_ms) * 1_000_000;
            let req = decode(pre[serial as usize % pre.len()].stamped(serial, shift));
            let converted = convert::wire_traces(&req, Limits::default()).unwrap_or_default();
            store.insert_spans(converted.items, now);
            store.settle(now, SettlePolicy::default(), true);
            rollups.record(store.take_settled());
        })
    });
    g.finish();
}

fn summaries(c: &mut Criterion) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime: {e}"),
    };
    let engine = match Engine::start(EngineConfig { memory_budget: 1 << 30, ..Default::default() }) {
        Ok(e) => e,
        Err(e) => panic!("engine: {e}"),
    };
    common::fill(&rt, &engine, 1_000_000);
    let mut g = c.benchmark_group("summary_1m_spans");
    for (name, secs) in [("5m", 300), ("1h", 3_600), ("24h", 86_400), ("7d", 604_800)] {
        g.bench_function(name, |b| b.iter(|| engine.summary(secs, None, ApprovalCounts::default())));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = stages, summaries
}
criterion_main!(benches);
