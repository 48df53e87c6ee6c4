//! TUI state and the pure update: keys and data in, state and effects out. Views are functions
//! of this state; tests drive `update` without a terminal.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use super::data::Snapshot;
use super::keymap::{self, Action, BINDINGS, Keymap};
use crate::analytics::figures::ToolRow;
use crate::control::model::{ActionRequest, Approval, ApprovalStatus, Incident};
use crate::control::policy::{Effective, Tools};
use crate::store::query::{Filter, RunRow, TraceView, run_matches};

/// Tab titles, in key order.
pub const TABS: [&str; 9] =
    ["Overview", "Outcomes", "Tools", "Safety", "Cost", "Drift", "Traces", "Approvals", "Incidents"];
/// The windows `t` cycles through.
pub const WINDOWS: [(&str, u64); 6] =
    [("5m", 300), ("15m", 900), ("1h", 3600), ("6h", 21_600), ("24h", 86_400), ("7d", 604_800)];

/// Tab indexes.
pub mod tab {
    #![allow(missing_docs)]
    pub const OVERVIEW: usize = 0;
    pub const OUTCOMES: usize = 1;
    pub const TOOLS: usize = 2;
    pub const SAFETY: usize = 3;
    pub const COST: usize = 4;
    pub const DRIFT: usize = 5;
    pub const TRACES: usize = 6;
    pub const APPROVALS: usize = 7;
    pub const INCIDENTS: usize = 8;
}

/// A drill-down page on top of a tab.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    /// The waterfall of a trace.
    Trace(String),
    /// One span's attributes and events (index into the loaded trace).
    Span(usize),
    /// One approval's details.
    Approval(String),
    /// One incident's timeline.
    Incident(i64),
}

/// What a confirmed dialog does.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// Pull a lever.
    Act(ActionRequest),
    /// Decide an approval.
    Decide {
        /// Approval id.
        id: String,
        /// Approve or deny.
        approve: bool,
    },
    /// Resolve an incident.
    Resolve(i64),
}

/// Which field of the confirmation is being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The reason.
    Reason,
    /// The typed target name (fleet-wide levers).
    Target,
}

/// A confirmation: what changes, its blast radius, a reason, and for fleet-wide levers the
/// typed target name. Nothing takes effect without it.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    /// Title.
    pub title: String,
    /// What changes, and who is touched.
    pub lines: Vec<String>,
    /// What happens on Enter.
    pub pending: Pending,
    /// The reason typed so far.
    pub reason: String,
    /// The word to type, for fleet-wide levers.
    pub target: Option<String>,
    /// What was typed of it.
    pub typed: String,
    /// The field being typed.
    pub field: Field,
    /// A problem with what was typed.
    pub problem: Option<String>,
}

/// Input modes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Keys are actions.
    Normal,
    /// Typing a filter.
    Filter,
    /// Typing a command.
    Command,
    /// The help overlay.
    Help,
    /// A confirmation dialog.
    Confirm(Box<Confirm>),
}

/// What the outside world must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Load a trace.
    LoadTrace(String),
    /// Pull a lever.
    Act(ActionRequest),
    /// Decide an approval.
    Decide {
        /// Id.
        id: String,
        /// Approve?
        approve: bool,
        /// Why.
        reason: String,
    },
    /// Open an incident.
    OpenIncident {
        /// Severity.
        sev: String,
        /// Title.
        title: String,
        /// Agent.
        agent: Option<String>,
    },
    /// Note, link a run, resolve.
    IncidentUpdate {
        /// Incident.
        id: i64,
        /// note, run, resolved.
        kind: String,
        /// Text.
        text: String,
        /// Trace id for runs.
        trace_id: Option<String>,
    },
    /// Export an incident as Markdown to a file.
    Export(i64),
    /// The window changed: refresh now.
    Window(u64),
    /// Start a scripted demo incident.
    DemoIncident(String),
}

/// Messages into the update.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key.
    Key(KeyEvent),
    /// A fresh snapshot.
    Snapshot(Arc<Snapshot>),
    /// A trace arrived.
    Trace(String, Result<Option<TraceView>, String>),
    /// An effect finished: a one-line outcome.
    Done(Result<String, String>),
    /// Redraw (resize).
    Redraw,
    /// The connection to an attached engine changed.
    Conn(Conn),
}

/// An attached console's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    /// In the same process: always live.
    Local,
    /// Waiting for the first snapshot.
    Connecting,
    /// Snapshots arrive.
    Live,
    /// The last snapshot is this old; reconnecting with backoff.
    Stale {
        /// Age of the data shown, seconds.
        age_secs: u64,
        /// Why.
        error: String,
    },
}

/// The app.
#[derive(Debug, Clone)]
pub struct App {
    /// Current tab.
    pub tab: usize,
    /// Index into `WINDOWS`.
    pub window: usize,
    /// Input mode.
    pub mode: Mode,
    /// The filter of the current list.
    pub filter: String,
    /// The command line.
    pub input: String,
    /// Selected row per tab.
    pub selected: [usize; 9],
    /// Per tab, whether the operator has put the cursor on a row (moved it, or acted on the row
    /// under it): from then on it follows that row's agent, run, approval or incident.
    pub pointed: [bool; 9],
    /// Selected row on the current drill-down page.
    pub page_sel: usize,
    /// Tools table sort column.
    pub tool_sort: usize,
    /// Drill-down stack.
    pub stack: Vec<Page>,
    /// The help's highlighted line; the overlay scrolls to keep it in view.
    pub help_line: usize,
    /// The trace loaded for the Trace page.
    pub trace: Option<TraceView>,
    /// The data.
    pub snapshot: Arc<Snapshot>,
    /// A message for the footer (text, is an error), in place of the key hints until the next key.
    pub message: Option<(String, bool)>,
    /// Quit requested.
    pub quit: bool,
    /// Bindings.
    pub keymap: Keymap,
    /// Connection state (attached consoles).
    pub conn: Conn,
    /// This console's name, when attached.
    pub console: Option<String>,
}

