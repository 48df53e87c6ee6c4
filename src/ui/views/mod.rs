//! Views: pure functions of the app state, drawn into a frame.

mod approvals;
mod cost;
mod drift;
mod incidents;
mod outcomes;
mod overview;
mod safety;
mod tools;
mod traces;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::app::{App, Field, Mode, Page, Pending, TABS, WINDOWS, tab};
use super::keymap::{Action, BINDINGS, Keymap, display};
use super::theme::Theme;
use super::widgets::{block, counted, cut, num, per_second, text_box};
use crate::control::model::ApprovalStatus;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App, theme: &Theme) {
    let area = frame.area();
    let [header, tabs, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)])
            .areas(area);
    draw_header(frame, header, app, theme);
    draw_tabs(frame, tabs, app, theme);
    match app.stack.last() {
        Some(Page::Trace(_)) | Some(Page::Span(_)) => traces::page(frame, body, app, theme),
        Some(Page::Approval(id)) => approvals::detail(frame, body, app, theme, id),
        Some(Page::Incident(id)) => incidents::detail(frame, body, app, theme, *id),
        None => match app.tab {
            tab::OVERVIEW => overview::draw(frame, body, app, theme),
            tab::OUTCOMES => outcomes::draw(frame, body, app, theme),
            tab::TOOLS => tools::draw(frame, body, app, theme),
            tab::SAFETY => safety::draw(frame, body, app, theme),
            tab::COST => cost::draw(frame, body, app, theme),
            tab::DRIFT => drift::draw(frame, body, app, theme),
            tab::TRACES => traces::list(frame, body, app, theme),
            tab::APPROVALS => approvals::draw(frame, body, app, theme),
            _ => incidents::draw(frame, body, app, theme),
        },
    }
    draw_footer(frame, footer, app, theme);
    match &app.mode {
        Mode::Help => draw_help(frame, area, app, theme),
        Mode::Confirm(c) => draw_confirm(frame, area, app, c, theme),
        _ => {}
    }
}

/// The header's parts, by how long they stay when the bar is narrow: a part with a higher
/// number goes first. The states an operator must not miss (stale data, read-only, an open
/// incident, alerts) stay longest; the product's name goes early.
mod keep {
    pub const STATE: u8 = 0;
    pub const INCIDENT: u8 = 1;
    pub const ALERTS: u8 = 2;
    pub const PENDING: u8 = 3;
    pub const WINDOW: u8 = 4;
    pub const RATE: u8 = 5;
    pub const AGENTS: u8 = 7;
    pub const NAME: u8 = 8;
    pub const CONSOLES: u8 = 9;
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let alerts = s.summary.alerts.len();
    let pending = s.approvals.iter().filter(|a| a.status == ApprovalStatus::Pending).count();
    let open =
        s.incidents.iter().filter(|i| i.status == "open").max_by_key(|i| (std::cmp::Reverse(i.sev.clone()), i.id));
    let mut parts = vec![
        (keep::NAME, Span::styled("AgentOps Cockpit", theme.accent())),
        (keep::WINDOW, Span::raw(format!("window {}", WINDOWS[app.window].0))),
        (keep::RATE, Span::raw(format!("{}/s in", num(s.ingest_rate.round() as u64)))),
        (keep::AGENTS, Span::raw(counted(s.summary.agents.len().max(s.policy.effective.len()) as u64, "agent"))),
        (
            keep::ALERTS,
            if alerts > 0 {
                Span::styled(format!("⚠ {}", counted(alerts as u64, "alert")), theme.bad())
            } else {
                Span::styled("✓ no alerts", theme.good())
            },
        ),
        (
            keep::PENDING,
            if pending > 0 {
                Span::styled(format!("✋ {pending} pending"), theme.warn())
            } else {
                Span::raw("0 pending")
            },
        ),
    ];
    if let Some(i) = open {
        parts.push((keep::INCIDENT, Span::styled(format!("🔥 {} #{} open", i.sev, i.id), theme.bad())));
    }
    if s.refused_rate > 0.0 {
        // The figures miss what refused exports carried: as easy to miss, and as important, as
        // stale data (the rate alone read "82k/s in" while 40% of the exports were refused).
        parts
            .push((keep::STATE, Span::styled(format!("⚠ shedding {} req/s", per_second(s.refused_rate)), theme.bad())));
    }
    if s.policy.read_only {
        parts.push((keep::STATE, Span::styled("READ-ONLY", theme.warn())));
    }
    match &app.conn {
        super::app::Conn::Local => {}
        super::app::Conn::Connecting => parts.push((keep::STATE, Span::styled("connecting…", theme.warn()))),
        super::app::Conn::Live => parts.push((keep::STATE, Span::styled("● live", theme.good()))),
        super::app::Conn::Stale { age_secs, .. } => {
            parts.push((keep::STATE, Span::styled(format!("⚠ STALE {age_secs}s — reconnecting"), theme.bad())));
        }
    }
    if let Some(c) = s.consoles {
        parts.push((keep::CONSOLES, Span::raw(counted(u64::from(c), "console"))));
    }
    // Leave out the parts that go first until the rest fits (a space before, " │ " between).
    let width = |parts: &[(u8, Span<'_>)]| 1 + parts.iter().map(|(_, p)| p.width() + 3).sum::<usize>() - 3;
    while parts.len() > 1 && width(&parts) > usize::from(area.width) {
        let Some(drop) = parts.iter().enumerate().max_by_key(|(_, (k, _))| *k).map(|(i, _)| i) else { break };
        parts.remove(drop);
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, (_, part)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", theme.dim()));
        }
        spans.push(part);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.header()), area);
}

