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

/// The named keys of the notation the table and config use (anything else is one character,
/// optionally as `ctrl-<key>`), with how the footer and the help show them.
const NAMED: &[(&str, KeyCode, &str)] = &[
    ("enter", KeyCode::Enter, "Enter"),
    ("esc", KeyCode::Esc, "Esc"),
    ("tab", KeyCode::Tab, "Tab"),
    ("backtab", KeyCode::BackTab, "Shift-Tab"),
    ("up", KeyCode::Up, "Up"),
    ("down", KeyCode::Down, "Down"),
    ("left", KeyCode::Left, "Left"),
    ("right", KeyCode::Right, "Right"),
    ("home", KeyCode::Home, "Home"),
    ("end", KeyCode::End, "End"),
    ("pageup", KeyCode::PageUp, "PgUp"),
    ("pagedown", KeyCode::PageDown, "PgDn"),
    ("backspace", KeyCode::Backspace, "Backspace"),
];

/// A key in the notation the table and config use: `q`, `G`, `ctrl-c`, `enter`, `esc`, `down`…
pub fn key_name(k: &KeyEvent) -> Option<String> {
    let base = match k.code {
        KeyCode::Char(c) => c.to_string(),
        code => NAMED.iter().find(|(_, c, _)| *c == code)?.0.to_owned(),
    };
    Some(if k.modifiers.contains(KeyModifiers::CONTROL) { format!("ctrl-{base}") } else { base })
}

/// Whether `name` is a key of the notation (so a typo in config is an error, not a dead key).
fn is_key(name: &str) -> bool {
    let base = name.strip_prefix("ctrl-").unwrap_or(name);
    base.chars().count() == 1 || NAMED.iter().any(|(n, ..)| *n == base)
}

/// A key as the footer and the help show it: `Enter`, `PgDn`, `ctrl-d`, `K`.
pub fn display(name: &str) -> &str {
    NAMED.iter().find(|(n, ..)| *n == name).map_or(name, |(_, _, shown)| shown)
}

/// The bindings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    keys: BTreeMap<String, Action>,
    /// Each action's keys in the order the table or config gives them, for the help and hints.
    bound: Vec<(Action, Vec<String>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::with_overrides(&BTreeMap::new()).unwrap_or(Self { keys: BTreeMap::new(), bound: Vec::new() })
    }
}

impl Keymap {
    /// The defaults with config overrides (`name = "key"` or `name = ["k1", "k2"]`; `[]` unbinds).
    /// An unknown action, a key the notation has no name for, or one key given two actions is
    /// an error: each would leave a key that silently does nothing, or something else.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, String> {
        for name in overrides.keys() {
            if !BINDINGS.iter().any(|(n, ..)| n == name) {
                return Err(format!("[keys] {name}: no such action (the help, ?, names each action)"));
            }
        }
        let mut keys: BTreeMap<String, Action> = BTreeMap::new();
        let mut bound = Vec::new();
        for (name, action, defaults, _) in BINDINGS {
            let chosen: Vec<String> =
                overrides.get(*name).cloned().unwrap_or_else(|| defaults.iter().map(|k| (*k).to_owned()).collect());
            for k in &chosen {
                if !is_key(k) {
                    return Err(format!(
                        "[keys] {name}: {k:?} is not a key (a character, ctrl-<key>, or one of {})",
                        NAMED.iter().map(|(n, ..)| *n).collect::<Vec<_>>().join(", ")
                    ));
                }
                if let Some(other) = keys.insert(k.clone(), *action).filter(|a| a != action) {
                    let other = BINDINGS.iter().find(|(_, a, ..)| *a == other).map_or("another action", |(n, ..)| n);
                    return Err(format!(
                        "[keys] {k:?} is bound to both {other} and {name}; give one of them other keys"
                    ));
                }
            }
            bound.push((*action, chosen));
        }
        Ok(Self { keys, bound })
    }

    /// The action of a key, if bound.
    pub fn action(&self, k: &KeyEvent) -> Option<Action> {
        key_name(k).and_then(|n| self.keys.get(&n).copied())
    }

    /// The keys bound to an action, in the order given (empty when unbound).
    pub fn keys_for(&self, action: Action) -> &[String] {
        self.bound.iter().find(|(a, _)| *a == action).map_or(&[], |(_, ks)| ks.as_slice())
    }

    /// The first key of an action as the footer shows it, if it has one.
    pub fn shown(&self, action: Action) -> Option<&str> {
        self.keys_for(action).first().map(|k| display(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(n, ks)| ((*n).to_owned(), ks.iter().map(|k| (*k).to_owned()).collect())).collect()
    }

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn an_override_replaces_the_default_keys() {
        let map = Keymap::with_overrides(&over(&[("kill", &["X"])])).expect("valid");
        assert_eq!(map.action(&press('X')), Some(Action::Kill));
        assert_eq!(map.action(&press('K')), None, "the default K is no longer the kill switch");
        assert_eq!(map.keys_for(Action::Kill), ["X"]);
        assert_eq!(map.keys_for(Action::Down), ["j", "down"], "defaults keep their order");
        assert_eq!(map.shown(Action::Enter), Some("Enter"));
    }

    #[test]
    fn an_empty_list_unbinds() {
        let map = Keymap::with_overrides(&over(&[("kill", &[])])).expect("valid");
        assert_eq!(map.action(&press('K')), None);
        assert_eq!(map.shown(Action::Kill), None);
    }

    #[test]
    fn a_key_given_two_actions_is_refused() {
        let err = Keymap::with_overrides(&over(&[("kill", &["q"])])).expect_err("q is quit's");
        assert!(err.contains("\"q\" is bound to both quit and kill"), "{err}");
        let swapped = Keymap::with_overrides(&over(&[("kill", &["q"]), ("quit", &["K"])])).expect("a swap is fine");
        assert_eq!(swapped.action(&press('q')), Some(Action::Kill));
        assert_eq!(swapped.action(&press('K')), Some(Action::Quit));
    }

    #[test]
    fn unknown_names_and_keys_are_refused() {
        let err = Keymap::with_overrides(&over(&[("kil", &["X"])])).expect_err("no such action");
        assert!(err.contains("[keys] kil: no such action"), "{err}");
        let err = Keymap::with_overrides(&over(&[("kill", &["ctl-x"])])).expect_err("no such key");
        assert!(err.contains("\"ctl-x\" is not a key"), "{err}");
        let ctrl = Keymap::with_overrides(&over(&[("kill", &["ctrl-k"])])).expect("ctrl-k is a key");
        assert_eq!(ctrl.action(&KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)), Some(Action::Kill));
    }

    #[test]
    fn every_named_key_reads_back_as_its_name() {
        for (name, code, _) in NAMED {
            assert_eq!(key_name(&KeyEvent::new(*code, KeyModifiers::NONE)).as_deref(), Some(*name));
            assert!(is_key(name));
        }
    }
}
