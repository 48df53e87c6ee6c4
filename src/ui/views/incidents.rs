//! 9 Incidents: open first; Enter shows the timeline; x exports the postmortem Markdown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::ui::app::{App, incident_rows, tab};
use crate::ui::keymap::Action;
use crate::ui::theme::Theme;
use crate::ui::widgets::{SHRINKS, age, cut, empty, table, text_box, with_preview};

/// The list.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let listed = incident_rows(s);
    let rows = listed
        .iter()
        .map(|i| {
            let sev = if i.sev == "SEV-2" { theme.warn() } else { theme.bad() };
            let status = if i.status == "open" {
                ("● open".to_owned(), theme.bad())
            } else {
                ("✓ resolved".to_owned(), theme.good())
            };
            vec![
                (format!("#{}", i.id), theme.text()),
                (i.sev.clone(), sev),
                status,
                (age(&i.opened_at, &s.taken_at), theme.dim()),
                (i.agent.as_deref().unwrap_or("fleet").to_owned(), theme.text()),
                (i.timeline.len().to_string(), theme.dim()),
                (i.title.clone(), theme.text()),
            ]
        })
        .collect::<Vec<_>>();
    let title = super::titled(app, "Incidents", super::INCIDENT_KEYS);
    let title = title.as_str();
    if rows.is_empty() {
        // Incidents are not windowed either.
        empty(frame, area, title, theme, "No incidents. Alerts open them; :incident opens one by hand.");
        return;
    }
    let selected = app.selected[tab::INCIDENTS];
    // The selected incident's whole title and latest entry under the list: at 80 columns the
    // title is cut to a dozen characters.
    let (list, preview) = with_preview(area);
    table(
        frame,
        list,
        title,
        theme,
        &[("id", 5), ("sev", 6), ("status", 10), ("age", 4), ("agent", 14), ("events", 6), ("title", 60 | SHRINKS)],
        rows,
        Some(selected),
    );
    if let (Some(area), Some(i)) = (preview, listed.get(selected)) {
        let mut lines = vec![
            Line::from(Span::styled(i.title.clone(), theme.accent())),
            Line::from(Span::styled(
                format!(
                    "{} {} · {} · opened by {} {} ago",
                    i.sev,
                    i.status,
                    i.agent.as_deref().unwrap_or("fleet"),
                    i.opened_by,
                    age(&i.opened_at, &s.taken_at)
                ),
                theme.dim(),
            )),
        ];
        if let Some(e) = i.timeline.last() {
            lines.push(Line::from(vec![
                Span::styled(format!("latest: {} ", e.kind), theme.dim()),
                Span::styled(e.text.clone(), theme.text()),
            ]));
        }
        text_box(frame, area, &format!("#{}", i.id), lines, theme);
    }
}

/// One incident's timeline.
pub fn detail(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme, id: i64) {
    let Some(i) = app.snapshot.incidents.iter().find(|i| i.id == id) else { return };
    let rows = i
        .timeline
        .iter()
        .map(|e| {
            let style = match e.kind.as_str() {
                "alert" | "escalated" => theme.bad(),
                "action" | "decision" => theme.warn(),
                "resolved" => theme.good(),
                _ => theme.text(),
            };
            vec![
                (e.at.get(11..19).unwrap_or(&e.at).to_owned(), theme.dim()),
                (e.kind.clone(), style),
                (e.text.clone(), theme.text()),
                (e.trace_id.clone().unwrap_or_default(), theme.dim()),
            ]
        })
        .collect();
    // The incident's title gets the room the box's top line has left (ratatui cuts a box title
    // silently, and the agent at its end went first).
    let (head, tail) =
        (format!("#{} {} {} — ", i.id, i.sev, i.status), format!(" ({})", i.agent.as_deref().unwrap_or("fleet")));
    let room = usize::from(area.width).saturating_sub(4 + head.chars().count() + tail.chars().count());
    let title = format!("{head}{}{tail}", cut(&i.title, room.clamp(12, 50)));
    // The whole title and the selected entry's whole text under the timeline: at 80 columns
    // both are cut above.
    let (list, preview) = with_preview(area);
    table(
        frame,
        list,
        &title,
        theme,
        &[("time", 8), ("kind", 9), ("what", 90 | SHRINKS), ("trace", 12)],
        rows,
        Some(app.page_sel),
    );
    if let (Some(area), Some(e)) = (preview, i.timeline.get(app.page_sel)) {
        let mut lines = vec![
            Line::from(Span::styled(i.title.clone(), theme.accent())),
            Line::from(vec![
                Span::styled(format!("{} {} ", e.at.get(11..19).unwrap_or(&e.at), e.kind), theme.dim()),
                Span::styled(e.text.clone(), theme.text()),
            ]),
        ];
        if let Some(t) = &e.trace_id {
            lines.push(Line::from(Span::styled(
                format!("trace {t}{}", super::key_note(app, Action::JumpTrace, "opens it")),
                theme.dim(),
            )));
        }
        text_box(frame, area, "entry", lines, theme);
    }
}
