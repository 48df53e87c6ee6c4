//! The engine: a bounded ingest queue feeding the hot store on one worker thread, and the
//! read side every face (API, TUI, report) uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::ingest::convert::{Converted, Limits};
use crate::store::Store;
use crate::store::record::{LogRecord, PointRecord, SpanRecord};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Hot-window memory budget, bytes.
    pub memory_budget: usize,
    /// Items (spans + logs + points) that may wait in the ingest queue.
    pub queue_capacity: usize,
    /// Attribute value limits.
    pub limits: Limits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_budget: 512 << 20,
            queue_capacity: 200_000,
            limits: Limits::default(),
        }
    }
}

enum Job {
    Spans(Vec<SpanRecord>, OwnedSemaphorePermit),
    Logs(Vec<LogRecord>, OwnedSemaphorePermit),
    Points(Vec<PointRecord>, OwnedSemaphorePermit),
    Flush(oneshot::Sender<()>),
    Stop,
}

/// The queue is full: the client should retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled;

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
    tx: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
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

impl Engine {
    /// Starts the engine and its store worker.
    pub fn start(config: EngineConfig) -> Arc<Self> {
        let store = Arc::new(RwLock::new(Store::new(config.memory_budget)));
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let worker_store = Arc::clone(&store);
        let worker = std::thread::Builder::new()
            .name("cockpit-store".into())
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    match job {
                        Job::Spans(spans, permit) => {
                            worker_store.write().insert_spans(spans);
                            drop(permit);
                        }
                        Job::Logs(logs, permit) => {
                            worker_store.write().insert_logs(logs);
                            drop(permit);
                        }
                        Job::Points(points, permit) => {
                            worker_store.write().insert_points(points);
                            drop(permit);
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                        Job::Stop => break,
                    }
                }
            });
        let worker = match worker {
            Ok(handle) => Some(handle),
            Err(e) => {
                // Without a worker nothing can be stored; say so loudly in the log and throttle.
                tracing::error!("cannot start the store worker: {e}");
                None
            }
        };
        let permits = Arc::new(Semaphore::new(if worker.is_some() {
            config.queue_capacity
        } else {
            0
        }));
        Arc::new(Self {
            config,
            store,
            tx,
            permits,
            door: DoorCounters::default(),
            worker: Mutex::new(worker),
        })
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    fn permits_for(&self, n: usize) -> u32 {
        n.clamp(1, self.config.queue_capacity.max(1))
            .min(u32::MAX as usize) as u32
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
        let permit = match Arc::clone(&self.permits).try_acquire_many_owned(self.permits_for(n)) {
            Ok(p) => p,
            Err(_) => {
                self.door.requests_throttled.fetch_add(1, Ordering::Relaxed);
                if matches!(kind, Kind::Spans) {
                    self.door
                        .spans_throttled
                        .fetch_add(n as u64, Ordering::Relaxed);
                }
                return Err(Throttled);
            }
        };
        self.enqueue(kind, permit, n, rejected, job);
        Ok(())
    }

    async fn wait_submit(
        &self,
        kind: Kind,
        n: usize,
        rejected: u64,
        job: impl FnOnce(OwnedSemaphorePermit) -> Job,
    ) {
        match Arc::clone(&self.permits)
            .acquire_many_owned(self.permits_for(n))
            .await
        {
            Ok(permit) => self.enqueue(kind, permit, n, rejected, job),
            Err(_) => tracing::error!("ingest queue closed; {n} item(s) dropped"),
        }
    }

    /// Queues spans, or answers [`Throttled`] at once when the queue is full.
    pub fn submit_spans(&self, c: Converted<SpanRecord>) -> Result<(), Throttled> {
        let n = c.items.len();
        let items = c.items;
        self.try_submit(Kind::Spans, n, c.rejected, move |p| Job::Spans(items, p))
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
        self.wait_submit(Kind::Spans, n, c.rejected, move |p| Job::Spans(items, p))
            .await;
    }

    /// Queues log records, waiting for room.
    pub async fn submit_logs_wait(&self, c: Converted<LogRecord>) {
        let n = c.items.len();
        let items = c.items;
        self.wait_submit(Kind::Logs, n, c.rejected, move |p| Job::Logs(items, p))
            .await;
    }

    /// Queues metric points, waiting for room.
    pub async fn submit_points_wait(&self, c: Converted<PointRecord>) {
        let n = c.items.len();
        let items = c.items;
        self.wait_submit(Kind::Points, n, c.rejected, move |p| Job::Points(items, p))
            .await;
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

    /// Drains the queue into the store and stops the worker (blocking).
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
        self.config
            .queue_capacity
            .saturating_sub(self.permits.available_permits())
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
            requests_throttled: load(&self.door.requests_throttled),
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
                    versions: a
                        .versions
                        .iter()
                        .filter(|(_, n)| **n > 0)
                        .map(|(v, _)| v.clone())
                        .collect(),
                })
                .collect(),
            tools: store
                .tools()
                .iter()
                .map(|(name, t)| ToolStats {
                    name: name.clone(),
                    calls: t.calls,
                    errors: t.errors,
                })
                .collect(),
        }
    }
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
