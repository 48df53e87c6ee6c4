//! 7 Traces: the runs list → the waterfall of a trace → one span's attributes and events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::{Outcome, SpanRole};
use crate::store::record::AttrValue;
use crate::ui::app::{App, Page, tab, visible_runs};
use crate::ui::keymap::Action;
use crate::ui::theme::Theme;
use crate::ui::widgets::{age, block, cut, ms, table, text_box, usd};

/// The runs list.
pub fn list(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let rows = visible_runs(s, &app.filter)
        .iter()
        .map(|r| {
            let (word, style) = match r.outcome {
                Outcome::Success => ("✓ success", theme.good()),
                Outcome::Failure => ("✖ failure", theme.bad()),
                Outcome::Timeout => ("⌛ timeout", theme.bad()),
                Outcome::Abandoned => ("↯ abandoned", theme.warn()),
                Outcome::Escalated => ("↑ escalated", theme.warn()),
            };
            let when = crate::analytics::alerts::rfc3339(r.end_ns);
            vec![
                (age(&when, &s.summary.as_of), theme.dim()),
                (r.agent.clone(), theme.text()),
                (r.version.clone(), theme.dim()),
                (format!("{word}{}", if r.blocked { " ⛔" } else { "" }), style),
                (ms(Some(r.duration_ms)), theme.text()),
                (r.steps.to_string(), theme.text()),
                (
                    format!("{}/{}", r.tool_errors, r.tool_calls),
                    if r.tool_errors > 0 { theme.warn() } else { theme.text() },
                ),
                (usd(r.cost_usd), theme.text()),
                (r.trace_id.clone(), theme.dim()),
            ]
        })
        .collect();
    let title = if app.filter.is_empty() {
        format!("Runs{}", super::key_note(app, Action::Enter, "opens the waterfall"))
    } else {
        format!("Runs matching /{}", app.filter)
    };
    table(
        frame,
        area,
        &title,
        theme,
        &[
            ("age", 4),
            ("agent", 16),
            ("ver", 7),
            // "↯ abandoned ⛔" (blocked) is 14 cells wide.
            ("outcome", 14),
            ("dur", 6),
            ("steps", 5),
            ("tools✖", 6),
            ("cost", 7),
            ("trace", 32),
        ],
        rows,
        Some(app.selected[tab::TRACES]),
    );
}

fn role_glyph(role: SpanRole) -> &'static str {
    match role {
        SpanRole::Agent => "◆",
        SpanRole::Llm => "✦",
        SpanRole::Tool => "⚙",
        SpanRole::Guardrail => "⛨",
        SpanRole::Other => "·",
    }
}

/// Huge values are cut with their size shown.
fn value_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Str(s) | AttrValue::Json(s) => s.to_string(),
        AttrValue::Truncated { prefix, original_bytes } => {
            format!("{}… [{original_bytes} bytes, cut]", cut(prefix, 2000))
        }
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Double(d) => d.to_string(),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::Bytes { bytes } => format!("<{bytes} bytes>"),
    }
}

/// The waterfall, or one span's details.
pub fn page(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let Some(trace) = &app.trace else {
        let id = match app.stack.first() {
            Some(Page::Trace(t)) => t.clone(),
            _ => String::new(),
        };
        frame.render_widget(Paragraph::new(format!("Loading trace {id}…")).block(block("Trace", theme)), area);
        return;
    };
    if let Some(Page::Span(i)) = app.stack.last() {
        let Some(span) = trace.spans.get(*i) else { return };
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("{} {} ", role_glyph(span.role), span.name), theme.accent()),
                Span::styled(format!("span {}", span.span_id), theme.dim()),
            ]),
            Line::from(format!(
                "duration {} · {}{}",
                ms(Some(span.end_ns.saturating_sub(span.start_ns) as f64 / 1e6)),
                if span.error { "ERROR " } else { "ok " },
                span.status_message
            )),
            Line::from(""),
            Line::from(Span::styled("Attributes", theme.accent())),
        ];
        for (k, v) in &span.attrs {
            lines.push(Line::from(vec![Span::styled(format!("  {k} = "), theme.dim()), Span::raw(value_text(v))]));
        }
        if !span.events.is_empty() {
            lines.push(Line::from(Span::styled("Events", theme.accent())));
            for e in &span.events {
                lines.push(Line::from(format!(
                    "  {} (+{})",
                    e.name,
                    ms(Some(e.time_ns.saturating_sub(span.start_ns) as f64 / 1e6))
                )));
                for (k, v) in &e.attrs {
                    lines.push(Line::from(vec![
                        Span::styled(format!("    {k} = "), theme.dim()),
                        Span::raw(value_text(v)),
                    ]));
                }
            }
        }
        lines.push(Line::from(Span::styled("Resource", theme.accent())));
        for (k, v) in &span.resource {
            lines.push(Line::from(vec![Span::styled(format!("  {k} = "), theme.dim()), Span::raw(value_text(v))]));
        }
        text_box(frame, area, "Span", lines, theme);
        return;
    }
    // The waterfall: tree on the left, timing bars on the right.
    let start = trace.spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let end = trace.spans.iter().map(|s| s.end_ns).max().unwrap_or(start).max(start + 1);
    let [_, bar_area] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let bar_w = bar_area.width.saturating_sub(14).max(8) as u64;
    let rows = trace
        .spans
        .iter()
        .map(|s| {
            let from = (s.start_ns.saturating_sub(start) * bar_w / (end - start)).min(bar_w);
            let len =
                ((s.end_ns.saturating_sub(s.start_ns)) * bar_w / (end - start)).clamp(1, bar_w - from.min(bar_w - 1));
            let bar = format!("{}{}", " ".repeat(from as usize), "█".repeat(len as usize));
            let mark = if s.blocked {
                " ⛔"
            } else if s.error {
                " ✖"
            } else {
                ""
            };
            let style = if s.error || s.blocked { theme.bad() } else { theme.text() };
            vec![
                (
                    format!("{}{} {}{mark}", "  ".repeat(usize::from(s.depth.min(12))), role_glyph(s.role), s.name),
                    style,
                ),
                (ms(Some(s.end_ns.saturating_sub(s.start_ns) as f64 / 1e6)), theme.dim()),
                (bar, if s.error || s.blocked { theme.bad() } else { theme.accent() }),
            ]
        })
        .collect();
    let title = format!(
        "Trace {} — {} spans, {}{}",
        trace.trace_id,
        trace.spans.len(),
        ms(Some((end - start) as f64 / 1e6)),
        super::key_note(app, Action::Enter, "attributes")
    );
    let name_w = (area.width * 45 / 100).max(20);
    table(
        frame,
        area,
        &title,
        theme,
        &[("span", name_w), ("dur", 7), ("timeline", bar_w as u16)],
        rows,
        Some(app.page_sel),
    );
}
