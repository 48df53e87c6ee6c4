//! The control database: policy, approvals, incidents, audit, webhook outbox.

use std::path::Path;

use rusqlite::Connection;

/// The control database's file name in the data dir.
pub const CONTROL_DB: &str = "control.db";

/// Opens (creating) `control.db` with WAL and `synchronous=FULL`: an acknowledged change is on disk.
pub fn open(dir: &Path) -> Result<Connection, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
    let path = dir.join(CONTROL_DB);
    let conn = Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=FULL;
         CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS policy_layers (scope TEXT PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS revisions (
             revision INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, scope TEXT NOT NULL,
             lever TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL, reason TEXT NOT NULL,
             audit_id INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS approvals (
             id TEXT PRIMARY KEY, idempotency_key TEXT UNIQUE, agent TEXT NOT NULL, tool TEXT NOT NULL,
             arguments TEXT NOT NULL, summary TEXT NOT NULL, risk TEXT NOT NULL, trace_id TEXT, span_id TEXT,
             created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, status TEXT NOT NULL,
             decided_by TEXT, reason TEXT, decided_at INTEGER);
         CREATE TABLE IF NOT EXISTS incidents (
             id INTEGER PRIMARY KEY, sev TEXT NOT NULL, title TEXT NOT NULL, agent TEXT, status TEXT NOT NULL,
             opened_at INTEGER NOT NULL, closed_at INTEGER, opened_by TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS incident_events (
             id INTEGER PRIMARY KEY AUTOINCREMENT, incident INTEGER NOT NULL, at INTEGER NOT NULL,
             kind TEXT NOT NULL, text TEXT NOT NULL, trace_id TEXT);
         CREATE TABLE IF NOT EXISTS audit (
             id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
             target TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL, reason TEXT NOT NULL,
             incident INTEGER, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS outbox (
             id INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL, event_id TEXT NOT NULL,
             body TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
             next_at INTEGER NOT NULL, delivered_at INTEGER, last_error TEXT);",
    )
    .map_err(|e| format!("cannot prepare {}: {e}", path.display()))?;
    Ok(conn)
}
