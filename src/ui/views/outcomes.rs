//! 2 Outcomes: success over time, by agent and scenario; human acceptance; orchestration.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ui::app::{App, tab};
use crate::ui::theme::Theme;
use crate::ui::widgets::{block, ms, num, pct, rate_style, spark, spark_abs, table};

/// Draws Outcomes.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let o = &s.summary.outcomes;
    let or = &s.summary.orchestration;
    let [chart, rest] = Layout::vertical([Constraint::Length(6), Constraint::Min(3)]).areas(area);
    let lines = vec![
        Line::from(vec![
            Span::raw("success  "),
            Span::styled(spark(&s.series.success), rate_style(o.success_rate, theme)),
            Span::raw(format!("  {}", pct(o.success_rate))),
        ]),
        Line::from(vec![
            Span::raw("runs     "),
            Span::styled(spark_abs(&s.series.runs.iter().map(|r| *r as f64).collect::<Vec<_>>()), theme.accent()),
            Span::raw(format!("  {} runs", num(s.summary.totals.runs))),
        ]),
        Line::from(format!(
            "human acceptance {} ({} ratings) · time to resolution p50 {} p95 {}",
            pct(o.human_acceptance_rate),
            o.feedback,
            ms(o.time_to_resolution_p50_ms),
            ms(o.time_to_resolution_p95_ms)
        )),
        Line::from(format!(
            "steps/run {} · retry {} · loop timeouts {} · handoffs {} · budget use {}",
            or.steps_per_run.map_or("—".into(), |v| format!("{v:.1}")),
            pct(or.retry_rate),
            or.loop_timeouts,
            or.handoffs,
            pct(or.step_budget_utilization)
        )),
    ];
    frame.render_widget(Paragraph::new(lines).block(block("Success over the window", theme)), chart);
    let [agents, scenarios] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(rest);
    let rows = s
        .summary
        .agents
        .iter()
        .map(|a| {
            vec![
                (a.name.clone(), theme.text()),
                (num(a.runs), theme.text()),
                (pct(a.success_rate), rate_style(a.success_rate, theme)),
                (a.steps_per_run.map_or("—".into(), |v| format!("{v:.1}")), theme.text()),
                (pct(a.retry_rate), theme.text()),
            ]
        })
        .collect();
    table(
        frame,
        agents,
        "By agent",
        theme,
        &[("agent", 18), ("runs", 6), ("success", 7), ("steps", 5), ("retry", 6)],
        rows,
        None,
    );
    let rows = o
        .by_scenario
        .iter()
        .map(|r| {
            vec![
                (r.scenario.clone(), theme.text()),
                (num(r.runs), theme.text()),
                (pct(r.success_rate), rate_style(r.success_rate, theme)),
            ]
        })
        .collect();
    table(
        frame,
        scenarios,
        "By scenario",
        theme,
        &[("scenario", 20), ("runs", 6), ("success", 7)],
        rows,
        Some(app.selected[tab::OUTCOMES]),
    );
}
