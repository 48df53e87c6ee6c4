//! `cockpit report`: the dashboards for a window, from a running engine's API, from persisted
//! state, or from OTLP/JSON files with a throwaway engine.

use std::path::PathBuf;

use crate::analytics::figures::{ApprovalCounts, Summary};
use crate::analytics::report::markdown;
use crate::cli::{Format, ReportArgs};
use crate::config::{Config, parse_window};
use crate::control::schema::CONTROL_DB;
use crate::control::{ControlOptions, ControlPlane};
use crate::engine::Engine;
use crate::ingest::replay::{ReplayReport, replay_file};

/// Loads files into an engine, settles everything and evaluates alerts over the data.
pub async fn load_files(engine: &Engine, files: &[PathBuf]) -> ReplayReport {
    let mut report = ReplayReport::default();
    for file in files {
        replay_file(engine, file, &mut report).await;
    }
    engine.flush().await;
    engine.settle_all().await;
    engine.replay_alerts().await;
    report
}

/// Fetches `/api/v1/summary` from a running engine.
pub async fn fetch(base: &str, window: &str, agent: Option<&str>, token: Option<&str>) -> Result<String, String> {
    let base = if base.starts_with("http://") || base.starts_with("https://") {
        base.to_owned()
    } else {
        format!("http://{base}")
    };
    let url = format!("{}/api/v1/summary", base.trim_end_matches('/'));
    let mut query = vec![("window", window)];
    if let Some(a) = agent {
        query.push(("agent", a));
    }
    let mut req = reqwest::Client::new().get(&url).query(&query);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| format!("reading {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}: {}", body.trim()));
    }
    Ok(body)
}

/// Runs the report; answers the text to print and whether a replayed file had bad lines.
pub async fn run(args: &ReportArgs, cfg: &Config) -> Result<(String, bool), String> {
    let window = parse_window(&args.window)?;
    let agent = args.agent.as_deref();
    let render = |s: &Summary| match args.format {
        Format::Json => serde_json::to_string_pretty(s).unwrap_or_default(),
        Format::Md => markdown(s),
    };
    if !args.replay.is_empty() || (args.api.is_none() && args.data_dir.is_some()) {
        let mut ecfg = cfg.engine()?;
        if let Some(p) = &args.prices {
            let text =
                std::fs::read_to_string(p).map_err(|e| format!("cannot read prices file {}: {e}", p.display()))?;
            ecfg.prices.import_litellm(&text).map_err(|e| format!("prices file {}: {e}", p.display()))?;
        }
        // Only an explicit --data-dir keeps (or provides) state; a replayed report leaves none.
        ecfg.data_dir = args.data_dir.clone();
        ecfg.data_clock = !args.replay.is_empty();
        let engine = Engine::start(ecfg)?;
        let loaded = load_files(&engine, &args.replay).await;
        for p in &loaded.problems {
            eprintln!("cockpit: {p}");
        }
        // The approvals of that data dir (files alone carry none).
        let approvals = match &args.data_dir {
            Some(dir) if dir.join(CONTROL_DB).exists() => {
                ControlPlane::open(dir, ControlOptions { read_only: true, ..Default::default() })?
                    .approval_counts(window, agent)
            }
            _ => ApprovalCounts::default(),
        };
        let summary = engine.summary(window, agent, approvals);
        let e = std::sync::Arc::clone(&engine);
        let _ = tokio::task::spawn_blocking(move || e.shutdown()).await;
        return Ok((render(&summary), loaded.bad_lines > 0));
    }
    let base = args.api.clone().unwrap_or_else(|| cfg.api.clone());
    let token = cfg.operator_token.clone().or_else(|| cfg.viewer_token.clone());
    let body = fetch(&base, &args.window, agent, token.as_deref()).await?;
    match args.format {
        Format::Json => Ok((body, false)),
        Format::Md => {
            let summary: Summary =
                serde_json::from_str(&body).map_err(|e| format!("unexpected summary document: {e}"))?;
            Ok((markdown(&summary), false))
        }
    }
}
