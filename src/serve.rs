//! `cockpit serve`: the engine headless — OTLP receivers and the API — until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::analytics::alerts::AlertInputs;
use crate::api::auth::{Tokens, operator_token};
use crate::api::{self, ApiState};
use crate::config::Config;
use crate::control::model::ApprovalStatus;
use crate::control::{ControlOptions, ControlPlane, now_ms, webhooks};
use crate::engine::{Engine, EngineConfig};
use crate::ingest::grpc::{self, GrpcIngest};
use crate::ingest::http::{self, HttpIngest};

/// How long open connections may linger after SIGINT/SIGTERM before they are cut.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The three bound listeners.
pub struct Listeners {
    /// OTLP/gRPC.
    pub otlp_grpc: TcpListener,
    /// OTLP/HTTP.
    pub otlp_http: TcpListener,
    /// API.
    pub api: TcpListener,
}

/// A listener that could not be bound, with the flag that changes it.
#[derive(Debug)]
pub struct BindError {
    /// The flag to change.
    pub flag: &'static str,
    /// The address tried.
    pub addr: String,
    /// What the OS said.
    pub error: std::io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if self.error.kind() == std::io::ErrorKind::AddrInUse {
            "address already in use".to_owned()
        } else {
            self.error.to_string()
        };
        write!(f, "cannot listen on {} ({why}); choose another address with {}", self.addr, self.flag)
    }
}

async fn bind_one(addr: &str, flag: &'static str) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|error| BindError { flag, addr: addr.to_owned(), error })
}

/// Binds the three listeners named by the configuration.
pub async fn bind(cfg: &Config) -> Result<Listeners, BindError> {
    Ok(Listeners {
        otlp_grpc: bind_one(&cfg.otlp_grpc, "--otlp-grpc").await?,
        otlp_http: bind_one(&cfg.otlp_http, "--otlp-http").await?,
        api: bind_one(&cfg.api, "--api").await?,
    })
}

fn local(l: &TcpListener) -> String {
    l.local_addr().map(|a: SocketAddr| a.to_string()).unwrap_or_default()
}

impl Listeners {
    /// The one-line JSON record of the bound addresses, keys in the documented order.
    pub fn address_record(&self) -> String {
        let quoted = |l: &TcpListener| serde_json::Value::String(local(l)).to_string();
        format!(
            "{{\"otlp_grpc\":{},\"otlp_http\":{},\"api\":{}}}",
            quoted(&self.otlp_grpc),
            quoted(&self.otlp_http),
            quoted(&self.api)
        )
    }
}

/// Resolves when SIGINT or SIGTERM arrives.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The engine and the control plane, as one process serves them.
#[derive(Clone)]
pub struct Cockpit {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The control plane.
    pub control: Arc<ControlPlane>,
    /// The API tokens in effect.
    pub tokens: Arc<Tokens>,
}

impl Cockpit {
    /// Starts the engine and opens the control plane under the configured data dir; resolves
    /// the operator token (generated on first start when none is configured).
    pub fn start(cfg: &Config, engine: EngineConfig) -> Result<Self, String> {
        let data_dir = cfg.data_dir();
        let api_loopback =
            cfg.api.parse::<SocketAddr>().map_or_else(|_| cfg.api.starts_with("localhost:"), |a| a.ip().is_loopback());
        if !api_loopback && cfg.agent_token.is_none() {
            return Err(format!(
                "refusing to serve the agent API on {} without an agent token: set COCKPIT_AGENT_TOKEN (or agent_token in the config file), or bind --api to 127.0.0.1",
                cfg.api
            ));
        }
        let mut tokens = cfg.tokens();
        tokens.operator = Some(operator_token(cfg.operator_token.as_deref(), &data_dir)?);
        let control =
            ControlPlane::open(&data_dir, ControlOptions { read_only: cfg.read_only, webhooks: cfg.webhooks.clone() })?;
        let engine = Engine::start(engine)?;
        Ok(Self { engine, control, tokens: Arc::new(tokens) })
    }

    /// Background work: webhook delivery, approval expiry, alert → incident.
    pub fn spawn_background(&self) {
        tokio::spawn(webhooks::run(Arc::clone(&self.control)));
        let (engine, control) = (Arc::clone(&self.engine), Arc::clone(&self.control));
        tokio::spawn(async move {
            loop {
                let c = Arc::clone(&control);
                let pending = tokio::task::spawn_blocking(move || {
                    if let Err(e) = c.expire_due() {
                        tracing::error!("approval expiry: {e}");
                    }
                    c.approvals(Some(ApprovalStatus::Pending))
                })
                .await
                .unwrap_or_default();
                let oldest = pending.iter().map(|a| a.created_ms).min().map(|t| ((now_ms() - t).max(0) / 1000) as u64);
                engine.set_alert_inputs(AlertInputs {
                    oldest_pending_approval_s: oldest,
                    pending_approvals: pending.len() as u64,
                });
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        let mut opened = self.engine.subscribe_alerts();
        let control = Arc::clone(&self.control);
        tokio::spawn(async move {
            while let Ok(a) = opened.recv().await {
                let c = Arc::clone(&control);
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = c.on_alert(a.severity, a.rule, a.agent.as_deref(), &a.message) {
                        tracing::error!("cannot open an incident for alert {}: {e}", a.rule);
                    }
                })
                .await;
            }
        });
    }
}

/// Serves until `stop` resolves, then drains the ingest queue into the store.
pub async fn run(
    cfg: &Config,
    cockpit: Cockpit,
    listeners: Listeners,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let engine = Arc::clone(&cockpit.engine);
    let max_request_bytes = cfg.max_request_bytes()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        stop.await;
        tracing::info!("stop requested; closing listeners");
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let grpc_ingest = GrpcIngest { engine: Arc::clone(&engine), token: cfg.ingest_token.clone() };
    let http_ingest = HttpIngest { engine: Arc::clone(&engine), token: cfg.ingest_token.clone(), max_request_bytes };
    let api_state = ApiState {
        engine: Arc::clone(&engine),
        control: Arc::clone(&cockpit.control),
        tokens: Arc::clone(&cockpit.tokens),
        presence: Arc::default(),
    };

    let grpc = grpc::serve(grpc_ingest, listeners.otlp_grpc, max_request_bytes, stopped(stop_rx.clone()));
    let http =
        axum::serve(listeners.otlp_http, http::router(http_ingest)).with_graceful_shutdown(stopped(stop_rx.clone()));
    let api = axum::serve(listeners.api, api::router(api_state)).with_graceful_shutdown(stopped(stop_rx.clone()));
    let servers = async { tokio::join!(grpc, http, api) };
    // A client that never closes its connection must not keep the process alive forever.
    let grace = async {
        stopped(stop_rx).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let result = tokio::select! {
        (g, h, a) = servers => g
            .map_err(|e| format!("OTLP/gRPC server: {e}"))
            .and(h.map_err(|e| format!("OTLP/HTTP server: {e}")))
            .and(a.map_err(|e| format!("API server: {e}"))),
        () = grace => {
            tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after the stop signal; closing them");
            Ok(())
        }
    };
    tracing::info!("listeners closed; draining the ingest queue");
    let drained = Arc::clone(&engine);
    let _ = tokio::task::spawn_blocking(move || drained.shutdown()).await;
    result
}