impl App {
    /// A fresh app on the 1h window.
    pub fn new(keymap: Keymap) -> Self {
        Self {
            tab: tab::OVERVIEW,
            window: 2,
            mode: Mode::Normal,
            filter: String::new(),
            input: String::new(),
            selected: [0; 9],
            pointed: [false; 9],
            page_sel: 0,
            tool_sort: 0,
            stack: Vec::new(),
            help_line: 0,
            trace: None,
            snapshot: Arc::new(Snapshot::default()),
            message: None,
            quit: false,
            keymap,
            conn: Conn::Local,
            console: None,
        }
    }

    /// What this console is looking at, for presence: an approval's id.
    pub fn viewing(&self) -> Option<String> {
        match self.stack.last() {
            Some(Page::Approval(id)) => Some(format!("approval:{id}")),
            None if self.tab == tab::APPROVALS => {
                approval_rows(&self.snapshot).get(self.selected[tab::APPROVALS]).map(|a| format!("approval:{}", a.id))
            }
            _ => None,
        }
    }

    /// Other consoles looking at the same target.
    pub fn others_viewing(&self, target: &str) -> Vec<String> {
        self.snapshot
            .viewing
            .get(target)
            .map(|v| v.iter().filter(|c| Some(*c) != self.console.as_ref()).cloned().collect())
            .unwrap_or_default()
    }

    /// The window in seconds.
    pub fn window_seconds(&self) -> u64 {
        WINDOWS[self.window].1
    }

    /// Levers are disabled.
    pub fn read_only(&self) -> bool {
        self.snapshot.policy.read_only
    }

    /// The breadcrumb: tab › page › page.
    pub fn breadcrumb(&self) -> String {
        let mut parts = vec![TABS[self.tab].to_owned()];
        for p in &self.stack {
            parts.push(match p {
                Page::Trace(t) => format!("trace {}", &t[..t.len().min(8)]),
                Page::Span(i) => {
                    self.trace.as_ref().and_then(|t| t.spans.get(*i)).map_or("span".into(), |s| s.name.clone())
                }
                Page::Approval(id) => id.clone(),
                Page::Incident(id) => format!("incident {id}"),
            });
        }
        parts.join(" › ")
    }
}

/// An agent's state word and glyph: never colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Running, no restrictions.
    Live,
    /// Kill switch tripped (or the fleet's).
    Killed,
    /// Allowlist or approval mode in force.
    Restricted,
    /// Pinned to a version.
    Pinned,
}

impl AgentState {
    /// Of an effective policy.
    pub fn of(e: Option<&Effective>) -> Self {
        match e {
            None => Self::Live,
            Some(e) if !e.enabled => Self::Killed,
            Some(e) if !e.pin.is_empty() => Self::Pinned,
            Some(e) if e.tools_flag() != Tools::All || e.approval != crate::control::policy::ApprovalMode::None => {
                Self::Restricted
            }
            Some(_) => Self::Live,
        }
    }

    /// Glyph and word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Live => "● live",
            Self::Killed => "✖ KILLED",
            Self::Restricted => "◐ restricted",
            Self::Pinned => "⚲ pinned",
        }
    }
}

/// One Overview row.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentLine {
    /// Name.
    pub name: String,
    /// State.
    pub state: AgentState,
    /// Version.
    pub version: String,
    /// Runs in the window.
    pub runs: u64,
    /// Success rate.
    pub success: Option<f64>,
    /// p95 run latency, ms.
    pub p95_ms: Option<f64>,
    /// Cost per hour.
    pub cost_per_hour: Option<f64>,
    /// Guardrail trips.
    pub trips: u64,
    /// Pending approvals.
    pub pending: u64,
}

/// The Overview's rows: every agent in the figures or the policy.
pub fn agent_lines(s: &Snapshot) -> Vec<AgentLine> {
    let mut names: std::collections::BTreeSet<&str> = s.summary.agents.iter().map(|a| a.name.as_str()).collect();
    names.extend(s.policy.effective.keys().map(String::as_str));
    names
        .into_iter()
        .map(|name| {
            let row = s.summary.agents.iter().find(|a| a.name == name);
            AgentLine {
                name: name.to_owned(),
                state: AgentState::of(s.policy.effective.get(name)),
                version: row.map_or_else(|| "—".into(), |r| r.version.clone()),
                runs: row.map_or(0, |r| r.runs),
                success: row.and_then(|r| r.success_rate),
                p95_ms: row.and_then(|r| r.p95_ms),
                cost_per_hour: row.and_then(|r| r.cost_per_hour_usd),
                trips: row.map_or(0, |r| r.guardrail_trips),
                pending: s.approvals.iter().filter(|a| a.agent == name && a.status == ApprovalStatus::Pending).count()
                    as u64,
            }
        })
        .collect()
}

/// Tools sort columns (name, calls, error rate, p95, authz, schema, policy); each puts the worst
/// first, so "schema" puts the most schema failures (the lowest conformance) first.
pub const TOOL_SORTS: [&str; 7] = ["name", "calls", "error rate", "p95", "authz", "schema", "policy"];

