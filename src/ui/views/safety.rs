//! 4 Safety: guardrail trips, approvals, injection ASR, leakage, recent guardrail events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::model::GuardrailVerdict;
use crate::ui::app::{App, tab};
use crate::ui::keymap::Action;
use crate::ui::theme::Theme;
use crate::ui::widgets::{age, block, counted, num, pct, table};

/// Draws Safety.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let sa = &s.summary.safety;
    let [head, guards, events] =
        Layout::vertical([Constraint::Length(6), Constraint::Percentage(45), Constraint::Min(3)]).areas(area);
    let asr_style = if sa.injection_asr.is_some_and(|v| v > 0.0) { theme.bad() } else { theme.good() };
    let leak_style = if sa.leakage_rate.is_some_and(|v| v > 0.0) { theme.bad() } else { theme.good() };
    let lines = vec![
        // Two lines, so each fits 80 columns.
        Line::from(format!(
            "guardrail trips {} of {} ({}) · allowed {}",
            num(sa.guardrail_trips),
            num(sa.guardrail_decisions),
            pct(sa.trip_rate),
            sa.allows
        )),
        Line::from(format!("trips: blocked {} · redacted {} · flagged {}", sa.blocks, sa.redacts, sa.flags)),
        Line::from(vec![
            Span::raw("injection success (red team) "),
            // "— of 0 runs" read as a figure; with no red-team runs there is none to show.
            if sa.red_team_runs == 0 {
                Span::styled("no red-team runs", theme.dim())
            } else {
                Span::styled(format!("{} of {}", pct(sa.injection_asr), counted(sa.red_team_runs, "run")), asr_style)
            },
            Span::raw(" · leakage "),
            Span::styled(format!("{} ({} leaked)", pct(sa.leakage_rate), counted(sa.leak_runs, "run")), leak_style),
        ]),
        Line::from(format!(
            "approvals: {} pending · {} approved · {} denied · {} expired",
            sa.approvals.pending, sa.approvals.approved, sa.approvals.denied, sa.approvals.expired
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block("Safety & security", theme)), head);
    let rows = sa
        .by_guardrail
        .iter()
        .map(|g| {
            vec![
                (g.name.clone(), theme.text()),
                (g.category.clone(), theme.text()),
                (g.stage.clone(), theme.dim()),
                (num(g.decisions), theme.text()),
                (num(g.trips), if g.trips > 0 { theme.warn() } else { theme.dim() }),
                (num(g.blocks), if g.blocks > 0 { theme.bad() } else { theme.dim() }),
                (pct(g.trip_rate), theme.text()),
            ]
        })
        .collect();
    table(
        frame,
        guards,
        "Guardrails",
        theme,
        &[("guardrail", 24), ("category", 16), ("stage", 6), ("checks", 6), ("trips", 5), ("blocks", 6), ("rate", 6)],
        rows,
        None,
    );

    let rows = s
        .guard_events
        .iter()
        .map(|e| {
            let (word, style) = match e.verdict {
                GuardrailVerdict::Block => ("✖ block", theme.bad()),
                GuardrailVerdict::Redact => ("▒ redact", theme.warn()),
                GuardrailVerdict::Flag => ("⚑ flag", theme.warn()),
                GuardrailVerdict::Allow => ("✓ allow", theme.dim()),
            };
            let when = crate::analytics::alerts::rfc3339(e.time_ns);
            vec![
                (age(&when, &s.summary.as_of), theme.dim()),
                (word.to_owned(), style),
                (e.agent.clone(), theme.text()),
                (e.name.clone(), theme.text()),
                (e.stage.clone(), theme.dim()),
                (e.category.clone(), theme.text()),
                (e.trace_id[..12.min(e.trace_id.len())].to_owned(), theme.dim()),
            ]
        })
        .collect();
    table(
        frame,
        events,
        &format!("Recent guardrail decisions{}", super::key_note(app, Action::JumpTrace, "opens the trace")),
        theme,
        // The stage before the category (which the guardrail's name usually repeats).
        &[("age", 4), ("decision", 9), ("agent", 16), ("guardrail", 20), ("stage", 6), ("category", 14), ("trace", 12)],
        rows,
        Some(app.selected[tab::SAFETY]),
    );
}
