//! Drives decode → normalize → store → settle → rollups over the loadgen's requests (N of
//! them, default 1,000) on one thread, for an instruction count that does not vary from run to
//! run as timings do on the shared machine: run it under callgrind (BENCHMARKS.md, "The stages").
//!
//! The store is small (48 MB) so eviction runs too; traces settle after 8 requests' quiet.

use agentops_cockpit::analytics::prices::PriceTable;
use agentops_cockpit::analytics::rollup::Rollups;
use agentops_cockpit::ingest::convert::{self, Limits};
use agentops_cockpit::ingest::wire::TraceRequest;
use agentops_cockpit::loadgen::wire::PreEncoded;
use agentops_cockpit::loadgen::{bench_requests, trace_ids, trace_times};
use agentops_cockpit::store::Store;
use agentops_cockpit::store::settle::SettlePolicy;

#[global_allocator]
static ALLOC: agentops_cockpit::allocator::Mimalloc = agentops_cockpit::allocator::Mimalloc;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    // Requests of 64 runs, as the loadgen sends them; the clock is the request number in ms, and
    // each request's times move on with it, as the loadgen's do with the wall clock.
    let reqs = bench_requests(8, 64);
    let pre: Vec<PreEncoded> = reqs.iter().map(|(_, r)| PreEncoded::new(r, &trace_ids(r), &trace_times(r))).collect();
    let mut store = Store::new(48 << 20);
    let mut rollups = Rollups::new(PriceTable::builtin());
    let mut spans = 0usize;
    let t0 = 1_800_000_000_000u64;
    for serial in 1..=n {
        let body = pre[serial as usize % pre.len()].stamped(serial, serial * 1_000_000);
        let req = TraceRequest::parse(body).unwrap_or_default();
        let converted = convert::wire_traces(&req, Limits::default()).unwrap_or_default();
        spans += converted.items.len();
        let now = t0 + serial;
        store.insert_spans(converted.items, now);
        if serial % 16 == 0 {
            store.settle(now, SettlePolicy { with_run_ms: 8, without_run_ms: 64 }, false);
            rollups.record(store.take_settled());
        }
    }
    println!("{spans} spans, {} hot", store.hot_spans());
}
