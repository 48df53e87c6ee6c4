//! Policy: per-agent layers (optionally per environment) under a fleet-wide layer, and what
//! they say about a tool call. The levers mirror the OFREP flags agents read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wildmatch::WildMatch;

/// Which tools an agent may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Tools {
    /// Any tool.
    All,
    /// Only tools matching one of these names or globs (`github.*`, `mcp:jira/*`).
    Allowlist {
        /// Names and globs.
        tools: Vec<String>,
    },
}

impl Tools {
    /// Whether a tool is allowed.
    pub fn allows(&self, tool: &str) -> bool {
        match self {
            Tools::All => true,
            Tools::Allowlist { tools } => tools.iter().any(|pattern| WildMatch::new(pattern).matches(tool)),
        }
    }
}

/// Which tool calls need a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// None.
    None,
    /// Calls of tools classified as writes (or unknown side effect).
    Writes,
    /// Every tool call.
    All,
}

impl ApprovalMode {
    /// Reads `none` / `writes` / `all`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "writes" => Some(Self::Writes),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Writes => "writes",
            Self::All => "all",
        }
    }
}

/// One layer of policy; unset levers inherit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Layer {
    /// Kill switch: `Some(false)` stops the agent.
    pub enabled: Option<bool>,
    /// Tool allowlist.
    pub tools: Option<Tools>,
    /// Approval mode.
    pub approval: Option<ApprovalMode>,
    /// Pinned version (`Some("")` = explicitly unpinned).
    pub pin: Option<String>,
}

/// The policy in force for one agent, with where each lever came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effective {
    /// False when the agent's or the fleet's kill switch is tripped.
    pub enabled: bool,
    /// Tools allowed by the agent's layer (the fleet layer is applied too, see `allows`).
    pub tools: Tools,
    /// The fleet's allowlist, if it narrows every agent.
    pub fleet_tools: Option<Tools>,
    /// The stricter of the agent's and the fleet's approval modes.
    pub approval: ApprovalMode,
    /// Version to run; empty when unpinned.
    pub pin: String,
    /// The fleet-wide kill switch is what stops it.
    pub killed_by_fleet: bool,
}

impl Effective {
    /// Whether a tool may be called (both the agent's and the fleet's allowlists).
    pub fn allows(&self, tool: &str) -> bool {
        self.tools.allows(tool) && self.fleet_tools.as_ref().is_none_or(|t| t.allows(tool))
    }

    /// The tools flag as agents read it: the agent's allowlist, narrowed by the fleet's.
    pub fn tools_flag(&self) -> Tools {
        match (&self.tools, &self.fleet_tools) {
            (t, None) | (t, Some(Tools::All)) => t.clone(),
            (Tools::All, Some(f)) => f.clone(),
            (Tools::Allowlist { tools: a }, Some(Tools::Allowlist { tools: f })) => {
                // Both must allow: keep the agent's entries the fleet allows, and say so.
                let both: Vec<String> =
                    a.iter().filter(|t| f.iter().any(|p| WildMatch::new(p).matches(t))).cloned().collect();
                Tools::Allowlist { tools: both }
            }
        }
    }

    /// The decision for one tool call.
    pub fn check(&self, tool: &str, side_effect: Option<&str>) -> Decision {
        if !self.enabled || !self.allows(tool) {
            return Decision::Deny;
        }
        let write = !matches!(side_effect, Some("read"));
        match self.approval {
            ApprovalMode::All => Decision::RequireApproval,
            ApprovalMode::Writes if write => Decision::RequireApproval,
            _ => Decision::Allow,
        }
    }
}

/// A policy check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused.
    Deny,
    /// Ask a human first.
    RequireApproval,
}

/// The scope of the fleet-wide layer.
pub const FLEET: &str = "*";

/// Every layer, keyed by scope: `*`, `agent`, or `agent@environment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicySet {
    /// Revision: bumped by every change.
    pub revision: u64,
    /// Layers by scope.
    pub layers: BTreeMap<String, Layer>,
}

