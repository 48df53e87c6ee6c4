//! 5 Cost & latency: spend rate against budget, cost per outcome, tokens by model, latency by
//! component, unpriced models called out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::ui::app::{App, tab};
use crate::ui::theme::Theme;
use crate::ui::widgets::{block, ms, num, spark_abs, table, usd};

/// Draws Cost & latency.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let c = &s.summary.cost;
    let t = &s.summary.totals;
    let [head, models, latency] =
        // One more line when some models are unpriced: that warning is never cut off.
        Layout::vertical([
            Constraint::Length(6 + u16::from(!c.unpriced_models.is_empty())),
            Constraint::Min(4),
            Constraint::Length(7),
        ])
        .areas(area);
    let budget = match (c.spend_rate_usd_per_hour, c.budget_usd_per_hour) {
        (Some(rate), Some(b)) => {
            let style = if rate > b { theme.bad() } else { theme.good() };
            Span::styled(
                format!("{}/h of {}/h budget ({:.0}%)", usd(Some(rate)), usd(Some(b)), rate / b * 100.0),
                style,
            )
        }
        (rate, None) => Span::raw(format!("{}/h (no budget set)", usd(rate))),
        (None, Some(b)) => Span::raw(format!("—/h of {}/h budget", usd(Some(b)))),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::raw("spend rate "),
            budget,
            Span::raw("   "),
            Span::styled(spark_abs(&s.series.cost), theme.accent()),
        ]),
        // Two lines, so each fits 80 columns.
        Line::from(format!(
            "cost {} · per success {} · per failure {}",
            usd(t.cost_usd),
            usd(t.cost_per_success_usd),
            usd(t.cost_per_failure_usd),
        )),
        Line::from(format!(
            // Failed LLM calls include the rate-limited ones; the rate limits count tools' too.
            "failed LLM calls {} · rate limited {} (LLM + tool) · timeouts {}",
            c.vendor_errors, c.rate_limit_events, c.timeouts
        )),
        Line::from(format!(
            "tokens {} in ({} cached) · {} out ({} reasoning)",
            num(t.input_tokens),
            num(t.cache_read_tokens),
            num(t.output_tokens),
            num(t.reasoning_tokens)
        )),
    ];
    if !c.unpriced_models.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("⚠ unpriced (not in the cost): {}", c.unpriced_models.join(", ")),
            theme.warn(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block("Cost", theme)), head);
    let rows = s
        .summary
        .models
        .iter()
        .map(|m| {
            vec![
                (m.name.clone(), theme.text()),
                (num(m.calls), theme.text()),
                (num(m.input_tokens), theme.text()),
                (num(m.cache_read_tokens), theme.text()),
                (num(m.output_tokens), theme.text()),
                (num(m.reasoning_tokens), theme.text()),
                (usd(m.cost_usd), if m.cost_usd.is_none() { theme.warn() } else { theme.text() }),
                (format!("{:?}", m.cost_source).to_lowercase(), theme.dim()),
                (ms(m.p95_ms), theme.text()),
            ]
        })
        .collect();
    table(
        frame,
        models,
        "Tokens by model",
        theme,
        &[
            ("model", 24),
            ("calls", 6),
            ("in", 6),
            ("cached", 6),
            ("out", 6),
            ("reason", 6),
            ("cost", 8),
            ("source", 8),
            ("p95", 6),
        ],
        rows,
        Some(app.selected[tab::COST]),
    );
    let l = &s.summary.latency;
    let rows = [
        ("agent run", &l.agent_run),
        ("LLM call", &l.llm_call),
        ("tool call", &l.tool_call),
        ("guardrail", &l.guardrail),
    ]
    .into_iter()
    .map(|(name, p)| {
        vec![
            (name.to_owned(), theme.text()),
            (ms(p.p50_ms), theme.text()),
            (ms(p.p95_ms), theme.text()),
            (ms(p.p99_ms), theme.text()),
        ]
    })
    .collect();
    table(
        frame,
        latency,
        "Latency by component",
        theme,
        &[("component", 12), ("p50", 8), ("p95", 8), ("p99", 8)],
        rows,
        None,
    );
}