/// The Tools rows, sorted.
pub fn tool_rows(s: &Snapshot, sort: usize, filter: &str) -> Vec<ToolRow> {
    let f = Filter::parse(filter);
    let mut rows: Vec<ToolRow> = s.summary.tools.iter().filter(|t| f.matches(&t.name)).cloned().collect();
    let key = |t: &ToolRow| -> f64 {
        match sort {
            1 => t.calls as f64,
            2 => t.error_rate.unwrap_or(0.0),
            3 => t.p95_ms.unwrap_or(0.0),
            4 => t.authz_failures as f64,
            5 => t.schema_failures as f64,
            6 => t.policy_blocks as f64,
            _ => 0.0,
        }
    };
    if sort == 0 {
        rows.sort_by(|a, b| a.name.cmp(&b.name));
    } else {
        rows.sort_by(|a, b| key(b).total_cmp(&key(a)));
    }
    rows
}

/// The Traces rows after the filter.
pub fn visible_runs<'a>(s: &'a Snapshot, filter: &str) -> Vec<&'a RunRow> {
    let f = Filter::parse(filter);
    s.runs.iter().filter(|r| run_matches(r, &f)).collect()
}

/// Approvals: pending first (oldest first), then decided (newest first).
pub fn approval_rows(s: &Snapshot) -> Vec<&Approval> {
    let mut pending: Vec<&Approval> = s.approvals.iter().filter(|a| a.status == ApprovalStatus::Pending).collect();
    pending.sort_by_key(|a| a.created_ms);
    let decided = s.approvals.iter().filter(|a| a.status != ApprovalStatus::Pending);
    pending.into_iter().chain(decided).collect()
}

/// Incidents: open first, newest first.
pub fn incident_rows(s: &Snapshot) -> Vec<&Incident> {
    let mut rows: Vec<&Incident> = s.incidents.iter().collect();
    rows.sort_by_key(|i| (i.status != "open", std::cmp::Reverse(i.id)));
    rows
}

fn list_len(app: &App) -> usize {
    let s = &app.snapshot;
    match app.stack.last() {
        Some(Page::Trace(_)) => return app.trace.as_ref().map_or(0, |t| t.spans.len()),
        Some(Page::Span(_)) | Some(Page::Approval(_)) => return 0,
        Some(Page::Incident(id)) => return s.incidents.iter().find(|i| i.id == *id).map_or(0, |i| i.timeline.len()),
        None => {}
    }
    match app.tab {
        tab::OVERVIEW => agent_lines(s).len(),
        tab::OUTCOMES => s.summary.outcomes.by_scenario.len(),
        tab::TOOLS => tool_rows(s, app.tool_sort, &app.filter).len(),
        tab::SAFETY => s.guard_events.len(),
        tab::COST => s.summary.models.len(),
        tab::DRIFT => s.summary.drift.len(),
        tab::TRACES => visible_runs(s, &app.filter).len(),
        tab::APPROVALS => approval_rows(s).len(),
        _ => incident_rows(s).len(),
    }
}

fn cursor(app: &mut App) -> &mut usize {
    if app.stack.is_empty() { &mut app.selected[app.tab] } else { &mut app.page_sel }
}

fn clamp(app: &mut App) {
    let n = list_len(app);
    let c = cursor(app);
    *c = if n == 0 { 0 } else { (*c).min(n - 1) };
}

fn selected_agent(app: &App) -> Option<String> {
    match app.tab {
        tab::OVERVIEW => agent_lines(&app.snapshot).get(app.selected[tab::OVERVIEW]).map(|a| a.name.clone()),
        tab::TRACES => visible_runs(&app.snapshot, &app.filter).get(app.selected[tab::TRACES]).map(|r| r.agent.clone()),
        _ => None,
    }
}

fn selected_approval(app: &App) -> Option<Approval> {
    match app.stack.last() {
        Some(Page::Approval(id)) => app.snapshot.approvals.iter().find(|a| &a.id == id).cloned(),
        _ if app.tab == tab::APPROVALS => {
            approval_rows(&app.snapshot).get(app.selected[tab::APPROVALS]).map(|a| (*a).clone())
        }
        _ => None,
    }
}

fn selected_incident(app: &App) -> Option<Incident> {
    match app.stack.last() {
        Some(Page::Incident(id)) => app.snapshot.incidents.iter().find(|i| i.id == *id).cloned(),
        _ if app.tab == tab::INCIDENTS => {
            incident_rows(&app.snapshot).get(app.selected[tab::INCIDENTS]).map(|i| (*i).clone())
        }
        _ => None,
    }
}

/// Each row's identity in a tab's list, for the lists whose cursor follows its row: a fresh
/// snapshot reorders the rows (an approval decided elsewhere drops below the pending ones, a new
/// incident goes on top, new runs push the older down), and the cursor stays on the same agent,
/// run, approval or incident rather than on the same row number, so a key pressed a moment later
/// acts on what the operator was looking at.
fn row_ids(s: &Snapshot, t: usize, filter: &str) -> Option<Vec<String>> {
    Some(match t {
        tab::OVERVIEW => agent_lines(s).into_iter().map(|a| a.name).collect(),
        tab::TRACES => visible_runs(s, filter).iter().map(|r| format!("{} {}", r.trace_id, r.agent)).collect(),
        tab::APPROVALS => approval_rows(s).iter().map(|a| a.id.clone()).collect(),
        tab::INCIDENTS => incident_rows(s).iter().map(|i| i.id.to_string()).collect(),
        _ => return None,
    })
}

/// The rows the cursors are on, for the tabs whose cursor follows its row: only once the operator
/// has pointed at one (until then the lists fill in as the first data arrives, and the cursor
/// stays where it is), and not from the runs list's top row, which stays on the newest run as
/// they stream in.
fn held_rows(app: &App) -> Vec<(usize, String)> {
    (0..app.selected.len())
        .filter(|&t| app.pointed[t] && !(t == tab::TRACES && app.selected[t] == 0))
        .filter_map(|t| Some((t, row_ids(&app.snapshot, t, &app.filter)?.into_iter().nth(app.selected[t])?)))
        .collect()
}

