//! The summary as Markdown: a daily review that reads well in an 80-column terminal. A table
//! row is cut only when it would not fit, and then its longest names first: a cut model id or
//! tool name could be either of two, so most are best left whole.

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

/// The widest a table line may be.
const WIDTH: usize = 80;

/// The narrowest a name is cut to.
const MIN_NAME: usize = 8;

/// Cuts the longest name columns, a character at a time and the same for every row, until
/// every line fits in [`WIDTH`] (figures are never cut).
fn fit(rows: &mut [Vec<String>]) {
    let chars = |c: &String| c.chars().count();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut cap: Vec<usize> =
        (0..columns).map(|i| rows.iter().filter_map(|r| r.get(i)).map(chars).max().unwrap_or(0)).collect();
    let names: Vec<bool> = (0..columns).map(|i| rows.iter().filter_map(|r| r.get(i)).any(|c| !figure(c))).collect();
    let line = |r: &Vec<String>, cap: &[usize]| {
        4 + r.iter().zip(cap).map(|(c, &m)| if figure(c) { chars(c) } else { chars(c).min(m) }).sum::<usize>()
            + 3 * r.len().saturating_sub(1)
    };
    while rows.iter().map(|r| line(r, &cap)).max().unwrap_or(0) > WIDTH {
        let widest = (0..columns).filter(|&i| names[i] && cap[i] > MIN_NAME).max_by_key(|&i| (cap[i], usize::MAX - i));
        let Some(i) = widest else { break };
        cap[i] -= 1;
    }
    for r in rows.iter_mut() {
        for (c, &m) in r.iter_mut().zip(&cap) {
            if !figure(c) {
                *c = cut(c, m);
            }
        }
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
    if rows.is_empty() {
        let _ = writeln!(out, "_No data in this window._\n");
        return;
    }
    let _ = writeln!(out, "| {} |", head.join(" | "));
    // Figures align right, words left.
    let align = (0..head.len())
        .map(|c| if c > 0 && rows.iter().all(|r| r.get(c).is_none_or(|v| figure(v))) { "--:" } else { "---" })
        .collect::<Vec<_>>();
    let _ = writeln!(out, "|{}|", align.join("|"));
    let mut rows = rows;
    fit(&mut rows);
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

/// A cell that holds a figure (a count, rate, amount, duration) or says there is none.
fn figure(v: &str) -> bool {
    let v = v.trim_start_matches(['$', '-', '+']);
    v == "—" || v.starts_with(|c: char| c.is_ascii_digit())
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
                    a.name.clone(),
                    a.version.clone(),
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
        oc.by_scenario.iter().map(|r| vec![r.scenario.clone(), num(r.runs), pct(r.success_rate)]).collect(),
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
                    t.name.clone(),
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
        "- Red-team injection success {} (red-team runs: {}) · leakage rate {} (runs that leaked: {})",
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
                    g.name.clone(),
                    g.category.clone(),
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
        "- Failed LLM calls {} · rate limited {} (LLM and tool calls) · timeouts {}",
        c.vendor_errors, c.rate_limit_events, c.timeouts
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
                    m.name.clone(),
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
    if s.drift.is_empty() {
        let _ = writeln!(o, "_No agent has a newer version to compare with its baseline in this window._\n");
    }
    // A table per agent and version pair: the agent named once, above, leaves the table the
    // room for whole metric names.
    let mut pairs: Vec<(&str, &str, &str)> = Vec::new();
    for d in &s.drift {
        let pair = (d.agent.as_str(), d.baseline_version.as_str(), d.version.as_str());
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    for (agent, baseline, version) in pairs {
        let _ = writeln!(o, "**{agent}** {baseline} → {version}:\n");
        table(
            &mut o,
            &["metric", "now", "before", "effect", "p", "flag"],
            s.drift
                .iter()
                .filter(|d| {
                    (d.agent.as_str(), d.baseline_version.as_str(), d.version.as_str()) == (agent, baseline, version)
                })
                .map(|d| {
                    let show = |v: Option<f64>| match d.metric.as_str() {
                        "success_rate" | "tool_mix" => pct(v),
                        "run_latency_ms" => ms(v),
                        _ => v.map_or("—".into(), |v| num(v as u64)),
                    };
                    vec![
                        d.metric.replace("_ms", "").replace('_', " "),
                        show(d.current),
                        show(d.baseline),
                        f2(d.effect),
                        d.p_value.map_or("—".into(), |p| format!("{p:.3}")),
                        if d.flagged { "**YES**".into() } else { "no".into() },
                    ]
                })
                .collect(),
        );
    }
    if !s.evaluations.is_empty() {
        table(
            &mut o,
            &["agent", "version", "evaluation", "results", "mean score"],
            s.evaluations
                .iter()
                .map(|e| vec![e.agent.clone(), e.version.clone(), e.name.clone(), num(e.count), f2(e.mean_score)])
                .collect(),
        );
    }
    for d in &s.deprecations {
        let left = d.days_left.map(|n| if n < 0 { format!(" ({} days ago)", -n) } else { format!(" (in {n} days)") });
        let _ = writeln!(o, "- Model `{}` retires {}{}", d.model, d.date, left.unwrap_or_default());
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn names_are_cut_only_when_a_line_is_too_wide_and_the_same_in_every_row() {
        // 78 columns: whole, though a name is long.
        let mut t = vec![row(&["claude-3-5-haiku-20241022", "346", "2.1M", "168k", "329k", "0", "$2.84", "computed"])];
        let whole = t.clone();
        fit(&mut t);
        assert_eq!(t, whole);
        // Too wide: the longest name column gives way first, in every row alike; figures never.
        let mut t = vec![
            row(&["an-agent-with-a-very-long-name", "a-tool-named-at-length", "12,345", "99.9%", "$1,234.56", "1.2s"]),
            row(&["an-agent-with-a-very-long-name-too", "a-tool", "1", "0.0%", "$0.00", "3ms"]),
        ];
        fit(&mut t);
        for r in &t {
            let line = format!("| {} |", r.join(" | "));
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        assert!(t[0][0].ends_with('…') && t[0][0].chars().count() == t[1][0].chars().count(), "{t:?}");
        // The two longest columns share the cut; a short name in a cut column stays whole.
        assert!(t[0][1].ends_with('…') && t[0][1].chars().count() > MIN_NAME, "{t:?}");
        assert_eq!(t[1][1], "a-tool");
        assert_eq!(t[0][2..], row(&["12,345", "99.9%", "$1,234.56", "1.2s"]));
    }
}
