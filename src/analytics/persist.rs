//! Rollup persistence: one row per minute in SQLite (WAL), so a restart keeps the daily view.

use std::path::Path;

use rusqlite::{Connection, params};

use super::rollup::{Bucket, Minute};

/// The rollup database under the data directory.
pub struct RollupDb {
    conn: Connection,
}

impl RollupDb {
    /// Opens (creating) `cockpit.db` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
        let path = dir.join("cockpit.db");
        let conn = Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS rollup_minutes (minute INTEGER PRIMARY KEY, body TEXT NOT NULL);",
        )
        .map_err(|e| format!("cannot prepare {}: {e}", path.display()))?;
        Ok(Self { conn })
    }

    /// Writes minutes (replacing older versions) in one transaction.
    pub fn save(&mut self, minutes: &[(Minute, Bucket)]) -> Result<(), String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT OR REPLACE INTO rollup_minutes (minute, body) VALUES (?1, ?2)")
                .map_err(|e| e.to_string())?;
            for (m, b) in minutes {
                let body = serde_json::to_string(b).map_err(|e| e.to_string())?;
                stmt.execute(params![m, body]).map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// Reads the minutes from `from` on; unreadable rows are skipped and counted.
    pub fn load(&self, from: Minute) -> Result<(Vec<(Minute, Bucket)>, usize), String> {
        let mut stmt = self
            .conn
            .prepare("SELECT minute, body FROM rollup_minutes WHERE minute >= ?1 ORDER BY minute")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![from], |r| Ok((r.get::<_, Minute>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let mut bad = 0;
        for row in rows {
            match row
                .map_err(|e| e.to_string())
                .and_then(|(m, body)| serde_json::from_str::<Bucket>(&body).map(|b| (m, b)).map_err(|e| e.to_string()))
            {
                Ok(pair) => out.push(pair),
                Err(e) => {
                    tracing::warn!("skipping an unreadable rollup minute: {e}");
                    bad += 1;
                }
            }
        }
        Ok((out, bad))
    }

    /// Deletes minutes before `keep_from`.
    pub fn prune(&self, keep_from: Minute) -> Result<(), String> {
        self.conn
            .execute("DELETE FROM rollup_minutes WHERE minute < ?1", params![keep_from])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
