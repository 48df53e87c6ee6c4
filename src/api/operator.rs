//! The operator API: figures, levers, approvals, incidents, audit and the event stream.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use super::{ApiState, control_error, json_error, require_operator, require_reader};
use crate::control::model::{ActionRequest, ApprovalStatus, ControlError};
use crate::control::{incidents, webhooks};

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, Box<Response>> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Box::new(control_error(e))),
        Err(e) => Err(Box::new(json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], shape: &str) -> Result<T, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(json_error(StatusCode::BAD_REQUEST, &format!("expected {shape}: {e}"))))
}

/// `GET /api/v1/stats`.
pub async fn stats(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    Json(st.engine.stats()).into_response()
}

/// Query of `/api/v1/summary`.
#[derive(Debug, Deserialize)]
pub struct SummaryQuery {
    window: Option<String>,
    agent: Option<String>,
}

/// `GET /api/v1/summary?window=1h[&agent=NAME]`.
pub async fn summary(State(st): State<ApiState>, headers: HeaderMap, Query(q): Query<SummaryQuery>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let window = match crate::config::parse_window(q.window.as_deref().unwrap_or("1h")) {
        Ok(w) => w,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
    };
    let agent = q.agent.filter(|a| !a.is_empty());
    let approvals = st.control.approval_counts(window, agent.as_deref());
    let engine = Arc::clone(&st.engine);
    // Figures over long windows take a moment: keep them off the async workers.
    match tokio::task::spawn_blocking(move || engine.summary(window, agent.as_deref(), approvals)).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("summary failed: {e}")),
    }
}

/// `GET /api/v1/policy`: every layer, and each known agent's effective policy.
pub async fn policy(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let p = st.control.policy();
    let mut agents: std::collections::BTreeSet<String> = st.engine.known_agents();
    agents.extend(p.layers.keys().filter(|k| *k != "*").map(|k| k.split('@').next().unwrap_or(k).to_owned()));
    let effective: serde_json::Map<String, serde_json::Value> =
        agents.iter().map(|a| (a.clone(), serde_json::to_value(p.effective(a, None)).unwrap_or_default())).collect();
    Json(json!({"revision": p.revision, "layers": p.layers, "effective": effective, "read_only": st.control.read_only()}))
        .into_response()
}

/// `GET /api/v1/agents/{agent}/versions`: versions with figures and the last known good.
pub async fn versions(State(st): State<ApiState>, headers: HeaderMap, Path(agent): Path<String>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    Json(json!({"agent": agent, "versions": st.engine.versions(&agent), "last_known_good": st.engine.last_known_good(&agent)}))
        .into_response()
}

