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
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// A JSON error body `{"error": "..."}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

fn unauthorized() -> Response {
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        "a viewer or operator token is required (Authorization: Bearer …)",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

async fn stats(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !st.tokens.may_read(auth) {
        return unauthorized();
    }
    axum::Json(st.engine.stats()).into_response()
}
