//! The store worker: the single writer. It applies ingest batches, settles quiet traces into
//! the rollups, persists closed minutes, and evaluates alerts on a tick.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::EngineConfig;
use crate::analytics::alerts::{AlertBook, AlertInputs};
use crate::analytics::persist::RollupDb;
use crate::analytics::rollup::{Minute, Rollups, minute_of};
use crate::store::Store;
use crate::store::record::{LogRecord, PointRecord, SpanRecord};

/// Work for the store worker.
pub(super) enum Job {
    Spans(Vec<SpanRecord>, OwnedSemaphorePermit),
    Logs(Vec<LogRecord>, OwnedSemaphorePermit),
    Points(Vec<PointRecord>, OwnedSemaphorePermit),
    /// Settle, persist and evaluate what is due.
    Tick,
    /// Answer once everything before it is in the store.
    Flush(oneshot::Sender<()>),
    /// Settle every trace now, then answer.
    SettleAll(oneshot::Sender<()>),
    /// Evaluate alerts minute by minute over the data's last hours (replayed data).
    ReplayAlerts(oneshot::Sender<()>),
    /// Settle everything, persist, and stop.
    Stop,
}

/// How often the ticker wakes the worker.
pub(super) const TICK: Duration = Duration::from_millis(250);
/// How often closed minutes are persisted and alerts evaluated.
const HOUSEKEEPING: Duration = Duration::from_secs(5);
/// Minutes still open to late data before their sketches are packed.
const OPEN_MINUTES: Minute = 3;

pub(super) struct Worker {
    pub config: EngineConfig,
    pub store: Arc<RwLock<Store>>,
    pub rollups: Arc<RwLock<Rollups>>,
    pub alerts: Arc<Mutex<AlertBook>>,
    pub inputs: Arc<RwLock<AlertInputs>>,
    pub opened: tokio::sync::broadcast::Sender<crate::analytics::alerts::Active>,
    pub db: Option<RollupDb>,
    pub last_housekeeping: Instant,
}

/// Wall clock, ms since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Worker {
    pub fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = rx.blocking_recv() {
            match job {
                Job::Spans(spans, permit) => {
                    self.store.write().insert_spans(spans, now_ms());
                    drop(permit);
                }
                Job::Logs(logs, permit) => {
                    self.store.write().insert_logs(logs, now_ms());
                    drop(permit);
                }
                Job::Points(points, permit) => {
                    self.store.write().insert_points(points, now_ms());
                    drop(permit);
                }
                Job::Tick => self.tick(),
                Job::Flush(done) => {
                    let _ = done.send(());
                }
                Job::SettleAll(done) => {
                    self.settle(true);
                    let _ = done.send(());
                }
                Job::ReplayAlerts(done) => {
                    self.replay_alerts();
                    let _ = done.send(());
                }
                Job::Stop => {
                    self.settle(true);
                    self.persist();
                    break;
                }
            }
        }
    }

    fn settle(&mut self, force: bool) {
        let settled = {
            let mut store = self.store.write();
            store.settle(now_ms(), self.config.settle, force);
            store.take_settled()
        };
        if !settled.is_empty() {
            self.rollups.write().record(settled);
        }
    }

    fn tick(&mut self) {
        self.settle(false);
        if self.last_housekeeping.elapsed() < HOUSEKEEPING {
            return;
        }
        self.last_housekeeping = Instant::now();
        self.persist();
        let now = self.now_ns();
        let now_min = minute_of(now);
        {
            let mut rollups = self.rollups.write();
            rollups.pack_before(now_min - OPEN_MINUTES);
            rollups.prune_before(now_min - self.config.retention_minutes());
        }
        if let Some(db) = &self.db {
            if let Err(e) = db.prune(now_min - self.config.retention_minutes()) {
                tracing::warn!("cannot prune old rollups: {e}");
            }
        }
        self.evaluate_alerts(now);
    }

    fn now_ns(&self) -> u64 {
        if self.config.data_clock { self.rollups.read().latest_ns() } else { now_ms().saturating_mul(1_000_000) }
    }

    fn persist(&mut self) {
        let Some(db) = &mut self.db else { return };
        let dirty = self.rollups.write().take_dirty();
        if dirty.is_empty() {
            return;
        }
        if let Err(e) = db.save(&dirty) {
            tracing::error!("cannot persist {} rollup minute(s): {e}", dirty.len());
        }
    }

    fn evaluate_alerts(&self, now_ns: u64) {
        let rollups = self.rollups.read();
        let at = minute_of(now_ns);
        let inputs = self.inputs.read().clone();
        let opened = self.alerts.lock().evaluate(
            now_ns,
            |minutes| rollups.window(at - minutes + 1, at, &|_| true),
            &self.config.analytics.alerts,
            &inputs,
        );
        for a in opened {
            tracing::warn!("alert {} ({}): {}", a.rule, a.severity, a.message);
            let _ = self.opened.send(a);
        }
    }

    /// For replayed data: evaluate at every minute of the last hours, so `since` is honest.
    fn replay_alerts(&self) {
        let (earliest, latest) = {
            let r = self.rollups.read();
            (r.earliest_ns(), r.latest_ns())
        };
        let Some(earliest) = earliest else { return };
        let last = minute_of(latest);
        let first = minute_of(earliest).max(last - 6 * 60);
        for m in first..=last {
            let ns = if m == last { latest } else { (m.max(0) as u64 + 1) * 60_000_000_000 - 1 };
            self.evaluate_alerts(ns);
        }
    }
}
