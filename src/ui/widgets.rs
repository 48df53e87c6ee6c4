//! Small shared pieces of the views: number formats, sparklines, tables with a selection.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::theme::Theme;

/// A rate as a percentage, `—` when unknown.
pub fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

/// Milliseconds, compactly.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v >= 60_000.0 => format!("{:.1}m", v / 60_000.0),
        Some(v) if v >= 1000.0 => format!("{:.1}s", v / 1000.0),
        Some(v) => format!("{v:.0}ms"),
    }
}

/// Dollars, with more digits for small amounts.
pub fn usd(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v != 0.0 && v.abs() < 1.0 => format!("${v:.3}"),
        Some(v) => format!("${v:.2}"),
    }
}

/// Counts, compactly.
pub fn num(n: u64) -> String {
    match n {
        n if n >= 10_000_000 => format!("{:.0}M", n as f64 / 1e6),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// A count and its noun, singular for one ("1 alert", "3 alerts", "12k agents").
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{} {noun}s", num(n)) }
}

/// A rate per second: a decimal under 10 (a few events over a window read 0.2, not 0), then as
/// [`num`].
pub fn per_second(rate: f64) -> String {
    if rate < 10.0 { format!("{rate:.1}") } else { num(rate.round() as u64) }
}

/// A sparkline of rates in 0..=1 (gaps as spaces).
pub fn spark(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values.iter().map(|v| v.map_or(' ', |v| BARS[((v.clamp(0.0, 1.0) * 7.0).round()) as usize])).collect()
}

/// A sparkline of magnitudes, scaled to their maximum.
pub fn spark_abs(values: &[f64]) -> String {
    let max = values.iter().copied().fold(0.0, f64::max);
    let scaled: Vec<Option<f64>> = values.iter().map(|v| Some(if max > 0.0 { v / max } else { 0.0 })).collect();
    spark(&scaled)
}

/// A titled block.
pub fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(format!(" {title} "), theme.accent()))
}

/// Style for a success rate against 90% / 75%.
pub fn rate_style(v: Option<f64>, theme: &Theme) -> Style {
    match v {
        Some(v) if v < 0.75 => theme.bad(),
        Some(v) if v < 0.90 => theme.warn(),
        Some(_) => theme.good(),
        None => theme.dim(),
    }
}

/// A titled box saying there is nothing to list, and why.
pub fn empty(frame: &mut Frame<'_>, area: Rect, title: &str, theme: &Theme, text: &str) {
    let p = Paragraph::new(Line::from(Span::styled(text, theme.dim()))).block(block(title, theme));
    frame.render_widget(p, area);
}

/// Or'd into a column's width: the column may shrink to the room left (at least
/// [`MIN_SHRUNK`] columns) instead of being left off, its texts cut with an ellipsis. For the
/// free text that says most about a row (an incident's title, an approval's summary).
pub const SHRINKS: u16 = 1 << 15;

/// The narrowest a [`SHRINKS`] column is shown.
const MIN_SHRUNK: u16 = 12;

/// A table with a header, a selected row and column widths; leaves off the columns that do not
/// fit, from the right, after shrinking a [`SHRINKS`] column to the room left. Every cell is cut
/// to its column's width here, with an ellipsis, so rows pass their texts whole.
pub fn table(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    theme: &Theme,
    head: &[(&str, u16)],
    rows: Vec<Vec<(String, Style)>>,
    selected: Option<usize>,
) {
    if rows.is_empty() {
        empty(frame, area, title, theme, "No data in this window.");
        return;
    }
    // Keep columns from the left while they fit (the first column is the identity). The
    // selection marker takes two columns: left out of the sum, it made ratatui squeeze the
    // first column and cut names without their ellipsis.
    let marker = if selected.is_some() { 2 } else { 0 };
    let inner = area.width.saturating_sub(2 + marker);
    let mut used = 0u16;
    let mut widths: Vec<u16> = Vec::with_capacity(head.len());
    for (i, (_, w)) in head.iter().enumerate() {
        let (w, shrinks) = (w & !SHRINKS, w & SHRINKS != 0);
        // One column of spacing between neighbours.
        let start = used + u16::from(i > 0);
        let w = if shrinks && start + w > inner { inner.saturating_sub(start).max(MIN_SHRUNK) } else { w };
        if i > 0 && start + w > inner {
            break;
        }
        used = start + w;
        widths.push(w);
    }
    let keep = widths.len();
    // Room left over goes to the columns whose texts it would make whole, leftmost first: a
    // name cut at its column's width beside empty room helps no one.
    let mut spare = inner.saturating_sub(used);
    for (i, w) in widths.iter_mut().enumerate() {
        if spare == 0 {
            break;
        }
        let longest =
            rows.iter().filter_map(|r| r.get(i)).map(|(t, _)| Span::raw(t.as_str()).width()).max().unwrap_or(0);
        let grow = u16::try_from(longest).unwrap_or(u16::MAX).saturating_sub(*w).min(spare);
        *w += grow;
        spare -= grow;
    }
    let header = Row::new(head[..keep].iter().map(|(h, _)| Cell::from(Span::styled(*h, theme.accent()))));
    let body: Vec<Row> = rows
        .into_iter()
        .map(|r| {
            Row::new(r.into_iter().zip(&widths).map(|((text, style), w)| {
                // Cut here, with an ellipsis: ratatui would cut silently.
                let span = Span::styled(text, style);
                if span.width() > usize::from(*w) {
                    Cell::from(Span::styled(cut(&span.content, usize::from(*w)), style))
                } else {
                    Cell::from(span)
                }
            }))
        })
        .collect();
    let widths: Vec<Constraint> = widths.into_iter().map(Constraint::Length).collect();
    let t = Table::new(body, widths)
        .header(header)
        .block(block(title, theme))
        .row_highlight_style(theme.selected())
        .highlight_symbol("▶ ");
    let mut state = TableState::default();
    state.select(selected);
    frame.render_stateful_widget(t, area, &mut state);
}

/// A titled box of text lines, wrapped at its width (details, previews, help, confirmations).
pub fn text_box(frame: &mut Frame<'_>, area: Rect, title: &str, lines: Vec<Line<'_>>, theme: &Theme) {
    frame.render_widget(Paragraph::new(lines).block(block(title, theme)).wrap(Wrap { trim: false }), area);
}

/// Rows a preview box under a list takes, borders included: four lines of text.
const PREVIEW: u16 = 6;

/// Splits a list's area into the list and a preview box under it, for the selected row's
/// whole text, when the area has room for both (a header, a few rows, the box); else the list
/// keeps it all. At 80 columns a list cuts its free text to what fits; the preview shows it.
pub fn with_preview(area: Rect) -> (Rect, Option<Rect>) {
    if area.height < PREVIEW + 8 {
        return (area, None);
    }
    let [list, preview] = Layout::vertical([Constraint::Min(0), Constraint::Length(PREVIEW)]).areas(area);
    (list, Some(preview))
}

/// Cuts a string to `max` characters, with an ellipsis.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// "3m ago"-style age of an RFC 3339 time relative to another.
pub fn age(then: &str, now: &str) -> String {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    match (parse(then), parse(now)) {
        (Some(t), Some(n)) => {
            let secs = (n - t).num_seconds().max(0);
            match secs {
                s if s < 60 => format!("{s}s"),
                s if s < 3600 => format!("{}m", s / 60),
                s if s < 86_400 => format!("{}h", s / 3600),
                s => format!("{}d", s / 86_400),
            }
        }
        _ => "—".into(),
    }
}
