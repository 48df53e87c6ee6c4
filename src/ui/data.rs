//! What the TUI reads: an immutable snapshot published a few times a second, and the one
//! narrow interface (in-process or over the operator API) it asks for drill-downs and actions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::control::model::ActionRequest;
pub use crate::interface::{PolicyView, Snapshot};
use crate::store::query::TraceView;

/// A boxed future, so the interface can be a trait object.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the footer says of a lever that was applied: the revision and the audit entry first, so
/// they are not the part cut off on a narrow terminal, then the new value.
pub fn applied(lever: &str, revision: impl std::fmt::Display, audit_id: impl std::fmt::Display, value: &str) -> String {
    format!("✓ {lever}: revision {revision}, audit #{audit_id} · now {value}")
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
