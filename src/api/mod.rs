//! The API listener: health, the agent API (OFREP, policy checks, approvals) and the operator
//! API (figures, levers, approvals, incidents, audit, events).

pub mod agent;
pub mod auth;
pub mod operator;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::control::ControlPlane;
use crate::control::model::ControlError;
use crate::engine::Engine;
use auth::{Role, Tokens};

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The control plane.
    pub control: Arc<ControlPlane>,
    /// Configured tokens.
    pub tokens: Arc<Tokens>,
    /// Attached consoles.
    pub presence: Arc<crate::interface::Presence>,
}

/// The router for the API port.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        // Agent API.
        .route("/ofrep/v1/evaluate/flags", post(agent::evaluate_bulk))
        .route("/ofrep/v1/evaluate/flags/{key}", post(agent::evaluate_one))
        .route("/api/v1/policy/{agent}/check", post(agent::check))
        .route("/api/v1/approvals", post(agent::create_approval).get(operator::list_approvals))
        .route("/api/v1/approvals/{id}", get(agent::get_approval))
        // Operator API.
        .route("/api/v1/stats", get(operator::stats))
        .route("/api/v1/summary", get(operator::summary))
        .route("/api/v1/policy", get(operator::policy))
        .route("/api/v1/agents/{agent}/versions", get(operator::versions))
        .route("/api/v1/actions", post(operator::action))
        .route("/api/v1/actions/restore", post(operator::restore))
        .route("/api/v1/approvals/{id}/decision", post(operator::decide))
        .route("/api/v1/incidents", get(operator::incidents).post(operator::open_incident))
        .route("/api/v1/incidents/{id}", get(operator::incident))
        .route("/api/v1/incidents/{id}/updates", post(operator::update_incident))
        .route("/api/v1/incidents/{id}/export", get(operator::export_incident))
        .route("/api/v1/audit", get(operator::audit))
        .route("/api/v1/webhooks", get(operator::webhooks))
        .route("/api/v1/events", get(operator::events))
        .route("/api/v1/snapshot", get(operator::snapshot))
        .route("/api/v1/traces/{trace_id}", get(operator::trace))
        .route("/api/v1/whoami", get(operator::whoami))
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// A JSON error body `{"error": "..."}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// A control-plane error as an HTTP answer.
pub fn control_error(e: ControlError) -> Response {
    let status = match &e {
        ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ControlError::NotFound(_) => StatusCode::NOT_FOUND,
        ControlError::Conflict(_) => StatusCode::CONFLICT,
        ControlError::ReadOnly => StatusCode::FORBIDDEN,
        ControlError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_error(status, &e.to_string())
}

/// Who is calling, by their bearer token.
pub fn caller(state: &ApiState, headers: &HeaderMap) -> Option<Role> {
    state.tokens.role_of(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))
}

fn unauthorized(what: &str) -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, &format!("{what} (Authorization: Bearer …)"));
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

/// Read routes: a viewer or operator token.
pub fn require_reader(state: &ApiState, headers: &HeaderMap) -> Result<Role, Box<Response>> {
    match caller(state, headers) {
        Some(r @ (Role::Viewer | Role::Operator)) => Ok(r),
        Some(Role::Agent) => {
            Err(Box::new(json_error(StatusCode::FORBIDDEN, "agent tokens cannot read the operator API")))
        }
        None if state.tokens.operator.is_none() && state.tokens.viewer.is_none() => Ok(Role::Operator),
        None => Err(Box::new(unauthorized("a viewer or operator token is required"))),
    }
}

/// Levers: an operator token, and not read-only.
pub fn require_operator(state: &ApiState, headers: &HeaderMap) -> Result<String, Box<Response>> {
    match caller(state, headers) {
        Some(Role::Operator) => {}
        None if state.tokens.operator.is_none() => {}
        Some(_) => return Err(Box::new(json_error(StatusCode::FORBIDDEN, "an operator token is required for levers"))),
        None => return Err(Box::new(unauthorized("an operator token is required"))),
    }
    if state.control.read_only() {
        return Err(Box::new(control_error(ControlError::ReadOnly)));
    }
    let console = headers
        .get("x-cockpit-console")
        .and_then(|v| v.to_str().ok())
        .map(|c| c.chars().filter(|ch| !ch.is_control()).take(64).collect::<String>())
        .filter(|c| !c.is_empty());
    Ok(match console {
        Some(c) => format!("api:operator via {c}"),
        None => "api:operator".to_owned(),
    })
}

/// Agent routes: the agent token when one is configured (an operator token works too).
pub fn require_agent(state: &ApiState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if state.tokens.agent.is_none() {
        return Ok(());
    }
    match caller(state, headers) {
        Some(Role::Agent | Role::Operator) => Ok(()),
        Some(Role::Viewer) => {
            Err(Box::new(json_error(StatusCode::FORBIDDEN, "viewer tokens cannot use the agent API")))
        }
        None => Err(Box::new(unauthorized("an agent token is required"))),
    }
}
