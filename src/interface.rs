//! The engine interface every face reads: an immutable snapshot of the figures and of the
//! control plane, built the same way in-process (the TUI) and for the operator API (attached
//! consoles).

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::analytics::figures::{Series, Summary};
use crate::analytics::rollup::{Costed, cost_of};
use crate::control::model::{Approval, Incident};
use crate::control::policy::{Effective, Layer};
use crate::control::webhooks::{self, DeliveryState};
use crate::engine::Stats;
use crate::serve::Cockpit;
use crate::store::query::{GuardEvent, RunRow};

/// Slices in every sparkline.
pub const SLICES: usize = 30;

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
    /// Spans accepted per second, over the last few seconds.
    pub ingest_rate: f64,
    /// Export requests refused per second for load over the last few seconds: while above
    /// zero, the figures are missing what those requests carried.
    #[serde(default)]
    pub refused_rate: f64,
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
    /// What attached consoles are looking at: target (`approval:<id>`) → console names.
    #[serde(default)]
    pub viewing: BTreeMap<String, Vec<String>>,
}

/// Takes a snapshot of everything a console shows for the window.
pub fn take_snapshot(cockpit: &Cockpit, window: u64) -> Snapshot {
    let engine = &cockpit.engine;
    let control = &cockpit.control;
    let approvals = control.approvals(None);
    let summary = engine.summary(window, None, crate::control::count_approvals(&approvals, window, None));
    let stats = engine.stats();
    let rates = engine.ingest_rates(&stats);
    let policy = control.policy();
    let mut agents = engine.known_agents();
    agents.extend(policy.layers.keys().filter(|k| *k != "*").map(|k| k.split('@').next().unwrap_or(k).to_owned()));
    let effective = agents.iter().map(|a| (a.clone(), policy.effective(a, None))).collect();
    let prices = engine.rollups().read().prices().clone();
    let (mut runs, guard_events) = {
        let store = engine.store().read();
        (store.recent_runs(300, &|_| true), store.recent_guardrail_events(50))
    };
    for r in &mut runs {
        let mut total = 0.0;
        let mut complete = true;
        for u in &r.usage {
            match cost_of(&prices, u) {
                Costed::Reported(c) | Costed::Computed(c) => total += c,
                Costed::Unpriced => complete = false,
            }
        }
        r.cost_usd = complete.then_some(total);
    }
    Snapshot {
        summary,
        stats: Some(stats),
        ingest_rate: rates.spans_in,
        refused_rate: rates.refused,
        series: engine.series(window, SLICES),
        policy: PolicyView {
            revision: policy.revision,
            read_only: control.read_only(),
            layers: policy.layers,
            effective,
        },
        approvals,
        incidents: control.incidents().unwrap_or_default(),
        runs,
        guard_events,
        webhooks: control.with_db(|db| webhooks::states(db, control.webhooks())).unwrap_or_default(),
        taken_at: crate::control::rfc3339_ms(crate::control::now_ms()),
        consoles: None,
        viewing: BTreeMap::new(),
    }
}

/// Who is attached: consoles seen in the last few seconds, and what each is looking at.
#[derive(Debug, Default)]
pub struct Presence {
    seen: Mutex<BTreeMap<String, (std::time::Instant, Option<String>)>>,
}

/// A console counts as attached this long after its last request.
const PRESENCE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Presence {
    /// Records a console's request (and what it is viewing).
    pub fn touch(&self, console: &str, viewing: Option<String>) {
        self.seen.lock().insert(console.to_owned(), (std::time::Instant::now(), viewing));
    }

    /// Fills the snapshot's presence fields.
    pub fn fill(&self, s: &mut Snapshot) {
        let mut seen = self.seen.lock();
        seen.retain(|_, (t, _)| t.elapsed() < PRESENCE_TTL);
        s.consoles = Some(seen.len() as u32);
        s.viewing.clear();
        for (console, (_, viewing)) in seen.iter() {
            if let Some(v) = viewing {
                s.viewing.entry(v.clone()).or_default().push(console.clone());
            }
        }
    }
}
