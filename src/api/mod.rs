//! The API listener: health, stats (and, as the control plane grows, the operator and agent APIs).

pub mod auth;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::engine::Engine;
use auth::Tokens;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Configured tokens.
    pub tokens: Arc<Tokens>,
}

/// The router for the API port.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/summary", get(summary))
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// A JSON error body `{"error": "..."}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

fn unauthorized() -> Response {
    let mut r =
        json_error(StatusCode::UNAUTHORIZED, "a viewer or operator token is required (Authorization: Bearer …)");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

/// Query of `/api/v1/summary`.
#[derive(Debug, serde::Deserialize)]
struct SummaryQuery {
    window: Option<String>,
    agent: Option<String>,
}

async fn summary(
    State(st): State<ApiState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<SummaryQuery>,
) -> Response {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !st.tokens.may_read(auth) {
        return unauthorized();
    }
    let window = match crate::config::parse_window(q.window.as_deref().unwrap_or("1h")) {
        Ok(w) => w,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e),
    };
    let engine = Arc::clone(&st.engine);
    let agent = q.agent.filter(|a| !a.is_empty());
    // Figures over long windows take a moment: keep them off the async workers.
    match tokio::task::spawn_blocking(move || engine.summary(window, agent.as_deref(), Default::default())).await {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("summary failed: {e}")),
    }
}

async fn stats(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !st.tokens.may_read(auth) {
        return unauthorized();
    }
    axum::Json(st.engine.stats()).into_response()
}
