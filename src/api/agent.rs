//! The agent API: OFREP flag evaluation (with ETags), policy checks for gateways, approvals.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ApiState, control_error, json_error, require_agent};
use crate::control::model::NewApproval;
use crate::control::policy::{Effective, PolicySet, Tools};

/// The flags the cockpit serves.
pub const FLAGS: &[&str] = &["agent.enabled", "agent.tools", "agent.approval", "agent.pin"];

fn flag(key: &str, e: &Effective, revision: u64) -> Option<Value> {
    let (value, variant) = match key {
        "agent.enabled" => (json!(e.enabled), if e.enabled { "on" } else { "off" }.to_owned()),
        "agent.tools" => {
            let t = e.tools_flag();
            let variant = match t {
                Tools::All => "all",
                Tools::Allowlist { .. } => "allowlist",
            };
            (serde_json::to_value(&t).unwrap_or(Value::Null), variant.to_owned())
        }
        "agent.approval" => (json!(e.approval.as_str()), e.approval.as_str().to_owned()),
        "agent.pin" => (json!(e.pin), if e.pin.is_empty() { "unpinned" } else { "pinned" }.to_owned()),
        _ => return None,
    };
    Some(json!({
        "key": key,
        "value": value,
        "reason": "TARGETING_MATCH",
        "variant": variant,
        "metadata": {"revision": revision},
    }))
}

/// The evaluation context: targeting key (the agent) and optional environment.
fn context(body: &[u8]) -> Result<(String, Option<String>), (&'static str, String)> {
    let doc: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ("PARSE_ERROR", format!("request body is not JSON: {e}")))?
    };
    let ctx = doc.get("context").cloned().unwrap_or(Value::Null);
    if !ctx.is_object() && !ctx.is_null() {
        return Err(("INVALID_CONTEXT", "context must be an object".into()));
    }
    let agent = ctx.get("targetingKey").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let Some(agent) = agent else {
        return Err(("TARGETING_KEY_MISSING", "context.targetingKey (the agent's name) is required".into()));
    };
    let env = ["environment", "deployment.environment.name", "deployment.environment"]
        .iter()
        .find_map(|k| ctx.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    Ok((agent.to_owned(), env))
}

fn etag(body: &str) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body.as_bytes()))[..32])
}

fn ofrep_error(status: StatusCode, key: Option<&str>, code: &str, details: &str) -> Response {
    let mut body = json!({"errorCode": code, "errorDetails": details});
    if let Some(k) = key {
        body["key"] = json!(k);
    }
    (status, Json(body)).into_response()
}

/// `POST /ofrep/v1/evaluate/flags`: every flag for the agent, with an ETag.
pub async fn evaluate_bulk(State(st): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = require_agent(&st, &headers) {
        return *r;
    }
    let (agent, env) = match context(&body) {
        Ok(c) => c,
        Err((code, details)) => return ofrep_error(StatusCode::BAD_REQUEST, None, code, &details),
    };
    let policy: PolicySet = st.control.policy();
    let e = policy.effective(&agent, env.as_deref());
    let flags: Vec<Value> = FLAGS.iter().filter_map(|k| flag(k, &e, policy.revision)).collect();
    let text = json!({"flags": flags, "metadata": {"revision": policy.revision}}).to_string();
    let tag = etag(&text);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let tag_header = HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag_header)]).into_response();
    }
    (
        StatusCode::OK,
        [(header::ETAG, tag_header), (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        text,
    )
        .into_response()
}

/// `POST /ofrep/v1/evaluate/flags/{key}`: one flag.
pub async fn evaluate_one(
    State(st): State<ApiState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = require_agent(&st, &headers) {
        return *r;
    }
    if !FLAGS.contains(&key.as_str()) {
        return ofrep_error(
            StatusCode::NOT_FOUND,
            Some(&key),
            "FLAG_NOT_FOUND",
            &format!("no flag {key:?}; flags: {}", FLAGS.join(", ")),
        );
    }
    let (agent, env) = match context(&body) {
        Ok(c) => c,
        Err((code, details)) => return ofrep_error(StatusCode::BAD_REQUEST, Some(&key), code, &details),
    };
    let policy = st.control.policy();
    let e = policy.effective(&agent, env.as_deref());
    match flag(&key, &e, policy.revision) {
        Some(v) => Json(v).into_response(),
        None => ofrep_error(StatusCode::NOT_FOUND, Some(&key), "FLAG_NOT_FOUND", "no such flag"),
    }
}

/// Body of a policy check.
#[derive(Debug, serde::Deserialize)]
pub struct CheckRequest {
    tool: String,
    #[serde(default)]
    side_effect: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

/// `POST /api/v1/policy/{agent}/check`: allow, deny or require approval.
pub async fn check(State(st): State<ApiState>, Path(agent): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = require_agent(&st, &headers) {
        return *r;
    }
    let req: CheckRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_error(StatusCode::BAD_REQUEST, &format!("expected {{\"tool\": …, \"side_effect\": …}}: {e}"));
        }
    };
    let policy = st.control.policy();
    let e = policy.effective(&agent, req.environment.as_deref());
    Json(json!({"decision": e.check(&req.tool, req.side_effect.as_deref()), "revision": policy.revision}))
        .into_response()
}

/// `POST /api/v1/approvals`: an agent asks for a decision.
pub async fn create_approval(State(st): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = require_agent(&st, &headers) {
        return *r;
    }
    let new: NewApproval = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("bad approval request: {e}")),
    };
    let control = st.control.clone();
    match tokio::task::spawn_blocking(move || control.create_approval(new)).await {
        Ok(Ok((a, created))) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(json!({"id": a.id, "status": a.status, "expires_at": a.expires_at}))).into_response()
        }
        Ok(Err(e)) => control_error(e),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Query of an approval poll.
#[derive(Debug, serde::Deserialize)]
pub struct WaitQuery {
    wait: Option<u64>,
}

/// `GET /api/v1/approvals/{id}?wait=30`: long-polls until decided, expired, or the wait ends.
pub async fn get_approval(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<WaitQuery>,
) -> Response {
    // Agents poll their approvals; operators may look too.
    if require_agent(&st, &headers).is_err() && super::require_reader(&st, &headers).is_err() {
        return json_error(StatusCode::UNAUTHORIZED, "an agent or operator token is required");
    }
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(60));
    match st.control.wait_approval(&id, wait).await {
        Some(a) => Json(json!({
            "id": a.id,
            "status": a.status,
            "decided_by": a.decided_by,
            "reason": a.reason,
            "expires_at": a.expires_at,
        }))
        .into_response(),
        None => json_error(StatusCode::NOT_FOUND, &format!("no approval {id}")),
    }
}
