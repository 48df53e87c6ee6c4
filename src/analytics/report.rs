//! The summary as Markdown: a daily review that reads well in an 80-column terminal.

use std::fmt::Write;

use super::figures::{Percentiles, Summary};

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn ms(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v >= 10_000.0 => format!("{:.0}s", v / 1000.0),
        Some(v) if v >= 1000.0 => format!("{:.1}s", v / 1000.0),
        Some(v) => format!("{v:.0}ms"),
    }
}

fn usd(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v != 0.0 && v.abs() < 1.0 => format!("${v:.4}"),
        Some(v) => format!("${v:.2}"),
    }
}

fn num(n: u64) -> String {
    match n {
        n if n >= 10_000_000 => format!("{:.0}M", n as f64 / 1e6),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn f2(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.2}"))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn window_label(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s > 2 * 86_400 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    table_or(out, head, rows, "_No data in this window._");
}

fn table_or(out: &mut String, head: &[&str], rows: Vec<Vec<String>>, empty: &str) {
    if rows.is_empty() {
        let _ = writeln!(out, "{empty}\n");
        return;
    }
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        head.iter().map(|h| if *h == head[0] { "---" } else { "--:" }).collect::<Vec<_>>().join("|")
    );
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

fn percentiles(p: &Percentiles) -> [String; 3] {
    [ms(p.p50_ms), ms(p.p95_ms), ms(p.p99_ms)]
}

/// Renders the summary as a Markdown daily review: alerts first, then the six dashboards.
pub fn markdown(s: &Summary) -> String {
    let mut o = String::new();
    let scope = s.agent.as_deref().map(|a| format!(" · agent {a}")).unwrap_or_default();
    let _ = writeln!(o, "# AgentOps review — last {}{scope}\n", window_label(s.window_seconds));
    let _ = writeln!(o, "As of {}.\n", s.as_of);

    let _ = writeln!(o, "## Alerts\n");
    if s.alerts.is_empty() {
        o.push_str("None firing.\n\n");
    }
    for a in &s.alerts {
        let _ = writeln!(o, "- **{}** `{}` since {} — {}", a.severity, a.rule, a.since, a.message);
    }
    if !s.alerts.is_empty() {
        o.push('\n');
    }

    let t = &s.totals;
    let _ = writeln!(o, "## Fleet\n");
    let _ = writeln!(
        o,
        "- {} runs, {} succeeded ({}), {} failed, {} escalated",
        t.runs,
        t.successes,
        pct(t.success_rate),
        t.failures,
        t.escalated
    );
    let _ = writeln!(
        o,
        "- Cost {}: {} per success, {} per failure{}",
        usd(t.cost_usd),
        usd(t.cost_per_success_usd),
        usd(t.cost_per_failure_usd),
        if s.cost.cost_complete { "" } else { " (incomplete: unpriced models)" }
    );
    let _ = writeln!(
        o,
        "- {} LLM calls, {} tool calls; tokens {} in ({} cached), {} out ({} reasoning)\n",
        num(t.llm_calls),
        num(t.tool_calls),
        num(t.input_tokens),
        num(t.cache_read_tokens),
        num(t.output_tokens),
        num(t.reasoning_tokens)
    );

    let _ = writeln!(o, "## 1. Outcomes\n");
    table(
        &mut o,
        &["agent", "version", "runs", "success", "p50", "p95", "cost", "trips"],
        s.agents
            .iter()
            .map(|a| {
                vec![
                    cut(&a.name, 18),
                    cut(&a.version, 8),
                    num(a.runs),
                    pct(a.success_rate),
                    ms(a.p50_ms),
                    ms(a.p95_ms),
                    usd(a.cost_usd),
                    a.guardrail_trips.to_string(),
                ]
            })
            .collect(),
    );
    let oc = &s.outcomes;
    let _ = writeln!(
        o,
        "Human acceptance {} ({} ratings) · time to resolution p50 {}, p95 {} · {} runs/min\n",
        pct(oc.human_acceptance_rate),
        oc.feedback,
        ms(oc.time_to_resolution_p50_ms),
        ms(oc.time_to_resolution_p95_ms),
        f2(oc.runs_per_minute)
    );
    table(
        &mut o,
        &["scenario", "runs", "success"],
        oc.by_scenario.iter().map(|r| vec![cut(&r.scenario, 30), num(r.runs), pct(r.success_rate)]).collect(),
    );

    let or = &s.orchestration;
    let _ = writeln!(o, "## 2. Orchestration\n");
    let _ = writeln!(
        o,
        "- Steps per run {} · retry rate {} · loop timeouts {}",
        f2(or.steps_per_run),
        pct(or.retry_rate),
        or.loop_timeouts
    );
    let _ = writeln!(
        o,
        "- Handoffs {} ({} per run) · step-budget utilization {}\n",
        or.handoffs,
        f2(or.handoffs_per_run),
        pct(or.step_budget_utilization)
    );

    let _ = writeln!(o, "## 3. Tools\n");
    table(
        &mut o,
        &["tool", "calls", "err", "p50", "p95", "p99", "authz", "schema", "policy"],
        s.tools
            .iter()
            .map(|t| {
                vec![
                    cut(&t.name, 18),
                    num(t.calls),
                    pct(t.error_rate),
                    ms(t.p50_ms),
                    ms(t.p95_ms),
                    ms(t.p99_ms),
                    t.authz_failures.to_string(),
                    t.schema_failures.to_string(),
                    t.policy_blocks.to_string(),
                ]
            })
            .collect(),
    );

    let sa = &s.safety;
    let _ = writeln!(o, "## 4. Safety & security\n");
    let _ = writeln!(
        o,
        "- Guardrail trips {} of {} checks ({}): {} blocked, {} redacted, {} flagged",
        sa.guardrail_trips,
        sa.guardrail_decisions,
        pct(sa.trip_rate),
        sa.blocks,
        sa.redacts,
        sa.flags
    );
    let _ = writeln!(
        o,
        "- Red-team injection success {} (runs: {}) · leakage rate {} (runs: {})",
        pct(sa.injection_asr),
        sa.red_team_runs,
        pct(sa.leakage_rate),
        sa.leak_runs
    );
    let _ = writeln!(
        o,
        "- Approvals: {} approved, {} denied, {} expired, {} pending\n",
        sa.approvals.approved, sa.approvals.denied, sa.approvals.expired, sa.approvals.pending
    );
    table(
        &mut o,
        &["guardrail", "category", "stage", "checks", "trips", "blocks", "rate"],
        sa.by_guardrail
            .iter()
            .map(|g| {
                vec![
                    cut(&g.name, 16),
                    cut(&g.category, 16),
                    g.stage.clone(),
                    num(g.decisions),
                    num(g.trips),
                    num(g.blocks),
                    pct(g.trip_rate),
                ]
            })
            .collect(),
    );

    let c = &s.cost;
    let _ = writeln!(o, "## 5. Cost & latency\n");
    let budget = c.budget_usd_per_hour.map(|b| format!(" against a ${b:.2}/h budget")).unwrap_or_default();
    let _ = writeln!(o, "- Spend rate {}/h{budget}", usd(c.spend_rate_usd_per_hour));
    let _ = writeln!(
        o,
        "- Rate-limit events {} · vendor errors {} · timeouts {}",
        c.rate_limit_events, c.vendor_errors, c.timeouts
    );
    if !c.unpriced_models.is_empty() {
        let _ = writeln!(o, "- **Unpriced models** (not in the cost): {}", c.unpriced_models.join(", "));
    }
    o.push('\n');
    table(
        &mut o,
        &["model", "calls", "in", "cached", "out", "reason", "cost", "source"],
        s.models
            .iter()
            .map(|m| {
                vec![
                    cut(&m.name, 20),
                    num(m.calls),
                    num(m.input_tokens),
                    num(m.cache_read_tokens),
                    num(m.output_tokens),
                    num(m.reasoning_tokens),
                    usd(m.cost_usd),
                    format!("{:?}", m.cost_source).to_ascii_lowercase(),
                ]
            })
            .collect(),
    );
    let l = &s.latency;
    table(
        &mut o,
        &["component", "p50", "p95", "p99"],
        [
            ("agent run", &l.agent_run),
            ("LLM call", &l.llm_call),
            ("tool call", &l.tool_call),
            ("guardrail", &l.guardrail),
        ]
        .into_iter()
        .map(|(name, p)| {
            let [a, b, c] = percentiles(p);
            vec![name.to_owned(), a, b, c]
        })
        .collect(),
    );

    let _ = writeln!(o, "## 6. Drift & change\n");
    table_or(
        &mut o,
        &["agent", "version", "baseline", "metric", "now", "before", "effect", "p", "flag"],
        s.drift
            .iter()
            .map(|d| {
                let show = |v: Option<f64>| match d.metric.as_str() {
                    "success_rate" | "tool_mix" => pct(v),
                    "run_latency_ms" => ms(v),
                    _ => v.map_or("—".into(), |v| num(v as u64)),
                };
                vec![
                    cut(&d.agent, 14),
                    cut(&d.version, 7),
                    cut(&d.baseline_version, 7),
                    d.metric.replace("_ms", "").replace('_', " "),
                    show(d.current),
                    show(d.baseline),
                    f2(d.effect),
                    d.p_value.map_or("—".into(), |p| format!("{p:.3}")),
                    if d.flagged { "**YES**".into() } else { "no".into() },
                ]
            })
            .collect(),
        "_No agent has a newer version to compare with its baseline in this window._",
    );
    if !s.evaluations.is_empty() {
        table(
            &mut o,
            &["agent", "version", "evaluation", "results", "mean score"],
            s.evaluations
                .iter()
                .map(|e| vec![cut(&e.agent, 18), cut(&e.version, 8), cut(&e.name, 18), num(e.count), f2(e.mean_score)])
                .collect(),
        );
    }
    for d in &s.deprecations {
        let left = d.days_left.map(|n| if n < 0 { format!(" ({} days ago)", -n) } else { format!(" (in {n} days)") });
        let _ = writeln!(o, "- Model `{}` retires {}{}", d.model, d.date, left.unwrap_or_default());
    }
    o
}
