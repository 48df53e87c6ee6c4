//! Renders every view of the deterministic demo dataset into `screenshots/*.svg` with the dark
//! theme's colours: `cargo run --example screenshots`.

use std::fmt::Write;
use std::sync::Arc;

use agentops_cockpit::ui::app::{App, Msg, Page, tab, update};
use agentops_cockpit::ui::keymap::Keymap;
use agentops_cockpit::ui::theme::{BUILTIN, Depth, Theme};
use agentops_cockpit::ui::{fixture, press, views};
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CW: f64 = 8.4;
const CH: f64 = 18.0;

fn hex(c: Color, default: &str) -> String {
    match c {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        _ => default.to_owned(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The buffer as an SVG: a background rect per styled run, then the text.
fn svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14"><rect width="100%" height="100%" fill="#121212"/>"##,
        f64::from(w) * CW,
        f64::from(h) * CH
    );
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let (fg, bg, bold) = (cell.fg, cell.bg, cell.modifier.contains(Modifier::BOLD));
            let start = x;
            let mut text = String::new();
            while x < w && buf[(x, y)].fg == fg && buf[(x, y)].bg == bg {
                text.push_str(buf[(x, y)].symbol());
                x += 1;
            }
            let px = f64::from(start) * CW;
            if !matches!(bg, Color::Reset) {
                let _ = write!(
                    out,
                    r#"<rect x="{px}" y="{}" width="{}" height="{CH}" fill="{}"/>"#,
                    f64::from(y) * CH,
                    f64::from(x - start) * CW,
                    hex(bg, "#121212")
                );
            }
            if !text.trim().is_empty() {
                let _ = write!(
                    out,
                    r#"<text x="{px}" y="{}" fill="{}" xml:space="preserve" textLength="{}"{}>{}</text>"#,
                    f64::from(y) * CH + 14.0,
                    hex(fg, "#d0d0d0"),
                    f64::from(x - start) * CW,
                    if bold { r#" font-weight="bold""# } else { "" },
                    esc(&text)
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let (snapshot, trace) = fixture::snapshot(90, 3600).await?;
    let theme = Theme::parse(BUILTIN[0].1, "dark", Depth::TrueColor)?;
    std::fs::create_dir_all("screenshots").map_err(|e| e.to_string())?;
    let shot = |name: &str, app: &App| -> Result<(), String> {
        let mut t = Terminal::new(TestBackend::new(160, 48)).map_err(|e| e.to_string())?;
        t.draw(|f| views::draw(f, app, &theme)).map_err(|e| e.to_string())?;
        let path = format!("screenshots/{name}.svg");
        std::fs::write(&path, svg(t.backend().buffer())).map_err(|e| e.to_string())?;
        println!("wrote {path}");
        Ok(())
    };
    let fresh = || {
        let mut app = App::new(Keymap::default());
        update(&mut app, Msg::Snapshot(Arc::new(snapshot.clone())));
        app
    };
    let names = [
        "1-overview",
        "2-outcomes",
        "3-tools",
        "4-safety",
        "5-cost",
        "6-drift",
        "7-traces",
        "8-approvals",
        "9-incidents",
    ];
    for (i, name) in names.iter().enumerate() {
        let mut app = fresh();
        press(&mut app, KeyCode::Char(char::from(b'1' + i as u8)));
        shot(name, &app)?;
    }
    let mut app = fresh();
    app.tab = tab::TRACES;
    let id = trace.as_ref().map(|t| t.trace_id.clone()).unwrap_or_default();
    app.stack = vec![Page::Trace(id.clone())];
    update(&mut app, Msg::Trace(id, Ok(trace.clone())));
    shot("7-traces-waterfall", &app)?;
    let mut app = fresh();
    press(&mut app, KeyCode::Char('9'));
    press(&mut app, KeyCode::Enter);
    shot("9-incident-timeline", &app)?;
    let mut app = fresh();
    press(&mut app, KeyCode::Char('K'));
    for c in "runaway tool loop".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    shot("kill-switch-confirmation", &app)?;
    Ok(())
}
