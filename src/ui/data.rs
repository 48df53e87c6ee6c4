//! What the TUI reads: an immutable snapshot published a few times a second, and the one
//! narrow interface (in-process or over the operator API) it asks for drill-downs and actions.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::analytics::figures::{Series, Summary};
use crate::control::model::{ActionRequest, Approval, Incident};
use crate::control::policy::{Effective, Layer};
use crate::control::webhooks::DeliveryState;
use crate::engine::Stats;
use crate::store::query::{GuardEvent, RunRow, TraceView};

/// The policy as the TUI shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyView {
    /// Revision.
    pub revision: u64,
    /// Levers disabled.
    pub read_only: bool,
    /// Every layer.
    pub layers: BTreeMap<String, Layer>,
    /// Each agent's effective policy.
    pub effective: BTreeMap<String, Effective>,
}

/// Everything a frame needs, immutable once published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every figure for the window.
    pub summary: Summary,
    /// Ingest counters.
    pub stats: Option<Stats>,
    /// Spans accepted per second, over the last refresh.
    pub ingest_rate: f64,
    /// Sparkline data.
    pub series: Series,
    /// Policy.
    pub policy: PolicyView,
    /// Approvals, newest first.
    pub approvals: Vec<Approval>,
    /// Incidents, newest first.
    pub incidents: Vec<Incident>,
    /// Recent runs, newest first.
    pub runs: Vec<RunRow>,
    /// Recent guardrail decisions, newest first.
    pub guard_events: Vec<GuardEvent>,
    /// Webhook delivery state.
    pub webhooks: Vec<DeliveryState>,
    /// When it was taken (RFC 3339).
    pub taken_at: String,
    /// Consoles attached to the engine (presence), when known.
    pub consoles: Option<u32>,
}

/// A boxed future, so the interface can be a trait object.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
    /// Starts a scripted demo incident (only a demo console can).
    fn demo_incident(&self, name: String) -> Fut<'_, Result<String, String>> {
        Box::pin(async move { Err(format!("no demo fleet runs here, so there is no demo incident {name:?} to start")) })
    }
}

/// Shared handle.
pub type SharedBackend = Arc<dyn Backend>;
