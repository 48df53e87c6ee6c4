//! Prints how many bytes the loadgen's spans take on the wire, and how many of them are
//! attributes and events: what a store that kept a request's bytes would hold per span
//! (BENCHMARKS.md, item 39), and what compressing each request at deflate's fastest level
//! would leave of it and cost per span on one thread. Given a directory, it also writes each
//! request there as `reqN.pb`, for trying other compressors on the same bytes.

use std::io::Write;
use std::time::Instant;

use agentops_cockpit::loadgen::bench_requests;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use prost::Message;

fn main() {
    let reqs = bench_requests(8, 64);
    let (mut request_bytes, mut spans, mut attr_bytes) = (0usize, 0usize, 0usize);
    for (_, req) in &reqs {
        request_bytes += req.encoded_len();
        for span in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            spans += 1;
            // Each repeated field adds its tag and length (one byte each at these sizes).
            attr_bytes += span.attributes.iter().map(|a| a.encoded_len() + 2).sum::<usize>();
            attr_bytes += span.events.iter().map(|e| e.encoded_len() + 2).sum::<usize>();
        }
    }
    let encoded: Vec<Vec<u8>> = reqs.iter().map(|(_, r)| r.encode_to_vec()).collect();
    const ROUNDS: usize = 20;
    let started = Instant::now();
    let mut compressed = 0usize;
    for _ in 0..ROUNDS {
        for body in &encoded {
            let mut z = DeflateEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
            match z.write_all(body).and_then(|()| z.finish()) {
                Ok(out) => compressed += out.len(),
                Err(e) => fail(&format!("cannot compress: {e}")),
            }
        }
    }
    let ns_per_span = started.elapsed().as_nanos() as f64 / (spans * ROUNDS).max(1) as f64;
    if let Some(dir) = std::env::args().nth(1) {
        for (i, body) in encoded.iter().enumerate() {
            let path = std::path::Path::new(&dir).join(format!("req{i}.pb"));
            if let Err(e) = std::fs::write(&path, body) {
                fail(&format!("cannot write {}: {e}", path.display()));
            }
        }
    }
    let per = |b: usize| b as f64 / spans.max(1) as f64;
    println!(
        "{spans} spans in {} requests: {request_bytes} bytes, {:.0} B per span on the wire, {:.0} B per span of attributes and events",
        reqs.len(),
        per(request_bytes),
        per(attr_bytes)
    );
    println!(
        "deflate (fastest) of each request: {:.0} B per span, {:.2} µs per span",
        per(compressed / ROUNDS),
        ns_per_span / 1000.0
    );
}

fn fail(why: &str) -> ! {
    eprintln!("{why}");
    std::process::exit(1)
}
