//! The commands that open the TUI: `cockpit` (engine + TUI) and `cockpit replay FILE…`.

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config};
use crate::serve::{self, Cockpit};
use crate::ui::keymap::Keymap;
use crate::ui::local::Local;
use crate::ui::theme::{Depth, Theme};

/// The theme and key bindings the configuration asks for.
pub fn look(cfg: &Config) -> Result<(Theme, Keymap), String> {
    let depth = Depth::detect(|k| std::env::var(k).ok());
    let config_dir = config::default_config_path().and_then(|p| p.parent().map(Path::to_path_buf));
    let theme = Theme::load(&cfg.theme, config_dir.as_deref(), depth)?;
    let keymap = Keymap::with_overrides(&cfg.keys)?;
    Ok((theme, keymap))
}

/// Serves OTLP and the API in the background until the sender fires (or drops).
fn serve_in_background(
    cfg: Config,
    cockpit: Cockpit,
    listeners: serve::Listeners,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), String>>) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve::run(&cfg, cockpit, listeners, async {
            let _ = stop_rx.await;
        })
        .await
    });
    (stop_tx, server)
}

/// `cockpit`: the engine serving OTLP and the API, with the TUI over it in this process.
pub async fn run_local(cfg: &Config) -> Result<(), String> {
    let (theme, keymap) = look(cfg)?;
    let cockpit = Cockpit::start(cfg, cfg.engine()?)?;
    let listeners = serve::bind(cfg).await.map_err(|e| {
        if e.flag == "--api" && e.error.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "{e}\n  (a cockpit already serves {}: open another console on it with `cockpit attach http://{}`)",
                cfg.api, cfg.api
            )
        } else {
            e.to_string()
        }
    })?;
    tracing::info!("serving: {}", listeners.address_record());
    cockpit.spawn_background();
    let (stop_tx, server) = serve_in_background(cfg.clone(), cockpit.clone(), listeners);
    let ui = crate::ui::run(Local::new(cockpit), theme, keymap).await;
    let _ = stop_tx.send(());
    let served = server.await.map_err(|e| e.to_string())?;
    ui.and(served)
}

/// `cockpit replay FILE…` on a terminal: the files in a throwaway engine, and the TUI.
pub async fn run_replay(cfg: &Config, files: &[std::path::PathBuf], keep: Option<&Path>) -> Result<bool, String> {
    let (theme, keymap) = look(cfg)?;
    let scratch = tempfile::tempdir().map_err(|e| format!("cannot create a scratch dir: {e}"))?;
    let mut cfg = cfg.clone();
    cfg.data_dir = Some(keep.map_or_else(|| scratch.path().to_path_buf(), Path::to_path_buf));
    let mut ecfg = cfg.engine()?;
    ecfg.data_clock = true;
    let cockpit = Cockpit::start(&cfg, ecfg)?;
    let loaded = crate::report::load_files(&cockpit.engine, files).await;
    for p in &loaded.problems {
        tracing::warn!("replay: {p}");
    }
    let ui = crate::ui::run(Local::new(cockpit.clone()), theme, keymap).await;
    let engine = Arc::clone(&cockpit.engine);
    let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
    for p in &loaded.problems {
        eprintln!("cockpit: {p}");
    }
    ui.map(|()| loaded.bad_lines > 0)
}

