//! The control plane: policy levers, approvals, incidents, the audit log and webhooks — all
//! durable in SQLite before they are acknowledged.

pub mod audit;
pub mod incidents;
pub mod model;
pub mod policy;
pub mod schema;
pub mod webhooks;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use crate::analytics::figures::ApprovalCounts;
use audit::NewEntry;
use model::{
    ActionRequest, ActionResult, Approval, ApprovalStatus, ControlError, ControlEvent, Incident, IncidentEvent,
    NewApproval,
};
use policy::{ApprovalMode, Layer, PolicySet, Tools};
use webhooks::WebhookConfig;

/// Wall clock, ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How many of `approvals` are in each state: those asked in the last `window_seconds`, and
/// every one still pending however old (it is waiting now); only `agent`'s when given.
pub fn count_approvals(approvals: &[Approval], window_seconds: u64, agent: Option<&str>) -> ApprovalCounts {
    let since = now_ms().saturating_sub(i64::try_from(window_seconds.saturating_mul(1000)).unwrap_or(i64::MAX));
    let mut c = ApprovalCounts::default();
    let counted = |a: &&Approval| {
        agent.is_none_or(|n| a.agent == n) && (a.status == ApprovalStatus::Pending || a.created_ms >= since)
    };
    for a in approvals.iter().filter(counted) {
        match a.status {
            ApprovalStatus::Approved => c.approved += 1,
            ApprovalStatus::Denied => c.denied += 1,
            ApprovalStatus::Expired => c.expired += 1,
            ApprovalStatus::Pending => c.pending += 1,
        }
    }
    c
}

/// ms since the epoch as RFC 3339.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// What levers exist.
pub const LEVERS: &[&str] = &["enabled", "tools", "approval", "pin"];

/// The control plane.
pub struct ControlPlane {
    db: Mutex<Connection>,
    policy: RwLock<PolicySet>,
    approvals: RwLock<BTreeMap<String, Approval>>,
    approvals_changed: watch::Sender<u64>,
    events: broadcast::Sender<ControlEvent>,
    read_only: bool,
    webhooks: Vec<WebhookConfig>,
}

fn layer_json(layer: &Layer, lever: &str) -> Value {
    match lever {
        "enabled" => json!(layer.enabled),
        "tools" => json!(layer.tools),
        "approval" => json!(layer.approval.map(ApprovalMode::as_str)),
        _ => json!(layer.pin),
    }
}

fn approval_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Approval> {
    let arguments: String = r.get(3)?;
    let status: String = r.get(11)?;
    let created_ms: i64 = r.get(9)?;
    let expires_ms: i64 = r.get(10)?;
    Ok(Approval {
        id: r.get(0)?,
        agent: r.get(1)?,
        tool: r.get(2)?,
        arguments: serde_json::from_str(&arguments).unwrap_or(Value::Null),
        summary: r.get(4)?,
        risk: r.get(5)?,
        trace_id: r.get(6)?,
        span_id: r.get(7)?,
        created_at: rfc3339_ms(created_ms),
        expires_at: rfc3339_ms(expires_ms),
        created_ms,
        expires_ms,
        status: ApprovalStatus::parse(&status).unwrap_or(ApprovalStatus::Expired),
        decided_by: r.get(12)?,
        reason: r.get(13)?,
    })
    .map(|mut a| {
        if a.status == ApprovalStatus::Pending && a.expires_ms <= now_ms() {
            a.status = ApprovalStatus::Expired;
        }
        a
    })
}

const APPROVAL_COLUMNS: &str = "id, agent, tool, arguments, summary, risk, trace_id, span_id, idempotency_key, created_at, expires_at, status, decided_by, reason";

/// Options for opening the control plane.
#[derive(Debug, Clone, Default)]
pub struct ControlOptions {
    /// Refuse every lever.
    pub read_only: bool,
    /// Where events are posted.
    pub webhooks: Vec<WebhookConfig>,
}

