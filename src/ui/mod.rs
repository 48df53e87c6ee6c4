//! The TUI: app state and pure update (`app`), views (`views`), the engine interface (`data`,
//! `local`), themes and key bindings, and the loop that ties them to a terminal.

pub mod app;
pub mod data;
pub mod fixture;
pub mod keymap;
pub mod local;
pub mod remote;
pub mod theme;
pub mod timing;
pub mod views;
pub mod widgets;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use tokio::sync::{mpsc, watch};

use app::{App, Effect, Msg, update};
use data::SharedBackend;
use keymap::Keymap;
use theme::Theme;

/// How often the snapshot is refreshed.
const REFRESH: Duration = Duration::from_millis(500);

/// Runs the TUI until the operator quits. The terminal is restored on every exit path
/// (ratatui's panic hook restores it before color-eyre's report prints).
pub async fn run(backend: SharedBackend, theme: Theme, keymap: Keymap) -> Result<(), String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut app = App::new(keymap);
    app.console = backend.console();
    if app.console.is_some() {
        app.conn = app::Conn::Connecting;
    }
    let changes = backend.changes();
    let (window_tx, window_rx) = watch::channel(app.window_seconds());
    let refresh = Arc::new(tokio::sync::Notify::new());

    // Snapshots: a few times a second, at once when the window changes or a lever moved.
    let snap_task = {
        let (backend, tx, refresh) = (Arc::clone(&backend), tx.clone(), Arc::clone(&refresh));
        let mut window_rx = window_rx.clone();
        let remote = app.console.is_some();
        tokio::spawn(async move {
            let mut last_ok = std::time::Instant::now();
            let mut backoff = REFRESH;
            let engine_changed = changes.unwrap_or_default();
            loop {
                let window = *window_rx.borrow_and_update();
                let conn = match backend.snapshot(window).await {
                    Ok(s) => {
                        last_ok = std::time::Instant::now();
                        backoff = REFRESH;
                        if tx.send(Msg::Snapshot(Arc::new(s))).is_err() {
                            break;
                        }
                        if remote { app::Conn::Live } else { app::Conn::Local }
                    }
                    Err(error) => {
                        // Reconnect with backoff; the data on screen says how old it is.
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        app::Conn::Stale { age_secs: last_ok.elapsed().as_secs(), error }
                    }
                };
                if tx.send(Msg::Conn(conn)).is_err() {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = window_rx.changed() => {}
                    () = refresh.notified() => {}
                    () = engine_changed.notified() => {}
                }
            }
        })
    };

    let mut terminal = ratatui::init();
    let timing = timing::Timing::new();
    // Keys on a thread of their own: the loop never blocks on the terminal.
    let stop = Arc::new(AtomicBool::new(false));
    let input = {
        let (tx, stop, timing) = (tx.clone(), Arc::clone(&stop), timing.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                            timing.key();
                            if tx.send(Msg::Key(k)).is_err() {
                                break;
                            }
                        }
                        Ok(Event::Resize(..)) => {
                            let _ = tx.send(Msg::Redraw);
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    },
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
    };

    let mut result = terminal.draw(|f| views::draw(f, &app, &theme)).map(|_| ()).map_err(|e| e.to_string());
    timing.frame();
    while result.is_ok() {
        let Some(first) = rx.recv().await else { break };
        // Coalesce a burst of messages into one frame.
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for msg in batch {
            for effect in update(&mut app, msg) {
                perform(effect, &backend, &tx, &window_tx, &refresh);
            }
        }
        backend.set_viewing(app.viewing());
        if app.quit {
            break;
        }
        result = terminal.draw(|f| views::draw(f, &app, &theme)).map(|_| ()).map_err(|e| e.to_string());
        timing.frame();
    }
    timing.write();
    stop.store(true, Ordering::Relaxed);
    snap_task.abort();
    ratatui::restore();
    let _ = input.join();
    result
}

/// Carries out an effect off the UI loop; its outcome comes back as a message.
fn perform(
    effect: Effect,
    backend: &SharedBackend,
    tx: &mpsc::UnboundedSender<Msg>,
    window: &watch::Sender<u64>,
    refresh: &Arc<tokio::sync::Notify>,
) {
    if let Effect::Window(secs) = effect {
        let _ = window.send(secs);
        return;
    }
    let (backend, tx, refresh) = (Arc::clone(backend), tx.clone(), Arc::clone(refresh));
    tokio::spawn(async move {
        let msg = match effect {
            Effect::LoadTrace(id) => {
                let r = backend.trace(id.clone()).await;
                Msg::Trace(id, r)
            }
            Effect::Act(req) => Msg::Done(backend.act(req).await),
            Effect::Decide { id, approve, reason } => Msg::Done(backend.decide(id, approve, reason).await),
            Effect::OpenIncident { sev, title, agent } => Msg::Done(backend.open_incident(sev, title, agent).await),
            Effect::IncidentUpdate { id, kind, text, trace_id } => {
                Msg::Done(backend.incident_update(id, kind, text, trace_id).await)
            }
            Effect::Export(id) => Msg::Done(match backend.export_incident(id).await {
                Ok(md) => {
                    // Named in full, so the operator can find it: it goes where the console started.
                    let name = format!("incident-{id}.md");
                    let path = std::env::current_dir().map(|d| d.join(&name)).unwrap_or_else(|_| name.into());
                    std::fs::write(&path, md)
                        .map(|()| format!("✓ wrote {}", path.display()))
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))
                }
                Err(e) => Err(e),
            }),
            Effect::DemoIncident(name) => Msg::Done(backend.demo_incident(name).await),
            Effect::Window(_) => return,
        };
        let _ = tx.send(msg);
        refresh.notify_one();
    });
}

/// Key-handling entry point for tests and tools: feeds a key to the app.
pub fn press(app: &mut App, code: crossterm::event::KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE)))
}
