//! `cockpit serve`: the engine headless — OTLP receivers and the API — until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::engine::Engine;
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

/// Serves until `stop` resolves, then drains the ingest queue into the store.
pub async fn run(
    cfg: &Config,
    engine: Arc<Engine>,
    listeners: Listeners,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
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
    let api_state = ApiState { engine: Arc::clone(&engine), tokens: Arc::new(cfg.tokens()) };

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
