//! The engine: a bounded ingest queue feeding the hot store on one worker thread, and the
//! read side every face (API, TUI, report) uses.

pub mod worker;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::analytics::AnalyticsConfig;
use crate::analytics::alerts::{AlertBook, AlertInputs, rfc3339};
use crate::analytics::figures::{ApprovalCounts, Context, Summary, summarize};
use crate::analytics::persist::RollupDb;
use crate::analytics::prices::PriceTable;
use crate::analytics::rollup::{Key, Rollups, minute_of};
use crate::analytics::{drift, rollup};
use crate::ingest::convert::{Converted, Limits};
use crate::ingest::inflight::Inflight;
use crate::store::Store;
use crate::store::record::{LogRecord, PointRecord, SpanRecord};
use crate::store::settle::SettlePolicy;
use worker::{Job, Worker};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Hot-window memory budget, bytes.
    pub memory_budget: usize,
    /// Items (spans + logs + points) that may wait in the ingest queue.
    pub queue_capacity: usize,
    /// Attribute value limits.
    pub limits: Limits,
    /// Prices for computed costs.
    pub prices: PriceTable,
    /// When quiet traces settle into the rollups.
    pub settle: SettlePolicy,
    /// Windows end at the newest data instead of the wall clock (replayed files).
    pub data_clock: bool,
    /// Where rollups persist; `None` keeps them in memory only.
    pub data_dir: Option<PathBuf>,
    /// Drift and alert thresholds.
    pub analytics: AnalyticsConfig,
    /// How long rollups are kept, days.
    pub retention_days: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_budget: 512 << 20,
            queue_capacity: QUEUE_CAPACITY,
            limits: Limits::default(),
            prices: PriceTable::builtin(),
            settle: SettlePolicy::default(),
            data_clock: false,
            data_dir: None,
            analytics: AnalyticsConfig::default(),
            retention_days: 8,
        }
    }
}

impl EngineConfig {
    /// Retention in minutes.
    pub fn retention_minutes(&self) -> i64 {
        i64::from(self.retention_days) * 24 * 60
    }
}

/// Items the ingest queue holds by default: 0.2 s of flat-out ingest. Converted spans wait there
/// with their facts (~1 KB each), outside the store's share of the memory budget.
pub const QUEUE_CAPACITY: usize = 50_000;

/// The share of the queue that must be free for a request to be read (see [`Engine::admit`]):
/// room for a few typical exports.
pub const DOOR_ROOM_PERCENT: usize = 1;

/// The share of the memory budget that gRPC request bodies being received may hold together
/// (see [`crate::ingest::inflight`]): at 512 MiB about 26 MB, sixty batches of the loadgen's
/// 400 KB. At 10%, a hundred senders of 4 MB batches took the process past its budget.
pub const BODIES_SHARE_PERCENT: usize = 5;

/// The queue is full: the client should retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled;

/// Room reserved in the ingest queue; given back when the store has applied the items (or when
/// dropped unused).
#[derive(Debug)]
pub struct Room(OwnedSemaphorePermit);

/// Counters kept at the door (before the store).
#[derive(Debug, Default)]
struct DoorCounters {
    spans_accepted: AtomicU64,
    spans_rejected: AtomicU64,
    spans_throttled: AtomicU64,
    logs_accepted: AtomicU64,
    logs_rejected: AtomicU64,
    points_accepted: AtomicU64,
    points_rejected: AtomicU64,
    requests_throttled: AtomicU64,
    requests_invalid: AtomicU64,
}

/// The engine.
pub struct Engine {
    config: EngineConfig,
    store: Arc<RwLock<Store>>,
    rollups: Arc<RwLock<Rollups>>,
    alerts: Arc<Mutex<AlertBook>>,
    alert_inputs: Arc<RwLock<AlertInputs>>,
    alerts_opened: tokio::sync::broadcast::Sender<crate::analytics::alerts::Active>,
    rate_samples: Mutex<VecDeque<RateSample>>,
    tx: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
    bodies: Arc<Inflight>,
    door: DoorCounters,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// Which kind of item a submission carries.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Spans,
    Logs,
    Points,
}

