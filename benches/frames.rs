//! One frame of each view at 160x48 with 1,000,000 spans ingested (DESIGN §10: ≤ 5 ms), and the
//! snapshot the console takes from the engine on each refresh. Run: `cargo bench --bench frames`.

use std::sync::Arc;
use std::time::Duration;

use agentops_cockpit::config::Config;
use agentops_cockpit::interface::take_snapshot;
use agentops_cockpit::serve::Cockpit;
use agentops_cockpit::ui::app::{App, Msg, update};
use agentops_cockpit::ui::keymap::Keymap;
use agentops_cockpit::ui::theme::{BUILTIN, Depth, Theme};
use agentops_cockpit::ui::{press, views};
use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

mod common;

const SPANS: u64 = 1_000_000;

/// A cockpit with a million of the loadgen's spans ingested and settled (budget large enough to
/// keep them all hot).
fn loaded(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> Result<Cockpit, String> {
    let cfg = Config { data_dir: Some(dir.to_path_buf()), ..Config::default() };
    let mut ecfg = cfg.engine()?;
    ecfg.memory_budget = 4 << 30;
    let cockpit = Cockpit::start(&cfg, ecfg)?;
    common::fill(rt, &cockpit.engine, SPANS);
    let hot = cockpit.engine.store().read().hot_spans() as u64;
    if hot < SPANS {
        return Err(format!("only {hot} of {SPANS} spans stayed hot"));
    }
    eprintln!("{hot} spans hot");
    Ok(cockpit)
}

fn frames(c: &mut Criterion) {
    let setup = (|| -> Result<_, String> {
        let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let cockpit = loaded(&rt, dir.path())?;
        let theme = Theme::parse(BUILTIN[0].1, "dark", Depth::TrueColor)?;
        Ok((rt, dir, cockpit, theme))
    })();
    let (_rt, _dir, cockpit, theme) = match setup {
        Ok(s) => s,
        Err(e) => panic!("cannot set up the benchmark: {e}"),
    };
    let mut g = c.benchmark_group("frame_160x48_1m_spans");
    g.bench_function("snapshot", |b| b.iter(|| take_snapshot(&cockpit, 3_600)));
    let snapshot = Arc::new(take_snapshot(&cockpit, 3_600));
    let mut term = match Terminal::new(TestBackend::new(160, 48)) {
        Ok(t) => t,
        Err(e) => panic!("no test terminal: {e}"),
    };
    for (i, name) in ["overview", "outcomes", "tools", "safety", "cost", "drift", "traces", "approvals", "incidents"]
        .iter()
        .enumerate()
    {
        let mut app = App::new(Keymap::default());
        update(&mut app, Msg::Snapshot(Arc::clone(&snapshot)));
        press(&mut app, KeyCode::Char(char::from(b'1' + i as u8)));
        g.bench_function(*name, |b| {
            b.iter(|| {
                let _ = term.draw(|f| views::draw(f, &app, &theme));
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = frames
}
criterion_main!(benches);
