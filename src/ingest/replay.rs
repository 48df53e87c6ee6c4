//! File replay: OTLP/JSON in the Collector file-exporter format, one export request per line.

use std::io::BufRead;
use std::path::Path;

use serde_json::{Map, Value};

use super::convert::Limits;
use super::{convert, json};
use crate::engine::Engine;

/// What a replay loaded and what it could not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Lines read (blank lines excluded).
    pub lines: u64,
    /// Lines that could not be used at all.
    pub bad_lines: u64,
    /// Items rejected inside otherwise good lines.
    pub rejected_items: u64,
    /// One message per problem, `file:line: what`.
    pub problems: Vec<String>,
}

/// Loads one decoded line; answers the items rejected within it and why.
async fn load(engine: &Engine, obj: Map<String, Value>, limits: Limits) -> Result<(u64, String), String> {
    match json::signal_of(&obj) {
        Some(json::Signal::Traces) => {
            let d = json::traces(obj)?;
            let c = convert::traces(&d.request, limits).with_decoder_rejections(d.rejected, d.errors);
            let outcome = (c.rejected, c.message());
            engine.submit_spans_wait(c).await;
            Ok(outcome)
        }
        Some(json::Signal::Metrics) => {
            let d = json::metrics(obj)?;
            let c = convert::metrics(&d.request, limits).with_decoder_rejections(d.rejected, d.errors);
            let outcome = (c.rejected, c.message());
            engine.submit_points_wait(c).await;
            Ok(outcome)
        }
        Some(json::Signal::Logs) => {
            let d = json::logs(obj)?;
            let c = convert::logs(&d.request, limits).with_decoder_rejections(d.rejected, d.errors);
            let outcome = (c.rejected, c.message());
            engine.submit_logs_wait(c).await;
            Ok(outcome)
        }
        None => Err("not an OTLP export request (no resourceSpans, resourceMetrics or resourceLogs)".into()),
    }
}

/// Replays one file into the engine; problems are collected, never fatal.
pub async fn replay_file(engine: &Engine, path: &Path, report: &mut ReplayReport) {
    let name = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.bad_lines += 1;
            report.problems.push(format!("{name}: cannot open: {e}"));
            return;
        }
    };
    let limits = engine.config().limits;
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => number += 1,
            Err(e) => {
                report.bad_lines += 1;
                report.problems.push(format!("{name}:{}: read error: {e}", number + 1));
                break;
            }
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.lines += 1;
        let loaded = match json::parse_object(&line) {
            Ok(obj) => load(engine, obj, limits).await,
            Err(e) => Err(e),
        };
        match loaded {
            Ok((0, _)) => {}
            Ok((rejected, message)) => {
                report.rejected_items += rejected;
                report.problems.push(format!("{name}:{number}: {message}"));
            }
            Err(e) => {
                report.bad_lines += 1;
                report.problems.push(format!("{name}:{number}: {e}"));
            }
        }
    }
}
