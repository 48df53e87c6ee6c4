//! Logs go to `cockpit.log` in the data directory, never to the terminal the TUI draws on.

use std::path::Path;

/// Starts file logging (level from `COCKPIT_LOG`, default info); keep the guard alive.
pub fn init(data_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(data_dir).ok()?;
    let file = tracing_appender::rolling::never(data_dir, "cockpit.log");
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("COCKPIT_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init().ok()?;
    Some(guard)
}
