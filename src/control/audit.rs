//! The audit log: append-only, each entry carrying the hash of the one before it.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number, from 1.
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: OS user and SSH origin, or the API token's role and console.
    pub actor: String,
    /// What (`policy.enabled`, `approval.decide`, `incident.open`…).
    pub action: String,
    /// On what (agent, `*`, approval id, incident id).
    pub target: String,
    /// State before (JSON).
    pub before: String,
    /// State after (JSON).
    pub after: String,
    /// Why, as the actor said.
    pub reason: String,
    /// The incident it belongs to, if any.
    pub incident: Option<i64>,
    /// Hash of the previous entry (empty for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hash of an entry's content chained to the previous hash.
pub fn entry_hash(e: &AuditEntry) -> String {
    let content = serde_json::json!([e.id, e.at, e.actor, e.action, e.target, e.before, e.after, e.reason, e.incident]);
    let mut h = Sha256::new();
    h.update(e.prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The fields of a new entry.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    /// Actor.
    pub actor: &'a str,
    /// Action.
    pub action: &'a str,
    /// Target.
    pub target: &'a str,
    /// Before (JSON).
    pub before: String,
    /// After (JSON).
    pub after: String,
    /// Reason.
    pub reason: &'a str,
    /// Incident.
    pub incident: Option<i64>,
}

/// Appends an entry inside the caller's transaction; answers it.
pub fn append(tx: &Transaction<'_>, new: NewEntry<'_>, at: String) -> rusqlite::Result<AuditEntry> {
    let last: Option<(i64, String)> = tx
        .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (prev_id, prev_hash) = last.unwrap_or((0, String::new()));
    let mut e = AuditEntry {
        id: prev_id + 1,
        at,
        actor: new.actor.to_owned(),
        action: new.action.to_owned(),
        target: new.target.to_owned(),
        before: new.before,
        after: new.after,
        reason: new.reason.to_owned(),
        incident: new.incident,
        prev_hash,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    tx.execute(
        "INSERT INTO audit (id, at, actor, action, target, before, after, reason, incident, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![e.id, e.at, e.actor, e.action, e.target, e.before, e.after, e.reason, e.incident, e.prev_hash, e.hash],
    )?;
    Ok(e)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        before: r.get(5)?,
        after: r.get(6)?,
        reason: r.get(7)?,
        incident: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

const COLUMNS: &str = "id, at, actor, action, target, before, after, reason, incident, prev_hash, hash";

/// The newest `limit` entries, newest last.
pub fn tail(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY id DESC LIMIT ?1"))?;
    let mut rows: Vec<AuditEntry> = stmt.query_map(params![limit as i64], row)?.collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry's hash and link holds.
    Intact {
        /// Entries checked.
        entries: usize,
    },
    /// The first entry that does not hold, and why.
    Broken {
        /// Its id.
        id: i64,
        /// What is wrong.
        why: String,
    },
}

/// Walks the whole chain.
pub fn verify(conn: &Connection) -> rusqlite::Result<Verdict> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))?;
    let mut prev_hash = String::new();
    let mut n = 0;
    for (expected_id, entry) in (1..).zip(stmt.query_map([], row)?) {
        let e = entry?;
        if e.id != expected_id {
            return Ok(Verdict::Broken { id: e.id, why: format!("expected entry {expected_id}: an entry is missing") });
        }
        if e.prev_hash != prev_hash {
            return Ok(Verdict::Broken { id: e.id, why: "does not carry the previous entry's hash".into() });
        }
        if entry_hash(&e) != e.hash {
            return Ok(Verdict::Broken { id: e.id, why: "its content does not match its hash (edited)".into() });
        }
        prev_hash = e.hash;
        n += 1;
    }
    Ok(Verdict::Intact { entries: n })
}
