//! 6 Drift: current version against its baseline (flagged rows first), evaluation scores by
//! version, model retirement dates.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::ui::app::{App, tab};
use crate::ui::theme::Theme;
use crate::ui::widgets::{block, cut, ms, num, pct, table};

/// Draws Drift.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let [drift, lower] = Layout::vertical([Constraint::Percentage(60), Constraint::Min(4)]).areas(area);
    let rows = s
        .summary
        .drift
        .iter()
        .map(|d| {
            let show = |v: Option<f64>| match d.metric.as_str() {
                "success_rate" | "tool_mix" => pct(v),
                "run_latency_ms" => ms(v),
                _ => v.map_or("—".into(), |v| num(v as u64)),
            };
            let flag = if d.flagged { ("⚑ DRIFT".to_owned(), theme.bad()) } else { ("ok".to_owned(), theme.dim()) };
            vec![
                flag,
                (d.agent.clone(), theme.text()),
                (format!("{}→{}", cut(&d.baseline_version, 6), cut(&d.version, 6)), theme.text()),
                (d.metric.replace("_ms", "").replace('_', " "), theme.text()),
                (show(d.baseline), theme.dim()),
                (show(d.current), if d.flagged { theme.bad() } else { theme.text() }),
                (d.effect.map_or("—".into(), |e| format!("{e:+.2}")), theme.text()),
                (d.p_value.map_or("—".into(), |p| format!("{p:.3}")), theme.dim()),
                (format!("{}/{}", d.baseline_n, d.current_n), theme.dim()),
                (d.detail.clone(), theme.dim()),
            ]
        })
        .collect();
    table(
        frame,
        drift,
        "Current version vs baseline (flagged first)",
        theme,
        &[
            ("flag", 8),
            ("agent", 14),
            ("versions", 13),
            ("metric", 14),
            ("before", 7),
            ("now", 7),
            ("effect", 6),
            ("p", 5),
            ("n", 9),
            ("detail", 30),
        ],
        rows,
        Some(app.selected[tab::DRIFT]),
    );
    let [evals, deps] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(lower);
    let rows = s
        .summary
        .evaluations
        .iter()
        .map(|e| {
            vec![
                (e.agent.clone(), theme.text()),
                (e.version.clone(), theme.text()),
                (e.name.clone(), theme.text()),
                (e.mean_score.map_or("—".into(), |v| format!("{v:.2}")), theme.text()),
                (num(e.count), theme.text()),
            ]
        })
        .collect();
    table(
        frame,
        evals,
        "Evaluation score by version",
        theme,
        // The score before its count: at 80 columns only the first four fit.
        &[("agent", 14), ("version", 8), ("evaluation", 16), ("mean", 5), ("n", 5)],
        rows,
        None,
    );
    let mut lines: Vec<Line> = s
        .summary
        .deprecations
        .iter()
        .map(|d| {
            let style = if d.days_left.is_some_and(|n| n < 30) { theme.bad() } else { theme.warn() };
            Line::from(Span::styled(
                format!("{} retires {} ({})", d.model, d.date, d.days_left.map_or("?".into(), |n| format!("{n} days"))),
                style,
            ))
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("No model in use has a retirement date.", theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block("Model retirements", theme)), deps);
}
