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
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let (cfg, cockpit) = (cfg.clone(), cockpit.clone());
        tokio::spawn(async move {
            serve::run(&cfg, cockpit, listeners, async {
                let _ = stop_rx.await;
            })
            .await
        })
    };
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