/// The span rate is averaged over at least this long: agents export in bursts (a batch every
/// few seconds), and over one second a steady trickle read "0/s in" every other refresh.
const RATE_OVER: std::time::Duration = std::time::Duration::from_secs(5);

/// How long rate samples are kept.
const RATE_KEPT: std::time::Duration = std::time::Duration::from_secs(10);

/// The cumulative counts the rates are taken from, at one moment.
#[derive(Debug, Clone, Copy)]
struct RateSample {
    at: std::time::Instant,
    /// Spans accepted.
    accepted: u64,
    /// Export requests refused for load (`requests_throttled`).
    refused: u64,
}

/// How fast a counter grew since the newest sample at least [`RATE_OVER`] old (the oldest there
/// is, early on), per second; `count` picks the counter.
fn rate_since(samples: &VecDeque<RateSample>, now: RateSample, count: fn(&RateSample) -> u64) -> f64 {
    let base = samples.iter().rev().find(|s| now.at.duration_since(s.at) >= RATE_OVER).or(samples.front());
    base.map_or(0.0, |s| {
        let dt = now.at.duration_since(s.at).as_secs_f64();
        if dt > 0.0 { count(&now).saturating_sub(count(s)) as f64 / dt } else { 0.0 }
    })
}

/// The ingest rates a console shows, over the last few seconds.
#[derive(Debug, Clone, Copy)]
pub struct IngestRates {
    /// Spans accepted per second.
    pub spans_in: f64,
    /// Export requests refused per second because ingest is over capacity (shed load: what
    /// they carried is not in the figures).
    pub refused: f64,
}

/// The hot store's share of the memory budget. The rest is for what flat-out ingest holds
/// outside the store: requests being decoded, the ingest queue, facts of unsettled traces
/// being freed across threads, and the allocator's own slack (measured in BENCHMARKS.md: RSS
/// peaked at 1.8× the store's bytes under flat-out load).
pub const STORE_SHARE_PERCENT: usize = 45;

/// The store's byte budget under a process memory budget.
pub fn store_budget(memory_budget: usize) -> usize {
    memory_budget / 100 * STORE_SHARE_PERCENT
}