/// Puts each held cursor back on its row in the fresh snapshot, where the row still is.
fn follow_rows(app: &mut App, held: Vec<(usize, String)>) {
    for (t, id) in held {
        if let Some(at) = row_ids(&app.snapshot, t, &app.filter).and_then(|ids| ids.iter().position(|r| *r == id)) {
            app.selected[t] = at;
        }
    }
}

fn say(app: &mut App, text: impl Into<String>, error: bool) {
    app.message = Some((text.into(), error));
}

/// Every agent a lever on `target` touches.
fn affected(app: &App, target: &str) -> Vec<String> {
    if target == "*" {
        agent_lines(&app.snapshot).into_iter().map(|a| a.name).collect()
    } else {
        vec![target.to_owned()]
    }
}

fn pending_for(app: &App, agents: &[String], tool_removed: Option<&dyn Fn(&str) -> bool>) -> usize {
    app.snapshot
        .approvals
        .iter()
        .filter(|a| a.status == ApprovalStatus::Pending && agents.contains(&a.agent))
        .filter(|a| tool_removed.is_none_or(|f| f(&a.tool)))
        .count()
}

/// Opens the confirmation for a lever; `lines` says what changes.
fn confirm_lever(app: &mut App, req: ActionRequest, title: String, mut lines: Vec<String>, tools_removed: Vec<String>) {
    if app.read_only() {
        say(app, "read-only: levers are disabled in this console", true);
        return;
    }
    let agents = affected(app, &req.agent);
    let is_removed = |t: &str| tools_removed.iter().any(|r| r == t);
    let touched = pending_for(app, &agents, if req.lever == "tools" { Some(&is_removed) } else { None });
    let who = if req.agent == "*" { format!("ALL {} agents (fleet-wide)", agents.len()) } else { agents.join(", ") };
    lines.push(format!("Agents affected: {who}"));
    if !tools_removed.is_empty() {
        lines.push(format!("Tools no longer allowed: {}", tools_removed.join(", ")));
    }
    lines.push(format!("Pending approvals touched: {touched}"));
    if let Conn::Stale { age_secs, .. } = &app.conn {
        lines.push(format!("⚠ The connection is STALE ({age_secs}s): this lever may not reach the engine; its outcome will be reported."));
    }
    let target = (req.agent == "*").then(|| "fleet".to_owned());
    app.mode = Mode::Confirm(Box::new(Confirm {
        title,
        lines,
        pending: Pending::Act(req),
        reason: String::new(),
        target,
        typed: String::new(),
        field: Field::Reason,
        problem: None,
    }));
}

fn effective_of(app: &App, agent: &str) -> Option<Effective> {
    app.snapshot.policy.effective.get(agent).cloned()
}

fn lever(agent: &str, lever: &str, value: serde_json::Value) -> ActionRequest {
    ActionRequest {
        lever: lever.into(),
        agent: agent.into(),
        value,
        reason: String::new(),
        environment: None,
        incident: None,
    }
}

fn known_tools(app: &App, agent: &str) -> Vec<String> {
    app.snapshot
        .summary
        .tools
        .iter()
        .filter(|t| agent == "*" || t.agents.iter().any(|a| a == agent))
        .map(|t| t.name.clone())
        .collect()
}

fn kill(app: &mut App, agent: &str, on: bool) {
    let now = if agent == "*" {
        app.snapshot.policy.layers.get("*").and_then(|l| l.enabled).unwrap_or(true)
    } else {
        effective_of(app, agent).is_none_or(|e| e.enabled)
    };
    let title = if on { format!("KILL SWITCH: stop {agent}") } else { format!("Revive {agent}") };
    let lines = vec![
        format!("enabled: {now} → {}", !on),
        "Agents stop starting runs and abort in-flight runs at their next step.".into(),
    ];
    confirm_lever(app, lever(agent, "enabled", json!(!on)), title, lines, Vec::new());
}

fn allowlist(app: &mut App, agent: &str, tools: Vec<String>, title: String) {
    let current = effective_of(app, agent).map_or(Tools::All, |e| e.tools_flag());
    let before: Vec<String> = match &current {
        Tools::All => known_tools(app, agent),
        Tools::Allowlist { tools } => tools.clone(),
    };
    let next = Tools::Allowlist { tools: tools.clone() };
    let removed: Vec<String> = before.iter().filter(|t| !next.allows(t)).cloned().collect();
    let lines = vec![
        format!(
            "tools: {} → allowlist [{}]",
            if matches!(current, Tools::All) { "all".to_owned() } else { format!("[{}]", before.join(", ")) },
            tools.join(", ")
        ),
        "Calls to other tools are refused (recorded as policy blocks).".into(),
    ];
    confirm_lever(app, lever(agent, "tools", json!({"mode": "allowlist", "tools": tools})), title, lines, removed);
}

