//! Key bindings as a table: action names ↔ keys, overridable in config (`[keys]`).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Go to tab 1–9.
    Tab(u8),
    /// Next tab.
    NextTab,
    /// Previous tab.
    PrevTab,
    /// Move down.
    Down,
    /// Move up.
    Up,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Page down.
    PageDown,
    /// Page up.
    PageUp,
    /// Drill down.
    Enter,
    /// Back along the breadcrumb (or close an overlay).
    Back,
    /// Filter.
    Filter,
    /// Command line.
    Command,
    /// Help overlay.
    Help,
    /// Cycle the window.
    Window,
    /// Quit.
    Quit,
    /// Kill switch on the selected agent (confirm first).
    Kill,
    /// Roll the selected agent back to its last known good version (confirm first).
    Rollback,
    /// Approve the selected approval (confirm first).
    Approve,
    /// Deny the selected approval (confirm first).
    Deny,
    /// Jump to the linked trace.
    JumpTrace,
    /// Sort by the next column.
    Sort,
    /// Export the selected incident.
    Export,
}

/// (name, action, default keys, help text) — the table the help overlay shows.
pub const BINDINGS: &[(&str, Action, &[&str], &str)] = &[
    ("tab_1", Action::Tab(1), &["1"], "Overview"),
    ("tab_2", Action::Tab(2), &["2"], "Outcomes"),
    ("tab_3", Action::Tab(3), &["3"], "Tools"),
    ("tab_4", Action::Tab(4), &["4"], "Safety"),
    ("tab_5", Action::Tab(5), &["5"], "Cost & latency"),
    ("tab_6", Action::Tab(6), &["6"], "Drift"),
    ("tab_7", Action::Tab(7), &["7"], "Traces"),
    ("tab_8", Action::Tab(8), &["8"], "Approvals"),
    ("tab_9", Action::Tab(9), &["9"], "Incidents"),
    ("next_tab", Action::NextTab, &["tab"], "next tab"),
    ("prev_tab", Action::PrevTab, &["backtab"], "previous tab"),
    ("down", Action::Down, &["j", "down"], "move down"),
    ("up", Action::Up, &["k", "up"], "move up"),
    ("top", Action::Top, &["g", "home"], "first row"),
    ("bottom", Action::Bottom, &["G", "end"], "last row"),
    ("page_down", Action::PageDown, &["pagedown", "ctrl-d"], "page down"),
    ("page_up", Action::PageUp, &["pageup", "ctrl-u"], "page up"),
    ("enter", Action::Enter, &["enter"], "drill down"),
    ("back", Action::Back, &["esc"], "back / close"),
    ("filter", Action::Filter, &["/"], "filter (a|b for either)"),
    ("command", Action::Command, &[":"], "command line (Tab completes)"),
    ("help", Action::Help, &["?"], "this help"),
    ("window", Action::Window, &["t"], "cycle window 5m→15m→1h→6h→24h→7d"),
    ("quit", Action::Quit, &["q", "ctrl-c"], "quit"),
    ("kill", Action::Kill, &["K"], "kill switch on/off for the agent (confirm)"),
    ("rollback", Action::Rollback, &["R"], "roll the agent back (confirm)"),
    ("approve", Action::Approve, &["a"], "approve (confirm, reason)"),
    ("deny", Action::Deny, &["d"], "deny (confirm, reason)"),
    ("jump_trace", Action::JumpTrace, &["T"], "open the linked trace"),
    ("sort", Action::Sort, &["s"], "sort by the next column"),
    ("export", Action::Export, &["x"], "export the incident as Markdown"),
];

/// A key in the notation the table and config use: `q`, `G`, `ctrl-c`, `enter`, `esc`, `down`…
pub fn key_name(k: &KeyEvent) -> Option<String> {
    let base = match k.code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Backspace => "backspace".into(),
        _ => return None,
    };
    Some(if k.modifiers.contains(KeyModifiers::CONTROL) { format!("ctrl-{base}") } else { base })
}

/// The bindings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    keys: BTreeMap<String, Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::with_overrides(&BTreeMap::new()).unwrap_or(Self { keys: BTreeMap::new() })
    }
}

impl Keymap {
    /// The defaults with config overrides (`name = "key"` or `name = ["k1", "k2"]`).
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, String> {
        for name in overrides.keys() {
            if !BINDINGS.iter().any(|(n, ..)| n == name) {
                return Err(format!("[keys] {name}: no such action (see ? in the TUI for the names)"));
            }
        }
        let mut keys = BTreeMap::new();
        for (name, action, defaults, _) in BINDINGS {
            let chosen: Vec<String> =
                overrides.get(*name).cloned().unwrap_or_else(|| defaults.iter().map(|k| (*k).to_owned()).collect());
            for k in chosen {
                keys.insert(k, *action);
            }
        }
        Ok(Self { keys })
    }

    /// The action of a key, if bound.
    pub fn action(&self, k: &KeyEvent) -> Option<Action> {
        key_name(k).and_then(|n| self.keys.get(&n).copied())
    }

    /// The keys bound to an action (for hints).
    pub fn keys_for(&self, action: Action) -> Vec<&str> {
        self.keys.iter().filter(|(_, a)| **a == action).map(|(k, _)| k.as_str()).collect()
    }
}
