//! 8 Approvals: the inbox of pending actions (oldest first) and recent decisions.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::control::model::ApprovalStatus;
use crate::ui::app::{App, approval_rows, tab};
use crate::ui::theme::Theme;
use crate::ui::widgets::{SHRINKS, age, block, empty, table};

/// The inbox.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let rows = approval_rows(s)
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
    let title = "Approvals — a approve · d deny · Enter details · T trace";
    if rows.is_empty() {
        // Approvals are not windowed: "no data in this window" would send the reader to `t`.
        empty(frame, area, title, theme, "No approvals: no agent has asked for one.");
        return;
    }
    table(
        frame,
        area,
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
        Some(app.selected[tab::APPROVALS]),
    );
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
            "risk {} · status {} · asked {} ago · expires {}",
            a.risk,
            a.status.as_str(),
            age(&a.created_at, &app.snapshot.taken_at),
            a.expires_at
        )),
        Line::from(format!("summary: {}", a.summary)),
        Line::from(format!("trace: {} (T opens it)", a.trace_id.as_deref().unwrap_or("—"))),
        Line::from(Span::styled("arguments:", theme.accent())),
    ];
    lines.extend(args.lines().map(|l| Line::from(format!("  {l}"))));
    if let Some(by) = &a.decided_by {
        lines.push(Line::from(format!("decided by {by}: {}", a.reason.as_deref().unwrap_or(""))));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block(&format!("Approval {}", a.id), theme)).wrap(Wrap { trim: false }),
        area,
    );
}
