//! Control-plane records: approvals, incidents, events.

use serde::{Deserialize, Serialize};

/// Where an approval stands. Expired means denied: agents fail closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a human.
    Pending,
    /// A human said yes.
    Approved,
    /// A human said no.
    Denied,
    /// Nobody decided in time.
    Expired,
}

impl ApprovalStatus {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }

    /// Reads the word.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// A request for a human decision on one tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Id.
    pub id: String,
    /// Agent asking.
    pub agent: String,
    /// Tool it wants to call.
    pub tool: String,
    /// The call's arguments.
    pub arguments: serde_json::Value,
    /// One line for the operator.
    pub summary: String,
    /// Risk as the agent rates it (low, medium, high, critical).
    pub risk: String,
    /// The run's trace.
    pub trace_id: Option<String>,
    /// The span asking.
    pub span_id: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Expires (RFC 3339).
    pub expires_at: String,
    /// Created, ms since the epoch.
    pub created_ms: i64,
    /// Expires, ms since the epoch.
    pub expires_ms: i64,
    /// Status.
    pub status: ApprovalStatus,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// What an agent sends to ask for approval.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewApproval {
    /// Agent.
    pub agent: String,
    /// Tool.
    pub tool: String,
    /// Arguments.
    pub arguments: serde_json::Value,
    /// Summary.
    pub summary: String,
    /// Risk.
    pub risk: String,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Span id.
    pub span_id: Option<String>,
    /// The same key returns the same approval.
    pub idempotency_key: Option<String>,
    /// Seconds until it expires (default 300, at most a day).
    pub ttl_seconds: Option<u64>,
}

/// An incident's timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// When (RFC 3339).
    pub at: String,
    /// opened, alert, escalated, action, decision, note, run, resolved.
    pub kind: String,
    /// One line.
    pub text: String,
    /// A linked trace, for runs.
    pub trace_id: Option<String>,
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Id.
    pub id: i64,
    /// SEV-0, SEV-1 or SEV-2.
    pub sev: String,
    /// Title.
    pub title: String,
    /// The agent concerned, if one.
    pub agent: Option<String>,
    /// open or resolved.
    pub status: String,
    /// Opened (RFC 3339).
    pub opened_at: String,
    /// Resolved (RFC 3339).
    pub closed_at: Option<String>,
    /// Who or what opened it.
    pub opened_by: String,
    /// Timeline, oldest first.
    pub timeline: Vec<IncidentEvent>,
}

/// A change operators' consoles and webhooks hear about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ControlEvent {
    /// A lever moved.
    Policy {
        /// New revision.
        revision: u64,
        /// `*`, agent or agent@env.
        scope: String,
        /// Which lever.
        lever: String,
    },
    /// An approval was requested, decided or expired.
    Approval {
        /// Id.
        id: String,
        /// New status.
        status: ApprovalStatus,
    },
    /// An incident opened, changed or resolved.
    Incident {
        /// Id.
        id: i64,
        /// What happened.
        change: String,
    },
}

/// An operator action on a lever (the body of `POST /api/v1/actions`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ActionRequest {
    /// enabled, tools, approval or pin.
    pub lever: String,
    /// Agent name, or `*` for the fleet-wide layer.
    pub agent: String,
    /// The lever's new value, as the OFREP flag has it.
    pub value: serde_json::Value,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Only in this environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// The incident this belongs to (default: the agent's open incident, if any).
    #[serde(default)]
    pub incident: Option<i64>,
}

impl ActionRequest {
    /// The layer it changes, as an operator names it: the agent, `agent@env`, or the fleet.
    pub fn layer_name(&self) -> String {
        match (self.agent.as_str(), self.environment.as_deref().filter(|e| !e.is_empty())) {
            ("*", _) => "the fleet".to_owned(),
            (agent, Some(env)) => format!("{agent}@{env}"),
            (agent, None) => agent.to_owned(),
        }
    }
}

/// A lever's new value (`after`, as the engine answers it) in an operator's words, for the
/// footer and the incident timeline: what changed (`billing-ops killed`, `support-triage pinned
/// to 4.1`), and any list to follow it (` · now a, b`), the part a narrow line may cut.
pub fn lever_said(who: &str, lever: &str, after: &serde_json::Value) -> (String, String) {
    use serde_json::Value;
    let said = |what: String| (what, String::new());
    match (lever, after) {
        ("enabled", Value::Bool(false)) => said(format!("{who} killed")),
        ("enabled", Value::Bool(true)) => said(format!("{who} revived")),
        ("tools", v) if v["mode"] == "all" => said(format!("{who} may call every tool")),
        ("tools", v) if v["mode"] == "allowlist" => {
            let tools: Vec<&str> = v["tools"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let count = match tools.len() {
                0 => "no tools".to_owned(),
                1 => "1 tool".to_owned(),
                n => format!("{n} tools"),
            };
            (format!("{who} may call {count}"), format!(" · now {}", tools.join(", ")))
        }
        ("approval", Value::String(mode)) if mode == "none" => said(format!("{who} asks no approvals")),
        ("approval", Value::String(mode)) => said(format!("{who} asks approval for {mode}")),
        ("pin", Value::String(version)) if !version.is_empty() => said(format!("{who} pinned to {version}")),
        ("pin", _) => said(format!("{who} unpinned")),
        (lever, Value::Null) => said(format!("{who}: {lever} back to the default")),
        (lever, v) => (format!("{who}: {lever}"), format!(" · now {v}")),
    }
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The new revision.
    pub revision: u64,
    /// The audit entry.
    pub audit_id: i64,
    /// The lever's value before.
    pub before: serde_json::Value,
    /// The lever's value after.
    pub after: serde_json::Value,
}

/// Why a control-plane call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// The request is wrong (400).
    BadRequest(String),
    /// No such thing (404).
    NotFound(String),
    /// It conflicts with what was already decided (409).
    Conflict(String),
    /// The cockpit runs read-only (403).
    ReadOnly,
    /// Storage failed (500); nothing was acknowledged.
    Internal(String),
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadRequest(m) | Self::NotFound(m) | Self::Conflict(m) | Self::Internal(m) => f.write_str(m),
            Self::ReadOnly => f.write_str("the cockpit is running read-only: levers are disabled"),
        }
    }
}

impl From<rusqlite::Error> for ControlError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(format!("control database: {e}"))
    }
}