impl PolicySet {
    /// The policy in force for an agent (in an environment, when given).
    pub fn effective(&self, agent: &str, environment: Option<&str>) -> Effective {
        let fleet = self.layers.get(FLEET).cloned().unwrap_or_default();
        let mut own = self.layers.get(agent).cloned().unwrap_or_default();
        if let Some(env) = environment.and_then(|e| self.layers.get(&format!("{agent}@{e}"))) {
            own.enabled = env.enabled.or(own.enabled);
            own.tools = env.tools.clone().or(own.tools);
            own.approval = env.approval.or(own.approval);
            own.pin = env.pin.clone().or(own.pin);
        }
        let fleet_on = fleet.enabled.unwrap_or(true);
        Effective {
            enabled: fleet_on && own.enabled.unwrap_or(true),
            killed_by_fleet: !fleet_on,
            tools: own.tools.unwrap_or(Tools::All),
            fleet_tools: fleet.tools,
            approval: own.approval.unwrap_or(ApprovalMode::None).max(fleet.approval.unwrap_or(ApprovalMode::None)),
            pin: own.pin.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(layers: &[(&str, Layer)]) -> PolicySet {
        PolicySet { revision: 1, layers: layers.iter().map(|(k, l)| ((*k).to_owned(), l.clone())).collect() }
    }

    #[test]
    fn fleet_kill_switch_overrides_every_agent() {
        let p = set(&[
            (FLEET, Layer { enabled: Some(false), ..Layer::default() }),
            ("a", Layer { enabled: Some(true), ..Layer::default() }),
        ]);
        let e = p.effective("a", None);
        assert!(!e.enabled && e.killed_by_fleet);
        assert_eq!(e.check("anything", Some("read")), Decision::Deny);
        assert!(p.effective("b", None).killed_by_fleet);
    }

    #[test]
    fn allowlists_with_globs_narrow_at_both_layers() {
        let p = set(&[
            (
                FLEET,
                Layer {
                    tools: Some(Tools::Allowlist { tools: vec!["github.*".into(), "search".into()] }),
                    ..Layer::default()
                },
            ),
            (
                "a",
                Layer {
                    tools: Some(Tools::Allowlist { tools: vec!["github.read_*".into(), "mcp:jira/*".into()] }),
                    ..Layer::default()
                },
            ),
        ]);
        let e = p.effective("a", None);
        assert!(e.allows("github.read_issue"));
        assert!(!e.allows("github.create_pr"), "the agent's list narrows the fleet's");
        assert!(!e.allows("mcp:jira/create"), "the fleet's list narrows the agent's");
        assert!(p.effective("b", None).allows("search"));
        assert!(!p.effective("b", None).allows("email.send"));
    }

    #[test]
    fn approval_mode_takes_the_stricter_and_writes_means_writes() {
        let p = set(&[
            (FLEET, Layer { approval: Some(ApprovalMode::Writes), ..Layer::default() }),
            ("strict", Layer { approval: Some(ApprovalMode::All), ..Layer::default() }),
        ]);
        let e = p.effective("a", None);
        assert_eq!(e.check("read_db", Some("read")), Decision::Allow);
        assert_eq!(e.check("refund", Some("write")), Decision::RequireApproval);
        assert_eq!(e.check("mystery", None), Decision::RequireApproval, "unknown side effects are treated as writes");
        assert_eq!(p.effective("strict", None).check("read_db", Some("read")), Decision::RequireApproval);
    }

    #[test]
    fn environment_layers_override_the_agent_layer() {
        let p = set(&[
            ("a", Layer { pin: Some("1.0".into()), ..Layer::default() }),
            ("a@prod", Layer { enabled: Some(false), ..Layer::default() }),
        ]);
        assert!(!p.effective("a", Some("prod")).enabled);
        assert!(p.effective("a", Some("staging")).enabled);
        assert_eq!(p.effective("a", Some("prod")).pin, "1.0");
    }
}
