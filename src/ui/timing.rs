//! Frame timing, on when `--frame-timing FILE` is given: time to first frame (from process
//! start) and key press → redrawn frame latency, written to FILE as JSON when the TUI exits.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;

static FILE: OnceLock<PathBuf> = OnceLock::new();
static START: OnceLock<Instant> = OnceLock::new();

/// Notes the process start; call first thing in `main`.
pub fn mark_start() {
    let _ = START.set(Instant::now());
}

/// Turns timing on, writing to `path` at exit.
pub fn enable(path: PathBuf) {
    let _ = FILE.set(path);
}

/// What the file says.
#[derive(Debug, Serialize)]
struct Report {
    first_frame_ms: Option<f64>,
    keys: usize,
    key_to_frame_p50_ms: Option<f64>,
    key_to_frame_p99_ms: Option<f64>,
    key_to_frame_max_ms: Option<f64>,
}

/// The recorder of one TUI session (a no-op when timing is off).
#[derive(Debug, Clone, Default)]
pub struct Timing {
    on: bool,
    /// Key presses read but not yet on screen.
    pending: Arc<Mutex<Vec<Instant>>>,
    samples_ms: Arc<Mutex<Vec<f64>>>,
    first_frame_ms: Arc<Mutex<Option<f64>>>,
}

impl Timing {
    /// A recorder, on if `--frame-timing` was given.
    pub fn new() -> Self {
        Self { on: FILE.get().is_some(), ..Self::default() }
    }

    /// A key press was read from the terminal.
    pub fn key(&self) {
        if self.on {
            self.pending.lock().push(Instant::now());
        }
    }

    /// A frame was drawn: every key read before it is now on screen.
    pub fn frame(&self) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        let mut first = self.first_frame_ms.lock();
        if first.is_none() {
            *first = START.get().map(|s| now.duration_since(*s).as_secs_f64() * 1000.0);
        }
        let keys: Vec<Instant> = std::mem::take(&mut *self.pending.lock());
        self.samples_ms.lock().extend(keys.iter().map(|k| now.duration_since(*k).as_secs_f64() * 1000.0));
    }

    /// Writes the report (when on).
    pub fn write(&self) {
        let Some(path) = FILE.get() else { return };
        let mut s = self.samples_ms.lock().clone();
        s.sort_by(f64::total_cmp);
        let q = |p: f64| (!s.is_empty()).then(|| s[((s.len() - 1) as f64 * p).round() as usize]);
        let r = Report {
            first_frame_ms: *self.first_frame_ms.lock(),
            keys: s.len(),
            key_to_frame_p50_ms: q(0.5),
            key_to_frame_p99_ms: q(0.99),
            key_to_frame_max_ms: s.last().copied(),
        };
        if let Err(e) = std::fs::write(path, serde_json::to_vec_pretty(&r).unwrap_or_default()) {
            tracing::warn!("cannot write frame timing to {}: {e}", path.display());
        }
    }
}