impl ControlPlane {
    /// Opens the control plane on `control.db` in `dir`.
    pub fn open(dir: &Path, options: ControlOptions) -> Result<Arc<Self>, String> {
        let conn = schema::open(dir)?;
        let mut policy = PolicySet::default();
        {
            let mut stmt = conn.prepare("SELECT scope, body FROM policy_layers").map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| e.to_string())?;
            for row in rows {
                let (scope, body) = row.map_err(|e| e.to_string())?;
                let layer: Layer =
                    serde_json::from_str(&body).map_err(|e| format!("policy for {scope} is unreadable: {e}"))?;
                policy.layers.insert(scope, layer);
            }
            policy.revision = conn
                .query_row("SELECT value FROM meta WHERE key = 'revision'", [], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| e.to_string())?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
        let mut approvals = BTreeMap::new();
        {
            let mut stmt =
                conn.prepare(&format!("SELECT {APPROVAL_COLUMNS} FROM approvals")).map_err(|e| e.to_string())?;
            for a in stmt.query_map([], approval_row).map_err(|e| e.to_string())? {
                let a = a.map_err(|e| e.to_string())?;
                approvals.insert(a.id.clone(), a);
            }
        }
        let (events, _) = broadcast::channel(1024);
        Ok(Arc::new(Self {
            db: Mutex::new(conn),
            policy: RwLock::new(policy),
            approvals: RwLock::new(approvals),
            approvals_changed: watch::channel(0).0,
            events,
            read_only: options.read_only,
            webhooks: options.webhooks,
        }))
    }

    /// Whether levers are disabled.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The configured webhooks.
    pub fn webhooks(&self) -> &[WebhookConfig] {
        &self.webhooks
    }

