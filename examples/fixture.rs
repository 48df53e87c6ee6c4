//! Writes the deterministic demo dataset as OTLP/JSON lines: `cargo run --example fixture -- OUT.jsonl [MINUTES]`.

use agentops_cockpit::demo::dataset;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(out) = args.get(1) else {
        eprintln!("usage: fixture OUT.jsonl [MINUTES]");
        return std::process::ExitCode::from(2);
    };
    let minutes = args.get(2).and_then(|m| m.parse().ok()).unwrap_or(90);
    let data = dataset::build(7, minutes, dataset::END_NS);
    if let Err(e) = std::fs::write(out, data.jsonl()) {
        eprintln!("cannot write {out}: {e}");
        return std::process::ExitCode::FAILURE;
    }
    println!("wrote {} trace and {} log requests to {out}", data.traces.len(), data.logs.len());
    std::process::ExitCode::SUCCESS
}