impl Engine {
    /// Starts the engine and its store worker; with a data dir, restores persisted rollups.
    pub fn start(config: EngineConfig) -> Result<Arc<Self>, String> {
        let store = Arc::new(RwLock::new(Store::new(store_budget(config.memory_budget))));
        let mut rollups = Rollups::new(config.prices.clone());
        let db = match &config.data_dir {
            Some(dir) => {
                let db = RollupDb::open(dir)?;
                let now_min = minute_of(worker::now_ms().saturating_mul(1_000_000));
                let (minutes, bad) = db.load(now_min - config.retention_minutes())?;
                if bad > 0 {
                    tracing::warn!("{bad} persisted rollup minute(s) could not be read and were skipped");
                }
                for (m, b) in minutes {
                    rollups.restore(m, b);
                }
                Some(db)
            }
            None => None,
        };
        let rollups = Arc::new(RwLock::new(rollups));
        let alerts = Arc::new(Mutex::new(AlertBook::default()));
        let alert_inputs = Arc::new(RwLock::new(AlertInputs::default()));
        let (alerts_opened, _) = tokio::sync::broadcast::channel(256);
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let worker = Worker {
            config: config.clone(),
            store: Arc::clone(&store),
            rollups: Arc::clone(&rollups),
            alerts: Arc::clone(&alerts),
            inputs: Arc::clone(&alert_inputs),
            opened: alerts_opened.clone(),
            db,
            last_housekeeping: std::time::Instant::now(),
        };
        let handle = std::thread::Builder::new()
            .name("cockpit-store".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| format!("cannot start the store worker: {e}"))?;
        // The ticker holds only a weak sender: dropping the engine closes the channel.
        let weak = tx.downgrade();
        std::thread::Builder::new()
            .name("cockpit-tick".into())
            .spawn(move || {
                while let Some(tx) = weak.upgrade() {
                    if tx.send(Job::Tick).is_err() {
                        break;
                    }
                    drop(tx);
                    std::thread::sleep(worker::TICK);
                }
            })
            .map_err(|e| format!("cannot start the ticker: {e}"))?;
        let permits = Arc::new(Semaphore::new(config.queue_capacity));
        let bodies = Arc::new(Inflight::new(config.memory_budget / 100 * BODIES_SHARE_PERCENT));
        Ok(Arc::new(Self {
            config,
            store,
            rollups,
            alerts,
            alert_inputs,
            alerts_opened,
            rate_samples: Mutex::new(VecDeque::new()),
            tx,
            permits,
            bodies,
            door: DoorCounters::default(),
            worker: Mutex::new(Some(handle)),
        }))
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn permits_for(&self, n: usize) -> u32 {
        n.clamp(1, self.config.queue_capacity.max(1)).min(u32::MAX as usize) as u32
    }

    fn enqueue(
        &self,
        kind: Kind,
        permit: OwnedSemaphorePermit,
        n: usize,
        rejected: u64,
        job: impl FnOnce(OwnedSemaphorePermit) -> Job,
    ) {
        let (accepted, rejected_counter) = match kind {
            Kind::Spans => (&self.door.spans_accepted, &self.door.spans_rejected),
            Kind::Logs => (&self.door.logs_accepted, &self.door.logs_rejected),
            Kind::Points => (&self.door.points_accepted, &self.door.points_rejected),
        };
        rejected_counter.fetch_add(rejected, Ordering::Relaxed);
        if n == 0 {
            return;
        }
        accepted.fetch_add(n as u64, Ordering::Relaxed);
        if self.tx.send(job(permit)).is_err() {
            tracing::error!("store worker has stopped; {n} item(s) could not be stored");
        }
    }

    fn try_submit(
        &self,
        kind: Kind,
        n: usize,
        rejected: u64,
        job: impl FnOnce(OwnedSemaphorePermit) -> Job,
    ) -> Result<(), Throttled> {
        let Room(permit) = self.room(kind, n)?;
        self.enqueue(kind, permit, n, rejected, job);
        Ok(())
    }

    fn room(&self, kind: Kind, n: usize) -> Result<Room, Throttled> {
        match Arc::clone(&self.permits).try_acquire_many_owned(self.permits_for(n)) {
            Ok(p) => Ok(Room(p)),
            Err(_) => {
                self.door.requests_throttled.fetch_add(1, Ordering::Relaxed);
                if matches!(kind, Kind::Spans) {
                    self.door.spans_throttled.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(Throttled)
            }
        }
    }

    /// Whether an export may be read at all: with less than [`DOOR_ROOM_PERCENT`] of the queue
    /// free, it is refused at the door, before its body is parsed (a gRPC body before it is even
    /// received). Under overload that work would end in the same answer, and bodies held while
    /// they are read are memory outside the budget's accounting. Such a request is counted in `requests_throttled`;
    /// its spans are not known, so `spans_throttled` does not count them.
    pub fn admit(&self) -> Result<(), Throttled> {
        let needed = (self.config.queue_capacity / 100 * DOOR_ROOM_PERCENT).max(1);
        if self.permits.available_permits() >= needed {
            return Ok(());
        }
        self.door.requests_throttled.fetch_add(1, Ordering::Relaxed);
        Err(Throttled)
    }

    /// The request bodies being received, under their share of the memory budget.
    pub fn bodies(&self) -> &Arc<Inflight> {
        &self.bodies
    }

    /// Room in the queue for up to `n` spans, taken before they are converted: an overloaded
    /// receiver then answers [`Throttled`] without paying for a conversion it would throw away.
    pub fn reserve_spans(&self, n: usize) -> Result<Room, Throttled> {
        self.room(Kind::Spans, n)
    }

    /// Queues converted spans into room reserved for them.
    pub fn submit_reserved_spans(&self, Room(permit): Room, c: Converted<SpanRecord>) {
        let n = c.items.len();
        let items = c.items;
        self.enqueue(Kind::Spans, permit, n, c.rejected, move |p| Job::Spans(items, p));
    }

    async fn wait_submit(&self, kind: Kind, n: usize, rejected: u64, job: impl FnOnce(OwnedSemaphorePermit) -> Job) {
        match Arc::clone(&self.permits).acquire_many_owned(self.permits_for(n)).await {
            Ok(permit) => self.enqueue(kind, permit, n, rejected, job),
            Err(_) => tracing::error!("ingest queue closed; {n} item(s) dropped"),
        }
    }

    /// Queues log records, or answers [`Throttled`].
    pub fn submit_logs(&self, c: Converted<LogRecord>) -> Result<(), Throttled> {
        let n = c.items.len();
        let items = c.items;
        self.try_submit(Kind::Logs, n, c.rejected, move |p| Job::Logs(items, p))
    }

    /// Queues metric points, or answers [`Throttled`].
    pub fn submit_points(&self, c: Converted<PointRecord>) -> Result<(), Throttled> {
        let n = c.items.len();
        let items = c.items;
        self.try_submit(Kind::Points, n, c.rejected, move |p| Job::Points(items, p))
    }

    /// Queues spans, waiting for room (file replay: nobody to retry).
    pub async fn submit_spans_wait(&self, c: Converted<SpanRecord>) {
        let n = c.items.len();
        let items = c.items;
        self.wait_submit(Kind::Spans, n, c.rejected, move |p| Job::Spans(items, p)).await;
    }

    /// Queues log records, waiting for room.
    pub async fn submit_logs_wait(&self, c: Converted<LogRecord>) {
        let n = c.items.len();
        let items = c.items;
        self.wait_submit(Kind::Logs, n, c.rejected, move |p| Job::Logs(items, p)).await;
    }

    /// Queues metric points, waiting for room.
    pub async fn submit_points_wait(&self, c: Converted<PointRecord>) {
        let n = c.items.len();
        let items = c.items;
        self.wait_submit(Kind::Points, n, c.rejected, move |p| Job::Points(items, p)).await;
    }

    /// Counts a request that could not be decoded at all.
    pub fn count_invalid_request(&self) {
        self.door.requests_invalid.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits until everything queued before this call is in the store.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Settles every trace into the rollups now (replay and reports; live ingest settles
    /// traces once they have been quiet).
    pub async fn settle_all(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::SettleAll(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Evaluates alerts over the replayed data's last hours, minute by minute.
    pub async fn replay_alerts(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Job::ReplayAlerts(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Tells alert rules about approvals (from the control plane).
    pub fn set_alert_inputs(&self, inputs: AlertInputs) {
        *self.alert_inputs.write() = inputs;
    }

    /// The end of every window: the newest data (data clock) or now.
    pub fn now_ns(&self) -> u64 {
        if self.config.data_clock {
            self.rollups.read().latest_ns()
        } else {
            worker::now_ms().saturating_mul(1_000_000)
        }
    }

    /// Every figure for the window ending now, optionally for one agent.
    pub fn summary(&self, window_seconds: u64, agent: Option<&str>, approvals: ApprovalCounts) -> Summary {
        let as_of = self.now_ns();
        let rollups = self.rollups.read();
        let to = minute_of(as_of);
        let minutes = (window_seconds / 60).max(1) as i64;
        let keep = |k: &Key| agent.is_none_or(|a| *k.agent == *a);
        let bucket = rollups.window(to - minutes + 1, to, &keep);
        let cfg = &self.config.analytics;
        let today = chrono::DateTime::from_timestamp((as_of / 1_000_000_000) as i64, 0).map(|t| t.date_naive());
        let ctx = Context {
            window_seconds,
            as_of: rfc3339(as_of),
            today,
            agent: agent.map(str::to_owned),
            budget_usd_per_hour: cfg.alerts.budget_usd_per_hour,
            approvals,
        };
        let mut summary = summarize(&bucket, &ctx, rollups.prices());
        let horizon = (cfg.drift.horizon_seconds / 60).max(minutes as u64) as i64;
        summary.drift = if horizon == minutes {
            drift::drift(&bucket, &cfg.drift)
        } else {
            drift::drift(&rollups.window(to - horizon + 1, to, &keep), &cfg.drift)
        };
        summary.alerts = self.alerts.lock().rows(agent);
        // What a rollback would pin, so that its confirmation can name it.
        let versions = self.versions_by_agent(&rollups, &keep);
        for row in &mut summary.agents {
            row.last_known_good = versions.get(&row.name).and_then(|v| last_known_good_of(v));
        }
        summary
    }

    /// Sparkline series for the window ending now, in `n` slices.
    pub fn series(&self, window_seconds: u64, n: usize) -> crate::analytics::figures::Series {
        use crate::analytics::figures::Series;
        use rollup::Merge;
        let rollups = self.rollups.read();
        let to = minute_of(self.now_ns());
        let minutes = (window_seconds / 60).max(1) as i64;
        let slices = rollups.slices(to - minutes + 1, to, n, &|_| true);
        let mut s = Series::default();
        let rate = |ok: u64, all: u64| (all > 0).then(|| ok as f64 / all as f64);
        // First pass: fleet figures, and every agent and tool that appears.
        for b in &slices {
            let mut runs = rollup::RunCell::default();
            let mut llm = rollup::LlmCell::default();
            for (k, c) in &b.runs.0 {
                runs.merge(c);
                s.agent_success.entry(k.agent.to_string()).or_default();
            }
            b.llm.0.values().for_each(|c| llm.merge(c));
            for k in b.tools.0.keys() {
                s.tool_errors.entry(k.what.to_string()).or_default();
            }
            s.runs.push(runs.runs);
            s.success.push(rate(runs.success, runs.runs));
            s.cost.push(llm.reported_cost_usd + llm.computed_cost_usd);
        }
        // Second pass: every agent and tool gets a value (or a gap) in every slice.
        for (i, b) in slices.iter().enumerate() {
            for (agent, points) in s.agent_success.iter_mut() {
                let (ok, all) = b
                    .runs
                    .0
                    .iter()
                    .filter(|(k, _)| *k.agent == **agent)
                    .fold((0, 0), |(o, a), (_, c)| (o + c.success, a + c.runs));
                points.resize(i, None);
                points.push(rate(ok, all));
            }
            for (tool, points) in s.tool_errors.iter_mut() {
                let (err, all) = b
                    .tools
                    .0
                    .iter()
                    .filter(|(k, _)| *k.what == **tool)
                    .fold((0, 0), |(e, a), (_, c)| (e + c.errors, a + c.calls));
                points.resize(i, None);
                points.push(rate(err, all));
            }
        }
        s
    }

    /// Spans accepted and exports refused per second over the last few seconds, from `stats`
    /// just taken (any reader may ask; the samples are shared, so several consoles see the same
    /// rates).
    pub fn ingest_rates(&self, stats: &Stats) -> IngestRates {
        let now = RateSample {
            at: std::time::Instant::now(),
            accepted: stats.spans_accepted,
            refused: stats.requests_throttled,
        };
        let mut samples = self.rate_samples.lock();
        samples.push_back(now);
        while samples.front().is_some_and(|s| now.at.duration_since(s.at) > RATE_KEPT) {
            samples.pop_front();
        }
        IngestRates {
            spans_in: rate_since(&samples, now, |s| s.accepted),
            refused: rate_since(&samples, now, |s| s.refused),
        }
    }

    /// Agents the engine knows: in the hot window or in the rollups.
    pub fn known_agents(&self) -> std::collections::BTreeSet<String> {
        let mut out = self.rollups.read().agents();
        out.extend(self.store.read().agents().keys().cloned());
        out
    }

    /// The versions an agent has run over the retention period, oldest first, with figures.
    pub fn versions(&self, agent: &str) -> Vec<VersionFigures> {
        let rollups = self.rollups.read();
        self.versions_by_agent(&rollups, &|k: &Key| *k.agent == *agent).remove(agent).unwrap_or_default()
    }

    /// The versions of every agent `keep` admits over the retention period, oldest first.
    fn versions_by_agent(
        &self,
        rollups: &Rollups,
        keep: &impl Fn(&Key) -> bool,
    ) -> std::collections::BTreeMap<String, Vec<VersionFigures>> {
        let to = minute_of(self.now_ns());
        let bucket = rollups.window(to - self.config.retention_minutes(), to, keep);
        let mut cells: std::collections::BTreeMap<(&str, &str), rollup::RunCell> = std::collections::BTreeMap::new();
        for (k, c) in &bucket.runs.0 {
            rollup::Merge::merge(cells.entry((&*k.agent, &*k.version)).or_default(), c);
        }
        let slo = self.config.analytics.alerts.slo_success_rate;
        let mut out: std::collections::BTreeMap<String, Vec<VersionFigures>> = std::collections::BTreeMap::new();
        for ((agent, version), c) in cells {
            out.entry(agent.to_owned()).or_default().push(VersionFigures {
                version: version.to_owned(),
                runs: c.runs,
                success_rate: (c.runs > 0).then(|| c.success as f64 / c.runs as f64),
                met_slo: c.runs >= MIN_RUNS_FOR_GOOD && (c.success as f64) >= slo * c.runs as f64,
                first_seen: rfc3339(c.first_ns),
                last_seen: rfc3339(c.last_ns),
                first_ns: c.first_ns,
                last_ns: c.last_ns,
            });
        }
        out.values_mut().for_each(|v| v.sort_by_key(|v| v.first_ns));
        out
    }

    /// The newest version before the current one whose success rate met the SLO.
    pub fn last_known_good(&self, agent: &str) -> Option<String> {
        last_known_good_of(&self.versions(agent))
    }

    /// Hears about alerts as they start firing.
    pub fn subscribe_alerts(&self) -> tokio::sync::broadcast::Receiver<crate::analytics::alerts::Active> {
        self.alerts_opened.subscribe()
    }

    /// Read access to the rollups.
    pub fn rollups(&self) -> &RwLock<rollup::Rollups> {
        &self.rollups
    }

    /// Drains the queue into the store, settles and persists everything, and stops the worker
    /// (blocking).
    pub fn shutdown(&self) {
        let _ = self.tx.send(Job::Stop);
        if let Some(handle) = self.worker.lock().take() {
            let _ = handle.join();
        }
    }

    /// The store, for readers. Hold the lock briefly.
    pub fn store(&self) -> &RwLock<Store> {
        &self.store
    }

    /// Items waiting in the ingest queue.
    pub fn pending(&self) -> usize {
        self.config.queue_capacity.saturating_sub(self.permits.available_permits())
    }

    /// The document `/api/v1/stats` serves.
    pub fn stats(&self) -> Stats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let store = self.store.read();
        let c = store.counters();
        Stats {
            spans_accepted: load(&self.door.spans_accepted),
            spans_rejected: load(&self.door.spans_rejected),
            spans_throttled: load(&self.door.spans_throttled),
            spans_deduplicated: c.spans_deduplicated,
            spans_stored: c.spans_stored,
            spans_evicted: c.spans_evicted,
            requests_throttled: load(&self.door.requests_throttled) + self.bodies.refused(),
            requests_invalid: load(&self.door.requests_invalid),
            ingest_pending: self.pending() as u64,
            runs: c.runs,
            llm_calls: c.llm_calls,
            tool_calls: c.tool_calls,
            guardrail_decisions: c.guardrail_decisions,
            evaluations: c.evaluations,
            tool_decisions: c.tool_decisions,
            metric_points: c.metric_points,
            metric_points_rejected: load(&self.door.points_rejected),
            metric_points_evicted: c.points_evicted,
            log_records: c.log_records,
            log_records_rejected: load(&self.door.logs_rejected),
            log_records_evicted: c.logs_evicted,
            hot_spans: store.hot_spans() as u64,
            hot_traces: store.hot_traces() as u64,
            hot_bytes: store.used_bytes() as u64,
            memory_budget_bytes: self.config.memory_budget as u64,
            agents: store
                .agents()
                .iter()
                .filter(|(_, a)| a.runs > 0)
                .map(|(name, a)| AgentStats {
                    name: name.clone(),
                    runs: a.runs,
                    versions: a.versions.iter().filter(|(_, n)| **n > 0).map(|(v, _)| v.clone()).collect(),
                })
                .collect(),
            tools: store
                .tools()
                .iter()
                .map(|(name, t)| ToolStats { name: name.clone(), calls: t.calls, errors: t.errors })
                .collect(),
        }
    }
}

/// A version needs this many runs before it can be "known good".
const MIN_RUNS_FOR_GOOD: u64 = 10;

/// The newest version before the current (most recently run) one whose success rate met the
/// SLO, among an agent's versions.
fn last_known_good_of(versions: &[VersionFigures]) -> Option<String> {
    let current = versions.iter().max_by_key(|v| v.last_ns)?.first_ns;
    versions.iter().filter(|v| v.first_ns < current && v.met_slo).max_by_key(|v| v.first_ns).map(|v| v.version.clone())
}

/// One version's figures over the retention period.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct VersionFigures {
    /// Version.
    pub version: String,
    /// Runs.
    pub runs: u64,
    /// Success rate.
    pub success_rate: Option<f64>,
    /// Whether it met the SLO (with at least 10 runs).
    pub met_slo: bool,
    /// First run seen (RFC 3339).
    pub first_seen: String,
    /// Last run seen (RFC 3339).
    pub last_seen: String,
    /// First run, ns.
    #[serde(skip)]
    pub first_ns: u64,
    /// Last run, ns.
    #[serde(skip)]
    pub last_ns: u64,
}

/// Ingest and store counts (cumulative since start).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[allow(missing_docs)]
pub struct Stats {
    pub spans_accepted: u64,
    pub spans_rejected: u64,
    pub spans_throttled: u64,
    pub spans_deduplicated: u64,
    pub spans_stored: u64,
    pub spans_evicted: u64,
    pub requests_throttled: u64,
    pub requests_invalid: u64,
    pub ingest_pending: u64,
    pub runs: u64,
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub guardrail_decisions: u64,
    pub evaluations: u64,
    pub tool_decisions: u64,
    pub metric_points: u64,
    pub metric_points_rejected: u64,
    pub metric_points_evicted: u64,
    pub log_records: u64,
    pub log_records_rejected: u64,
    pub log_records_evicted: u64,
    pub hot_spans: u64,
    pub hot_traces: u64,
    pub hot_bytes: u64,
    pub memory_budget_bytes: u64,
    pub agents: Vec<AgentStats>,
    pub tools: Vec<ToolStats>,
}

/// Runs and versions of one agent.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[allow(missing_docs)]
pub struct AgentStats {
    pub name: String,
    pub runs: u64,
    pub versions: Vec<String>,
}

/// Calls and errors of one tool.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[allow(missing_docs)]
pub struct ToolStats {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn the_rate_averages_bursts_over_five_seconds() {
        let t0 = Instant::now();
        let at = |s: u64, accepted: u64| RateSample { at: t0 + Duration::from_secs(s), accepted, refused: 0 };
        let spans = |s: &RateSample| s.accepted;
        // 500 spans in a burst at 2 s, nothing since: still 500 over the last 6 s.
        let samples: VecDeque<_> = [at(0, 0), at(2, 500), at(5, 500), at(6, 500)].into();
        assert!((rate_since(&samples, at(6, 500), spans) - 500.0 / 6.0).abs() < 1e-9);
        // Early on, against the oldest sample.
        let samples: VecDeque<_> = [at(0, 0), at(2, 300)].into();
        assert!((rate_since(&samples, at(2, 300), spans) - 150.0).abs() < 1e-9);
        assert_eq!(rate_since(&VecDeque::new(), at(0, 0), spans), 0.0);
    }

    #[test]
    fn refused_exports_are_a_rate_of_their_own() {
        let t0 = Instant::now();
        let at =
            |s: u64, accepted: u64, refused: u64| RateSample { at: t0 + Duration::from_secs(s), accepted, refused };
        // Spans still arrive while 60 exports were refused over 6 s: both rates show.
        let samples: VecDeque<_> = [at(0, 0, 10), at(3, 900, 40), at(6, 1_800, 70)].into();
        let now = at(6, 1_800, 70);
        assert!((rate_since(&samples, now, |s| s.accepted) - 300.0).abs() < 1e-9);
        assert!((rate_since(&samples, now, |s| s.refused) - 10.0).abs() < 1e-9);
        // Refusals that stopped more than the window ago no longer count.
        let samples: VecDeque<_> = [at(0, 0, 10), at(2, 0, 90), at(8, 600, 90)].into();
        assert_eq!(rate_since(&samples, at(8, 600, 90), |s| s.refused), 0.0);
    }
}