    /// Runs `f` with the database (for webhooks and the CLI).
    pub fn with_db<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut self.db.lock())
    }

    /// Every layer and the revision.
    pub fn policy(&self) -> PolicySet {
        self.policy.read().clone()
    }

    /// Hears about every change.
    pub fn subscribe(&self) -> broadcast::Receiver<ControlEvent> {
        self.events.subscribe()
    }

    fn emit(&self, e: ControlEvent) {
        let _ = self.events.send(e);
    }

    /// The open incident an event about `agent` belongs to, if any: the agent's own (the
    /// newest, if several), else a fleet-wide one. A newer fleet incident (a tool outage) does
    /// not take an agent's events from the incident already open about that agent.
    fn open_incident_for(conn: &Connection, agent: Option<&str>) -> rusqlite::Result<Option<i64>> {
        conn.query_row(
            "SELECT id FROM incidents WHERE status = 'open' AND (agent IS NULL OR agent = ?1) \
             ORDER BY agent IS NULL, id DESC LIMIT 1",
            params![agent.unwrap_or("*")],
            |r| r.get(0),
        )
        .optional()
    }

    fn timeline(
        tx: &Connection,
        incident: Option<i64>,
        kind: &str,
        text: &str,
        trace_id: Option<&str>,
    ) -> rusqlite::Result<()> {
        if let Some(id) = incident {
            tx.execute(
                "INSERT INTO incident_events (incident, at, kind, text, trace_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, now_ms(), kind, text, trace_id],
            )?;
        }
        Ok(())
    }

    /// Pulls a lever. `known` says whether an agent name is known; `last_known_good` names an
    /// agent's last-known-good version (for `pin: "last_known_good"`).
    pub fn apply(
        &self,
        req: &ActionRequest,
        actor: &str,
        known: &dyn Fn(&str) -> bool,
        last_known_good: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ActionResult, ControlError> {
        if self.read_only {
            return Err(ControlError::ReadOnly);
        }
        if !LEVERS.contains(&req.lever.as_str()) {
            return Err(ControlError::BadRequest(format!(
                "unknown lever {:?}: use enabled, tools, approval or pin",
                req.lever
            )));
        }
        let agent = req.agent.trim();
        if agent.is_empty()
            || (agent != policy::FLEET && !known(agent) && !self.policy.read().layers.contains_key(agent))
        {
            return Err(ControlError::BadRequest(format!("unknown agent {agent:?}")));
        }
        if req.reason.trim().is_empty() {
            return Err(ControlError::BadRequest("a reason is required".into()));
        }
        let scope = match req.environment.as_deref().filter(|e| !e.is_empty()) {
            Some(env) if agent != policy::FLEET => format!("{agent}@{env}"),
            Some(_) => return Err(ControlError::BadRequest("the fleet-wide layer has no environments".into())),
            None => agent.to_owned(),
        };
        let mut layer = self.policy.read().layers.get(&scope).cloned().unwrap_or_default();
        let before = layer_json(&layer, &req.lever);
        match req.lever.as_str() {
            "enabled" => {
                layer.enabled = Some(
                    req.value
                        .as_bool()
                        .ok_or_else(|| ControlError::BadRequest("enabled takes true or false".into()))?,
                );
            }
            "tools" => {
                let tools: Tools = serde_json::from_value(req.value.clone()).map_err(|_| {
                    ControlError::BadRequest(
                        "tools takes {\"mode\":\"all\"} or {\"mode\":\"allowlist\",\"tools\":[…]}".into(),
                    )
                })?;
                if let Tools::Allowlist { tools } = &tools {
                    if tools.iter().any(|t| t.trim().is_empty()) {
                        return Err(ControlError::BadRequest("an allowlist entry is empty".into()));
                    }
                }
                layer.tools = Some(tools);
            }
            "approval" => {
                let mode =
                    req.value.as_str().and_then(ApprovalMode::parse).ok_or_else(|| {
                        ControlError::BadRequest("approval takes \"none\", \"writes\" or \"all\"".into())
                    })?;
                layer.approval = Some(mode);
            }
            _ => {
                let value = req.value.as_str().ok_or_else(|| {
                    ControlError::BadRequest("pin takes a version, \"\", or \"last_known_good\"".into())
                })?;
                if agent == policy::FLEET {
                    return Err(ControlError::BadRequest("pin a version per agent, not fleet-wide".into()));
                }
                let version = if value == "last_known_good" {
                    last_known_good(agent).ok_or_else(|| {
                        ControlError::BadRequest(format!(
                            "{agent} has no earlier version whose success rate met the SLO: nothing to roll back to"
                        ))
                    })?
                } else {
                    value.to_owned()
                };
                layer.pin = Some(version);
            }
        }
        let after = layer_json(&layer, &req.lever);
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let incident = match req.incident {
            Some(id) => Some(id),
            None => Self::open_incident_for(&tx, (agent != policy::FLEET).then_some(agent))?,
        };
        let revision = self.policy.read().revision + 1;
        let at = rfc3339_ms(now_ms());
        let entry = audit::append(
            &tx,
            NewEntry {
                actor,
                action: &format!("policy.{}", req.lever),
                target: &scope,
                before: before.to_string(),
                after: after.to_string(),
                reason: &req.reason,
                incident,
            },
            at.clone(),
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO policy_layers (scope, body) VALUES (?1, ?2)",
            params![scope, serde_json::to_string(&layer).unwrap_or_default()],
        )?;
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('revision', ?1)", params![revision.to_string()])?;
        tx.execute(
            "INSERT INTO revisions (revision, at, actor, scope, lever, before, after, reason, audit_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                revision as i64,
                at,
                actor,
                scope,
                req.lever,
                before.to_string(),
                after.to_string(),
                req.reason,
                entry.id
            ],
        )?;
        Self::timeline(
            &tx,
            incident,
            "action",
            &{
                let (what, then) = model::lever_said(&req.layer_name(), &req.lever, &after);
                format!("{actor}: {what}{then} ({})", req.reason)
            },
            None,
        )?;
        webhooks::enqueue(
            &tx,
            &self.webhooks,
            "policy.changed",
            json!({"revision": revision, "scope": scope, "lever": req.lever, "before": before, "after": after,
                   "actor": actor, "reason": req.reason, "audit_id": entry.id}),
        )?;
        tx.commit()?;
        drop(conn);
        {
            let mut p = self.policy.write();
            p.layers.insert(scope.clone(), layer);
            p.revision = revision;
        }
        self.emit(ControlEvent::Policy { revision, scope, lever: req.lever.clone() });
        if let Some(id) = incident {
            self.emit(ControlEvent::Incident { id, change: "action".into() });
        }
        Ok(ActionResult { revision, audit_id: entry.id, before, after })
    }

    /// Sets a lever back to what it was before `revision`.
    pub fn restore(&self, revision: u64, reason: &str, actor: &str) -> Result<ActionResult, ControlError> {
        let found: Option<(String, String, String)> = self
            .db
            .lock()
            .query_row(
                "SELECT scope, lever, before FROM revisions WHERE revision = ?1",
                params![revision as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((scope, lever, before)) = found else {
            return Err(ControlError::NotFound(format!("no revision {revision}")));
        };
        let value: Value = serde_json::from_str(&before).unwrap_or(Value::Null);
        let (agent, environment) = match scope.split_once('@') {
            Some((a, e)) => (a.to_owned(), Some(e.to_owned())),
            None => (scope.clone(), None),
        };
        // "Unset" restores to the default the lever has when nobody set it.
        let value = match (lever.as_str(), value) {
            ("enabled", Value::Null) => json!(true),
            ("tools", Value::Null) => json!({"mode": "all"}),
            ("approval", Value::Null) => json!("none"),
            ("pin", Value::Null) => json!(""),
            (_, v) => v,
        };
        let req = ActionRequest {
            lever,
            agent,
            value,
            reason: format!("restore revision {revision}: {reason}"),
            environment,
            incident: None,
        };
        self.apply(&req, actor, &|_| true, &|_| None)
    }

    fn approvals_bump(&self) {
        self.approvals_changed.send_modify(|v| *v += 1);
    }

    /// Creates an approval request (the same idempotency key answers the same approval).
    pub fn create_approval(&self, new: NewApproval) -> Result<(Approval, bool), ControlError> {
        if new.agent.trim().is_empty() || new.tool.trim().is_empty() {
            return Err(ControlError::BadRequest("agent and tool are required".into()));
        }
        let key = new.idempotency_key.clone().filter(|k| !k.is_empty());
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(k) = &key {
            let existing = tx
                .query_row(
                    &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE idempotency_key = ?1"),
                    params![k],
                    approval_row,
                )
                .optional()?;
            if let Some(a) = existing {
                return Ok((a, false));
            }
        }
        let now = now_ms();
        let ttl = new.ttl_seconds.unwrap_or(300).clamp(1, 86_400) as i64;
        let a = Approval {
            id: format!("apr-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            agent: new.agent.clone(),
            tool: new.tool.clone(),
            arguments: new.arguments.clone(),
            summary: new.summary.clone(),
            risk: if new.risk.is_empty() { "unknown".into() } else { new.risk.clone() },
            trace_id: new.trace_id.clone(),
            span_id: new.span_id.clone(),
            created_at: rfc3339_ms(now),
            expires_at: rfc3339_ms(now + ttl * 1000),
            created_ms: now,
            expires_ms: now + ttl * 1000,
            status: ApprovalStatus::Pending,
            decided_by: None,
            reason: None,
        };
        tx.execute(
            &format!("INSERT INTO approvals ({APPROVAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', NULL, NULL)"),
            params![a.id, a.agent, a.tool, a.arguments.to_string(), a.summary, a.risk, a.trace_id, a.span_id, key, a.created_ms, a.expires_ms],
        )?;
        let incident = Self::open_incident_for(&tx, Some(&a.agent))?;
        Self::timeline(
            &tx,
            incident,
            "approval",
            &format!("{} asks to call {}: {}", a.agent, a.tool, a.summary),
            a.trace_id.as_deref(),
        )?;
        webhooks::enqueue(&tx, &self.webhooks, "approval.requested", serde_json::to_value(&a).unwrap_or(Value::Null))?;
        tx.commit()?;
        drop(conn);
        self.approvals.write().insert(a.id.clone(), a.clone());
        self.approvals_bump();
        self.emit(ControlEvent::Approval { id: a.id.clone(), status: a.status });
        Ok((a, true))
    }

    /// An approval as it stands (pending past its expiry reads as expired).
    pub fn approval(&self, id: &str) -> Option<Approval> {
        self.approvals.read().get(id).cloned().map(|mut a| {
            if a.status == ApprovalStatus::Pending && a.expires_ms <= now_ms() {
                a.status = ApprovalStatus::Expired;
            }
            a
        })
    }

    /// Waits up to `wait` for an approval to be decided (or to expire).
    pub async fn wait_approval(&self, id: &str, wait: Duration) -> Option<Approval> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut changes = self.approvals_changed.subscribe();
        loop {
            let a = self.approval(id)?;
            if a.status != ApprovalStatus::Pending {
                return Some(a);
            }
            let expiry = tokio::time::Instant::now() + Duration::from_millis((a.expires_ms - now_ms()).max(0) as u64);
            let until = deadline.min(expiry);
            if tokio::time::Instant::now() >= deadline {
                return Some(a);
            }
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep_until(until) => {
                    if until == deadline {
                        return self.approval(id);
                    }
                }
            }
        }
    }

    /// How many approvals are in each state, counted as [`count_approvals`] does.
    pub fn approval_counts(&self, window_seconds: u64, agent: Option<&str>) -> ApprovalCounts {
        count_approvals(&self.approvals(None), window_seconds, agent)
    }

    /// Approvals, newest first, optionally by status.
    pub fn approvals(&self, status: Option<ApprovalStatus>) -> Vec<Approval> {
        let mut out: Vec<Approval> = self
            .approvals
            .read()
            .keys()
            .filter_map(|id| self.approval(id))
            .filter(|a| status.is_none_or(|s| a.status == s))
            .collect();
        // Requests of the same millisecond in a fixed order (by agent, then tool), not by their
        // random ids: the list must not reshuffle between refreshes.
        out.sort_by(|a, b| {
            b.created_ms.cmp(&a.created_ms).then_with(|| a.agent.cmp(&b.agent)).then_with(|| a.tool.cmp(&b.tool))
        });
        out
    }

    /// Decides an approval: the first decision wins; the same decision again is a no-op; a
    /// different one (or any decision after expiry) conflicts.
    pub fn decide(&self, id: &str, approve: bool, reason: &str, actor: &str) -> Result<(Approval, bool), ControlError> {
        if self.read_only {
            return Err(ControlError::ReadOnly);
        }
        let wanted = if approve { ApprovalStatus::Approved } else { ApprovalStatus::Denied };
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = tx
            .query_row(&format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1"), params![id], approval_row)
            .optional()?
            .ok_or_else(|| ControlError::NotFound(format!("no approval {id}")))?;
        match current.status {
            s if s == wanted => return Ok((current, false)),
            ApprovalStatus::Pending => {}
            ApprovalStatus::Expired => {
                return Err(ControlError::Conflict(format!(
                    "approval {id} expired at {} (expired means denied)",
                    current.expires_at
                )));
            }
            other => {
                return Err(ControlError::Conflict(format!(
                    "approval {id} was already {} by {}",
                    other.as_str(),
                    current.decided_by.as_deref().unwrap_or("someone")
                )));
            }
        }
        let now = now_ms();
        tx.execute(
            "UPDATE approvals SET status = ?2, decided_by = ?3, reason = ?4, decided_at = ?5 WHERE id = ?1",
            params![id, wanted.as_str(), actor, reason, now],
        )?;
        let incident = Self::open_incident_for(&tx, Some(&current.agent))?;
        audit::append(
            &tx,
            NewEntry {
                actor,
                action: "approval.decide",
                target: id,
                before: json!({"status": "pending", "agent": current.agent, "tool": current.tool}).to_string(),
                after: json!({"status": wanted.as_str()}).to_string(),
                reason,
                incident,
            },
            rfc3339_ms(now),
        )?;
        Self::timeline(
            &tx,
            incident,
            "decision",
            &format!("{actor}: {} {} → {} ({reason}) · {id}", wanted.as_str(), current.agent, current.tool),
            current.trace_id.as_deref(),
        )?;
        let mut decided = current.clone();
        decided.status = wanted;
        decided.decided_by = Some(actor.to_owned());
        decided.reason = Some(reason.to_owned());
        webhooks::enqueue(
            &tx,
            &self.webhooks,
            "approval.decided",
            serde_json::to_value(&decided).unwrap_or(Value::Null),
        )?;
        tx.commit()?;
        drop(conn);
        self.approvals.write().insert(id.to_owned(), decided.clone());
        self.approvals_bump();
        self.emit(ControlEvent::Approval { id: id.to_owned(), status: wanted });
        if let Some(i) = incident {
            self.emit(ControlEvent::Incident { id: i, change: "decision".into() });
        }
        Ok((decided, true))
    }

    /// Marks pending approvals past their expiry as expired; answers how many.
    pub fn expire_due(&self) -> Result<usize, ControlError> {
        let now = now_ms();
        let due: Vec<Approval> = self
            .approvals
            .read()
            .values()
            .filter(|a| a.status == ApprovalStatus::Pending && a.expires_ms <= now)
            .cloned()
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for a in &due {
            tx.execute(
                "UPDATE approvals SET status = 'expired', decided_at = ?2 WHERE id = ?1 AND status = 'pending'",
                params![a.id, now],
            )?;
            let mut expired = a.clone();
            expired.status = ApprovalStatus::Expired;
            webhooks::enqueue(
                &tx,
                &self.webhooks,
                "approval.decided",
                serde_json::to_value(&expired).unwrap_or(Value::Null),
            )?;
        }
        tx.commit()?;
        drop(conn);
        let mut cache = self.approvals.write();
        for a in &due {
            if let Some(c) = cache.get_mut(&a.id) {
                c.status = ApprovalStatus::Expired;
            }
        }
        drop(cache);
        self.approvals_bump();
        for a in &due {
            self.emit(ControlEvent::Approval { id: a.id.clone(), status: ApprovalStatus::Expired });
        }
        Ok(due.len())
    }

    /// Opens an incident by hand or for an alert; answers its id.
    pub fn open_incident(
        &self,
        sev: &str,
        title: &str,
        agent: Option<&str>,
        actor: &str,
        reason: &str,
    ) -> Result<i64, ControlError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = self.insert_incident(&tx, sev, title, agent, actor, reason)?;
        tx.commit()?;
        drop(conn);
        self.emit(ControlEvent::Incident { id, change: "opened".into() });
        Ok(id)
    }

    /// Writes a new open incident, its timeline entry, audit entry and webhook into `tx`.
    fn insert_incident(
        &self,
        tx: &Transaction<'_>,
        sev: &str,
        title: &str,
        agent: Option<&str>,
        actor: &str,
        reason: &str,
    ) -> Result<i64, ControlError> {
        if !matches!(sev, "SEV-0" | "SEV-1" | "SEV-2") {
            return Err(ControlError::BadRequest("severity is SEV-0, SEV-1 or SEV-2".into()));
        }
        if title.trim().is_empty() {
            return Err(ControlError::BadRequest("a title is required".into()));
        }
        let now = now_ms();
        tx.execute(
            "INSERT INTO incidents (sev, title, agent, status, opened_at, opened_by) VALUES (?1, ?2, ?3, 'open', ?4, ?5)",
            params![sev, title, agent, now, actor],
        )?;
        let id = tx.last_insert_rowid();
        Self::timeline(tx, Some(id), "opened", &format!("{sev} opened by {actor}: {title}"), None)?;
        audit::append(
            tx,
            NewEntry {
                actor,
                action: "incident.open",
                target: &id.to_string(),
                before: "null".into(),
                after: json!({"sev": sev, "title": title, "agent": agent}).to_string(),
                reason,
                incident: Some(id),
            },
            rfc3339_ms(now),
        )?;
        webhooks::enqueue(
            tx,
            &self.webhooks,
            "incident.opened",
            json!({"id": id, "sev": sev, "title": title, "agent": agent, "opened_by": actor}),
        )?;
        Ok(id)
    }

    /// An alert opens an incident, or joins the agent's open one. An alert more severe than the
    /// incident it joins raises the incident to its severity (timeline, audit, webhook
    /// `incident.escalated`): an incident never reads SEV-2 while a SEV-1 condition sits in it.
    pub fn on_alert(
        &self,
        severity: &str,
        rule: &str,
        agent: Option<&str>,
        message: &str,
    ) -> Result<i64, ControlError> {
        let actor = format!("alert:{rule}");
        // One transaction from the look-up to the alert's entry: two alerts cannot both find no
        // incident and open two, and an incident resolved in between is not joined.
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, opened) = match Self::open_incident_for(&tx, agent)? {
            Some(id) => (id, false),
            None => (self.insert_incident(&tx, severity, message, agent, &actor, "opened by an alert")?, true),
        };
        let was: String = tx.query_row("SELECT sev FROM incidents WHERE id = ?1", params![id], |r| r.get(0))?;
        // "SEV-0" < "SEV-1" < "SEV-2": the lower, the more severe.
        let escalated = severity < was.as_str();
        if escalated {
            tx.execute("UPDATE incidents SET sev = ?2 WHERE id = ?1", params![id, severity])?;
            let reason = format!("{severity} alert {rule} joined");
            Self::timeline(&tx, Some(id), "escalated", &format!("{was} → {severity}: {rule}"), None)?;
            audit::append(
                &tx,
                NewEntry {
                    actor: &actor,
                    action: "incident.escalate",
                    target: &id.to_string(),
                    before: json!({"sev": was}).to_string(),
                    after: json!({"sev": severity}).to_string(),
                    reason: &reason,
                    incident: Some(id),
                },
                rfc3339_ms(now_ms()),
            )?;
            webhooks::enqueue(
                &tx,
                &self.webhooks,
                "incident.escalated",
                json!({"id": id, "from": was, "sev": severity, "rule": rule, "agent": agent, "message": message}),
            )?;
        }
        Self::timeline(&tx, Some(id), "alert", &format!("{severity} {rule}: {message}"), None)?;
        tx.commit()?;
        drop(conn);
        if opened {
            self.emit(ControlEvent::Incident { id, change: "opened".into() });
        }
        self.emit(ControlEvent::Incident { id, change: if escalated { "escalated" } else { "alert" }.into() });
        Ok(id)
    }

    /// Adds a note, links a run, or resolves an incident.
    pub fn incident_update(
        &self,
        id: i64,
        kind: &str,
        text: &str,
        trace_id: Option<&str>,
        actor: &str,
    ) -> Result<(), ControlError> {
        if self.read_only {
            return Err(ControlError::ReadOnly);
        }
        if !matches!(kind, "note" | "run" | "resolved") {
            return Err(ControlError::BadRequest(format!("unknown incident update {kind:?}")));
        }
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status: Option<String> =
            tx.query_row("SELECT status FROM incidents WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
        let Some(status) = status else { return Err(ControlError::NotFound(format!("no incident {id}"))) };
        if status != "open" {
            return Err(ControlError::Conflict(format!("incident {id} is already resolved")));
        }
        if kind == "run" && trace_id.is_none_or(|t| t.len() != 32 || !t.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(ControlError::BadRequest("link a run by its 32-hex-digit trace id".into()));
        }
        let now = now_ms();
        if kind == "resolved" {
            tx.execute("UPDATE incidents SET status = 'resolved', closed_at = ?2 WHERE id = ?1", params![id, now])?;
        }
        Self::timeline(&tx, Some(id), kind, &format!("{actor}: {text}"), trace_id)?;
        audit::append(
            &tx,
            NewEntry {
                actor,
                action: &format!("incident.{kind}"),
                target: &id.to_string(),
                before: "null".into(),
                after: json!({"text": text, "trace_id": trace_id}).to_string(),
                reason: text,
                incident: Some(id),
            },
            rfc3339_ms(now),
        )?;
        if kind == "resolved" {
            webhooks::enqueue(
                &tx,
                &self.webhooks,
                "incident.resolved",
                json!({"id": id, "by": actor, "reason": text}),
            )?;
        }
        tx.commit()?;
        drop(conn);
        self.emit(ControlEvent::Incident { id, change: kind.into() });
        Ok(())
    }

    /// Incidents, newest first, with their timelines.
    pub fn incidents(&self) -> Result<Vec<Incident>, ControlError> {
        let conn = self.db.lock();
        let mut stmt = conn.prepare(
            "SELECT id, sev, title, agent, status, opened_at, closed_at, opened_by FROM incidents ORDER BY id DESC",
        )?;
        let mut incidents: Vec<Incident> = stmt
            .query_map([], |r| {
                Ok(Incident {
                    id: r.get(0)?,
                    sev: r.get(1)?,
                    title: r.get(2)?,
                    agent: r.get(3)?,
                    status: r.get(4)?,
                    opened_at: rfc3339_ms(r.get(5)?),
                    closed_at: r.get::<_, Option<i64>>(6)?.map(rfc3339_ms),
                    opened_by: r.get(7)?,
                    timeline: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut ev = conn.prepare("SELECT incident, at, kind, text, trace_id FROM incident_events ORDER BY id")?;
        let events = ev.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                IncidentEvent { at: rfc3339_ms(r.get(1)?), kind: r.get(2)?, text: r.get(3)?, trace_id: r.get(4)? },
            ))
        })?;
        for e in events {
            let (id, event) = e?;
            if let Some(i) = incidents.iter_mut().find(|i| i.id == id) {
                i.timeline.push(event);
            }
        }
        Ok(incidents)
    }

    /// The newest audit entries.
    pub fn audit(&self, limit: usize) -> Result<Vec<audit::AuditEntry>, ControlError> {
        Ok(audit::tail(&self.db.lock(), limit)?)
    }
}