/// `cockpit demo`: the engine, the simulated fleet talking to it over the real protocols, and
/// the TUI (or, `--headless`, the address record and a wait for SIGINT/SIGTERM).
pub async fn run_demo(cfg: &Config, args: &crate::cli::DemoArgs) -> Result<(), String> {
    use crate::demo::fleet::{self, DemoControl, Endpoints, FleetOptions};
    let opts = FleetOptions { speed: args.speed.clamp(0.01, 1000.0), seed: args.seed, timeline: !args.no_timeline };
    let control = Arc::new(DemoControl::default());
    if args.fleet_only {
        let http = args.otlp_endpoint.clone().unwrap_or_default().trim_end_matches('/').to_owned();
        let grpc = args
            .otlp_grpc_endpoint
            .clone()
            .unwrap_or_else(|| http.rsplit_once(':').map_or_else(|| http.clone(), |(host, _)| format!("{host}:4317")));
        let ep = Endpoints {
            otlp_grpc: grpc,
            otlp_http: http,
            api: args.api_endpoint.clone().unwrap_or_default().trim_end_matches('/').to_owned(),
            agent_token: cfg.agent_token.clone(),
        };
        let _tasks = fleet::spawn(ep, opts, control);
        serve::stop_signal().await;
        return Ok(());
    }
    // Free ports and a fresh state directory unless the operator chose them.
    let mut cfg = cfg.clone();
    let e = &args.engine;
    if e.otlp_grpc.is_none() {
        cfg.otlp_grpc = "127.0.0.1:0".into();
    }
    if e.otlp_http.is_none() {
        cfg.otlp_http = "127.0.0.1:0".into();
    }
    if e.api.is_none() {
        cfg.api = "127.0.0.1:0".into();
    }
    let scratch = tempfile::tempdir().map_err(|e| format!("cannot create a scratch dir: {e}"))?;
    if e.data_dir.is_none() {
        cfg.data_dir = Some(scratch.path().to_path_buf());
    }
    let _log = crate::logging::init(&cfg.data_dir());
    let look = if args.headless { None } else { Some(look(&cfg)?) };
    let cockpit = Cockpit::start(&cfg, cfg.engine()?)?;
    let listeners = serve::bind(&cfg).await.map_err(|e| e.to_string())?;
    let record = listeners.address_record();
    let addrs: serde_json::Value = serde_json::from_str(&record).map_err(|e| e.to_string())?;
    let addr = |k: &str| format!("http://{}", addrs[k].as_str().unwrap_or_default());
    tracing::info!("demo serving: {record}");
    cockpit.spawn_background();
    let ep = Endpoints {
        otlp_grpc: addr("otlp_grpc"),
        otlp_http: addr("otlp_http"),
        api: addr("api"),
        agent_token: cfg.agent_token.clone(),
    };
    let (stop_tx, server) = serve_in_background(cfg.clone(), cockpit.clone(), listeners);
    let tasks = fleet::spawn(ep, opts, Arc::clone(&control));
    let ui = match look {
        None => {
            println!("{record}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
            serve::stop_signal().await;
            Ok(())
        }
        Some((theme, keymap)) => crate::ui::run(Local::with_demo(cockpit, control), theme, keymap).await,
    };
    for t in tasks {
        t.abort();
    }
    let _ = stop_tx.send(());
    let served = server.await.map_err(|e| e.to_string())?;
    ui.and(served)
}

/// The token an attached console uses: configured operator, else viewer, else (for an engine on
/// this machine) the operator token generated in the local data dir.
fn attach_token(cfg: &Config) -> Option<String> {
    cfg.operator_token.clone().or_else(|| cfg.viewer_token.clone()).or_else(|| {
        std::fs::read_to_string(cfg.data_dir().join(crate::api::auth::OPERATOR_TOKEN_FILE))
            .ok()
            .map(|t| t.trim().to_owned())
    })
}

/// `cockpit attach [URL]`: the same TUI, over the operator API and its event stream.
pub async fn run_attach(cfg: &Config, url: Option<&str>, console: Option<String>) -> Result<(), String> {
    let (theme, keymap) = look(cfg)?;
    let base = url.map_or_else(|| format!("http://{}", cfg.api), str::to_owned);
    let console = console.unwrap_or_else(crate::ui::remote::default_console_name);
    let remote = crate::ui::remote::Remote::connect(&base, attach_token(cfg), console).await?;
    crate::ui::run(remote, theme, keymap).await
}

/// Whether a cockpit already answers on the configured API address.
pub async fn engine_running(cfg: &Config) -> bool {
    let Ok(client) = reqwest::Client::builder().timeout(std::time::Duration::from_millis(500)).build() else {
        return false;
    };
    client.get(format!("http://{}/healthz", cfg.api)).send().await.is_ok_and(|r| r.status().is_success())
}