/// Runs a `:` command line.
fn command(app: &mut App, line: &str) -> Vec<Effect> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&cmd, args)) = words.split_first() else { return Vec::new() };
    let arg = |i: usize| args.get(i).copied();
    let rest = |from: usize| args.get(from..).map(|a| a.join(" ")).unwrap_or_default();
    // The incident commands take an id, or act on the incident in view (its timeline, or the
    // row selected in Incidents): the footer offers ":resolve" there, and asking for the id
    // shown at the top of the screen was one step too many. `first` is where the rest begins.
    let (incident, first) = match arg(0).and_then(|i| i.parse::<i64>().ok()) {
        Some(id) => (Some(id), 1),
        None => (selected_incident(app).map(|i| i.id), 0),
    };
    let need = |app: &mut App, what: &str| {
        say(app, format!(":{cmd} needs {what} — see :help"), true);
        Vec::new()
    };
    match cmd {
        "q" | "quit" => {
            app.quit = true;
            Vec::new()
        }
        "help" => {
            open_help(app);
            Vec::new()
        }
        "window" | "w" => match arg(0).and_then(|w| WINDOWS.iter().position(|(n, _)| *n == w)) {
            Some(i) => {
                app.window = i;
                vec![Effect::Window(WINDOWS[i].1)]
            }
            None => need(app, "a window: 5m, 15m, 1h, 6h, 24h or 7d"),
        },
        "kill" | "revive" => match arg(0) {
            Some(a) => {
                let a = if a == "fleet" { "*" } else { a };
                kill(app, a, cmd == "kill");
                Vec::new()
            }
            None => need(app, "an agent (or * for the fleet)"),
        },
        "allow" => {
            let Some(agent) = arg(0) else { return need(app, "an agent and -tool, +tool, only a,b, or all") };
            let current: Vec<String> = match effective_of(app, agent).map_or(Tools::All, |e| e.tools_flag()) {
                Tools::All => known_tools(app, agent),
                Tools::Allowlist { tools } => tools,
            };
            match (arg(1), arg(2)) {
                (Some("all"), _) => {
                    confirm_lever(
                        app,
                        lever(agent, "tools", json!({"mode": "all"})),
                        format!("Allow every tool for {agent}"),
                        vec!["tools: → all".into()],
                        Vec::new(),
                    );
                }
                (Some("only"), Some(list)) => {
                    let tools: Vec<String> =
                        list.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
                    allowlist(app, agent, tools, format!("Narrow {agent}'s tools"));
                }
                (Some(t), _) if t.starts_with('-') && t.len() > 1 => {
                    let tool = &t[1..];
                    let tools: Vec<String> = current.into_iter().filter(|c| c != tool).collect();
                    allowlist(app, agent, tools, format!("Remove {tool} from {agent}"));
                }
                (Some(t), _) if t.starts_with('+') && t.len() > 1 => {
                    let mut tools = current;
                    tools.push(t[1..].to_owned());
                    allowlist(app, agent, tools, format!("Allow {} for {agent}", &t[1..]));
                }
                _ => return need(app, "an agent and -tool, +tool, only a,b, or all"),
            }
            Vec::new()
        }
        "readonly" => {
            let Some(agent) = arg(0) else { return need(app, "an agent") };
            // Read-only tools only: the tools the agent's telemetry declares as reads; writes and
            // tools of unknown side effect are dropped.
            let tools: Vec<String> = app
                .snapshot
                .summary
                .tools
                .iter()
                .filter(|t| t.agents.iter().any(|a| a == agent) && t.side_effect == "read")
                .map(|t| t.name.clone())
                .collect();
            allowlist(app, agent, tools, format!("Read-only tools only for {agent}"));
            Vec::new()
        }
        "strip" => {
            let (Some(agent), Some(connector)) = (arg(0), arg(1)) else { return need(app, "an agent and a connector") };
            let prefixes = [format!("{connector}/"), format!("mcp:{connector}/"), format!("{connector}.")];
            let tools: Vec<String> = known_tools(app, agent)
                .into_iter()
                .filter(|t| !prefixes.iter().any(|p| t.starts_with(p.as_str())))
                .collect();
            allowlist(app, agent, tools, format!("Strip connector {connector} from {agent}"));
            Vec::new()
        }
        "approval" => match (arg(0), arg(1)) {
            (Some(agent), Some(mode @ ("none" | "writes" | "all"))) => {
                let before = effective_of(app, agent).map_or("none", |e| e.approval.as_str());
                confirm_lever(
                    app,
                    lever(agent, "approval", json!(mode)),
                    format!("Approval mode for {agent}"),
                    vec![format!("approval: {before} → {mode}")],
                    Vec::new(),
                );
                Vec::new()
            }
            _ => need(app, "an agent and none, writes or all"),
        },
        "rollback" => match arg(0) {
            Some(agent) => {
                // Name the version when the figures know it, and pin exactly that one: what was
                // confirmed is what happens. Otherwise the engine resolves it (or refuses).
                let row = app.snapshot.summary.agents.iter().find(|r| r.name == agent);
                let (value, line) = match row {
                    Some(r) => match &r.last_known_good {
                        Some(good) => (
                            json!(good),
                            format!("pin: {} → {good} (the newest earlier version that met the SLO)", r.version),
                        ),
                        None => {
                            // The point first: the status line is cut at the terminal's width.
                            let why = format!("{agent}: nothing to roll back to (no earlier version met the SLO)");
                            say(app, &why, true);
                            return Vec::new();
                        }
                    },
                    None => (
                        json!("last_known_good"),
                        "pin: → the last known good version (the newest earlier version that met the SLO)".into(),
                    ),
                };
                confirm_lever(app, lever(agent, "pin", value), format!("ROLLBACK {agent}"), vec![line], Vec::new());
                Vec::new()
            }
            None => need(app, "an agent"),
        },
        "pin" => match (arg(0), arg(1)) {
            (Some(agent), Some(v)) => {
                confirm_lever(
                    app,
                    lever(agent, "pin", json!(v)),
                    format!("Pin {agent}"),
                    vec![format!("pin: → {v}")],
                    Vec::new(),
                );
                Vec::new()
            }
            _ => need(app, "an agent and a version"),
        },
        "unpin" => match arg(0) {
            Some(agent) => {
                confirm_lever(
                    app,
                    lever(agent, "pin", json!("")),
                    format!("Unpin {agent}"),
                    vec!["pin: → none".into()],
                    Vec::new(),
                );
                Vec::new()
            }
            None => need(app, "an agent"),
        },
        "approve" | "deny" => match arg(0) {
            Some(id) => {
                decide(app, id, cmd == "approve", rest(1));
                Vec::new()
            }
            None => need(app, "an approval id"),
        },
        "incident" => match (arg(0), rest(1)) {
            (Some(sev @ ("SEV-0" | "SEV-1" | "SEV-2")), title) if !title.is_empty() => {
                vec![Effect::OpenIncident { sev: sev.into(), title, agent: None }]
            }
            _ => need(app, "a severity (SEV-0, SEV-1, SEV-2) and a title"),
        },
        "note" => match (incident, rest(first)) {
            (Some(id), text) if !text.is_empty() => {
                vec![Effect::IncidentUpdate { id, kind: "note".into(), text, trace_id: None }]
            }
            (Some(_), _) => need(app, "the note"),
            (None, _) => need(app, "an incident id (none is in view) and the note"),
        },
        "link" => match (incident, arg(first)) {
            (Some(id), Some(trace)) => {
                vec![Effect::IncidentUpdate {
                    id,
                    kind: "run".into(),
                    text: rest(first + 1),
                    trace_id: Some(trace.into()),
                }]
            }
            _ => need(app, "an incident id and a trace id"),
        },
        "resolve" => match incident {
            Some(id) => {
                // Name it, since the id may have come from the screen rather than the keyboard.
                let title = app.snapshot.incidents.iter().find(|i| i.id == id).map(|i| i.title.clone());
                let mut lines = Vec::from_iter(title);
                lines.push("The incident closes; its timeline stays for the postmortem.".into());
                app.mode = Mode::Confirm(Box::new(Confirm {
                    title: format!("Resolve incident {id}"),
                    lines,
                    pending: Pending::Resolve(id),
                    reason: rest(first),
                    target: None,
                    typed: String::new(),
                    field: Field::Reason,
                    problem: None,
                }));
                Vec::new()
            }
            None => need(app, "an incident id"),
        },
        "demo" => match (arg(0), arg(1)) {
            (Some("incident"), Some(name)) => vec![Effect::DemoIncident(name.to_owned())],
            _ => need(app, "incident NAME (injection, runaway, regression, outage)"),
        },
        "export" => match incident {
            Some(id) => vec![Effect::Export(id)],
            None => need(app, "an incident id"),
        },
        other => {
            say(app, format!("unknown command :{other} — try :help"), true);
            Vec::new()
        }
    }
}

