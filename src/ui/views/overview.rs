//! 1 Overview: every agent's state and health, the alerts, the fleet totals.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::app::{AgentState, App, agent_lines, tab};
use crate::ui::theme::Theme;
use crate::ui::widgets::{block, ms, num, pct, rate_style, spark, table, usd};

/// Draws the Overview.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let lines = agent_lines(s);
    let agents_h = (lines.len() as u16 + 3).clamp(5, area.height.saturating_sub(6).max(5));
    let [top, bottom] = Layout::vertical([Constraint::Length(agents_h), Constraint::Min(3)]).areas(area);
    let rows = lines
        .iter()
        .map(|a| {
            let state_style = match a.state {
                AgentState::Killed => theme.bad(),
                AgentState::Restricted | AgentState::Pinned => theme.warn(),
                AgentState::Live => theme.good(),
            };
            let trend = s.series.agent_success.get(&a.name).map(|v| spark(v)).unwrap_or_default();
            vec![
                (a.state.label().to_owned(), state_style),
                (a.name.clone(), theme.text()),
                (a.version.clone(), theme.dim()),
                (num(a.runs), theme.text()),
                (pct(a.success), rate_style(a.success, theme)),
                (a.trips.to_string(), if a.trips > 0 { theme.warn() } else { theme.dim() }),
                (a.pending.to_string(), if a.pending > 0 { theme.warn() } else { theme.dim() }),
                (usd(a.cost_per_hour), theme.text()),
                (ms(a.p95_ms), theme.text()),
                (trend, rate_style(a.success, theme)),
            ]
        })
        .collect();
    table(
        frame,
        top,
        "Agents",
        theme,
        &[
            ("state", 13),
            ("agent", 18),
            ("version", 8),
            ("runs", 6),
            ("success", 7),
            // What needs acting on first, the 30-wide trend last: at 80 columns the first
            // eight fit.
            ("trips", 5),
            ("pend", 4),
            ("cost/h", 8),
            ("p95", 7),
            ("trend", 30),
        ],
        rows,
        Some(app.selected[tab::OVERVIEW]),
    );
    let [alerts, totals] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(bottom);
    let mut alert_lines: Vec<Line> = s
        .summary
        .alerts
        .iter()
        .map(|a| {
            Line::from(vec![
                Span::styled(format!("{} ", a.severity), theme.bad()),
                Span::styled(format!("{} ", a.rule), theme.accent()),
                Span::raw(a.message.clone()),
            ])
        })
        .collect();
    if alert_lines.is_empty() {
        alert_lines.push(Line::from(Span::styled("✓ No alerts firing.", theme.good())));
    }
    frame.render_widget(
        Paragraph::new(alert_lines).block(block("Alerts", theme)).wrap(ratatui::widgets::Wrap { trim: true }),
        alerts,
    );
    let t = &s.summary.totals;
    let fleet = vec![
        Line::from(vec![Span::raw("runs      "), Span::styled(num(t.runs), theme.text())]),
        Line::from(vec![Span::raw("success   "), Span::styled(pct(t.success_rate), rate_style(t.success_rate, theme))]),
        Line::from(vec![Span::raw("cost      "), Span::raw(usd(t.cost_usd))]),
        Line::from(vec![Span::raw("spend/h   "), Span::raw(usd(s.summary.cost.spend_rate_usd_per_hour))]),
        Line::from(vec![Span::raw("trips     "), Span::raw(num(s.summary.safety.guardrail_trips))]),
        Line::from(vec![Span::raw("LLM/tools "), Span::raw(format!("{} / {}", num(t.llm_calls), num(t.tool_calls)))]),
    ];
    frame.render_widget(Paragraph::new(fleet).block(block("Fleet", theme)), totals);
}
