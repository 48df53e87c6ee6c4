//! A deterministic hour of fleet history with every scripted incident in it, for fixtures,
//! screenshots and the TUI tests.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::profiles::FLEET;
use super::runs::{RunSpec, generate};

/// The dataset's end: 2026-11-20T10:00:00Z.
pub const END_NS: u64 = 1_795_168_800_000_000_000;

/// One export request per run (traces) plus one per run with feedback (logs).
pub struct Dataset {
    /// Trace requests.
    pub traces: Vec<ExportTraceServiceRequest>,
    /// Log requests.
    pub logs: Vec<ExportLogsServiceRequest>,
}

/// `minutes` of history ending at `end_ns`, one run per agent per minute; the incidents:
/// support-triage regresses at 4.2 for the last 40 minutes; an injection wave hits
/// research-assistant (one gets through, red-team); billing-ops loops for the last 15 minutes;
/// crm.lookup fails for the last 10 minutes.
pub fn build(seed: u64, minutes: u64, end_ns: u64) -> Dataset {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = end_ns - minutes * 60_000_000_000;
    let mut traces = Vec::new();
    let mut logs = Vec::new();
    for m in 0..minutes {
        let left = minutes - m;
        for p in FLEET {
            let at = start + m * 60_000_000_000 + (p.name.len() as u64 % 7) * 5_000_000_000;
            let mut spec = RunSpec::normal(p, at);
            match p.name {
                "support-triage" if left <= 40 => {
                    spec.version = "4.2".into();
                    spec.success_rate = 0.72;
                    spec.token_factor = 1.6;
                }
                "research-assistant" if (8..=20).contains(&left) => {
                    spec.injection = true;
                    spec.red_team = left % 4 == 0;
                    spec.injection_gets_through = left == 12;
                }
                "billing-ops" if left <= 15 => spec.loop_extra = 6,
                _ => {}
            }
            if p.name == "support-triage" && left <= 10 {
                spec.outage = Some("crm.lookup");
            }
            let run = generate(&spec, &mut rng);
            traces.push(ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(run.resource.clone()),
                    scope_spans: vec![ScopeSpans { spans: run.spans, ..Default::default() }],
                    ..Default::default()
                }],
            });
            if !run.logs.is_empty() {
                logs.push(ExportLogsServiceRequest {
                    resource_logs: vec![ResourceLogs {
                        resource: Some(run.resource),
                        scope_logs: vec![ScopeLogs { log_records: run.logs, ..Default::default() }],
                        ..Default::default()
                    }],
                });
            }
        }
    }
    Dataset { traces, logs }
}

impl Dataset {
    /// As OTLP/JSON lines (the Collector file exporter's format).
    pub fn jsonl(&self) -> String {
        let mut out = String::new();
        for t in &self.traces {
            out.push_str(&serde_json::to_string(t).unwrap_or_default());
            out.push('\n');
        }
        for l in &self.logs {
            out.push_str(&serde_json::to_string(l).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}