/// Commands, for completion and help.
pub const COMMANDS: &[(&str, &str)] = &[
    ("kill", "AGENT|*  trip the kill switch"),
    ("revive", "AGENT|*  release the kill switch"),
    ("allow", "AGENT -TOOL | +TOOL | only a,b | all"),
    ("readonly", "AGENT  read-only tools only"),
    ("strip", "AGENT CONNECTOR  drop a connector's tools"),
    ("approval", "AGENT|* none|writes|all"),
    ("rollback", "AGENT  pin the last known good version"),
    ("pin", "AGENT VERSION"),
    ("unpin", "AGENT"),
    ("approve", "ID [reason]"),
    ("deny", "ID [reason]"),
    ("incident", "SEV-n TITLE  open an incident"),
    ("note", "[ID] TEXT  (no ID: the incident in view)"),
    ("link", "[ID] TRACE_ID  link a run"),
    ("resolve", "[ID] [reason]"),
    ("export", "[ID]  write incident-ID.md"),
    ("window", "5m|15m|1h|6h|24h|7d"),
    ("demo", "incident injection|runaway|regression|outage"),
    ("help", ""),
    ("quit", ""),
];

/// Completes the command line: the command, then agent names or approval ids.
fn complete(app: &mut App) {
    let ends_with_space = app.input.ends_with(' ');
    let words: Vec<String> = app.input.split_whitespace().map(str::to_owned).collect();
    let (done, partial) = match (words.split_last(), ends_with_space) {
        (Some((last, head)), false) => (head.to_vec(), last.clone()),
        _ => (words.clone(), String::new()),
    };
    let candidates: Vec<String> = if done.is_empty() {
        COMMANDS.iter().map(|(c, _)| (*c).to_owned()).collect()
    } else if matches!(done[0].as_str(), "approve" | "deny") {
        app.snapshot.approvals.iter().filter(|a| a.status == ApprovalStatus::Pending).map(|a| a.id.clone()).collect()
    } else if done.len() == 1 {
        let mut agents: Vec<String> = agent_lines(&app.snapshot).into_iter().map(|a| a.name).collect();
        agents.push("*".into());
        agents
    } else {
        Vec::new()
    };
    let matching: Vec<&String> = candidates.iter().filter(|c| c.starts_with(&partial)).collect();
    match matching.as_slice() {
        [one] => {
            let mut parts = done;
            parts.push((*one).clone());
            app.input = parts.join(" ") + " ";
        }
        [] => say(app, "no completion", true),
        many => {
            let shown: Vec<&str> = many.iter().take(8).map(|s| s.as_str()).collect();
            say(app, format!("completions: {}", shown.join("  ")), false);
        }
    }
}

fn decide(app: &mut App, id: &str, approve: bool, reason: String) {
    if app.read_only() {
        say(app, "read-only: levers are disabled in this console", true);
        return;
    }
    let Some(a) = app.snapshot.approvals.iter().find(|a| a.id == id).cloned() else {
        say(app, format!("no approval {id}"), true);
        return;
    };
    if a.status != ApprovalStatus::Pending {
        say(app, format!("approval {id} is already {}: nothing to decide", a.status.as_str()), true);
        return;
    }
    let verb = if approve { "APPROVE" } else { "DENY" };
    let lines = vec![
        format!("{} wants to call {} (risk {})", a.agent, a.tool, a.risk),
        format!("Summary: {}", a.summary),
        format!("Arguments: {}", crate::ingest::convert::truncate(&a.arguments.to_string(), 200)),
    ];
    app.mode = Mode::Confirm(Box::new(Confirm {
        title: format!("{verb} {id}"),
        lines,
        pending: Pending::Decide { id: id.to_owned(), approve },
        reason,
        target: None,
        typed: String::new(),
        field: Field::Reason,
        problem: None,
    }));
}