/// `POST /api/v1/actions`: pull a lever.
pub async fn action(State(st): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let actor = match require_operator(&st, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req: ActionRequest = match parse(&body, "{\"lever\", \"agent\", \"value\", \"reason\"}") {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let (engine, control) = (st.engine.clone(), st.control.clone());
    let result = blocking(move || {
        let known = engine.known_agents();
        control.apply(&req, &actor, &|a| known.contains(a), &|a| engine.last_known_good(a))
    })
    .await;
    match result {
        Ok(r) => Json(r).into_response(),
        Err(r) => *r,
    }
}

/// Body of a restore.
#[derive(Debug, Deserialize)]
pub struct RestoreRequest {
    revision: u64,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/actions/restore`: set a lever back to what it was before a revision.
pub async fn restore(State(st): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let actor = match require_operator(&st, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req: RestoreRequest = match parse(&body, "{\"revision\": N, \"reason\": …}") {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if req.reason.trim().is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "a reason is required");
    }
    let control = st.control.clone();
    match blocking(move || control.restore(req.revision, &req.reason, &actor)).await {
        Ok(r) => Json(r).into_response(),
        Err(r) => *r,
    }
}

/// Body of a decision.
#[derive(Debug, Deserialize)]
pub struct DecisionRequest {
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/approvals/{id}/decision`: exactly once.
pub async fn decide(State(st): State<ApiState>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let actor = match require_operator(&st, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req: DecisionRequest = match parse(&body, "{\"decision\": \"approve\"|\"deny\", \"reason\": …}") {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let approve = match req.decision.as_str() {
        "approve" => true,
        "deny" => false,
        other => return json_error(StatusCode::BAD_REQUEST, &format!("decision {other:?}: use approve or deny")),
    };
    let control = st.control.clone();
    match blocking(move || control.decide(&id, approve, &req.reason, &actor)).await {
        Ok((a, changed)) => Json(json!({"approval": a, "changed": changed})).into_response(),
        Err(r) => *r,
    }
}

/// Query of the approvals list.
#[derive(Debug, Deserialize)]
pub struct ApprovalsQuery {
    status: Option<String>,
}

/// `GET /api/v1/approvals?status=pending`.
pub async fn list_approvals(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<ApprovalsQuery>,
) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some(s) => match ApprovalStatus::parse(s) {
            Some(s) => Some(s),
            None => return json_error(StatusCode::BAD_REQUEST, "status is pending, approved, denied or expired"),
        },
    };
    Json(json!({"approvals": st.control.approvals(status)})).into_response()
}

/// `GET /api/v1/incidents`.
pub async fn incidents(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let control = st.control.clone();
    match blocking(move || control.incidents()).await {
        Ok(list) => Json(json!({"incidents": list})).into_response(),
        Err(r) => *r,
    }
}

async fn find_incident(st: &ApiState, id: i64) -> Result<crate::control::model::Incident, Box<Response>> {
    let control = st.control.clone();
    let list = blocking(move || control.incidents()).await?;
    list.into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| Box::new(json_error(StatusCode::NOT_FOUND, &format!("no incident {id}"))))
}

/// `GET /api/v1/incidents/{id}`.
pub async fn incident(State(st): State<ApiState>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    match find_incident(&st, id).await {
        Ok(i) => Json(i).into_response(),
        Err(r) => *r,
    }
}

/// `GET /api/v1/incidents/{id}/export`: Markdown for the postmortem.
pub async fn export_incident(State(st): State<ApiState>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    match find_incident(&st, id).await {
        Ok(i) => ([(axum::http::header::CONTENT_TYPE, "text/markdown; charset=utf-8")], incidents::markdown(&i))
            .into_response(),
        Err(r) => *r,
    }
}

/// Body of a new incident.
#[derive(Debug, Deserialize)]
pub struct NewIncident {
    sev: String,
    title: String,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/incidents`: open one by hand.
pub async fn open_incident(State(st): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let actor = match require_operator(&st, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req: NewIncident = match parse(&body, "{\"sev\", \"title\", \"agent\"?, \"reason\"}") {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let control = st.control.clone();
    match blocking(move || control.open_incident(&req.sev, &req.title, req.agent.as_deref(), &actor, &req.reason)).await
    {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(r) => *r,
    }
}

/// Body of an incident update.
#[derive(Debug, Deserialize)]
pub struct IncidentUpdate {
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    trace_id: Option<String>,
}

/// `POST /api/v1/incidents/{id}/updates`: a note, a linked run, or resolution.
pub async fn update_incident(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let actor = match require_operator(&st, &headers) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let req: IncidentUpdate = match parse(&body, "{\"kind\": \"note\"|\"run\"|\"resolved\", \"text\", \"trace_id\"?}") {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let control = st.control.clone();
    match blocking(move || control.incident_update(id, &req.kind, &req.text, req.trace_id.as_deref(), &actor)).await {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(r) => *r,
    }
}

/// Query of the audit log.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/audit?limit=100`.
pub async fn audit(State(st): State<ApiState>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let control = st.control.clone();
    let limit = q.limit.unwrap_or(100).min(10_000);
    match blocking(move || control.audit(limit)).await {
        Ok(entries) => Json(json!({"entries": entries})).into_response(),
        Err(r) => *r,
    }
}

/// `GET /api/v1/webhooks`: delivery state.
pub async fn webhooks(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let states = st.control.with_db(|db| webhooks::states(db, st.control.webhooks()));
    match states {
        Ok(s) => Json(json!({"webhooks": s})).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `GET /api/v1/events`: server-sent events of policy, approval and incident changes.
pub async fn events(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let stream = BroadcastStream::new(st.control.subscribe()).filter_map(|e| async move {
        let e = e.ok()?;
        let kind = match &e {
            crate::control::model::ControlEvent::Policy { .. } => "policy",
            crate::control::model::ControlEvent::Approval { .. } => "approval",
            crate::control::model::ControlEvent::Incident { .. } => "incident",
        };
        Some(Ok::<_, Infallible>(Event::default().event(kind).data(serde_json::to_string(&e).unwrap_or_default())))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// Query of `/api/v1/snapshot`.
#[derive(Debug, Deserialize)]
pub struct SnapshotQuery {
    window: Option<u64>,
}

/// `GET /api/v1/snapshot?window=SECONDS`: everything an attached console draws, in one piece.
/// `X-Cockpit-Console` names the console (presence); `X-Cockpit-Viewing` says what it looks at.
pub async fn snapshot(State(st): State<ApiState>, headers: HeaderMap, Query(q): Query<SnapshotQuery>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(96).collect::<String>())
    };
    if let Some(console) = header("x-cockpit-console") {
        st.presence.touch(&console, header("x-cockpit-viewing").filter(|v| !v.is_empty()));
    }
    let window = q.window.unwrap_or(3600).clamp(60, 8 * 86_400);
    let cockpit = crate::serve::Cockpit {
        engine: Arc::clone(&st.engine),
        control: Arc::clone(&st.control),
        tokens: Arc::clone(&st.tokens),
    };
    let presence = Arc::clone(&st.presence);
    match tokio::task::spawn_blocking(move || {
        let mut s = crate::interface::take_snapshot(&cockpit, window);
        presence.fill(&mut s);
        s
    })
    .await
    {
        Ok(s) => Json(s).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("snapshot failed: {e}")),
    }
}

/// `GET /api/v1/traces/{trace_id}`: one trace's spans as a tree.
pub async fn trace(State(st): State<ApiState>, headers: HeaderMap, Path(trace_id): Path<String>) -> Response {
    if let Err(r) = require_reader(&st, &headers) {
        return *r;
    }
    let Some(id) = hex::decode(&trace_id).ok().and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok()) else {
        return json_error(StatusCode::BAD_REQUEST, "a trace id is 32 hex digits");
    };
    let engine = Arc::clone(&st.engine);
    match tokio::task::spawn_blocking(move || engine.store().read().trace(&id)).await {
        Ok(Some(t)) => Json(t).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "that trace is not in the hot window"),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `GET /api/v1/whoami`: the caller's role and whether levers are disabled.
pub async fn whoami(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    match require_reader(&st, &headers) {
        Ok(role) => Json(json!({"role": format!("{role:?}").to_lowercase(), "read_only": st.control.read_only()}))
            .into_response(),
        Err(r) => *r,
    }
}
