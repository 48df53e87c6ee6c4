//! 8 Approvals: the inbox of pending actions (oldest first) and recent decisions.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::control::model::{Approval, ApprovalStatus};
use crate::ui::app::{App, approval_rows, tab};
use crate::ui::keymap::Action;
use crate::ui::theme::Theme;
use crate::ui::widgets::{SHRINKS, age, block, cut, empty, table, text_box, with_preview};

/// The inbox.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let listed = approval_rows(s);
    let rows = listed
        .iter()
        .map(|a| {
            let (word, style) = match a.status {
                ApprovalStatus::Pending => ("✋ pending", theme.warn()),
                ApprovalStatus::Approved => ("✓ approved", theme.good()),
                ApprovalStatus::Denied => ("✖ denied", theme.bad()),
                ApprovalStatus::Expired => ("⌛ expired", theme.dim()),
            };
            let risk = match a.risk.as_str() {
                "high" | "critical" => theme.bad(),
                "medium" => theme.warn(),
                _ => theme.text(),
            };
            let others = app.others_viewing(&format!("approval:{}", a.id));
            let status = if others.is_empty() { word.to_owned() } else { format!("{word} 👁 {}", others.join(",")) };
            vec![
                (status, style),
                (age(&a.created_at, &s.taken_at), theme.dim()),
                (a.agent.clone(), theme.text()),
                (a.tool.clone(), theme.text()),
                (a.risk.clone(), risk),
                (a.summary.clone(), theme.text()),
                (a.arguments.to_string(), theme.dim()),
                (a.id.clone(), theme.dim()),
            ]
        })
        .collect::<Vec<_>>();
    let title = super::titled(app, "Approvals", super::APPROVAL_KEYS);
    let title = title.as_str();
    if rows.is_empty() {
        // Approvals are not windowed: "no data in this window" would send the reader to `t`.
        empty(frame, area, title, theme, "No approvals: no agent has asked for one.");
        return;
    }
    let selected = app.selected[tab::APPROVALS];
    // The selected approval's summary and arguments under the list: at 80 columns the table
    // has no room left for them, and the operator decides on what they say.
    let (list, preview) = with_preview(area);
    table(
        frame,
        list,
        title,
        theme,
        &[
            ("status", 20),
            ("age", 4),
            ("agent", 16),
            ("tool", 16),
            ("risk", 8),
            ("summary", 40 | SHRINKS),
            ("arguments", 40),
            ("id", 16),
        ],
        rows,
        Some(selected),
    );
    if let (Some(area), Some(a)) = (preview, listed.get(selected)) {
        text_box(frame, area, &a.id, preview_of(a, app, theme, area.width.saturating_sub(2)), theme);
    }
}

/// What the selected approval asks, in four lines: the summary first (wrapped once if long),
/// then its arguments on one line, then who, risk, status and time.
fn preview_of<'a>(a: &'a Approval, app: &App, theme: &Theme, width: u16) -> Vec<Line<'a>> {
    let s = &app.snapshot;
    let width = usize::from(width);
    let when = match a.status {
        ApprovalStatus::Pending => format!("asked {}", asked(a, &s.taken_at)),
        _ => format!(
            "{} by {}: {}",
            a.status.as_str(),
            a.decided_by.as_deref().unwrap_or("—"),
            a.reason.as_deref().unwrap_or("")
        ),
    };
    vec![
        Line::from(Span::styled(cut(&a.summary, 2 * width), theme.text())),
        Line::from(vec![
            Span::styled("args ", theme.dim()),
            Span::styled(cut(&a.arguments.to_string(), width.saturating_sub(5)), theme.text()),
        ]),
        Line::from(Span::styled(
            cut(&format!("{} → {} · risk {} · {when}", a.agent, a.tool, a.risk), width),
            theme.dim(),
        )),
    ]
}

/// The decision dialog's status line: the time left while pending, else what became of it.
pub(super) fn decision_status(a: Option<&Approval>, now: &str, theme: &Theme) -> Line<'static> {
    match a {
        Some(a) if a.status == ApprovalStatus::Pending => Line::from(vec![
            Span::styled("Status: ", theme.accent()),
            Span::styled(format!("pending · asked {}", asked(a, now)), theme.text()),
        ]),
        Some(a) => {
            let by = a.decided_by.as_deref().map(|d| format!(" by {d}")).unwrap_or_default();
            let text = format!("✖ now {}{by}: Enter will be refused · Esc", a.status.as_str());
            Line::from(Span::styled(text, theme.bad()))
        }
        None => Line::from(Span::styled("✖ no longer listed: Enter will be refused · Esc", theme.bad())),
    }
}

/// "3s ago · expires in 1m": how long a pending approval has waited and has left.
fn asked(a: &Approval, now: &str) -> String {
    format!("{} ago · expires in {}", age(&a.created_at, now), age(now, &a.expires_at))
}

/// One approval, with everything needed to decide.
pub fn detail(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme, id: &str) {
    let Some(a) = app.snapshot.approvals.iter().find(|a| a.id == id) else {
        frame.render_widget(Paragraph::new(format!("Approval {id} is gone.")).block(block("Approval", theme)), area);
        return;
    };
    let args = serde_json::to_string_pretty(&a.arguments).unwrap_or_default();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} wants to call ", a.agent), theme.text()),
            Span::styled(a.tool.clone(), theme.accent()),
        ]),
        Line::from(format!(
            "risk {} · status {} · asked {}",
            a.risk,
            a.status.as_str(),
            if a.status == ApprovalStatus::Pending {
                format!("{} ({})", asked(a, &app.snapshot.taken_at), a.expires_at)
            } else {
                format!("{} ago", age(&a.created_at, &app.snapshot.taken_at))
            }
        )),
        Line::from(format!("summary: {}", a.summary)),
        Line::from(match &a.trace_id {
            Some(t) => format!("trace: {t}{}", super::key_note(app, Action::JumpTrace, "opens it")),
            None => "trace: —".to_owned(),
        }),
        Line::from(Span::styled("arguments:", theme.accent())),
    ];
    lines.extend(args.lines().map(|l| Line::from(format!("  {l}"))));
    if let Some(by) = &a.decided_by {
        lines.push(Line::from(format!("decided by {by}: {}", a.reason.as_deref().unwrap_or(""))));
    }
    text_box(frame, area, &format!("Approval {}", a.id), lines, theme);
}
