//! 3 Tools: per tool calls, errors, latency, failure classes, with a trend; sortable.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::ui::app::{App, TOOL_SORTS, tab, tool_rows};
use crate::ui::keymap::Action;
use crate::ui::theme::Theme;
use crate::ui::widgets::{ms, num, pct, spark, table};

/// Draws Tools.
pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let rows = tool_rows(s, app.tool_sort, &app.filter)
        .iter()
        .map(|t| {
            let err_style = match t.error_rate {
                Some(r) if r >= 0.25 => theme.bad(),
                Some(r) if r >= 0.05 => theme.warn(),
                _ => theme.text(),
            };
            // Errors over time, drawn as "good" bars: tall = healthy.
            let trend: Vec<Option<f64>> = s
                .series
                .tool_errors
                .get(&t.name)
                .map(|v| v.iter().map(|e| e.map(|e| 1.0 - e)).collect())
                .unwrap_or_default();
            vec![
                (t.name.clone(), theme.text()),
                (num(t.calls), theme.text()),
                (pct(t.error_rate), err_style),
                (ms(t.p50_ms), theme.text()),
                (ms(t.p95_ms), theme.text()),
                (ms(t.p99_ms), theme.text()),
                (t.authz_failures.to_string(), if t.authz_failures > 0 { theme.bad() } else { theme.dim() }),
                (pct(t.schema_conformance_rate), theme.text()),
                (t.policy_blocks.to_string(), if t.policy_blocks > 0 { theme.warn() } else { theme.dim() }),
                (spark(&trend), err_style),
            ]
        })
        .collect();
    let title = format!("Tools — sorted by {}{}", TOOL_SORTS[app.tool_sort], super::key_note(app, Action::Sort, ""));
    table(
        frame,
        area,
        &title,
        theme,
        &[
            ("tool", 21),
            ("calls", 5),
            ("errors", 6),
            ("p50", 6),
            ("p95", 6),
            ("p99", 6),
            ("authz", 5),
            ("schema✓", 7),
            ("policy", 6),
            ("health", 30),
        ],
        rows,
        Some(app.selected[tab::TOOLS]),
    );
}