fn on_confirm_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Mode::Confirm(c) = &mut app.mode else { return Vec::new() };
    match key.code {
        KeyCode::Esc => {
            app.mode = Mode::Normal;
            say(app, "cancelled: nothing changed", false);
        }
        KeyCode::Tab | KeyCode::BackTab if c.target.is_some() => {
            c.field = if c.field == Field::Reason { Field::Target } else { Field::Reason };
        }
        KeyCode::Backspace => {
            let f = if c.field == Field::Reason { &mut c.reason } else { &mut c.typed };
            f.pop();
        }
        KeyCode::Char(ch) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            let f = if c.field == Field::Reason { &mut c.reason } else { &mut c.typed };
            if f.len() < 500 {
                f.push(ch);
            }
        }
        KeyCode::Enter => {
            if c.reason.trim().is_empty() {
                c.problem = Some("type a reason first: it goes into the audit log".into());
                c.field = Field::Reason;
                return Vec::new();
            }
            if let Some(t) = &c.target {
                if c.typed.trim() != t {
                    c.problem = Some(format!("fleet-wide: type {t:?} to confirm (Tab to switch fields)"));
                    c.field = Field::Target;
                    return Vec::new();
                }
            }
            let reason = c.reason.trim().to_owned();
            let effect = match c.pending.clone() {
                Pending::Act(mut req) => {
                    req.reason = reason;
                    Effect::Act(req)
                }
                Pending::Decide { id, approve } => Effect::Decide { id, approve, reason },
                Pending::Resolve(id) => {
                    Effect::IncidentUpdate { id, kind: "resolved".into(), text: reason, trace_id: None }
                }
            };
            app.mode = Mode::Normal;
            say(app, "sent…", false);
            return vec![effect];
        }
        _ => {}
    }
    Vec::new()
}

fn on_text_key(app: &mut App, key: KeyEvent, filter: bool) -> Vec<Effect> {
    let text = if filter { &mut app.filter } else { &mut app.input };
    match key.code {
        KeyCode::Esc => {
            text.clear();
            app.mode = Mode::Normal;
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Tab if !filter => complete(app),
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            if !filter {
                let line = std::mem::take(&mut app.input);
                return command(app, line.trim().trim_start_matches(':'));
            }
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            if text.len() < 200 {
                text.push(c);
            }
            if filter {
                *cursor(app) = 0;
            }
        }
        _ => {}
    }
    Vec::new()
}

fn enter(app: &mut App) -> Vec<Effect> {
    let s = Arc::clone(&app.snapshot);
    match app.stack.last().cloned() {
        Some(Page::Trace(_)) => {
            if app.trace.as_ref().is_some_and(|t| app.page_sel < t.spans.len()) {
                app.stack.push(Page::Span(app.page_sel));
            }
            Vec::new()
        }
        Some(_) => Vec::new(),
        None => match app.tab {
            tab::TRACES => match visible_runs(&s, &app.filter).get(app.selected[tab::TRACES]) {
                Some(r) => open_trace(app, r.trace_id.clone()),
                None => Vec::new(),
            },
            tab::APPROVALS => {
                if let Some(a) = approval_rows(&s).get(app.selected[tab::APPROVALS]) {
                    app.stack.push(Page::Approval(a.id.clone()));
                }
                Vec::new()
            }
            tab::INCIDENTS => {
                if let Some(i) = incident_rows(&s).get(app.selected[tab::INCIDENTS]) {
                    app.stack.push(Page::Incident(i.id));
                    app.page_sel = 0;
                }
                Vec::new()
            }
            tab::OVERVIEW => {
                // Drill into the agent's runs.
                if let Some(a) = selected_agent(app) {
                    app.tab = tab::TRACES;
                    app.filter = a;
                    app.selected[tab::TRACES] = 0;
                }
                Vec::new()
            }
            _ => Vec::new(),
        },
    }
}

fn open_trace(app: &mut App, trace_id: String) -> Vec<Effect> {
    app.tab = tab::TRACES;
    app.stack = vec![Page::Trace(trace_id.clone())];
    app.trace = None;
    app.page_sel = 0;
    vec![Effect::LoadTrace(trace_id)]
}

fn jump_trace(app: &mut App) -> Vec<Effect> {
    let trace = match (app.tab, app.stack.last()) {
        (tab::APPROVALS, _) => selected_approval(app).and_then(|a| a.trace_id),
        (tab::INCIDENTS, Some(Page::Incident(_))) => selected_incident(app).and_then(|i| {
            i.timeline
                .get(app.page_sel)
                .and_then(|e| e.trace_id.clone())
                .or_else(|| i.timeline.iter().find_map(|e| e.trace_id.clone()))
        }),
        (tab::INCIDENTS, _) => selected_incident(app).and_then(|i| i.timeline.iter().find_map(|e| e.trace_id.clone())),
        (tab::SAFETY, _) => app.snapshot.guard_events.get(app.selected[tab::SAFETY]).map(|g| g.trace_id.clone()),
        _ => None,
    };
    match trace {
        Some(t) => open_trace(app, t),
        None => {
            say(app, "no linked trace here", true);
            Vec::new()
        }
    }
}

/// Rows a page key moves, in lists and the help.
const PAGE: usize = 10;

/// Lines in the help overlay: every binding, a blank line, a heading, every command.
pub fn help_len() -> usize {
    BINDINGS.len() + 2 + COMMANDS.len()
}

fn open_help(app: &mut App) {
    app.help_line = 0;
    app.mode = Mode::Help;
}

