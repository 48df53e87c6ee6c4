//! What the TUI reads: an immutable snapshot published a few times a second, and the one
//! narrow interface (in-process or over the operator API) it asks for drill-downs and actions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::control::model::{ActionRequest, Approval, ApprovalStatus, lever_said};
pub use crate::interface::{PolicyView, Snapshot};
use crate::store::query::TraceView;

/// A boxed future, so the interface can be a trait object.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the footer says of a lever that was applied: what changed in the operator's words, then
/// the revision and the audit entry, then any list (an allowlist's tools), the part a narrow
/// terminal may cut. `after` is the value the engine answers: a rollback asks for
/// `last_known_good`, and the answer names the version.
pub fn applied(
    req: &ActionRequest,
    after: &Value,
    revision: impl std::fmt::Display,
    audit_id: impl std::fmt::Display,
) -> String {
    let (what, then) = lever_said(&req.layer_name(), &req.lever, after);
    format!("✓ {what} · revision {revision}, audit #{audit_id}{then}")
}

/// What the footer says of a decision: what it lets happen or stops, then the approval's id.
/// The same decision made again (another console's, or a repeat) changed nothing, and says so.
pub fn decided(a: &Approval, changed: bool) -> String {
    match (a.status, changed) {
        (ApprovalStatus::Approved, true) => format!("✓ approved: {} may call {} ({})", a.agent, a.tool, a.id),
        (ApprovalStatus::Denied, true) => format!("✓ denied: {} will not call {} ({})", a.agent, a.tool, a.id),
        (status, _) => format!("{} was already {}: nothing changed", a.id, status.as_str()),
    }
}

/// What the footer says of an incident update, by its kind.
pub fn incident_updated(id: i64, kind: &str) -> String {
    match kind {
        "note" => format!("✓ note added to incident {id}"),
        "run" => format!("✓ run linked to incident {id}"),
        "resolved" => format!("✓ incident {id} resolved"),
        other => format!("✓ incident {id}: {other}"),
    }
}

/// The engine interface the TUI uses: in-process or over the operator API.
pub trait Backend: Send + Sync {
    /// A fresh snapshot for the window.
    fn snapshot(&self, window_seconds: u64) -> Fut<'_, Result<Snapshot, String>>;
    /// One trace's spans.
    fn trace(&self, trace_id: String) -> Fut<'_, Result<Option<TraceView>, String>>;
    /// Pulls a lever; answers a one-line result.
    fn act(&self, req: ActionRequest) -> Fut<'_, Result<String, String>>;
    /// Decides an approval.
    fn decide(&self, id: String, approve: bool, reason: String) -> Fut<'_, Result<String, String>>;
    /// Opens an incident.
    fn open_incident(&self, sev: String, title: String, agent: Option<String>) -> Fut<'_, Result<String, String>>;
    /// Adds a note, links a run, or resolves an incident.
    fn incident_update(
        &self,
        id: i64,
        kind: String,
        text: String,
        trace_id: Option<String>,
    ) -> Fut<'_, Result<String, String>>;
    /// An incident as Markdown.
    fn export_incident(&self, id: i64) -> Fut<'_, Result<String, String>>;
    /// A label for the header: where the data comes from.
    fn source(&self) -> String;
    /// Notified when the engine reports a change (an attached console's event stream).
    fn changes(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
    /// Tells the engine what this console is looking at (presence), e.g. `approval:<id>`.
    fn set_viewing(&self, _target: Option<String>) {}
    /// This console's name, as other consoles and the audit log see it.
    fn console(&self) -> Option<String> {
        None
    }
    /// Starts a scripted demo incident (only a demo console can).
    fn demo_incident(&self, name: String) -> Fut<'_, Result<String, String>> {
        Box::pin(async move { Err(format!("no demo fleet runs here, so there is no demo incident {name:?} to start")) })
    }
}

/// Shared handle.
pub type SharedBackend = Arc<dyn Backend>;
