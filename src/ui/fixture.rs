//! A deterministic snapshot of the demo dataset (time frozen), for view tests and screenshots.

use std::sync::Arc;

use serde_json::json;

use super::data::{Backend, Snapshot};
use super::local::Local;
use crate::config::Config;
use crate::control::model::NewApproval;
use crate::demo::dataset;
use crate::serve::Cockpit;
use crate::store::query::TraceView;

/// The dataset loaded into a throwaway engine, with two approvals and an incident, as a
/// snapshot of `window` seconds whose clocks are all frozen at the dataset's end.
pub async fn snapshot(minutes: u64, window: u64) -> Result<(Snapshot, Option<TraceView>), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = Config { data_dir: Some(dir.path().to_path_buf()), ..Config::default() };
    let mut ecfg = cfg.engine()?;
    ecfg.data_clock = true;
    let cockpit = Cockpit::start(&cfg, ecfg)?;
    let data = dataset::build(7, minutes, dataset::END_NS);
    let file = dir.path().join("fleet.jsonl");
    std::fs::write(&file, data.jsonl()).map_err(|e| e.to_string())?;
    crate::report::load_files(&cockpit.engine, &[file]).await;
    let control = Arc::clone(&cockpit.control);
    for (agent, tool, summary, risk) in [
        ("billing-ops", "billing.issue_credit", "Credit $1,840 to ACME-2231 (disputed invoice)", "high"),
        ("research-assistant", "email.send", "Send the market brief to cfo@example.com", "medium"),
    ] {
        control
            .create_approval(NewApproval {
                agent: agent.into(),
                tool: tool.into(),
                arguments: json!({"account": "ACME-2231", "amount_usd": 1840}),
                summary: summary.into(),
                risk: risk.into(),
                trace_id: Some("0123456789abcdef0123456789abcdef".into()),
                ttl_seconds: Some(3600),
                ..NewApproval::default()
            })
            .map_err(|e| e.to_string())?;
    }
    let id = control
        .open_incident(
            "SEV-1",
            "Prompt-injection wave on research-assistant",
            Some("research-assistant"),
            "alert:guardrail_trip_spike",
            "fixture",
        )
        .map_err(|e| e.to_string())?;
    control
        .incident_update(
            id,
            "run",
            "the attempt that got through",
            Some("0123456789abcdef0123456789abcdef"),
            "tui:oncall (local)",
        )
        .map_err(|e| e.to_string())?;
    let local = Local::new(cockpit.clone());
    let mut s = local.snapshot(window).await?;
    // The waterfall of the newest run of the regressed agent.
    let trace_id = s.runs.iter().find(|r| r.agent == "support-triage").map(|r| r.trace_id.clone());
    let trace = match trace_id {
        Some(t) => local.trace(t).await?,
        None => None,
    };
    // Freeze every clock at the dataset's end.
    let at = s.summary.as_of.clone();
    s.taken_at = at.clone();
    s.ingest_rate = 0.0;
    // Requests asked just now, expiring in a quarter of an hour.
    let expires = chrono::DateTime::parse_from_rfc3339(&at)
        .map(|t| (t + chrono::Duration::minutes(15)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|_| at.clone());
    for (i, a) in s.approvals.iter_mut().enumerate() {
        a.created_at = at.clone();
        a.expires_at = expires.clone();
        a.id = format!("apr-fixture{i}");
    }
    for inc in &mut s.incidents {
        inc.opened_at = at.clone();
        for e in &mut inc.timeline {
            e.at = at.clone();
        }
    }
    for a in &mut s.summary.alerts {
        a.since = at.clone();
    }
    let engine = Arc::clone(&cockpit.engine);
    let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
    Ok((s, trace))
}