/// In the help, the movement keys scroll it (at 80x24 it is longer than the screen: the levers
/// and the commands were below its edge, out of reach); any way out closes it.
fn on_help_key(app: &mut App, key: KeyEvent) {
    let last = help_len() - 1;
    match app.keymap.action(&key) {
        Some(Action::Down) => app.help_line = (app.help_line + 1).min(last),
        Some(Action::Up) => app.help_line = app.help_line.saturating_sub(1),
        Some(Action::PageDown) => app.help_line = (app.help_line + PAGE).min(last),
        Some(Action::PageUp) => app.help_line = app.help_line.saturating_sub(PAGE),
        Some(Action::Top) => app.help_line = 0,
        Some(Action::Bottom) => app.help_line = last,
        Some(Action::Back | Action::Help | Action::Quit) => app.mode = Mode::Normal,
        _ if key.code == KeyCode::Esc => app.mode = Mode::Normal,
        _ => {}
    }
}

fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    use Action::*;
    let on_row = matches!(
        action,
        Down | Up | PageDown | PageUp | Top | Bottom | Enter | Kill | Rollback | Approve | Deny | JumpTrace | Export
    );
    if on_row && app.stack.is_empty() {
        app.pointed[app.tab] = true;
    }
    match action {
        Action::Quit => app.quit = true,
        Action::Help => open_help(app),
        Action::Filter => app.mode = Mode::Filter,
        Action::Command => {
            app.input.clear();
            app.mode = Mode::Command;
        }
        Action::Tab(n) => {
            app.tab = usize::from(n).saturating_sub(1).min(8);
            app.stack.clear();
            app.filter.clear();
        }
        Action::NextTab | Action::PrevTab => {
            app.tab = if action == Action::NextTab { (app.tab + 1) % 9 } else { (app.tab + 8) % 9 };
            app.stack.clear();
            app.filter.clear();
        }
        Action::Down => *cursor(app) = cursor(app).saturating_add(1),
        Action::Up => *cursor(app) = cursor(app).saturating_sub(1),
        Action::PageDown => *cursor(app) = cursor(app).saturating_add(PAGE),
        Action::PageUp => *cursor(app) = cursor(app).saturating_sub(PAGE),
        Action::Top => *cursor(app) = 0,
        Action::Bottom => *cursor(app) = usize::MAX,
        Action::Back => {
            if app.stack.pop().is_some() {
                app.page_sel = 0;
            } else {
                app.filter.clear();
            }
        }
        Action::Enter => return enter(app),
        Action::Window => {
            app.window = (app.window + 1) % WINDOWS.len();
            return vec![Effect::Window(app.window_seconds())];
        }
        Action::Sort => {
            if app.tab == tab::TOOLS {
                app.tool_sort = (app.tool_sort + 1) % TOOL_SORTS.len();
                say(app, format!("sorted by {}", TOOL_SORTS[app.tool_sort]), false);
            }
        }
        Action::Kill => match selected_agent(app) {
            Some(a) => {
                let on = effective_of(app, &a).is_none_or(|e| e.enabled);
                kill(app, &a, on);
            }
            None => say(app, "select an agent (Overview or Traces) first", true),
        },
        Action::Rollback => match selected_agent(app) {
            Some(a) => return command(app, &format!("rollback {a}")),
            None => say(app, "select an agent first", true),
        },
        Action::Approve | Action::Deny => match selected_approval(app) {
            Some(a) => decide(app, &a.id, action == Action::Approve, String::new()),
            None => say(app, "select an approval (tab 8) first", true),
        },
        Action::JumpTrace => return jump_trace(app),
        Action::Export => match selected_incident(app) {
            Some(i) => return vec![Effect::Export(i.id)],
            None => say(app, "select an incident (tab 9) first", true),
        },
    }
    clamp(app);
    Vec::new()
}

/// A key with no action says so, so that a key rebound in config (or mistyped) is not a silent
/// no-op in the middle of an incident.
fn unbound(app: &mut App, key: &KeyEvent) {
    let Some(name) = keymap::key_name(key) else { return };
    let help = match app.keymap.shown(Action::Help) {
        Some(k) => format!("{k} lists the keys"),
        None => "`cockpit config` lists the keys".to_owned(),
    };
    say(app, format!("{} does nothing here · {help}", keymap::display(&name)), false);
}

/// The update: every input goes through here.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let effects = match msg {
        Msg::Snapshot(s) => {
            let held = held_rows(app);
            app.snapshot = s;
            follow_rows(app, held);
            Vec::new()
        }
        Msg::Trace(id, result) => {
            if app.stack.first() == Some(&Page::Trace(id.clone())) {
                match result {
                    Ok(Some(t)) => app.trace = Some(t),
                    Ok(None) => say(app, format!("trace {id} is no longer in the hot window"), true),
                    Err(e) => say(app, e, true),
                }
            }
            Vec::new()
        }
        Msg::Done(r) => {
            match r {
                Ok(m) => say(app, m, false),
                Err(e) => say(app, format!("failed: {e}"), true),
            }
            Vec::new()
        }
        Msg::Redraw => Vec::new(),
        Msg::Conn(c) => {
            app.conn = c;
            Vec::new()
        }
        Msg::Key(key) => match app.mode.clone() {
            Mode::Confirm(_) => on_confirm_key(app, key),
            Mode::Filter => on_text_key(app, key, true),
            Mode::Command => on_text_key(app, key, false),
            Mode::Help => {
                on_help_key(app, key);
                Vec::new()
            }
            Mode::Normal => match app.keymap.action(&key) {
                Some(a) => {
                    // A message has been read by the next key: the footer gets its keys back.
                    app.message = None;
                    on_action(app, a)
                }
                None => {
                    unbound(app, &key);
                    Vec::new()
                }
            },
        },
    };
    clamp(app);
    effects
}
