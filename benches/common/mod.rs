//! What the benchmarks share: the binary's allocator and an engine filled with loadgen traffic.

use agentops_cockpit::engine::Engine;
use agentops_cockpit::ingest::convert::{self, Limits};
use agentops_cockpit::loadgen::{bench_requests, shift_trace_times, stamp_trace_ids};

/// The same allocator as the `cockpit` binary, so the figures are the binary's.
#[global_allocator]
static ALLOC: agentops_cockpit::allocator::Mimalloc = agentops_cockpit::allocator::Mimalloc;

/// Ingests at least `spans` of the loadgen's spans (fresh trace ids per request, its times moved on
/// a millisecond per request as the loadgen's move on with the clock) and settles them.
pub fn fill(rt: &tokio::runtime::Runtime, engine: &Engine, spans: u64) {
    let requests = bench_requests(8, 20);
    let (mut ingested, mut serial) = (0u64, 0u64);
    while ingested < spans {
        serial += 1;
        let mut req = requests[serial as usize % requests.len()].1.clone();
        stamp_trace_ids(&mut req, serial);
        shift_trace_times(&mut req, serial * 1_000_000);
        let converted = convert::traces(&req, Limits::default());
        ingested += converted.items.len() as u64;
        rt.block_on(engine.submit_spans_wait(converted));
    }
    rt.block_on(engine.settle_all());
}