fn draw_tabs(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    const SHORT: [&str; 9] = ["Ovw", "Out", "Tools", "Safe", "Cost", "Drift", "Trace", "Appr", "Inc"];
    let narrow = area.width < 110;
    let mut spans = Vec::new();
    for (i, name) in TABS.iter().enumerate() {
        let label = if narrow { SHORT[i] } else { name };
        let text = format!(" {} {label} ", i + 1);
        let style = if i == app.tab { theme.selected().add_modifier(Modifier::UNDERLINED) } else { theme.text() };
        spans.push(Span::styled(text, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// One hint in the footer or a title: a key's action and what it does here, or a command.
enum Hint {
    /// The action's first key, then the label.
    Key(Action, &'static str),
    /// Two actions' first keys as `a/b`, then the label.
    Pair(Action, Action, &'static str),
    /// The tabs' keys as a range, `1-9 tabs`.
    Tabs,
    /// A command to type, shown as it is.
    Text(&'static str),
}

/// The footer's hints for what is on screen.
fn hints_for(app: &App) -> &'static [Hint] {
    use Action::*;
    use Hint::{Key, Pair, Tabs, Text};
    match (app.tab, app.stack.last()) {
        (_, Some(Page::Trace(_))) => {
            &[Pair(Down, Up, "span"), Key(Enter, "attributes"), Key(Back, "back"), Key(Help, "help")]
        }
        (_, Some(Page::Span(_))) => &[Key(Back, "back to the waterfall"), Key(Help, "help")],
        (_, Some(Page::Approval(_))) => {
            &[Key(Approve, "approve"), Key(Deny, "deny"), Key(JumpTrace, "trace"), Key(Back, "back")]
        }
        (_, Some(Page::Incident(_))) => {
            &[Key(JumpTrace, "trace"), Key(Export, "export"), Text(":note"), Text(":resolve"), Key(Back, "back")]
        }
        (tab::OVERVIEW, _) => &[
            Key(Enter, "runs"),
            Key(Kill, "kill"),
            Key(Rollback, "rollback"),
            Key(Command, "cmd"),
            Key(Filter, "filter"),
            Key(Window, "window"),
            Key(Help, "help"),
            Key(Quit, "quit"),
        ],
        (tab::TOOLS, _) => &[
            Key(Sort, "sort"),
            Key(Filter, "filter"),
            Key(Command, "cmd"),
            Key(Window, "window"),
            Key(Help, "help"),
            Key(Quit, "quit"),
        ],
        (tab::SAFETY, _) => {
            &[Key(JumpTrace, "trace"), Key(Command, "cmd"), Key(Window, "window"), Key(Help, "help"), Key(Quit, "quit")]
        }
        (tab::TRACES, _) => &[
            Key(Enter, "waterfall"),
            Key(Filter, "filter"),
            Key(Kill, "kill"),
            Key(Window, "window"),
            Key(Help, "help"),
            Key(Quit, "quit"),
        ],
        (tab::APPROVALS, _) => &[
            Key(Approve, "approve"),
            Key(Deny, "deny"),
            Key(Enter, "details"),
            Key(JumpTrace, "trace"),
            Key(Help, "help"),
        ],
        (tab::INCIDENTS, _) => &[
            Key(Enter, "timeline"),
            Key(Export, "export"),
            Key(JumpTrace, "trace"),
            Key(Command, "cmd"),
            Key(Help, "help"),
        ],
        _ => &[
            Tabs,
            Key(Command, "cmd"),
            Key(Filter, "filter"),
            Key(Window, "window"),
            Key(Help, "help"),
            Key(Quit, "quit"),
        ],
    }
}

/// Hints with the keys in force (config may rebind them), joined by `sep`; a hint whose action
/// has no key is left out rather than shown with one that does nothing.
fn keyed(keymap: &Keymap, hints: &[Hint], sep: &str) -> String {
    let shown: Vec<String> = hints
        .iter()
        .filter_map(|h| match h {
            Hint::Key(a, label) => keymap.shown(*a).map(|k| format!("{k} {label}")),
            Hint::Pair(a, b, label) => Some(format!("{}/{} {label}", keymap.shown(*a)?, keymap.shown(*b)?)),
            Hint::Tabs => Some(format!("{}-{} tabs", keymap.shown(Action::Tab(1))?, keymap.shown(Action::Tab(9))?)),
            Hint::Text(t) => Some((*t).to_owned()),
        })
        .collect();
    shown.join(sep)
}

/// What the Approvals list's title says its keys do.
const APPROVAL_KEYS: &[Hint] = &[
    Hint::Key(Action::Approve, "approve"),
    Hint::Key(Action::Deny, "deny"),
    Hint::Key(Action::Enter, "details"),
    Hint::Key(Action::JumpTrace, "trace"),
];

/// What the Incidents list's title says its keys do.
const INCIDENT_KEYS: &[Hint] = &[Hint::Key(Action::Enter, "timeline"), Hint::Key(Action::Export, "export")];

/// ` (K what)`: a key's note in a title or a line, with the key in force; nothing when the
/// action has no key.
fn key_note(app: &App, action: Action, what: &str) -> String {
    match (app.keymap.shown(action), what) {
        (None, _) => String::new(),
        (Some(k), "") => format!(" ({k})"),
        (Some(k), what) => format!(" ({k} {what})"),
    }
}

/// A list's title: its name, then what its keys do there (`Approvals — a approve · d deny`).
fn titled(app: &App, name: &str, hints: &[Hint]) -> String {
    format!("{name} — {}", keyed(&app.keymap, hints, " · "))
}

fn draw_footer(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let line = match &app.mode {
        Mode::Command => Line::from(vec![
            Span::styled(":", theme.accent()),
            Span::raw(app.input.clone()),
            Span::styled("█", theme.dim()),
        ]),
        Mode::Filter => Line::from(vec![
            Span::styled("/", theme.accent()),
            Span::raw(app.filter.clone()),
            Span::styled("█", theme.dim()),
        ]),
        _ => {
            let mut spans =
                vec![Span::styled(cut(&app.breadcrumb(), 40), theme.accent()), Span::styled(" │ ", theme.dim())];
            if !app.filter.is_empty() {
                spans.push(Span::styled(format!("/{} ", app.filter), theme.warn()));
            }
            // A message longer than the room left ends in "…" rather than at the edge.
            let room = usize::from(area.width).saturating_sub(spans.iter().map(Span::width).sum());
            match &app.message {
                Some((m, true)) => spans.push(Span::styled(cut(&format!("✖ {m}"), room), theme.bad())),
                Some((m, false)) => spans.push(Span::styled(cut(m, room), theme.good())),
                None => spans.push(Span::styled(keyed(&app.keymap, hints_for(app), "  "), theme.dim())),
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// A rectangle centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// Width of one column of the help.
const HELP_W: u16 = 78;

fn draw_help(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    // The keys in force, with each action's name for `[keys]` in config.
    let mut keys: Vec<Line> = Vec::new();
    for (name, action, _, text) in BINDINGS {
        let bound: Vec<&str> = app.keymap.keys_for(*action).iter().map(|k| display(k)).collect();
        let bound = if bound.is_empty() { "(none)".to_owned() } else { bound.join(" ") };
        keys.push(Line::from(vec![
            Span::styled(format!("{bound:>14}  "), theme.accent()),
            Span::raw(format!("{text:<44} ")),
            Span::styled(*name, theme.dim()),
        ]));
    }
    let commands: Vec<Line> = super::app::COMMANDS
        .iter()
        .map(|(c, args)| {
            Line::from(vec![Span::styled(format!("{:>14}  ", format!(":{c}")), theme.accent()), Span::raw(*args)])
        })
        .collect();
    // Side by side when both columns fit whole (a wide terminal), so nothing needs scrolling.
    let tall = keys.len().max(commands.len()) as u16 + 2;
    if area.width >= 2 * HELP_W && area.height >= tall + 2 {
        let r = centered(area, 2 * HELP_W, tall);
        let left = Rect { width: HELP_W, ..r };
        let right = Rect { x: r.x + HELP_W, width: HELP_W, ..r };
        frame.render_widget(Clear, r);
        text_box(frame, left, "Help — Esc closes", keys, theme);
        text_box(frame, right, "Commands (:)", commands, theme);
        return;
    }
    let r = centered(area, HELP_W, area.height.saturating_sub(2));
    let mut lines = keys;
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Commands (:)", theme.accent())));
    lines.extend(commands);
    let total = lines.len();
    let at = app.help_line.min(total.saturating_sub(1));
    // Scroll so the highlighted line is on screen; say where the view is when not all fits.
    let rows = usize::from(r.height.saturating_sub(2)).max(1);
    let first = (at + 1).saturating_sub(rows);
    let title = if total > rows {
        let scroll = keyed(&app.keymap, &[Hint::Pair(Action::Down, Action::Up, "scroll")], "");
        format!("Help — {scroll} · Esc closes · {}–{} of {total}", first + 1, (first + rows).min(total))
    } else {
        "Help — Esc closes".to_owned()
    };
    if let Some(line) = lines.get_mut(at) {
        *line = std::mem::take(line).patch_style(theme.selected());
    }
    frame.render_widget(Clear, r);
    text_box(frame, r, &title, lines.split_off(first), theme);
}

fn draw_confirm(frame: &mut Frame<'_>, area: Rect, app: &App, c: &super::app::Confirm, theme: &Theme) {
    let mut lines: Vec<Line> = c.lines.iter().map(|l| Line::from(l.as_str())).collect();
    // An approval's status as of the latest snapshot, not as it was when the dialog opened: the
    // time left runs down while the reason is typed, and another console may decide it first.
    if let Pending::Decide { id, .. } = &c.pending {
        lines.push(approvals::decision_status(
            app.snapshot.approvals.iter().find(|a| &a.id == id),
            &app.snapshot.taken_at,
            theme,
        ));
    }
    lines.push(Line::from(""));
    let field = |label: &str, value: &str, active: bool| {
        Line::from(vec![
            Span::styled(format!("{label}: "), theme.accent()),
            Span::styled(value.to_owned(), if active { theme.selected() } else { theme.text() }),
            Span::styled(if active { "█" } else { "" }, theme.dim()),
        ])
    };
    lines.push(field("Reason (required)", &c.reason, c.field == Field::Reason));
    if let Some(t) = &c.target {
        lines.push(field(&format!("Type {t:?} to confirm"), &c.typed, c.field == Field::Target));
    }
    if let Some(p) = &c.problem {
        lines.push(Line::from(Span::styled(format!("✖ {p}"), theme.bad())));
    }
    lines.push(Line::from(Span::styled("Enter confirms · Esc cancels (nothing changes)", theme.dim())));
    // As tall as its lines once wrapped (a long argument list takes several), borders included.
    const W: u16 = 76;
    let dialog = Paragraph::new(lines).block(block(&c.title, theme)).wrap(Wrap { trim: false });
    let rows = dialog.line_count(W - 2);
    let r = centered(area, W, u16::try_from(rows).unwrap_or(u16::MAX).min(area.height));
    frame.render_widget(Clear, r);
    frame.render_widget(dialog, r);
}
